//! Helpers shared by the cache tests (`result_cache.rs`, `table_cache.rs`):
//! a folder `t/` of small CSV files whose modification times the tests
//! control, and the engine over it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tarn::Engine;

/// A lake folder (deleted on drop) and an engine on its catalog `lake.db`.
pub struct Lake {
    pub _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub engine: Engine,
}

/// A temporary folder holding `t/` with one CSV file per `(name, ids)`.
pub fn lake_folder(files: &[(&str, std::ops::Range<i64>)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::create_dir(root.join("t")).unwrap();
    for (name, ids) in files {
        write_csv(&root.join("t").join(name), ids.clone());
    }
    (dir, root)
}

/// Write `rows` (of `id,grp,amount`) to `path` and date it a minute back.
pub fn write_csv(path: &Path, rows: std::ops::Range<i64>) {
    let mut body = String::from("id,grp,amount\n");
    for i in rows {
        body.push_str(&format!("{i},{},{}\n", i % 3, i * 10));
    }
    std::fs::write(path, body).unwrap();
    age(path);
}

/// Set a file's last-modified time a minute back, as an unchanged file's.
pub fn age(path: &Path) {
    age_by(path, 0);
}

/// Set a file's last-modified time a minute back plus `tick` seconds (so
/// rewrites get distinct times).
pub fn age_by(path: &Path, tick: u64) {
    let file = std::fs::File::options().append(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(60) + Duration::from_secs(tick)).unwrap();
}
