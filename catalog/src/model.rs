//! Owns the plain data types the catalog stores and returns: schemas, table definitions, stored
//! tables, file manifests and per-file column statistics.
//!
//! These types carry no behavior beyond conversions; persistence lives in `store.rs`.

use std::collections::BTreeMap;
use std::fmt;

/// Format of a table's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileFormat {
    /// Comma (or other delimiter) separated values.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON.
    Json,
}

impl FileFormat {
    /// Lower-case name, as stored in the catalog: `"csv"`, `"parquet"` or `"json"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
            FileFormat::Json => "json",
        }
    }

    /// Parses a format name, case-insensitively. `"ndjson"` and `"jsonl"` mean [`FileFormat::Json`].
    /// Returns `None` for anything else.
    pub fn parse(s: &str) -> Option<FileFormat> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("csv") {
            Some(FileFormat::Csv)
        } else if s.eq_ignore_ascii_case("parquet") {
            Some(FileFormat::Parquet)
        } else if s.eq_ignore_ascii_case("json") || s.eq_ignore_ascii_case("ndjson") || s.eq_ignore_ascii_case("jsonl")
        {
            Some(FileFormat::Json)
        } else {
            None
        }
    }
}

impl fmt::Display for FileFormat {
    /// Upper case, as in SQL: `CSV`, `PARQUET`, `JSON`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Csv => "CSV",
            FileFormat::Parquet => "PARQUET",
            FileFormat::Json => "JSON",
        })
    }
}

/// A schema (namespace of tables).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaEntry {
    /// The schema name (unique in the catalog).
    pub name: String,
    /// Directory this schema was ATTACHed from, if any (then DETACH removes it).
    pub attached_path: Option<String>,
    /// `COMMENT ON SCHEMA`, if any.
    pub comment: Option<String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// Everything needed to create a table (what CREATE EXTERNAL TABLE / ATTACH decided).
#[derive(Debug, Clone, PartialEq)]
pub struct TableDefinition {
    /// Name of the schema the table lives in (must exist).
    pub schema: String,
    /// Table name (unique within its schema).
    pub name: String,
    /// A file, a directory (ending in '/'), a glob, or an object-store URL, as the user gave it (normalized by the engine).
    pub location: String,
    /// Format of the table's files.
    pub format: FileFormat,
    /// Format options in DataFusion's `format.*` key form, e.g. "format.delimiter" -> ";" ; also "format.compression".
    pub options: BTreeMap<String, String>,
    /// Full table schema: file columns followed by partition columns.
    pub schema_def: arrow_schema::SchemaRef,
    /// Names of Hive partition columns (a suffix of `schema_def`'s fields).
    pub partition_columns: Vec<String>,
    /// `COMMENT ON TABLE`, if any.
    pub comment: Option<String>,
}

/// A stored table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableEntry {
    /// Catalog-assigned id, never reused (a replaced (`OR REPLACE`) or re-created table gets a new one).
    pub id: i64,
    /// The definition it was created with (schema_def and comment as last updated).
    pub def: TableDefinition,
    /// column name -> comment
    pub column_comments: BTreeMap<String, String>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the manifest was last written (creation or REFRESH).
    pub refreshed_at_ms: i64,
    /// Number of files in the manifest (computed in SQL when loading).
    pub file_count: u64,
    /// Sum of the manifest's file sizes in bytes (computed in SQL when loading).
    pub total_bytes: u64,
    /// Sum of file row counts, None if any file lacks one.
    pub row_count: Option<u64>,
}

/// Per-column statistics of one file, as cheap to get from the format (Parquet footers).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnStats {
    /// The column name.
    pub column: String,
    /// Display form of the min value (the engine parses it back with the column's type).
    pub min: Option<String>,
    /// Display form of the max value (the engine parses it back with the column's type).
    pub max: Option<String>,
    /// Number of nulls in the column, if known.
    pub null_count: Option<u64>,
    /// `min` is a value of the column (not only a lower bound, as a writer
    /// that truncates long strings leaves).
    pub min_exact: bool,
    /// `max` is a value of the column (not only an upper bound).
    pub max_exact: bool,
    /// Estimated size of the column's data in memory, in bytes, if known.
    pub byte_size: Option<u64>,
}

/// One key of the sort order a file declares.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SortColumn {
    /// The column name.
    pub column: String,
    /// Descending order.
    pub descending: bool,
    /// Nulls sort first.
    pub nulls_first: bool,
}

/// One file of a table's manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileEntry {
    /// Full path or URL of the file as the object store lists it (e.g. "/data/lake/orders/o_orderstatus=F/part-0.parquet" or "s3://b/k").
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Milliseconds since the Unix epoch.
    pub last_modified_ms: Option<i64>,
    /// Nanoseconds since the Unix epoch, as exactly as the store reports it
    /// (None in manifests written before catalog version 5).
    pub last_modified_ns: Option<i64>,
    /// Object-store entity tag, if any.
    pub etag: Option<String>,
    /// Number of rows, if known without scanning.
    pub row_count: Option<u64>,
    /// When (milliseconds since the Unix epoch, taken before reading) the
    /// row count and column statistics were read from the file, if they hold
    /// everything a query planner takes from it; None otherwise (not read, or
    /// the file declares something the manifest does not keep, such as a
    /// sort order it cannot express). The engine plans from the manifest
    /// only for files unchanged since then.
    pub stats_read_at_ms: Option<i64>,
    /// The sort order the file declares (Parquet `sorting_columns`), empty
    /// if none.
    pub sort_order: Vec<SortColumn>,
    /// Per-column statistics (order is preserved by the catalog; one entry per column name).
    pub column_stats: Vec<ColumnStats>,
}

/// What `CREATE INDEX` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDefinition {
    /// Schema of the indexed table (the index name is unique in it).
    pub schema: String,
    /// The indexed table.
    pub table: String,
    /// Index name.
    pub name: String,
    /// Indexed columns, in the order given.
    pub columns: Vec<String>,
    /// Kind of index (`minmax`, `bloom`, `values`), as the engine names it.
    pub kind: String,
    /// Version of the sidecar format the engine writes for this index.
    pub format_version: i64,
}

/// A stored index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// Catalog-assigned id, never reused.
    pub id: i64,
    /// Id of the indexed table.
    pub table_id: i64,
    /// The definition it was created with.
    pub def: IndexDefinition,
    /// File name of the current sidecar (in the index directory), None before the first build.
    pub sidecar: Option<String>,
    /// Size of the sidecar in bytes.
    pub sidecar_bytes: u64,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    /// When the sidecar was last written (CREATE INDEX, REINDEX, REFRESH TABLE).
    pub built_at_ms: i64,
    /// Number of files the index covers (computed in SQL when loading).
    pub file_count: u64,
    /// Number of indexed units (files, row groups, byte blocks) over all files.
    pub unit_count: u64,
}

/// One file an index covers, with the identity it had when indexed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexedFile {
    /// Path as in the table's manifest (see [`FileEntry::path`]).
    pub path: String,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, milliseconds since the Unix epoch.
    pub last_modified_ms: Option<i64>,
    /// Object-store entity tag when indexed, if any.
    pub etag: Option<String>,
    /// Number of index units (row groups, blocks; 1 for a whole file) recorded for it.
    pub units: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_format_names() {
        for f in [FileFormat::Csv, FileFormat::Parquet, FileFormat::Json] {
            assert_eq!(FileFormat::parse(f.as_str()), Some(f));
            assert_eq!(FileFormat::parse(&f.to_string()), Some(f));
        }
        assert_eq!(FileFormat::parse("NDJSON"), Some(FileFormat::Json));
        assert_eq!(FileFormat::parse("jsonl"), Some(FileFormat::Json));
        assert_eq!(FileFormat::parse("Parquet"), Some(FileFormat::Parquet));
        assert_eq!(FileFormat::parse("avro"), None);
        assert_eq!(FileFormat::Parquet.to_string(), "PARQUET");
        assert_eq!(FileFormat::Csv.as_str(), "csv");
    }
}
