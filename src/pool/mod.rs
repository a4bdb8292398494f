//! `Pool`: Python's `multiprocessing.Pool`, with workers that never run code they do not have.
//!
//! Workers are forked once and reused. A task crosses to a worker as two addresses (its
//! function and a trampoline, see [`call`]) plus its encoded arguments; a worker only gets
//! tasks whose code and data it has: in a notebook, a function from a cell compiled after the
//! workers were forked makes the pool fork fresh workers instead of crashing old ones.

mod async_result;
mod call;
mod code_map;
mod engine;
mod frame;
mod imap;
mod timeline;
mod worker;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

pub use async_result::AsyncResult;
pub use call::StarFn;
pub use imap::Imap;
pub use timeline::{TaskSpan, Timeline};

use call::Slot;
use engine::{decode_done, Engine, PoolState};
use crate::error::{Error, Result};

/// A pool of worker processes, like Python's `multiprocessing.Pool`.
///
/// The task function is never serialized: named functions, closures and closures that capture
/// anything all work. Arguments and results cross with serde. Named functions and closures that
/// capture nothing run on the pool's long-lived workers. A closure that captures values makes
/// the pool fork fresh workers that have those values (one fork per worker per call: cheap, but
/// pass data as arguments in a hot loop).
///
/// Work moves forward whenever you wait on the pool (`map`, `get`, `next`, `join`); there is no
/// background thread. Workers' output is relayed as whole lines while you wait.
///
/// A worker that dies mid-task (killed, segfault, abort, out of memory) fails that task with an
/// error naming its pid and signal; its queued tasks go to other workers, a new worker takes its
/// place, and nothing hangs.
///
/// **Drop:** like leaving Python's `with Pool() as p:`, dropping the pool terminates its workers
/// (SIGTERM, then SIGKILL after 200 ms) and reaps them. Unfinished tasks fail; their
/// [`AsyncResult`]s return an error. To finish the queued work first, call
/// [`close`](Pool::close) and [`join`](Pool::join).
///
/// ```
/// use multiproc::Pool;
///
/// fn square(x: u64) -> u64 { x * x }
///
/// let pool = Pool::new(2)?;
/// assert_eq!(pool.map(square, 0..10)?, vec![0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
/// let offset = 100;
/// assert_eq!(pool.map(move |x: u64| x + offset, [1, 2])?, vec![101, 102]);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Pool {
    engine: Arc<Mutex<Engine>>,
    processes: usize,
}

/// Configures a [`Pool`]: number of processes, an initializer, worker recycling, a timeline.
///
/// ```
/// let pool = multiproc::Pool::builder()
///     .processes(2)
///     .initializer(|| println!("worker ready"))
///     .max_tasks_per_child(100)
///     .build()?;
/// assert_eq!(pool.processes(), 2);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Default)]
pub struct PoolBuilder {
    processes: Option<usize>,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
    max_tasks_per_child: Option<usize>,
    timeline: bool,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.processes)
            .field("initializer", &self.initializer.is_some())
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .field("timeline", &self.timeline)
            .finish()
    }
}

impl PoolBuilder {
    /// A builder with Python's defaults: `cpu_count()` processes, no initializer, workers never
    /// recycled.
    ///
    /// ```
    /// let pool = multiproc::PoolBuilder::new().build()?;
    /// assert_eq!(pool.processes(), multiproc::cpu_count());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of worker processes (at least 1).
    ///
    /// ```
    /// assert!(multiproc::Pool::builder().processes(0).build().is_err());
    /// ```
    pub fn processes(mut self, processes: usize) -> PoolBuilder {
        self.processes = Some(processes);
        self
    }

    /// A function every worker runs once when it starts (Python's `initializer`). If it panics,
    /// the pool is broken: every task fails with that panic.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).initializer(|| ()).build()?;
    /// assert_eq!(pool.apply(|| 7, ())?, 7);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn initializer(mut self, init: impl Fn() + Send + Sync + 'static) -> PoolBuilder {
        self.initializer = Some(Arc::new(init));
        self
    }

    /// Replace each worker after it ran this many tasks (Python's `maxtasksperchild`; a chunk
    /// of `map` counts as one task). Must be at least 1.
    ///
    /// ```
    /// assert!(multiproc::Pool::builder().max_tasks_per_child(0).build().is_err());
    /// ```
    pub fn max_tasks_per_child(mut self, tasks: usize) -> PoolBuilder {
        self.max_tasks_per_child = Some(tasks);
        self
    }

    /// Record which worker ran which task when (see [`Pool::timeline`]).
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).timeline(true).build()?;
    /// pool.apply(|| (), ())?;
    /// assert_eq!(pool.timeline().spans().len(), 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn timeline(mut self, record: bool) -> PoolBuilder {
        self.timeline = record;
        self
    }

    /// Forks the workers.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(3).build()?;
    /// assert_eq!(pool.worker_pids().len(), 3);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn build(self) -> Result<Pool> {
        let processes = self.processes.unwrap_or_else(crate::cpu_count);
        if processes == 0 {
            return Err(Error::invalid_input("a pool needs at least 1 process; use Pool::new(1) or more"));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(Error::invalid_input(
                "max_tasks_per_child must be at least 1; leave it unset to keep workers for the pool's life",
            ));
        }
        let engine = Engine::new(processes, self.max_tasks_per_child, self.initializer, self.timeline)?;
        Ok(Pool { engine: Arc::new(Mutex::new(engine)), processes })
    }
}

/// Python's default `chunksize` for `map`: `ceil(n / (4 × workers))`.
fn default_chunksize(items: usize, workers: usize) -> usize {
    items.div_ceil(4 * workers).max(1)
}

pub(crate) fn lock(engine: &Mutex<Engine>) -> MutexGuard<'_, Engine> {
    // A panic while the lock was held can only come from a bug in this crate or a panicking
    // allocation; the engine's state is still consistent between statements, so carry on.
    engine.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on the locked engine, then the error callbacks it made due, outside the lock.
pub(crate) fn with_engine<T>(engine: &Mutex<Engine>, f: impl FnOnce(&mut Engine) -> T) -> T {
    let (value, fired) = {
        let mut guard = lock(engine);
        let value = f(&mut guard);
        (value, guard.take_fired())
    };
    for (callback, err) in fired {
        callback(&err);
    }
    value
}

/// Forgets the listed tasks when dropped, so an early return never leaves queued tasks that
/// point at a function value that is gone.
struct ForgetOnDrop<'a> {
    engine: &'a Mutex<Engine>,
    ids: Vec<u64>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        let ids = std::mem::take(&mut self.ids);
        lock(self.engine).forget(ids);
    }
}

impl Pool {
    /// A pool of `processes` workers: `Pool::builder().processes(processes).build()`.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// assert_eq!(pool.processes(), 2);
    /// assert!(multiproc::Pool::new(0).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new(processes: usize) -> Result<Pool> {
        PoolBuilder::new().processes(processes).build()
    }

    /// A builder for the other settings.
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(1).build()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    /// Runs `body` with a new pool, then terminates the pool: Python's `with Pool(n) as pool:`.
    ///
    /// ```
    /// let total: u64 = multiproc::Pool::scoped(2, |pool| pool.map(|x: u64| x * x, 0..1000))?.iter().sum();
    /// assert_eq!(total, 332_833_500);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn scoped<T>(processes: usize, body: impl FnOnce(&Pool) -> Result<T>) -> Result<T> {
        let pool = Pool::new(processes)?;
        let value = body(&pool);
        pool.terminate()?;
        value
    }

    /// The number of workers the pool keeps.
    ///
    /// ```
    /// assert_eq!(multiproc::Pool::new(2)?.processes(), 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// The pids of the current workers (they change when workers are replaced).
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let pids = pool.worker_pids();
    /// assert_eq!(pids.len(), 2);
    /// assert!(pids.iter().all(|&p| p != std::process::id() as i32));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn worker_pids(&self) -> Vec<i32> {
        lock(&self.engine).worker_pids()
    }

    /// Which worker ran which task when, if enabled with [`PoolBuilder::timeline`] (else empty).
    ///
    /// ```
    /// let pool = multiproc::Pool::builder().processes(2).timeline(true).build()?;
    /// pool.map_chunked(|x: u32| x, 0..8, 1)?;
    /// assert_eq!(pool.timeline().spans().len(), 8);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn timeline(&self) -> Timeline {
        Timeline::new(lock(&self.engine).timeline().map(<[TaskSpan]>::to_vec).unwrap_or_default())
    }

    /// Applies `f` to every item and returns the results in order, like Python's `map`, with
    /// Python's default chunksize. The first failing chunk's error is returned (a panic with
    /// its message and location, a worker's death with its pid and signal).
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let squares = pool.map(|x: i64| x * x, 0..100)?;
    /// assert_eq!(squares, (0..100).map(|x| x * x).collect::<Vec<_>>());
    /// assert!(pool.map(|x: i64| x, Vec::<i64>::new())?.is_empty());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn map<F, A, R>(&self, f: F, items: impl IntoIterator<Item = A>) -> Result<Vec<R>>
    where
        F: Fn(A) -> R,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let items: Vec<A> = items.into_iter().collect();
        let chunksize = default_chunksize(items.len(), self.processes);
        self.map_items(&f, items, chunksize, call::call_chunk::<F, A, R>)
    }

    /// [`map`](Pool::map) with an explicit chunksize (items per task); 0 is an error.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// assert_eq!(pool.map_chunked(|x: u32| x * x, 0..100, 20)?, (0..100).map(|x| x * x).collect::<Vec<_>>());
    /// assert!(pool.map_chunked(|x: u32| x, 0..3, 0).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn map_chunked<F, A, R>(&self, f: F, items: impl IntoIterator<Item = A>, chunksize: usize) -> Result<Vec<R>>
    where
        F: Fn(A) -> R,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        check_chunksize(chunksize)?;
        self.map_items(&f, items.into_iter().collect(), chunksize, call::call_chunk::<F, A, R>)
    }

    /// Like [`map`](Pool::map) over an input that can fail (Python's iterator that raises): the
    /// first `Err` item stops the map with an [`InvalidInput`](crate::ErrorKind::InvalidInput)
    /// error carrying it as its source.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// let input = vec![Ok(1), Ok(2), Err(std::io::Error::other("bad item"))];
    /// let err = pool.try_map(|x: i32| x, input).unwrap_err();
    /// assert_eq!(err.kind(), multiproc::ErrorKind::InvalidInput);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_map<F, A, R, E>(&self, f: F, items: impl IntoIterator<Item = std::result::Result<A, E>>) -> Result<Vec<R>>
    where
        F: Fn(A) -> R,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
        E: std::error::Error + Send + Sync + 'static,
    {
        let mut collected = Vec::new();
        for (index, item) in items.into_iter().enumerate() {
            collected.push(item.map_err(|e| input_item_error(index, e))?);
        }
        let chunksize = default_chunksize(collected.len(), self.processes);
        self.map_items(&f, collected, chunksize, call::call_chunk::<F, A, R>)
    }

    /// Python's `starmap`: each item is a tuple of arguments.
    ///
    /// ```
    /// fn mul(a: i32, b: i32) -> i32 { a * b }
    /// let pool = multiproc::Pool::new(2)?;
    /// let pairs: Vec<(i32, i32)> = (0..10).map(|i| (i, i + 1)).collect();
    /// assert_eq!(pool.starmap(mul, pairs.clone())?, pairs.iter().map(|&(a, b)| mul(a, b)).collect::<Vec<_>>());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn starmap<F, Args, R>(&self, f: F, items: impl IntoIterator<Item = Args>) -> Result<Vec<R>>
    where
        F: StarFn<Args, Output = R>,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let items: Vec<Args> = items.into_iter().collect();
        let chunksize = default_chunksize(items.len(), self.processes);
        self.map_items(&f, items, chunksize, call::call_star_chunk::<F, Args, R>)
    }

    /// Runs `items` in chunks through trampoline `call` (made for `F`) and collects the results.
    fn map_items<F, A, R>(&self, f: &F, items: Vec<A>, chunksize: usize, call: call::CallFn) -> Result<Vec<R>>
    where
        A: Serialize,
        R: DeserializeOwned,
    {
        if items.is_empty() {
            lock(&self.engine).check_accepting()?;
            return Ok(Vec::new());
        }
        let mut guard = ForgetOnDrop { engine: &self.engine, ids: Vec::new() };
        with_engine(&self.engine, |engine| -> Result<()> {
            let slot = Slot::new(f, call, || engine.next_epoch());
            for chunk in items.chunks(chunksize) {
                let input = crate::wire::encode(chunk, "a map item")?;
                guard.ids.push(engine.submit(slot, input)?);
            }
            Ok(())
        })?;
        let mut results = Vec::with_capacity(items.len());
        drop(items);
        for i in 0..guard.ids.len() {
            let id = guard.ids[i];
            let done = with_engine(&self.engine, |engine| -> Result<_> {
                engine.drive(None, |e| e.settled(id))?;
                Ok(engine.take(id))
            })?;
            results.extend(decode_done::<Vec<R>>(done)?);
        }
        guard.ids.clear();
        Ok(results)
    }

    /// Python's `apply`: runs `f(*args)` on a worker and waits for its value.
    ///
    /// ```
    /// fn add(a: i32, b: i32) -> i32 { a + b }
    /// let pool = multiproc::Pool::new(1)?;
    /// assert_eq!(pool.apply(add, (2, 3))?, 5);
    /// assert_eq!(pool.apply(|x: i32| x * 10, (4,))?, 40);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn apply<F, Args, R>(&self, f: F, args: Args) -> Result<R>
    where
        F: StarFn<Args, Output = R>,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let mut guard = ForgetOnDrop { engine: &self.engine, ids: Vec::new() };
        let done = with_engine(&self.engine, |engine| -> Result<_> {
            let slot = Slot::new(&f, call::call_star::<F, Args, R>, || engine.next_epoch());
            let id = engine.submit(slot, crate::wire::encode(&args, "the task's arguments")?)?;
            guard.ids.push(id);
            engine.drive(None, |e| e.settled(id))?;
            Ok(engine.take(id))
        })?;
        guard.ids.clear();
        decode_done(done)
    }

    /// Python's `apply_async`: starts `f(*args)` on a worker and returns at once with an
    /// [`AsyncResult`] to collect the value later.
    ///
    /// ```
    /// use std::time::Duration;
    /// fn square(x: u64) -> u64 { x * x }
    /// let pool = multiproc::Pool::new(2)?;
    /// let results: Vec<_> = (0..10).map(|i| pool.apply_async(square, (i,))).collect::<Result<_, _>>()?;
    /// let values: Vec<u64> = results.into_iter().map(|mut r| r.get_timeout(Duration::from_secs(10))).collect::<Result<_, _>>()?;
    /// assert_eq!(values, (0..10).map(square).collect::<Vec<_>>());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn apply_async<F, Args, R>(&self, f: F, args: Args) -> Result<AsyncResult<R>>
    where
        F: StarFn<Args, Output = R> + Send + Sync + 'static,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let id = with_engine(&self.engine, |engine| -> Result<u64> {
            let input = crate::wire::encode(&args, "the task's arguments")?;
            let boxed = Box::new(f);
            let slot = Slot::new(&*boxed, call::call_star::<F, Args, R>, || engine.next_epoch());
            let id = engine.submit(slot, input)?;
            if std::mem::size_of::<F>() != 0 {
                engine.keep_alive(id, boxed);
            }
            // Send it now, and take any results that are ready, without waiting.
            engine.drive(Some(Instant::now()), |_| false)?;
            Ok(id)
        })?;
        Ok(AsyncResult::new(self.engine.clone(), id))
    }

    /// [`apply_async`](Pool::apply_async) with Python's `error_callback`: if the task fails,
    /// `on_error` is called with the error (in this process, during whichever pool call collects
    /// the result), and [`AsyncResult::get`] returns the error as well.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let pool = multiproc::Pool::new(1)?;
    /// let seen = Arc::new(Mutex::new(None));
    /// let seen2 = seen.clone();
    /// let r = pool.apply_async_with_error_callback(|| -> i32 { panic!("boom") }, (), move |e| {
    ///     *seen2.lock().unwrap() = Some(e.panic().unwrap().message.clone());
    /// })?;
    /// assert!(r.get().is_err());
    /// assert_eq!(seen.lock().unwrap().as_deref(), Some("boom"));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn apply_async_with_error_callback<F, Args, R>(
        &self,
        f: F,
        args: Args,
        on_error: impl FnOnce(&Error) + Send + 'static,
    ) -> Result<AsyncResult<R>>
    where
        F: StarFn<Args, Output = R> + Send + Sync + 'static,
        Args: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let result = self.apply_async(f, args)?;
        let id = result.id();
        with_engine(&self.engine, |engine| engine.on_error(id, Box::new(on_error)));
        Ok(result)
    }

    /// Python's `imap`: results in input order, as an iterator that pulls `items` lazily and
    /// keeps a bounded number of tasks in flight. Chunksize 1, like Python.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let squares: Vec<u64> = pool.imap(|x: u64| x * x, 0..10).collect::<Result<_, _>>()?;
    /// assert_eq!(squares, (0..10).map(|x| x * x).collect::<Vec<_>>());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn imap<'p, F, A, R, I>(&'p self, f: F, items: I) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
    {
        self.imap_chunked(f, items, 1)
    }

    /// [`imap`](Pool::imap) with `chunksize` items per task (0 is treated as 1).
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let v: Vec<u32> = pool.imap_chunked(|x: u32| x + 1, 0..1000, 100).collect::<Result<_, _>>()?;
    /// assert_eq!(v, (1..1001).collect::<Vec<_>>());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn imap_chunked<'p, F, A, R, I>(&'p self, f: F, items: I, chunksize: usize) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
    {
        Imap::new(self, f, items.into_iter().map(Ok::<A, std::convert::Infallible>), chunksize, true)
    }

    /// Python's `imap_unordered`: like [`imap`](Pool::imap) but yields results as they finish.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let mut v: Vec<u64> = pool.imap_unordered(|x: u64| x * x, 0..10).collect::<Result<_, _>>()?;
    /// v.sort();
    /// assert_eq!(v, (0..10).map(|x| x * x).collect::<Vec<_>>());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn imap_unordered<'p, F, A, R, I>(&'p self, f: F, items: I) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
    {
        self.imap_unordered_chunked(f, items, 1)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with `chunksize` items per task.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let n = pool.imap_unordered_chunked(|x: u64| x, 0..1000, 100).count();
    /// assert_eq!(n, 1000);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn imap_unordered_chunked<'p, F, A, R, I>(&'p self, f: F, items: I, chunksize: usize) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        R: Serialize + DeserializeOwned,
        I: IntoIterator<Item = A>,
        I::IntoIter: 'p,
    {
        Imap::new(self, f, items.into_iter().map(Ok::<A, std::convert::Infallible>), chunksize, false)
    }

    /// [`imap`](Pool::imap) over an input that can fail: results before the failing item come
    /// first, then one [`InvalidInput`](crate::ErrorKind::InvalidInput) error, then the end.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let input = (0..10).map(|i| if i == 3 { Err(std::io::Error::other("fails at 3")) } else { Ok(i) });
    /// let out: Vec<_> = pool.try_imap(|x: i32| x, input, 1).collect();
    /// assert_eq!(out.len(), 4);
    /// assert_eq!(out[..3].iter().map(|r| *r.as_ref().unwrap()).collect::<Vec<_>>(), vec![0, 1, 2]);
    /// assert!(out[3].is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_imap<'p, F, A, R, E, I>(&'p self, f: F, items: I, chunksize: usize) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        R: Serialize + DeserializeOwned,
        E: std::error::Error + Send + Sync + 'static,
        I: IntoIterator<Item = std::result::Result<A, E>>,
        I::IntoIter: 'p,
    {
        Imap::new(self, f, items.into_iter(), chunksize, true)
    }

    /// Python's `close()`: no new tasks; workers exit once the queued work is done.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// pool.close()?;
    /// assert!(pool.apply(|| 1, ()).is_err());
    /// pool.join()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn close(&self) -> Result<()> {
        lock(&self.engine).close();
        Ok(())
    }

    /// Python's `join()`: waits until every queued task is done and every worker has exited.
    /// Call [`close`](Pool::close) or [`terminate`](Pool::terminate) first.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let r = pool.apply_async(|x: u32| x + 1, (1,))?;
    /// assert!(pool.join().is_err()); // not closed yet
    /// pool.close()?;
    /// pool.join()?;
    /// assert_eq!(r.get()?, 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join(&self) -> Result<()> {
        self.join_deadline(None)
    }

    /// [`join`](Pool::join) with a time limit: a [`Timeout`](crate::ErrorKind::Timeout) error
    /// if work or workers remain after `timeout`.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(1)?;
    /// pool.close()?;
    /// pool.join_timeout(std::time::Duration::from_secs(10))?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.join_deadline(Some(Instant::now() + timeout))
    }

    fn join_deadline(&self, deadline: Option<Instant>) -> Result<()> {
        with_engine(&self.engine, |engine| {
            if engine.state == PoolState::Running {
                return Err(Error::invalid_state("join() needs close() or terminate() first, as in Python"));
            }
            let finished = engine.drive(deadline, |e| {
                !e.has_outstanding() || e.all_workers_gone()
            })?;
            if finished {
                engine.retire_idle_when_finished();
                if engine.drive(deadline, |e| e.all_workers_gone())? {
                    return Ok(());
                }
            }
            Err(Error::timeout("the pool still has work or workers after the timeout; join again, or terminate() it"))
        })
    }

    /// Python's `terminate()`: stops the workers now (SIGTERM, then SIGKILL after 200 ms) and
    /// reaps them. Unfinished tasks fail. The pool takes no new tasks afterwards.
    ///
    /// ```
    /// let pool = multiproc::Pool::new(2)?;
    /// let slow = pool.apply_async(|| std::thread::sleep(std::time::Duration::from_secs(30)), ())?;
    /// pool.terminate()?;
    /// assert!(slow.get().is_err());
    /// assert!(pool.apply(|| 1, ()).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn terminate(&self) -> Result<()> {
        lock(&self.engine).terminate();
        Ok(())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.engine).terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let engine = lock(&self.engine);
        f.debug_struct("Pool")
            .field("processes", &self.processes)
            .field("state", &engine.state)
            .field("workers", &engine.worker_pids())
            .finish()
    }
}

fn check_chunksize(chunksize: usize) -> Result<()> {
    if chunksize == 0 {
        return Err(Error::invalid_input("chunksize must be at least 1"));
    }
    Ok(())
}

pub(crate) fn input_item_error(index: usize, err: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::invalid_input(format!(
        "the input iterator failed at item {index}: {err}; results before it were computed, fix the input to go on"
    ))
    .with_source(err)
}
