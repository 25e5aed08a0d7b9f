//! `tarn`: the Tarn SQL shell. Parses the command line, sets up logging
//! (`TARN_LOG`, else `RUST_LOG`; default `warn`), runs [`tarn_cli::run_to_exit_code`], which
//! turns the outcome into the exit code: 0 success, 1 failure, 2 usage error
//! (reported by clap).

use std::process::ExitCode;

use tarn_cli::Args;

/// mimalloc instead of the system allocator, as DataFusion's own CLI does.
/// glibc's malloc maps every large buffer afresh and returns it on free, so
/// each 1 MiB read of an index build or ranged scan page-faults its pages
/// in again: building the events CSV index spent 10 s in the kernel (5 s of
/// 10 s wall) that mimalloc's reuse avoids (benches/RESULTS.md).
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
