//! Concurrency tests: several `Catalog`s on one SQLite file (as several Tarn processes would
//! have). Readers never fail and never observe half of a multi-table transaction; concurrent
//! writers queue on the IMMEDIATE lock instead of failing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use arrow_schema::{DataType, Field, Schema};
use tarn_catalog::{Catalog, FileEntry, FileFormat, TableDefinition};

fn def(schema: &str, name: &str) -> TableDefinition {
    TableDefinition {
        schema: schema.to_string(),
        name: name.to_string(),
        location: format!("/data/{name}/"),
        format: FileFormat::Csv,
        options: BTreeMap::new(),
        schema_def: Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)])),
        partition_columns: vec![],
        comment: None,
    }
}

fn files(name: &str) -> Vec<FileEntry> {
    (0..2)
        .map(|i| FileEntry {
            path: format!("/data/{name}/part-{i}.csv"),
            size: 10,
            row_count: Some(1),
            ..Default::default()
        })
        .collect()
}

/// Checks one consistent snapshot: tables come in `_a`/`_b` pairs, each with its full manifest,
/// and every `s<i>` schema holds exactly its pair. Returns the number of tables.
fn check_snapshot(catalog: &Catalog) -> usize {
    let tables = catalog.list_tables(None).unwrap();
    assert_eq!(tables.len() % 2, 0, "odd number of tables: {}", tables.len());
    let names: BTreeSet<(String, String)> = tables.iter().map(|t| (t.def.schema.clone(), t.def.name.clone())).collect();
    for t in &tables {
        assert_eq!(t.file_count, 2, "partial manifest for {}", t.def.name);
        assert_eq!(t.total_bytes, 20);
        let partner = match t.def.name.strip_suffix("_a") {
            Some(stem) => format!("{stem}_b"),
            None => format!("{}_a", t.def.name.strip_suffix("_b").unwrap()),
        };
        assert!(
            names.contains(&(t.def.schema.clone(), partner.clone())),
            "{}.{} without {partner}",
            t.def.schema,
            t.def.name
        );
    }
    // Within the snapshot, every `s<i>` schema holds exactly its pair. (Separate calls are
    // separate snapshots, so this is checked on the one `list_tables` result.)
    let mut per_schema: BTreeMap<&str, usize> = BTreeMap::new();
    for (schema, _) in &names {
        *per_schema.entry(schema.as_str()).or_default() += 1;
    }
    for (schema, count) in per_schema {
        if schema != "public" {
            assert_eq!(count, 2, "schema {schema}");
        }
    }
    tables.len()
}

#[test]
fn reader_never_sees_partial_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let writer = Arc::new(Catalog::open(&path).unwrap());
    let reader = Catalog::open(&path).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    let writer_thread = {
        let writer = Arc::clone(&writer);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            for i in 0..150 {
                writer
                    .write(|tx| {
                        let schema = format!("s{i}");
                        tx.create_schema(&schema, None, false)?;
                        for (s, n) in [
                            ("public", format!("t{i}_a")),
                            ("public", format!("t{i}_b")),
                            (schema.as_str(), format!("u{i}_a")),
                            (schema.as_str(), format!("u{i}_b")),
                        ] {
                            tx.create_table(&def(s, &n), &files(&n), false, false)?;
                        }
                        Ok(())
                    })
                    .unwrap();
                if i % 2 == 1 {
                    // Drop the previous iteration's tables: pairs in one transaction.
                    let j = i - 1;
                    writer
                        .write(|tx| {
                            tx.drop_table("public", &format!("t{j}_a"), false)?;
                            tx.drop_table("public", &format!("t{j}_b"), false)?;
                            tx.drop_schema(&format!("s{j}"), false, true)?;
                            Ok(())
                        })
                        .unwrap();
                }
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    // A second reader shares the writer's `Catalog` (same connection, behind its mutex).
    let shared_reader_thread = {
        let writer = Arc::clone(&writer);
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::SeqCst) {
                check_snapshot(&writer);
                reads += 1;
            }
            reads
        })
    };

    let mut reads = 0usize;
    let mut last_generation = reader.generation().unwrap();
    while !done.load(Ordering::SeqCst) {
        check_snapshot(&reader);
        let generation = reader.generation().unwrap();
        assert!(generation >= last_generation);
        last_generation = generation;
        reads += 1;
    }
    writer_thread.join().unwrap();
    let shared_reads = shared_reader_thread.join().unwrap();
    assert!(reads > 0 && shared_reads > 0);
    eprintln!("reads: {reads} (own connection), {shared_reads} (shared connection)");

    // 150 creates, 75 drops: 75 iterations' tables remain (4 each).
    assert_eq!(check_snapshot(&reader), 75 * 4);
    assert_eq!(reader.list_schemas().unwrap().len(), 1 + 75);
    assert_eq!(reader.generation().unwrap(), writer.generation().unwrap());
}

#[test]
fn concurrent_writers_queue_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let start = Catalog::open(&path).unwrap().generation().unwrap();
    let handles: Vec<_> = (0..3)
        .map(|w| {
            let path = path.clone();
            thread::spawn(move || {
                let catalog = Catalog::open(&path).unwrap();
                for i in 0..60 {
                    catalog
                        .write(|tx| {
                            // Read-then-write inside the transaction: must not deadlock.
                            let existing = tx.table_names("public")?.len();
                            let a = format!("w{w}_{i}_a");
                            let b = format!("w{w}_{i}_b");
                            tx.create_table(&def("public", &a), &files(&a), false, false)?;
                            tx.create_table(&def("public", &b), &files(&b), false, false)?;
                            assert_eq!(tx.table_names("public")?.len(), existing + 2);
                            Ok(())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let catalog = Catalog::open(&path).unwrap();
    assert_eq!(check_snapshot(&catalog), 3 * 60 * 2);
    assert_eq!(catalog.generation().unwrap(), start + 3 * 60);
}
