//! The table cache (`CACHE TABLE`) never serves a stale answer: a file
//! modified, appended to, deleted or added between two runs changes the
//! answer; a restart after a change sees the files as they are; a file
//! modified within the last two seconds is read from disk; a table that
//! grows past the memory limit is read partly from disk. Every answer is
//! compared with a fresh engine that caches nothing. And a cached scan reads
//! no file data, works beside indexes and the result cache.
//!
//! Files are given a last-modified time in the past: a file modified within
//! the last two seconds is not cached (see `RACY_WINDOW` in
//! engine/src/table_cache/load.rs).

use common::{Lake, age_by, lake_folder, write_csv};
use std::path::Path;
use tarn::Engine;

mod common;

/// A cached table `t` over the folder `t/` holding `a.csv` (ids 0..10) and
/// `b.csv` (ids 10..20); the result cache is off, so every query scans.
async fn lake() -> Lake {
    let (dir, root) = lake_folder(&[("a.csv", 0..10), ("b.csv", 10..20)]);
    let engine = open(&root).await;
    engine.sql(&format!("CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '{}/t/'", root.display())).await.unwrap();
    engine.sql("CACHE TABLE t").await.unwrap();
    Lake { _dir: dir, root, engine }
}

async fn open(root: &Path) -> Engine {
    Engine::builder().catalog_path(root.join("lake.db")).setting("tarn.cache.results", "false").build().await.unwrap()
}

const SUM: &str = "SELECT grp, count(*) AS n, sum(amount) AS total, max(id) AS top FROM t GROUP BY grp ORDER BY grp";

async fn run(engine: &Engine, sql: &str) -> String {
    engine.sql(sql).await.unwrap().collect().await.unwrap().to_pretty_string().unwrap()
}

/// The answer of a fresh engine with every cache off: what a run must return.
async fn truth(lake: &Lake, sql: &str) -> String {
    let engine = Engine::builder()
        .catalog_path(lake.root.join("lake.db"))
        .setting("tarn.cache.results", "false")
        .setting("tarn.cache.tables", "false")
        .build()
        .await
        .unwrap();
    run(&engine, sql).await
}

/// (files in memory, files read from disk at the last scan) of table `t`.
async fn held(engine: &Engine) -> (String, String) {
    let rows = run(engine, "SELECT files, files_on_disk FROM tarn.cached_tables WHERE table_name = 't'").await;
    let line = rows.lines().nth(3).unwrap_or_default().to_string();
    let cells: Vec<String> = line.split('|').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
    (cells.first().cloned().unwrap_or_default(), cells.get(1).cloned().unwrap_or_default())
}

/// The physical plan of `sql`, as EXPLAIN shows it.
async fn plan(engine: &Engine, sql: &str) -> String {
    run(engine, &format!("EXPLAIN {sql}")).await
}

#[tokio::test]
async fn a_cached_table_is_scanned_from_memory_without_reading_file_data() {
    let lake = lake().await;
    assert_eq!(held(&lake.engine).await, ("2".into(), "0".into()));
    assert!(plan(&lake.engine, SUM).await.contains("TableCacheExec: table=public.t, files=2, rows=20"));
    let before = lake.engine.scan_counters();
    let answer = run(&lake.engine, SUM).await;
    assert_eq!((lake.engine.scan_counters() - before).bytes_read, 0);
    assert_eq!(answer, truth(&lake, SUM).await);
    assert!(answer.contains("| 0   | 7 "), "{answer}");
}

#[tokio::test]
async fn a_modified_file_changes_the_answer() {
    let lake = lake().await;
    let first = run(&lake.engine, SUM).await;
    // Same size, other values, another time.
    let body = std::fs::read_to_string(lake.root.join("t/a.csv")).unwrap().replace("1,1,10\n", "1,1,90\n");
    std::fs::write(lake.root.join("t/a.csv"), body).unwrap();
    age_by(&lake.root.join("t/a.csv"), 5);
    let second = run(&lake.engine, SUM).await;
    assert_ne!(first, second);
    assert_eq!(second, truth(&lake, SUM).await);
    // The changed file was loaded again: both are served from memory.
    assert_eq!(held(&lake.engine).await, ("2".into(), "0".into()));
}

#[tokio::test]
async fn an_appended_deleted_or_added_file_changes_the_answer() {
    let lake = lake().await;
    let mut previous = run(&lake.engine, SUM).await;
    type Change = fn(&Path);
    let changes: [(&str, Change); 3] = [
        ("appended", |root| write_csv(&root.join("t/b.csv"), 10..25)),
        ("deleted", |root| std::fs::remove_file(root.join("t/a.csv")).unwrap()),
        ("added", |root| write_csv(&root.join("t/c.csv"), 100..103)),
    ];
    for (what, change) in changes {
        change(&lake.root);
        let answer = run(&lake.engine, SUM).await;
        assert_ne!(answer, previous, "{what}");
        assert_eq!(answer, truth(&lake, SUM).await, "{what}");
        previous = answer;
    }
    // b.csv and c.csv are in memory; the deleted a.csv is forgotten.
    assert_eq!(held(&lake.engine).await, ("2".into(), "0".into()));
}

#[tokio::test]
async fn a_restart_after_a_change_sees_the_files_as_they_are() {
    let lake = lake().await;
    let before = run(&lake.engine, SUM).await;
    let root = lake.root.clone();
    drop(lake.engine);
    write_csv(&root.join("t/a.csv"), 0..4);
    let engine = open(&root).await;
    // The choice survived; the data is loaded by the first scan.
    let listed = run(&engine, "SELECT table_name, loaded FROM tarn.cached_tables").await;
    assert!(listed.contains("| t          | false  |"), "{listed}");
    let after = run(&engine, SUM).await;
    assert_ne!(before, after);
    let lake = Lake { _dir: lake._dir, root, engine };
    assert_eq!(after, truth(&lake, SUM).await);
    assert_eq!(held(&lake.engine).await, ("2".into(), "0".into()));
}

#[tokio::test]
async fn a_recently_modified_file_is_read_from_disk_until_it_settles() {
    let lake = lake().await;
    // Written now: a second write within the file system's clock tick could
    // keep size and time, so the cache does not trust it yet.
    std::fs::write(lake.root.join("t/a.csv"), "id,grp,amount\n1,1,5\n").unwrap();
    let answer = run(&lake.engine, SUM).await;
    assert_eq!(answer, truth(&lake, SUM).await);
    assert_eq!(held(&lake.engine).await, ("1".into(), "1".into()));
    let note = run(&lake.engine, "SELECT note FROM tarn.cached_tables").await;
    assert!(note.contains("a.csv was modified less than 2 s ago"), "{note}");
    assert!(plan(&lake.engine, SUM).await.contains("UnionExec"));
    // Once it is older, the next scan caches it.
    age_by(&lake.root.join("t/a.csv"), 10);
    assert_eq!(run(&lake.engine, SUM).await, truth(&lake, SUM).await);
    assert_eq!(held(&lake.engine).await, ("2".into(), "0".into()));
}

#[tokio::test]
async fn memory_stays_within_the_limit() {
    let lake = lake().await;
    let bytes = run(&lake.engine, "SELECT bytes FROM tarn.cached_tables").await;
    let bytes: u64 = bytes.lines().nth(3).unwrap().trim_matches(|c: char| !c.is_ascii_digit()).parse().unwrap();
    assert!(bytes > 0);
    // Room for the two files, not for a third.
    lake.engine.sql(&format!("SET tarn.cache.table_memory_limit = {}", bytes + bytes / 4)).await.unwrap();
    write_csv(&lake.root.join("t/c.csv"), 20..30);
    assert_eq!(run(&lake.engine, SUM).await, truth(&lake, SUM).await);
    assert_eq!(held(&lake.engine).await, ("2".into(), "1".into()));
    let status = run(&lake.engine, "SELECT bytes, note FROM tarn.cached_tables").await;
    let used: u64 = status.lines().nth(3).unwrap().split('|').nth(1).unwrap().trim().parse().unwrap();
    assert!(used <= bytes + bytes / 4, "{status}");
    assert!(status.contains("does not fit in tarn.cache.table_memory_limit"), "{status}");
    // A table that does not fit is refused whole, and nothing of it is kept.
    lake.engine.sql("UNCACHE TABLE t").await.unwrap();
    let err = lake.engine.sql("CACHE TABLE t").await.unwrap_err().to_string();
    assert!(err.contains("CACHE TABLE public.t") && err.contains("table_memory_limit"), "{err}");
    let listed = run(&lake.engine, "SELECT count(*) AS n FROM tarn.cached_tables").await;
    assert!(listed.contains("| 0 |"), "{listed}");
}

#[tokio::test]
async fn works_with_indexes_and_the_result_cache() {
    let lake = lake().await;
    lake.engine.sql("CREATE INDEX t_id ON t (id)").await.unwrap();
    lake.engine.sql("SET tarn.cache.results = true").await.unwrap();
    let query = "SELECT id, amount FROM t WHERE id = 13";
    // b.csv changes now, so it is read from disk (where the index may prune), a.csv from memory.
    write_csv(&lake.root.join("t/b.csv"), 10..16);
    std::fs::write(lake.root.join("t/b.csv"), std::fs::read(lake.root.join("t/b.csv")).unwrap()).unwrap();
    let shown = plan(&lake.engine, query).await;
    assert!(shown.contains("TableCacheExec") && shown.contains("UnionExec"), "{shown}");
    let first = run(&lake.engine, query).await;
    assert_eq!(first, truth(&lake, query).await);
    assert!(first.contains("| 13 | 130 "), "{first}");
    // Settled: the table cache holds both files, the result cache may answer.
    age_by(&lake.root.join("t/b.csv"), 20);
    assert_eq!(run(&lake.engine, query).await, first);
    assert_eq!(run(&lake.engine, query).await, first);
    write_csv(&lake.root.join("t/b.csv"), 10..13);
    let gone = run(&lake.engine, query).await;
    assert_eq!(gone, truth(&lake, query).await);
    assert!(!gone.contains("130"), "{gone}");
}
