//! The one error type of the crate: a kind you can match on, the process it is about, and the
//! underlying cause chained through [`std::error::Error::source`].

use std::fmt;

/// What went wrong, in broad strokes. Match on it through [`Error::kind`].
///
/// ```
/// use multiproc::{ErrorKind, Process};
/// let mut p = Process::new(|| 1);
/// let err = p.join().unwrap_err(); // joined before start
/// assert_eq!(err.kind(), ErrorKind::InvalidState);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The operating system refused to create a process, pipe or shared mapping.
    Start,
    /// The child's code panicked; [`Error::panic`] has the message and location.
    Panicked,
    /// The child was killed by a signal; [`Error::signal`] says which.
    Signaled,
    /// The child exited with a code before returning a value; [`Error::exit_code`] says which.
    Exited,
    /// A value could not be serialized to cross between processes.
    Encode,
    /// Bytes from another process could not be turned back into a value.
    Decode,
    /// A wait ran out of time; the thing waited for is still going.
    Timeout,
    /// The call does not fit the object's state (join before start, start twice, use after close).
    InvalidState,
    /// An input value was rejected (a pool of 0 processes, an empty name).
    InvalidInput,
    /// The other end of a pipe or queue is gone.
    Disconnected,
    /// A queue or pipe was full (`try_put`).
    Full,
    /// A queue or pipe was empty (`try_get`).
    Empty,
    /// A process holding a lock died while holding it; the data it protects may be half-updated.
    OwnerDied,
    /// Any other operating-system failure while talking to a child.
    Io,
}

/// Where and why a child panicked, as reported by the child itself.
///
/// ```
/// let err = multiproc::spawn(|| -> i32 { panic!("boom") }).unwrap().join().unwrap_err();
/// let info = err.panic().unwrap();
/// assert_eq!(info.message, "boom");
/// assert!(info.file.ends_with(".rs"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PanicInfo {
    /// The panic message (`panic!("...")`'s text, or the payload if it was a string).
    pub message: String,
    /// Source file of the `panic!`.
    pub file: String,
    /// Line of the `panic!`.
    pub line: u32,
    /// Column of the `panic!`.
    pub column: u32,
    /// Pid of the process that panicked.
    pub pid: i32,
}

impl fmt::Display for PanicInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' at {}:{}:{} (pid {})", self.message, self.file, self.line, self.column, self.pid)
    }
}

/// The error returned by every fallible call in this crate.
///
/// It carries a [`ErrorKind`], the pid of the process concerned where there is one, the panic
/// report, signal or exit code where they apply, and its cause as [`source`](std::error::Error::source).
/// Its message says what happened and what to do about it.
///
/// ```
/// use multiproc::ErrorKind;
/// let err = multiproc::spawn(|| -> u8 { multiproc::exit(8) }).unwrap().join().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Exited);
/// assert_eq!(err.exit_code(), Some(8));
/// assert!(err.to_string().contains("exited with code 8"));
/// ```
pub struct Error {
    kind: ErrorKind,
    message: String,
    pid: Option<i32>,
    detail: Detail,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

#[derive(Debug, Clone)]
enum Detail {
    None,
    Panic(PanicInfo),
    Signal(i32),
    ExitCode(i32),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), pid: None, detail: Detail::None, source: None }
    }

    pub(crate) fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_pid(mut self, pid: i32) -> Error {
        self.pid = Some(pid);
        self
    }

    pub(crate) fn io(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::new(ErrorKind::Io, format!("{what} failed: {err}; the child may have crashed, retry or check system limits (ulimit -n)"))
            .with_source(err)
    }

    pub(crate) fn start(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::new(
            ErrorKind::Start,
            format!("could not start a process ({what}: {err}); the system may be out of processes, memory or file descriptors: join or drop finished processes and retry"),
        )
        .with_source(err)
    }

    pub(crate) fn invalid_state(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidState, message)
    }

    pub(crate) fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub(crate) fn timeout(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Timeout, message)
    }

    pub(crate) fn panicked(who: &str, info: PanicInfo) -> Error {
        Error {
            kind: ErrorKind::Panicked,
            message: format!(
                "{who} panicked at {}:{}:{}: {} (the panic happened in the child; fix that code or catch the panic there)",
                info.file, info.line, info.column, info.message
            ),
            pid: Some(info.pid),
            detail: Detail::Panic(info),
            source: None,
        }
    }

    pub(crate) fn signaled(who: &str, pid: i32, signal: i32) -> Error {
        Error {
            kind: ErrorKind::Signaled,
            message: format!(
                "{who} was killed by signal {signal} ({}); it was terminated, crashed, or was stopped by the out-of-memory killer (see `dmesg`)",
                signal_name(signal)
            ),
            pid: Some(pid),
            detail: Detail::Signal(signal),
            source: None,
        }
    }

    pub(crate) fn exited(who: &str, pid: i32, code: i32) -> Error {
        Error {
            kind: ErrorKind::Exited,
            message: format!("{who} exited with code {code} before returning a value; return from the closure instead of exiting to get a result back"),
            pid: Some(pid),
            detail: Detail::ExitCode(code),
            source: None,
        }
    }

    pub(crate) fn encode(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::new(
            ErrorKind::Encode,
            format!("could not serialize {what}: {err}; values that cross processes must implement serde::Serialize without failing"),
        )
        .with_source(err)
    }

    pub(crate) fn decode(what: &str, err: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::new(
            ErrorKind::Decode,
            format!("could not deserialize {what}: {err}; both sides must use the same type, and its Deserialize must accept what Serialize wrote"),
        )
        .with_source(err)
    }

    /// The broad category of this error.
    ///
    /// ```
    /// # use multiproc::{ErrorKind, Process};
    /// let mut p = Process::new(|| ());
    /// assert_eq!(p.terminate().unwrap_err().kind(), ErrorKind::InvalidState);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The pid of the process this error is about, if any.
    ///
    /// ```
    /// let h = multiproc::spawn(|| -> () { panic!("x") }).unwrap();
    /// let pid = h.pid();
    /// assert_eq!(h.join().unwrap_err().pid(), Some(pid));
    /// ```
    pub fn pid(&self) -> Option<i32> {
        self.pid
    }

    /// The child's panic report, for [`ErrorKind::Panicked`].
    ///
    /// ```
    /// let err = multiproc::spawn(|| -> () { panic!("123") }).unwrap().join().unwrap_err();
    /// assert_eq!(err.panic().unwrap().message, "123");
    /// ```
    pub fn panic(&self) -> Option<&PanicInfo> {
        match &self.detail {
            Detail::Panic(info) => Some(info),
            _ => None,
        }
    }

    /// The signal that killed the child, for [`ErrorKind::Signaled`].
    ///
    /// ```
    /// let mut h = multiproc::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30))).unwrap();
    /// h.kill().unwrap();
    /// assert_eq!(h.join().unwrap_err().signal(), Some(9));
    /// ```
    pub fn signal(&self) -> Option<i32> {
        match self.detail {
            Detail::Signal(signal) => Some(signal),
            _ => None,
        }
    }

    /// The exit code of a child that exited without returning a value, for [`ErrorKind::Exited`].
    ///
    /// ```
    /// let err = multiproc::spawn(|| -> () { multiproc::exit(3) }).unwrap().join().unwrap_err();
    /// assert_eq!(err.exit_code(), Some(3));
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        match self.detail {
            Detail::ExitCode(code) => Some(code),
            _ => None,
        }
    }

    /// True for [`ErrorKind::Timeout`]: the wait ran out, the work goes on.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut h = multiproc::spawn(|| std::thread::sleep(Duration::from_secs(30))).unwrap();
    /// assert!(h.join_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// h.kill().unwrap();
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// True for [`ErrorKind::Panicked`].
    ///
    /// ```
    /// let err = multiproc::spawn(|| -> () { panic!("x") }).unwrap().join().unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        self.kind == ErrorKind::Panicked
    }

    pub(crate) fn prefixed(mut self, context: &str) -> Error {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind).field("message", &self.message);
        if let Some(pid) = self.pid {
            s.field("pid", &pid);
        }
        match &self.detail {
            Detail::None => {}
            Detail::Panic(info) => {
                s.field("panic", info);
            }
            Detail::Signal(signal) => {
                s.field("signal", signal);
            }
            Detail::ExitCode(code) => {
                s.field("exit_code", code);
            }
        }
        if let Some(source) = &self.source {
            s.field("source", source);
        }
        s.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Clone for Error {
    /// Clones everything but the source, which is kept as its message.
    fn clone(&self) -> Error {
        Error {
            kind: self.kind,
            message: self.message.clone(),
            pid: self.pid,
            detail: self.detail.clone(),
            source: self.source.as_ref().map(|s| Box::new(SourceText(s.to_string())) as _),
        }
    }
}

#[derive(Debug)]
struct SourceText(String);
impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SourceText {}

/// The conventional name of a signal number ("SIGKILL" for 9), for messages.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(s) => s.as_str(),
        Err(_) => "unknown signal",
    }
}

/// Shorthand for this crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
