//! The table cache: `CACHE TABLE t` keeps the rows of a catalog table's
//! files in memory as Arrow record batches, and its scans read them from
//! there — never stale, because the cache is kept *per file*.
//!
//! * **Which tables** are cached is persisted in the catalog
//!   (`cached_tables`, see `tarn_catalog::CachedTableEntry`), so the choice
//!   survives restarts and holds in every process on the catalog. The data is
//!   each engine's own: `CACHE TABLE` loads it at once, `CACHE LAZY TABLE`
//!   and a new process load it at the table's first scan.
//! * **Per file.** Every scan lists the table's files (it always does);
//!   [`TableCache::route`] serves each file whose path, size, last-modified
//!   time and etag match its cached copy from memory ([`TableCacheExec`]),
//!   first loading new and changed files ([`load`]), and forgets files that
//!   are gone. A file the cache cannot hold safely (modified within the last
//!   two seconds, changed while it was read, or not fitting the memory
//!   limit) is read from its file by the scan, next to the cached ones.
//! * **Memory** is measured (the batches' Arrow buffers) and bounded by
//!   `tarn.cache.table_memory_limit`. `CACHE TABLE` fails, keeping nothing,
//!   when the table does not fit in what is free; files that grow a cached
//!   table past the limit are read from disk; lowering the limit drops the
//!   data of the least recently scanned tables first.
//!
//! `SET tarn.cache.tables = false` makes scans read files as if nothing were
//! cached (the data and the choices are kept).

pub(crate) mod exec;
pub(crate) mod load;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::Statistics;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SessionState;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::union::UnionExec;
use futures::StreamExt;
use object_store::ObjectMeta;
use parking_lot::Mutex;
use tarn_catalog::Catalog;

pub(crate) use exec::TableCacheExec;
use load::{Loader, Skipped};

use crate::error::{Error, Result};
use crate::provider::{Bridge, LakeTable};
use crate::settings::{TarnOptions, TarnSettings};

/// One file's rows, as the table's scan decodes them (every column of the
/// table, partition columns included), and the listing entry they match.
#[derive(Debug)]
pub(crate) struct CachedFile {
    /// Path, size, last-modified and etag when it was read.
    pub meta: ObjectMeta,
    /// The rows, in file order.
    pub batches: Vec<RecordBatch>,
    /// Rows in `batches`.
    pub rows: u64,
    /// Memory the batches hold (their Arrow buffers).
    pub bytes: usize,
}

fn same_file(a: &ObjectMeta, b: &ObjectMeta) -> bool {
    a.location == b.location && a.size == b.size && a.last_modified == b.last_modified && a.e_tag == b.e_tag
}

/// One cached table's data and counters.
#[derive(Debug)]
struct TableData {
    /// `schema.table`.
    name: String,
    /// The table definition the data was decoded with: a REFRESH that
    /// changes it (a new column, other options) drops the data.
    fingerprint: String,
    /// Cached files by path.
    files: HashMap<String, Arc<CachedFile>>,
    bytes: usize,
    loaded_at: Option<SystemTime>,
    last_scan_at: Option<SystemTime>,
    /// Value of the cache's clock at the last scan (for eviction order).
    last_used: u64,
    /// Scans served from memory.
    hits: Arc<AtomicU64>,
    /// Listed files not in memory after the last scan or load, and why.
    pending: usize,
    note: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    limit: usize,
    bytes: usize,
    clock: u64,
    /// Catalog generation the marks were read at.
    generation: Option<i64>,
    marked: HashSet<i64>,
    /// Tables being loaded by CACHE TABLE before their mark is written.
    loading: HashSet<i64>,
    tables: HashMap<i64, TableData>,
    /// One loader at a time per table.
    load_locks: HashMap<i64, Arc<tokio::sync::Mutex<()>>>,
}

impl State {
    fn drop_table(&mut self, id: i64) {
        if let Some(data) = self.tables.remove(&id) {
            self.bytes = self.bytes.saturating_sub(data.bytes);
        }
    }

    fn drop_file(&mut self, id: i64, path: &str) {
        if let Some(data) = self.tables.get_mut(&id)
            && let Some(file) = data.files.remove(path)
        {
            data.bytes = data.bytes.saturating_sub(file.bytes);
            self.bytes = self.bytes.saturating_sub(file.bytes);
        }
    }

    /// Drop whole tables, least recently scanned first, until within `limit`.
    fn evict_to(&mut self, limit: usize) {
        while self.bytes > limit {
            let victim =
                self.tables.iter().filter(|(_, d)| d.bytes > 0).min_by_key(|(_, d)| d.last_used).map(|(id, _)| *id);
            let Some(id) = victim else { break };
            if let Some(data) = self.tables.get_mut(&id) {
                self.bytes = self.bytes.saturating_sub(data.bytes);
                data.bytes = 0;
                data.pending += data.files.len();
                data.files.clear();
                data.note = Some("evicted: tarn.cache.table_memory_limit was lowered".into());
            }
        }
    }
}

/// What the cache holds of one table, for `tarn.cached_tables`.
#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
    pub files: usize,
    pub rows: u64,
    pub bytes: usize,
    pub pending: usize,
    pub note: Option<String>,
    pub loaded_at: Option<SystemTime>,
    pub last_scan_at: Option<SystemTime>,
    pub hits: u64,
}

/// An engine's table cache (shared by its clones).
#[derive(Debug)]
pub(crate) struct TableCache {
    catalog: Arc<Catalog>,
    state: Mutex<State>,
}

impl TableCache {
    pub(crate) fn new(catalog: Arc<Catalog>, limit: usize) -> Self {
        Self { catalog, state: Mutex::new(State { limit, ..State::default() }) }
    }

    /// Apply the memory limit in force, evicting as needed.
    fn set_limit(&self, limit: usize) {
        let mut state = self.state.lock();
        state.limit = limit;
        state.evict_to(limit);
    }

    /// Whether table `id` is marked cached; re-reads the marks when the
    /// catalog changed (and forgets the data of tables no longer marked).
    fn is_marked(&self, id: i64) -> Result<bool> {
        let generation = self.catalog.generation()?;
        if self.state.lock().generation != Some(generation) {
            let marked: HashSet<i64> = self.catalog.cached_tables()?.into_iter().map(|c| c.table_id).collect();
            let mut state = self.state.lock();
            let gone: Vec<i64> =
                state.tables.keys().filter(|t| !marked.contains(t) && !state.loading.contains(t)).copied().collect();
            for t in gone {
                state.drop_table(t);
            }
            state.marked = marked;
            state.generation = Some(generation);
        }
        Ok(self.state.lock().marked.contains(&id))
    }

    fn load_lock(&self, id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.state.lock().load_locks.entry(id).or_default().clone()
    }

    /// Forget a table's data (UNCACHE TABLE).
    pub(crate) fn forget(&self, id: i64) {
        self.state.lock().drop_table(id);
    }

    /// What the cache holds of each table, by table id.
    pub(crate) fn infos(&self) -> HashMap<i64, TableInfo> {
        let state = self.state.lock();
        state
            .tables
            .iter()
            .map(|(id, d)| {
                let info = TableInfo {
                    files: d.files.len(),
                    rows: d.files.values().map(|f| f.rows).sum(),
                    bytes: d.bytes,
                    pending: d.pending,
                    note: d.note.clone(),
                    loaded_at: d.loaded_at,
                    last_scan_at: d.last_scan_at,
                    hits: d.hits.load(Ordering::Relaxed),
                };
                (*id, info)
            })
            .collect()
    }

    /// Bring table `id`'s cached files up to date with `listed` (files a
    /// scan will read): load new and changed ones, forget vanished ones
    /// (when `complete`, `listed` is every file of the table). Returns the
    /// cached copies matching `listed`. With `strict` (CACHE TABLE), a file
    /// that does not fit in the memory limit is an error.
    async fn sync(
        &self,
        session: &dyn Session,
        table: &LakeTable,
        id: i64,
        listed: Option<&[PartitionedFile]>,
        complete: bool,
        strict: bool,
    ) -> Result<HashMap<String, Arc<CachedFile>>> {
        let lock = self.load_lock(id);
        let _guard = lock.lock().await;
        let def = table.definition();
        let name = format!("{}.{}", def.schema, def.name);
        let fingerprint = format!("{def:?}");
        {
            let mut state = self.state.lock();
            if state.tables.get(&id).is_some_and(|d| d.fingerprint != fingerprint) {
                state.drop_table(id);
            }
            state.clock += 1;
            let clock = state.clock;
            let data = state.tables.entry(id).or_insert_with(|| TableData {
                name: name.clone(),
                fingerprint,
                files: HashMap::new(),
                bytes: 0,
                loaded_at: None,
                last_scan_at: None,
                last_used: clock,
                hits: Arc::new(AtomicU64::new(0)),
                pending: 0,
                note: None,
            });
            data.last_used = clock;
        }
        let cached_now = |path: &str, meta: &ObjectMeta| -> bool {
            let state = self.state.lock();
            state.tables.get(&id).and_then(|d| d.files.get(path)).is_some_and(|f| same_file(&f.meta, meta))
        };
        let stale = |f: &PartitionedFile| !cached_now(f.object_meta.location.as_ref(), &f.object_meta);
        let needs_load = listed.is_none_or(|files| files.iter().any(stale));
        let mut all_files: Option<Vec<ObjectMeta>> = listed
            .filter(|_| complete && !needs_load)
            .map(|files| files.iter().map(|f| f.object_meta.clone()).collect());
        if needs_load {
            let loader = Loader::new(session, table).await?;
            let wanted: HashSet<&str> = match listed {
                Some(files) => files.iter().filter(|f| stale(f)).map(|f| f.object_meta.location.as_ref()).collect(),
                None => loader.files.iter().filter(|f| stale(f)).map(|f| f.object_meta.location.as_ref()).collect(),
            };
            let to_load: Vec<PartitionedFile> =
                loader.files.iter().filter(|f| wanted.contains(f.object_meta.location.as_ref())).cloned().collect();
            let concurrency = session.config_options().execution.target_partitions.clamp(1, 4);
            let loader = &loader;
            let mut loads = futures::stream::iter(to_load)
                .map(move |file: PartitionedFile| async move {
                    let loaded = loader.load(session, &file).await;
                    (file, loaded)
                })
                .buffered(concurrency);
            let mut skipped: Option<String> = None;
            while let Some((file, loaded)) = loads.next().await {
                let path = file.object_meta.location.to_string();
                let shown = loader.display(&file.object_meta.location);
                match loaded.map_err(Error::from)? {
                    Ok(copy) => {
                        let mut state = self.state.lock();
                        state.drop_file(id, &path);
                        let free = state.limit.saturating_sub(state.bytes);
                        if copy.bytes > free {
                            let limit = state.limit;
                            let used = state.bytes;
                            drop(state);
                            if strict {
                                return Err(Error::ResourcesExhausted(format!(
                                    "CACHE TABLE {name}: file {shown} alone takes {} bytes in memory, more than the {free} bytes free in the table cache (tarn.cache.table_memory_limit = {limit}, {used} in use); raise the limit or UNCACHE another table",
                                    copy.bytes
                                )));
                            }
                            skipped.get_or_insert(format!(
                                "{shown} does not fit in tarn.cache.table_memory_limit ({limit} bytes)"
                            ));
                            continue;
                        }
                        state.bytes += copy.bytes;
                        if let Some(data) = state.tables.get_mut(&id) {
                            data.bytes += copy.bytes;
                            data.loaded_at = Some(SystemTime::now());
                            data.files.insert(path, Arc::new(copy));
                        }
                    }
                    Err(Skipped::Recent) => {
                        self.state.lock().drop_file(id, &path);
                        skipped.get_or_insert(format!(
                            "{shown} was modified less than {} s ago; it is read from its file until it settles",
                            load::RACY_WINDOW.as_secs()
                        ));
                    }
                    Err(Skipped::ChangedWhileLoading) => {
                        self.state.lock().drop_file(id, &path);
                        skipped.get_or_insert(format!("{shown} changed while it was being read"));
                    }
                }
            }
            drop(loads);
            if let Some(data) = self.state.lock().tables.get_mut(&id) {
                data.note = skipped;
            }
            // The loader listed every file of the table.
            all_files = Some(loader.files.iter().map(|f| f.object_meta.clone()).collect());
        }
        let mut state = self.state.lock();
        // Files that are gone from a full listing are forgotten.
        if let Some(all) = &all_files {
            let present: HashSet<&str> = all.iter().map(|m| m.location.as_ref()).collect();
            let gone: Vec<String> = state
                .tables
                .get(&id)
                .map(|d| d.files.keys().filter(|p| !present.contains(p.as_str())).cloned().collect())
                .unwrap_or_default();
            for path in gone {
                state.drop_file(id, &path);
            }
        }
        let Some(data) = state.tables.get_mut(&id) else { return Ok(HashMap::new()) };
        let matching: HashMap<String, Arc<CachedFile>> = match listed {
            Some(files) => files
                .iter()
                .filter_map(|f| {
                    let path = f.object_meta.location.as_ref();
                    data.files
                        .get(path)
                        .filter(|c| same_file(&c.meta, &f.object_meta))
                        .map(|c| (path.to_string(), c.clone()))
                })
                .collect(),
            None => data.files.clone(),
        };
        let expected = listed.map_or_else(|| all_files.as_ref().map_or(0, Vec::len), <[_]>::len);
        data.pending = expected.saturating_sub(matching.len());
        if data.pending == 0 {
            data.note = None;
        }
        Ok(matching)
    }

    /// `CACHE TABLE`: load every file of table `id` now (the caller writes
    /// the mark afterwards). Fails, keeping nothing, when it does not fit.
    async fn load_table(&self, session: &dyn Session, table: &LakeTable, id: i64, limit: usize) -> Result<()> {
        self.set_limit(limit);
        self.state.lock().loading.insert(id);
        let loaded = self.sync(session, table, id, None, true, true).await;
        let mut state = self.state.lock();
        state.loading.remove(&id);
        if loaded.is_err() {
            state.drop_table(id);
        }
        loaded.map(|_| ())
    }

    /// The scan of a cached table: `plan` is the table's file scan (files
    /// as listed now), `shape` what the scan asked for. Cached files are
    /// served by a [`TableCacheExec`]; the others stay in the file scan,
    /// and both are united.
    pub(crate) async fn route(
        &self,
        session: &dyn Session,
        table: &LakeTable,
        id: i64,
        plan: Arc<dyn ExecutionPlan>,
        shape: ScanShape<'_>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let ScanShape { projection, limit, complete } = shape;
        let options =
            session.config_options().extensions.get::<TarnSettings>().map(|s| s.0.cache.clone()).unwrap_or_default();
        if !options.tables || !self.is_marked(id).map_err(DataFusionError::from)? {
            return Ok(plan);
        }
        self.set_limit(options.table_memory_limit);
        let Some(config) = crate::index::build::file_scan(&plan) else { return Ok(plan) };
        let listed: Vec<PartitionedFile> = config.file_groups.iter().flat_map(|g| g.files().iter().cloned()).collect();
        let cached =
            self.sync(session, table, id, Some(&listed), complete, false).await.map_err(DataFusionError::from)?;
        let name = {
            let mut state = self.state.lock();
            match state.tables.get_mut(&id) {
                Some(data) => {
                    data.last_scan_at = Some(SystemTime::now());
                    Some((data.name.clone(), data.hits.clone()))
                }
                None => None,
            }
        };
        let Some((name, hits)) = name else { return Ok(plan) };
        if cached.is_empty() {
            return Ok(plan);
        }
        let files: Vec<Arc<CachedFile>> =
            listed.iter().filter_map(|f| cached.get(f.object_meta.location.as_ref()).cloned()).collect();
        let target = session.config_options().execution.target_partitions;
        let memory: Arc<dyn ExecutionPlan> =
            Arc::new(TableCacheExec::try_new(name, &files, projection, plan.schema(), limit, target, hits)?);
        if files.len() == listed.len() {
            return Ok(memory);
        }
        let disk = without_files(plan, &config, |f| !cached.contains_key(f.object_meta.location.as_ref()))?;
        UnionExec::try_new(vec![memory, disk])
    }
}

/// What a scan asked of its table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanShape<'a> {
    /// Columns of the table's schema to return.
    pub projection: Option<&'a [usize]>,
    /// Rows the scan may stop after.
    pub limit: Option<usize>,
    /// Whether the scan's listing holds every file of the table (no
    /// partition pruning, no limit).
    pub complete: bool,
}

/// `plan` with its file scan reading only the files `keep` accepts (groups
/// kept, so declared output partitioning stays true).
fn without_files(
    plan: Arc<dyn ExecutionPlan>,
    config: &FileScanConfig,
    keep: impl Fn(&PartitionedFile) -> bool,
) -> DfResult<Arc<dyn ExecutionPlan>> {
    use datafusion::common::tree_node::{Transformed, TreeNode};
    let groups: Vec<FileGroup> = config
        .file_groups
        .iter()
        .map(|g| FileGroup::new(g.files().iter().filter(|f| keep(f)).cloned().collect()))
        .collect();
    let schema = config.file_schema().clone();
    let restricted = FileScanConfigBuilder::from(config.clone())
        .with_file_groups(groups)
        .with_statistics(Statistics::new_unknown(&schema))
        .build();
    plan.transform_down(|node| {
        let Some(exec) = node.downcast_ref::<DataSourceExec>() else { return Ok(Transformed::no(node)) };
        if exec.data_source().downcast_ref::<FileScanConfig>().is_none() {
            return Ok(Transformed::no(node));
        }
        let exec = exec.clone().with_data_source(Arc::new(restricted.clone()));
        Ok(Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// `CACHE [LAZY] TABLE schema.name`: mark the table in the catalog and,
/// unless lazy (or `tarn.cache.tables` is off), load it now.
pub(crate) async fn cache_table(
    state: &SessionState,
    bridge: &Bridge,
    schema: &str,
    name: &str,
    lazy: bool,
) -> Result<()> {
    let options = TarnOptions::from_state(state);
    let table = bridge
        .lake_table(state, schema, name)?
        .ok_or_else(|| Error::NotFound { kind: "table", name: format!("{schema}.{name}") })?;
    let id = table.table_id().ok_or_else(|| Error::internal("a catalog table without an id"))?;
    if !lazy && options.cache.tables {
        bridge.table_cache.load_table(state, &table, id, options.cache.table_memory_limit).await?;
    }
    let marked = bridge.catalog.write(|tx| tx.set_table_cached(schema, name, lazy));
    if marked.is_err() {
        bridge.table_cache.forget(id);
    }
    Ok(marked?)
}

/// `UNCACHE TABLE [IF EXISTS] schema.name`: remove the mark and the data.
/// A table that exists but is not cached is not an error (as in Spark).
pub(crate) fn uncache_table(bridge: &Bridge, schema: &str, name: &str, if_exists: bool) -> Result<()> {
    let entry = match bridge.catalog.get_table(schema, name)? {
        Some(entry) => entry,
        None if if_exists => return Ok(()),
        None => return Err(Error::NotFound { kind: "table", name: format!("{schema}.{name}") }),
    };
    bridge.catalog.write(|tx| tx.unset_table_cached(schema, name))?;
    bridge.table_cache.forget(entry.id);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use crate::Engine;

    fn aged(path: &std::path::Path, body: &str, seconds_ago: u64) {
        std::fs::write(path, body).unwrap();
        let file = std::fs::File::options().append(true).open(path).unwrap();
        file.set_modified(std::time::SystemTime::now() - Duration::from_secs(seconds_ago)).unwrap();
    }

    async fn run(engine: &Engine, sql: &str) -> String {
        engine.sql(sql).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap()
    }

    /// A file rewritten between being read and being checked is not kept:
    /// the scan reads it from disk, and the answer is the new content's.
    #[tokio::test]
    async fn a_file_changed_while_it_is_cached_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("t")).unwrap();
        let a = dir.path().join("t/a.csv");
        aged(&a, "x\n1\n2\n", 120);
        aged(&dir.path().join("t/b.csv"), "x\n10\n", 120);
        let engine = Engine::builder().setting("tarn.cache.results", "false").build().await.unwrap();
        engine
            .sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}/t/'", dir.path().display()))
            .await
            .unwrap();
        let target = a.clone();
        *super::load::tests::AFTER_READ.lock() = Some(Box::new(move |meta| {
            if meta.location.as_ref().ends_with(target.to_string_lossy().trim_start_matches('/')) {
                // Same size, other content, a time that is not recent.
                aged(&target, "x\n7\n8\n", 60);
            }
        }));
        let cached = engine.sql("CACHE TABLE t").await;
        *super::load::tests::AFTER_READ.lock() = None;
        cached.unwrap();
        let status = run(&engine, "SELECT files, note FROM tarn.cached_tables").await;
        assert!(status.contains("| 1     |") && status.contains("a.csv changed while it was being read"), "{status}");
        assert!(run(&engine, "SELECT sum(x) AS s FROM t").await.contains("| 25 |"));
        // The next scan caches the file as it is now.
        assert!(run(&engine, "SELECT sum(x) AS s FROM t").await.contains("| 25 |"));
        assert!(run(&engine, "SELECT files FROM tarn.cached_tables").await.contains("| 2     |"));
    }
}
