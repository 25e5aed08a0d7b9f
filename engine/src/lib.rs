//! Tarn: an embedded analytical SQL engine over lake files, built on Apache
//! DataFusion.
//!
//! An [`Engine`] is a DataFusion session over a persistent lake catalog
//! ([`tarn_catalog::Catalog`], one SQLite file): CSV, Parquet and JSON
//! files, local or in object stores, registered as tables with their file
//! manifests and statistics, and queried with DataFusion's SQL plus Tarn's
//! own statements (`ATTACH`, `DETACH`, `REFRESH TABLE`, `COMMENT ON`, and
//! secondary indexes on lake files: `CREATE INDEX`, `DROP INDEX`, `REINDEX`,
//! `SHOW INDEXES`, used by the [`IndexPruningRule`] to skip files, Parquet
//! row groups and CSV/NDJSON byte blocks; and `CACHE TABLE`/`UNCACHE TABLE`,
//! which keep a table's files in memory as Arrow, per file and never stale).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> tarn::Result<()> {
//! let engine = tarn::Engine::in_memory().await?;
//! engine.sql("CREATE SCHEMA sales").await?;
//! let tables = engine.sql("SELECT schema_name FROM tarn.schemas ORDER BY 1").await?.collect().await?;
//! assert_eq!(tables.num_rows(), 2); // public, sales
//! # Ok(())
//! # }
//! ```

pub mod blocking;
pub mod demo;
mod engine;
pub mod error;
mod file_context;
mod functions;
mod index;
mod lake;
mod manifest_statistics;
mod metadata_cache;
pub mod names;
mod optimizer;
mod provider;
pub mod result;
mod result_cache;
pub mod scan_metrics;
mod schema_merge;
pub mod settings;
mod sniff;
pub mod statement;
mod stores;
mod system_tables;
mod table_cache;
pub mod tpch;

pub use blocking::BlockingEngine;
pub use engine::{CATALOG_NAME, DEFAULT_SCHEMA, Engine, EngineBuilder, TableOptions};
pub use error::{Error, Result};
pub use index::IndexKind;
pub use index::progress::IndexBuildProgress;
pub use metadata_cache::MetadataCacheStatus;
pub use names::{CatalogNames, TableNames};
pub use optimizer::index_pruning::{IndexPrunedExec, IndexPruningRule, PruningSummary};
pub use provider::{LakeTable, SYSTEM_SCHEMA};
pub use result::{Batches, QueryResult, RecordBatchStream, ResultKind};
pub use result_cache::{CacheOutcome, ResultCacheStatus};
pub use scan_metrics::{ScanCounters, ScanCountersSnapshot, ScanProgress};
pub use settings::{CacheOptions, TarnOptions};
pub use system_tables::SYSTEM_TABLES;

pub use datafusion;
pub use tarn_catalog;
