//! The `tarn` schema of system tables: what the catalog holds, as SQL tables
//! (`tarn.schemas`, `tarn.tables`, `tarn.columns`, `tarn.files`,
//! `tarn.indexes`), the state of the result cache (`tarn.cache`,
//! `tarn.cache_entries`), of the metadata cache (`tarn.metadata_cache`) and of the table cache
//! (`tarn.cached_tables`). Each is a snapshot taken when a statement looks it up.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result as DfResult};

use crate::error::{Error, Result};
use crate::provider::Bridge;
use crate::settings::{CacheOptions, TarnOptions};

/// Names of the system tables.
pub const SYSTEM_TABLES: [&str; 9] =
    ["cache", "cache_entries", "cached_tables", "columns", "files", "indexes", "metadata_cache", "schemas", "tables"];

/// The `tarn` schema.
#[derive(Debug)]
pub(crate) struct SystemSchema {
    bridge: Arc<Bridge>,
}

impl SystemSchema {
    pub(crate) fn new(bridge: Arc<Bridge>) -> Self {
        Self { bridge }
    }

    fn build(&self, name: &str) -> Result<Option<RecordBatch>> {
        let batch = match name {
            "schemas" => self.schemas()?,
            "tables" => self.tables()?,
            "columns" => self.columns()?,
            "files" => self.files()?,
            "indexes" => self.indexes()?,
            "cache" => self.cache()?,
            "cache_entries" => self.cache_entries()?,
            "cached_tables" => self.cached_tables()?,
            "metadata_cache" => self.metadata_cache()?,
            _ => return Ok(None),
        };
        Ok(Some(batch))
    }

    fn schemas(&self) -> Result<RecordBatch> {
        let schemas = self.bridge.catalog.list_schemas()?;
        let tables = self.bridge.catalog.list_tables(None)?;
        let count = |s: &str| tables.iter().filter(|t| t.def.schema == s).count() as u64;
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("attached_path", DataType::Utf8, true),
                ("table_count", DataType::UInt64, false),
                ("comment", DataType::Utf8, true),
                ("created_at", ts(), false),
            ],
            vec![
                strings(schemas.iter().map(|s| Some(s.name.clone()))),
                strings(schemas.iter().map(|s| s.attached_path.clone())),
                Arc::new(UInt64Array::from_iter_values(schemas.iter().map(|s| count(&s.name)))),
                strings(schemas.iter().map(|s| s.comment.clone())),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(schemas.iter().map(|s| s.created_at_ms))
                        .with_timezone("UTC"),
                ),
            ],
        )
    }

    fn tables(&self) -> Result<RecordBatch> {
        let t = self.bridge.catalog.list_tables(None)?;
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("table_name", DataType::Utf8, false),
                ("format", DataType::Utf8, false),
                ("location", DataType::Utf8, false),
                ("partition_columns", DataType::Utf8, true),
                ("file_count", DataType::UInt64, false),
                ("total_bytes", DataType::UInt64, false),
                ("row_count", DataType::UInt64, true),
                ("comment", DataType::Utf8, true),
                ("created_at", ts(), false),
                ("refreshed_at", ts(), false),
            ],
            vec![
                strings(t.iter().map(|t| Some(t.def.schema.clone()))),
                strings(t.iter().map(|t| Some(t.def.name.clone()))),
                strings(t.iter().map(|t| Some(t.def.format.to_string()))),
                strings(t.iter().map(|t| Some(t.def.location.clone()))),
                strings(
                    t.iter().map(|t| (!t.def.partition_columns.is_empty()).then(|| t.def.partition_columns.join(", "))),
                ),
                Arc::new(UInt64Array::from_iter_values(t.iter().map(|t| t.file_count))),
                Arc::new(UInt64Array::from_iter_values(t.iter().map(|t| t.total_bytes))),
                Arc::new(UInt64Array::from(t.iter().map(|t| t.row_count).collect::<Vec<_>>())),
                strings(t.iter().map(|t| t.def.comment.clone())),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(t.iter().map(|t| t.created_at_ms)).with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(t.iter().map(|t| t.refreshed_at_ms))
                        .with_timezone("UTC"),
                ),
            ],
        )
    }

    fn columns(&self) -> Result<RecordBatch> {
        struct Column<'a> {
            table: &'a tarn_catalog::TableEntry,
            field: &'a Field,
            position: i64,
        }
        let tables = self.bridge.catalog.list_tables(None)?;
        let rows: Vec<Column> = tables
            .iter()
            .flat_map(|t| {
                t.def.schema_def.fields().iter().enumerate().map(move |(i, f)| Column {
                    table: t,
                    field: f.as_ref(),
                    position: i as i64 + 1,
                })
            })
            .collect();
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("table_name", DataType::Utf8, false),
                ("column_name", DataType::Utf8, false),
                ("ordinal_position", DataType::Int64, false),
                ("data_type", DataType::Utf8, false),
                ("is_nullable", DataType::Boolean, false),
                ("is_partition", DataType::Boolean, false),
                ("comment", DataType::Utf8, true),
            ],
            vec![
                strings(rows.iter().map(|r| Some(r.table.def.schema.clone()))),
                strings(rows.iter().map(|r| Some(r.table.def.name.clone()))),
                strings(rows.iter().map(|r| Some(r.field.name().clone()))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.position))),
                strings(rows.iter().map(|r| Some(r.field.data_type().to_string()))),
                Arc::new(BooleanArray::from(rows.iter().map(|r| r.field.is_nullable()).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.table.def.partition_columns.contains(r.field.name())).collect::<Vec<_>>(),
                )),
                strings(rows.iter().map(|r| r.table.column_comments.get(r.field.name()).cloned())),
            ],
        )
    }

    fn indexes(&self) -> Result<RecordBatch> {
        let i = self.bridge.catalog.list_indexes(None, None)?;
        // What automatic maintenance knows (in this engine) of each index.
        let maintenance = self.bridge.indexes.maintenance().status();
        let status = |id: i64| maintenance.get(&id);
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("table_name", DataType::Utf8, false),
                ("index_name", DataType::Utf8, false),
                ("columns", DataType::Utf8, false),
                ("kind", DataType::Utf8, false),
                ("file_count", DataType::UInt64, false),
                ("unit_count", DataType::UInt64, false),
                ("size_bytes", DataType::UInt64, false),
                ("format_version", DataType::Int64, false),
                ("sidecar", DataType::Utf8, true),
                ("created_at", ts(), false),
                ("built_at", ts(), false),
                ("unindexed_files", DataType::UInt64, true),
                ("maintenance", DataType::Utf8, false),
                ("maintained_at", ts(), true),
                ("maintenance_error", DataType::Utf8, true),
            ],
            vec![
                strings(i.iter().map(|i| Some(i.def.schema.clone()))),
                strings(i.iter().map(|i| Some(i.def.table.clone()))),
                strings(i.iter().map(|i| Some(i.def.name.clone()))),
                strings(i.iter().map(|i| Some(i.def.columns.join(", ")))),
                strings(i.iter().map(|i| Some(i.def.kind.clone()))),
                Arc::new(UInt64Array::from_iter_values(i.iter().map(|i| i.file_count))),
                Arc::new(UInt64Array::from_iter_values(i.iter().map(|i| i.unit_count))),
                Arc::new(UInt64Array::from_iter_values(i.iter().map(|i| i.sidecar_bytes))),
                Arc::new(Int64Array::from_iter_values(i.iter().map(|i| i.def.format_version))),
                strings(i.iter().map(|i| i.sidecar.clone())),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(i.iter().map(|i| i.created_at_ms)).with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(i.iter().map(|i| i.built_at_ms)).with_timezone("UTC"),
                ),
                Arc::new(UInt64Array::from_iter(i.iter().map(|i| status(i.id).and_then(|s| s.unindexed_files)))),
                strings(i.iter().map(|i| {
                    Some(if status(i.id).is_some_and(|s| s.running) { "running" } else { "idle" }.to_string())
                })),
                Arc::new(
                    TimestampMillisecondArray::from_iter(
                        i.iter().map(|i| status(i.id).and_then(|s| s.maintained_at_ms)),
                    )
                    .with_timezone("UTC"),
                ),
                strings(i.iter().map(|i| status(i.id).and_then(|s| s.error.clone()))),
            ],
        )
    }

    fn files(&self) -> Result<RecordBatch> {
        let tables = self.bridge.catalog.list_tables(None)?;
        let mut rows = Vec::new();
        for t in &tables {
            for f in self.bridge.catalog.list_files(&t.def.schema, &t.def.name)? {
                rows.push((t.def.schema.clone(), t.def.name.clone(), f));
            }
        }
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("table_name", DataType::Utf8, false),
                ("path", DataType::Utf8, false),
                ("size_bytes", DataType::UInt64, false),
                ("last_modified", ts(), true),
                ("etag", DataType::Utf8, true),
                ("row_count", DataType::UInt64, true),
            ],
            vec![
                strings(rows.iter().map(|r| Some(r.0.clone()))),
                strings(rows.iter().map(|r| Some(r.1.clone()))),
                strings(rows.iter().map(|r| Some(r.2.path.clone()))),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2.size))),
                Arc::new(
                    TimestampMillisecondArray::from(rows.iter().map(|r| r.2.last_modified_ms).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                strings(rows.iter().map(|r| r.2.etag.clone())),
                Arc::new(UInt64Array::from(rows.iter().map(|r| r.2.row_count).collect::<Vec<_>>())),
            ],
        )
    }
}

impl SystemSchema {
    fn cache(&self) -> Result<RecordBatch> {
        // A bridge without a session (the empty one names.rs reads columns from)
        // reports the default.
        let enabled = self
            .bridge
            .session
            .state()
            .map_or(CacheOptions::default().results, |s| TarnOptions::from_state(&s).cache.results);
        let s = self.bridge.result_cache.status(enabled);
        let u = |v: u64| -> ArrayRef { Arc::new(UInt64Array::from_iter_values([v])) };
        batch(
            vec![
                ("enabled", DataType::Boolean, false),
                ("entries", DataType::UInt64, false),
                ("bytes", DataType::UInt64, false),
                ("memory_limit", DataType::UInt64, false),
                ("hits", DataType::UInt64, false),
                ("misses", DataType::UInt64, false),
                ("stores", DataType::UInt64, false),
                ("evictions", DataType::UInt64, false),
                ("invalidations", DataType::UInt64, false),
                ("stale_rejections", DataType::UInt64, false),
                ("subplan_hits", DataType::UInt64, false),
                ("subplan_misses", DataType::UInt64, false),
                ("subplan_stores", DataType::UInt64, false),
                ("subplan_abandoned", DataType::UInt64, false),
                ("disk_hits", DataType::UInt64, false),
                ("disk_entries", DataType::UInt64, false),
                ("disk_bytes", DataType::UInt64, false),
                ("last_outcome", DataType::Utf8, true),
            ],
            vec![
                Arc::new(BooleanArray::from(vec![s.enabled])),
                u(s.entries as u64),
                u(s.bytes as u64),
                u(s.memory_limit as u64),
                u(s.hits),
                u(s.misses),
                u(s.stores),
                u(s.evictions),
                u(s.invalidations),
                u(s.stale_rejections),
                u(s.subplan_hits),
                u(s.subplan_misses),
                u(s.subplan_stores),
                u(s.subplan_abandoned),
                u(s.disk_hits),
                u(s.disk_entries),
                u(s.disk_bytes),
                strings(std::iter::once(s.last_outcome.map(|o| o.to_string()))),
            ],
        )
    }

    /// Tables marked by `CACHE TABLE` (from the catalog) and what this
    /// engine holds of them.
    fn cached_tables(&self) -> Result<RecordBatch> {
        let marked = self.bridge.catalog.cached_tables()?;
        let infos = self.bridge.table_cache.infos();
        let info = |id: i64| infos.get(&id);
        let u = |f: &dyn Fn(&crate::table_cache::TableInfo) -> u64| -> ArrayRef {
            Arc::new(UInt64Array::from_iter_values(marked.iter().map(|m| info(m.table_id).map_or(0, f))))
        };
        let times = |f: &dyn Fn(&crate::table_cache::TableInfo) -> Option<std::time::SystemTime>| -> ArrayRef {
            Arc::new(
                TimestampMillisecondArray::from(
                    marked.iter().map(|m| info(m.table_id).and_then(f).map(ms)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            )
        };
        batch(
            vec![
                ("schema_name", DataType::Utf8, false),
                ("table_name", DataType::Utf8, false),
                ("lazy", DataType::Boolean, false),
                ("loaded", DataType::Boolean, false),
                ("files", DataType::UInt64, false),
                ("rows", DataType::UInt64, false),
                ("bytes", DataType::UInt64, false),
                ("files_on_disk", DataType::UInt64, false),
                ("note", DataType::Utf8, true),
                ("hits", DataType::UInt64, false),
                ("cached_at", ts(), false),
                ("loaded_at", ts(), true),
                ("last_scan_at", ts(), true),
            ],
            vec![
                strings(marked.iter().map(|m| Some(m.schema.clone()))),
                strings(marked.iter().map(|m| Some(m.name.clone()))),
                Arc::new(BooleanArray::from(marked.iter().map(|m| m.lazy).collect::<Vec<_>>())),
                Arc::new(BooleanArray::from(
                    marked.iter().map(|m| info(m.table_id).is_some_and(|i| i.loaded_at.is_some())).collect::<Vec<_>>(),
                )),
                u(&|i| i.files as u64),
                u(&|i| i.rows),
                u(&|i| i.bytes as u64),
                u(&|i| i.pending as u64),
                strings(marked.iter().map(|m| info(m.table_id).and_then(|i| i.note.clone()))),
                u(&|i| i.hits),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(marked.iter().map(|m| m.cached_at_ms))
                        .with_timezone("UTC"),
                ),
                times(&|i| i.loaded_at),
                times(&|i| i.last_scan_at),
            ],
        )
    }

    fn cache_entries(&self) -> Result<RecordBatch> {
        let entries = self.bridge.result_cache.entries();
        batch(
            vec![
                ("entry", DataType::UInt64, false),
                ("kind", DataType::Utf8, false),
                ("tables", DataType::Utf8, false),
                ("files", DataType::UInt64, false),
                ("rows", DataType::UInt64, false),
                ("bytes", DataType::UInt64, false),
                ("hits", DataType::UInt64, false),
                ("created_at", ts(), false),
                ("last_hit_at", ts(), true),
                ("plan", DataType::Utf8, false),
            ],
            vec![
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.id))),
                strings(entries.iter().map(|e| Some(e.kind.name().to_string()))),
                strings(entries.iter().map(|e| Some(e.tables.join(", ")))),
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.files as u64))),
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.rows))),
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.bytes as u64))),
                Arc::new(UInt64Array::from_iter_values(entries.iter().map(|e| e.hits))),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(entries.iter().map(|e| ms(e.created_at)))
                        .with_timezone("UTC"),
                ),
                Arc::new(
                    TimestampMillisecondArray::from(entries.iter().map(|e| e.last_hit_at.map(ms)).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                strings(entries.iter().map(|e| Some(e.plan.clone()))),
            ],
        )
    }
}

/// Milliseconds since the Unix epoch.
fn ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

impl SystemSchema {
    /// One row per tier of the metadata cache: `memory` and `catalog`.
    fn metadata_cache(&self) -> Result<RecordBatch> {
        // A bridge without a session (names.rs) reports an empty cache.
        let s = self
            .bridge
            .session
            .state()
            .ok()
            .and_then(|state| state.config().get_extension::<crate::metadata_cache::MetadataCache>())
            .map(|cache| cache.status())
            .unwrap_or_default();
        let pair = |memory: u64, catalog: u64| -> ArrayRef { Arc::new(UInt64Array::from(vec![memory, catalog])) };
        let catalog_only = |catalog: u64| -> ArrayRef { Arc::new(UInt64Array::from(vec![None, Some(catalog)])) };
        batch(
            vec![
                ("tier", DataType::Utf8, false),
                ("enabled", DataType::Boolean, false),
                ("entries", DataType::UInt64, false),
                ("bytes", DataType::UInt64, false),
                ("limit", DataType::UInt64, false),
                ("hits", DataType::UInt64, false),
                ("misses", DataType::UInt64, false),
                ("evictions", DataType::UInt64, false),
                ("invalidations", DataType::UInt64, true),
                ("stores", DataType::UInt64, true),
                ("rejected", DataType::UInt64, true),
                ("pending_writes", DataType::UInt64, true),
                ("write_errors", DataType::UInt64, true),
            ],
            vec![
                strings(["memory", "catalog"].into_iter().map(|t| Some(t.to_string()))),
                Arc::new(BooleanArray::from(vec![s.enabled, s.persist])),
                pair(s.memory_entries as u64, s.persisted_entries),
                pair(s.memory_bytes as u64, s.persisted_bytes),
                pair(s.memory_limit as u64, s.persist_limit),
                pair(s.memory_hits, s.persisted_hits),
                pair(s.memory_misses, s.persisted_misses),
                pair(s.memory_evictions, s.persisted_evictions),
                Arc::new(UInt64Array::from(vec![Some(s.invalidations), None])),
                catalog_only(s.persisted_stores),
                catalog_only(s.persisted_rejected),
                catalog_only(s.pending_writes),
                catalog_only(s.write_errors),
            ],
        )
    }
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn strings(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(values.collect::<StringArray>())
}

fn batch(fields: Vec<(&str, DataType, bool)>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    let schema: SchemaRef =
        Arc::new(Schema::new(fields.into_iter().map(|(n, t, null)| Field::new(n, t, null)).collect::<Vec<_>>()));
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[async_trait]
impl SchemaProvider for SystemSchema {
    fn table_names(&self) -> Vec<String> {
        SYSTEM_TABLES.iter().map(|s| s.to_string()).collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let Some(batch) = self.build(name).map_err(DataFusionError::from)? else {
            return Ok(None);
        };
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        Ok(Some(Arc::new(table)))
    }

    async fn table_type(&self, name: &str) -> DfResult<Option<datafusion::datasource::TableType>> {
        Ok(SYSTEM_TABLES.contains(&name).then_some(datafusion::datasource::TableType::View))
    }

    fn table_exist(&self, name: &str) -> bool {
        SYSTEM_TABLES.contains(&name)
    }

    fn register_table(&self, name: String, _table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::from(Error::Plan {
            message: format!("cannot create '{name}' in schema 'tarn': it is read-only"),
        }))
    }
}
