//! [`StatisticsPruningRule`]: a physical optimizer rule that drops from a
//! Parquet scan, while planning, the files whose statistics show that no row
//! of theirs can match the scan's predicate.
//!
//! DataFusion prunes such files too, but only once the scan opens them: per
//! file it builds a pruning predicate, registers a set of metrics and creates
//! a reader, then drops them. Over a table of many files of which a selective
//! predicate keeps a few, that per-file work is most of a short query's time
//! (benches/RESULTS.md, *Metadata cache*). Here one pruning predicate is built
//! per scan and evaluated over all its files' statistics at once; the files
//! it rules out never reach the scan.
//!
//! The statistics are those the listing table attached to each file: from
//! the footer, or from the catalog's manifest for files unchanged since it
//! was recorded (`manifest_statistics`). Only exact min/max values prune
//! (DataFusion's `PrunableStatistics`), only conjuncts over the files' own
//! columns are used (partition columns are pruned when listing), and
//! dynamic filters are left to the scan, where their values are known.

use std::sync::Arc;

use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::utils::{conjunction, split_conjunction};
use datafusion::physical_expr_common::physical_expr::{PhysicalExpr, snapshot_physical_expr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;

use crate::settings::TarnSettings;

/// Drops the files of Parquet scans whose statistics rule out the scan's
/// predicate, while planning (`tarn.statistics_pruning`).
#[derive(Debug, Default)]
pub(crate) struct StatisticsPruningRule;

impl PhysicalOptimizerRule for StatisticsPruningRule {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let enabled = config.extensions.get::<TarnSettings>().is_none_or(|s| s.0.statistics_pruning);
        if !enabled || !config.execution.parquet.pruning {
            return Ok(plan);
        }
        plan.transform_up(|node| match node.downcast_ref::<DataSourceExec>().and_then(prune) {
            Some(pruned) => Ok(Transformed::yes(pruned)),
            None => Ok(Transformed::no(node)),
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "statistics_pruning"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The scan without the files its predicate rules out, if it rules out any.
fn prune(exec: &DataSourceExec) -> Option<Arc<dyn ExecutionPlan>> {
    let config = exec.data_source().downcast_ref::<FileScanConfig>()?;
    config.file_source().downcast_ref::<ParquetSource>()?;
    let filter = config.file_source().filter()?;
    let file_schema = config.file_schema().clone();
    let usable: Vec<Arc<dyn PhysicalExpr>> =
        split_conjunction(&filter).into_iter().filter(|c| over_file_columns(c, &file_schema)).cloned().collect();
    if usable.is_empty() {
        return None;
    }
    let predicate =
        PruningPredicateBuilder::new().with_file_schema(file_schema.clone()).try_build(conjunction(usable)).ok()?;
    if predicate.always_true() {
        return None;
    }
    let files: Vec<_> = config.file_groups.iter().flat_map(|g| g.files()).collect();
    let with_statistics: Vec<(usize, _)> =
        files.iter().enumerate().filter_map(|(i, f)| f.statistics.clone().map(|s| (i, s))).collect();
    if with_statistics.is_empty() {
        return None;
    }
    let statistics = PrunableStatistics::new(with_statistics.iter().map(|(_, s)| s.clone()).collect(), file_schema);
    let keep = predicate.prune(&statistics).ok()?;
    let mut dropped = vec![false; files.len()];
    for ((i, _), keep) in with_statistics.iter().zip(keep) {
        dropped[*i] = !keep;
    }
    if !dropped.contains(&true) {
        return None;
    }
    let mut next = 0;
    let groups: Vec<FileGroup> = config
        .file_groups
        .iter()
        .map(|group| {
            let kept = group
                .files()
                .iter()
                .filter(|_| {
                    let keep = !dropped[next];
                    next += 1;
                    keep
                })
                .cloned()
                .collect();
            FileGroup::new(kept)
        })
        .collect();
    let new_config = FileScanConfigBuilder::from(config.clone()).with_file_groups(groups).build();
    Some(Arc::new(exec.clone().with_data_source(Arc::new(new_config))))
}

/// Whether `expr` is static (no dynamic filter, whose value is only known
/// while the query runs) and reads only columns of the files themselves.
fn over_file_columns(expr: &Arc<dyn PhysicalExpr>, file_schema: &datafusion::arrow::datatypes::SchemaRef) -> bool {
    let Ok(snapshot) = snapshot_physical_expr(expr.clone()) else { return false };
    if !Arc::ptr_eq(&snapshot, expr) {
        return false;
    }
    let mut only_files = true;
    let walked = expr.apply(|e| {
        if let Some(column) = e.downcast_ref::<Column>() {
            let known = file_schema.fields().get(column.index()).is_some_and(|f| f.name() == column.name());
            if !known {
                only_files = false;
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    walked.is_ok() && only_files
}
