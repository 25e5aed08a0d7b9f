//! [`IndexPruningRule`]: a physical optimizer rule that uses secondary indexes
//! (`CREATE INDEX`) to drop the files, Parquet row groups and CSV/NDJSON byte
//! blocks of a scan that cannot hold a row matching the query's predicate,
//! before any of their bytes are read.
//!
//! It finds each `DataSourceExec` over a catalog table's files (the table's
//! scan tags every file with a [`ScanOrigin`]) and the predicates that apply
//! to its rows: a `FilterExec` above it (through nodes that keep rows and
//! columns: repartitioning, merging partitions, unions) and the Parquet source's own
//! pushed-down predicate. For every file that an index of that table covers
//! *as it is now* (same size, modification time and etag as when indexed),
//! the index's units are tested against the predicates; the file is dropped,
//! restricted to its matching row groups (a `ParquetAccessPlan`, which
//! DataFusion's own statistics and bloom-filter pruning then refine), or
//! split into ranged reads of its matching blocks. Files an index does not
//! cover, or covers stale, are left as they were: they are read in full.
//!
//! The rewritten scan is wrapped in an [`IndexPrunedExec`], which EXPLAIN
//! shows with the indexes used and what they pruned, and whose
//! `bytes_skipped` metric EXPLAIN ANALYZE reports.
//!
//! The rule is also where automatic maintenance starts: every scan of an
//! indexed table (with or without predicates) tells the engine's
//! `index::maintenance::Maintenance` which files each index does not cover
//! and whether covered files are gone; it indexes them in the background
//! (`tarn.index.auto_maintain`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::{FileRange, PartitionedFile};
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr_common::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::{ExecutionPlanMetricsSet, MetricBuilder, MetricsSet};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};

use crate::index::maintenance::ListedFile;
use crate::index::predicate::{ColumnResolver, may_match, mentions_indexed};
use crate::index::sidecar::Unit;
use crate::index::{IndexRegistry, LoadedIndex, same_file};
use crate::settings::TarnSettings;

/// Tag on every file of a catalog table's scan: which table it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanOrigin {
    pub table_id: i64,
}

/// Tag the files of every file scan in `plan` with the table they belong to.
pub(crate) fn tag_scan(plan: Arc<dyn ExecutionPlan>, table_id: i64) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_down(|node| {
        let Some(exec) = node.downcast_ref::<DataSourceExec>() else { return Ok(Transformed::no(node)) };
        let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>() else {
            return Ok(Transformed::no(node));
        };
        let groups = config
            .file_groups
            .iter()
            .map(|g| {
                FileGroup::new(
                    g.files()
                        .iter()
                        .cloned()
                        .map(|mut f| {
                            f.extensions.insert(ScanOrigin { table_id });
                            f
                        })
                        .collect(),
                )
            })
            .collect();
        let config = FileScanConfigBuilder::from(config.clone()).with_file_groups(groups).build();
        let exec = exec.clone().with_data_source(Arc::new(config));
        Ok(Transformed::yes(Arc::new(exec) as Arc<dyn ExecutionPlan>))
    })
    .map(|t| t.data)
}

/// Drops files, row groups and byte blocks that an index proves cannot match.
/// Switched off with `SET tarn.index.enabled = false`.
#[derive(Debug)]
pub struct IndexPruningRule {
    registry: Arc<IndexRegistry>,
}

impl IndexPruningRule {
    pub(crate) fn new(registry: Arc<IndexRegistry>) -> Self {
        Self { registry }
    }

    fn rewrite(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        predicates: Vec<Arc<dyn PhysicalExpr>>,
        mode: Mode,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(exec) = plan.downcast_ref::<DataSourceExec>() {
            return Ok(self.prune(exec, &predicates, mode).unwrap_or(plan));
        }
        let inherited = if let Some(filter) = plan.downcast_ref::<FilterExec>() {
            let mut p = vec![filter.predicate().clone()];
            if filter.projection().is_none() {
                p.extend(predicates);
            }
            p
        } else if plan.downcast_ref::<RepartitionExec>().is_some()
            || plan.downcast_ref::<CoalescePartitionsExec>().is_some()
            // A cached table's scan: the table cache's part and the file scan
            // of the files it does not hold, side by side.
            || plan.downcast_ref::<UnionExec>().is_some()
        {
            predicates
        } else {
            Vec::new()
        };
        let children: Vec<Arc<dyn ExecutionPlan>> = plan.children().into_iter().cloned().collect();
        if children.is_empty() {
            return Ok(plan);
        }
        let mut changed = false;
        let mut new_children = Vec::with_capacity(children.len());
        for child in children {
            let new = self.rewrite(child.clone(), inherited.clone(), mode)?;
            changed |= !Arc::ptr_eq(&new, &child);
            new_children.push(new);
        }
        if !changed {
            return Ok(plan);
        }
        datafusion::physical_plan::execution_plan::replace_children_if_necessary(plan, new_children)
    }

    /// The pruned replacement of a scan, if an index pruned anything.
    fn prune(
        &self,
        exec: &DataSourceExec,
        predicates: &[Arc<dyn PhysicalExpr>],
        mode: Mode,
    ) -> Option<Arc<dyn ExecutionPlan>> {
        let config = exec.data_source().downcast_ref::<FileScanConfig>()?;
        let table_id =
            config.file_groups.iter().flat_map(|g| g.files()).find_map(|f| f.extensions.get::<ScanOrigin>())?.table_id;
        if mode.maintain {
            self.request_maintenance(config, table_id);
        }
        if !mode.prune {
            return None;
        }
        // Predicates over the scan's output, and the source's own over the table schema.
        let table_schema = config.file_source().table_schema().table_schema().clone();
        let output = output_columns(config, &table_schema);
        let mut scoped: Vec<(Arc<dyn PhysicalExpr>, ScanColumns)> =
            predicates.iter().map(|p| (p.clone(), output.clone())).collect();
        if let Some(filter) = config.file_source().filter() {
            let table_columns = Arc::new(
                table_schema.fields().iter().map(|f| Some((f.name().clone(), f.data_type().clone()))).collect(),
            );
            scoped.push((filter, table_columns));
        }
        if scoped.is_empty() {
            return None;
        }
        let indexes = match self.registry.indexes_for_table(table_id) {
            Ok(i) => i,
            Err(e) => {
                log::warn!("indexes of table {table_id} not used: {e}");
                return None;
            }
        };
        // Per index, the predicates that mention its columns, with their resolvers.
        let applicable: Vec<(&Arc<LoadedIndex>, IndexPredicates)> = indexes
            .iter()
            .filter_map(|index| {
                let preds: Vec<_> = scoped
                    .iter()
                    .map(|(p, cols)| {
                        (p.clone(), IndexColumns { scan: cols.clone(), index: index.entry.def.columns.clone() })
                    })
                    .filter(|(p, r)| mentions_indexed(p, r))
                    .collect();
                (!preds.is_empty()).then_some((index, preds))
            })
            .collect();
        if applicable.is_empty() {
            return None;
        }

        let mut report = PruningReport::default();
        let mut groups = Vec::with_capacity(config.file_groups.len());
        let mut changed = false;
        for group in &config.file_groups {
            let mut files = Vec::with_capacity(group.len());
            for file in group.files() {
                let path = crate::lake::store_path(&config.object_store_url, &file.object_meta.location);
                let mut selection = Selection::All;
                let mut covered: Option<&[Unit]> = None;
                for (index, preds) in &applicable {
                    let Some(units) = covering_units(index, &path, file) else { continue };
                    covered = Some(units);
                    report.indexes.insert(index.entry.def.name.clone());
                    selection = selection.and(select(units, preds));
                }
                let Some(units) = covered else {
                    report.record_unindexed(&path);
                    files.push(file.clone());
                    continue;
                };
                let pieces = apply(file, &selection);
                report.record(&path, file, &pieces, &selection, units);
                changed |= !matches!(selection, Selection::All);
                files.extend(pieces);
            }
            groups.push(FileGroup::new(files));
        }
        if !changed {
            return None;
        }
        let mut builder = FileScanConfigBuilder::from(config.clone()).with_file_groups(groups);
        let mut summary = report.finish();
        if mode.row_filter
            && summary.row_groups.1 > 0
            && let Some(source) = config.file_source().downcast_ref::<ParquetSource>()
            && config.file_source().filter().is_some()
            && !source.table_parquet_options().global.pushdown_filters
        {
            // The index has shown the predicate selective: decode its columns
            // first and the others only for the rows that match.
            let source = source.clone().with_pushdown_filters(true).with_reorder_filters(true);
            builder = builder.with_source(Arc::new(source));
            summary.row_filter = true;
        }
        let scan = Arc::new(exec.clone().with_data_source(Arc::new(builder.build()))) as Arc<dyn ExecutionPlan>;
        Some(Arc::new(IndexPrunedExec::new(scan, summary)))
    }
}

impl IndexPruningRule {
    /// Tell maintenance which files of this scan each index of the table does
    /// not cover, and whether covered files are missing from it. Missing
    /// files mean removed ones only when the scan lists the whole table: no
    /// partition columns (whose filters prune the listing) and no limit
    /// (which may stop the listing early).
    fn request_maintenance(&self, config: &FileScanConfig, table_id: i64) {
        let indexes = match self.registry.indexes_for_table(table_id) {
            Ok(indexes) if !indexes.is_empty() => indexes,
            Ok(_) => return,
            Err(e) => {
                log::warn!("indexes of table {table_id} not maintained: {e}");
                return;
            }
        };
        let mut files: HashMap<String, &PartitionedFile> = HashMap::new();
        for file in config.file_groups.iter().flat_map(|g| g.files()) {
            files.entry(crate::lake::store_path(&config.object_store_url, &file.object_meta.location)).or_insert(file);
        }
        let whole_table = config.limit.is_none() && config.table_partition_cols().is_empty();
        for index in indexes.iter() {
            let mut uncovered = Vec::new();
            let mut covered = 0;
            for (path, file) in &files {
                let meta = &file.object_meta;
                let last_modified_ms = meta.last_modified.timestamp_millis();
                match index.files.get(path) {
                    Some(indexed) if same_file(indexed, meta.size, last_modified_ms, meta.e_tag.as_deref()) => {
                        covered += 1
                    }
                    _ => uncovered.push(ListedFile { path: path.clone(), size: meta.size, last_modified_ms }),
                }
            }
            let removed = whole_table && covered < index.files.len();
            self.registry.maintenance().request(table_id, index.entry.id, &uncovered, removed);
        }
    }
}

/// What the rule does in a session: prune (`tarn.index.enabled`), start
/// maintenance (`tarn.index.auto_maintain`).
#[derive(Debug, Clone, Copy)]
struct Mode {
    prune: bool,
    maintain: bool,
    /// Filter rows while decoding the Parquet scans the rule pruned (`tarn.index.row_filter`).
    row_filter: bool,
}

impl PhysicalOptimizerRule for IndexPruningRule {
    fn optimize(&self, plan: Arc<dyn ExecutionPlan>, config: &ConfigOptions) -> Result<Arc<dyn ExecutionPlan>> {
        let settings = config.extensions.get::<TarnSettings>().map(|s| &s.0.index);
        let mode = Mode {
            prune: settings.is_none_or(|s| s.enabled),
            maintain: settings.is_some_and(|s| s.auto_maintain),
            row_filter: settings.is_none_or(|s| s.row_filter),
        };
        if !mode.prune && !mode.maintain {
            return Ok(plan);
        }
        self.rewrite(plan, Vec::new(), mode)
    }

    fn name(&self) -> &str {
        "index_pruning"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// For each column of a predicate's input: the table column (name, type) it is, if it is one.
type ScanColumns = Arc<Vec<Option<(String, DataType)>>>;

/// The predicates an index can evaluate, each with its column resolver.
type IndexPredicates = Vec<(Arc<dyn PhysicalExpr>, IndexColumns)>;

/// For each output column of the scan: the table column it is, if it is one.
fn output_columns(config: &FileScanConfig, table_schema: &SchemaRef) -> ScanColumns {
    let columns = match config.file_source().projection() {
        Some(projection) => projection
            .iter()
            .map(|p| {
                let c = p.expr.downcast_ref::<Column>()?;
                let field = table_schema.fields().get(c.index())?;
                (field.name() == c.name()).then(|| (field.name().clone(), field.data_type().clone()))
            })
            .collect(),
        None => table_schema.fields().iter().map(|f| Some((f.name().clone(), f.data_type().clone()))).collect(),
    };
    Arc::new(columns)
}

/// Resolves predicate columns (by position in the predicate's input) to index columns.
struct IndexColumns {
    scan: ScanColumns,
    index: Vec<String>,
}

impl ColumnResolver for IndexColumns {
    fn resolve(&self, column: &Column) -> Option<(usize, DataType)> {
        let (name, data_type) = self.scan.get(column.index())?.as_ref()?;
        if name != column.name() {
            return None;
        }
        let position = self.index.iter().position(|c| c == name)?;
        Some((position, data_type.clone()))
    }
}

/// The units of `index` for the file as listed now; None when the index does
/// not cover it or covered an older version of it.
fn covering_units<'a>(index: &'a LoadedIndex, path: &str, file: &PartitionedFile) -> Option<&'a [Unit]> {
    let indexed = index.files.get(path)?;
    let meta = &file.object_meta;
    if !same_file(indexed, meta.size, meta.last_modified.timestamp_millis(), meta.e_tag.as_deref()) {
        return None;
    }
    index.units.get(path).map(Vec::as_slice)
}

/// What of a file may hold matching rows.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    All,
    Nothing,
    /// Row groups to read (Parquet).
    RowGroups(Vec<bool>),
    /// Byte blocks to read (sorted, disjoint, merged).
    Ranges(Vec<(u64, u64)>),
}

impl Selection {
    fn and(self, other: Selection) -> Selection {
        match (self, other) {
            (Selection::Nothing, _) | (_, Selection::Nothing) => Selection::Nothing,
            (Selection::All, s) | (s, Selection::All) => s,
            (Selection::RowGroups(a), Selection::RowGroups(b)) if a.len() == b.len() => {
                let keep: Vec<bool> = a.iter().zip(&b).map(|(x, y)| *x && *y).collect();
                Selection::row_groups(keep)
            }
            (Selection::Ranges(a), Selection::Ranges(b)) => {
                let mut out = Vec::new();
                for (s1, e1) in &a {
                    for (s2, e2) in &b {
                        let (s, e) = ((*s1).max(*s2), (*e1).min(*e2));
                        if s < e {
                            out.push((s, e));
                        }
                    }
                }
                out.sort_unstable();
                if out.is_empty() { Selection::Nothing } else { Selection::Ranges(out) }
            }
            // Different unit layouts (indexes built with different block sizes
            // or over different formats): keep the first, it is still safe.
            (s, _) => s,
        }
    }

    fn row_groups(keep: Vec<bool>) -> Selection {
        if keep.iter().all(|k| *k) {
            Selection::All
        } else if keep.iter().any(|k| *k) {
            Selection::RowGroups(keep)
        } else {
            Selection::Nothing
        }
    }
}

/// Test every unit of a file against the predicates.
fn select(units: &[Unit], predicates: &IndexPredicates) -> Selection {
    let keep: Vec<bool> = units.iter().map(|u| predicates.iter().all(|(p, r)| may_match(p, u, r))).collect();
    if keep.iter().all(|k| *k) {
        return Selection::All;
    }
    if !keep.iter().any(|k| *k) {
        return Selection::Nothing;
    }
    if units.iter().all(|u| u.row_group.is_some()) {
        let count = units.iter().filter_map(|u| u.row_group).max().map_or(0, |m| m as usize + 1);
        let mut mask = vec![true; count];
        for (u, k) in units.iter().zip(&keep) {
            if let Some(rg) = u.row_group {
                mask[rg as usize] = *k;
            }
        }
        return Selection::row_groups(mask);
    }
    if units.iter().all(|u| u.range.is_some()) {
        let mut ranges: Vec<(u64, u64)> = Vec::new();
        for (u, k) in units.iter().zip(&keep) {
            let Some((s, e)) = u.range else { continue };
            if !*k {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if last.1 == s => last.1 = e,
                _ => ranges.push((s, e)),
            }
        }
        return Selection::Ranges(ranges);
    }
    // Mixed or unexpected layout: read everything.
    Selection::All
}

/// The pieces of `file` to read under `selection`.
fn apply(file: &PartitionedFile, selection: &Selection) -> Vec<PartitionedFile> {
    match selection {
        Selection::All => vec![file.clone()],
        Selection::Nothing => Vec::new(),
        Selection::RowGroups(keep) => {
            let mut plan = match file.extensions.get::<ParquetAccessPlan>() {
                Some(existing) if existing.len() == keep.len() => existing.clone(),
                Some(_) => return vec![file.clone()],
                None => ParquetAccessPlan::new_all(keep.len()),
            };
            for (i, k) in keep.iter().enumerate() {
                if !k {
                    plan.skip(i);
                }
            }
            if plan.row_group_index_iter().next().is_none() {
                return Vec::new();
            }
            let mut f = file.clone();
            f.extensions.insert(plan);
            vec![f]
        }
        Selection::Ranges(ranges) => {
            let (start, end) = match &file.range {
                Some(r) => (r.start.max(0) as u64, r.end.max(0) as u64),
                None => (0, file.object_meta.size),
            };
            ranges
                .iter()
                .filter_map(|(s, e)| {
                    let (s, e) = ((*s).max(start), (*e).min(end));
                    (s < e).then(|| {
                        let mut f = file.clone();
                        f.range = Some(FileRange { start: s as i64, end: e as i64 });
                        f.statistics = None;
                        f
                    })
                })
                .collect()
        }
    }
}

/// What the rule did to one scan, shown by EXPLAIN.
#[derive(Debug, Default)]
struct PruningReport {
    indexes: BTreeSet<String>,
    /// Per file path: (bytes planned before, bytes planned after, kept anything).
    files: HashMap<String, (u64, u64, bool)>,
    unindexed: BTreeSet<String>,
    row_groups: (usize, usize),
    /// Files read in ranges, and the number of ranges.
    range_files: BTreeSet<String>,
    ranges: usize,
}

impl PruningReport {
    fn record_unindexed(&mut self, path: &str) {
        self.unindexed.insert(path.to_string());
    }

    fn record(
        &mut self,
        path: &str,
        file: &PartitionedFile,
        pieces: &[PartitionedFile],
        selection: &Selection,
        units: &[Unit],
    ) {
        let span = |f: &PartitionedFile| match &f.range {
            Some(r) => (r.end - r.start).max(0) as u64,
            None => f.object_meta.size,
        };
        let before = span(file);
        let after: u64 = match selection {
            Selection::RowGroups(keep) => {
                self.row_groups.0 += keep.len();
                self.row_groups.1 += keep.iter().filter(|k| **k).count();
                // The compressed size of the skipped row groups, as recorded in the index.
                let skipped: u64 = units
                    .iter()
                    .filter(|u| u.row_group.is_some_and(|rg| !keep.get(rg as usize).copied().unwrap_or(true)))
                    .map(|u| u.bytes)
                    .sum();
                before.saturating_sub(skipped)
            }
            Selection::Ranges(_) => {
                if !pieces.is_empty() {
                    self.range_files.insert(path.to_string());
                }
                self.ranges += pieces.len();
                pieces.iter().map(span).sum()
            }
            _ => pieces.iter().map(span).sum(),
        };
        let entry = self.files.entry(path.to_string()).or_insert((0, 0, false));
        entry.0 += before;
        entry.1 += after;
        entry.2 |= !pieces.is_empty();
    }

    fn finish(self) -> PruningSummary {
        let files = self.files.len();
        let files_read = self.files.values().filter(|f| f.2).count();
        let bytes_before: u64 = self.files.values().map(|f| f.0).sum();
        let bytes_after: u64 = self.files.values().map(|f| f.1).sum();
        PruningSummary {
            indexes: self.indexes.into_iter().collect(),
            files,
            files_pruned: files - files_read,
            unindexed_files: self.unindexed.len(),
            row_groups: self.row_groups,
            ranges: (self.range_files.len(), self.ranges),
            bytes_skipped: bytes_before.saturating_sub(bytes_after),
            row_filter: false,
        }
    }
}

/// What the rule pruned from one scan.
#[derive(Debug, Clone, PartialEq)]
pub struct PruningSummary {
    /// Names of the indexes used.
    pub indexes: Vec<String>,
    /// Files the indexes covered (current versions).
    pub files: usize,
    /// Of those, files not read at all.
    pub files_pruned: usize,
    /// Files of the scan no index covers (new or changed since indexing): read in full.
    pub unindexed_files: usize,
    /// Parquet row groups of partially read files: (total, kept).
    pub row_groups: (usize, usize),
    /// CSV/NDJSON files read in ranges: (files, ranges read; a block DataFusion
    /// split between partitions counts as two).
    pub ranges: (usize, usize),
    /// Bytes of the covered files the scan will not read.
    pub bytes_skipped: u64,
    /// Whether the rule switched on row-level filtering (late
    /// materialization) in the Parquet scan it pruned (`tarn.index.row_filter`).
    pub row_filter: bool,
}

/// A file scan an index pruned; delegates everything to it and reports what
/// was pruned (EXPLAIN) and the bytes skipped (metric `bytes_skipped`).
#[derive(Debug)]
pub struct IndexPrunedExec {
    input: Arc<dyn ExecutionPlan>,
    summary: PruningSummary,
    metrics: ExecutionPlanMetricsSet,
}

impl IndexPrunedExec {
    fn new(input: Arc<dyn ExecutionPlan>, summary: PruningSummary) -> Self {
        let metrics = ExecutionPlanMetricsSet::new();
        MetricBuilder::new(&metrics).global_counter("bytes_skipped").add(summary.bytes_skipped as usize);
        MetricBuilder::new(&metrics).global_counter("files_pruned").add(summary.files_pruned);
        Self { input, summary, metrics }
    }

    /// What the index pruned.
    pub fn summary(&self) -> &PruningSummary {
        &self.summary
    }
}

impl DisplayAs for IndexPrunedExec {
    fn fmt_as(&self, t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let s = &self.summary;
        match t {
            DisplayFormatType::TreeRender => {
                writeln!(f, "indexes={}", s.indexes.join(", "))?;
                write!(f, "files_pruned={} of {}", s.files_pruned, s.files)
            }
            _ => {
                write!(
                    f,
                    "IndexPrunedExec: indexes=[{}], files={} pruned of {} indexed",
                    s.indexes.join(", "),
                    s.files_pruned,
                    s.files
                )?;
                if s.unindexed_files > 0 {
                    write!(f, ", {} unindexed read in full", s.unindexed_files)?;
                }
                if s.row_groups.0 > 0 {
                    write!(f, ", row_groups={} kept of {}", s.row_groups.1, s.row_groups.0)?;
                }
                if s.ranges.0 > 0 {
                    write!(f, ", ranges={} in {} files", s.ranges.1, s.ranges.0)?;
                }
                write!(f, ", bytes_skipped={}", s.bytes_skipped)?;
                if s.row_filter {
                    write!(f, ", row_filter=on")?;
                }
                Ok(())
            }
        }
    }
}

impl ExecutionPlan for IndexPrunedExec {
    fn name(&self) -> &str {
        "IndexPrunedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    #[allow(deprecated)]
    fn with_new_children(self: Arc<Self>, mut children: Vec<Arc<dyn ExecutionPlan>>) -> Result<Arc<dyn ExecutionPlan>> {
        match children.pop() {
            Some(input) if children.is_empty() => {
                Ok(Arc::new(IndexPrunedExec { input, summary: self.summary.clone(), metrics: self.metrics.clone() }))
            }
            _ => Err(datafusion::error::DataFusionError::Internal("IndexPrunedExec has one child".into())),
        }
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}
