//! Owns the catalog's on-disk schema: the ordered list of [`MIGRATIONS`], the resulting
//! [`CURRENT_VERSION`], and the routine that brings a database forward to it.
//!
//! The schema version lives in SQLite's `PRAGMA user_version` (0 for a new, empty file). Opening a
//! catalog applies every migration newer than the stored version, in order, in **one** `IMMEDIATE`
//! transaction that also sets `user_version`; if anything fails nothing is changed. A file whose
//! version is newer than [`CURRENT_VERSION`] is refused with [`CatalogError::TooNew`], so an old
//! Tarn never misreads (or writes into) a catalog it does not understand.
//!
//! # Adding migration 2
//!
//! 1. Append an entry to [`MIGRATIONS`]:
//!    ```text
//!    Migration {
//!        version: 2,
//!        description: "tables.owner",
//!        sql: "ALTER TABLE tables ADD COLUMN owner TEXT;",
//!    },
//!    ```
//!    [`CURRENT_VERSION`] follows automatically (it is the length of the list).
//! 2. Never edit a migration that has been released: files in the wild already ran it. Fix
//!    mistakes with a further migration.
//! 3. SQL only, no `BEGIN`/`COMMIT` (the runner owns the transaction) and no `PRAGMA user_version`
//!    (the runner sets it). Foreign keys are switched **off** while migrations run, so the SQLite
//!    "12-step" table rebuild (create `new_x`, copy, `DROP TABLE x`, rename) does not cascade
//!    deletes; `PRAGMA foreign_key_check` runs before commit and refuses a migration that leaves
//!    dangling references.
//! 4. Update the reads/writes in `store.rs` and the table list in `docs/specs/catalog-api.md`,
//!    and add a test that builds a version-1 file (apply only `MIGRATIONS[..1]` with
//!    [`apply_migrations`]) and checks that opening it upgrades the data correctly.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::{CatalogError, Result};

/// One forward step of the catalog schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The schema version the database has after this migration (1-based, consecutive).
    pub version: i64,
    /// What the migration does, for logs.
    pub description: &'static str,
    /// The SQL script (several statements), run inside the migration transaction.
    pub sql: &'static str,
}

/// Every migration, oldest first. `MIGRATIONS[i].version == i + 1`.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema: meta, schemas, tables, column_comments, files, file_column_stats",
        sql: "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('generation', '0');

CREATE TABLE schemas (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    attached_path TEXT,
    comment       TEXT,
    created_at_ms INTEGER NOT NULL
);

-- AUTOINCREMENT: a table id is never reused, even after DROP or OR REPLACE, so the engine
-- can key caches by id.
CREATE TABLE tables (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_id              INTEGER NOT NULL REFERENCES schemas(id) ON DELETE CASCADE,
    name                   TEXT NOT NULL,
    location               TEXT NOT NULL,
    format                 TEXT NOT NULL,
    options_json           TEXT NOT NULL,
    schema_json            TEXT NOT NULL,
    partition_columns_json TEXT NOT NULL,
    comment                TEXT,
    created_at_ms          INTEGER NOT NULL,
    refreshed_at_ms        INTEGER NOT NULL,
    UNIQUE (schema_id, name)
);

CREATE TABLE column_comments (
    table_id    INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    comment     TEXT NOT NULL,
    PRIMARY KEY (table_id, column_name)
);

CREATE TABLE files (
    id               INTEGER PRIMARY KEY,
    table_id         INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    path             TEXT NOT NULL,
    size             INTEGER NOT NULL,
    last_modified_ms INTEGER,
    etag             TEXT,
    row_count        INTEGER,
    UNIQUE (table_id, path)
);

CREATE TABLE file_column_stats (
    file_id     INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    column_name TEXT NOT NULL,
    min_value   TEXT,
    max_value   TEXT,
    null_count  INTEGER,
    PRIMARY KEY (file_id, column_name)
);
",
    },
    Migration {
        version: 2,
        description: "secondary indexes: indexes, index_files",
        sql: "
-- One row per CREATE INDEX. Names are unique per schema (the schema of the indexed table).
-- The index data lives in an immutable sidecar file named by `sidecar`, in the index directory
-- beside the catalog; a rebuild writes a new sidecar and points the row at it.
CREATE TABLE indexes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    schema_id      INTEGER NOT NULL REFERENCES schemas(id) ON DELETE CASCADE,
    table_id       INTEGER NOT NULL REFERENCES tables(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    columns_json   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    format_version INTEGER NOT NULL,
    sidecar        TEXT,
    sidecar_bytes  INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL,
    built_at_ms    INTEGER NOT NULL,
    UNIQUE (schema_id, name)
);
CREATE INDEX indexes_by_table ON indexes (table_id);

-- The files an index covers, as they were when indexed: a file whose size, modification time
-- or etag differs is stale and never pruned by the index.
CREATE TABLE index_files (
    index_id         INTEGER NOT NULL REFERENCES indexes(id) ON DELETE CASCADE,
    path             TEXT NOT NULL,
    size             INTEGER NOT NULL,
    last_modified_ms INTEGER,
    etag             TEXT,
    units            INTEGER NOT NULL,
    PRIMARY KEY (index_id, path)
);
",
    },
    Migration {
        version: 3,
        description: "persisted file metadata cache: file_metadata",
        sql: "
-- Encoded file metadata (Parquet footers with their page indexes) keyed by the file's path, so
-- that a new process need not read the footers of files that did not change. A cache, not
-- catalog content: rows are written without bumping the generation, validated against the
-- file's size, modification time (nanoseconds since the epoch) and etag before use, replaced
-- when a file changes and evicted oldest-used first beyond a byte bound.
CREATE TABLE file_metadata (
    path             TEXT PRIMARY KEY,
    size             INTEGER NOT NULL,
    last_modified_ns INTEGER,
    etag             TEXT,
    kind             TEXT NOT NULL,
    format_version   INTEGER NOT NULL,
    data             BLOB NOT NULL,
    bytes            INTEGER NOT NULL,
    stored_at_ms     INTEGER NOT NULL,
    used_at_ms       INTEGER NOT NULL
);
CREATE INDEX file_metadata_by_use ON file_metadata (used_at_ms);
",
    },
    Migration {
        version: 4,
        description: "cached tables: cached_tables",
        sql: "
-- One row per table marked by CACHE TABLE: the engine keeps its data in memory and serves its
-- scans from there. The mark goes with its table (DROP TABLE, CREATE OR REPLACE).
CREATE TABLE cached_tables (
    table_id     INTEGER PRIMARY KEY REFERENCES tables(id) ON DELETE CASCADE,
    lazy         INTEGER NOT NULL,
    cached_at_ms INTEGER NOT NULL
);
",
    },
    Migration {
        version: 5,
        description: "planning from the manifest: files.last_modified_ns, stats_read_at_ms, sort_order_json; exactness and byte size of column statistics",
        sql: "
-- The engine plans Parquet scans from the manifest instead of decoding every footer. It needs the
-- file's modification time as exactly as the store reports it, when the statistics were read
-- (NULL: not usable for planning), the sort order the file declares, whether each min/max is an exact value of the column (a writer
-- may truncate long strings to bounds) and the column's estimated in-memory size. Rows written
-- before this migration have NULL/0 and are planned from the footer, as before.
ALTER TABLE files ADD COLUMN last_modified_ns INTEGER;
ALTER TABLE files ADD COLUMN stats_read_at_ms INTEGER;
-- The sort order the file declares (Parquet sorting_columns), as JSON [{column, descending, nulls_first}].
ALTER TABLE files ADD COLUMN sort_order_json TEXT;
ALTER TABLE file_column_stats ADD COLUMN min_exact INTEGER NOT NULL DEFAULT 0;
ALTER TABLE file_column_stats ADD COLUMN max_exact INTEGER NOT NULL DEFAULT 0;
ALTER TABLE file_column_stats ADD COLUMN byte_size INTEGER;
",
    },
];

/// The schema version this build of Tarn writes and understands (the last migration's version).
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Reads `PRAGMA user_version`.
pub(crate) fn stored_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Brings the database on `conn` forward to the last of `migrations` (normally [`MIGRATIONS`]).
///
/// Runs in one `IMMEDIATE` transaction with foreign keys off (they are switched back on by the
/// caller, [`crate::Catalog::open`]); also makes sure the `public` schema exists. `path` is only
/// used in error messages. Returns the version the database was at before.
///
/// Public so that tests (and future migration tests) can build a database at an older version.
pub fn apply_migrations(conn: &mut Connection, migrations: &[Migration], path: &str) -> Result<i64> {
    let supported = migrations.last().map_or(0, |m| m.version);
    conn.pragma_update(None, "foreign_keys", false)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = stored_version(&tx)?;
    if found > supported {
        return Err(CatalogError::TooNew { path: path.to_string(), found, supported });
    }
    for (index, migration) in migrations.iter().enumerate() {
        let expected = i64::try_from(index).map_err(|e| CatalogError::Internal(e.to_string()))?.saturating_add(1);
        if migration.version != expected {
            return Err(CatalogError::Internal(format!(
                "migration #{index} has version {}, expected {expected}",
                migration.version
            )));
        }
        if migration.version <= found {
            continue;
        }
        log::info!("catalog '{path}': applying migration {} ({})", migration.version, migration.description);
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
    }
    let dangling: i64 = tx.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0))?;
    if dangling > 0 {
        return Err(CatalogError::Corrupt(format!(
            "catalog '{path}': {dangling} dangling foreign key references after migration"
        )));
    }
    if supported > 0 {
        crate::store::ensure_public_schema(&tx)?;
    }
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn versions_are_consecutive() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(CURRENT_VERSION, MIGRATIONS.last().unwrap().version);
    }

    #[test]
    fn migrate_empty_database_and_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(stored_version(&conn).unwrap(), 0);
        assert_eq!(apply_migrations(&mut conn, MIGRATIONS, "mem").unwrap(), 0);
        assert_eq!(stored_version(&conn).unwrap(), CURRENT_VERSION);
        assert_eq!(apply_migrations(&mut conn, MIGRATIONS, "mem").unwrap(), CURRENT_VERSION);
        let public: i64 =
            conn.query_row("SELECT COUNT(*) FROM schemas WHERE name = 'public'", [], |r| r.get(0)).unwrap();
        assert_eq!(public, 1);
    }

    #[test]
    fn version_4_manifest_migrates_forward_without_planning_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.tarn");
        {
            let mut conn = Connection::open(&path).unwrap();
            apply_migrations(&mut conn, &MIGRATIONS[..4], "v4").unwrap();
            conn.execute_batch(
                "INSERT INTO tables (schema_id, name, location, format, options_json, schema_json,
                                     partition_columns_json, created_at_ms, refreshed_at_ms)
                 SELECT id, 't', '/data/', 'parquet', '{}', '{\"fields\":[],\"metadata\":{}}', '[]', 0, 0
                 FROM schemas WHERE name = 'public';
                 INSERT INTO files (table_id, path, size, last_modified_ms, etag, row_count)
                 SELECT id, '/data/a.parquet', 10, 1000, NULL, 5 FROM tables WHERE name = 't';
                 INSERT INTO file_column_stats (file_id, column_name, min_value, max_value, null_count)
                 SELECT id, 'x', '1', '9', 0 FROM files;",
            )
            .unwrap();
        }
        let catalog = crate::Catalog::open(&path).unwrap();
        assert_eq!(catalog.schema_version().unwrap(), CURRENT_VERSION);
        let files = catalog.list_files("public", "t").unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!((f.size, f.last_modified_ms, f.row_count), (10, Some(1000), Some(5)));
        // Not usable for planning: the engine falls back to the footer.
        assert_eq!((f.last_modified_ns, f.stats_read_at_ms), (None, None));
        assert!(f.sort_order.is_empty());
        let c = &f.column_stats[0];
        assert_eq!((c.min.as_deref(), c.max.as_deref(), c.null_count), (Some("1"), Some("9"), Some(0)));
        assert_eq!((c.min_exact, c.max_exact, c.byte_size), (false, false, None));
    }

    #[test]
    fn version_2_file_migrates_forward_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.tarn");
        {
            let mut conn = Connection::open(&path).unwrap();
            apply_migrations(&mut conn, &MIGRATIONS[..2], "v2").unwrap();
            assert_eq!(stored_version(&conn).unwrap(), 2);
            conn.execute_batch(
                "INSERT INTO tables (schema_id, name, location, format, options_json, schema_json,
                                     partition_columns_json, created_at_ms, refreshed_at_ms)
                 SELECT id, 't', '/data/', 'parquet', '{}', '{\"fields\":[],\"metadata\":{}}', '[]', 0, 0
                 FROM schemas WHERE name = 'public';",
            )
            .unwrap();
        }
        let catalog = crate::Catalog::open(&path).unwrap();
        assert_eq!(catalog.schema_version().unwrap(), CURRENT_VERSION);
        assert_eq!(catalog.table_names("public").unwrap(), vec!["t".to_string()]);
        assert_eq!(catalog.file_metadata_usage().unwrap(), crate::FileMetadataUsage::default());
        let entry = crate::StoredFileMetadata {
            path: "/data/a.parquet".into(),
            size: 1,
            last_modified_ns: None,
            etag: None,
            kind: "parquet".into(),
            format_version: 1,
            data: vec![1],
        };
        catalog
            .write_file_metadata(crate::FileMetadataWrite {
                put: std::slice::from_ref(&entry),
                byte_limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(catalog.file_metadata("/data/a.parquet").unwrap(), Some(entry));
    }

    #[test]
    fn bad_migration_rolls_back() {
        let bad = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                description: "broken",
                sql: "CREATE TABLE extra (x INTEGER); SELECT * FROM no_such_table;",
            },
        ];
        let mut conn = Connection::open_in_memory().unwrap();
        assert!(apply_migrations(&mut conn, &bad, "mem").is_err());
        assert_eq!(stored_version(&conn).unwrap(), 0);
        let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
    }
}
