//! The interactive shell: a rustyline editor with SQL completion and
//! highlighting ([`crate::editor`]), a history file, multi-line statements,
//! Ctrl-R history search, emacs or vi key bindings, backslash commands, and
//! Ctrl-C to clear the input or cancel a running query.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustyline::config::Configurer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{ColorMode, CompletionType, Config, Editor};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::completion::NameCache;
use crate::editor::EditorHelper;
use crate::error::{CliError, Result};
use crate::shell::{EditMode, Flow, Origin, Shell};

/// Prompt for a new statement.
pub const PROMPT: &str = "tarn> ";
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

type LineEditor = Editor<EditorHelper, DefaultHistory>;

/// Run the interactive shell until `\q` or Ctrl-D.
pub fn run(shell: &mut Shell, runtime: &Runtime) -> Result<()> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(HISTORY_SIZE)?
        .completion_type(CompletionType::List)
        .edit_mode(rustyline_mode(shell.edit_mode))
        .color_mode(if shell.terminal.color { ColorMode::Enabled } else { ColorMode::Disabled })
        .build();
    let mut editor = LineEditor::with_config(config)?;
    // Handle SIGINT from now on, so Ctrl-C during a query never kills the shell.
    interrupts();
    let names = Arc::new(NameCache::new(shell.engine.clone(), runtime.handle().clone()));
    shell.names = Some(names.clone());
    editor.set_helper(Some(EditorHelper::new(names, shell.terminal.color)));
    let history = history_path();
    if let Some(path) = &history {
        load_history(&mut editor, path);
    }
    println!("Tarn {}: type \\? for help, \\q to quit.", env!("CARGO_PKG_VERSION"));

    let outcome = loop {
        let read = match shell.pending_input.take() {
            Some(text) => editor.readline_with_initial(PROMPT, (&text, "")),
            None => editor.readline(PROMPT),
        };
        let text = match read {
            Ok(text) => text,
            // Ctrl-C: the input is dropped, the shell stays.
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break Ok(()),
            Err(e) => break Err(CliError::from(e)),
        };
        if text.trim().is_empty() {
            continue;
        }
        // Quitting is not worth recalling.
        if !matches!(text.trim(), "\\q" | ".quit" | ".exit") {
            remember(&mut editor, text.trim_end());
        }
        let flow = runtime.block_on(run_cancellable(shell, &text));
        editor.set_edit_mode(rustyline_mode(shell.edit_mode));
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

fn rustyline_mode(mode: EditMode) -> rustyline::EditMode {
    match mode {
        EditMode::Emacs => rustyline::EditMode::Emacs,
        EditMode::Vi => rustyline::EditMode::Vi,
    }
}

/// Run `text` (statements and commands typed at the prompt); Ctrl-C cancels
/// them: the running query is dropped, which stops its tasks and frees its
/// memory.
async fn run_cancellable(shell: &mut Shell, text: &str) -> Result<Flow> {
    let interrupted = interrupts().notified();
    tokio::select! {
        flow = shell.run_script(text, &Origin::Inline) => flow,
        () = interrupted => Err(CliError::Engine(tarn::Error::Cancelled)),
    }
}

/// Notified on every Ctrl-C (SIGINT) that reaches the process (at the
/// prompt the editor reads Ctrl-C as a key instead).
///
/// The signal is awaited on a thread with its own runtime: a query keeps
/// the main runtime's workers busy, and Ctrl-C must get through then.
fn interrupts() -> &'static Notify {
    static INTERRUPTS: OnceLock<Arc<Notify>> = OnceLock::new();
    INTERRUPTS.get_or_init(|| {
        let notify = Arc::new(Notify::new());
        let waiter = notify.clone();
        // The handler is installed before this returns, so that the line
        // editor, which saves and restores the SIGINT handler around each
        // read, restores ours.
        let (installed, ready) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("tarn-signals".into()).spawn(move || {
            let listening = tokio::runtime::Builder::new_current_thread().enable_all().build().and_then(|runtime| {
                let signal = {
                    let _context = runtime.enter();
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?
                };
                Ok((runtime, signal))
            });
            let (runtime, mut signal) = match listening {
                Ok(listening) => listening,
                Err(e) => {
                    let _ = installed.send(());
                    return log::warn!("Ctrl-C cannot cancel queries: {e}");
                }
            };
            let _ = installed.send(());
            runtime.block_on(async {
                while signal.recv().await.is_some() {
                    // Only a query waiting now is cancelled; nothing is kept
                    // for the next one.
                    waiter.notify_waiters();
                }
            });
        });
        match spawned {
            Ok(_) => {
                let _ = ready.recv();
            }
            Err(e) => log::warn!("Ctrl-C cannot cancel queries: {e}"),
        }
        notify
    })
}

/// Add an entry to the history (errors are not worth stopping for).
fn remember(editor: &mut LineEditor, entry: &str) {
    if let Err(e) = editor.add_history_entry(entry) {
        log::debug!("cannot add to history: {e}");
    }
}

/// Load the history file, creating its directory if needed.
fn load_history(editor: &mut LineEditor, path: &std::path::Path) {
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
