//! `Condition`: Python's `multiprocessing.Condition`, waiting for a change made by another process.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Lock, LockGuard};
use crate::error::{Error, Result};
use crate::ipc_sys::{Locked, Seq};
use crate::shm::Region;

/// A condition variable shared between processes, like Python's `multiprocessing.Condition`:
/// a [`Lock`] plus a way to sleep until another process says something changed.
///
/// Take the lock with [`acquire`](Condition::acquire), check your data (kept in shared memory,
/// e.g. a [`Value`](crate::Value)), and [`wait`](Condition::wait) while it is not ready; `wait`
/// releases the lock while sleeping and takes it back before returning. Another process changes
/// the data and calls [`notify`](Condition::notify) or [`notify_all`](Condition::notify_all).
/// Like every condition variable, `wait` may return without a notification: check again in a
/// loop, or let [`wait_for`](Condition::wait_for) do it.
///
/// Unlike Python's default, the lock is a plain [`Lock`], not an `RLock`.
///
/// **Send/Sync:** both; the lock is a robust process-shared mutex and the wake-ups go through a
/// futex on a counter in shared memory (no `pthread_cond_t`, whose state a killed waiter would
/// leave behind).
///
/// **Drop:** unmaps the condition's memory in this process once the last clone is dropped.
///
/// ```
/// use std::time::Duration;
/// use multiproc::{Condition, Value};
/// let cond = Condition::new()?;
/// let ready = Value::new(0u32)?;
/// let (c, r) = (cond.clone(), ready.clone());
/// let child = multiproc::spawn(move || {
///     let _guard = c.acquire().unwrap();
///     r.set(1).unwrap();
///     c.notify_all();
/// })?;
/// let mut guard = cond.acquire()?;
/// let ok = cond.wait_for_timeout(&mut guard, || ready.get().unwrap() == 1, Duration::from_secs(10))?;
/// assert!(ok);
/// drop(guard);
/// child.join()?;
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct Condition {
    lock: Lock,
    seq: Arc<Region>,
}

impl Condition {
    /// A condition with a new lock of its own.
    ///
    /// ```
    /// let cond = multiproc::Condition::new()?;
    /// let _guard = cond.acquire()?;
    /// assert!(cond.lock().try_acquire().is_err()); // its own lock, held by the guard
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<Condition> {
        Condition::with_lock(Lock::new()?)
    }

    /// A condition using `lock` (Python's `Condition(lock)`), so other code can take the same
    /// lock directly.
    ///
    /// ```
    /// let lock = multiproc::Lock::new()?;
    /// let cond = multiproc::Condition::with_lock(lock.clone())?;
    /// let guard = lock.acquire()?; // the same lock
    /// assert!(cond.lock().try_acquire().is_err());
    /// drop(guard);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn with_lock(lock: Lock) -> Result<Condition> {
        let seq = Region::new(std::mem::size_of::<Seq>(), "a Condition")?;
        Ok(Condition { lock, seq })
    }

    /// The condition's lock.
    ///
    /// ```
    /// let cond = multiproc::Condition::new()?;
    /// let mut guard = cond.lock().acquire()?;
    /// assert!(!cond.wait_timeout(&mut guard, std::time::Duration::ZERO)?); // a guard of its lock
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn lock(&self) -> &Lock {
        &self.lock
    }

    fn seq(&self) -> &Seq {
        // SAFETY: the region is page-aligned, at least one Seq long, zero-initialized (a valid
        // Seq: two atomics) and kept mapped by `self`.
        unsafe { &*self.seq.ptr().cast::<Seq>() }
    }

    /// Takes the lock (like entering Python's `with cond:`); see [`Lock::acquire`].
    ///
    /// ```
    /// let cond = multiproc::Condition::new()?;
    /// let guard = cond.acquire()?;
    /// assert!(cond.lock().try_acquire().is_err());
    /// drop(guard);
    /// assert!(cond.lock().try_acquire().is_ok());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.lock.acquire()
    }

    fn wait_until(&self, guard: &mut LockGuard<'_>, deadline: Option<Instant>) -> Result<bool> {
        if !guard.lock.handle().same_as(self.lock.handle()) {
            return Err(Error::invalid_input(
                "Condition::wait needs a guard of this condition's own lock; take it with cond.acquire()",
            ));
        }
        let raw = self.lock.handle().raw();
        match self.seq().wait(raw, deadline, None) {
            Ok((timed_out, Locked::Clean)) => Ok(!timed_out),
            Ok((_, Locked::OwnerDied(pid))) => Err(super::owner_died("the Condition's lock (this guard holds it again)", pid)),
            Err(e) => Err(super::lock_failed("the Condition's lock", e, None)),
        }
    }

    /// Releases the lock, sleeps until notified, and takes the lock back. May return
    /// spuriously: check your condition again. If a process died holding the lock meanwhile,
    /// an [`OwnerDied`](crate::ErrorKind::OwnerDied) error, with the guard holding the lock.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cond = multiproc::Condition::new()?;
    /// let flag = multiproc::Event::new()?;
    /// let (c, f) = (cond.clone(), flag.clone());
    /// let child = multiproc::spawn(move || {
    ///     let _g = c.acquire().unwrap();
    ///     f.set();
    ///     c.notify_all();
    /// })?;
    /// let mut guard = cond.acquire()?;
    /// while !flag.is_set() {
    ///     cond.wait(&mut guard)?;
    /// }
    /// assert!(flag.is_set());
    /// drop(guard);
    /// child.join()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait(&self, guard: &mut LockGuard<'_>) -> Result<()> {
        self.wait_until(guard, None).map(|_| ())
    }

    /// Like [`wait`](Condition::wait), for at most `timeout`: `Ok(false)` if it ran out
    /// (Python's `wait(timeout)` returning False). The lock is held again either way.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cond = multiproc::Condition::new()?;
    /// let mut guard = cond.acquire()?;
    /// assert!(!cond.wait_timeout(&mut guard, Duration::from_millis(10))?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_timeout(&self, guard: &mut LockGuard<'_>, timeout: Duration) -> Result<bool> {
        self.wait_until(guard, Some(Instant::now() + timeout))
    }

    /// Waits until `ready()` is true (checked with the lock held, before the first wait and
    /// after each wake-up).
    ///
    /// ```
    /// let cond = multiproc::Condition::new()?;
    /// let mut guard = cond.acquire()?;
    /// let mut checks = 0;
    /// cond.wait_for(&mut guard, || { checks += 1; true })?; // already true: no wait
    /// assert_eq!(checks, 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_for(&self, guard: &mut LockGuard<'_>, mut ready: impl FnMut() -> bool) -> Result<()> {
        while !ready() {
            self.wait_until(guard, None)?;
        }
        Ok(())
    }

    /// Waits at most `timeout` until `ready()` is true; returns its last value (Python's
    /// `wait_for(predicate, timeout)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let cond = multiproc::Condition::new()?;
    /// let mut guard = cond.acquire()?;
    /// assert!(!cond.wait_for_timeout(&mut guard, || false, Duration::from_millis(10))?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_for_timeout(&self, guard: &mut LockGuard<'_>, mut ready: impl FnMut() -> bool, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
            self.wait_until(guard, Some(deadline))?;
        }
    }

    /// Wakes up to `n` waiters (Python's `notify(n)`). Hold the lock while changing the data
    /// the waiters check, so none misses the change.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cond = multiproc::Condition::new()?;
    /// let c = cond.clone();
    /// let mut child = multiproc::spawn(move || {
    ///     let mut guard = c.acquire().unwrap();
    ///     c.wait_timeout(&mut guard, Duration::from_secs(10)).unwrap() // true: notified
    /// })?;
    /// // Notify until the child has been woken (it may not be waiting yet at first).
    /// let woken = loop {
    ///     cond.notify(1);
    ///     match child.join_timeout(Duration::from_millis(10)) {
    ///         Ok(woken) => break woken,
    ///         Err(e) => assert!(e.is_timeout()),
    ///     }
    /// };
    /// assert!(woken);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn notify(&self, n: usize) {
        self.seq().notify(n.min(u32::MAX as usize) as u32);
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// use std::time::Duration;
    /// let cond = multiproc::Condition::new()?;
    /// let waiters: Vec<_> = (0..2)
    ///     .map(|_| {
    ///         let c = cond.clone();
    ///         multiproc::spawn(move || {
    ///             let mut guard = c.acquire().unwrap();
    ///             c.wait_timeout(&mut guard, Duration::from_secs(10)).unwrap()
    ///         })
    ///     })
    ///     .collect::<Result<_, _>>()?;
    /// for mut w in waiters {
    ///     let woken = loop {
    ///         cond.notify_all();
    ///         match w.join_timeout(Duration::from_millis(10)) {
    ///             Ok(woken) => break woken,
    ///             Err(e) => assert!(e.is_timeout()),
    ///         }
    ///     };
    ///     assert!(woken);
    /// }
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn notify_all(&self) {
        self.seq().notify_all();
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition").field("lock", &self.lock).finish()
    }
}
