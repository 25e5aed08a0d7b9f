//! The two physical operators of the result cache: [`ResultCacheExec`]
//! serves a stored result (a leaf: it reads no data), and
//! [`ResultCacheStoreExec`] sits on top of a query or sub-plan that missed,
//! passes its batches through (partition by partition) while recording them,
//! and stores them once the last batch of every partition is out — if a
//! fresh listing still matches the files the query started from. Recording
//! stops, without touching the batches passed on, once the result outgrows
//! its bound.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::Statistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::coop::make_cooperative;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, SchedulingType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;
use parking_lot::Mutex;

use super::key::{ResultKey, ScannedTable, describe_change, snapshot_all};
use super::{CacheOutcome, CachedResult, EntryKind, ResultCache};

/// Serves a stored result: the rows of [`CachedResult`], no scan.
#[derive(Debug)]
pub(crate) struct ResultCacheExec {
    result: Arc<CachedResult>,
    properties: Arc<PlanProperties>,
}

impl ResultCacheExec {
    /// Serve `result` with as many partitions as the plan that produced it
    /// (no ordering or partitioning is claimed: the physical optimizer adds
    /// what the plan above needs).
    pub(crate) fn new(result: Arc<CachedResult>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(result.schema.clone()),
            Partitioning::UnknownPartitioning(result.partitions.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        )
        .with_scheduling_type(SchedulingType::Cooperative);
        Self { result, properties: Arc::new(properties) }
    }
}

impl DisplayAs for ResultCacheExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let r = &self.result;
        let what = match r.kind {
            EntryKind::Query => "served from cache",
            EntryKind::SubPlan => "sub-plan served from cache",
        };
        match t {
            DisplayFormatType::Default => {
                write!(f, "ResultCacheExec: {what}, entry={}, rows={}, files={}", r.id, r.rows, r.key.file_count())
            }
            DisplayFormatType::Verbose => write!(
                f,
                "ResultCacheExec: {what}, entry={}, rows={}, files={}, bytes={}",
                r.id,
                r.rows,
                r.key.file_count(),
                r.bytes
            ),
            DisplayFormatType::TreeRender => write!(
                f,
                "{}entry={}\nrows={}",
                { if r.kind == EntryKind::SubPlan { "sub-plan\n" } else { "" } },
                r.id,
                r.rows
            ),
        }
    }
}

impl ExecutionPlan for ResultCacheExec {
    fn name(&self) -> &'static str {
        "ResultCacheExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, _children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    /// Exact row and byte counts, so the planner sizes joins over a cached
    /// sub-plan right (which side to build a hash table on).
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> DfResult<Arc<Statistics>> {
        let batches: Vec<&RecordBatch> = match args.partition() {
            Some(p) => self.result.partitions.get(p).map(|part| part.iter().collect()).unwrap_or_default(),
            None => self.result.partitions.iter().flatten().collect(),
        };
        let mut statistics = Statistics::new_unknown(&self.result.schema);
        statistics.num_rows = Precision::Exact(batches.iter().map(|b| b.num_rows()).sum());
        statistics.total_byte_size = Precision::Exact(batches.iter().map(|b| super::batch_bytes(b)).sum());
        Ok(Arc::new(statistics))
    }

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let batches = self.result.partitions.get(partition).cloned().unwrap_or_default();
        // Yields to the runtime like DataFusion's own sources, so a large
        // cached result cannot hold a worker thread (or delay cancellation).
        Ok(make_cooperative(Box::pin(MemoryStream::try_new(batches, self.result.schema.clone(), None)?)))
    }
}

/// Records the result of a query or sub-plan that missed and stores it at
/// the end.
#[derive(Debug)]
pub(crate) struct ResultCacheStoreExec {
    input: Arc<dyn ExecutionPlan>,
    pending: Arc<PendingStore>,
    recording: Arc<Mutex<Recording>>,
    properties: Arc<PlanProperties>,
}

/// What storing needs: the key the query started from, its tables (to
/// list again) and a session to list with.
#[derive(Debug)]
pub(crate) struct PendingStore {
    pub cache: Arc<ResultCache>,
    /// A whole query's result or a sub-plan's.
    pub kind: EntryKind,
    pub key: ResultKey,
    pub scans: Vec<ScannedTable>,
    pub session: Arc<SessionState>,
    /// Most bytes of batches recorded before recording stops.
    pub limit: usize,
    /// When the listing in `key` was started.
    pub listed_at: SystemTime,
}

/// How recent a file's last-modified time may be, relative to the listing,
/// before it is "racy": file systems stamp modifications with a coarse clock
/// (a kernel tick; whole seconds on some, two on FAT), so a second write in
/// the same tick can leave size and time unchanged. A result over a racy
/// file is not stored; once the file is older than this, any later write
/// gives it a different stamp.
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(2);

/// The first file of `key` modified within [`RACY_WINDOW`] of `listed_at`.
fn racy_file(key: &ResultKey, listed_at: SystemTime) -> Option<String> {
    let threshold = listed_at.checked_sub(RACY_WINDOW).unwrap_or(UNIX_EPOCH);
    let threshold_ns = threshold.duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0);
    key.scans.iter().flat_map(|s| &s.files).find(|f| f.last_modified_ns >= threshold_ns).map(|f| f.path.clone())
}

impl ResultCacheStoreExec {
    /// Wrap `input`; its output partitions are recorded separately and
    /// served as such on a hit.
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, pending: Arc<PendingStore>) -> Self {
        let properties = input.properties().clone();
        let recording = Arc::new(Mutex::new(Recording::new(input.output_partitioning().partition_count())));
        Self { input, pending, recording, properties }
    }
}

impl DisplayAs for ResultCacheStoreExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let sub = if self.pending.kind == EntryKind::SubPlan { "sub-plan, " } else { "" };
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "ResultCacheStoreExec: {sub}files={}", self.pending.key.file_count())
            }
            DisplayFormatType::TreeRender => write!(f, "{sub}files={}", self.pending.key.file_count()),
        }
    }
}

impl ExecutionPlan for ResultCacheStoreExec {
    fn name(&self) -> &'static str {
        "ResultCacheStoreExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    /// The input's: the node passes every row on, and the planner needs the
    /// estimates to size joins above it (which side to build on).
    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> DfResult<Arc<Statistics>> {
        Ok(input_stats.first().cloned().unwrap_or_else(|| Arc::new(Statistics::new_unknown(&self.schema()))))
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        match <[_; 1]>::try_from(children) {
            Ok([input]) => {
                let properties = input.properties().clone();
                let recording = Arc::new(Mutex::new(Recording::new(input.output_partitioning().partition_count())));
                Ok(Arc::new(Self { input, pending: self.pending.clone(), recording, properties }))
            }
            Err(children) => Err(datafusion::error::DataFusionError::Internal(format!(
                "ResultCacheStoreExec takes one child, got {}",
                children.len()
            ))),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let limit = self.pending.limit;
        let recording = self.recording.clone();
        let recorded = {
            let recording = recording.clone();
            input.map(move |batch| {
                recording.lock().record(partition, &batch, limit);
                batch
            })
        };
        let pending = self.pending.clone();
        let store_schema = schema.clone();
        // When this partition ends, the last partition to end stores them all.
        let finish = futures::stream::once(async move {
            let done = recording.lock().finish_partition(partition);
            if let Some(recorded) = done {
                finish(&pending, store_schema, recorded).await;
            }
        })
        .filter_map(|()| async { None });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, recorded.chain(finish))))
    }
}

/// The batches of every partition seen so far, unless the result is not to
/// be stored.
#[derive(Debug)]
struct Recording {
    parts: Vec<Vec<RecordBatch>>,
    /// Partitions whose stream has ended.
    done: Vec<bool>,
    bytes: usize,
    failed: bool,
    too_big: bool,
}

/// The outcome of a recording whose partitions have all ended.
#[derive(Debug)]
struct Recorded {
    parts: Vec<Vec<RecordBatch>>,
    bytes: usize,
    failed: bool,
    too_big: bool,
}

impl Recording {
    fn new(partitions: usize) -> Self {
        Self {
            parts: vec![Vec::new(); partitions],
            done: vec![false; partitions],
            bytes: 0,
            failed: false,
            too_big: false,
        }
    }

    fn record(&mut self, partition: usize, batch: &DfResult<RecordBatch>, limit: usize) {
        match batch {
            Ok(b) if !self.failed && !self.too_big => {
                self.bytes += super::batch_bytes(b);
                if self.bytes > limit {
                    self.too_big = true;
                    self.parts.iter_mut().for_each(Vec::clear);
                } else if let Some(part) = self.parts.get_mut(partition) {
                    part.push(b.clone());
                } else {
                    self.failed = true;
                }
            }
            Ok(_) => {}
            Err(_) => {
                self.failed = true;
                self.parts.iter_mut().for_each(Vec::clear);
            }
        }
    }

    /// Mark `partition` as ended; when it was the last one, hand over what
    /// was recorded. A partition ending twice (the plan run again) spoils it.
    fn finish_partition(&mut self, partition: usize) -> Option<Recorded> {
        match self.done.get_mut(partition) {
            Some(done) if !*done => *done = true,
            _ => {
                self.failed = true;
                return None;
            }
        }
        if !self.done.iter().all(|d| *d) {
            return None;
        }
        Some(Recorded {
            parts: std::mem::take(&mut self.parts),
            bytes: self.bytes,
            failed: self.failed,
            too_big: self.too_big,
        })
    }
}

/// After the last batch: store the result if the files are still those the
/// query started from.
async fn finish(pending: &PendingStore, schema: datafusion::arrow::datatypes::SchemaRef, recorded: Recorded) {
    let cache = &pending.cache;
    let query = pending.kind == EntryKind::Query;
    if recorded.failed {
        return;
    }
    if recorded.too_big {
        match pending.kind {
            EntryKind::Query => cache.note(CacheOutcome::NotStored {
                reason: format!(
                    "the result exceeded tarn.cache.result_memory_limit ({} bytes) while it was read",
                    pending.limit
                ),
            }),
            EntryKind::SubPlan => cache.abandon(&pending.key),
        }
        return;
    }
    if let Some(path) = racy_file(&pending.key, pending.listed_at) {
        if query {
            cache.note(CacheOutcome::NotStored {
                reason: format!(
                    "file {path} was modified less than {} s before the query started, too recently for its \
                     timestamp to reveal a further change",
                    RACY_WINDOW.as_secs()
                ),
            });
        }
        return;
    }
    match snapshot_all(pending.session.as_ref(), &pending.scans).await {
        Ok(now) => match describe_change(&pending.key.scans, &now) {
            None => cache.store(pending.kind, pending.key.clone(), schema, recorded.parts, recorded.bytes),
            Some(change) => cache.reject_stale(pending.kind, format!("{change} while the query ran")),
        },
        Err(e) => cache.reject_stale(pending.kind, format!("the files could not be listed again after the query: {e}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::result_cache::{CachedResult, EntryKind, ResultKey};

    /// A cached result of many batches yields to the runtime while it is
    /// served: another task on the same (single) thread gets to run before
    /// the last batch.
    #[test]
    fn serving_a_large_result_yields_to_other_tasks() {
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1_i64]))]).unwrap();
        let result = Arc::new(CachedResult {
            id: 1,
            kind: EntryKind::Query,
            schema,
            partitions: vec![vec![batch; 10_000]],
            rows: 10_000,
            bytes: 0,
            key: ResultKey { plan: String::new(), scans: Vec::new() },
            created_at: SystemTime::now(),
        });
        let exec = ResultCacheExec::new(result);
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let other_ran = Arc::new(AtomicBool::new(false));
        let seen_before_end = runtime.block_on(async {
            let flag = other_ran.clone();
            let mut stream = exec.execute(0, Arc::new(TaskContext::default())).unwrap();
            let consumer = tokio::spawn(async move {
                let mut seen = false;
                let mut batches = 0;
                while let Some(batch) = stream.next().await {
                    batch.unwrap();
                    batches += 1;
                    if batches < 10_000 {
                        seen |= flag.load(Ordering::SeqCst);
                    }
                }
                seen
            });
            let flag = other_ran.clone();
            tokio::spawn(async move { flag.store(true, Ordering::SeqCst) });
            consumer.await.unwrap()
        });
        assert!(seen_before_end, "the other task never ran while 10,000 cached batches were served");
    }
}
