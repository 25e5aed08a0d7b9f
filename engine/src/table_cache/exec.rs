//! [`TableCacheExec`]: the leaf operator that serves a cached table's files
//! from memory — their Arrow batches, projected to the columns the query
//! reads, spread over partitions, stopping early at a pushed-down limit.
//! EXPLAIN shows it in place of (or in a `UnionExec` beside) the file scan.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::coop::make_cooperative;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType, SchedulingType};
use datafusion::physical_plan::memory::MemoryStream;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::StreamExt;

use super::CachedFile;

/// Serves the cached files of one table scan.
#[derive(Debug)]
pub(crate) struct TableCacheExec {
    table: String,
    files: usize,
    rows: u64,
    bytes: usize,
    limit: Option<usize>,
    /// Projected batches, per output partition.
    partitions: Vec<Vec<RecordBatch>>,
    schema: SchemaRef,
    /// The table's scan counter (`tarn.cached_tables.hits`).
    hits: Arc<AtomicU64>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl TableCacheExec {
    /// Serve `files` (rows of the whole table schema) projected to
    /// `projection` as `schema`, on up to `target_partitions` partitions.
    pub(crate) fn try_new(
        table: String,
        files: &[Arc<CachedFile>],
        projection: Option<&[usize]>,
        schema: SchemaRef,
        limit: Option<usize>,
        target_partitions: usize,
        hits: Arc<AtomicU64>,
    ) -> DfResult<Self> {
        let mut batches = Vec::new();
        for file in files {
            for batch in &file.batches {
                let projected = match projection {
                    Some(p) => batch.project(p)?,
                    None => batch.clone(),
                };
                // The row count matters when no column is read (`count(*)`).
                let options = RecordBatchOptions::new().with_row_count(Some(projected.num_rows()));
                batches.push(RecordBatch::try_new_with_options(
                    schema.clone(),
                    projected.columns().to_vec(),
                    &options,
                )?);
            }
        }
        let rows: u64 = files.iter().map(|f| f.rows).sum();
        // Contiguous runs of batches of about equal row counts per partition.
        let count = target_partitions.clamp(1, batches.len().max(1));
        let per_partition = rows.div_ceil(count as u64).max(1);
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); count];
        let mut seen = 0u64;
        for batch in batches {
            let index = ((seen / per_partition) as usize).min(count - 1);
            seen += batch.num_rows() as u64;
            partitions[index].push(batch);
        }
        let properties = PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(count),
            EmissionType::Incremental,
            Boundedness::Bounded,
        )
        // Its streams yield to the scheduler (as file scans do).
        .with_scheduling_type(SchedulingType::Cooperative);
        Ok(Self {
            table,
            files: files.len(),
            rows,
            bytes: files.iter().map(|f| f.bytes).sum(),
            limit,
            partitions,
            schema,
            hits,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

impl DisplayAs for TableCacheExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let columns: Vec<&str> = self.schema.fields().iter().map(|f| f.name().as_str()).collect();
        match t {
            DisplayFormatType::Default | DisplayFormatType::Verbose => {
                write!(
                    f,
                    "TableCacheExec: table={}, files={}, rows={}, partitions={}, projection=[{}]",
                    self.table,
                    self.files,
                    self.rows,
                    self.partitions.len(),
                    columns.join(", ")
                )?;
                if let Some(limit) = self.limit {
                    write!(f, ", limit={limit}")?;
                }
                if matches!(t, DisplayFormatType::Verbose) {
                    write!(f, ", bytes={}", self.bytes)?;
                }
                Ok(())
            }
            DisplayFormatType::TreeRender => {
                write!(f, "table={}\nfiles={}\nrows={}", self.table, self.files, self.rows)
            }
        }
    }
}

impl ExecutionPlan for TableCacheExec {
    fn name(&self) -> &'static str {
        "TableCacheExec"
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

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        if partition == 0 {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        let batches = self.partitions.get(partition).cloned().unwrap_or_default();
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let stream = MemoryStream::try_new(batches, self.schema.clone(), None)?.with_fetch(self.limit);
        let counted = stream.map(move |batch| {
            if let Ok(b) = &batch {
                baseline.record_output(b.num_rows());
            }
            batch
        });
        Ok(make_cooperative(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), counted))))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn partition_statistics(&self, partition: Option<usize>) -> DfResult<Arc<Statistics>> {
        let rows = match partition {
            Some(p) => self.partitions.get(p).map_or(0, |b| b.iter().map(|b| b.num_rows()).sum()),
            None => self.rows as usize,
        };
        let rows = self.limit.map_or(rows, |l| rows.min(l));
        Ok(Arc::new(Statistics {
            num_rows: Precision::Exact(rows),
            total_byte_size: Precision::Absent,
            column_statistics: vec![ColumnStatistics::new_unknown(); self.schema.fields().len()],
        }))
    }
}
