//! The result cache: whole query results, and the results of reusable
//! sub-plans (aggregations and joins, see [`subplan`]), kept in memory as
//! Arrow record batches, keyed by [`ResultKey`] (normalized plan + settings +
//! the exact snapshot of the files it reads), bounded in bytes with LRU
//! eviction.
//!
//! It never serves a stale answer: every query lists its tables' files
//! afresh and a changed, added or removed file gives a different key; a
//! result is stored only if a second listing after its last batch still
//! matches the first (so a file changed while the query ran is never
//! stored). Entries of a plan whose files changed are dropped when the
//! change is seen. How it hooks into planning is in [`planner`].

mod disk;
mod exec;
mod key;
mod planner;
mod subplan;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use hashlink::LinkedHashMap;
use parking_lot::Mutex;

use key::SUBPLAN_PREFIX;
pub(crate) use key::{ResultKey, volatile_reason_in};
pub(crate) use planner::{ResultCacheBypass, ResultCachePlanner};

/// What an entry holds: a whole query's result or a sub-plan's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// The result of a whole query.
    Query,
    /// The result of an aggregation or join inside a query.
    SubPlan,
}

impl EntryKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EntryKind::Query => "query",
            EntryKind::SubPlan => "subplan",
        }
    }
}

/// A stored result.
#[derive(Debug)]
pub(crate) struct CachedResult {
    /// Entry number, unique within an engine.
    pub id: u64,
    /// Whole query or sub-plan.
    pub kind: EntryKind,
    /// Schema of the batches.
    pub schema: SchemaRef,
    /// The rows, per output partition of the plan that produced them.
    pub partitions: Vec<Vec<RecordBatch>>,
    /// Rows in `batches`.
    pub rows: u64,
    /// Memory the batches (and key) hold.
    pub bytes: usize,
    /// The key it was stored under.
    pub key: ResultKey,
    /// When it was stored.
    pub created_at: SystemTime,
}

#[derive(Debug)]
struct Slot {
    result: Arc<CachedResult>,
    hits: u64,
    last_hit_at: Option<SystemTime>,
}

/// What the cache did with the last query planned through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Served from entry `entry`; no data was read.
    Hit {
        /// The entry's number (as in `tarn.cache_entries`).
        entry: u64,
    },
    /// Not in the cache; run, and stored unless [`CacheOutcome::NotStored`] follows.
    Miss {
        /// Why there was no entry (first run, evicted, or which file changed).
        reason: String,
    },
    /// Run and stored as entry `entry`.
    Stored {
        /// The new entry's number.
        entry: u64,
        /// Why it had missed.
        reason: String,
    },
    /// Run, but its result was not kept.
    NotStored {
        /// Why not (a file changed while it ran, the result exceeded the memory limit, …).
        reason: String,
    },
    /// A query the cache never serves (volatile functions, non-file tables, …).
    NotCacheable {
        /// What made it so.
        reason: String,
    },
    /// `tarn.cache.results` was off.
    Disabled,
}

impl fmt::Display for CacheOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheOutcome::Hit { entry } => write!(f, "hit: served from cache entry {entry}"),
            CacheOutcome::Miss { reason } => write!(f, "miss: {reason}"),
            CacheOutcome::Stored { entry, reason } => write!(f, "miss ({reason}); result stored as entry {entry}"),
            CacheOutcome::NotStored { reason } => write!(f, "miss; result not stored: {reason}"),
            CacheOutcome::NotCacheable { reason } => write!(f, "not cacheable: {reason}"),
            CacheOutcome::Disabled => write!(f, "not cached: tarn.cache.results is off"),
        }
    }
}

/// Counters and state of an engine's result cache
/// ([`Engine::cache_status`](crate::Engine::cache_status)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCacheStatus {
    /// Whether `tarn.cache.results` is on in the engine's session.
    pub enabled: bool,
    /// Entries held.
    pub entries: usize,
    /// Bytes the entries hold.
    pub bytes: usize,
    /// `tarn.cache.result_memory_limit` as last applied.
    pub memory_limit: usize,
    /// Queries served from the cache.
    pub hits: u64,
    /// Cacheable queries that had to run.
    pub misses: u64,
    /// Results stored.
    pub stores: u64,
    /// Entries evicted to stay within the memory limit.
    pub evictions: u64,
    /// Entries dropped because a file they read changed.
    pub invalidations: u64,
    /// Results not stored because a file changed while the query ran.
    pub stale_rejections: u64,
    /// Sub-plans (aggregations, joins) served from the cache.
    pub subplan_hits: u64,
    /// Cacheable sub-plans that had to run.
    pub subplan_misses: u64,
    /// Sub-plan results stored.
    pub subplan_stores: u64,
    /// Entries loaded from the on-disk tier (`tarn.cache.disk`) on a
    /// memory miss (counted in `hits` or `subplan_hits` too).
    pub disk_hits: u64,
    /// Entry files in the on-disk tier.
    pub disk_entries: u64,
    /// Bytes of the entry files in the on-disk tier.
    pub disk_bytes: u64,
    /// Sub-plan results not stored because they grew past
    /// `tarn.cache.subplan_max_bytes` (the sub-plan is then not recorded
    /// again until its files change).
    pub subplan_abandoned: u64,
    /// What happened to the last query planned (`None` before the first).
    pub last_outcome: Option<CacheOutcome>,
}

/// One entry, as `tarn.cache_entries` lists it.
#[derive(Debug, Clone)]
pub(crate) struct EntryInfo {
    pub id: u64,
    pub kind: EntryKind,
    pub tables: Vec<String>,
    pub files: usize,
    pub rows: u64,
    pub bytes: usize,
    pub hits: u64,
    pub created_at: SystemTime,
    pub last_hit_at: Option<SystemTime>,
    pub plan: String,
}

#[derive(Debug, Default)]
struct State {
    /// Key text → entry; front = least recently used.
    entries: LinkedHashMap<String, Slot>,
    bytes: usize,
    limit: usize,
    next_id: u64,
    hits: u64,
    misses: u64,
    stores: u64,
    evictions: u64,
    invalidations: u64,
    stale_rejections: u64,
    subplan_hits: u64,
    subplan_misses: u64,
    subplan_stores: u64,
    subplan_abandoned: u64,
    disk_hits: u64,
    /// `tarn.cache.disk_limit` when `tarn.cache.disk` is on.
    disk_limit: Option<u64>,
    /// Key texts of sub-plans whose result outgrew the per-entry bound;
    /// front = oldest.
    abandoned: LinkedHashMap<String, ()>,
    last_outcome: Option<CacheOutcome>,
}

/// How many abandoned sub-plan keys are remembered.
const ABANDONED_KEYS: usize = 1024;

/// An engine's result cache (shared by its clones).
#[derive(Debug)]
pub(crate) struct ResultCache {
    state: Mutex<State>,
    disk: disk::DiskTier,
}

/// Memory a recorded batch holds. Operators often emit slices of one large
/// batch (an aggregation's output, cut into `batch_size` rows);
/// `get_array_memory_size` would count the whole shared buffer once per
/// slice, so each slice counts only the bytes it spans. An entry keeps every
/// slice of its batches, so the sum is what the entry holds.
pub(crate) fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|column| column.to_data().get_slice_memory_size().unwrap_or_else(|_| column.get_array_memory_size()))
        .sum()
}

/// The text a key is stored under: plan, then every file stamp.
fn key_text(key: &ResultKey) -> String {
    let mut text = key.plan.clone();
    for scan in &key.scans {
        text.push_str(&format!("scan {}\n", scan.table));
        for file in &scan.files {
            text.push_str(&format!("{}\t{}\t{}\t{}\n", file.path, file.size, file.last_modified_ns, {
                file.etag.as_deref().unwrap_or("")
            }));
        }
    }
    text
}

impl ResultCache {
    /// A cache bounded to `limit` bytes in memory, whose on-disk tier (when
    /// switched on) lives beside the catalog file `catalog` (none for an
    /// in-memory catalog).
    pub(crate) fn new(limit: usize, catalog: Option<&std::path::Path>) -> Self {
        Self { state: Mutex::new(State { limit, next_id: 1, ..State::default() }), disk: disk::DiskTier::new(catalog) }
    }

    /// Apply the memory limit in force, evicting as needed, and the on-disk
    /// tier's bound (`None`: the tier is off).
    pub(crate) fn configure(&self, limit: usize, disk_limit: Option<u64>) {
        let mut state = self.state.lock();
        state.limit = limit;
        state.disk_limit = disk_limit;
        state.evict_to(limit);
    }

    /// Look `key` up for a query (or sub-plan) about to run: a hit counts
    /// and returns the entry; a miss drops the entries of the same plan over
    /// other files (they can never be served again) and, for a whole query,
    /// records why it missed.
    pub(crate) fn lookup(&self, key: &ResultKey, kind: EntryKind) -> Option<Arc<CachedResult>> {
        let text = key_text(key);
        let disk_limit = {
            let mut state = self.state.lock();
            if let Some(result) = state.hit(&text, kind) {
                return Some(result);
            }
            state.disk_limit
        };
        if disk_limit.is_some()
            && let Some(entry) = self.disk.load(&key.plan, &text)
            && entry.kind == kind
        {
            let bytes = entry.bytes + 2 * text.len();
            let mut state = self.state.lock();
            if bytes <= state.limit {
                state.insert(text.clone(), kind, key.clone(), entry.schema, entry.partitions, bytes);
                state.disk_hits += 1;
                if let Some(result) = state.hit(&text, kind) {
                    return Some(result);
                }
            }
        }
        let mut state = self.state.lock();
        let mut reason = None;
        let stale: Vec<String> = state
            .entries
            .iter()
            .filter(|(_, slot)| slot.result.key.plan == key.plan)
            .map(|(k, slot)| {
                if reason.is_none() {
                    reason = key::describe_change(&slot.result.key.scans, &key.scans);
                }
                k.clone()
            })
            .collect();
        for k in stale {
            if let Some(slot) = state.entries.remove(&k) {
                state.bytes = state.bytes.saturating_sub(slot.result.bytes);
                state.invalidations += 1;
            }
        }
        match kind {
            EntryKind::Query => {
                state.misses += 1;
                let reason = reason.unwrap_or_else(|| "no entry for this plan (first run, or evicted)".into());
                state.last_outcome = Some(CacheOutcome::Miss { reason });
            }
            EntryKind::SubPlan => state.subplan_misses += 1,
        }
        None
    }

    /// Whether the sub-plan `key` outgrew the per-entry bound before (over
    /// the same files), so recording it again would be wasted.
    pub(crate) fn is_abandoned(&self, key: &ResultKey) -> bool {
        self.state.lock().abandoned.contains_key(&key_text(key))
    }

    /// Remember that the sub-plan `key` outgrew the per-entry bound.
    pub(crate) fn abandon(&self, key: &ResultKey) {
        let mut state = self.state.lock();
        state.subplan_abandoned += 1;
        state.abandoned.replace(key_text(key), ());
        while state.abandoned.len() > ABANDONED_KEYS {
            state.abandoned.pop_front();
        }
    }

    /// The entry for `key`, without counting a hit (for EXPLAIN).
    pub(crate) fn peek(&self, key: &ResultKey) -> Option<Arc<CachedResult>> {
        self.state.lock().entries.get(&key_text(key)).map(|slot| slot.result.clone())
    }

    /// Store the result of a query or sub-plan that missed.
    pub(crate) fn store(
        &self,
        kind: EntryKind,
        key: ResultKey,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
        batch_bytes: usize,
    ) {
        let text = key_text(&key);
        let bytes = batch_bytes + 2 * text.len();
        let mut state = self.state.lock();
        let reason = match &state.last_outcome {
            Some(CacheOutcome::Miss { reason }) => reason.clone(),
            _ => "no entry for this plan".into(),
        };
        if bytes > state.limit {
            match kind {
                EntryKind::Query => {
                    state.last_outcome = Some(CacheOutcome::NotStored {
                        reason: format!(
                            "the result takes {bytes} bytes, more than tarn.cache.result_memory_limit ({})",
                            state.limit
                        ),
                    })
                }
                EntryKind::SubPlan => {
                    state.subplan_abandoned += 1;
                    state.abandoned.replace(text, ());
                }
            }
            return;
        }
        let disk_limit = state.disk_limit;
        let written = disk_limit.map(|_| (key.plan.clone(), schema.clone(), partitions.clone()));
        let id = state.insert(text.clone(), kind, key, schema, partitions, bytes);
        match kind {
            EntryKind::Query => {
                state.stores += 1;
                state.last_outcome = Some(CacheOutcome::Stored { entry: id, reason });
            }
            EntryKind::SubPlan => state.subplan_stores += 1,
        }
        drop(state);
        if let (Some(limit), Some((plan, schema, partitions))) = (disk_limit, written) {
            self.disk.write(&plan, &text, kind, &schema, &partitions, limit);
        }
    }

    /// Record what happened to a query that was not looked up or not stored.
    pub(crate) fn note(&self, outcome: CacheOutcome) {
        self.state.lock().last_outcome = Some(outcome);
    }

    /// Record that a result was not stored because its files changed while
    /// the query ran.
    pub(crate) fn reject_stale(&self, kind: EntryKind, reason: String) {
        let mut state = self.state.lock();
        state.stale_rejections += 1;
        if kind == EntryKind::Query {
            state.last_outcome = Some(CacheOutcome::NotStored { reason });
        }
    }

    /// Drop every entry.
    pub(crate) fn clear(&self) {
        let mut state = self.state.lock();
        state.invalidations += state.entries.len() as u64;
        state.entries.clear();
        state.abandoned.clear();
        state.bytes = 0;
        drop(state);
        self.disk.clear();
    }

    pub(crate) fn status(&self, enabled: bool) -> ResultCacheStatus {
        let (disk_bytes, disk_entries) = self.disk.usage();
        let state = self.state.lock();
        ResultCacheStatus {
            enabled,
            entries: state.entries.len(),
            bytes: state.bytes,
            memory_limit: state.limit,
            hits: state.hits,
            misses: state.misses,
            stores: state.stores,
            evictions: state.evictions,
            invalidations: state.invalidations,
            stale_rejections: state.stale_rejections,
            subplan_hits: state.subplan_hits,
            subplan_misses: state.subplan_misses,
            subplan_stores: state.subplan_stores,
            subplan_abandoned: state.subplan_abandoned,
            disk_hits: state.disk_hits,
            disk_entries,
            disk_bytes,
            last_outcome: state.last_outcome.clone(),
        }
    }

    /// The entries, most recently used last.
    pub(crate) fn entries(&self) -> Vec<EntryInfo> {
        let state = self.state.lock();
        state
            .entries
            .values()
            .map(|slot| {
                let r = &slot.result;
                EntryInfo {
                    id: r.id,
                    kind: r.kind,
                    tables: r.key.scans.iter().map(|s| s.table.clone()).collect(),
                    files: r.key.file_count(),
                    rows: r.rows,
                    bytes: r.bytes,
                    hits: slot.hits,
                    created_at: r.created_at,
                    last_hit_at: slot.last_hit_at,
                    plan: r
                        .key
                        .plan
                        .split("\ntable ")
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches(SUBPLAN_PREFIX)
                        .to_string(),
                }
            })
            .collect()
    }
}

impl State {
    /// Serve `text` from memory, counting the hit.
    fn hit(&mut self, text: &str, kind: EntryKind) -> Option<Arc<CachedResult>> {
        let slot = self.entries.to_back(text)?;
        slot.hits += 1;
        slot.last_hit_at = Some(SystemTime::now());
        let result = slot.result.clone();
        match kind {
            EntryKind::Query => {
                self.hits += 1;
                self.last_outcome = Some(CacheOutcome::Hit { entry: result.id });
            }
            EntryKind::SubPlan => self.subplan_hits += 1,
        }
        Some(result)
    }

    /// Add an entry of `bytes` (at most the limit), evicting as needed;
    /// returns its number.
    fn insert(
        &mut self,
        text: String,
        kind: EntryKind,
        key: ResultKey,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
        bytes: usize,
    ) -> u64 {
        if let Some(old) = self.entries.remove(&text) {
            self.bytes = self.bytes.saturating_sub(old.result.bytes);
        }
        self.evict_to(self.limit.saturating_sub(bytes));
        let id = self.next_id;
        self.next_id += 1;
        let rows = partitions.iter().flatten().map(|b| b.num_rows() as u64).sum();
        let result =
            Arc::new(CachedResult { id, kind, schema, partitions, rows, bytes, key, created_at: SystemTime::now() });
        self.entries.insert(text, Slot { result, hits: 0, last_hit_at: None });
        self.bytes += bytes;
        id
    }

    fn evict_to(&mut self, limit: usize) {
        while self.bytes > limit {
            let Some((_, slot)) = self.entries.pop_front() else { break };
            self.bytes = self.bytes.saturating_sub(slot.result.bytes);
            self.evictions += 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::key::{FileStamp, ScanSnapshot};
    use super::*;

    fn key(plan: &str, size: u64) -> ResultKey {
        ResultKey {
            plan: plan.into(),
            scans: vec![ScanSnapshot {
                table: "t".into(),
                files: vec![FileStamp { path: "a.csv".into(), size, last_modified_ns: 5, etag: None }],
            }],
        }
    }

    fn batch(n: i64) -> (SchemaRef, Vec<RecordBatch>, usize) {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let b = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from_iter_values(0..n))]).unwrap();
        let bytes = b.get_array_memory_size();
        (schema, vec![b], bytes)
    }

    #[test]
    fn hit_only_with_the_same_files_and_stale_entries_are_dropped() {
        let cache = ResultCache::new(1 << 20, None);
        assert!(cache.lookup(&key("p", 1), EntryKind::Query).is_none());
        let (schema, batches, bytes) = batch(10);
        cache.store(EntryKind::Query, key("p", 1), schema, vec![batches], bytes);
        assert!(cache.lookup(&key("p", 1), EntryKind::Query).is_some());
        assert!(cache.lookup(&key("q", 1), EntryKind::Query).is_none());
        assert!(cache.lookup(&key("p", 2), EntryKind::Query).is_none());
        let status = cache.status(true);
        assert_eq!((status.hits, status.misses, status.entries, status.invalidations), (1, 3, 0, 1));
        let outcome = status.last_outcome.map(|o| o.to_string()).unwrap_or_default();
        assert!(outcome.contains("a.csv of table 't' changed"), "{outcome}");
    }

    #[test]
    fn slices_of_one_batch_count_once() {
        let (_, batches, whole) = batch(10_000);
        let sliced: usize = (0..10).map(|i| batch_bytes(&batches[0].slice(i * 1000, 1000))).sum();
        assert!(sliced <= whole && sliced >= 10_000 * 8, "{sliced} of {whole}");
        assert!(batches[0].slice(0, 1000).get_array_memory_size() * 10 > whole * 5);
    }

    #[test]
    fn stays_within_its_memory_limit_evicting_the_least_recently_used() {
        let (schema, batches, bytes) = batch(1000);
        let per_entry = bytes + 2 * key_text(&key("p0", 1)).len();
        let cache = ResultCache::new(per_entry * 2 + per_entry / 2, None);
        for i in 0..3 {
            cache.store(EntryKind::Query, key(&format!("p{i}"), 1), schema.clone(), vec![batches.clone()], bytes);
            if i == 1 {
                // p0 becomes the most recently used: p1 goes first.
                assert!(cache.lookup(&key("p0", 1), EntryKind::Query).is_some());
            }
        }
        let status = cache.status(true);
        assert_eq!((status.entries, status.evictions), (2, 1));
        assert!(status.bytes <= status.memory_limit);
        assert!(cache.peek(&key("p0", 1)).is_some() && cache.peek(&key("p1", 1)).is_none());
        cache.configure(per_entry, None);
        assert_eq!(cache.status(true).entries, 1);
        cache.store(EntryKind::Query, key("big", 1), schema.clone(), vec![batches.clone()], bytes * 10);
        assert!(matches!(cache.status(true).last_outcome, Some(CacheOutcome::NotStored { .. })));
        // A sub-plan over the bound is abandoned: remembered, not stored,
        // and the last query's outcome is left alone.
        cache.store(EntryKind::SubPlan, key("sub", 1), schema, vec![batches], bytes * 10);
        let status = cache.status(true);
        assert_eq!((status.subplan_abandoned, status.subplan_stores), (1, 0));
        assert!(cache.is_abandoned(&key("sub", 1)) && !cache.is_abandoned(&key("sub", 2)));
        assert!(matches!(status.last_outcome, Some(CacheOutcome::NotStored { .. })));
    }
}
