//! Catching a child's panic and reporting it in one line.
//!
//! The kernel forces `RUST_BACKTRACE=1`, so std's default hook would print a long backtrace for
//! every panicking child. Children install this hook instead: one line on stderr with the
//! process name, pid, location and message, and the same facts kept for the parent.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::error::PanicInfo;

thread_local! {
    /// Where the last panic on this thread happened, filled in by the hook for `catch`.
    static LAST_LOCATION: RefCell<Option<(String, u32, u32)>> = const { RefCell::new(None) };
}

/// The pid that installed the hook in this copy of the library (each notebook cell has its own
/// copy of std and of this static, so each copy installs its own hook once per process).
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

/// Installs the concise hook in this process, once. Call only in a child.
fn install_hook() {
    let pid = crate::sys::getpid();
    if HOOK_PID.swap(pid, Ordering::Relaxed) == pid {
        return;
    }
    panic::set_hook(Box::new(|info| {
        let (file, line, column) = match info.location() {
            Some(l) => (l.file().to_string(), l.line(), l.column()),
            None => ("<unknown>".to_string(), 0, 0),
        };
        let message = payload_text(info.payload());
        let me = crate::context::current_process();
        eprintln!("{} (pid {}) panicked at {file}:{line}:{column}: {message}", me.name(), me.pid());
        LAST_LOCATION.with(|l| *l.borrow_mut() = Some((file, line, column)));
    }));
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
