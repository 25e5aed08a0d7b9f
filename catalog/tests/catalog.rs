//! Integration tests of the public catalog API: round-trips of every entity, persistence across
//! reopen, migrations and version refusal, transactional rollback, schema drops, comments and the
//! generation counter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};
use tarn_catalog::{
    CURRENT_VERSION, Catalog, CatalogError, ColumnStats, FileEntry, FileFormat, TableDefinition, TableEntry,
};

fn schema() -> Arc<Schema> {
    let mut metadata = std::collections::HashMap::new();
    metadata.insert("origin".to_string(), "test".to_string());
    Arc::new(
        Schema::new(vec![
            Field::new("o_orderkey", DataType::Int64, false),
            Field::new("o_price", DataType::Decimal128(15, 2), true),
            Field::new("o_ts", DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), true),
            Field::new("o_tags", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
            Field::new(
                "o_nested",
                DataType::Struct(Fields::from(vec![Field::new("x", DataType::Float64, true)])),
                true,
            ),
            Field::new("o_orderstatus", DataType::Utf8, true),
        ])
        .with_metadata(metadata),
    )
}

fn def(schema_name: &str, name: &str) -> TableDefinition {
    let mut options = BTreeMap::new();
    options.insert("format.delimiter".to_string(), ";".to_string());
    options.insert("format.compression".to_string(), "zstd".to_string());
    TableDefinition {
        schema: schema_name.to_string(),
        name: name.to_string(),
        location: format!("/data/lake/{name}/"),
        format: FileFormat::Parquet,
        options,
        schema_def: schema(),
        partition_columns: vec!["o_orderstatus".to_string()],
        comment: Some("all orders".to_string()),
    }
}

fn files(name: &str) -> Vec<FileEntry> {
    vec![
        FileEntry {
            path: format!("/data/lake/{name}/o_orderstatus=O/part-0.parquet"),
            size: 2048,
            last_modified_ms: Some(1_700_000_000_123),
            last_modified_ns: Some(1_700_000_000_123_456_789),
            etag: Some("\"abc\"".to_string()),
            row_count: Some(30),
            stats_read_at_ms: Some(1_700_000_100_000),
            sort_order: vec![tarn_catalog::SortColumn {
                column: "o_orderkey".into(),
                descending: true,
                nulls_first: false,
            }],
            column_stats: vec![
                ColumnStats {
                    column: "o_price".to_string(),
                    min: Some("1.50".to_string()),
                    max: Some("999.99".to_string()),
                    null_count: Some(0),
                    min_exact: true,
                    max_exact: false,
                    byte_size: Some(240),
                },
                ColumnStats {
                    column: "o_orderkey".to_string(),
                    min: Some("1".to_string()),
                    max: Some("30".to_string()),
                    null_count: None,
                    ..Default::default()
                },
            ],
        },
        FileEntry {
            path: format!("/data/lake/{name}/o_orderstatus=F/part-0.parquet"),
            size: 1024,
            last_modified_ms: None,
            etag: None,
            row_count: Some(12),
            ..Default::default()
        },
    ]
}

/// The manifest as `list_files` returns it: ordered by path.
fn sorted(mut files: Vec<FileEntry>) -> Vec<FileEntry> {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn create(catalog: &Catalog, schema_name: &str, name: &str) -> i64 {
    catalog.write(|tx| tx.create_table(&def(schema_name, name), &files(name), false, false)).unwrap().unwrap()
}

#[test]
fn open_in_memory_has_public_schema() {
    let catalog = Catalog::open_in_memory().unwrap();
    assert_eq!(catalog.path(), None);
    assert_eq!(catalog.schema_version().unwrap(), CURRENT_VERSION);
    let schemas = catalog.list_schemas().unwrap();
    assert_eq!(schemas.len(), 1);
    assert_eq!(schemas[0].name, "public");
    assert_eq!(schemas[0].attached_path, None);
    assert!(catalog.list_tables(None).unwrap().is_empty());
    assert!(catalog.table_names("nope").unwrap().is_empty());
}

#[test]
fn schema_round_trip() {
    let catalog = Catalog::open_in_memory().unwrap();
    catalog
        .write(|tx| {
            tx.create_schema("lake", Some("/data/lake/"), false)?;
            tx.create_schema("b", None, false)?;
            tx.set_schema_comment("lake", Some("attached lake"))
        })
        .unwrap();
    let names: Vec<String> = catalog.list_schemas().unwrap().into_iter().map(|s| s.name).collect();
    assert_eq!(names, ["b", "lake", "public"]);
    let lake = catalog.get_schema("lake").unwrap().unwrap();
    assert_eq!(lake.attached_path.as_deref(), Some("/data/lake/"));
    assert_eq!(lake.comment.as_deref(), Some("attached lake"));
    assert!(lake.created_at_ms > 1_600_000_000_000);
    assert_eq!(catalog.get_schema("missing").unwrap(), None);

    // if_not_exists keeps the old one; otherwise SchemaExists.
    catalog.write(|tx| tx.create_schema("lake", None, true)).unwrap();
    assert_eq!(catalog.get_schema("lake").unwrap().unwrap(), lake);
    let err = catalog.write(|tx| tx.create_schema("lake", None, false)).unwrap_err();
    assert!(matches!(err, CatalogError::SchemaExists { ref name } if name == "lake"));
    assert_eq!(err.to_string(), "schema 'lake' already exists");

    catalog.write(|tx| tx.set_schema_comment("lake", None)).unwrap();
    assert_eq!(catalog.get_schema("lake").unwrap().unwrap().comment, None);
    let err = catalog.write(|tx| tx.set_schema_comment("nope", Some("x"))).unwrap_err();
    assert!(matches!(err, CatalogError::SchemaNotFound { ref name } if name == "nope"));
}

#[test]
fn table_and_manifest_round_trip() {
    let catalog = Catalog::open_in_memory().unwrap();
    let id = create(&catalog, "public", "orders");

    let table = catalog.get_table("public", "orders").unwrap().unwrap();
    assert_eq!(table.id, id);
    assert_eq!(table.def, def("public", "orders"));
    assert_eq!(table.def.schema_def.metadata().get("origin").unwrap(), "test");
    assert!(table.column_comments.is_empty());
    assert_eq!(table.created_at_ms, table.refreshed_at_ms);
    assert_eq!(table.file_count, 2);
    assert_eq!(table.total_bytes, 3072);
    assert_eq!(table.row_count, Some(42));

    let listed = catalog.list_files("public", "orders").unwrap();
    assert_eq!(listed, sorted(files("orders")));
    // Stats keep their written order (not alphabetical).
    let o = listed.iter().find(|f| f.path.contains("=O/")).unwrap();
    assert_eq!(o.column_stats[0].column, "o_price");

    assert_eq!(catalog.table_names("public").unwrap(), ["orders"]);
    assert_eq!(catalog.list_tables(None).unwrap(), vec![table.clone()]);
    assert_eq!(catalog.list_tables(Some("public")).unwrap(), vec![table]);
    assert!(catalog.list_tables(Some("other")).unwrap().is_empty());
    assert_eq!(catalog.get_table("public", "nope").unwrap(), None);
    assert_eq!(catalog.get_table("nope", "orders").unwrap(), None);
    let err = catalog.list_files("public", "nope").unwrap_err();
    assert!(matches!(err, CatalogError::TableNotFound { .. }));

    // Every format survives.
    for (i, format) in [FileFormat::Csv, FileFormat::Json].into_iter().enumerate() {
        let mut d = def("public", &format!("t{i}"));
        d.format = format;
        d.partition_columns.clear();
        d.comment = None;
        d.options.clear();
        catalog.write(|tx| tx.create_table(&d, &[], false, false)).unwrap();
        let t = catalog.get_table("public", &d.name).unwrap().unwrap();
        assert_eq!(t.def, d);
        assert_eq!((t.file_count, t.total_bytes, t.row_count), (0, 0, Some(0)));
    }
}

#[test]
fn aggregates_per_table_and_unknown_row_count() {
    let catalog = Catalog::open_in_memory().unwrap();
    create(&catalog, "public", "a");
    let mut f = files("b");
    f[1].row_count = None;
    f.push(FileEntry { path: "/data/lake/b/extra.parquet".into(), size: 1, ..Default::default() });
    catalog.write(|tx| tx.create_table(&def("public", "b"), &f, false, false)).unwrap();
    let tables = catalog.list_tables(None).unwrap();
    let summary: Vec<(String, u64, u64, Option<u64>)> =
        tables.iter().map(|t| (t.def.name.clone(), t.file_count, t.total_bytes, t.row_count)).collect();
    assert_eq!(summary, [("a".to_string(), 2, 3072, Some(42)), ("b".to_string(), 3, 3073, None)]);
}

#[test]
fn create_table_errors_and_flags() {
    let catalog = Catalog::open_in_memory().unwrap();
    let err = catalog.write(|tx| tx.create_table(&def("nope", "t"), &[], false, false)).unwrap_err();
    assert!(matches!(err, CatalogError::SchemaNotFound { ref name } if name == "nope"));

    let first = create(&catalog, "public", "t");
    let err = catalog.write(|tx| tx.create_table(&def("public", "t"), &[], false, false)).unwrap_err();
    assert!(matches!(err, CatalogError::TableExists { ref schema, ref name } if schema == "public" && name == "t"));
    assert_eq!(err.to_string(), "table 'public.t' already exists");

    // IF NOT EXISTS: nothing changes.
    let mut other = def("public", "t");
    other.location = "/elsewhere/".into();
    assert_eq!(catalog.write(|tx| tx.create_table(&other, &[], true, false)).unwrap(), None);
    let t = catalog.get_table("public", "t").unwrap().unwrap();
    assert_eq!((t.id, t.file_count), (first, 2));
    assert_eq!(t.def.location, "/data/lake/t/");

    // OR REPLACE: new id, new definition, new manifest, comments gone.
    catalog.write(|tx| tx.set_column_comment("public", "t", "o_price", Some("price"))).unwrap();
    let replaced = catalog.write(|tx| tx.create_table(&other, &[], false, true)).unwrap().unwrap();
    assert_ne!(replaced, first);
    let t = catalog.get_table("public", "t").unwrap().unwrap();
    assert_eq!(t.id, replaced);
    assert_eq!(t.def, other);
    assert_eq!(t.file_count, 0);
    assert!(t.column_comments.is_empty());
    assert!(catalog.list_files("public", "t").unwrap().is_empty());

    // Partition columns must be a suffix of the schema.
    let mut bad = def("public", "bad");
    bad.partition_columns = vec!["o_orderkey".into()];
    let err = catalog.write(|tx| tx.create_table(&bad, &[], false, false)).unwrap_err();
    assert!(matches!(err, CatalogError::Internal(_)), "{err}");
    assert_eq!(catalog.get_table("public", "bad").unwrap(), None);
}

#[test]
fn drop_table() {
    let catalog = Catalog::open_in_memory().unwrap();
    create(&catalog, "public", "t");
    assert!(catalog.write(|tx| tx.drop_table("public", "t", false)).unwrap());
    assert_eq!(catalog.get_table("public", "t").unwrap(), None);
    assert!(!catalog.write(|tx| tx.drop_table("public", "t", true)).unwrap());
    let err = catalog.write(|tx| tx.drop_table("public", "t", false)).unwrap_err();
    assert_eq!(err.to_string(), "table 'public.t' does not exist");
    assert!(!catalog.write(|tx| tx.drop_table("nope", "t", true)).unwrap());
}

#[test]
fn replace_manifest_refreshes() {
    let catalog = Catalog::open_in_memory().unwrap();
    create(&catalog, "public", "t");
    catalog
        .write(|tx| {
            tx.set_column_comment("public", "t", "o_price", Some("price"))?;
            tx.set_column_comment("public", "t", "o_tags", Some("tags"))
        })
        .unwrap();
    let before = catalog.get_table("public", "t").unwrap().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));

    // New schema: o_tags is gone, a column is added before the partition column.
    let new_schema = Schema::new(vec![
        Field::new("o_orderkey", DataType::Int64, false),
        Field::new("o_price", DataType::Decimal128(15, 2), true),
        Field::new("o_new", DataType::Boolean, true),
        Field::new("o_orderstatus", DataType::Utf8, true),
    ]);
    let new_files = vec![FileEntry {
        path: "/data/lake/t/o_orderstatus=P/part-9.parquet".into(),
        size: 7,
        row_count: Some(3),
        column_stats: vec![ColumnStats {
            column: "o_new".into(),
            min: Some("false".into()),
            max: Some("true".into()),
            null_count: Some(1),
            ..Default::default()
        }],
        ..Default::default()
    }];
    catalog.write(|tx| tx.replace_manifest("public", "t", &new_schema, &new_files)).unwrap();
    let after = catalog.get_table("public", "t").unwrap().unwrap();
    assert_eq!(after.id, before.id);
    assert_eq!(*after.def.schema_def, new_schema);
    assert_eq!(after.created_at_ms, before.created_at_ms);
    assert!(after.refreshed_at_ms > before.refreshed_at_ms);
    assert_eq!((after.file_count, after.total_bytes, after.row_count), (1, 7, Some(3)));
    assert_eq!(after.column_comments, BTreeMap::from([("o_price".to_string(), "price".to_string())]));
    assert_eq!(catalog.list_files("public", "t").unwrap(), new_files);

    let err = catalog.write(|tx| tx.replace_manifest("public", "nope", &new_schema, &[])).unwrap_err();
    assert!(matches!(err, CatalogError::TableNotFound { .. }));
    // The partition column must stay last.
    let no_partition = Schema::new(vec![Field::new("o_orderkey", DataType::Int64, false)]);
    let err = catalog.write(|tx| tx.replace_manifest("public", "t", &no_partition, &[])).unwrap_err();
    assert!(matches!(err, CatalogError::Internal(_)));
    assert_eq!(catalog.list_files("public", "t").unwrap(), new_files);
}

#[test]
fn comments() {
    let catalog = Catalog::open_in_memory().unwrap();
    create(&catalog, "public", "t");
    catalog
        .write(|tx| {
            tx.set_table_comment("public", "t", Some("new comment"))?;
            tx.set_column_comment("public", "t", "o_price", Some("price"))?;
            tx.set_column_comment("public", "t", "o_orderkey", Some("key"))?;
            tx.set_column_comment("public", "t", "o_orderkey", Some("the key"))
        })
        .unwrap();
    let t = catalog.get_table("public", "t").unwrap().unwrap();
    assert_eq!(t.def.comment.as_deref(), Some("new comment"));
    assert_eq!(
        t.column_comments,
        BTreeMap::from([
            ("o_orderkey".to_string(), "the key".to_string()),
            ("o_price".to_string(), "price".to_string())
        ])
    );
    // list_tables carries the same comments.
    assert_eq!(catalog.list_tables(None).unwrap()[0], t);

    catalog
        .write(|tx| {
            tx.set_table_comment("public", "t", None)?;
            tx.set_column_comment("public", "t", "o_price", None)
        })
        .unwrap();
    let t = catalog.get_table("public", "t").unwrap().unwrap();
    assert_eq!(t.def.comment, None);
    assert_eq!(t.column_comments.len(), 1);

    let err = catalog.write(|tx| tx.set_column_comment("public", "t", "nope", Some("x"))).unwrap_err();
    assert!(matches!(
        err,
        CatalogError::ColumnNotFound { ref schema, ref table, ref column }
            if schema == "public" && table == "t" && column == "nope"
    ));
    assert_eq!(err.to_string(), "column 'nope' does not exist in table 'public.t'");
    let err = catalog.write(|tx| tx.set_column_comment("public", "nope", "x", Some("x"))).unwrap_err();
    assert!(matches!(err, CatalogError::TableNotFound { .. }));
    let err = catalog.write(|tx| tx.set_table_comment("public", "nope", Some("x"))).unwrap_err();
    assert!(matches!(err, CatalogError::TableNotFound { .. }));
}

#[test]
fn drop_schema_cascade_and_not() {
    let catalog = Catalog::open_in_memory().unwrap();
    catalog.write(|tx| tx.create_schema("lake", None, false)).unwrap();
    create(&catalog, "lake", "a");
    create(&catalog, "lake", "b");
    catalog.write(|tx| tx.set_column_comment("lake", "a", "o_price", Some("p"))).unwrap();
    create(&catalog, "public", "keep");

    let err = catalog.write(|tx| tx.drop_schema("lake", false, false)).unwrap_err();
    assert!(matches!(err, CatalogError::SchemaNotEmpty { ref name, tables: 2 } if name == "lake"), "{err}");
    assert_eq!(err.to_string(), "schema 'lake' is not empty (2 tables); use DROP SCHEMA lake CASCADE");
    assert_eq!(catalog.table_names("lake").unwrap(), ["a", "b"]);

    assert!(catalog.write(|tx| tx.drop_schema("lake", false, true)).unwrap());
    assert_eq!(catalog.get_schema("lake").unwrap(), None);
    assert!(catalog.table_names("lake").unwrap().is_empty());
    let remaining: Vec<String> = catalog.list_tables(None).unwrap().into_iter().map(|t| t.def.name).collect();
    assert_eq!(remaining, ["keep"]);
    assert_eq!(catalog.list_files("public", "keep").unwrap().len(), 2);

    // Empty schema drops without cascade; missing schema needs if_exists.
    catalog.write(|tx| tx.create_schema("empty", None, false)).unwrap();
    assert!(catalog.write(|tx| tx.drop_schema("empty", false, false)).unwrap());
    assert!(!catalog.write(|tx| tx.drop_schema("empty", true, false)).unwrap());
    let err = catalog.write(|tx| tx.drop_schema("empty", false, false)).unwrap_err();
    assert!(matches!(err, CatalogError::SchemaNotFound { .. }));
}

#[test]
fn cascade_removes_all_rows() {
    // Foreign keys are on: dropping a schema leaves no orphan files, stats or comments behind.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let catalog = Catalog::open(&path).unwrap();
    catalog.write(|tx| tx.create_schema("lake", None, false)).unwrap();
    create(&catalog, "lake", "a");
    catalog.write(|tx| tx.set_column_comment("lake", "a", "o_price", Some("p"))).unwrap();
    catalog.write(|tx| tx.drop_schema("lake", false, true)).unwrap();
    drop(catalog);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for table in ["tables", "files", "file_column_stats", "column_comments"] {
        let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "{table}");
    }
}

#[test]
fn failing_closure_rolls_back_everything() {
    let catalog = Catalog::open_in_memory().unwrap();
    create(&catalog, "public", "existing");
    let generation = catalog.generation().unwrap();
    let before = catalog.list_tables(None).unwrap();

    let err = catalog
        .write(|tx| {
            tx.create_schema("s", None, false)?;
            tx.create_table(&def("s", "a"), &files("a"), false, false)?;
            tx.create_table(&def("public", "b"), &files("b"), false, false)?;
            tx.drop_table("public", "existing", false)?;
            // The transaction sees its own changes...
            assert_eq!(tx.table_names("public")?, ["b"]);
            assert!(tx.get_table("s", "a")?.is_some());
            // ...then fails.
            tx.create_table(&def("public", "b"), &[], false, false)
        })
        .unwrap_err();
    assert!(matches!(err, CatalogError::TableExists { .. }));
    assert_eq!(catalog.list_tables(None).unwrap(), before);
    assert_eq!(catalog.get_schema("s").unwrap(), None);
    assert_eq!(catalog.generation().unwrap(), generation);

    // A user error also rolls back.
    let err = catalog
        .write(|tx| {
            tx.drop_table("public", "existing", false)?;
            Err::<(), _>(CatalogError::Internal("boom".into()))
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "internal catalog error: boom");
    assert_eq!(catalog.list_tables(None).unwrap(), before);
}

#[test]
fn panicking_closure_rolls_back_and_catalog_stays_usable() {
    let catalog = Catalog::open_in_memory().unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        catalog.write(|tx| {
            tx.create_table(&def("public", "a"), &[], false, false)?;
            panic!("boom");
            #[allow(unreachable_code)]
            Ok(())
        })
    }));
    assert!(result.is_err());
    assert!(catalog.list_tables(None).unwrap().is_empty());
    create(&catalog, "public", "a");
    assert_eq!(catalog.table_names("public").unwrap(), ["a"]);
}

/// One write against a catalog.
type WriteFn = dyn Fn(&Catalog) -> tarn_catalog::Result<()>;

#[test]
fn generation_changes_on_each_write() {
    let catalog = Catalog::open_in_memory().unwrap();
    let mut last = catalog.generation().unwrap();
    let writes: Vec<Box<WriteFn>> = vec![
        Box::new(|c| c.write(|tx| tx.create_schema("s", None, false))),
        Box::new(|c| c.write(|tx| tx.create_table(&def("s", "t"), &[], false, false).map(|_| ()))),
        Box::new(|c| c.write(|tx| tx.set_table_comment("s", "t", Some("c")))),
        Box::new(|c| c.write(|tx| tx.replace_manifest("s", "t", &schema(), &files("t")))),
        Box::new(|c| c.write(|tx| tx.drop_table("s", "t", false).map(|_| ()))),
        Box::new(|c| c.write(|tx| tx.drop_schema("s", false, false).map(|_| ()))),
    ];
    for write in &writes {
        write(&catalog).unwrap();
        let now = catalog.generation().unwrap();
        assert!(now > last, "{now} <= {last}");
        last = now;
    }
    // A failed write does not change it.
    assert!(catalog.write(|tx| tx.drop_schema("s", false, false)).is_err());
    assert_eq!(catalog.generation().unwrap(), last);
}

#[test]
fn generation_seen_by_other_catalog_on_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let a = Catalog::open(&path).unwrap();
    let b = Catalog::open(&path).unwrap();
    let g = b.generation().unwrap();
    create(&a, "public", "t");
    assert_eq!(b.generation().unwrap(), g + 1);
    assert_eq!(b.table_names("public").unwrap(), ["t"]);
}

#[test]
fn persistence_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let (tables, generation);
    {
        let catalog = Catalog::open(&path).unwrap();
        assert_eq!(catalog.path(), Some(path.as_path()));
        catalog
            .write(|tx| {
                tx.create_schema("lake", Some("/data/lake/"), false)?;
                tx.set_schema_comment("lake", Some("lake"))?;
                tx.create_table(&def("lake", "orders"), &files("orders"), false, false)?;
                tx.set_column_comment("lake", "orders", "o_price", Some("price"))
            })
            .unwrap();
        tables = catalog.list_tables(None).unwrap();
        generation = catalog.generation().unwrap();
    }
    let catalog = Catalog::open(&path).unwrap();
    assert_eq!(catalog.list_tables(None).unwrap(), tables);
    assert_eq!(catalog.generation().unwrap(), generation);
    assert_eq!(catalog.list_files("lake", "orders").unwrap(), sorted(files("orders")));
    let lake = catalog.get_schema("lake").unwrap().unwrap();
    assert_eq!(lake.comment.as_deref(), Some("lake"));
    assert_eq!(lake.attached_path.as_deref(), Some("/data/lake/"));

    // WAL mode and settings are in force on the file.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn migrates_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let catalog = Catalog::open(&path).unwrap();
    assert_eq!(catalog.schema_version().unwrap(), CURRENT_VERSION);
    assert!(catalog.get_schema("public").unwrap().is_some());
    drop(catalog);
    // Reopening an up-to-date file changes nothing.
    let catalog = Catalog::open(&path).unwrap();
    assert_eq!(catalog.list_schemas().unwrap().len(), 1);
}

#[test]
fn public_schema_recreated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let catalog = Catalog::open(&path).unwrap();
    catalog.write(|tx| tx.drop_schema("public", false, false)).unwrap();
    assert!(catalog.list_schemas().unwrap().is_empty());
    drop(catalog);
    let catalog = Catalog::open(&path).unwrap();
    assert!(catalog.get_schema("public").unwrap().is_some());
}

#[test]
fn refuses_newer_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    drop(Catalog::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1).unwrap();
    }
    let err = Catalog::open(&path).unwrap_err();
    match &err {
        CatalogError::TooNew { path: p, found, supported } => {
            assert_eq!(p, &path.display().to_string());
            assert_eq!(*found, CURRENT_VERSION + 1);
            assert_eq!(*supported, CURRENT_VERSION);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("upgrade Tarn"), "{err}");
}

#[test]
fn open_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/catalog.db");
    let err = Catalog::open(&path).unwrap_err();
    assert!(matches!(err, CatalogError::Open { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir/catalog.db"), "{err}");
    assert!(!dir.path().join("no").exists());

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let err = Catalog::open(&garbage).unwrap_err();
    assert!(matches!(err, CatalogError::Open { .. }), "{err}");
    assert!(err.to_string().contains("garbage.db"), "{err}");
}

#[test]
fn large_listing_is_ordered() {
    let catalog = Catalog::open_in_memory().unwrap();
    catalog
        .write(|tx| {
            tx.create_schema("z", None, false)?;
            for i in (0..50).rev() {
                let mut d = def(if i % 2 == 0 { "public" } else { "z" }, &format!("t{i:02}"));
                d.comment = None;
                tx.create_table(&d, &files(&d.name), false, false)?;
                if i % 5 == 0 {
                    tx.set_column_comment(&d.schema, &d.name, "o_price", Some(&format!("c{i}")))?;
                }
            }
            Ok(())
        })
        .unwrap();
    let tables: Vec<TableEntry> = catalog.list_tables(None).unwrap();
    assert_eq!(tables.len(), 50);
    let keys: Vec<(String, String)> = tables.iter().map(|t| (t.def.schema.clone(), t.def.name.clone())).collect();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(keys, expected);
    for t in &tables {
        assert_eq!((t.file_count, t.row_count), (2, Some(42)));
        let i: usize = t.def.name[1..].parse().unwrap();
        assert_eq!(t.column_comments.get("o_price").cloned(), i.is_multiple_of(5).then(|| format!("c{i}")));
        assert_eq!(catalog.get_table(&t.def.schema, &t.def.name).unwrap().as_ref(), Some(t));
    }
}
