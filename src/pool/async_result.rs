//! `AsyncResult`: the handle `apply_async` returns, Python's `AsyncResult`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::engine::{decode_done, Engine};
use super::{lock, with_engine};
use crate::error::{Error, Result};

/// The pending result of [`Pool::apply_async`](crate::Pool::apply_async).
///
/// Waiting on it (`get`, `wait`, `ready`) moves the whole pool forward. It stays valid after
/// the pool is dropped: then `get` returns an error if the task had not finished.
///
/// **Drop:** the task is not cancelled; its result is discarded when it arrives.
///
/// ```
/// use std::time::Duration;
/// let pool = multiproc::Pool::new(1)?;
/// let r = pool.apply_async(|a: u32, b: u32| a * b, (6, 7))?;
/// r.wait_timeout(Duration::from_secs(10));
/// assert!(r.ready());
/// assert!(r.successful()?);
/// assert_eq!(r.get()?, 42);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct AsyncResult<R> {
    engine: Arc<Mutex<Engine>>,
    id: u64,
    taken: bool,
    _value: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    pub(crate) fn new(engine: Arc<Mutex<Engine>>, id: u64) -> AsyncResult<R> {
        AsyncResult { engine, id, taken: false, _value: PhantomData }
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Waits for the task and returns its value or its error.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// assert_eq!(pool.apply_async(|| "hi".to_string(), ())?.get()?, "hi");
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get(mut self) -> Result<R> {
        self.get_deadline(None)
    }

    /// Waits at most `timeout`. On [`Timeout`](crate::ErrorKind::Timeout) the task goes on and
    /// you can ask again; the pool stays usable.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = multiproc::Pool::new(1)?;
    /// let mut r = pool.apply_async(|| std::thread::sleep(Duration::from_millis(300)), ())?;
    /// assert!(r.get_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// r.get_timeout(Duration::from_secs(10))?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get_timeout(&mut self, timeout: Duration) -> Result<R> {
        self.get_deadline(Some(Instant::now() + timeout))
    }

    fn get_deadline(&mut self, deadline: Option<Instant>) -> Result<R> {
        if self.taken {
            return Err(Error::invalid_state("this AsyncResult's value was already taken"));
        }
        let id = self.id;
        let done = with_engine(&self.engine, |engine| -> Result<_> {
            if !engine.drive(deadline, |e| e.settled(id))? {
                return Err(Error::timeout("the task is still running after the timeout; ask again with get() or get_timeout()"));
            }
            Ok(engine.take(id))
        })?;
        self.taken = true;
        decode_done(done)
    }

    /// Waits until the task finished (its value is then ready for `get`).
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// let r = pool.apply_async(|| 1, ())?;
    /// r.wait();
    /// assert!(r.ready());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait(&self) {
        let id = self.id;
        let _ = with_engine(&self.engine, |engine| engine.drive(None, |e| e.settled(id)));
    }

    /// Waits at most `timeout`; true if the task finished.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// let r = pool.apply_async(|| 1, ())?;
    /// assert!(r.wait_timeout(std::time::Duration::from_secs(10)));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let id = self.id;
        let deadline = Instant::now() + timeout;
        with_engine(&self.engine, |engine| engine.drive(Some(deadline), |e| e.settled(id))).unwrap_or(false)
    }

    /// True once the task finished (successfully or not). Never waits.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// let r = pool.apply_async(|| std::thread::sleep(std::time::Duration::from_secs(30)), ())?;
    /// assert!(!r.ready());
    /// pool.terminate()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn ready(&self) -> bool {
        let id = self.id;
        with_engine(&self.engine, |engine| engine.drive(Some(Instant::now()), |e| e.settled(id))).unwrap_or(false)
    }

    /// Python's `successful()`: whether the task returned a value; an
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error if it has not finished.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// let r = pool.apply_async(|| -> u8 { panic!("no") }, ())?;
    /// r.wait();
    /// assert!(!r.successful()?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn successful(&self) -> Result<bool> {
        if !self.ready() {
            return Err(Error::invalid_state("the task has not finished; wait() before asking successful()"));
        }
        let engine = lock(&self.engine);
        Ok(engine.succeeded(self.id))
    }
}

impl<R> Drop for AsyncResult<R> {
    fn drop(&mut self) {
        if !self.taken {
            lock(&self.engine).forget_result(self.id);
        }
    }
}

impl<R> fmt::Debug for AsyncResult<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult").field("task", &self.id).field("taken", &self.taken).finish()
    }
}
