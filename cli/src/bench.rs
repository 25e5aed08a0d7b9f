//! `tarn bench`: time a set of queries against a catalog and report
//! min/median/max time, rows, bytes scanned and peak memory per query, for
//! one or several named configurations, as a table, JSON and a chart.
//!
//! Queries come from `.sql` files, directories of them, or the built-in
//! TPC-H suite (`--suite tpch`: data generated in-process by
//! [`tarn::demo::generate_tpch_lake`] into a cache directory and attached as
//! schema `tpch`, the 22 queries of [`tarn::tpch::QUERIES`]).
//!
//! Modes:
//! - **warm**: one engine per configuration, all in this process; each query
//!   runs `--warmup` times untimed, then `--runs` timed runs alternate
//!   between the configurations (the order rotating every round) so that
//!   drift (thermal, other load) falls on all of them alike. Peak memory is
//!   the peak of the engine's memory-pool reservations during the run,
//!   sampled every [`POOL_SAMPLE_INTERVAL`].
//! - Bytes scanned are what the engine read from its object stores during the
//!   run ([`Engine::scan_counters`]): whole files for CSV, footers and column
//!   chunks for Parquet.
//! - **cold**: every run (warm-ups too) is a fresh process: this executable
//!   re-run with the hidden `bench --child` flag, which opens the catalog,
//!   runs the query once and reports on standard output. Nothing cached in a
//!   process survives between runs (the operating system's page cache does).
//!   Peak memory is the child's peak resident set (VmHWM).

pub mod chart;
pub mod report;
pub mod stats;

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use datafusion::execution::memory_pool::MemoryPool;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tarn::demo::LakeLayout;
use tarn::{Engine, ResultKind};
use tokio::runtime::Runtime;

use crate::args::{Args, SessionArgs, parse_key_value, parse_scale_factor};
use crate::error::{CliError, Result};
use report::{ConfigInfo, ConfigResult, Machine, QueryReport, Report, Run, SuiteInfo};

/// How often warm mode samples the memory pool's reservations.
pub const POOL_SAMPLE_INTERVAL: Duration = Duration::from_millis(2);
/// The schema a built-in suite's tables are attached as.
pub const SUITE_SCHEMA: &str = "tpch";

/// Extra text at the end of `tarn bench --help`.
const BENCH_AFTER_HELP: &str = "\
Examples:
  tarn :memory: bench --suite tpch --sf 1                  TPC-H SF1 Parquet, warm, 1 warm-up + 3 runs
  tarn :memory: bench --suite tpch --sf 1 --data-format csv --runs 1
  tarn lake.db bench queries/ --runs 5 --json out.json --html out.html
  tarn :memory: bench --suite tpch --only q1,q6 \\
      --config base --config nopush:datafusion.execution.parquet.pushdown_filters=false
  tarn :memory: bench --suite tpch --mode cold --runs 1

Each .sql file is one benchmark query; all of its statements are timed together and the
rows of its last query are counted. The global options (--threads, --memory-limit, --set)
apply to every configuration; --config settings apply on top. The result cache is off
(tarn.cache.results=false, tarn.cache.subplans=false) unless --set or --config turns it
on: timed runs measure the engine. Ratios compare median times with the first configuration (below 1: faster).
Exit status 1 when a query failed.";

/// Arguments of `tarn bench`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = BENCH_AFTER_HELP)]
pub struct BenchArgs {
    /// Query files (`.sql`) and directories of `.sql` files; each file is one
    /// benchmark query.
    #[arg(value_name = "QUERIES")]
    pub queries: Vec<PathBuf>,

    /// Run a built-in suite: `tpch`, the 22 TPC-H queries over data
    /// generated in-process (attached as schema `tpch`).
    #[arg(long, value_enum, value_name = "SUITE")]
    pub suite: Option<Suite>,

    /// Scale factor of the suite's data (1 is about 6 million lineitem rows).
    #[arg(long, value_name = "SF", default_value_t = 1.0, value_parser = parse_scale_factor)]
    pub sf: f64,

    /// File format of the suite's data.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = DataFormat::Parquet)]
    pub data_format: DataFormat,

    /// Directory of the suite's data, generated when missing
    /// [default: <cache dir>/tarn/tpch/sf<SF>-<FORMAT>].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Run only the queries with these names (comma-separated, e.g. q1,q6).
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Untimed runs of each query and configuration before the timed ones.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub warmup: usize,

    /// Timed runs of each query and configuration.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = parse_runs)]
    pub runs: usize,

    /// warm: all runs in this process, caches kept; cold: a fresh process
    /// for every run.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Mode::Warm)]
    pub mode: Mode,

    /// A named configuration to compare, NAME or NAME:KEY=VALUE[,KEY=VALUE];
    /// repeatable. Ratios are against the first.
    #[arg(long = "config", value_name = "NAME:KEY=VALUE,…", value_parser = parse_config)]
    pub configs: Vec<ConfigInfo>,

    /// Write every measurement as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write a chart to FILE: a self-contained HTML page (chart and table),
    /// or a bare SVG image when FILE ends with `.svg`.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Internal: run one query described on standard input and report on
    /// standard output (how cold mode runs each query in a fresh process).
    #[arg(long, hide = true)]
    pub child: bool,
}

/// A built-in suite of queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Suite {
    /// The 22 TPC-H queries.
    Tpch,
}

/// File format of a suite's generated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DataFormat {
    /// One folder of Parquet files per table.
    Parquet,
    /// One CSV file (with a header row) per table.
    Csv,
}

impl DataFormat {
    /// The lake layout of this format.
    fn layout(self) -> LakeLayout {
        match self {
            DataFormat::Parquet => LakeLayout::Parquet,
            DataFormat::Csv => LakeLayout::Csv,
        }
    }
}

/// How runs are isolated from each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// All runs in this process: files, metadata and plans may be cached.
    Warm,
    /// Every run in a fresh process.
    Cold,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Warm => "warm",
            Mode::Cold => "cold",
        }
    }
}

/// Parse `--runs`: a positive number.
fn parse_runs(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{text}' is not a positive number of runs")),
    }
}

/// Parse `--config NAME[:KEY=VALUE[,KEY=VALUE]…]`.
pub fn parse_config(text: &str) -> std::result::Result<ConfigInfo, String> {
    let (name, settings) = match text.split_once(':') {
        Some((name, settings)) => (name.trim(), settings),
        None => (text.trim(), ""),
    };
    let valid_name = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid_name {
        return Err(format!("'{text}': a configuration needs a name (letters, digits, _ - .) before ':'"));
    }
    let settings = settings
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_key_value)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(ConfigInfo { name: name.to_string(), settings })
}

/// One query to time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySpec {
    /// Its name: the file name without `.sql`, or `q1` … `q22`.
    pub name: String,
    /// Where it came from: the file, or the suite's name.
    pub source: String,
    /// Its SQL text.
    pub sql: String,
}

/// The queries of `paths`: files as given, directories' `.sql` files in
/// natural order (`q2` before `q10`).
pub fn load_queries(paths: &[PathBuf]) -> Result<Vec<QuerySpec>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = fs::read_dir(path).map_err(|source| CliError::ReadScript { path: path.clone(), source })?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("sql")))
                .collect();
            found.sort_by_key(|p| {
                natural_key(&p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            });
            if found.is_empty() {
                return Err(CliError::Bench(format!("no .sql files in '{}'", path.display())));
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let mut queries = Vec::new();
    for file in files {
        let sql = fs::read_to_string(&file).map_err(|source| CliError::ReadScript { path: file.clone(), source })?;
        let name = file.file_stem().map_or_else(|| file.display().to_string(), |s| s.to_string_lossy().into_owned());
        queries.push(QuerySpec { name, source: file.display().to_string(), sql });
    }
    // Names must tell queries apart: fall back to the path when they do not.
    let mut seen = HashSet::new();
    let duplicated: HashSet<String> =
        queries.iter().filter(|q| !seen.insert(q.name.clone())).map(|q| q.name.clone()).collect();
    for query in &mut queries {
        if duplicated.contains(&query.name) {
            query.name = query.source.clone();
        }
    }
    Ok(queries)
}

/// A sort key that orders embedded numbers by value: `q2` < `q10`.
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut digits = c.to_string();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                digits.push(d);
                chars.next();
            }
            key.push((std::mem::take(&mut text), digits.parse().unwrap_or(u64::MAX)));
        } else {
            text.push(c);
        }
    }
    key.push((text, 0));
    key
}

/// The settings that switch the result cache (whole results and sub-plan
/// results), off by default in benchmarks.
const CACHE_SETTINGS: [&str; 2] = ["tarn.cache.results", "tarn.cache.subplans"];

/// What a run needs besides the query: statements to run first (untimed)
/// and settings applied to every configuration.
#[derive(Debug, Clone, Default)]
struct Preparation {
    /// Run on every fresh engine before timing (e.g. ATTACH into an in-memory catalog).
    setup: Vec<String>,
    /// Settings before the configuration's own.
    settings: Vec<(String, String)>,
    suite: Option<SuiteInfo>,
    queries: Vec<QuerySpec>,
}

/// Run `tarn bench`: measure, print the table, write `--json` / `--html`.
/// Fails (exit status 1) when a query failed, after reporting the others.
pub fn run(args: &Args, bench: &BenchArgs, runtime: &Runtime) -> Result<()> {
    if bench.child {
        return run_child(args, runtime);
    }
    let report = measure(args, bench, runtime, &ChildCommand::current()?)?;
    print!("{}", report.to_table());
    std::io::stdout().flush()?;
    write_outputs(&report, bench)?;
    let failed: usize = report.totals.iter().map(|t| t.failed).sum();
    match failed {
        0 => Ok(()),
        n => Err(CliError::Bench(format!("{n} quer{} failed", if n == 1 { "y" } else { "ies" }))),
    }
}

/// Write the `--json` and `--html` files of `report`.
pub fn write_outputs(report: &Report, bench: &BenchArgs) -> Result<()> {
    let write = |path: &Path, text: String| {
        fs::write(path, text).map_err(|source| CliError::WriteFile { path: path.to_path_buf(), source })
    };
    if let Some(path) = &bench.json {
        let text = serde_json::to_string_pretty(report).map_err(|e| CliError::Bench(format!("JSON: {e}")))?;
        write(path, text + "\n")?;
    }
    if let Some(path) = &bench.html {
        let svg_only = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        write(path, if svg_only { chart::svg(report) } else { chart::html(report) })?;
    }
    Ok(())
}

/// How cold mode starts a fresh process of Tarn: this executable, with
/// arguments before the usual command line (none for `tarn`; programs that
/// embed the shell, such as the comparison runner, put their own).
#[derive(Debug, Clone)]
pub struct ChildCommand {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before `CATALOG … bench --child`.
    pub prefix: Vec<OsString>,
}

impl ChildCommand {
    /// This very executable, with no prefix.
    pub fn current() -> Result<ChildCommand> {
        let program = std::env::current_exe()
            .map_err(|e| CliError::Bench(format!("cannot find the tarn executable to start cold runs: {e}")))?;
        Ok(ChildCommand { program, prefix: Vec::new() })
    }
}

/// Measure every query under every configuration (see the module
/// documentation for the modes); progress goes to standard error unless
/// `--quiet`.
pub fn measure(args: &Args, bench: &BenchArgs, runtime: &Runtime, child: &ChildCommand) -> Result<Report> {
    let started = utc_now();
    let configs = match bench.configs.is_empty() {
        true => vec![ConfigInfo { name: "default".into(), settings: vec![] }],
        false => bench.configs.clone(),
    };
    let mut names = HashSet::new();
    if let Some(dup) = configs.iter().find(|c| !names.insert(c.name.as_str())) {
        return Err(CliError::Bench(format!("configuration '{}' is given twice", dup.name)));
    }
    let quiet = args.options.quiet;

    // Generate and attach the suite's data through an engine of its own, then
    // open one engine per configuration (warm mode).
    let preparation = runtime.block_on(async {
        let engine = crate::open_engine(&args.catalog, &args.options).await?;
        prepare(args, bench, &engine, quiet).await
    })?;
    if preparation.queries.is_empty() {
        return Err(CliError::Bench(
            "nothing to run: give .sql files or directories, or --suite tpch (see tarn bench --help)".into(),
        ));
    }
    let mut engines = Vec::new();
    if bench.mode == Mode::Warm {
        for config in &configs {
            let engine = runtime.block_on(async {
                let engine = open_configured(&args.catalog, &args.options, &preparation.settings, config).await?;
                for statement in &preparation.setup {
                    engine.execute_script(statement).await?;
                }
                Ok::<_, CliError>(engine)
            })?;
            engines.push(engine);
        }
    }

    let mut queries = Vec::new();
    for query in &preparation.queries {
        let mut runs: Vec<Vec<Run>> = vec![Vec::new(); configs.len()];
        let mut errors: Vec<Option<String>> = vec![None; configs.len()];
        // Warm-ups (a failing query fails here and is not timed).
        for (i, config) in configs.iter().enumerate() {
            for _ in 0..bench.warmup {
                if errors[i].is_some() {
                    break;
                }
                let outcome = match bench.mode {
                    Mode::Warm => runtime.block_on(run_warm(&engines[i], &query.sql)),
                    Mode::Cold => run_cold(child, args, &preparation, config, &query.sql),
                };
                if let Err(e) = outcome {
                    errors[i] = Some(e.to_string());
                }
            }
        }
        for round in 0..bench.runs {
            for offset in 0..configs.len() {
                let i = (round + offset) % configs.len();
                if errors[i].is_some() {
                    continue;
                }
                let outcome = match bench.mode {
                    Mode::Warm => runtime.block_on(run_warm(&engines[i], &query.sql)),
                    Mode::Cold => run_cold(child, args, &preparation, &configs[i], &query.sql),
                };
                match outcome {
                    Ok(run) => runs[i].push(run),
                    Err(e) => errors[i] = Some(e.to_string()),
                }
            }
        }
        let results: Vec<ConfigResult> = configs
            .iter()
            .zip(runs)
            .zip(errors)
            .map(|((config, runs), error)| match error {
                Some(e) => ConfigResult::new(&config.name, Vec::new(), Some(e)),
                None => ConfigResult::new(&config.name, runs, None),
            })
            .collect();
        if !quiet {
            let summary: Vec<String> = results
                .iter()
                .map(|r| match (&r.error, r.seconds) {
                    (Some(_), _) => format!("{}: failed", r.config),
                    (None, Some(s)) => format!("{}: {:.1} ms", r.config, s.median * 1e3),
                    (None, None) => format!("{}: -", r.config),
                })
                .collect();
            eprintln!("{} {}", query.name, summary.join(", "));
        }
        queries.push(QueryReport { name: query.name.clone(), source: query.source.clone(), results });
    }

    let threads = args.options.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut report = Report {
        tarn_version: env!("CARGO_PKG_VERSION").to_string(),
        started,
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes: memory_total(),
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        },
        catalog: args.catalog.display().to_string(),
        suite: preparation.suite.clone(),
        mode: bench.mode.name().to_string(),
        warmup: bench.warmup,
        runs: bench.runs,
        threads,
        memory_limit: args.options.memory_limit,
        peak_memory_measures: match bench.mode {
            Mode::Warm => format!(
                "peak of the engine's memory-pool reservations during each run (sampled every {} ms); \
                 buffers outside the pool (Parquet metadata, decoded pages in flight) are not counted",
                POOL_SAMPLE_INTERVAL.as_millis()
            ),
            Mode::Cold => "peak resident set (VmHWM) of the fresh process running the query".to_string(),
        },
        configs,
        queries,
        totals: Vec::new(),
        process_peak_rss: peak_rss(),
    };
    report.compute_ratios();
    Ok(report)
}

/// Open an engine on `catalog` with the command line's options, then
/// `settings`, then the configuration's own settings.
async fn open_configured(
    catalog: &Path,
    options: &SessionArgs,
    settings: &[(String, String)],
    config: &ConfigInfo,
) -> Result<Engine> {
    let mut options = options.clone();
    options.settings.extend(settings.iter().cloned());
    options.settings.extend(config.settings.iter().cloned());
    crate::open_engine(catalog, &options).await
}

/// Gather the queries, and for `--suite`, generate the data, attach it to
/// the catalog (or arrange for every engine to attach it, for `:memory:`).
async fn prepare(args: &Args, bench: &BenchArgs, engine: &Engine, quiet: bool) -> Result<Preparation> {
    // Timed runs measure the engine: a repeat must not be served by the
    // result cache (`--set` or `--config tarn.cache.results=true` measures it,
    // `tarn.cache.subplans=true` its sub-plan results).
    let mut preparation = Preparation {
        settings: CACHE_SETTINGS.iter().map(|s| (s.to_string(), "false".into())).collect(),
        ..Preparation::default()
    };
    if let Some(Suite::Tpch) = bench.suite {
        let layout = bench.data_format.layout();
        let dir = match &bench.data_dir {
            Some(dir) => dir.clone(),
            None => default_data_dir(bench.sf, layout)?,
        };
        let announce = !tarn::demo::tpch_lake_is_complete(&dir, bench.sf, layout) && !quiet;
        let started = Instant::now();
        if announce {
            eprint!("Generating TPC-H SF {} ({}) in {} … ", bench.sf, layout.name(), dir.display());
        }
        let (sf, dir_for_task) = (bench.sf, dir.clone());
        let summary = tokio::task::spawn_blocking(move || tarn::demo::generate_tpch_lake(&dir_for_task, sf, layout))
            .await
            .map_err(|e| CliError::Bench(format!("data generation stopped: {e}")))??;
        if announce {
            eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
        }
        let root =
            fs::canonicalize(&dir).map_err(|source| tarn::Error::Io { path: dir.display().to_string(), source })?;
        if args.catalog.as_os_str() == ":memory:" {
            let path = root.to_string_lossy().replace('\'', "''");
            preparation.setup.push(format!("ATTACH '{path}' AS {SUITE_SCHEMA}"));
        } else {
            crate::demo::attach_lake(engine, &root, SUITE_SCHEMA, summary.generated, &args.catalog).await?;
        }
        preparation.settings.push(("datafusion.catalog.default_schema".into(), SUITE_SCHEMA.into()));
        preparation.suite = Some(SuiteInfo {
            name: "tpch".into(),
            scale_factor: bench.sf,
            format: layout.name().into(),
            data_dir: root.display().to_string(),
        });
        preparation.queries.extend(tarn::tpch::QUERIES.iter().map(|q| QuerySpec {
            name: q.name.to_string(),
            source: "tpch".into(),
            sql: q.sql.to_string(),
        }));
    }
    preparation.queries.extend(load_queries(&bench.queries)?);
    if !bench.only.is_empty() {
        let wanted: Vec<String> = bench.only.iter().map(|n| n.trim().to_ascii_lowercase()).collect();
        if let Some(missing) =
            wanted.iter().find(|w| !preparation.queries.iter().any(|q| &q.name.to_ascii_lowercase() == *w))
        {
            return Err(CliError::Bench(format!("--only: no query named '{missing}'")));
        }
        preparation.queries.retain(|q| wanted.contains(&q.name.to_ascii_lowercase()));
    }
    Ok(preparation)
}

/// `<cache dir>/tarn/tpch/sf<SF>-<layout>`.
pub fn default_data_dir(sf: f64, layout: LakeLayout) -> Result<PathBuf> {
    let cache = dirs::cache_dir()
        .ok_or_else(|| CliError::Bench("no cache directory on this system: give --data-dir".into()))?;
    Ok(cache.join("tarn").join("tpch").join(format!("sf{sf}-{}", layout.name())))
}

/// Run `sql` (all of its statements) once on `engine`, reading and
/// discarding the rows, with the memory pool's peak sampled meanwhile.
async fn run_warm(engine: &Engine, sql: &str) -> Result<Run> {
    let sampler = PoolPeak::start(Arc::clone(&engine.session_context().runtime_env().memory_pool));
    let before = engine.scan_counters();
    let started = Instant::now();
    let rows = execute_counting(engine, sql).await;
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.finish();
    let bytes_scanned = (engine.scan_counters() - before).bytes_read;
    Ok(Run {
        seconds,
        rows: rows?,
        bytes_scanned: Some(bytes_scanned),
        peak_memory: Some(peak as u64),
        process_seconds: None,
    })
}

/// Run every statement of `sql`, streaming and discarding rows; the number
/// of rows of the last statement that returns rows.
async fn execute_counting(engine: &Engine, sql: &str) -> Result<u64> {
    let mut rows = 0;
    for statement in engine.parse(sql)? {
        let result = engine.execute(statement).await?;
        let counts = matches!(result.kind(), ResultKind::Rows);
        let mut stream = result.into_stream();
        let mut n = 0u64;
        while let Some(batch) = stream.next().await {
            n += batch?.num_rows() as u64;
        }
        if counts {
            rows = n;
        }
    }
    Ok(rows)
}

/// Samples a memory pool's reservations on a thread until finished.
struct PoolPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicUsize>,
    pool: Arc<dyn MemoryPool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PoolPeak {
    fn start(pool: Arc<dyn MemoryPool>) -> PoolPeak {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicUsize::new(pool.reserved()));
        let thread = {
            let (stop, peak, pool) = (Arc::clone(&stop), Arc::clone(&peak), Arc::clone(&pool));
            std::thread::Builder::new()
                .name("tarn-bench-memory".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        peak.fetch_max(pool.reserved(), Ordering::Relaxed);
                        std::thread::sleep(POOL_SAMPLE_INTERVAL);
                    }
                })
                .ok()
        };
        PoolPeak { stop, peak, pool, thread }
    }

    /// Stop sampling; the largest reservation seen.
    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak.fetch_max(self.pool.reserved(), Ordering::Relaxed);
        self.peak.load(Ordering::Relaxed)
    }
}

/// What a cold-mode child is asked to do (JSON on its standard input).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChildJob {
    /// Statements run before timing.
    setup: Vec<String>,
    /// Settings, in order.
    settings: Vec<(String, String)>,
    /// The query.
    sql: String,
}

/// What a cold-mode child reports (JSON on its standard output).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ChildReport {
    seconds: f64,
    rows: u64,
    bytes_scanned: Option<u64>,
    peak_rss: Option<u64>,
    error: Option<String>,
}

/// Run one query in a fresh process: this executable with `bench --child`.
fn run_cold(
    child: &ChildCommand,
    args: &Args,
    preparation: &Preparation,
    config: &ConfigInfo,
    sql: &str,
) -> Result<Run> {
    let mut settings = args.options.settings.clone();
    settings.extend(preparation.settings.iter().cloned());
    settings.extend(config.settings.iter().cloned());
    let job = ChildJob { setup: preparation.setup.clone(), settings, sql: sql.to_string() };
    let input = serde_json::to_vec(&job).map_err(|e| CliError::Bench(format!("JSON: {e}")))?;

    let mut command = Command::new(&child.program);
    command.args(&child.prefix).arg(&args.catalog);
    if let Some(threads) = args.options.threads {
        command.arg("--threads").arg(threads.to_string());
    }
    if let Some(limit) = args.options.memory_limit {
        command.arg("--memory-limit").arg(limit.to_string());
    }
    command.args(["bench", "--child"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let spawn_error = |e: std::io::Error| CliError::Bench(format!("cannot start '{}': {e}", child.program.display()));
    let started = Instant::now();
    let mut process = command.spawn().map_err(spawn_error)?;
    if let Some(mut stdin) = process.stdin.take() {
        stdin.write_all(&input).map_err(spawn_error)?;
    }
    let output = process.wait_with_output().map_err(spawn_error)?;
    let process_seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: ChildReport = match serde_json::from_str(stdout.trim()) {
        Ok(report) => report,
        Err(_) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(CliError::Bench(format!("the cold-run process failed ({}): {}", output.status, stderr.trim())));
        }
    };
    if let Some(error) = report.error {
        return Err(CliError::Bench(error));
    }
    Ok(Run {
        seconds: report.seconds,
        rows: report.rows,
        bytes_scanned: report.bytes_scanned,
        peak_memory: report.peak_rss,
        process_seconds: Some(process_seconds),
    })
}

/// The child side of cold mode: read a [`ChildJob`] from standard input,
/// run it, print a [`ChildReport`].
fn run_child(args: &Args, runtime: &Runtime) -> Result<()> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let job: ChildJob =
        serde_json::from_str(&input).map_err(|e| CliError::Bench(format!("bench --child: bad job: {e}")))?;
    let outcome = runtime.block_on(async {
        let mut options = args.options.clone();
        options.settings.extend(job.settings.iter().cloned());
        let engine = crate::open_engine(&args.catalog, &options).await?;
        for statement in &job.setup {
            engine.execute_script(statement).await?;
        }
        let before = engine.scan_counters();
        let started = Instant::now();
        let rows = execute_counting(&engine, &job.sql).await?;
        let seconds = started.elapsed().as_secs_f64();
        Ok::<_, CliError>((seconds, rows, (engine.scan_counters() - before).bytes_read))
    });
    let report = match outcome {
        Ok((seconds, rows, bytes)) => {
            ChildReport { seconds, rows, bytes_scanned: Some(bytes), peak_rss: peak_rss(), error: None }
        }
        Err(e) => {
            ChildReport { seconds: 0.0, rows: 0, bytes_scanned: None, peak_rss: peak_rss(), error: Some(e.to_string()) }
        }
    };
    let text = serde_json::to_string(&report).map_err(|e| CliError::Bench(format!("JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// This process's peak resident set in bytes (Linux: VmHWM of /proc/self/status).
pub fn peak_rss() -> Option<u64> {
    proc_field("/proc/self/status", "VmHWM:")
}

/// Physical memory in bytes (Linux: MemTotal of /proc/meminfo).
fn memory_total() -> Option<u64> {
    proc_field("/proc/meminfo", "MemTotal:")
}

/// A `kB` field of a /proc file, in bytes.
fn proc_field(file: &str, field: &str) -> Option<u64> {
    let text = fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// The current time in UTC as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian).
fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::args::Command;

    fn bench_args(args: &[&str]) -> BenchArgs {
        let mut argv = vec!["tarn", ":memory:", "bench"];
        argv.extend_from_slice(args);
        match Args::try_parse_from(argv).unwrap().command {
            Some(Command::Bench(bench)) => bench,
            other => unreachable!("not bench: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let bench = bench_args(&[]);
        assert_eq!((bench.warmup, bench.runs, bench.mode, bench.sf), (1, 3, Mode::Warm, 1.0));
        assert_eq!(bench.data_format, DataFormat::Parquet);
        assert!(bench.configs.is_empty() && bench.queries.is_empty() && !bench.child);
    }

    #[test]
    fn all_options() {
        let bench = bench_args(&[
            "a.sql",
            "dir",
            "--suite",
            "tpch",
            "--sf",
            "0.1",
            "--data-format",
            "csv",
            "--data-dir",
            "d",
            "--only",
            "q1,q6",
            "--warmup",
            "0",
            "--runs",
            "5",
            "--mode",
            "cold",
            "--config",
            "base",
            "--config",
            "np:datafusion.execution.parquet.pushdown_filters=true, datafusion.execution.batch_size=4096",
            "--json",
            "o.json",
            "--html",
            "o.svg",
        ]);
        assert_eq!(bench.queries, vec![PathBuf::from("a.sql"), PathBuf::from("dir")]);
        assert_eq!(bench.suite, Some(Suite::Tpch));
        assert_eq!((bench.sf, bench.data_format, bench.mode), (0.1, DataFormat::Csv, Mode::Cold));
        assert_eq!(bench.only, vec!["q1", "q6"]);
        assert_eq!((bench.warmup, bench.runs), (0, 5));
        assert_eq!(bench.configs[0], ConfigInfo { name: "base".into(), settings: vec![] });
        assert_eq!(bench.configs[1].name, "np");
        assert_eq!(
            bench.configs[1].settings,
            vec![
                ("datafusion.execution.parquet.pushdown_filters".into(), "true".into()),
                ("datafusion.execution.batch_size".into(), "4096".into())
            ]
        );
        assert_eq!(bench.json, Some(PathBuf::from("o.json")));
    }

    #[test]
    fn global_options_after_bench() {
        let args = Args::try_parse_from(["tarn", "x.db", "bench", "q.sql", "--threads", "2", "-q"]).unwrap();
        assert_eq!(args.options.threads, Some(2));
        assert!(args.options.quiet);
        assert_eq!(args.catalog, PathBuf::from("x.db"));
    }

    #[test]
    fn bad_arguments() {
        for bad in [
            vec!["--runs", "0"],
            vec!["--sf", "-1"],
            vec!["--config", ":a=b"],
            vec!["--config", "x:novalue"],
            vec!["--mode", "hot"],
            vec!["--suite", "tpcds"],
        ] {
            let mut argv = vec!["tarn", "bench"];
            argv.extend(bad.iter().copied());
            assert!(Args::try_parse_from(&argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn natural_order() {
        let mut names = vec!["q10.sql", "q2.sql", "q1.sql", "a.sql"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["a.sql", "q1.sql", "q2.sql", "q10.sql"]);
    }

    #[test]
    fn loads_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let queries = dir.path().join("queries");
        fs::create_dir(&queries).unwrap();
        fs::write(queries.join("q10.sql"), "select 10").unwrap();
        fs::write(queries.join("q2.sql"), "select 2").unwrap();
        fs::write(queries.join("notes.txt"), "not a query").unwrap();
        fs::write(dir.path().join("q2.sql"), "select 'other'").unwrap();
        let loaded = load_queries(&[queries.clone(), dir.path().join("q2.sql")]).unwrap();
        let names: Vec<_> = loaded.iter().map(|q| q.name.clone()).collect();
        // Two files called q2: told apart by their paths.
        assert_eq!(names[0], queries.join("q2.sql").display().to_string());
        assert_eq!(names[1], "q10");
        assert_eq!(loaded[1].sql, "select 10");
        assert_eq!(names[2], dir.path().join("q2.sql").display().to_string());
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        assert!(load_queries(&[empty]).is_err());
        assert!(load_queries(&[dir.path().join("missing.sql")]).is_err());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_utc(1_795_737_600 + 3_723), "2026-11-27T01:02:03Z");
    }

    #[test]
    fn reads_proc_fields() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss().unwrap() > 1 << 20);
            assert!(memory_total().unwrap() > 1 << 20);
        }
    }
}
