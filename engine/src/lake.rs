//! Lake files to table definitions: format detection from extensions, CSV
//! dialect sniffing, per-file schema inference and merging, Hive partition
//! discovery, and the file manifest with Parquet footer statistics.
//!
//! [`inspect`] turns a location into a [`TableDefinition`] plus its
//! [`FileEntry`] manifest (the only place that reads files at DDL time);
//! [`listing_table`] turns a stored definition back into a DataFusion
//! `ListingTable` without any I/O.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::datasource::file_format::FileFormat as DfFileFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::execution::context::SessionState;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tarn_catalog::{ColumnStats, FileEntry, FileFormat, TableDefinition};

use crate::error::{Error, Result};
use crate::schema_merge::merge_file_schemas;
use crate::settings::TarnOptions;

/// Option key (not passed to DataFusion) holding the data-file suffix of a
/// table, e.g. `.csv.gz`; files without it are ignored when listing.
pub(crate) const EXTENSION_KEY: &str = "tarn.file_extension";

/// Option key (not passed to DataFusion) holding a table's declared file
/// sort order (`WITH ORDER`), as JSON: `[[{"column": "a", "asc": true, "nulls_first": false}]]`.
pub(crate) const SORT_ORDER_KEY: &str = "tarn.sort_order";

/// One key of a declared sort order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SortKey {
    pub column: String,
    pub asc: bool,
    pub nulls_first: bool,
}

fn parse_sort_order(json: &str) -> Result<Vec<Vec<datafusion::logical_expr::SortExpr>>> {
    let orders: Vec<Vec<SortKey>> =
        serde_json::from_str(json).map_err(|e| Error::internal(format!("stored sort order '{json}': {e}")))?;
    Ok(orders
        .into_iter()
        .map(|keys| keys.into_iter().map(|k| datafusion::prelude::ident(k.column).sort(k.asc, k.nulls_first)).collect())
        .collect())
}

/// What the user asked for; everything left `None` is detected.
#[derive(Debug, Clone, Default)]
pub(crate) struct TableSpec {
    pub location: String,
    pub format: Option<FileFormat>,
    /// `format.*` options as DataFusion names them.
    pub options: BTreeMap<String, String>,
    pub partition_columns: Option<Vec<String>>,
    /// Discover Hive partition columns from `key=value` folders when
    /// `partition_columns` is `None`.
    pub discover_partitions: bool,
    /// Full schema (file columns, then partition columns) when declared.
    pub schema: Option<SchemaRef>,
    pub comment: Option<String>,
}

impl TableSpec {
    /// A spec that detects everything from the files at `location`.
    pub(crate) fn detect(location: impl Into<String>) -> Self {
        Self { location: location.into(), discover_partitions: true, ..Default::default() }
    }
}

/// Compression suffixes Tarn recognizes, with DataFusion's names for them.
const COMPRESSIONS: [(&str, &str); 4] = [(".gz", "GZIP"), (".zst", "ZSTD"), (".bz2", "BZIP2"), (".xz", "XZ")];

/// Split a file name into (format, compression, data-file suffix).
pub(crate) fn detect_format(name: &str) -> Option<(FileFormat, Option<&'static str>, String)> {
    let lower = name.to_ascii_lowercase();
    let (stem, compression, comp_suffix) = COMPRESSIONS
        .iter()
        .find_map(|(suffix, c)| lower.strip_suffix(suffix).map(|s| (s.to_string(), Some(*c), *suffix)))
        .unwrap_or((lower.clone(), None, ""));
    let (format, ext) = if stem.ends_with(".parquet") || stem.ends_with(".pq") {
        (FileFormat::Parquet, if stem.ends_with(".pq") { ".pq" } else { ".parquet" })
    } else if stem.ends_with(".csv") {
        (FileFormat::Csv, ".csv")
    } else if stem.ends_with(".tsv") {
        (FileFormat::Csv, ".tsv")
    } else if stem.ends_with(".ndjson") {
        (FileFormat::Json, ".ndjson")
    } else if stem.ends_with(".jsonl") {
        (FileFormat::Json, ".jsonl")
    } else if stem.ends_with(".json") {
        (FileFormat::Json, ".json")
    } else {
        return None;
    };
    if format == FileFormat::Parquet && compression.is_some() {
        return None;
    }
    Some((format, compression, format!("{ext}{comp_suffix}")))
}

/// Normalize a user location: local paths become absolute (so the catalog
/// does not depend on the working directory), URLs stay as they are.
pub(crate) fn normalize_location(location: &str) -> Result<String> {
    if location.contains("://") {
        return Ok(location.to_string());
    }
    let trailing = location.ends_with('/');
    let path = std::path::absolute(location).map_err(|e| Error::Io { path: location.to_string(), source: e })?;
    let mut s = path.to_string_lossy().to_string();
    if (trailing || (!has_glob(&s) && path.is_dir())) && !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Check that a local location exists and can be read, with an error that names it.
fn check_local(location: &str) -> Result<()> {
    if location.contains("://") || has_glob(location) {
        return Ok(());
    }
    let path = Path::new(location);
    let meta = std::fs::metadata(path).map_err(|e| Error::Io { path: location.to_string(), source: e })?;
    if meta.is_dir() {
        std::fs::read_dir(path).map_err(|e| Error::Io { path: location.to_string(), source: e })?;
    } else {
        std::fs::File::open(path).map_err(|e| Error::Io { path: location.to_string(), source: e })?;
    }
    Ok(())
}

/// Build a DataFusion file format from a format and `format.*` options.
pub(crate) fn file_format(
    state: &SessionState,
    format: FileFormat,
    options: &BTreeMap<String, String>,
) -> Result<Arc<dyn DfFileFormat>> {
    let factory = state
        .get_file_format_factory(format.as_str())
        .ok_or_else(|| Error::internal(format!("no file format factory for {format}")))?;
    let df_options: HashMap<String, String> =
        options.iter().filter(|(k, _)| !k.starts_with("tarn.")).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(factory.create(state, &df_options)?)
}

/// List the data files of a location, sorted by path.
async fn list_files(
    state: &SessionState,
    url: &ListingTableUrl,
    store: &Arc<dyn ObjectStore>,
    extension: &str,
) -> Result<Vec<ObjectMeta>> {
    let mut files: Vec<ObjectMeta> = url
        .list_all_files(state, store.as_ref(), extension)
        .await?
        .try_filter(|m| futures::future::ready(!is_hidden(m.location.as_ref())))
        .try_collect()
        .await?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

/// Files and folders starting with `.` or `_` (`_SUCCESS`, `.crc`) are not data.
pub(crate) fn is_hidden(path: &str) -> bool {
    path.rsplit('/').next().is_some_and(|name| name.starts_with('.') || name.starts_with('_'))
}

/// A file's path as the user knows it: a local path or the store's URL.
fn display_path(url: &ListingTableUrl, meta: &ObjectMeta) -> String {
    store_path(&url.object_store(), &meta.location)
}

/// A store path as the user writes it: `/abs/path` locally, `s3://bucket/key` elsewhere.
pub(crate) fn store_path(
    store: &datafusion::execution::object_store::ObjectStoreUrl,
    location: &object_store::path::Path,
) -> String {
    match store.as_str() {
        "file:///" => format!("/{location}"),
        other => format!("{other}{location}"),
    }
}

/// Read the first bytes of a file (for sniffing).
async fn head_bytes(store: &Arc<dyn ObjectStore>, url: &ListingTableUrl, meta: &ObjectMeta, n: u64) -> Result<Vec<u8>> {
    let end = meta.size.min(n);
    let data = store
        .get_range(&meta.location, 0..end)
        .await
        .map_err(|e| Error::from(e).with_path(&display_path(url, meta)))?;
    Ok(data.to_vec())
}

/// Inspect a location: list files, detect the format and dialect, infer and
/// merge schemas, discover partitions and read cheap statistics.
pub(crate) async fn inspect(
    state: &SessionState,
    schema_name: &str,
    table_name: &str,
    spec: TableSpec,
    settings: &TarnOptions,
) -> Result<(TableDefinition, Vec<FileEntry>)> {
    let collect_statistics = settings.collect_statistics;
    let concurrency = settings.inspect_concurrency.max(1);
    let location = normalize_location(&spec.location)?;
    // A table with a declared schema may name a location that does not exist
    // yet (COPY or INSERT will write it); anything else must be readable now.
    let declared = spec.schema.is_some();
    match check_local(&location) {
        Err(Error::Io { source, .. }) if declared && source.kind() == std::io::ErrorKind::NotFound => {}
        other => other?,
    }
    crate::stores::ensure_object_store(state, &location)?;
    let url = ListingTableUrl::parse(&location)?;
    let store = state.runtime_env().object_store(url.object_store())?;

    // Format and extension: declared, or from the location's name, or from the first file found.
    let mut options = spec.options.clone();
    let declared_ext = options.get(EXTENSION_KEY).cloned();
    let name_hint = location.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string();
    let mut detected = detect_format(&name_hint);
    let mut files = if url.is_collection() || has_glob(&location) {
        let all = list_files(state, &url, &store, declared_ext.as_deref().unwrap_or("")).await?;
        if detected.is_none() {
            detected = all.iter().find_map(|m| detect_format(m.location.as_ref()));
        }
        all
    } else {
        match list_files(state, &url, &store, "").await {
            Err(Error::Io { source, .. }) if declared && source.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            other => other?,
        }
    };
    let format = match (spec.format, &detected) {
        (Some(f), _) => f,
        (None, Some((f, _, _))) => *f,
        (None, None) => {
            return Err(Error::Plan {
                message: format!(
                    "cannot tell the format of '{location}' from its name; say STORED AS CSV|PARQUET|JSON"
                ),
            });
        }
    };
    let extension = match (&declared_ext, &detected) {
        (Some(e), _) => e.clone(),
        (None, Some((f, _, e))) if *f == format => e.clone(),
        _ => String::new(),
    };
    if let Some((_, Some(compression), _)) = &detected {
        options.entry("format.compression".into()).or_insert_with(|| compression.to_string());
    }
    if !extension.is_empty() {
        files.retain(|m| m.location.as_ref().to_ascii_lowercase().ends_with(&extension));
        options.insert(EXTENSION_KEY.into(), extension.clone());
    }
    if files.is_empty() && spec.schema.is_none() {
        return Err(Error::Io {
            path: location.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no data files found"),
        });
    }

    // Dialect detection on the first file (empty files are reported by inference).
    if let Some(first) = files.iter().find(|f| f.size > 0) {
        match format {
            FileFormat::Csv if settings.sniff_csv => {
                sniff_csv_options(&store, &url, first, &mut options, &extension).await?
            }
            FileFormat::Json if !options.contains_key("format.newline_delimited") => {
                let head = head_bytes(&store, &url, first, 4096).await?;
                let array = head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
                if array && !options.contains_key("format.compression") {
                    options.insert("format.newline_delimited".into(), "false".into());
                }
            }
            _ => {}
        }
    }
    let mut df_format = file_format(state, format, &options)?;

    // Partition columns: declared, or discovered from Hive folders under a directory.
    let partition_columns = match &spec.partition_columns {
        Some(cols) => cols.clone(),
        None if url.is_collection() && spec.discover_partitions => discover_partitions(&url, &files)?,
        None => Vec::new(),
    };

    // Schema: declared, or inferred file by file and merged.
    let schema_def = match &spec.schema {
        Some(s) => s.clone(),
        None => {
            let per_file = infer_each(state, &store, &url, &df_format, &files, format, concurrency).await?;
            let merged = merge_file_schemas(&per_file, format)?;
            if format == FileFormat::Csv && per_file.iter().any(|(_, s)| s.fields().len() < merged.fields().len()) {
                // Older files lack columns added later (at the end): read them with nulls there.
                options.insert("format.truncated_rows".into(), "true".into());
                df_format = file_format(state, format, &options)?;
            }
            let mut fields: Vec<Field> = merged
                .fields()
                .iter()
                .filter(|f| !partition_columns.contains(f.name()))
                .map(|f| f.as_ref().clone())
                .collect();
            fields.extend(partition_columns.iter().map(|c| Field::new(c, DataType::Utf8, true)));
            Arc::new(Schema::new(fields))
        }
    };
    let file_schema = file_schema_of(&schema_def, &partition_columns)?;
    let entries =
        manifest(state, &store, &url, &df_format, file_schema, &files, format, collect_statistics, concurrency).await?;
    let def = TableDefinition {
        schema: schema_name.to_string(),
        name: table_name.to_string(),
        location,
        format,
        options,
        schema_def,
        partition_columns,
        comment: spec.comment,
    };
    Ok((def, entries))
}

/// Sniff CSV header and delimiter from the first file unless declared.
async fn sniff_csv_options(
    store: &Arc<dyn ObjectStore>,
    url: &ListingTableUrl,
    first: &ObjectMeta,
    options: &mut BTreeMap<String, String>,
    extension: &str,
) -> Result<()> {
    let need_delim = !options.contains_key("format.delimiter");
    let need_header = !options.contains_key("format.has_header");
    if !need_delim && !need_header {
        return Ok(());
    }
    if extension.ends_with(".tsv") && need_delim {
        options.insert("format.delimiter".into(), "\t".into());
    }
    let compressed = options.get("format.compression").is_some_and(|c| c != "UNCOMPRESSED");
    if compressed {
        // Sniffing compressed files would mean decompressing; assume the common dialect.
        options.entry("format.has_header".into()).or_insert_with(|| "true".into());
        return Ok(());
    }
    let head = head_bytes(store, url, first, 64 * 1024).await?;
    let text = String::from_utf8_lossy(&head);
    let declared = options.get("format.delimiter").and_then(|d| d.bytes().next());
    let quote = options.get("format.quote").and_then(|q| q.bytes().next()).unwrap_or(b'"');
    let sniffed = crate::sniff::sniff_csv(&text, declared, quote, head.len() as u64 == first.size);
    if need_delim && !options.contains_key("format.delimiter") {
        options.insert("format.delimiter".into(), (sniffed.delimiter as char).to_string());
    }
    if need_header {
        options.insert("format.has_header".into(), sniffed.has_header.to_string());
    }
    Ok(())
}

/// Hive partition columns (`key=value` folders) under a table directory, the
/// same keys in the same order for every file.
fn discover_partitions(url: &ListingTableUrl, files: &[ObjectMeta]) -> Result<Vec<String>> {
    let prefix = url.prefix().as_ref();
    let mut keys: Option<Vec<String>> = None;
    for f in files {
        let rel = f.location.as_ref().strip_prefix(prefix).unwrap_or(f.location.as_ref()).trim_start_matches('/');
        let mut parts: Vec<&str> = rel.split('/').collect();
        parts.pop(); // file name
        let these: Vec<String> = parts.iter().filter_map(|p| p.split_once('=').map(|(k, _)| k.to_string())).collect();
        match &keys {
            None => keys = Some(these),
            Some(k) if *k == these => {}
            Some(k) => {
                return Err(Error::IncompatibleSchema {
                    path: f.location.to_string(),
                    message: format!("partition folders {these:?} differ from the table's {k:?}"),
                });
            }
        }
    }
    Ok(keys.unwrap_or_default())
}

/// Infer each file's schema on its own (concurrently), so that a conflict
/// can name the file.
async fn infer_each(
    state: &SessionState,
    store: &Arc<dyn ObjectStore>,
    url: &ListingTableUrl,
    format: &Arc<dyn DfFileFormat>,
    files: &[ObjectMeta],
    kind: FileFormat,
    concurrency: usize,
) -> Result<Vec<(String, SchemaRef)>> {
    futures::stream::iter(files.iter().cloned())
        .map(|meta| {
            let path = display_path(url, &meta);
            async move {
                if meta.size == 0 {
                    return Err(Error::Data { path: Some(path), line: None, message: "the file is empty".into() });
                }
                if kind == FileFormat::Parquet {
                    check_parquet_footer(store, &meta, &path).await?;
                }
                let schema = format
                    .infer_schema(state as &dyn Session, store, std::slice::from_ref(&meta))
                    .await
                    .map_err(|e| Error::from(e).with_path(&path))?;
                if schema.fields().is_empty() {
                    return Err(Error::Data {
                        path: Some(path),
                        line: None,
                        message: "no columns found (is the file empty?)".into(),
                    });
                }
                Ok((path, schema))
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await
}

/// A Parquet file ends with its footer length and `PAR1`. Check both before
/// a decoder sees the file, so a truncated or foreign file is reported as
/// such (the decoder would trust a bogus length).
async fn check_parquet_footer(store: &Arc<dyn ObjectStore>, meta: &ObjectMeta, path: &str) -> Result<()> {
    let bad = |message: String| Error::Data { path: Some(path.to_string()), line: None, message };
    if meta.size < 12 {
        return Err(bad(format!("not a Parquet file: {} bytes is too short", meta.size)));
    }
    let tail =
        store.get_range(&meta.location, meta.size - 8..meta.size).await.map_err(|e| Error::from(e).with_path(path))?;
    if &tail[4..8] != b"PAR1" {
        return Err(bad("not a Parquet file, or truncated: it does not end with the Parquet magic bytes".into()));
    }
    let footer_len = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    if footer_len + 12 > meta.size {
        return Err(bad(format!(
            "truncated or corrupt Parquet file: its footer claims {footer_len} bytes but the file has {}",
            meta.size
        )));
    }
    Ok(())
}

/// The table schema without its partition columns: what the files hold.
pub(crate) fn file_schema_of(schema: &Schema, partition_columns: &[String]) -> Result<SchemaRef> {
    let fields: Vec<_> = schema.fields().iter().filter(|f| !partition_columns.contains(f.name())).cloned().collect();
    Ok(Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())))
}

/// Build the manifest: size, modification time and etag of every file, and
/// for Parquet its row count and column statistics from the footer.
#[allow(clippy::too_many_arguments)]
async fn manifest(
    state: &SessionState,
    store: &Arc<dyn ObjectStore>,
    url: &ListingTableUrl,
    format: &Arc<dyn DfFileFormat>,
    file_schema: SchemaRef,
    files: &[ObjectMeta],
    kind: FileFormat,
    collect_statistics: bool,
    concurrency: usize,
) -> Result<Vec<FileEntry>> {
    futures::stream::iter(files.iter().cloned())
        .map(|meta| {
            let file_schema = file_schema.clone();
            let path = display_path(url, &meta);
            async move {
                let mut entry = FileEntry {
                    path: path.clone(),
                    size: meta.size,
                    last_modified_ms: Some(meta.last_modified.timestamp_millis()),
                    last_modified_ns: meta.last_modified.timestamp_nanos_opt(),
                    etag: meta.e_tag.clone(),
                    ..Default::default()
                };
                if kind == FileFormat::Parquet && collect_statistics {
                    // Taken before reading: a file modified after this is
                    // never planned from these statistics.
                    let read_at_ms = tarn_catalog::now_ms();
                    let found = format
                        .infer_stats_and_ordering(state as &dyn Session, store, file_schema.clone(), &meta)
                        .await
                        .map_err(|e| Error::from(e).with_path(&path))?;
                    let stats = found.statistics;
                    entry.row_count = exact(&stats.num_rows).map(|n| n as u64);
                    entry.column_stats = file_schema
                        .fields()
                        .iter()
                        .zip(stats.column_statistics.iter())
                        .map(|(f, c)| ColumnStats {
                            column: f.name().clone(),
                            min: exact_or_inexact(&c.min_value).map(|v| v.to_string()),
                            max: exact_or_inexact(&c.max_value).map(|v| v.to_string()),
                            null_count: exact(&c.null_count).map(|n| n as u64),
                            min_exact: matches!(c.min_value, Precision::Exact(_)),
                            max_exact: matches!(c.max_value, Precision::Exact(_)),
                            byte_size: exact_or_inexact(&c.byte_size).map(|n| n as u64),
                        })
                        .collect();
                    // The sort order the footer declares is kept by column
                    // name; one over anything else is not, and such a file
                    // is planned from its footer.
                    let sort_order = match &found.ordering {
                        Some(ordering) => crate::manifest_statistics::sort_columns(ordering),
                        None => Some(Vec::new()),
                    };
                    if let (Some(sort_order), Some(_)) = (sort_order, entry.row_count) {
                        entry.sort_order = sort_order;
                        entry.stats_read_at_ms = Some(read_at_ms);
                    }
                }
                Ok::<_, Error>(entry)
            }
        })
        .buffered(concurrency)
        .try_collect()
        .await
}

fn exact<T: Copy + std::fmt::Debug + Clone + PartialEq + Eq + PartialOrd>(p: &Precision<T>) -> Option<T> {
    match p {
        Precision::Exact(v) => Some(*v),
        _ => None,
    }
}

fn exact_or_inexact<T: std::fmt::Debug + Clone + PartialEq + Eq + PartialOrd>(p: &Precision<T>) -> Option<T> {
    match p {
        Precision::Exact(v) | Precision::Inexact(v) => Some(v.clone()),
        Precision::Absent => None,
    }
}

/// Turn a stored definition into a DataFusion `ListingTable` (no I/O).
pub(crate) fn listing_table(state: &SessionState, def: &TableDefinition) -> Result<ListingTable> {
    crate::stores::ensure_object_store(state, &def.location)?;
    let mut options = def.options.clone();
    let extension = options.remove(EXTENSION_KEY).unwrap_or_default();
    let format = file_format(state, def.format, &options)?;
    let partition_cols: Vec<(String, DataType)> = def
        .partition_columns
        .iter()
        .map(|c| {
            let dt = def.schema_def.field_with_name(c).map(|f| f.data_type().clone()).unwrap_or(DataType::Utf8);
            (c.clone(), dt)
        })
        .collect();
    let sort_order = match options.remove(SORT_ORDER_KEY) {
        Some(json) => parse_sort_order(&json)?,
        None => Vec::new(),
    };
    let listing_options = ListingOptions::new(format)
        .with_file_extension(extension)
        .with_table_partition_cols(partition_cols)
        .with_file_sort_order(sort_order);
    let url = ListingTableUrl::parse(&def.location)?;
    let file_schema = file_schema_of(&def.schema_def, &def.partition_columns)?;
    let config = ListingTableConfig::new(url).with_listing_options(listing_options).with_schema(file_schema);
    // Share the runtime's file-statistics cache, as DataFusion's own listing
    // tables do. A LakeTable is built afresh for every statement, so without
    // it every query re-derives the statistics of every Parquet file
    // (benches/RESULTS.md). Entries are keyed by path and checked against
    // the file's size and modification time, so changed files are re-read.
    let statistics_cache = state.runtime_env().cache_manager.get_file_statistic_cache();
    Ok(ListingTable::try_new(config)?.with_cache(statistics_cache))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_extensions() {
        let d = |n: &str| detect_format(n);
        assert_eq!(d("a.csv"), Some((FileFormat::Csv, None, ".csv".into())));
        assert_eq!(d("a.CSV.gz"), Some((FileFormat::Csv, Some("GZIP"), ".csv.gz".into())));
        assert_eq!(d("x/a.ndjson.zst"), Some((FileFormat::Json, Some("ZSTD"), ".ndjson.zst".into())));
        assert_eq!(d("a.parquet"), Some((FileFormat::Parquet, None, ".parquet".into())));
        assert_eq!(d("a.json.bz2"), Some((FileFormat::Json, Some("BZIP2"), ".json.bz2".into())));
        assert_eq!(d("a.tsv.xz"), Some((FileFormat::Csv, Some("XZ"), ".tsv.xz".into())));
        assert_eq!(d("a.txt"), None);
        assert_eq!(d("_SUCCESS"), None);
    }

    #[test]
    fn hidden_files() {
        assert!(is_hidden("a/b/_SUCCESS"));
        assert!(is_hidden(".tarn-demo"));
        assert!(!is_hidden("a/k=v/part-0.parquet"));
    }
}
