//! Printing results: the output formats (`table`, `csv`, `tsv`, `json`,
//! `ndjson`, `markdown`) and the footers (row count, elapsed time).
//!
//! `csv`, `tsv`, `ndjson` and `markdown` are written batch by batch as the
//! query produces them; `table` and `json` are written once the last batch
//! is in (`table` needs every row to size its columns).

use std::fmt;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::csv;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::{self, ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches_with_options;
use futures::StreamExt;
use tarn::{QueryResult, RecordBatchStream, ResultKind};

use crate::error::{CliError, Result};

/// How query results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A table with box borders, NULL written `NULL`.
    #[default]
    Table,
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
    pub const ALL: [Format; 6] =
        [Format::Table, Format::Csv, Format::Tsv, Format::Json, Format::Ndjson, Format::Markdown];

    /// The format's name as written on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Markdown => "markdown",
        }
    }

    /// The format called `name` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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
}

impl OutputSettings {
    /// Whether command tags (`CREATE TABLE`) are printed.
    fn show_tags(&self) -> bool {
        self.interactive || self.format == Format::Table
    }

    /// Whether the row-count footer is printed.
    fn show_row_count(&self) -> bool {
        !self.quiet && (self.interactive || self.format == Format::Table)
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
    let rows = write_rows(settings.format, schema, stream, out).await?;
    if settings.show_row_count() {
        let elapsed = settings.show_elapsed().then(|| started.elapsed());
        writeln!(out, "{}", footer(rows, elapsed))?;
    }
    if settings.interactive {
        writeln!(out)?;
    }
    out.flush()?;
    Ok(rows)
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
        Format::Table => {
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                rows += batch.num_rows() as u64;
                batches.push(batch);
            }
            writeln!(out, "{}", format_table(&schema, &batches)?)?;
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

/// The rows as a boxed table (NULL shown as `NULL`); the header alone when
/// there are no rows.
pub fn format_table(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<String> {
    let options = FormatOptions::default().with_null("NULL");
    let table = if batches.iter().all(|b| b.num_rows() == 0) {
        pretty_format_batches_with_options(&[RecordBatch::new_empty(schema.clone())], &options)
    } else {
        pretty_format_batches_with_options(batches, &options)
    }
    .map_err(CliError::Format)?;
    Ok(table.to_string())
}

/// The row-count footer: `1 row`, `3 rows`, `3 rows in 0.012 s`.
pub fn footer(rows: u64, elapsed: Option<Duration>) -> String {
    let noun = if rows == 1 { "row" } else { "rows" };
    match elapsed {
        Some(d) => format!("{rows} {noun} in {}", seconds(d)),
        None => format!("{rows} {noun}"),
    }
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

/// The rows of `batch` as Markdown table rows.
fn write_markdown_rows(batch: &RecordBatch, out: &mut dyn Write) -> Result<()> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, ArrowError>>()
        .map_err(CliError::Format)?;
    for row in 0..batch.num_rows() {
        let cells: Vec<String> = formatters.iter().map(|f| markdown_cell(&f.value(row).to_string())).collect();
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
        assert_eq!(footer(1, None), "1 row");
        assert_eq!(footer(3, None), "3 rows");
        assert_eq!(footer(0, Some(Duration::from_millis(12))), "0 rows in 0.012 s");
    }

    #[test]
    fn format_names() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("xml"), None);
    }

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(markdown_cell("a|b\nc"), "a\\|b<br>c");
    }
}
