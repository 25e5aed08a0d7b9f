//! [`PagedWriter`]: output for the screen that goes through a pager only
//! when it turns out taller than the screen.
//!
//! Output is held back until it has more lines than the screen; then the
//! pager (`$PAGER`, else `less -SRFX`) starts, gets what was held back and
//! the rest as it comes. Output that fits is written to standard output
//! when it ends. Memory stays bounded: at most a screenful is held.

use std::io::{self, Write};
use std::process::{Child, Command, Stdio};

/// The pager used when `$PAGER` is not set: keep long lines unwrapped
/// (`-S`), pass colors (`-R`), quit when the text fits (`-F`), leave it on
/// the screen afterwards (`-X`).
pub const DEFAULT_PAGER: &str = "less -SRFX";

/// A writer that pages what is taller than `height` lines.
pub struct PagedWriter {
    held: Vec<u8>,
    lines: usize,
    height: usize,
    command: String,
    child: Option<Child>,
    /// The pager was quit before the output ended.
    closed: bool,
    /// The pager could not start: write straight to standard output.
    direct: bool,
}

impl PagedWriter {
    /// Page through `command` (a shell command line) output taller than
    /// `height` lines.
    pub fn new(command: String, height: usize) -> Self {
        PagedWriter { held: Vec::new(), lines: 0, height, command, child: None, closed: false, direct: false }
    }

    /// The pager command from the environment: `$PAGER`, else
    /// [`DEFAULT_PAGER`].
    pub fn command_from_env() -> String {
        match std::env::var("PAGER") {
            Ok(pager) if !pager.trim().is_empty() => pager,
            _ => DEFAULT_PAGER.to_string(),
        }
    }

    /// Whether the reader quit the pager before the output ended (the
    /// write error that stopped the output is then no failure).
    pub fn closed(&self) -> bool {
        self.closed
    }

    /// End the output: write what is held back, or wait for the pager to
    /// be quit.
    pub fn finish(mut self) -> io::Result<()> {
        match self.child.take() {
            Some(mut child) => {
                drop(child.stdin.take());
                child.wait()?;
                Ok(())
            }
            None => {
                let mut out = io::stdout().lock();
                out.write_all(&self.held)?;
                out.flush()
            }
        }
    }

    /// Start the pager and hand it what was held back.
    fn start_pager(&mut self) -> io::Result<()> {
        let spawned = Command::new("sh").arg("-c").arg(&self.command).stdin(Stdio::piped()).spawn();
        match spawned {
            Ok(child) => {
                self.child = Some(child);
                let held = std::mem::take(&mut self.held);
                self.write_to_pager(&held)
            }
            Err(e) => {
                log::warn!("cannot start the pager '{}': {e}", self.command);
                self.direct = true;
                let mut out = io::stdout().lock();
                out.write_all(&std::mem::take(&mut self.held))
            }
        }
    }

    fn write_to_pager(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(stdin) = self.child.as_mut().and_then(|c| c.stdin.as_mut()) else {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the pager has ended"));
        };
        stdin.write_all(buf).inspect_err(|e| {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.closed = true;
            }
        })
    }
}

impl Write for PagedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.direct {
            return io::stdout().lock().write(buf);
        }
        if self.child.is_some() {
            self.write_to_pager(buf)?;
            return Ok(buf.len());
        }
        self.held.extend_from_slice(buf);
        self.lines += buf.iter().filter(|b| **b == b'\n').count();
        if self.lines >= self.height {
            self.start_pager()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        match (&mut self.child, self.direct) {
            (Some(child), _) => {
                let result = child.stdin.as_mut().map_or(Ok(()), |s| s.flush());
                if result.as_ref().is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
                    self.closed = true;
                }
                result
            }
            (None, true) => io::stdout().lock().flush(),
            (None, false) => Ok(()),
        }
    }
}
