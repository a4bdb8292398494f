//! `Barrier`: Python's `multiprocessing.Barrier`, a meeting point for a fixed number of processes.

use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::ipc_sys::{LockError, Locked, RawMutex, Seq};
use crate::shm::Region;

/// Everything lives in shared memory. Fields other than the mutex and `seq` are only changed
/// while holding the mutex; they are atomics so `&State` is all we ever need.
#[repr(C)]
struct State {
    mutex: RawMutex,
    seq: Seq,
    parties: AtomicU32,
    /// Arrived in the current generation.
    count: AtomicU32,
    /// Bumped each time a generation ends (passed, or broken by abort/reset/timeout).
    generation: AtomicU32,
    /// Nonzero while the barrier is broken (until `reset`).
    broken: AtomicU32,
    /// Bit `g % 64` is set if generation `g` ended broken rather than passed, so a waiter that
    /// wakes late still learns how its own generation ended.
    outcomes: AtomicU64,
}

/// A barrier for `parties` processes (or threads), like Python's `multiprocessing.Barrier`:
/// each [`wait`](Barrier::wait) blocks until `parties` callers are waiting, then all go on. It
/// can be used again for the next round.
///
/// `wait` returns the caller's arrival index, `0..parties`, different for each (the last to
/// arrive gets `parties - 1`); use it to pick one process for a once-per-round job, as Python's
/// `action` does. If a wait times out, or [`abort`](Barrier::abort) is called, the barrier is
/// *broken*: current and later waits fail with [`InvalidState`](crate::ErrorKind::InvalidState)
/// until [`reset`](Barrier::reset).
///
/// A party that dies before arriving leaves the others waiting: give `wait_timeout` a limit
/// where that can happen. One that dies while waiting still counts as arrived.
///
/// **Send/Sync:** both; its state is in shared memory, guarded by a robust process-shared
/// mutex and woken through a futex.
///
/// **Drop:** unmaps the barrier's memory in this process once the last clone is dropped.
///
/// ```
/// use std::time::Duration;
/// let barrier = multiproc::Barrier::new(3)?;
/// let children: Vec<_> = (0..2)
///     .map(|_| {
///         let b = barrier.clone();
///         multiproc::spawn(move || b.wait_timeout(Duration::from_secs(10)).unwrap())
///     })
///     .collect::<Result<_, _>>()?;
/// let mine = barrier.wait_timeout(Duration::from_secs(10))?;
/// let mut indexes = vec![mine];
/// for child in children {
///     indexes.push(child.join()?);
/// }
/// indexes.sort();
/// assert_eq!(indexes, [0, 1, 2]);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct Barrier {
    region: Arc<Region>,
}

fn broken_error() -> Error {
    Error::invalid_state(
        "the barrier is broken (a wait timed out, abort() was called, or a party died inside it); call reset() to use it again",
    )
}

impl Barrier {
    /// A barrier for `parties` callers. An [`InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error for 0.
    ///
    /// ```
    /// assert_eq!(multiproc::Barrier::new(4)?.parties(), 4);
    /// assert!(multiproc::Barrier::new(0).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new(parties: u32) -> Result<Barrier> {
        if parties == 0 {
            return Err(Error::invalid_input("a Barrier needs at least 1 party"));
        }
        let region = Region::new(std::mem::size_of::<State>(), "a Barrier")?;
        let state = region.ptr().cast::<State>();
        // SAFETY: the region is fresh, page-aligned and at least one State long; nobody else
        // sees it yet. Zeroed memory is a valid Seq and valid atomics.
        unsafe { RawMutex::init(std::ptr::addr_of_mut!((*state).mutex), false) }
            .map_err(|e| Error::start("pthread_mutex_init", e))?;
        let barrier = Barrier { region };
        barrier.state().parties.store(parties, Ordering::Relaxed);
        Ok(barrier)
    }

    fn state(&self) -> &State {
        // SAFETY: initialized in `new`, kept mapped by `self`; all fields are safe to share.
        unsafe { &*self.region.ptr().cast::<State>() }
    }

    /// Takes the internal mutex. If a process died holding it, the barrier's counters may be
    /// half-updated: break the barrier (waking everyone) and report it.
    fn lock(&self) -> Result<()> {
        let result = self.state().mutex.lock(None);
        self.after_lock(result)
    }

    fn after_lock(&self, result: std::result::Result<Locked, LockError>) -> Result<()> {
        match result {
            Ok(Locked::Clean) => Ok(()),
            Ok(Locked::OwnerDied(pid)) => {
                self.break_now();
                self.unlock();
                Err(super::owner_died("the Barrier's internal lock", pid))
            }
            Err(e) => Err(super::lock_failed("the Barrier's internal lock", e, None)),
        }
    }

    fn unlock(&self) {
        let _ = self.state().mutex.unlock();
    }

    /// Ends the current generation as broken and marks the barrier broken. Mutex held.
    fn break_now(&self) {
        let s = self.state();
        let g = s.generation.load(Ordering::Relaxed);
        s.outcomes.fetch_or(1 << (g % 64), Ordering::Relaxed);
        s.broken.store(1, Ordering::Relaxed);
        s.count.store(0, Ordering::Relaxed);
        s.generation.store(g.wrapping_add(1), Ordering::Relaxed);
        s.seq.notify_all();
    }

    fn wait_until(&self, deadline: Option<Instant>, waited: Option<Duration>) -> Result<usize> {
        let s = self.state();
        self.lock()?;
        if s.broken.load(Ordering::Relaxed) != 0 {
            self.unlock();
            return Err(broken_error());
        }
        let g = s.generation.load(Ordering::Relaxed);
        let index = s.count.load(Ordering::Relaxed);
        if index + 1 >= s.parties.load(Ordering::Relaxed) {
            // Last to arrive: record the outcome before the new generation is visible.
            s.outcomes.fetch_and(!(1 << (g % 64)), Ordering::Relaxed);
            s.count.store(0, Ordering::Relaxed);
            s.generation.store(g.wrapping_add(1), Ordering::Relaxed);
            s.seq.notify_all();
            self.unlock();
            return Ok(index as usize);
        }
        s.count.store(index + 1, Ordering::Relaxed);
        loop {
            let (timed_out, locked) = match s.seq.wait(&s.mutex, deadline, None) {
                Ok(r) => r,
                Err(e) => return Err(super::lock_failed("the Barrier's internal lock", e, None)),
            };
            if let Locked::OwnerDied(_) = locked {
                // Someone died mid-update: the counters cannot be trusted.
                self.after_lock(Ok(locked))?;
            }
            if s.generation.load(Ordering::Relaxed) != g {
                let broken = s.outcomes.load(Ordering::Relaxed) & (1 << (g % 64)) != 0;
                self.unlock();
                return if broken { Err(broken_error()) } else { Ok(index as usize) };
            }
            if timed_out {
                self.break_now();
                self.unlock();
                let d = waited.unwrap_or_default();
                return Err(Error::timeout(format!(
                    "only {} of {} parties reached the barrier within {d:?}; the barrier is now broken (call reset() to reuse it)",
                    index + 1,
                    s.parties.load(Ordering::Relaxed)
                )));
            }
        }
    }

    /// Waits until `parties` callers are waiting; returns this caller's arrival index.
    /// An [`InvalidState`](crate::ErrorKind::InvalidState) error if the barrier is or becomes
    /// broken. In tests prefer [`wait_timeout`](Barrier::wait_timeout).
    ///
    /// ```
    /// let barrier = multiproc::Barrier::new(1)?;
    /// assert_eq!(barrier.wait()?, 0); // one party: passes at once
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait(&self) -> Result<usize> {
        self.wait_until(None, None)
    }

    /// Like [`wait`](Barrier::wait), for at most `timeout`. When it runs out this caller gets a
    /// [`Timeout`](crate::ErrorKind::Timeout) error and the barrier breaks, so the others do
    /// not wait forever either (Python's behaviour).
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = multiproc::Barrier::new(2)?;
    /// assert!(barrier.wait_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// assert!(barrier.is_broken());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<usize> {
        self.wait_until(Some(Instant::now() + timeout), Some(timeout))
    }

    /// Breaks the barrier: every current and later waiter gets an error until
    /// [`reset`](Barrier::reset).
    ///
    /// ```
    /// let barrier = multiproc::Barrier::new(2)?;
    /// barrier.abort()?;
    /// assert!(barrier.wait().is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn abort(&self) -> Result<()> {
        self.lock()?;
        self.break_now();
        self.unlock();
        Ok(())
    }

    /// Returns the barrier to its empty, unbroken state. Callers waiting right now get the
    /// broken error (as in Python).
    ///
    /// ```
    /// let barrier = multiproc::Barrier::new(1)?;
    /// barrier.abort()?;
    /// barrier.reset()?;
    /// assert_eq!(barrier.wait()?, 0);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn reset(&self) -> Result<()> {
        let s = self.state();
        match self.lock() {
            Ok(()) => {}
            // A dead holder broke the barrier; resetting is exactly the repair.
            Err(e) if e.kind() == crate::ErrorKind::OwnerDied => self.lock()?,
            Err(e) => return Err(e),
        }
        if s.count.load(Ordering::Relaxed) > 0 {
            self.break_now();
        }
        s.broken.store(0, Ordering::Relaxed);
        self.unlock();
        Ok(())
    }

    /// The number of parties the barrier waits for.
    ///
    /// ```
    /// assert_eq!(multiproc::Barrier::new(2)?.parties(), 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn parties(&self) -> usize {
        self.state().parties.load(Ordering::Relaxed) as usize
    }

    /// How many callers are waiting right now.
    ///
    /// ```
    /// assert_eq!(multiproc::Barrier::new(2)?.n_waiting(), 0);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.state().count.load(Ordering::Relaxed) as usize
    }

    /// True while the barrier is broken (after a timeout or `abort`, until `reset`).
    ///
    /// ```
    /// let barrier = multiproc::Barrier::new(2)?;
    /// assert!(!barrier.is_broken());
    /// barrier.abort()?;
    /// assert!(barrier.is_broken());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_broken(&self) -> bool {
        self.state().broken.load(Ordering::Relaxed) != 0
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.is_broken())
            .finish()
    }
}
