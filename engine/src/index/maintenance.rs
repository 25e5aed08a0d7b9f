//! Automatic index maintenance: when a query's scan sees files an index does
//! not cover (new, or changed since they were indexed) or no longer sees
//! files it does cover (removed), `IndexPruningRule` asks [`Maintenance`] to
//! bring the index up to date. The query itself is not held up: it reads
//! those files in full, as it always does, while a background job indexes
//! just them (`statements::maintain`: an incremental rebuild that carries over
//! the units of unchanged files) and commits the result in one catalog
//! transaction with each file's size, modification time and etag, so the
//! never-stale rule holds exactly as for `REFRESH TABLE`.
//!
//! - Jobs run on a runtime of their own with one worker thread (started at
//!   the first job), scanning `tarn.index.maintenance_concurrency` files at
//!   a time, so a maintenance job never takes the query runtime's workers.
//! - One job per index at a time; a request while it runs makes it run once
//!   more afterwards (files may have arrived after its listing).
//! - A job commits only if the index still points at the sidecar it started
//!   from: a `REINDEX`, `REFRESH TABLE` or another process that rebuilt the
//!   index meanwhile wins.
//! - Errors are logged and kept in [`MaintenanceStatus`] (shown by
//!   `tarn.indexes`), never surfaced as query failures. A file that cannot
//!   be indexed is left out (queries keep reading it in full) and is not
//!   tried again until it changes.
//! - `Engine::wait_for_index_maintenance` waits until no job is queued or
//!   running.
//!
//! `SET tarn.index.auto_maintain = false` switches it off.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use crate::provider::Bridge;

/// A file of a scan, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedFile {
    pub path: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

/// What automatic maintenance knows about one index (in this engine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MaintenanceStatus {
    /// Files the last scan of the table saw that the index does not cover
    /// (new or changed); None before any scan in this engine.
    pub unindexed_files: Option<u64>,
    /// Whether a job is queued or running.
    pub running: bool,
    /// When a job last finished (ms since the epoch).
    pub maintained_at_ms: Option<i64>,
    /// The last job's error, or the files it could not index.
    pub error: Option<String>,
    /// Files that could not be indexed: path → (size, modification time).
    failures: HashMap<String, (u64, i64)>,
}

#[derive(Debug, Default)]
struct State {
    /// Index id → (table id, run again when done).
    jobs: HashMap<i64, (i64, bool)>,
    status: HashMap<i64, MaintenanceStatus>,
}

/// The engine's automatic index maintenance (see the module documentation).
#[derive(Debug)]
pub(crate) struct Maintenance {
    bridge: OnceLock<Weak<Bridge>>,
    state: parking_lot::Mutex<State>,
    /// Number of jobs queued or running.
    active: tokio::sync::watch::Sender<usize>,
    runtime: parking_lot::Mutex<Option<tokio::runtime::Runtime>>,
}

impl Default for Maintenance {
    fn default() -> Self {
        Self {
            bridge: OnceLock::new(),
            state: Default::default(),
            active: tokio::sync::watch::Sender::new(0),
            runtime: Default::default(),
        }
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        // Unfinished jobs are abandoned (their sidecars are never committed);
        // the next query that sees the files asks again. Shutting down in the
        // background is allowed anywhere, even on the runtime's own worker.
        if let Some(runtime) = self.runtime.get_mut().take() {
            runtime.shutdown_background();
        }
    }
}

impl Maintenance {
    /// Give maintenance the engine state its jobs need.
    pub(crate) fn attach(&self, bridge: &Arc<Bridge>) {
        let _ = self.bridge.set(Arc::downgrade(bridge));
    }

    /// A scan of table `table_id` saw `uncovered` files that index `index_id`
    /// does not cover, and (`removed`) missed files it does cover. Starts a
    /// job unless there is nothing new to index; never blocks on one.
    pub(crate) fn request(self: &Arc<Self>, table_id: i64, index_id: i64, uncovered: &[ListedFile], removed: bool) {
        let mut state = self.state.lock();
        let status = state.status.entry(index_id).or_default();
        status.unindexed_files = Some(uncovered.len() as u64);
        let new = uncovered.iter().any(|f| {
            status
                .failures
                .get(&f.path)
                .is_none_or(|(size, modified)| (*size, *modified) != (f.size, f.last_modified_ms))
        });
        if !new && !removed {
            return;
        }
        if let Some((_, again)) = state.jobs.get_mut(&index_id) {
            *again = true;
            return;
        }
        let Some(bridge) = self.bridge.get().and_then(Weak::upgrade) else { return };
        let handle = match self.handle() {
            Ok(handle) => handle,
            Err(e) => {
                log::warn!("index maintenance cannot start: {e}");
                state.status.entry(index_id).or_default().error = Some(format!("cannot start: {e}"));
                return;
            }
        };
        state.jobs.insert(index_id, (table_id, false));
        state.status.entry(index_id).or_default().running = true;
        self.active.send_replace(state.jobs.len());
        drop(state);
        let this = self.clone();
        handle.spawn(async move { this.run(bridge, index_id).await });
    }

    /// The status of each index this engine has seen scanned, by index id.
    pub(crate) fn status(&self) -> HashMap<i64, MaintenanceStatus> {
        self.state.lock().status.clone()
    }

    /// Wait until no job is queued or running.
    pub(crate) async fn wait_idle(&self) {
        let mut active = self.active.subscribe();
        // The sender lives as long as `self`: the wait cannot fail.
        let _ = active.wait_for(|n| *n == 0).await;
    }

    fn handle(&self) -> std::io::Result<tokio::runtime::Handle> {
        let mut runtime = self.runtime.lock();
        if let Some(rt) = runtime.as_ref() {
            return Ok(rt.handle().clone());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .thread_name("tarn-index-maintenance")
            .enable_all()
            .build()?;
        let handle = rt.handle().clone();
        *runtime = Some(rt);
        Ok(handle)
    }

    /// Run jobs for `index_id` until no request came in during the last one.
    async fn run(self: Arc<Self>, bridge: Arc<Bridge>, index_id: i64) {
        loop {
            let (table_id, failures) = {
                let state = self.state.lock();
                let table_id = state.jobs.get(&index_id).map(|(t, _)| *t).unwrap_or_default();
                (table_id, state.status.get(&index_id).map(|s| s.failures.clone()).unwrap_or_default())
            };
            let outcome = maintain_once(&bridge, table_id, index_id, failures).await;
            let mut state = self.state.lock();
            let status = state.status.entry(index_id).or_default();
            status.maintained_at_ms = Some(tarn_catalog::now_ms());
            match outcome {
                Ok(Some(done)) => {
                    if done.superseded {
                        log::info!("index maintenance of index {index_id}: rebuilt meanwhile, result dropped");
                    } else if done.scanned > 0 {
                        log::info!("index maintenance of index {index_id}: indexed {} files", done.scanned);
                    }
                    // Files that failed before and are now covered (or gone) are forgiven.
                    let failed: HashMap<String, (u64, i64)> = done
                        .failed
                        .iter()
                        .map(|(f, _)| (f.path.clone(), (f.size, f.last_modified_ms.unwrap_or_default())))
                        .collect();
                    let kept: HashMap<String, (u64, i64)> =
                        status.failures.drain().filter(|(path, _)| done.still_failing.contains(path)).collect();
                    status.failures = kept.into_iter().chain(failed).collect();
                    status.error = match done.failed.first() {
                        Some((file, e)) if done.failed.len() == 1 => Some(format!("cannot index '{}': {e}", file.path)),
                        Some((file, e)) => {
                            Some(format!("cannot index {} files, e.g. '{}': {e}", done.failed.len(), file.path))
                        }
                        None if status.failures.is_empty() => None,
                        None => status.error.take(),
                    };
                    if !done.superseded {
                        status.unindexed_files = Some(status.failures.len() as u64);
                    }
                }
                // The index was dropped (or switched off) meanwhile.
                Ok(None) => {}
                Err(e) => {
                    log::warn!("index maintenance of index {index_id} failed: {e}");
                    status.error = Some(e.to_string());
                }
            }
            let again = match state.jobs.get_mut(&index_id) {
                Some((_, again)) => std::mem::take(again),
                None => false,
            };
            if !again {
                state.jobs.remove(&index_id);
                state.status.entry(index_id).or_default().running = false;
                self.active.send_replace(state.jobs.len());
                return;
            }
        }
    }
}

/// What one job did.
struct Done {
    scanned: usize,
    failed: Vec<(tarn_catalog::IndexedFile, String)>,
    /// Files that failed before and were skipped again (still unchanged).
    still_failing: std::collections::HashSet<String>,
    superseded: bool,
}

/// One maintenance pass over index `index_id`; None when it no longer exists
/// or maintenance was switched off.
async fn maintain_once(
    bridge: &Bridge,
    table_id: i64,
    index_id: i64,
    failures: HashMap<String, (u64, i64)>,
) -> crate::Result<Option<Done>> {
    let state = bridge.session.state()?;
    if !crate::settings::TarnOptions::from_state(&state).index.auto_maintain {
        return Ok(None);
    }
    let Some(entry) = bridge.catalog.indexes_of_table(table_id)?.into_iter().find(|e| e.id == index_id) else {
        return Ok(None);
    };
    let done = super::statements::maintain(&state, bridge, &entry, failures.clone()).await?;
    // Known failures the build skipped are those whose path it did not index.
    let indexed: std::collections::HashSet<String> = if done.superseded || failures.is_empty() {
        Default::default()
    } else {
        bridge.catalog.index_files(index_id)?.into_iter().map(|f| f.path).collect()
    };
    let still_failing = failures.into_keys().filter(|p| !indexed.contains(p)).collect();
    Ok(Some(Done { scanned: done.scanned, failed: done.failed, still_failing, superseded: done.superseded }))
}
