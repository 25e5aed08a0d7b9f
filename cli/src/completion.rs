//! Tab completion: what may come at the cursor, from the statement around
//! it and the engine's [`CatalogNames`].
//!
//! - inside a `'string'`: file and directory paths;
//! - at the start of a line beginning with `\` or `.`: backslash commands
//!   and their dot aliases; after them, their arguments (tables for `\d`,
//!   files for `\i` and `\o`, formats for `\format`);
//! - after `schema.`: that schema's tables; after `table.` or `alias.`: that
//!   table's columns;
//! - after `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE`, `DESCRIBE`: tables
//!   (those of the current schema bare, others qualified), schemas and table
//!   functions;
//! - anywhere else: the columns of the tables the statement names (before
//!   or after the cursor) first, then functions, keywords and tables.
//!
//! [`complete`] is a pure function of the text and the names, so it is
//! tested directly; [`NameCache`] keeps the names of a live engine, reloaded
//! only when the catalog changed, so a completion on a catalog of thousands
//! of tables answers without going to the database.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;
use tarn::{CatalogNames, Engine, TableNames};
use tokio::runtime::Handle;

use crate::lexer::{Token, TokenKind, is_keyword, split_qualified, tokenize};
use crate::meta::COMMANDS;
use crate::output::Format;

/// One suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// What the list shows.
    pub display: String,
    /// What replaces the word being completed.
    pub replacement: String,
}

/// What [`complete`] offers: candidates for the text from byte `start` to
/// the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Where the replaced word starts.
    pub start: usize,
    /// The suggestions, best first.
    pub candidates: Vec<Candidate>,
}

/// Keywords after which a table name comes.
const TABLE_KEYWORDS: &[&str] = &["FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE", "TRUNCATE"];
/// Keywords that start a clause (ending a FROM list).
const CLAUSE_KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "ON", "SET", "VALUES", "UNION", "WINDOW", "QUALIFY",
];

/// Complete the text `text` at byte `pos` with `names`; `default_schema` is
/// the schema unqualified tables are in.
pub fn complete(text: &str, pos: usize, names: &CatalogNames, default_schema: &str) -> Completion {
    let pos = floor_char_boundary(text, pos);
    let tokens = tokenize(text);
    // The token the cursor ends (or is inside of).
    if let Some(token) = tokens.iter().find(|t| t.range.start < pos && pos <= t.range.end) {
        match token.kind {
            TokenKind::String if token.unterminated || pos < token.range.end => {
                let quote = token.range.start + text[token.range.start..].find('\'').unwrap_or(0);
                return complete_path(text, quote + 1, pos);
            }
            TokenKind::Comment
                if token.unterminated || pos < token.range.end || text[token.range.clone()].starts_with("--") =>
            {
                return Completion::default();
            }
            _ => {}
        }
    }
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..pos];
    let trimmed = line.trim_start();
    if (trimmed.starts_with('\\') || trimmed.starts_with('.')) && text[..line_start].trim().is_empty() {
        return complete_meta(text, line_start + (line.len() - trimmed.len()), pos, names, default_schema);
    }

    let (word_start, qualifier, partial_start) = word_at(&tokens, text, pos);
    let partial = unquote_partial(&text[partial_start..pos]);
    // A `"` starts an identifier: no keywords or functions then.
    let quoted = text[partial_start..pos].starts_with('"');
    // The context is read without the word being typed, which may be an
    // open quote that would swallow the rest of the statement.
    let context = format!("{} {}", &text[..word_start], &text[pos..]);
    let statement = statement_tokens(&tokenize(&context), &context, word_start);
    let text = context.as_str();
    let references = referenced_tables(&statement, text, names, default_schema);
    let mut out = Candidates::new(&partial);

    if let Some(qualifier) = qualifier {
        let qualifier = normalize_ident(&qualifier);
        for table in names.tables.iter().filter(|t| t.schema == qualifier) {
            out.push_ident(&table.name);
        }
        for (alias, table) in &references {
            if *alias == qualifier {
                table.columns.iter().for_each(|c| out.push_ident(c));
            }
        }
        if let Some(table) = find_table(names, &qualifier, default_schema) {
            table.columns.iter().for_each(|c| out.push_ident(c));
        }
        return out.finish(partial_start);
    }

    if in_table_position(&statement, text, word_start) {
        push_tables(&mut out, names, default_schema);
        for schema in &names.schemas {
            out.push(schema, format!("{}.", quote_ident(schema)));
        }
        for function in table_functions(names) {
            out.push(function, format!("{function}("));
        }
        return out.finish(partial_start);
    }

    for (_, table) in &references {
        table.columns.iter().for_each(|c| out.push_ident(c));
    }
    if !partial.is_empty() || references.is_empty() {
        if !partial.is_empty() && !quoted {
            for function in &names.functions {
                out.push(function, format!("{function}("));
            }
            let lower = partial.chars().all(|c| !c.is_ascii_uppercase());
            for keyword in datafusion::sql::sqlparser::keywords::ALL_KEYWORDS {
                let keyword = if lower { keyword.to_ascii_lowercase() } else { keyword.to_string() };
                // `sum` is offered as the function `sum(`, not again as a keyword.
                if names.functions.binary_search(&keyword.to_ascii_lowercase()).is_err() {
                    out.push(&keyword, keyword.clone());
                }
            }
        }
        push_tables(&mut out, names, default_schema);
    }
    out.finish(partial_start)
}

/// Candidates being collected: prefix-matched, case-insensitively, without
/// duplicates, in the order pushed.
struct Candidates {
    partial: String,
    seen: HashSet<String>,
    list: Vec<Candidate>,
}

impl Candidates {
    fn new(partial: &str) -> Self {
        Candidates { partial: partial.to_lowercase(), seen: HashSet::new(), list: Vec::new() }
    }

    fn push(&mut self, name: &str, replacement: String) {
        if name.to_lowercase().starts_with(&self.partial) && self.seen.insert(replacement.clone()) {
            self.list.push(Candidate { display: replacement.trim_end_matches('(').to_string(), replacement });
        }
    }

    fn push_ident(&mut self, name: &str) {
        self.push(name, quote_ident(name));
    }

    fn finish(self, start: usize) -> Completion {
        Completion { start, candidates: self.list }
    }
}

/// Tables of `default_schema` by bare name, then the others qualified.
fn push_tables(out: &mut Candidates, names: &CatalogNames, default_schema: &str) {
    for table in names.tables.iter().filter(|t| t.schema == default_schema) {
        out.push_ident(&table.name);
    }
    for table in names.tables.iter().filter(|t| t.schema != default_schema && t.schema != "information_schema") {
        let qualified = format!("{}.{}", quote_ident(&table.schema), quote_ident(&table.name));
        out.push(&format!("{}.{}", table.schema, table.name), qualified);
    }
}

/// The table functions among `names.functions` (they read files).
fn table_functions(names: &CatalogNames) -> impl Iterator<Item = &String> {
    names.functions.iter().filter(|f| f.starts_with("read_") || *f == "generate_series" || *f == "range")
}

/// Complete a backslash command line starting at byte `start` of `text`.
fn complete_meta(text: &str, start: usize, pos: usize, names: &CatalogNames, default_schema: &str) -> Completion {
    let line = &text[start..pos];
    let Some(space) = line.find(char::is_whitespace) else {
        // The command name itself.
        let mut out = Candidates::new(line);
        for command in COMMANDS {
            out.push(&format!("\\{}", command.name), format!("\\{}", command.name));
            for alias in command.aliases {
                out.push(alias, alias.to_string());
            }
        }
        return out.finish(start);
    };
    let name = &line[..space];
    let Some(command) = crate::meta::find(name) else { return Completion::default() };
    let arg_start = start + space + (line[space..].len() - line[space..].trim_start().len());
    let partial = &text[arg_start..pos];
    match command.argument {
        crate::meta::Argument::Table => {
            let mut out = Candidates::new(partial);
            push_tables(&mut out, names, default_schema);
            out.finish(arg_start)
        }
        crate::meta::Argument::File => complete_path(text, arg_start, pos),
        crate::meta::Argument::Choice(choices) => {
            let mut out = Candidates::new(partial);
            choices.iter().for_each(|c| out.push(c, c.to_string()));
            out.finish(arg_start)
        }
        crate::meta::Argument::Format => {
            let mut out = Candidates::new(partial);
            Format::ALL.iter().for_each(|f| out.push(f.name(), f.name().to_string()));
            out.finish(arg_start)
        }
        crate::meta::Argument::None | crate::meta::Argument::Text => Completion::default(),
    }
}

/// Complete a file path typed from byte `start` to `pos`: the entries of its
/// directory (`~/` is the home directory) whose names start with what is
/// typed; directories end with `/`.
fn complete_path(text: &str, start: usize, pos: usize) -> Completion {
    let typed = &text[start..pos];
    let (dir_part, name_part) = match typed.rfind('/') {
        Some(i) => typed.split_at(i + 1),
        None => ("", typed),
    };
    let dir: PathBuf = match dir_part {
        "" => PathBuf::from("."),
        d if d.starts_with("~/") => dirs::home_dir().map_or_else(|| PathBuf::from(d), |h| h.join(&d[2..])),
        d => PathBuf::from(d),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Completion::default() };
    let mut found: Vec<(String, bool)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let is_dir = e.file_type().ok()?.is_dir() || is_dir_link(&dir.join(&name));
            (name.starts_with(name_part) && (!name.starts_with('.') || name_part.starts_with('.')))
                .then_some((name, is_dir))
        })
        .collect();
    found.sort();
    let candidates = found
        .into_iter()
        .map(|(name, is_dir)| {
            let suffix = if is_dir { "/" } else { "" };
            Candidate { display: format!("{name}{suffix}"), replacement: format!("{dir_part}{name}{suffix}") }
        })
        .collect();
    Completion { start, candidates }
}

fn is_dir_link(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// The word ending at `pos`: (its start, the qualifier before its last `.`
/// if any, where the part after that `.` starts). A word is a run of
/// identifiers (quoted or not) and dots: `demo."Odd Name".co`.
fn word_at(tokens: &[Token], text: &str, pos: usize) -> (usize, Option<String>, usize) {
    let is_part = |t: &Token| {
        matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
            || (t.kind == TokenKind::Punct && t.text(text) == ".")
    };
    let Some(mut i) = tokens.iter().position(|t| t.range.start < pos && pos <= t.range.end) else {
        return (pos, None, pos);
    };
    if !is_part(&tokens[i]) {
        return (pos, None, pos);
    }
    let last_dot = |i: usize| (tokens[i].kind == TokenKind::Punct).then_some(tokens[i].range.start);
    let mut dot = last_dot(i);
    while i > 0 && is_part(&tokens[i - 1]) {
        i -= 1;
        dot = dot.or_else(|| last_dot(i));
    }
    let start = tokens[i].range.start;
    match dot {
        Some(d) => (start, Some(text[start..d].to_string()), d + 1),
        None => (start, None, start),
    }
}

/// A partial identifier as typed, without a leading `"`.
fn unquote_partial(partial: &str) -> String {
    partial.strip_prefix('"').unwrap_or(partial).replace("\"\"", "\"")
}

/// An identifier as DataFusion resolves it: unquoted parts lower-cased.
fn normalize_ident(ident: &str) -> String {
    split_qualified(ident).and_then(|parts| parts.last().cloned()).unwrap_or_default()
}

/// `name` as it must be typed: bare when DataFusion would read it back
/// unchanged, else in double quotes.
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !is_keyword(name);
    match plain {
        true => name.to_string(),
        false => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The significant tokens (no spaces or comments) of the statement around
/// `pos`: from the `;` before it to the `;` after it.
fn statement_tokens(tokens: &[Token], text: &str, pos: usize) -> Vec<Token> {
    let mut statement = Vec::new();
    for token in tokens {
        let is_semicolon = token.kind == TokenKind::Punct && token.text(text) == ";";
        if is_semicolon {
            if token.range.end <= pos {
                statement.clear();
                continue;
            }
            break;
        }
        if !matches!(token.kind, TokenKind::Space | TokenKind::Comment) {
            statement.push(token.clone());
        }
    }
    statement
}

/// Whether the word starting at `word_start` is where a table name goes:
/// right after a table keyword, or after a `,` in a FROM list.
fn in_table_position(statement: &[Token], text: &str, word_start: usize) -> bool {
    let before: Vec<&Token> = statement.iter().filter(|t| t.range.end <= word_start).collect();
    let Some(previous) = before.last() else { return false };
    let word = |t: &Token| (t.kind == TokenKind::Word).then(|| t.text(text).to_ascii_uppercase());
    if word(previous).is_some_and(|w| TABLE_KEYWORDS.contains(&w.as_str())) {
        return true;
    }
    if previous.kind == TokenKind::Punct && previous.text(text) == "," {
        // Inside a FROM list if the last clause keyword (at bracket depth 0
        // relative to here) is FROM.
        let mut depth = 0i32;
        for token in before.iter().rev() {
            match token.text(text) {
                ")" => depth += 1,
                "(" => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return false;
            }
            if depth == 0
                && let Some(w) = word(token)
                && CLAUSE_KEYWORDS.contains(&w.as_str())
            {
                return w == "FROM";
            }
        }
    }
    false
}

/// The tables the statement names after FROM, JOIN, UPDATE or INTO, each with
/// the name it is referred to by (its alias, or its own name).
fn referenced_tables<'a>(
    statement: &[Token],
    text: &str,
    names: &'a CatalogNames,
    default_schema: &str,
) -> Vec<(String, &'a TableNames)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < statement.len() {
        let upper = statement[i].text(text).to_ascii_uppercase();
        let starts_list = matches!(upper.as_str(), "FROM" | "JOIN" | "UPDATE" | "INTO");
        i += 1;
        if !starts_list || statement[i - 1].kind != TokenKind::Word {
            continue;
        }
        loop {
            // A qualified name: ident (. ident)*
            let mut name = String::new();
            let mut want_part = true;
            while let Some(token) = statement.get(i) {
                let part = matches!(token.kind, TokenKind::Word | TokenKind::QuotedIdent)
                    && !(name.is_empty() && token.kind == TokenKind::Word && is_keyword(token.text(text)));
                let dot = token.kind == TokenKind::Punct && token.text(text) == ".";
                // Parts and dots alternate: `demo.orders o` ends before `o`.
                if (want_part && !part) || (!want_part && !dot) {
                    break;
                }
                name.push_str(token.text(text));
                want_part = !want_part;
                i += 1;
            }
            if name.is_empty() {
                break;
            }
            let mut alias = None;
            if statement.get(i).is_some_and(|t| t.text(text).eq_ignore_ascii_case("AS")) {
                i += 1;
            }
            if let Some(t) = statement.get(i)
                && matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent)
                && !is_keyword(t.text(text))
            {
                alias = Some(normalize_ident(t.text(text)));
                i += 1;
            }
            let parts = split_qualified(&name).unwrap_or_default();
            let table = match parts.as_slice() {
                [table] => find_table(names, table, default_schema),
                [.., schema, table] => names.tables.iter().find(|t| t.schema == *schema && t.name == *table),
                [] => None,
            };
            if let Some(table) = table {
                found.push((alias.unwrap_or_else(|| table.name.clone()), table));
            }
            if statement.get(i).is_some_and(|t| t.text(text) == ",") {
                i += 1;
                continue;
            }
            break;
        }
    }
    found
}

/// The table called `name`: in `default_schema` first, else in any schema.
fn find_table<'a>(names: &'a CatalogNames, name: &str, default_schema: &str) -> Option<&'a TableNames> {
    names
        .tables
        .iter()
        .find(|t| t.schema == default_schema && t.name == name)
        .or_else(|| names.tables.iter().find(|t| t.name == name))
}

/// The largest char boundary at or before `pos`.
fn floor_char_boundary(text: &str, pos: usize) -> usize {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// The names of an engine, loaded on first use and reloaded only when the
/// catalog database changed or the shell ran a statement since (session
/// tables and views do not touch the catalog database).
#[derive(Debug)]
pub struct NameCache {
    engine: Engine,
    runtime: Handle,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    names: Option<Arc<CatalogNames>>,
    generation: Option<i64>,
    stale: bool,
}

impl NameCache {
    /// A cache over `engine`; `runtime` runs the loads.
    pub fn new(engine: Engine, runtime: Handle) -> Self {
        NameCache { engine, runtime, state: Mutex::new(CacheState::default()) }
    }

    /// Note that a statement ran: the next completion reloads.
    pub fn invalidate(&self) {
        self.state.lock().stale = true;
    }

    /// The current names (empty if they cannot be read: completion is a
    /// convenience and must not interrupt typing with errors).
    pub fn names(&self) -> Arc<CatalogNames> {
        let generation = self.engine.catalog().generation().ok();
        let mut state = self.state.lock();
        if let Some(names) = &state.names
            && !state.stale
            && state.generation == generation
        {
            return names.clone();
        }
        let names = match self.runtime.block_on(self.engine.names()) {
            Ok(names) => Arc::new(names),
            Err(e) => {
                log::debug!("cannot read names for completion: {e}");
                Arc::new(CatalogNames::default())
            }
        };
        *state = CacheState { names: Some(names.clone()), generation, stale: false };
        names
    }

    /// The schema unqualified names resolve in.
    pub fn default_schema(&self) -> String {
        self.engine.default_schema()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn names() -> CatalogNames {
        let table = |schema: &str, name: &str, columns: &[&str]| TableNames {
            schema: schema.into(),
            name: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        CatalogNames {
            schemas: vec!["demo".into(), "public".into()],
            tables: vec![
                table("demo", "lineitem", &["l_orderkey", "l_quantity"]),
                table("demo", "orders", &["o_orderkey", "o_custkey", "o_orderdate"]),
                table("public", "events", &["user_id", "Mixed Case"]),
            ],
            functions: vec!["read_csv".into(), "substr".into(), "sum".into()],
        }
    }

    /// Complete at the `|` in `text`.
    fn at(text: &str) -> Vec<String> {
        let pos = text.find('|').unwrap();
        let text = text.replace('|', "");
        let c = complete(&text, pos, &names(), "public");
        c.candidates.into_iter().map(|c| c.replacement).collect()
    }

    #[test]
    fn tables_after_from() {
        assert_eq!(at("select * from ev|"), ["events"]);
        assert_eq!(at("select * from demo.ord|"), ["orders"]);
        assert_eq!(at("SELECT * FROM o|"), Vec::<String>::new());
        assert!(at("select * from |").contains(&"demo.lineitem".to_string()));
        assert!(at("select * from |").contains(&"demo.".to_string()));
        assert_eq!(at("select * from demo.orders o, demo.li|"), ["lineitem"]);
        assert_eq!(at("select * from r|"), ["read_csv("]);
    }

    #[test]
    fn columns_of_named_tables_come_first() {
        let found = at("select o_| from demo.orders");
        assert_eq!(found, ["o_orderkey", "o_custkey", "o_orderdate"]);
        assert_eq!(at("select o.o_c| from demo.orders o"), ["o_custkey"]);
        assert_eq!(at("select x.| from demo.orders x where 1=1"), ["o_orderkey", "o_custkey", "o_orderdate"]);
        let found = at("select su| from events");
        assert_eq!(found[..2], ["substr(".to_string(), "sum(".to_string()]);
        assert!(found.contains(&"subtype".to_string()) && !found.contains(&"sum".to_string()), "{found:?}");
        assert_eq!(at("select \"Mi| from events"), ["\"Mixed Case\""]);
        let found = at("select | from events");
        assert_eq!(found[..2], ["user_id".to_string(), "\"Mixed Case\"".to_string()]);
    }

    #[test]
    fn keywords_follow_the_case_typed() {
        assert!(at("sel|").contains(&"select".to_string()));
        assert!(at("SEL|").contains(&"SELECT".to_string()));
    }

    #[test]
    fn only_the_statement_at_the_cursor_counts() {
        assert_eq!(at("select * from demo.orders; select l_| from demo.lineitem"), ["l_orderkey", "l_quantity"]);
    }

    #[test]
    fn nothing_inside_comments() {
        assert!(at("select 1 -- from ev|").is_empty());
    }

    #[test]
    fn meta_commands_and_their_arguments() {
        assert!(at("\\ti|").contains(&"\\timing".to_string()));
        assert!(at(".ti|").contains(&".timer".to_string()));
        assert_eq!(at("\\d demo.ord|"), ["demo.orders"]);
        assert_eq!(at("\\format cs|"), ["csv"]);
    }

    #[test]
    fn paths_inside_quotes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("lake")).unwrap();
        std::fs::write(dir.path().join("lake.csv"), "a\n").unwrap();
        let base = dir.path().display().to_string();
        let found = at(&format!("select * from '{base}/la|"));
        assert_eq!(found, [format!("{base}/lake/"), format!("{base}/lake.csv")]);
        let found = at(&format!("\\i {base}/lake.|"));
        assert_eq!(found, [format!("{base}/lake.csv")]);
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
