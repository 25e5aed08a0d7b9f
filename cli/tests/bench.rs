//! Tests of `tarn bench` as a process: query files and directories against a
//! catalog, warm and cold modes, compared configurations, the JSON and HTML
//! outputs, the built-in TPC-H suite (row counts checked against DuckDB's
//! answers in `tests/data/tpch/answers`), and failures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// Run the `tarn` binary Cargo built for these tests in `dir`, environment
/// variables of the shell removed.
fn tarn(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tarn"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for var in ["TARN_CATALOG", "TARN_FORMAT", "TARN_MEMORY_LIMIT", "TARN_THREADS", "TARN_LOG", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.output().expect("cannot run tarn")
}

#[track_caller]
fn success(out: Output) -> String {
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "tarn failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// A catalog with a CSV table `t` of 5 rows and a directory of two queries.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("t.csv"), "a,b\n1,x\n2,y\n3,z\n4,x\n5,y\n").unwrap();
    success(tarn(dir.path(), &["cat.db", "-c", "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION 't.csv'"]));
    let queries = dir.path().join("queries");
    fs::create_dir(&queries).unwrap();
    fs::write(queries.join("q10_all.sql"), "-- every row\nSELECT * FROM t;\n").unwrap();
    fs::write(queries.join("q2_groups.sql"), "SELECT b, count(*) FROM t GROUP BY b ORDER BY b;").unwrap();
    (dir, queries)
}

/// The checks every report passes: shape, statistics, ratios, totals.
#[track_caller]
fn check_report(report: &Value, mode: &str, configs: &[&str], runs: usize, rows: &[(&str, u64)]) {
    assert_eq!(report["mode"], mode);
    assert_eq!(report["runs"], runs);
    assert!(report["started"].as_str().unwrap().ends_with('Z'));
    assert!(report["machine"]["cores"].as_u64().unwrap() >= 1);
    let names: Vec<&str> = report["configs"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, configs);
    let queries = report["queries"].as_array().unwrap();
    assert_eq!(queries.len(), rows.len());
    for (query, (name, expected_rows)) in queries.iter().zip(rows) {
        assert_eq!(query["name"], *name);
        let results = query["results"].as_array().unwrap();
        assert_eq!(results.len(), configs.len());
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result["config"], configs[i]);
            assert!(result["error"].is_null(), "{result}");
            assert_eq!(result["rows"], *expected_rows, "{name}");
            let timed = result["runs"].as_array().unwrap();
            assert_eq!(timed.len(), runs);
            for run in timed {
                assert_eq!(run["rows"], *expected_rows);
                assert!(run["seconds"].as_f64().unwrap() > 0.0);
            }
            let s = &result["seconds"];
            let (min, median, max) =
                (s["min"].as_f64().unwrap(), s["median"].as_f64().unwrap(), s["max"].as_f64().unwrap());
            assert!(min <= median && median <= max, "{s}");
            let ratio = result["ratio"].as_f64().unwrap();
            if i == 0 {
                assert_eq!(ratio, 1.0);
            }
            assert!(result["peak_memory"].is_u64(), "{result}");
            assert!(result["bytes_scanned"].as_u64().unwrap() > 0, "{result}");
        }
    }
    let totals = report["totals"].as_array().unwrap();
    assert_eq!(totals.len(), configs.len());
    assert_eq!(totals[0]["ratio"], 1.0);
    assert_eq!(totals[0]["failed"], 0);
}

#[test]
fn warm_runs_of_a_directory_with_two_configurations() {
    let (dir, _) = setup();
    let stdout = success(tarn(
        dir.path(),
        &[
            "cat.db",
            "bench",
            "queries",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--config",
            "base",
            "--config",
            "small:datafusion.execution.batch_size=2",
            "--json",
            "out.json",
            "--html",
            "out.html",
        ],
    ));
    // Natural order: q2 before q10.
    let report = read_json(&dir.path().join("out.json"));
    check_report(&report, "warm", &["base", "small"], 2, &[("q2_groups", 3), ("q10_all", 5)]);
    assert_eq!(report["configs"][1]["settings"][0][0], "datafusion.execution.batch_size");
    assert!(stdout.contains("q2_groups  base"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("total") && l.contains("small") && l.contains("ratio")), "{stdout}");
    let html = fs::read_to_string(dir.path().join("out.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.contains("q10_all"));
    assert!(!html.contains("<script"));
}

#[test]
fn cold_runs_start_a_process_each() {
    let (dir, queries) = setup();
    let file = queries.join("q2_groups.sql");
    success(tarn(
        dir.path(),
        &[
            "cat.db",
            "bench",
            file.to_str().unwrap(),
            "--mode",
            "cold",
            "--runs",
            "2",
            "--warmup",
            "0",
            "--json",
            "c.json",
            "--html",
            "c.svg",
        ],
    ));
    let report = read_json(&dir.path().join("c.json"));
    check_report(&report, "cold", &["default"], 2, &[("q2_groups", 3)]);
    for run in report["queries"][0]["results"][0]["runs"].as_array().unwrap() {
        // A fresh process: its peak resident set is megabytes, and it took longer than the query.
        assert!(run["peak_memory"].as_u64().unwrap() > 1 << 20, "{run}");
        assert!(run["process_seconds"].as_f64().unwrap() >= run["seconds"].as_f64().unwrap());
    }
    assert!(fs::read_to_string(dir.path().join("c.svg")).unwrap().starts_with("<svg"));
}

#[test]
fn tpch_suite_row_counts_match_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let answers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tpch/answers");
    success(tarn(
        dir.path(),
        &[
            ":memory:",
            "-q",
            "bench",
            "--suite",
            "tpch",
            "--sf",
            "0.01",
            "--data-dir",
            "lake",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--json",
            "t.json",
        ],
    ));
    let report = read_json(&dir.path().join("t.json"));
    assert_eq!(report["suite"]["name"], "tpch");
    assert_eq!(report["suite"]["scale_factor"], 0.01);
    let names: Vec<String> = (1..=22).map(|q| format!("q{q}")).collect();
    let rows: Vec<(&str, u64)> = names
        .iter()
        .map(|name| {
            let answer = fs::read_to_string(answers.join(format!("{name}.csv"))).unwrap();
            (name.as_str(), answer.lines().count() as u64 - 1)
        })
        .collect();
    check_report(&report, "warm", &["default"], 1, &rows);
}

#[test]
fn failing_query_is_reported_and_fails_the_run() {
    let (dir, queries) = setup();
    fs::write(queries.join("q3_bad.sql"), "SELECT nope FROM t").unwrap();
    let out = tarn(dir.path(), &["cat.db", "bench", "queries", "--runs", "1", "--json", "f.json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 query failed"), "{stderr}");
    let report = read_json(&dir.path().join("f.json"));
    let bad = &report["queries"][1];
    assert_eq!(bad["name"], "q3_bad");
    assert!(bad["results"][0]["error"].as_str().unwrap().contains("nope"));
    assert_eq!(report["totals"][0]["failed"], 1);
}

#[test]
fn nothing_to_run_and_unknown_names_are_errors() {
    let (dir, _) = setup();
    let out = tarn(dir.path(), &["cat.db", "bench"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to run"));
    let out = tarn(dir.path(), &["cat.db", "bench", "queries", "--only", "q99"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no query named 'q99'"));
    let out = tarn(dir.path(), &["cat.db", "bench", "queries", "--runs", "0"]);
    assert_eq!(out.status.code(), Some(2));
}
