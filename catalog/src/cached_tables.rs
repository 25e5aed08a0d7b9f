//! Which tables are kept in the engine's table cache (`CACHE TABLE`): the
//! `cached_tables` rows (added by the "cached tables" migration), read with
//! [`Catalog::cached_tables`] and written with [`CatalogTx::set_table_cached`]
//! and [`CatalogTx::unset_table_cached`].
//!
//! Only the *choice* is persisted (so it survives restarts and is seen by
//! every process on the catalog); the cached data itself lives in each
//! engine's memory. A row goes with its table (`ON DELETE CASCADE`), so
//! dropping or replacing a table uncaches it.

use rusqlite::OptionalExtension;

use crate::error::Result;
use crate::store::{Catalog, CatalogTx, table_id, table_not_found};

/// A table marked for the table cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTableEntry {
    /// The table's id (never reused).
    pub table_id: i64,
    /// Its schema.
    pub schema: String,
    /// Its name.
    pub name: String,
    /// `CACHE LAZY TABLE`: loaded by its first scan rather than at once.
    pub lazy: bool,
    /// When `CACHE TABLE` ran (milliseconds since the Unix epoch).
    pub cached_at_ms: i64,
}

impl Catalog {
    /// Every table marked for the table cache, ordered by schema and name.
    pub fn cached_tables(&self) -> Result<Vec<CachedTableEntry>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT c.table_id, s.name, t.name, c.lazy, c.cached_at_ms
                 FROM cached_tables c JOIN tables t ON t.id = c.table_id JOIN schemas s ON s.id = t.schema_id
                 ORDER BY s.name, t.name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(CachedTableEntry {
                    table_id: r.get(0)?,
                    schema: r.get(1)?,
                    name: r.get(2)?,
                    lazy: r.get(3)?,
                    cached_at_ms: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

impl CatalogTx<'_> {
    /// Mark a table for the table cache (again: the mark is replaced, with a
    /// new time). Fails with [`crate::CatalogError::TableNotFound`].
    pub fn set_table_cached(&self, schema: &str, name: &str, lazy: bool) -> Result<()> {
        let id = table_id(self.conn, schema, name)?.ok_or_else(|| table_not_found(schema, name))?;
        self.conn
            .prepare_cached("INSERT OR REPLACE INTO cached_tables (table_id, lazy, cached_at_ms) VALUES (?1, ?2, ?3)")?
            .execute(rusqlite::params![id, lazy, self.now_ms])?;
        Ok(())
    }

    /// Remove a table's mark; returns whether it was marked. Fails with
    /// [`crate::CatalogError::TableNotFound`] when the table does not exist.
    pub fn unset_table_cached(&self, schema: &str, name: &str) -> Result<bool> {
        let id = table_id(self.conn, schema, name)?.ok_or_else(|| table_not_found(schema, name))?;
        let existed = self
            .conn
            .prepare_cached("SELECT 1 FROM cached_tables WHERE table_id = ?1")?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some();
        self.conn.prepare_cached("DELETE FROM cached_tables WHERE table_id = ?1")?.execute([id])?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_schema::{DataType, Field, Schema};
    use rusqlite::Connection;

    use crate::migrations::{MIGRATIONS, apply_migrations};
    use crate::{CatalogError, FileFormat, TableDefinition};

    use super::*;

    fn def(name: &str) -> TableDefinition {
        TableDefinition {
            schema: "public".into(),
            name: name.into(),
            location: format!("/data/{name}/"),
            format: FileFormat::Csv,
            options: BTreeMap::new(),
            schema_def: Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)])),
            partition_columns: vec![],
            comment: None,
        }
    }

    #[test]
    fn marks_follow_their_table() {
        let catalog = Catalog::open_in_memory().unwrap();
        catalog.write(|tx| tx.create_table(&def("t"), &[], false, false)).unwrap();
        catalog.write(|tx| tx.create_table(&def("u"), &[], false, false)).unwrap();
        catalog.write(|tx| tx.set_table_cached("public", "u", true)).unwrap();
        catalog.write(|tx| tx.set_table_cached("public", "t", false)).unwrap();
        let marked = catalog.cached_tables().unwrap();
        assert_eq!(marked.iter().map(|c| (c.name.as_str(), c.lazy)).collect::<Vec<_>>(), [("t", false), ("u", true)]);
        assert!(catalog.write(|tx| tx.unset_table_cached("public", "t")).unwrap());
        assert!(!catalog.write(|tx| tx.unset_table_cached("public", "t")).unwrap());
        // Dropping or replacing a table removes its mark.
        catalog.write(|tx| tx.create_table(&def("u"), &[], false, true)).unwrap();
        assert!(catalog.cached_tables().unwrap().is_empty());
        let missing = catalog.write(|tx| tx.set_table_cached("public", "nope", false));
        assert!(matches!(missing, Err(CatalogError::TableNotFound { .. })));
    }

    #[test]
    fn the_migration_upgrades_an_older_catalog() {
        let mine = MIGRATIONS.iter().position(|m| m.description.starts_with("cached tables")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            apply_migrations(&mut conn, &MIGRATIONS[..mine], "old").unwrap();
        }
        let catalog = Catalog::open(&path).unwrap();
        catalog.write(|tx| tx.create_table(&def("t"), &[], false, false)).unwrap();
        catalog.write(|tx| tx.set_table_cached("public", "t", false)).unwrap();
        assert_eq!(catalog.cached_tables().unwrap().len(), 1);
    }
}
