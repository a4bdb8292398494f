//! Every raw system call the crate makes, in one place, each with the reason it is needed.
//!
//! Callers get `io::Result`s and owned file descriptors; nothing here knows about processes as
//! objects, only about pids and fds.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use nix::sys::signal::{self, SigHandler, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

fn to_io(err: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(err as i32)
}

/// A pipe whose both ends close on exec, so programs the user runs with `Command` never hold
/// them open (which would hide end-of-stream from the reader).
/// [pipe2(2)](https://man7.org/linux/man-pages/man2/pipe2.2.html)
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(to_io)
}

/// Makes reads on `fd` return `WouldBlock` instead of waiting, so one thread can drain many pipes.
pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(to_io)?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(to_io)?;
    Ok(())
}

/// A file descriptor that becomes readable when process `pid` exits, or `None` on kernels before
/// 5.3. It lets a wait sleep in `poll` on the child's pipes and on its exit at once.
/// [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(crate) fn pidfd_open(pid: i32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is shared.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Which side of a fork we are on.
pub(crate) enum Forked {
    Parent { child: i32 },
    Child,
}

/// Forks the calling process.
/// [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
///
/// # Safety
/// The child must only run code that is safe after fork in a process that may have had other
/// threads (no locks those threads could hold) and must end with [`exit_now`], never return
/// into the caller's frames (in a notebook cell that would run the cell twice).
pub(crate) unsafe fn fork() -> io::Result<Forked> {
    // SAFETY: the caller upholds this function's contract, which is fork's.
    match unsafe { nix::unistd::fork() }.map_err(to_io)? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent { child: child.as_raw() }),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Ends the calling process at once with `code`: no atexit handlers, no destructors, no stdio
/// flush of C buffers. A forked child must use this, so it never runs the parent's exit path.
/// [_exit(2)](https://man7.org/linux/man-pages/man2/_exit.2.html)
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions; it never returns.
    unsafe { libc::_exit(code) }
}

/// Sets up a freshly forked child so it cannot disturb its parent (see `kernel.md` hazards):
/// stdout/stderr go to the given pipes, stdin reads /dev/null, the child dies with its parent,
/// and signal handlers and mask are back to their defaults.
pub(crate) fn prepare_child(parent_pid: i32, stdout: Option<RawFd>, stderr: Option<RawFd>) -> io::Result<()> {
    // Die with the parent (hazard 2). PDEATHSIG fires when the forking *thread* exits, which
    // in a notebook is the runtime's main thread, as long-lived as the process.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(to_io)?;
    // The parent may have died between fork and prctl: then nobody would ever kill us.
    if nix::unistd::getppid().as_raw() != parent_pid {
        exit_now(1);
    }
    // Stdin is the kernel's command pipe in a notebook (hazard 5).
    let devnull = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2(devnull.as_raw_fd(), 0).map_err(to_io)?;
    if let Some(fd) = stdout {
        nix::unistd::dup2(fd, 1).map_err(to_io)?;
    }
    if let Some(fd) = stderr {
        nix::unistd::dup2(fd, 2).map_err(to_io)?;
    }
    reset_signals();
    Ok(())
}

/// Makes the dynamic linker resolve, in the parent, every C library function a new child calls.
///
/// Symbols are bound lazily on first call, by writing the resolved address into the calling
/// object's table. A function only children call would be resolved again in every child, each
/// time a symbol search plus a copy-on-write page fault: about a third of the cost of starting a
/// process. Calling each once here, with harmless arguments, binds them for all later forks.
/// Idempotent and cheap; the flag is per copy of this crate (each notebook cell warms its own).
pub(crate) fn warm_up_for_children() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARM: AtomicBool = AtomicBool::new(false);
    if WARM.swap(true, Ordering::Relaxed) {
        return;
    }
    let _ = nix::sys::prctl::get_pdeathsig();
    let _ = nix::sys::prctl::get_name();
    let _ = nix::unistd::getppid();
    let _ = signal::sigprocmask(signal::SigmaskHow::SIG_BLOCK, None, None);
    // SAFETY: a null new action only reads SIGHUP's current action into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old);
    }
    // dup2 of an fd onto itself checks the fd and changes nothing.
    let _ = nix::unistd::dup2(2, 2);
    let _ = std::fs::File::open("/dev/null");
}

/// Restores every catchable signal to its default action and empties the signal mask. Rust
/// ignores SIGPIPE and evcxr catches SIGSEGV/SIGBUS/SIGILL to abort (hazard 7): a child must die
/// of the signal that really hit it, so `exitcode()` tells the truth.
fn reset_signals() {
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        let default = signal::SigAction::new(SigHandler::SigDfl, signal::SaFlags::empty(), signal::SigSet::empty());
        // SAFETY: SIG_DFL installs no Rust handler, so no handler can run with broken invariants.
        let _ = unsafe { signal::sigaction(sig, &default) };
    }
    let _ = signal::sigprocmask(signal::SigmaskHow::SIG_SETMASK, Some(&signal::SigSet::empty()), None);
}

/// Names the calling process (as `ps` and /proc/self/comm show it; 15 bytes at most).
pub(crate) fn set_process_name(name: &str) {
    let short: String = name.chars().filter(|c| *c != '\0').take(15).collect();
    if let Ok(c) = std::ffi::CString::new(short) {
        let _ = nix::sys::prctl::set_name(&c);
    }
}

/// Python's exit code for a wait status: the code, or minus the signal number.
fn status_to_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, code) => Some(code),
        WaitStatus::Signaled(_, sig, _) => Some(-(sig as i32)),
        _ => None,
    }
}

/// Reaps `pid` if it has ended; `Ok(None)` while it runs. Only ever our own pid (hazard 9).
/// [waitpid(2)](https://man7.org/linux/man-pages/man2/waitpid.2.html)
pub(crate) fn try_reap(pid: i32) -> io::Result<Option<i32>> {
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => return Ok(status_to_code(status)),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(to_io(e)),
        }
    }
}

/// Sends `sig` to `pid`. Callers only signal pids they have not reaped yet, so the pid cannot
/// have been reused by another process.
/// [kill(2)](https://man7.org/linux/man-pages/man2/kill.2.html)
pub(crate) fn send_signal(pid: i32, sig: Signal) -> io::Result<()> {
    signal::kill(Pid::from_raw(pid), sig).map_err(to_io)
}

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no limit). EINTR counts as a
/// wake-up with nothing ready; callers loop anyway.
/// [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms: libc::c_int = match timeout {
        None => -1,
        // Round up so a short timeout still sleeps instead of spinning.
        Some(d) => d.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int,
    };
    // SAFETY: fds is a valid, exclusively borrowed slice of pollfd for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let err = io::Error::last_os_error();
        if err.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(err);
    }
    Ok(n as usize)
}

/// The pid of the calling process.
pub(crate) fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// How many threads the calling process has, or None if unknown. The link count of
/// /proc/self/task is 2 plus one per thread: one `stat` call, with no file contents for the
/// kernel to format. It runs on every process start, so it is kept this cheap.
/// [proc(5)](https://man7.org/linux/man-pages/man5/proc.5.html)
pub(crate) fn thread_count() -> Option<usize> {
    use std::os::unix::fs::MetadataExt;
    let links = std::fs::metadata("/proc/self/task").ok()?.nlink();
    usize::try_from(links).ok()?.checked_sub(2).filter(|&n| n > 0)
}

/// Reads into `buf` from `fd` (one `read` call): `Ok(0)` is end-of-file.
/// [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> io::Result<usize> {
    nix::unistd::read(fd, buf).map_err(to_io)
}

/// Appends up to `max` bytes read from `fd` (one `read` call; fewer when `buf` has less spare
/// room) to `buf`: `Ok(0)` is end-of-file.
/// Reads into the vector's spare capacity, so no buffer is zeroed: after a fork the parent's
/// pages are copy-on-write, and zeroing a large stack buffer on every read cost page faults.
pub(crate) fn read_append(fd: RawFd, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    // Room for what is already there again (doubling), at least 1 KiB, at most `max`: most
    // children send a few bytes, and a large fresh buffer per child costs the allocator a heap
    // extension and page faults, while big results still arrive in large reads.
    if buf.capacity() == buf.len() {
        buf.reserve(buf.len().clamp(1024, max.max(1024)));
    }
    let spare = buf.spare_capacity_mut();
    let len = spare.len().min(max);
    // SAFETY: `spare` is writable memory of at least `len` bytes owned by `buf`; read(2) writes
    // at most `len` bytes into it and returns how many, and only those are marked initialized.
    let n = unsafe { libc::read(fd, spare.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: read(2) initialized the first `n` bytes of the spare capacity.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

/// Enlarges the pipe behind `fd` (up to the system's unprivileged limit, usually 1 MiB) when
/// `bytes` are about to go through it and exceed its default 64 KiB: each refill of a full pipe
/// costs the writer and the reader a wake-up, which dominates moving tens of megabytes.
/// Best effort: a refusal leaves the pipe as it was.
/// [pipe(7)](https://man7.org/linux/man-pages/man7/pipe.7.html)
pub(crate) fn grow_pipe_for(fd: BorrowedFd<'_>, bytes: usize) {
    const DEFAULT_PIPE: usize = 64 * 1024;
    const UNPRIVILEGED_MAX: libc::c_int = 1 << 20;
    if bytes > DEFAULT_PIPE {
        // SAFETY: F_SETPIPE_SZ takes an int and changes only the pipe's capacity.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, UNPRIVILEGED_MAX) };
    }
}

/// Writes all of `buf` to `fd`, retrying on EINTR and short writes.
pub(crate) fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match nix::unistd::write(fd, buf) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(to_io(e)),
        }
    }
    Ok(())
}

/// Nanoseconds on CLOCK_MONOTONIC, a clock every process on the machine shares, so times taken
/// in different processes can be compared (a pool's timeline).
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_count_sees_a_new_thread() {
        let before = super::thread_count().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().ok());
        let during = super::thread_count().unwrap();
        tx.send(()).unwrap();
        t.join().unwrap();
        assert!(during > before || during > 1, "before {before}, during {during}");
    }
}
