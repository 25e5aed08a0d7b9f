//! `tarn-catalog`: Tarn's persistent lake catalog — schemas, external tables, their file manifests
//! and per-file column statistics, stored in one SQLite database (or in memory).
//!
//! This crate owns the catalog's storage and its public API (the contract with the engine is
//! `docs/specs/catalog-api.md`). It knows nothing about DataFusion: the engine turns
//! [`TableEntry`]s into table providers and lists object stores to build [`FileEntry`] manifests.
//!
//! * [`Catalog`] opens the database (WAL, `busy_timeout` 10 s, migrations) and serves reads.
//! * [`Catalog::write`] runs a closure over a [`CatalogTx`] in one `BEGIN IMMEDIATE` transaction:
//!   all of it commits, or none of it.
//! * [`Catalog::cached_tables`] lists the tables marked by `CACHE TABLE`.
//! * [`Catalog::file_metadata`] and [`Catalog::write_file_metadata`] keep the engine's persisted
//!   file-metadata cache (encoded Parquet footers), bounded in bytes, outside the generation.
//! * [`Catalog::generation`] changes on every committed write, from any process.
//!
//! ```
//! use std::collections::BTreeMap;
//! use std::sync::Arc;
//!
//! use arrow_schema::{DataType, Field, Schema};
//! use tarn_catalog::{Catalog, FileEntry, FileFormat, TableDefinition};
//!
//! # fn main() -> tarn_catalog::Result<()> {
//! let catalog = Catalog::open_in_memory()?;
//! let def = TableDefinition {
//!     schema: "public".to_string(),
//!     name: "orders".to_string(),
//!     location: "/data/orders/".to_string(),
//!     format: FileFormat::Parquet,
//!     options: BTreeMap::new(),
//!     schema_def: Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)])),
//!     partition_columns: vec![],
//!     comment: None,
//! };
//! let files = [
//!     FileEntry { path: "/data/orders/a.parquet".into(), size: 100, row_count: Some(10), ..Default::default() },
//!     FileEntry { path: "/data/orders/b.parquet".into(), size: 50, row_count: Some(5), ..Default::default() },
//! ];
//! let id = catalog.write(|tx| tx.create_table(&def, &files, false, false))?;
//! assert!(id.is_some());
//!
//! let tables = catalog.list_tables(Some("public"))?;
//! assert_eq!(tables.len(), 1);
//! assert_eq!(tables[0].def, def);
//! assert_eq!((tables[0].file_count, tables[0].total_bytes, tables[0].row_count), (2, 150, Some(15)));
//! # Ok(())
//! # }
//! ```

mod cached_tables;
mod error;
mod file_metadata;
pub mod migrations;
mod model;
mod store;

pub use cached_tables::CachedTableEntry;
pub use error::{CatalogError, Result};
pub use file_metadata::{FileMetadataUsage, FileMetadataWrite, FileMetadataWriteOutcome, StoredFileMetadata};
pub use migrations::CURRENT_VERSION;
pub use model::{
    ColumnStats, FileEntry, FileFormat, IndexDefinition, IndexEntry, IndexedFile, SchemaEntry, SortColumn,
    TableDefinition, TableEntry,
};
pub use store::{BUSY_TIMEOUT, Catalog, CatalogTx, DEFAULT_SCHEMA, now_ms};
