//! Parsing SQL scripts into statements: DataFusion's SQL plus Tarn's own
//! statements (`ATTACH`, `DETACH`, `REFRESH TABLE`, `CREATE INDEX`,
//! `DROP INDEX`, `REINDEX`, `SHOW INDEXES`, `CACHE TABLE`, `UNCACHE TABLE`),
//! with every statement's text and
//! position kept so errors can point at it.

use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};

use crate::error::{Error, Result};

/// One parsed statement of a script.
#[derive(Debug, Clone)]
pub struct ParsedStatement {
    /// The statement's own text (without the terminating `;`).
    pub text: String,
    /// Where it starts in the script (1-based line and column).
    pub line: u64,
    /// 1-based column of the statement's first token.
    pub column: u64,
    /// What it is.
    pub kind: TarnStatement,
}

/// A statement Tarn executes: its own, or one it hands to DataFusion.
#[derive(Debug, Clone)]
pub enum TarnStatement {
    /// `ATTACH [OR REPLACE] 'dir' AS schema`: register every data file or folder under `dir`.
    Attach {
        /// Directory or object-store URL of the lake.
        path: String,
        /// Schema the lake's tables go into.
        schema: String,
        /// Replace an existing schema of that name.
        or_replace: bool,
    },
    /// `DETACH [IF EXISTS] schema`: remove an attached lake's tables.
    Detach {
        /// Schema to remove.
        schema: String,
        /// No error when it is missing.
        if_exists: bool,
    },
    /// `REFRESH TABLE name`: re-list files, re-infer the schema, rewrite the manifest.
    Refresh {
        /// Table name as written (`t` or `schema.t`).
        table: String,
    },
    /// `CREATE INDEX [IF NOT EXISTS] name ON table [USING kind] (column, ...) [USING kind]`.
    CreateIndex {
        /// Index name (unique in the table's schema).
        name: String,
        /// Table name as written (`t` or `schema.t`).
        table: String,
        /// Indexed columns.
        columns: Vec<String>,
        /// `minmax`, `bloom` or `values`; None for the default.
        kind: Option<String>,
        /// No error when an index of that name exists.
        if_not_exists: bool,
    },
    /// `DROP INDEX [IF EXISTS] [schema.]name`.
    DropIndex {
        /// Index name as written (`i` or `schema.i`).
        name: String,
        /// No error when it is missing.
        if_exists: bool,
    },
    /// `REINDEX [INDEX | TABLE] name`: rebuild one index, or every index of a table, from scratch.
    Reindex {
        /// Index or table name as written.
        target: String,
        /// What the name was said to be (`INDEX`/`TABLE`), if it was.
        kind: Option<ReindexTarget>,
    },
    /// `SHOW INDEXES [FROM table]`: the indexes (of a table), from `tarn.indexes`.
    ShowIndexes {
        /// Table name as written, if given.
        table: Option<String>,
    },
    /// `CACHE [LAZY] TABLE name`: keep the table's files in memory (now, or
    /// at its first scan when lazy) and serve its scans from there.
    CacheTable {
        /// Table name as written (`t` or `schema.t`).
        table: String,
        /// `LAZY`: load at the first scan.
        lazy: bool,
    },
    /// `UNCACHE TABLE [IF EXISTS] name`: drop the table from the table cache.
    UncacheTable {
        /// Table name as written (`t` or `schema.t`).
        table: String,
        /// No error when the table does not exist.
        if_exists: bool,
    },
    /// Anything else: DataFusion's SQL (queries, DDL, `COMMENT ON`, `SET`, `EXPLAIN`, ...).
    DataFusion(Box<DFStatement>),
}

/// What `REINDEX INDEX x` / `REINDEX TABLE x` named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReindexTarget {
    /// `REINDEX INDEX name`.
    Index,
    /// `REINDEX TABLE name`.
    Table,
}

/// Parse a script into its statements. Empty statements (`;;`) are skipped.
pub fn parse_script(sql: &str, dialect: &dyn Dialect, recursion_limit: usize) -> Result<Vec<ParsedStatement>> {
    let lines = LineIndex::new(sql);
    let mut parser = DFParserBuilder::new(sql)
        .with_dialect(dialect)
        .with_recursion_limit(recursion_limit)
        .build()
        .map_err(Error::from)?;
    let mut out = Vec::new();
    loop {
        while parser.parser.consume_token(&Token::SemiColon) {}
        let first = parser.parser.peek_token();
        if first.token == Token::EOF {
            break;
        }
        let start = first.span.start;
        let second = parser.parser.peek_nth_token(1).token;
        let kind = match tarn_keyword(&first.token, &second) {
            Some(TarnKeyword::Attach) => parse_attach(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::Detach) => parse_detach(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::Refresh) => parse_refresh(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::CreateIndex) => {
                parse_create_index(&mut parser.parser).map_err(|e| syntax_error(e, sql))?
            }
            Some(TarnKeyword::DropIndex) => parse_drop_index(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::Reindex) => parse_reindex(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::ShowIndexes) => {
                parse_show_indexes(&mut parser.parser).map_err(|e| syntax_error(e, sql))?
            }
            Some(TarnKeyword::Cache) => parse_cache(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            Some(TarnKeyword::Uncache) => parse_uncache(&mut parser.parser).map_err(|e| syntax_error(e, sql))?,
            None => TarnStatement::DataFusion(Box::new(
                parser.parse_statement().map_err(|e| position_at_end(Error::from(e), sql))?,
            )),
        };
        let end_token = parser.parser.peek_token();
        match end_token.token {
            Token::SemiColon | Token::EOF => {}
            _ => {
                return Err(syntax_error(
                    ParserError::ParserError(format!(
                        "Expected: end of statement, found: {}{}",
                        end_token.token, end_token.span.start
                    )),
                    sql,
                ));
            }
        }
        let end_offset = if end_token.token == Token::EOF { sql.len() } else { lines.offset(end_token.span.start) };
        let start_offset = lines.offset(start);
        let text = sql.get(start_offset..end_offset).unwrap_or_default().trim_end().to_string();
        out.push(ParsedStatement { text, line: start.line, column: start.column, kind });
    }
    Ok(out)
}

/// Split a script into statement texts without planning them (quotes,
/// comments and dollar-quoted strings respected). Used by the shell.
pub fn split_statements(sql: &str) -> Result<Vec<String>> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| Error::Syntax {
        message: e.message.clone(),
        line: Some(e.location.line),
        column: Some(e.location.column),
    })?;
    let lines = LineIndex::new(sql);
    let mut out = Vec::new();
    let mut start: Option<Location> = None;
    for t in &tokens {
        match &t.token {
            Token::SemiColon => {
                if let Some(s) = start.take() {
                    let text = sql.get(lines.offset(s)..lines.offset(t.span.start)).unwrap_or_default();
                    out.push(text.trim_end().to_string());
                }
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ => {
                if start.is_none() {
                    start = Some(t.span.start);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push(sql.get(lines.offset(s)..).unwrap_or_default().trim_end().to_string());
    }
    Ok(out)
}

/// Whether `sql` holds at least one statement and ends with a statement
/// terminator `;` outside quotes and comments (the shell's "is this input
/// finished?" test).
pub fn is_complete(sql: &str) -> bool {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        // An unterminated string or comment: more input is needed.
        return false;
    };
    tokens
        .iter()
        .rev()
        .find(|t| !matches!(t, Token::Whitespace(_) | Token::EOF))
        .is_some_and(|t| *t == Token::SemiColon)
}

enum TarnKeyword {
    Attach,
    Detach,
    Refresh,
    CreateIndex,
    DropIndex,
    Reindex,
    ShowIndexes,
    Cache,
    Uncache,
}

fn bare_word(token: &Token) -> Option<String> {
    match token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn tarn_keyword(token: &Token, next: &Token) -> Option<TarnKeyword> {
    let next = bare_word(next);
    match (bare_word(token)?.as_str(), next.as_deref()) {
        ("ATTACH", _) => Some(TarnKeyword::Attach),
        ("DETACH", _) => Some(TarnKeyword::Detach),
        ("REFRESH", _) => Some(TarnKeyword::Refresh),
        ("CREATE", Some("INDEX")) => Some(TarnKeyword::CreateIndex),
        ("DROP", Some("INDEX")) => Some(TarnKeyword::DropIndex),
        ("REINDEX", _) => Some(TarnKeyword::Reindex),
        ("SHOW", Some("INDEXES" | "INDEX")) => Some(TarnKeyword::ShowIndexes),
        ("CACHE", _) => Some(TarnKeyword::Cache),
        ("UNCACHE", _) => Some(TarnKeyword::Uncache),
        _ => None,
    }
}

/// `t`, `schema.t`: each part normalized, joined with dots.
fn parse_name(p: &mut Parser) -> Result<String, ParserError> {
    let name = p.parse_object_name(false)?;
    Ok(name
        .0
        .iter()
        .map(|part| match part.as_ident() {
            Some(ident) => normalize_ident(ident.clone()),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("."))
}

fn parse_using(p: &mut Parser) -> Result<Option<String>, ParserError> {
    if p.parse_keyword(Keyword::USING) { Ok(Some(p.parse_identifier()?.value.to_lowercase())) } else { Ok(None) }
}

fn parse_create_index(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // CREATE
    p.next_token(); // INDEX
    let if_not_exists = p.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = normalize_ident(p.parse_identifier()?);
    p.expect_keyword_is(Keyword::ON)?;
    let table = parse_name(p)?;
    let mut kind = parse_using(p)?;
    p.expect_token(&Token::LParen)?;
    let columns = p.parse_comma_separated(|p| p.parse_identifier().map(normalize_ident))?;
    p.expect_token(&Token::RParen)?;
    if kind.is_none() {
        kind = parse_using(p)?;
    }
    Ok(TarnStatement::CreateIndex { name, table, columns, kind, if_not_exists })
}

fn parse_drop_index(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // DROP
    p.next_token(); // INDEX
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let name = parse_name(p)?;
    Ok(TarnStatement::DropIndex { name, if_exists })
}

fn parse_reindex(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // REINDEX
    let kind = if p.parse_keyword(Keyword::INDEX) {
        Some(ReindexTarget::Index)
    } else if p.parse_keyword(Keyword::TABLE) {
        Some(ReindexTarget::Table)
    } else {
        None
    };
    let target = parse_name(p)?;
    Ok(TarnStatement::Reindex { target, kind })
}

fn parse_show_indexes(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // SHOW
    p.next_token(); // INDEXES
    let table =
        if p.parse_keyword(Keyword::FROM) || p.parse_keyword(Keyword::IN) { Some(parse_name(p)?) } else { None };
    Ok(TarnStatement::ShowIndexes { table })
}

fn parse_cache(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // CACHE
    let lazy = bare_word(&p.peek_token().token).is_some_and(|w| w == "LAZY");
    if lazy {
        p.next_token();
    }
    p.expect_keyword_is(Keyword::TABLE)?;
    let table = parse_name(p)?;
    Ok(TarnStatement::CacheTable { table, lazy })
}

fn parse_uncache(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // UNCACHE
    p.expect_keyword_is(Keyword::TABLE)?;
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let table = parse_name(p)?;
    Ok(TarnStatement::UncacheTable { table, if_exists })
}

fn parse_attach(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // ATTACH
    let or_replace = p.parse_keywords(&[Keyword::OR, Keyword::REPLACE]);
    let _ = p.parse_keyword(Keyword::DATABASE);
    let next = p.peek_token();
    if !matches!(next.token, Token::SingleQuotedString(_)) {
        return p.expected("a quoted directory path, as in ATTACH 'data/lake' AS lake", next);
    }
    let path = p.parse_literal_string()?;
    p.expect_keyword_is(Keyword::AS)?;
    let schema = normalize_ident(p.parse_identifier()?);
    Ok(TarnStatement::Attach { path, schema, or_replace })
}

fn parse_detach(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // DETACH
    let _ = p.parse_keyword(Keyword::DATABASE);
    let if_exists = p.parse_keywords(&[Keyword::IF, Keyword::EXISTS]);
    let schema = normalize_ident(p.parse_identifier()?);
    Ok(TarnStatement::Detach { schema, if_exists })
}

fn parse_refresh(p: &mut Parser) -> Result<TarnStatement, ParserError> {
    p.next_token(); // REFRESH
    p.expect_keyword_is(Keyword::TABLE)?;
    let table = parse_name(p)?;
    Ok(TarnStatement::Refresh { table })
}

/// Unquoted identifiers are case-insensitive (lower-cased), as in DataFusion.
fn normalize_ident(ident: datafusion::sql::sqlparser::ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value,
        None => ident.value.to_lowercase(),
    }
}

/// A syntax error with its position; errors at the end of the input (which
/// sqlparser reports without one) point just past the last character.
fn syntax_error(e: ParserError, sql: &str) -> Error {
    position_at_end(Error::from(datafusion::error::DataFusionError::SQL(Box::new(e), None)), sql)
}

fn position_at_end(e: Error, sql: &str) -> Error {
    match e {
        Error::Syntax { message, line: None, .. } => {
            let line = sql.lines().count().max(1) as u64;
            let column = sql.lines().last().map(|l| l.chars().count() as u64 + 1).unwrap_or(1);
            Error::Syntax { message, line: Some(line), column: Some(column) }
        }
        other => other,
    }
}

/// Maps 1-based (line, column-in-chars) locations to byte offsets.
struct LineIndex<'a> {
    sql: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(sql: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(sql.match_indices('\n').map(|(i, _)| i + 1));
        Self { sql, starts }
    }

    fn offset(&self, loc: Location) -> usize {
        if loc.line == 0 {
            return self.sql.len();
        }
        let Some(&line_start) = self.starts.get(loc.line as usize - 1) else {
            return self.sql.len();
        };
        let line = &self.sql[line_start..];
        line.char_indices()
            .nth(loc.column.saturating_sub(1) as usize)
            .map(|(i, _)| line_start + i)
            .unwrap_or(self.sql.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Vec<ParsedStatement> {
        parse_script(sql, &GenericDialect {}, 50).unwrap()
    }

    #[test]
    fn splits_and_keeps_text() {
        let s = parse("select 1;\n  select 'a;b' ;; -- c;\nselect 3");
        let texts: Vec<_> = s.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["select 1", "select 'a;b'", "select 3"]);
        assert_eq!((s[1].line, s[1].column), (2, 3));
    }

    #[test]
    fn parses_tarn_statements() {
        let s = parse("ATTACH 'data/lake' AS Lake; detach if exists lake; REFRESH TABLE Lake.\"Orders\"");
        assert!(
            matches!(&s[0].kind, TarnStatement::Attach { path, schema, or_replace: false } if path == "data/lake" && schema == "lake")
        );
        assert!(matches!(&s[1].kind, TarnStatement::Detach { schema, if_exists: true } if schema == "lake"));
        assert!(matches!(&s[2].kind, TarnStatement::Refresh { table } if table == "lake.Orders"));
    }

    #[test]
    fn parses_cache_statements() {
        let s = parse("CACHE TABLE Lake.\"Trips\"; cache lazy table t; UNCACHE TABLE IF EXISTS t; uncache table u");
        assert!(matches!(&s[0].kind, TarnStatement::CacheTable { table, lazy: false } if table == "lake.Trips"));
        assert!(matches!(&s[1].kind, TarnStatement::CacheTable { table, lazy: true } if table == "t"));
        assert!(matches!(&s[2].kind, TarnStatement::UncacheTable { table, if_exists: true } if table == "t"));
        assert!(matches!(&s[3].kind, TarnStatement::UncacheTable { table, if_exists: false } if table == "u"));
        let err = parse_script("CACHE TABLE t AS SELECT 1", &GenericDialect {}, 50).unwrap_err().to_string();
        assert!(err.contains("Expected: end of statement"), "{err}");
    }

    #[test]
    fn parses_index_statements() {
        let s = parse(
            "CREATE INDEX IF NOT EXISTS Ev_User ON lake.Events (User_Id, kind) USING BLOOM;
             create index i2 on t using values (status);
             DROP INDEX IF EXISTS lake.ev_user; REINDEX TABLE events; REINDEX i2;
             SHOW INDEXES; SHOW INDEXES FROM lake.events",
        );
        assert!(
            matches!(&s[0].kind, TarnStatement::CreateIndex { name, table, columns, kind: Some(k), if_not_exists: true }
            if name == "ev_user" && table == "lake.events" && columns == &["user_id", "kind"] && k == "bloom")
        );
        assert!(
            matches!(&s[1].kind, TarnStatement::CreateIndex { kind: Some(k), if_not_exists: false, .. } if k == "values")
        );
        assert!(matches!(&s[2].kind, TarnStatement::DropIndex { name, if_exists: true } if name == "lake.ev_user"));
        assert!(
            matches!(&s[3].kind, TarnStatement::Reindex { target, kind: Some(ReindexTarget::Table) } if target == "events")
        );
        assert!(matches!(&s[4].kind, TarnStatement::Reindex { target, kind: None } if target == "i2"));
        assert!(matches!(&s[5].kind, TarnStatement::ShowIndexes { table: None }));
        assert!(matches!(&s[6].kind, TarnStatement::ShowIndexes { table: Some(t) } if t == "lake.events"));
        // DataFusion's own CREATE/DROP/SHOW statements are untouched.
        assert!(matches!(&parse("CREATE TABLE t (a INT)")[0].kind, TarnStatement::DataFusion(_)));
        assert!(matches!(&parse("DROP TABLE t")[0].kind, TarnStatement::DataFusion(_)));
        let err = parse_script("CREATE INDEX i ON t", &GenericDialect {}, 50).unwrap_err();
        assert!(matches!(err, Error::Syntax { line: Some(1), .. }), "{err:?}");
    }

    #[test]
    fn syntax_errors_carry_position() {
        let err = parse_script("select 1;\nselect * from t where (a = 1;", &GenericDialect {}, 50).unwrap_err();
        match err {
            Error::Syntax { line, .. } => assert_eq!(line, Some(2)),
            other => panic!("unexpected {other:?}"),
        }
        let err = parse_script("ATTACH lake", &GenericDialect {}, 50).unwrap_err();
        assert!(matches!(err, Error::Syntax { line: Some(1), column: Some(8), .. }), "{err:?}");
        // Errors at the end of the input point just past it.
        let err = parse_script("select 1;\nselect 1 +", &GenericDialect {}, 50).unwrap_err();
        assert!(matches!(err, Error::Syntax { line: Some(2), column: Some(11), .. }), "{err:?}");
    }

    #[test]
    fn completeness() {
        assert!(is_complete("select 1;"));
        assert!(is_complete("select 1; -- done\n"));
        assert!(!is_complete("select ';"));
        assert!(!is_complete("select 1"));
        assert!(!is_complete(""));
        assert_eq!(split_statements("a; b;\n c").unwrap(), ["a", "b", "c"]);
    }
}
