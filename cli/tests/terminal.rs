//! The interactive shell in a real terminal (a pty driven by `expectrl`):
//! prompt, multi-line statements, errors and "did you mean", Ctrl-C at the
//! prompt and during a query, history across restarts, tab completion of
//! tables and columns, the progress line (of a query and of an index build),
//! the pager, expanded display, the
//! start-up file, `\q` and Ctrl-D.
//!
//! The binary must be built first (`cargo build --workspace`); see
//! `CARGO_BIN_EXE_tarn`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;
use expectrl::{ControlCode, Eof, Expect, Session};

/// The `tarn` binary Cargo built for these tests.
fn tarn_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_tarn"))
}

/// How long to wait for any expected output.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Start `tarn :memory:` in a 100x30 pty, with its history file in `dir`
/// and no start-up file.
fn spawn_shell(dir: &Path) -> OsSession {
    spawn_with(dir, &[":memory:", "-X"], &[])
}

/// Start `tarn ARGS` in a 100x30 pty with `envs` set, its history file in
/// `dir`.
fn spawn_with(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> OsSession {
    let mut cmd = Command::new(tarn_bin());
    cmd.args(args)
        .current_dir(dir)
        .env("TARN_HISTORY", dir.join("history"))
        .env("HOME", dir)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .env_remove("PAGER")
        .env_remove("TARN_CATALOG")
        .env_remove("TARN_FORMAT")
        .env_remove("TARN_PROGRESS")
        .env_remove("TARN_RCFILE");
    for (key, value) in envs {
        cmd.env(key, value);
    }
    let mut session = Session::spawn(cmd).expect("cannot start tarn in a pty");
    session.get_process_mut().set_window_size(100, 30).expect("cannot size the pty");
    session.set_expect_timeout(Some(TIMEOUT));
    session
}

/// A query that runs until cancelled (minutes in a debug build).
const ENDLESS: &str = "select count(*) from generate_series(1, 1000000000000) t;";

/// Wait for `needle`, failing with what was expected.
#[track_caller]
fn expect(session: &mut OsSession, needle: &str) {
    if let Err(e) = session.expect(needle) {
        panic!("expected {needle:?} from the tarn shell within {TIMEOUT:?}: {e}");
    }
}

/// Wait for the process to end and check it exited with 0.
#[track_caller]
fn expect_exit_0(session: &mut OsSession) {
    if let Err(e) = session.expect(Eof) {
        panic!("the tarn shell did not exit within {TIMEOUT:?}: {e}");
    }
    let status = session.get_process().wait().expect("cannot wait for tarn");
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "tarn exited with {status:?}");
}

#[test]
fn multi_line_query_then_quit() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    // Enter inside an unfinished statement starts a new line of it.
    shell.send_line("select 1 +").unwrap();
    shell.send_line("41 as answer;").unwrap();
    expect(&mut shell, "42");
    expect(&mut shell, "1 row in ");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);

    // The statement went to the history file.
    let history = std::fs::read_to_string(dir.path().join("history")).unwrap();
    assert!(history.contains("41 as answer;"), "{history}");
}

#[test]
fn errors_ctrl_c_and_ctrl_d() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");

    // An error is printed and the shell goes on; a misspelt table gets a
    // suggestion.
    shell.send_line("create table orders as select 1 as order_id;").unwrap();
    expect(&mut shell, "CREATE TABLE");
    shell.send_line("select * from ordrs;").unwrap();
    expect(&mut shell, "did you mean 'orders'?");
    expect(&mut shell, "tarn> ");

    // Ctrl-C drops the statement being typed.
    shell.send_line("select 'never").unwrap();
    shell.send(ControlCode::EndOfText).unwrap();
    expect(&mut shell, "tarn> ");
    shell.send_line("select 'kept' as v;").unwrap();
    expect(&mut shell, "│ kept    │");
    expect(&mut shell, "tarn> ");

    // Ctrl-C cancels a running query (once it runs: the terminal is back in
    // cooked mode, so Ctrl-C is a signal), and the next query answers.
    shell.send_line(ENDLESS).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    shell.send(ControlCode::EndOfText).unwrap();
    expect(&mut shell, "Error: query cancelled");
    expect(&mut shell, "tarn> ");
    shell.send_line("select 6 * 7 as after_cancel;").unwrap();
    expect(&mut shell, "42");
    expect(&mut shell, "tarn> ");

    // Backslash commands need no semicolon.
    shell.send_line("\\timing off").unwrap();
    expect(&mut shell, "Timing is off.");
    expect(&mut shell, "tarn> ");

    // Ctrl-D leaves.
    shell.send(ControlCode::EndOfTransmission).unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn tab_completes_tables_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    shell.send_line("create table customer_orders as select 7 as order_total, 'x' as order_note;").unwrap();
    expect(&mut shell, "CREATE TABLE");
    expect(&mut shell, "tarn> ");

    // A table name after FROM: `custo` + Tab becomes `customer_orders`.
    shell.send("select order_note from custo").unwrap();
    shell.send("\t").unwrap();
    expect(&mut shell, "customer_orders");
    // A column of the table the statement names: `order_t` + Tab.
    shell.send(" where order_t").unwrap();
    shell.send("\t").unwrap();
    expect(&mut shell, "order_total");
    shell.send_line(" = 7;").unwrap();
    expect(&mut shell, "│ x          │");
    expect(&mut shell, "1 row");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn history_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    shell.send_line("select 'from the first session' as remembered;").unwrap();
    expect(&mut shell, "1 row");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);

    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    // Up arrow brings the statement back; Enter runs it.
    shell.send("\x1b[A").unwrap();
    expect(&mut shell, "from the first session");
    shell.send("\r").unwrap();
    expect(&mut shell, "│ from the first session │");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn progress_line_on_a_slow_query() {
    let dir = tempfile::tempdir().unwrap();
    // A self-join of 100 000 rows on an expression: minutes of work.
    let mut csv = String::from("x,y\n");
    (0..100_000).for_each(|i| csv.push_str(&format!("{i},name{i}\n")));
    std::fs::write(dir.path().join("big.csv"), csv).unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    shell.send_line("select count(*) from 'big.csv' a, 'big.csv' b where (a.x * 7 + b.x) % 1000003 = 5;").unwrap();
    // After a second: elapsed time, rows scanned, bytes read, files done.
    expect(&mut shell, " s │ ");
    expect(&mut shell, " rows │ ");
    expect(&mut shell, " read │ files ");
    shell.send(ControlCode::EndOfText).unwrap();
    expect(&mut shell, "Error: query cancelled");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn progress_line_while_an_index_is_built() {
    let dir = tempfile::tempdir().unwrap();
    // Six files of 400 000 rows (42 MB), indexed in 4 KiB blocks one file at
    // a time: a few seconds of work in a debug build.
    for f in 0..6 {
        let mut csv = String::from("x,y\n");
        (0..400_000).for_each(|i| csv.push_str(&format!("{},name{i}\n", f * 400_000 + i)));
        std::fs::write(dir.path().join(format!("part{f}.csv")), csv).unwrap();
    }
    let settings = ["--set", "tarn.index.block_size=4096", "--set", "tarn.index.build_concurrency=1"];
    let mut shell = spawn_with(dir.path(), &[&[":memory:", "-X"][..], &settings].concat(), &[]);
    expect(&mut shell, "tarn> ");
    shell.send_line(format!("create external table big stored as csv location '{}/';", dir.path().display())).unwrap();
    // Wait for the statement's own output, not just a prompt: the echo of the
    // typed line starts with "tarn> " too, and a line typed while a statement
    // runs can be lost when the editor re-enters raw mode.
    expect(&mut shell, "CREATE TABLE");
    expect(&mut shell, "tarn> ");
    shell.send_line("create index big_x on big (x);").unwrap();
    // After a second: the index, files done of total, bytes of total.
    expect(&mut shell, "indexing public.big_x (big) │ ");
    expect(&mut shell, "files ");
    expect(&mut shell, "/6 │ ");
    expect(&mut shell, "iB of ");
    expect(&mut shell, "CREATE INDEX");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn pager_takes_output_taller_than_the_screen() {
    let dir = tempfile::tempdir().unwrap();
    let pager = "sed 's/^/PAGED: /'";
    let mut shell = spawn_with(dir.path(), &[":memory:", "-X"], &[("PAGER", pager)]);
    expect(&mut shell, "tarn> ");
    // Short output is printed as it is.
    shell.send_line("select 'short' as s;").unwrap();
    expect(&mut shell, "│ short   │");
    expect(&mut shell, "tarn> ");
    // 100 rows do not fit 30 lines: the pager gets them.
    shell.send_line("\\maxrows 0").unwrap();
    expect(&mut shell, "Showing all rows.");
    shell.send_line("select value from generate_series(1, 100) t(value);").unwrap();
    expect(&mut shell, "PAGED: │    100 │");
    expect(&mut shell, "PAGED: 100 rows");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn expanded_display_and_row_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mut shell = spawn_shell(dir.path());
    expect(&mut shell, "tarn> ");
    shell.send_line("\\x").unwrap();
    expect(&mut shell, "Expanded display is on.");
    shell.send_line("select 1 as id, 'Ann' as name;").unwrap();
    expect(&mut shell, "-[ RECORD 1 ]");
    expect(&mut shell, "name | Ann");
    expect(&mut shell, "tarn> ");
    // (Each line is sent once the previous one is done: the editor may drop
    // what is typed ahead while it sets up the terminal.)
    shell.send_line("\\x off").unwrap();
    expect(&mut shell, "Expanded display is off.");
    // A row limit, with what it left out said.
    shell.send_line("\\maxrows 10").unwrap();
    expect(&mut shell, "Showing at most 10 rows.");
    shell.send_line("select * from generate_series(1, 100);").unwrap();
    expect(&mut shell, "100 rows (10 shown, 90 more rows");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn start_up_file_runs_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".tarnrc"), "\\format csv\n\\editmode vi\ncreate table from_rc as select 5 as v;\n")
        .unwrap();
    // ~/.tarnrc (HOME is the test directory).
    let mut shell = spawn_with(dir.path(), &[":memory:"], &[]);
    expect(&mut shell, "tarn> ");
    shell.send_line("select v from from_rc;").unwrap();
    expect(&mut shell, "v\r\n5");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\editmode").unwrap();
    expect(&mut shell, "Edit mode is vi.");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);

    // -X skips it.
    let mut shell = spawn_with(dir.path(), &[":memory:", "-X"], &[]);
    expect(&mut shell, "tarn> ");
    shell.send_line("select v from from_rc;").unwrap();
    expect(&mut shell, "not found");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}

#[test]
fn edit_the_last_statement_and_see_it_highlighted() {
    let dir = tempfile::tempdir().unwrap();
    // The "editor" changes 41 into 42 in the file it is given.
    let mut shell = spawn_with(dir.path(), &[":memory:", "-X"], &[("EDITOR", "sed -i s/41/42/"), ("NO_COLOR", "")]);
    expect(&mut shell, "tarn> ");
    shell.send_line("select 41 as n;").unwrap();
    // Keywords are colored as they are typed (NO_COLOR is empty: colors on).
    expect(&mut shell, "\x1b[1;34mselect\x1b[0m");
    expect(&mut shell, "1 row");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\e").unwrap();
    // The edited statement comes back to the prompt; Enter runs it.
    expect(&mut shell, "42");
    shell.send("\r").unwrap();
    expect(&mut shell, "│     42 │");
    expect(&mut shell, "tarn> ");
    shell.send_line("\\q").unwrap();
    expect_exit_0(&mut shell);
}
