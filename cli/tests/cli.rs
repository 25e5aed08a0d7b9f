//! Tests of the real `tarn` binary: output formats, `-c` / `-f` / stdin
//! scripts, errors and exit codes, persistence across processes, `tarn demo`.
//!
//! The binary must be built first (`cargo build --workspace`); see
//! `CARGO_BIN_EXE_tarn`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `tarn` binary Cargo built for these tests.
fn tarn_bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_tarn"))
}

/// The query every format test prints: an integer, a string and a NULL.
const QUERY: &str = "select 1 as a, 'x' as b union all select 2, null order by a";

/// Environment variables of the shell that must not leak in from the test runner.
const TARN_VARS: [&str; 9] = [
    "TARN_CATALOG",
    "TARN_FORMAT",
    "TARN_MEMORY_LIMIT",
    "TARN_THREADS",
    "TARN_HISTORY",
    "TARN_LOG",
    "TARN_PROGRESS",
    "TARN_RCFILE",
    "RUST_LOG",
];

/// What a run of `tarn` did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().expect("tarn was killed by a signal"),
            stdout: String::from_utf8(out.stdout).expect("stdout is not UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is not UTF-8"),
        }
    }
}

impl Run {
    #[track_caller]
    fn success(self) -> Run {
        assert_eq!(self.code, 0, "tarn failed: {self:#?}");
        self
    }

    #[track_caller]
    fn failure(self) -> Run {
        assert_eq!(self.code, 1, "tarn should have failed with 1: {self:#?}");
        self
    }
}

/// A `tarn` command running in `dir`, with a clean environment.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(tarn_bin());
    cmd.args(args).current_dir(dir);
    for var in TARN_VARS {
        cmd.env_remove(var);
    }
    cmd.env("TARN_HISTORY", "");
    cmd
}

/// Run `tarn args...` in `dir` with an empty standard input.
fn tarn(dir: &Path, args: &[&str]) -> Run {
    command(dir, args).stdin(Stdio::null()).output().expect("cannot run tarn").into()
}

/// Run `tarn args...` in `dir` with `input` on standard input.
fn tarn_stdin(dir: &Path, args: &[&str], input: &str) -> Run {
    let mut child = command(dir, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run tarn");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap().into()
}

/// Run the format test query in `format` with an in-memory catalog.
fn query_as(format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    tarn(dir.path(), &[":memory:", "--format", format, "-c", QUERY]).success().stdout
}

#[test]
fn csv_output() {
    assert_eq!(query_as("csv"), "a,b\n1,x\n2,\n");
}

#[test]
fn tsv_output() {
    assert_eq!(query_as("tsv"), "a\tb\n1\tx\n2\t\n");
}

#[test]
fn json_output() {
    assert_eq!(query_as("json"), "[{\"a\":1,\"b\":\"x\"},{\"a\":2,\"b\":null}]\n");
}

#[test]
fn ndjson_output() {
    assert_eq!(query_as("ndjson"), "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":null}\n");
}

#[test]
fn markdown_output() {
    assert_eq!(query_as("markdown"), "| a | b |\n| ---: | --- |\n| 1 | x |\n| 2 |  |\n");
}

#[test]
fn table_output_has_a_row_count_footer() {
    let out = query_as("table");
    assert_eq!(
        out,
        "┌────────┬─────────┐\n\
         │ a      │ b       │\n\
         │ bigint │ varchar │\n\
         ├────────┼─────────┤\n\
         │      1 │ x       │\n\
         │      2 │ NULL    │\n\
         └────────┴─────────┘\n\
         2 rows\n"
    );
}

#[test]
fn quiet_drops_the_footer() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-q", "-c", "select 7 as n"]).success();
    assert!(out.stdout.contains("│      7 │"), "{out:?}");
    assert!(!out.stdout.contains("row"), "{out:?}");
}

#[test]
fn empty_results_keep_their_header() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "select 1 as a where false";
    let out = tarn(dir.path(), &[":memory:", "--format", "csv", "-c", sql]).success();
    assert_eq!(out.stdout, "a\n");
    let out = tarn(dir.path(), &[":memory:", "--format", "json", "-c", sql]).success();
    assert_eq!(out.stdout, "[]\n");
    let out = tarn(dir.path(), &[":memory:", "-c", sql]).success();
    assert!(out.stdout.contains("│ a      │"), "{out:?}");
    assert!(out.stdout.ends_with("0 rows\n"), "{out:?}");
}

#[test]
fn format_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &[":memory:", "-c", "select 5 as n"])
        .env("TARN_FORMAT", "csv")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(Run::from(out).success().stdout, "n\n5\n");
}

#[test]
fn command_tags_only_in_table_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "create schema s"]).success();
    assert_eq!(out.stdout, "CREATE SCHEMA\n");
    let out = tarn(dir.path(), &[":memory:", "--format", "csv", "-c", "create schema s"]).success();
    assert_eq!(out.stdout, "");
}

#[test]
fn commands_and_files_run_in_command_line_order() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("two.sql"), "select 2 as n;\n").unwrap();
    std::fs::write(dir.path().join("four.sql"), "select 4 as n").unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "--format",
            "csv",
            "-c",
            "select 1 as n",
            "-f",
            "two.sql",
            "-c",
            "select 3 as n",
            "-f",
            "four.sql",
        ],
    )
    .success();
    assert_eq!(out.stdout, "n\n1\nn\n2\nn\n3\nn\n4\n");
}

#[test]
fn several_statements_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "select 1 as n; select\n  2 as n;\nselect 3 as n -- no semicolon";
    let out = tarn(dir.path(), &[":memory:", "--format", "csv", "-c", sql]).success();
    assert_eq!(out.stdout, "n\n1\nn\n2\nn\n3\n");
}

#[test]
fn script_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let script = "-- a comment\ncreate schema s;\nselect schema_name\n  from information_schema.schemata\n  where schema_name = 's';\n";
    let out = tarn_stdin(dir.path(), &[":memory:", "--format", "csv"], script).success();
    assert_eq!(out.stdout, "schema_name\ns\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn file_dash_reads_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        tarn_stdin(dir.path(), &[":memory:", "--format", "csv", "-c", "select 1 as n", "-f", "-"], "select 2 as n;")
            .success();
    assert_eq!(out.stdout, "n\n1\nn\n2\n");
}

#[test]
fn syntax_error_in_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "select 1 from;"]).failure();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("Error: syntax error at line 1, column 14: "), "{out:?}");
}

#[test]
fn syntax_error_in_file_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.sql"), "select 1 as n;\n-- a comment\nselect 1 from;\nselect 3 as n;\n")
        .unwrap();
    let out = tarn(dir.path(), &[":memory:", "--format", "csv", "-f", "script.sql"]).failure();
    // Statements before the error ran, the ones after did not.
    assert_eq!(out.stdout, "n\n1\n");
    assert!(out.stderr.starts_with("Error: script.sql:3:14: syntax error: Expected: identifier"), "{out:?}");
    // The failing line, with the position marked under it.
    let marked: Vec<&str> = out.stderr.lines().skip(1).collect();
    assert_eq!(marked, ["  select 1 from;", "               ^"], "{out:?}");
}

#[test]
fn runtime_error_in_file_names_the_statement() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("script.sql"), "select 1;\n\n  select * from missing_table;\n").unwrap();
    let out = tarn(dir.path(), &[":memory:", "-q", "-f", "script.sql"]).failure();
    assert!(out.stderr.starts_with("Error: script.sql:3:3: "), "{out:?}");
    assert!(out.stderr.contains("missing_table"), "{out:?}");
}

#[test]
fn missing_script_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-f", "nope.sql"]).failure();
    assert!(out.stderr.starts_with("Error: cannot read 'nope.sql': "), "{out:?}");
}

#[test]
fn missing_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "select * from nope"]).failure();
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("Error: "), "{out:?}");
    assert!(out.stderr.contains("nope"), "{out:?}");
}

#[test]
fn missing_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "select * from 'missing.csv'"]).failure();
    assert!(out.stderr.starts_with("Error: "), "{out:?}");
    assert!(out.stderr.contains("missing.csv"), "{out:?}");
}

#[test]
fn stops_at_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(
        dir.path(),
        &["cat.db", "-c", "create schema before_error", "-c", "select * from nope", "-c", "create schema after_error"],
    )
    .failure();
    assert_eq!(out.stdout, "CREATE SCHEMA\n");

    // A new process sees what ran, and only that.
    let out = tarn(
        dir.path(),
        &[
            "cat.db",
            "--format",
            "csv",
            "-c",
            "select schema_name from tarn.schemas \
             where schema_name like '%error' order by 1",
        ],
    )
    .success();
    assert_eq!(out.stdout, "schema_name\nbefore_error\n");
}

#[test]
fn quit_ends_a_script_successfully() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(
        dir.path(),
        &[":memory:", "--format", "csv", "-c", "select 1 as n", "-c", "\\q", "-c", "select * from never_run"],
    )
    .success();
    assert_eq!(out.stdout, "n\n1\n");
}

#[test]
fn catalog_persists_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake).unwrap();
    std::fs::write(lake.join("cities.csv"), "city,pop\nParis,2100000\nRome,2800000\n").unwrap();
    let attach = format!("attach '{}' as lake", lake.display());
    let out = tarn(dir.path(), &["cat.db", "-c", &attach, "-c", "create schema extra"]).success();
    assert_eq!(out.stdout, "ATTACH 1 TABLES\nCREATE SCHEMA\n");

    let out = tarn(
        dir.path(),
        &[
            "cat.db",
            "--format",
            "csv",
            "-c",
            "select city from lake.cities order by pop desc",
            "-c",
            "select schema_name from information_schema.schemata where schema_name = 'extra'",
        ],
    )
    .success();
    assert_eq!(out.stdout, "city\nRome\nParis\nschema_name\nextra\n");
}

#[test]
fn default_catalog_is_tarn_db_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    tarn(dir.path(), &["-c", "create schema s"]).success();
    assert!(dir.path().join("tarn.db").is_file());
    let out = tarn(
        dir.path(),
        &["--format", "csv", "-c", "select schema_name from information_schema.schemata where schema_name = 's'"],
    )
    .success();
    assert_eq!(out.stdout, "schema_name\ns\n");
}

#[test]
fn memory_catalog_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    tarn(dir.path(), &[":memory:", "-c", "create schema s"]).success();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn catalog_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path(), &["-c", "create schema s"])
        .env("TARN_CATALOG", "env.db")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run::from(out).success();
    assert!(dir.path().join("env.db").is_file());
    assert!(!dir.path().join("tarn.db").exists());
}

#[test]
fn engine_options() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "--format",
            "csv",
            "--memory-limit",
            "1G",
            "--threads",
            "2",
            "--set",
            "datafusion.execution.batch_size=123",
            "-c",
            "show datafusion.execution.batch_size",
            "-c",
            "show datafusion.execution.target_partitions",
        ],
    )
    .success();
    assert_eq!(
        out.stdout,
        "name,value\ndatafusion.execution.batch_size,123\n\
         name,value\ndatafusion.execution.target_partitions,2\n"
    );
}

#[test]
fn unknown_setting_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "--set", "bogus.key=1", "-c", "select 1"]).failure();
    assert!(out.stderr.starts_with("Error: "), "{out:?}");
    assert!(out.stderr.contains("bogus"), "{out:?}");
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["--format", "xml", "-c", "select 1"][..],
        &["--no-such-flag"],
        &["--memory-limit", "lots"],
        &["--threads", "0"],
        &["--set", "novalue"],
    ] {
        let out = tarn(dir.path(), args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains("error:"), "{args:?}: {out:?}");
    }
    let out = tarn(dir.path(), &["--help"]).success();
    assert!(out.stdout.contains("--format"), "{out:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn backslash_commands_in_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "\\?", "-c", "\\format csv", "-c", "select 1 as n"]).success();
    assert!(out.stdout.contains("\\d [PATTERN]"), "{out:?}");
    assert!(out.stdout.contains("\\i FILE (.read)"), "{out:?}");
    assert!(out.stdout.ends_with("Output format is csv.\nn\n1\n"), "{out:?}");

    let out = tarn(dir.path(), &[":memory:", "-c", "\\nope"]).failure();
    assert_eq!(out.stderr, "Error: unknown command '\\nope'; type \\? for the list of commands\n");
}

#[test]
fn describe_tables_and_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake).unwrap();
    std::fs::write(lake.join("cities.csv"), "city,pop\nParis,2100000\nRome,2800000\n").unwrap();
    let attach = format!("attach '{}' as lake", lake.display());
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "-q",
            "-c",
            &attach,
            "-c",
            "comment on column lake.cities.pop is 'inhabitants'",
            "-c",
            "create table mem as select 1 as x",
            "-c",
            "\\d",
            "-c",
            "\\dn",
            "-c",
            "\\d lake.cities",
            "-c",
            "\\d mem",
        ],
    )
    .success();
    let stdout = &out.stdout;
    // \d: catalog tables and session tables.
    assert!(stdout.contains("│ lake        │ cities     │ CSV"), "{stdout}");
    assert!(stdout.contains("│ public      │ mem        │ memory"), "{stdout}");
    // \dn
    assert!(stdout.contains("│ lake        │ /"), "{stdout}");
    // \d lake.cities: columns with types and comments, then where the files are.
    assert!(stdout.contains("Table lake.cities"), "{stdout}");
    assert!(stdout.contains("│ pop         │ Int64"), "{stdout}");
    assert!(stdout.contains("inhabitants"), "{stdout}");
    assert!(stdout.contains("Location: "), "{stdout}");
    assert!(stdout.contains("cities.csv"), "{stdout}");
    // \d of a session table.
    assert!(stdout.contains("Table public.mem"), "{stdout}");

    let out = tarn(dir.path(), &[":memory:", "-c", "\\d nope"]).failure();
    assert!(out.stderr.contains("'public.nope' does not exist"), "{out:?}");
}

#[test]
fn broken_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut child =
        command(dir.path(), &[":memory:", "--format", "csv", "-c", "select * from generate_series(1, 2000000)"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    // Read a little, then close our end of the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    drop(stdout);
    let out: Run = child.wait_with_output().unwrap().into();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
}

#[test]
fn demo_generates_attaches_and_reuses_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let sql = "select count(*) as n from lineitem";
    let out = tarn(dir.path(), &["demo", "lake", "--format", "csv", "-c", sql]).success();
    assert_eq!(out.stdout, "n\n60175\n");
    assert!(out.stderr.contains("Generating TPC-H demo lake (SF 0.01) in lake/"), "{out:?}");
    assert!(dir.path().join("lake").join("tarn.db").is_file());
    assert!(!dir.path().join("tarn.db").exists());

    // Second run: the lake and its catalog are reused.
    let out = tarn(
        dir.path(),
        &[
            "demo",
            "lake",
            "--format",
            "csv",
            "-c",
            "select count(*) as n from orders",
            "-c",
            "select count(*) as n from demo.nation",
        ],
    )
    .success();
    assert_eq!(out.stdout, "n\n15000\nn\n25\n");
    assert!(!out.stderr.contains("Generating"), "{out:?}");
}

#[test]
fn demo_default_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &["demo", "-q", "-c", "select count(*) from lineitem"]).success();
    assert!(out.stdout.contains("60175"), "{out:?}");
    assert!(dir.path().join("tarn-demo").join("lineitem").is_dir());
}

/// An unreadable file gives an error naming it. Root reads everything, so
/// when the suite runs as root the binary runs as `nobody` (util-linux's
/// `setpriv`); otherwise as the current user.
#[cfg(unix)]
#[test]
fn unreadable_file_as_an_unprivileged_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = dir.path().join("secret.csv");
    std::fs::write(&file, "a\n1\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o000)).unwrap();
    let sql = format!("SELECT * FROM '{}'", file.display());
    let root = std::fs::read(&file).is_ok();
    let out = if root {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(tarn_bin())
            .args([":memory:", "-c", &sql])
            .output()
            .expect("setpriv (util-linux) is needed to test permissions as root")
    } else {
        Command::new(tarn_bin()).args([":memory:", "-c", &sql]).output().unwrap()
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()) && stderr.contains("ermission denied"), "{stderr}");
}

#[test]
fn misspelt_columns_and_functions_get_suggestions() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "select nme from (select 1 as name)"]).failure();
    assert!(out.stderr.contains("Did you mean 'name'?"), "{out:?}");
    let out = tarn(dir.path(), &[":memory:", "-c", "select sume(1)"]).failure();
    assert!(out.stderr.contains("Did you mean 'sum'?"), "{out:?}");
    let out =
        tarn(dir.path(), &[":memory:", "-c", "create table orders as select 1 as id", "-c", "select * from ordrs"])
            .failure();
    assert!(out.stderr.contains("did you mean 'orders'?"), "{out:?}");
}

#[test]
fn inline_syntax_errors_mark_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "select * frm t"]).failure();
    assert_eq!(
        out.stderr,
        "Error: syntax error at line 1, column 10: Expected: end of statement, found: frm\n  select * frm t\n           ^\n"
    );
}

#[test]
fn line_format_and_dot_aliases() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "-q", "-c", ".mode line", "-c", "select 1 as a, 'x' as bb"]).success();
    assert_eq!(out.stdout, " a = 1\nbb = x\n");
    let out = tarn(dir.path(), &[":memory:", "-q", "-c", ".mode jsonlines", "-c", "select 1 as a"]).success();
    assert_eq!(out.stdout, "{\"a\":1}\n");
    let out = tarn(dir.path(), &[":memory:", "-c", ".nope"]).failure();
    assert!(out.stderr.contains("unknown command '.nope'"), "{out:?}");
}

#[test]
fn output_file_and_include() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("setup.sql"), "create table t as select 1 as n union all select 2;\n\\format csv\n")
        .unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "-q",
            "-c",
            "\\i setup.sql",
            "-c",
            "\\o result.csv",
            "-c",
            "select n from t order by n",
            "-c",
            "\\o",
            "-c",
            "select 'screen' as s",
        ],
    )
    .success();
    assert_eq!(std::fs::read_to_string(dir.path().join("result.csv")).unwrap(), "n\n1\n2\n");
    assert_eq!(out.stdout, "CREATE TABLE\ns\nscreen\n");

    // An error in an included file names the file and line.
    std::fs::write(dir.path().join("bad.sql"), "select 1;\nselect nope;\n").unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "\\i bad.sql"]).failure();
    assert!(out.stderr.starts_with("Error: bad.sql:2:1: "), "{out:?}");
    // A file including itself stops.
    std::fs::write(dir.path().join("loop.sql"), "\\i loop.sql\n").unwrap();
    let out = tarn(dir.path(), &[":memory:", "-c", "\\i loop.sql"]).failure();
    assert!(out.stderr.contains("nested more than 16 deep"), "{out:?}");
}

#[test]
fn set_explain_and_function_list() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "-q",
            "--format",
            "csv",
            "-c",
            "\\set datafusion.execution.batch_size 1234",
            "-c",
            "\\set datafusion.execution.batch_size",
            "-c",
            "\\df upp*",
            "-c",
            "\\explain select 1 + 1 as two",
        ],
    )
    .success();
    assert!(out.stdout.contains("datafusion.execution.batch_size,1234"), "{out:?}");
    assert!(out.stdout.contains("upper,scalar,"), "{out:?}");
    assert!(out.stdout.contains("ProjectionExec"), "{out:?}");
    assert!(out.stdout.contains("┌"), "the plan is drawn as a tree: {out:?}");
}

#[test]
fn start_up_file_only_when_asked_outside_the_shell() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".tarnrc"), "\\format csv\n").unwrap();
    std::fs::write(dir.path().join("other.rc"), "\\format ndjson\n").unwrap();
    // ~/.tarnrc is for the interactive shell; -c output stays as asked.
    let out = command(dir.path(), &[":memory:", "-q", "-c", "select 1 as a"])
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("│"), "{out:?}");
    // -r FILE runs first in any mode; -X skips it.
    let out = tarn(dir.path(), &[":memory:", "-q", "-r", "other.rc", "-c", "select 1 as a"]).success();
    assert_eq!(out.stdout, "{\"a\":1}\n");
    let out = tarn(dir.path(), &[":memory:", "-q", "-X", "-r", "other.rc", "-c", "select 1 as a"]).success();
    assert!(out.stdout.contains("│"), "{out:?}");
    let out = tarn(dir.path(), &[":memory:", "-r", "missing.rc", "-c", "select 1"]).failure();
    assert!(out.stderr.contains("cannot read 'missing.rc'"), "{out:?}");
}

#[test]
fn piped_output_has_no_colors_or_progress() {
    let dir = tempfile::tempdir().unwrap();
    let out = tarn(dir.path(), &[":memory:", "--progress", "auto", "-c", "select 1 as a"]).success();
    assert!(!out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'), "{out:?}");
    let out = tarn(dir.path(), &[":memory:", "--progress", "sometimes", "-c", "select 1"]);
    assert_eq!(out.code, 2, "{out:?}");
}

#[test]
fn index_listing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("events.csv"), "user_id,kind\n1,a\n2,b\n").unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "-q",
            "-c",
            "create external table events stored as csv location 'events.csv'",
            "-c",
            "create index events_user on events (user_id)",
            "-c",
            "\\di",
            "-c",
            ".indexes events",
        ],
    )
    .success();
    assert_eq!(out.stdout.matches("events_user").count(), 2, "{out:?}");
    let out = tarn(dir.path(), &[":memory:", "-c", "\\di nope"]).failure();
    assert!(out.stderr.contains("nope"), "{out:?}");
}

#[test]
fn cache_command_says_why_the_last_query_missed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.csv"), "a\n1\n2\n").unwrap();
    let out = tarn(
        dir.path(),
        &[
            ":memory:",
            "-c",
            "create external table t stored as csv location 't.csv'",
            "-c",
            "select sum(a) from t",
            "-c",
            "cache lazy table t",
            "-c",
            "\\cache",
            "-c",
            "\\cache clear",
        ],
    )
    .success();
    assert!(out.stdout.contains("last_outcome"), "{out:?}");
    assert!(out.stdout.contains("pending_writes"), "the metadata cache is shown too: {out:?}");
    // The cached tables follow, one row each.
    assert!(out.stdout.contains("files_on_disk"), "{out:?}");
    assert!(out.stdout.contains("│ public      │ t "), "{out:?}");
    assert!(out.stdout.contains("Result cache and metadata cache cleared."), "{out:?}");
    let out = tarn(dir.path(), &[":memory:", "-c", "\\cache everything"]).failure();
    assert!(out.stderr.contains("usage: \\cache [clear]"), "{out:?}");
}
