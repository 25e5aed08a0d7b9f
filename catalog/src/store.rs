//! Owns persistence: [`Catalog`] (opening the SQLite file, connection settings, consistent reads)
//! and [`CatalogTx`] (the mutations allowed inside one write transaction).
//!
//! # Concurrency model
//!
//! One `Catalog` holds one SQLite connection behind a `Mutex`; several `Catalog`s (in this or
//! other processes) may share a file. File catalogs use WAL mode, so readers never block the writer
//! and never see a half-written transaction. Every write is one `BEGIN IMMEDIATE` transaction (the
//! write lock is taken up front, so two writers queue instead of failing with a lock upgrade
//! deadlock) and `busy_timeout` is 10 s, so short waits on another process are absorbed. Reads that
//! need more than one statement run inside one read transaction, so they see one snapshot.
//!
//! # Query shapes
//!
//! All statements go through `prepare_cached`. Loading tables is two queries whatever their number
//! (tables joined with their manifest aggregates and grouped, then all their column comments);
//! loading a manifest is two queries (files, then all their column statistics).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arrow_schema::Schema;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{CatalogError, Result};
use crate::migrations::{self, CURRENT_VERSION, MIGRATIONS};
use crate::model::{
    ColumnStats, FileEntry, FileFormat, IndexDefinition, IndexEntry, IndexedFile, SchemaEntry, TableDefinition,
    TableEntry,
};

/// How long SQLite waits for a lock held by another connection before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Name of the schema every catalog has (created on open if missing).
pub const DEFAULT_SCHEMA: &str = "public";

/// The catalog: one SQLite database file (or in memory).
///
/// `Catalog` is `Send + Sync` (connection behind a `std::sync::Mutex`), cheap to share in an `Arc`.
/// Calls on one `Catalog` are serialized; use several `Catalog`s on the same file for parallel
/// readers.
pub struct Catalog {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog").field("path", &self.path).finish()
    }
}

impl Catalog {
    /// Open or create. Sets journal_mode=WAL (not for :memory:), foreign_keys=ON, busy_timeout=10s (so short
    /// lock waits by another process are absorbed), synchronous=NORMAL; runs migrations forward in one transaction;
    /// fails with TooNew if the file is newer than we understand. Creates parent directory? NO: error names the path.
    /// Ensures schema "public" exists.
    pub fn open(path: impl AsRef<Path>) -> Result<Catalog> {
        let path = path.as_ref();
        let display = path.display().to_string();
        let conn = Connection::open(path).map_err(|source| CatalogError::Open { path: display.clone(), source })?;
        Self::init(conn, Some(path.to_path_buf()), &display)
    }

    /// Opens a fresh, empty catalog that lives only as long as this value (for tests and
    /// `--no-catalog` sessions).
    pub fn open_in_memory() -> Result<Catalog> {
        let display = ":memory:".to_string();
        let conn =
            Connection::open_in_memory().map_err(|source| CatalogError::Open { path: display.clone(), source })?;
        Self::init(conn, None, &display)
    }

    /// Applies connection settings and migrations.
    fn init(mut conn: Connection, path: Option<PathBuf>, display: &str) -> Result<Catalog> {
        let open_err = |source| CatalogError::Open { path: display.to_string(), source };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        if path.is_some() {
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)).map_err(open_err)?;
            if !mode.eq_ignore_ascii_case("wal") {
                log::warn!("catalog '{display}': WAL mode unavailable, using journal_mode={mode}");
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;

        let found = migrations::stored_version(&conn).map_err(open_err)?;
        if found > CURRENT_VERSION {
            return Err(CatalogError::TooNew { path: display.to_string(), found, supported: CURRENT_VERSION });
        }
        // Fast path: an up-to-date catalog with its public schema needs no write transaction.
        let ready = found == CURRENT_VERSION && schema_id(&conn, DEFAULT_SCHEMA)?.is_some();
        if !ready {
            let before = migrations::apply_migrations(&mut conn, MIGRATIONS, display)?;
            if before != CURRENT_VERSION {
                log::debug!("catalog '{display}' migrated from version {before} to {CURRENT_VERSION}");
            }
        }
        conn.pragma_update(None, "foreign_keys", true).map_err(open_err)?;
        Ok(Catalog { conn: Mutex::new(conn), path })
    }

    /// The file this catalog was opened from. None for in-memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Current stored schema version (PRAGMA user_version); after a successful open it equals
    /// the constant [`CURRENT_VERSION`].
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.lock();
        Ok(migrations::stored_version(&conn)?)
    }

    /// Locks the connection. A panic inside [`Catalog::write`] poisons the mutex, but the
    /// transaction was rolled back while unwinding, so the connection is still usable; if it is
    /// somehow still inside a transaction, that transaction is rolled back here.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        let guard = self.conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !guard.is_autocommit() {
            log::warn!("catalog connection was left inside a transaction; rolling it back");
            if let Err(e) = guard.execute_batch("ROLLBACK") {
                log::error!("catalog rollback failed: {e}");
            }
        }
        guard
    }

    /// Runs `f` inside one read (deferred) transaction so that all its statements see the same
    /// snapshot of the catalog.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    // ---- reads (each is one short read) ----

    /// All schemas, ordered by name.
    pub fn list_schemas(&self) -> Result<Vec<SchemaEntry>> {
        list_schemas(&self.lock())
    }

    /// The schema called `name`, if it exists.
    pub fn get_schema(&self, name: &str) -> Result<Option<SchemaEntry>> {
        get_schema(&self.lock(), name)
    }

    /// Names of the tables of `schema`, ordered; empty if the schema does not exist.
    pub fn table_names(&self, schema: &str) -> Result<Vec<String>> {
        table_names(&self.lock(), schema)
    }

    /// The tables of `schema` (all schemas if None), ordered by (schema, name), with manifest
    /// aggregates and column comments. Two queries in one read transaction.
    pub fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableEntry>> {
        self.read(|conn| list_tables(conn, schema))
    }

    /// The table `schema.name`, if it exists.
    pub fn get_table(&self, schema: &str, name: &str) -> Result<Option<TableEntry>> {
        self.read(|conn| get_table(conn, schema, name))
    }

    /// The manifest of `schema.table`, ordered by path, each file with its column statistics (in
    /// the order they were written). Fails with [`CatalogError::TableNotFound`] if the table does
    /// not exist.
    pub fn list_files(&self, schema: &str, table: &str) -> Result<Vec<FileEntry>> {
        self.read(|conn| list_files(conn, schema, table))
    }

    /// Indexes ordered by (schema, name): all of them, those of one schema, or those of one table
    /// (`Some((schema, table))`). Fails with [`CatalogError::TableNotFound`] for a missing table.
    pub fn list_indexes(&self, schema: Option<&str>, table: Option<(&str, &str)>) -> Result<Vec<IndexEntry>> {
        self.read(|conn| list_indexes(conn, schema, table))
    }

    /// Indexes of the table with id `table_id`, ordered by name.
    pub fn indexes_of_table(&self, table_id: i64) -> Result<Vec<IndexEntry>> {
        self.read(|conn| load_indexes(conn, IndexFilter::TableId(table_id)))
    }

    /// The index `schema.name`, if it exists.
    pub fn get_index(&self, schema: &str, name: &str) -> Result<Option<IndexEntry>> {
        self.read(|conn| get_index(conn, schema, name))
    }

    /// The files index `index_id` covers, ordered by path.
    pub fn index_files(&self, index_id: i64) -> Result<Vec<IndexedFile>> {
        index_files(&self.lock(), index_id)
    }

    /// Every sidecar file name referenced by an index (to tell orphans apart).
    pub fn index_sidecars(&self) -> Result<Vec<String>> {
        let conn = self.lock();
        let mut stmt = conn.prepare_cached("SELECT sidecar FROM indexes WHERE sidecar IS NOT NULL")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
    }

    /// A number that changes whenever any process commits a change to the catalog: the
    /// `generation` row of the `meta` table, incremented inside every write transaction, so it is
    /// exact across processes. Cheap (one indexed read): poll it to invalidate caches.
    pub fn generation(&self) -> Result<i64> {
        generation(&self.lock())
    }

    // ---- writes: every write is ONE transaction ----

    /// Run `f` in one IMMEDIATE transaction; commit if it returns Ok, roll back on Err (or panic/unwind, or process death).
    ///
    /// The `generation` counter is incremented in the same transaction. Do not call methods of
    /// this `Catalog` from inside `f` (its connection is busy: that would deadlock); use the read
    /// helpers of [`CatalogTx`] instead.
    pub fn write<T>(&self, f: impl FnOnce(&CatalogTx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let ctx = CatalogTx { conn: &tx, now_ms: now_ms() };
        // On Err (or unwind) `tx` is dropped here, which rolls back.
        let value = f(&ctx)?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(value)
    }
}

/// Mutations inside one transaction (see [`Catalog::write`]). Also offers reads that see the
/// transaction's own uncommitted changes.
pub struct CatalogTx<'a> {
    pub(crate) conn: &'a Connection,
    /// One timestamp for everything this transaction creates or refreshes.
    pub(crate) now_ms: i64,
}

impl fmt::Debug for CatalogTx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatalogTx").field("now_ms", &self.now_ms).finish_non_exhaustive()
    }
}

impl CatalogTx<'_> {
    /// Creates schema `name`. Fails with [`CatalogError::SchemaExists`] unless `if_not_exists`
    /// (then an existing schema is left unchanged).
    pub fn create_schema(&self, name: &str, attached_path: Option<&str>, if_not_exists: bool) -> Result<()> {
        if schema_id(self.conn, name)?.is_some() {
            return if if_not_exists { Ok(()) } else { Err(CatalogError::SchemaExists { name: name.to_string() }) };
        }
        self.conn
            .prepare_cached(
                "INSERT INTO schemas (name, attached_path, comment, created_at_ms)
                 VALUES (?1, ?2, NULL, ?3)",
            )?
            .execute(params![name, attached_path, self.now_ms])?;
        Ok(())
    }

    /// cascade=false fails with SchemaNotEmpty if it has tables. if_exists=false fails with SchemaNotFound.
    /// Returns whether it existed. With `cascade`, its tables, manifests and comments go too.
    pub fn drop_schema(&self, name: &str, if_exists: bool, cascade: bool) -> Result<bool> {
        let Some(id) = schema_id(self.conn, name)? else {
            return if if_exists { Ok(false) } else { Err(CatalogError::SchemaNotFound { name: name.to_string() }) };
        };
        let tables: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM tables WHERE schema_id = ?1")?
            .query_row([id], |r| r.get(0))?;
        if tables > 0 && !cascade {
            return Err(CatalogError::SchemaNotEmpty {
                name: name.to_string(),
                tables: usize::try_from(tables).unwrap_or(usize::MAX),
            });
        }
        self.conn.prepare_cached("DELETE FROM schemas WHERE id = ?1")?.execute([id])?;
        Ok(true)
    }

    /// Fails with SchemaNotFound / TableExists (unless if_not_exists: then Ok(None) and nothing changes,
    /// or or_replace: then the old table (with its files) is replaced). Writes table + manifest. Returns the new id.
    ///
    /// If both flags are set and the table exists, `if_not_exists` wins (nothing changes).
    /// A replaced table loses its column comments. Fails with [`CatalogError::Internal`] if
    /// `def.partition_columns` is not a suffix of `def.schema_def`'s fields.
    pub fn create_table(
        &self,
        def: &TableDefinition,
        files: &[FileEntry],
        if_not_exists: bool,
        or_replace: bool,
    ) -> Result<Option<i64>> {
        let sid = schema_id(self.conn, &def.schema)?
            .ok_or_else(|| CatalogError::SchemaNotFound { name: def.schema.clone() })?;
        if let Some(old) = table_id_in(self.conn, sid, &def.name)? {
            if if_not_exists {
                return Ok(None);
            }
            if !or_replace {
                return Err(CatalogError::TableExists { schema: def.schema.clone(), name: def.name.clone() });
            }
            self.conn.prepare_cached("DELETE FROM tables WHERE id = ?1")?.execute([old])?;
        }
        check_partition_columns(&def.schema_def, &def.partition_columns)?;
        let options_json = to_json(&def.options, "table options")?;
        let schema_json = to_json(def.schema_def.as_ref(), "table schema")?;
        let partition_json = to_json(&def.partition_columns, "partition columns")?;
        self.conn
            .prepare_cached(
                "INSERT INTO tables (schema_id, name, location, format, options_json, schema_json,
                                     partition_columns_json, comment, created_at_ms, refreshed_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            )?
            .execute(params![
                sid,
                def.name,
                def.location,
                def.format.as_str(),
                options_json,
                schema_json,
                partition_json,
                def.comment,
                self.now_ms,
            ])?;
        let id = self.conn.last_insert_rowid();
        insert_files(self.conn, id, files)?;
        Ok(Some(id))
    }

    /// Returns whether it existed; fails with TableNotFound unless if_exists. Its manifest and
    /// comments go too.
    pub fn drop_table(&self, schema: &str, name: &str, if_exists: bool) -> Result<bool> {
        let Some(id) = table_id(self.conn, schema, name)? else {
            return if if_exists { Ok(false) } else { Err(table_not_found(schema, name)) };
        };
        self.conn.prepare_cached("DELETE FROM tables WHERE id = ?1")?.execute([id])?;
        Ok(true)
    }

    /// REFRESH: replace schema_def and the whole manifest, bump refreshed_at.
    ///
    /// Comments of columns that are no longer in the schema are removed. Fails with
    /// [`CatalogError::TableNotFound`], or [`CatalogError::Internal`] if the table's partition
    /// columns are not a suffix of the new schema.
    pub fn replace_manifest(&self, schema: &str, name: &str, schema_def: &Schema, files: &[FileEntry]) -> Result<()> {
        let (id, partition_json): (i64, String) = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.partition_columns_json
                 FROM tables t JOIN schemas s ON s.id = t.schema_id
                 WHERE s.name = ?1 AND t.name = ?2",
            )?
            .query_row([schema, name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| table_not_found(schema, name))?;
        let partition_columns: Vec<String> = from_json(&partition_json, "partition columns")?;
        check_partition_columns(schema_def, &partition_columns)?;
        let schema_json = to_json(schema_def, "table schema")?;
        self.conn
            .prepare_cached("UPDATE tables SET schema_json = ?2, refreshed_at_ms = ?3 WHERE id = ?1")?
            .execute(params![id, schema_json, self.now_ms])?;
        self.conn.prepare_cached("DELETE FROM files WHERE table_id = ?1")?.execute([id])?;
        insert_files(self.conn, id, files)?;

        let mut stale = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached("SELECT column_name FROM column_comments WHERE table_id = ?1")?;
            let mut rows = stmt.query([id])?;
            while let Some(row) = rows.next()? {
                let column: String = row.get(0)?;
                if schema_def.field_with_name(&column).is_err() {
                    stale.push(column);
                }
            }
        }
        let mut delete =
            self.conn.prepare_cached("DELETE FROM column_comments WHERE table_id = ?1 AND column_name = ?2")?;
        for column in &stale {
            delete.execute(params![id, column])?;
        }
        Ok(())
    }

    /// Sets (Some) or removes (None) the comment of `schema.name`. Fails with
    /// [`CatalogError::TableNotFound`].
    pub fn set_table_comment(&self, schema: &str, name: &str, comment: Option<&str>) -> Result<()> {
        let id = table_id(self.conn, schema, name)?.ok_or_else(|| table_not_found(schema, name))?;
        self.conn.prepare_cached("UPDATE tables SET comment = ?2 WHERE id = ?1")?.execute(params![id, comment])?;
        Ok(())
    }

    /// Fails with ColumnNotFound if the column is not in schema_def.
    /// Sets (Some) or removes (None) the comment of `column`; fails with
    /// [`CatalogError::TableNotFound`] if the table does not exist.
    pub fn set_column_comment(&self, schema: &str, table: &str, column: &str, comment: Option<&str>) -> Result<()> {
        let (id, schema_json): (i64, String) = self
            .conn
            .prepare_cached(
                "SELECT t.id, t.schema_json
                 FROM tables t JOIN schemas s ON s.id = t.schema_id
                 WHERE s.name = ?1 AND t.name = ?2",
            )?
            .query_row([schema, table], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| table_not_found(schema, table))?;
        let schema_def: Schema = from_json(&schema_json, "table schema")?;
        if schema_def.field_with_name(column).is_err() {
            return Err(CatalogError::ColumnNotFound {
                schema: schema.to_string(),
                table: table.to_string(),
                column: column.to_string(),
            });
        }
        match comment {
            Some(comment) => {
                self.conn
                    .prepare_cached(
                        "INSERT INTO column_comments (table_id, column_name, comment)
                         VALUES (?1, ?2, ?3)
                         ON CONFLICT (table_id, column_name) DO UPDATE SET comment = excluded.comment",
                    )?
                    .execute(params![id, column, comment])?;
            }
            None => {
                self.conn
                    .prepare_cached("DELETE FROM column_comments WHERE table_id = ?1 AND column_name = ?2")?
                    .execute(params![id, column])?;
            }
        }
        Ok(())
    }

    /// Sets (Some) or removes (None) the comment of a schema. Fails with
    /// [`CatalogError::SchemaNotFound`].
    pub fn set_schema_comment(&self, schema: &str, comment: Option<&str>) -> Result<()> {
        let changed = self
            .conn
            .prepare_cached("UPDATE schemas SET comment = ?2 WHERE name = ?1")?
            .execute(params![schema, comment])?;
        if changed == 0 {
            return Err(CatalogError::SchemaNotFound { name: schema.to_string() });
        }
        Ok(())
    }

    /// Creates an index over `def.schema.def.table` (which must exist and have the columns),
    /// with no data yet ([`CatalogTx::set_index_data`] records it). Fails with
    /// [`CatalogError::IndexExists`] unless `if_not_exists` (then `Ok(None)`). Returns the new id.
    pub fn create_index(&self, def: &IndexDefinition, if_not_exists: bool) -> Result<Option<i64>> {
        let sid = schema_id(self.conn, &def.schema)?
            .ok_or_else(|| CatalogError::SchemaNotFound { name: def.schema.clone() })?;
        let (tid, schema_json): (i64, String) = self
            .conn
            .prepare_cached("SELECT id, schema_json FROM tables WHERE schema_id = ?1 AND name = ?2")?
            .query_row(params![sid, def.table], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .ok_or_else(|| table_not_found(&def.schema, &def.table))?;
        if index_id(self.conn, sid, &def.name)?.is_some() {
            return if if_not_exists {
                Ok(None)
            } else {
                Err(CatalogError::IndexExists { schema: def.schema.clone(), name: def.name.clone() })
            };
        }
        let table_schema: Schema = from_json(&schema_json, "table schema")?;
        for column in &def.columns {
            if table_schema.field_with_name(column).is_err() {
                return Err(CatalogError::ColumnNotFound {
                    schema: def.schema.clone(),
                    table: def.table.clone(),
                    column: column.clone(),
                });
            }
        }
        self.conn
            .prepare_cached(
                "INSERT INTO indexes (schema_id, table_id, name, columns_json, kind, format_version, sidecar,
                                      sidecar_bytes, created_at_ms, built_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 0, ?7, ?7)",
            )?
            .execute(params![
                sid,
                tid,
                def.name,
                to_json(&def.columns, "index columns")?,
                def.kind,
                def.format_version,
                self.now_ms
            ])?;
        Ok(Some(self.conn.last_insert_rowid()))
    }

    /// Drops index `schema.name` (its file rows go too) and returns it, so the caller can delete
    /// its sidecar. Fails with [`CatalogError::IndexNotFound`] unless `if_exists` (then `Ok(None)`).
    pub fn drop_index(&self, schema: &str, name: &str, if_exists: bool) -> Result<Option<IndexEntry>> {
        let Some(entry) = get_index(self.conn, schema, name)? else {
            return if if_exists {
                Ok(None)
            } else {
                Err(CatalogError::IndexNotFound { schema: schema.to_string(), name: name.to_string() })
            };
        };
        self.conn.prepare_cached("DELETE FROM indexes WHERE id = ?1")?.execute([entry.id])?;
        Ok(Some(entry))
    }

    /// Points index `index_id` at a newly written sidecar covering exactly `files` (the previous
    /// file rows are replaced) and sets its build time. Fails with [`CatalogError::Internal`] if
    /// the index no longer exists (dropped by another process meanwhile).
    pub fn set_index_data(
        &self,
        index_id: i64,
        sidecar: &str,
        sidecar_bytes: u64,
        files: &[IndexedFile],
    ) -> Result<()> {
        let changed = self
            .conn
            .prepare_cached("UPDATE indexes SET sidecar = ?2, sidecar_bytes = ?3, built_at_ms = ?4 WHERE id = ?1")?
            .execute(params![index_id, sidecar, to_i64(sidecar_bytes, "sidecar size")?, self.now_ms])?;
        if changed == 0 {
            return Err(CatalogError::Internal(format!("index {index_id} no longer exists")));
        }
        self.conn.prepare_cached("DELETE FROM index_files WHERE index_id = ?1")?.execute([index_id])?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO index_files (index_id, path, size, last_modified_ms, etag, units)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for f in files {
            insert.execute(params![
                index_id,
                f.path,
                to_i64(f.size, "file size")?,
                f.last_modified_ms,
                f.etag,
                to_i64(f.units, "unit count")?
            ])?;
        }
        Ok(())
    }

    /// Like [`Catalog::get_index`], inside this transaction.
    pub fn get_index(&self, schema: &str, name: &str) -> Result<Option<IndexEntry>> {
        get_index(self.conn, schema, name)
    }

    // ---- reads inside the transaction (they see its uncommitted changes) ----

    /// Like [`Catalog::get_schema`], inside this transaction.
    pub fn get_schema(&self, name: &str) -> Result<Option<SchemaEntry>> {
        get_schema(self.conn, name)
    }

    /// Like [`Catalog::table_names`], inside this transaction.
    pub fn table_names(&self, schema: &str) -> Result<Vec<String>> {
        table_names(self.conn, schema)
    }

    /// Like [`Catalog::list_tables`], inside this transaction.
    pub fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableEntry>> {
        list_tables(self.conn, schema)
    }

    /// Like [`Catalog::get_table`], inside this transaction.
    pub fn get_table(&self, schema: &str, name: &str) -> Result<Option<TableEntry>> {
        get_table(self.conn, schema, name)
    }

    /// Like [`Catalog::list_files`], inside this transaction.
    pub fn list_files(&self, schema: &str, table: &str) -> Result<Vec<FileEntry>> {
        list_files(self.conn, schema, table)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared statement helpers (work on a plain connection or inside a transaction).

/// Milliseconds since the Unix epoch (0 if the clock is before 1970), as the
/// catalog stores times (`created_at_ms`, `stats_read_at_ms`, …).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn table_not_found(schema: &str, name: &str) -> CatalogError {
    CatalogError::TableNotFound { schema: schema.to_string(), name: name.to_string() }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| CatalogError::Internal(format!("cannot serialize {what}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| CatalogError::Corrupt(format!("bad {what} JSON: {e}")))
}

/// u64 -> SQLite INTEGER.
pub(crate) fn to_i64(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| CatalogError::Internal(format!("{what} {value} does not fit a catalog integer")))
}

/// SQLite INTEGER -> u64 (a negative value means the file was tampered with).
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| CatalogError::Corrupt(format!("negative {what}: {value}")))
}

fn opt_to_u64(value: Option<i64>, what: &str) -> Result<Option<u64>> {
    value.map(|v| to_u64(v, what)).transpose()
}

fn check_partition_columns(schema: &Schema, partition_columns: &[String]) -> Result<()> {
    let fields = schema.fields();
    if partition_columns.len() > fields.len() {
        return Err(CatalogError::Internal(format!(
            "{} partition columns but only {} columns in the table schema",
            partition_columns.len(),
            fields.len()
        )));
    }
    let tail = &fields[fields.len() - partition_columns.len()..];
    for (field, name) in tail.iter().zip(partition_columns) {
        if field.name() != name {
            return Err(CatalogError::Internal(format!(
                "partition columns {partition_columns:?} are not the last columns of the table schema"
            )));
        }
    }
    Ok(())
}

/// Increments the `generation` row (inside the caller's write transaction).
fn bump_generation(conn: &Connection) -> Result<()> {
    let changed = conn
        .prepare_cached("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'generation'")?
        .execute([])?;
    if changed == 0 {
        conn.prepare_cached("INSERT INTO meta (key, value) VALUES ('generation', '1')")?.execute([])?;
    }
    Ok(())
}

fn generation(conn: &Connection) -> Result<i64> {
    let value: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = 'generation'")?
        .query_row([], |r| r.get(0))
        .optional()?;
    match value {
        None => Ok(0),
        Some(v) => v.parse().map_err(|_| CatalogError::Corrupt(format!("bad generation value '{v}'"))),
    }
}

/// Creates the `public` schema if missing (used by the migration runner on open). Bumps the
/// generation if it did.
pub(crate) fn ensure_public_schema(conn: &Connection) -> Result<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO schemas (name, attached_path, comment, created_at_ms)
             VALUES (?1, NULL, NULL, ?2)
             ON CONFLICT (name) DO NOTHING",
        )?
        .execute(params![DEFAULT_SCHEMA, now_ms()])?;
    if inserted > 0 {
        bump_generation(conn)?;
    }
    Ok(())
}

fn schema_id(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn.prepare_cached("SELECT id FROM schemas WHERE name = ?1")?.query_row([name], |r| r.get(0)).optional()?)
}

fn table_id_in(conn: &Connection, schema_id: i64, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM tables WHERE schema_id = ?1 AND name = ?2")?
        .query_row(params![schema_id, name], |r| r.get(0))
        .optional()?)
}

pub(crate) fn table_id(conn: &Connection, schema: &str, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT t.id FROM tables t JOIN schemas s ON s.id = t.schema_id
             WHERE s.name = ?1 AND t.name = ?2",
        )?
        .query_row([schema, name], |r| r.get(0))
        .optional()?)
}

fn insert_files(conn: &Connection, table_id: i64, files: &[FileEntry]) -> Result<()> {
    if files.is_empty() {
        return Ok(());
    }
    let mut insert_file = conn.prepare_cached(
        "INSERT INTO files (table_id, path, size, last_modified_ms, etag, row_count, last_modified_ns, stats_read_at_ms,
                            sort_order_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    let mut insert_stats = conn.prepare_cached(
        "INSERT INTO file_column_stats (file_id, column_name, min_value, max_value, null_count, min_exact, max_exact, byte_size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for file in files {
        let row_count = file.row_count.map(|n| to_i64(n, "row count")).transpose()?;
        let sort_order =
            if file.sort_order.is_empty() { None } else { Some(to_json(&file.sort_order, "file sort order")?) };
        insert_file.execute(params![
            table_id,
            file.path,
            to_i64(file.size, "file size")?,
            file.last_modified_ms,
            file.etag,
            row_count,
            file.last_modified_ns,
            file.stats_read_at_ms,
            sort_order,
        ])?;
        let file_id = conn.last_insert_rowid();
        for stats in &file.column_stats {
            let null_count = stats.null_count.map(|n| to_i64(n, "null count")).transpose()?;
            let byte_size = stats.byte_size.map(|n| to_i64(n, "byte size")).transpose()?;
            insert_stats.execute(params![
                file_id,
                stats.column,
                stats.min,
                stats.max,
                null_count,
                stats.min_exact,
                stats.max_exact,
                byte_size,
            ])?;
        }
    }
    Ok(())
}

fn schema_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SchemaEntry> {
    Ok(SchemaEntry { name: row.get(0)?, attached_path: row.get(1)?, comment: row.get(2)?, created_at_ms: row.get(3)? })
}

fn list_schemas(conn: &Connection) -> Result<Vec<SchemaEntry>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, attached_path, comment, created_at_ms FROM schemas ORDER BY name")?;
    let rows = stmt.query_map([], schema_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn get_schema(conn: &Connection, name: &str) -> Result<Option<SchemaEntry>> {
    Ok(conn
        .prepare_cached("SELECT name, attached_path, comment, created_at_ms FROM schemas WHERE name = ?1")?
        .query_row([name], schema_from_row)
        .optional()?)
}

fn table_names(conn: &Connection, schema: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.name FROM tables t JOIN schemas s ON s.id = t.schema_id
         WHERE s.name = ?1 ORDER BY t.name",
    )?;
    let rows = stmt.query_map([schema], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
}

/// The SELECT list and FROM clause shared by the table loaders: each table with its schema name
/// and manifest aggregates, in one grouped query (no per-table round trips).
macro_rules! select_tables {
    () => {
        "SELECT t.id, s.name, t.name, t.location, t.format, t.options_json, t.schema_json,
                t.partition_columns_json, t.comment, t.created_at_ms, t.refreshed_at_ms,
                COUNT(f.id), COALESCE(SUM(f.size), 0),
                CASE WHEN COUNT(f.id) = COUNT(f.row_count) THEN COALESCE(SUM(f.row_count), 0) END
         FROM tables t
         JOIN schemas s ON s.id = t.schema_id
         LEFT JOIN files f ON f.table_id = t.id "
    };
}

/// The column-comment loader matching [`select_tables`].
macro_rules! select_comments {
    () => {
        "SELECT c.table_id, c.column_name, c.comment
         FROM column_comments c
         JOIN tables t ON t.id = c.table_id
         JOIN schemas s ON s.id = t.schema_id "
    };
}

/// Which tables to load.
enum TableFilter<'a> {
    All,
    Schema(&'a str),
    One(&'a str, &'a str),
}

fn load_tables(conn: &Connection, filter: TableFilter<'_>) -> Result<Vec<TableEntry>> {
    let (table_sql, comment_sql, args): (&str, &str, Vec<&str>) = match filter {
        TableFilter::All => {
            (concat!(select_tables!(), "GROUP BY t.id ORDER BY s.name, t.name"), select_comments!(), vec![])
        }
        TableFilter::Schema(schema) => (
            concat!(select_tables!(), "WHERE s.name = ?1 GROUP BY t.id ORDER BY s.name, t.name"),
            concat!(select_comments!(), "WHERE s.name = ?1"),
            vec![schema],
        ),
        TableFilter::One(schema, name) => (
            concat!(select_tables!(), "WHERE s.name = ?1 AND t.name = ?2 GROUP BY t.id"),
            concat!(select_comments!(), "WHERE s.name = ?1 AND t.name = ?2"),
            vec![schema, name],
        ),
    };

    let mut tables = Vec::new();
    let mut index_of: HashMap<i64, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(table_sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            let format: String = row.get(4)?;
            let format = FileFormat::parse(&format)
                .ok_or_else(|| CatalogError::Corrupt(format!("unknown file format '{format}'")))?;
            let options_json: String = row.get(5)?;
            let schema_json: String = row.get(6)?;
            let partition_json: String = row.get(7)?;
            let schema_def: Schema = from_json(&schema_json, "table schema")?;
            let entry = TableEntry {
                id,
                def: TableDefinition {
                    schema: row.get(1)?,
                    name: row.get(2)?,
                    location: row.get(3)?,
                    format,
                    options: from_json(&options_json, "table options")?,
                    schema_def: Arc::new(schema_def),
                    partition_columns: from_json(&partition_json, "partition columns")?,
                    comment: row.get(8)?,
                },
                column_comments: BTreeMap::new(),
                created_at_ms: row.get(9)?,
                refreshed_at_ms: row.get(10)?,
                file_count: to_u64(row.get(11)?, "file count")?,
                total_bytes: to_u64(row.get(12)?, "total bytes")?,
                row_count: opt_to_u64(row.get(13)?, "row count")?,
            };
            index_of.insert(id, tables.len());
            tables.push(entry);
        }
    }
    if tables.is_empty() {
        return Ok(tables);
    }
    let mut stmt = conn.prepare_cached(comment_sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    while let Some(row) = rows.next()? {
        let table_id: i64 = row.get(0)?;
        if let Some(&i) = index_of.get(&table_id) {
            tables[i].column_comments.insert(row.get(1)?, row.get(2)?);
        }
    }
    Ok(tables)
}

fn list_tables(conn: &Connection, schema: Option<&str>) -> Result<Vec<TableEntry>> {
    load_tables(
        conn,
        match schema {
            Some(s) => TableFilter::Schema(s),
            None => TableFilter::All,
        },
    )
}

fn get_table(conn: &Connection, schema: &str, name: &str) -> Result<Option<TableEntry>> {
    Ok(load_tables(conn, TableFilter::One(schema, name))?.into_iter().next())
}

fn list_files(conn: &Connection, schema: &str, table: &str) -> Result<Vec<FileEntry>> {
    let id = table_id(conn, schema, table)?.ok_or_else(|| table_not_found(schema, table))?;
    let mut files = Vec::new();
    let mut index_of: HashMap<i64, usize> = HashMap::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, path, size, last_modified_ms, etag, row_count, last_modified_ns, stats_read_at_ms,
                    sort_order_json
             FROM files WHERE table_id = ?1 ORDER BY path",
        )?;
        let mut rows = stmt.query([id])?;
        while let Some(row) = rows.next()? {
            let file_id: i64 = row.get(0)?;
            index_of.insert(file_id, files.len());
            files.push(FileEntry {
                path: row.get(1)?,
                size: to_u64(row.get(2)?, "file size")?,
                last_modified_ms: row.get(3)?,
                etag: row.get(4)?,
                row_count: opt_to_u64(row.get(5)?, "row count")?,
                last_modified_ns: row.get(6)?,
                stats_read_at_ms: row.get(7)?,
                sort_order: match row.get::<_, Option<String>>(8)? {
                    Some(json) => from_json(&json, "file sort order")?,
                    None => Vec::new(),
                },
                column_stats: Vec::new(),
            });
        }
    }
    if files.is_empty() {
        return Ok(files);
    }
    // Stats rows of one file were inserted together, so rowid order is their original order.
    let mut stmt = conn.prepare_cached(
        "SELECT st.file_id, st.column_name, st.min_value, st.max_value, st.null_count,
                st.min_exact, st.max_exact, st.byte_size
         FROM file_column_stats st JOIN files f ON f.id = st.file_id
         WHERE f.table_id = ?1
         ORDER BY st.file_id, st.rowid",
    )?;
    let mut rows = stmt.query([id])?;
    while let Some(row) = rows.next()? {
        let file_id: i64 = row.get(0)?;
        if let Some(&i) = index_of.get(&file_id) {
            files[i].column_stats.push(ColumnStats {
                column: row.get(1)?,
                min: row.get(2)?,
                max: row.get(3)?,
                null_count: opt_to_u64(row.get(4)?, "null count")?,
                min_exact: row.get(5)?,
                max_exact: row.get(6)?,
                byte_size: opt_to_u64(row.get(7)?, "byte size")?,
            });
        }
    }
    Ok(files)
}

fn index_id(conn: &Connection, schema_id: i64, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM indexes WHERE schema_id = ?1 AND name = ?2")?
        .query_row(params![schema_id, name], |r| r.get(0))
        .optional()?)
}

/// Which indexes to load.
enum IndexFilter<'a> {
    All,
    Schema(&'a str),
    Table(&'a str, &'a str),
    TableId(i64),
    One(&'a str, &'a str),
}

fn load_indexes(conn: &Connection, filter: IndexFilter<'_>) -> Result<Vec<IndexEntry>> {
    const SELECT: &str = "SELECT i.id, i.table_id, s.name, t.name, i.name, i.columns_json, i.kind,
                i.format_version, i.sidecar, i.sidecar_bytes, i.created_at_ms, i.built_at_ms,
                (SELECT COUNT(*) FROM index_files f WHERE f.index_id = i.id),
                (SELECT COALESCE(SUM(f.units), 0) FROM index_files f WHERE f.index_id = i.id)
         FROM indexes i
         JOIN schemas s ON s.id = i.schema_id
         JOIN tables t ON t.id = i.table_id ";
    let (sql, args): (String, Vec<rusqlite::types::Value>) = match filter {
        IndexFilter::All => (format!("{SELECT} ORDER BY s.name, i.name"), vec![]),
        IndexFilter::Schema(schema) => {
            (format!("{SELECT} WHERE s.name = ?1 ORDER BY s.name, i.name"), vec![schema.to_string().into()])
        }
        IndexFilter::Table(schema, table) => (
            format!("{SELECT} WHERE s.name = ?1 AND t.name = ?2 ORDER BY s.name, i.name"),
            vec![schema.to_string().into(), table.to_string().into()],
        ),
        IndexFilter::TableId(id) => (format!("{SELECT} WHERE i.table_id = ?1 ORDER BY i.name"), vec![id.into()]),
        IndexFilter::One(schema, name) => (
            format!("{SELECT} WHERE s.name = ?1 AND i.name = ?2"),
            vec![schema.to_string().into(), name.to_string().into()],
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let columns_json: String = row.get(5)?;
        out.push(IndexEntry {
            id: row.get(0)?,
            table_id: row.get(1)?,
            def: IndexDefinition {
                schema: row.get(2)?,
                table: row.get(3)?,
                name: row.get(4)?,
                columns: from_json(&columns_json, "index columns")?,
                kind: row.get(6)?,
                format_version: row.get(7)?,
            },
            sidecar: row.get(8)?,
            sidecar_bytes: to_u64(row.get(9)?, "sidecar size")?,
            created_at_ms: row.get(10)?,
            built_at_ms: row.get(11)?,
            file_count: to_u64(row.get(12)?, "indexed file count")?,
            unit_count: to_u64(row.get(13)?, "index unit count")?,
        });
    }
    Ok(out)
}

fn list_indexes(conn: &Connection, schema: Option<&str>, table: Option<(&str, &str)>) -> Result<Vec<IndexEntry>> {
    match (schema, table) {
        (_, Some((schema, table))) => {
            table_id(conn, schema, table)?.ok_or_else(|| table_not_found(schema, table))?;
            load_indexes(conn, IndexFilter::Table(schema, table))
        }
        (Some(schema), None) => load_indexes(conn, IndexFilter::Schema(schema)),
        (None, None) => load_indexes(conn, IndexFilter::All),
    }
}

fn get_index(conn: &Connection, schema: &str, name: &str) -> Result<Option<IndexEntry>> {
    Ok(load_indexes(conn, IndexFilter::One(schema, name))?.into_iter().next())
}

fn index_files(conn: &Connection, index_id: i64) -> Result<Vec<IndexedFile>> {
    let mut stmt = conn.prepare_cached(
        "SELECT path, size, last_modified_ms, etag, units FROM index_files WHERE index_id = ?1 ORDER BY path",
    )?;
    let mut rows = stmt.query([index_id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(IndexedFile {
            path: row.get(0)?,
            size: to_u64(row.get(1)?, "file size")?,
            last_modified_ms: row.get(2)?,
            etag: row.get(3)?,
            units: to_u64(row.get(4)?, "unit count")?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn catalog_is_send_sync() {
        assert_send_sync::<Catalog>();
        assert_send_sync::<Arc<Catalog>>();
    }

    #[test]
    fn list_tables_uses_grouped_query() {
        // The aggregate query must use the files(table_id, path) index, not scan per table.
        let catalog = Catalog::open_in_memory().unwrap();
        let conn = catalog.lock();
        let plan: Vec<String> = conn
            .prepare(concat!("EXPLAIN QUERY PLAN ", select_tables!(), "GROUP BY t.id"))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("USING COVERING INDEX") || plan.contains("USING INDEX"), "{plan}");
    }

    #[test]
    fn partition_column_check() {
        use arrow_schema::{DataType, Field};
        let schema = Schema::new(vec![Field::new("a", DataType::Int32, true), Field::new("p", DataType::Utf8, true)]);
        assert!(check_partition_columns(&schema, &[]).is_ok());
        assert!(check_partition_columns(&schema, &["p".to_string()]).is_ok());
        assert!(check_partition_columns(&schema, &["a".to_string()]).is_err());
        assert!(check_partition_columns(&schema, &["a".into(), "p".into(), "x".into()]).is_err());
    }
}
