//! Reading a table's files into memory, one file at a time, through the
//! table's own file source (so decoding, partition values and decode errors
//! are exactly a query's): [`Loader`] holds the table's full scan (every
//! column, no filter, no limit) as a template and runs it over one file,
//! split into byte ranges where the format allows so both cores decode.
//!
//! A loaded copy is only kept if it cannot be stale: the file must not have
//! been modified within [`RACY_WINDOW`] of the load (a second write in the
//! same clock tick could keep its size and time), and a fresh `HEAD` after
//! the last batch must report the same size, time and etag the listing did
//! (so a file changed while it was read is dropped, not cached).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::Statistics;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::ExecutionPlan;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::CachedFile;
use crate::provider::LakeTable;

/// How recent a file's last-modified time may be before it is not cached
/// yet: file systems stamp writes with a coarse clock, so two writes in one
/// tick (or one second, on some stores) can leave the same size and time.
/// A file older than this gets a new stamp from any later write. The same
/// rule keeps the result cache from storing results over such files.
pub(crate) const RACY_WINDOW: Duration = Duration::from_secs(2);

/// Why a listed file was not (re)loaded into memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skipped {
    /// Modified within [`RACY_WINDOW`]: read from its file until it settles.
    Recent,
    /// It changed while it was being read.
    ChangedWhileLoading,
}

/// Loads files of one table.
pub(crate) struct Loader {
    /// The full scan, `None` when the table has no files.
    template: Option<FileScanConfig>,
    /// Every file of the table, as the template's listing saw them.
    pub files: Vec<PartitionedFile>,
    started: SystemTime,
}

impl Loader {
    /// Plan the table's full scan (this lists its files).
    pub(crate) async fn new(session: &dyn Session, table: &LakeTable) -> DfResult<Self> {
        let started = SystemTime::now();
        let plan = table.file_scan_plan(session, None, &[], None).await?;
        let template = crate::index::build::file_scan(&plan);
        let files = template
            .as_ref()
            .map(|c| c.file_groups.iter().flat_map(|g| g.files().iter().cloned()).collect())
            .unwrap_or_default();
        Ok(Self { template, files, started })
    }

    /// How the user writes a file's path (`/abs/path`, `s3://bucket/key`).
    pub(crate) fn display(&self, location: &object_store::path::Path) -> String {
        match &self.template {
            Some(t) => crate::lake::store_path(&t.object_store_url, location),
            None => location.to_string(),
        }
    }

    /// Read `file` whole. `Ok(Err(why))` when the copy must not be kept.
    pub(crate) async fn load(
        &self,
        session: &dyn Session,
        file: &PartitionedFile,
    ) -> DfResult<Result<CachedFile, Skipped>> {
        let listed = &file.object_meta;
        if is_recent(listed, self.started) {
            return Ok(Err(Skipped::Recent));
        }
        let Some(template) = &self.template else {
            return Err(DataFusionError::Internal("a file to load, but no file scan".into()));
        };
        let schema = template.file_schema().clone();
        let config = FileScanConfigBuilder::from(template.clone())
            .with_file_groups(vec![FileGroup::new(vec![file.clone()])])
            .with_statistics(Statistics::new_unknown(&schema))
            .with_limit(None)
            .build();
        let mut plan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
        let options = session.config_options();
        if let Some(split) = plan.repartitioned(options.execution.target_partitions, options)? {
            plan = split;
        }
        let task = session.task_ctx();
        let mut handles = Vec::new();
        for partition in 0..plan.properties().partitioning.partition_count() {
            let stream = plan.execute(partition, task.clone())?;
            handles.push(tokio::spawn(datafusion::physical_plan::common::collect(stream)));
        }
        let mut batches: Vec<RecordBatch> = Vec::new();
        for handle in handles {
            let part =
                handle.await.map_err(|e| DataFusionError::External(format!("loading a file failed: {e}").into()))??;
            batches.extend(part.into_iter().filter(|b| b.num_rows() > 0));
        }
        #[cfg(test)]
        tests::after_read(listed);
        let store = session.runtime_env().object_store(&template.object_store_url)?;
        let now = store.head(&listed.location).await?;
        if now.size != listed.size || now.last_modified != listed.last_modified || now.e_tag != listed.e_tag {
            return Ok(Err(Skipped::ChangedWhileLoading));
        }
        let rows = batches.iter().map(|b| b.num_rows() as u64).sum();
        let bytes = batches.iter().map(RecordBatch::get_array_memory_size).sum();
        Ok(Ok(CachedFile { meta: listed.clone(), batches, rows, bytes }))
    }
}

/// Whether `meta` was modified within [`RACY_WINDOW`] of `at`.
pub(crate) fn is_recent(meta: &ObjectMeta, at: SystemTime) -> bool {
    let threshold = at.checked_sub(RACY_WINDOW).unwrap_or(UNIX_EPOCH);
    let modified = UNIX_EPOCH
        + Duration::from_nanos(
            u64::try_from(meta.last_modified.timestamp_nanos_opt().unwrap_or(i64::MAX)).unwrap_or(0),
        );
    modified >= threshold
}

#[cfg(test)]
pub(crate) mod tests {
    use parking_lot::Mutex;

    use super::*;

    type Hook = Box<dyn Fn(&ObjectMeta) + Send + Sync>;

    /// Called between reading a file and checking it did not change (tests
    /// change the file there).
    pub(crate) static AFTER_READ: Mutex<Option<Hook>> = Mutex::new(None);

    pub(super) fn after_read(meta: &ObjectMeta) {
        if let Some(hook) = AFTER_READ.lock().as_ref() {
            hook(meta);
        }
    }
}
