//! Tarn's SQL surface as sqllogictest files (`tests/slt/*.slt`), each run in
//! its own engine over a fresh catalog file.
//!
//! Variables (with `control substitution on`): `$TMP` is a per-file scratch
//! directory (and results show it as `$TMP`), `$DATA` is `tests/data`. The harness
//! statement `TEST REOPEN CATALOG` closes the engine and opens a new one on
//! the same catalog file, to check that what a statement did persists.
//!
//! Run one file: `cargo test -p tarn-tests --test slt -- ddl`.

use std::path::{Path, PathBuf};

use datafusion_sqllogictest::{DFColumnType, convert_batches, convert_schema_to_types};
use sqllogictest::{AsyncDB, DBOutput};
use tarn::{Engine, ResultKind};

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

struct TarnDb {
    engine: Engine,
    catalog: PathBuf,
    /// The file's scratch directory (`$TMP`), shown as `$TMP` in results.
    scratch: String,
}

impl TarnDb {
    async fn open(catalog: &Path, scratch: &str) -> Result<Self, SltError> {
        let engine = Engine::builder()
            .catalog_path(catalog)
            .target_partitions(2)
            .build()
            .await
            .map_err(|e| SltError(e.to_string()))?;
        Ok(Self { engine, catalog: catalog.to_path_buf(), scratch: scratch.to_string() })
    }
}

#[async_trait::async_trait]
impl AsyncDB for TarnDb {
    type Error = SltError;
    type ColumnType = DFColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DFColumnType>, SltError> {
        if sql.trim().eq_ignore_ascii_case("TEST REOPEN CATALOG") {
            *self = TarnDb::open(&self.catalog, &self.scratch).await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let err = |e: tarn::Error| SltError(e.to_string());
        let result = self.engine.sql(sql).await.map_err(err)?;
        if let ResultKind::Command { .. } = result.kind() {
            result.collect().await.map_err(err)?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let batches = result.collect().await.map_err(err)?;
        let types = convert_schema_to_types(batches.schema.fields());
        let mut rows = convert_batches(&batches.schema, batches.batches, false).map_err(|e| SltError(e.to_string()))?;
        // Paths under the scratch directory print the same on every run (plans drop the leading '/').
        for cell in rows.iter_mut().flatten() {
            if cell.contains(self.scratch.trim_start_matches('/')) {
                *cell = cell.replace(&self.scratch, "$TMP").replace(self.scratch.trim_start_matches('/'), "$TMP");
            }
        }
        if rows.is_empty() && types.is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows { types, rows })
    }

    fn engine_name(&self) -> &str {
        "tarn"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }

    async fn shutdown(&mut self) {}
}

fn slt_files(filter: Option<&str>) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .filter(|p| filter.is_none_or(|f| p.to_string_lossy().contains(f)))
        .collect();
    files.sort();
    files
}

async fn run_file(path: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let catalog = dir.path().join("catalog.db");
    let scratch = dir.path().join("scratch");
    std::fs::create_dir(&scratch).map_err(|e| e.to_string())?;
    let scratch = scratch.display().to_string();
    let scratch_for_conn = scratch.clone();
    let mut runner = sqllogictest::Runner::new(move || {
        let catalog = catalog.clone();
        let scratch = scratch_for_conn.clone();
        async move { TarnDb::open(&catalog, &scratch).await }
    });
    runner.set_var("TMP".into(), scratch);
    runner.set_var("DATA".into(), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data").display().to_string());
    runner.run_file_async(path).await.map_err(|e| e.display(true).to_string())
}

fn main() {
    // libtest-style arguments: the first free argument filters files.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let files = slt_files(filter.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        let name = file.file_name().unwrap_or_default().to_string_lossy().to_string();
        match runtime.block_on(run_file(file)) {
            Ok(()) => {
                passed += 1;
                println!("slt {name} ... ok");
            }
            Err(e) => {
                failed += 1;
                println!("slt {name} ... FAILED\n{e}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 || files.is_empty() {
        std::process::exit(1);
    }
}
