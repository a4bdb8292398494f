//! The raw system calls behind pipes, queues, locks and shared memory, in one place, each with
//! the reason it is needed and a link to its man page. Callers get `io::Result`s, owned file
//! descriptors and small safe wrappers; every `unsafe` block of the IPC half of the crate is here.
//!
//! Everything is process-shared on purpose: the memory is `MAP_SHARED`, the futexes are the
//! shared kind (no `FUTEX_PRIVATE_FLAG`), and the pthread mutexes are `PTHREAD_PROCESS_SHARED`
//! and `PTHREAD_MUTEX_ROBUST`, so a process that dies holding one cannot block the others.

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn last_error() -> io::Error {
    io::Error::last_os_error()
}

// ---------------------------------------------------------------------------------------------
// Shared memory
// ---------------------------------------------------------------------------------------------

/// Maps `len` bytes of zeroed memory that stays shared with every process forked afterwards.
/// `MAP_NORESERVE`: pages cost memory only once touched, so a queue can reserve a large ring.
/// [mmap(2)](https://man7.org/linux/man-pages/man2/mmap.2.html)
pub(crate) fn map_anonymous(len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh anonymous mapping at an address the kernel picks; no existing memory is
    // touched, and the arguments are plain integers.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(last_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned a null address"))
}

/// Maps the first `len` bytes of the shared-memory object `fd`.
/// [mmap(2)](https://man7.org/linux/man-pages/man2/mmap.2.html)
pub(crate) fn map_fd(fd: BorrowedFd<'_>, len: usize) -> io::Result<NonNull<u8>> {
    // SAFETY: a fresh shared mapping of a file we hold open; no existing memory is touched.
    let ptr = unsafe {
        libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0)
    };
    if ptr == libc::MAP_FAILED {
        return Err(last_error());
    }
    NonNull::new(ptr.cast()).ok_or_else(|| io::Error::other("mmap returned a null address"))
}

/// Unmaps a mapping made by [`map_anonymous`] or [`map_fd`].
/// [munmap(2)](https://man7.org/linux/man-pages/man2/munmap.2.html)
///
/// # Safety
/// `ptr` and `len` must be exactly one live mapping from this module, and no reference into it
/// may be used afterwards.
pub(crate) unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller guarantees this is one of our mappings, no longer used.
    unsafe {
        libc::munmap(ptr.as_ptr().cast(), len);
    }
}

/// Opens (and with `create`, exclusively creates) the POSIX shared-memory object `name`.
/// [shm_open(3)](https://man7.org/linux/man-pages/man3/shm_open.3.html)
pub(crate) fn shm_open(name: &CStr, create: bool) -> io::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_CLOEXEC | if create { libc::O_CREAT | libc::O_EXCL } else { 0 };
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    let fd = unsafe { libc::shm_open(name.as_ptr(), flags, 0o600) };
    if fd < 0 {
        return Err(last_error());
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Removes the name of a shared-memory object; mappings stay valid until unmapped.
/// [shm_unlink(3)](https://man7.org/linux/man-pages/man3/shm_unlink.3.html)
pub(crate) fn shm_unlink(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is a valid NUL-terminated string for the duration of the call.
    if unsafe { libc::shm_unlink(name.as_ptr()) } < 0 {
        return Err(last_error());
    }
    Ok(())
}

/// Sets the size of a shared-memory object (new bytes read as zero).
/// [ftruncate(2)](https://man7.org/linux/man-pages/man2/ftruncate.2.html)
pub(crate) fn set_len(fd: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    nix::unistd::ftruncate(fd, len as libc::off_t).map_err(|e| io::Error::from_raw_os_error(e as i32))
}

/// The size in bytes of a shared-memory object.
/// [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
pub(crate) fn len_of(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let stat = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(|e| io::Error::from_raw_os_error(e as i32))?;
    Ok(stat.st_size as usize)
}

// ---------------------------------------------------------------------------------------------
// Futexes: sleeping until a 32-bit word in shared memory changes
// ---------------------------------------------------------------------------------------------

/// Sleeps while `word` holds `expected`, at most `timeout` (None: no limit). Returns `true` if
/// the time ran out. Returns early (`false`) when woken, when the word already differs, or on a
/// signal: callers always re-check their condition. A process killed while waiting here leaves
/// nothing behind, which is why the crate's conditions are built on this and not on
/// `pthread_cond_t` (whose waiter counts a killed waiter would leave wrong).
/// [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let ts = timeout.map(|d| libc::timespec {
        tv_sec: d.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    });
    let ts_ptr = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned 32-bit atomic for the duration of the call; FUTEX_WAIT
    // only reads it. The timeout is relative, measured on CLOCK_MONOTONIC, and outlives the call.
    let r = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAIT, expected, ts_ptr, 0usize, 0u32) };
    r < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT)
}

/// Wakes up to `n` processes or threads sleeping in [`futex_wait`] on `word`.
/// [futex(2)](https://man7.org/linux/man-pages/man2/futex.2.html)
pub(crate) fn futex_wake(word: &AtomicU32, n: u32) {
    let n = n.min(i32::MAX as u32) as libc::c_int;
    // SAFETY: `word` is a valid, aligned 32-bit atomic; FUTEX_WAKE neither reads nor writes it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n, 0usize, 0usize, 0u32);
    }
}

/// A counter that sleepers watch: the crate's condition variable over a [`RawMutex`].
///
/// A waiter reads the sequence number while it holds the mutex, releases the mutex, and sleeps
/// until the number changes; a notifier changes the guarded state, bumps the number and wakes.
/// Nothing a waiter does is left half-done if it is killed (its `waiters` count only causes a
/// spare wake-up call later).
#[repr(C)]
pub(crate) struct Seq {
    seq: AtomicU32,
    waiters: AtomicU32,
}

impl Seq {
    /// Releases `mutex` (held by the caller), sleeps until notified or `deadline`, and takes
    /// `mutex` back, waiting for it until `relock_by` (None: as long as it takes). Returns
    /// `Ok(true, _)` if the deadline passed. May return early (spuriously). If taking the mutex
    /// back fails, the caller no longer holds it.
    pub(crate) fn wait(&self, mutex: &RawMutex, deadline: Option<Instant>, relock_by: Option<Instant>) -> Result<(bool, Locked), LockError> {
        let observed = self.seq.load(Ordering::Acquire);
        self.waiters.fetch_add(1, Ordering::SeqCst);
        mutex.unlock().map_err(LockError::Os)?;
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let timed_out = match left {
            Some(l) if l.is_zero() => true,
            _ => futex_wait(&self.seq, observed, left),
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        let locked = mutex.lock(relock_by)?;
        Ok((timed_out || deadline.is_some_and(|d| Instant::now() >= d), locked))
    }

    /// Wakes at most `n` waiters (they re-check their condition).
    pub(crate) fn notify(&self, n: u32) {
        self.seq.fetch_add(1, Ordering::Release);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            futex_wake(&self.seq, n);
        }
    }

    /// Wakes every waiter.
    pub(crate) fn notify_all(&self) {
        self.notify(u32::MAX);
    }
}

// ---------------------------------------------------------------------------------------------
// Robust, process-shared pthread mutexes
// ---------------------------------------------------------------------------------------------

/// A `pthread_mutex_t` made `PTHREAD_PROCESS_SHARED` and `PTHREAD_MUTEX_ROBUST`, living in
/// shared memory, plus the pid of its last owner for error messages.
///
/// Robust: the kernel keeps a list of the robust mutexes each thread holds and, when the thread
/// dies (even by SIGKILL), marks them "owner died" and wakes one waiter, whose lock call then
/// returns `EOWNERDEAD` instead of sleeping forever.
/// [pthread_mutexattr_setrobust(3)](https://man7.org/linux/man-pages/man3/pthread_mutexattr_setrobust.3.html)
#[repr(C)]
pub(crate) struct RawMutex {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    owner: AtomicI32,
}

/// How a lock call succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Locked {
    /// The normal case.
    Clean,
    /// The previous owner (this pid, if known) died holding the mutex. The mutex was marked
    /// consistent again and is now held by the caller, who should repair or report.
    OwnerDied(i32),
}

/// Why a lock call failed.
#[derive(Debug)]
pub(crate) enum LockError {
    /// The deadline passed (or, for `try_lock`, another holder has it).
    Timeout,
    /// The calling thread already holds this (non-recursive) mutex.
    WouldDeadlock,
    /// Anything else the system reported.
    Os(io::Error),
}

impl RawMutex {
    /// Initializes the mutex at `this`: process-shared, robust, error-checking (relocking by the
    /// owner fails instead of deadlocking) or recursive.
    ///
    /// # Safety
    /// `this` must point to writable memory, aligned for `RawMutex`, that no one else uses yet
    /// and that stays mapped as long as the mutex is used.
    pub(crate) unsafe fn init(this: *mut RawMutex, recursive: bool) -> io::Result<()> {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        let kind = if recursive { libc::PTHREAD_MUTEX_RECURSIVE } else { libc::PTHREAD_MUTEX_ERRORCHECK };
        // SAFETY: `attr` is local storage initialized by pthread_mutexattr_init before any other
        // use and destroyed at the end; `this` is valid, exclusive memory per the contract.
        unsafe {
            check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
            let result = (|| {
                check(libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED))?;
                check(libc::pthread_mutexattr_setrobust(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST))?;
                check(libc::pthread_mutexattr_settype(attr.as_mut_ptr(), kind))?;
                std::ptr::addr_of_mut!((*this).owner).write(AtomicI32::new(0));
                check(libc::pthread_mutex_init(UnsafeCell::raw_get(std::ptr::addr_of!((*this).mutex)), attr.as_ptr()))
            })();
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            result
        }
    }

    fn raw(&self) -> *mut libc::pthread_mutex_t {
        self.mutex.get()
    }

    fn after_lock(&self, code: libc::c_int) -> Result<Locked, LockError> {
        match code {
            0 => {
                self.owner.store(crate::sys::getpid(), Ordering::Relaxed);
                Ok(Locked::Clean)
            }
            libc::EOWNERDEAD => {
                let dead = self.owner.load(Ordering::Relaxed);
                // SAFETY: we hold the mutex (EOWNERDEAD means it was handed to us); marking it
                // consistent is the documented way to make it usable again.
                unsafe {
                    libc::pthread_mutex_consistent(self.raw());
                }
                self.owner.store(crate::sys::getpid(), Ordering::Relaxed);
                Ok(Locked::OwnerDied(dead))
            }
            libc::ETIMEDOUT | libc::EBUSY => Err(LockError::Timeout),
            libc::EDEADLK => Err(LockError::WouldDeadlock),
            other => Err(LockError::Os(io::Error::from_raw_os_error(other))),
        }
    }

    /// Takes the mutex, waiting until `deadline` (None: as long as it takes).
    pub(crate) fn lock(&self, deadline: Option<Instant>) -> Result<Locked, LockError> {
        let Some(deadline) = deadline else {
            // SAFETY: the mutex was initialized by `init` and lives in mapped memory.
            return self.after_lock(unsafe { libc::pthread_mutex_lock(self.raw()) });
        };
        // pthread_mutex_timedlock takes a CLOCK_REALTIME deadline, which jumps when the clock
        // is set. Waiting in slices of at most 50 ms, each recomputed from the monotonic
        // deadline, bounds the effect of a jump to one slice.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let slice = left.min(Duration::from_millis(50));
            let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
            // SAFETY: `now` is valid storage for the duration of the call.
            unsafe {
                libc::clock_gettime(libc::CLOCK_REALTIME, &mut now);
            }
            // The slice is at most 50 ms, so these additions cannot overflow.
            let mut abs = now;
            abs.tv_sec += slice.as_secs() as libc::time_t;
            abs.tv_nsec += slice.subsec_nanos() as libc::c_long;
            if abs.tv_nsec >= 1_000_000_000 {
                abs.tv_nsec -= 1_000_000_000;
                abs.tv_sec += 1;
            }
            // SAFETY: the mutex was initialized by `init`; `abs` outlives the call.
            let code = unsafe { libc::pthread_mutex_timedlock(self.raw(), &abs) };
            match self.after_lock(code) {
                Err(LockError::Timeout) if Instant::now() < deadline => continue,
                other => return other,
            }
        }
    }

    /// Takes the mutex if it is free; `Err(Timeout)` if someone holds it.
    pub(crate) fn try_lock(&self) -> Result<Locked, LockError> {
        // SAFETY: the mutex was initialized by `init` and lives in mapped memory.
        self.after_lock(unsafe { libc::pthread_mutex_trylock(self.raw()) })
    }

    /// Releases the mutex; an error (EPERM) if the calling thread does not hold it.
    pub(crate) fn unlock(&self) -> io::Result<()> {
        // SAFETY: the mutex was initialized by `init`; an error-checking or recursive robust
        // mutex rejects an unlock by a non-owner with EPERM instead of misbehaving.
        check(unsafe { libc::pthread_mutex_unlock(self.raw()) })
    }
}

fn check(code: libc::c_int) -> io::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(code))
    }
}

// ---------------------------------------------------------------------------------------------
// Sockets for `Connection`
// ---------------------------------------------------------------------------------------------

/// A connected pair of Unix stream sockets (close-on-exec). Sockets rather than pipes because
/// `send` can take `MSG_NOSIGNAL`: children run with default signal handlers, so writing to a
/// pipe whose reader is gone would kill them with SIGPIPE instead of returning an error.
/// [socketpair(2)](https://man7.org/linux/man-pages/man2/socketpair.2.html)
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` is valid storage for two fds.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    if r < 0 {
        return Err(last_error());
    }
    // SAFETY: the kernel just returned these two fds to us and nobody else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends as much of `buf` as fits in the socket buffer now, without waiting: `WouldBlock` if
/// nothing fits. `MSG_NOSIGNAL`: a closed peer is an `EPIPE` error, not a SIGPIPE.
/// [send(2)](https://man7.org/linux/man-pages/man2/send.2.html)
pub(crate) fn send_nowait(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a valid readable slice for the duration of the call.
        let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT) };
        if n < 0 {
            let err = last_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        return Ok(n as usize);
    }
}

/// True if something (data or end-of-stream) is waiting to be received on `fd`; consumes
/// nothing. [recv(2)](https://man7.org/linux/man-pages/man2/recv.2.html) with `MSG_PEEK`.
pub(crate) fn has_input(fd: BorrowedFd<'_>) -> bool {
    let mut byte = 0u8;
    // SAFETY: `byte` is valid writable storage for one byte during the call.
    let n = unsafe { libc::recv(fd.as_raw_fd(), (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n >= 0
}

/// Receives what is available, without waiting, into the spare capacity of `buf` (at most
/// `max` bytes) and extends its length. `Ok(0)` is end-of-stream; `WouldBlock` means nothing yet.
/// [recv(2)](https://man7.org/linux/man-pages/man2/recv.2.html)
pub(crate) fn recv_some(fd: BorrowedFd<'_>, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.try_reserve(max).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    let spare = buf.spare_capacity_mut();
    let want = spare.len().min(max);
    loop {
        // SAFETY: `spare` is writable memory of at least `want` bytes owned by `buf`; the kernel
        // writes at most `want` bytes into it.
        let n = unsafe { libc::recv(fd.as_raw_fd(), spare.as_mut_ptr().cast(), want, libc::MSG_DONTWAIT) };
        if n < 0 {
            let err = last_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        let n = n as usize;
        // SAFETY: the kernel initialized the first `n` bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        return Ok(n);
    }
}

/// Waits until `fd` can take more bytes or has bytes to read; returns (writable, readable).
pub(crate) fn wait_writable_or_readable(fd: BorrowedFd<'_>) -> io::Result<(bool, bool)> {
    let mut fds = [libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN | libc::POLLOUT, revents: 0 }];
    crate::sys::poll(&mut fds, None)?;
    let r = fds[0].revents;
    Ok((r & (libc::POLLOUT | libc::POLLERR | libc::POLLHUP) != 0, r & (libc::POLLIN | libc::POLLHUP) != 0))
}

/// Waits until `fd` is readable (data or end-of-stream) or `timeout` passes. Returns readiness.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
    let mut fds = [libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
    let n = crate::sys::poll(&mut fds, timeout)?;
    Ok(n > 0 && fds[0].revents != 0)
}
