//! Secondary indexes, end to end:
//! - before/after plan snapshots of `IndexPruningRule` (the same EXPLAIN with
//!   `tarn.index.enabled` off and on), for CSV blocks, Parquet row groups and
//!   whole files;
//! - property tests: for random predicates over indexed and unindexed
//!   columns, every table (CSV, NDJSON, Parquet) answers the same with and
//!   without its indexes, also after files are added, changed and removed
//!   (while automatic maintenance indexes them in the background, and after
//!   REFRESH TABLE);
//! - automatic maintenance: new, changed and removed files are taken into
//!   the index after a query sees them (`Engine::wait_for_index_maintenance`),
//!   and then pruned; `tarn.index.auto_maintain = false`; a file that cannot
//!   be indexed is reported in `tarn.indexes` and not retried;
//! - a cancelled `CREATE INDEX` leaves no index behind.

use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use tarn::Engine;

/// Rows `from..=to`: user_id = (v * 7919) % 20011 (a permutation: every id
/// once), NULL every 17th row; kind cycles through three values.
fn rows_sql(from: u64, to: u64) -> String {
    format!(
        "SELECT CASE WHEN value % 17 = 0 THEN NULL ELSE (value * 7919) % 20011 END AS user_id, \
         CASE value % 3 WHEN 0 THEN 'buy' WHEN 1 THEN 'view' ELSE 'click' END AS kind, value AS ts \
         FROM generate_series({from}, {to})"
    )
}

async fn copy(engine: &Engine, from: u64, to: u64, path: &Path, format: &str) {
    let extra = if format == "PARQUET" { " OPTIONS ('format.max_row_group_size' '500')" } else { "" };
    let sql = format!("COPY ({}) TO '{}' STORED AS {format}{extra}", rows_sql(from, to), path.display());
    engine.sql(&sql).await.unwrap().collect().await.unwrap();
}

const FORMATS: [(&str, &str, &str); 3] =
    [("ev_csv", "CSV", "csv"), ("ev_json", "JSON", "json"), ("ev_pq", "PARQUET", "parquet")];

/// Three tables of the same rows in two files each, indexed on user_id (bloom), kind (values) and ts (minmax).
async fn lake(dir: &Path) -> Engine {
    // The result cache is off: every query must really scan, so the pruning
    // counts measure the index (tests/tests/result_cache.rs covers the cache).
    let engine = Engine::builder()
        .catalog_path(dir.join("catalog.db"))
        .target_partitions(2)
        .setting("tarn.cache.results", "false")
        .build()
        .await
        .unwrap();
    engine.sql("SET tarn.index.block_size = 4096").await.unwrap();
    for (table, format, ext) in FORMATS {
        let folder = dir.join(table);
        copy(&engine, 1, 3000, &folder.join(format!("a.{ext}")), format).await;
        copy(&engine, 3001, 6000, &folder.join(format!("b.{ext}")), format).await;
        engine
            .sql(&format!("CREATE EXTERNAL TABLE {table} STORED AS {format} LOCATION '{}/'", folder.display()))
            .await
            .unwrap();
        engine.sql(&format!("CREATE INDEX {table}_user ON {table} (user_id)")).await.unwrap();
        engine.sql(&format!("CREATE INDEX {table}_kind ON {table} (kind) USING values")).await.unwrap();
        engine.sql(&format!("CREATE INDEX {table}_ts ON {table} (ts) USING minmax")).await.unwrap();
    }
    engine
}

async fn rows(engine: &Engine, sql: &str) -> Vec<String> {
    let batches = engine.sql(sql).await.unwrap().collect().await.unwrap();
    let text = batches.to_pretty_string().unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

async fn explain(engine: &Engine, sql: &str, dir: &Path) -> String {
    let batches = engine.sql(&format!("EXPLAIN {sql}")).await.unwrap().collect().await.unwrap();
    let text = batches.to_pretty_string().unwrap();
    let dir = dir.display().to_string();
    let mut out = String::new();
    for line in text.lines().filter(|l| l.contains("Exec")) {
        let cell = line.split('|').nth(2).unwrap_or_default();
        let plan = cell.strip_prefix(' ').unwrap_or(cell).trim_end();
        out.push_str(&plan.replace(dir.trim_start_matches('/'), "$TMP"));
        out.push('\n');
    }
    out
}

async fn before_after(engine: &Engine, sql: &str, dir: &Path) -> (String, String) {
    engine.sql("SET tarn.index.enabled = false").await.unwrap();
    let before = explain(engine, sql, dir).await;
    engine.sql("SET tarn.index.enabled = true").await.unwrap();
    let after = explain(engine, sql, dir).await;
    (before, after)
}

#[tokio::test]
async fn plan_snapshots_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let engine = lake(dir.path()).await;
    let dir = dir.path();

    // CSV: one file pruned, the other read in one 4 KiB block (v = 4000 is in b.csv).
    let (before, after) = before_after(&engine, "SELECT ts FROM ev_csv WHERE user_id = 18598", dir).await;
    assert_eq!(
        before,
        "FilterExec: user_id@0 = 18598, projection=[ts@1]
  DataSourceExec: file_groups={2 groups: [[$TMP/ev_csv/a.csv], [$TMP/ev_csv/b.csv]]}, projection=[user_id, ts], file_type=csv, has_header=true
"
    );
    assert_eq!(
        after,
        "FilterExec: user_id@0 = 18598, projection=[ts@1]
  IndexPrunedExec: indexes=[ev_csv_user], files=1 pruned of 2 indexed, ranges=1 in 1 files, bytes_skipped=85940
    DataSourceExec: file_groups={2 groups: [[], [$TMP/ev_csv/b.csv:12288..16384]]}, projection=[user_id, ts], file_type=csv, has_header=true
"
    );

    // DataFusion splits files into byte ranges first (here: any file over 1 byte); the index's
    // blocks are intersected with those ranges (b.csv:0..545 keeps nothing, b.csv:545.. keeps the block).
    engine.sql("SET datafusion.optimizer.repartition_file_min_size = 1").await.unwrap();
    let (before, after) = before_after(&engine, "SELECT ts FROM ev_csv WHERE user_id = 18598", dir).await;
    assert!(
        before.contains("[[$TMP/ev_csv/a.csv:0..44473, $TMP/ev_csv/b.csv:0..545], [$TMP/ev_csv/b.csv:545..45563]]"),
        "{before}"
    );
    assert!(after.contains("ranges=1 in 1 files, bytes_skipped=85940"), "{after}");
    assert!(after.contains("file_groups={2 groups: [[], [$TMP/ev_csv/b.csv:12288..16384]]}"), "{after}");
    let found = rows(&engine, "SELECT ts FROM ev_csv WHERE user_id = 18598").await;
    assert!(found.iter().any(|l| l.contains("| 4000 |")), "{found:?}");
    engine.sql("RESET datafusion.optimizer.repartition_file_min_size").await.unwrap();

    // Parquet: row groups of 500 rows; only the one holding v = 4000 is read.
    let (before, after) = before_after(&engine, "SELECT ts FROM ev_pq WHERE user_id = 18598", dir).await;
    assert!(!before.contains("IndexPrunedExec"), "{before}");
    assert!(
        after.starts_with(
            "FilterExec: user_id@0 = 18598, projection=[ts@1]
  IndexPrunedExec: indexes=[ev_pq_user], files=1 pruned of 2 indexed, row_groups=1 kept of 6"
        ),
        "{after}"
    );
    // The index proved the predicate selective, so the pruned scan filters
    // rows while decoding (late materialization); off, it decodes the kept
    // row groups whole.
    assert!(after.contains(", row_filter=on\n"), "{after}");
    engine.sql("SET tarn.index.row_filter = false").await.unwrap();
    let (_, without) = before_after(&engine, "SELECT ts FROM ev_pq WHERE user_id = 18598", dir).await;
    assert_eq!(without, after.replace(", row_filter=on", ""));
    engine.sql("SET tarn.index.row_filter = true").await.unwrap();
    let found = rows(&engine, "SELECT ts FROM ev_pq WHERE user_id = 18598").await;
    assert!(found.iter().any(|l| l.contains("| 4000 |")), "{found:?}");
    // CSV scans have no row filter to switch on.
    let (_, after) = before_after(&engine, "SELECT ts FROM ev_csv WHERE user_id = 18598", dir).await;
    assert!(!after.contains("row_filter"), "{after}");

    // Ranges by zone maps, combined with AND over two indexes.
    let (_, after) = before_after(&engine, "SELECT count(*) FROM ev_json WHERE ts < 100 AND kind = 'buy'", dir).await;
    assert!(
        after.contains("IndexPrunedExec: indexes=[ev_json_kind, ev_json_ts], files=1 pruned of 2 indexed"),
        "{after}"
    );

    // Nothing to prune: the plan is left alone.
    let (before, after) = before_after(&engine, "SELECT count(*) FROM ev_csv WHERE kind <> 'buy'", dir).await;
    assert_eq!(before, after);
}

/// Random predicates over indexed (user_id, kind, ts) and unindexed columns.
fn predicate() -> impl Strategy<Value = String> {
    let id = 0u64..20011;
    let leaf = prop_oneof![
        id.clone().prop_map(|k| format!("user_id = {k}")),
        prop::collection::vec(id.clone(), 1..6)
            .prop_map(|ks| format!("user_id IN ({})", ks.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))),
        (id.clone(), 0u64..400).prop_map(|(a, w)| format!("user_id BETWEEN {a} AND {}", a + w)),
        (id.clone(), prop_oneof![Just("<"), Just("<="), Just(">"), Just(">="), Just("<>")])
            .prop_map(|(k, op)| format!("user_id {op} {k}")),
        Just("user_id IS NULL".to_string()),
        Just("user_id IS NOT NULL".to_string()),
        prop_oneof![Just("buy"), Just("view"), Just("click"), Just("none")].prop_map(|k| format!("kind = '{k}'")),
        (0u64..8000).prop_map(|t| format!("ts < {t}")),
        (0u64..8000).prop_map(|t| format!("ts = {t}")),
        // Not indexed in a usable way: casts, arithmetic, LIKE.
        (0u64..8000).prop_map(|t| format!("ts + 1 = {t}")),
        Just("kind LIKE 'b%'".to_string()),
        id.prop_map(|k| format!("CAST(user_id AS VARCHAR) = '{k}'")),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            inner.prop_map(|a| format!("NOT ({a})")),
        ]
    })
}

/// Compare answers with and without indexes for `cases` random predicates; returns how many
/// of the queries the indexes pruned (so a test can tell that they were used at all).
fn check_predicates(runtime: &tokio::runtime::Runtime, engine: &Engine, stage: &str, cases: u32) -> usize {
    let pruned = std::cell::Cell::new(0);
    // A fixed seed: the same predicates on every run, so the pruning counts below are stable.
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner
        .run(&predicate(), |pred| {
            runtime.block_on(async {
                for (table, _, _) in FORMATS {
                    let sql = format!("SELECT user_id, kind, ts FROM {table} WHERE {pred}");
                    engine.sql("SET tarn.index.enabled = true").await.unwrap();
                    let plan = rows(engine, &format!("EXPLAIN {sql}")).await;
                    if plan.iter().any(|l| l.contains("IndexPrunedExec")) {
                        pruned.set(pruned.get() + 1);
                    }
                    let with = rows(engine, &sql).await;
                    engine.sql("SET tarn.index.enabled = false").await.unwrap();
                    let without = rows(engine, &sql).await;
                    assert_eq!(with, without, "{stage}: {sql}");
                }
            });
            Ok(())
        })
        .unwrap();
    pruned.get()
}

#[test]
fn same_results_with_and_without_indexes() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = runtime.block_on(lake(dir.path()));
    let pruned = check_predicates(&runtime, &engine, "as indexed", 48);
    assert!(pruned > 30, "indexes pruned only {pruned} of 144 queries");

    // A new file (unindexed until REFRESH), a changed file, a removed file.
    runtime.block_on(async {
        for (table, format, ext) in FORMATS {
            let folder = dir.path().join(table);
            copy(&engine, 6001, 7000, &folder.join(format!("c.{ext}")), format).await;
            copy(&engine, 2001, 5000, &folder.join(format!("a.{ext}")), format).await;
        }
    });
    check_predicates(&runtime, &engine, "files added and changed", 32);
    runtime.block_on(async {
        for (table, _, ext) in FORMATS {
            std::fs::remove_file(dir.path().join(table).join(format!("b.{ext}"))).unwrap();
        }
    });
    check_predicates(&runtime, &engine, "file removed", 32);
    runtime.block_on(async {
        for (table, _, _) in FORMATS {
            engine.sql(&format!("REFRESH TABLE {table}")).await.unwrap();
        }
        let files = rows(&engine, "SELECT index_name, file_count FROM tarn.indexes").await;
        assert!(files.iter().filter(|l| l.contains("| 2 ")).count() == 9, "{files:?}");
    });
    let pruned = check_predicates(&runtime, &engine, "after REFRESH", 32);
    assert!(pruned > 10, "indexes pruned only {pruned} of 96 queries after REFRESH");
}

/// The user id of row `v` (see [`rows_sql`]).
fn user_of(v: u64) -> u64 {
    (v * 7919) % 20011
}

/// The `tarn.indexes` rows of table `t`: (index, file_count, unindexed_files, maintenance, error).
async fn index_status(engine: &Engine, table: &str) -> Vec<String> {
    let sql = format!(
        "SELECT index_name, file_count, unindexed_files, maintenance, maintenance_error FROM tarn.indexes \
         WHERE table_name = '{table}' ORDER BY index_name"
    );
    let batches = engine.sql(&sql).await.unwrap().collect().await.unwrap();
    batches.to_pretty_string().unwrap().lines().filter(|l| l.contains(table)).map(|l| l.to_string()).collect()
}

/// EXPLAIN's `IndexPrunedExec` line, with and then without indexes the answers compared.
async fn pruned_line(engine: &Engine, sql: &str) -> String {
    let plan = rows(engine, &format!("EXPLAIN {sql}")).await;
    let line = plan.iter().find(|l| l.contains("IndexPrunedExec")).cloned().unwrap_or_default();
    let with = rows(engine, sql).await;
    engine.sql("SET tarn.index.enabled = false").await.unwrap();
    let without = rows(engine, sql).await;
    engine.sql("SET tarn.index.enabled = true").await.unwrap();
    assert_eq!(with, without, "{sql}");
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_changed_and_removed_files_are_maintained_automatically() {
    let dir = tempfile::tempdir().unwrap();
    let engine = lake(dir.path()).await;
    for (table, format, ext) in FORMATS {
        let folder = dir.path().join(table);
        // A new file: the first query reads it in full and has it indexed.
        copy(&engine, 6001, 7000, &folder.join(format!("c.{ext}")), format).await;
        let sql = format!("SELECT ts FROM {table} WHERE user_id = {}", user_of(6500));
        let line = pruned_line(&engine, &sql).await;
        assert!(line.contains("of 2 indexed, 1 unindexed read in full"), "{table}: {line}");
        engine.wait_for_index_maintenance().await;
        let line = pruned_line(&engine, &sql).await;
        assert!(line.contains("of 3 indexed") && !line.contains("unindexed"), "{table}: {line}");
        assert!(rows(&engine, &sql).await.iter().any(|l| l.contains("| 6500 |")));
        for status in index_status(&engine, table).await {
            assert!(status.contains("| 3          | 0               | idle        |"), "{table}: {status}");
        }

        // A changed file: read in full (never pruned by its old entries) until re-indexed.
        copy(&engine, 2001, 5000, &folder.join(format!("a.{ext}")), format).await;
        let sql = format!("SELECT ts FROM {table} WHERE user_id = {}", user_of(2500));
        let line = pruned_line(&engine, &sql).await;
        assert!(line.contains("1 unindexed read in full"), "{table}: {line}");
        engine.wait_for_index_maintenance().await;
        let line = pruned_line(&engine, &sql).await;
        assert!(line.contains("of 3 indexed") && !line.contains("unindexed"), "{table}: {line}");

        // A removed file: its entries go.
        std::fs::remove_file(folder.join(format!("b.{ext}"))).unwrap();
        rows(&engine, &format!("SELECT count(*) FROM {table} WHERE ts > 0")).await;
        engine.wait_for_index_maintenance().await;
        for status in index_status(&engine, table).await {
            assert!(status.contains("| 2          | 0               | idle        |"), "{table}: {status}");
        }
    }

    // Switched off: a new file stays unindexed (and tarn.indexes says so).
    engine.sql("SET tarn.index.auto_maintain = false").await.unwrap();
    let folder = dir.path().join("ev_csv");
    copy(&engine, 7001, 8000, &folder.join("d.csv"), "CSV").await;
    let line = pruned_line(&engine, &format!("SELECT ts FROM ev_csv WHERE user_id = {}", user_of(7500))).await;
    assert!(line.contains("1 unindexed read in full"), "{line}");
    engine.wait_for_index_maintenance().await;
    let status = index_status(&engine, "ev_csv").await;
    assert!(status.iter().all(|s| s.contains("| 2          | 0 ")), "{status:?}");
    engine.sql("SET tarn.index.auto_maintain = true").await.unwrap();
    rows(&engine, "SELECT count(*) FROM ev_csv").await;
    engine.wait_for_index_maintenance().await;
    let status = index_status(&engine, "ev_csv").await;
    assert!(status.iter().all(|s| s.contains("| 3          | 0 ")), "{status:?}");

    // A file the user_id index cannot read (a user_id that is not a number):
    // queries that do not decode user_id still work, maintenance reports the
    // file and does not try it again, and the other indexes take it.
    std::fs::write(folder.join("e.csv"), "user_id,kind,ts\nnot-a-number,buy,9001\n").unwrap();
    let found = rows(&engine, "SELECT kind, ts FROM ev_csv WHERE kind = 'buy' AND ts > 9000").await;
    assert!(found.iter().any(|l| l.contains("9001")), "{found:?}");
    engine.wait_for_index_maintenance().await;
    let status = index_status(&engine, "ev_csv").await;
    let user = status.iter().find(|s| s.contains("ev_csv_user")).unwrap();
    assert!(user.contains("| 3          | 1 ") && user.contains("e.csv"), "{status:?}");
    let ts = status.iter().find(|s| s.contains("ev_csv_ts")).unwrap();
    assert!(ts.contains("| 4          | 0 ") && !ts.contains("e.csv"), "{status:?}");
    rows(&engine, "SELECT kind, ts FROM ev_csv WHERE kind = 'buy' AND ts > 9000").await;
    engine.wait_for_index_maintenance().await;
    assert_eq!(index_status(&engine, "ev_csv").await, status);
}

#[tokio::test]
async fn a_cancelled_create_index_leaves_no_index() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::builder()
        .catalog_path(dir.path().join("catalog.db"))
        .setting("tarn.index.block_size", "4096")
        .setting("tarn.index.build_concurrency", "1")
        .build()
        .await
        .unwrap();
    let folder = dir.path().join("big");
    for (i, (from, to)) in [(1, 40_000), (40_001, 80_000)].into_iter().enumerate() {
        copy(&engine, from, to, &folder.join(format!("{i}.csv")), "CSV").await;
    }
    engine.sql(&format!("CREATE EXTERNAL TABLE big STORED AS CSV LOCATION '{}/'", folder.display())).await.unwrap();
    // Hundreds of 4 KiB blocks: far more than a millisecond of work.
    let cancelled =
        tokio::time::timeout(std::time::Duration::from_millis(1), engine.sql("CREATE INDEX big_user ON big (user_id)"))
            .await;
    assert!(cancelled.is_err(), "the build finished within a millisecond");
    let indexes = engine.sql("SELECT * FROM tarn.indexes").await.unwrap().collect().await.unwrap();
    assert_eq!(indexes.num_rows(), 0);
    engine.sql("CREATE INDEX big_user ON big (user_id)").await.unwrap();
    let indexes = engine.sql("SELECT * FROM tarn.indexes WHERE file_count = 2").await.unwrap().collect().await.unwrap();
    assert_eq!(indexes.num_rows(), 1);
}
