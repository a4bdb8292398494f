//! Who am I, who is my parent, who are my children: Python's `current_process()`,
//! `parent_process()`, `active_children()` and `cpu_count()`.
//!
//! In a notebook every cell has its own copy of this crate's statics, so nothing here lives in a
//! static: identity is kept in the process environment (one per process, shared by all copies)
//! and children are read from `/proc`.

use std::time::Duration;

/// Environment variable holding `pid:parent_pid:name` for a process this crate started. It is
/// only believed when its pid is the reader's own, so programs run with `Command` ignore it.
const IDENTITY_VAR: &str = "MULTIPROC_IDENTITY";
/// Environment variable holding `pid:count` of processes this process has named so far.
const COUNTER_VAR: &str = "MULTIPROC_COUNTER";

/// A process as seen from inside it or from its parent: pid and name.
///
/// ```
/// let me = multiproc::current_process();
/// assert_eq!(me.name(), "MainProcess");
/// assert_eq!(me.pid(), std::process::id() as i32);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pid: i32,
    name: String,
}

impl ProcessInfo {
    /// The process id.
    ///
    /// ```
    /// assert!(multiproc::current_process().pid() > 0);
    /// ```
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The name: "MainProcess" for a process this crate did not start, else the name given at
    /// creation ("Process-1" by default). Names read from `/proc` are cut to 15 bytes.
    ///
    /// ```
    /// let name = multiproc::spawn(|| multiproc::current_process().name().to_string()).unwrap().join().unwrap();
    /// assert!(name.starts_with("Process-"));
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True while the process exists and has not finished (a zombie counts as finished).
    ///
    /// ```
    /// assert!(multiproc::current_process().is_alive());
    /// ```
    pub fn is_alive(&self) -> bool {
        process_state(self.pid).is_some_and(|state| state != 'Z' && state != 'X')
    }
}

/// Reads the one-letter state of `pid` from /proc (R, S, Z, ...).
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

fn identity() -> Option<(i32, String)> {
    let value = std::env::var(IDENTITY_VAR).ok()?;
    let mut parts = value.splitn(3, ':');
    let pid: i32 = parts.next()?.parse().ok()?;
    let parent: i32 = parts.next()?.parse().ok()?;
    let name = parts.next()?.to_string();
    (pid == crate::sys::getpid()).then_some((parent, name))
}

/// Records, inside a freshly forked child, who it is. The child is single-threaded here, so
/// changing the environment cannot race with another thread reading it.
pub(crate) fn set_identity_in_child(parent_pid: i32, name: &str) {
    std::env::set_var(IDENTITY_VAR, format!("{}:{parent_pid}:{name}", crate::sys::getpid()));
    std::env::remove_var(COUNTER_VAR);
    crate::sys::set_process_name(name);
}

/// The next default name, "Process-N", counting per process like Python.
pub(crate) fn next_process_name() -> String {
    let me = crate::sys::getpid();
    let count = std::env::var(COUNTER_VAR)
        .ok()
        .and_then(|v| {
            let (pid, n) = v.split_once(':')?;
            (pid.parse::<i32>().ok()? == me).then(|| n.parse::<u64>().ok()).flatten()
        })
        .unwrap_or(0)
        + 1;
    std::env::set_var(COUNTER_VAR, format!("{me}:{count}"));
    format!("Process-{count}")
}

/// The calling process: its pid and its name ("MainProcess" unless this crate started it).
///
/// ```
/// let (name, pid) = multiproc::spawn(|| {
///     let me = multiproc::current_process();
///     (me.name().to_string(), me.pid())
/// }).unwrap().join().unwrap();
/// assert!(name.starts_with("Process-"));
/// assert_ne!(pid, std::process::id() as i32);
/// ```
pub fn current_process() -> ProcessInfo {
    let pid = crate::sys::getpid();
    let name = identity().map(|(_, name)| name).unwrap_or_else(|| "MainProcess".to_string());
    ProcessInfo { pid, name }
}

/// The process that started this one through this crate, or `None` at top level.
///
/// Unlike Python, a child never outlives its parent here: it is killed when the parent dies
/// (`PR_SET_PDEATHSIG`), so no orphan keeps running after a notebook kernel is interrupted.
///
/// ```
/// assert!(multiproc::parent_process().is_none());
/// let parent = multiproc::spawn(|| multiproc::parent_process().unwrap().pid()).unwrap().join().unwrap();
/// assert_eq!(parent, std::process::id() as i32);
/// ```
pub fn parent_process() -> Option<ProcessInfo> {
    let (parent, _) = identity()?;
    let name = parent_name(parent);
    Some(ProcessInfo { pid: parent, name })
}

fn parent_name(parent: i32) -> String {
    // The parent's own identity is in its environment, which /proc only shows as it was at
    // exec; its comm name is what we can read. A top-level parent is "MainProcess".
    match std::fs::read_to_string(format!("/proc/{parent}/comm")) {
        Ok(comm) if comm.trim().starts_with("Process-") => comm.trim().to_string(),
        _ => "MainProcess".to_string(),
    }
}

/// The live children this process started by forking (ours, not programs run with `Command`,
/// which exec another binary). Finished children waiting to be joined are not listed.
///
/// ```
/// let mut h = multiproc::spawn(|| std::thread::sleep(std::time::Duration::from_secs(30))).unwrap();
/// let pid = h.pid();
/// assert!(multiproc::active_children().iter().any(|c| c.pid() == pid));
/// h.kill().unwrap();
/// let _ = h.join();
/// assert!(!multiproc::active_children().iter().any(|c| c.pid() == pid));
/// ```
pub fn active_children() -> Vec<ProcessInfo> {
    let me = crate::sys::getpid();
    let my_exe = std::fs::read_link("/proc/self/exe").ok();
    let mut pids = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{me}/task")) {
        for task in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
                pids.extend(list.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids.into_iter()
        .filter(|&pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok() == my_exe)
        .filter(|&pid| process_state(pid).is_some_and(|s| s != 'Z' && s != 'X'))
        .map(|pid| {
            let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string();
            ProcessInfo { pid, name }
        })
        .collect()
}

/// The number of CPUs this process may run on (its affinity mask), at least 1.
///
/// ```
/// assert!(multiproc::cpu_count() >= 1);
/// ```
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Waits until `pid` has vanished or turned into a zombie, up to `limit`. Used by tests and
/// examples that check a process is gone.
///
/// ```
/// use std::time::Duration;
/// assert!(!multiproc::wait_gone(std::process::id() as i32, Duration::from_millis(10)));
/// ```
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if !(ProcessInfo { pid, name: String::new() }).is_alive() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
