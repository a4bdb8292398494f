//! # multiproc: Python's `multiprocessing`, for Rust, safe inside a notebook cell
//!
//! Processes are started by `fork`: the child is a copy of the parent that runs one closure and
//! sends its return value back with serde. Nothing is pickled but arguments and results, so
//! closures, local functions and anything they capture just work, and there is no
//! `if __name__ == "__main__"` guard.
//!
//! ## From Python to Rust
//!
//! | Python `multiprocessing` | `multiproc` |
//! |---|---|
//! | `p = Process(target=f, args=(x,))` | `let mut p = Process::new(move \|\| f(x));` |
//! | `Process(target=f, name="w")` | `Process::builder().name("w").process(f)` |
//! | `p.start()` / `p.join()` | `p.start()?;` / `let value = p.join()?;` (the closure's return value) |
//! | `p.join(timeout=1)` | `p.join_timeout(Duration::from_secs(1))` (a `Timeout` error while it runs) |
//! | `p.is_alive()`, `p.pid`, `p.exitcode`, `p.name` | `p.is_alive()`, `p.pid()`, `p.exitcode()`, `p.name()` |
//! | `p.terminate()` / `p.kill()` / `p.close()` | `p.terminate()?` / `p.kill()?` / `p.close()?` |
//! | `threading.Thread(...).start()` style | `let h = multiproc::spawn(\|\| work())?; h.join()?` |
//! | `sys.exit(3)` in the child | `multiproc::exit(3)` |
//! | an exception in the child | a panic: `join()` returns an error with message, file, line and pid |
//! | `current_process()`, `parent_process()`, `active_children()`, `cpu_count()` | the same names |
//! | `with Pool(4) as pool:` | `let pool = Pool::new(4)?;` (dropping it terminates the workers) or `Pool::scoped(4, \|pool\| ...)` |
//! | `Pool(processes=2, initializer=f, maxtasksperchild=10)` | `Pool::builder().processes(2).initializer(f).max_tasks_per_child(10).build()?` |
//! | `pool.map(f, items)` / `map(f, items, chunksize=20)` | `pool.map(f, items)?` / `pool.map_chunked(f, items, 20)?` (results in order, a `Vec`) |
//! | `pool.starmap(f, [(1, 2), (3, 4)])` | `pool.starmap(f, [(1, 2), (3, 4)])?` (`f` takes two arguments) |
//! | `pool.imap(f, it)` / `imap_unordered(f, it)` | `pool.imap(f, it)` / `pool.imap_unordered(f, it)`: iterators of `Result`, input pulled lazily |
//! | `pool.apply(f, (x, y))` | `pool.apply(f, (x, y))?` |
//! | `r = pool.apply_async(f, (x,))`; `r.get(timeout=1)` | `let mut r = pool.apply_async(f, (x,))?;` `r.get_timeout(Duration::from_secs(1))?` or `r.get()?` |
//! | `r.ready()`, `r.successful()`, `r.wait()` | the same names |
//! | `apply_async(f, args, error_callback=cb)` | `pool.apply_async_with_error_callback(f, args, cb)?` |
//! | `pool.close()`; `pool.join()` / `pool.terminate()` | the same names (`join` needs `close` or `terminate` first) |
//! | a lambda or local function as the task: `PicklingError` | closures work, captured values included; nothing but arguments and results is serialized |
//! | a worker killed mid-task: `map` hangs forever | that task fails with an error naming the worker's pid and signal; a new worker takes its place |
//! | `a, b = Pipe()` / `Pipe(duplex=False)` | `let (a, b) = pipe(true)?;` / `let (reader, writer) = pipe(false)?;` |
//! | `conn.send(x)` / `conn.recv()` | `conn.send(&x)?` / `let x: T = conn.recv()?` (or `recv_timeout(d)`) |
//! | `conn.send_bytes(b)` / `conn.recv_bytes()` / `conn.poll(0.1)` | the same names; `poll(Duration::from_millis(100))?` |
//! | `conn.close()`; `EOFError` from `recv()` after the peer closed | `conn.close()` or drop it; then the peer's `recv` gives an error of kind `Disconnected`, even while forked children hold copies of the closed end |
//! | `q = Queue()` / `Queue(maxsize=3)` | `let q: Queue<T> = Queue::new()?;` / `Queue::bounded(3)?` |
//! | `q.put(x)` / `put_nowait(x)` / `put(x, timeout=t)` | `q.put(x)?` / `q.try_put(x)?` / `q.put_timeout(x, t)?` (kind `Full`) |
//! | `q.get()` / `get_nowait()` / `get(timeout=t)` | `q.get()?` / `q.try_get()?` / `q.get_timeout(t)?` (kind `Empty`) |
//! | `q.qsize()`, `q.empty()`, `q.full()` | `q.qsize()`, `q.is_empty()`, `q.is_full()` |
//! | `q.close()`, `q.join_thread()`, `cancel_join_thread()` | not needed: no feeder thread, a child may put and exit at once |
//! | `JoinableQueue()`, `task_done()`, `join()` | `JoinableQueue::new()?`, `task_done()?`, `join()?` / `join_timeout(t)?` |
//! | `Lock()`, `RLock()` with `with lock:` | `Lock::new()?`, `RLock::new()?`; `let _guard = lock.acquire()?;` (released at the end of scope) |
//! | `lock.acquire(False)` / `acquire(timeout=t)` | `lock.try_acquire()` / `lock.acquire_timeout(t)` (kind `Timeout`) |
//! | a lock held by a killed process: everyone hangs | `acquire()` returns an `OwnerDied` error naming the pid; the lock is free again |
//! | `Semaphore(n)` / `BoundedSemaphore(n)` | `Semaphore::new(n)?` / `Semaphore::bounded(n)?`; `acquire()` returns a guard, `release()` |
//! | `Event()`: `set()`, `clear()`, `is_set()`, `wait(timeout)` | `Event::new()?`: the same names; `wait_timeout(d)` returns a bool |
//! | `Barrier(n)`: `wait()`, `abort()`, `reset()` | `Barrier::new(n)?`: `wait()?` / `wait_timeout(d)?`, `abort()?`, `reset()?` |
//! | `Condition()`: `wait()`, `wait_for(pred)`, `notify()`, `notify_all()` | `Condition::new()?`; `cond.wait(&mut guard)?`, `cond.wait_for(&mut guard, pred)?`, `notify(n)`, `notify_all()` |
//! | `Value('i', 0)` / `v.value` / `with v.get_lock():` | `Value::new(0i32)?` / `v.get()?`, `v.set(x)?` / `*v.lock()? += 1` or `v.get_lock().acquire()?` |
//! | `Array('d', 10)` / `Array('i', [1, 2])` | `Array::<f64>::new(10)?` / `Array::from_slice(&[1i32, 2])?`; `get(i)?`, `set(i, x)?`, `lock()?` |
//! | `shared_memory.SharedMemory(create=True, size=n)` / `SharedMemory(name)` | `SharedMemory::create(n)?` / `SharedMemory::open(name)?`; `read_at`, `write_at`, `unlink()` |
//!
//! ## A first process
//!
//! ```
//! use multiproc::prelude::*;
//!
//! let name = String::from("Alice");
//! let mut p = Process::new(move || println!("Hello, {name}!"));
//! p.start()?;
//! p.join()?; // the child's line is printed here, in the parent, as a whole line
//! println!("Main process continues...");
//! assert_eq!(p.exitcode(), Some(0));
//! # Ok::<(), multiproc::Error>(())
//! ```
//!
//! ## Errors are values
//!
//! A panic, a signal or an exit code in the child comes back as an [`Error`] with an
//! [`ErrorKind`], never as a hang:
//!
//! ```
//! use multiproc::{ErrorKind, spawn};
//!
//! let err = spawn(|| -> i32 { panic!("123") })?.join().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Panicked);
//! assert_eq!(err.panic().unwrap().message, "123");
//! # Ok::<(), multiproc::Error>(())
//! ```
//!
//! ## Sharing data between processes
//!
//! Pipes, queues, locks and shared values are created *before* forking and reach a child by
//! being moved into its closure (clone the handle first to keep one in the parent). They live
//! in shared memory or sockets the child inherits, so both sides see the same object. No
//! helper thread is started: a [`Queue`] is a ring buffer in shared memory, so a child can put
//! and exit at once, and joining it before draining the queue does not deadlock as in Python.
//! Locks are robust: if a process dies holding one, the next locker gets an
//! [`ErrorKind::OwnerDied`] error instead of waiting forever.
//!
//! ```
//! use std::time::Duration;
//! use multiproc::prelude::*;
//!
//! let results: Queue<u64> = Queue::new()?;
//! let total = Value::new(0u64)?;
//! let workers: Vec<_> = (0..4u64)
//!     .map(|w| {
//!         let (results, total) = (results.clone(), total.clone());
//!         spawn(move || {
//!             let part: u64 = (w * 250..(w + 1) * 250).sum();
//!             *total.lock().unwrap() += part;
//!             results.put(part).unwrap();
//!         })
//!     })
//!     .collect::<Result<_, _>>()?;
//! for mut w in workers {
//!     w.join_timeout(Duration::from_secs(10))?; // before draining the queue: fine here
//! }
//! let parts: u64 = (0..4).map(|_| results.get_timeout(Duration::from_secs(1))).sum::<Result<u64, _>>()?;
//! assert_eq!(parts, (0..1000).sum::<u64>());
//! assert_eq!(total.get()?, parts);
//! # Ok::<(), multiproc::Error>(())
//! ```
//!
//! ## In a notebook
//!
//! Every child this crate forks keeps the fork contract a notebook needs: stdin from /dev/null,
//! death with its parent (`PR_SET_PDEATHSIG`), default signal handlers, its body under
//! `catch_unwind`, `_exit` at the end (never a return into the cell), only its own pid waited
//! for, and its output relayed to the parent as whole, valid UTF-8 lines while the parent waits.
//! No state is kept in statics, since each notebook cell has its own copy of them.
//!
//! Fork copies only the calling thread. If the parent has other threads (a thread pool, an async
//! runtime), a child must not need locks those threads might hold; the closure you pass runs in a
//! single-threaded child.

#![deny(unsafe_op_in_unsafe_fn)]

#![warn(missing_docs)]

mod child;
mod connection;
mod context;
mod display;
mod error;
mod ipc_sys;
mod panic;
mod pool;
mod process;
mod queue;
mod relay;
mod shared_value;
mod shm;
mod sync;
mod sys;
mod wire;

pub use context::{active_children, cpu_count, current_process, parent_process, wait_gone, ProcessInfo};
pub use display::{SpeedupRow, SpeedupTable};
pub use error::{Error, ErrorKind, PanicInfo, Result};
pub use pool::{AsyncResult, Imap, Pool, PoolBuilder, StarFn, TaskSpan, Timeline};
pub use process::{exit, spawn, JoinHandle, Process, ProcessBuilder};
pub use connection::{pipe, Connection};
pub use queue::{JoinableQueue, Queue, QueueBuilder};
pub use shared_value::{Array, ArrayGuard, Plain, Value, ValueGuard};
pub use shm::SharedMemory;
pub use sync::{Barrier, Condition, Event, Lock, LockGuard, RLock, RLockGuard, Semaphore, SemaphoreGuard};

/// Everything a notebook cell usually needs, in one `use multiproc::prelude::*;`.
///
/// ```
/// use multiproc::prelude::*;
/// assert!(cpu_count() >= 1);
/// ```
pub mod prelude {
    pub use crate::{
        active_children, cpu_count, current_process, parent_process, spawn, AsyncResult, Error, ErrorKind, JoinHandle, Pool, Process,
    };
    pub use crate::{pipe, Array, Barrier, Condition, Connection, Event, JoinableQueue, Lock, Queue, RLock, Semaphore, SharedMemory, Value};
}

/// The README's Rust example, compiled and run with the doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
