//! Building an index: every file of the table is cut into units (Parquet row
//! groups, byte blocks of uncompressed CSV/NDJSON, otherwise the whole file),
//! each unit is scanned through the table's own DataFusion file source
//! (projected to the indexed columns, so decoding is exactly the query's),
//! and its summaries are streamed into a new sidecar file by file.
//!
//! A byte block `[start, end)` holds the rows whose line *starts* in it: that
//! is how DataFusion's CSV and JSON sources read a `PartitionedFile` range
//! (they skip to the first line start at or after `start` and finish the line
//! crossing `end`), so the blocks partition the rows and a query reads a kept
//! block with the same range. The first block holds the CSV header.
//!
//! Files are processed `concurrency` at a time; memory holds the summaries of
//! those files and one batch per running scan, whatever the lake's size.
//! Progress (files and bytes scanned of those to scan) is counted in a
//! [`BuildTracker`] the shell's progress line reads.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetAccessPlan;
use datafusion::datasource::physical_plan::parquet::metadata::DFParquetMetadata;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfig, FileScanConfigBuilder};
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::context::SessionState;
use datafusion::physical_plan::ExecutionPlan;
use fastbloom::BloomFilter;
use futures::{StreamExt, TryStreamExt};
use tarn_catalog::{FileFormat, IndexedFile, TableDefinition};

use super::IndexKind;
use super::key::for_each_key;
use super::progress::BuildTracker;
use super::sidecar::{BLOOM_SEED, ColumnSummary, SidecarWriter, Unit};
use crate::error::{Error, Result};
use crate::provider::LakeTable;
use datafusion::common::runtime::SpawnedTask;

/// How to build.
#[derive(Debug, Clone)]
pub(crate) struct BuildOptions {
    pub kind: IndexKind,
    pub block_size: u64,
    pub bloom_false_positive_rate: f64,
    /// Largest share of a unit's bytes one column's bloom filter may take.
    pub bloom_max_size_ratio: f64,
    pub values_limit: usize,
    pub concurrency: usize,
    /// Automatic maintenance: a file that cannot be indexed is left out (and
    /// reported in [`Built::failed`]) instead of failing the build, and
    /// nothing is written when no file was added, changed or removed.
    pub background: bool,
    /// Files that failed to index before, by path: (size, modification time
    /// in ms). Not tried again while they are unchanged.
    pub known_failures: HashMap<String, (u64, i64)>,
}

/// What a build produced.
#[derive(Debug)]
pub(crate) struct Built {
    pub sidecar: String,
    pub sidecar_bytes: u64,
    pub files: Vec<IndexedFile>,
    /// Files scanned by this build (the others were carried over).
    pub scanned: usize,
    /// Files left out because they could not be indexed (background builds
    /// only), with the error.
    pub failed: Vec<(IndexedFile, String)>,
}

/// A previous build whose entries for unchanged files are carried over.
pub(crate) struct Previous<'a> {
    pub files: HashMap<String, IndexedFile>,
    pub units: &'a HashMap<String, Vec<Unit>>,
}

/// Whether a table's files can be read by byte range (uncompressed CSV
/// without newlines inside values, newline-delimited JSON).
fn splittable(def: &TableDefinition) -> bool {
    let uncompressed =
        def.options.get("format.compression").is_none_or(|c| c.is_empty() || c.eq_ignore_ascii_case("uncompressed"));
    let option_is = |k: &str, v: &str| def.options.get(k).is_some_and(|x| x.eq_ignore_ascii_case(v));
    uncompressed
        && match def.format {
            FileFormat::Csv => !option_is("format.newlines_in_values", "true"),
            FileFormat::Json => !option_is("format.newline_delimited", "false"),
            FileFormat::Parquet => false,
        }
}

/// The file scan of `plan` (the table's scan is one `DataSourceExec`).
pub(crate) fn file_scan(plan: &Arc<dyn ExecutionPlan>) -> Option<FileScanConfig> {
    let mut found = None;
    let _ = plan.apply(|node| {
        if let Some(exec) = node.downcast_ref::<DataSourceExec>()
            && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
        {
            found = Some(config.clone());
            return Ok(TreeNodeRecursion::Stop);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

/// What to build, and where.
pub(crate) struct BuildTarget<'a> {
    pub table: &'a LakeTable,
    pub index_id: i64,
    pub columns: &'a [String],
    pub dir: &'a Path,
}

/// Build (or incrementally rebuild) the sidecar of one index. `None` when
/// `options.background` and nothing changed since `previous`.
pub(crate) async fn build(
    state: &SessionState,
    target: BuildTarget<'_>,
    options: &BuildOptions,
    previous: Option<Previous<'_>>,
    tracker: &Arc<BuildTracker>,
) -> Result<Option<Built>> {
    let BuildTarget { table, index_id, columns, dir } = target;
    let schema = table.schema();
    let projection = columns
        .iter()
        .map(|c| schema.index_of(c).map_err(|_| Error::NotFound { kind: "column", name: c.clone() }))
        .collect::<Result<Vec<_>>>()?;
    let plan = table.file_scan_plan(state, Some(&projection), &[], None).await?;
    let config = file_scan(&plan).ok_or_else(|| Error::internal("a lake table's scan has no file source"))?;
    let store = state.runtime_env().object_store(&config.object_store_url)?;
    let files: Vec<PartitionedFile> = config.file_groups.iter().flat_map(|g| g.files().iter().cloned()).collect();
    let blocks = splittable(table.definition());
    let total = files.len();
    log::info!("indexing {total} files of {}.{}", table.definition().schema, table.definition().name);

    let mut indexed = Vec::with_capacity(total);
    let mut carried_units = Vec::new();
    let mut to_scan = Vec::new();
    let mut known_failures = 0;
    for file in files {
        let path = crate::lake::store_path(&config.object_store_url, &file.object_meta.location);
        let identity = IndexedFile {
            path: path.clone(),
            size: file.object_meta.size,
            last_modified_ms: Some(file.object_meta.last_modified.timestamp_millis()),
            etag: file.object_meta.e_tag.clone(),
            units: 0,
        };
        let carried = previous.as_ref().and_then(|p| {
            let old = p.files.get(&path)?;
            let same = super::same_file(
                old,
                identity.size,
                identity.last_modified_ms.unwrap_or_default(),
                identity.etag.as_deref(),
            );
            // A file with no rows has no units in the sidecar.
            same.then(|| p.units.get(&path).map(Vec::as_slice).unwrap_or(&[]))
        });
        let failed_before = options
            .known_failures
            .get(&path)
            .is_some_and(|(size, modified)| *size == identity.size && Some(*modified) == identity.last_modified_ms);
        match carried {
            Some(units) => {
                carried_units.push(units);
                indexed.push(IndexedFile { units: units.len() as u64, ..identity });
            }
            None if failed_before => known_failures += 1,
            None => to_scan.push((file, identity)),
        }
    }
    let unchanged = previous.as_ref().is_some_and(|p| p.files.len() == indexed.len());
    if options.background && to_scan.is_empty() && unchanged {
        return Ok(None);
    }
    if known_failures > 0 {
        log::info!("{known_failures} files that failed to index before are unchanged: not tried again");
    }
    let mut writer = SidecarWriter::create(dir, index_id, options.kind, columns)?;
    for (file, units) in indexed.iter().zip(carried_units) {
        writer.write_file(&file.path, units)?;
    }
    let scanned = to_scan.len();
    tracker.set_total(scanned as u64, to_scan.iter().map(|(f, _)| f.object_meta.size).sum());
    // Each file is indexed on a task of its own, so that several files are
    // decoded on several cores at once (futures polled by this one task
    // would share its thread); a dropped build (a cancelled statement)
    // aborts its tasks.
    let shared = Arc::new((state.clone(), config, store, options.clone()));
    let mut results = futures::stream::iter(to_scan)
        .map(|(file, identity)| {
            let (shared, tracker) = (shared.clone(), tracker.clone());
            let task = SpawnedTask::spawn(async move {
                let (state, config, store, options) = &*shared;
                let units = index_file(state, config, store, file, &identity.path, blocks, options, &tracker).await;
                (identity, units)
            });
            task.join()
        })
        .buffered(options.concurrency.max(1));
    let mut done = 0usize;
    let mut failed = Vec::new();
    while let Some(joined) = results.next().await {
        let (identity, units) = joined.map_err(|e| Error::internal(format!("an index build task failed: {e}")))?;
        let units = match units {
            Ok(units) => units,
            Err(e) if options.background => {
                log::warn!("index maintenance: cannot index '{}': {e}", identity.path);
                failed.push((identity, e.to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        writer.write_file(&identity.path, &units)?;
        tracker.file_done(identity.size.saturating_sub(units.iter().map(|u| u.bytes).sum()));
        indexed.push(IndexedFile { units: units.len() as u64, ..identity });
        done += 1;
        if done.is_multiple_of(100) || done == scanned {
            log::info!("indexed {done} of {scanned} files");
        }
    }
    let (sidecar, sidecar_bytes) = writer.finish()?;
    Ok(Some(Built { sidecar, sidecar_bytes, files: indexed, scanned, failed }))
}

/// The units of one file and their summaries.
#[allow(clippy::too_many_arguments)]
async fn index_file(
    state: &SessionState,
    config: &FileScanConfig,
    store: &Arc<dyn object_store::ObjectStore>,
    file: PartitionedFile,
    path: &str,
    blocks: bool,
    options: &BuildOptions,
    tracker: &BuildTracker,
) -> Result<Vec<Unit>> {
    let size = file.object_meta.size;
    let mut plans: Vec<PlannedUnit> = Vec::new();
    let mut base = file.clone();
    base.statistics = None;
    base.range = None;
    if config.file_source().file_type() == "parquet" {
        let metadata = DFParquetMetadata::new(store.as_ref(), &file.object_meta)
            .fetch_metadata()
            .await
            .map_err(|e| Error::from(e).with_path(path))?;
        let groups = metadata.row_groups();
        for (i, rg) in groups.iter().enumerate() {
            let mut plan = ParquetAccessPlan::new_none(groups.len());
            plan.scan(i);
            let mut unit = base.clone();
            unit.extensions.insert(plan);
            let bytes = u64::try_from(rg.compressed_size()).unwrap_or_default();
            plans.push(PlannedUnit { row_group: Some(i as u32), range: None, bytes, file: unit });
        }
    } else if blocks && size > options.block_size {
        let mut start = 0;
        while start < size {
            let end = (start + options.block_size).min(size);
            let mut unit = base.clone();
            unit.range = Some(datafusion::datasource::listing::FileRange { start: start as i64, end: end as i64 });
            plans.push(PlannedUnit { row_group: None, range: Some((start, end)), bytes: end - start, file: unit });
            start = end;
        }
    } else {
        plans.push(PlannedUnit { row_group: None, range: None, bytes: size, file: base });
    }
    let mut units = Vec::with_capacity(plans.len());
    for PlannedUnit { row_group, range, bytes, file: unit_file } in plans {
        let unit_config =
            FileScanConfigBuilder::from(config.clone()).with_file_groups(vec![FileGroup::new(vec![unit_file])]).build();
        let exec = DataSourceExec::from_data_source(unit_config);
        let mut stream = exec.execute(0, state.task_ctx())?;
        let columns = config.projected_schema()?.fields().len();
        let mut accs: Vec<ColumnAccumulator> = (0..columns).map(|_| ColumnAccumulator::new(options)).collect();
        let mut rows = 0u64;
        while let Some(batch) = stream.try_next().await.map_err(|e| Error::from(e).with_path(path))? {
            rows += batch.num_rows() as u64;
            for (acc, array) in accs.iter_mut().zip(batch.columns()) {
                acc.add(array)?;
            }
        }
        tracker.add_bytes(bytes);
        units.push(Unit {
            row_group,
            range,
            bytes,
            rows,
            columns: accs.into_iter().map(|a| a.finish(options, bytes)).collect(),
        });
    }
    Ok(units)
}

/// A unit to scan: where it is, and the file restricted to it.
struct PlannedUnit {
    row_group: Option<u32>,
    range: Option<(u64, u64)>,
    bytes: u64,
    file: PartitionedFile,
}

/// Summary of one column over one unit, as batches arrive.
struct ColumnAccumulator {
    min: Option<Vec<u8>>,
    max: Option<Vec<u8>>,
    nulls: u64,
    hashes: Option<HashSet<u64>>,
    hasher: Option<BloomFilter>,
    values: Option<HashSet<Vec<u8>>>,
    values_limit: usize,
}

impl ColumnAccumulator {
    fn new(options: &BuildOptions) -> Self {
        let bloom = options.kind == IndexKind::Bloom;
        Self {
            min: None,
            max: None,
            nulls: 0,
            hashes: bloom.then(HashSet::new),
            // A one-word filter only used for its seeded hasher (`source_hash`).
            hasher: bloom.then(|| BloomFilter::with_num_bits(64).seed(&BLOOM_SEED).hashes(1)),
            values: (options.kind == IndexKind::Values).then(HashSet::new),
            values_limit: options.values_limit,
        }
    }

    fn add(&mut self, array: &datafusion::arrow::array::ArrayRef) -> Result<()> {
        self.nulls += array.null_count() as u64;
        let Self { min, max, hashes, hasher, values, values_limit, .. } = self;
        let limit = *values_limit;
        for_each_key(array, |key| {
            if min.as_deref().is_none_or(|m| key < m) {
                *min = Some(key.to_vec());
            }
            if max.as_deref().is_none_or(|m| key > m) {
                *max = Some(key.to_vec());
            }
            if let (Some(hashes), Some(hasher)) = (hashes.as_mut(), hasher.as_ref()) {
                hashes.insert(hasher.source_hash(key));
            }
            // Past the limit the set is useless: stop growing it (bounded memory).
            if values.as_ref().is_some_and(|set| set.len() > limit) {
                *values = None;
            }
            if let Some(set) = values.as_mut()
                && !set.contains(key)
            {
                set.insert(key.to_vec());
            }
        })?;
        Ok(())
    }

    /// The summary of a unit of `unit_bytes` bytes. The bloom filter gets the
    /// configured false-positive rate unless that would make it larger than
    /// `bloom_max_size_ratio` of the unit (formats that store rows compactly,
    /// like Parquet) and than 512 bytes: then it gets that many bits, and a
    /// higher rate.
    fn finish(self, options: &BuildOptions, unit_bytes: u64) -> ColumnSummary {
        let bloom = self.hashes.map(|hashes| {
            let rate = options.bloom_false_positive_rate.clamp(1e-9, 0.5);
            let items = hashes.len().max(1);
            let wanted = BloomFilter::with_false_pos(rate).seed(&BLOOM_SEED).expected_items(items);
            // Never below 512 bytes: small units keep precise filters (their size is no concern).
            let cap = ((unit_bytes as f64 * 8.0 * options.bloom_max_size_ratio.clamp(0.0, 1.0)) as usize).max(4096);
            let mut filter = if wanted.num_bits() > cap {
                BloomFilter::with_num_bits(cap).seed(&BLOOM_SEED).expected_items(items)
            } else {
                wanted
            };
            for h in hashes {
                filter.insert_hash(h);
            }
            filter
        });
        let values = self.values.filter(|v| v.len() <= options.values_limit);
        ColumnSummary { min: self.min, max: self.max, nulls: self.nulls, bloom, values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array};

    fn options() -> BuildOptions {
        BuildOptions {
            kind: IndexKind::Bloom,
            block_size: 1 << 20,
            bloom_false_positive_rate: 0.001,
            bloom_max_size_ratio: 0.048,
            values_limit: 256,
            concurrency: 1,
            background: false,
            known_failures: HashMap::new(),
        }
    }

    /// The bloom filter of 10,000 distinct keys in a unit of `unit_bytes` bytes: its size in bits.
    fn bloom_bits(unit_bytes: u64) -> usize {
        let options = options();
        let mut acc = ColumnAccumulator::new(&options);
        let keys: ArrayRef = Arc::new(Int64Array::from_iter_values(0..10_000));
        acc.add(&keys).unwrap_or_else(|e| unreachable!("{e}"));
        acc.finish(&options, unit_bytes).bloom.map_or(0, |b| b.num_bits())
    }

    #[test]
    fn bloom_filters_are_capped_at_a_share_of_their_unit() {
        // A large unit (CSV-like, 1 MiB): the configured rate decides, about 14 bits a key.
        let uncapped = bloom_bits(1 << 20);
        assert!((130_000..=170_000).contains(&uncapped), "{uncapped}");
        // A compact unit (Parquet-like, 250 KB): 4.8 % of its bytes, 96,000 bits.
        let capped = bloom_bits(250_000);
        assert!(capped <= 96_000 && capped > 90_000, "{capped}");
        // A tiny unit: never below 512 bytes.
        assert!(bloom_bits(1_000) >= 4096);
    }
}
