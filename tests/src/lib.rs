//! Shared helpers for Tarn test suites.

use std::path::PathBuf;

/// Path of the `tarn` binary of this workspace (`target/<profile>/tarn`).
///
/// Cargo gives `CARGO_BIN_EXE_*` only to the tests of the crate that owns the
/// binary, so this finds it from the running test executable instead:
/// `target/<profile>/deps/<test>` → `target/<profile>/tarn`. Panics with a
/// hint when the binary has not been built (`cargo test -p tarn-tests` alone
/// does not build it).
pub fn tarn_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("cannot locate the test executable");
    let profile_dir =
        exe.parent().and_then(|deps| deps.parent()).expect("the test executable is not in target/<profile>/deps");
    let bin = profile_dir.join(format!("tarn{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the tarn binary is missing at {}: run `cargo build -p tarn-cli` or `cargo test --workspace`",
        bin.display()
    );
    bin
}
