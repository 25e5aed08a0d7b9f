//! What `tarn bench` measured ([`Report`], written as JSON with `--json`) and
//! its text form: the table printed at the end of a run.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::stats::{Summary, geometric_mean, ratio};

/// Everything one `tarn bench` run measured. `--json FILE` writes it as is;
/// its fields are stable (new ones may be added).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Tarn's version.
    pub tarn_version: String,
    /// When the run started (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub started: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// The catalog file (`:memory:` for none).
    pub catalog: String,
    /// The built-in suite, if one ran.
    pub suite: Option<SuiteInfo>,
    /// `warm` (one process, caches kept between runs) or `cold` (a fresh
    /// process for every run).
    pub mode: String,
    /// Untimed runs of each query and configuration before the timed ones.
    pub warmup: usize,
    /// Timed runs of each query and configuration.
    pub runs: usize,
    /// Threads (and partitions) queries ran on.
    pub threads: usize,
    /// The memory limit, in bytes, if one was set.
    pub memory_limit: Option<usize>,
    /// What `peak_memory` figures are (they differ by mode).
    pub peak_memory_measures: String,
    /// The configurations compared; ratios are against the first.
    pub configs: Vec<ConfigInfo>,
    /// One entry per query, in the order they ran.
    pub queries: Vec<QueryReport>,
    /// Per configuration: sums over the queries.
    pub totals: Vec<Total>,
    /// Peak resident memory of the `tarn bench` process itself (VmHWM), in bytes.
    pub process_peak_rss: Option<u64>,
}

/// The machine a report was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical cores available to the process.
    pub cores: usize,
    /// Physical memory in bytes (Linux: MemTotal of /proc/meminfo).
    pub memory_bytes: Option<u64>,
    /// Operating system and architecture, e.g. `linux x86_64`.
    pub os: String,
}

/// The built-in suite a report ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteInfo {
    /// `tpch`.
    pub name: String,
    /// TPC-H scale factor.
    pub scale_factor: f64,
    /// `parquet` or `csv`.
    pub format: String,
    /// Where the data is.
    pub data_dir: String,
}

/// One compared configuration: a name and the settings it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigInfo {
    /// Its name, as given to `--config NAME:…` (`default` without `--config`).
    pub name: String,
    /// The `KEY=VALUE` settings applied on top of the command line's.
    pub settings: Vec<(String, String)>,
}

/// The measurements of one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryReport {
    /// The query's name: the file name without `.sql`, or `q1` … `q22`.
    pub name: String,
    /// Where it came from: the file, or `tpch`.
    pub source: String,
    /// One entry per configuration, in the order of [`Report::configs`].
    pub results: Vec<ConfigResult>,
}

/// The measurements of one query under one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigResult {
    /// The configuration's name.
    pub config: String,
    /// Every timed run, in order.
    pub runs: Vec<Run>,
    /// Seconds: min, median, max and mean over the timed runs.
    pub seconds: Option<Summary>,
    /// Rows the query returned (its last statement that returns rows).
    pub rows: Option<u64>,
    /// Bytes read from files or object stores (the largest over the runs).
    pub bytes_scanned: Option<u64>,
    /// Peak memory over the runs, in bytes (see [`Report::peak_memory_measures`]).
    pub peak_memory: Option<u64>,
    /// Median time divided by the first configuration's median time.
    pub ratio: Option<f64>,
    /// Why the query failed, if it did (then there are no timed runs).
    pub error: Option<String>,
}

/// One timed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Seconds from planning the query to reading its last row.
    pub seconds: f64,
    /// Rows returned.
    pub rows: u64,
    /// Bytes read from files or object stores, when known.
    pub bytes_scanned: Option<u64>,
    /// Peak memory of the run, in bytes, when known.
    pub peak_memory: Option<u64>,
    /// Cold mode: seconds the whole process took (start-up, catalog open,
    /// the query, exit).
    pub process_seconds: Option<f64>,
}

/// Sums over the queries for one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Total {
    /// The configuration's name.
    pub config: String,
    /// Sum of the median times of the queries that succeeded, in seconds.
    pub median_seconds: f64,
    /// `median_seconds` divided by the first configuration's (over the
    /// queries that succeeded in both).
    pub ratio: Option<f64>,
    /// Geometric mean of the per-query ratios.
    pub geometric_mean_ratio: Option<f64>,
    /// Number of queries that failed.
    pub failed: usize,
}

impl ConfigResult {
    /// The result of `runs` of a query under `config` (`error` if it failed).
    pub fn new(config: &str, runs: Vec<Run>, error: Option<String>) -> ConfigResult {
        let seconds: Vec<f64> = runs.iter().map(|r| r.seconds).collect();
        ConfigResult {
            config: config.to_string(),
            seconds: Summary::of(&seconds),
            rows: runs.last().map(|r| r.rows),
            bytes_scanned: runs.iter().filter_map(|r| r.bytes_scanned).max(),
            peak_memory: runs.iter().filter_map(|r| r.peak_memory).max(),
            ratio: None,
            error,
            runs,
        }
    }

    /// The figures of a successful result as text: min, median and max
    /// milliseconds, rows, bytes scanned, peak memory, ratio (`-` when
    /// unknown); `None` for a failed result.
    pub fn cells(&self) -> Option<[String; 7]> {
        let s = self.seconds.filter(|_| self.error.is_none())?;
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
        Some([
            format!("{:.1}", s.min * 1e3),
            format!("{:.1}", s.median * 1e3),
            format!("{:.1}", s.max * 1e3),
            or_dash(self.rows.map(|r| r.to_string())),
            or_dash(self.bytes_scanned.map(format_bytes)),
            or_dash(self.peak_memory.map(format_bytes)),
            or_dash(self.ratio.map(|r| format!("{r:.2}"))),
        ])
    }

    fn median(&self) -> Option<f64> {
        match self.error {
            None => self.seconds.map(|s| s.median),
            Some(_) => None,
        }
    }
}

impl Report {
    /// Fill in per-query ratios against the first configuration, and the totals.
    pub fn compute_ratios(&mut self) {
        for query in &mut self.queries {
            let base = query.results.first().and_then(ConfigResult::median);
            for result in &mut query.results {
                result.ratio = match (result.median(), base) {
                    (Some(m), Some(b)) => ratio(m, b),
                    _ => None,
                };
            }
        }
        self.totals = (0..self.configs.len())
            .map(|i| {
                let results = || self.queries.iter().filter_map(move |q| q.results.get(i));
                let median_seconds = results().filter_map(ConfigResult::median).sum();
                // Ratio of sums over the queries both configurations finished.
                let (mut sum, mut base_sum) = (0.0, 0.0);
                for query in &self.queries {
                    let (Some(m), Some(b)) =
                        (query.results.get(i).and_then(ConfigResult::median), query.results[0].median())
                    else {
                        continue;
                    };
                    sum += m;
                    base_sum += b;
                }
                let ratios: Vec<f64> = results().filter_map(|r| r.ratio).collect();
                Total {
                    config: self.configs[i].name.clone(),
                    median_seconds,
                    ratio: ratio(sum, base_sum),
                    geometric_mean_ratio: geometric_mean(&ratios),
                    failed: results().filter(|r| r.error.is_some()).count(),
                }
            })
            .collect();
    }

    /// The report as a text table: one line per query and configuration,
    /// then the totals.
    pub fn to_table(&self) -> String {
        let compare = self.configs.len() > 1;
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.title());
        let name_width = self.queries.iter().map(|q| q.name.len()).max().unwrap_or(5).max(5);
        let config_width = self.configs.iter().map(|c| c.name.len()).max().unwrap_or(6).max(6);
        let _ = write!(out, "{:<name_width$}", "query");
        if compare {
            let _ = write!(out, "  {:<config_width$}", "config");
        }
        let _ = write!(
            out,
            "  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}  {:>10}",
            "min ms", "median ms", "max ms", "rows", "scanned", "peak mem"
        );
        if compare {
            let _ = write!(out, "  {:>6}", "ratio");
        }
        out.push('\n');
        for query in &self.queries {
            for result in &query.results {
                let _ = write!(out, "{:<name_width$}", query.name);
                if compare {
                    let _ = write!(out, "  {:<config_width$}", result.config);
                }
                match (result.cells(), &result.error) {
                    (Some(cells), _) => {
                        for cell in &cells[..6] {
                            let _ = write!(out, "  {cell:>10}");
                        }
                        if compare {
                            let _ = write!(out, "  {:>6}", cells[6]);
                        }
                    }
                    (None, Some(error)) => {
                        let _ = write!(out, "  error: {}", first_line(error));
                    }
                    (None, None) => {
                        let _ = write!(out, "  (no timed run)");
                    }
                }
                out.push('\n');
            }
        }
        for total in &self.totals {
            let _ = write!(out, "{:<name_width$}", "total");
            if compare {
                let _ = write!(out, "  {:<config_width$}", total.config);
            }
            let _ = write!(out, "  {:>10}  {:>10.1}", "", total.median_seconds * 1e3);
            if compare {
                let ratio = total.ratio.map_or("-".to_string(), |r| format!("{r:.2}"));
                let geo = total.geometric_mean_ratio.map_or("-".to_string(), |r| format!("{r:.2}"));
                let _ = write!(out, "  ratio {ratio} (geometric mean of ratios {geo})");
            }
            if total.failed > 0 {
                let _ = write!(out, "  {} failed", total.failed);
            }
            out.push('\n');
        }
        out
    }

    /// One line saying what ran where.
    pub fn title(&self) -> String {
        let what = match &self.suite {
            Some(s) if s.name == "tpch" => format!("TPC-H SF {} ({})", s.scale_factor, s.format),
            Some(s) => format!("{} SF {} ({})", s.name, s.scale_factor, s.format),
            None => format!("{} queries", self.queries.len()),
        };
        format!(
            "{what}, {} mode, {} warm-up + {} timed run{}, {} thread{}, {} — tarn {}, {}",
            self.mode,
            self.warmup,
            self.runs,
            if self.runs == 1 { "" } else { "s" },
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.machine.describe(),
            self.tarn_version,
            self.started
        )
    }
}

impl Machine {
    /// `2 cores, 24 GiB, linux x86_64`.
    pub fn describe(&self) -> String {
        let memory =
            self.memory_bytes.map(|b| format!(", {:.0} GiB", b as f64 / (1u64 << 30) as f64)).unwrap_or_default();
        format!("{} core{}{memory}, {}", self.cores, if self.cores == 1 { "" } else { "s" }, self.os)
    }
}

/// The first line of `text`.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 MiB` (as `\\d` shows sizes).
pub fn format_bytes(bytes: u64) -> String {
    crate::meta::human_bytes(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    fn run(seconds: f64, rows: u64) -> Run {
        Run { seconds, rows, bytes_scanned: Some(1024), peak_memory: Some(2048), process_seconds: None }
    }

    /// A report of two queries under two configurations.
    pub(crate) fn sample() -> Report {
        let configs = vec![
            ConfigInfo { name: "base".into(), settings: vec![] },
            ConfigInfo { name: "fast".into(), settings: vec![("k".into(), "v".into())] },
        ];
        let q1 = QueryReport {
            name: "q1".into(),
            source: "q1.sql".into(),
            results: vec![
                ConfigResult::new("base", vec![run(1.0, 4), run(3.0, 4), run(2.0, 4)], None),
                ConfigResult::new("fast", vec![run(0.5, 4), run(1.5, 4), run(1.0, 4)], None),
            ],
        };
        let q2 = QueryReport {
            name: "q2".into(),
            source: "q2.sql".into(),
            results: vec![
                ConfigResult::new("base", vec![run(4.0, 1)], None),
                ConfigResult::new("fast", vec![], Some("boom\nmore".into())),
            ],
        };
        let mut report = Report {
            tarn_version: "0.1.0".into(),
            started: "2026-11-21T08:00:00Z".into(),
            machine: Machine { cores: 2, memory_bytes: Some(24 << 30), os: "linux x86_64".into() },
            catalog: ":memory:".into(),
            suite: None,
            mode: "warm".into(),
            warmup: 1,
            runs: 3,
            threads: 2,
            memory_limit: None,
            peak_memory_measures: "test".into(),
            configs,
            queries: vec![q1, q2],
            totals: vec![],
            process_peak_rss: None,
        };
        report.compute_ratios();
        report
    }

    #[test]
    fn ratios_and_totals() {
        let report = sample();
        let q1 = &report.queries[0];
        assert_eq!(q1.results[0].seconds.unwrap().median, 2.0);
        assert_eq!(q1.results[0].ratio, Some(1.0));
        assert_eq!(q1.results[1].ratio, Some(0.5));
        assert_eq!(q1.results[0].rows, Some(4));
        assert_eq!(report.queries[1].results[1].ratio, None);
        assert_eq!(report.totals.len(), 2);
        assert_eq!(report.totals[0].median_seconds, 6.0);
        assert_eq!(report.totals[1].median_seconds, 1.0);
        // Only q1 finished under both: 1.0 / 2.0.
        assert_eq!(report.totals[1].ratio, Some(0.5));
        assert_eq!(report.totals[1].failed, 1);
        assert_eq!(report.totals[0].failed, 0);
    }

    #[test]
    fn table_lists_every_query_and_config() {
        let table = sample().to_table();
        assert!(table.contains("2 queries, warm mode, 1 warm-up + 3 timed runs, 2 threads"), "{table}");
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 1 + 1 + 4 + 2, "{table}");
        assert!(lines[2].starts_with("q1     base") && lines[2].contains("2000.0"), "{table}");
        assert!(lines[3].contains("0.50"), "{table}");
        assert!(lines[5].contains("error: boom") && !lines[5].contains("more"), "{table}");
        assert!(lines[7].contains("ratio 0.50"), "{table}");
        assert!(lines[7].contains("1 failed"), "{table}");
    }

    #[test]
    fn json_round_trip() {
        let report = sample();
        let text = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back, report);
    }

    #[test]
    fn byte_units() {
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 << 30), "3.0 GiB");
    }
}
