//! Tarn's own settings, the `tarn.*` namespace of `SET`, registered as a
//! DataFusion config extension so `SET tarn.sniff_csv = false` and
//! `SHOW tarn.sniff_csv` work like DataFusion's own `datafusion.*` settings.

use datafusion::common::extensions_options;
use datafusion::config::ConfigExtension;
use datafusion::execution::context::SessionState;

extensions_options! {
    /// Settings of Tarn's catalog and engine (`SET tarn.<name> = <value>`).
    pub struct TarnOptions {
        /// Detect the delimiter and header of CSV files that do not declare them.
        pub sniff_csv: bool, default = true
        /// Read row counts and per-column min/max/null counts from Parquet
        /// footers into the catalog's file manifest when tables are created
        /// or refreshed.
        pub collect_statistics: bool, default = true
        /// How many files are inspected (schema inference, footers) at once.
        pub inspect_concurrency: usize, default = 8
    }
}

impl ConfigExtension for TarnOptions {
    const PREFIX: &'static str = "tarn";
}

impl TarnOptions {
    /// The settings in force in a session (defaults if none were registered).
    pub fn from_state(state: &SessionState) -> TarnOptions {
        state.config().options().extensions.get::<TarnOptions>().cloned().unwrap_or_default()
    }
}
