//! The bridge from the Tarn catalog to DataFusion: a `CatalogProvider` whose
//! schemas and tables come from the SQLite catalog on every lookup (so changes
//! made by another process are seen by the next statement), plus a
//! session-local overlay for in-memory tables and views, and [`LakeTable`],
//! the table provider of catalog tables.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock, Weak};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{CatalogProvider, SchemaProvider, Session, TableProvider, TableProviderFactory};
use datafusion::common::{Constraints, Statistics};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::ListingTable;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{CreateExternalTable, Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use object_store::ObjectMeta;
use tarn_catalog::{Catalog, FileEntry, TableDefinition};

use crate::error::{Error, Result};
use crate::lake;
use crate::result_cache::ResultCache;
use crate::system_tables::SystemSchema;

/// Name of the read-only schema of system tables.
pub const SYSTEM_SCHEMA: &str = "tarn";

/// Access to the engine's session state from inside providers, which
/// DataFusion hands only a `&dyn Session` (or nothing) to.
#[derive(Debug, Default)]
pub(crate) struct SessionHandle(OnceLock<Weak<parking_lot::RwLock<SessionState>>>);

impl SessionHandle {
    pub(crate) fn set(&self, weak: Weak<parking_lot::RwLock<SessionState>>) {
        let _ = self.0.set(weak);
    }

    /// A snapshot of the current session state.
    pub(crate) fn state(&self) -> Result<SessionState> {
        self.0
            .get()
            .and_then(Weak::upgrade)
            .map(|s| s.read().clone())
            .ok_or_else(|| Error::internal("the engine's session is gone"))
    }
}

/// A provider built from a catalog entry, valid while the entry's id and
/// refresh time are unchanged.
#[derive(Debug)]
struct BuiltTable {
    id: i64,
    refreshed_at_ms: i64,
    table: Arc<LakeTable>,
}

/// State shared by the catalog provider, its schemas and the engine.
#[derive(Debug)]
pub(crate) struct Bridge {
    pub catalog: Arc<Catalog>,
    /// Index sidecars and loaded indexes.
    pub indexes: Arc<crate::index::IndexRegistry>,
    pub session: SessionHandle,
    /// Session-local tables and views (`CREATE TABLE AS`, `CREATE VIEW`), by (schema, name).
    overlay: RwLock<HashMap<(String, String), Arc<dyn TableProvider>>>,
    /// Built providers of catalog tables, reused while the stored entry is unchanged.
    built: RwLock<HashMap<(String, String), BuiltTable>>,
    /// The engine's result cache (listed by the system tables).
    pub result_cache: Arc<ResultCache>,
    /// The engine's table cache (`CACHE TABLE`), which serves cached tables' scans.
    pub table_cache: Arc<crate::table_cache::TableCache>,
}

impl Bridge {
    pub(crate) fn new(catalog: Arc<Catalog>, result_cache: Arc<ResultCache>) -> Result<Self> {
        let indexes = Arc::new(crate::index::IndexRegistry::new(catalog.clone())?);
        let catalog_for_cache = catalog.clone();
        Ok(Self {
            catalog,
            indexes,
            session: SessionHandle::default(),
            overlay: Default::default(),
            built: Default::default(),
            result_cache,
            table_cache: Arc::new(crate::table_cache::TableCache::new(
                catalog_for_cache,
                crate::settings::CacheOptions::default().table_memory_limit,
            )),
        })
    }

    fn overlay_get(&self, schema: &str, name: &str) -> Option<Arc<dyn TableProvider>> {
        self.overlay.read().ok()?.get(&(schema.to_string(), name.to_string())).cloned()
    }

    /// The provider of a catalog table, built from its stored definition.
    pub(crate) fn lake_table(&self, state: &SessionState, schema: &str, name: &str) -> Result<Option<Arc<LakeTable>>> {
        let Some(entry) = self.catalog.get_table(schema, name)? else {
            return Ok(None);
        };
        let key = (schema.to_string(), name.to_string());
        if let Ok(built) = self.built.read()
            && let Some(b) = built.get(&key)
            && b.id == entry.id
            && b.refreshed_at_ms == entry.refreshed_at_ms
        {
            return Ok(Some(b.table.clone()));
        }
        let mut table = LakeTable::new(state, entry.def.clone(), None)?;
        table.table_id = Some(entry.id);
        table.table_cache = Some(self.table_cache.clone());
        table.catalog = Some(self.catalog.clone());
        let table = Arc::new(table);
        if let Ok(mut built) = self.built.write() {
            built
                .insert(key, BuiltTable { id: entry.id, refreshed_at_ms: entry.refreshed_at_ms, table: table.clone() });
        }
        Ok(Some(table))
    }
}

/// The `CatalogProvider` of a Tarn engine.
#[derive(Debug)]
pub(crate) struct TarnCatalogProvider {
    bridge: Arc<Bridge>,
}

impl TarnCatalogProvider {
    pub(crate) fn new(bridge: Arc<Bridge>) -> Self {
        Self { bridge }
    }
}

impl CatalogProvider for TarnCatalogProvider {
    fn schema_names(&self) -> Vec<String> {
        let mut names: Vec<String> = match self.bridge.catalog.list_schemas() {
            Ok(s) => s.into_iter().map(|s| s.name).collect(),
            Err(e) => {
                log::warn!("cannot list schemas: {e}");
                Vec::new()
            }
        };
        names.push(SYSTEM_SCHEMA.to_string());
        names
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == SYSTEM_SCHEMA {
            return Some(Arc::new(SystemSchema::new(self.bridge.clone())));
        }
        match self.bridge.catalog.get_schema(name) {
            Ok(Some(_)) => Some(Arc::new(TarnSchemaProvider { schema: name.to_string(), bridge: self.bridge.clone() })),
            Ok(None) => None,
            Err(e) => {
                log::warn!("cannot read schema '{name}': {e}");
                None
            }
        }
    }

    fn register_schema(
        &self,
        name: &str,
        _schema: Arc<dyn SchemaProvider>,
    ) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        reject_system(name).map_err(DataFusionError::from)?;
        self.bridge
            .catalog
            .write(|tx| tx.create_schema(name, None, false))
            .map_err(|e| DataFusionError::from(Error::from(e)))?;
        Ok(None)
    }

    fn deregister_schema(&self, name: &str, cascade: bool) -> DfResult<Option<Arc<dyn SchemaProvider>>> {
        reject_system(name).map_err(DataFusionError::from)?;
        let existed = self
            .bridge
            .catalog
            .write(|tx| tx.drop_schema(name, true, cascade))
            .map_err(|e| DataFusionError::from(Error::from(e)))?;
        if let Ok(mut overlay) = self.bridge.overlay.write() {
            overlay.retain(|(s, _), _| s != name);
        }
        Ok(existed.then(|| Arc::new(TarnSchemaProvider { schema: name.to_string(), bridge: self.bridge.clone() }) as _))
    }
}

pub(crate) fn reject_system(schema: &str) -> Result<()> {
    if schema == SYSTEM_SCHEMA || schema == "information_schema" {
        return Err(Error::Plan { message: format!("schema '{schema}' is read-only: it is maintained by Tarn") });
    }
    Ok(())
}

/// One schema of the catalog.
#[derive(Debug)]
pub(crate) struct TarnSchemaProvider {
    schema: String,
    bridge: Arc<Bridge>,
}

#[async_trait]
impl SchemaProvider for TarnSchemaProvider {
    fn table_names(&self) -> Vec<String> {
        let mut names = self.bridge.catalog.table_names(&self.schema).unwrap_or_else(|e| {
            log::warn!("cannot list tables of '{}': {e}", self.schema);
            Vec::new()
        });
        if let Ok(overlay) = self.bridge.overlay.read() {
            names.extend(overlay.keys().filter(|(s, _)| *s == self.schema).map(|(_, n)| n.clone()));
        }
        names.sort();
        names
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.bridge.overlay_get(&self.schema, name) {
            return Ok(Some(t));
        }
        let state = self.bridge.session.state().map_err(DataFusionError::from)?;
        if let Some(table) = self.bridge.lake_table(&state, &self.schema, name).map_err(DataFusionError::from)? {
            return Ok(Some(table));
        }
        // `FROM 'data/*.csv'`: a quoted path in the default schema is an ad-hoc table.
        if crate::functions::looks_like_path(name) {
            let table = crate::functions::adhoc_table(&self.bridge, name, None, Default::default())
                .await
                .map_err(DataFusionError::from)?;
            return Ok(Some(table));
        }
        Ok(None)
    }

    async fn table_type(&self, name: &str) -> DfResult<Option<TableType>> {
        // Answer without building the table: information_schema asks this of every table.
        if let Some(t) = self.bridge.overlay_get(&self.schema, name) {
            return Ok(Some(t.table_type()));
        }
        let exists = self
            .bridge
            .catalog
            .get_table(&self.schema, name)
            .map_err(|e| DataFusionError::from(Error::from(e)))?
            .is_some();
        Ok(exists.then_some(TableType::Base))
    }

    fn register_table(&self, name: String, table: Arc<dyn TableProvider>) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if let Some(lake) = (table.as_ref() as &dyn std::any::Any).downcast_ref::<LakeTable>() {
            let mut def = lake.def.clone();
            def.schema = self.schema.clone();
            def.name = name;
            let files = lake.manifest.clone().unwrap_or_default();
            self.bridge
                .catalog
                .write(|tx| tx.create_table(&def, &files, false, false))
                .map_err(|e| DataFusionError::from(Error::from(e)))?;
            return Ok(None);
        }
        if self
            .bridge
            .catalog
            .get_table(&self.schema, &name)
            .map_err(|e| DataFusionError::from(Error::from(e)))?
            .is_some()
        {
            return Err(DataFusionError::from(Error::AlreadyExists {
                kind: "table",
                name: format!("{}.{name}", self.schema),
            }));
        }
        let mut overlay =
            self.bridge.overlay.write().map_err(|_| DataFusionError::from(Error::internal("overlay lock poisoned")))?;
        Ok(overlay.insert((self.schema.clone(), name), table))
    }

    fn deregister_table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let removed = self
            .bridge
            .overlay
            .write()
            .map_err(|_| DataFusionError::from(Error::internal("overlay lock poisoned")))?
            .remove(&(self.schema.clone(), name.to_string()));
        if removed.is_some() {
            return Ok(removed);
        }
        let state = self.bridge.session.state().map_err(DataFusionError::from)?;
        let Some(table) = self.bridge.lake_table(&state, &self.schema, name).map_err(DataFusionError::from)? else {
            return Ok(None);
        };
        self.bridge
            .catalog
            .write(|tx| tx.drop_table(&self.schema, name, true))
            .map_err(|e| DataFusionError::from(Error::from(e)))?;
        Ok(Some(table))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.bridge.overlay_get(&self.schema, name).is_some()
            || self.bridge.catalog.get_table(&self.schema, name).ok().flatten().is_some()
    }
}

/// A catalog table: a DataFusion `ListingTable` over the table's location,
/// carrying the stored definition (and, right after inspection, the manifest
/// to persist).
#[derive(Debug)]
pub struct LakeTable {
    def: TableDefinition,
    manifest: Option<Vec<FileEntry>>,
    inner: ListingTable,
    /// Catalog id, for tables of the catalog (their scans are tagged with it
    /// so the index pruning rule knows whose files it sees).
    table_id: Option<i64>,
    /// The engine's table cache, for tables of the catalog: their scans are
    /// served from memory when the table is cached.
    table_cache: Option<Arc<crate::table_cache::TableCache>>,
    /// The catalog, for tables of the catalog: their manifest's statistics
    /// plan Parquet scans (`manifest_statistics`).
    catalog: Option<Arc<Catalog>>,
    /// Whether the manifest's statistics were put into the statistics cache
    /// (once per built table, that is per manifest), and how many.
    seeded: OnceLock<crate::manifest_statistics::Seeded>,
}

impl LakeTable {
    pub(crate) fn new(state: &SessionState, def: TableDefinition, manifest: Option<Vec<FileEntry>>) -> Result<Self> {
        let inner = lake::listing_table(state, &def)?;
        Ok(Self { def, manifest, inner, table_id: None, table_cache: None, catalog: None, seeded: OnceLock::new() })
    }

    /// The table's catalog id (None for ad-hoc tables).
    pub(crate) fn table_id(&self) -> Option<i64> {
        self.table_id
    }

    /// The scan of the table's files, never served from the table cache
    /// (index builds and the table cache itself read files through it).
    pub(crate) async fn file_scan_plan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // The scan reads footers (statistics): under the settings in force.
        crate::metadata_cache::MetadataCache::apply_settings(state);
        // Statistics from the manifest, so unchanged files' footers need not
        // be read to plan; when every file has them, the persisted footers
        // need not be preloaded either (the scan fetches those it opens).
        let preloaded = if self.seed_statistics(state).complete() {
            Vec::new()
        } else {
            crate::metadata_cache::MetadataCache::preload_table(state, self.def.format, self.inner.table_paths())
        };
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        drop(preloaded);
        let plan = crate::file_context::with_file_context(plan)?;
        match self.table_id {
            Some(id) => crate::optimizer::index_pruning::tag_scan(plan, id),
            None => Ok(plan),
        }
    }

    /// Put the manifest's per-file statistics into the runtime's statistics
    /// cache, once: for the Parquet tables of the catalog, when the session
    /// collects statistics and `tarn.manifest_statistics` is on.
    fn seed_statistics(&self, state: &dyn Session) -> crate::manifest_statistics::Seeded {
        let Some(catalog) = &self.catalog else { return Default::default() };
        if self.def.format != tarn_catalog::FileFormat::Parquet
            || !state.config().collect_statistics()
            || !crate::settings::TarnOptions::from_config(state.config_options()).manifest_statistics
        {
            return Default::default();
        }
        if let Some(done) = self.seeded.get() {
            return *done;
        }
        let manifest = match catalog.list_files(&self.def.schema, &self.def.name) {
            Ok(files) => files,
            Err(e) => {
                log::warn!("table '{}.{}' planned from its footers: {e}", self.def.schema, self.def.name);
                return Default::default();
            }
        };
        let (Some(url), Ok(file_schema)) =
            (self.inner.table_paths().first(), lake::file_schema_of(&self.def.schema_def, &self.def.partition_columns))
        else {
            return Default::default();
        };
        let seeded = crate::manifest_statistics::seed_statistics_cache(state, url, &file_schema, &manifest);
        *self.seeded.get_or_init(|| seeded)
    }

    /// The stored definition of this table.
    pub fn definition(&self) -> &TableDefinition {
        &self.def
    }

    /// The files a scan would read now, as a fresh listing of the table's
    /// location(s) reports them (path, size, last-modified, etag).
    pub(crate) async fn list_files(&self, session: &dyn Session) -> DfResult<Vec<ObjectMeta>> {
        let extension = &self.inner.options().file_extension;
        let mut files = Vec::new();
        for url in self.inner.table_paths() {
            let store = session.runtime_env().object_store(url)?;
            let listed: Vec<ObjectMeta> =
                url.list_all_files(session, store.as_ref(), extension).await?.try_collect().await?;
            files.extend(listed);
        }
        Ok(files)
    }
}

#[async_trait]
impl TableProvider for LakeTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let plan = self.file_scan_plan(state, projection, filters, limit).await?;
        match (self.table_id, &self.table_cache) {
            (Some(id), Some(cache)) => {
                // Only a scan without filters or limit lists every file (the
                // listing prunes by partition values, and a limit may stop it early).
                let complete = filters.is_empty() && limit.is_none();
                let shape =
                    crate::table_cache::ScanShape { projection: projection.map(Vec::as_slice), limit, complete };
                cache.route(state, self, id, plan, shape).await
            }
            _ => Ok(plan),
        }
    }

    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        self.inner.statistics()
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // New files are written into the table's location; the manifest
        // catches up at the next REFRESH TABLE, queries see them at once.
        self.inner.insert_into(state, input, insert_op).await
    }
}

/// `TableProviderFactory` for `CREATE EXTERNAL TABLE … STORED AS CSV|PARQUET|JSON`
/// issued directly on the session context: inspects the files the Tarn way
/// so that `register_table` can persist the result.
#[derive(Debug)]
pub(crate) struct LakeTableFactory;

#[async_trait]
impl TableProviderFactory for LakeTableFactory {
    async fn create(&self, state: &dyn Session, cmd: &CreateExternalTable) -> DfResult<Arc<dyn TableProvider>> {
        let state = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| DataFusionError::from(Error::internal("LakeTableFactory needs a SessionState")))?;
        let mut spec = crate::engine::spec_from_command(cmd).map_err(DataFusionError::from)?;
        spec.discover_partitions = state.config_options().execution.listing_table_factory_infer_partitions;
        let options = crate::settings::TarnOptions::from_state(state);
        let (def, files) =
            lake::inspect(state, "", cmd.name.table(), spec, &options).await.map_err(DataFusionError::from)?;
        Ok(Arc::new(LakeTable::new(state, def, Some(files)).map_err(DataFusionError::from)?))
    }
}
