//! Progress of running index builds: each build (`CREATE INDEX`, `REINDEX`,
//! `REFRESH TABLE`'s maintenance, automatic maintenance) registers a
//! [`BuildTracker`] with the engine's [`BuildProgressRegistry`] and counts
//! files and bytes as it goes; [`IndexBuildProgress`] is the snapshot that
//! `Engine::index_builds` returns and the shell's progress line draws.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A snapshot of one running index build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBuildProgress {
    /// Schema of the index (and its table).
    pub schema: String,
    /// The indexed table.
    pub table: String,
    /// The index.
    pub index: String,
    /// Whether automatic maintenance runs it (in the background), rather than
    /// a statement (`CREATE INDEX`, `REINDEX`, `REFRESH TABLE`).
    pub background: bool,
    /// Files to scan (new and changed files; unchanged ones are carried over
    /// from the previous build without reading them). 0 while listing.
    pub files_total: u64,
    /// Of those, files scanned so far.
    pub files_done: u64,
    /// Bytes of the files to scan.
    pub bytes_total: u64,
    /// Bytes of the units (row groups, blocks, files) scanned so far.
    pub bytes_done: u64,
    /// Time since the build started.
    pub elapsed: Duration,
}

/// The counters of one build, shared by the build and the registry.
#[derive(Debug)]
pub(crate) struct BuildTracker {
    schema: String,
    table: String,
    index: String,
    background: bool,
    started: Instant,
    files_total: AtomicU64,
    files_done: AtomicU64,
    bytes_total: AtomicU64,
    bytes_done: AtomicU64,
}

impl BuildTracker {
    /// The files and bytes this build will scan.
    pub(crate) fn set_total(&self, files: u64, bytes: u64) {
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    /// A unit of `bytes` was scanned.
    pub(crate) fn add_bytes(&self, bytes: u64) {
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A file was scanned; `rest` are its bytes no unit covered (footers, gaps).
    pub(crate) fn file_done(&self, rest: u64) {
        self.bytes_done.fetch_add(rest, Ordering::Relaxed);
        self.files_done.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> IndexBuildProgress {
        IndexBuildProgress {
            schema: self.schema.clone(),
            table: self.table.clone(),
            index: self.index.clone(),
            background: self.background,
            files_total: self.files_total.load(Ordering::Relaxed),
            files_done: self.files_done.load(Ordering::Relaxed),
            bytes_total: self.bytes_total.load(Ordering::Relaxed),
            bytes_done: self.bytes_done.load(Ordering::Relaxed),
            elapsed: self.started.elapsed(),
        }
    }
}

/// The builds running in one engine. Builds hold their tracker; the registry
/// only a weak reference, so a finished (or cancelled) build disappears.
#[derive(Debug, Default)]
pub(crate) struct BuildProgressRegistry {
    running: parking_lot::Mutex<Vec<Weak<BuildTracker>>>,
}

impl BuildProgressRegistry {
    /// Register a build of index `schema.index` on `table`.
    pub(crate) fn start(&self, schema: &str, table: &str, index: &str, background: bool) -> Arc<BuildTracker> {
        let tracker = Arc::new(BuildTracker {
            schema: schema.to_string(),
            table: table.to_string(),
            index: index.to_string(),
            background,
            started: Instant::now(),
            files_total: AtomicU64::new(0),
            files_done: AtomicU64::new(0),
            bytes_total: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
        });
        let mut running = self.running.lock();
        running.retain(|w| w.strong_count() > 0);
        running.push(Arc::downgrade(&tracker));
        tracker
    }

    /// Snapshots of the builds running now, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<IndexBuildProgress> {
        let mut running = self.running.lock();
        running.retain(|w| w.strong_count() > 0);
        running.iter().filter_map(Weak::upgrade).map(|t| t.snapshot()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_are_listed_while_they_run() {
        let registry = BuildProgressRegistry::default();
        let tracker = registry.start("public", "events", "events_user", false);
        tracker.set_total(4, 400);
        tracker.add_bytes(90);
        tracker.file_done(10);
        let running = registry.snapshot();
        assert_eq!(running.len(), 1);
        let p = &running[0];
        assert_eq!(
            (p.index.as_str(), p.files_done, p.files_total, p.bytes_done, p.bytes_total),
            ("events_user", 1, 4, 100, 400)
        );
        assert!(!p.background);
        drop(tracker);
        assert!(registry.snapshot().is_empty());
    }
}
