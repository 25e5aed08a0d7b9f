//! [`CliError`]: every way the shell fails, and the exit code each one maps to.

use std::io;
use std::path::PathBuf;

use datafusion::arrow::error::ArrowError;

/// Exit code of a failed run (a statement, a file, the terminal...).
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a command-line usage error (clap's own code).
pub const EXIT_USAGE: u8 = 2;

/// Result type of the shell.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

/// Everything that can go wrong in the shell.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A statement failed (or did not parse).
    #[error(transparent)]
    Engine(#[from] tarn::Error),

    /// A statement of a script file failed: the error with the file name
    /// and the statement's (or, for syntax errors, the error's) position.
    #[error("{}", script_message(file, *line, *column, source))]
    Script {
        /// The script file, as given on the command line.
        file: String,
        /// 1-based line in the file.
        line: u64,
        /// 1-based column in that line.
        column: u64,
        /// What failed.
        source: Box<tarn::Error>,
    },

    /// A script file could not be read.
    #[error("cannot read '{}': {source}", path.display())]
    ReadScript {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A file the shell writes (`\\o FILE`, the `\\e` buffer, a `tarn bench`
    /// report) could not be written.
    #[error("cannot write '{}': {source}", path.display())]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// The editor of `\\e` could not be started.
    #[error("cannot start the editor '{editor}': {source}")]
    Editor {
        /// The editor command (`$VISUAL`, `$EDITOR` or `vi`).
        editor: String,
        /// The operating system's error.
        source: io::Error,
    },

    /// An error in a statement, with the statement's line and a `^` under
    /// the position the error is at.
    #[error("{source}\n{snippet}")]
    Marked {
        /// The error.
        source: Box<CliError>,
        /// The line and its mark.
        snippet: String,
    },

    /// Results could not be written to standard output.
    #[error("cannot write output: {0}")]
    Output(io::Error),

    /// A result could not be formatted.
    #[error("cannot format result: {0}")]
    Format(ArrowError),

    /// The line editor (terminal) failed.
    #[error("terminal: {0}")]
    Terminal(#[from] rustyline::error::ReadlineError),

    /// The async runtime could not be started.
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),

    /// An unknown backslash (or dot) command, as typed.
    #[error("unknown command '{0}'; type \\? for the list of commands")]
    UnknownMeta(String),

    /// `tarn demo` cannot use the catalog it was given.
    #[error("{0}")]
    Demo(String),

    /// `tarn bench` cannot run as asked, or a query of it failed.
    #[error("{0}")]
    Bench(String),

    /// A backslash command was used wrongly.
    #[error("{0}")]
    MetaUsage(String),
}

fn script_message(file: &str, line: u64, column: u64, source: &tarn::Error) -> String {
    match source {
        tarn::Error::Syntax { message, .. } => {
            format!("{file}:{line}:{column}: syntax error: {message}")
        }
        other => format!("{file}:{line}:{column}: {other}"),
    }
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        if self.is_broken_pipe() {
            // The reader of our output went away (`tarn ... | head`): not a failure.
            0
        } else {
            EXIT_FAILURE
        }
    }

    /// Whether the error is worth printing (a closed output pipe is not).
    pub fn should_report(&self) -> bool {
        !self.is_broken_pipe()
    }

    /// Whether standard output was closed by its reader.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            CliError::Output(e) => e.kind() == io::ErrorKind::BrokenPipe,
            CliError::Format(ArrowError::IoError(_, e)) => e.kind() == io::ErrorKind::BrokenPipe,
            CliError::Marked { source, .. } => source.is_broken_pipe(),
            _ => false,
        }
    }

    /// An error writing results: I/O errors (a closed pipe) stay
    /// recognisable, others are formatting errors.
    pub fn from_arrow(e: ArrowError) -> CliError {
        match e {
            ArrowError::IoError(_, io) => CliError::Output(io),
            other => CliError::Format(other),
        }
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Output(e)
    }
}
