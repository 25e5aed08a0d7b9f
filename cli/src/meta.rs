//! Backslash ("meta") commands: `\q`, `\?`, `\d`, `\dn`, `\timing`,
//! `\format`. A line starting with `\` between statements is one of these;
//! it needs no `;`.
//!
//! [`COMMANDS`] is the single list of them: `\?` prints it and [`run`]
//! dispatches on it.

use std::io::Write;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::StreamExt;
use tarn::{Batches, QueryResult};

use crate::error::{CliError, Result};
use crate::output::{self, Format, OutputSettings};
use crate::shell::Shell;

/// What the shell does after a backslash command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAction {
    /// Read the next statement.
    Continue,
    /// Leave the shell (`\q`).
    Quit,
}

/// One backslash command: its name, its arguments and a line of help.
#[derive(Debug, Clone, Copy)]
pub struct MetaCommand {
    /// Name without the backslash, as typed (`d`, `dn`, `timing`).
    pub name: &'static str,
    /// Arguments, for the help (`[NAME]`).
    pub args: &'static str,
    /// What it does, in one line.
    pub help: &'static str,
    /// The code that runs it.
    kind: Kind,
}

/// Which command it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Help,
    Quit,
    Describe,
    Schemas,
    Timing,
    Format,
}

/// Every backslash command, in the order `\?` lists them.
pub const COMMANDS: &[MetaCommand] = &[
    MetaCommand { name: "?", args: "", help: "show this list of commands", kind: Kind::Help },
    MetaCommand { name: "q", args: "", help: "quit the shell", kind: Kind::Quit },
    MetaCommand {
        name: "d",
        args: "[NAME]",
        help: "list tables; with NAME, describe table NAME (columns, location, files)",
        kind: Kind::Describe,
    },
    MetaCommand { name: "dn", args: "", help: "list schemas", kind: Kind::Schemas },
    MetaCommand {
        name: "timing",
        args: "[on|off]",
        help: "show the elapsed time after each statement (toggles without argument)",
        kind: Kind::Timing,
    },
    MetaCommand {
        name: "format",
        args: "[FORMAT]",
        help: "show or set the output format: table, csv, tsv, json, ndjson, markdown",
        kind: Kind::Format,
    },
];

/// Run the backslash command `line` (`\d lineitem`; a trailing `;` is ignored).
pub async fn run(shell: &mut Shell, line: &str, out: &mut dyn Write) -> Result<MetaAction> {
    let line = line.trim();
    let line = line.strip_prefix('\\').unwrap_or(line);
    let line = line.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
    let mut words = line.split_whitespace();
    let name = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    let Some(command) = COMMANDS.iter().find(|c| c.name == name) else {
        return Err(CliError::UnknownMeta(name.to_string()));
    };
    let too_many = |max: usize| {
        (args.len() > max).then(|| CliError::MetaUsage(format!("usage: \\{} {}", command.name, command.args.trim())))
    };
    match command.kind {
        Kind::Help => {
            write!(out, "{}", help_text())?;
        }
        Kind::Quit => return Ok(MetaAction::Quit),
        Kind::Describe => {
            if let Some(e) = too_many(1) {
                return Err(e);
            }
            match args.first() {
                None => list_tables(shell, out).await?,
                Some(name) => describe_table(shell, name, out).await?,
            }
        }
        Kind::Schemas => {
            if let Some(e) = too_many(0) {
                return Err(e);
            }
            let sql = "SELECT schema_name, attached_path, table_count, comment \
                       FROM tarn.schemas ORDER BY schema_name";
            let result = shell.engine.sql(sql).await?;
            print(shell, result, out).await?;
        }
        Kind::Timing => {
            if let Some(e) = too_many(1) {
                return Err(e);
            }
            shell.output.timing = match args.first().map(|a| a.to_ascii_lowercase()) {
                None => !shell.output.timing,
                Some(a) if a == "on" => true,
                Some(a) if a == "off" => false,
                Some(a) => {
                    return Err(CliError::MetaUsage(format!("\\timing takes 'on' or 'off', not '{a}'")));
                }
            };
            let state = if shell.output.timing { "on" } else { "off" };
            writeln!(out, "Timing is {state}.")?;
        }
        Kind::Format => {
            if let Some(e) = too_many(1) {
                return Err(e);
            }
            if let Some(name) = args.first() {
                shell.output.format = Format::from_name(name).ok_or_else(|| {
                    let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
                    CliError::MetaUsage(format!("unknown format '{name}'; choose one of: {}", names.join(", ")))
                })?;
            }
            writeln!(out, "Output format is {}.", shell.output.format)?;
        }
    }
    Ok(MetaAction::Continue)
}

/// The text `\?` prints: every command with its line of help.
pub fn help_text() -> String {
    let usage: Vec<String> =
        COMMANDS.iter().map(|c| format!("\\{} {}", c.name, c.args).trim_end().to_string()).collect();
    let width = usage.iter().map(String::len).max().unwrap_or(0);
    let mut text = String::from("Backslash commands (no ';' needed):\n");
    for (usage, command) in usage.iter().zip(COMMANDS) {
        text.push_str(&format!("  {usage:<width$}  {}\n", command.help));
    }
    text.push_str(
        "SQL statements end with ';' and may span several lines.\n\
         Ctrl-C clears the current input (or cancels a running query); Ctrl-D quits.\n",
    );
    text
}

/// `\d`: every table, with its format, files, size and rows (views and
/// in-memory tables too).
async fn list_tables(shell: &mut Shell, out: &mut dyn Write) -> Result<()> {
    // information_schema sees session tables and views as well as catalog tables.
    let all = "SELECT t.table_schema AS schema_name, t.table_name, \
                   CASE WHEN c.format IS NOT NULL THEN c.format \
                        WHEN t.table_type = 'VIEW' THEN 'view' \
                        ELSE 'memory' END AS format, \
                   c.file_count, c.total_bytes, c.row_count \
               FROM information_schema.tables t \
               LEFT JOIN tarn.tables c \
                 ON c.schema_name = t.table_schema AND c.table_name = t.table_name \
               WHERE t.table_catalog = 'tarn' \
                 AND t.table_schema NOT IN ('information_schema', 'tarn') \
               ORDER BY 1, 2";
    let result = match shell.engine.sql(all).await {
        Ok(result) => result,
        Err(e) => {
            log::debug!("listing tables through information_schema failed: {e}");
            let catalog = "SELECT schema_name, table_name, format, file_count, total_bytes, \
                           row_count FROM tarn.tables ORDER BY 1, 2";
            shell.engine.sql(catalog).await?
        }
    };
    print(shell, result, out).await
}

/// `\d NAME`: the columns of table NAME (type, nullability, comment) and,
/// for catalog tables, where its files are.
async fn describe_table(shell: &mut Shell, name: &str, out: &mut dyn Write) -> Result<()> {
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
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut current)),
            c if quoted => current.push(c),
            c => current.extend(c.to_lowercase()),
        }
    }
    parts.push(current);
    if quoted || parts.iter().any(String::is_empty) {
        return Err(CliError::MetaUsage(format!("'{name}' is not a table name")));
    }
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
pub(crate) fn human_bytes(bytes: u64) -> String {
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
