//! [`Engine`]: a DataFusion session over a Tarn catalog, and the execution of
//! statements, including Tarn's own (`ATTACH`, `DETACH`, `REFRESH TABLE`,
//! `COMMENT ON`, `CACHE TABLE`, …) and the DDL whose effects it persists in
//! the catalog.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::catalog::CatalogProviderList;
use datafusion::catalog::{CatalogProvider, MemoryCatalogProviderList, TableProviderFactory};
use datafusion::common::TableReference;
use datafusion::common::utils::datafusion_strsim::levenshtein;
use datafusion::execution::context::SessionState;
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::{CreateExternalTable, DdlStatement, LogicalPlan};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{CommentObject, Statement as SqlStatement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use futures::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use tarn_catalog::{Catalog, FileFormat, TableDefinition, TableEntry};

use crate::error::{Error, Result};
use crate::functions::register_table_functions;
use crate::lake::{self, TableSpec};
use crate::metadata_cache::{MetadataCache, MetadataCacheStatus};
use crate::provider::{Bridge, LakeTableFactory, TarnCatalogProvider, reject_system};
use crate::result::{Batches, QueryResult, ResultKind, map_stream};
use crate::result_cache::{ResultCache, ResultCacheBypass, ResultCachePlanner, ResultCacheStatus, volatile_reason_in};
use crate::scan_metrics::{CountingObjectStore, ScanCounters, ScanCountersSnapshot};
use crate::settings::{CacheOptions, TarnOptions};
use crate::statement::{ParsedStatement, TarnStatement, parse_script};

/// Name of the DataFusion catalog that holds Tarn's schemas.
pub const CATALOG_NAME: &str = "tarn";
/// The schema unqualified names resolve in.
pub const DEFAULT_SCHEMA: &str = "public";

/// An embedded Tarn engine: a persistent lake catalog and a query session.
///
/// `Engine` is cheap to clone (all clones share one session and catalog) and
/// is `Send + Sync`: serve any number of tokio tasks from it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tarn::Result<()> {
/// let engine = tarn::Engine::in_memory().await?;
/// let rows = engine.sql("SELECT 1 + 1 AS two").await?.collect().await?;
/// assert_eq!(rows.num_rows(), 1);
/// assert!(rows.to_pretty_string()?.contains("| 2   |"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("catalog", &self.inner.bridge.catalog.path()).finish_non_exhaustive()
    }
}

struct Inner {
    ctx: SessionContext,
    bridge: Arc<Bridge>,
    counters: Arc<ScanCounters>,
    metadata_cache: Arc<MetadataCache>,
}

impl Drop for Inner {
    /// Footers still queued for the catalog are written before the engine
    /// goes, so the next process finds them.
    fn drop(&mut self) {
        self.metadata_cache.flush();
    }
}

/// How a table is registered through the library API: everything optional
/// is detected from the files.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// File format; detected from the file extension when `None`.
    pub format: Option<FileFormat>,
    /// DataFusion format options, e.g. `("format.delimiter", ";")`.
    pub options: BTreeMap<String, String>,
    /// Hive partition columns; discovered from `key=value` folders when `None`.
    pub partition_columns: Option<Vec<String>>,
    /// Comment stored with the table.
    pub comment: Option<String>,
}

/// Builds an [`Engine`] with a catalog location, resource limits and settings.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> tarn::Result<()> {
/// let engine = tarn::Engine::builder()
///     .memory_limit(512 * 1024 * 1024)
///     .target_partitions(2)
///     .setting("tarn.sniff_csv", "false")
///     .build()
///     .await?;
/// let rows = engine.sql("SHOW tarn.sniff_csv").await?.collect().await?;
/// assert!(rows.to_pretty_string()?.contains("false"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct EngineBuilder {
    catalog_path: Option<PathBuf>,
    memory_limit: Option<usize>,
    temp_dir: Option<PathBuf>,
    target_partitions: Option<usize>,
    settings: Vec<(String, String)>,
    session_config: Option<SessionConfig>,
}

impl EngineBuilder {
    /// Keep the catalog in this SQLite file (created when missing).
    /// `":memory:"` means no file.
    pub fn catalog_path(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.catalog_path = (path.as_os_str() != ":memory:").then_some(path);
        self
    }

    /// Keep the catalog in memory only (the default).
    pub fn in_memory(mut self) -> Self {
        self.catalog_path = None;
        self
    }

    /// Limit the memory queries use; operators that can spill (sorts, joins,
    /// aggregations) write to temporary files beyond it.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Directory for spill files (default: the system's temporary directory).
    pub fn temp_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.temp_dir = Some(dir.into());
        self
    }

    /// Number of partitions (and so threads) a query runs on (default: cores).
    pub fn target_partitions(mut self, n: usize) -> Self {
        self.target_partitions = Some(n.max(1));
        self
    }

    /// Set any `datafusion.*` or `tarn.*` setting, as `SET key = value` would.
    pub fn setting(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((key.into(), value.into()));
        self
    }

    /// Start from this DataFusion configuration instead of the defaults.
    pub fn session_config(mut self, config: SessionConfig) -> Self {
        self.session_config = Some(config);
        self
    }

    /// Open the catalog and build the session.
    pub async fn build(self) -> Result<Engine> {
        let catalog = match &self.catalog_path {
            Some(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || Catalog::open(&path))
                    .await
                    .map_err(|e| Error::internal(format!("catalog open task failed: {e}")))??
            }
            None => Catalog::open_in_memory()?,
        };
        let result_cache =
            Arc::new(ResultCache::new(CacheOptions::default().result_memory_limit, self.catalog_path.as_deref()));
        let bridge = Arc::new(Bridge::new(Arc::new(catalog), result_cache.clone())?);
        bridge.indexes.maintenance().attach(&bridge);
        let counters = Arc::new(ScanCounters::default());

        let mut config = self
            .session_config
            .unwrap_or_default()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG_NAME, DEFAULT_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_option_extension(crate::settings::TarnSettings::default())
            .with_extension(counters.clone());
        if let Some(n) = self.target_partitions {
            config = config.with_target_partitions(n);
        }
        for (key, value) in &self.settings {
            config.options_mut().set(key, value)?;
        }
        let cache_options = config
            .options()
            .extensions
            .get::<crate::settings::TarnSettings>()
            .map(|s| s.0.cache.clone())
            .unwrap_or_default();
        let metadata_cache = Arc::new(MetadataCache::new(&cache_options, self.catalog_path.clone()));
        let config = config.with_extension(metadata_cache.clone());

        // DataFusion caches file listings forever by default: a file dropped into a
        // table's folder would stay invisible. Tarn lists on every scan.
        let mut runtime = RuntimeEnvBuilder::new().with_object_list_cache_limit(0);
        // Parquet footers and page indexes go through Tarn's metadata cache,
        // which also persists them in the catalog (`metadata_cache.rs`).
        runtime.cache_manager = runtime
            .cache_manager
            .with_file_metadata_cache(Some(metadata_cache.clone()))
            .with_metadata_cache_limit(cache_options.metadata_memory_limit);
        if let Some(limit) = self.memory_limit {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(limit)));
        }
        if let Some(dir) = &self.temp_dir {
            runtime = runtime.with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
            );
        }
        let runtime = runtime.build_arc()?;
        // Every store counts what it reads (cloud stores are wrapped as
        // `stores` registers them).
        let local = CountingObjectStore::wrap(Arc::new(LocalFileSystem::new()), counters.clone());
        runtime.register_object_store(ObjectStoreUrl::local_filesystem().as_ref(), local);

        let catalogs = Arc::new(MemoryCatalogProviderList::new());
        catalogs.register_catalog(
            CATALOG_NAME.to_string(),
            Arc::new(TarnCatalogProvider::new(bridge.clone())) as Arc<dyn CatalogProvider>,
        );

        let lake_factory: Arc<dyn TableProviderFactory> = Arc::new(LakeTableFactory);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_catalog_list(catalogs)
            .with_table_factory("CSV".into(), lake_factory.clone())
            .with_table_factory("PARQUET".into(), lake_factory.clone())
            .with_table_factory("JSON".into(), lake_factory.clone())
            .with_table_factory("NDJSON".into(), lake_factory)
            .with_query_planner(Arc::new(ResultCachePlanner::new(result_cache)));
        for rule in crate::optimizer::physical_rules(bridge.indexes.clone()) {
            state = state.with_physical_optimizer_rule(rule);
        }
        let state = state.build();
        let ctx = SessionContext::new_with_state(state);
        bridge.session.set(ctx.state_weak_ref());
        register_table_functions(&ctx, bridge.clone());
        Ok(Engine { inner: Arc::new(Inner { ctx, bridge, counters, metadata_cache }) })
    }
}

impl Engine {
    /// Open (or create) the catalog at `path` with default settings.
    /// `":memory:"` opens an in-memory catalog.
    pub async fn open(path: impl AsRef<Path>) -> Result<Engine> {
        Engine::builder().catalog_path(path.as_ref()).build().await
    }

    /// An engine whose catalog lives in memory only.
    pub async fn in_memory() -> Result<Engine> {
        Engine::builder().build().await
    }

    /// Configure an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Bytes and requests this engine has read from storage so far; the
    /// difference of two snapshots is what the statements between read.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("t.csv"), "a,b\n1,2\n")?;
    /// let engine = tarn::Engine::in_memory().await?;
    /// let before = engine.scan_counters();
    /// let sql = format!("SELECT * FROM '{}'", dir.path().join("t.csv").display());
    /// engine.sql(&sql).await?.collect().await?;
    /// assert!((engine.scan_counters() - before).bytes_read >= 8);
    /// # Ok(())
    /// # }
    /// ```
    pub fn scan_counters(&self) -> ScanCountersSnapshot {
        self.inner.counters.snapshot()
    }

    /// Wait until automatic index maintenance has nothing queued or running:
    /// every file that queries have seen and that an index did not cover is
    /// then indexed (or recorded as failed in `tarn.indexes`). Returns at once
    /// when nothing is pending. Useful in tests and tools; queries never need
    /// it (files an index does not cover are read in full meanwhile).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.csv"), "id\n1\n2\n")?;
    /// let engine = tarn::Engine::in_memory().await?;
    /// engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}/'", dir.path().display())).await?;
    /// engine.sql("CREATE INDEX t_id ON t (id)").await?;
    /// std::fs::write(dir.path().join("b.csv"), "id\n3\n")?;
    /// // The query reads b.csv in full and has it indexed in the background.
    /// engine.sql("SELECT * FROM t WHERE id = 3").await?.collect().await?;
    /// engine.wait_for_index_maintenance().await;
    /// let both = engine.sql("SELECT * FROM tarn.indexes WHERE file_count = 2").await?.collect().await?;
    /// assert_eq!(both.num_rows(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_for_index_maintenance(&self) {
        self.inner.bridge.indexes.maintenance().wait_idle().await
    }

    /// The index builds running now (`CREATE INDEX`, `REINDEX`, `REFRESH
    /// TABLE`, automatic maintenance), with files and bytes done of those to
    /// scan; the shell's progress line shows them.
    pub fn index_builds(&self) -> Vec<crate::index::progress::IndexBuildProgress> {
        self.inner.bridge.indexes.builds().snapshot()
    }

    /// The result cache's counters, memory use and what it did with the last
    /// query (with the reason when it missed or could not cache it); the
    /// shell's `\cache` shows this. `tarn.cache` and `tarn.cache_entries`
    /// hold the same as SQL tables.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.csv");
    /// std::fs::write(&path, "a,b\n1,2\n")?;
    /// // Results over files modified in the last two seconds are not kept.
    /// let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    /// std::fs::File::options().append(true).open(&path)?.set_modified(minute_ago)?;
    /// let engine = tarn::Engine::in_memory().await?;
    /// let sql = format!("SELECT sum(a) FROM '{}'", path.display());
    /// engine.sql(&sql).await?.collect().await?;
    /// engine.sql(&sql).await?.collect().await?;
    /// let status = engine.cache_status();
    /// assert_eq!((status.hits, status.entries), (1, 1));
    /// assert!(matches!(status.last_outcome, Some(tarn::CacheOutcome::Hit { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn cache_status(&self) -> ResultCacheStatus {
        let enabled = TarnOptions::from_state(&self.inner.ctx.state()).cache.results;
        self.inner.bridge.result_cache.status(enabled)
    }

    /// Drop every entry of the result cache, in memory and on disk (the
    /// counters are kept).
    pub fn clear_cache(&self) {
        self.inner.bridge.result_cache.clear();
    }

    /// The metadata cache's counters and sizes: Parquet footers held in
    /// memory and persisted in the catalog, with hits and misses of each
    /// tier. `tarn.metadata_cache` holds the same as a SQL table.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> tarn::Result<()> {
    /// let engine = tarn::Engine::in_memory().await?;
    /// let status = engine.metadata_cache_status();
    /// assert!(status.enabled);
    /// assert!(!status.persist, "an in-memory catalog persists nothing");
    /// assert_eq!(status.memory_entries, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn metadata_cache_status(&self) -> MetadataCacheStatus {
        self.inner.metadata_cache.status()
    }

    /// Drop the footers the metadata cache holds in memory, and with
    /// `persisted` also those it keeps in the catalog (the counters are kept).
    pub fn clear_metadata_cache(&self, persisted: bool) {
        use datafusion::execution::cache::Cache;
        self.inner.metadata_cache.clear();
        if persisted {
            self.inner.metadata_cache.clear_persisted();
        }
    }

    /// Wait until every footer the metadata cache has queued for the catalog
    /// is written (dropping the engine does the same).
    pub fn flush_metadata_cache(&self) {
        self.inner.metadata_cache.flush();
    }

    /// The catalog database.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.inner.bridge.catalog
    }

    /// The DataFusion session. Statements run directly on it see the
    /// catalog but skip Tarn's statements (`ATTACH`, …) and its atomic DDL.
    pub fn session_context(&self) -> &SessionContext {
        &self.inner.ctx
    }

    /// Schema that unqualified table names resolve in.
    pub fn default_schema(&self) -> String {
        self.inner.ctx.state().config().options().catalog.default_schema.clone()
    }

    /// Parse a script with the session's SQL dialect.
    pub fn parse(&self, sql: &str) -> Result<Vec<ParsedStatement>> {
        let state = self.inner.ctx.state();
        let options = &state.config().options().sql_parser;
        let dialect = dialect_from_str(options.dialect)
            .ok_or_else(|| Error::Config(format!("unknown SQL dialect '{}'", options.dialect)))?;
        parse_script(sql, dialect.as_ref(), options.recursion_limit.get())
    }

    /// Run exactly one statement (a trailing `;` is allowed).
    pub async fn sql(&self, sql: &str) -> Result<QueryResult> {
        let mut statements = self.parse(sql)?;
        match statements.len() {
            1 => self.execute(statements.remove(0)).await,
            0 => Err(Error::Plan { message: "no SQL statement given".into() }),
            n => Err(Error::Plan {
                message: format!("{n} statements given where one was expected; use execute_script to run several"),
            }),
        }
    }

    /// Run every statement of a script in order and collect each result;
    /// stops at the first error.
    pub async fn execute_script(&self, sql: &str) -> Result<Vec<Batches>> {
        let mut out = Vec::new();
        for statement in self.parse(sql)? {
            out.push(self.execute(statement).await?.collect().await?);
        }
        Ok(out)
    }

    /// Run one parsed statement.
    pub async fn execute(&self, statement: ParsedStatement) -> Result<QueryResult> {
        MetadataCache::apply_settings(&self.inner.ctx.state());
        match statement.kind {
            TarnStatement::Attach { path, schema, or_replace } => self.attach(&path, &schema, or_replace).await,
            TarnStatement::Detach { schema, if_exists } => self.detach(&schema, if_exists).await,
            TarnStatement::Refresh { table } => {
                self.refresh_table(&table).await?;
                Ok(QueryResult::command("REFRESH TABLE"))
            }
            TarnStatement::CreateIndex { name, table, columns, kind, if_not_exists } => {
                self.create_index(&name, &table, &columns, kind.as_deref(), if_not_exists).await?;
                Ok(QueryResult::command("CREATE INDEX"))
            }
            TarnStatement::DropIndex { name, if_exists } => {
                self.drop_index(&name, if_exists)?;
                Ok(QueryResult::command("DROP INDEX"))
            }
            TarnStatement::Reindex { target, kind } => {
                let count = self.reindex(&target, kind).await?;
                Ok(QueryResult::command(format!("REINDEX {count}")))
            }
            TarnStatement::ShowIndexes { table } => self.show_indexes(table.as_deref()).await,
            TarnStatement::CacheTable { table, lazy } => {
                self.cache_table(&table, lazy).await?;
                Ok(QueryResult::command("CACHE TABLE"))
            }
            TarnStatement::UncacheTable { table, if_exists } => {
                self.uncache_table(&table, if_exists)?;
                Ok(QueryResult::command("UNCACHE TABLE"))
            }
            TarnStatement::DataFusion(stmt) => self.execute_datafusion(*stmt).await,
        }
    }

    /// Create an index on a catalog table and build it: `table` is `t` or
    /// `schema.t`, `kind` is `minmax`, `bloom` (the default) or `values`.
    /// The index is named in the table's schema.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> tarn::Result<()> {
    /// let dir = tempfile::tempdir().map_err(|e| tarn::Error::Io { path: "tmp".into(), source: e })?;
    /// std::fs::write(dir.path().join("a.csv"), "id,name\n1,x\n2,y\n").unwrap();
    /// let engine = tarn::Engine::in_memory().await?;
    /// engine.register_table("t", dir.path().to_str().unwrap(), Default::default()).await?;
    /// engine.create_index("t_id", "t", &["id".to_string()], None, false).await?;
    /// let rows = engine.sql("SELECT index_name, kind, file_count FROM tarn.indexes").await?.collect().await?;
    /// assert!(rows.to_pretty_string()?.contains("| t_id       | bloom | 1          |"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create_index(
        &self,
        name: &str,
        table: &str,
        columns: &[String],
        kind: Option<&str>,
        if_not_exists: bool,
    ) -> Result<()> {
        let (schema, table) = self.resolve_table_name(table)?;
        reject_system(&schema)?;
        let state = self.inner.ctx.state();
        let request = crate::index::statements::CreateIndex {
            schema: &schema,
            table: &table,
            name,
            columns,
            kind,
            if_not_exists,
        };
        crate::index::statements::create_index(&state, &self.inner.bridge, request).await?;
        Ok(())
    }

    /// Drop an index (`i` or `schema.i`) and delete its data.
    pub fn drop_index(&self, name: &str, if_exists: bool) -> Result<()> {
        let (schema, index) = self.resolve_table_name(name)?;
        crate::index::statements::drop_index(&self.inner.bridge, &schema, &index, if_exists)?;
        Ok(())
    }

    /// `REINDEX`: rebuild an index, or every index of a table, from scratch.
    /// A bare name is an index if one of that name exists, else a table.
    /// Returns the number of indexes rebuilt.
    pub async fn reindex(&self, name: &str, kind: Option<crate::statement::ReindexTarget>) -> Result<usize> {
        use crate::statement::ReindexTarget;
        let (schema, object) = self.resolve_table_name(name)?;
        let index = match kind {
            Some(ReindexTarget::Table) => None,
            _ => self.catalog().get_index(&schema, &object)?,
        };
        let entries = match (index, kind) {
            (Some(index), _) => vec![index],
            (None, Some(ReindexTarget::Index)) => {
                return Err(Error::NotFound { kind: "index", name: format!("{schema}.{object}") });
            }
            (None, _) => self.catalog().list_indexes(None, Some((&schema, &object)))?,
        };
        let state = self.inner.ctx.state();
        for entry in &entries {
            crate::index::statements::rebuild(&state, &self.inner.bridge, entry, false).await?;
        }
        Ok(entries.len())
    }

    /// `CACHE [LAZY] TABLE`: keep a catalog table (`t` or `schema.t`) in
    /// memory as Arrow and serve its scans from there, file by file, never
    /// stale (see the README's *Table cache*). Loads it now unless `lazy`
    /// (then its first scan does); the choice is kept in the catalog, so a
    /// new process loads it at its first scan. Caching a cached table again
    /// brings its data up to date. Fails, keeping nothing, when the table
    /// does not fit in `tarn.cache.table_memory_limit`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("t.csv");
    /// std::fs::write(&path, "a,b\n1,2\n")?;
    /// // Files modified in the last two seconds are read from disk until they settle.
    /// let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    /// std::fs::File::options().append(true).open(&path)?.set_modified(minute_ago)?;
    /// let engine = tarn::Engine::in_memory().await?;
    /// engine.register_table("t", path.to_str().unwrap_or_default(), Default::default()).await?;
    /// engine.cache_table("t", false).await?;
    /// let rows = engine.sql("SELECT table_name, files, rows FROM tarn.cached_tables").await?.collect().await?;
    /// assert!(rows.to_pretty_string()?.contains("| t          | 1     | 1    |"));
    /// engine.uncache_table("t", false)?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn cache_table(&self, name: &str, lazy: bool) -> Result<()> {
        let (schema, table) = self.resolve_table_name(name)?;
        reject_system(&schema)?;
        let state = self.inner.ctx.state();
        crate::table_cache::cache_table(&state, &self.inner.bridge, &schema, &table, lazy).await
    }

    /// `UNCACHE TABLE`: forget a table's cached data and its mark in the
    /// catalog. Uncaching a table that is not cached does nothing; a
    /// missing table is an error unless `if_exists`.
    pub fn uncache_table(&self, name: &str, if_exists: bool) -> Result<()> {
        let (schema, table) = self.resolve_table_name(name)?;
        reject_system(&schema)?;
        crate::table_cache::uncache_table(&self.inner.bridge, &schema, &table, if_exists)
    }

    /// `SHOW INDEXES [FROM table]`: rows of `tarn.indexes`.
    async fn show_indexes(&self, table: Option<&str>) -> Result<QueryResult> {
        let columns = "schema_name, table_name, index_name, columns, kind, file_count, unit_count, size_bytes";
        let sql = match table {
            Some(t) => {
                let (schema, table) = self.resolve_table_name(t)?;
                if self.catalog().get_table(&schema, &table)?.is_none() {
                    return Err(Error::NotFound { kind: "table", name: format!("{schema}.{table}") });
                }
                format!(
                    "SELECT {columns} FROM tarn.indexes WHERE schema_name = '{}' AND table_name = '{}' ORDER BY index_name",
                    schema.replace('\'', "''"),
                    table.replace('\'', "''")
                )
            }
            None => format!("SELECT {columns} FROM tarn.indexes ORDER BY schema_name, table_name, index_name"),
        };
        let df = self.inner.ctx.sql(&sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        Ok(QueryResult::new(schema, ResultKind::Rows, map_stream(df.execute_stream().await?)))
    }

    async fn execute_datafusion(&self, mut stmt: DFStatement) -> Result<QueryResult> {
        crate::functions::rewrite_table_function_options(&mut stmt);
        if let DFStatement::Statement(s) = &stmt
            && let SqlStatement::Comment { object_type, object_name, comment, if_exists } = s.as_ref()
        {
            return self.comment(*object_type, &object_name.to_string(), comment.as_deref(), *if_exists).await;
        }
        let state = self.inner.ctx.state();
        let plan = match state.statement_to_plan(stmt).await.map_err(Error::from) {
            Ok(plan) => plan,
            Err(Error::Plan { message }) => return Err(Error::Plan { message: self.suggest_table(message) }),
            Err(e) => return Err(e),
        };
        if let LogicalPlan::Ddl(DdlStatement::CreateExternalTable(cmd)) = &plan {
            return self.create_external_table(&state, cmd).await;
        }
        let tag = command_tag(&plan);
        // DataFusion's RESET knows only its own settings: `RESET tarn.x` is
        // `SET tarn.x` to the default.
        let plan = match plan {
            LogicalPlan::Statement(datafusion::logical_expr::Statement::ResetVariable(reset))
                if reset.variable.to_ascii_lowercase().starts_with("tarn.") =>
            {
                let variable = reset.variable.to_ascii_lowercase();
                let value = crate::settings::default_value(&variable)
                    .ok_or_else(|| Error::Plan { message: format!("unknown setting '{}'", reset.variable) })?;
                LogicalPlan::Statement(datafusion::logical_expr::Statement::SetVariable(
                    datafusion::logical_expr::SetVariable { variable, value },
                ))
            }
            other => other,
        };
        // A function redefined under the same name would leave plans looking
        // the same: drop cached results that may have called the old one.
        if matches!(plan, LogicalPlan::Ddl(DdlStatement::CreateFunction(_) | DdlStatement::DropFunction(_))) {
            self.inner.bridge.result_cache.clear();
        }
        // The optimizer folds now(), current_date & co. into constants, so the
        // result cache cannot see them: tell it here, from the plan as written.
        let df = match volatile_reason_in(&plan) {
            Some(reason) if tag.is_none() => {
                let mut state = state;
                state.config_mut().options_mut().extensions.insert(ResultCacheBypass(reason));
                DataFrame::new(state, plan)
            }
            _ => self.inner.ctx.execute_logical_plan(plan).await?,
        };
        match tag {
            Some(tag) => {
                // Commands run when executed; drain so their effects happen now.
                df.collect().await?;
                Ok(QueryResult::command(tag))
            }
            None => {
                let schema = Arc::new(df.schema().as_arrow().clone());
                let task = Arc::new(df.task_ctx());
                let plan = df.create_physical_plan().await?;
                let stream = execute_stream(plan.clone(), task)?;
                Ok(QueryResult::new(schema, ResultKind::Rows, map_stream(stream)).with_plan(plan))
            }
        }
    }

    /// Add "did you mean 'orders'?" to a "table 'tarn.public.ordrs' not found"
    /// message when a table of a similar name exists.
    fn suggest_table(&self, message: String) -> String {
        let Some(missing) = message.strip_prefix("table '").and_then(|m| m.strip_suffix("' not found")) else {
            return message;
        };
        let reference = TableReference::parse_str(missing);
        let default_schema = self.default_schema();
        let schema = reference.schema().unwrap_or(&default_schema);
        let wanted = reference.table().to_lowercase();
        let Some(catalog) = self.inner.ctx.catalog(CATALOG_NAME) else { return message };
        // Tables of the same schema by their bare name, others qualified.
        let candidates = catalog.schema_names().into_iter().filter(|s| s != "information_schema").flat_map(|s| {
            let names = catalog.schema(&s).map(|p| p.table_names()).unwrap_or_default();
            names.into_iter().map(move |t| if s == schema { (t.clone(), t) } else { (t.clone(), format!("{s}.{t}")) })
        });
        let best = candidates
            .map(|(name, shown)| (levenshtein(&wanted, &name.to_lowercase()), shown))
            .filter(|(d, _)| *d > 0 && *d <= (wanted.chars().count() / 3).max(1))
            .min();
        match best {
            Some((_, shown)) => format!("{message} — did you mean '{shown}'?"),
            None => message,
        }
    }

    /// Resolve `t`, `schema.t` or `tarn.schema.t` to (schema, table).
    pub fn resolve_table_name(&self, name: &str) -> Result<(String, String)> {
        let reference = TableReference::parse_str(name);
        self.resolve_reference(&reference)
    }

    fn resolve_reference(&self, reference: &TableReference) -> Result<(String, String)> {
        if let Some(catalog) = reference.catalog()
            && catalog != CATALOG_NAME
        {
            return Err(Error::NotFound { kind: "catalog", name: catalog.to_string() });
        }
        let schema = reference.schema().map(str::to_string).unwrap_or_else(|| self.default_schema());
        Ok((schema, reference.table().to_string()))
    }

    async fn create_external_table(&self, state: &SessionState, cmd: &CreateExternalTable) -> Result<QueryResult> {
        let (schema, name) = self.resolve_reference(&cmd.name)?;
        reject_system(&schema)?;
        if cmd.if_not_exists && cmd.or_replace {
            return Err(Error::Plan { message: "IF NOT EXISTS and OR REPLACE cannot be used together".into() });
        }
        if self.catalog().get_schema(&schema)?.is_none() {
            return Err(Error::NotFound { kind: "schema", name: schema });
        }
        if self.catalog().get_table(&schema, &name)?.is_some() {
            if cmd.if_not_exists {
                return Ok(QueryResult::command("CREATE TABLE"));
            }
            if !cmd.or_replace {
                return Err(Error::AlreadyExists { kind: "table", name: format!("{schema}.{name}") });
            }
        }
        let mut spec = spec_from_command(cmd)?;
        spec.discover_partitions = state.config_options().execution.listing_table_factory_infer_partitions;
        let options = TarnOptions::from_state(state);
        let (def, files) = lake::inspect(state, &schema, &name, spec, &options).await?;
        self.catalog().write(|tx| tx.create_table(&def, &files, cmd.if_not_exists, cmd.or_replace))?;
        Ok(QueryResult::command("CREATE TABLE"))
    }

    /// Register a table from the library API: `name` is `t` or `schema.t`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> tarn::Result<()> {
    /// let dir = tempfile::tempdir().map_err(|e| tarn::Error::Io { path: "tmp".into(), source: e })?;
    /// let csv = dir.path().join("cities.csv");
    /// std::fs::write(&csv, "city,pop\nParis,2100000\nRome,2800000\n").unwrap();
    /// let engine = tarn::Engine::in_memory().await?;
    /// engine.register_table("cities", csv.to_str().unwrap(), Default::default()).await?;
    /// let rows = engine.sql("SELECT sum(pop) AS p FROM cities").await?.collect().await?;
    /// assert!(rows.to_pretty_string()?.contains("4900000"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn register_table(&self, name: &str, location: &str, options: TableOptions) -> Result<()> {
        let (schema, table) = self.resolve_table_name(name)?;
        reject_system(&schema)?;
        let state = self.inner.ctx.state();
        let spec = TableSpec {
            format: options.format,
            options: options.options,
            partition_columns: options.partition_columns,
            comment: options.comment,
            ..TableSpec::detect(location)
        };
        let settings = TarnOptions::from_state(&state);
        let (def, files) = lake::inspect(&state, &schema, &table, spec, &settings).await?;
        self.catalog().write(|tx| tx.create_table(&def, &files, false, false))?;
        Ok(())
    }

    /// Every catalog table, ordered by schema and name.
    pub fn list_tables(&self) -> Result<Vec<TableEntry>> {
        Ok(self.catalog().list_tables(None)?)
    }

    /// Drop a catalog table (its files are left alone).
    pub async fn drop_table(&self, name: &str, if_exists: bool) -> Result<()> {
        let (schema, table) = self.resolve_table_name(name)?;
        self.catalog().write(|tx| tx.drop_table(&schema, &table, if_exists))?;
        Ok(())
    }

    /// Re-list a table's files, re-infer its schema (unless it was declared)
    /// and rewrite its manifest, in one transaction.
    pub async fn refresh_table(&self, name: &str) -> Result<()> {
        let (schema, table) = self.resolve_table_name(name)?;
        let entry = self
            .catalog()
            .get_table(&schema, &table)?
            .ok_or_else(|| Error::NotFound { kind: "table", name: format!("{schema}.{table}") })?;
        let declared = entry.def.options.get(DECLARED_SCHEMA_KEY).is_some_and(|v| v == "true");
        let spec = TableSpec {
            location: entry.def.location.clone(),
            format: Some(entry.def.format),
            options: entry.def.options.clone(),
            partition_columns: Some(entry.def.partition_columns.clone()),
            discover_partitions: false,
            schema: declared.then(|| entry.def.schema_def.clone()),
            comment: entry.def.comment.clone(),
        };
        let state = self.inner.ctx.state();
        let settings = TarnOptions::from_state(&state);
        let (def, files) = lake::inspect(&state, &schema, &table, spec, &settings).await?;
        self.catalog().write(|tx| tx.replace_manifest(&schema, &table, &def.schema_def, &files))?;
        self.forget_removed_footers(&def.location, &files);
        // Indexes follow the files: new and changed files are indexed, removed ones dropped.
        let state = self.inner.ctx.state();
        for entry in self.catalog().list_indexes(None, Some((&schema, &table)))? {
            crate::index::statements::rebuild(&state, &self.inner.bridge, &entry, true).await?;
        }
        Ok(())
    }

    /// Drop the persisted footers of files under `location` that a refresh
    /// no longer found (a best effort: a stale row would never be used,
    /// since its file's listing no longer matches it).
    fn forget_removed_footers(&self, location: &str, files: &[tarn_catalog::FileEntry]) {
        let Ok(url) = datafusion::datasource::listing::ListingTableUrl::parse(location) else { return };
        let keep: Vec<String> = files
            .iter()
            .filter_map(|f| datafusion::datasource::listing::ListingTableUrl::parse(&f.path).ok())
            .map(|u| u.prefix().to_string())
            .collect();
        let prefix = url.prefix().to_string();
        let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
        self.inner.metadata_cache.forget_removed(&prefix, &keep);
    }

    /// `ATTACH 'dir' AS schema`: every data file and every folder of data
    /// files directly under `dir` becomes a table, all in one transaction.
    async fn attach(&self, path: &str, schema: &str, or_replace: bool) -> Result<QueryResult> {
        reject_system(schema)?;
        match self.catalog().get_schema(schema)? {
            Some(_) if !or_replace => return Err(Error::AlreadyExists { kind: "schema", name: schema.to_string() }),
            // OR REPLACE replaces an attached lake, never a schema of the user's own tables.
            Some(existing) if existing.attached_path.is_none() => {
                return Err(Error::Plan {
                    message: format!("schema '{schema}' was not attached, so ATTACH OR REPLACE will not replace it"),
                });
            }
            _ => {}
        }
        let root = lake::normalize_location(path)?;
        let mut root_dir = root.clone();
        if !root_dir.ends_with('/') {
            if !root_dir.contains("://") {
                let meta = std::fs::metadata(&root_dir).map_err(|e| Error::Io { path: root_dir.clone(), source: e })?;
                if !meta.is_dir() {
                    return Err(Error::Plan {
                        message: format!("ATTACH needs a directory, and '{root_dir}' is a file"),
                    });
                }
            }
            root_dir.push('/');
        }
        let state = self.inner.ctx.state();
        let candidates = attach_candidates(&state, &root_dir).await?;
        if candidates.is_empty() {
            return Err(Error::Io {
                path: root_dir,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no CSV, Parquet or JSON files or folders found",
                ),
            });
        }
        let settings = TarnOptions::from_state(&state);
        let inspected: Vec<(TableDefinition, Vec<tarn_catalog::FileEntry>)> = futures::stream::iter(candidates)
            .map(|(name, location)| {
                let state = &state;
                let settings = &settings;
                async move {
                    let spec = TableSpec::detect(location);
                    lake::inspect(state, schema, &name, spec, settings).await
                }
            })
            .buffered(4)
            .try_collect()
            .await?;
        let count = inspected.len();
        self.catalog().write(|tx| {
            if or_replace {
                tx.drop_schema(schema, true, true)?;
            }
            tx.create_schema(schema, Some(&root_dir), false)?;
            for (def, files) in &inspected {
                tx.create_table(def, files, false, false)?;
            }
            test_pause_before_commit();
            Ok(())
        })?;
        Ok(QueryResult::command(format!("ATTACH {count} TABLES")))
    }

    async fn detach(&self, schema: &str, if_exists: bool) -> Result<QueryResult> {
        match self.catalog().get_schema(schema)? {
            None if if_exists => return Ok(QueryResult::command("DETACH")),
            None => {
                return Err(Error::NotFound { kind: "schema", name: schema.to_string() });
            }
            Some(s) if s.attached_path.is_none() => {
                return Err(Error::Plan {
                    message: format!("schema '{schema}' was not attached; use DROP SCHEMA {schema} CASCADE"),
                });
            }
            Some(_) => {}
        }
        self.catalog().write(|tx| tx.drop_schema(schema, true, true))?;
        Ok(QueryResult::command("DETACH"))
    }

    async fn comment(
        &self,
        object: CommentObject,
        name: &str,
        comment: Option<&str>,
        if_exists: bool,
    ) -> Result<QueryResult> {
        let parts: Vec<String> = TableReference::parse_str(name).to_vec();
        let result = match object {
            CommentObject::Table => {
                let (schema, table) = self.resolve_table_name(name)?;
                self.catalog().write(|tx| tx.set_table_comment(&schema, &table, comment))
            }
            CommentObject::Column => {
                let (column, table_parts) = match parts.split_last() {
                    Some((c, rest)) if !rest.is_empty() => (c.clone(), rest.join(".")),
                    _ => {
                        return Err(Error::Plan {
                            message: format!("COMMENT ON COLUMN needs table.column, got '{name}'"),
                        });
                    }
                };
                let (schema, table) = self.resolve_table_name(&table_parts)?;
                self.catalog().write(|tx| tx.set_column_comment(&schema, &table, &column, comment))
            }
            CommentObject::Schema => self.catalog().write(|tx| tx.set_schema_comment(name, comment)),
            other => return Err(Error::Unsupported(format!("COMMENT ON {other}"))),
        };
        match result.map_err(Error::from) {
            Ok(()) => Ok(QueryResult::command("COMMENT")),
            Err(Error::NotFound { .. }) if if_exists => Ok(QueryResult::command("COMMENT")),
            Err(e) => Err(e),
        }
    }
}

/// Option key recording that a table's schema was declared, not inferred
/// (REFRESH then keeps it).
pub(crate) const DECLARED_SCHEMA_KEY: &str = "tarn.declared_schema";

/// What a `CREATE EXTERNAL TABLE` asks for.
pub(crate) fn spec_from_command(cmd: &CreateExternalTable) -> Result<TableSpec> {
    let format = FileFormat::parse(&cmd.file_type).ok_or_else(|| {
        Error::Unsupported(format!("STORED AS {}: Tarn catalogs CSV, PARQUET and JSON files", cmd.file_type))
    })?;
    let location = match cmd.locations.as_slice() {
        [one] => one.clone(),
        _ => {
            return Err(Error::Unsupported("several LOCATIONs in one table; use a directory or a glob".into()));
        }
    };
    if cmd.unbounded {
        return Err(Error::Unsupported("UNBOUNDED external tables".into()));
    }
    let declared = !cmd.schema.fields().is_empty();
    let mut options: BTreeMap<String, String> = cmd.options.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    if declared {
        options.insert(DECLARED_SCHEMA_KEY.into(), "true".into());
    }
    if !cmd.order_exprs.is_empty() {
        options.insert(lake::SORT_ORDER_KEY.into(), sort_order_json(&cmd.order_exprs)?);
    }
    // Partition columns go last, in PARTITIONED BY order, as DataFusion lays them out.
    let schema = declared.then(|| {
        let arrow = cmd.schema.as_arrow();
        let parts = &cmd.table_partition_cols;
        let mut fields: Vec<_> = arrow.fields().iter().filter(|f| !parts.contains(f.name())).cloned().collect();
        fields.extend(parts.iter().filter_map(|p| arrow.field_with_name(p).ok().map(|f| Arc::new(f.clone()))));
        Arc::new(datafusion::arrow::datatypes::Schema::new_with_metadata(fields, arrow.metadata().clone()))
    });
    Ok(TableSpec {
        location,
        format: Some(format),
        options,
        partition_columns: (!cmd.table_partition_cols.is_empty()).then(|| cmd.table_partition_cols.clone()),
        discover_partitions: true,
        schema,
        comment: None,
    })
}

/// `WITH ORDER (a ASC, b DESC NULLS FIRST)` as stored in a table's options.
fn sort_order_json(orders: &[Vec<datafusion::logical_expr::SortExpr>]) -> Result<String> {
    let keys = orders
        .iter()
        .map(|order| {
            order
                .iter()
                .map(|s| match &s.expr {
                    datafusion::logical_expr::Expr::Column(c) => {
                        Ok(lake::SortKey { column: c.name.clone(), asc: s.asc, nulls_first: s.nulls_first })
                    }
                    other => Err(Error::Unsupported(format!("WITH ORDER on an expression ({other}); name columns"))),
                })
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    serde_json::to_string(&keys).map_err(|e| Error::internal(format!("cannot store sort order: {e}")))
}

/// Tables an ATTACH of `root` creates: (table name, location) for every data
/// file and every folder holding data files, directly under `root`.
async fn attach_candidates(state: &SessionState, root: &str) -> Result<Vec<(String, String)>> {
    crate::stores::ensure_object_store(state, root)?;
    let url = datafusion::datasource::listing::ListingTableUrl::parse(root)?;
    let store = state.runtime_env().object_store(url.object_store())?;
    let prefix: StorePath = url.prefix().clone();
    let listing = store.list_with_delimiter(Some(&prefix)).await.map_err(|e| Error::from(e).with_path(root))?;
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut add = |name: String, location: String| -> Result<()> {
        let table = table_name_for(&name);
        if let Some(existing) = out.insert(table.clone(), location.clone()) {
            return Err(Error::Plan {
                message: format!(
                    "'{existing}' and '{location}' would both become table '{table}'; attach them separately"
                ),
            });
        }
        Ok(())
    };
    for object in &listing.objects {
        let file_name = object.location.filename().unwrap_or_default().to_string();
        if lake::is_hidden(&file_name) {
            continue;
        }
        if let Some((_, _, ext)) = lake::detect_format(&file_name) {
            let stem = file_name[..file_name.len() - ext.len()].to_string();
            add(stem, format!("{root}{file_name}"))?;
        }
    }
    for folder in &listing.common_prefixes {
        let dir_name = folder.filename().unwrap_or_default().to_string();
        if lake::is_hidden(&dir_name) {
            continue;
        }
        // A folder is a table when it holds data files (at any depth, for Hive partitions).
        let mut files = store.list(Some(folder));
        let mut has_data = false;
        while let Some(meta) = files.next().await {
            let meta = meta.map_err(Error::from)?;
            if !lake::is_hidden(meta.location.as_ref()) && lake::detect_format(meta.location.as_ref()).is_some() {
                has_data = true;
                break;
            }
        }
        if has_data {
            add(dir_name.clone(), format!("{root}{dir_name}/"))?;
        }
    }
    Ok(out.into_iter().collect())
}

/// A SQL-friendly table name from a file or folder name.
fn table_name_for(name: &str) -> String {
    let mut s: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() {
        s.insert(0, 't');
    }
    s
}

/// Tag of a plan that is a command rather than a query.
fn command_tag(plan: &LogicalPlan) -> Option<String> {
    match plan {
        LogicalPlan::Ddl(ddl) => Some(
            match ddl {
                DdlStatement::CreateExternalTable(_) | DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
                DdlStatement::CreateView(_) => "CREATE VIEW",
                DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
                DdlStatement::CreateCatalog(_) => "CREATE CATALOG",
                DdlStatement::CreateIndex(_) => "CREATE INDEX",
                DdlStatement::DropTable(_) => "DROP TABLE",
                DdlStatement::DropView(_) => "DROP VIEW",
                DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
                DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
                DdlStatement::DropFunction(_) => "DROP FUNCTION",
            }
            .to_string(),
        ),
        LogicalPlan::Statement(s) => Some(s.name().to_uppercase()),
        _ => None,
    }
}

/// Test hook: with `TARN_TEST_PAUSE_BEFORE_COMMIT_MS` set, multi-table
/// writes (ATTACH) sleep inside their transaction, so a test can kill the
/// process there and prove the catalog is left as it was.
fn test_pause_before_commit() {
    if let Some(ms) = std::env::var("TARN_TEST_PAUSE_BEFORE_COMMIT_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        eprintln!("tarn: test hook: pausing {ms} ms before commit");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_from_files() {
        assert_eq!(table_name_for("Order Items"), "order_items");
        assert_eq!(table_name_for("2024-sales"), "t2024_sales");
    }
}
