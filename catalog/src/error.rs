//! Owns the catalog's error type [`CatalogError`] and the crate-wide [`Result`] alias.
//!
//! Every failure of the catalog is one variant with structured fields, so the engine can match on
//! it (e.g. turn [`CatalogError::TableNotFound`] into a planning error) and the message shown to a
//! user names the offending object.

/// Result type of every fallible catalog operation.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// Everything that can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The catalog database could not be opened or set up (missing directory, not a SQLite file, ...).
    #[error("cannot open catalog '{path}': {source}")]
    Open {
        /// The path that was being opened (`:memory:` for an in-memory catalog).
        path: String,
        /// What SQLite reported.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer Tarn with a schema version this build does not know.
    #[error(
        "catalog '{path}' has schema version {found}, newer than this Tarn understands ({supported}); upgrade Tarn"
    )]
    TooNew {
        /// The path of the catalog file.
        path: String,
        /// The schema version stored in the file.
        found: i64,
        /// The newest schema version this build understands ([`crate::CURRENT_VERSION`]).
        supported: i64,
    },
    /// `CREATE SCHEMA` of a schema that already exists.
    #[error("schema '{name}' already exists")]
    SchemaExists {
        /// The schema name.
        name: String,
    },
    /// A schema that does not exist was referenced.
    #[error("schema '{name}' does not exist")]
    SchemaNotFound {
        /// The schema name.
        name: String,
    },
    /// `DROP SCHEMA` without `CASCADE` of a schema that still has tables.
    #[error("schema '{name}' is not empty ({tables} tables); use DROP SCHEMA {name} CASCADE")]
    SchemaNotEmpty {
        /// The schema name.
        name: String,
        /// How many tables it holds.
        tables: usize,
    },
    /// `CREATE TABLE` of a table that already exists.
    #[error("table '{schema}.{name}' already exists")]
    TableExists {
        /// The schema of the table.
        schema: String,
        /// The table name.
        name: String,
    },
    /// A table that does not exist was referenced.
    #[error("table '{schema}.{name}' does not exist")]
    TableNotFound {
        /// The schema of the table.
        schema: String,
        /// The table name.
        name: String,
    },
    /// A column that is not in the table's schema was referenced.
    #[error("column '{column}' does not exist in table '{schema}.{table}'")]
    ColumnNotFound {
        /// The schema of the table.
        schema: String,
        /// The table name.
        table: String,
        /// The column name.
        column: String,
    },
    /// `CREATE INDEX` of an index name already used in the schema.
    #[error("index '{schema}.{name}' already exists")]
    IndexExists {
        /// The schema of the index.
        schema: String,
        /// The index name.
        name: String,
    },
    /// An index that does not exist was referenced.
    #[error("index '{schema}.{name}' does not exist")]
    IndexNotFound {
        /// The schema of the index.
        schema: String,
        /// The index name.
        name: String,
    },
    /// SQLite failed (I/O error, disk full, lock timeout, ...).
    #[error("catalog storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The stored data cannot be decoded (bad JSON, unknown format, negative size, ...).
    #[error("catalog data is corrupt: {0}")]
    Corrupt(String),
    /// A bug in Tarn.
    #[error("internal catalog error: {0}")]
    Internal(String),
}
