//! The result cache never serves a stale answer: a file modified, appended
//! to, deleted or added between two runs changes the answer; a file changed
//! while a query runs keeps its result out of the cache; a restart sees the
//! files as they are; volatile queries and non-file tables are never cached.
//! And a repeat over unchanged files is served without reading data.
//!
//! Files are given a last-modified time in the past before a run that should
//! be cached: a result over a file modified within the last two seconds is
//! not stored (see `RACY_WINDOW` in engine/src/result_cache/exec.rs).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use common::{Lake, age, lake_folder, write_csv};
use tarn::{CacheOutcome, Engine};

mod common;

/// A table `t` over the folder `t/` holding `a.csv` (ids 0..10), in an
/// engine caching whole results only (the entry counts below are those of
/// whole results; sub-plans have tests of their own at the end).
async fn lake() -> Lake {
    lake_with(&[("tarn.cache.subplans", "false")]).await
}

/// [`lake`] in an engine with sub-plans on (they are off by default) and
/// these settings.
async fn lake_with(settings: &[(&str, &str)]) -> Lake {
    let (dir, root) = lake_folder(&[("a.csv", 0..10)]);
    let mut builder = Engine::builder().catalog_path(root.join("lake.db")).setting("tarn.cache.subplans", "true");
    for (key, value) in settings {
        builder = builder.setting(*key, *value);
    }
    let engine = builder.build().await.unwrap();
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
        .setting("tarn.cache.subplans", "false")
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

// Sub-plans: an aggregation shared by queries that differ above it.

/// An aggregation of `t` with a filter on its output: `{min}` varies.
fn dashboard(min: i64) -> String {
    format!(
        "WITH totals AS (SELECT grp, count(*) AS n, sum(amount) AS total FROM t GROUP BY grp) \
         SELECT grp, n, total FROM totals WHERE total > {min} ORDER BY total DESC"
    )
}

/// The physical plan of `sql` as EXPLAIN shows it.
async fn physical(engine: &Engine, sql: &str) -> String {
    run(engine, &format!("EXPLAIN {sql}")).await
}

#[tokio::test]
async fn a_query_differing_above_a_cached_aggregation_reads_it_from_the_cache() {
    let lake = lake_with(&[]).await;
    let first = run(&lake.engine, &dashboard(0)).await;
    assert_eq!(first, uncached(&lake, &dashboard(0)).await);
    assert_eq!(lake.engine.cache_status().subplan_stores, 1);
    // Another filter value: the whole query misses, its aggregation hits.
    let explain = physical(&lake.engine, &dashboard(150)).await;
    assert!(explain.contains("ResultCacheExec: sub-plan served from cache"), "{explain}");
    assert!(explain.contains("FilterExec"), "{explain}");
    let before = lake.engine.scan_counters();
    let second = run(&lake.engine, &dashboard(150)).await;
    assert_eq!((lake.engine.scan_counters() - before).bytes_read, 0);
    assert_eq!(second, uncached(&lake, &dashboard(150)).await);
    assert_ne!(second, first);
    let status = lake.engine.cache_status();
    assert_eq!((status.subplan_hits, status.hits), (1, 0), "{status:?}");
    // Another ORDER BY and LIMIT over the same aggregation hit too.
    let top = "SELECT grp, n, total FROM (SELECT grp, count(*) AS n, sum(amount) AS total FROM t GROUP BY grp) \
               WHERE total > 0 ORDER BY grp LIMIT 2";
    assert_eq!(run(&lake.engine, top).await, uncached(&lake, top).await);
    assert_eq!(lake.engine.cache_status().subplan_hits, 2);
    let kinds =
        run(&lake.engine, "SELECT kind, count(*) AS n FROM tarn.cache_entries GROUP BY kind ORDER BY kind").await;
    assert!(kinds.contains("| query   | 3 |") && kinds.contains("| subplan | 1 |"), "{kinds}");
}

#[tokio::test]
async fn sub_plans_serve_queries_with_whole_results_off_and_a_cte_used_twice() {
    let lake = lake_with(&[("tarn.cache.results", "false")]).await;
    let twice = "WITH totals AS (SELECT grp, sum(amount) AS total FROM t GROUP BY grp) \
                 SELECT a.grp, a.total, b.total AS other FROM totals a JOIN totals b ON a.grp = (b.grp + 1) % 3 \
                 ORDER BY a.grp";
    let first = run(&lake.engine, twice).await;
    assert_eq!(first, uncached(&lake, twice).await);
    let explain = physical(&lake.engine, twice).await;
    assert_eq!(explain.matches("sub-plan served from cache").count(), 1, "{explain}");
    let before = lake.engine.scan_counters();
    assert_eq!(run(&lake.engine, twice).await, first);
    assert_eq!((lake.engine.scan_counters() - before).bytes_read, 0);
    assert!(lake.engine.cache_status().subplan_hits >= 1);
    assert_eq!(lake.engine.cache_status().hits, 0);
}

#[tokio::test]
async fn a_file_changed_between_runs_invalidates_sub_results() {
    let lake = lake_with(&[]).await;
    let path = lake.root.join("t/a.csv");
    let before = run(&lake.engine, &dashboard(0)).await;
    // Same size, other values, an older time stamp than a racy one: only the
    // modification time tells.
    let body = std::fs::read_to_string(&path).unwrap().replace(",10\n", ",20\n");
    std::fs::write(&path, body).unwrap();
    let file = std::fs::File::options().append(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(30)).unwrap();
    let after = run(&lake.engine, &dashboard(100)).await;
    assert_eq!(after, uncached(&lake, &dashboard(100)).await);
    assert_ne!(before, run(&lake.engine, &dashboard(0)).await);
    let status = lake.engine.cache_status();
    assert_eq!(status.subplan_hits, 1, "the second run of dashboard(0) reads the new sub-result: {status:?}");
    assert!(status.invalidations >= 1, "{status:?}");
    // An added file, then a removed one.
    write_csv(&lake.root.join("t/b.csv"), 100..103);
    assert_eq!(run(&lake.engine, &dashboard(100)).await, uncached(&lake, &dashboard(100)).await);
    std::fs::remove_file(lake.root.join("t/b.csv")).unwrap();
    assert_eq!(run(&lake.engine, &dashboard(100)).await, uncached(&lake, &dashboard(100)).await);
}

#[tokio::test]
async fn a_file_changed_while_a_sub_plan_runs_keeps_it_out_of_the_cache() {
    let lake = lake_with(&[("tarn.cache.results", "false")]).await;
    let path = lake.root.join("t/a.csv");
    let result = lake.engine.sql(&dashboard(0)).await.unwrap();
    write_csv(&path, 0..30);
    let _ = result.collect().await;
    let status = lake.engine.cache_status();
    assert_eq!((status.entries, status.subplan_stores, status.stale_rejections), (0, 0, 1), "{status:?}");
    assert_eq!(run(&lake.engine, &dashboard(50)).await, uncached(&lake, &dashboard(50)).await);
    assert_eq!(lake.engine.cache_status().subplan_stores, 1);
}

#[tokio::test]
async fn a_sub_result_over_its_bound_is_abandoned_without_affecting_the_query() {
    let lake = lake_with(&[("tarn.cache.results", "false"), ("tarn.cache.subplan_max_bytes", "16")]).await;
    let first = run(&lake.engine, &dashboard(0)).await;
    assert_eq!(first, uncached(&lake, &dashboard(0)).await);
    let status = lake.engine.cache_status();
    assert_eq!((status.entries, status.subplan_abandoned, status.subplan_misses), (0, 1, 1), "{status:?}");
    // Not recorded again while its files are unchanged.
    let explain = physical(&lake.engine, &dashboard(0)).await;
    assert!(!explain.contains("ResultCache"), "{explain}");
    assert_eq!(run(&lake.engine, &dashboard(0)).await, first);
    let status = lake.engine.cache_status();
    assert_eq!((status.entries, status.subplan_abandoned, status.subplan_misses), (0, 1, 2), "{status:?}");
    // Within a larger bound it is kept.
    lake.engine.sql("SET tarn.cache.subplan_max_bytes = 1000000").await.unwrap();
    lake.engine.clear_cache();
    run(&lake.engine, &dashboard(0)).await;
    assert_eq!(lake.engine.cache_status().subplan_stores, 1);
    assert!(lake.engine.cache_status().bytes <= 1000000 + 4096);
}

#[tokio::test]
async fn sub_plans_with_volatile_functions_or_switched_off_are_not_cached() {
    let lake = lake_with(&[("tarn.cache.results", "false")]).await;
    let volatile = "SELECT * FROM (SELECT grp, sum(amount + random() * 0) AS total FROM t GROUP BY grp) \
                    WHERE total > 0 ORDER BY grp";
    run(&lake.engine, volatile).await;
    assert_eq!(lake.engine.cache_status().subplan_stores, 0);
    lake.engine.sql("SET tarn.cache.subplans = false").await.unwrap();
    run(&lake.engine, &dashboard(0)).await;
    let status = lake.engine.cache_status();
    assert_eq!((status.subplan_stores, status.subplan_misses), (0, 0), "{status:?}");
}

// The on-disk tier.

/// A new engine on the lake's catalog with the on-disk tier and sub-plans on.
async fn reopened(lake: &Lake) -> Engine {
    Engine::builder()
        .catalog_path(lake.root.join("lake.db"))
        .setting("tarn.cache.disk", "true")
        .setting("tarn.cache.subplans", "true")
        .build()
        .await
        .unwrap()
}

fn disk_files(lake: &Lake) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(lake.root.join("lake.db.cache"))
        .map(|dir| dir.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test]
async fn the_disk_tier_serves_a_new_process_and_never_a_changed_file() {
    let lake = lake_with(&[("tarn.cache.disk", "true")]).await;
    let first = run(&lake.engine, SUM).await;
    assert_eq!(disk_files(&lake).len(), 2, "the query and its aggregation: {:?}", disk_files(&lake));

    // A new process over unchanged files: served from disk, no data read.
    let engine = reopened(&lake).await;
    let before = engine.scan_counters();
    let result = engine.sql(SUM).await.unwrap();
    assert_eq!(result.physical_plan().unwrap().name(), "ResultCacheExec");
    assert_eq!(result.collect().await.unwrap().to_pretty_string().unwrap(), first);
    assert_eq!((engine.scan_counters() - before).bytes_read, 0);
    assert_eq!((engine.cache_status().disk_hits, engine.cache_status().hits), (1, 1));
    drop(engine);

    // The file changes: a new process computes the new answer, and the
    // files of the old snapshot are gone.
    let old = disk_files(&lake);
    write_csv(&lake.root.join("t/a.csv"), 0..20);
    let engine = reopened(&lake).await;
    let changed = run(&engine, SUM).await;
    assert_ne!(changed, first);
    assert_eq!(changed, uncached(&lake, SUM).await);
    assert_eq!(engine.cache_status().disk_hits, 0);
    let new = disk_files(&lake);
    assert!(old.iter().all(|f| !new.contains(f)), "{old:?} {new:?}");
    assert_eq!(new.len(), 2, "{new:?}");

    // Off: the tier is neither read nor written.
    let engine = Engine::builder().catalog_path(lake.root.join("lake.db")).build().await.unwrap();
    run(&engine, SUM).await;
    assert_eq!(engine.cache_status().disk_hits, 0);
}

#[tokio::test]
async fn a_sub_result_on_disk_serves_another_query_in_a_new_process() {
    let lake = lake_with(&[("tarn.cache.disk", "true")]).await;
    run(&lake.engine, &dashboard(0)).await;
    let engine = reopened(&lake).await;
    let explain = run(&engine, &format!("EXPLAIN {}", dashboard(120))).await;
    assert!(!explain.contains("sub-plan served"), "EXPLAIN reads the memory tier only: {explain}");
    let before = engine.scan_counters();
    assert_eq!(run(&engine, &dashboard(120)).await, uncached(&lake, &dashboard(120)).await);
    assert_eq!((engine.scan_counters() - before).bytes_read, 0);
    let status = engine.cache_status();
    assert_eq!((status.disk_hits, status.subplan_hits, status.hits), (1, 1, 0), "{status:?}");
}

#[tokio::test]
async fn corrupt_disk_entries_are_ignored_and_replaced() {
    let lake = lake_with(&[("tarn.cache.disk", "true"), ("tarn.cache.subplans", "false")]).await;
    let first = run(&lake.engine, SUM).await;
    let files = disk_files(&lake);
    assert_eq!(files.len(), 1);
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let engine = reopened(&lake).await;
    engine.sql("SET tarn.cache.subplans = false").await.unwrap();
    assert_eq!(run(&engine, SUM).await, first);
    assert_eq!(engine.cache_status().disk_hits, 0);
    // Rewritten whole by the run that missed, and read by the next process.
    let engine = reopened(&lake).await;
    engine.sql("SET tarn.cache.subplans = false").await.unwrap();
    assert_eq!(run(&engine, SUM).await, first);
    assert_eq!(engine.cache_status().disk_hits, 1);
    // A file that is not an entry at all is ignored too.
    std::fs::write(&disk_files(&lake)[0], b"not arrow").unwrap();
    let engine = reopened(&lake).await;
    assert_eq!(run(&engine, SUM).await, first);
}

#[tokio::test]
async fn the_disk_tier_stays_within_its_bound() {
    let lake = lake_with(&[("tarn.cache.disk", "true"), ("tarn.cache.subplans", "false")]).await;
    run(&lake.engine, SUM).await;
    let one: u64 = disk_files(&lake).iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    lake.engine.sql(&format!("SET tarn.cache.disk_limit = {}", one * 2 + one / 2)).await.unwrap();
    for filter in 1..6 {
        run(
            &lake.engine,
            &format!("SELECT grp, sum(amount) AS s FROM t WHERE id > {filter} GROUP BY grp ORDER BY grp"),
        )
        .await;
        let status = lake.engine.cache_status();
        assert!(status.disk_bytes <= one * 2 + one / 2, "{status:?}");
    }
    assert_eq!(lake.engine.cache_status().disk_entries, 2);
    lake.engine.clear_cache();
    assert_eq!(lake.engine.cache_status().disk_entries, 0);
}
