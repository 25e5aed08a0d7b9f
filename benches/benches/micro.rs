//! Criterion micro-benchmarks of the costs every query or session pays:
//!
//! - `catalog_open`: opening a catalog file that holds the TPC-H lake
//!   (`Engine::open`: SQLite open, migrations check, session set-up);
//! - `plan/qN`: planning TPC-H queries over that catalog (parse, resolve the
//!   tables from the catalog, logical optimisation, physical planning; no
//!   execution);
//! - `shell_startup`: `tarn :memory: -c 'select 1'` as a whole process.
//!
//! Run with `cargo bench --workspace --bench micro` after
//! `cargo build --release --bin tarn` (the start-up benchmark runs that
//! binary: `TARN_BIN`, or `tarn` next to this benchmark's target directory;
//! without it that benchmark is left out, with a message).

#![allow(missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tarn::Engine;
use tokio::runtime::Runtime;

/// Queries planned: a scan-aggregate, joins of 6 and 8 tables, and the
/// correlated subqueries of Q21.
const PLANNED: [&str; 4] = ["q1", "q5", "q9", "q21"];

/// A catalog with the SF 0.01 TPC-H Parquet lake attached as schema `tpch`.
struct Fixture {
    _dir: tempfile::TempDir,
    catalog: PathBuf,
}

fn fixture(runtime: &Runtime) -> Result<Fixture, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let lake = dir.path().join("lake");
    tarn::demo::generate_tpch_lake(&lake, 0.01, tarn::demo::LakeLayout::Parquet)?;
    let catalog = dir.path().join("tarn.db");
    runtime.block_on(async {
        let engine = Engine::open(&catalog).await?;
        engine.sql(&format!("ATTACH '{}' AS tpch", lake.display())).await?.collect().await?;
        Ok::<_, tarn::Error>(())
    })?;
    Ok(Fixture { _dir: dir, catalog })
}

fn benches(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => return eprintln!("cannot start a runtime: {e}"),
    };
    let fixture = match fixture(&runtime) {
        Ok(f) => f,
        Err(e) => return eprintln!("cannot set up the TPC-H catalog: {e}"),
    };

    c.bench_function("catalog_open", |b| b.iter(|| runtime.block_on(Engine::open(&fixture.catalog)).map(drop)));

    let engine = match runtime.block_on(
        Engine::builder().catalog_path(&fixture.catalog).setting("datafusion.catalog.default_schema", "tpch").build(),
    ) {
        Ok(e) => e,
        Err(e) => return eprintln!("cannot open the catalog: {e}"),
    };
    let mut group = c.benchmark_group("plan");
    for name in PLANNED {
        let Some(query) = tarn::tpch::query(name) else { continue };
        // `Engine::sql` plans the statement and returns its (unpolled) stream.
        group.bench_function(name, |b| b.iter(|| runtime.block_on(engine.sql(query.sql)).map(drop)));
    }
    group.finish();

    match tarn_bench::tarn_binary() {
        Some(tarn) => {
            let mut group = c.benchmark_group("process");
            group.sample_size(30).measurement_time(Duration::from_secs(10));
            group.bench_function("shell_startup", |b| {
                b.iter(|| {
                    Command::new(&tarn)
                        .args([":memory:", "-c", "select 1"])
                        .stdout(Stdio::null())
                        .env_remove("TARN_CATALOG")
                        .status()
                        .map(|s| s.success())
                })
            });
            group.finish();
        }
        None => eprintln!(
            "shell_startup left out: no tarn binary (build it with `cargo build --release --bin tarn`, or set TARN_BIN)"
        ),
    }
}

criterion_group!(micro, benches);
criterion_main!(micro);
