//! [`Shell`]: an engine plus output settings, running SQL text statement by
//! statement, and [`StatementBuffer`], which cuts a stream of lines into
//! statements and backslash commands (for scripts and the REPL alike).

use std::io::Write;
use std::time::Instant;

use tarn::Engine;
use tarn::statement::{is_complete, split_statements};

use crate::error::{CliError, Result};
use crate::meta::{self, MetaAction};
use crate::output::{self, OutputSettings};

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

/// An engine and the settings the shell prints results with.
#[derive(Debug)]
pub struct Shell {
    /// The engine statements run on.
    pub engine: Engine,
    /// How results are printed (changed by `\format`, `\timing`).
    pub output: OutputSettings,
}

impl Shell {
    /// A shell over `engine`.
    pub fn new(engine: Engine, output: OutputSettings) -> Self {
        Shell { engine, output }
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
    /// run its statements in order, printing each result to standard output.
    pub async fn run_sql(&mut self, text: &str, first_line: u64, origin: &Origin) -> Result<Flow> {
        let statements = self.engine.parse(text).map_err(|e| locate(e, first_line, None, origin))?;
        for statement in statements {
            let line = statement.line + first_line - 1;
            let column = statement.column;
            let started = Instant::now();
            let result = self.engine.execute(statement).await.map_err(|e| locate(e, line, Some(column), origin))?;
            let mut out = std::io::stdout().lock();
            output::print_result(result, &self.output, started, &mut out).await.map_err(|e| match e {
                CliError::Engine(e) => locate(e, line, Some(column), origin),
                other => other,
            })?;
        }
        Ok(Flow::Continue)
    }

    /// Run one backslash command line (`\d lineitem`).
    pub async fn run_meta(&mut self, line: &str) -> Result<Flow> {
        let mut out = std::io::stdout().lock();
        let action = meta::run(self, line, &mut out).await?;
        out.flush()?;
        Ok(match action {
            MetaAction::Continue => Flow::Continue,
            MetaAction::Quit => Flow::Quit,
        })
    }
}

/// Give an engine error its position in the source.
///
/// Syntax errors carry a line relative to the text that was parsed, shifted
/// here by `first_line`; other errors get the statement's position
/// (`statement`) when they come from a file.
fn locate(error: tarn::Error, first_line: u64, statement: Option<u64>, origin: &Origin) -> CliError {
    let error = match error {
        tarn::Error::Syntax { message, line: Some(line), column } if statement.is_none() => {
            tarn::Error::Syntax { message, line: Some(line + first_line - 1), column }
        }
        other => other,
    };
    let Origin::File(file) = origin else {
        return CliError::Engine(error);
    };
    let (line, column) = match (&error, statement) {
        (tarn::Error::Syntax { line: Some(line), column, .. }, None) => (*line, column.unwrap_or(1)),
        (_, Some(column)) => (first_line, column),
        (_, None) => (first_line, 1),
    };
    CliError::Script { file: file.clone(), line, column, source: Box::new(error) }
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
/// A line starting with `\` when no statement is under way is a backslash
/// command; anything else accumulates until
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
            if line.trim_start().starts_with('\\') {
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
