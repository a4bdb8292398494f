//! Carries a child's stdout or stderr to the parent's, one whole line at a time.
//!
//! In a notebook the parent's stdout is a line protocol to the kernel (see `kernel.md`): a torn
//! line, invalid UTF-8 or a line starting with `EVCXR_` would break every later cell. So children
//! never write to it directly. Each child writes into a pipe and the parent copies complete lines
//! across while it waits for the child (`join`, `is_alive`, a pool call). Output therefore shows
//! in the cell that waits for the process, never behind the user's back in a later one.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// What every evcxr control line contains (`EVCXR_EXECUTION_COMPLETE`, `EVCXR_BEGIN_CONTENT`, ...).
const CONTROL_MARKER: &str = "EVCXR_";
/// The same text with a zero-width space inside, which the kernel does not match.
const DEFUSED_MARKER: &str = "EVCXR\u{200B}_";

/// How much one read takes from a child's stream.
const READ_CHUNK: usize = 8 * 1024;

/// Lines longer than this are passed on in pieces, so one runaway line cannot eat memory.
const MAX_LINE: usize = 64 * 1024;

/// Which of the parent's streams a relay writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Stdout,
    Stderr,
}

/// The read end of one child stream, plus the partial line read so far.
#[derive(Debug)]
pub(crate) struct LineRelay {
    fd: Option<OwnedFd>,
    pending: Vec<u8>,
    target: Target,
}

impl LineRelay {
    /// Wraps a pipe's read end; it is switched to non-blocking so draining never stalls.
    pub(crate) fn new(fd: OwnedFd, target: Target) -> io::Result<LineRelay> {
        crate::sys::set_nonblocking(fd.as_fd())?;
        Ok(LineRelay { fd: Some(fd), pending: Vec::new(), target })
    }

    /// A relay with nothing left to read.
    pub(crate) fn closed(target: Target) -> LineRelay {
        LineRelay { fd: None, pending: Vec::new(), target }
    }

    /// The fd to poll, or None once the child closed its end.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(|fd| fd.as_fd())
    }

    /// Reads what is available now and writes out every complete line. At end-of-file the last
    /// partial line is finished with a newline and the fd is closed.
    pub(crate) fn drain(&mut self) {
        let Some(fd) = &self.fd else { return };
        let raw = fd.as_raw_fd();
        let mut eof = false;
        loop {
            match crate::sys::read_append(raw, &mut self.pending, READ_CHUNK) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(_) => self.emit_complete_lines(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => {
                    eof = true;
                    break;
                }
            }
        }
        if eof {
            if !self.pending.is_empty() {
                let rest = std::mem::take(&mut self.pending);
                self.emit(&rest);
            }
            self.fd = None;
        }
    }

    fn emit_complete_lines(&mut self) {
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos;
            let line = self.pending[start..end].to_vec();
            self.emit(&line);
            start = end + 1;
        }
        self.pending.drain(..start);
        if self.pending.len() >= MAX_LINE {
            let chunk = std::mem::take(&mut self.pending);
            self.emit(&chunk);
        }
    }

    /// Writes one line (without its newline) as valid UTF-8, defused if it looks like a kernel
    /// control line, and flushes so lines from parent and children interleave in arrival order.
    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        // evcxr matches its control markers anywhere in a line (`EVCXR_BEGIN_CONTENT <mime>` is
        // an unanchored regex), so every occurrence is broken with a zero-width space after
        // "EVCXR": the text stays readable and the kernel no longer recognises it.
        let mut out = text.replace(CONTROL_MARKER, DEFUSED_MARKER);
        out.push('\n');
        // Errors writing to our own stdout/stderr cannot be reported anywhere better.
        let _ = match self.target {
            Target::Stdout => write_flush(&mut io::stdout().lock(), &out),
            Target::Stderr => write_flush(&mut io::stderr().lock(), &out),
        };
    }
}

impl Drop for LineRelay {
    /// Passes on a partial last line, finished with a newline. End-of-file does that while the
    /// child's pipe is read to its end; a relay dropped before (its child ended but a grandchild
    /// still holds the pipe open, and nobody waits for that) would otherwise lose the line.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.emit(&rest);
        }
    }
}

fn write_flush(w: &mut impl Write, text: &str) -> io::Result<()> {
    w.write_all(text.as_bytes())?;
    w.flush()
}

/// Adds `relay`'s fd to a poll set, if it is still open.
pub(crate) fn poll_entry(relay: &LineRelay) -> Option<libc::pollfd> {
    relay.fd().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 })
}
