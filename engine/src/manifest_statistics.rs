//! Planning Parquet scans from the catalog's manifest.
//!
//! DataFusion's listing table asks for every file's statistics while it
//! plans a scan (`datafusion.execution.collect_statistics`), and for Parquet
//! that means decoding every file's footer — in a new process, for every
//! file of the table, even when the query's predicate will prune all but one.
//! The catalog already holds those statistics: `CREATE`, `ATTACH` and
//! `REFRESH` store each file's row count and column min/max/null counts in
//! the manifest. [`seed_statistics_cache`] turns them into DataFusion
//! [`Statistics`] and places them in the runtime's file-statistics cache,
//! where the listing table finds them; the footers of files the predicate
//! prunes are then never read or decoded.
//!
//! Never stale: an entry carries the file's size and modification time
//! (nanoseconds) as the manifest recorded them, and DataFusion uses it only
//! for a listed file with the same size and time; a changed file misses and
//! has its footer read. A file modified within
//! [`RECENT_CHANGE_WINDOW`](crate::metadata_cache::RECENT_CHANGE_WINDOW) of
//! when its statistics were read is never seeded (a rewrite within one tick
//! of a coarse clock keeps its timestamp), nor a manifest written before
//! catalog version 5. The sort order a footer declares (which DataFusion
//! also takes from it) is kept in the manifest by column name.
//!
//! Min/max values are stored in their display form; they are parsed back
//! here for the types whose display form round-trips (integers, floats,
//! decimals, strings, booleans, dates, timestamps); other columns get no
//! min/max, which only makes pruning less sharp.

use std::sync::Arc;

use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::execution::cache::SchemaFingerprint;
use datafusion::execution::cache::TableScopedPath;
use datafusion::execution::cache::cache_manager::CachedFileMetadata;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use object_store::ObjectMeta;
use object_store::path::Path;
use tarn_catalog::{ColumnStats, FileEntry, SortColumn};

use crate::metadata_cache::{RECENT_CHANGE_WINDOW, from_nanos};

/// What [`seed_statistics_cache`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seeded {
    /// Files of the manifest.
    pub files: usize,
    /// Files whose statistics are now in the cache from the manifest (or
    /// were already there, valid).
    pub seeded: usize,
}

impl Seeded {
    /// Every file of the manifest can be planned without its footer.
    pub(crate) fn complete(&self) -> bool {
        self.files > 0 && self.seeded == self.files
    }
}

/// Put the manifest's statistics of every file that qualifies into the
/// session runtime's file-statistics cache, under the key and schema
/// fingerprint DataFusion's listing table of `url` with `file_schema` looks
/// up. Files already cached with the same size and time are left alone.
pub(crate) fn seed_statistics_cache(
    session: &dyn Session,
    url: &ListingTableUrl,
    file_schema: &SchemaRef,
    manifest: &[FileEntry],
) -> Seeded {
    let mut seeded = Seeded { files: manifest.len(), seeded: 0 };
    let Some(cache) = session.runtime_env().cache_manager.get_file_statistic_cache() else { return seeded };
    let store = url.object_store();
    let fingerprint = Arc::new(SchemaFingerprint::from_schema(file_schema));
    let window_ms = RECENT_CHANGE_WINDOW.as_millis() as i64;
    for entry in manifest {
        let (Some(read_at_ms), Some(modified_ns), Some(rows)) =
            (entry.stats_read_at_ms, entry.last_modified_ns, entry.row_count)
        else {
            continue;
        };
        if modified_ns.div_euclid(1_000_000) + window_ms > read_at_ms {
            continue;
        }
        let Some(location) = store_location(store.as_str(), &entry.path) else { continue };
        let meta = ObjectMeta {
            location: location.clone(),
            last_modified: from_nanos(modified_ns).into(),
            size: entry.size,
            e_tag: entry.etag.clone(),
            version: None,
        };
        let key = TableScopedPath { table: url.get_table_ref().clone(), path: location };
        if cache.get(&key).is_some_and(|c| c.is_valid_for(&meta, &fingerprint)) {
            seeded.seeded += 1;
            continue;
        }
        let Some(ordering) = ordering_of(&entry.sort_order, file_schema) else { continue };
        let statistics = Arc::new(statistics_of(entry, rows, file_schema));
        cache.put(&key, CachedFileMetadata::new(meta, fingerprint.clone(), statistics, ordering));
        seeded.seeded += 1;
    }
    seeded
}

/// A file's declared sort order as the manifest keeps it (by column name);
/// None if a key is not a plain column.
pub(crate) fn sort_columns(ordering: &LexOrdering) -> Option<Vec<SortColumn>> {
    ordering
        .iter()
        .map(|key| {
            let column = key.expr.downcast_ref::<Column>()?;
            Some(SortColumn {
                column: column.name().to_string(),
                descending: key.options.descending,
                nulls_first: key.options.nulls_first,
            })
        })
        .collect()
}

/// The ordering DataFusion derives from a file's footer, rebuilt from the
/// manifest: `Some(None)` for none, `None` if a column is not in the schema.
fn ordering_of(sort_order: &[SortColumn], file_schema: &SchemaRef) -> Option<Option<LexOrdering>> {
    if sort_order.is_empty() {
        return Some(None);
    }
    let keys = sort_order
        .iter()
        .map(|key| {
            let column = Column::new_with_schema(&key.column, file_schema).ok()?;
            Some(PhysicalSortExpr::new(
                Arc::new(column),
                SortOptions { descending: key.descending, nulls_first: key.nulls_first },
            ))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(LexOrdering::new(keys))
}

/// The object-store path of a manifest path (the inverse of `lake::store_path`).
fn store_location(store_url: &str, path: &str) -> Option<Path> {
    let raw = match store_url {
        "file:///" => path.strip_prefix('/')?,
        other => path.strip_prefix(other)?,
    };
    Path::parse(raw).ok()
}

/// DataFusion statistics of one file from its manifest entry, in the order
/// of `file_schema`'s columns.
pub(crate) fn statistics_of(entry: &FileEntry, rows: u64, file_schema: &SchemaRef) -> Statistics {
    let column_statistics = file_schema
        .fields()
        .iter()
        .map(|field| {
            let Some(stats) = entry.column_stats.iter().find(|c| c.column == *field.name()) else {
                return ColumnStatistics::new_unknown();
            };
            column_statistics(stats, field.data_type())
        })
        .collect();
    Statistics { num_rows: Precision::Exact(rows as usize), total_byte_size: Precision::Absent, column_statistics }
}

fn column_statistics(stats: &ColumnStats, data_type: &DataType) -> ColumnStatistics {
    // Min/max of a dictionary column are values of its value type.
    let value_type = match data_type {
        DataType::Dictionary(_, value) => value.as_ref(),
        other => other,
    };
    let bound = |value: &Option<String>, exact: bool| match value.as_deref().and_then(|v| parse_value(v, value_type)) {
        Some(v) if exact => Precision::Exact(v),
        Some(v) => Precision::Inexact(v),
        None => Precision::Absent,
    };
    ColumnStatistics {
        null_count: stats.null_count.map_or(Precision::Absent, |n| Precision::Exact(n as usize)),
        max_value: bound(&stats.max, stats.max_exact),
        min_value: bound(&stats.min, stats.min_exact),
        sum_value: Precision::Absent,
        distinct_count: Precision::Absent,
        byte_size: stats.byte_size.map_or(Precision::Absent, |n| Precision::Inexact(n as usize)),
    }
}

/// Parse a stored display form (`ScalarValue`'s `Display`) back into a value
/// of `data_type`, for the types whose display form round-trips; None for
/// the others and for anything that does not parse.
fn parse_value(text: &str, data_type: &DataType) -> Option<ScalarValue> {
    use DataType::*;
    let value = match data_type {
        Boolean => ScalarValue::Boolean(Some(text.parse().ok()?)),
        Int8 => ScalarValue::Int8(Some(text.parse().ok()?)),
        Int16 => ScalarValue::Int16(Some(text.parse().ok()?)),
        Int32 => ScalarValue::Int32(Some(text.parse().ok()?)),
        Int64 => ScalarValue::Int64(Some(text.parse().ok()?)),
        UInt8 => ScalarValue::UInt8(Some(text.parse().ok()?)),
        UInt16 => ScalarValue::UInt16(Some(text.parse().ok()?)),
        UInt32 => ScalarValue::UInt32(Some(text.parse().ok()?)),
        UInt64 => ScalarValue::UInt64(Some(text.parse().ok()?)),
        Float32 => ScalarValue::Float32(Some(text.parse().ok()?)),
        Float64 => ScalarValue::Float64(Some(text.parse().ok()?)),
        // Timestamps display as the raw count of their unit.
        Timestamp(unit, tz) => {
            let v: i64 = text.parse().ok()?;
            match unit {
                TimeUnit::Second => ScalarValue::TimestampSecond(Some(v), tz.clone()),
                TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(Some(v), tz.clone()),
                TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(Some(v), tz.clone()),
                TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(Some(v), tz.clone()),
            }
        }
        // "NULL" is also how a missing value displays: not a usable bound.
        Utf8 | LargeUtf8 | Utf8View if text == "NULL" => return None,
        Utf8 => ScalarValue::Utf8(Some(text.to_string())),
        LargeUtf8 => ScalarValue::LargeUtf8(Some(text.to_string())),
        Utf8View => ScalarValue::Utf8View(Some(text.to_string())),
        // Decimals display in full ("12.50"), dates as YYYY-MM-DD: a cast parses them exactly.
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) | Date32 => {
            ScalarValue::try_from_string(text.to_string(), data_type).ok()?
        }
        // Date64 displays without its time of day; binary, times, intervals and nested types not at all.
        _ => return None,
    };
    (!value.is_null()).then_some(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn display_forms_round_trip() {
        let values = [
            ScalarValue::Boolean(Some(true)),
            ScalarValue::Int8(Some(-8)),
            ScalarValue::Int64(Some(i64::MIN)),
            ScalarValue::UInt64(Some(u64::MAX)),
            ScalarValue::Float32(Some(0.1)),
            ScalarValue::Float64(Some(-1.0e-300)),
            ScalarValue::Float64(Some(f64::INFINITY)),
            ScalarValue::Utf8(Some("a, \"b\"\n".into())),
            ScalarValue::Utf8View(Some("".into())),
            ScalarValue::LargeUtf8(Some("é".into())),
            ScalarValue::Decimal128(Some(-1250), 10, 2),
            ScalarValue::Decimal128(Some(7), 38, 0),
            ScalarValue::Date32(Some(-719_162)),
            ScalarValue::Date32(Some(20_468)),
            ScalarValue::TimestampNanosecond(Some(1_768_478_400_123_456_789), Some("+01:00".into())),
            ScalarValue::TimestampMicrosecond(Some(-1), None),
            ScalarValue::TimestampSecond(Some(0), Some("UTC".into())),
        ];
        for v in values {
            let text = v.to_string();
            assert_eq!(parse_value(&text, &v.data_type()), Some(v.clone()), "{text}");
        }
    }

    #[test]
    fn unreliable_display_forms_give_no_bound() {
        assert_eq!(parse_value("NULL", &DataType::Utf8), None);
        assert_eq!(parse_value("NULL", &DataType::Int32), None);
        assert_eq!(parse_value("0102", &DataType::Binary), None);
        assert_eq!(parse_value("2026-01-15", &DataType::Date64), None);
        assert_eq!(parse_value("300", &DataType::Int8), None);
    }

    #[test]
    fn only_files_unchanged_well_after_reading_are_seeded() {
        use datafusion::arrow::datatypes::{Field, Schema};
        let state = datafusion::prelude::SessionContext::new().state();
        let url = ListingTableUrl::parse("/lake/").unwrap();
        let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
        let now = tarn_catalog::now_ms();
        let entry = |name: &str, modified_ms: i64, read_at: Option<i64>, sort: &[&str]| FileEntry {
            path: format!("/lake/{name}.parquet"),
            size: 100,
            last_modified_ns: Some(modified_ms * 1_000_000),
            stats_read_at_ms: read_at,
            row_count: Some(10),
            sort_order: sort.iter().map(|c| SortColumn { column: c.to_string(), ..Default::default() }).collect(),
            column_stats: vec![ColumnStats {
                column: "x".into(),
                min: Some("1".into()),
                max: Some("9".into()),
                null_count: Some(0),
                min_exact: true,
                max_exact: true,
                byte_size: None,
            }],
            ..Default::default()
        };
        let manifest = [
            entry("old", now - 3_600_000, Some(now - 1000), &["x"]),
            // Modified less than two seconds before its statistics were read.
            entry("recent", now - 2_500, Some(now - 1_000), &[]),
            // Written before catalog version 5.
            entry("unknown", now - 3_600_000, None, &[]),
            // A sort order over a column the table no longer has.
            entry("dropped", now - 3_600_000, Some(now - 1000), &["gone"]),
        ];
        let seeded = seed_statistics_cache(&state, &url, &schema, &manifest);
        assert_eq!(seeded, Seeded { files: 4, seeded: 1 });
        assert!(!seeded.complete());
        let cache = state.runtime_env().cache_manager.get_file_statistic_cache().unwrap();
        let cached =
            cache.get(&TableScopedPath { table: None, path: Path::parse("lake/old.parquet").unwrap() }).unwrap();
        assert_eq!(cached.statistics.num_rows, Precision::Exact(10));
        assert_eq!(cached.statistics.column_statistics[0].max_value, Precision::Exact(ScalarValue::Int64(Some(9))));
        assert_eq!(cached.ordering.as_ref().map(|o| o.len()), Some(1));
        // The entry is only valid for the same size and time.
        let mut meta = cached.meta.clone();
        let fingerprint = Arc::new(SchemaFingerprint::from_schema(&schema));
        assert!(cached.is_valid_for(&meta, &fingerprint));
        meta.size += 1;
        assert!(!cached.is_valid_for(&meta, &fingerprint));
        // Seeding again keeps what is there.
        assert_eq!(seed_statistics_cache(&state, &url, &schema, &manifest[..1]), Seeded { files: 1, seeded: 1 });
        assert!(seed_statistics_cache(&state, &url, &schema, &manifest[..1]).complete());
    }

    #[test]
    fn store_locations() {
        assert_eq!(store_location("file:///", "/data/a b.parquet"), Some(Path::parse("data/a b.parquet").unwrap()));
        assert_eq!(
            store_location("s3://bucket/", "s3://bucket/k/x.parquet"),
            Some(Path::parse("k/x.parquet").unwrap())
        );
        assert_eq!(store_location("s3://bucket/", "s3://other/k.parquet"), None);
    }
}
