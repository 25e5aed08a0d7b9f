//! Backslash ("meta") commands, with psql's names and DuckDB's dot aliases
//! where users know them: `\d`, `\dt` (`.tables`), `\i` (`.read`),
//! `\format` (`.mode`), `\timing` (`.timer`), ... A line starting with `\`
//! (or `.`) between statements is one of these; it needs no `;`.
//!
//! [`COMMANDS`] is the single list of them: `\?` prints it, [`run`]
//! dispatches on it and the completer offers it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::StreamExt;
use tarn::{Batches, QueryResult};

use crate::error::{CliError, Result};
use crate::lexer::split_qualified;
use crate::output::{self, Expanded, Format, OutputSettings};
use crate::progress::ProgressMode;
use crate::shell::{EditMode, Flow, Origin, Shell};

/// What the shell does after a backslash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAction {
    /// Read the next statement.
    Continue,
    /// Leave the shell (`\q`).
    Quit,
}

/// What a command's argument is, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argument {
    /// No argument.
    None,
    /// A table name or pattern.
    Table,
    /// A file path.
    File,
    /// An output format.
    Format,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// Free text (SQL, a setting).
    Text,
}

/// One backslash command: its name, aliases, arguments and a line of help.
#[derive(Debug, Clone, Copy)]
pub struct MetaCommand {
    /// Name without the backslash, as typed (`d`, `dn`, `timing`).
    pub name: &'static str,
    /// Other names, typed as they are (`.tables`, `.read`).
    pub aliases: &'static [&'static str],
    /// Arguments, for the help (`[PATTERN]`).
    pub args: &'static str,
    /// What it does, in one line.
    pub help: &'static str,
    /// What its argument is, for completion.
    pub argument: Argument,
    /// The code that runs it.
    kind: Kind,
}

/// Which command it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Help,
    Quit,
    Describe,
    Tables,
    Schemas,
    Indexes,
    Functions,
    Include,
    Output,
    Edit,
    Set,
    Explain,
    Expanded,
    Pager,
    MaxRows,
    Timing,
    Format,
    Progress,
    EditMode,
    Cache,
}

const ON_OFF: &[&str] = &["on", "off"];

/// Every backslash command, in the order `\?` lists them.
pub const COMMANDS: &[MetaCommand] = &[
    MetaCommand {
        name: "?",
        aliases: &[".help"],
        args: "",
        help: "show this list of commands",
        argument: Argument::None,
        kind: Kind::Help,
    },
    MetaCommand {
        name: "q",
        aliases: &[".quit", ".exit"],
        args: "",
        help: "quit the shell",
        argument: Argument::None,
        kind: Kind::Quit,
    },
    MetaCommand {
        name: "d",
        aliases: &[],
        args: "[PATTERN]",
        help: "list tables and views (\\d+: with location and comment); with a NAME, describe it",
        argument: Argument::Table,
        kind: Kind::Describe,
    },
    MetaCommand {
        name: "dt",
        aliases: &[".tables"],
        args: "[PATTERN]",
        help: "list tables matching PATTERN (* and ? wildcards, SCHEMA.PATTERN)",
        argument: Argument::Table,
        kind: Kind::Tables,
    },
    MetaCommand {
        name: "dn",
        aliases: &[],
        args: "",
        help: "list schemas",
        argument: Argument::None,
        kind: Kind::Schemas,
    },
    MetaCommand {
        name: "di",
        aliases: &[".indexes"],
        args: "[TABLE]",
        help: "list indexes (of TABLE): columns, kind, files, units, size",
        argument: Argument::Table,
        kind: Kind::Indexes,
    },
    MetaCommand {
        name: "df",
        aliases: &[],
        args: "[PATTERN]",
        help: "list functions matching PATTERN, with their kind and description",
        argument: Argument::Text,
        kind: Kind::Functions,
    },
    MetaCommand {
        name: "i",
        aliases: &[".read"],
        args: "FILE",
        help: "run the statements and commands of FILE",
        argument: Argument::File,
        kind: Kind::Include,
    },
    MetaCommand {
        name: "o",
        aliases: &[".output"],
        args: "[FILE]",
        help: "send results to FILE; without FILE, back to the screen",
        argument: Argument::File,
        kind: Kind::Output,
    },
    MetaCommand {
        name: "e",
        aliases: &[".edit"],
        args: "",
        help: "edit the last statement in $VISUAL or $EDITOR; the result comes back to the prompt",
        argument: Argument::None,
        kind: Kind::Edit,
    },
    MetaCommand {
        name: "set",
        aliases: &[],
        args: "[NAME [VALUE]]",
        help: "set an engine setting (as SET NAME = VALUE); with NAME alone show it; alone list all",
        argument: Argument::Text,
        kind: Kind::Set,
    },
    MetaCommand {
        name: "explain",
        aliases: &[],
        args: "[ANALYZE] SQL",
        help: "draw the plan of SQL as a tree; ANALYZE runs it and shows what each step did",
        argument: Argument::Text,
        kind: Kind::Explain,
    },
    MetaCommand {
        name: "x",
        aliases: &[],
        args: "[on|off|auto]",
        help: "expanded display: one line per column (auto: when a table is wider than the screen)",
        argument: Argument::Choice(&["on", "off", "auto"]),
        kind: Kind::Expanded,
    },
    MetaCommand {
        name: "pager",
        aliases: &[],
        args: "[on|off]",
        help: "page results taller than the screen through $PAGER (default: less)",
        argument: Argument::Choice(ON_OFF),
        kind: Kind::Pager,
    },
    MetaCommand {
        name: "maxrows",
        aliases: &[".maxrows"],
        args: "[N]",
        help: "show at most N rows of a result in table and line formats (0: all)",
        argument: Argument::None,
        kind: Kind::MaxRows,
    },
    MetaCommand {
        name: "timing",
        aliases: &[".timer"],
        args: "[on|off]",
        help: "show the elapsed time after each statement (toggles without argument)",
        argument: Argument::Choice(ON_OFF),
        kind: Kind::Timing,
    },
    MetaCommand {
        name: "format",
        aliases: &[".mode"],
        args: "[FORMAT]",
        help: "show or set the output format: table, line, csv, tsv, json, ndjson, markdown",
        argument: Argument::Format,
        kind: Kind::Format,
    },
    MetaCommand {
        name: "progress",
        aliases: &[],
        args: "[auto|on|off]",
        help: "progress line on stderr for statements running over a second",
        argument: Argument::Choice(&["auto", "on", "off"]),
        kind: Kind::Progress,
    },
    MetaCommand {
        name: "editmode",
        aliases: &[],
        args: "[emacs|vi]",
        help: "key bindings of the line editor (put it in ~/.tarnrc)",
        argument: Argument::Choice(&["emacs", "vi"]),
        kind: Kind::EditMode,
    },
    MetaCommand {
        name: "cache",
        aliases: &[],
        args: "[clear]",
        help: "the result cache (entries, hits, misses, sub-plans, disk, why the last query missed), the metadata cache \
               (footers in memory and in the catalog) and the cached tables; clear empties both caches",
        argument: Argument::Choice(&["clear"]),
        kind: Kind::Cache,
    },
];

/// The command typed as `word` (`\dt`, `\d+`, `.tables`), if any.
pub fn find(word: &str) -> Option<&'static MetaCommand> {
    let (name, _) = split_plus(word);
    match name.strip_prefix('\\') {
        Some(name) => COMMANDS.iter().find(|c| c.name == name),
        None => COMMANDS.iter().find(|c| c.aliases.contains(&name)),
    }
}

/// `d+` → (`d`, true).
fn split_plus(word: &str) -> (&str, bool) {
    match word.strip_suffix('+') {
        Some(name) if name.len() > 1 => (name, true),
        _ => (word, false),
    }
}

/// Deepest nesting of `\i` (a file including itself stops here).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Run the backslash command `line` (`\d lineitem`; a trailing `;` is
/// ignored), writing what it shows to `out`.
pub async fn run(shell: &mut Shell, line: &str, out: &mut dyn Write) -> Result<MetaAction> {
    let line = line.trim().trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let (word, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    };
    let Some(command) = find(word) else {
        return Err(CliError::UnknownMeta(word.to_string()));
    };
    let plus = split_plus(word).1;
    let args: Vec<&str> = rest.split_whitespace().collect();
    let usage = || CliError::MetaUsage(format!("usage: \\{} {}", command.name, command.args.trim()));
    let at_most = |max: usize| if args.len() > max { Err(usage()) } else { Ok(()) };
    match command.kind {
        Kind::Help => write!(out, "{}", help_text())?,
        Kind::Quit => return Ok(MetaAction::Quit),
        Kind::Describe => {
            at_most(1)?;
            match args.first() {
                Some(name) if !name.contains(['*', '?']) => describe_table(shell, name, plus, out).await?,
                pattern => list_tables(shell, pattern.copied(), plus, true, out).await?,
            }
        }
        Kind::Tables => {
            at_most(1)?;
            list_tables(shell, args.first().copied(), plus, false, out).await?;
        }
        Kind::Schemas => {
            at_most(0)?;
            let sql = "SELECT schema_name, attached_path, table_count, comment \
                       FROM tarn.schemas ORDER BY schema_name";
            let result = shell.engine.sql(sql).await?;
            print(shell, result, out).await?;
        }
        Kind::Indexes => {
            at_most(1)?;
            let sql = match args.first() {
                Some(table) => format!("SHOW INDEXES FROM {table}"),
                None => "SHOW INDEXES".to_string(),
            };
            let result = shell.engine.sql(&sql).await?;
            print(shell, result, out).await?;
        }
        Kind::Functions => {
            at_most(1)?;
            let filter = match args.first() {
                Some(pattern) => format!("WHERE routine_name LIKE {}", literal(&like_pattern(pattern))),
                None => String::new(),
            };
            let sql = format!(
                "SELECT routine_name AS name, lower(function_type) AS kind, \
                        first_value(syntax_example) AS syntax, first_value(description) AS description \
                 FROM information_schema.routines {filter} \
                 GROUP BY routine_name, function_type ORDER BY 1, 2"
            );
            let result = shell.engine.sql(&sql).await?;
            print(shell, result, out).await?;
        }
        Kind::Include => {
            if rest.is_empty() {
                return Err(usage());
            }
            out.flush()?;
            return include(shell, PathBuf::from(rest)).await;
        }
        Kind::Output => match rest {
            "" => {
                shell.set_output_file(None)?;
                confirm(shell, out, "Results go to the screen.".to_string())?;
            }
            path => {
                shell.set_output_file(Some(PathBuf::from(path)))?;
                confirm(shell, out, format!("Results go to '{path}'."))?;
            }
        },
        Kind::Edit => {
            at_most(0)?;
            shell.edit_last_statement()?;
        }
        Kind::Set => match args.as_slice() {
            [] => {
                let sql = "SELECT name, value, description FROM information_schema.df_settings ORDER BY name";
                let result = shell.engine.sql(sql).await?;
                print(shell, result, out).await?;
            }
            [name] => {
                let result = shell.engine.sql(&format!("SHOW {name}")).await?;
                print(shell, result, out).await?;
            }
            [name, ..] => {
                let value = rest[name.len()..].trim();
                let value = value.strip_prefix('=').map_or(value, str::trim);
                shell.engine.sql(&format!("SET {name} = {}", setting_value(value))).await?.collect().await?;
                confirm(shell, out, format!("{name} = {value}"))?;
            }
        },
        Kind::Explain => {
            let (analyze, sql) = match rest.get(..8) {
                Some(word) if word.eq_ignore_ascii_case("analyze ") => (true, rest[8..].trim()),
                _ => (false, rest),
            };
            if sql.is_empty() {
                return Err(usage());
            }
            let explain = match analyze {
                true => format!("EXPLAIN ANALYZE {sql}"),
                false => format!("EXPLAIN FORMAT TREE {sql}"),
            };
            let plan = collect(shell, &explain).await?;
            write_plan(&plan, out)?;
        }
        Kind::Expanded => {
            at_most(1)?;
            shell.output.expanded = match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
                None if shell.output.expanded == Expanded::Off => Expanded::On,
                None => Expanded::Off,
                Some("on") => Expanded::On,
                Some("off") => Expanded::Off,
                Some("auto") => Expanded::Auto,
                Some(other) => return Err(CliError::MetaUsage(format!("\\x takes on, off or auto, not '{other}'"))),
            };
            confirm(shell, out, format!("Expanded display is {}.", shell.output.expanded.name()))?;
        }
        Kind::Pager => {
            at_most(1)?;
            shell.pager = on_off(command, args.first(), shell.pager)?;
            confirm(shell, out, format!("Pager is {}.", if shell.pager { "on" } else { "off" }))?;
        }
        Kind::MaxRows => {
            at_most(1)?;
            if let Some(n) = args.first() {
                let n: usize = n.parse().map_err(|_| CliError::MetaUsage(format!("'{n}' is not a number of rows")))?;
                shell.output.max_rows = (n > 0).then_some(n);
            }
            match shell.output.max_rows {
                Some(n) => confirm(shell, out, format!("Showing at most {n} rows."))?,
                None => confirm(shell, out, "Showing all rows.".to_string())?,
            }
        }
        Kind::Timing => {
            at_most(1)?;
            shell.output.timing = on_off(command, args.first(), shell.output.timing)?;
            confirm(shell, out, format!("Timing is {}.", if shell.output.timing { "on" } else { "off" }))?;
        }
        Kind::Format => {
            at_most(1)?;
            if let Some(name) = args.first() {
                shell.output.format = Format::from_name(name).ok_or_else(|| {
                    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                    CliError::MetaUsage(format!("unknown format '{name}'; choose one of: {}", names.join(", ")))
                })?;
            }
            confirm(shell, out, format!("Output format is {}.", shell.output.format))?;
        }
        Kind::Progress => {
            at_most(1)?;
            if let Some(mode) = args.first() {
                shell.progress = ProgressMode::from_name(mode)
                    .ok_or_else(|| CliError::MetaUsage(format!("\\progress takes auto, on or off, not '{mode}'")))?;
            }
            confirm(shell, out, format!("Progress is {}.", shell.progress.name()))?;
        }
        Kind::Cache => match args.as_slice() {
            [] => {
                // One row of many columns: shown one line per column.
                let result = shell.engine.sql("SELECT * FROM tarn.cache").await?;
                let settings = OutputSettings { expanded: Expanded::On, timing: false, ..shell.output.clone() };
                output::print_result(result, &settings, Instant::now(), out).await?;
                // One row per tier of the metadata cache (memory, catalog).
                let result = shell.engine.sql("SELECT * FROM tarn.metadata_cache").await?;
                let settings = OutputSettings { timing: false, ..shell.output.clone() };
                output::print_result(result, &settings, Instant::now(), out).await?;
                // Then the tables kept in memory by CACHE TABLE, one row each.
                let tables = "SELECT schema_name, table_name, loaded, files, rows, bytes, files_on_disk, hits, note \
                              FROM tarn.cached_tables";
                let result = shell.engine.sql(tables).await?;
                let settings = OutputSettings { timing: false, ..shell.output.clone() };
                output::print_result(result, &settings, Instant::now(), out).await?;
            }
            [word] if word.eq_ignore_ascii_case("clear") => {
                shell.engine.clear_cache();
                shell.engine.clear_metadata_cache(true);
                confirm(shell, out, "Result cache and metadata cache cleared.".to_string())?;
            }
            _ => return Err(usage()),
        },
        Kind::EditMode => {
            at_most(1)?;
            if let Some(mode) = args.first() {
                shell.edit_mode = EditMode::from_name(mode)
                    .ok_or_else(|| CliError::MetaUsage(format!("\\editmode takes emacs or vi, not '{mode}'")))?;
            }
            confirm(shell, out, format!("Edit mode is {}.", shell.edit_mode.name()))?;
        }
    }
    Ok(MetaAction::Continue)
}

/// Say what a command changed, unless the shell is quiet (`-q`, or while
/// the start-up file runs).
fn confirm(shell: &Shell, out: &mut dyn Write, message: String) -> Result<()> {
    if !shell.output.quiet {
        writeln!(out, "{message}")?;
    }
    Ok(())
}

/// `on`/`off` as typed; no argument toggles `current`.
fn on_off(command: &MetaCommand, arg: Option<&&str>, current: bool) -> Result<bool> {
    match arg.map(|a| a.to_ascii_lowercase()).as_deref() {
        None => Ok(!current),
        Some("on") => Ok(true),
        Some("off") => Ok(false),
        Some(other) => Err(CliError::MetaUsage(format!("\\{} takes 'on' or 'off', not '{other}'", command.name))),
    }
}

/// `\i FILE`: run a script file in this shell, stopping at its first error.
async fn include(shell: &mut Shell, path: PathBuf) -> Result<MetaAction> {
    if shell.include_depth >= MAX_INCLUDE_DEPTH {
        return Err(CliError::MetaUsage(format!(
            "\\i nested more than {MAX_INCLUDE_DEPTH} deep (does '{}' include itself?)",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|source| CliError::ReadScript { path: path.clone(), source })?;
    shell.include_depth += 1;
    let origin = Origin::File(path.display().to_string());
    let flow = Box::pin(shell.run_script(&text, &origin)).await;
    shell.include_depth -= 1;
    Ok(match flow? {
        Flow::Quit => MetaAction::Quit,
        Flow::Continue => MetaAction::Continue,
    })
}

/// A `\set` value as SQL: numbers, booleans and quoted strings as typed,
/// anything else quoted.
fn setting_value(value: &str) -> String {
    let plain = value.parse::<f64>().is_ok()
        || value.eq_ignore_ascii_case("true")
        || value.eq_ignore_ascii_case("false")
        || (value.len() >= 2 && value.starts_with('\'') && value.ends_with('\''));
    match plain {
        true => value.to_string(),
        false => literal(value),
    }
}

/// A psql pattern (`*`, `?`) as a LIKE pattern.
fn like_pattern(pattern: &str) -> String {
    pattern.replace('%', "\\%").replace('_', "\\_").replace('*', "%").replace('?', "_")
}

/// Print the text of an EXPLAIN result: its `plan` column as it is.
fn write_plan(plan: &Batches, out: &mut dyn Write) -> Result<()> {
    let options = FormatOptions::default();
    for batch in &plan.batches {
        let Some(column) = batch.column_by_name("plan") else { continue };
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options).map_err(CliError::Format)?;
        for row in 0..batch.num_rows() {
            if !column.is_null(row) {
                writeln!(out, "{}", formatter.value(row))?;
            }
        }
    }
    Ok(())
}

/// The text `\?` prints: every command with its line of help.
pub fn help_text() -> String {
    let usage: Vec<String> = COMMANDS
        .iter()
        .map(|c| {
            let aliases = match c.aliases {
                [] => String::new(),
                a => format!(" ({})", a.join(", ")),
            };
            format!("\\{} {}{aliases}", c.name, c.args).replace("  (", " (").trim_end().to_string()
        })
        .collect();
    let width = usage.iter().map(String::len).max().unwrap_or(0);
    let mut text = String::from("Backslash commands (no ';' needed; dot aliases in brackets):\n");
    for (usage, command) in usage.iter().zip(COMMANDS) {
        text.push_str(&format!("  {usage:<width$}  {}\n", command.help));
    }
    text.push_str(
        "SQL statements end with ';' and may span several lines.\n\
         Tab completes keywords, functions, tables, columns, commands and quoted file paths.\n\
         Ctrl-R searches the history; Ctrl-C clears the input or cancels a running query; Ctrl-D quits.\n",
    );
    text
}

/// `\d` and `\dt`: tables (with views and session tables when `views`),
/// optionally matching `pattern` (`*`, `?`, `SCHEMA.PATTERN`), with their
/// format, files, size and rows; `plus` adds location and comment.
async fn list_tables(
    shell: &mut Shell,
    pattern: Option<&str>,
    plus: bool,
    views: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let mut filter = String::new();
    if let Some(pattern) = pattern {
        let (schema, table) = match pattern.rsplit_once('.') {
            Some((schema, table)) => (Some(schema), table),
            None => (None, pattern),
        };
        filter.push_str(&format!(" AND t.table_name LIKE {}", literal(&like_pattern(table))));
        if let Some(schema) = schema {
            filter.push_str(&format!(" AND t.table_schema LIKE {}", literal(&like_pattern(schema))));
        }
    }
    if !views {
        filter.push_str(" AND t.table_type <> 'VIEW'");
    }
    let extra = if plus { ", c.location, c.comment" } else { "" };
    // information_schema sees session tables and views as well as catalog tables.
    let sql = format!(
        "SELECT t.table_schema AS schema_name, t.table_name, \
             CASE WHEN c.format IS NOT NULL THEN c.format \
                  WHEN t.table_type = 'VIEW' THEN 'view' \
                  ELSE 'memory' END AS format, \
             c.file_count, c.total_bytes, c.row_count{extra} \
         FROM information_schema.tables t \
         LEFT JOIN tarn.tables c \
           ON c.schema_name = t.table_schema AND c.table_name = t.table_name \
         WHERE t.table_catalog = 'tarn' \
           AND t.table_schema NOT IN ('information_schema', 'tarn'){filter} \
         ORDER BY 1, 2"
    );
    let result = shell.engine.sql(&sql).await?;
    print(shell, result, out).await
}

/// `\d NAME`: the columns of table NAME (type, nullability, comment) and,
/// for catalog tables, where its files are; `\d+ NAME` lists the files.
async fn describe_table(shell: &mut Shell, name: &str, plus: bool, out: &mut dyn Write) -> Result<()> {
    let (schema, table) = resolve_name(name, &shell.engine.default_schema())?;
    let (s, t) = (literal(&schema), literal(&table));
    let columns = collect(
        shell,
        &format!(
            "SELECT column_name, data_type, is_nullable AS nullable, \
                    is_partition AS partition_key, comment \
             FROM tarn.columns WHERE schema_name = {s} AND table_name = {t} \
             ORDER BY ordinal_position"
        ),
    )
    .await?;
    let columns = if columns.num_rows() > 0 {
        columns
    } else {
        // Not in the catalog: a session table or a view.
        collect(
            shell,
            &format!(
                "SELECT column_name, data_type, is_nullable = 'YES' AS nullable \
                 FROM information_schema.columns \
                 WHERE table_catalog = 'tarn' AND table_schema = {s} AND table_name = {t} \
                 ORDER BY ordinal_position"
            ),
        )
        .await?
    };
    if columns.num_rows() == 0 {
        return Err(CliError::Engine(tarn::Error::NotFound { kind: "table", name: format!("{schema}.{table}") }));
    }
    let details = collect(
        shell,
        &format!(
            "SELECT format, location, partition_columns, file_count, total_bytes, row_count, \
                    comment \
             FROM tarn.tables WHERE schema_name = {s} AND table_name = {t}"
        ),
    )
    .await?;
    let human = shell.output.interactive || shell.output.format == Format::Table;
    if human {
        writeln!(out, "Table {schema}.{table}")?;
    }
    let stream = futures::stream::iter(columns.batches.into_iter().map(Ok)).boxed();
    output::write_rows(shell.output.format, columns.schema, stream, out).await?;
    if human {
        if let Some(batch) = details.batches.iter().find(|b| b.num_rows() > 0) {
            let get = |column: &str| cell(batch, column);
            let mut summary = vec![get("format").unwrap_or_default()];
            if let Some(files) = get("file_count") {
                summary.push(format!("{files} file{}", if files == "1" { "" } else { "s" }));
            }
            if let Some(bytes) = get("total_bytes").and_then(|b| b.parse::<u64>().ok()) {
                summary.push(human_bytes(bytes));
            }
            if let Some(rows) = get("row_count") {
                summary.push(format!("{rows} rows"));
            }
            writeln!(out, "Format:   {}", summary.join(", "))?;
            writeln!(out, "Location: {}", get("location").unwrap_or_default())?;
            if let Some(partitions) = get("partition_columns") {
                writeln!(out, "Partitioned by: {partitions}")?;
            }
            if let Some(comment) = get("comment") {
                writeln!(out, "Comment:  {comment}")?;
            }
        }
        if plus && details.num_rows() > 0 {
            writeln!(out, "Files:")?;
            let files = shell
                .engine
                .sql(&format!(
                    "SELECT path, size_bytes, last_modified, row_count FROM tarn.files \
                     WHERE schema_name = {s} AND table_name = {t} ORDER BY path"
                ))
                .await?;
            let settings = OutputSettings { timing: false, interactive: false, ..shell.output.clone() };
            output::print_result(files, &settings, Instant::now(), out).await?;
        }
        if shell.output.interactive {
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Run `sql` and collect its rows.
async fn collect(shell: &Shell, sql: &str) -> Result<Batches> {
    Ok(shell.engine.sql(sql).await?.collect().await?)
}

/// Print the result of a command's query in the shell's format, without timing.
async fn print(shell: &Shell, result: QueryResult, out: &mut dyn Write) -> Result<()> {
    let settings = OutputSettings { timing: false, ..shell.output.clone() };
    output::print_result(result, &settings, Instant::now(), out).await?;
    Ok(())
}

/// The value of `column` in the first row of `batch`, as text; `None` when NULL.
fn cell(batch: &RecordBatch, column: &str) -> Option<String> {
    let array = batch.column_by_name(column)?;
    if batch.num_rows() == 0 || array.is_null(0) {
        return None;
    }
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok()?;
    Some(formatter.value(0).to_string())
}

/// `schema.table` or `table` (in `default_schema`) from a name as typed:
/// unquoted parts are lower-cased, `"Quoted"` ones kept as they are.
fn resolve_name(name: &str, default_schema: &str) -> Result<(String, String)> {
    let parts = split_qualified(name)
        .filter(|parts| !parts.iter().any(String::is_empty))
        .ok_or_else(|| CliError::MetaUsage(format!("'{name}' is not a table name")))?;
    match parts.as_slice() {
        [table] => Ok((default_schema.to_string(), table.clone())),
        [schema, table] => Ok((schema.clone(), table.clone())),
        [catalog, schema, table] if catalog == tarn::CATALOG_NAME => Ok((schema.clone(), table.clone())),
        _ => Err(CliError::MetaUsage(format!("'{name}' is not a table name (use TABLE or SCHEMA.TABLE)"))),
    }
}

/// A SQL string literal holding `value`.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A byte count for people: `512 B`, `1.4 KiB`, `23.0 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_command() {
        let help = help_text();
        for c in COMMANDS {
            assert!(help.contains(&format!("\\{}", c.name)), "{help}");
            assert!(help.contains(c.help));
        }
    }

    #[test]
    fn names() {
        assert_eq!(resolve_name("LineItem", "public").unwrap(), ("public".into(), "lineitem".into()));
        assert_eq!(resolve_name("demo.\"Odd.Name\"", "public").unwrap(), ("demo".into(), "Odd.Name".into()));
        assert_eq!(resolve_name("tarn.s.t", "public").unwrap(), ("s".into(), "t".into()));
        assert!(resolve_name("a..b", "public").is_err());
        assert!(resolve_name("\"open", "public").is_err());
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 20), "3.0 MiB");
    }
}
