//! Correctness: the 22 TPC-H queries over Tarn's demo lake (SF 0.01, a mix of
//! CSV, gzip CSV, Parquet, Hive-partitioned Parquet, NDJSON and a JSON array)
//! give the answers DuckDB computed independently on the same generated data
//! (`tests/data/tpch/answers`, see its README for the command). The queries
//! are the ones `tarn bench --suite tpch` runs (`tarn::tpch::QUERIES`).

use std::path::PathBuf;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use tarn::Engine;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/tpch")
}

/// Parse RFC 4180 CSV (quotes, doubled quotes, commas and newlines inside quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (in_quotes, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => in_quotes = false,
            (true, c) => field.push(c),
            (false, '"') => in_quotes = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// Numbers match within 1e-6 absolute plus 1e-12 relative (DataFusion keeps 6
/// decimals of decimal averages, CSV columns are doubles); the rest exactly.
fn cells_match(expected: &str, actual: &str) -> bool {
    if expected == actual {
        return true;
    }
    match (expected.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(e), Ok(a)) => (e - a).abs() <= 1e-6 + e.abs() * 1e-12,
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tpch_sf001_matches_duckdb() {
    let lake = tempfile::tempdir().unwrap();
    let summary = tarn::demo::generate_lake(lake.path(), 0.01).unwrap();
    assert_eq!(summary.table("lineitem").map(|t| t.rows), Some(60175));

    let engine = Engine::in_memory().await.unwrap();
    engine
        .execute_script(&format!(
            "ATTACH '{}' AS demo; SET datafusion.catalog.default_schema = 'demo';",
            lake.path().display()
        ))
        .await
        .unwrap();

    let mut failures = Vec::new();
    assert_eq!(tarn::tpch::QUERIES.len(), 22);
    for (i, query) in tarn::tpch::QUERIES.iter().enumerate() {
        let q = i + 1;
        let sql = query.sql;
        let expected = parse_csv(&std::fs::read_to_string(data_dir().join(format!("answers/q{q}.csv"))).unwrap());
        let batches = match engine.sql(sql).await {
            Ok(r) => r.collect().await,
            Err(e) => Err(e),
        };
        let batches = match batches {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("q{q}: error: {e}"));
                continue;
            }
        };
        let options = FormatOptions::default().with_null("");
        let mut actual: Vec<Vec<String>> = vec![batches.schema.fields().iter().map(|f| f.name().clone()).collect()];
        for batch in &batches.batches {
            let formatters: Vec<_> =
                batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
            for row in 0..batch.num_rows() {
                actual.push(formatters.iter().map(|f| f.value(row).to_string()).collect());
            }
        }
        if actual.len() != expected.len() {
            failures.push(format!("q{q}: {} rows, expected {}", actual.len() - 1, expected.len() - 1));
            continue;
        }
        if actual[0] != expected[0] {
            failures.push(format!("q{q}: columns {:?}, expected {:?}", actual[0], expected[0]));
            continue;
        }
        for (i, (e, a)) in expected.iter().zip(&actual).enumerate().skip(1) {
            if e.len() != a.len() || !e.iter().zip(a).all(|(e, a)| cells_match(e, a)) {
                failures.push(format!("q{q} row {i}: got {a:?}, expected {e:?}"));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "TPC-H mismatches:\n{}", failures.join("\n"));
}
