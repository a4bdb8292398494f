//! Forking a child that keeps the fork contract of `kernel.md`, and watching it from the parent.
//!
//! [`fork_child`] is the only place in the crate that forks. The child gets its stdout and
//! stderr redirected into pipes, stdin from /dev/null, death with its parent, default signals,
//! a concise panic report, and ends in `_exit`, whatever the body does. The parent gets a
//! [`Child`] whose pipes it drains while it waits.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::relay::{poll_entry, LineRelay, Target};
use crate::sys;

/// A forked child seen from the parent: its pid, the read ends of its output and result pipes,
/// and its exit code once reaped.
#[derive(Debug)]
pub(crate) struct Child {
    pid: i32,
    pidfd: Option<OwnedFd>,
    stdout: LineRelay,
    stderr: LineRelay,
    result: Option<OwnedFd>,
    result_bytes: Vec<u8>,
    exit_code: Option<i32>,
}

/// What the child's body hands to the code that runs in the child.
pub(crate) struct ChildSide<'a> {
    /// Write end of the result pipe: whatever the body writes here reaches [`Child::take_result`].
    pub(crate) result: BorrowedFd<'a>,
}

/// Forks a child that runs `body` and exits with the code it returns.
///
/// `body` runs in the child only, after the child was made safe (see the module docs); a panic
/// escaping it exits with code 1 (Python's code for an uncaught exception) after a one-line report. Never returns in the child.
pub(crate) fn fork_child(name: &str, body: impl FnOnce(ChildSide<'_>) -> i32) -> Result<Child> {
    let (out_r, out_w) = sys::pipe().map_err(|e| Error::start("pipe", e))?;
    let (err_r, err_w) = sys::pipe().map_err(|e| Error::start("pipe", e))?;
    let (res_r, res_w) = sys::pipe().map_err(|e| Error::start("pipe", e))?;
    let parent_pid = sys::getpid();
    sys::warm_up_for_children();
    crate::panic::warm_up_for_children();

    // The child's panic hook goes in before the fork, so the child never has to take std's
    // hook lock, which another thread may hold at the instant of the fork (see ForkHook).
    // Before the stdout/stderr locks: a panicking thread holds the hook lock while it waits for stderr.
    let hook = crate::panic::ForkHook::install(sys::thread_count() == Some(1));

    // Flush and hold std's stdout/stderr locks across the fork (hazards 8 and 11): no buffered
    // partial line is printed twice, and no other thread holds these locks in the child.
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out_lock = stdout.lock();
    let mut err_lock = stderr.lock();
    let _ = out_lock.flush();
    let _ = err_lock.flush();

    // SAFETY: the child branch below only sets itself up, runs the body under catch_unwind and
    // ends in `_exit`; it never returns into the caller (fork's contract, see sys::fork).
    let forked = unsafe { sys::fork() };
    drop(out_lock);
    drop(err_lock);
    match forked.map_err(|e| Error::start("fork", e))? {
        sys::Forked::Child => {
            hook.keep_in_child();
            drop((out_r, err_r, res_r));
            let code = match sys::prepare_child(parent_pid, Some(out_w.as_raw_fd()), Some(err_w.as_raw_fd())) {
                Ok(()) => {
                    drop((out_w, err_w));
                    crate::context::set_identity_in_child(parent_pid, name);
                    let side = ChildSide { result: res_w.as_fd() };
                    crate::panic::catch(|| body(side)).unwrap_or(1)
                }
                Err(_) => 1,
            };
            let _ = io::stdout().flush();
            let _ = io::stderr().flush();
            sys::exit_now(code)
        }
        sys::Forked::Parent { child } => {
            drop(hook);
            drop((out_w, err_w, res_w));
            Child::new(child, out_r, err_r, res_r).map_err(|e| Error::io("setting up the child's pipes", e))
        }
    }
}

impl Child {
    fn new(pid: i32, out: OwnedFd, err: OwnedFd, result: OwnedFd) -> io::Result<Child> {
        sys::set_nonblocking(result.as_fd())?;
        Ok(Child {
            pid,
            pidfd: sys::pidfd_open(pid),
            stdout: LineRelay::new(out, Target::Stdout)?,
            stderr: LineRelay::new(err, Target::Stderr)?,
            result: Some(result),
            result_bytes: Vec::new(),
            exit_code: None,
        })
    }

    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// The exit code, once the child was reaped.
    pub(crate) fn exit_code(&self) -> Option<i32> {
        self.exit_code
    }

    /// Copies whatever the child wrote so far, without waiting, and reaps it if it ended.
    pub(crate) fn poll_now(&mut self) -> Result<Option<i32>> {
        self.wait_until(Some(Instant::now()))
    }

    /// Waits until the child ends or `deadline` passes, relaying its output meanwhile.
    /// Returns the exit code, or `None` at the deadline.
    pub(crate) fn wait_until(&mut self, deadline: Option<Instant>) -> Result<Option<i32>> {
        loop {
            if self.exit_code.is_none() {
                self.exit_code = sys::try_reap(self.pid).map_err(|e| Error::io("waitpid", e).with_pid(self.pid))?;
            }
            if self.exit_code.is_some() {
                // It ended: take what it left in the pipes. A grandchild may still hold them
                // open, so do not wait for end-of-file.
                self.drain_available();
                self.close_pipes();
                return Ok(self.exit_code);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.pump(left)?;
            if left.is_some_and(|l| l.is_zero()) {
                // One last reap so a child that just ended is reported as ended.
                self.exit_code = sys::try_reap(self.pid).map_err(|e| Error::io("waitpid", e).with_pid(self.pid))?;
                if self.exit_code.is_some() {
                    continue;
                }
                return Ok(None);
            }
        }
    }

    /// Reaps the child if it ended, then reads everything it left in its pipes and closes them.
    /// Without waiting; for callers that poll many children themselves.
    pub(crate) fn reap_if_exited(&mut self) {
        if self.exit_code.is_none() {
            match sys::try_reap(self.pid) {
                Ok(code) => self.exit_code = code,
                // Not our child any more (someone else reaped it): treat it as gone.
                Err(_) => self.exit_code = Some(-(libc::SIGKILL)),
            }
            if self.exit_code.is_some() {
                self.drain_available();
                self.close_pipes();
            }
        }
    }

    /// Sleeps until output, a result or the child's exit arrives (at most `limit`), then drains.
    fn pump(&mut self, limit: Option<Duration>) -> Result<()> {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(4);
        self.poll_fds(&mut fds);
        let limit = match &self.pidfd {
            Some(_) => limit,
            // Without a pidfd nothing wakes us at exit: nap briefly and look again.
            None => Some(limit.map_or(Duration::from_millis(5), |l| l.min(Duration::from_millis(5)))),
        };
        if fds.is_empty() {
            std::thread::sleep(limit.unwrap_or(Duration::from_millis(5)));
            return Ok(());
        }
        sys::poll(&mut fds, limit).map_err(|e| Error::io("poll", e).with_pid(self.pid))?;
        self.drain_available();
        Ok(())
    }

    /// Reads everything available now from the output and result pipes, without waiting.
    pub(crate) fn drain_available(&mut self) {
        self.stdout.drain();
        self.stderr.drain();
        if let Some(fd) = &self.result {
            loop {
                match sys::read_append(fd.as_raw_fd(), &mut self.result_bytes, 1 << 20) {
                    Ok(0) => {
                        self.result = None;
                        break;
                    }
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        self.result = None;
                        break;
                    }
                }
            }
        }
    }

    fn close_pipes(&mut self) {
        self.stdout = LineRelay::closed(Target::Stdout);
        self.stderr = LineRelay::closed(Target::Stderr);
        self.result = None;
        self.pidfd = None;
    }

    /// Poll entries for the child's open pipes and its pidfd (readable when it exits).
    pub(crate) fn poll_fds(&self, fds: &mut Vec<libc::pollfd>) {
        fds.extend(poll_entry(&self.stdout));
        fds.extend(poll_entry(&self.stderr));
        for fd in [&self.result, &self.pidfd].into_iter().flatten() {
            fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 });
        }
    }

    /// True if nothing but polling can tell when the child exits (no pidfd on this kernel).
    pub(crate) fn needs_polling(&self) -> bool {
        self.pidfd.is_none() && self.exit_code.is_none()
    }

    /// The result bytes read so far, for callers that parse a stream of frames.
    pub(crate) fn result_buffer(&mut self) -> &mut Vec<u8> {
        &mut self.result_bytes
    }

    /// The bytes the child wrote to its result pipe (complete only once it was reaped).
    pub(crate) fn take_result(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.result_bytes)
    }

    /// Sends a signal unless the child was already reaped.
    pub(crate) fn signal(&mut self, sig: nix::sys::signal::Signal) -> Result<bool> {
        if self.exit_code.is_some() {
            return Ok(false);
        }
        sys::send_signal(self.pid, sig).map_err(|e| Error::io("kill", e).with_pid(self.pid))?;
        Ok(true)
    }

    /// Ends the child for good: SIGTERM, a short grace period, then SIGKILL; reaps it and
    /// relays what it printed. Used by Drop, so it never fails.
    pub(crate) fn shut_down(&mut self, grace: Duration) {
        if self.exit_code.is_some() {
            return;
        }
        let _ = self.signal(nix::sys::signal::Signal::SIGTERM);
        if let Ok(Some(_)) = self.wait_until(Some(Instant::now() + grace)) {
            return;
        }
        let _ = self.signal(nix::sys::signal::Signal::SIGKILL);
        if self.wait_until(None).is_err() {
            // waitpid itself failed (someone else reaped our pid): nothing left to wait for.
            self.exit_code = Some(-9);
        }
    }
}
