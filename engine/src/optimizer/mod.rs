//! Tarn's own optimizer rules, registered with the session in one place:
//! [`physical_rules`] lists them in the order they run.

pub(crate) mod index_pruning;
pub(crate) mod statistics_pruning;

use std::sync::Arc;

use datafusion::physical_optimizer::PhysicalOptimizerRule;

use crate::index::IndexRegistry;

/// Tarn's physical optimizer rules, in the order they run. DataFusion's own
/// rules all run first (the session appends these after its defaults).
///
/// 1. [`index_pruning::IndexPruningRule`] runs after all of DataFusion's
///    rules because it needs their results: filter pushdown has put the
///    predicates where the rule finds them (a `FilterExec` right above the
///    scan, or the Parquet source's own predicate), and file-scan
///    repartitioning has already split large files into byte ranges, which
///    the rule intersects with the index's blocks. Running last also means no
///    later rule can re-split the ranges it produced or rely on the file
///    statistics its pruning made approximate.
/// 2. [`statistics_pruning::StatisticsPruningRule`] drops the Parquet files
///    whose statistics rule out the scan's predicate. It runs after the
///    index rule, which must see every file of the scan: that is how
///    automatic index maintenance learns which files are new and which are
///    gone (a file missing from the scan would look removed).
pub(crate) fn physical_rules(registry: Arc<IndexRegistry>) -> Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> {
    vec![Arc::new(index_pruning::IndexPruningRule::new(registry)), Arc::new(statistics_pruning::StatisticsPruningRule)]
}
