//! `tarn-compare`: the 22 TPC-H queries on the same generated files in Tarn
//! (in-process, through `tarn bench`), DuckDB, Polars and vanilla DataFusion
//! (its Python bindings), side by side, with per-query ratios Tarn/peer and
//! the issue's goals checked.
//!
//! - The data is Tarn's benchmark lake ([`tarn::demo::generate_tpch_lake`]),
//!   generated once into the cache directory `tarn bench` uses too.
//! - The Python engines run in a virtualenv (default
//!   `<cache dir>/tarn/venv-bench`) that is created, and filled from
//!   `benches/requirements.txt`, when it lacks one of them. Their driver is
//!   `benches/compare.py`, embedded in this binary.
//! - **warm**: every engine in one process of its own, files registered once,
//!   `--warmup` untimed and `--runs` timed runs of each query; the median.
//! - **cold**: the 22 queries once in a fresh process with a fresh catalog
//!   (for Tarn: `:memory:`, ATTACH, then the queries), `--runs` such
//!   processes; the median wall time and the largest peak resident set.
//!   Python engines' processes include the interpreter's start-up and import.
//!
//! `tarn-compare tarn ARGS…` runs the Tarn shell itself (`tarn ARGS…`): the
//! cold runs of Tarn start this program that way, so one build holds both.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tarn::demo::LakeLayout;
use tarn_cli::bench::{ChildCommand, DataFormat};

/// The Python driver, written next to the queries at run time.
const DRIVER: &str = include_str!("../compare.py");
/// The Python packages the driver needs, pinned.
const REQUIREMENTS: &str = include_str!("../requirements.txt");
/// Peers run through the Python driver.
const PEERS: [&str; 3] = ["duckdb", "polars", "datafusion"];

/// Command line of `tarn-compare`.
#[derive(Debug, Parser)]
#[command(
    name = "tarn-compare",
    about = "TPC-H side by side: Tarn, DuckDB, Polars and DataFusion on the same files",
    after_help = "Examples:\n  cargo run --release --bin tarn-compare -- --sf 1\n  \
                  cargo run --release --bin tarn-compare -- --sf 1 --format csv --mode warm --runs 1 --warmup 0\n  \
                  cargo run --release --bin tarn-compare -- --only q1,q9 --engines tarn,duckdb --json out.json"
)]
struct CompareArgs {
    /// TPC-H scale factor.
    #[arg(long, default_value_t = 1.0)]
    sf: f64,
    /// File format of the data.
    #[arg(long, value_enum, default_value_t = DataFormat::Parquet)]
    format: DataFormat,
    /// warm, cold, or both.
    #[arg(long, value_enum, default_value_t = Modes::Both)]
    mode: Modes,
    /// Timed runs (warm: of each query; cold: of the whole process).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Untimed runs of each query before the timed ones (warm).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Threads every engine may use.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Engines to run, comma-separated (tarn first: ratios are Tarn/peer).
    #[arg(long, value_delimiter = ',', default_value = "tarn,duckdb,polars,datafusion")]
    engines: Vec<String>,
    /// Only these queries (comma-separated, e.g. q1,q9).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Directory of the data [default: tarn bench's, <cache dir>/tarn/tpch/sf<SF>-<FORMAT>].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Virtualenv of the Python engines [default: <cache dir>/tarn/venv-bench].
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Python used to create the virtualenv.
    #[arg(long, default_value = "python3")]
    python: String,
    /// A Tarn setting (KEY=VALUE) for Tarn's runs; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    settings: Vec<String>,
    /// Write every figure as JSON to FILE.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Which modes to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Modes {
    Warm,
    Cold,
    Both,
}

/// Per engine, per query: median seconds and rows (warm).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EngineWarm {
    engine: String,
    version: String,
    /// query → (median seconds, rows), or the error.
    queries: BTreeMap<String, QueryFigure>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueryFigure {
    median_seconds: Option<f64>,
    rows: Option<u64>,
    error: Option<String>,
}

/// One engine's cold runs: whole-process figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EngineCold {
    engine: String,
    median_seconds: f64,
    seconds: Vec<f64>,
    max_rss_bytes: u64,
}

/// Everything `--json` writes.
#[derive(Debug, Serialize)]
struct Comparison {
    started: String,
    command: String,
    machine: String,
    scale_factor: f64,
    format: String,
    threads: usize,
    runs: usize,
    warmup: usize,
    warm: Vec<EngineWarm>,
    cold: Vec<EngineCold>,
    goals: Vec<String>,
}

type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "tarn") {
        return run_as_tarn(&argv[1..]);
    }
    let args = CompareArgs::parse();
    match compare(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Behave as the `tarn` shell with `argv` (`argv[0]` is the program name).
fn run_as_tarn(argv: &[OsString]) -> ExitCode {
    let args = match tarn_cli::Args::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    tarn_cli::run_to_exit_code(args)
}

fn compare(args: &CompareArgs) -> Result<(), Error> {
    let started = tarn_cli::bench::utc_now();
    let layout = match args.format {
        DataFormat::Parquet => LakeLayout::Parquet,
        DataFormat::Csv => LakeLayout::Csv,
    };
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None => tarn_cli::bench::default_data_dir(args.sf, layout)?,
    };
    if !tarn::demo::tpch_lake_is_complete(&data_dir, args.sf, layout) {
        eprintln!("Generating TPC-H SF {} ({}) in {} …", args.sf, layout.name(), data_dir.display());
    }
    tarn::demo::generate_tpch_lake(&data_dir, args.sf, layout)?;
    let data_dir = fs::canonicalize(&data_dir)?;

    let work = tempfile::tempdir()?;
    let queries_dir = work.path().join("queries");
    fs::create_dir(&queries_dir)?;
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o.eq_ignore_ascii_case(name));
    for query in tarn::tpch::QUERIES.iter().filter(|q| wanted(q.name)) {
        fs::write(queries_dir.join(format!("{}.sql", query.name)), query.sql)?;
    }
    let driver = work.path().join("compare.py");
    fs::write(&driver, DRIVER)?;

    let peers: Vec<&str> = args.engines.iter().map(String::as_str).filter(|e| PEERS.contains(e)).collect();
    if let Some(unknown) = args.engines.iter().find(|e| *e != "tarn" && !PEERS.contains(&e.as_str())) {
        return Err(format!("unknown engine '{unknown}' (tarn, duckdb, polars, datafusion)").into());
    }
    let python = match peers.is_empty() {
        true => None,
        false => Some(ensure_venv(args, work.path())?),
    };
    let with_tarn = args.engines.iter().any(|e| e == "tarn");
    let fmt = layout.name();
    let mut comparison = Comparison {
        started,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: machine(),
        scale_factor: args.sf,
        format: fmt.to_string(),
        threads: args.threads,
        runs: args.runs,
        warmup: args.warmup,
        warm: Vec::new(),
        cold: Vec::new(),
        goals: Vec::new(),
    };

    if args.mode != Modes::Cold {
        if with_tarn {
            eprintln!("warm: tarn …");
            comparison.warm.push(tarn_warm(args, &data_dir)?);
        }
        for peer in &peers {
            eprintln!("warm: {peer} …");
            let python = python.as_deref().ok_or("no python")?;
            let mut command = Command::new(python);
            command.arg(&driver).args(["run", "--engine", peer, "--format", fmt]);
            command.arg("--data-dir").arg(&data_dir).arg("--queries").arg(&queries_dir);
            command.args(["--threads", &args.threads.to_string(), "--runs", &args.runs.to_string()]);
            command.args(["--warmup", &args.warmup.to_string()]);
            let output: Value = run_json(&mut command)?;
            comparison.warm.push(peer_warm(&output)?);
        }
    }
    if args.mode != Modes::Warm {
        let exe = std::env::current_exe()?;
        if with_tarn {
            eprintln!("cold: tarn …");
            let script = work.path().join("cold.sql");
            let mut text = format!(
                "ATTACH '{}' AS tpch;\nSET datafusion.catalog.default_schema = 'tpch';\n",
                data_dir.display().to_string().replace('\'', "''")
            );
            for query in tarn::tpch::QUERIES.iter().filter(|q| wanted(q.name)) {
                text.push_str(query.sql);
                text.push('\n');
            }
            fs::write(&script, text)?;
            let mut tarn_args: Vec<OsString> = vec![
                exe.clone().into(),
                "tarn".into(),
                ":memory:".into(),
                "-q".into(),
                "--format".into(),
                "csv".into(),
            ];
            tarn_args.extend(["--threads".into(), args.threads.to_string().into()]);
            for setting in &args.settings {
                tarn_args.extend(["--set".into(), setting.into()]);
            }
            tarn_args.extend(["-f".into(), script.into_os_string()]);
            comparison.cold.push(cold_runs(args, "tarn", python.as_deref(), &driver, &tarn_args)?);
        }
        for peer in &peers {
            eprintln!("cold: {peer} …");
            let python_path = python.as_deref().ok_or("no python")?;
            let mut peer_args: Vec<OsString> = vec![python_path.into(), driver.clone().into()];
            peer_args
                .extend(["run", "--engine", peer, "--format", fmt, "--runs", "1", "--warmup", "0"].map(OsString::from));
            peer_args.extend([
                "--data-dir".into(),
                data_dir.clone().into(),
                "--queries".into(),
                queries_dir.clone().into(),
            ]);
            peer_args.extend(["--threads".into(), args.threads.to_string().into()]);
            comparison.cold.push(cold_runs(args, peer, python.as_deref(), &driver, &peer_args)?);
        }
    }

    comparison.goals = goals(&comparison);
    print!("{}", render(&comparison));
    if let Some(path) = &args.json {
        fs::write(path, serde_json::to_string_pretty(&comparison)? + "\n")?;
    }
    Ok(())
}

/// Tarn, warm: `tarn bench --suite tpch` in this process.
fn tarn_warm(args: &CompareArgs, data_dir: &Path) -> Result<EngineWarm, Error> {
    let mut argv: Vec<String> =
        vec!["tarn".into(), ":memory:".into(), "-q".into(), "--threads".into(), args.threads.to_string()];
    for setting in &args.settings {
        argv.extend(["--set".into(), setting.clone()]);
    }
    argv.extend(["bench".into(), "--suite".into(), "tpch".into(), "--sf".into(), args.sf.to_string()]);
    let format = match args.format {
        DataFormat::Parquet => "parquet",
        DataFormat::Csv => "csv",
    };
    argv.extend(["--data-format".into(), format.into(), "--data-dir".into(), data_dir.display().to_string()]);
    argv.extend(["--runs".into(), args.runs.to_string(), "--warmup".into(), args.warmup.to_string()]);
    if !args.only.is_empty() {
        argv.extend(["--only".into(), args.only.join(",")]);
    }
    let parsed = tarn_cli::Args::try_parse_from(&argv)?;
    let Some(tarn_cli::args::Command::Bench(bench)) = &parsed.command else {
        return Err("internal: bench arguments did not parse as bench".into());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?;
    let child = ChildCommand { program: std::env::current_exe()?, prefix: vec!["tarn".into()] };
    let report = tarn_cli::bench::measure(&parsed, bench, &runtime, &child)?;
    let mut warm = EngineWarm { engine: "tarn".into(), version: report.tarn_version.clone(), queries: BTreeMap::new() };
    for query in &report.queries {
        let result = &query.results[0];
        warm.queries.insert(
            query.name.clone(),
            QueryFigure {
                median_seconds: result.seconds.map(|s| s.median),
                rows: result.rows,
                error: result.error.clone(),
            },
        );
    }
    Ok(warm)
}

/// A peer's warm figures from the driver's output.
fn peer_warm(output: &Value) -> Result<EngineWarm, Error> {
    let engine = output["engine"].as_str().ok_or("driver output lacks engine")?.to_string();
    let version = output["version"].as_str().unwrap_or("?").to_string();
    let mut queries = BTreeMap::new();
    for query in output["queries"].as_array().ok_or("driver output lacks queries")? {
        let seconds: Vec<f64> =
            query["seconds"].as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
        queries.insert(
            query["name"].as_str().unwrap_or("?").to_string(),
            QueryFigure {
                median_seconds: tarn_cli::bench::stats::Summary::of(&seconds).map(|s| s.median),
                rows: query["rows"].as_u64(),
                error: query["error"].as_str().map(str::to_string),
            },
        );
    }
    Ok(EngineWarm { engine, version, queries })
}

/// `args.runs` fresh processes of `command`, measured by the driver.
fn cold_runs(
    args: &CompareArgs,
    engine: &str,
    python: Option<&Path>,
    driver: &Path,
    command: &[OsString],
) -> Result<EngineCold, Error> {
    let python = python.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&args.python));
    let mut seconds = Vec::new();
    let mut max_rss_bytes = 0;
    for _ in 0..args.runs.max(1) {
        let mut measure = Command::new(&python);
        measure.arg(driver).arg("measure").arg("--").args(command);
        let result = run_json(&mut measure)?;
        if result["status"].as_i64() != Some(0) {
            return Err(format!("{engine} cold run failed: {}", result["stderr"].as_str().unwrap_or("")).into());
        }
        seconds.push(result["seconds"].as_f64().ok_or("measure gave no time")?);
        max_rss_bytes = max_rss_bytes.max(result["max_rss_bytes"].as_u64().unwrap_or(0));
    }
    let median_seconds = tarn_cli::bench::stats::Summary::of(&seconds).map_or(0.0, |s| s.median);
    Ok(EngineCold { engine: engine.into(), median_seconds, seconds, max_rss_bytes })
}

/// Run `command`, which prints one JSON document.
fn run_json(command: &mut Command) -> Result<Value, Error> {
    let output = command.output()?;
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// The virtualenv's python, after creating the virtualenv and installing
/// the requirements when one of the packages is missing.
fn ensure_venv(args: &CompareArgs, work: &Path) -> Result<PathBuf, Error> {
    let venv = match &args.venv {
        Some(v) => v.clone(),
        None => dirs::cache_dir().ok_or("no cache directory: give --venv")?.join("tarn").join("venv-bench"),
    };
    let python = venv.join("bin").join("python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import duckdb, polars, datafusion"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.exists() && ready(&python) {
        return Ok(python);
    }
    eprintln!("Setting up the Python engines in {} …", venv.display());
    if !python.exists() {
        let status = Command::new(&args.python).args(["-m", "venv"]).arg(&venv).status()?;
        if !status.success() {
            return Err(format!("'{} -m venv {}' failed", args.python, venv.display()).into());
        }
    }
    let requirements = work.join("requirements.txt");
    fs::write(&requirements, REQUIREMENTS)?;
    let status = Command::new(&python).args(["-m", "pip", "install", "-q", "-r"]).arg(&requirements).status()?;
    if !status.success() || !ready(&python) {
        return Err(format!("installing {} into {} failed", REQUIREMENTS.replace('\n', " "), venv.display()).into());
    }
    Ok(python)
}

/// `2 cores, 24 GiB, linux x86_64`.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("MemTotal:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kib| format!(", {:.0} GiB", kib / (1024.0 * 1024.0)))
        .unwrap_or_default();
    format!("{cores} cores{memory}, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

/// Sum of the medians of the queries every engine finished.
fn totals(warm: &[EngineWarm]) -> Vec<f64> {
    let Some(first) = warm.first() else { return Vec::new() };
    let common: Vec<&String> = first
        .queries
        .keys()
        .filter(|q| warm.iter().all(|e| e.queries.get(*q).is_some_and(|f| f.median_seconds.is_some())))
        .collect();
    warm.iter().map(|e| common.iter().filter_map(|q| e.queries.get(*q).and_then(|f| f.median_seconds)).sum()).collect()
}

/// The issue's goals, checked on what ran.
fn goals(c: &Comparison) -> Vec<String> {
    let mut goals = Vec::new();
    let find = |name: &str| c.warm.iter().position(|e| e.engine == name);
    let sums = totals(&c.warm);
    let verdict = |met: bool| if met { "MET" } else { "MISSED" };
    if let Some(t) = find("tarn") {
        let tarn = sums[t];
        if c.format == "parquet" {
            let fastest =
                c.warm.iter().enumerate().filter(|(i, _)| *i != t).min_by(|a, b| sums[a.0].total_cmp(&sums[b.0]));
            if let Some((i, peer)) = fastest {
                goals.push(format!(
                    "warm Parquet: Tarn {:.2} s vs fastest peer {} {:.2} s ({:.2}×): {}",
                    tarn,
                    peer.engine,
                    sums[i],
                    tarn / sums[i],
                    verdict(tarn <= sums[i])
                ));
            }
            if let Some(d) = find("duckdb") {
                let slow: Vec<String> = c.warm[t]
                    .queries
                    .iter()
                    .filter_map(|(q, f)| {
                        let mine = f.median_seconds?;
                        let theirs = c.warm[d].queries.get(q)?.median_seconds?;
                        (mine > 1.5 * theirs).then(|| format!("{q} {:.2}×", mine / theirs))
                    })
                    .collect();
                goals.push(format!(
                    "warm Parquet: no query slower than 1.5× DuckDB: {}{}",
                    verdict(slow.is_empty()),
                    if slow.is_empty() { String::new() } else { format!(" ({})", slow.join(", ")) }
                ));
            }
        }
        if let Some(d) = find("duckdb").filter(|_| c.format == "csv") {
            goals.push(format!(
                "warm CSV: Tarn {:.2} s vs DuckDB {:.2} s ({:.2}×, goal ≤ 0.7×): {}",
                tarn,
                sums[d],
                tarn / sums[d],
                verdict(tarn <= 0.7 * sums[d])
            ));
        }
        if let Some(d) = find("datafusion") {
            goals.push(format!(
                "Tarn / vanilla DataFusion: {:.3}× (goal ≤ 1.03× with Tarn's own rules off): {}",
                tarn / sums[d],
                verdict(tarn <= 1.03 * sums[d])
            ));
        }
    }
    let cold = |name: &str| c.cold.iter().find(|e| e.engine == name);
    if let (Some(t), Some(d)) = (cold("tarn"), cold("duckdb")) {
        goals.push(format!(
            "cold {}: Tarn {:.2} s vs DuckDB {:.2} s ({:.2}×, goal ≤ 0.8×): {}; peak memory {} vs {}: {}",
            c.format,
            t.median_seconds,
            d.median_seconds,
            t.median_seconds / d.median_seconds,
            verdict(t.median_seconds <= 0.8 * d.median_seconds),
            mib(t.max_rss_bytes),
            mib(d.max_rss_bytes),
            verdict(t.max_rss_bytes <= d.max_rss_bytes)
        ));
    }
    // Answers: the same number of rows everywhere.
    if let Some(first) = c.warm.first() {
        for (q, f) in &first.queries {
            for other in &c.warm[1..] {
                if let (Some(a), Some(b)) = (f.rows, other.queries.get(q).and_then(|o| o.rows))
                    && a != b
                {
                    goals.push(format!("ROW COUNT MISMATCH {q}: {} {a}, {} {b}", first.engine, other.engine));
                }
            }
        }
    }
    goals
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// The comparison as text: per-query table (warm), totals, cold, goals.
fn render(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "TPC-H SF {} ({}), {} threads, {} warm-up + {} runs (median), {} — {}",
        c.scale_factor, c.format, c.threads, c.warmup, c.runs, c.machine, c.started
    );
    if !c.warm.is_empty() {
        let versions: Vec<String> = c.warm.iter().map(|e| format!("{} {}", e.engine, e.version)).collect();
        let _ = writeln!(out, "\nwarm (in-process), milliseconds; ratios Tarn/peer — {}", versions.join(", "));
        let _ = write!(out, "{:<6}", "query");
        for (i, e) in c.warm.iter().enumerate() {
            let _ = write!(out, "{:>12}", e.engine);
            if i > 0 && c.warm[0].engine == "tarn" {
                let _ = write!(out, "{:>8}", "ratio");
            }
        }
        out.push('\n');
        for q in c.warm[0].queries.keys().map(String::as_str).collect::<Vec<_>>().iter().copied().sorted_natural() {
            let _ = write!(out, "{q:<6}");
            let base = c.warm[0].queries.get(q).and_then(|f| f.median_seconds);
            for (i, e) in c.warm.iter().enumerate() {
                let f = e.queries.get(q);
                let cell = match f {
                    Some(QueryFigure { median_seconds: Some(s), .. }) => format!("{:.1}", s * 1e3),
                    Some(QueryFigure { error: Some(_), .. }) => "error".into(),
                    _ => "-".into(),
                };
                let _ = write!(out, "{cell:>12}");
                if i > 0 && c.warm[0].engine == "tarn" {
                    let ratio = match (base, f.and_then(|f| f.median_seconds)) {
                        (Some(b), Some(s)) if s > 0.0 => format!("{:.2}", b / s),
                        _ => "-".into(),
                    };
                    let _ = write!(out, "{ratio:>8}");
                }
            }
            out.push('\n');
        }
        let sums = totals(&c.warm);
        let _ = write!(out, "{:<6}", "total");
        for (i, s) in sums.iter().enumerate() {
            let _ = write!(out, "{:>12.1}", s * 1e3);
            if i > 0 && c.warm[0].engine == "tarn" {
                let _ = write!(out, "{:>8.2}", sums[0] / s);
            }
        }
        out.push('\n');
        for e in &c.warm {
            for (q, f) in &e.queries {
                if let Some(error) = &f.error {
                    let _ = writeln!(out, "  {} {q}: {error}", e.engine);
                }
            }
        }
    }
    if !c.cold.is_empty() {
        let _ = writeln!(out, "\ncold (the queries once in a fresh process; median of {} processes)", c.runs.max(1));
        for e in &c.cold {
            let _ = write!(out, "{:<12}{:>9.2} s{:>10}", e.engine, e.median_seconds, mib(e.max_rss_bytes));
            if let Some(t) = c.cold.iter().find(|t| t.engine == "tarn").filter(|_| e.engine != "tarn") {
                let _ = write!(out, "   tarn/{} {:.2}×", e.engine, t.median_seconds / e.median_seconds);
            }
            out.push('\n');
        }
    }
    if !c.goals.is_empty() {
        let _ = writeln!(out, "\ngoals");
        for goal in &c.goals {
            let _ = writeln!(out, "  {goal}");
        }
    }
    out
}

/// Natural order of query names (`q2` before `q10`).
trait SortedNatural<'a> {
    fn sorted_natural(self) -> Vec<&'a str>;
}

impl<'a, I: Iterator<Item = &'a str>> SortedNatural<'a> for I {
    fn sorted_natural(self) -> Vec<&'a str> {
        let mut names: Vec<&str> = self.collect();
        names.sort_by_key(|n| {
            (n.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().unwrap_or(u64::MAX), n.to_string())
        });
        names
    }
}
