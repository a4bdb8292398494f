//! `Lock`: Python's `multiprocessing.Lock`, a robust mutex shared between processes.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::ipc_sys::{LockError, Locked, RawMutex};
use crate::shm::Region;

/// A robust process-shared mutex in a mapping of its own (or inside another object's mapping,
/// as for `Value`). Shared by `Lock`, `RLock` and `Condition`.
#[derive(Clone)]
pub(crate) struct MutexHandle {
    /// Keeps the mapping that holds the mutex alive.
    _region: Arc<Region>,
    mutex: NonNull<RawMutex>,
}

// SAFETY: the pointer targets a process-shared pthread mutex inside `region`, which the handle
// keeps mapped; pthread mutexes may be used from any thread, and each guard (which is !Send)
// unlocks on the thread that locked.
unsafe impl Send for MutexHandle {}
// SAFETY: as above; every operation through `&MutexHandle` is a pthread call on the mutex.
unsafe impl Sync for MutexHandle {}

impl MutexHandle {
    /// A new mutex in a mapping of its own.
    pub(crate) fn new(recursive: bool, what: &str) -> Result<MutexHandle> {
        let region = Region::new(std::mem::size_of::<RawMutex>(), what)?;
        // SAFETY: the region is fresh, page-aligned and at least one RawMutex long.
        unsafe { MutexHandle::init_in(region, 0, recursive) }
    }

    /// Initializes a mutex at byte `offset` of `region`.
    ///
    /// # Safety
    /// `offset` must be aligned for `RawMutex`, leave room for one inside the region, and the
    /// bytes there must not be used by anything else.
    pub(crate) unsafe fn init_in(region: Arc<Region>, offset: usize, recursive: bool) -> Result<MutexHandle> {
        // SAFETY: the caller guarantees the bytes at `offset` are in bounds, aligned and unused.
        let ptr = unsafe { region.ptr().add(offset) }.cast::<RawMutex>();
        // SAFETY: as above; nobody else can see this memory yet.
        unsafe { RawMutex::init(ptr, recursive) }.map_err(|e| Error::start("pthread_mutex_init", e))?;
        let mutex = NonNull::new(ptr).ok_or_else(|| Error::invalid_state("shared memory mapped at address 0"))?;
        Ok(MutexHandle { _region: region, mutex })
    }

    /// The mutex itself.
    pub(crate) fn raw(&self) -> &RawMutex {
        // SAFETY: the mutex was initialized in `init_in` and `region` keeps it mapped.
        unsafe { self.mutex.as_ref() }
    }

    /// True if both handles are the same mutex.
    pub(crate) fn same_as(&self, other: &MutexHandle) -> bool {
        self.mutex == other.mutex
    }

    /// Locks, reporting a dead previous owner as an `OwnerDied` error after releasing again.
    pub(crate) fn acquire(&self, deadline: Option<Instant>, what: &str, waited: Option<Duration>) -> Result<()> {
        let result = match deadline {
            Some(d) if d <= Instant::now() => self.raw().try_lock(),
            _ => self.raw().lock(deadline),
        };
        self.check(result, what, waited)
    }

    pub(crate) fn check(&self, result: std::result::Result<Locked, LockError>, what: &str, waited: Option<Duration>) -> Result<()> {
        match result {
            Ok(Locked::Clean) => Ok(()),
            Ok(Locked::OwnerDied(pid)) => {
                let _ = self.raw().unlock();
                Err(super::owner_died(what, pid))
            }
            Err(e) => Err(super::lock_failed(what, e, waited)),
        }
    }
}

impl fmt::Debug for MutexHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexHandle").field("at", &self.mutex).finish()
    }
}

/// A lock shared between processes, like Python's `multiprocessing.Lock`, that cannot be
/// deadlocked by a holder that dies.
///
/// [`acquire`](Lock::acquire) returns a [`LockGuard`]; the lock is released when the guard is
/// dropped. If the process that held the lock died (killed, crashed, `terminate()`d), the next
/// `acquire` returns an [`OwnerDied`](crate::ErrorKind::OwnerDied) error naming its pid, and
/// the lock is free again: check the data it protects, then acquire again.
///
/// Acquiring a lock the same thread already holds is an
/// [`InvalidState`](crate::ErrorKind::InvalidState) error rather than a deadlock; use
/// [`RLock`](crate::RLock) for re-entrant locking. Unlike Python's `Lock`, a Rust lock is
/// released by the thread that acquired it (the guard is not `Send`); use a
/// [`Semaphore`](crate::Semaphore) to release from elsewhere.
///
/// **Send/Sync:** both. The mutex is `PTHREAD_PROCESS_SHARED`, which works between threads as
/// between processes; clones refer to the same lock.
///
/// **Drop:** unmaps the lock's memory in this process once the last clone is dropped. Dropping a
/// handle while holding its guard is impossible (the guard borrows it).
///
/// ```
/// use multiproc::{Lock, Value};
/// let lock = Lock::new()?;
/// let total = Value::new(0u64)?;
/// let children: Vec<_> = (0..2)
///     .map(|_| {
///         let (lock, total) = (lock.clone(), total.clone());
///         multiproc::spawn(move || {
///             for _ in 0..100 {
///                 let _guard = lock.acquire().unwrap();
///                 total.set(total.get().unwrap() + 1).unwrap();
///             }
///         })
///     })
///     .collect::<Result<_, _>>()?;
/// for child in children {
///     child.join()?;
/// }
/// assert_eq!(total.get()?, 200);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct Lock {
    handle: MutexHandle,
}

/// Proof that this thread holds a [`Lock`]; dropping it releases the lock.
///
/// Not `Send`: a pthread mutex must be unlocked by the thread that locked it.
///
/// ```compile_fail
/// let lock = multiproc::Lock::new().unwrap();
/// let guard = lock.acquire().unwrap();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: `LockGuard` cannot be sent to another thread
/// });
/// ```
///
/// ```
/// let lock = multiproc::Lock::new()?;
/// {
///     let _guard = lock.acquire()?;
///     assert!(lock.try_acquire().is_err()); // held (even by us)
/// }
/// assert!(lock.try_acquire().is_ok()); // released by the drop
/// # Ok::<(), multiproc::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    pub(crate) lock: &'a Lock,
    _not_send: PhantomData<*const ()>,
}

impl Lock {
    /// A new unlocked lock in shared memory.
    ///
    /// ```
    /// let lock = multiproc::Lock::new()?;
    /// let guard = lock.acquire()?;
    /// assert!(lock.try_acquire().is_err());
    /// drop(guard);
    /// assert!(lock.try_acquire().is_ok());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<Lock> {
        Ok(Lock { handle: MutexHandle::new(false, "a Lock")? })
    }

    pub(crate) fn handle(&self) -> &MutexHandle {
        &self.handle
    }

    fn guard(&self) -> LockGuard<'_> {
        LockGuard { lock: self, _not_send: PhantomData }
    }

    /// Waits as long as it takes for the lock.
    ///
    /// Errors: [`OwnerDied`](crate::ErrorKind::OwnerDied) if the previous holder died holding
    /// it (the lock is free again); [`InvalidState`](crate::ErrorKind::InvalidState) if this
    /// thread already holds it.
    ///
    /// ```
    /// let lock = multiproc::Lock::new()?;
    /// let guard = lock.acquire()?;
    /// assert_eq!(lock.acquire().unwrap_err().kind(), multiproc::ErrorKind::InvalidState);
    /// drop(guard);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>> {
        self.handle.acquire(None, "the Lock", None)?;
        Ok(self.guard())
    }

    /// Takes the lock only if it is free now; a [`Timeout`](crate::ErrorKind::Timeout) error
    /// if anyone holds it (Python's `acquire(block=False)`).
    ///
    /// ```
    /// let lock = multiproc::Lock::new()?;
    /// let held = lock.clone();
    /// let child = multiproc::spawn(move || held.try_acquire().map(drop).is_ok())?;
    /// assert!(child.join()?); // free: the child got it
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Result<LockGuard<'_>> {
        self.handle.acquire(Some(Instant::now()), "the Lock", None)?;
        Ok(self.guard())
    }

    /// Waits at most `timeout` for the lock; a [`Timeout`](crate::ErrorKind::Timeout) error
    /// when it runs out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = multiproc::Lock::new()?;
    /// let _guard = lock.acquire()?;
    /// let other = lock.clone();
    /// let child = multiproc::spawn(move || other.acquire_timeout(Duration::from_millis(50)).unwrap_err().is_timeout())?;
    /// assert!(child.join()?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>> {
        self.handle.acquire(Some(Instant::now() + timeout), "the Lock", Some(timeout))?;
        Ok(self.guard())
    }
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.handle.raw().unlock();
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock").field("at", &self.handle.mutex).finish()
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").field("lock", self.lock).finish()
    }
}
