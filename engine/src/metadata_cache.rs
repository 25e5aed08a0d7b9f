//! The file-metadata cache: Parquet footers (with their page indexes) kept in
//! memory within a byte bound and persisted in the catalog database, so that
//! neither a repeated query nor a new process re-reads the footers of files
//! that did not change.
//!
//! [`MetadataCache`] is DataFusion's `FileMetadataCache` for the engine's
//! runtime: every Parquet footer DataFusion reads (for statistics while
//! planning, and for the scan) goes through it. A lookup that misses memory
//! falls back to the catalog's `file_metadata` table (one indexed read; the
//! decoded entry then lives in memory). Entries carry the size and
//! modification time (nanoseconds, as the store reports it) the footer was
//! read at, and DataFusion uses an entry only if both equal the file's
//! current listing, so a changed file's footer is read again and its new
//! entry replaces the old one in memory and in the catalog.
//!
//! Writes to the catalog never hold up a query: new footers are handed to a
//! background thread that encodes them (`ParquetMetaDataWriter`: the footer
//! and page indexes, as they are in a file) and writes them in batches, each
//! one short transaction, evicting the least recently used rows beyond
//! `tarn.cache.metadata_persist_limit`. Persisted bytes are framed with a
//! version and a checksum; a row that does not check or decode is ignored
//! (the footer is read from the file) and deleted.
//!
//! Two rules keep it from ever serving a stale footer beyond what the file's
//! listing can tell: metadata of files modified less than
//! [`RECENT_CHANGE_WINDOW`] ago is not cached (a rewrite within one timestamp
//! tick and of equal size would look unchanged), and entries are validated by
//! DataFusion against size and modification time on every use.

use std::collections::HashSet;
use std::hash::Hasher;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use datafusion::catalog::Session;
use datafusion::common::HashMap;
use datafusion::common::TableReference;
use datafusion::datasource::physical_plan::parquet::metadata::CachedParquetMetaData;
use datafusion::execution::cache::cache_manager::CachedFileMetadataEntry;
use datafusion::execution::cache::{Cache, CacheEntryInfo};
use datafusion::parquet::file::metadata::{
    PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader, ParquetMetaDataWriter,
};
use hashlink::LinkedHashMap;
use object_store::ObjectMeta;
use object_store::path::Path;
use parking_lot::Mutex;
use tarn_catalog::{Catalog, FileMetadataWrite, StoredFileMetadata};

use crate::settings::{CacheOptions, TarnSettings};

/// Files modified more recently than this are not cached: within one tick of
/// a coarse timestamp (a second on S3), a rewrite of equal size would look
/// unchanged.
pub const RECENT_CHANGE_WINDOW: Duration = Duration::from_secs(2);

/// The `kind` of persisted Parquet metadata rows.
const KIND_PARQUET: &str = "parquet";
/// Version of the framing of persisted bytes: `TMD1`, an 8-byte checksum of
/// the payload, then the payload as `ParquetMetaDataWriter` writes it.
const FORMAT_VERSION: i64 = 1;
const MAGIC: &[u8; 4] = b"TMD1";
/// Most entries the background writer puts in one transaction.
const WRITE_BATCH: usize = 256;
/// How long dropping the engine waits for pending writes.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(15);

/// Counters and sizes of the metadata cache
/// ([`Engine::metadata_cache_status`](crate::Engine::metadata_cache_status)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataCacheStatus {
    /// `tarn.cache.metadata`: whether footers are cached at all.
    pub enabled: bool,
    /// Entries held in memory.
    pub memory_entries: usize,
    /// Bytes the entries in memory hold (decoded).
    pub memory_bytes: usize,
    /// `tarn.cache.metadata_memory_limit` as last applied.
    pub memory_limit: usize,
    /// Lookups answered from memory.
    pub memory_hits: u64,
    /// Lookups memory could not answer.
    pub memory_misses: u64,
    /// Entries evicted from memory to stay within its limit.
    pub memory_evictions: u64,
    /// Entries replaced because their file changed (its footer was read again).
    pub invalidations: u64,
    /// `tarn.cache.metadata_persist`: whether footers are kept in the catalog.
    /// False also when the catalog lives in memory.
    pub persist: bool,
    /// Rows of persisted metadata in the catalog (all processes' writes).
    pub persisted_entries: u64,
    /// Bytes of encoded metadata in those rows.
    pub persisted_bytes: u64,
    /// `tarn.cache.metadata_persist_limit` as last applied.
    pub persist_limit: u64,
    /// Memory misses answered from the catalog.
    pub persisted_hits: u64,
    /// Memory misses the catalog had no entry for.
    pub persisted_misses: u64,
    /// Entries written to the catalog.
    pub persisted_stores: u64,
    /// Rows evicted from the catalog to stay within its limit.
    pub persisted_evictions: u64,
    /// Rows found corrupt or in an unknown format (ignored and deleted).
    pub persisted_rejected: u64,
    /// Entries waiting for the background writer.
    pub pending_writes: u64,
    /// Batches the background writer could not write (the catalog is left
    /// as it was; the footers are simply read again next time).
    pub write_errors: u64,
}

struct Slot {
    entry: CachedFileMetadataEntry,
    bytes: usize,
    hits: usize,
    /// Loaded from the catalog in this process and not yet marked as used there.
    untouched_on_disk: bool,
    /// The catalog has (or the writer was given) this entry's footer.
    on_disk: bool,
}

#[derive(Default)]
struct Memory {
    slots: LinkedHashMap<Path, Slot>,
    bytes: usize,
}

enum Job {
    Put { meta: ObjectMeta, metadata: Arc<ParquetMetaData> },
    Touch(String),
    Remove(String),
    Flush(Sender<()>),
}

/// The engine's file-metadata cache (see the module documentation).
pub struct MetadataCache {
    memory: Mutex<Memory>,
    enabled: AtomicBool,
    persist: AtomicBool,
    memory_limit: AtomicUsize,
    /// The tarn settings last applied, so a change made through
    /// `datafusion.runtime.metadata_cache_limit` is not undone by
    /// re-applying an unchanged tarn setting.
    applied: Mutex<Option<(bool, bool, usize, u64)>>,
    /// The catalog file; a second connection is opened on first use, so
    /// lookups and background writes never wait for the engine's own.
    catalog_path: Option<PathBuf>,
    catalog: OnceLock<Option<Arc<Catalog>>>,
    writer: Mutex<Option<Writer>>,
    stats: Arc<Stats>,
    /// Rows read ahead from the catalog for scans being planned, by path.
    preloaded: Mutex<std::collections::HashMap<String, StoredFileMetadata>>,
    /// Prefixes read ahead completely by a scan being planned: a miss under
    /// one needs no lookup (the catalog has no row for it).
    complete: Mutex<Vec<String>>,
    /// Prefixes read ahead in this process (each is read ahead once).
    preloaded_prefixes: Mutex<HashSet<String>>,
}

/// Keeps the rows a scan read ahead until its planning is done
/// ([`MetadataCache::preload_table`]); dropping it forgets those not used.
pub(crate) struct PreloadGuard {
    cache: Arc<MetadataCache>,
    prefix: String,
    paths: Vec<String>,
}

impl Drop for PreloadGuard {
    fn drop(&mut self) {
        {
            let mut preloaded = self.cache.preloaded.lock();
            for path in &self.paths {
                preloaded.remove(path);
            }
        }
        let mut complete = self.cache.complete.lock();
        if let Some(i) = complete.iter().position(|p| *p == self.prefix) {
            complete.swap_remove(i);
        }
    }
}

#[derive(Default)]
struct Stats {
    /// `tarn.cache.metadata_persist_limit` (read by the writer thread too).
    persist_limit: AtomicU64,
    memory_hits: AtomicU64,
    memory_misses: AtomicU64,
    memory_evictions: AtomicU64,
    invalidations: AtomicU64,
    persisted_hits: AtomicU64,
    persisted_misses: AtomicU64,
    persisted_stores: AtomicU64,
    persisted_evictions: AtomicU64,
    persisted_rejected: AtomicU64,
    pending_writes: AtomicU64,
    write_errors: AtomicU64,
}

struct Writer {
    sender: Sender<Job>,
    thread: std::thread::JoinHandle<()>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataCache").field("catalog", &self.catalog_path).finish_non_exhaustive()
    }
}

impl MetadataCache {
    /// A cache with `options`, persisting into the catalog file at
    /// `catalog_path` (`None`: an in-memory catalog, nothing is persisted).
    pub(crate) fn new(options: &CacheOptions, catalog_path: Option<PathBuf>) -> MetadataCache {
        let cache = MetadataCache {
            memory: Mutex::new(Memory::default()),
            enabled: AtomicBool::new(options.metadata),
            persist: AtomicBool::new(options.metadata_persist),
            memory_limit: AtomicUsize::new(options.metadata_memory_limit),
            applied: Mutex::new(None),
            catalog_path,
            catalog: OnceLock::new(),
            writer: Mutex::new(None),
            stats: Arc::new(Stats {
                persist_limit: AtomicU64::new(options.metadata_persist_limit),
                ..Stats::default()
            }),
            preloaded: Mutex::new(std::collections::HashMap::new()),
            complete: Mutex::new(Vec::new()),
            preloaded_prefixes: Mutex::new(HashSet::new()),
        };
        cache.apply(options);
        cache
    }

    /// Apply the `tarn.cache.metadata*` settings in force in `session`
    /// (called before every statement and every scan of a lake table, so
    /// `SET` takes effect at once).
    pub(crate) fn apply_settings(session: &dyn Session) {
        if let Some(cache) = session.config().get_extension::<MetadataCache>() {
            let options = session
                .config_options()
                .extensions
                .get::<TarnSettings>()
                .map(|s| s.0.cache.clone())
                .unwrap_or_default();
            cache.apply(&options);
        }
    }

    pub(crate) fn apply(&self, options: &CacheOptions) {
        let wanted =
            (options.metadata, options.metadata_persist, options.metadata_memory_limit, options.metadata_persist_limit);
        let mut applied = self.applied.lock();
        if *applied == Some(wanted) {
            return;
        }
        *applied = Some(wanted);
        drop(applied);
        self.enabled.store(options.metadata, Ordering::Relaxed);
        self.persist.store(options.metadata_persist, Ordering::Relaxed);
        self.stats.persist_limit.store(options.metadata_persist_limit, Ordering::Relaxed);
        self.update_cache_limit(options.metadata_memory_limit);
        if !options.metadata {
            self.clear();
        }
    }

    /// Before a Parquet table's scan is planned (which reads every file's
    /// footer for statistics): read the persisted footers under the table's
    /// locations in one range read per location, instead of one lookup per
    /// file. Once per location and process; the rows not used are dropped
    /// with the guards.
    pub(crate) fn preload_table(
        session: &dyn Session,
        format: tarn_catalog::FileFormat,
        urls: &[datafusion::datasource::listing::ListingTableUrl],
    ) -> Vec<PreloadGuard> {
        let Some(cache) = session.config().get_extension::<MetadataCache>() else { return Vec::new() };
        if format != tarn_catalog::FileFormat::Parquet || !cache.persisting() {
            return Vec::new();
        }
        urls.iter()
            .filter_map(|url| {
                let prefix = url.prefix().to_string();
                let prefix = if url.is_collection() && !prefix.is_empty() && !prefix.ends_with('/') {
                    format!("{prefix}/")
                } else {
                    prefix
                };
                cache.preload(prefix)
            })
            .collect()
    }

    fn preload(self: &Arc<Self>, prefix: String) -> Option<PreloadGuard> {
        if !self.preloaded_prefixes.lock().insert(prefix.clone()) {
            return None;
        }
        let catalog = self.catalog()?;
        let budget = self.memory_limit.load(Ordering::Relaxed) as u64;
        let (rows, complete) = match catalog.file_metadata_under(&prefix, budget) {
            Ok(found) => found,
            Err(e) => {
                log::warn!("metadata cache: cannot read the persisted footers under '{prefix}': {e}");
                return None;
            }
        };
        let paths: Vec<String> = rows.iter().map(|r| r.path.clone()).collect();
        {
            let mut preloaded = self.preloaded.lock();
            for row in rows {
                preloaded.insert(row.path.clone(), row);
            }
        }
        if complete {
            self.complete.lock().push(prefix.clone());
        }
        Some(PreloadGuard { cache: self.clone(), prefix, paths })
    }

    fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    fn persisting(&self) -> bool {
        self.enabled() && self.persist.load(Ordering::Relaxed) && self.catalog_path.is_some()
    }

    /// The second catalog connection (opened on first use; `None` for an
    /// in-memory catalog or when it cannot be opened).
    fn catalog(&self) -> Option<&Arc<Catalog>> {
        self.catalog
            .get_or_init(|| {
                let path = self.catalog_path.as_ref()?;
                match Catalog::open(path) {
                    Ok(catalog) => Some(Arc::new(catalog)),
                    Err(e) => {
                        log::warn!("metadata cache: cannot open '{}': {e}; footers are not persisted", path.display());
                        None
                    }
                }
            })
            .as_ref()
    }

    fn send(&self, job: Job) {
        let Some(catalog) = self.catalog().cloned() else { return };
        let mut writer = self.writer.lock();
        if writer.is_none() {
            let (sender, receiver) = channel();
            let stats = self.stats.clone();
            let spawned = std::thread::Builder::new()
                .name("tarn-metadata-writer".into())
                .spawn(move || write_loop(&catalog, &receiver, &stats));
            match spawned {
                Ok(thread) => *writer = Some(Writer { sender, thread }),
                Err(e) => {
                    log::warn!("metadata cache: cannot start the writer thread: {e}");
                    return;
                }
            }
        }
        if let Some(w) = writer.as_ref() {
            if matches!(job, Job::Put { .. }) {
                self.stats.pending_writes.fetch_add(1, Ordering::Relaxed);
            }
            if w.sender.send(job).is_err() {
                log::warn!("metadata cache: the writer thread has stopped");
            }
        }
    }

    /// Wait (at most [`FLUSH_TIMEOUT`]) until every entry handed to the
    /// background writer is in the catalog.
    pub(crate) fn flush(&self) {
        let writer = self.writer.lock();
        let Some(w) = writer.as_ref() else { return };
        let (ack, done) = channel();
        if w.sender.send(Job::Flush(ack)).is_ok() && done.recv_timeout(FLUSH_TIMEOUT).is_err() {
            log::warn!("metadata cache: pending footers were not written within {FLUSH_TIMEOUT:?}");
        }
    }

    /// Counters and sizes (one short catalog read for the persisted totals).
    pub(crate) fn status(&self) -> MetadataCacheStatus {
        let (memory_entries, memory_bytes) = {
            let memory = self.memory.lock();
            (memory.slots.len(), memory.bytes)
        };
        let persist = self.persisting();
        let usage = if self.catalog_path.is_some() {
            self.catalog().and_then(|c| c.file_metadata_usage().ok()).unwrap_or_default()
        } else {
            Default::default()
        };
        let s = &self.stats;
        let get = |v: &AtomicU64| v.load(Ordering::Relaxed);
        MetadataCacheStatus {
            enabled: self.enabled(),
            memory_entries,
            memory_bytes,
            memory_limit: self.memory_limit.load(Ordering::Relaxed),
            memory_hits: get(&s.memory_hits),
            memory_misses: get(&s.memory_misses),
            memory_evictions: get(&s.memory_evictions),
            invalidations: get(&s.invalidations),
            persist,
            persisted_entries: usage.entries,
            persisted_bytes: usage.bytes,
            persist_limit: get(&s.persist_limit),
            persisted_hits: get(&s.persisted_hits),
            persisted_misses: get(&s.persisted_misses),
            persisted_stores: get(&s.persisted_stores),
            persisted_evictions: get(&s.persisted_evictions),
            persisted_rejected: get(&s.persisted_rejected),
            pending_writes: get(&s.pending_writes),
            write_errors: get(&s.write_errors),
        }
    }

    /// Drop the persisted entries too (after the pending writes).
    pub(crate) fn clear_persisted(&self) {
        self.flush();
        if let Some(catalog) = self.catalog()
            && let Err(e) = catalog.clear_file_metadata()
        {
            log::warn!("metadata cache: cannot clear the persisted footers: {e}");
        }
    }

    /// Forget the persisted metadata of files under `prefix` that are not in
    /// `keep` (the files a refreshed table no longer has).
    pub(crate) fn forget_removed(&self, prefix: &str, keep: &[String]) {
        if self.catalog_path.is_none() {
            return;
        }
        self.flush();
        if let Some(catalog) = self.catalog()
            && let Err(e) = catalog.remove_file_metadata_under(prefix, keep)
        {
            log::warn!("metadata cache: cannot forget removed files under '{prefix}': {e}");
        }
    }

    /// Insert into memory, evicting least recently used entries beyond the
    /// limit; returns the entry it replaced.
    fn insert_memory(
        &self,
        key: &Path,
        entry: CachedFileMetadataEntry,
        untouched_on_disk: bool,
        on_disk: bool,
    ) -> Option<Slot> {
        let bytes = entry.file_metadata.memory_size() + key.as_ref().len();
        let limit = self.memory_limit.load(Ordering::Relaxed);
        let mut memory = self.memory.lock();
        let old = memory.slots.remove(key);
        if let Some(old) = &old {
            memory.bytes -= old.bytes;
        }
        if bytes <= limit {
            memory.slots.insert(key.clone(), Slot { entry, bytes, hits: 0, untouched_on_disk, on_disk });
            memory.bytes += bytes;
        }
        self.evict_to(&mut memory, limit);
        old
    }

    fn evict_to(&self, memory: &mut Memory, limit: usize) {
        while memory.bytes > limit {
            let Some((_, slot)) = memory.slots.pop_front() else { break };
            memory.bytes -= slot.bytes;
            self.stats.memory_evictions.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Look `key` up among the rows read ahead, else in the catalog; decode
    /// and validate the framing.
    fn load_persisted(&self, key: &Path) -> Option<CachedFileMetadataEntry> {
        let preloaded = self.preloaded.lock().remove(key.as_ref());
        let found = match preloaded {
            Some(row) => Ok(Some(row)),
            None if self.complete.lock().iter().any(|p| key.as_ref().starts_with(p.as_str())) => Ok(None),
            None => match self.catalog() {
                Some(catalog) => catalog.file_metadata(key.as_ref()),
                None => Ok(None),
            },
        };
        let row = match found {
            Ok(Some(row)) => row,
            Ok(None) => {
                self.stats.persisted_misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Err(e) => {
                log::warn!("metadata cache: cannot read the persisted footer of '{key}': {e}");
                self.stats.persisted_misses.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        };
        match decode_row(&row) {
            Ok(entry) => {
                self.stats.persisted_hits.fetch_add(1, Ordering::Relaxed);
                Some(entry)
            }
            Err(reason) => {
                log::warn!("metadata cache: ignoring the persisted footer of '{key}': {reason}");
                self.stats.persisted_rejected.fetch_add(1, Ordering::Relaxed);
                self.send(Job::Remove(key.as_ref().to_string()));
                None
            }
        }
    }
}

impl Drop for MetadataCache {
    fn drop(&mut self) {
        if let Some(writer) = self.writer.get_mut().take() {
            drop(writer.sender);
            if writer.thread.join().is_err() {
                log::warn!("metadata cache: the writer thread failed");
            }
        }
    }
}

/// Whether `meta`'s file changed too recently to trust its timestamp.
fn recently_modified(meta: &ObjectMeta) -> bool {
    let modified = SystemTime::from(meta.last_modified);
    SystemTime::now().duration_since(modified).map_or(true, |age| age < RECENT_CHANGE_WINDOW)
}

fn to_nanos(meta: &ObjectMeta) -> Option<i64> {
    meta.last_modified.timestamp_nanos_opt()
}

/// A time from nanoseconds since the Unix epoch.
pub(crate) fn from_nanos(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn checksum(payload: &[u8]) -> u64 {
    // SipHash with fixed keys: detects corruption; a Rust release that
    // changed it would only make old rows be read again from the files.
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(payload);
    hasher.finish()
}

/// Frame and encode `metadata` (footer and page indexes).
pub(crate) fn encode(metadata: &ParquetMetaData) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    ParquetMetaDataWriter::new(&mut payload, metadata).finish().map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(payload.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&checksum(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Check the framing of persisted bytes and decode them.
pub(crate) fn decode(data: &[u8]) -> Result<ParquetMetaData, String> {
    let (magic, rest) = data.split_at_checked(4).ok_or("too short")?;
    if magic != MAGIC {
        return Err("unknown framing".into());
    }
    let (sum, payload) = rest.split_at_checked(8).ok_or("too short")?;
    let sum: [u8; 8] = sum.try_into().map_err(|_| "too short")?;
    if u64::from_le_bytes(sum) != checksum(payload) {
        return Err("checksum mismatch".into());
    }
    let bytes = Bytes::copy_from_slice(payload);
    // The framing checked, so the bytes are what this code wrote; still, a
    // decoder panic must not take the query down.
    std::panic::catch_unwind(move || {
        ParquetMetaDataReader::new().with_page_index_policy(PageIndexPolicy::Optional).parse_and_finish(&bytes)
    })
    .map_err(|_| "the decoder failed".to_string())?
    .map_err(|e| e.to_string())
}

fn decode_row(row: &StoredFileMetadata) -> Result<CachedFileMetadataEntry, String> {
    if row.kind != KIND_PARQUET || row.format_version != FORMAT_VERSION {
        return Err(format!("unknown format {} version {}", row.kind, row.format_version));
    }
    let metadata = decode(&row.data)?;
    let meta = ObjectMeta {
        location: Path::from(row.path.as_str()),
        last_modified: from_nanos(row.last_modified_ns.ok_or("no modification time")?).into(),
        size: row.size,
        e_tag: row.etag.clone(),
        version: None,
    };
    Ok(CachedFileMetadataEntry::new(meta, Arc::new(CachedParquetMetaData::new(Arc::new(metadata)))))
}

/// The Parquet metadata inside a cache entry (either of DataFusion's wrappers).
fn parquet_metadata(entry: &CachedFileMetadataEntry) -> Option<Arc<ParquetMetaData>> {
    let any = entry.file_metadata.as_any();
    any.downcast_ref::<CachedParquetMetaData>().map(|c| c.parquet_metadata().clone()).or_else(|| {
        any.downcast_ref::<datafusion::datasource::physical_plan::parquet::CachedParquetMetaData>()
            .map(|c| c.parquet_metadata().clone())
    })
}

fn metadata_has_page_index(metadata: &ParquetMetaData) -> bool {
    metadata.column_index().is_some() && metadata.offset_index().is_some()
}

fn has_page_index(entry: &CachedFileMetadataEntry) -> bool {
    parquet_metadata(entry).is_some_and(|m| metadata_has_page_index(&m))
}

/// The background writer: batches jobs into short transactions until the
/// cache is dropped.
fn write_loop(catalog: &Catalog, receiver: &Receiver<Job>, stats: &Stats) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < WRITE_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut put = Vec::new();
        let mut touch = Vec::new();
        let mut remove = Vec::new();
        let mut acks = Vec::new();
        let mut seen = HashSet::new();
        // Newest first, so a path put twice keeps its latest footer.
        for job in jobs.into_iter().rev() {
            match job {
                Job::Put { meta, metadata } => {
                    stats.pending_writes.fetch_sub(1, Ordering::Relaxed);
                    if !seen.insert(meta.location.to_string()) {
                        continue;
                    }
                    match encode(&metadata) {
                        Ok(data) => put.push(StoredFileMetadata {
                            path: meta.location.to_string(),
                            size: meta.size,
                            last_modified_ns: to_nanos(&meta),
                            etag: meta.e_tag.clone(),
                            kind: KIND_PARQUET.to_string(),
                            format_version: FORMAT_VERSION,
                            data,
                        }),
                        Err(e) => log::warn!("metadata cache: cannot encode the footer of '{}': {e}", meta.location),
                    }
                }
                Job::Touch(path) => touch.push(path),
                Job::Remove(path) => {
                    if seen.insert(path.clone()) {
                        remove.push(path);
                    }
                }
                Job::Flush(ack) => acks.push(ack),
            }
        }
        if !(put.is_empty() && touch.is_empty() && remove.is_empty()) {
            let byte_limit = stats.persist_limit.load(Ordering::Relaxed);
            let write = FileMetadataWrite { put: &put, touch: &touch, remove: &remove, byte_limit };
            match catalog.write_file_metadata(write) {
                Ok(outcome) => {
                    stats.persisted_stores.fetch_add(outcome.written, Ordering::Relaxed);
                    stats.persisted_evictions.fetch_add(outcome.evicted, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.write_errors.fetch_add(1, Ordering::Relaxed);
                    log::warn!("metadata cache: cannot persist {} footers: {e}", put.len());
                }
            }
        }
        for ack in acks {
            let _ = ack.send(());
        }
    }
}

impl Cache<Path, CachedFileMetadataEntry> for MetadataCache {
    fn get(&self, key: &Path) -> Option<CachedFileMetadataEntry> {
        if !self.enabled() {
            return None;
        }
        let mut touch = None;
        {
            let mut memory = self.memory.lock();
            if let Some(slot) = memory.slots.to_back(key) {
                slot.hits += 1;
                if std::mem::take(&mut slot.untouched_on_disk) {
                    touch = Some(key.as_ref().to_string());
                }
                let entry = slot.entry.clone();
                drop(memory);
                self.stats.memory_hits.fetch_add(1, Ordering::Relaxed);
                if let Some(path) = touch
                    && self.persisting()
                {
                    self.send(Job::Touch(path));
                }
                return Some(entry);
            }
        }
        self.stats.memory_misses.fetch_add(1, Ordering::Relaxed);
        if !self.persisting() {
            return None;
        }
        let entry = self.load_persisted(key)?;
        self.insert_memory(key, entry.clone(), true, true);
        Some(entry)
    }

    fn put(&self, key: &Path, value: CachedFileMetadataEntry) -> Option<CachedFileMetadataEntry> {
        if !self.enabled() || recently_modified(&value.meta) {
            return None;
        }
        let metadata = self.persisting().then(|| parquet_metadata(&value)).flatten();
        let meta = value.meta.clone();
        let same_file = |o: &Slot| o.entry.meta.size == meta.size && o.entry.meta.last_modified == meta.last_modified;
        // DataFusion puts an entry again after trying to add a page index to
        // it (files without one get none): persist only what is new.
        let already_on_disk = {
            let memory = self.memory.lock();
            memory.slots.get(key).is_some_and(|o| {
                same_file(o)
                    && o.on_disk
                    && (has_page_index(&o.entry) || !metadata.as_deref().is_some_and(metadata_has_page_index))
            })
        };
        let persist = metadata.filter(|_| !already_on_disk);
        let on_disk = already_on_disk || persist.is_some();
        let old = self.insert_memory(key, value, false, on_disk);
        if old.as_ref().is_some_and(|o| !same_file(o)) {
            self.stats.invalidations.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(metadata) = persist {
            self.send(Job::Put { meta, metadata });
        }
        old.map(|o| o.entry)
    }

    fn remove(&self, k: &Path) -> Option<CachedFileMetadataEntry> {
        let mut memory = self.memory.lock();
        let slot = memory.slots.remove(k)?;
        memory.bytes -= slot.bytes;
        Some(slot.entry)
    }

    fn contains_key(&self, k: &Path) -> bool {
        self.memory.lock().slots.contains_key(k)
    }

    fn len(&self) -> usize {
        self.memory.lock().slots.len()
    }

    fn clear(&self) {
        let mut memory = self.memory.lock();
        memory.slots.clear();
        memory.bytes = 0;
    }

    fn name(&self) -> String {
        "TarnMetadataCache".to_string()
    }

    fn cache_limit(&self) -> usize {
        self.memory_limit.load(Ordering::Relaxed)
    }

    fn update_cache_limit(&self, limit: usize) {
        self.memory_limit.store(limit, Ordering::Relaxed);
        let mut memory = self.memory.lock();
        self.evict_to(&mut memory, limit);
    }

    fn cache_ttl(&self) -> Option<Duration> {
        None
    }

    fn update_cache_ttl(&self, _ttl: Option<Duration>) {}

    fn drop_table_entries(&self, _table_ref: &TableReference) -> datafusion::common::Result<()> {
        // Entries are keyed by file, not by table.
        Ok(())
    }

    fn list_entries(&self) -> HashMap<Path, CacheEntryInfo<CachedFileMetadataEntry>> {
        let memory = self.memory.lock();
        memory
            .slots
            .iter()
            .map(|(k, slot)| {
                let info = CacheEntryInfo {
                    value: slot.entry.clone(),
                    size_bytes: slot.bytes,
                    hits: slot.hits,
                    expires: None,
                };
                (k.clone(), info)
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn garbage_does_not_decode() {
        assert!(decode(b"").is_err());
        assert!(decode(b"TMD1").is_err());
        assert!(decode(b"PAR1garbagegarbagegarbage").is_err());
        let mut framed = MAGIC.to_vec();
        framed.extend_from_slice(&checksum(b"not a footer").to_le_bytes());
        framed.extend_from_slice(b"not a footer");
        assert!(decode(&framed).is_err());
    }

    #[test]
    fn nanosecond_times_round_trip() {
        for ns in [0i64, 1, 1_700_000_000_123_456_789, -5] {
            let meta = ObjectMeta {
                location: Path::from("a"),
                last_modified: from_nanos(ns).into(),
                size: 1,
                e_tag: None,
                version: None,
            };
            assert_eq!(to_nanos(&meta), Some(ns));
        }
    }
}

/// The cache inside engines over a catalog file: what a new process reads.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod engine_tests {
    use std::path::Path as FsPath;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;
    use tarn_catalog::{Catalog, FileMetadataWrite};

    use crate::Engine;

    /// A Parquet file of `rows` values 0..rows, modified `age` ago.
    fn write_parquet(path: &FsPath, rows: i64, age: Duration) {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..rows))]).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = ArrowWriter::try_new(file, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        std::fs::File::options().append(true).open(path).unwrap().set_modified(SystemTime::now() - age).unwrap();
    }

    struct Lake {
        dir: tempfile::TempDir,
        catalog: std::path::PathBuf,
    }

    /// Three files (10, 20 and 30 rows) and a catalog with table `t` over
    /// them. The manifest records no statistics, so queries plan from the
    /// footers (the tier under test) rather than from the manifest
    /// (`manifest_statistics`, tested in tests/tests/api.rs).
    async fn lake() -> Lake {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        for (i, rows) in [10, 20, 30].into_iter().enumerate() {
            write_parquet(&data.join(format!("f{i}.parquet")), rows, Duration::from_secs(60));
        }
        let catalog = dir.path().join("lake.tarn");
        let engine =
            Engine::builder().catalog_path(&catalog).setting("tarn.collect_statistics", "false").build().await.unwrap();
        let sql = format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}/'", data.display());
        engine.sql(&sql).await.unwrap().collect().await.unwrap();
        drop(engine);
        // Start the tests from an empty persisted cache.
        Catalog::open(&catalog).unwrap().clear_file_metadata().unwrap();
        Lake { dir, catalog }
    }

    async fn answer(engine: &Engine, sql: &str) -> String {
        engine.sql(sql).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap()
    }

    const COUNT: &str = "SELECT count(*) AS n FROM t";
    const SUM: &str = "SELECT sum(x) AS s FROM t";

    /// Run `sql` in a new engine over the catalog; the answer and what it read.
    async fn in_new_process(
        lake: &Lake,
        settings: &[(&str, &str)],
        sql: &str,
    ) -> (String, crate::ScanCountersSnapshot) {
        let mut builder = Engine::builder().catalog_path(&lake.catalog);
        for (k, v) in settings {
            builder = builder.setting(*k, *v);
        }
        let engine = builder.build().await.unwrap();
        let before = engine.scan_counters();
        let out = answer(&engine, sql).await;
        let read = engine.scan_counters() - before;
        (out, read)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_process_reads_no_footers_of_unchanged_files() {
        let lake = lake().await;
        // First process: reads the footers and persists them.
        let (first, read_first) = in_new_process(&lake, &[], COUNT).await;
        assert!(first.contains("| 60 |"), "{first}");
        assert!(read_first.requests >= 3, "the footers were read: {read_first:?}");
        let usage = Catalog::open(&lake.catalog).unwrap().file_metadata_usage().unwrap();
        assert_eq!(usage.entries, 3, "the footers were persisted when the engine went");

        // A new process answers count(*) from the persisted footers: nothing read.
        let engine = Engine::open(&lake.catalog).await.unwrap();
        let before = engine.scan_counters();
        assert!(answer(&engine, COUNT).await.contains("| 60 |"));
        assert_eq!((engine.scan_counters() - before).requests, 0);
        let status = engine.metadata_cache_status();
        assert_eq!((status.persisted_hits, status.persisted_rejected), (3, 0), "{status:?}");
        assert_eq!(status.memory_entries, 3, "{status:?}");
        // A scan reads data but no footers: fewer bytes than with persistence off.
        let before = engine.scan_counters();
        assert!(answer(&engine, SUM).await.contains("| 670 |"));
        let with_cache = engine.scan_counters() - before;
        drop(engine);
        let (sum, without_cache) = in_new_process(&lake, &[("tarn.cache.metadata_persist", "false")], SUM).await;
        assert!(sum.contains("| 670 |"), "{sum}");
        assert!(with_cache.requests < without_cache.requests, "{with_cache:?} vs {without_cache:?}");
        assert!(with_cache.bytes_read < without_cache.bytes_read, "{with_cache:?} vs {without_cache:?}");
        // With persistence off nothing was loaded from the catalog.
        let (_, off) = in_new_process(&lake, &[("tarn.cache.metadata_persist", "false")], COUNT).await;
        assert!(off.requests >= 3, "{off:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_changed_file_is_read_again_and_its_entry_replaced() {
        let lake = lake().await;
        in_new_process(&lake, &[], COUNT).await;
        // f1 gets 25 rows instead of 20 (an older timestamp than before, even).
        write_parquet(&lake.dir.path().join("data/f1.parquet"), 25, Duration::from_secs(30));
        let engine = Engine::open(&lake.catalog).await.unwrap();
        let before = engine.scan_counters();
        let out = answer(&engine, COUNT).await;
        assert!(out.contains("| 65 |"), "the answer reflects the change: {out}");
        assert!((engine.scan_counters() - before).requests >= 1, "the changed footer was read");
        assert_eq!(engine.metadata_cache_status().invalidations, 1);
        drop(engine);
        // The next process finds the new footer persisted: nothing read.
        let (out, read) = in_new_process(&lake, &[], COUNT).await;
        assert!(out.contains("| 65 |"), "{out}");
        assert_eq!(read.requests, 0, "{read:?}");
        // A removed file: the answer follows the listing, and REFRESH forgets its footer.
        std::fs::remove_file(lake.dir.path().join("data/f2.parquet")).unwrap();
        let engine = Engine::open(&lake.catalog).await.unwrap();
        assert!(answer(&engine, COUNT).await.contains("| 35 |"));
        engine.sql("REFRESH TABLE t").await.unwrap().collect().await.unwrap();
        assert_eq!(engine.metadata_cache_status().persisted_entries, 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn corrupt_persisted_footers_are_ignored_and_dropped() {
        let lake = lake().await;
        in_new_process(&lake, &[], COUNT).await;
        let catalog = Catalog::open(&lake.catalog).unwrap();
        let mut rows = Vec::new();
        for i in 0..3 {
            let path = format!("{}/data/f{i}.parquet", lake.dir.path().display());
            let path = path.trim_start_matches('/').to_string();
            rows.push(catalog.file_metadata(&path).unwrap().unwrap());
        }
        // Garbage; a real footer with one byte flipped; a well-framed payload that is no footer.
        rows[0].data = b"garbage".to_vec();
        let middle = rows[1].data.len() / 2;
        rows[1].data[middle] ^= 0xff;
        let mut framed = super::MAGIC.to_vec();
        framed.extend_from_slice(&super::checksum(b"PAR1 not a footer").to_le_bytes());
        framed.extend_from_slice(b"PAR1 not a footer");
        rows[2].data = framed;
        catalog
            .write_file_metadata(FileMetadataWrite { put: &rows, byte_limit: 1 << 20, ..Default::default() })
            .unwrap();

        let engine = Engine::open(&lake.catalog).await.unwrap();
        assert!(answer(&engine, COUNT).await.contains("| 60 |"));
        assert!(answer(&engine, SUM).await.contains("| 670 |"));
        let status = engine.metadata_cache_status();
        assert_eq!(status.persisted_rejected, 3, "{status:?}");
        drop(engine);
        // The bad rows were replaced by good ones.
        let (out, read) = in_new_process(&lake, &[], COUNT).await;
        assert!(out.contains("| 60 |"), "{out}");
        assert_eq!(read.requests, 0, "{read:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn settings_switch_tiers_and_bound_memory() {
        let lake = lake().await;
        let engine = Engine::open(&lake.catalog).await.unwrap();
        answer(&engine, COUNT).await;
        let one = engine.metadata_cache_status();
        assert_eq!(one.memory_entries, 3, "{one:?}");
        // A bound that holds one entry: memory stays within it.
        let limit = one.memory_bytes / 3 + 64;
        engine.sql(&format!("SET tarn.cache.metadata_memory_limit = {limit}")).await.unwrap().collect().await.unwrap();
        answer(&engine, SUM).await;
        let bounded = engine.metadata_cache_status();
        assert!(bounded.memory_bytes <= limit, "{bounded:?}");
        assert!(bounded.memory_evictions >= 2, "{bounded:?}");
        assert_eq!(bounded.memory_limit, limit);
        // Off: nothing is kept, every scan reads the footers again.
        engine.sql("SET tarn.cache.metadata_memory_limit = 1000000").await.unwrap().collect().await.unwrap();
        engine.sql("SET tarn.cache.results = false").await.unwrap().collect().await.unwrap();
        engine.sql("SET tarn.cache.subplans = false").await.unwrap().collect().await.unwrap();
        answer(&engine, SUM).await;
        let before = engine.scan_counters();
        answer(&engine, SUM).await;
        let warm = engine.scan_counters() - before;
        engine.sql("SET tarn.cache.metadata = false").await.unwrap().collect().await.unwrap();
        answer(&engine, SUM).await;
        assert_eq!(engine.metadata_cache_status().memory_entries, 0);
        let before = engine.scan_counters();
        answer(&engine, SUM).await;
        let off = engine.scan_counters() - before;
        assert!(off.requests >= warm.requests + 3, "{off:?} vs {warm:?}");
        let table = answer(&engine, "SELECT tier, enabled, \"limit\" FROM tarn.metadata_cache ORDER BY tier").await;
        assert!(table.contains("| memory  | false   | 1000000 "), "{table}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_engines_share_the_persisted_cache() {
        let lake = lake().await;
        let a = Engine::open(&lake.catalog).await.unwrap();
        let b = Engine::open(&lake.catalog).await.unwrap();
        let (x, y) = tokio::join!(answer(&a, SUM), answer(&b, SUM));
        assert_eq!(x, y);
        a.flush_metadata_cache();
        b.flush_metadata_cache();
        for engine in [&a, &b] {
            let status = engine.metadata_cache_status();
            assert_eq!((status.write_errors, status.persisted_entries), (0, 3), "{status:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recently_modified_files_are_not_cached() {
        let lake = lake().await;
        write_parquet(&lake.dir.path().join("data/f0.parquet"), 10, Duration::ZERO);
        let engine = Engine::open(&lake.catalog).await.unwrap();
        answer(&engine, COUNT).await;
        engine.flush_metadata_cache();
        let status = engine.metadata_cache_status();
        assert_eq!((status.memory_entries, status.persisted_entries), (2, 2), "{status:?}");
    }
}
