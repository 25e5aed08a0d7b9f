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
use super::sidecar::{BLOOM_SEED, ColumnSummary, SidecarWriter, Unit};
use crate::error::{Error, Result};
use crate::provider::LakeTable;

/// How to build.
#[derive(Debug, Clone)]
pub(crate) struct BuildOptions {
    pub kind: IndexKind,
    pub block_size: u64,
    pub bloom_false_positive_rate: f64,
    pub values_limit: usize,
    pub concurrency: usize,
}

/// What a build produced.
#[derive(Debug)]
pub(crate) struct Built {
    pub sidecar: String,
    pub sidecar_bytes: u64,
    pub files: Vec<IndexedFile>,
    /// Files scanned by this build (the others were carried over).
    pub scanned: usize,
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

/// Build (or incrementally rebuild) the sidecar of one index.
pub(crate) async fn build(
    state: &SessionState,
    table: &LakeTable,
    index_id: i64,
    columns: &[String],
    dir: &Path,
    options: &BuildOptions,
    previous: Option<Previous<'_>>,
) -> Result<Built> {
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

    let mut writer = SidecarWriter::create(dir, index_id, options.kind, columns)?;
    let mut indexed = Vec::with_capacity(total);
    let mut to_scan = Vec::new();
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
            same.then(|| p.units.get(&path)).flatten()
        });
        match carried {
            Some(units) => {
                writer.write_file(&path, units)?;
                indexed.push(IndexedFile { units: units.len() as u64, ..identity });
            }
            None => to_scan.push((file, identity)),
        }
    }
    let scanned = to_scan.len();
    let config = &config;
    let store = &store;
    let mut results = futures::stream::iter(to_scan)
        .map(|(file, identity)| async move {
            let units = index_file(state, config, store, file, &identity.path, blocks, options).await?;
            Ok::<_, Error>((identity, units))
        })
        .buffered(options.concurrency.max(1));
    let mut done = 0usize;
    while let Some((identity, units)) = results.try_next().await? {
        writer.write_file(&identity.path, &units)?;
        indexed.push(IndexedFile { units: units.len() as u64, ..identity });
        done += 1;
        if done.is_multiple_of(100) || done == scanned {
            log::info!("indexed {done} of {scanned} files");
        }
    }
    let (sidecar, sidecar_bytes) = writer.finish()?;
    Ok(Built { sidecar, sidecar_bytes, files: indexed, scanned })
}

/// The units of one file and their summaries.
async fn index_file(
    state: &SessionState,
    config: &FileScanConfig,
    store: &Arc<dyn object_store::ObjectStore>,
    file: PartitionedFile,
    path: &str,
    blocks: bool,
    options: &BuildOptions,
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
        units.push(Unit {
            row_group,
            range,
            bytes,
            rows,
            columns: accs.into_iter().map(|a| a.finish(options)).collect(),
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

    fn finish(self, options: &BuildOptions) -> ColumnSummary {
        let bloom = self.hashes.map(|hashes| {
            let rate = options.bloom_false_positive_rate.clamp(1e-9, 0.5);
            let mut filter = BloomFilter::with_false_pos(rate).seed(&BLOOM_SEED).expected_items(hashes.len().max(1));
            for h in hashes {
                filter.insert_hash(h);
            }
            filter
        });
        let values = self.values.filter(|v| v.len() <= options.values_limit);
        ColumnSummary { min: self.min, max: self.max, nulls: self.nulls, bloom, values }
    }
}
