//! The Tarn shell (`tarn`): a REPL and script runner over a Tarn lake
//! catalog.
//!
//! The binary (`src/main.rs`) only parses the command line, sets up
//! logging and maps the result of [`run`] to an exit code; everything else
//! lives here:
//!
//! - [`args`]: the command line (clap);
//! - [`shell`]: running SQL text statement by statement, shared by scripts
//!   and the REPL, and printing results (screen, pager, `\o` file);
//! - [`repl`]: the interactive shell (rustyline), with [`editor`]
//!   (highlighting, hints, multi-line input), [`completion`] and [`lexer`];
//! - [`output`]: result formats, expanded display and footers;
//! - [`pager`]: paging output taller than the screen;
//! - [`progress`]: the progress line of slow statements;
//! - [`meta`]: backslash commands (`\d`, `\timing`, ...);
//! - [`demo`]: the `tarn demo` subcommand;
//! - [`bench`]: the `tarn bench` subcommand;
//! - [`error`]: [`CliError`] and its exit codes.

pub mod args;
pub mod bench;
pub mod completion;
pub mod demo;
pub mod editor;
pub mod error;
pub mod lexer;
pub mod meta;
pub mod output;
pub mod pager;
pub mod progress;
pub mod repl;
pub mod shell;

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::{Path, PathBuf};

use tarn::Engine;
use tokio::runtime::Runtime;

pub use crate::args::Args;
use crate::args::{Command, Input, SessionArgs};
pub use crate::error::{CliError, Result};
use crate::output::{DEFAULT_MAX_ROWS, OutputSettings};
use crate::shell::{Flow, Origin, Shell, Terminal};

/// Run `tarn` with parsed arguments: the demo, the scripts given with `-c`
/// and `-f`, a script on standard input, or the interactive shell.
pub fn run(args: Args) -> Result<()> {
    let runtime = build_runtime(args.options.threads)?;
    let outcome = match &args.command {
        Some(Command::Demo(demo)) => demo::run(&args, demo, &runtime),
        Some(Command::Bench(bench)) => bench::run(&args, bench, &runtime),
        None => runtime
            .block_on(open_engine(&args.catalog, &args.options))
            .and_then(|engine| run_session(engine, &args.options, &args.script.inputs, &runtime, None)),
    };
    // A cancelled query may still be finishing the batch it was computing
    // (cancellation takes effect where it next yields): do not wait for it.
    runtime.shutdown_background();
    outcome
}

/// [`run`] `args`, printing its error (unless the reader of our output went
/// away) and turning the outcome into the process exit code: 0, 1 or 2.
pub fn run_to_exit_code(args: Args) -> std::process::ExitCode {
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if e.should_report() {
                eprintln!("Error: {e}");
            }
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

/// Open the catalog at `catalog` (`:memory:` for none) with the engine
/// options of the command line.
pub async fn open_engine(catalog: &Path, options: &SessionArgs) -> Result<Engine> {
    let mut builder = Engine::builder().catalog_path(catalog);
    if let Some(bytes) = options.memory_limit {
        builder = builder.memory_limit(bytes);
    }
    if let Some(threads) = options.threads {
        builder = builder.target_partitions(threads);
    }
    for (key, value) in &options.settings {
        builder = builder.setting(key, value);
    }
    Ok(builder.build().await?)
}

/// Run `inputs` in order on `engine` (stopping at the first error or `\q`);
/// without inputs, read a script from standard input, or open the
/// interactive shell (after the start-up file and `banner`) when it is a
/// terminal.
pub fn run_session(
    engine: Engine,
    options: &SessionArgs,
    inputs: &[Input],
    runtime: &Runtime,
    banner: Option<&str>,
) -> Result<()> {
    let interactive = inputs.is_empty() && std::io::stdin().is_terminal();
    let output = OutputSettings {
        format: options.format,
        quiet: options.quiet,
        interactive,
        max_rows: interactive.then_some(DEFAULT_MAX_ROWS),
        ..OutputSettings::default()
    };
    let mut shell = Shell::new(engine, output, Terminal::detect());
    shell.progress = options.progress;
    if let Some(rc) = rc_file(options, interactive) {
        let flow = run_rc_file(&mut shell, &rc, runtime, interactive)?;
        if flow == Flow::Quit {
            return Ok(());
        }
    }
    if interactive {
        if let Some(banner) = banner {
            print!("{banner}");
        }
        return repl::run(&mut shell, runtime);
    }
    if inputs.is_empty() {
        let stdin = std::io::stdin().lock();
        runtime.block_on(run_reader(&mut shell, stdin, Path::new("-")))?;
        return Ok(());
    }
    for input in inputs {
        let flow = match input {
            Input::Sql(sql) => runtime.block_on(shell.run_script(sql, &Origin::Inline))?,
            Input::File(path) if path.as_os_str() == "-" => {
                let stdin = std::io::stdin().lock();
                runtime.block_on(run_reader(&mut shell, stdin, path))?
            }
            Input::File(path) => {
                let file = File::open(path).map_err(|source| CliError::ReadScript { path: path.clone(), source })?;
                runtime.block_on(run_reader(&mut shell, BufReader::new(file), path))?
            }
        };
        if flow == Flow::Quit {
            break;
        }
    }
    Ok(())
}

/// The start-up file to run: none with `-X`; `-r FILE` always; else
/// `~/.tarnrc`, for the interactive shell only (scripts stay reproducible)
/// and when it exists.
fn rc_file(options: &SessionArgs, interactive: bool) -> Option<PathBuf> {
    if options.no_rc {
        return None;
    }
    if let Some(path) = &options.rcfile {
        return Some(path.clone());
    }
    let default = dirs::home_dir()?.join(RC_FILE);
    (interactive && default.is_file()).then_some(default)
}

/// Name of the start-up file in the home directory.
pub const RC_FILE: &str = ".tarnrc";

/// Run the start-up file. In the interactive shell an error in it is
/// reported and the shell opens anyway; in a script run it fails the run.
fn run_rc_file(shell: &mut Shell, path: &Path, runtime: &Runtime, interactive: bool) -> Result<Flow> {
    let text =
        std::fs::read_to_string(path).map_err(|source| CliError::ReadScript { path: path.to_path_buf(), source });
    let result = text.and_then(|text| {
        // The start-up file's own settings messages ("Timing is off.") are noise.
        let quiet = std::mem::replace(&mut shell.output.quiet, true);
        let flow = runtime.block_on(shell.run_script(&text, &Origin::File(path.display().to_string())));
        shell.output.quiet = quiet;
        flow
    });
    match result {
        Err(e) if interactive => {
            eprintln!("Error: {e}");
            Ok(Flow::Continue)
        }
        other => other,
    }
}

/// Run the script read line by line from `reader` (`path` is its name, `-`
/// for standard input), so statements run as soon as they are complete.
async fn run_reader(shell: &mut Shell, reader: impl BufRead, path: &Path) -> Result<Flow> {
    let origin = match path.as_os_str() == "-" {
        true => Origin::Inline,
        false => Origin::File(path.display().to_string()),
    };
    let lines =
        reader.lines().map(|line| line.map_err(|source| CliError::ReadScript { path: path.to_path_buf(), source }));
    shell.run_lines(lines, &origin).await
}

/// The tokio runtime queries run on: `threads` worker threads (default:
/// one per core).
fn build_runtime(threads: Option<usize>) -> Result<Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("tarn-worker");
    if let Some(n) = threads {
        builder.worker_threads(n);
    }
    builder.build().map_err(CliError::Runtime)
}
