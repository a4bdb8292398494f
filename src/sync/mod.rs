//! Locks and signals shared between forked processes, like Python's `multiprocessing.Lock`,
//! `RLock`, `Semaphore`, `BoundedSemaphore`, `Event`, `Barrier` and `Condition`.
//!
//! Each lives in its own small `MAP_SHARED | MAP_ANONYMOUS` mapping. Create it before forking
//! and move a clone into the child's closure: parent and child then use the same memory.
//!
//! How they are built, and why:
//! - `Lock`, `RLock` and the lock inside `Value`/`Array` are pthread mutexes made
//!   `PTHREAD_PROCESS_SHARED` and `PTHREAD_MUTEX_ROBUST`. When a process dies holding one (a
//!   panic that aborts, `terminate()`, SIGKILL, the out-of-memory killer), the kernel hands the
//!   lock to the next locker with "owner died", and that locker gets an
//!   [`OwnerDied`](crate::ErrorKind::OwnerDied) error instead of waiting forever.
//! - Waiting for a condition (`Condition`, `Event`, `Semaphore`, `Barrier`, and the queue) uses
//!   Linux futexes on a counter in the shared memory rather than `pthread_cond_t`: a process
//!   killed while waiting leaves nothing half-done behind.
//! - No thread is ever started by this module; every wait sleeps in the calling thread.
//!
//! Handles are cheap to clone (a reference-counted mapping); clones, in this process or in
//! forked children, all refer to the same lock. Dropping a handle unmaps its memory in this
//! process once the last clone is gone; the lock itself lives on in other processes that still
//! hold a clone.

use std::time::Duration;

use crate::error::Error;
use crate::ipc_sys::LockError;

mod barrier;
mod condition;
mod event;
mod lock;
mod rlock;
mod semaphore;

pub use barrier::Barrier;
pub use condition::Condition;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{Semaphore, SemaphoreGuard};

pub(crate) use lock::MutexHandle;

/// The error for a lock whose previous holder died while holding it.
pub(crate) fn owner_died(what: &str, pid: i32) -> Error {
    let who = if pid > 0 { format!("process {pid}") } else { "a process".to_string() };
    let err = Error::new(
        crate::ErrorKind::OwnerDied,
        format!(
            "{who} died while holding {what}; the data it protects may be half-updated. \
             The lock is usable again: check or repair the data, then acquire it again"
        ),
    );
    if pid > 0 {
        err.with_pid(pid)
    } else {
        err
    }
}

/// An operating-system failure in the IPC half of the crate: what failed, why, what to try.
pub(crate) fn os_failed(what: &str, hint: &str, err: std::io::Error) -> Error {
    Error::new(crate::ErrorKind::Io, format!("{what} failed: {err}; {hint}")).with_source(err)
}

/// Turns a failed lock call into the crate's error; `waited` is the timeout, if any.
pub(crate) fn lock_failed(what: &str, err: LockError, waited: Option<Duration>) -> Error {
    match err {
        LockError::Timeout => match waited {
            Some(d) if !d.is_zero() => Error::timeout(format!("{what} was still held by another holder after {d:?}")),
            _ => Error::timeout(format!("{what} is held by another holder (try_acquire does not wait)")),
        },
        LockError::WouldDeadlock => Error::invalid_state(format!(
            "this thread already holds {what}; acquiring it again would wait forever. \
             Drop the first guard, or use an RLock, which may be acquired again by its holder"
        )),
        LockError::Os(e) => os_failed(&format!("locking {what}"), "the shared memory holding it may have been damaged; create a new one", e),
    }
}
