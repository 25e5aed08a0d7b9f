//! DataFusion's own sqllogictest suite, run against Tarn engine sessions.
//!
//! The `.slt` files ship inside the `datafusion-sqllogictest` crate (a
//! dependency of this package, so cargo has it on disk). For every file this
//! runner does what upstream's `bin/sqllogictests.rs` does, except that the
//! statements run on a Tarn session:
//!
//! 1. build upstream's `TestContext` for the file (its config and the
//!    file-specific setup: tables, catalogs, UDFs, type/expr planners);
//! 2. build a fresh `tarn::Engine` (over an empty catalog file of its own,
//!    with every cache on: whole results, sub-plans and the on-disk tier)
//!    from that config and transplant
//!    the setup onto `engine.session_context()` (upstream's tables land in
//!    Tarn's default schema `tarn.public`, extra catalogs are registered as
//!    they are, functions and planners are copied);
//! 3. run the file with `sqllogictest::Runner` and upstream's validators
//!    (strict column types, `value_normalizer`, `df_value_validator`),
//!    continuing past errors, and finally check the file left the session
//!    configuration unchanged.
//!
//! Files that cannot run here are listed, with the reason, in
//! `tests/datafusion-slt-skip.txt`; an entry naming a file that no longer
//! exists fails the run.
//!
//! Usage: `cargo test -p tarn-tests --test datafusion_slt [-- FILTER…]` where a
//! filter is a substring of a file's path under `test_files/`, optionally with
//! `:LINE`. Environment: `SLT_JOBS` (files run at once, default 2),
//! `SLT_ENGINE=datafusion` (run on upstream's own contexts instead: the
//! control that separates Tarn differences from environment ones),
//! `SLT_RUN_SKIPPED=1` (also run skip-listed files and report those that now
//! pass, without failing), `SLT_FILE_TIMEOUT_SECS` (default 300),
//! `DATAFUSION_SQLLOGICTEST_DIR` (use this copy of the crate),
//! `DATAFUSION_CHECKOUT` (an apache/datafusion checkout whose data
//! directories the data-dependent files need).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::config::ConfigOptions;
use datafusion::execution::FunctionRegistry;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::common::collect;
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;
use datafusion_sqllogictest::{
    DFColumnType, DFOutput, DFSqlLogicTestError, Filter, TestContext, convert_batches, convert_schema_to_types,
    df_value_validator, is_spark_path, setup_scratch_dir, should_skip_file, should_skip_record, value_normalizer,
};
use futures::StreamExt;
use sqllogictest::{DBOutput, Record, parse_file, strict_column_validator};

/// Skip list, next to this package's `Cargo.toml`.
const SKIP_LIST: &str = "datafusion-slt-skip.txt";
/// Errors shown per failing file (as upstream).
const ERRS_PER_FILE_LIMIT: usize = 10;
/// Upstream's default catalog; its tables move to Tarn's default catalog.
const UPSTREAM_CATALOG: &str = "datafusion";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("datafusion_slt: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main() -> Result<ExitCode, BoxError> {
    let args = Args::parse(std::env::args().skip(1));
    if args.list {
        // `cargo test -- --list` / nextest: this binary lists no tests.
        return Ok(ExitCode::SUCCESS);
    }
    let crate_dir = find_sqllogictest_crate()?;
    let skip_list = SkipList::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(SKIP_LIST))?;

    // Upstream runs from the crate's directory (slt files name paths such as
    // `test_files/scratch/<file>/…` and `data/…` relative to it). Work on a
    // private copy so scratch files never land in cargo's registry; nest it so
    // `../..` paths cannot escape the temporary directory.
    let work = tempfile::Builder::new().prefix("tarn-df-slt").tempdir()?;
    let root = work.path().join("datafusion").join("sqllogictest");
    for dir in ["test_files", "data"] {
        copy_dir(&crate_dir.join(dir), &root.join(dir))?;
    }
    if let Some(checkout) = std::env::var_os("DATAFUSION_CHECKOUT") {
        link_checkout(Path::new(&checkout), work.path())?;
    }
    std::env::set_current_dir(&root)?;
    let checkout = work.path().canonicalize()?;
    let _ = WORKSPACE_ROOT
        .set(checkout.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/").trim_start_matches('/').to_string());
    let test_dir = root.join("test_files");

    let all_files = slt_files(&test_dir)?;
    let missing: Vec<&String> = skip_list.entries.keys().filter(|f| !all_files.contains(*f)).collect();
    if !missing.is_empty() {
        for f in &missing {
            eprintln!("skip list names {f}, which is not an .slt file of {}", crate_dir.display());
        }
        return Err(format!("{} stale skip-list entries in {SKIP_LIST}", missing.len()).into());
    }

    let run_skipped = env_flag("SLT_RUN_SKIPPED");
    let mut to_run = Vec::new();
    let mut skipped = 0usize;
    for rel in &all_files {
        if should_skip_file(Path::new(rel), &args.filters) {
            continue;
        }
        let is_skipped = skip_list.entries.contains_key(rel);
        if is_skipped {
            skipped += 1;
        }
        if !is_skipped || run_skipped {
            to_run.push((rel.clone(), is_skipped));
        }
    }
    to_run.sort_by_key(|(rel, _)| (!is_slow(rel), rel.clone()));

    let jobs: usize = std::env::var("SLT_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1);
    let timeout =
        Duration::from_secs(std::env::var("SLT_FILE_TIMEOUT_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300));
    println!(
        "running {} DataFusion sqllogictest files on {}, {jobs} at a time (crate: {})",
        to_run.len(),
        if upstream_engine() { "upstream's own contexts (SLT_ENGINE=datafusion)" } else { "Tarn sessions" },
        crate_dir.display()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let start = Instant::now();
    let filters = Arc::new(args.filters);
    let results: Vec<FileResult> = runtime.block_on(async {
        futures::stream::iter(to_run)
            .map(|(rel, listed)| {
                let path = test_dir.join(&rel);
                let filters = filters.clone();
                async move {
                    let started = Instant::now();
                    let mut task = tokio::spawn({
                        let rel = rel.clone();
                        async move { run_file(&rel, &path, &filters).await }
                    });
                    let outcome = match tokio::time::timeout(timeout, &mut task).await {
                        Ok(Ok(r)) => r,
                        Ok(Err(join)) => Err(format!("panicked: {join}")),
                        Err(_) => {
                            task.abort();
                            Err(format!("timed out after {}s", timeout.as_secs()))
                        }
                    };
                    let result = FileResult { rel, listed, elapsed: started.elapsed(), outcome };
                    result.print_line();
                    result
                }
            })
            .buffer_unordered(jobs)
            .collect()
            .await
    });
    let wall = start.elapsed();

    let mut passed = 0usize;
    let mut failed = 0usize;
    let mut now_passing = Vec::new();
    let mut failures = Vec::new();
    for r in &results {
        match (&r.outcome, r.listed) {
            (Ok(()), false) => passed += 1,
            (Err(e), false) => {
                failed += 1;
                failures.push((r.rel.as_str(), e.as_str()));
            }
            (Ok(()), true) => now_passing.push(r.rel.as_str()),
            (Err(_), true) => {}
        }
    }
    failures.sort();
    for (rel, e) in &failures {
        println!("\n==== FAILED {rel}\n{e}");
    }
    if run_skipped {
        now_passing.sort();
        println!("\nskip-listed files that now pass ({}):", now_passing.len());
        for rel in &now_passing {
            println!("  {rel} ({})", skip_list.entries[*rel]);
        }
    }
    let mut slowest: Vec<&FileResult> = results.iter().collect();
    slowest.sort_by_key(|r| std::cmp::Reverse(r.elapsed));
    println!("\nslowest files:");
    for r in slowest.iter().take(10) {
        println!("  {:>7.1}s  {}", r.elapsed.as_secs_f64(), r.rel);
    }
    println!("wall time: {:.1}s", wall.as_secs_f64());
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The longest files (measured on Tarn, debug build), started first so the
/// lanes finish together.
fn is_slow(rel: &str) -> bool {
    matches!(
        rel,
        "imdb.slt"
            | "aggregate_memory_spill.slt"
            | "datetime/timestamps.slt"
            | "nested_loop_join_spill.slt"
            | "array/array_has.slt"
            | "ordered_aggregate_spill.slt"
            | "push_down_filter_parquet.slt"
            | "struct.slt"
    )
}

struct FileResult {
    rel: String,
    listed: bool,
    elapsed: Duration,
    outcome: Result<(), String>,
}

impl FileResult {
    fn print_line(&self) {
        let status = match (&self.outcome, self.listed) {
            (Ok(()), false) => "ok     ",
            (Err(_), false) => "FAILED ",
            (Ok(()), true) => "ok     (skip-listed: now passes)",
            (Err(_), true) => "failed (skip-listed)",
        };
        println!("{status} {} ({:.1}s)", self.rel, self.elapsed.as_secs_f64());
    }
}

// ---------------------------------------------------------------------------
// Running one file
// ---------------------------------------------------------------------------

async fn run_file(rel: &str, path: &Path, filters: &[Filter]) -> Result<(), String> {
    let relative_path = PathBuf::from(rel);
    let Some(test_ctx) = TestContext::try_new_for_test_file(&relative_path).await else {
        return Err("upstream TestContext cannot run this file (a crate feature is missing): \
             add it to the skip list"
            .into());
    };
    // SLT_ENGINE=datafusion runs on upstream's own context: the control that
    // tells a Tarn difference from an environment one.
    let engine = match upstream_engine() {
        true => None,
        false => Some(tarn_session(&test_ctx).await.map_err(|e| format!("cannot set up the Tarn session: {e}"))?),
    };
    setup_scratch_dir(&relative_path).map_err(|e| e.to_string())?;

    let ctx = match &engine {
        Some(engine) => engine.session_context().clone(),
        None => test_ctx.session_ctx().clone(),
    };
    let is_spark = is_spark_path(&relative_path);
    let config_errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut runner = sqllogictest::Runner::new(|| {
        let db = TarnDb::new(ctx.clone(), rel, is_spark, config_errors.clone());
        async move { Ok::<_, DFSqlLogicTestError>(db) }
    });
    runner.add_label("Datafusion");
    runner.with_column_validator(strict_column_validator);
    runner.with_normalizer(value_normalizer);
    runner.with_validator(df_value_validator);

    let records = parse_file::<DFColumnType>(path).map_err(|e| e.to_string())?;
    let mut errs = Vec::new();
    for record in records {
        if let Record::Halt { .. } = record {
            break;
        }
        if should_skip_record::<TarnDb>(&record, filters) {
            continue;
        }
        if let Err(err) = runner.run_async(record).await {
            errs.push(err.to_string());
        }
    }
    runner.shutdown_async().await;
    drop(test_ctx);

    if !errs.is_empty() {
        let mut msg = format!("{} errors\n\n", errs.len());
        for (i, err) in errs.iter().enumerate() {
            if i >= ERRS_PER_FILE_LIMIT {
                msg.push_str(&format!("... other {} errors not shown ...\n", errs.len() - i));
                break;
            }
            msg.push_str(&format!("{}. {err}\n\n", i + 1));
        }
        return Err(msg);
    }
    let config_errors = config_errors.lock().map_err(|e| e.to_string())?;
    if !config_errors.is_empty() {
        return Err(config_errors.join("\n"));
    }
    Ok(())
}

/// Catalog files handed out so far (each slt file gets a fresh one).
static CATALOGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A fresh Tarn engine (over an empty catalog file of its own) configured
/// like upstream's context for the file, with upstream's file-specific setup
/// copied onto its session.
async fn tarn_session(test_ctx: &TestContext) -> Result<tarn::Engine, BoxError> {
    let upstream = test_ctx.session_ctx();
    let up_state = upstream.state();
    // Every cache on: whole results, sub-plans, and the on-disk tier (which
    // needs a catalog file: one per slt file, beside the working copy).
    let catalogs = std::env::current_dir()?.join("..").join("tarn-catalogs");
    std::fs::create_dir_all(&catalogs)?;
    let catalog = catalogs.join(format!("{}.db", CATALOGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    let engine = tarn::Engine::builder()
        .catalog_path(catalog)
        .session_config(upstream.copied_config())
        .setting("tarn.cache.results", "true")
        .setting("tarn.cache.subplans", "true")
        .setting("tarn.cache.disk", "true")
        .build()
        .await?;
    let ctx = engine.session_context();

    // What the file's setup added to upstream's context, compared with a
    // plain DataFusion state of the same configuration: only that is copied,
    // so Tarn's own functions and planners are never replaced.
    let baseline = SessionStateBuilder::new().with_config(upstream.copied_config()).with_default_features().build();

    // Planners (the Spark function planner, cast_extension_type_metadata.slt's
    // UUID type planner): SessionState has no setters, so rebuild Tarn's state
    // and swap it in place (Tarn's providers hold a weak reference to it).
    let type_planner = SessionStateBuilder::new_from_existing(up_state.clone()).type_planner().clone();
    if type_planner.is_some() || up_state.expr_planners().len() != baseline.expr_planners().len() {
        let mut builder = SessionStateBuilder::new_from_existing(ctx.state());
        let tarn_planners = builder.expr_planners().take().unwrap_or_default();
        let extra = up_state.expr_planners().len().saturating_sub(baseline.expr_planners().len());
        // Spark's planner goes first, as `with_spark_features` puts it.
        *builder.expr_planners() =
            Some(up_state.expr_planners()[..extra].iter().cloned().chain(tarn_planners).collect());
        if type_planner.is_some() {
            *builder.type_planner() = type_planner;
        }
        let state = builder.build();
        *ctx.state_ref().write() = state;
    }

    // Functions the setup registered (the file's UDFs, Spark's functions).
    // Registering one also registers its aliases, which may shadow another
    // copied one: repeat until Tarn's session agrees with upstream's.
    for _ in 0..4 {
        let tarn_state = ctx.state();
        let mut changed = false;
        let state_ref = ctx.state_ref();
        let mut state = state_ref.write();
        for (name, f) in up_state.scalar_functions() {
            if baseline.scalar_functions().get(name) != Some(f) && tarn_state.scalar_functions().get(name) != Some(f) {
                state.register_udf(f.clone())?;
                changed = true;
            }
        }
        for (name, f) in up_state.aggregate_functions() {
            if baseline.aggregate_functions().get(name) != Some(f)
                && tarn_state.aggregate_functions().get(name) != Some(f)
            {
                state.register_udaf(f.clone())?;
                changed = true;
            }
        }
        for (name, f) in up_state.window_functions() {
            if baseline.window_functions().get(name) != Some(f) && tarn_state.window_functions().get(name) != Some(f) {
                state.register_udwf(f.clone())?;
                changed = true;
            }
        }
        drop(state);
        for (name, f) in up_state.table_functions() {
            if !baseline.table_functions().contains_key(name) && !tarn_state.table_functions().contains_key(name) {
                ctx.register_udtf(name, f.function().clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    // Tables and catalogs.
    let tarn_catalog = tarn::CATALOG_NAME;
    let catalogs = up_state.catalog_list().clone();
    for catalog_name in catalogs.catalog_names() {
        let Some(catalog) = catalogs.catalog(&catalog_name) else {
            continue;
        };
        if catalog_name != UPSTREAM_CATALOG {
            ctx.register_catalog(catalog_name, catalog);
            continue;
        }
        for schema_name in catalog.schema_names() {
            let Some(schema) = catalog.schema(&schema_name) else {
                continue;
            };
            let tables = schema.table_names();
            if tables.is_empty() {
                continue;
            }
            if let Some(tarn) = ctx.catalog(tarn_catalog)
                && tarn.schema(&schema_name).is_none()
            {
                tarn.register_schema(&schema_name, schema.clone())?;
            }
            for table in tables {
                if let Some(provider) = schema.table(&table).await? {
                    ctx.register_table(TableReference::full(tarn_catalog, schema_name.as_str(), table), provider)?;
                }
            }
        }
    }
    Ok(engine)
}

/// Upstream's `DataFusion` sqllogictest engine, on a Tarn session: the same
/// query execution, result conversion and configuration check.
struct TarnDb {
    ctx: SessionContext,
    relative_path: String,
    is_spark: bool,
    default_config: HashMap<String, Option<String>>,
    config_errors: Arc<Mutex<Vec<String>>>,
}

impl TarnDb {
    fn new(ctx: SessionContext, relative_path: &str, is_spark: bool, config_errors: Arc<Mutex<Vec<String>>>) -> Self {
        let default_config = config_entries(&ctx);
        Self { ctx, relative_path: relative_path.to_string(), is_spark, default_config, config_errors }
    }

    /// Upstream's check that the file left the configuration as it found it.
    /// One allowance: Tarn starts sessions with a few settings that differ
    /// from DataFusion's defaults (`datafusion.catalog.information_schema`,
    /// `default_catalog`, `create_default_catalog_and_schema`), and `RESET`
    /// restores DataFusion's default, not the session's initial value: a
    /// key that went from Tarn's value back to DataFusion's is not a leak.
    fn config_change(&self) -> Option<String> {
        let current = config_entries(&self.ctx);
        let datafusion_defaults: HashMap<String, Option<String>> =
            ConfigOptions::default().entries().into_iter().map(|e| (e.key, e.value)).collect();
        let keys: BTreeSet<&String> = current.keys().chain(self.default_config.keys()).collect();
        let mut message = String::new();
        for key in keys {
            let before = self.default_config.get(key).cloned().flatten();
            let after = current.get(key).cloned().flatten();
            let reset_to_datafusion_default = datafusion_defaults.get(key).is_some_and(|d| *d == after && *d != before);
            if before != after && !reset_to_datafusion_default {
                message.push_str(&format!(
                    "\n  {key}: {} -> {}",
                    before.as_deref().unwrap_or("NULL"),
                    after.as_deref().unwrap_or("NULL")
                ));
            }
        }
        (!message.is_empty()).then(|| format!("SLT file {} left modified configuration{message}", self.relative_path))
    }
}

/// Upstream's `normalize_paths`: upstream replaces the DataFusion checkout
/// (`<root>/datafusion/sqllogictest` is its working directory) with
/// `WORKSPACE_ROOT` in results; our working directory is
/// `<temp>/datafusion/sqllogictest`, so `<temp>` plays the checkout.
fn normalize_workspace_root(rows: &mut [Vec<String>]) {
    let Some(root) = WORKSPACE_ROOT.get() else {
        return;
    };
    for cell in rows.iter_mut().flatten() {
        if cell.contains(root.as_str()) {
            *cell = cell.replace(root.as_str(), "WORKSPACE_ROOT");
        }
    }
}

/// The temporary "checkout" as an object-store path (no leading `/`), as
/// DataFusion prints file locations in plans.
static WORKSPACE_ROOT: OnceLock<String> = OnceLock::new();

fn config_entries(ctx: &SessionContext) -> HashMap<String, Option<String>> {
    ctx.state().config().options().entries().into_iter().map(|e| (e.key, e.value)).collect()
}

#[async_trait]
impl sqllogictest::AsyncDB for TarnDb {
    type Error = DFSqlLogicTestError;
    type ColumnType = DFColumnType;

    async fn run(&mut self, sql: &str) -> Result<DFOutput, DFSqlLogicTestError> {
        let df = self.ctx.sql(sql).await?;
        let task_ctx = Arc::new(df.task_ctx());
        let plan = df.create_physical_plan().await?;
        let schema = plan.schema();
        let stream = execute_stream(plan, task_ctx)?;
        let types = convert_schema_to_types(stream.schema().fields());
        let batches: Vec<RecordBatch> = collect(stream).await?;
        let mut rows = convert_batches(&schema, batches, self.is_spark)?;
        normalize_workspace_root(&mut rows);
        if rows.is_empty() && types.is_empty() {
            Ok(DBOutput::StatementComplete(0))
        } else {
            Ok(DBOutput::Rows { types, rows })
        }
    }

    fn engine_name(&self) -> &str {
        "DataFusion"
    }

    async fn sleep(dur: Duration) {
        tokio::time::sleep(dur).await;
    }

    async fn shutdown(&mut self) {
        if let Some(message) = self.config_change()
            && let Ok(mut errors) = self.config_errors.lock()
        {
            errors.push(message);
        }
    }
}

// ---------------------------------------------------------------------------
// Files, skip list, arguments
// ---------------------------------------------------------------------------

/// The directory of the `datafusion-sqllogictest` package cargo resolved for
/// this workspace: `cargo metadata` (exact for registry, vendored, git or
/// path sources), else the registry checkout under `$CARGO_HOME`.
fn find_sqllogictest_crate() -> Result<PathBuf, BoxError> {
    if let Some(dir) = std::env::var_os("DATAFUSION_SQLLOGICTEST_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(&manifest)
        .output();
    let version = datafusion::DATAFUSION_VERSION;
    let why = match output {
        Ok(out) if out.status.success() => {
            let meta: serde_json::Value = serde_json::from_slice(&out.stdout)?;
            let found = meta["packages"].as_array().and_then(|packages| {
                packages
                    .iter()
                    .filter(|p| p["name"] == "datafusion-sqllogictest" && p["version"] == version)
                    .find_map(|p| p["manifest_path"].as_str())
            });
            if let Some(dir) = found.and_then(|m| Path::new(m).parent()) {
                return Ok(dir.to_path_buf());
            }
            format!("cargo metadata lists no datafusion-sqllogictest {version}")
        }
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) => format!("cannot run {}: {e}", Path::new(&cargo).display()),
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let wanted = format!("datafusion-sqllogictest-{version}");
    if let Ok(indexes) = std::fs::read_dir(cargo_home.join("registry").join("src")) {
        for index in indexes.flatten() {
            let dir = index.path().join(&wanted);
            if dir.join("test_files").is_dir() {
                return Ok(dir);
            }
        }
    }
    Err(format!(
        "cannot find the {wanted} sources (cargo metadata: {why}); \
         set DATAFUSION_SQLLOGICTEST_DIR"
    )
    .into())
}

/// `DATAFUSION_CHECKOUT`: an apache/datafusion checkout (of the same
/// version, with its `testing` and `parquet-testing` submodules). Its data
/// directories are linked around our copy of the crate, so the `../core/…`,
/// `../../testing/…` paths of the data-dependent files resolve; run them with
/// `SLT_RUN_SKIPPED=1`.
#[cfg(unix)]
fn link_checkout(checkout: &Path, temp_root: &Path) -> std::io::Result<()> {
    for (from, to, keep) in [
        (checkout.to_path_buf(), temp_root.to_path_buf(), "datafusion"),
        (checkout.join("datafusion"), temp_root.join("datafusion"), "sqllogictest"),
    ] {
        for entry in std::fs::read_dir(&from)? {
            let entry = entry?;
            if entry.file_name() != keep {
                std::os::unix::fs::symlink(entry.path(), to.join(entry.file_name()))?;
            }
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn link_checkout(_checkout: &Path, _temp_root: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("DATAFUSION_CHECKOUT needs symlinks (unix)"))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// Every `.slt` file under `dir`, as `/`-separated paths relative to it.
fn slt_files(dir: &Path) -> Result<BTreeSet<String>, BoxError> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if entry.file_type()?.is_dir() {
                walk(&entry.path(), &format!("{prefix}{name}/"), out)?;
            } else if name.ends_with(".slt") {
                out.insert(format!("{prefix}{name}"));
            }
        }
        Ok(())
    }
    let mut out = BTreeSet::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// `datafusion-slt-skip.txt`: `reason: …` lines start a group, the lines
/// after it name files (relative to `test_files/`) skipped for that reason.
/// `#` starts a comment.
struct SkipList {
    entries: BTreeMap<String, String>,
}

impl SkipList {
    fn load(path: &Path) -> Result<SkipList, BoxError> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut entries = BTreeMap::new();
        let mut reason: Option<String> = None;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            if let Some(r) = line.strip_prefix("reason:") {
                reason = Some(r.trim().to_string());
                continue;
            }
            let Some(reason) = &reason else {
                return Err(format!("{}:{}: entry before any `reason:`", path.display(), n + 1).into());
            };
            if entries.insert(line.to_string(), reason.clone()).is_some() {
                return Err(format!("{}:{}: {line} listed twice", path.display(), n + 1).into());
            }
        }
        Ok(SkipList { entries })
    }
}

struct Args {
    list: bool,
    filters: Vec<Filter>,
}

impl Args {
    /// libtest-compatible: flags cargo or IDEs pass are ignored, other words
    /// are filters (`substring` or `substring:line`).
    fn parse(args: impl Iterator<Item = String>) -> Args {
        const WITH_VALUE: [&str; 6] = ["--format", "-Z", "--test-threads", "--color", "--logfile", "--skip"];
        let mut list = false;
        let mut filters = Vec::new();
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            if arg == "--list" {
                list = true;
            } else if WITH_VALUE.contains(&arg.as_str()) {
                args.next();
            } else if arg.starts_with('-') {
            } else {
                match arg.parse::<Filter>() {
                    Ok(f) => filters.push(f),
                    Err(e) => eprintln!("ignoring argument {arg}: {e}"),
                }
            }
        }
        Args { list, filters }
    }
}

fn upstream_engine() -> bool {
    std::env::var("SLT_ENGINE").is_ok_and(|v| v.eq_ignore_ascii_case("datafusion"))
}

fn env_flag(name: &str) -> bool {
    std::env::var(name)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}
