//! How the result cache hooks into DataFusion: [`ResultCachePlanner`] is the
//! session's `QueryPlanner`, the step that turns the *optimized* logical plan
//! into a physical plan. Every query — through `Engine::sql` or directly on
//! the session context — passes here once, after optimization (so the key is
//! the normalized plan) and before any data is read (so a hit reads none).
//!
//! For a cacheable query it lists the scanned tables' files, builds the
//! [`ResultKey`], and either plans a [`ResultCacheExec`] (hit) or plans the
//! query under a [`ResultCacheStoreExec`] (miss). A query that runs has its
//! aggregations and joins looked up as sub-plans ([`super::subplan`]) first.
//! `EXPLAIN` of a query that would be served from the cache, wholly or in
//! part, shows the `ResultCacheExec`s that would run in its physical plan;
//! other plans are left exactly as DataFusion plans them.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::display::{PlanType, StringifiedPlan};
use datafusion::config::ConfigExtension;
use datafusion::error::Result as DfResult;
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::logical_expr::{Explain, LogicalPlan};
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::explain::ExplainExec;
use datafusion::physical_plan::{ExecutionPlan, ExecutionPlanProperties, displayable};
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};

use super::exec::{PendingStore, ResultCacheExec, ResultCacheStoreExec};
use super::key::{Analysis, Listings, ResultKey, analyze};
use super::subplan::{Rewriter, SubPlanPlanner};
use super::{CacheOutcome, EntryKind, ResultCache};
use crate::settings::{CacheOptions, TarnSettings};

/// Set on a statement's session configuration when the statement must not
/// use the result cache, with the reason (the engine sets it for queries
/// that call `now()` & co., which the optimizer folds into constants).
#[derive(Debug, Clone)]
pub(crate) struct ResultCacheBypass(pub String);

impl ConfigExtension for ResultCacheBypass {
    const PREFIX: &'static str = "tarn_result_cache_bypass";
}

impl datafusion::config::ExtensionOptions for ResultCacheBypass {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn datafusion::config::ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, _value: &str) -> DfResult<()> {
        Err(datafusion::error::DataFusionError::Configuration(format!("{key} cannot be set")))
    }

    fn entries(&self) -> Vec<datafusion::config::ConfigEntry> {
        Vec::new()
    }
}

/// The session's query planner: DataFusion's, with the result cache in front.
#[derive(Debug)]
pub(crate) struct ResultCachePlanner {
    cache: Arc<ResultCache>,
}

impl ResultCachePlanner {
    pub(crate) fn new(cache: Arc<ResultCache>) -> Self {
        Self { cache }
    }

    /// Why `session` must not use the cache for this statement, if it must not.
    fn bypass(session: &dyn Session) -> Option<String> {
        session.config_options().extensions.get::<ResultCacheBypass>().map(|b| b.0.clone())
    }

    /// EXPLAIN (not ANALYZE) of a query that would be served from the cache,
    /// wholly or in part: the physical plan shown is the one that would run.
    async fn explain(
        &self,
        explain: &Explain,
        session: &dyn Session,
        options: &CacheOptions,
    ) -> DfResult<Option<String>> {
        if Self::bypass(session).is_some() {
            return Ok(None);
        }
        let mut listings = Listings::new();
        if options.results
            && let Analysis::Cacheable(scans) = analyze(&explain.plan)
        {
            let key = ResultKey::build(&explain.plan, session, &scans, &mut listings, false).await?;
            if let Some(result) = self.cache.peek(&key) {
                let exec = ResultCacheExec::new(result);
                return Ok(Some(displayable(&exec as &dyn ExecutionPlan).indent(explain.verbose).to_string()));
            }
        }
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else { return Ok(None) };
        if !options.subplans {
            return Ok(None);
        }
        let mut rewriter = Rewriter {
            cache: &self.cache,
            session: state,
            listings: &mut listings,
            listed_at: SystemTime::now(),
            limit: subplan_limit(options),
            record: false,
            changed: false,
            hits: 0,
            whole_cached: options.results && matches!(analyze(&explain.plan), Analysis::Cacheable(_)),
        };
        let rewritten = rewriter.rewrite(&explain.plan).await?;
        if rewriter.hits == 0 {
            return Ok(None);
        }
        let physical = planner().create_physical_plan(&rewritten, session).await?;
        Ok(Some(displayable(physical.as_ref()).indent(explain.verbose).to_string()))
    }
}

/// DataFusion's physical planner, able to plan the sub-plan nodes.
fn planner() -> DefaultPhysicalPlanner {
    DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(SubPlanPlanner)])
}

/// The bound on one sub-plan's result: `tarn.cache.subplan_max_bytes`, and
/// never more than the whole cache may hold.
fn subplan_limit(options: &CacheOptions) -> usize {
    options.subplan_max_bytes.min(options.result_memory_limit)
}

#[async_trait]
impl QueryPlanner for ResultCachePlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn Session,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let planner = planner();
        let options =
            session.config_options().extensions.get::<TarnSettings>().map(|s| s.0.cache.clone()).unwrap_or_default();

        if let LogicalPlan::Explain(explain) = plan {
            let physical = planner.create_physical_plan(plan, session).await?;
            let Some(cached) = self.explain(explain, session, &options).await? else { return Ok(physical) };
            let Some(exec) = physical.downcast_ref::<ExplainExec>() else { return Ok(physical) };
            let plans: Vec<StringifiedPlan> = exec
                .stringified_plans()
                .iter()
                .map(|p| match p.plan_type {
                    PlanType::FinalPhysicalPlan => StringifiedPlan::new(PlanType::FinalPhysicalPlan, cached.clone()),
                    _ => p.clone(),
                })
                .collect();
            return Ok(Arc::new(ExplainExec::new(exec.schema(), plans, exec.verbose())));
        }

        let analysis = analyze(plan);
        if matches!(analysis, Analysis::NotAQuery) {
            return planner.create_physical_plan(plan, session).await;
        }
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return planner.create_physical_plan(plan, session).await;
        };
        let bypass = Self::bypass(session);
        self.cache.configure(options.result_memory_limit, options.disk.then_some(options.disk_limit));
        let listed_at = SystemTime::now();
        let mut listings = Listings::new();
        let mut store = None;
        match analysis {
            _ if !options.results => self.cache.note(CacheOutcome::Disabled),
            Analysis::NotCacheable(reason) => self.cache.note(CacheOutcome::NotCacheable { reason }),
            Analysis::Cacheable(_) if bypass.is_some() => {
                self.cache.note(CacheOutcome::NotCacheable { reason: bypass.clone().unwrap_or_default() })
            }
            Analysis::Cacheable(scans) => {
                let key = ResultKey::build(plan, session, &scans, &mut listings, false).await?;
                if let Some(result) = self.cache.lookup(&key, EntryKind::Query) {
                    return Ok(Arc::new(ResultCacheExec::new(result)));
                }
                store = Some((key, scans));
            }
            Analysis::NotAQuery => {}
        }

        let whole_cached = store.is_some();
        let mut physical = if options.subplans && bypass.is_none() {
            let mut rewriter = Rewriter {
                cache: &self.cache,
                session: state,
                listings: &mut listings,
                listed_at,
                limit: subplan_limit(&options),
                record: true,
                changed: false,
                hits: 0,
                whole_cached,
            };
            let rewritten = rewriter.rewrite(plan).await?;
            let logical = if rewriter.changed { &rewritten } else { plan };
            planner.create_physical_plan(logical, session).await?
        } else {
            planner.create_physical_plan(plan, session).await?
        };
        let Some((key, scans)) = store else { return Ok(physical) };
        if physical.output_partitioning().partition_count() != 1 {
            physical = Arc::new(CoalescePartitionsExec::new(physical));
        }
        let pending = PendingStore {
            cache: self.cache.clone(),
            kind: EntryKind::Query,
            key,
            scans,
            session: Arc::new(state.clone()),
            limit: options.result_memory_limit,
            listed_at,
        };
        Ok(Arc::new(ResultCacheStoreExec::new(physical, Arc::new(pending))))
    }
}
