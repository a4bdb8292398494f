//! `RLock`: Python's `multiprocessing.RLock`, a re-entrant robust mutex shared between processes.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use super::MutexHandle;
use crate::error::Result;

/// A re-entrant lock shared between processes, like Python's `multiprocessing.RLock`: the
/// thread that holds it may acquire it again; it is released when every guard is dropped.
///
/// Robust like [`Lock`](crate::Lock): if its holder dies, the next `acquire` returns an
/// [`OwnerDied`](crate::ErrorKind::OwnerDied) error and the lock is free again.
///
/// **Send/Sync:** both (a `PTHREAD_PROCESS_SHARED` recursive mutex works between threads as
/// between processes). Guards are not `Send`: the holding thread releases.
///
/// **Drop:** unmaps the lock's memory in this process once the last clone is dropped.
///
/// ```
/// let rlock = multiproc::RLock::new()?;
/// let outer = rlock.acquire()?;
/// let inner = rlock.acquire()?; // the holder may acquire again
/// drop(inner);
/// let other = rlock.clone();
/// let child = multiproc::spawn(move || other.try_acquire().is_err())?;
/// assert!(child.join()?); // still held by the outer guard
/// drop(outer);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct RLock {
    handle: MutexHandle,
}

/// Proof that this thread holds an [`RLock`] (once more); dropping it releases one level.
///
/// ```
/// let rlock = multiproc::RLock::new()?;
/// let other = rlock.clone();
/// let guard = rlock.acquire()?;
/// assert!(multiproc::spawn(move || other.try_acquire().is_err())?.join()?); // held
/// drop(guard);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    rlock: &'a RLock,
    _not_send: PhantomData<*const ()>,
}

impl RLock {
    /// A new unlocked re-entrant lock in shared memory.
    ///
    /// ```
    /// let rlock = multiproc::RLock::new()?;
    /// let other = rlock.clone();
    /// assert!(multiproc::spawn(move || other.try_acquire().is_ok())?.join()?); // free
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<RLock> {
        Ok(RLock { handle: MutexHandle::new(true, "an RLock")? })
    }

    pub(crate) fn from_handle(handle: MutexHandle) -> RLock {
        RLock { handle }
    }

    pub(crate) fn handle(&self) -> &MutexHandle {
        &self.handle
    }

    /// A guard for a level of the lock the calling thread has just taken through `handle()`.
    pub(crate) fn guard(&self) -> RLockGuard<'_> {
        RLockGuard { rlock: self, _not_send: PhantomData }
    }

    /// Waits as long as it takes for the lock (at once if this thread holds it already).
    /// An [`OwnerDied`](crate::ErrorKind::OwnerDied) error if the previous holder died holding
    /// it.
    ///
    /// ```
    /// let rlock = multiproc::RLock::new()?;
    /// let _a = rlock.acquire()?;
    /// let _b = rlock.acquire()?; // again, by its holder
    /// let other = rlock.clone();
    /// assert!(multiproc::spawn(move || other.try_acquire().is_err())?.join()?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>> {
        self.handle.acquire(None, "the RLock", None)?;
        Ok(self.guard())
    }

    /// Takes the lock if it is free or already ours; a [`Timeout`](crate::ErrorKind::Timeout)
    /// error if another thread or process holds it.
    ///
    /// ```
    /// let rlock = multiproc::RLock::new()?;
    /// let _held = rlock.acquire()?;
    /// assert!(rlock.try_acquire().is_ok()); // ours already
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Result<RLockGuard<'_>> {
        self.handle.acquire(Some(Instant::now()), "the RLock", None)?;
        Ok(self.guard())
    }

    /// Waits at most `timeout`; a [`Timeout`](crate::ErrorKind::Timeout) error when it runs out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rlock = multiproc::RLock::new()?;
    /// let _held = rlock.acquire()?;
    /// let other = rlock.clone();
    /// let child = multiproc::spawn(move || other.acquire_timeout(Duration::from_millis(20)).is_err())?;
    /// assert!(child.join()?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>> {
        self.handle.acquire(Some(Instant::now() + timeout), "the RLock", Some(timeout))?;
        Ok(self.guard())
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.rlock.handle.raw().unlock();
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock").field("mutex", &self.handle).finish()
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").field("rlock", self.rlock).finish()
    }
}
