//! The progress line: a statement running longer than a second gets one
//! line on standard error, redrawn a few times a second — elapsed time,
//! rows scanned, bytes read (of the total when known), files done of total
//! and an ETA once enough is done to guess — and erased when results start
//! printing or the statement ends (or is cancelled). While an index is being
//! built (`CREATE INDEX`, `REINDEX`, `REFRESH TABLE`), the line shows the
//! build instead: files and bytes indexed of those to index, from
//! `Engine::index_builds` (background maintenance is not shown).
//!
//! `--progress auto` (the default) shows it when standard error and standard
//! output are both terminals; `on` always; `off` never.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datafusion::physical_plan::ExecutionPlan;
use parking_lot::{Condvar, Mutex};
use tarn::{Engine, IndexBuildProgress, ScanCountersSnapshot, ScanProgress};

use crate::meta::human_bytes;

/// When the progress line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProgressMode {
    /// When standard error and standard output are terminals.
    #[default]
    Auto,
    /// Always (on standard error).
    On,
    /// Never.
    Off,
}

impl ProgressMode {
    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            ProgressMode::Auto => "auto",
            ProgressMode::On => "on",
            ProgressMode::Off => "off",
        }
    }

    /// The mode called `name`.
    pub fn from_name(name: &str) -> Option<ProgressMode> {
        [ProgressMode::Auto, ProgressMode::On, ProgressMode::Off]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// How long a statement runs before its progress line appears.
pub const PROGRESS_DELAY: Duration = Duration::from_secs(1);
/// How often the line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// State shared by the drawing thread and its [`ProgressLine`] handle.
#[derive(Default)]
struct Shared {
    plan: Option<Arc<dyn ExecutionPlan>>,
    /// Whether something is on the line (to erase).
    drawn: bool,
    /// Whether the line was stopped: draw nothing more.
    stopped: bool,
}

/// A running progress line; stopping it (or dropping it) erases it.
///
/// It is drawn by a thread of its own, not a tokio task: a query keeps the
/// runtime's workers busy, and the line must move while it does.
pub struct ProgressLine {
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl ProgressLine {
    /// Start the line for a statement that began at `started` on `engine`.
    pub fn start(engine: &Engine, started: Instant) -> ProgressLine {
        let shared = Arc::new((Mutex::new(Shared::default()), Condvar::new()));
        let (engine, thread_shared, start) = (engine.clone(), shared.clone(), engine.scan_counters());
        let spawned = std::thread::Builder::new()
            .name("tarn-progress".into())
            .spawn(move || draw_until_stopped(&engine, start, started, &thread_shared));
        if let Err(e) = spawned {
            log::debug!("no progress line: cannot start its thread: {e}");
        }
        ProgressLine { shared }
    }

    /// The plan now running, whose metrics give rows and files.
    pub fn set_plan(&self, plan: Option<Arc<dyn ExecutionPlan>>) {
        self.shared.0.lock().plan = plan;
    }

    /// Erase the line and draw no more (idempotent).
    pub fn stop(&self) {
        let (lock, wake) = &*self.shared;
        let mut shared = lock.lock();
        if shared.drawn {
            let mut err = std::io::stderr().lock();
            // Carriage return, erase the line.
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            shared.drawn = false;
        }
        shared.stopped = true;
        wake.notify_all();
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop();
    }
}

fn draw_until_stopped(
    engine: &Engine,
    start: ScanCountersSnapshot,
    started: Instant,
    shared: &(Mutex<Shared>, Condvar),
) {
    let (lock, wake) = shared;
    let mut state = lock.lock();
    let mut wait = PROGRESS_DELAY.saturating_sub(started.elapsed());
    let mut frame = 0usize;
    loop {
        wake.wait_while_for(&mut state, |s| !s.stopped, wait);
        if state.stopped {
            return;
        }
        // No plan yet: the statement may be an index build, which runs before it returns.
        let build = match &state.plan {
            Some(_) => None,
            None => engine.index_builds().into_iter().find(|b| !b.background),
        };
        let line = match build {
            Some(build) => render_build(frame, started.elapsed(), &build),
            None => {
                let scan = state.plan.as_ref().map(|p| ScanProgress::of_plan(p.as_ref())).unwrap_or_default();
                let read = engine.scan_counters() - start;
                render(frame, started.elapsed(), &scan, read.bytes_read)
            }
        };
        let width = terminal_size::terminal_size_of(std::io::stderr()).map_or(80, |(w, _)| w.0 as usize);
        let line: String = line.chars().take(width.saturating_sub(1)).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        state.drawn = true;
        frame += 1;
        wait = REDRAW_EVERY;
    }
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

fn spinner_and_time(frame: usize, elapsed: Duration) -> String {
    format!("{} {:.1} s", SPINNER[frame % SPINNER.len()], elapsed.as_secs_f64())
}

/// The text of the progress line.
pub fn render(frame: usize, elapsed: Duration, scan: &ScanProgress, bytes_read: u64) -> String {
    let mut parts = vec![spinner_and_time(frame, elapsed)];
    if scan.rows_scanned > 0 {
        parts.push(format!("{} rows", group_thousands(scan.rows_scanned)));
    }
    if scan.bytes_total > 0 && bytes_read <= scan.bytes_total {
        parts.push(format!("{} of {} read", human_bytes(bytes_read), human_bytes(scan.bytes_total)));
    } else if bytes_read > 0 {
        parts.push(format!("{} read", human_bytes(bytes_read)));
    }
    if scan.files_total > 0 {
        parts.push(format!("files {}/{}", scan.files_done.min(scan.files_total), scan.files_total));
    }
    if let Some(eta) = eta(elapsed, scan, bytes_read) {
        parts.push(format!("ETA {}", short_duration(eta)));
    }
    parts.join(" │ ")
}

/// The text of the progress line of an index build (`elapsed`: of the statement).
pub fn render_build(frame: usize, elapsed: Duration, build: &IndexBuildProgress) -> String {
    let mut parts =
        vec![spinner_and_time(frame, elapsed), format!("indexing {}.{} ({})", build.schema, build.index, build.table)];
    if build.files_total == 0 {
        parts.push("listing files".to_string());
        return parts.join(" │ ");
    }
    parts.push(format!("files {}/{}", build.files_done.min(build.files_total), build.files_total));
    if build.bytes_total > 0 {
        parts.push(format!(
            "{} of {}",
            human_bytes(build.bytes_done.min(build.bytes_total)),
            human_bytes(build.bytes_total)
        ));
        let done = build.bytes_done as f64 / build.bytes_total as f64;
        if (0.02..1.0).contains(&done) {
            parts.push(format!("ETA {}", short_duration(build.elapsed.mul_f64((1.0 - done) / done))));
        }
    }
    parts.join(" │ ")
}

/// Time left, guessed from the share of files done (or, for one file, of
/// its bytes read), once at least 2% is done.
fn eta(elapsed: Duration, scan: &ScanProgress, bytes_read: u64) -> Option<Duration> {
    let done = match scan.files_total {
        0 => return None,
        1 if scan.bytes_total > 0 => bytes_read as f64 / scan.bytes_total as f64,
        total => scan.files_done as f64 / total as f64,
    };
    (0.02..1.0).contains(&done).then(|| elapsed.mul_f64((1.0 - done) / done))
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `42 s`, `3 min 20 s`.
fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        _ => format!("{} min {} s", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_what_is_known() {
        let scan = ScanProgress { rows_scanned: 1_234_567, files_done: 3, files_total: 12, bytes_total: 12 << 20 };
        let line = render(0, Duration::from_secs(3), &scan, 3 << 20);
        assert_eq!(line, "⠋ 3.0 s │ 1,234,567 rows │ 3.0 MiB of 12.0 MiB read │ files 3/12 │ ETA 9 s");
        let line = render(1, Duration::from_millis(1500), &ScanProgress::default(), 0);
        assert_eq!(line, "⠙ 1.5 s");
    }

    #[test]
    fn build_line_shows_files_bytes_and_eta() {
        let mut build = IndexBuildProgress {
            schema: "public".into(),
            table: "events".into(),
            index: "events_user".into(),
            background: false,
            files_total: 0,
            files_done: 0,
            bytes_total: 0,
            bytes_done: 0,
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(
            render_build(0, Duration::from_secs(2), &build),
            "⠋ 2.0 s │ indexing public.events_user (events) │ listing files"
        );
        (build.files_total, build.files_done, build.bytes_total, build.bytes_done) = (1000, 250, 4 << 30, 1 << 30);
        build.elapsed = Duration::from_secs(10);
        assert_eq!(
            render_build(2, Duration::from_secs(11), &build),
            "⠹ 11.0 s │ indexing public.events_user (events) │ files 250/1000 │ 1.0 GiB of 4.0 GiB │ ETA 30 s"
        );
    }

    #[test]
    fn no_eta_before_anything_is_done() {
        let scan = ScanProgress { rows_scanned: 0, files_done: 0, files_total: 12, bytes_total: 100 };
        assert_eq!(eta(Duration::from_secs(5), &scan, 0), None);
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
