//! Sub-plan reuse: the results of aggregations and joins inside a query are
//! cached on their own, so a query that differs from an earlier one only
//! above such a node (another filter on the aggregated rows, another ORDER
//! BY or LIMIT, a CTE used again) reads the node's rows from the cache.
//!
//! After the whole query missed, [`rewrite`] walks the optimized logical
//! plan top-down. Every `Aggregate` and `Join` below the root whose subtree
//! may be cached (the same rules as a whole query: only tables over files,
//! no volatile functions) gets a [`ResultKey`] of its own — its normalized
//! subtree, the settings, and the same file listing the query's key used.
//! A hit replaces the subtree by a [`SubPlanFromCache`] node (planned as a
//! `ResultCacheExec`, which EXPLAIN shows as "sub-plan served from cache");
//! a miss wraps it in a [`SubPlanStore`] node (planned as a
//! `ResultCacheStoreExec` that records each output partition and stores the
//! result only if a fresh listing after its last batch still matches, and
//! only while it stays within `tarn.cache.subplan_max_bytes`). Nodes below a
//! hit are not looked at; nodes below a miss are, so an inner aggregation
//! shared with other queries is kept even when the outer one is not.
//! A sub-plan whose result outgrew the bound is remembered (with its files)
//! and not recorded again until they change.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::DFSchemaRef;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, UserDefinedLogicalNode, UserDefinedLogicalNodeCore};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{ExtensionPlanner, PhysicalPlanner};
use futures::FutureExt;
use futures::future::BoxFuture;

use super::exec::{PendingStore, ResultCacheExec, ResultCacheStoreExec};
use super::key::{Analysis, Listings, ResultKey, analyze};
use super::{CachedResult, EntryKind, ResultCache};

/// A sub-plan served from the cache (logical form of a sub-plan
/// `ResultCacheExec`).
#[derive(Debug)]
pub(crate) struct SubPlanFromCache {
    result: Arc<CachedResult>,
    schema: DFSchemaRef,
}

/// A sub-plan that runs and is recorded for the cache (logical form of a
/// sub-plan `ResultCacheStoreExec`).
#[derive(Debug)]
pub(crate) struct SubPlanStore {
    input: LogicalPlan,
    pending: Arc<PendingStore>,
}

impl SubPlanStore {
    fn id(&self) -> usize {
        Arc::as_ptr(&self.pending) as usize
    }
}

macro_rules! identity_by {
    ($ty:ty, $id:expr) => {
        impl PartialEq for $ty {
            fn eq(&self, other: &Self) -> bool {
                $id(self) == $id(other)
            }
        }
        impl Eq for $ty {}
        impl PartialOrd for $ty {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                $id(self).partial_cmp(&$id(other))
            }
        }
        impl Hash for $ty {
            fn hash<H: Hasher>(&self, state: &mut H) {
                $id(self).hash(state)
            }
        }
    };
}

identity_by!(SubPlanFromCache, |n: &SubPlanFromCache| n.result.id as usize);
identity_by!(SubPlanStore, SubPlanStore::id);

impl UserDefinedLogicalNodeCore for SubPlanFromCache {
    fn name(&self) -> &str {
        "SubPlanFromCache"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SubPlanFromCache: entry={}, rows={}", self.result.id, self.result.rows)
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, _inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        Ok(Self { result: self.result.clone(), schema: self.schema.clone() })
    }
}

impl UserDefinedLogicalNodeCore for SubPlanStore {
    fn name(&self) -> &str {
        "SubPlanStore"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        self.input.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "SubPlanStore: files={}", self.pending.key.file_count())
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        match <[_; 1]>::try_from(inputs) {
            Ok([input]) => Ok(Self { input, pending: self.pending.clone() }),
            Err(inputs) => {
                Err(DataFusionError::Internal(format!("SubPlanStore takes one input, got {}", inputs.len())))
            }
        }
    }
}

/// Plans [`SubPlanFromCache`] and [`SubPlanStore`] nodes.
#[derive(Debug)]
pub(crate) struct SubPlanPlanner;

#[async_trait]
impl ExtensionPlanner for SubPlanPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        _session: &dyn Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> DfResult<Option<Arc<dyn ExecutionPlan>>> {
        let any = node.as_any();
        if let Some(hit) = any.downcast_ref::<SubPlanFromCache>() {
            return Ok(Some(Arc::new(ResultCacheExec::new(hit.result.clone()))));
        }
        if let Some(store) = any.downcast_ref::<SubPlanStore>() {
            let [input] = physical_inputs else {
                return Err(DataFusionError::Internal("SubPlanStore planned without its input".into()));
            };
            return Ok(Some(Arc::new(ResultCacheStoreExec::new(input.clone(), store.pending.clone()))));
        }
        Ok(None)
    }
}

/// Where a node sits in the query.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// The query itself.
    Root,
    /// Below the root with only projections (and aliases) above it.
    UnderProjections,
    /// Anywhere else.
    Inner,
}

/// What the rewrite does at each candidate node.
pub(crate) struct Rewriter<'a> {
    pub cache: &'a Arc<ResultCache>,
    pub session: &'a SessionState,
    /// The listings of this query (shared with its own key).
    pub listings: &'a mut Listings,
    /// When the listings were (or are) taken.
    pub listed_at: SystemTime,
    /// Most bytes one sub-plan's result may take.
    pub limit: usize,
    /// `false` for EXPLAIN: use hits, record nothing, count nothing.
    pub record: bool,
    /// Whether any node was replaced or wrapped.
    pub changed: bool,
    /// Whether any sub-plan is served from the cache.
    pub hits: usize,
    /// Whether the whole query's result is cached too: then a node with
    /// only projections above it holds the same rows as the whole result
    /// and is not a sub-plan worth keeping.
    pub whole_cached: bool,
}

impl Rewriter<'_> {
    /// `plan` with cached sub-plans served from the cache and the others
    /// recorded (the root itself is the whole query's business).
    pub(crate) async fn rewrite(&mut self, plan: &LogicalPlan) -> DfResult<LogicalPlan> {
        self.rewrite_node(plan, Place::Root).await
    }

    fn rewrite_node<'s>(&'s mut self, node: &'s LogicalPlan, place: Place) -> BoxFuture<'s, DfResult<LogicalPlan>> {
        async move {
            let candidate = match place {
                Place::Root => false,
                Place::UnderProjections => !self.whole_cached,
                Place::Inner => true,
            } && matches!(node, LogicalPlan::Aggregate(_) | LogicalPlan::Join(_));
            let scans = match candidate.then(|| analyze(node)) {
                Some(Analysis::Cacheable(scans)) => Some(scans),
                _ => None,
            };
            let Some(scans) = scans else { return self.rewrite_children(node, place).await };
            let key = ResultKey::build(node, self.session, &scans, self.listings, true).await?;
            let hit = if self.record { self.cache.lookup(&key, EntryKind::SubPlan) } else { self.cache.peek(&key) };
            if let Some(result) = hit {
                self.changed = true;
                self.hits += 1;
                let schema = node.schema().clone();
                return Ok(LogicalPlan::Extension(Extension { node: Arc::new(SubPlanFromCache { result, schema }) }));
            }
            let input = self.rewrite_children(node, place).await?;
            if !self.record || self.cache.is_abandoned(&key) {
                return Ok(input);
            }
            self.changed = true;
            let pending = PendingStore {
                cache: self.cache.clone(),
                kind: EntryKind::SubPlan,
                key,
                scans,
                session: Arc::new(self.session.clone()),
                limit: self.limit,
                listed_at: self.listed_at,
            };
            let store = SubPlanStore { input, pending: Arc::new(pending) };
            Ok(LogicalPlan::Extension(Extension { node: Arc::new(store) }))
        }
        .boxed()
    }

    async fn rewrite_children(&mut self, node: &LogicalPlan, place: Place) -> DfResult<LogicalPlan> {
        let place = match (place, node) {
            (Place::Root | Place::UnderProjections, LogicalPlan::Projection(_) | LogicalPlan::SubqueryAlias(_)) => {
                Place::UnderProjections
            }
            _ => Place::Inner,
        };
        let mut children = Vec::new();
        for input in node.inputs() {
            children.push(self.rewrite_node(input, place).await?);
        }
        let expected = children.len();
        let mut children = children.into_iter();
        let rebuilt = node.clone().map_children(|_| match children.next() {
            Some(child) => Ok(Transformed::yes(child)),
            None => Err(DataFusionError::Internal("a plan node has more inputs than it listed".into())),
        })?;
        if children.next().is_some() || expected != rebuilt.data.inputs().len() {
            return Err(DataFusionError::Internal("a plan node has fewer inputs than it listed".into()));
        }
        Ok(rebuilt.data)
    }
}
