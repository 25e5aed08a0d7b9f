//! The interactive shell in a real terminal (a pty driven by `expectrl`):
//! prompt, multi-line statements, errors, Ctrl-C, history, `\q` and Ctrl-D.
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

/// Start `tarn :memory:` in a pty, with its history file in `dir`.
fn spawn_shell(dir: &Path) -> OsSession {
    let mut cmd = Command::new(tarn_bin());
    cmd.arg(":memory:")
        .current_dir(dir)
        .env("TARN_HISTORY", dir.join("history"))
        .env("TERM", "xterm")
        .env_remove("TARN_CATALOG")
        .env_remove("TARN_FORMAT");
    let mut session = Session::spawn(cmd).expect("cannot start tarn in a pty");
    session.set_expect_timeout(Some(TIMEOUT));
    session
}

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
    shell.send_line("select 1 +").unwrap();
    expect(&mut shell, "  ...> ");
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

    // An error is printed and the shell goes on.
    shell.send_line("select * from no_such_table;").unwrap();
    expect(&mut shell, "Error: ");
    expect(&mut shell, "tarn> ");

    // Ctrl-C drops the statement being typed.
    shell.send_line("select 'never").unwrap();
    expect(&mut shell, "  ...> ");
    shell.send(ControlCode::EndOfText).unwrap();
    expect(&mut shell, "tarn> ");
    shell.send_line("select 'kept' as v;").unwrap();
    expect(&mut shell, "| kept |");
    expect(&mut shell, "tarn> ");

    // Ctrl-C cancels a running query (once it runs: the terminal is back in
    // cooked mode, so Ctrl-C is a signal).
    shell.send_line("select count(*) from generate_series(1, 1000000000000) t;").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    shell.send(ControlCode::EndOfText).unwrap();
    expect(&mut shell, "Error: query cancelled");
    expect(&mut shell, "tarn> ");

    // Backslash commands need no semicolon.
    shell.send_line("\\timing off").unwrap();
    expect(&mut shell, "Timing is off.");
    expect(&mut shell, "tarn> ");

    // Ctrl-D leaves.
    shell.send(ControlCode::EndOfTransmission).unwrap();
    expect_exit_0(&mut shell);
}
