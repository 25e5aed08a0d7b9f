//! The result cache never serves a stale answer: a file modified, appended
//! to, deleted or added between two runs changes the answer; a file changed
//! while a query runs keeps its result out of the cache; a restart sees the
//! files as they are; volatile queries and non-file tables are never cached.
//! And a repeat over unchanged files is served without reading data.
//!
//! Files are given a last-modified time in the past before a run that should
//! be cached: a result over a file modified within the last two seconds is
//! not stored (see `RACY_WINDOW` in engine/src/result_cache/exec.rs).

use common::{Lake, age, lake_folder, write_csv};
use tarn::{CacheOutcome, Engine};

mod common;

/// A table `t` over the folder `t/` holding `a.csv` (ids 0..10).
async fn lake() -> Lake {
    let (dir, root) = lake_folder(&[("a.csv", 0..10)]);
    let engine = Engine::open(root.join("lake.db")).await.unwrap();
    engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}/t/'", root.display())).await.unwrap();
    Lake { _dir: dir, root, engine }
}

const SUM: &str = "SELECT grp, count(*) AS n, sum(amount) AS total FROM t GROUP BY grp ORDER BY grp";

async fn run(engine: &Engine, sql: &str) -> String {
    engine.sql(sql).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap()
}

/// The answer of a fresh engine with the cache off: what a run must return.
async fn uncached(lake: &Lake, sql: &str) -> String {
    let engine = Engine::builder()
        .catalog_path(lake.root.join("lake.db"))
        .setting("tarn.cache.results", "false")
        .build()
        .await
        .unwrap();
    run(&engine, sql).await
}

fn outcome(engine: &Engine) -> CacheOutcome {
    engine.cache_status().last_outcome.unwrap()
}

#[tokio::test]
async fn a_repeat_is_served_from_the_cache_without_reading_data() {
    let lake = lake().await;
    let first = run(&lake.engine, SUM).await;
    assert!(matches!(outcome(&lake.engine), CacheOutcome::Stored { .. }), "{:?}", outcome(&lake.engine));
    let before = lake.engine.scan_counters();
    let result = lake.engine.sql(SUM).await.unwrap();
    assert_eq!(result.physical_plan().unwrap().name(), "ResultCacheExec");
    let second = result.collect().await.unwrap().to_pretty_string().unwrap();
    assert_eq!((lake.engine.scan_counters() - before).bytes_read, 0);
    assert_eq!((lake.engine.scan_counters() - before).requests, 0);
    assert_eq!(first, second);
    assert_eq!(first, uncached(&lake, SUM).await);
    let status = lake.engine.cache_status();
    assert_eq!((status.hits, status.misses, status.entries), (1, 1, 1));
    assert!(status.bytes > 0 && status.bytes <= status.memory_limit);
}

#[tokio::test]
async fn a_modified_file_changes_the_answer() {
    let lake = lake().await;
    let path = lake.root.join("t/a.csv");
    let before = run(&lake.engine, SUM).await;
    // Same size, other values: only the modification time tells.
    let body = std::fs::read_to_string(&path).unwrap().replace(",10\n", ",20\n");
    assert_eq!(body.len() as u64, std::fs::metadata(&path).unwrap().len());
    std::fs::write(&path, body).unwrap();
    let after = run(&lake.engine, SUM).await;
    assert_ne!(before, after);
    assert_eq!(after, uncached(&lake, SUM).await);
    match outcome(&lake.engine) {
        CacheOutcome::NotStored { reason } => assert!(reason.contains("a.csv"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // The entry over the old file is gone, not merely unused.
    assert_eq!(lake.engine.cache_status().invalidations, 1);
}

#[tokio::test]
async fn an_appended_file_changes_the_answer_and_the_miss_says_why() {
    let lake = lake().await;
    let path = lake.root.join("t/a.csv");
    let before = run(&lake.engine, SUM).await;
    let mut body = std::fs::read_to_string(&path).unwrap();
    body.push_str("10,1,1000\n");
    std::fs::write(&path, body).unwrap();
    age(&path);
    let after = run(&lake.engine, SUM).await;
    assert_ne!(before, after);
    assert_eq!(after, uncached(&lake, SUM).await);
    match outcome(&lake.engine) {
        CacheOutcome::Stored { reason, .. } => assert!(reason.contains("a.csv of table 't' changed"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // And the new answer is now the cached one.
    assert_eq!(run(&lake.engine, SUM).await, after);
    assert!(matches!(outcome(&lake.engine), CacheOutcome::Hit { .. }));
}

#[tokio::test]
async fn a_deleted_or_added_file_changes_the_answer() {
    let lake = lake().await;
    write_csv(&lake.root.join("t/b.csv"), 100..105);
    let two_files = run(&lake.engine, SUM).await;
    assert_eq!(run(&lake.engine, SUM).await, two_files);
    assert!(matches!(outcome(&lake.engine), CacheOutcome::Hit { .. }));

    std::fs::remove_file(lake.root.join("t/b.csv")).unwrap();
    let one_file = run(&lake.engine, SUM).await;
    assert_ne!(one_file, two_files);
    assert_eq!(one_file, uncached(&lake, SUM).await);
    assert!(outcome(&lake.engine).to_string().contains("b.csv of table 't' was removed"), "{}", outcome(&lake.engine));

    write_csv(&lake.root.join("t/c.csv"), 200..201);
    let added = run(&lake.engine, SUM).await;
    assert_ne!(added, one_file);
    assert_eq!(added, uncached(&lake, SUM).await);
    assert!(outcome(&lake.engine).to_string().contains("c.csv was added to table 't'"), "{}", outcome(&lake.engine));
}

#[tokio::test]
async fn a_restart_after_a_file_changed_sees_the_change() {
    let lake = lake().await;
    let before = run(&lake.engine, SUM).await;
    let db = lake.root.join("lake.db");
    write_csv(&lake.root.join("t/a.csv"), 0..20);
    let restarted = Engine::open(&db).await.unwrap();
    let after = run(&restarted, SUM).await;
    assert_ne!(before, after);
    assert_eq!(after, uncached(&lake, SUM).await);
}

#[tokio::test]
async fn a_file_changed_while_the_query_runs_keeps_its_result_out_of_the_cache() {
    let lake = lake().await;
    let path = lake.root.join("t/a.csv");
    // Planned (files listed, key taken) but not yet read...
    let result = lake.engine.sql(SUM).await.unwrap();
    // ...when the file changes.
    write_csv(&path, 0..30);
    let _ = result.collect().await;
    let status = lake.engine.cache_status();
    assert_eq!((status.entries, status.stale_rejections), (0, 1), "{status:?}");
    assert!(outcome(&lake.engine).to_string().contains("while the query ran"), "{}", outcome(&lake.engine));
    // The next run computes the answer over the new file.
    assert_eq!(run(&lake.engine, SUM).await, uncached(&lake, SUM).await);
    assert!(matches!(outcome(&lake.engine), CacheOutcome::Stored { .. }));
}

#[tokio::test]
async fn volatile_queries_are_never_cached() {
    let lake = lake().await;
    for (sql, function) in [
        ("SELECT count(*) AS n, random() < 2 AS r FROM t", "random"),
        ("SELECT count(*) AS n, now() IS NOT NULL AS x FROM t", "now"),
        ("SELECT count(*) AS n FROM t WHERE current_date > DATE '2000-01-01'", "current_date"),
        ("SELECT uuid() IS NOT NULL AS u FROM t LIMIT 1", "uuid"),
    ] {
        for _ in 0..2 {
            run(&lake.engine, sql).await;
            match outcome(&lake.engine) {
                CacheOutcome::NotCacheable { reason } => assert!(reason.contains(function), "{sql}: {reason}"),
                other => panic!("{sql}: {other:?}"),
            }
        }
    }
    assert_eq!(lake.engine.cache_status().entries, 0);
}

#[tokio::test]
async fn tables_not_over_files_are_never_cached() {
    let lake = lake().await;
    lake.engine.sql("CREATE TABLE m AS VALUES (1), (2)").await.unwrap();
    run(&lake.engine, "SELECT count(*) FROM m").await;
    assert!(outcome(&lake.engine).to_string().contains("'m', which is not a table over files"));
    run(&lake.engine, "SELECT * FROM tarn.tables").await;
    assert!(matches!(outcome(&lake.engine), CacheOutcome::NotCacheable { .. }));
    assert_eq!(lake.engine.cache_status().entries, 0);
}

#[tokio::test]
async fn writes_through_insert_are_seen() {
    let lake = lake().await;
    let before = run(&lake.engine, SUM).await;
    lake.engine.sql("INSERT INTO t VALUES (50, 2, 7)").await.unwrap().collect().await.unwrap();
    let after = run(&lake.engine, SUM).await;
    assert_ne!(before, after);
    assert!(after.contains("| 2   | 4 "), "{after}");
}

#[tokio::test]
async fn settings_switch_the_cache_and_bound_its_memory() {
    let lake = lake().await;
    lake.engine.sql("SET tarn.cache.results = false").await.unwrap();
    run(&lake.engine, SUM).await;
    run(&lake.engine, SUM).await;
    assert_eq!(outcome(&lake.engine), CacheOutcome::Disabled);
    assert!(!lake.engine.cache_status().enabled);
    assert_eq!(lake.engine.cache_status().entries, 0);

    lake.engine.sql("SET tarn.cache.results = true").await.unwrap();
    lake.engine.sql("SET tarn.cache.result_memory_limit = 100").await.unwrap();
    run(&lake.engine, SUM).await;
    match outcome(&lake.engine) {
        CacheOutcome::NotStored { reason } => assert!(reason.contains("result_memory_limit"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let status = lake.engine.cache_status();
    assert_eq!((status.entries, status.memory_limit), (0, 100));
    let shown = run(&lake.engine, "SHOW tarn.cache.result_memory_limit").await;
    assert!(shown.contains("100"), "{shown}");
}

#[tokio::test]
async fn explain_shows_a_plan_served_from_the_cache() {
    let lake = lake().await;
    let explain = format!("EXPLAIN {SUM}");
    let cold = run(&lake.engine, &explain).await;
    assert!(!cold.contains("ResultCacheExec"), "{cold}");
    run(&lake.engine, SUM).await;
    let warm = run(&lake.engine, &explain).await;
    assert!(warm.contains("ResultCacheExec: served from cache, entry=1, rows=3"), "{warm}");
    // EXPLAIN itself neither counts as a hit nor reads data.
    assert_eq!(lake.engine.cache_status().hits, 0);
}

#[tokio::test]
async fn system_tables_list_entries_hits_and_misses() {
    let lake = lake().await;
    run(&lake.engine, SUM).await;
    run(&lake.engine, SUM).await;
    run(&lake.engine, SUM).await;
    let entries = run(&lake.engine, "SELECT entry, tables, files, rows, hits FROM tarn.cache_entries").await;
    assert!(entries.contains("| 1     | t      | 1     | 3    | 2    |"), "{entries}");
    let summary = run(&lake.engine, "SELECT enabled, entries, hits, misses, stores FROM tarn.cache").await;
    assert!(summary.contains("| true    | 1       | 2    | 1      | 1      |"), "{summary}");
    lake.engine.clear_cache();
    assert_eq!(lake.engine.cache_status().entries, 0);
}

#[tokio::test]
async fn queries_over_path_tables_are_cached_and_validated_too() {
    let lake = lake().await;
    let sql = format!("SELECT sum(amount) AS s FROM '{}/t/a.csv'", lake.root.display());
    let first = run(&lake.engine, &sql).await;
    assert_eq!(run(&lake.engine, &sql).await, first);
    assert!(matches!(outcome(&lake.engine), CacheOutcome::Hit { .. }));
    write_csv(&lake.root.join("t/a.csv"), 0..3);
    let changed = run(&lake.engine, &sql).await;
    assert_ne!(changed, first);
    assert!(changed.contains("| 30 |"), "{changed}");
}
