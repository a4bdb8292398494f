//! `Semaphore`: Python's `multiprocessing.Semaphore` and `BoundedSemaphore`.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::ipc_sys::{futex_wait, futex_wake};
use crate::shm::Region;

#[repr(C)]
struct State {
    count: AtomicU32,
    max: AtomicU32,
    waiters: AtomicU32,
}

/// A counter of permits shared between processes, like Python's `multiprocessing.Semaphore`
/// ([`new`](Semaphore::new)) and `BoundedSemaphore` ([`bounded`](Semaphore::bounded)).
///
/// [`acquire`](Semaphore::acquire) takes a permit, waiting while there is none, and returns a
/// [`SemaphoreGuard`] that gives it back when dropped; or keep the permit with
/// [`SemaphoreGuard::forget`] and give one back from anywhere with
/// [`release`](Semaphore::release) (Python's style: one process acquires, another releases).
///
/// A permit held by a process that dies is not given back (as in Python): a semaphore cannot
/// know which process meant to release it. Use timeouts where that matters.
///
/// **Send/Sync:** both; the count is an atomic in shared memory, woken through a futex. The
/// guard is `Send` too (any thread may give a permit back).
///
/// **Drop:** unmaps the semaphore's memory in this process once the last clone is dropped.
///
/// ```
/// use std::time::Duration;
/// use multiproc::Semaphore;
/// let ready = Semaphore::new(0)?;
/// let signal = ready.clone();
/// let child = multiproc::spawn(move || signal.release().unwrap())?;
/// ready.acquire_timeout(Duration::from_secs(10))?.forget(); // the child's permit
/// child.join()?;
/// assert_eq!(ready.get_value(), 0);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct Semaphore {
    region: Arc<Region>,
}

/// A permit taken from a [`Semaphore`]; dropping it gives the permit back.
///
/// ```
/// let sem = multiproc::Semaphore::bounded(1)?;
/// let permit = sem.acquire()?;
/// assert_eq!(sem.get_value(), 0);
/// drop(permit);
/// assert_eq!(sem.get_value(), 1);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    sem: &'a Semaphore,
}

impl Semaphore {
    /// A semaphore with `value` permits that may be released beyond `value` (Python's
    /// `Semaphore(value)`), up to 2³¹ − 1.
    ///
    /// ```
    /// let sem = multiproc::Semaphore::new(0)?;
    /// sem.release()?;
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new(value: u32) -> Result<Semaphore> {
        Semaphore::with_max(value, i32::MAX as u32)
    }

    /// A semaphore with `value` permits that may never hold more (Python's
    /// `BoundedSemaphore(value)`): releasing beyond is an
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error, which catches a release too many.
    ///
    /// ```
    /// let sem = multiproc::Semaphore::bounded(2)?;
    /// let a = sem.acquire()?;
    /// drop(a);
    /// assert_eq!(sem.release().unwrap_err().kind(), multiproc::ErrorKind::InvalidState);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn bounded(value: u32) -> Result<Semaphore> {
        Semaphore::with_max(value, value)
    }

    fn with_max(value: u32, max: u32) -> Result<Semaphore> {
        if value > max {
            return Err(Error::invalid_input(format!("a semaphore's value must be at most {max}, got {value}")));
        }
        let region = Region::new(std::mem::size_of::<State>(), "a Semaphore")?;
        let sem = Semaphore { region };
        sem.state().count.store(value, Ordering::Relaxed);
        sem.state().max.store(max, Ordering::Relaxed);
        Ok(sem)
    }

    fn state(&self) -> &State {
        // SAFETY: the region is page-aligned, at least one State long, zero-initialized (a valid
        // State: all atomics) and kept mapped by `self`. All fields are atomics.
        unsafe { &*self.region.ptr().cast::<State>() }
    }

    fn take(&self, deadline: Option<Instant>, waited: Option<Duration>) -> Result<SemaphoreGuard<'_>> {
        let state = self.state();
        loop {
            let v = state.count.load(Ordering::Acquire);
            if v > 0 {
                if state.count.compare_exchange_weak(v, v - 1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                    return Ok(SemaphoreGuard { sem: self });
                }
                continue;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Err(match waited {
                    Some(d) => Error::timeout(format!("no semaphore permit became free within {d:?}")),
                    None => Error::timeout("no semaphore permit is free (try_acquire does not wait)"),
                });
            }
            state.waiters.fetch_add(1, Ordering::SeqCst);
            futex_wait(&state.count, 0, left);
            state.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Takes a permit, waiting as long as it takes.
    ///
    /// ```
    /// let sem = multiproc::Semaphore::new(1)?;
    /// let permit = sem.acquire()?;
    /// assert_eq!(sem.get_value(), 0);
    /// drop(permit);
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>> {
        self.take(None, None)
    }

    /// Takes a permit if one is free now; a [`Timeout`](crate::ErrorKind::Timeout) error if not.
    ///
    /// ```
    /// let sem = multiproc::Semaphore::new(1)?;
    /// let _permit = sem.try_acquire()?;
    /// assert!(sem.try_acquire().unwrap_err().is_timeout());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphoreGuard<'_>> {
        self.take(Some(Instant::now()), None)
    }

    /// Waits at most `timeout` for a permit; a [`Timeout`](crate::ErrorKind::Timeout) error
    /// when it runs out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = multiproc::Semaphore::new(0)?;
    /// assert!(sem.acquire_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>> {
        self.take(Some(Instant::now() + timeout), Some(timeout))
    }

    /// Gives one permit back and wakes a waiter. An
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error if that would exceed a bounded
    /// semaphore's initial value.
    ///
    /// ```
    /// let sem = multiproc::Semaphore::new(0)?;
    /// sem.release()?;
    /// assert_eq!(sem.get_value(), 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn release(&self) -> Result<()> {
        let state = self.state();
        let max = state.max.load(Ordering::Relaxed);
        state
            .count
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |v| (v < max).then_some(v + 1))
            .map_err(|_| Error::invalid_state(format!("semaphore released too many times: it would hold more than {max} permits")))?;
        if state.waiters.load(Ordering::SeqCst) > 0 {
            futex_wake(&state.count, 1);
        }
        Ok(())
    }

    /// The number of free permits now (Python's `get_value()`); may change at once.
    ///
    /// ```
    /// assert_eq!(multiproc::Semaphore::new(3)?.get_value(), 3);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get_value(&self) -> u32 {
        self.state().count.load(Ordering::Acquire)
    }
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit taken: nothing is given back on drop. Someone (any process) gives it
    /// back later with [`Semaphore::release`].
    ///
    /// ```
    /// let sem = multiproc::Semaphore::new(1)?;
    /// sem.acquire()?.forget();
    /// assert_eq!(sem.get_value(), 0);
    /// sem.release()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        let _ = self.sem.release();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Semaphore")
            .field("value", &state.count.load(Ordering::Relaxed))
            .field("max", &state.max.load(Ordering::Relaxed))
            .finish()
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").field("semaphore", self.sem).finish()
    }
}
