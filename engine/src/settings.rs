//! Tarn's own settings, the `tarn.*` namespace of `SET`, registered as a
//! DataFusion config extension so `SET tarn.sniff_csv = false`,
//! `SHOW tarn.sniff_csv` and `information_schema.df_settings` work like
//! DataFusion's own `datafusion.*` settings.

use std::any::Any;

use datafusion::common::{config_namespace, extensions_options};
use datafusion::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::Result;
use datafusion::execution::context::SessionState;

extensions_options! {
    /// Settings of Tarn's catalog and engine (`SET tarn.<name> = <value>`).
    pub struct TarnOptions {
        /// Detect the delimiter and header of CSV files that do not declare them.
        pub sniff_csv: bool, default = true
        /// Read row counts and per-column min/max/null counts from Parquet
        /// footers into the catalog's file manifest when tables are created
        /// or refreshed.
        pub collect_statistics: bool, default = true
        /// Plan Parquet scans from the manifest's per-file statistics
        /// instead of decoding every file's footer (for files unchanged since
        /// the manifest recorded them; others are read as before).
        pub manifest_statistics: bool, default = true
        /// While planning, drop the Parquet files whose statistics rule out
        /// a scan's predicate (DataFusion would open each to find out).
        pub statistics_pruning: bool, default = true
        /// How many files are inspected (schema inference, footers) at once.
        pub inspect_concurrency: usize, default = 8
        /// Secondary indexes (`tarn.index.*`).
        pub index: IndexOptions, default = IndexOptions::default()
        /// Caching (`tarn.cache.*`).
        pub cache: CacheOptions, default = CacheOptions::default()
    }
}

config_namespace! {
    /// Settings of secondary indexes (`SET tarn.index.<name> = <value>`).
    pub struct IndexOptions {
        /// Use indexes to skip files, row groups and blocks in queries
        /// (the `IndexPruningRule`); `false` reads as if there were none.
        pub enabled: bool, default = true
        /// In the Parquet scans whose row groups an index pruned, filter rows
        /// while decoding (late materialization): the predicate's columns
        /// are decoded first and the others only for matching rows. The
        /// index has shown the predicate selective there, which is when this
        /// pays; DataFusion's own `parquet.pushdown_filters` does it for
        /// every scan.
        pub row_filter: bool, default = true
        /// Size in bytes of the blocks uncompressed CSV and NDJSON files are
        /// indexed in (a query reads only the blocks that may match).
        pub block_size: u64, default = 1024 * 1024
        /// Target false-positive rate of bloom indexes (smaller: bigger
        /// index, fewer blocks read in vain).
        pub bloom_false_positive_rate: f64, default = 0.0005
        /// Largest share of a unit's bytes that one column's bloom filter
        /// may take: where the false-positive rate would need more (formats
        /// that store a row in few bytes, like Parquet), the filter gets this
        /// size (but at least 512 bytes) and a correspondingly higher rate.
        /// Keeps index size near this share of the data.
        pub bloom_max_size_ratio: f64, default = 0.048
        /// Most distinct values a `values` index keeps per unit; a unit with
        /// more is summarized by min/max only.
        pub values_limit: usize, default = 256
        /// How many files are indexed at once (`CREATE INDEX`, `REINDEX`,
        /// `REFRESH TABLE`).
        pub build_concurrency: usize, default = 4
        /// Index new and changed files automatically: when a query's scan
        /// sees files an index does not cover, they are indexed in the
        /// background (the query itself reads them in full, as always).
        pub auto_maintain: bool, default = true
        /// How many files automatic maintenance indexes at once (on one
        /// background thread of its own, so queries keep the other cores).
        pub maintenance_concurrency: usize, default = 1
    }
}

config_namespace! {
    /// The `tarn.cache.*` settings: what Tarn keeps between queries.
    pub struct CacheOptions {
        /// Serve a repeated query from the result cache when neither its plan
        /// nor any file it reads has changed (checked by a fresh listing of
        /// path, size, last-modified and etag at every query).
        pub results: bool, default = true
        /// Bytes of record batches the result cache may hold; least recently
        /// used entries are evicted beyond it, and a larger result is not kept.
        pub result_memory_limit: usize, default = 256 * 1024 * 1024
        /// Also cache the results of aggregations and joins inside queries
        /// (sub-plans), under the same never-stale rules, so a query that
        /// differs from an earlier one only above such a node (another
        /// filter on its output, another ORDER BY or LIMIT, a CTE used
        /// again) reads the node's rows from the cache. Independent of
        /// `tarn.cache.results`. Off by default: recording costs time and
        /// memory on every first run (TPC-H SF1, 22 queries in a fresh
        /// process: 4.05 s and 796 MiB on, 3.20 s and 426 MiB off), which
        /// only repeated dashboards with varying filters win back.
        pub subplans: bool, default = false
        /// Most bytes one sub-plan's result may take: recording stops when it
        /// grows past this (the query is not affected) and the sub-plan is
        /// not recorded again until its files change. Sub-plan entries share
        /// `tarn.cache.result_memory_limit` with whole results.
        pub subplan_max_bytes: usize, default = 32 * 1024 * 1024
        /// Also write cached results (whole and sub-plan) as Arrow IPC files
        /// to `<catalog file>.cache/`, so a new process over unchanged files
        /// is served from them. Off by default: it writes every stored
        /// result to disk beside the catalog. No effect for an in-memory
        /// catalog.
        pub disk: bool, default = false
        /// Bytes the on-disk tier may take; least recently used files are
        /// deleted beyond it.
        pub disk_limit: u64, default = 1024 * 1024 * 1024
        /// Serve the scans of tables marked by `CACHE TABLE` from memory
        /// (each file whose path, size, last-modified time and etag are
        /// unchanged); `false` reads their files as if nothing were cached.
        pub tables: bool, default = true
        /// Bytes of Arrow data the table cache may hold (measured). `CACHE
        /// TABLE` fails when a table does not fit in what is free; files that
        /// grow a cached table past it are read from disk; lowering it drops
        /// the data of the least recently scanned tables.
        pub table_memory_limit: usize, default = 2 * 1024 * 1024 * 1024
        /// Cache Parquet footers and page indexes, so a repeated query does
        /// not read them again; an entry is used only while its file's size
        /// and modification time are unchanged.
        pub metadata: bool, default = true
        /// Bytes of decoded footers the metadata cache may hold in memory;
        /// least recently used entries are evicted beyond it.
        pub metadata_memory_limit: usize, default = 64 * 1024 * 1024
        /// Also keep footers in the catalog database, so a new process does
        /// not read the footers of files that did not change (file catalogs
        /// only). Written in the background, never holding up a query.
        pub metadata_persist: bool, default = true
        /// Bytes of encoded footers the catalog may hold; rows used longest
        /// ago are evicted beyond it.
        pub metadata_persist_limit: u64, default = 256 * 1024 * 1024
    }
}

/// The default value of a `tarn.` setting, by its full lower-case name.
pub(crate) fn default_value(key: &str) -> Option<String> {
    TarnSettings::default().entries().into_iter().find(|e| e.key == key).and_then(|e| e.value)
}

/// The registered form of [`TarnOptions`]: the same settings, listed under
/// their full `tarn.` names (DataFusion lists extension settings without
/// their prefix, which `SHOW tarn.x` then cannot find).
#[derive(Debug, Clone, Default)]
pub(crate) struct TarnSettings(pub TarnOptions);

impl ConfigExtension for TarnSettings {
    const PREFIX: &'static str = "tarn";
}

impl ExtensionOptions for TarnSettings {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        self.0.set(key, value)
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        self.0.entries().into_iter().map(|e| ConfigEntry { key: format!("{}.{}", Self::PREFIX, e.key), ..e }).collect()
    }
}

impl TarnOptions {
    /// The settings in force in a session (defaults if none were registered).
    pub fn from_state(state: &SessionState) -> TarnOptions {
        Self::from_config(state.config().options())
    }

    /// The settings in force under `config` (defaults if none were registered).
    pub fn from_config(config: &datafusion::config::ConfigOptions) -> TarnOptions {
        config.extensions.get::<TarnSettings>().map(|s| s.0.clone()).unwrap_or_default()
    }
}
