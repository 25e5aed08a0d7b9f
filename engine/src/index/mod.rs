//! Secondary indexes on lake files: what an index is ([`IndexKind`]), where
//! its data lives ([`IndexRegistry`]: the sidecar directory beside the
//! catalog, and a cache of loaded sidecars keyed by the catalog generation),
//! how it is built (`build.rs`, with progress in `progress.rs`), how it is
//! kept up to date in the background (`maintenance.rs`) and how it decides
//! that a unit of a file cannot hold rows matching a predicate
//! (`predicate.rs`). The statements
//! (`CREATE INDEX`, `DROP INDEX`, `REINDEX`, `SHOW INDEXES`) run in
//! `engine.rs`; the pruning itself is the physical optimizer rule
//! `optimizer::index_pruning::IndexPruningRule`.

pub(crate) mod build;
pub(crate) mod key;
pub(crate) mod maintenance;
pub(crate) mod predicate;
pub(crate) mod progress;
pub(crate) mod sidecar;
pub(crate) mod statements;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tarn_catalog::{Catalog, IndexEntry, IndexedFile};

use crate::error::{Error, Result};
use sidecar::Unit;

/// What an index records for each unit (file, row group or block) of every
/// indexed column. Every kind keeps min/max (zone maps) and null counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Zone maps only: min, max and null count. Prunes ranges (`<`, `BETWEEN`)
    /// and equality on clustered columns.
    MinMax,
    /// Zone maps plus a bloom filter of the values: equality and `IN` on
    /// high-cardinality, unsorted keys (ids). The default.
    Bloom,
    /// Zone maps plus the exact set of distinct values, when a unit has at
    /// most `tarn.index.values_limit` of them: equality and `IN` on
    /// low-cardinality columns (status, country), with no false positives.
    Values,
}

impl IndexKind {
    /// The name used in SQL (`USING minmax|bloom|values`) and the catalog.
    pub fn as_str(&self) -> &'static str {
        match self {
            IndexKind::MinMax => "minmax",
            IndexKind::Bloom => "bloom",
            IndexKind::Values => "values",
        }
    }

    /// Parse a kind name, case-insensitively (`zonemap` is accepted for `minmax`).
    pub fn parse(s: &str) -> Option<IndexKind> {
        match s.to_ascii_lowercase().as_str() {
            "minmax" | "zonemap" => Some(IndexKind::MinMax),
            "bloom" => Some(IndexKind::Bloom),
            "values" => Some(IndexKind::Values),
            _ => None,
        }
    }
}

/// An index as the optimizer uses it: the catalog entry, the identity of
/// every covered file, and the loaded units.
#[derive(Debug)]
pub(crate) struct LoadedIndex {
    pub entry: IndexEntry,
    pub files: HashMap<String, IndexedFile>,
    pub units: Arc<HashMap<String, Vec<Unit>>>,
}

#[derive(Debug, Default)]
struct RegistryCache {
    generation: Option<i64>,
    by_table: HashMap<i64, Arc<Vec<Arc<LoadedIndex>>>>,
    sidecars: HashMap<String, Arc<HashMap<String, Vec<Unit>>>>,
}

/// Where index sidecars live, and the loaded indexes of each table.
///
/// File catalogs keep sidecars in `<catalog file>.indexes/`; in-memory
/// catalogs in a temporary directory that lives as long as the engine.
#[derive(Debug)]
pub(crate) struct IndexRegistry {
    catalog: Arc<Catalog>,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    cache: parking_lot::Mutex<RegistryCache>,
    builds: progress::BuildProgressRegistry,
    maintenance: Arc<maintenance::Maintenance>,
}

impl IndexRegistry {
    pub(crate) fn new(catalog: Arc<Catalog>) -> Result<Self> {
        let (dir, temp) = match catalog.path() {
            Some(path) => {
                let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                name.push(".indexes");
                (path.with_file_name(name), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("tarn-indexes-")
                    .tempdir()
                    .map_err(|e| Error::Io { path: std::env::temp_dir().display().to_string(), source: e })?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        Ok(Self {
            catalog,
            dir,
            _temp: temp,
            cache: Default::default(),
            builds: Default::default(),
            maintenance: Default::default(),
        })
    }

    /// The index builds running now.
    pub(crate) fn builds(&self) -> &progress::BuildProgressRegistry {
        &self.builds
    }

    /// Automatic maintenance of this engine's indexes.
    pub(crate) fn maintenance(&self) -> &Arc<maintenance::Maintenance> {
        &self.maintenance
    }

    /// The directory of sidecar files.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The indexes of a table, loaded (cached until the catalog changes).
    pub(crate) fn indexes_for_table(&self, table_id: i64) -> Result<Arc<Vec<Arc<LoadedIndex>>>> {
        let generation = self.catalog.generation()?;
        let mut cache = self.cache.lock();
        if cache.generation != Some(generation) {
            cache.generation = Some(generation);
            cache.by_table.clear();
        }
        if let Some(found) = cache.by_table.get(&table_id) {
            return Ok(found.clone());
        }
        let mut loaded = Vec::new();
        for entry in self.catalog.indexes_of_table(table_id)? {
            let Some(name) = entry.sidecar.clone() else { continue };
            let units = match cache.sidecars.get(&name) {
                Some(u) => u.clone(),
                None => {
                    let units = Arc::new(self.load_sidecar(&name, entry.def.columns.len())?);
                    cache.sidecars.insert(name.clone(), units.clone());
                    units
                }
            };
            let files = self.catalog.index_files(entry.id)?.into_iter().map(|f| (f.path.clone(), f)).collect();
            loaded.push(Arc::new(LoadedIndex { entry, files, units }));
        }
        let loaded = Arc::new(loaded);
        cache.by_table.insert(table_id, loaded.clone());
        // Forget sidecars no loaded index uses any more (replaced by a rebuild, dropped).
        let in_use: std::collections::HashSet<String> =
            cache.by_table.values().flat_map(|v| v.iter().filter_map(|i| i.entry.sidecar.clone())).collect();
        cache.sidecars.retain(|name, _| in_use.contains(name));
        Ok(loaded)
    }

    /// Read one sidecar of this registry's directory.
    pub(crate) fn load_sidecar(&self, name: &str, columns: usize) -> Result<HashMap<String, Vec<Unit>>> {
        sidecar::read_sidecar(&sidecar::sidecar_path(&self.dir, name), columns)
    }

    /// Delete a sidecar no index references any more (missing is fine).
    pub(crate) fn remove_sidecar(&self, name: &str) {
        let path = sidecar::sidecar_path(&self.dir, name);
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            log::warn!("cannot delete index sidecar '{}': {e}", path.display());
        }
    }

    /// Delete sidecars that no index references (left by dropped tables or by
    /// a process that died between writing a sidecar and committing it).
    /// Only files older than an hour go, so a build of another process that
    /// has written its sidecar but not yet committed is never disturbed.
    pub(crate) fn sweep_orphans(&self) -> Result<usize> {
        let referenced: std::collections::HashSet<String> = self.catalog.index_sidecars()?.into_iter().collect();
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Ok(0) };
        let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let is_sidecar = name.ends_with(".tidx");
            let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < cutoff);
            if is_sidecar && old && !referenced.contains(name.trim_start_matches(".tmp-")) {
                self.remove_sidecar(&name);
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Whether a file as listed now is the file that was indexed: same size, same
/// modification time, and the same etag when both sides have one.
pub(crate) fn same_file(indexed: &IndexedFile, size: u64, last_modified_ms: i64, etag: Option<&str>) -> bool {
    indexed.size == size
        && indexed.last_modified_ms == Some(last_modified_ms)
        && match (indexed.etag.as_deref(), etag) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
}
