//! `Process`: Python's `multiprocessing.Process` for a Rust closure, and `spawn`, its shorthand.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde::{de::DeserializeOwned, Serialize};

use crate::child::{fork_child, Child};
use crate::error::{Error, Result};
use crate::wire::Outcome;

/// How long Drop waits after SIGTERM before it sends SIGKILL.
const DROP_GRACE: Duration = Duration::from_millis(200);

/// A process that runs a closure in a forked copy of this one and sends its return value back.
///
/// Like Python's `multiprocessing.Process`: create it, [`start`](Process::start) it,
/// [`join`](Process::join) it. The closure may capture anything (the child gets its own copy of
/// the parent's memory); its return value crosses back with serde.
///
/// The child's stdout and stderr reach the parent's as whole lines while the parent waits on the
/// process (`join`, `join_timeout`, `is_alive`, `exitcode`, and Drop). Output the child writes
/// while nobody waits stays in its pipe and appears at the next wait; so in a notebook it shows
/// in the cell that joins the process. A child that writes more than a pipe holds (64 KiB)
/// while nobody waits pauses until someone does.
///
/// **Drop:** a started process that was not joined is terminated (SIGTERM, then SIGKILL after
/// 200 ms), reaped, and its remaining output relayed. Dropping never leaves a zombie or an orphan.
/// Only the process that called `start` does this: a copy of the object in a forked child (one
/// whose closure captured it) leaves the process alone, and using it there is an
/// [`InvalidState`](crate::ErrorKind::InvalidState) error.
///
/// ```
/// use multiproc::Process;
/// let greeting = String::from("Hello");
/// let mut p = Process::new(move || format!("{greeting}, Alice!"));
/// p.start()?;
/// assert_eq!(p.join()?, "Hello, Alice!");
/// assert_eq!(p.exitcode(), Some(0));
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Process<R = ()> {
    name: String,
    state: State<R>,
    /// The pid of the process that called `start`: only it can wait for, signal or reap the
    /// child. A forked child holds a copy of this object too, which must leave the child alone.
    started_by: i32,
    _result: PhantomData<fn() -> R>,
}

enum State<R> {
    /// Created, holding the closure until `start`.
    New(Box<dyn FnOnce() -> R>),
    Started(Child),
    /// Joined: the result was handed out; only the exit code is left.
    Joined { pid: i32, exit_code: i32 },
    Closed,
    /// Transient, while `start` runs.
    Empty,
}

impl Process {
    /// A builder, to set the name before creating the process. The builder's
    /// [`process`](ProcessBuilder::process) or [`spawn`](ProcessBuilder::spawn) decides the
    /// return type, so this lives on `Process` without a type parameter (like `HashMap::new`).
    ///
    /// ```
    /// let p = multiproc::Process::builder().name("worker").process(|| 42);
    /// assert_eq!(p.name(), "worker");
    /// ```
    pub fn builder() -> ProcessBuilder {
        ProcessBuilder::new()
    }
}

impl<R: Serialize + DeserializeOwned + 'static> Process<R> {
    /// A process that will run `body` once started, with the next default name ("Process-N").
    ///
    /// ```
    /// let p = multiproc::Process::new(|| 2 + 2);
    /// assert!(p.name().starts_with("Process-"));
    /// assert_eq!(p.pid(), None);
    /// ```
    pub fn new(body: impl FnOnce() -> R + 'static) -> Process<R> {
        Process::with_name(crate::context::next_process_name(), body)
    }

    fn with_name(name: String, body: impl FnOnce() -> R + 'static) -> Process<R> {
        Process { name, state: State::New(Box::new(body)), started_by: 0, _result: PhantomData }
    }

    /// Forks the child and runs the closure in it. Fails if the process was already started.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| ());
    /// p.start()?;
    /// assert!(p.start().is_err()); // starting twice
    /// p.join()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn start(&mut self) -> Result<()> {
        let body = match std::mem::replace(&mut self.state, State::Empty) {
            State::New(body) => body,
            other => {
                let what = describe(&other);
                self.state = other;
                return Err(Error::invalid_state(format!(
                    "cannot start {}: it {what}; a process starts once, create a new Process to run again",
                    self.name
                )));
            }
        };
        let child = fork_child(&self.name, move |side| {
            let mut bytes = Vec::new();
            let returned = crate::wire::record(&mut bytes, body);
            crate::sys::grow_pipe_for(side.result, bytes.len());
            if crate::sys::write_all(side.result, &bytes).is_err() {
                return 1;
            }
            if returned {
                0
            } else {
                1
            }
        })?;
        self.state = State::Started(child);
        self.started_by = crate::sys::getpid();
        Ok(())
    }

    /// Waits for the process to end and returns the closure's value.
    ///
    /// Errors: [`Panicked`](crate::ErrorKind::Panicked) with the message and location,
    /// [`Signaled`](crate::ErrorKind::Signaled) if a signal killed it,
    /// [`Exited`](crate::ErrorKind::Exited) if it called [`exit`](crate::exit),
    /// [`InvalidState`](crate::ErrorKind::InvalidState) if not started or already joined.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| vec![1, 2, 3]);
    /// p.start()?;
    /// assert_eq!(p.join()?, vec![1, 2, 3]);
    /// assert!(p.join().is_err()); // the value was already taken
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join(&mut self) -> Result<R> {
        self.join_deadline(None)
    }

    /// Like [`join`](Process::join), but gives up after `timeout` with a
    /// [`Timeout`](crate::ErrorKind::Timeout) error, leaving the process running (join again later).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut p = multiproc::Process::new(|| std::thread::sleep(Duration::from_secs(30)));
    /// p.start()?;
    /// assert!(p.join_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// assert!(p.is_alive());
    /// p.kill()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<R> {
        // A timeout too large to represent as an instant is no limit at all.
        self.join_deadline(Instant::now().checked_add(timeout))
    }

    fn join_deadline(&mut self, deadline: Option<Instant>) -> Result<R> {
        let child = started_mut(&mut self.state, &self.name, self.started_by, "join")?;
        let Some(exit_code) = child.wait_until(deadline)? else {
            return Err(Error::timeout(format!(
                "{} (pid {}) is still running after the timeout; join again, or terminate() it",
                self.name,
                child.pid()
            )));
        };
        let pid = child.pid();
        let bytes = child.take_result();
        self.state = State::Joined { pid, exit_code };
        let who = format!("{} (pid {pid})", self.name);
        match Outcome::read_from(&bytes) {
            Some(outcome) if exit_code >= 0 => outcome.into_result(&who, pid),
            _ if exit_code < 0 => Err(Error::signaled(&who, pid, -exit_code)),
            _ => Err(Error::exited(&who, pid, exit_code)),
        }
    }

    /// True from `start` until the child ends. Relays the child's pending output.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| ());
    /// assert!(!p.is_alive());
    /// p.start()?;
    /// p.join()?;
    /// assert!(!p.is_alive());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_alive(&mut self) -> bool {
        match &mut self.state {
            State::Started(child) if self.started_by == crate::sys::getpid() => matches!(child.poll_now(), Ok(None)),
            _ => false,
        }
    }

    /// The child's pid once started (kept after it ended).
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| ());
    /// assert_eq!(p.pid(), None);
    /// p.start()?;
    /// assert!(p.pid().is_some());
    /// p.join()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn pid(&self) -> Option<i32> {
        match &self.state {
            State::Started(child) => Some(child.pid()),
            State::Joined { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    /// Python's `exitcode`: `None` until the child ended, then `Some(0)` for success, `Some(n)`
    /// for [`exit(n)`](crate::exit), `Some(1)` for a panic, `Some(-N)` for death by signal N.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| -> () { panic!("oops") });
    /// assert_eq!(p.exitcode(), None);
    /// p.start()?;
    /// let _ = p.join();
    /// assert_eq!(p.exitcode(), Some(1));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn exitcode(&mut self) -> Option<i32> {
        match &mut self.state {
            State::Started(child) if self.started_by == crate::sys::getpid() => child.poll_now().ok().flatten(),
            State::Started(_) => None,
            State::Joined { exit_code, .. } => Some(*exit_code),
            _ => None,
        }
    }

    /// The process's name ("Process-N" unless set with [`ProcessBuilder::name`]).
    ///
    /// ```
    /// assert!(multiproc::Process::new(|| ()).name().starts_with("Process-"));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends SIGTERM. The child's exit code becomes -15 (unless it handles the signal).
    /// An error if it was never started or has already ended.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| std::thread::sleep(std::time::Duration::from_secs(30)));
    /// p.start()?;
    /// p.terminate()?;
    /// assert!(p.join().is_err());
    /// assert_eq!(p.exitcode(), Some(-15));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn terminate(&mut self) -> Result<()> {
        self.send(Signal::SIGTERM, "terminate")
    }

    /// Sends SIGKILL, which cannot be caught. The exit code becomes -9.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| std::thread::sleep(std::time::Duration::from_secs(30)));
    /// p.start()?;
    /// p.kill()?;
    /// let _ = p.join();
    /// assert_eq!(p.exitcode(), Some(-9));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn kill(&mut self) -> Result<()> {
        self.send(Signal::SIGKILL, "kill")
    }

    fn send(&mut self, signal: Signal, action: &str) -> Result<()> {
        let name = &self.name;
        let child = started_mut(&mut self.state, name, self.started_by, action)?;
        // Reap first if it already ended, so we never signal a pid that may be reused.
        child.poll_now()?;
        if let Some(code) = child.exit_code() {
            return Err(Error::invalid_state(format!(
                "cannot {action} {name}: it already ended with exit code {code}; join it to collect its result"
            )));
        }
        child.signal(signal)?;
        Ok(())
    }

    /// Releases the process object, like Python's `close()`: an error while the child runs,
    /// fine (and repeatable) once it ended. Any later use is an error.
    ///
    /// ```
    /// let mut p = multiproc::Process::new(|| ());
    /// p.start()?;
    /// p.join()?;
    /// p.close()?;
    /// p.close()?; // idempotent
    /// assert!(p.start().is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn close(&mut self) -> Result<()> {
        match self.state {
            State::Started(_) => {
                let child = started_mut(&mut self.state, &self.name, self.started_by, "close")?;
                if child.poll_now()?.is_none() {
                    return Err(Error::invalid_state(format!(
                        "cannot close {} (pid {}): it is still running; join or terminate it first",
                        self.name,
                        child.pid()
                    )));
                }
            }
            State::Closed | State::Joined { .. } | State::New(_) | State::Empty => {}
        }
        self.state = State::Closed;
        Ok(())
    }
}

fn started_mut<'a, R>(state: &'a mut State<R>, name: &str, started_by: i32, action: &str) -> Result<&'a mut Child> {
    match state {
        State::Started(child) if started_by != crate::sys::getpid() => Err(Error::invalid_state(format!(
            "cannot {action} {name} (pid {}): it was started by process {started_by}, and only that process can wait for it or \
             signal it; this is process {}, which holds a copy of the handle (made by fork)",
            child.pid(),
            crate::sys::getpid()
        ))),
        State::Started(child) => Ok(child),
        other => Err(Error::invalid_state(format!("cannot {action} {name}: it {}", describe(other)))),
    }
}

fn describe<R>(state: &State<R>) -> &'static str {
    match state {
        State::New(_) => "was never started; call start() first",
        State::Started(_) => "is already started",
        State::Joined { .. } => "was already joined and its result taken",
        State::Closed => "was closed; create a new Process",
        State::Empty => "is being started",
    }
}

impl<R> Drop for Process<R> {
    fn drop(&mut self) {
        if let State::Started(child) = &mut self.state {
            // A copy of the handle in a forked child leaves the process to the one that
            // started it: that copy never signals a pid it did not start.
            if self.started_by == crate::sys::getpid() {
                child.shut_down(DROP_GRACE);
            }
        }
    }
}

impl<R> fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, pid, code) = match &self.state {
            State::New(_) => ("initial", None, None),
            State::Started(child) => ("started", Some(child.pid()), child.exit_code()),
            State::Joined { pid, exit_code } => ("joined", Some(*pid), Some(*exit_code)),
            State::Closed => ("closed", None, None),
            State::Empty => ("starting", None, None),
        };
        f.debug_struct("Process").field("name", &self.name).field("state", &state).field("pid", &pid).field("exitcode", &code).finish()
    }
}

/// Configures a [`Process`] before it exists: today, its name.
///
/// ```
/// let h = multiproc::Process::builder().name("fetcher").spawn(|| multiproc::current_process().name().to_string())?;
/// assert_eq!(h.join()?, "fetcher");
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProcessBuilder {
    name: Option<String>,
}

impl ProcessBuilder {
    /// A builder with default settings.
    ///
    /// ```
    /// let p = multiproc::ProcessBuilder::new().process(|| 1);
    /// assert!(p.name().starts_with("Process-"));
    /// ```
    pub fn new() -> ProcessBuilder {
        ProcessBuilder::default()
    }

    /// Sets the process name (shown by `current_process().name()` in the child; `ps` shows its
    /// first 15 bytes).
    ///
    /// ```
    /// assert_eq!(multiproc::Process::builder().name("a").process(|| ()).name(), "a");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> ProcessBuilder {
        self.name = Some(name.into());
        self
    }

    /// Creates the process, not yet started.
    ///
    /// ```
    /// let mut p = multiproc::Process::builder().name("x").process(|| 5);
    /// p.start()?;
    /// assert_eq!(p.join()?, 5);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn process<R: Serialize + DeserializeOwned + 'static>(self, body: impl FnOnce() -> R + 'static) -> Process<R> {
        let name = self.name.unwrap_or_else(crate::context::next_process_name);
        Process::with_name(name, body)
    }

    /// Creates and starts the process.
    ///
    /// ```
    /// let h = multiproc::Process::builder().name("y").spawn(|| 6)?;
    /// assert_eq!(h.join()?, 6);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn spawn<R: Serialize + DeserializeOwned + 'static>(self, body: impl FnOnce() -> R + 'static) -> Result<JoinHandle<R>> {
        let mut process = self.process(body);
        process.start()?;
        Ok(JoinHandle { process })
    }
}

/// Starts `body` in a new process at once, like `std::thread::spawn`.
///
/// ```
/// let data = vec![1, 2, 3];
/// let handle = multiproc::spawn(move || data.iter().sum::<i32>())?;
/// assert_eq!(handle.join()?, 6);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub fn spawn<R: Serialize + DeserializeOwned + 'static>(body: impl FnOnce() -> R + 'static) -> Result<JoinHandle<R>> {
    ProcessBuilder::new().spawn(body)
}

/// A started process, returned by [`spawn`]; [`join`](JoinHandle::join) consumes it.
///
/// **Drop:** like [`Process`], a handle dropped without `join` terminates (SIGTERM, then SIGKILL
/// after 200 ms) and reaps its process.
///
/// ```
/// let h = multiproc::spawn(|| "done".to_string())?;
/// assert!(h.pid() > 0);
/// assert_eq!(h.join()?, "done");
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Debug)]
pub struct JoinHandle<R> {
    process: Process<R>,
}

impl<R: Serialize + DeserializeOwned + 'static> JoinHandle<R> {
    /// Waits for the process and returns its value (see [`Process::join`]).
    ///
    /// ```
    /// assert_eq!(multiproc::spawn(|| 1)?.join()?, 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join(mut self) -> Result<R> {
        self.process.join()
    }

    /// Waits at most `timeout` (see [`Process::join_timeout`]).
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| 1)?;
    /// assert_eq!(h.join_timeout(std::time::Duration::from_secs(10))?, 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join_timeout(&mut self, timeout: Duration) -> Result<R> {
        self.process.join_timeout(timeout)
    }

    /// The child's pid.
    ///
    /// ```
    /// let h = multiproc::spawn(|| ())?;
    /// assert_ne!(h.pid(), std::process::id() as i32);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn pid(&self) -> i32 {
        self.process.pid().unwrap_or(-1)
    }

    /// True until the child ends (see [`Process::is_alive`]).
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| ())?;
    /// let _ = h.is_alive();
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_alive(&mut self) -> bool {
        self.process.is_alive()
    }

    /// The exit code (see [`Process::exitcode`]).
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| ())?;
    /// let _ = h.join_timeout(std::time::Duration::from_secs(10));
    /// assert_eq!(h.exitcode(), Some(0));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn exitcode(&mut self) -> Option<i32> {
        self.process.exitcode()
    }

    /// Sends SIGTERM (see [`Process::terminate`]).
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30)))?;
    /// h.terminate()?;
    /// assert_eq!(h.join().unwrap_err().signal(), Some(15));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn terminate(&mut self) -> Result<()> {
        self.process.terminate()
    }

    /// Sends SIGKILL (see [`Process::kill`]).
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30)))?;
    /// h.kill()?;
    /// assert_eq!(h.join().unwrap_err().signal(), Some(9));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn kill(&mut self) -> Result<()> {
        self.process.kill()
    }

    /// The process's name.
    ///
    /// ```
    /// assert!(multiproc::spawn(|| ())?.name().starts_with("Process-"));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.process.name()
    }
}

/// Ends the calling child process at once with `code`, after flushing its stdout and stderr.
/// The parent's `join` then reports [`Exited`](crate::ErrorKind::Exited) with that code and
/// `exitcode()` is `Some(code)`. Never call it in the notebook's own process: it would end the
/// kernel's runtime.
///
/// ```
/// let mut p = multiproc::Process::new(|| -> () { multiproc::exit(8) });
/// p.start()?;
/// assert_eq!(p.join().unwrap_err().exit_code(), Some(8));
/// assert_eq!(p.exitcode(), Some(8));
/// # Ok::<(), multiproc::Error>(())
/// ```
pub fn exit(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    crate::sys::exit_now(code)
}
