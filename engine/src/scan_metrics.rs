//! What queries read: [`ScanCounters`], the bytes and requests an engine has
//! asked of its object stores (every store, local files included, is wrapped
//! in a counting store), and [`ScanProgress`], how far the scans of a running
//! physical plan have got (rows, files done of total, bytes in the files).
//!
//! The counters are engine-wide: the shell and `tarn bench`, which run one
//! statement at a time, take the difference of two snapshots as what one
//! statement read. Progress is per plan, read from DataFusion's metrics while
//! the plan runs.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, RenameOptions,
};

/// Bytes and requests an engine has read from storage since it was built.
///
/// Bytes are those of the ranges requested from the stores (a whole file for
/// a CSV scan, footers and column chunks for Parquet), which is what a scan
/// costs in I/O.
#[derive(Debug, Default)]
pub struct ScanCounters {
    bytes_read: AtomicU64,
    requests: AtomicU64,
}

/// A reading of [`ScanCounters`]; subtract two to get what happened between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCountersSnapshot {
    /// Bytes requested from storage.
    pub bytes_read: u64,
    /// Read requests (whole-object or ranged) sent to storage.
    pub requests: u64,
}

impl ScanCounters {
    /// The current values.
    pub fn snapshot(&self) -> ScanCountersSnapshot {
        ScanCountersSnapshot {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    fn record(&self, bytes: u64, requests: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
        self.requests.fetch_add(requests, Ordering::Relaxed);
    }
}

impl std::ops::Sub for ScanCountersSnapshot {
    type Output = ScanCountersSnapshot;

    fn sub(self, earlier: ScanCountersSnapshot) -> ScanCountersSnapshot {
        ScanCountersSnapshot {
            bytes_read: self.bytes_read.saturating_sub(earlier.bytes_read),
            requests: self.requests.saturating_sub(earlier.requests),
        }
    }
}

/// An object store that counts what is read through it into [`ScanCounters`].
#[derive(Debug)]
pub(crate) struct CountingObjectStore {
    inner: Arc<dyn ObjectStore>,
    counters: Arc<ScanCounters>,
}

impl CountingObjectStore {
    /// Wrap `inner`, counting into `counters`.
    pub(crate) fn wrap(inner: Arc<dyn ObjectStore>, counters: Arc<ScanCounters>) -> Arc<dyn ObjectStore> {
        Arc::new(CountingObjectStore { inner, counters })
    }
}

impl fmt::Display for CountingObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

#[async_trait]
impl ObjectStore for CountingObjectStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> object_store::Result<GetResult> {
        let head = options.head;
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            self.counters.record(result.range.end.saturating_sub(result.range.start), 1);
        }
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
        let result = self.inner.get_ranges(location, ranges).await?;
        self.counters.record(result.iter().map(|b| b.len() as u64).sum(), 1);
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// How far the scans of a physical plan have got, from the metrics of its
/// leaves (read while it runs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Rows the plan's leaves (file scans, `generate_series`, in-memory
    /// tables) have produced so far.
    pub rows_scanned: u64,
    /// Files (or file ranges) scanned to the end.
    pub files_done: u64,
    /// Files (or file ranges) the scans will read in all.
    pub files_total: u64,
    /// Bytes in those files (ranges): with bytes read, the basis of an ETA.
    pub bytes_total: u64,
}

impl ScanProgress {
    /// Sum the progress of every file scan in `plan`.
    pub fn of_plan(plan: &dyn ExecutionPlan) -> ScanProgress {
        let mut progress = ScanProgress::default();
        progress.add_plan(plan);
        progress
    }

    fn add_plan(&mut self, plan: &dyn ExecutionPlan) {
        if let Some(config) =
            plan.downcast_ref::<DataSourceExec>().and_then(|exec| exec.data_source().downcast_ref::<FileScanConfig>())
        {
            for file in config.file_groups.iter().flat_map(|group| group.files()) {
                self.files_total += 1;
                self.bytes_total += match &file.range {
                    Some(range) => range.end.saturating_sub(range.start).max(0) as u64,
                    None => file.object_meta.size,
                };
            }
        }
        let children = plan.children();
        if children.is_empty()
            && let Some(metrics) = plan.metrics()
        {
            self.rows_scanned += metrics.output_rows().unwrap_or(0) as u64;
            self.files_done += metrics.sum_by_name("files_processed").map_or(0, |v| v.as_usize() as u64);
        }
        for child in children {
            self.add_plan(child.as_ref());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn counts_bytes_of_reads_not_of_heads_or_writes() {
        let counters = Arc::new(ScanCounters::default());
        let store = CountingObjectStore::wrap(Arc::new(InMemory::new()), counters.clone());
        let path = Path::from("a/b.csv");
        store.put(&path, PutPayload::from_static(b"0123456789")).await.unwrap();
        store.head(&path).await.unwrap();
        assert_eq!(counters.snapshot(), ScanCountersSnapshot::default());

        let before = counters.snapshot();
        store.get_range(&path, 2..5).await.unwrap();
        store.get(&path).await.unwrap();
        store.get_ranges(&path, &[0..1, 4..8]).await.unwrap();
        let read = counters.snapshot() - before;
        assert_eq!(read, ScanCountersSnapshot { bytes_read: 3 + 10 + 5, requests: 3 });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod plan_tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn progress_counts_rows_and_files_of_a_finished_scan() {
        let dir = tempfile::tempdir().unwrap();
        let mut csv = String::from("x,y\n");
        (0..1000).for_each(|i| csv.push_str(&format!("{i},v{i}\n")));
        std::fs::write(dir.path().join("a.csv"), &csv).unwrap();
        std::fs::write(dir.path().join("b.csv"), &csv).unwrap();
        let engine = crate::Engine::in_memory().await.unwrap();
        let sql = format!("SELECT x FROM '{}/' WHERE y <> 'v1'", dir.path().display());
        let result = engine.sql(&sql).await.unwrap();
        let plan = result.physical_plan().unwrap();
        let rows: Vec<_> = result.into_stream().try_collect().await.unwrap();
        assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 1998);
        let progress = ScanProgress::of_plan(plan.as_ref());
        assert_eq!(progress.rows_scanned, 2000, "{progress:?}");
        assert_eq!((progress.files_done, progress.files_total), (2, 2), "{progress:?}");
        assert_eq!(progress.bytes_total, 2 * csv.len() as u64);
    }
}
