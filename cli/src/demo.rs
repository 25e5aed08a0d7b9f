//! `tarn demo`: generate (or reuse) a TPC-H demo lake, attach it as schema
//! `demo` in a catalog next to it, make `demo` the default schema, and run
//! `-c` / `-f` or open the shell with a short banner.

use std::fs;
use std::path::Path;
use std::time::Instant;

use tarn::Engine;
use tarn::demo::LakeSummary;
use tokio::runtime::Runtime;

use crate::args::{Args, DemoArgs};
use crate::error::{CliError, Result};

/// Schema the demo lake is attached as.
pub const DEMO_SCHEMA: &str = "demo";

/// Queries the banner suggests.
const EXAMPLES: [&str; 3] = [
    "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS qty, count(*) AS items\n    \
     FROM lineitem GROUP BY 1, 2 ORDER BY 1, 2;",
    "SELECT n_name, count(*) AS customers FROM customer\n    \
     JOIN nation ON c_nationkey = n_nationkey GROUP BY n_name ORDER BY customers DESC, n_name LIMIT 5;",
    "SELECT o_orderstatus, count(*) AS orders, round(avg(o_totalprice), 2) AS avg_price\n    \
     FROM orders GROUP BY o_orderstatus ORDER BY 1;",
];

/// Run `tarn demo`.
pub fn run(args: &Args, demo: &DemoArgs, runtime: &Runtime) -> Result<()> {
    let dir = &demo.dir;
    let shown = display_dir(dir);
    let announce = !tarn::demo::lake_is_complete(dir, demo.sf);
    let started = Instant::now();
    if announce {
        eprint!("Generating TPC-H demo lake (SF {}) in {shown} … ", demo.sf);
    }
    let summary = tarn::demo::generate_lake(dir, demo.sf)?;
    if announce {
        eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
    }
    // New files mean the catalog's manifests must be redone.
    let regenerated = summary.generated;

    let root = fs::canonicalize(dir).map_err(|source| tarn::Error::Io { path: dir.display().to_string(), source })?;
    let catalog = demo.catalog.clone().unwrap_or_else(|| dir.join("tarn.db"));
    let engine = runtime.block_on(crate::open_engine(&catalog, &args.options))?;
    runtime.block_on(attach_lake(&engine, &root, DEMO_SCHEMA, regenerated, &catalog))?;
    let set_schema = format!("SET datafusion.catalog.default_schema = '{DEMO_SCHEMA}'");
    runtime.block_on(async { engine.sql(&set_schema).await?.collect().await })?;

    let mut inputs = args.script.inputs.clone();
    inputs.extend(demo.script.inputs.iter().cloned());
    let banner = banner(&summary, &shown, demo.sf);
    crate::run_session(engine, &args.options, &inputs, runtime, Some(&banner))
}

/// Attach the generated lake at `root` as schema `schema` unless the catalog
/// already has it (and the files did not change since: `regenerated` is
/// false). Shared by `tarn demo` and `tarn bench --suite`.
pub(crate) async fn attach_lake(
    engine: &Engine,
    root: &Path,
    schema: &str,
    regenerated: bool,
    catalog: &Path,
) -> Result<()> {
    let root_text = root.to_string_lossy();
    let existing = engine
        .sql(&format!("SELECT attached_path FROM tarn.schemas WHERE schema_name = '{schema}'"))
        .await?
        .collect()
        .await?;
    let attached: Option<Option<String>> =
        existing.batches.iter().find(|b| b.num_rows() > 0).map(|b| first_string(b, 0));
    let statement = match attached {
        None => Some("ATTACH"),
        Some(None) => {
            return Err(CliError::Demo(format!(
                "catalog '{}' already has a schema '{schema}' that is not a generated TPC-H lake; \
                 choose another catalog",
                catalog.display()
            )));
        }
        Some(Some(path)) if !regenerated && path.trim_end_matches('/') == root_text.trim_end_matches('/') => None,
        Some(Some(_)) => Some("ATTACH OR REPLACE"),
    };
    if let Some(attach) = statement {
        let path = root_text.replace('\'', "''");
        engine.sql(&format!("{attach} '{path}' AS {schema}")).await?.collect().await?;
    }
    Ok(())
}

/// The text shown before the shell opens: tables and example queries.
fn banner(summary: &LakeSummary, shown: &str, sf: f64) -> String {
    let mut text = format!(
        "TPC-H demo lake (SF {sf}) in {shown}, attached as schema '{DEMO_SCHEMA}' \
         (the default schema). Tables:\n"
    );
    let width = summary.tables.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for t in &summary.tables {
        text.push_str(&format!(
            "  {:<width$}  {:<7}  {:>8} rows  {} file{}\n",
            t.name,
            t.format,
            t.rows,
            t.files,
            if t.files == 1 { "" } else { "s" }
        ));
    }
    text.push_str("Try:\n");
    for example in EXAMPLES {
        text.push_str(&format!("  {example}\n"));
    }
    text.push_str("\\d lists the tables, \\d lineitem describes one.\n");
    text
}

/// `dir` as shown to people, with a trailing `/`.
fn display_dir(dir: &Path) -> String {
    let shown = dir.display().to_string();
    match shown.ends_with('/') {
        true => shown,
        false => format!("{shown}/"),
    }
}

/// Column `column` of the first row of `batch` as a string (`None` if NULL).
fn first_string(batch: &datafusion::arrow::array::RecordBatch, column: usize) -> Option<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    let array = batch.column(column);
    if array.is_null(0) {
        return None;
    }
    let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default()).ok()?;
    Some(formatter.value(0).to_string())
}
