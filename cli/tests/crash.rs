//! A process killed in the middle of a catalog write leaves the catalog
//! exactly as it was before the statement: every DDL statement, ATTACH of
//! many tables included, is one SQLite transaction.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tarn_catalog::Catalog;

/// The `tarn` binary Cargo built for these tests.
fn tarn_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_tarn"))
}

fn make_lake(dir: &Path, tables: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for t in 0..tables {
        let mut body = String::from("id,name\n");
        for i in 0..50 {
            body.push_str(&format!("{i},row{i}\n"));
        }
        std::fs::write(dir.join(format!("t{t}.csv")), body).unwrap();
    }
}

fn tarn(catalog: &Path, sql: &str) -> Command {
    let mut cmd = Command::new(tarn_bin());
    cmd.arg(catalog).arg("-c").arg(sql).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    cmd
}

fn table_names(catalog: &Path) -> Vec<String> {
    let c = Catalog::open(catalog).unwrap();
    c.list_tables(None).unwrap().into_iter().map(|t| format!("{}.{}", t.def.schema, t.def.name)).collect()
}

#[test]
fn kill_during_attach_leaves_the_catalog_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.db");
    let lake = dir.path().join("lake");
    make_lake(&lake, 12);
    let status = tarn(
        &catalog,
        &format!("CREATE EXTERNAL TABLE keep STORED AS CSV LOCATION '{}'", lake.join("t0.csv").display()),
    )
    .status()
    .unwrap();
    assert!(status.success());
    let before = table_names(&catalog);
    assert_eq!(before, ["public.keep"]);

    // Pause inside the ATTACH transaction (after all 12 tables are written,
    // before COMMIT) and kill the process there.
    let mut child = tarn(&catalog, &format!("ATTACH '{}' AS lake", lake.display()))
        .env("TARN_TEST_PAUSE_BEFORE_COMMIT_MS", "20000")
        .spawn()
        .unwrap();
    // Wait until the process says it is inside the transaction.
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut line).unwrap();
    assert!(line.contains("pausing"), "unexpected output before the pause: {line}");
    assert!(child.try_wait().unwrap().is_none(), "the ATTACH process ended before it could be killed");
    child.kill().unwrap();
    child.wait().unwrap();

    // The catalog opens, holds exactly what it held, and takes the same ATTACH again.
    assert_eq!(table_names(&catalog), before);
    let out = tarn(&catalog, &format!("ATTACH '{}' AS lake", lake.display())).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(table_names(&catalog).len(), 13);
}

#[test]
fn kills_at_random_moments_never_leave_a_partial_attach() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.db");
    let lake = dir.path().join("lake");
    make_lake(&lake, 30);
    for (round, delay_ms) in [5u64, 30, 60, 90, 120, 160, 220, 300].into_iter().enumerate() {
        let mut child = tarn(&catalog, &format!("ATTACH OR REPLACE '{}' AS lake", lake.display())).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        let n = table_names(&catalog).len();
        // Round 0 may leave nothing; later rounds replace a complete earlier ATTACH.
        assert!(n == 0 || n == 30, "round {round}: a partial ATTACH is visible ({n} tables)");
    }
}
