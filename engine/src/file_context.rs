//! Errors that name their file: [`FileContextSource`] wraps a DataFusion
//! `FileSource` so that any error raised while opening or decoding a file
//! (a ragged CSV row, a value that does not parse, invalid UTF-8, broken
//! JSON) carries that file's path. Arrow's readers report the line but not
//! the file; with many files per table the file is what the user needs.
//!
//! [`with_file_context`] applies it to every file scan of a plan; the wrapper
//! delegates everything else, re-wrapping the sources optimizer rules derive
//! (filter, projection and sort pushdown).

use std::fmt::{self, Formatter};
use std::sync::Arc;

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{
    FileOpenFuture, FileOpener, FileScanConfig, FileScanConfigBuilder, FileSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_expr::{LexOrdering, PhysicalSortExpr};
use datafusion::physical_expr_common::physical_expr::PhysicalExpr;
use datafusion::physical_plan::filter_pushdown::FilterPushdownPropagation;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::projection::ProjectionExprs;
use datafusion::physical_plan::sort_pushdown::SortOrderPushdownResult;
use datafusion::physical_plan::{DisplayFormatType, ExecutionPlan};
use futures::{FutureExt, StreamExt, TryFutureExt};
use object_store::ObjectStore;

use crate::error::Error;

/// A `FileSource` whose errors name the file they came from.
pub(crate) struct FileContextSource {
    inner: Arc<dyn FileSource>,
}

impl FileContextSource {
    fn wrap(inner: Arc<dyn FileSource>) -> Arc<dyn FileSource> {
        if inner.downcast_ref::<FileContextSource>().is_some() {
            return inner;
        }
        Arc::new(Self { inner })
    }
}

/// Wrap the file sources of every `DataSourceExec` in `plan`.
pub(crate) fn with_file_context(plan: Arc<dyn ExecutionPlan>) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_down(|node| {
        let Some(exec) = node.downcast_ref::<DataSourceExec>() else { return Ok(Transformed::no(node)) };
        let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        // Only line-oriented text formats: Parquet reads through its own
        // morsel API, and its footers are checked when tables are created.
        let source = config.file_source();
        if !matches!(source.file_type(), "csv" | "json") || source.downcast_ref::<FileContextSource>().is_some() {
            return Ok(Transformed::no(node));
        }
        let source = FileContextSource::wrap(config.file_source().clone());
        let config = FileScanConfigBuilder::from(config.clone()).with_source(source).build();
        Ok(Transformed::yes(DataSourceExec::from_data_source(config) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

fn annotate(e: DataFusionError, path: &str, offset: u64) -> DataFusionError {
    DataFusionError::External(Box::new(Error::from(e).with_path(path).in_range_from(offset)))
}

struct FileContextOpener {
    inner: Arc<dyn FileOpener>,
    store: datafusion::execution::object_store::ObjectStoreUrl,
}

impl FileOpener for FileContextOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let path = crate::lake::store_path(&self.store, &file.object_meta.location);
        // DataFusion may split a large file into byte ranges read in parallel.
        let offset = file.range.as_ref().map(|r| r.start.max(0) as u64).unwrap_or(0);
        let future = self.inner.open(file).map_err(|e| annotate(e, &path, offset))?;
        let opened = future.map_err({
            let path = path.clone();
            move |e| annotate(e, &path, offset)
        });
        Ok(opened
            .map(move |result| {
                result.map(|stream| stream.map(move |batch| batch.map_err(|e| annotate(e, &path, offset))).boxed())
            })
            .boxed())
    }
}

impl FileSource for FileContextSource {
    fn create_file_opener(
        &self,
        object_store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let inner = self.inner.create_file_opener(object_store, base_config, partition)?;
        Ok(Arc::new(FileContextOpener { inner, store: base_config.object_store_url.clone() }))
    }

    fn table_schema(&self) -> &TableSchema {
        self.inner.table_schema()
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        Self::wrap(self.inner.with_batch_size(batch_size))
    }

    fn filter(&self) -> Option<Arc<dyn PhysicalExpr>> {
        self.inner.filter()
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        self.inner.projection()
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        self.inner.metrics()
    }

    fn file_type(&self) -> &str {
        self.inner.file_type()
    }

    fn fmt_extra(&self, t: DisplayFormatType, f: &mut Formatter) -> fmt::Result {
        self.inner.fmt_extra(t, f)
    }

    fn supports_repartitioning(&self) -> bool {
        self.inner.supports_repartitioning()
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        repartition_file_min_size: usize,
        output_ordering: Option<LexOrdering>,
        config: &FileScanConfig,
    ) -> Result<Option<FileScanConfig>> {
        self.inner.repartitioned(target_partitions, repartition_file_min_size, output_ordering, config)
    }

    fn try_pushdown_filters(
        &self,
        filters: Vec<Arc<dyn PhysicalExpr>>,
        config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn FileSource>>> {
        let mut result = self.inner.try_pushdown_filters(filters, config)?;
        result.updated_node = result.updated_node.map(Self::wrap);
        Ok(result)
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
        eq_properties: &EquivalenceProperties,
    ) -> Result<SortOrderPushdownResult<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_sort(order, eq_properties)?.map(Self::wrap))
    }

    fn reorder_files(&self, files: Vec<PartitionedFile>) -> Vec<PartitionedFile> {
        self.inner.reorder_files(files)
    }

    fn try_pushdown_projection(&self, projection: &ProjectionExprs) -> Result<Option<Arc<dyn FileSource>>> {
        Ok(self.inner.try_pushdown_projection(projection)?.map(Self::wrap))
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.inner.apply_expressions(f)
    }
}
