//! `tarn`: the Tarn SQL shell. Parses the command line, sets up logging
//! (`TARN_LOG`, else `RUST_LOG`; default `warn`), runs [`tarn_cli::run_to_exit_code`], which
//! turns the outcome into the exit code: 0 success, 1 failure, 2 usage error
//! (reported by clap).

use std::process::ExitCode;

use tarn_cli::Args;

/// mimalloc instead of the system allocator, as DataFusion's own CLI does.
/// glibc's malloc maps large buffers afresh and unmaps them on free, so the
/// 1 MiB ranged reads of index builds and indexed scans fault their pages in
/// again and again: one build of the events CSV index spent 10 s in the
/// kernel. With mimalloc it measured 4.1 s wall and 1.2 s in the kernel on a
/// settled machine (benches/RESULTS.md); machine state also moves these
/// figures, so the allocator's own share is not isolated there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match Args::try_parse_from(std::env::args_os()) {
        Ok(args) => args,
        // Prints help, version or the usage error; exits 0 or 2.
        Err(e) => e.exit(),
    };
    let filter =
        std::env::var("TARN_LOG").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "warn".to_string());
    env_logger::Builder::new().parse_filters(&filter).init();

    tarn_cli::run_to_exit_code(args)
}
