//! What a query's result depends on, as a [`ResultKey`]: the normalized
//! optimized logical plan, the settings in force, the definition of every
//! table it scans and the exact snapshot of the files those tables hold
//! (path, size, last-modified, etag), taken by a fresh listing.
//!
//! [`analyze`] decides first whether a plan may be cached at all: only
//! queries whose every scan reads a table over files ([`LakeTable`]) and
//! whose expressions are all immutable (no `random()`, `uuid()`, `now()`,
//! `current_date`, …) and hold no parameters.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use datafusion::catalog::{Session, TableProvider};
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::source_as_provider;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::expr::WindowFunctionDefinition;
use datafusion::logical_expr::{Expr, LogicalPlan, Volatility};

use crate::provider::LakeTable;

/// Settings that do not change what a query returns (the cache's own).
const IGNORED_SETTING_PREFIX: &str = "tarn.cache.";

/// One file as a listing saw it: a changed file has a different stamp.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct FileStamp {
    /// Path in its object store.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, nanoseconds since the Unix epoch.
    pub last_modified_ns: i64,
    /// The store's entity tag, if it has one.
    pub etag: Option<String>,
}

impl fmt::Display for FileStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes, modified {} ns", self.path, self.size, self.last_modified_ns)?;
        if let Some(etag) = &self.etag {
            write!(f, ", etag {etag}")?;
        }
        write!(f, ")")
    }
}

/// A table a plan scans, and the files it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanSnapshot {
    /// The table as the plan names it.
    pub table: String,
    /// Its files, sorted by path.
    pub files: Vec<FileStamp>,
}

/// A table scanned by a cacheable plan.
#[derive(Debug, Clone)]
pub(crate) struct ScannedTable {
    /// The table as the plan names it.
    pub name: String,
    /// Its provider (always a [`LakeTable`]).
    pub provider: Arc<dyn TableProvider>,
}

impl ScannedTable {
    fn lake(&self) -> Option<&LakeTable> {
        (self.provider.as_ref() as &dyn std::any::Any).downcast_ref::<LakeTable>()
    }

    /// List the table's files now.
    pub(crate) async fn snapshot(&self, session: &dyn Session) -> DfResult<ScanSnapshot> {
        let mut files = Vec::new();
        if let Some(lake) = self.lake() {
            for meta in lake.list_files(session).await? {
                files.push(FileStamp {
                    path: meta.location.to_string(),
                    size: meta.size,
                    last_modified_ns: meta
                        .last_modified
                        .timestamp_nanos_opt()
                        .unwrap_or_else(|| meta.last_modified.timestamp_millis().saturating_mul(1_000_000)),
                    etag: meta.e_tag.clone(),
                });
            }
        }
        files.sort();
        files.dedup();
        Ok(ScanSnapshot { table: self.name.clone(), files })
    }

    fn identity(&self) -> String {
        match self.lake() {
            Some(lake) => format!("{:?}", lake.definition()),
            None => self.name.clone(),
        }
    }
}

/// Whether a logical plan's result may be cached.
#[derive(Debug)]
pub(crate) enum Analysis {
    /// A statement, DDL, DML, EXPLAIN: not a query whose rows could be reused.
    NotAQuery,
    /// A query that must run every time, and why.
    NotCacheable(String),
    /// A query whose result depends only on its plan and these tables' files.
    Cacheable(Vec<ScannedTable>),
}

/// Decide whether `plan` (optimized) may be cached, and collect its scans.
pub(crate) fn analyze(plan: &LogicalPlan) -> Analysis {
    if !is_query(plan) {
        return Analysis::NotAQuery;
    }
    let mut scans = Vec::new();
    let mut reason: Option<String> = None;
    let walked = plan.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(scan) => match source_as_provider(&scan.source) {
                Ok(provider) if (provider.as_ref() as &dyn std::any::Any).is::<LakeTable>() => {
                    scans.push(ScannedTable { name: scan.table_name.to_string(), provider });
                }
                _ => {
                    reason = Some(format!("it reads '{}', which is not a table over files", scan.table_name));
                    return Ok(TreeNodeRecursion::Stop);
                }
            },
            LogicalPlan::Extension(ext) => {
                reason = Some(format!("its plan holds a '{}' node the cache does not know", ext.node.name()));
                return Ok(TreeNodeRecursion::Stop);
            }
            _ if !is_query(node) => {
                reason = Some("it contains a statement that is not a query".into());
                return Ok(TreeNodeRecursion::Stop);
            }
            _ => {}
        }
        match node_volatile_reason(node) {
            Some(why) => {
                reason = Some(why);
                Ok(TreeNodeRecursion::Stop)
            }
            None => Ok(TreeNodeRecursion::Continue),
        }
    });
    if let Err(e) = walked {
        return Analysis::NotCacheable(format!("its plan could not be analyzed: {e}"));
    }
    if let Some(reason) = reason {
        return Analysis::NotCacheable(reason);
    }
    if scans.is_empty() {
        return Analysis::NotCacheable("it reads no files".into());
    }
    Analysis::Cacheable(scans)
}

/// Why an unoptimized plan must not be cached, if it must not: the
/// optimizer folds `now()` and `current_date` into constants, so the engine
/// checks the plan as written before optimizing it.
pub(crate) fn volatile_reason_in(plan: &LogicalPlan) -> Option<String> {
    let mut reason = None;
    let _ = plan.apply_with_subqueries(|node| match node_volatile_reason(node) {
        Some(why) => {
            reason = Some(why);
            Ok(TreeNodeRecursion::Stop)
        }
        None => Ok(TreeNodeRecursion::Continue),
    });
    reason
}

/// Why one plan node's own expressions make its result unfit to keep, if
/// they do.
fn node_volatile_reason(node: &LogicalPlan) -> Option<String> {
    let mut reason = None;
    let _ = node.apply_expressions(|expr| {
        expr.apply(|e| match volatile_reason(e) {
            Some(why) => {
                reason = Some(why);
                Ok(TreeNodeRecursion::Stop)
            }
            None => Ok(TreeNodeRecursion::Continue),
        })
    });
    reason
}

fn is_query(plan: &LogicalPlan) -> bool {
    !matches!(
        plan,
        LogicalPlan::Dml(_)
            | LogicalPlan::Ddl(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_)
    )
}

fn volatile_reason(expr: &Expr) -> Option<String> {
    let (name, volatility) = match expr {
        Expr::ScalarFunction(f) => (f.func.name().to_string(), f.func.signature().volatility),
        Expr::AggregateFunction(f) => (f.func.name().to_string(), f.func.signature().volatility),
        Expr::WindowFunction(w) => match &w.fun {
            WindowFunctionDefinition::AggregateUDF(f) => (f.name().to_string(), f.signature().volatility),
            WindowFunctionDefinition::WindowUDF(f) => (f.name().to_string(), f.signature().volatility),
        },
        Expr::Placeholder(p) => return Some(format!("it has an unbound parameter {}", p.id)),
        _ => return None,
    };
    match volatility {
        Volatility::Immutable => None,
        Volatility::Stable => Some(format!("it calls {name}(), whose value depends on when the query runs")),
        Volatility::Volatile => Some(format!("it calls {name}(), which returns a new value every time")),
    }
}

/// The identity of a query result: the same key means the same rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResultKey {
    /// The normalized plan, the settings and the definitions of the scanned
    /// tables: everything but the files.
    pub plan: String,
    /// The files every scan reads, in plan order.
    pub scans: Vec<ScanSnapshot>,
}

/// The first line of a sub-plan's key text: a sub-plan's key never equals a
/// whole query's, even when the query is that sub-plan.
pub(crate) const SUBPLAN_PREFIX: &str = "sub-plan\n";

/// The listings taken for one query, by table name: every key built while
/// planning it (the query's and its sub-plans') uses the same snapshot.
pub(crate) type Listings = HashMap<String, ScanSnapshot>;

impl ResultKey {
    /// Build the key of `plan` (optimized, cacheable; a whole query, or a
    /// sub-plan when `subplan`) from the listing of every scanned table in
    /// `listings`, listing the tables not in it yet.
    pub(crate) async fn build(
        plan: &LogicalPlan,
        session: &dyn Session,
        scans: &[ScannedTable],
        listings: &mut Listings,
        subplan: bool,
    ) -> DfResult<Self> {
        let mut text = if subplan { SUBPLAN_PREFIX.to_string() } else { String::new() };
        text.push_str(&format!("{}\n", plan.display_indent_schema()));
        for scan in scans {
            text.push_str(&format!("table {} = {}\n", scan.name, scan.identity()));
        }
        for entry in session.config_options().entries() {
            if entry.key.starts_with(IGNORED_SETTING_PREFIX) {
                continue;
            }
            text.push_str(&format!("{}={}\n", entry.key, entry.value.as_deref().unwrap_or("NULL")));
        }
        let mut snapshots = Vec::with_capacity(scans.len());
        for scan in scans {
            let snapshot = match listings.get(&scan.name) {
                Some(listed) => listed.clone(),
                None => {
                    let listed = scan.snapshot(session).await?;
                    listings.insert(scan.name.clone(), listed.clone());
                    listed
                }
            };
            snapshots.push(snapshot);
        }
        Ok(ResultKey { plan: text, scans: snapshots })
    }

    /// Files in the key, over all scans.
    pub(crate) fn file_count(&self) -> usize {
        self.scans.iter().map(|s| s.files.len()).sum()
    }
}

/// List every scanned table's files.
pub(crate) async fn snapshot_all(session: &dyn Session, scans: &[ScannedTable]) -> DfResult<Vec<ScanSnapshot>> {
    let mut snapshots = Vec::with_capacity(scans.len());
    for scan in scans {
        snapshots.push(scan.snapshot(session).await?);
    }
    Ok(snapshots)
}

/// What differs between two snapshots of the same plan's files, for people:
/// `None` when they are equal.
pub(crate) fn describe_change(old: &[ScanSnapshot], new: &[ScanSnapshot]) -> Option<String> {
    if old == new {
        return None;
    }
    for (o, n) in old.iter().zip(new) {
        if o.files == n.files {
            continue;
        }
        let mut old_files = o.files.iter().peekable();
        let mut new_files = n.files.iter().peekable();
        loop {
            match (old_files.peek(), new_files.peek()) {
                (Some(a), Some(b)) if a == b => {
                    old_files.next();
                    new_files.next();
                }
                (Some(a), Some(b)) if a.path == b.path => {
                    return Some(format!("file {} of table '{}' changed (now {b})", a.path, o.table));
                }
                (Some(a), Some(b)) if a.path < b.path => {
                    return Some(format!("file {} of table '{}' was removed", a.path, o.table));
                }
                (_, Some(b)) => return Some(format!("file {} was added to table '{}'", b.path, n.table)),
                (Some(a), None) => return Some(format!("file {} of table '{}' was removed", a.path, o.table)),
                (None, None) => break,
            }
        }
    }
    Some("the files read changed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(path: &str, size: u64) -> FileStamp {
        FileStamp { path: path.into(), size, last_modified_ns: 1, etag: None }
    }

    fn snap(files: Vec<FileStamp>) -> Vec<ScanSnapshot> {
        vec![ScanSnapshot { table: "t".into(), files }]
    }

    #[test]
    fn describes_changed_added_and_removed_files() {
        let base = snap(vec![stamp("a", 1), stamp("b", 1)]);
        assert_eq!(describe_change(&base, &base), None);
        let changed = describe_change(&base, &snap(vec![stamp("a", 1), stamp("b", 2)]));
        assert!(changed.is_some_and(|m| m.starts_with("file b of table 't' changed")));
        let added = describe_change(&base, &snap(vec![stamp("a", 1), stamp("b", 1), stamp("c", 1)]));
        assert_eq!(added.as_deref(), Some("file c was added to table 't'"));
        let removed = describe_change(&base, &snap(vec![stamp("b", 1)]));
        assert_eq!(removed.as_deref(), Some("file a of table 't' was removed"));
    }
}
