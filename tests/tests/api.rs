//! The library API: opening, statements, streams, scripts, programmatic
//! catalog access, the blocking front, and many tasks on one engine.

use std::sync::Arc;

use futures::StreamExt;
use tarn::{Engine, ResultKind, TableOptions};

fn write_csv(dir: &std::path::Path, name: &str, rows: usize) -> String {
    let mut body = String::from("id,grp,amount\n");
    for i in 0..rows {
        body.push_str(&format!("{i},{},{}\n", i % 7, i as f64 * 0.5));
    }
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn catalog_persists_across_engines_and_is_shared() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("lake.db");
    let csv = write_csv(dir.path(), "t.csv", 10);
    let writer = Engine::open(&db).await.unwrap();
    // A second engine on the same file, open at the same time (as another process would).
    let reader = Engine::open(&db).await.unwrap();
    writer.sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{csv}'")).await.unwrap();
    let rows = reader.sql("SELECT count(*) AS n FROM t").await.unwrap().collect().await.unwrap();
    assert!(rows.to_pretty_string().unwrap().contains("| 10 |"));
    drop((writer, reader));
    let again = Engine::open(&db).await.unwrap();
    assert_eq!(again.list_tables().unwrap().len(), 1);
}

#[tokio::test]
async fn results_stream_and_collect() {
    let engine = Engine::in_memory().await.unwrap();
    let result = engine.sql("SELECT * FROM generate_series(1, 100000) AS t(x)").await.unwrap();
    assert_eq!(result.kind(), &ResultKind::Rows);
    assert_eq!(result.schema().field(0).name(), "x");
    let mut stream = result.into_stream();
    let mut rows = 0;
    let mut batches = 0;
    while let Some(batch) = stream.next().await {
        rows += batch.unwrap().num_rows();
        batches += 1;
    }
    assert_eq!(rows, 100000);
    assert!(batches > 1, "a large result arrives in several batches");

    let ddl = engine.sql("CREATE SCHEMA s").await.unwrap();
    assert_eq!(ddl.kind(), &ResultKind::Command { tag: "CREATE SCHEMA".into() });
}

#[tokio::test]
async fn scripts_run_in_order_and_stop_at_the_first_error() {
    let engine = Engine::in_memory().await.unwrap();
    let out = engine.execute_script("CREATE SCHEMA a; SELECT 1 AS one; SELECT 2 AS two;").await.unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(out[2].num_rows(), 1);
    let err = engine.execute_script("CREATE SCHEMA b; SELECT nope; CREATE SCHEMA c;").await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let schemas = engine.sql("SELECT schema_name FROM tarn.schemas ORDER BY 1").await.unwrap().collect().await.unwrap();
    let text = schemas.to_pretty_string().unwrap();
    assert!(text.contains("| b ") && !text.contains("| c "), "{text}");
    let err = engine.sql("SELECT 1; SELECT 2").await.unwrap_err();
    assert!(err.to_string().contains("2 statements"), "{err}");
}

#[tokio::test]
async fn programmatic_catalog_access() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::in_memory().await.unwrap();
    let csv = write_csv(dir.path(), "sales.csv", 20);
    engine.sql("CREATE SCHEMA shop").await.unwrap();
    engine
        .register_table("shop.sales", &csv, TableOptions { comment: Some("daily sales".into()), ..Default::default() })
        .await
        .unwrap();
    let tables = engine.list_tables().unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].def.name, "sales");
    assert_eq!(tables[0].def.comment.as_deref(), Some("daily sales"));
    assert_eq!(tables[0].file_count, 1);

    // The file grows; REFRESH updates the manifest (size).
    let before = tables[0].total_bytes;
    write_csv(dir.path(), "sales.csv", 40);
    engine.refresh_table("shop.sales").await.unwrap();
    assert!(engine.list_tables().unwrap()[0].total_bytes > before);

    engine.drop_table("shop.sales", false).await.unwrap();
    assert!(engine.list_tables().unwrap().is_empty());
    assert!(engine.drop_table("shop.sales", false).await.is_err());
    engine.drop_table("shop.sales", true).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_tasks_share_one_engine() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::in_memory().await.unwrap();
    let csv = write_csv(dir.path(), "t.csv", 5000);
    engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{csv}'")).await.unwrap();
    let expected: Arc<Vec<i64>> = Arc::new((0..7).map(|g| (0..5000).filter(|i| i % 7 == g).count() as i64).collect());
    let mut tasks = Vec::new();
    for task in 0..8 {
        let engine = engine.clone();
        let expected = expected.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..5 {
                let g = (task + round) % 7;
                let sql = format!("SELECT count(*) AS n FROM t WHERE grp = {g}");
                let rows = engine.sql(&sql).await.unwrap().collect().await.unwrap();
                let n = rows.batches[0]
                    .column(0)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::Int64Array>()
                    .unwrap()
                    .value(0);
                assert_eq!(n, expected[g], "task {task} round {round}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[test]
fn blocking_engine_without_a_runtime() {
    let engine = tarn::BlockingEngine::in_memory().unwrap();
    let out = engine.execute_script("CREATE SCHEMA x; SELECT count(*) FROM tarn.schemas").unwrap();
    assert!(out[1].to_pretty_string().unwrap().contains("| 2 "));
}

#[tokio::test]
async fn builder_settings_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .catalog_path(dir.path().join("c.db"))
        .memory_limit(64 * 1024 * 1024)
        .temp_dir(dir.path())
        .target_partitions(3)
        .setting("datafusion.execution.batch_size", "1024")
        .build()
        .await
        .unwrap();
    let rows = engine.sql("SHOW datafusion.execution.target_partitions").await.unwrap().collect().await.unwrap();
    assert!(rows.to_pretty_string().unwrap().contains("| 3 "));
    let err = Engine::builder().setting("datafusion.no_such_setting", "1").build().await.unwrap_err();
    assert!(err.to_string().contains("no_such_setting"), "{err}");
    assert!(err.is_user_error());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorting_more_than_the_memory_limit_spills() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .memory_limit(40 * 1024 * 1024)
        .temp_dir(dir.path())
        .target_partitions(2)
        .build()
        .await
        .unwrap();
    // 2M rows of ~24-byte strings sorted: well over 40 MiB in memory.
    let sql = "SELECT repeat('v', 16) || x AS s FROM generate_series(1, 2000000) AS t(x) ORDER BY s DESC";
    let mut stream = engine.sql(sql).await.unwrap().into_stream();
    let (mut rows, mut last): (usize, Option<String>) = (0, None);
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        let col =
            datafusion::arrow::compute::cast(batch.column(0), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let col = col.as_any().downcast_ref::<datafusion::arrow::array::StringArray>().unwrap();
        for v in col.iter().flatten() {
            if let Some(prev) = &last {
                assert!(prev.as_str() >= v, "not sorted: {prev} before {v}");
            }
            last = Some(v.to_string());
            rows += 1;
        }
    }
    assert_eq!(rows, 2000000);
    // And it did spill: EXPLAIN ANALYZE reports the sort's spills.
    let analyzed = engine.sql(&format!("EXPLAIN ANALYZE {sql}")).await.unwrap().collect().await.unwrap();
    let text = analyzed.to_pretty_string().unwrap();
    let spills: usize = text
        .match_indices("spill_count=")
        .filter_map(|(i, m)| text[i + m.len()..].split(|c: char| !c.is_ascii_digit()).next()?.parse::<usize>().ok())
        .sum();
    assert!(spills > 0, "expected the sort to spill:\n{text}");
}

/// Parquet statistics are derived once per file, not once per query: catalog
/// tables share the runtime's file-statistics cache (as DataFusion's own
/// listing tables do), and a rewritten file is read afresh.
#[tokio::test]
async fn parquet_statistics_are_cached_across_queries() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    tarn::demo::generate_tpch_lake(&lake, 0.001, tarn::demo::LakeLayout::Parquet).unwrap();
    let engine = Engine::in_memory().await.unwrap();
    engine.sql(&format!("ATTACH '{}' AS tpch", lake.display())).await.unwrap();
    let cache = engine.session_context().runtime_env().cache_manager.get_file_statistic_cache().unwrap();
    let before = cache.len();
    let count = "SELECT count(*) AS n FROM tpch.lineitem WHERE l_quantity > 10";
    let first = engine.sql(count).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap();
    // The 4 files of lineitem.
    assert_eq!(cache.len(), before + 4);
    let again = engine.sql(count).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap();
    assert_eq!((cache.len(), &again), (before + 4, &first));

    // A file replaced by another (different size) is not answered from the cache.
    let other = dir.path().join("other");
    tarn::demo::generate_tpch_lake(&other, 0.0001, tarn::demo::LakeLayout::Parquet).unwrap();
    let part = lake.join("lineitem/part-0.parquet");
    std::fs::remove_file(&part).unwrap();
    std::fs::copy(other.join("lineitem/part-0.parquet"), &part).unwrap();
    let changed = engine.sql(count).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap();
    assert_ne!(changed, first);
}

/// An engine on `db` that really scans: no result cache, no persisted footers.
async fn scanning_engine(db: &std::path::Path, manifest_statistics: bool) -> Engine {
    Engine::builder()
        .catalog_path(db)
        .setting("tarn.cache.results", "false")
        .setting("tarn.cache.metadata_persist", "false")
        .setting("tarn.manifest_statistics", if manifest_statistics { "true" } else { "false" })
        .build()
        .await
        .unwrap()
}

/// The answer of `sql` and the bytes its scan read, on `engine`.
async fn answer_and_bytes(engine: &Engine, sql: &str) -> (String, u64) {
    let before = engine.scan_counters().bytes_read;
    let text = engine.sql(sql).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap();
    (text, engine.scan_counters().bytes_read - before)
}

fn set_modified(path: &std::path::Path, ago: std::time::Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - ago).unwrap();
}

#[tokio::test]
async fn parquet_scans_are_planned_from_the_manifest_and_never_stale() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let db = dir.path().join("cat.tarn");
    let writer = Engine::in_memory().await.unwrap();
    let hour = std::time::Duration::from_secs(3600);
    // 20 files of 1,000 rows each, x = 1000 * i .. 1000 * i + 999, last modified an hour ago.
    for i in 0..20u64 {
        let path = lake.join(format!("part-{i:02}.parquet"));
        let sql = format!(
            "COPY (SELECT value AS x, 'row ' || value AS s FROM generate_series({}, {})) TO '{}' STORED AS PARQUET",
            1000 * i,
            1000 * i + 999,
            path.display()
        );
        writer.sql(&sql).await.unwrap().collect().await.unwrap();
        set_modified(&path, hour);
    }
    let engine = Engine::open(&db).await.unwrap();
    engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}/'", lake.display())).await.unwrap();
    drop(engine);

    // A new engine plans from the manifest: of the 20 files only the one that
    // can match is read (its footer and data); without, all 20 footers are.
    let query = "SELECT count(*) AS n, min(s) AS s FROM t WHERE x BETWEEN 7100 AND 7109";
    let (planned, manifest_bytes) = answer_and_bytes(&scanning_engine(&db, true).await, query).await;
    let (footers, footer_bytes) = answer_and_bytes(&scanning_engine(&db, false).await, query).await;
    assert_eq!(planned, footers);
    assert!(planned.contains("| 10 | row 7100 |"), "{planned}");
    assert!(manifest_bytes * 5 < footer_bytes, "from the manifest {manifest_bytes} bytes, from footers {footer_bytes}");

    // Aggregates the statistics answer exactly are the same from the manifest.
    let exact = "SELECT count(*) AS n, min(x) AS lo, max(x) AS hi FROM t";
    let (from_manifest, _) = answer_and_bytes(&scanning_engine(&db, true).await, exact).await;
    let (from_footers, _) = answer_and_bytes(&scanning_engine(&db, false).await, exact).await;
    assert_eq!(from_manifest, from_footers);
    assert!(from_manifest.contains("| 20000 | 0  | 19999 |"), "{from_manifest}");

    // A file rewritten since the manifest was recorded (x now 50000..50999)
    // is planned from its footer: the manifest's max (7999) would prune it.
    let part = lake.join("part-07.parquet");
    let sql = format!(
        "COPY (SELECT value AS x, 'new ' || value AS s FROM generate_series(50000, 50999)) TO '{}' STORED AS PARQUET",
        part.display()
    );
    writer.sql(&sql).await.unwrap().collect().await.unwrap();
    set_modified(&part, hour / 2);
    let engine = scanning_engine(&db, true).await;
    let (after, _) = answer_and_bytes(&engine, "SELECT count(*) AS n FROM t WHERE x >= 50000").await;
    assert!(after.contains("| 1000 |"), "{after}");
    let (after, _) = answer_and_bytes(&engine, query).await;
    assert!(after.contains("| 0 "), "{after}");
    // REFRESH records the new file; a new engine plans it from the manifest again.
    engine.sql("REFRESH TABLE t").await.unwrap();
    let (refreshed, _) = answer_and_bytes(&scanning_engine(&db, true).await, exact).await;
    assert!(refreshed.contains("| 20000 | 0  | 50999 |"), "{refreshed}");
}

#[tokio::test]
async fn statistics_from_the_manifest_equal_the_footers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("typed");
    let db = dir.path().join("cat.tarn");
    let writer = Engine::in_memory().await.unwrap();
    // Every type the manifest parses back, plus some it does not (binary,
    // Date64-like times, nested), with nulls; two files, one sorted.
    let select = |from: i64, to: i64, order: &str| {
        format!(
            "SELECT value AS i64, CAST(abs(value) % 200 AS TINYINT UNSIGNED) AS u8, CAST(value AS INT) AS i32, \
             value * 0.25 AS f64, CAST(value * 0.5 AS REAL) AS f32, CAST(value AS DECIMAL(12, 3)) / 7 AS dec, \
             CASE WHEN value % 5 = 0 THEN NULL ELSE 'name ' || value END AS s, \
             CAST('name ' || value AS VARCHAR) AS utf8, value % 2 = 0 AS b, \
             arrow_cast(20454 + CAST(value AS INT), 'Date32') AS d, \
             to_timestamp(1768478400 + value) AS ts, \
             arrow_cast(to_timestamp_millis(1768478400000 + value), 'Timestamp(Millisecond, Some(\"+01:00\"))') AS tstz, \
             CAST('x' || value AS BYTEA) AS bin, [value, value + 1] AS list \
             FROM generate_series({from}, {to}) {order}"
        )
    };
    for (name, sql) in [("a", select(1, 200, "")), ("b", select(-50, 100, "ORDER BY value DESC"))] {
        let path = lake.join(format!("{name}.parquet"));
        writer
            .sql(&format!("COPY ({sql}) TO '{}' STORED AS PARQUET", path.display()))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        set_modified(&path, std::time::Duration::from_secs(3600));
    }
    let engine = Engine::open(&db).await.unwrap();
    engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{}/'", lake.display())).await.unwrap();
    drop(engine);

    // The plan's statistics, file by file and for the table, are the same
    // from the manifest as from the footers.
    // Binary and nested columns have no min/max in the manifest (their
    // display forms do not round-trip), so they are left out here.
    let explain = "EXPLAIN SELECT i64, u8, i32, f64, f32, dec, s, utf8, b, d, ts, tstz FROM t WHERE i64 > 0";
    let plan = |manifest: bool| {
        let db = db.clone();
        async move {
            let engine = scanning_engine(&db, manifest).await;
            engine.sql("SET datafusion.explain.show_statistics = true").await.unwrap();
            engine.sql("SET datafusion.explain.physical_plan_only = true").await.unwrap();
            let (text, bytes) = answer_and_bytes(&engine, explain).await;
            (text, bytes)
        }
    };
    let (from_manifest, manifest_bytes) = plan(true).await;
    let (from_footers, footer_bytes) = plan(false).await;
    assert_eq!(from_manifest, from_footers);
    assert!(from_manifest.contains("Min=Inexact(Int64(-50)) Max=Inexact(Int64(200))"), "{from_manifest}");
    // Planning from the manifest read no file.
    assert_eq!((manifest_bytes, footer_bytes > 0), (0, true));

    // Answers the statistics give directly (exact per-file row counts and
    // min/max: no scan at all) agree as well.
    let sql = "SELECT count(*), min(i64), max(ts), min(d), max(dec), min(utf8), max(f32) FROM t";
    let manifest_engine = scanning_engine(&db, true).await;
    let (a, a_bytes) = answer_and_bytes(&manifest_engine, sql).await;
    let (b, _) = answer_and_bytes(&scanning_engine(&db, false).await, sql).await;
    assert_eq!(a, b);
    assert_eq!(a_bytes, 0, "{a}");
    let (plan, _) = answer_and_bytes(&manifest_engine, &format!("EXPLAIN {sql}")).await;
    assert!(plan.contains("PlaceholderRowExec"), "{plan}");
}
