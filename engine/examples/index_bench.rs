//! The index benchmark of issue 5 (secondary indexes on lake files): point
//! lookups `WHERE user_id = ?` and `IN (5 keys)` over the events lake written
//! by `benches/events/generate.py`, as CSV, NDJSON and Parquet, with and
//! without an index; build time against a full scan; index size against the
//! data; bytes read from storage (`Engine::scan_counters`). Prints Markdown
//! for the "Indexes" section of `benches/RESULTS.md`.
//!
//! ```text
//! cargo run --release --example index_bench -- /root/.cache/tarn/events [runs]
//! ```
//!
//! The catalog (`bench.db` in the events directory) keeps the tables and
//! indexes between runs; delete it to measure building again.

use std::time::{Duration, Instant};

use tarn::{Engine, Error, Result};

struct Measured {
    seconds: Vec<f64>,
    bytes: u64,
    rows: usize,
}

impl Measured {
    fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// Run `sql` `runs` times (after one warm-up run when `warm`); bytes read are those of the last run.
async fn measure(engine: &Engine, sql: &str, runs: usize, warm: bool) -> Result<Measured> {
    if warm {
        engine.sql(sql).await?.collect().await?;
    }
    let mut seconds = Vec::new();
    let mut bytes = 0;
    let mut rows = 0;
    for _ in 0..runs.max(1) {
        let before = engine.scan_counters();
        let started = Instant::now();
        let batches = engine.sql(sql).await?.collect().await?;
        seconds.push(started.elapsed().as_secs_f64());
        bytes = (engine.scan_counters() - before).bytes_read;
        rows = batches.num_rows();
    }
    Ok(Measured { seconds, bytes, rows })
}

async fn scalar(engine: &Engine, sql: &str) -> Result<String> {
    let batches = engine.sql(sql).await?.collect().await?;
    let text = batches.to_pretty_string()?;
    Ok(text.lines().nth(3).unwrap_or_default().trim_matches(|c| c == '|' || c == ' ').to_string())
}

fn gb(bytes: u64) -> String {
    format!("{:.2} GB", bytes as f64 / 1e9)
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/root/.cache/tarn/events".into());
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let keys_path = format!("{dir}/keys.json");
    let keys: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&keys_path).map_err(|e| Error::Io { path: keys_path.clone(), source: e })?,
    )
    .map_err(|e| Error::Config(format!("{keys_path}: {e}")))?;
    let ids: Vec<i64> =
        keys["user_ids"].as_array().map(|a| a.iter().filter_map(|v| v.as_i64()).collect()).unwrap_or_default();
    if ids.len() < 5 {
        return Err(Error::Config(format!("{keys_path} lists fewer than 5 user ids")));
    }
    let in_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
    let engine = Engine::open(format!("{dir}/bench.db")).await?;
    println!(
        "| format | data | files | create table | full scan | index build | build / scan | index size | size / data |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut lookups = Vec::new();
    for format in ["csv", "ndjson", "parquet"] {
        let table = format!("ev_{format}");
        let stored = if format == "ndjson" { "JSON" } else { format };
        let mut create = Duration::ZERO;
        if engine.catalog().get_table("public", &table)?.is_none() {
            let started = Instant::now();
            engine.sql(&format!("CREATE EXTERNAL TABLE {table} STORED AS {stored} LOCATION '{dir}/{format}/'")).await?;
            create = started.elapsed();
        }
        let data: u64 = scalar(&engine, &format!("SELECT total_bytes FROM tarn.tables WHERE table_name = '{table}'"))
            .await?
            .parse()
            .unwrap_or_default();
        let files =
            scalar(&engine, &format!("SELECT file_count FROM tarn.tables WHERE table_name = '{table}'")).await?;
        engine.sql("SET tarn.index.enabled = false").await?;
        let full = measure(&engine, &format!("SELECT count(*) FROM {table} WHERE session = 'none'"), 1, false).await?;
        let mut build = Duration::ZERO;
        let index = format!("{table}_user");
        if engine.catalog().get_index("public", &index)?.is_none() {
            let started = Instant::now();
            engine.sql(&format!("CREATE INDEX {index} ON {table} (user_id) USING bloom")).await?;
            build = started.elapsed();
        }
        let size: u64 = scalar(&engine, &format!("SELECT size_bytes FROM tarn.indexes WHERE index_name = '{index}'"))
            .await?
            .parse()
            .unwrap_or_default();
        println!(
            "| {format} | {} | {files} | {:.1} s | {:.1} s ({}) | {:.1} s | {:.2} | {} | {:.2} % |",
            gb(data),
            create.as_secs_f64(),
            full.median(),
            gb(full.bytes),
            build.as_secs_f64(),
            build.as_secs_f64() / full.median(),
            mb(size),
            100.0 * size as f64 / data.max(1) as f64,
        );
        for (label, predicate) in
            [("= ?", format!("user_id = {}", ids[0])), ("IN (5 keys)", format!("user_id IN ({in_list})"))]
        {
            let sql = format!("SELECT * FROM {table} WHERE {predicate}");
            engine.sql("SET tarn.index.enabled = false").await?;
            let without = measure(&engine, &sql, 1, false).await?;
            engine.sql("SET tarn.index.enabled = true").await?;
            let with = measure(&engine, &sql, runs, true).await?;
            if with.rows != without.rows {
                return Err(Error::Execution(format!(
                    "{sql}: {} rows with the index, {} without",
                    with.rows, without.rows
                )));
            }
            lookups.push((format, label, without, with, data));
        }
    }
    println!();
    println!(
        "| format | lookup | rows | without index | with index | speed-up | bytes without | bytes with | bytes with / without |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (format, label, without, with, _) in &lookups {
        println!(
            "| {format} | `{label}` | {} | {:.2} s | {:.3} s | {:.0}x | {} | {} | {:.3} % |",
            with.rows,
            without.median(),
            with.median(),
            without.median() / with.median(),
            gb(without.bytes),
            mb(with.bytes),
            100.0 * with.bytes as f64 / without.bytes.max(1) as f64,
        );
    }
    Ok(())
}
