//! Command-line arguments: the `tarn` command, its options and the `demo`
//! subcommand, parsed with clap.
//!
//! `-c SQL` and `-f FILE` may be given any number of times, in any mix; they
//! run in the order they appear on the command line. Clap keeps the two
//! lists apart, so [`Args::try_parse_from`] puts them back in order
//! ([`Input`]) from the indices clap records.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::output::Format;
use crate::progress::ProgressMode;

/// Extra text at the end of `tarn --help`.
const AFTER_HELP: &str = "\
Examples:
  tarn                              open the shell over ./tarn.db
  tarn :memory: -c 'SELECT 42'      run one statement, keep nothing
  tarn lake.db -f setup.sql -c 'SELECT count(*) FROM t'
  tarn demo                         generate a TPC-H lake and explore it

The interactive shell first runs ~/.tarnrc (or -r FILE; -X skips it), e.g.
  \\editmode vi
  \\timing off
Its history lives in the user's data directory (TARN_HISTORY moves it).

Exit status: 0 on success, 1 when a statement (or the shell) fails,
2 on a command-line usage error.";

/// `tarn`: the Tarn SQL shell.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "tarn",
    version,
    about = "Tarn: an embedded analytical SQL engine over lake files (CSV, Parquet, JSON)",
    after_help = AFTER_HELP,
    max_term_width = 100
)]
pub struct Args {
    /// Catalog file, created when missing; `:memory:` keeps the catalog in
    /// memory only.
    #[arg(value_name = "CATALOG", env = "TARN_CATALOG", default_value = "tarn.db")]
    pub catalog: PathBuf,

    /// Statements to run instead of the interactive shell.
    #[command(flatten)]
    pub script: ScriptArgs,

    /// Output and engine options, valid before or after a subcommand.
    #[command(flatten)]
    pub options: SessionArgs,

    /// A subcommand (`demo`, `bench`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands of `tarn`.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Generate a TPC-H demo lake (or reuse it), attach it as schema `demo`
    /// and open the shell on it (or run -c / -f).
    Demo(DemoArgs),
    /// Time queries (files, directories of .sql files, or the built-in TPC-H
    /// suite) and report min/median/max time, rows, bytes scanned and peak
    /// memory; compare configurations; write JSON and a chart.
    Bench(crate::bench::BenchArgs),
}

/// Arguments of `tarn demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Directory of the demo lake; reused when it already holds a complete
    /// lake of the same scale factor.
    #[arg(value_name = "DIR", default_value = "tarn-demo")]
    pub dir: PathBuf,

    /// TPC-H scale factor (0.01 is about 87 000 rows, 60 175 in lineitem).
    #[arg(long, value_name = "SF", default_value_t = tarn::demo::DEFAULT_SCALE_FACTOR, value_parser = parse_scale_factor)]
    pub sf: f64,

    /// Catalog file [default: DIR/tarn.db].
    #[arg(long, value_name = "CATALOG")]
    pub catalog: Option<PathBuf>,

    /// Statements to run instead of the interactive shell.
    #[command(flatten)]
    pub script: ScriptArgs,
}

/// `-c` and `-f`: statements to run instead of the interactive shell.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ScriptArgs {
    /// Run SQL (or a backslash command) and exit; repeatable.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// Run the SQL script FILE (`-` for standard input) and exit; repeatable,
    /// runs in command-line order with -c.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// `commands` and `files` merged in command-line order; filled by
    /// [`Args::try_parse_from`].
    #[arg(skip)]
    pub inputs: Vec<Input>,
}

impl ScriptArgs {
    /// Whether no `-c` or `-f` was given.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Rebuild [`ScriptArgs::inputs`] from the indices clap recorded in `matches`.
    fn order_inputs(&mut self, matches: &ArgMatches) {
        let mut inputs: Vec<(usize, Input)> = Vec::new();
        if let Some(indices) = matches.indices_of("commands") {
            inputs.extend(indices.zip(&self.commands).map(|(i, c)| (i, Input::Sql(c.clone()))));
        }
        if let Some(indices) = matches.indices_of("files") {
            inputs.extend(indices.zip(&self.files).map(|(i, f)| (i, Input::File(f.clone()))));
        }
        inputs.sort_by_key(|(i, _)| *i);
        self.inputs = inputs.into_iter().map(|(_, input)| input).collect();
    }
}

/// One `-c` or `-f` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `-c SQL`: SQL text (or a backslash command).
    Sql(String),
    /// `-f FILE`: a script file; `-` is standard input.
    File(PathBuf),
}

/// Output and engine options (global: accepted before or after `demo`).
#[derive(Debug, Clone, clap::Args)]
pub struct SessionArgs {
    /// Output format of query results.
    #[arg(long, value_enum, env = "TARN_FORMAT", default_value_t = Format::Table, global = true)]
    pub format: Format,

    /// Print no timing and no row-count footers.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Memory limit for queries, e.g. 512M or 2G (binary units); beyond it,
    /// sorts, joins and aggregations spill to disk.
    #[arg(long, value_name = "SIZE", env = "TARN_MEMORY_LIMIT", value_parser = parse_size, global = true)]
    pub memory_limit: Option<usize>,

    /// Number of threads (and partitions) queries run on [default: cores].
    #[arg(long, value_name = "N", env = "TARN_THREADS", value_parser = parse_threads, global = true)]
    pub threads: Option<usize>,

    /// Show a progress line on stderr for statements running over a second:
    /// auto shows it when stderr and stdout are terminals.
    #[arg(long, value_enum, env = "TARN_PROGRESS", default_value_t = ProgressMode::Auto, global = true)]
    pub progress: ProgressMode,

    /// Start-up file run before the interactive shell opens (with -c/-f:
    /// only when given here) [default: ~/.tarnrc].
    #[arg(short = 'r', long = "rcfile", value_name = "FILE", env = "TARN_RCFILE", global = true)]
    pub rcfile: Option<PathBuf>,

    /// Do not run a start-up file.
    #[arg(short = 'X', long = "no-rc", global = true)]
    pub no_rc: bool,

    /// Set a `datafusion.*` or `tarn.*` setting, as SET would; repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_key_value, global = true)]
    pub settings: Vec<(String, String)>,
}

impl Args {
    /// Parse `args` (the program name first), keeping the order of `-c`
    /// and `-f`. Errors are clap's: print them with [`clap::Error::exit`].
    pub fn try_parse_from<I, T>(args: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(args)?;
        let mut parsed = Args::from_arg_matches(&matches)?;
        parsed.script.order_inputs(&matches);
        if let (Some(Command::Demo(demo)), Some(("demo", sub))) = (&mut parsed.command, matches.subcommand()) {
            demo.script.order_inputs(sub);
        }
        Ok(parsed)
    }
}

/// Parse a size such as `2G`, `512MiB`, `1.5g` or `1048576` into bytes
/// (binary units: K = 1024).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let s = text.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("'{text}' is not a size (examples: 512M, 2G)"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit.strip_suffix("IB").or_else(|| unit.strip_suffix('B')).unwrap_or(&unit);
    let factor: f64 = match unit {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!("unknown unit in '{text}': use K, M, G or T (binary units)"));
        }
    };
    let bytes = (number * factor).round();
    if !(bytes >= 1.0 && bytes < usize::MAX as f64) {
        return Err(format!("'{text}' is not a usable memory limit"));
    }
    Ok(bytes as usize)
}

/// Parse a thread count: a positive integer.
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("'{text}' is not a positive number of threads")),
    }
}

/// Parse `key=value` (spaces around either are trimmed).
pub(crate) fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_string(), value.trim().to_string())),
        _ => Err(format!("'{text}' is not KEY=VALUE")),
    }
}

/// Parse a TPC-H scale factor: a positive number.
pub(crate) fn parse_scale_factor(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(sf) if sf.is_finite() && sf > 0.0 => Ok(sf),
        _ => Err(format!("'{text}' is not a positive scale factor")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_files_keep_their_order() {
        let args = Args::try_parse_from(["tarn", "-c", "a", "-f", "x.sql", "-c", "b", "-f", "y.sql"]).unwrap();
        assert_eq!(
            args.script.inputs,
            vec![
                Input::Sql("a".into()),
                Input::File("x.sql".into()),
                Input::Sql("b".into()),
                Input::File("y.sql".into()),
            ]
        );
    }

    #[test]
    fn demo_is_a_subcommand_with_global_options() {
        let args = Args::try_parse_from(["tarn", "demo", "d", "--format", "csv", "-c", "q"]).unwrap();
        let Some(Command::Demo(demo)) = args.command else { unreachable!("demo not parsed") };
        assert_eq!(demo.dir, PathBuf::from("d"));
        assert_eq!(demo.script.inputs, vec![Input::Sql("q".into())]);
        assert_eq!(args.options.format, Format::Csv);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_size("512MiB").unwrap(), 512 << 20);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("2X").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn key_values() {
        assert_eq!(
            parse_key_value("datafusion.execution.batch_size = 100").unwrap(),
            ("datafusion.execution.batch_size".into(), "100".into())
        );
        assert!(parse_key_value("novalue").is_err());
    }
}
