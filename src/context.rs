//! Who am I, who is my parent, who are my children: Python's `current_process()`,
//! `parent_process()`, `active_children()` and `cpu_count()`.
//!
//! In a notebook every cell has its own copy of this crate's statics, so nothing here lives in a
//! static: identity is kept in the process environment (one per process, shared by all copies)
//! and children are read from `/proc`. The environment is read and written through [`env`],
//! which never deadlocks in a freshly forked child.

use std::time::Duration;

/// Environment variable holding `pid:parent_pid:name_len:name parent_name` (name and parent
/// name back to back, the first `name_len` bytes being the name) for a process this crate
/// started. It is only believed when its pid is the reader's own, so programs run with
/// `Command` ignore it.
const IDENTITY_VAR: &str = "MULTIPROC_IDENTITY";
/// Environment variable holding `pid:count` of processes this process has named so far.
const COUNTER_VAR: &str = "MULTIPROC_COUNTER";
/// The name of a process this crate did not start.
const MAIN_NAME: &str = "MainProcess";

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

/// Who a process started by this crate is, as recorded in [`IDENTITY_VAR`].
struct Identity {
    pid: i32,
    parent: i32,
    name: String,
    parent_name: String,
}

impl Identity {
    fn parse(value: &str) -> Option<Identity> {
        let mut parts = value.splitn(4, ':');
        let pid = parts.next()?.parse().ok()?;
        let parent = parts.next()?.parse().ok()?;
        let name_len: usize = parts.next()?.parse().ok()?;
        let rest = parts.next()?;
        if !rest.is_char_boundary(name_len) {
            return None;
        }
        let (name, parent_name) = rest.split_at(name_len);
        Some(Identity { pid, parent, name: name.to_string(), parent_name: parent_name.to_string() })
    }

    fn format(&self) -> String {
        format!("{}:{}:{}:{}{}", self.pid, self.parent, self.name.len(), self.name, self.parent_name)
    }
}

/// The calling process's identity, if this crate started it.
fn identity() -> Option<Identity> {
    Identity::parse(&env::get(IDENTITY_VAR)?).filter(|id| id.pid == crate::sys::getpid())
}

/// Records, inside a freshly forked child, who it is and who its parent is. The environment
/// still holds the parent's identity (if this crate started the parent too): its name is the
/// parent's name, so `parent_process().name()` needs no help from the parent.
pub(crate) fn set_identity_in_child(parent_pid: i32, name: &str) {
    // Right after fork this process has exactly one thread: no need to ask /proc.
    let parent_name = env::get_with(IDENTITY_VAR, true)
        .and_then(|value| Identity::parse(&value))
        .filter(|id| id.pid == parent_pid)
        .map_or_else(|| MAIN_NAME.to_string(), |id| id.name);
    let me = Identity { pid: crate::sys::getpid(), parent: parent_pid, name: name.to_string(), parent_name };
    env::set_with(IDENTITY_VAR, &me.format(), true);
    // The parent's counter stays in the environment; it carries the parent's pid, so
    // `next_process_name` ignores it and this child counts from 1.
    crate::sys::set_process_name(name);
}

/// The next default name, "Process-N", counting per process like Python.
pub(crate) fn next_process_name() -> String {
    let me = crate::sys::getpid();
    let single = env::single_threaded();
    let count = env::get_with(COUNTER_VAR, single)
        .and_then(|v| {
            let (pid, n) = v.split_once(':')?;
            (pid.parse::<i32>().ok()? == me).then(|| n.parse::<u64>().ok()).flatten()
        })
        .unwrap_or(0)
        + 1;
    env::set_with(COUNTER_VAR, &format!("{me}:{count}"), single);
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
    let name = identity().map_or_else(|| MAIN_NAME.to_string(), |id| id.name);
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
    let id = identity()?;
    Some(ProcessInfo { pid: id.parent, name: id.parent_name })
}

/// The live children this process started by forking (ours, not programs run with `Command`,
/// which exec another binary). Finished children waiting to be joined are not listed.
///
/// Names come from `/proc/<pid>/comm` (15 bytes at most), which the child sets as its first
/// step: in the instant right after `start()` a child may still show the name of the thread
/// that started it.
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

/// Environment access that cannot deadlock in a freshly forked child.
///
/// `std::env` guards the environment with a process-wide lock. Fork copies that lock as it is:
/// if another thread of the parent was reading or writing the environment at that instant (for
/// instance creating a `Process`, which counts names here), the child's copy stays locked
/// forever and the child's first `std::env::set_var` hangs (seen in this crate's tests). The C
/// library's `setenv` has its own lock with the same problem. So a process with a single thread,
/// which every child is until its closure starts threads, reads and writes the C `environ`
/// array directly: with one thread nothing can race with it. A process with several threads
/// uses `std::env`, whose lock is then real. (A child whose closure starts threads and then
/// names processes still depends on std's lock not having been copied locked.)
mod env {
    use std::ffi::{CStr, CString};
    use std::os::raw::c_char;

    extern "C" {
        /// The C library's environment: a null-terminated array of `KEY=value` strings
        /// ([environ(7)](https://man7.org/linux/man-pages/man7/environ.7.html)).
        static mut environ: *mut *mut c_char;
    }

    /// True when this process has exactly one thread (this one), so nothing can race with a
    /// direct access to `environ`, and a lock that looks held can only be a stale copy from fork.
    pub(super) fn single_threaded() -> bool {
        crate::sys::thread_count() == Some(1)
    }

    /// The value of `key`, if set and valid UTF-8.
    pub(super) fn get(key: &str) -> Option<String> {
        get_with(key, single_threaded())
    }

    /// [`get`], with the caller saying whether the process is single-threaded (a /proc read
    /// saved on every process start).
    pub(super) fn get_with(key: &str, single_threaded: bool) -> Option<String> {
        if !single_threaded {
            return std::env::var(key).ok();
        }
        let key = CString::new(key).ok()?;
        // SAFETY: this process has one thread, so nothing changes the environment while getenv
        // walks it, and getenv takes no lock (glibc, musl). The string is copied before anything
        // else can change the environment.
        unsafe {
            let value = libc::getenv(key.as_ptr());
            if value.is_null() {
                return None;
            }
            CStr::from_ptr(value).to_str().ok().map(str::to_string)
        }
    }

    /// Sets `key` to `value`. In a single-threaded process the new `KEY=value` string is leaked
    /// (the C library's `setenv` leaks replaced strings the same way).
    pub(super) fn set_with(key: &str, value: &str, single_threaded: bool) {
        if !single_threaded {
            std::env::set_var(key, value);
            return;
        }
        let Ok(entry) = CString::new(format!("{key}={value}")) else { return };
        let prefix = format!("{key}=");
        let entry = entry.into_raw();
        // SAFETY: this process has one thread, so no one else reads or writes `environ` or the
        // array it points to while we do. Every entry up to the null terminator is a valid C
        // string. We only store pointers to strings and arrays that are never freed.
        unsafe {
            let mut count = 0;
            let base = environ;
            if !base.is_null() {
                while !(*base.add(count)).is_null() {
                    let slot = base.add(count);
                    if CStr::from_ptr(*slot).to_bytes().starts_with(prefix.as_bytes()) {
                        // Replace the pointer in place: no new array needed.
                        *slot = entry;
                        return;
                    }
                    count += 1;
                }
            }
            // Not set yet: a new array with one more entry. The old one may belong to the C
            // library or the loader, so it is left alone.
            let mut entries: Vec<*mut c_char> = Vec::with_capacity(count + 2);
            for i in 0..count {
                entries.push(*base.add(i));
            }
            entries.push(entry);
            entries.push(std::ptr::null_mut());
            environ = entries.leak().as_mut_ptr();
        }
    }
}
