//! The two physical operators of the result cache: [`ResultCacheExec`]
//! serves a stored result (a leaf: it reads no data), and
//! [`ResultCacheStoreExec`] sits on top of a query that missed, passes its
//! batches through while recording them, and stores them once the last batch
//! is out — if a fresh listing still matches the files the query started
//! from.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::execution::context::SessionState;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;
use parking_lot::Mutex;

use super::key::{ResultKey, ScannedTable, describe_change, snapshot_all};
use super::{CachedResult, ResultCache};

/// Serves a stored result: the rows of [`CachedResult`], no scan.
#[derive(Debug)]
pub(crate) struct ResultCacheExec {
    result: Arc<CachedResult>,
    properties: Arc<PlanProperties>,
}

impl ResultCacheExec {
    pub(crate) fn new(result: Arc<CachedResult>) -> Self {
        let properties = PlanProperties::new(
            EquivalenceProperties::new(result.schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self { result, properties: Arc::new(properties) }
    }
}

impl DisplayAs for ResultCacheExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let r = &self.result;
        match t {
            DisplayFormatType::Default => write!(
                f,
                "ResultCacheExec: served from cache, entry={}, rows={}, files={}",
                r.id,
                r.rows,
                r.key.file_count()
            ),
            DisplayFormatType::Verbose => write!(
                f,
                "ResultCacheExec: served from cache, entry={}, rows={}, files={}, bytes={}",
                r.id,
                r.rows,
                r.key.file_count(),
                r.bytes
            ),
            DisplayFormatType::TreeRender => write!(f, "entry={}\nrows={}", r.id, r.rows),
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

    fn execute(&self, _partition: usize, _context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        Ok(Box::pin(MemoryStream::try_new(self.result.batches.clone(), self.result.schema.clone(), None)?))
    }
}

/// Records the result of a query that missed and stores it at the end.
#[derive(Debug)]
pub(crate) struct ResultCacheStoreExec {
    input: Arc<dyn ExecutionPlan>,
    pending: Arc<PendingStore>,
    properties: Arc<PlanProperties>,
}

/// What storing needs: the key the query started from, its tables (to
/// list again) and a session to list with.
#[derive(Debug)]
pub(crate) struct PendingStore {
    pub cache: Arc<ResultCache>,
    pub key: ResultKey,
    pub scans: Vec<ScannedTable>,
    pub session: Arc<SessionState>,
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
    /// Wrap `input`, which must have a single output partition.
    pub(crate) fn new(input: Arc<dyn ExecutionPlan>, pending: PendingStore) -> Self {
        let properties = input.properties().clone();
        Self { input, pending: Arc::new(pending), properties }
    }
}

impl DisplayAs for ResultCacheStoreExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(f, "ResultCacheStoreExec: files={}", self.pending.key.file_count())
            }
            DisplayFormatType::TreeRender => write!(f, "files={}", self.pending.key.file_count()),
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

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(self: Arc<Self>, children: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        match <[_; 1]>::try_from(children) {
            Ok([input]) => {
                Ok(Arc::new(Self { input, pending: self.pending.clone(), properties: self.properties.clone() }))
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
        let recorder = Arc::new(Mutex::new(Recorder::default()));
        let limit = self.pending.limit;
        let recording = {
            let recorder = recorder.clone();
            input.map(move |batch| {
                recorder.lock().record(&batch, limit);
                batch
            })
        };
        let pending = self.pending.clone();
        let store_schema = schema.clone();
        let finish = futures::stream::once(async move {
            let recorded = std::mem::take(&mut *recorder.lock());
            finish(&pending, store_schema, recorded).await;
        })
        .filter_map(|()| async { None });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, recording.chain(finish))))
    }
}

/// The batches seen so far, unless the result is not to be stored.
#[derive(Debug, Default)]
struct Recorder {
    batches: Vec<RecordBatch>,
    bytes: usize,
    failed: bool,
    too_big: bool,
}

impl Recorder {
    fn record(&mut self, batch: &DfResult<RecordBatch>, limit: usize) {
        match batch {
            Ok(b) if !self.failed && !self.too_big => {
                self.bytes += b.get_array_memory_size();
                if self.bytes > limit {
                    self.too_big = true;
                    self.batches.clear();
                } else {
                    self.batches.push(b.clone());
                }
            }
            Ok(_) => {}
            Err(_) => {
                self.failed = true;
                self.batches.clear();
            }
        }
    }
}

/// After the last batch: store the result if the files are still those the
/// query started from.
async fn finish(pending: &PendingStore, schema: datafusion::arrow::datatypes::SchemaRef, recorded: Recorder) {
    let cache = &pending.cache;
    if recorded.failed {
        return;
    }
    if recorded.too_big {
        cache.note(super::CacheOutcome::NotStored {
            reason: format!(
                "the result exceeded tarn.cache.result_memory_limit ({} bytes) while it was read",
                pending.limit
            ),
        });
        return;
    }
    if let Some(path) = racy_file(&pending.key, pending.listed_at) {
        cache.note(super::CacheOutcome::NotStored {
            reason: format!(
                "file {path} was modified less than {} s before the query started, too recently for its \
                 timestamp to reveal a further change",
                RACY_WINDOW.as_secs()
            ),
        });
        return;
    }
    match snapshot_all(pending.session.as_ref(), &pending.scans).await {
        Ok(now) => match describe_change(&pending.key.scans, &now) {
            None => cache.store(pending.key.clone(), schema, recorded.batches, recorded.bytes),
            Some(change) => cache.reject_stale(format!("{change} while the query ran")),
        },
        Err(e) => cache.reject_stale(format!("the files could not be listed again after the query: {e}")),
    }
}
