//! How the result cache hooks into DataFusion: [`ResultCachePlanner`] is the
//! session's `QueryPlanner`, the step that turns the *optimized* logical plan
//! into a physical plan. Every query — through `Engine::sql` or directly on
//! the session context — passes here once, after optimization (so the key is
//! the normalized plan) and before any data is read (so a hit reads none).
//!
//! For a cacheable query it lists the scanned tables' files, builds the
//! [`ResultKey`], and either plans a [`ResultCacheExec`] (hit) or plans the
//! query as usual under a [`ResultCacheStoreExec`] (miss). `EXPLAIN` of a
//! query that would be served from the cache shows `ResultCacheExec` as its
//! physical plan; other plans are left exactly as DataFusion plans them.

use std::sync::Arc;

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
use super::key::{Analysis, ResultKey, analyze};
use super::{CacheOutcome, ResultCache};
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

    /// EXPLAIN (not ANALYZE) of a query that would be served from the cache:
    /// the physical plan shown is the `ResultCacheExec` that would run.
    async fn explain(
        &self,
        explain: &Explain,
        session: &dyn Session,
        options: &CacheOptions,
    ) -> DfResult<Option<String>> {
        if !options.results || Self::bypass(session).is_some() {
            return Ok(None);
        }
        let Analysis::Cacheable(scans) = analyze(&explain.plan) else { return Ok(None) };
        let key = ResultKey::build(&explain.plan, session, &scans).await?;
        Ok(self.cache.peek(&key).map(|result| {
            displayable(&ResultCacheExec::new(result) as &dyn ExecutionPlan).indent(explain.verbose).to_string()
        }))
    }
}

#[async_trait]
impl QueryPlanner for ResultCachePlanner {
    async fn create_physical_plan(
        &self,
        plan: &LogicalPlan,
        session: &dyn Session,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let planner = DefaultPhysicalPlanner::default();
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

        let scans = match analyze(plan) {
            Analysis::NotAQuery => return planner.create_physical_plan(plan, session).await,
            _ if !options.results => {
                self.cache.note(CacheOutcome::Disabled);
                return planner.create_physical_plan(plan, session).await;
            }
            Analysis::NotCacheable(reason) => {
                self.cache.note(CacheOutcome::NotCacheable { reason });
                return planner.create_physical_plan(plan, session).await;
            }
            Analysis::Cacheable(scans) => scans,
        };
        if let Some(reason) = Self::bypass(session) {
            self.cache.note(CacheOutcome::NotCacheable { reason });
            return planner.create_physical_plan(plan, session).await;
        }
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return planner.create_physical_plan(plan, session).await;
        };

        self.cache.set_limit(options.result_memory_limit);
        let listed_at = std::time::SystemTime::now();
        let key = ResultKey::build(plan, session, &scans).await?;
        if let Some(result) = self.cache.lookup(&key) {
            return Ok(Arc::new(ResultCacheExec::new(result)));
        }
        let mut physical = planner.create_physical_plan(plan, session).await?;
        if physical.output_partitioning().partition_count() != 1 {
            physical = Arc::new(CoalescePartitionsExec::new(physical));
        }
        let pending = PendingStore {
            cache: self.cache.clone(),
            key,
            scans,
            session: Arc::new(state.clone()),
            limit: options.result_memory_limit,
            listed_at,
        };
        Ok(Arc::new(ResultCacheStoreExec::new(physical, pending)))
    }
}
