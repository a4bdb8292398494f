//! Catching a child's panic and reporting it in one line.
//!
//! The kernel forces `RUST_BACKTRACE=1`, so std's default hook would print a long backtrace for
//! every panicking child. Children get this hook instead (installed across the fork by
//! [`ForkHook`]): one line on stderr with the process name, pid, location and message, and the
//! same facts kept for the parent.

use std::cell::RefCell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::PanicInfo;

thread_local! {
    /// Where the last panic on this thread happened, filled in by the hook for `catch`.
    static LAST_LOCATION: RefCell<Option<(String, u32, u32)>> = const { RefCell::new(None) };
}

/// The pid whose concise hook is in place in this copy of the library (each notebook cell has
/// its own copy of std and of this static, so each copy installs its own hook once per process).
static HOOK_PID: AtomicI32 = AtomicI32::new(0);

fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any> (a panic payload that is not a string)".to_string()
    }
}

/// Reports a child's panic: one line on stderr, and the location kept for [`catch`].
fn report(location: Option<&panic::Location<'_>>, payload: &(dyn std::any::Any + Send)) {
    let (file, line, column) = match location {
        Some(l) => (l.file().to_string(), l.line(), l.column()),
        None => ("<unknown>".to_string(), 0, 0),
    };
    let message = payload_text(payload);
    let me = crate::context::current_process();
    // Straight to stderr, not through `eprintln!`: under the test harness `eprintln!` goes to an
    // in-memory capture whose lock another thread of the parent may have held at the fork.
    let report = format!("{} (pid {}) panicked at {file}:{line}:{column}: {message}\n", me.name(), me.pid());
    let _ = std::io::stderr().lock().write_all(report.as_bytes());
    LAST_LOCATION.with(|l| *l.borrow_mut() = Some((file, line, column)));
}

/// Installs the concise hook in this process, once. Call only in a child, and only if
/// [`ForkHook`] did not do it before the fork (the parent had a single thread, so no lock can
/// have been copied held).
fn install_hook() {
    let pid = crate::sys::getpid();
    // A child forked by a panicking thread (a process started in a Drop during unwinding) is
    // itself panicking, and std aborts a `set_hook` there: it keeps the inherited hook.
    if HOOK_PID.swap(pid, Ordering::Relaxed) == pid || std::thread::panicking() {
        return;
    }
    panic::set_hook(Box::new(|info| report(info.location(), info.payload())));
}

/// Puts the child's panic hook in place across a fork, so the child never changes the hook.
///
/// std keeps the panic hook behind a process-wide lock. Fork copies that lock as it is: if
/// another thread of the parent was panicking at that instant (its hook may take a long time to
/// print a backtrace), the child's copy stays locked and a `panic::set_hook` in the child waits
/// forever (seen in this crate's tests). So a parent with other threads installs, just before
/// forking, a hook that behaves exactly like the current one in the parent and reports
/// concisely in any process forked meanwhile; right after the fork it puts its own hook back.
/// The child keeps the installed hook and only ever reads the lock, which a stale reader does
/// not block.
///
/// std has no atomic swap of hooks (`panic::update_hook` is unstable), so in a parent with other
/// threads, a panic on another thread in the instant between taking and setting the hook gets
/// std's default report, and a hook another thread sets in that instant may be lost. A parent
/// with a single thread (a notebook's runtime) has nothing to race with: there the parent's hook
/// is left alone and the child sets its own.
///
/// Create it before taking the stdout/stderr locks for the fork: a panicking thread holds the
/// hook lock while it waits for stderr.
pub(crate) struct ForkHook {
    /// Puts the parent's hook back; `None` if nothing was changed.
    restore: Option<Box<dyn FnOnce()>>,
    /// Held from install to restore, so forks from several threads never interleave their
    /// swaps (one could otherwise take another's temporary hook and put back the wrong one).
    _serial: Option<MutexGuard<'static, ()>>,
}

/// Serializes [`ForkHook`]s. A static is right here: it guards this copy of std's hook, and a
/// notebook cell with its own copy of this crate has its own copy of std too.
static SWAP: Mutex<()> = Mutex::new(());

impl ForkHook {
    /// In the parent, just before fork. Does nothing in a single-threaded process, and on a
    /// panicking thread (std forbids changing the hook there); the child then installs its hook
    /// itself.
    pub(crate) fn install(single_threaded: bool) -> ForkHook {
        if std::thread::panicking() || single_threaded {
            return ForkHook { restore: None, _serial: None };
        }
        let serial = SWAP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let parent = crate::sys::getpid();
        // Between take and set another thread's panic would get std's default hook: a window
        // of a few instructions, which `panic::update_hook` (unstable) would close.
        let previous = Arc::new(panic::take_hook());
        let for_parent = Arc::clone(&previous);
        // `same_type` gives the new box the hook type std uses, without naming it.
        let ours = same_type(&*previous, Box::new(move |info| {
            if crate::sys::getpid() == parent {
                for_parent(info)
            } else {
                report(info.location(), info.payload())
            }
        }));
        // std hands back the very box it was given, so its address tells ours from another.
        let ours_at = hook_address(&*ours);
        panic::set_hook(ours);
        let restore = move || {
            let current = panic::take_hook();
            if hook_address(&*current) != ours_at {
                // Another thread set its own hook meanwhile (maybe wrapping ours): keep it.
                panic::set_hook(current);
                return;
            }
            // Dropping ours drops its reference to the previous hook.
            drop(current);
            match Arc::try_unwrap(previous) {
                Ok(hook) => panic::set_hook(hook),
                Err(shared) => panic::set_hook(Box::new(move |info| shared(info))),
            }
        };
        ForkHook { restore: Some(Box::new(restore)), _serial: Some(serial) }
    }

    /// In the child, right after fork: keeps the installed hook for good, and unlocks the
    /// child's copy of the serializing lock so the child can fork in turn.
    pub(crate) fn keep_in_child(mut self) {
        if let Some(restore) = self.restore.take() {
            HOOK_PID.store(crate::sys::getpid(), Ordering::Relaxed);
            // It holds only an Arc; leaking it in a process that ends with `_exit` costs nothing.
            std::mem::forget(restore);
        }
        // Dropping `self` now releases the lock guard and restores nothing.
    }
}

fn same_type<T>(_: &T, value: T) -> T {
    value
}

/// Where a boxed hook lives (its closure captures data, so the address is unique while it lives).
fn hook_address<T: ?Sized>(hook: &T) -> usize {
    hook as *const T as *const () as usize
}

impl Drop for ForkHook {
    /// In the parent after fork (or if the fork failed): puts the parent's hook back.
    fn drop(&mut self) {
        if let Some(restore) = self.restore.take() {
            restore();
        }
    }
}

/// Registers this thread's panic-location slot in the parent, so a child (a copy of this thread)
/// does not register it again: registering a thread-local destructor allocates and binds
/// symbols, page faults every child would pay.
pub(crate) fn warm_up_for_children() {
    LAST_LOCATION.with(|_| ());
}

/// Runs `f` in a child, turning a panic into a [`PanicInfo`] (message, location, pid).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, PanicInfo> {
    install_hook();
    LAST_LOCATION.with(|l| *l.borrow_mut() = None);
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let (file, line, column) =
            LAST_LOCATION.with(|l| l.borrow_mut().take()).unwrap_or_else(|| ("<unknown>".to_string(), 0, 0));
        PanicInfo { message: payload_text(&*payload), file, line, column, pid: crate::sys::getpid() }
    })
}
