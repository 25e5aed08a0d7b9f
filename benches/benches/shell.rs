//! Criterion benchmarks of the shell on a large catalog (1,000 tables):
//!
//! - `shell/startup_1000_tables`: `tarn CATALOG -c 'select 1'` as a whole
//!   process (the release binary: `TARN_BIN`, or `tarn` beside this
//!   benchmark's target directory);
//! - `shell/names_1000_tables`: reading every name completion offers
//!   (`Engine::names`, what the first Tab after a statement costs);
//! - `shell/complete_table` and `shell/complete_column`: one completion
//!   request once the names are loaded.
//!
//! Run with `cargo build --release --bin tarn && cargo bench --workspace
//! --bench shell`.

#![allow(missing_docs)]

use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tarn_cli::completion::complete;

const TABLES: usize = 1000;

fn benches(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => return eprintln!("cannot start a runtime: {e}"),
    };
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return eprintln!("cannot make a temporary directory: {e}"),
    };
    let catalog = match runtime.block_on(tarn_bench::many_table_catalog(dir.path(), TABLES)) {
        Ok(c) => c,
        Err(e) => return eprintln!("cannot build the {TABLES}-table catalog: {e}"),
    };
    let mut group = c.benchmark_group("shell");
    match tarn_bench::tarn_binary() {
        Some(tarn) => {
            group.sample_size(50).measurement_time(Duration::from_secs(10));
            group.bench_function("startup_1000_tables", |b| {
                b.iter(|| {
                    Command::new(&tarn)
                        .arg(&catalog)
                        .args(["-c", "select 1"])
                        .stdout(Stdio::null())
                        .env_remove("TARN_CATALOG")
                        .status()
                        .map(|s| s.success())
                })
            });
        }
        None => eprintln!(
            "startup_1000_tables left out: no tarn binary (build it with `cargo build --release --bin tarn`, or set TARN_BIN)"
        ),
    }

    let engine = match runtime.block_on(tarn::Engine::open(&catalog)) {
        Ok(e) => e,
        Err(e) => return eprintln!("cannot open the catalog: {e}"),
    };
    group.sample_size(100).measurement_time(Duration::from_secs(5));
    group.bench_function("names_1000_tables", |b| b.iter(|| runtime.block_on(engine.names()).map(drop)));
    let names = match runtime.block_on(engine.names()) {
        Ok(n) => n,
        Err(e) => return eprintln!("cannot read the names: {e}"),
    };
    let table = "select * from t99";
    group.bench_function("complete_table", |b| b.iter(|| complete(table, table.len(), &names, "public")));
    let column = "select am from t512 where created > '2024-01-01'";
    group.bench_function("complete_column", |b| b.iter(|| complete(column, 9, &names, "public")));
    group.finish();
}

criterion_group!(shell, benches);
criterion_main!(shell);
