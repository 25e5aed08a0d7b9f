//! [`Shell`]: an engine plus the shell's settings, running SQL text
//! statement by statement and printing results (to the screen, through the
//! pager, or to the `\o` file) with a progress line for slow statements;
//! and [`StatementBuffer`], which cuts a stream of lines into statements and
//! backslash commands (for scripts and the REPL alike).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tarn::Engine;
use tarn::statement::{is_complete, split_statements};

use crate::completion::NameCache;
use crate::error::{CliError, Result};
use crate::meta::{self, MetaAction};
use crate::output::{self, OutputSettings};
use crate::pager::PagedWriter;
use crate::progress::{ProgressLine, ProgressMode};

/// Where SQL text comes from; decides how errors name their position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `-c`, standard input or the REPL: errors as the engine words them.
    Inline,
    /// A script file: errors prefixed with `file:line:column:`.
    File(String),
}

/// What to do after a statement or command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on with the next one.
    Continue,
    /// Stop: `\q` was given.
    Quit,
}

/// Key bindings of the line editor (`\editmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EditMode {
    /// Emacs-style bindings (the default).
    #[default]
    Emacs,
    /// Vi-style bindings.
    Vi,
}

impl EditMode {
    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            EditMode::Emacs => "emacs",
            EditMode::Vi => "vi",
        }
    }

    /// The mode called `name`.
    pub fn from_name(name: &str) -> Option<EditMode> {
        [EditMode::Emacs, EditMode::Vi].into_iter().find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// What the shell's standard streams are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Terminal {
    /// Standard output is a terminal.
    pub stdout: bool,
    /// Standard error is a terminal.
    pub stderr: bool,
    /// Colors are wanted: standard output is a terminal and `NO_COLOR` is
    /// not set.
    pub color: bool,
}

impl Terminal {
    /// The streams of this process.
    pub fn detect() -> Terminal {
        use std::io::IsTerminal;
        let stdout = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Terminal { stdout, stderr: std::io::stderr().is_terminal(), color: stdout && !no_color }
    }
}

/// An engine and the shell's settings.
#[derive(Debug)]
pub struct Shell {
    /// The engine statements run on.
    pub engine: Engine,
    /// How results are printed (changed by `\format`, `\timing`, `\x`, ...).
    pub output: OutputSettings,
    /// What standard output and error are.
    pub terminal: Terminal,
    /// Page output taller than the screen (`\pager`; interactive only).
    pub pager: bool,
    /// When the progress line shows (`--progress`, `\progress`).
    pub progress: ProgressMode,
    /// Line-editor key bindings (`\editmode`).
    pub edit_mode: EditMode,
    /// Text for the next prompt to start with (`\e`).
    pub pending_input: Option<String>,
    /// Names for completion, reloaded after each statement.
    pub names: Option<Arc<NameCache>>,
    /// How deep `\i` files are nested now.
    pub include_depth: usize,
    /// The last SQL statement run (for `\e`).
    last_statement: Option<String>,
    /// The `\o` file, if results go to one.
    output_file: Option<(PathBuf, BufWriter<File>)>,
}

impl Shell {
    /// A shell over `engine`.
    pub fn new(engine: Engine, output: OutputSettings, terminal: Terminal) -> Self {
        Shell {
            engine,
            output,
            terminal,
            pager: true,
            progress: ProgressMode::Auto,
            edit_mode: EditMode::Emacs,
            pending_input: None,
            names: None,
            include_depth: 0,
            last_statement: None,
            output_file: None,
        }
    }

    /// Run a whole script: statements and backslash commands, in order,
    /// stopping at the first error (or at `\q`).
    pub async fn run_script(&mut self, text: &str, origin: &Origin) -> Result<Flow> {
        self.run_lines(text.lines().map(|l| Ok(l.to_string())), origin).await
    }

    /// Run a script given line by line: each statement runs as soon as its
    /// `;` is read; stops at the first error (or at `\q`).
    pub async fn run_lines(&mut self, lines: impl Iterator<Item = Result<String>>, origin: &Origin) -> Result<Flow> {
        let mut buffer = StatementBuffer::default();
        for line in lines {
            let flow = match buffer.push_line(&line?) {
                Pending::Meta(command) => self.run_meta(&command).await?,
                Pending::Sql { text, first_line } => self.run_sql(&text, first_line, origin).await?,
                Pending::More => Flow::Continue,
            };
            if flow == Flow::Quit {
                return Ok(Flow::Quit);
            }
        }
        if let Some((text, first_line)) = buffer.take() {
            // The last statement may lack its `;`.
            return self.run_sql(&text, first_line, origin).await;
        }
        Ok(Flow::Continue)
    }

    /// Parse `text` (which starts at line `first_line` of its source) and
    /// run its statements in order, printing each result.
    pub async fn run_sql(&mut self, text: &str, first_line: u64, origin: &Origin) -> Result<Flow> {
        let statements = self.engine.parse(text).map_err(|e| locate(e, text, first_line, None, origin))?;
        for statement in statements {
            let line = statement.line + first_line - 1;
            let column = statement.column;
            self.last_statement = Some(format!("{};", statement.text.trim()));
            let started = Instant::now();
            let progress = self.progress_enabled().then(|| ProgressLine::start(&self.engine, started));
            let result = self.engine.execute(statement).await;
            if let Some(names) = &self.names {
                names.invalidate();
            }
            let result = result.map_err(|e| locate(e, text, line, Some(column), origin))?;
            if let Some(progress) = &progress {
                progress.set_plan(result.physical_plan());
            }
            let settings = OutputSettings { width: self.screen_size().map(|(w, _)| w), ..self.output.clone() };
            let mut stop_progress = || {
                if let Some(progress) = &progress {
                    progress.stop();
                }
            };
            let printed = self
                .emit(async |out: &mut dyn Write| {
                    output::print_result_with(result, &settings, started, out, &mut stop_progress).await.map(|_| ())
                })
                .await;
            printed.map_err(|e| match e {
                CliError::Engine(e) => locate(e, text, line, Some(column), origin),
                other => other,
            })?;
        }
        Ok(Flow::Continue)
    }

    /// Run one backslash command line (`\d lineitem`).
    pub async fn run_meta(&mut self, line: &str) -> Result<Flow> {
        let mut out = Vec::new();
        let action = meta::run(self, line, &mut out).await;
        // What the command printed before it failed still shows.
        self.emit(async |w: &mut dyn Write| Ok(w.write_all(&out)?)).await?;
        Ok(match action? {
            MetaAction::Continue => Flow::Continue,
            MetaAction::Quit => Flow::Quit,
        })
    }

    /// Write output with `write`: to the `\o` file, through the pager when
    /// the shell is interactive and the output taller than the screen, or
    /// to standard output.
    async fn emit(&mut self, write: impl AsyncFnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
        if let Some((path, file)) = &mut self.output_file {
            let path = path.clone();
            write(file).await?;
            return file.flush().map_err(|source| CliError::WriteFile { path, source });
        }
        let height = self.screen_size().map(|(_, h)| h);
        match height {
            Some(height) if self.output.interactive && self.pager => {
                let mut paged = PagedWriter::new(PagedWriter::command_from_env(), height.saturating_sub(1).max(1));
                let result = write(&mut paged).await;
                if paged.closed() {
                    // The reader quit the pager: the rest is not wanted.
                    return paged.finish().map_err(CliError::Output);
                }
                paged.finish()?;
                result
            }
            _ => {
                let mut out = std::io::stdout().lock();
                write(&mut out).await?;
                Ok(out.flush()?)
            }
        }
    }

    /// The screen's width and height when output goes to it.
    fn screen_size(&self) -> Option<(usize, usize)> {
        if !self.terminal.stdout || self.output_file.is_some() {
            return None;
        }
        terminal_size::terminal_size().map(|(w, h)| (w.0 as usize, h.0 as usize))
    }

    /// Whether statements get a progress line.
    fn progress_enabled(&self) -> bool {
        match self.progress {
            ProgressMode::On => true,
            ProgressMode::Off => false,
            ProgressMode::Auto => self.terminal.stderr && self.terminal.stdout,
        }
    }

    /// Send results to `path` (created or truncated), or back to the
    /// screen with `None`.
    pub fn set_output_file(&mut self, path: Option<PathBuf>) -> Result<()> {
        if let Some((old, mut file)) = self.output_file.take() {
            file.flush().map_err(|source| CliError::WriteFile { path: old, source })?;
        }
        if let Some(path) = path {
            let file = File::create(&path).map_err(|source| CliError::WriteFile { path: path.clone(), source })?;
            self.output_file = Some((path, BufWriter::new(file)));
        }
        Ok(())
    }

    /// `\e`: open the last statement in the user's editor; what is saved
    /// comes back as the next prompt's text.
    pub fn edit_last_statement(&mut self) -> Result<()> {
        if !self.output.interactive {
            return Err(CliError::MetaUsage("\\e needs the interactive shell".into()));
        }
        let mut file = tempfile::Builder::new()
            .suffix(".sql")
            .tempfile()
            .map_err(|source| CliError::WriteFile { path: std::env::temp_dir(), source })?;
        let path = file.path().to_path_buf();
        let text = self.last_statement.clone().unwrap_or_default();
        file.write_all(format!("{text}\n").as_bytes())
            .map_err(|source| CliError::WriteFile { path: path.clone(), source })?;
        let editor = ["VISUAL", "EDITOR"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
            .unwrap_or_else(|| "vi".to_string());
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("tarn-edit")
            .arg(&path)
            .status()
            .map_err(|source| CliError::Editor { editor: editor.clone(), source })?;
        if !status.success() {
            return Err(CliError::MetaUsage(format!("the editor '{editor}' failed ({status}); nothing changed")));
        }
        let edited =
            std::fs::read_to_string(&path).map_err(|source| CliError::ReadScript { path: path.clone(), source })?;
        let edited = edited.trim_end().to_string();
        self.pending_input = (!edited.is_empty()).then_some(edited);
        Ok(())
    }
}

/// Give an engine error its position in the source, and mark a syntax
/// error's position under the line of `text` it is in.
///
/// Syntax errors carry a line relative to `text`, shifted here to the source
/// by `first_line`; other errors get the statement's position
/// (`statement`) when they come from a file.
fn locate(error: tarn::Error, text: &str, first_line: u64, statement: Option<u64>, origin: &Origin) -> CliError {
    let mut marked = None;
    let error = match error {
        tarn::Error::Syntax { message, line: Some(line), column } if statement.is_none() => {
            marked = column.and_then(|column| mark_position(text, line, column));
            tarn::Error::Syntax { message, line: Some(line + first_line - 1), column }
        }
        other => other,
    };
    let located = match origin {
        Origin::Inline => CliError::Engine(error),
        Origin::File(file) => {
            let (line, column) = match (&error, statement) {
                (tarn::Error::Syntax { line: Some(line), column, .. }, None) => (*line, column.unwrap_or(1)),
                (_, Some(column)) => (first_line, column),
                (_, None) => (first_line, 1),
            };
            CliError::Script { file: file.clone(), line, column, source: Box::new(error) }
        }
    };
    match marked {
        Some(snippet) => CliError::Marked { source: Box::new(located), snippet },
        None => located,
    }
}

/// Line `line` of `text` (1-based) with a `^` under character `column`.
fn mark_position(text: &str, line: u64, column: u64) -> Option<String> {
    let source_line = text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)?;
    let column = usize::try_from(column).ok()?.max(1);
    let before: String = source_line.chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    Some(format!("  {source_line}\n  {before}^"))
}

/// Whether `line`, between statements, is a backslash command (`\\d`) or
/// a DuckDB-style dot command (`.tables`): no SQL statement starts so.
fn is_command_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with('\\') || (line.starts_with('.') && line[1..].starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// What [`StatementBuffer::push_line`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// A backslash command line, to run now.
    Meta(String),
    /// One or more complete statements (ending with `;`), to run now;
    /// `first_line` is the 1-based line of the source where the text starts.
    Sql {
        /// The SQL text.
        text: String,
        /// Where the text starts in its source.
        first_line: u64,
    },
    /// The statement goes on: read another line.
    More,
}

/// Collects lines until they form complete statements.
///
/// A line starting with `\` (or `.` and a letter) when no statement is
/// under way is a backslash command; anything else accumulates until
/// [`tarn::statement::is_complete`] says the text ends with a `;` outside
/// quotes and comments.
#[derive(Debug, Default)]
pub struct StatementBuffer {
    text: String,
    /// 1-based line number of the source line read last.
    lines_read: u64,
    /// Line at which `text` starts.
    first_line: u64,
}

impl StatementBuffer {
    /// Add one line of input (without its newline).
    pub fn push_line(&mut self, line: &str) -> Pending {
        self.lines_read += 1;
        if self.is_blank() {
            if is_command_line(line) {
                self.text.clear();
                return Pending::Meta(line.trim().to_string());
            }
            if line.trim().is_empty() {
                self.text.clear();
                return Pending::More;
            }
            if self.text.is_empty() {
                self.first_line = self.lines_read;
            }
        }
        self.text.push_str(line);
        self.text.push('\n');
        if is_complete(&self.text) {
            let text = std::mem::take(&mut self.text);
            return Pending::Sql { text, first_line: self.first_line };
        }
        Pending::More
    }

    /// Whether nothing but whitespace and comments is buffered.
    pub fn is_blank(&self) -> bool {
        self.text.trim().is_empty() || split_statements(&self.text).is_ok_and(|s| s.is_empty())
    }

    /// Whether nothing at all is buffered (the REPL's prompt choice).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Forget the buffered text (Ctrl-C in the REPL).
    pub fn clear(&mut self) {
        self.text.clear();
    }

    /// Take what is left: an unfinished last statement, if any, with its
    /// first line.
    pub fn take(&mut self) -> Option<(String, u64)> {
        let blank = self.is_blank();
        let text = std::mem::take(&mut self.text);
        (!blank).then_some((text, self.first_line))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statements_span_lines() {
        let mut b = StatementBuffer::default();
        assert_eq!(b.push_line(""), Pending::More);
        assert_eq!(b.push_line("select 1 +"), Pending::More);
        assert_eq!(b.push_line("41;"), Pending::Sql { text: "select 1 +\n41;\n".into(), first_line: 2 });
        assert!(b.is_empty());
    }

    #[test]
    fn backslash_lines_only_between_statements() {
        let mut b = StatementBuffer::default();
        assert_eq!(b.push_line(" \\d t"), Pending::Meta("\\d t".into()));
        assert_eq!(b.push_line("select '"), Pending::More);
        assert_eq!(b.push_line("\\d"), Pending::More);
        assert!(matches!(b.push_line("';"), Pending::Sql { .. }));
        assert_eq!(b.push_line(".mode csv"), Pending::Meta(".mode csv".into()));
        assert_eq!(b.push_line(".5 + 1;"), Pending::Sql { text: ".5 + 1;\n".into(), first_line: 6 });
    }

    #[test]
    fn syntax_errors_are_marked() {
        assert_eq!(mark_position("select 1;\nselect * frm t", 2, 10).unwrap(), "  select * frm t\n           ^");
        assert_eq!(mark_position("x", 3, 1), None);
    }

    #[test]
    fn comments_alone_are_blank() {
        let mut b = StatementBuffer::default();
        assert_eq!(b.push_line("-- a comment"), Pending::More);
        assert_eq!(b.push_line("\\q"), Pending::Meta("\\q".into()));
        assert_eq!(b.push_line("-- another"), Pending::More);
        assert_eq!(b.take(), None);
        assert_eq!(b.push_line("select 1"), Pending::More);
        assert_eq!(b.take(), Some(("select 1\n".into(), 4)));
    }
}
