//! Helpers shared by the `tests/process_*.rs` and `tests/pool_behaviour.rs` binaries.
//!
//! Every wait here has a deadline ([`LIMIT`]), so a hung child fails its test instead of hanging
//! CI. Order between parent and child is made deterministic with [`Link`], a socket pair the two
//! sides use to hand each other numbers, never with sleeps.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use multiproc::{Error, JoinHandle, Process};
use serde::{de::DeserializeOwned, Serialize};

/// The longest any single wait in these tests may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Environment variable that turns a test binary into a helper running one mode (see [`run_helper`]).
pub const HELPER_ENV: &str = "MULTIPROC_TEST_HELPER";

/// Printed by a helper around the output a test asserts on, to skip the test harness's own lines.
pub const BEGIN: &str = "----- helper output begins -----";
/// See [`BEGIN`].
pub const END: &str = "----- helper output ends -----";

/// Joins with a deadline: a child still running after [`LIMIT`] fails the test (and is then
/// terminated by `Process`'s Drop).
pub fn join<R: Serialize + DeserializeOwned + 'static>(p: &mut Process<R>) -> Result<R, Error> {
    let result = p.join_timeout(LIMIT);
    if let Err(e) = &result {
        assert!(!e.is_timeout(), "{} did not end within {LIMIT:?}: {e}", p.name());
    }
    result
}

/// [`join`] for a [`JoinHandle`].
pub fn join_handle<R: Serialize + DeserializeOwned + 'static>(h: &mut JoinHandle<R>) -> Result<R, Error> {
    let result = h.join_timeout(LIMIT);
    if let Err(e) = &result {
        assert!(!e.is_timeout(), "{} did not end within {LIMIT:?}: {e}", h.name());
    }
    result
}

/// Spawns `body`, joins it with a deadline and returns its value.
pub fn run<R: Serialize + DeserializeOwned + 'static>(body: impl FnOnce() -> R + 'static) -> Result<R, Error> {
    let mut h = multiproc::spawn(body).expect("spawn");
    join_handle(&mut h)
}

/// Runs `f` on its own thread and fails if it does not finish within [`LIMIT`]. For tests
/// whose waits are not all `join_timeout`s (a Drop waits for its child, a misuse must return at
/// once): "never a hang" becomes a failure instead of a stuck CI job.
pub fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    within(LIMIT, f)
}

/// [`bounded`] with a limit of the caller's choosing.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        // The thread panicked: re-raise its panic with its own message.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker ended without sending"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("did not finish within {limit:?}"),
    }
}

/// One end of a connected socket pair, for handing numbers between a parent and its children.
/// Reads time out after [`LIMIT`] (the reader then panics, failing the test or the child).
#[derive(Debug)]
pub struct Link(UnixStream);

impl Link {
    /// Two connected ends: keep one, move the other into the child's closure.
    pub fn pair() -> (Link, Link) {
        let (a, b) = UnixStream::pair().expect("socketpair");
        for s in [&a, &b] {
            s.set_read_timeout(Some(LIMIT)).expect("SO_RCVTIMEO");
        }
        (Link(a), Link(b))
    }

    /// Sends one number.
    pub fn send(&mut self, value: i64) {
        self.0.write_all(&value.to_le_bytes()).expect("Link::send");
    }

    /// Receives one number, waiting at most [`LIMIT`].
    pub fn recv(&mut self) -> i64 {
        let mut buf = [0u8; 8];
        self.0.read_exact(&mut buf).unwrap_or_else(|e| panic!("Link::recv: nothing within {LIMIT:?} ({e})"));
        i64::from_le_bytes(buf)
    }
}

/// The one-letter state (R, S, Z, ...) and parent pid of `pid`, or `None` if it does not exist.
pub fn proc_stat(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Pids of every child of this process, from `/proc/self/task/*/children`.
pub fn our_children() -> Vec<i32> {
    let mut pids = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(list.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Fails if `pid` is still a child of this process (alive or a zombie): a process the test
/// joined, killed or dropped must have been reaped. Tests in one binary run in parallel, so
/// each checks only the pids it created.
pub fn assert_reaped(pid: i32) {
    let me = std::process::id() as i32;
    if let Some((state, ppid)) = proc_stat(pid) {
        assert!(ppid != me, "pid {pid} is still our child (state {state}): it was not reaped");
    }
}

/// Waits until `pid` no longer runs: it vanished or is a zombie (killed, waiting for whoever
/// reaps orphans). True if that happened within `limit`.
pub fn gone_within(pid: i32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match proc_stat(pid) {
            None | Some(('Z' | 'X', _)) => return true,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
}

/// What a helper run printed.
#[derive(Debug)]
pub struct Captured {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Captured {
    /// The stdout lines between [`BEGIN`] and [`END`] (the helper's own and its children's).
    pub fn stdout_lines(&self) -> Vec<String> {
        between_markers(&self.stdout)
    }

    /// The stderr lines between [`BEGIN`] and [`END`].
    pub fn stderr_lines(&self) -> Vec<String> {
        between_markers(&self.stderr)
    }

    /// The raw stdout bytes between the markers.
    pub fn stdout_bytes(&self) -> Vec<u8> {
        let begin = format!("{BEGIN}\n");
        let end = format!("{END}\n");
        let s = &self.stdout;
        let start = find(s, begin.as_bytes()).map(|i| i + begin.len()).unwrap_or_else(|| panic!("no begin marker in {}", self.describe()));
        let stop = find(&s[start..], end.as_bytes()).map(|i| start + i).unwrap_or_else(|| panic!("no end marker in {}", self.describe()));
        s[start..stop].to_vec()
    }

    /// Both streams, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "helper ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            String::from_utf8_lossy(&self.stdout),
            String::from_utf8_lossy(&self.stderr)
        )
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn between_markers(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8(bytes.to_vec()).expect("helper output is valid UTF-8");
    let mut lines = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == BEGIN {
            inside = true;
        } else if line == END {
            inside = false;
        } else if inside {
            lines.push(line.to_string());
        }
    }
    lines
}

/// Re-runs this test binary as a helper: only the test `test_name` runs, with [`HELPER_ENV`] set
/// to `mode` and the output not captured by the harness, so whatever the library relays from
/// children to the helper's stdout and stderr can be asserted on. The helper's stdin is a pipe
/// that stays open and empty (reading it would block) unless `stdin_null`. Waits at most [`LIMIT`].
pub fn run_helper(test_name: &str, mode: &str, env: &[(&str, &str)]) -> Captured {
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(HELPER_ENV, mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("re-running the test binary");
    let _stdin = child.stdin.take();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("helper mode {mode} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A grandchild left behind could keep the pipes open: do not wait for their end forever.
    let stdout = join_reader(out_reader, deadline);
    let stderr = join_reader(err_reader, deadline);
    Captured { status, stdout, stderr }
}

fn join_reader(reader: std::thread::JoinHandle<Vec<u8>>, deadline: Instant) -> Vec<u8> {
    while !reader.is_finished() {
        assert!(Instant::now() < deadline, "a helper's output pipe stayed open after it exited");
        std::thread::sleep(Duration::from_millis(5));
    }
    reader.join().expect("reader thread")
}

/// In a helper: prints the begin marker, runs `f`, prints the end marker (both on stdout and
/// stderr, flushed, so the markers bracket what the library relayed meanwhile).
pub fn bracketed(f: impl FnOnce()) {
    println!("{BEGIN}");
    eprintln!("{BEGIN}");
    f();
    println!("{END}");
    eprintln!("{END}");
}

/// A unique path in the temp directory, removed when dropped.
pub struct TempPath(pub std::path::PathBuf);

impl TempPath {
    pub fn new(tag: &str) -> TempPath {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        TempPath(std::env::temp_dir().join(format!("multiproc-test-{}-{tag}-{n}", std::process::id())))
    }

    /// The path, to move into a child's closure (moving the `TempPath` itself would let the
    /// child's copy delete the file when the closure ends).
    pub fn path(&self) -> std::path::PathBuf {
        self.0.clone()
    }

    /// The file's lines (none if it does not exist).
    pub fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.0).map(|s| s.lines().map(str::to_string).collect()).unwrap_or_default()
    }
}

/// Appends one line to `path` (O_APPEND: writers in several processes never overwrite each other).
pub fn append_line(path: &std::path::Path, line: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open for append");
    f.write_all(format!("{line}\n").as_bytes()).expect("append");
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A value whose `Serialize` always fails, like CPython's `unpickleable_result`.
#[derive(Debug, serde::Deserialize)]
pub struct Unserializable;

impl Serialize for Unserializable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value refuses to be serialized"))
    }
}
