//! Printing results: the output formats (`table`, `line`, `csv`, `tsv`,
//! `json`, `ndjson`, `markdown`), expanded display (`\x`), the row limit of
//! the human formats (`\maxrows`), fitting tables to the terminal's width,
//! and the footers (row count, elapsed time).
//!
//! `csv`, `tsv`, `ndjson` and `markdown` are written batch by batch as the
//! query produces them and are never cut; `table`, `line` and expanded
//! output keep at most `max_rows` rows (the rest are counted, not kept) and
//! are written once the last batch is in; `json` is one array, written as it
//! comes.

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{self, ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::StreamExt;
use tarn::{QueryResult, RecordBatchStream, ResultKind};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::error::{CliError, Result};

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A boxed table: column types under the names, numbers right-aligned,
    /// NULL written `NULL`.
    #[default]
    Table,
    /// One `column = value` line per column, a blank line between rows.
    Line,
    /// Comma-separated values with a header row; NULL is an empty field.
    Csv,
    /// Tab-separated values with a header row; NULL is an empty field.
    Tsv,
    /// One JSON array of objects (NULL is `null`).
    Json,
    /// One JSON object per line (NULL is `null`).
    Ndjson,
    /// A GitHub-flavoured Markdown table; NULL is an empty cell.
    Markdown,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 7] =
        [Format::Table, Format::Line, Format::Csv, Format::Tsv, Format::Json, Format::Ndjson, Format::Markdown];

    /// The format's name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Line => "line",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Markdown => "markdown",
        }
    }

    /// The format called `name` (case-insensitive), also by DuckDB's names
    /// (`box`, `duckbox`, `tabs`, `jsonlines`).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        match name.as_str() {
            "box" | "duckbox" => Some(Format::Table),
            "tabs" => Some(Format::Tsv),
            "jsonlines" => Some(Format::Ndjson),
            _ => Format::ALL.into_iter().find(|f| f.name() == name),
        }
    }

    /// Whether the format is for people (kept to `max_rows`, fitted to the
    /// terminal) rather than for programs.
    fn is_human(self) -> bool {
        matches!(self, Format::Table | Format::Line)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Expanded display (`\x`): one `column | value` line per column, a header
/// per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expanded {
    /// Tables as tables.
    #[default]
    Off,
    /// Every table result expanded.
    On,
    /// Expanded when the table would not fit the terminal's width.
    Auto,
}

impl Expanded {
    /// The mode's name in `\x`.
    pub fn name(self) -> &'static str {
        match self {
            Expanded::Off => "off",
            Expanded::On => "on",
            Expanded::Auto => "auto",
        }
    }
}

/// What to print around results.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// Format of rows.
    pub format: Format,
    /// No footers at all (`-q`).
    pub quiet: bool,
    /// Show the elapsed time in footers (`\timing`; interactive only).
    pub timing: bool,
    /// Running the interactive shell: command tags and footers are printed
    /// whatever the format, and a blank line follows every result.
    pub interactive: bool,
    /// Rows the table and line formats show at most (`\maxrows`; `None`:
    /// all).
    pub max_rows: Option<usize>,
    /// Expanded display of tables (`\x`).
    pub expanded: Expanded,
    /// Width tables must fit in (the terminal's), `None` for no limit.
    pub width: Option<usize>,
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            format: Format::Table,
            quiet: false,
            timing: true,
            interactive: false,
            max_rows: None,
            expanded: Expanded::Off,
            width: None,
        }
    }
}

/// Rows the interactive shell shows by default before "N more rows".
pub const DEFAULT_MAX_ROWS: usize = 40;

impl OutputSettings {
    /// Whether command tags (`CREATE TABLE`) are printed.
    fn show_tags(&self) -> bool {
        self.interactive || self.format.is_human()
    }

    /// Whether the row-count footer is printed.
    fn show_row_count(&self) -> bool {
        !self.quiet && (self.interactive || self.format.is_human())
    }

    /// Whether footers include the elapsed time.
    fn show_elapsed(&self) -> bool {
        !self.quiet && self.interactive && self.timing
    }
}

/// Read `result` to the end and print it to `out` in `settings.format`,
/// with its footer; `started` is when the statement began (for timing).
/// Returns the number of rows.
pub async fn print_result(
    result: QueryResult,
    settings: &OutputSettings,
    started: Instant,
    out: &mut dyn Write,
) -> Result<u64> {
    print_result_with(result, settings, started, out, &mut || {}).await
}

/// [`print_result`], calling `before_output` once, just before the first
/// byte is written (the shell erases its progress line then).
pub async fn print_result_with(
    result: QueryResult,
    settings: &OutputSettings,
    started: Instant,
    out: &mut dyn Write,
    before_output: &mut dyn FnMut(),
) -> Result<u64> {
    let mut out = FirstWrite { inner: out, before: Some(before_output) };
    let out: &mut dyn Write = &mut out;
    if let ResultKind::Command { tag } = result.kind().clone() {
        // Commands have run by now; their stream is empty but drain it anyway.
        let mut stream = result.into_stream();
        while let Some(batch) = stream.next().await {
            batch?;
        }
        if settings.show_tags() {
            match settings.show_elapsed() {
                true => writeln!(out, "{tag} in {}", seconds(started.elapsed()))?,
                false => writeln!(out, "{tag}")?,
            }
            if settings.interactive {
                writeln!(out)?;
            }
        }
        out.flush()?;
        return Ok(0);
    }
    let schema = result.schema();
    let stream = result.into_stream();
    let (rows, shown) = match settings.format.is_human() {
        true => write_human(settings, schema, stream, out).await?,
        false => {
            let rows = write_rows(settings.format, schema, stream, out).await?;
            (rows, rows)
        }
    };
    if settings.show_row_count() {
        let elapsed = settings.show_elapsed().then(|| started.elapsed());
        writeln!(out, "{}", footer(rows, shown, elapsed))?;
    }
    if settings.interactive {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(rows)
}

/// Write a result in a human format (table, line, expanded): keep up to
/// `max_rows` rows, count the rest. Returns (rows in all, rows shown).
async fn write_human(
    settings: &OutputSettings,
    schema: SchemaRef,
    mut stream: RecordBatchStream,
    out: &mut dyn Write,
) -> Result<(u64, u64)> {
    let limit = settings.max_rows.unwrap_or(usize::MAX);
    let mut kept: Vec<RecordBatch> = Vec::new();
    let mut kept_rows = 0usize;
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        if kept_rows < limit {
            let take = batch.num_rows().min(limit - kept_rows);
            kept_rows += take;
            kept.push(batch.slice(0, take));
        }
    }
    let grid = Grid::new(&schema, &kept)?;
    let text = match (settings.format, settings.expanded) {
        (Format::Line, _) => grid.render_lines(),
        (_, Expanded::On) => grid.render_expanded(),
        (_, Expanded::Auto) => grid.render_table(settings.width, false).unwrap_or_else(|| grid.render_expanded()),
        (_, Expanded::Off) => grid.render_table(settings.width, true).unwrap_or_default(),
    };
    write!(out, "{text}")?;
    Ok((rows, kept_rows as u64))
}

/// Cells of a result as text, with its column names and types.
struct Grid {
    names: Vec<String>,
    types: Vec<String>,
    numeric: Vec<bool>,
    rows: Vec<Vec<String>>,
}

/// The narrowest a column is squeezed to before columns are dropped.
const MIN_COLUMN_WIDTH: usize = 6;
/// The mark of a value cut short, and of columns left out.
const ELLIPSIS: &str = "…";

impl Grid {
    fn new(schema: &Schema, batches: &[RecordBatch]) -> Result<Grid> {
        let options = FormatOptions::default().with_null("NULL");
        let mut rows: Vec<Vec<String>> = Vec::new();
        for batch in batches {
            rows.extend(formatted_rows(batch, &options, printable)?);
        }
        Ok(Grid {
            names: schema.fields().iter().map(|f| printable(f.name())).collect(),
            types: schema.fields().iter().map(|f| type_name(f.data_type())).collect(),
            numeric: schema.fields().iter().map(|f| f.data_type().is_numeric()).collect(),
            rows,
        })
    }

    /// A boxed table no wider than `width`: wide columns are cut short
    /// with `…`, then, when `drop_columns`, columns on the right are left
    /// out (a `…` column marks them). `None` when it does not fit and
    /// columns may not be dropped.
    fn render_table(&self, width: Option<usize>, drop_columns: bool) -> Option<String> {
        let mut widths: Vec<usize> = (0..self.names.len())
            .map(|i| {
                let cells = self.rows.iter().map(|r| r[i].width());
                cells.chain([self.names[i].width(), self.types[i].width()]).max().unwrap_or(1).max(1)
            })
            .collect();
        let mut shown = widths.len();
        if let Some(limit) = width {
            let total = |widths: &[usize], hidden: bool| {
                widths.iter().map(|w| w + 3).sum::<usize>() + 1 + if hidden { 4 } else { 0 }
            };
            // Squeeze the widest column until the table fits or every column
            // is at its minimum.
            while total(&widths[..shown], false) > limit {
                let Some((i, w)) = widths.iter().copied().enumerate().max_by_key(|(_, w)| *w) else { break };
                if w <= MIN_COLUMN_WIDTH {
                    break;
                }
                widths[i] = w - 1;
            }
            if total(&widths[..shown], false) > limit {
                if !drop_columns {
                    return None;
                }
                while shown > 1 && total(&widths[..shown], true) > limit {
                    shown -= 1;
                }
            }
        }
        let hidden = shown < widths.len();
        let widths = &widths[..shown];
        let mut text = String::new();
        let rule = |left: &str, middle: &str, right: &str| {
            let mut line = String::from(left);
            let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
            line.push_str(&parts.join(middle));
            if hidden {
                line.push_str(middle);
                line.push_str("───");
            }
            line.push_str(right);
            line.push('\n');
            line
        };
        let row_line = |cells: &[String], right_align: &dyn Fn(usize) -> bool| {
            let mut line = String::from("│");
            for (i, w) in widths.iter().enumerate() {
                let cell = fit(&cells[i], *w);
                let pad = " ".repeat(w - cell.width());
                match right_align(i) {
                    true => line.push_str(&format!(" {pad}{cell} │")),
                    false => line.push_str(&format!(" {cell}{pad} │")),
                }
            }
            if hidden {
                line.push_str(&format!(" {ELLIPSIS} │"));
            }
            line.push('\n');
            line
        };
        text.push_str(&rule("┌", "┬", "┐"));
        text.push_str(&row_line(&self.names, &|_| false));
        text.push_str(&row_line(&self.types, &|_| false));
        text.push_str(&rule("├", "┼", "┤"));
        for row in &self.rows {
            text.push_str(&row_line(row, &|i| self.numeric[i]));
        }
        text.push_str(&rule("└", "┴", "┘"));
        if hidden {
            let n = self.names.len() - shown;
            text.push_str(&format!(
                "{n} more column{} not shown: {} (\\x shows every column)\n",
                if n == 1 { "" } else { "s" },
                self.names[shown..].join(", ")
            ));
        }
        Some(text)
    }

    /// psql's expanded display: a header per record, then `name | value`.
    fn render_expanded(&self) -> String {
        let name_width = self.names.iter().map(|n| n.width()).max().unwrap_or(0);
        let mut text = String::new();
        for (number, row) in self.rows.iter().enumerate() {
            let header = format!("-[ RECORD {} ]", number + 1);
            let rule =
                (name_width + 3 + row.iter().map(|c| c.width()).max().unwrap_or(0)).saturating_sub(header.width());
            text.push_str(&format!("{header}{}\n", "-".repeat(rule.max(1))));
            for (name, value) in self.names.iter().zip(row) {
                let pad = " ".repeat(name_width - name.width());
                text.push_str(&format!("{name}{pad} | {value}\n"));
            }
        }
        if self.rows.is_empty() {
            text.push_str("(no rows)\n");
        }
        text
    }

    /// DuckDB's line mode: `name = value`, names right-aligned, a blank
    /// line between rows.
    fn render_lines(&self) -> String {
        let name_width = self.names.iter().map(|n| n.width()).max().unwrap_or(0);
        let mut records = Vec::new();
        for row in &self.rows {
            let mut record = String::new();
            for (name, value) in self.names.iter().zip(row) {
                let pad = " ".repeat(name_width - name.width());
                record.push_str(&format!("{pad}{name} = {value}\n"));
            }
            records.push(record);
        }
        records.join("\n")
    }
}

/// `text` cut to at most `width` columns on screen, ending in `…` if cut.
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push_str(ELLIPSIS);
    out
}

/// A value with its line breaks and tabs made visible, so each row stays
/// on one line.
fn printable(value: &str) -> String {
    if !value.contains(['\n', '\r', '\t']) {
        return value.to_string();
    }
    value.replace("\r\n", "↵").replace(['\n', '\r'], "↵").replace('\t', "→")
}

/// A column type as SQL users know it: `bigint`, `varchar`,
/// `decimal(15,2)`, `timestamp`.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "null".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 => "utinyint".into(),
        DataType::UInt16 => "usmallint".into(),
        DataType::UInt32 => "uint".into(),
        DataType::UInt64 => "ubigint".into(),
        DataType::Float16 => "half".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => "blob".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "(s)",
                TimeUnit::Millisecond => "(ms)",
                TimeUnit::Microsecond => "",
                TimeUnit::Nanosecond => "(ns)",
            };
            match tz {
                Some(_) => format!("timestamptz{unit}"),
                None => format!("timestamp{unit}"),
            }
        }
        DataType::Interval(_) => "interval".into(),
        DataType::Duration(_) => "duration".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::ListView(f) | DataType::LargeListView(f) => {
            format!("{}[]", type_name(f.data_type()))
        }
        DataType::FixedSizeList(f, n) => format!("{}[{n}]", type_name(f.data_type())),
        DataType::Struct(_) => "struct".into(),
        DataType::Map(_, _) => "map".into(),
        DataType::Dictionary(_, value) => type_name(value),
        DataType::RunEndEncoded(_, value) => type_name(value.data_type()),
        other => other.to_string().to_lowercase(),
    }
}

/// Print every batch of `stream` to `out` in `format`; returns the row count.
pub async fn write_rows(
    format: Format,
    schema: SchemaRef,
    stream: RecordBatchStream,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut tracked = Tracked { inner: out, failed: None };
    let result = write_rows_to(format, schema, stream, &mut tracked).await;
    match (result, tracked.failed) {
        // Arrow's writers turn I/O errors into their own; keep the I/O error
        // (a closed pipe must stay recognisable).
        (Err(CliError::Format(_)), Some(kind)) => Err(CliError::Output(kind.into())),
        (result, _) => result,
    }
}

/// A writer that calls a function before its first write.
struct FirstWrite<'a> {
    inner: &'a mut dyn Write,
    before: Option<&'a mut dyn FnMut()>,
}

impl Write for FirstWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(before) = self.before.take() {
            before();
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A writer that remembers the kind of the last I/O error it returned.
struct Tracked<'a> {
    inner: &'a mut dyn Write,
    failed: Option<std::io::ErrorKind>,
}

impl Write for Tracked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.failed = Some(e.kind()))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| self.failed = Some(e.kind()))
    }
}

/// [`write_rows`] without the I/O error tracking.
async fn write_rows_to(
    format: Format,
    schema: SchemaRef,
    mut stream: RecordBatchStream,
    out: &mut dyn Write,
) -> Result<u64> {
    let mut rows = 0u64;
    match format {
        Format::Table | Format::Line => {
            let settings = OutputSettings { format, ..OutputSettings::default() };
            rows = write_human(&settings, schema, stream, out).await?.0;
        }
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut writer = csv::WriterBuilder::new().with_header(true).with_delimiter(delimiter).build(&mut *out);
            // An empty first batch writes the header even when no row comes.
            let empty = RecordBatch::new_empty(flat_schema(&schema));
            writer.write(&empty).map_err(CliError::from_arrow)?;
            while let Some(batch) = stream.next().await {
                let batch = stringify_nested(&batch?).map_err(CliError::Format)?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(CliError::from_arrow)?;
            }
        }
        Format::Json => {
            let mut writer: ArrayWriter<_> = json::WriterBuilder::new().with_explicit_nulls(true).build(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(CliError::from_arrow)?;
            }
            writer.finish().map_err(CliError::from_arrow)?;
            drop(writer);
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut writer: LineDelimitedWriter<_> =
                json::WriterBuilder::new().with_explicit_nulls(true).build(&mut *out);
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                writer.write(&batch).map_err(CliError::from_arrow)?;
                writer.get_mut().flush()?;
            }
            writer.finish().map_err(CliError::from_arrow)?;
        }
        Format::Markdown => {
            write_markdown_header(&schema, out)?;
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                write_markdown_rows(&batch, out)?;
                out.flush()?;
            }
        }
    }
    Ok(rows)
}

/// The row-count footer: `1 row`, `3 rows in 0.012 s`, or, when fewer
/// rows were `shown` than the result has, `1000 rows (40 shown; \maxrows N
/// to change)`.
pub fn footer(rows: u64, shown: u64, elapsed: Option<Duration>) -> String {
    let noun = if rows == 1 { "row" } else { "rows" };
    let mut text = format!("{rows} {noun}");
    if shown < rows {
        text.push_str(&format!(" ({shown} shown, {} more rows; \\maxrows N to change)", rows - shown));
    }
    if let Some(d) = elapsed {
        text.push_str(&format!(" in {}", seconds(d)));
    }
    text
}

/// A duration as seconds with millisecond precision: `0.012 s`.
fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

/// The schema with nested columns (lists, structs, maps) turned into
/// strings, which CSV cannot otherwise hold.
fn flat_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type().is_nested() {
            true => Field::new(f.name(), DataType::Utf8, true),
            false => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// `batch` with its nested columns rendered as text (as the table format
/// shows them); other columns untouched.
fn stringify_nested(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch.columns().iter().any(|c| c.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let options = FormatOptions::default();
    let columns = batch
        .columns()
        .iter()
        .map(|column| {
            if !column.data_type().is_nested() {
                return Ok(column.clone());
            }
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
            let values: StringArray =
                (0..column.len()).map(|i| (!column.is_null(i)).then(|| formatter.value(i).to_string())).collect();
            Ok(Arc::new(values) as ArrayRef)
        })
        .collect::<Result<Vec<_>, ArrowError>>()?;
    RecordBatch::try_new(flat_schema(batch.schema().as_ref()), columns)
}

/// Header and alignment rows of a Markdown table; numbers are right-aligned.
fn write_markdown_header(schema: &Schema, out: &mut dyn Write) -> Result<()> {
    let names: Vec<String> = schema.fields().iter().map(|f| markdown_cell(f.name())).collect();
    writeln!(out, "| {} |", names.join(" | "))?;
    let rules: Vec<&str> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type().is_numeric() {
            true => "---:",
            false => "---",
        })
        .collect();
    writeln!(out, "| {} |", rules.join(" | "))?;
    Ok(())
}

/// The cells of `batch` as text, row by row, each passed through `escape`.
fn formatted_rows(
    batch: &RecordBatch,
    options: &FormatOptions,
    escape: impl Fn(&str) -> String,
) -> Result<Vec<Vec<String>>> {
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), options))
        .collect::<Result<Vec<_>, ArrowError>>()
        .map_err(CliError::Format)?;
    Ok((0..batch.num_rows())
        .map(|row| formatters.iter().map(|f| escape(&f.value(row).to_string())).collect())
        .collect())
}

/// The rows of `batch` as Markdown table rows.
fn write_markdown_rows(batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
    for cells in formatted_rows(batch, &FormatOptions::default(), markdown_cell)? {
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

/// Escape a value for a Markdown table cell.
fn markdown_cell(value: &str) -> String {
    value.replace('\\', "\\\\").replace('|', "\\|").replace("\r\n", "<br>").replace('\n', "<br>")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn footers() {
        assert_eq!(footer(1, 1, None), "1 row");
        assert_eq!(footer(3, 3, None), "3 rows");
        assert_eq!(footer(0, 0, Some(Duration::from_millis(12))), "0 rows in 0.012 s");
        assert_eq!(footer(1000, 40, None), "1000 rows (40 shown, 960 more rows; \\maxrows N to change)");
    }

    #[test]
    fn format_names() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("xml"), None);
    }

    fn grid() -> Grid {
        Grid {
            names: vec!["id".into(), "name".into(), "note".into()],
            types: vec!["bigint".into(), "varchar".into(), "varchar".into()],
            numeric: vec![true, false, false],
            rows: vec![
                vec!["1".into(), "Ann".into(), "a rather long note about Ann".into()],
                vec!["22".into(), "NULL".into(), "short".into()],
            ],
        }
    }

    #[test]
    fn tables_have_types_and_right_aligned_numbers() {
        let text = grid().render_table(None, true).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "│ id     │ name    │ note                         │");
        assert_eq!(lines[2], "│ bigint │ varchar │ varchar                      │");
        assert_eq!(lines[4], "│      1 │ Ann     │ a rather long note about Ann │");
        assert_eq!(lines[5], "│     22 │ NULL    │ short                        │");
    }

    #[test]
    fn wide_tables_are_cut_to_the_screen() {
        let text = grid().render_table(Some(40), true).unwrap();
        assert!(text.lines().all(|l| l.width() <= 40), "{text}");
        assert!(text.contains("│ a rather long no… │"), "{text}");
        // Too narrow for every column: the last ones are left out, and said so.
        let text = grid().render_table(Some(24), true).unwrap();
        assert!(text.lines().take(6).all(|l| l.width() <= 24), "{text}");
        assert!(text.contains("not shown: note"), "{text}");
        // \x auto: a table that does not fit is expanded instead.
        assert_eq!(grid().render_table(Some(24), false), None);
    }

    #[test]
    fn expanded_and_line_display() {
        let text = grid().render_expanded();
        assert!(text.starts_with("-[ RECORD 1 ]"), "{text}");
        assert!(text.contains("\nid   | 1\nname | Ann\n"), "{text}");
        let text = grid().render_lines();
        assert!(text.starts_with("  id = 1\nname = Ann\n"), "{text}");
        assert!(
            text.contains("short\n\n  id = 22") || text.contains("note = a rather long note about Ann\n\n  id = 22")
        );
    }

    #[test]
    fn values_stay_on_one_line() {
        assert_eq!(printable("a\nb\tc"), "a↵b→c");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("日本語テキスト", 5), "日本…");
    }

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b<br>c");
    }
}
