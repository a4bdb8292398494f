//! `Event`: Python's `multiprocessing.Event`, a flag processes can wait for.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::ipc_sys::{futex_wait, futex_wake};
use crate::shm::Region;

#[repr(C)]
struct State {
    flag: AtomicU32,
    waiters: AtomicU32,
}

/// A flag shared between processes, like Python's `multiprocessing.Event`: [`set`](Event::set)
/// wakes everyone in [`wait`](Event::wait); [`clear`](Event::clear) resets it.
///
/// **Send/Sync:** both; the flag is an atomic in shared memory, waited for through a futex.
///
/// **Drop:** unmaps the event's memory in this process once the last clone is dropped.
///
/// ```
/// use std::time::Duration;
/// let started = multiproc::Event::new()?;
/// let flag = started.clone();
/// let child = multiproc::spawn(move || flag.set())?;
/// assert!(started.wait_timeout(Duration::from_secs(10)));
/// child.join()?;
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct Event {
    region: Arc<Region>,
}

impl Event {
    /// A new event, not set.
    ///
    /// ```
    /// assert!(!multiproc::Event::new()?.is_set());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<Event> {
        Ok(Event { region: Region::new(std::mem::size_of::<State>(), "an Event")? })
    }

    fn state(&self) -> &State {
        // SAFETY: the region is page-aligned, at least one State long, zero-initialized (a valid
        // State: all atomics) and kept mapped by `self`.
        unsafe { &*self.region.ptr().cast::<State>() }
    }

    /// True once set, until cleared.
    ///
    /// ```
    /// let e = multiproc::Event::new()?;
    /// e.set();
    /// assert!(e.is_set());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_set(&self) -> bool {
        self.state().flag.load(Ordering::Acquire) != 0
    }

    /// Sets the flag and wakes every waiter, in every process.
    ///
    /// ```
    /// let e = multiproc::Event::new()?;
    /// let flag = e.clone();
    /// multiproc::spawn(move || flag.set())?.join()?;
    /// assert!(e.is_set()); // set by the child
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn set(&self) {
        let state = self.state();
        state.flag.store(1, Ordering::SeqCst);
        if state.waiters.load(Ordering::SeqCst) > 0 {
            futex_wake(&state.flag, u32::MAX);
        }
    }

    /// Resets the flag; later waits sleep until the next `set`.
    ///
    /// ```
    /// let e = multiproc::Event::new()?;
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn clear(&self) {
        self.state().flag.store(0, Ordering::SeqCst);
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let state = self.state();
        loop {
            if state.flag.load(Ordering::Acquire) != 0 {
                return true;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return false;
            }
            state.waiters.fetch_add(1, Ordering::SeqCst);
            futex_wait(&state.flag, 0, left);
            state.waiters.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Waits as long as it takes for the flag. In tests prefer
    /// [`wait_timeout`](Event::wait_timeout), so a missing `set` fails instead of hanging.
    ///
    /// ```
    /// let e = multiproc::Event::new()?;
    /// let flag = e.clone();
    /// let child = multiproc::spawn(move || flag.set())?;
    /// e.wait();
    /// assert!(e.is_set());
    /// child.join()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout`; returns whether the flag is set (Python's `wait(timeout)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let e = multiproc::Event::new()?;
    /// assert!(!e.wait_timeout(Duration::from_millis(10)));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Some(Instant::now() + timeout))
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event").field("is_set", &self.is_set()).finish()
    }
}
