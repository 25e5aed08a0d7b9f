//! The interactive shell: a rustyline editor with a history file, multi-line
//! statements, backslash commands, and Ctrl-C to clear the input or cancel
//! a running query.

use std::path::PathBuf;

use rustyline::error::ReadlineError;
use rustyline::{Config, DefaultEditor};
use tokio::runtime::Runtime;

use crate::error::{CliError, Result};
use crate::shell::{Flow, Origin, Pending, Shell, StatementBuffer};

/// Prompt for a new statement.
pub const PROMPT: &str = "tarn> ";
/// Prompt for the next line of an unfinished statement.
pub const CONTINUATION_PROMPT: &str = "  ...> ";
/// Environment variable naming the history file.
pub const HISTORY_ENV: &str = "TARN_HISTORY";
/// Entries kept in the history file.
const HISTORY_SIZE: usize = 10_000;

/// The history file: `$TARN_HISTORY` if set (empty: no history), else
/// `<data dir>/tarn/history` (e.g. `~/.local/share/tarn/history` on Linux).
pub fn history_path() -> Option<PathBuf> {
    match std::env::var_os(HISTORY_ENV) {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::data_dir().map(|dir| dir.join("tarn").join("history")),
    }
}

/// Run the interactive shell until `\q` or Ctrl-D.
pub fn run(shell: &mut Shell, runtime: &Runtime) -> Result<()> {
    let config =
        Config::builder().auto_add_history(false).history_ignore_space(true).max_history_size(HISTORY_SIZE)?.build();
    let mut editor = DefaultEditor::with_config(config)?;
    let history = history_path();
    if let Some(path) = &history {
        load_history(&mut editor, path);
    }
    println!("Tarn {}: type \\? for help, \\q to quit.", env!("CARGO_PKG_VERSION"));

    let mut buffer = StatementBuffer::default();
    let outcome = loop {
        let prompt = if buffer.is_empty() { PROMPT } else { CONTINUATION_PROMPT };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                // Ctrl-C: drop the statement being typed, stay in the shell.
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break Ok(()),
            Err(e) => break Err(CliError::from(e)),
        };
        let flow = match buffer.push_line(&line) {
            Pending::More => Ok(Flow::Continue),
            Pending::Meta(command) => {
                remember(&mut editor, &command);
                runtime.block_on(shell.run_meta(&command))
            }
            Pending::Sql { text, .. } => {
                remember(&mut editor, text.trim_end());
                runtime.block_on(run_cancellable(shell, &text))
            }
        };
        match flow {
            Ok(Flow::Continue) => {}
            Ok(Flow::Quit) => break Ok(()),
            Err(e) if e.is_broken_pipe() => break Err(e),
            Err(e) => eprintln!("Error: {e}\n"),
        }
    };
    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        log::warn!("cannot save history to '{}': {e}", path.display());
    }
    outcome
}

/// Run `text` (statements typed at the prompt); Ctrl-C cancels them.
async fn run_cancellable(shell: &mut Shell, text: &str) -> Result<Flow> {
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling: the query just cannot be interrupted.
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        flow = shell.run_sql(text, 1, &Origin::Inline) => flow,
        () = interrupted => Err(CliError::Engine(tarn::Error::Cancelled)),
    }
}

/// Add an entry to the history (errors are not worth stopping for).
fn remember(editor: &mut DefaultEditor, entry: &str) {
    if let Err(e) = editor.add_history_entry(entry) {
        log::debug!("cannot add to history: {e}");
    }
}

/// Load the history file, creating its directory if needed.
fn load_history(editor: &mut DefaultEditor, path: &std::path::Path) {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        log::warn!("cannot create history directory '{}': {e}", dir.display());
    }
    match editor.load_history(path) {
        Ok(()) => {}
        Err(ReadlineError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => log::warn!("cannot read history from '{}': {e}", path.display()),
    }
}
