//! Integration tests of index metadata: create/drop, per-file rows, cascades when the table or
//! schema goes, name uniqueness per schema, and the upgrade of a version-1 catalog file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema};
use tarn_catalog::migrations::{MIGRATIONS, apply_migrations};
use tarn_catalog::{Catalog, CatalogError, FileFormat, IndexDefinition, IndexedFile, TableDefinition};

fn table(name: &str) -> TableDefinition {
    TableDefinition {
        schema: "public".into(),
        name: name.into(),
        location: format!("/lake/{name}/"),
        format: FileFormat::Csv,
        options: BTreeMap::new(),
        schema_def: Arc::new(Schema::new(vec![
            Field::new("user_id", DataType::Int64, true),
            Field::new("event", DataType::Utf8, true),
        ])),
        partition_columns: vec![],
        comment: None,
    }
}

fn index(name: &str, table: &str, columns: &[&str]) -> IndexDefinition {
    IndexDefinition {
        schema: "public".into(),
        table: table.into(),
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        kind: "bloom".into(),
        format_version: 1,
    }
}

fn file(path: &str, units: u64) -> IndexedFile {
    IndexedFile {
        path: path.into(),
        size: 100,
        last_modified_ms: Some(1_700_000_000_000),
        etag: Some("e1".into()),
        units,
    }
}

#[test]
fn create_record_list_drop() {
    let catalog = Catalog::open_in_memory().unwrap();
    catalog.write(|tx| tx.create_table(&table("events"), &[], false, false)).unwrap();
    let id = catalog.write(|tx| tx.create_index(&index("ev_user", "events", &["user_id"]), false)).unwrap().unwrap();
    // Same name again: error, or nothing with IF NOT EXISTS.
    let err = catalog.write(|tx| tx.create_index(&index("ev_user", "events", &["event"]), false)).unwrap_err();
    assert!(matches!(err, CatalogError::IndexExists { .. }), "{err}");
    assert_eq!(catalog.write(|tx| tx.create_index(&index("ev_user", "events", &["event"]), true)).unwrap(), None);
    // Unknown column and table.
    let err = catalog.write(|tx| tx.create_index(&index("x", "events", &["nope"]), false)).unwrap_err();
    assert!(matches!(err, CatalogError::ColumnNotFound { .. }), "{err}");
    let err = catalog.write(|tx| tx.create_index(&index("x", "missing", &["a"]), false)).unwrap_err();
    assert!(matches!(err, CatalogError::TableNotFound { .. }), "{err}");

    let files = [file("/lake/events/a.csv", 3), file("/lake/events/b.csv", 2)];
    catalog.write(|tx| tx.set_index_data(id, "1-abc.tidx", 4096, &files)).unwrap();
    let entry = catalog.get_index("public", "ev_user").unwrap().unwrap();
    assert_eq!(entry.def, index("ev_user", "events", &["user_id"]));
    assert_eq!((entry.file_count, entry.unit_count, entry.sidecar_bytes), (2, 5, 4096));
    assert_eq!(entry.sidecar.as_deref(), Some("1-abc.tidx"));
    assert_eq!(catalog.index_files(id).unwrap(), files);
    assert_eq!(catalog.index_sidecars().unwrap(), ["1-abc.tidx"]);
    assert_eq!(catalog.list_indexes(None, Some(("public", "events"))).unwrap(), vec![entry.clone()]);
    assert_eq!(catalog.indexes_of_table(entry.table_id).unwrap(), vec![entry.clone()]);

    // A rebuild replaces the file rows.
    catalog.write(|tx| tx.set_index_data(id, "1-def.tidx", 10, &files[..1])).unwrap();
    assert_eq!(catalog.index_files(id).unwrap(), files[..1]);

    let dropped = catalog.write(|tx| tx.drop_index("public", "ev_user", false)).unwrap().unwrap();
    assert_eq!(dropped.sidecar.as_deref(), Some("1-def.tidx"));
    assert!(catalog.index_files(id).unwrap().is_empty());
    assert_eq!(catalog.write(|tx| tx.drop_index("public", "ev_user", true)).unwrap(), None);
    let err = catalog.write(|tx| tx.drop_index("public", "ev_user", false)).unwrap_err();
    assert!(matches!(err, CatalogError::IndexNotFound { .. }), "{err}");
}

#[test]
fn indexes_go_with_their_table() {
    let catalog = Catalog::open_in_memory().unwrap();
    catalog.write(|tx| tx.create_table(&table("events"), &[], false, false)).unwrap();
    let id = catalog.write(|tx| tx.create_index(&index("i", "events", &["user_id"]), false)).unwrap().unwrap();
    catalog.write(|tx| tx.set_index_data(id, "s.tidx", 1, &[file("/lake/events/a.csv", 1)])).unwrap();
    // Replacing the table (new id) drops its indexes: their data described the old table.
    catalog.write(|tx| tx.create_table(&table("events"), &[], false, true)).unwrap();
    assert!(catalog.list_indexes(None, None).unwrap().is_empty());
    assert!(catalog.index_files(id).unwrap().is_empty());
    let id = catalog.write(|tx| tx.create_index(&index("i", "events", &["user_id"]), false)).unwrap().unwrap();
    assert!(id > 0);
    catalog.write(|tx| tx.drop_table("public", "events", false)).unwrap();
    assert!(catalog.list_indexes(Some("public"), None).unwrap().is_empty());
}

#[test]
fn version_one_file_upgrades() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        apply_migrations(&mut conn, &MIGRATIONS[..1], "v1").unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 1);
    }
    let catalog = Catalog::open(&path).unwrap();
    assert_eq!(catalog.schema_version().unwrap(), tarn_catalog::CURRENT_VERSION);
    catalog.write(|tx| tx.create_table(&table("events"), &[], false, false)).unwrap();
    catalog.write(|tx| tx.create_index(&index("i", "events", &["user_id"]), false)).unwrap();
    assert_eq!(catalog.list_indexes(None, None).unwrap().len(), 1);
}
