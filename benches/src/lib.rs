//! Shared pieces of Tarn's benchmarks (`benches/benches/*.rs` and the
//! `tarn-compare` runner).

use std::path::PathBuf;

/// The release `tarn` binary a benchmark runs as a process: `TARN_BIN`, else
/// `tarn` in the profile directory the benchmark was built in
/// (`target/release/deps/micro-…` → `target/release/tarn`).
pub fn tarn_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TARN_BIN") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("tarn");
    candidate.is_file().then_some(candidate)
}

/// Write a catalog of `tables` CSV tables (four columns each, one small
/// file per table) to `dir`: the large catalog the shell's start-up and
/// completion are measured on. Returns the catalog file.
pub async fn many_table_catalog(dir: &std::path::Path, tables: usize) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let catalog = dir.join("tarn.db");
    let engine = tarn::Engine::open(&catalog).await?;
    let mut script = String::new();
    for i in 0..tables {
        let file = data.join(format!("t{i}.csv"));
        std::fs::write(&file, "id,name,amount,created\n1,a,1.5,2024-01-01\n")?;
        script.push_str(&format!("CREATE EXTERNAL TABLE t{i} STORED AS CSV LOCATION '{}';\n", file.display()));
    }
    engine.execute_script(&script).await?;
    Ok(catalog)
}
