//! `Queue<T>` and `JoinableQueue<T>`: Python's `multiprocessing.Queue` and `JoinableQueue`,
//! as a ring buffer in shared memory.
//!
//! The design (and why it is not Python's pipe plus feeder thread) is on [`Queue`].

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::ipc_sys::{LockError, Locked, RawMutex, Seq};
use crate::shm::Region;

/// Default ring size: address space reserved, memory used only as it fills.
const DEFAULT_CAPACITY: usize = 64 << 20;
/// How long a `try_` call or an expired timeout still waits for the queue's internal lock: it
/// is held only while bytes are copied, so a short wait avoids spurious Full/Empty errors.
const LOCK_GRACE: Duration = Duration::from_millis(100);
/// Each message in the ring is its length (8 bytes, little-endian) then its bytes.
const FRAME_HEADER: u64 = 8;

const ITEMS: usize = 2;
const UNFINISHED: usize = 3;

/// The queue's bookkeeping at the start of its mapping; the ring follows it. Fields other than
/// the mutex, the `Seq`s and the constants are only changed while holding the mutex (they are
/// atomics so a shared reference is all we need).
#[repr(C)]
struct Header {
    mutex: RawMutex,
    not_empty: Seq,
    not_full: Seq,
    all_done: Seq,
    /// Most items the queue holds; 0 for no limit. Set once, before anyone else sees it.
    maxsize: AtomicU64,
    /// Size of the ring in bytes. Set once.
    capacity: AtomicU64,
    /// head (bytes ever read), tail (bytes ever written), items, unfinished (for `task_done`).
    state: [AtomicU64; 4],
    /// The next `state`, written before it is applied; replayed if its writer died.
    journal: [AtomicU64; 4],
    journal_valid: AtomicU32,
}

const RING_AT: usize = std::mem::size_of::<Header>().next_multiple_of(64);

/// The untyped queue both `Queue<T>` and `JoinableQueue<T>` are made of.
#[derive(Clone)]
struct RawQueue {
    region: Arc<Region>,
}

/// Holds the queue's mutex; releases it when dropped.
struct Held<'a> {
    header: &'a Header,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.header.mutex.unlock();
    }
}

impl RawQueue {
    fn new(maxsize: usize, capacity: usize) -> Result<RawQueue> {
        let total = RING_AT
            .checked_add(capacity)
            .ok_or_else(|| Error::invalid_input(format!("a queue capacity of {capacity} bytes is too large")))?;
        let region = Region::new(total, "a Queue")?;
        let header = region.ptr().cast::<Header>();
        // SAFETY: the region is fresh, page-aligned, at least one Header long, and nobody else
        // sees it yet. Zeroed memory is valid for every other field (atomics and Seqs).
        unsafe { RawMutex::init(std::ptr::addr_of_mut!((*header).mutex), false) }
            .map_err(|e| Error::start("pthread_mutex_init", e))?;
        let queue = RawQueue { region };
        queue.header().maxsize.store(maxsize as u64, Ordering::Relaxed);
        queue.header().capacity.store(capacity as u64, Ordering::Relaxed);
        Ok(queue)
    }

    fn header(&self) -> &Header {
        // SAFETY: initialized in `new`, kept mapped by `self.region`; all fields are safe to
        // share (atomics, Seqs, and a pthread mutex used only through its methods).
        unsafe { &*self.region.ptr().cast::<Header>() }
    }

    fn capacity(&self) -> u64 {
        self.header().capacity.load(Ordering::Relaxed)
    }

    fn maxsize(&self) -> u64 {
        self.header().maxsize.load(Ordering::Relaxed)
    }

    fn state(&self, _held: &Held<'_>) -> [u64; 4] {
        let s = &self.header().state;
        [0, 1, 2, 3].map(|i| s[i].load(Ordering::Relaxed))
    }

    /// Applies `next` in one step that survives the caller's death at any point.
    fn commit(&self, _held: &Held<'_>, next: [u64; 4]) {
        let h = self.header();
        for (slot, v) in h.journal.iter().zip(next) {
            slot.store(v, Ordering::Relaxed);
        }
        h.journal_valid.store(1, Ordering::Release);
        for (slot, v) in h.state.iter().zip(next) {
            slot.store(v, Ordering::Relaxed);
        }
        h.journal_valid.store(0, Ordering::Release);
    }

    /// After a holder died: finish its commit if it had started one, and wake everyone so
    /// waiters re-check. A step it had not committed is simply discarded.
    fn recover(&self) {
        let h = self.header();
        if h.journal_valid.load(Ordering::Acquire) != 0 {
            for (slot, j) in h.state.iter().zip(&h.journal) {
                slot.store(j.load(Ordering::Relaxed), Ordering::Relaxed);
            }
            h.journal_valid.store(0, Ordering::Release);
        }
        h.not_empty.notify_all();
        h.not_full.notify_all();
        h.all_done.notify_all();
    }

    /// Takes the queue's mutex, waiting until `deadline` but at least [`LOCK_GRACE`] (None: as
    /// long as it takes). Holders only copy bytes, so this is short unless a holder is stopped
    /// (SIGSTOP, a debugger) or copying a huge value; then the call fails with `busy`.
    fn lock(&self, deadline: Option<Instant>, busy: ErrorKind) -> Result<Held<'_>> {
        let h = self.header();
        let by = deadline.map(|d| d.max(Instant::now() + LOCK_GRACE));
        match h.mutex.lock(by) {
            Ok(Locked::Clean) => {}
            Ok(Locked::OwnerDied(_)) => self.recover(),
            Err(e) => return Err(self.lock_error(e, busy)),
        }
        Ok(Held { header: h })
    }

    fn lock_error(&self, err: LockError, busy: ErrorKind) -> Error {
        match err {
            LockError::Timeout => Error::new(
                busy,
                "the queue's internal lock stayed held by another process past the timeout; \
                 is a process using the queue stopped (SIGSTOP, a debugger)?",
            ),
            e => crate::sync::lock_failed("the queue's internal lock", e, None),
        }
    }

    /// Sleeps on `seq` with the lock released; true if the deadline passed. On error the lock
    /// is not held any more (the caller's `Held` then only makes a harmless failed unlock).
    fn wait(&self, seq: &Seq, deadline: Option<Instant>, busy: ErrorKind) -> Result<bool> {
        let by = deadline.map(|d| d.max(Instant::now()) + LOCK_GRACE);
        match seq.wait(&self.header().mutex, deadline, by) {
            Ok((timed_out, locked)) => {
                if let Locked::OwnerDied(_) = locked {
                    self.recover();
                }
                Ok(timed_out)
            }
            Err(e) => Err(self.lock_error(e, busy)),
        }
    }

    fn ring(&self) -> *mut u8 {
        // SAFETY: RING_AT is inside the mapping (its size is RING_AT + capacity).
        unsafe { self.region.ptr().add(RING_AT) }
    }

    /// Copies `bytes` into the ring at stream position `pos`, wrapping around. Lock held, and
    /// the caller checked there is room.
    fn write_ring(&self, pos: u64, bytes: &[u8]) {
        let cap = self.capacity();
        let start = (pos % cap) as usize;
        let first = bytes.len().min(cap as usize - start);
        // SAFETY: the caller checked bytes.len() <= free room <= cap. The first copy covers
        // start..start + first <= cap; the second, 0..bytes.len() - first, is empty unless the
        // write wraps, and then bytes.len() - first <= cap - first = start. Both stay inside
        // the ring, in bytes no committed message uses; the lock is held so no one else writes
        // there; `bytes` is a distinct buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ring().add(start), first);
            std::ptr::copy_nonoverlapping(bytes.as_ptr().add(first), self.ring(), bytes.len() - first);
        }
    }

    /// Copies `out.len()` bytes from the ring at stream position `pos`, wrapping around. Lock
    /// held, and the bytes are part of a committed message.
    fn read_ring(&self, pos: u64, out: &mut [u8]) {
        let cap = self.capacity();
        let start = (pos % cap) as usize;
        let first = out.len().min(cap as usize - start);
        // SAFETY: out.len() <= cap (a committed message fits the ring), so as in `write_ring`
        // both copies stay inside the ring; the lock is held, so no one writes these committed
        // bytes meanwhile; `out` is a distinct buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ring().add(start), out.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(self.ring(), out.as_mut_ptr().add(first), out.len() - first);
        }
    }

    /// Puts one message; `deadline` None waits as long as it takes.
    fn put(&self, payload: &[u8], deadline: Option<Instant>, waited: Option<Duration>) -> Result<()> {
        let cap = self.capacity();
        let need = FRAME_HEADER + payload.len() as u64;
        if need > cap {
            return Err(Error::invalid_input(format!(
                "a value of {} bytes (encoded) does not fit in this queue's {cap}-byte buffer; \
                 create the queue with Queue::builder().capacity_bytes({}) or more",
                payload.len(),
                need.next_power_of_two()
            )));
        }
        let maxsize = self.maxsize();
        let held = self.lock(deadline, ErrorKind::Full)?;
        loop {
            let [head, tail, items, _] = self.state(&held);
            let room = maxsize == 0 || items < maxsize;
            if room && cap - (tail - head) >= need {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let why = if room { format!("its {cap}-byte buffer is full") } else { format!("it holds maxsize = {maxsize} items") };
                let message = match waited {
                    Some(d) => format!("the queue stayed full for {d:?} ({why}); a reader must get() items to make room"),
                    None => format!("the queue is full ({why}); try_put does not wait, use put or put_timeout"),
                };
                return Err(Error::new(ErrorKind::Full, message));
            }
            self.wait(&self.header().not_full, deadline, ErrorKind::Full)?;
        }
        let [head, tail, items, unfinished] = self.state(&held);
        self.write_ring(tail, &(payload.len() as u64).to_le_bytes());
        self.write_ring(tail + FRAME_HEADER, payload);
        self.commit(&held, [head, tail + need, items + 1, unfinished + 1]);
        drop(held);
        self.header().not_empty.notify_all();
        Ok(())
    }

    /// Takes one message's bytes; `deadline` None waits as long as it takes.
    fn get(&self, deadline: Option<Instant>, waited: Option<Duration>) -> Result<Vec<u8>> {
        let held = self.lock(deadline, ErrorKind::Empty)?;
        loop {
            let [_, _, items, _] = self.state(&held);
            if items > 0 {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let message = match waited {
                    Some(d) => format!("the queue stayed empty for {d:?}"),
                    None => "the queue is empty (try_get does not wait; use get or get_timeout)".to_string(),
                };
                return Err(Error::new(ErrorKind::Empty, message));
            }
            self.wait(&self.header().not_empty, deadline, ErrorKind::Empty)?;
        }
        let [head, tail, items, unfinished] = self.state(&held);
        let mut len_bytes = [0u8; 8];
        self.read_ring(head, &mut len_bytes);
        let len = u64::from_le_bytes(len_bytes);
        if len > self.capacity() - FRAME_HEADER || FRAME_HEADER + len > tail - head {
            // Only possible if something scribbled over the shared memory: drop everything
            // rather than hand out garbage.
            self.commit(&held, [tail, tail, 0, unfinished.saturating_sub(items)]);
            return Err(Error::new(ErrorKind::Decode, "the queue's shared memory was corrupted (a message length is impossible); its contents were discarded"));
        }
        let mut payload = Vec::new();
        payload
            .try_reserve_exact(len as usize)
            .map_err(|_| Error::new(ErrorKind::Decode, format!("not enough memory to receive a {len}-byte value from the queue")))?;
        payload.resize(len as usize, 0);
        self.read_ring(head + FRAME_HEADER, &mut payload);
        self.commit(&held, [head + FRAME_HEADER + len, tail, items - 1, unfinished]);
        drop(held);
        self.header().not_full.notify_all();
        Ok(payload)
    }

    fn items(&self) -> Result<u64> {
        let held = self.lock(None, ErrorKind::Io)?;
        Ok(self.state(&held)[ITEMS])
    }

    fn task_done(&self) -> Result<()> {
        let held = self.lock(None, ErrorKind::Io)?;
        let mut s = self.state(&held);
        if s[UNFINISHED] == 0 {
            return Err(Error::invalid_state("task_done() was called more times than there were items put in the queue"));
        }
        s[UNFINISHED] -= 1;
        self.commit(&held, s);
        let done = s[UNFINISHED] == 0;
        drop(held);
        if done {
            self.header().all_done.notify_all();
        }
        Ok(())
    }

    fn join(&self, deadline: Option<Instant>, waited: Option<Duration>) -> Result<()> {
        let held = self.lock(deadline, ErrorKind::Timeout)?;
        loop {
            let unfinished = self.state(&held)[UNFINISHED];
            if unfinished == 0 {
                return Ok(());
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::timeout(format!(
                    "{unfinished} items put in the queue were not marked task_done() within {:?}",
                    waited.unwrap_or_default()
                )));
            }
            self.wait(&self.header().all_done, deadline, ErrorKind::Timeout)?;
        }
    }
}

impl fmt::Debug for RawQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Queue");
        match self.items() {
            Ok(n) => s.field("items", &n),
            Err(_) => s.field("items", &"?"),
        };
        let maxsize = self.maxsize();
        s.field("maxsize", &(maxsize != 0).then_some(maxsize)).field("capacity_bytes", &self.capacity()).finish()
    }
}

/// A first-in first-out queue between processes, like Python's `multiprocessing.Queue`.
///
/// Values cross with serde (bincode); the queue itself lives in shared memory, so it must be
/// created before forking and a clone moved into each child. Every process may put and get.
/// Blocking operations come as families: [`put`](Queue::put) / [`try_put`](Queue::try_put) /
/// [`put_timeout`](Queue::put_timeout) (a [`Full`](ErrorKind::Full) error when there is no
/// room) and [`get`](Queue::get) / [`try_get`](Queue::try_get) /
/// [`get_timeout`](Queue::get_timeout) (an [`Empty`](ErrorKind::Empty) error when there is
/// nothing), like Python's `queue.Full` and `queue.Empty`.
///
/// There is no feeder thread: a `put` has finished copying the value into shared memory when it
/// returns, so a child may put and exit at once, and joining it before draining the queue does
/// not deadlock as in Python (see below for the one limit: a full queue).
///
/// `put` takes the value or a reference to it (`impl Borrow<T>`): pass a reference to keep the
/// value, for instance to retry after a `Full` error.
///
/// # Design: why shared memory, and not a pipe with a feeder thread
///
/// Python's `Queue` is a pipe plus a hidden feeder thread in each putting process. `put` hands
/// the object to that thread, which writes it into the pipe as the reader makes room. A process
/// cannot exit until its feeder has flushed everything, so a parent that joins a child before
/// draining the queue waits for the child, which waits for the parent to read: a deadlock
/// (documented in Python's "Joining processes that use queues").
///
/// Here a queue is a ring buffer in a `MAP_SHARED` mapping made before fork, guarded by a
/// robust process-shared mutex, with futex wake-ups. `put` copies the encoded value into the
/// ring and returns; the value then lives in memory the parent also maps, so a child can put
/// and exit at once, and joining it before draining cannot deadlock. No thread is started.
/// A pipe plus process-shared semaphores would have kept the deadlock: a write blocks once the
/// pipe's 64 KiB are full, so a child putting more than that could never exit before a read.
///
/// The ring has a fixed size ([`QueueBuilder::capacity_bytes`], 64 MiB by default; pages cost
/// memory only once written). `put` waits only when the queue is full: `maxsize` items, or no
/// room left in the ring. So join-before-drain still waits if a child puts more than the ring
/// holds (or more than `maxsize` items) while nobody reads: join with
/// [`join_timeout`](crate::Process::join_timeout), or use `put_timeout` in the child, to get
/// an error instead of a wait. A single value larger than the ring is refused at once with an
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) error saying what capacity to ask for.
///
/// A process killed in the middle of a `put` or `get` never leaves a torn message: the ring's
/// indexes are committed in one step (with a redo journal) after the bytes are copied, and the
/// next process to take the mutex finishes or discards the dead process's step. A process
/// that holds the mutex and stops (SIGSTOP, a debugger) cannot stretch a timeout by more than
/// 100 ms: timed calls then fail with `Full`/`Empty` saying the lock stayed held.
///
/// **Send/Sync:** both, whatever `T` is: values are serialized, never shared, and every access
/// to the ring goes through its process-shared mutex. Clones refer to the same queue.
///
/// **Drop:** unmaps the ring in this process once the last clone is dropped. Values still in
/// the queue stay available to other processes holding a clone, and are freed with the last.
///
/// ```
/// use std::time::Duration;
/// use multiproc::Queue;
/// let q: Queue<String> = Queue::new()?;
/// let tx = q.clone();
/// let mut child = multiproc::Process::new(move || {
///     for name in ["Alice", "Bob"] {
///         tx.put(format!("hello {name}")).unwrap();
///     }
/// });
/// child.start()?;
/// child.join_timeout(Duration::from_secs(10))?; // joining before draining is fine here
/// assert_eq!(q.get_timeout(Duration::from_secs(1))?, "hello Alice");
/// assert_eq!(q.get_timeout(Duration::from_secs(1))?, "hello Bob");
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Queue<T> {
    raw: RawQueue,
    _t: PhantomData<fn(T) -> T>,
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Self {
        Queue { raw: self.raw.clone(), _t: PhantomData }
    }
}

/// Settings for a [`Queue`] or [`JoinableQueue`]: how many items, how many bytes.
///
/// ```
/// let q = multiproc::Queue::builder().maxsize(10).capacity_bytes(1 << 20).build::<Vec<u8>>()?;
/// assert_eq!(q.maxsize(), Some(10));
/// assert_eq!(q.capacity_bytes(), 1 << 20);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct QueueBuilder {
    maxsize: Option<usize>,
    capacity: usize,
}

impl QueueBuilder {
    /// Default settings: no item limit, a 64 MiB ring.
    ///
    /// ```
    /// let q = multiproc::QueueBuilder::new().build::<u8>()?;
    /// assert_eq!(q.maxsize(), None);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> QueueBuilder {
        QueueBuilder { maxsize: None, capacity: DEFAULT_CAPACITY }
    }

    /// The most items the queue holds (Python's `maxsize`); 0 is refused by `build`, leave it
    /// unset for no limit.
    ///
    /// ```
    /// let q = multiproc::Queue::builder().maxsize(1).build::<i32>()?;
    /// q.put(1)?;
    /// assert!(q.try_put(2).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn maxsize(mut self, maxsize: usize) -> QueueBuilder {
        self.maxsize = Some(maxsize);
        self
    }

    /// The size of the shared ring in bytes: the most encoded bytes (plus 8 per value) the
    /// queue holds at once. Address space is reserved for all of it; memory is used as it
    /// fills. At least 64 bytes.
    ///
    /// ```
    /// let q = multiproc::Queue::builder().capacity_bytes(1024).build::<Vec<u8>>()?;
    /// assert!(q.put(vec![0u8; 2000]).is_err()); // can never fit
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn capacity_bytes(mut self, bytes: usize) -> QueueBuilder {
        self.capacity = bytes;
        self
    }

    fn raw(&self) -> Result<RawQueue> {
        let maxsize = match self.maxsize {
            Some(0) => {
                return Err(Error::invalid_input("a queue's maxsize must be at least 1; leave it unset for a queue without an item limit"))
            }
            Some(n) => n,
            None => 0,
        };
        if self.capacity < 64 {
            return Err(Error::invalid_input(format!("a queue's capacity must be at least 64 bytes, got {}", self.capacity)));
        }
        RawQueue::new(maxsize, self.capacity)
    }

    /// Creates the queue.
    ///
    /// ```
    /// let q = multiproc::Queue::builder().build::<u8>()?;
    /// q.put(1)?;
    /// assert_eq!(q.get()?, 1);
    /// assert!(multiproc::Queue::builder().maxsize(0).build::<u8>().is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn build<T>(self) -> Result<Queue<T>> {
        Ok(Queue { raw: self.raw()?, _t: PhantomData })
    }

    /// Creates a joinable queue.
    ///
    /// ```
    /// let q = multiproc::Queue::builder().maxsize(4).build_joinable::<u8>()?;
    /// q.put(1)?;
    /// assert_eq!(q.get()?, 1);
    /// q.task_done()?;
    /// q.join()?;
    /// assert_eq!(q.maxsize(), Some(4));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn build_joinable<T>(self) -> Result<JoinableQueue<T>> {
        Ok(JoinableQueue { queue: self.build()? })
    }
}

impl Default for QueueBuilder {
    fn default() -> Self {
        QueueBuilder::new()
    }
}

impl<T> Queue<T> {
    /// A queue without an item limit (64 MiB ring), like Python's `Queue()`.
    ///
    /// ```
    /// let q = multiproc::Queue::<u32>::new()?;
    /// q.put(5)?;
    /// assert_eq!(q.get()?, 5);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<Queue<T>> {
        QueueBuilder::new().build()
    }

    /// A queue holding at most `maxsize` items, like Python's `Queue(maxsize)`. An
    /// [`InvalidInput`](ErrorKind::InvalidInput) error for 0.
    ///
    /// ```
    /// let q = multiproc::Queue::<u32>::bounded(2)?;
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert_eq!(q.try_put(3).unwrap_err().kind(), multiproc::ErrorKind::Full);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn bounded(maxsize: usize) -> Result<Queue<T>> {
        QueueBuilder::new().maxsize(maxsize).build()
    }

    /// How many values are in the queue now (Python's `qsize()`); may change at once.
    ///
    /// ```
    /// let q = multiproc::Queue::<u8>::new()?;
    /// q.put(1)?;
    /// assert_eq!(q.qsize(), 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn qsize(&self) -> usize {
        self.raw.items().unwrap_or(0) as usize
    }

    /// True if the queue holds no values now (Python's `empty()`).
    ///
    /// ```
    /// assert!(multiproc::Queue::<u8>::new()?.is_empty());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.qsize() == 0
    }

    /// True if the queue holds `maxsize` values now (Python's `full()`). A queue without an
    /// item limit is never full by this test, though its ring can be.
    ///
    /// ```
    /// let q = multiproc::Queue::<u8>::bounded(1)?;
    /// q.put(0)?;
    /// assert!(q.is_full());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_full(&self) -> bool {
        self.maxsize().is_some_and(|m| self.qsize() >= m)
    }

    /// The item limit, `None` for none.
    ///
    /// ```
    /// assert_eq!(multiproc::Queue::<u8>::new()?.maxsize(), None);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn maxsize(&self) -> Option<usize> {
        let m = self.raw.maxsize();
        (m != 0).then_some(m as usize)
    }

    /// The ring's size in bytes.
    ///
    /// ```
    /// assert_eq!(multiproc::Queue::<u8>::new()?.capacity_bytes(), 64 << 20);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn capacity_bytes(&self) -> usize {
        self.raw.capacity() as usize
    }
}

impl Queue<()> {
    /// A builder for the item limit and ring size; the value type is chosen by `build`
    /// (or by the annotation of the variable it is assigned to).
    ///
    /// ```
    /// let q: multiproc::Queue<u8> = multiproc::Queue::builder().maxsize(3).build()?;
    /// assert_eq!(q.maxsize(), Some(3));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn builder() -> QueueBuilder {
        QueueBuilder::new()
    }
}

impl<T: Serialize> Queue<T> {
    fn encode(value: &T) -> Result<Vec<u8>> {
        crate::wire::encode(value, "a value put in the queue")
    }

    /// Puts a value, waiting while the queue is full.
    ///
    /// ```
    /// let q = multiproc::Queue::<Vec<u8>>::new()?;
    /// let data = vec![1, 2, 3];
    /// q.put(&data)?; // by reference: we keep `data`
    /// q.put(data)?;  // or by value
    /// assert_eq!(q.qsize(), 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn put(&self, value: impl Borrow<T>) -> Result<()> {
        self.raw.put(&Queue::encode(value.borrow())?, None, None)
    }

    /// Puts a value only if there is room now; a [`Full`](ErrorKind::Full) error if not
    /// (Python's `put_nowait`).
    ///
    /// ```
    /// let q = multiproc::Queue::<String>::bounded(1)?;
    /// let s = String::from("kept");
    /// q.try_put(&s)?;
    /// assert_eq!(q.try_put(&s).unwrap_err().kind(), multiproc::ErrorKind::Full);
    /// assert_eq!(s, "kept"); // still ours, to retry later
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_put(&self, value: impl Borrow<T>) -> Result<()> {
        self.raw.put(&Queue::encode(value.borrow())?, Some(Instant::now()), None)
    }

    /// Puts a value, waiting at most `timeout` for room; a [`Full`](ErrorKind::Full) error
    /// when it runs out (Python's `put(obj, timeout=t)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = multiproc::Queue::<u8>::bounded(1)?;
    /// q.put(1)?;
    /// let err = q.put_timeout(2, Duration::from_millis(20)).unwrap_err();
    /// assert_eq!(err.kind(), multiproc::ErrorKind::Full);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn put_timeout(&self, value: impl Borrow<T>, timeout: Duration) -> Result<()> {
        self.raw.put(&Queue::encode(value.borrow())?, Some(Instant::now() + timeout), Some(timeout))
    }
}

impl<T: DeserializeOwned> Queue<T> {
    fn decode(bytes: Vec<u8>) -> Result<T> {
        crate::wire::decode(&bytes, "a value taken from the queue")
    }

    /// Takes the oldest value, waiting while the queue is empty. In tests prefer
    /// [`get_timeout`](Queue::get_timeout), so a missing `put` fails instead of hanging.
    ///
    /// ```
    /// let q = multiproc::Queue::<(i32, String)>::new()?;
    /// let tx = q.clone();
    /// multiproc::spawn(move || tx.put((1, "one".to_string())).unwrap())?.join()?;
    /// assert_eq!(q.get()?, (1, "one".to_string()));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get(&self) -> Result<T> {
        Queue::decode(self.raw.get(None, None)?)
    }

    /// Takes the oldest value if there is one now; an [`Empty`](ErrorKind::Empty) error if not
    /// (Python's `get_nowait`).
    ///
    /// ```
    /// let q = multiproc::Queue::<u8>::new()?;
    /// assert_eq!(q.try_get().unwrap_err().kind(), multiproc::ErrorKind::Empty);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T> {
        Queue::decode(self.raw.get(Some(Instant::now()), None)?)
    }

    /// Takes the oldest value, waiting at most `timeout`; an [`Empty`](ErrorKind::Empty) error
    /// when it runs out (Python's `get(timeout=t)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = multiproc::Queue::<u8>::new()?;
    /// let err = q.get_timeout(Duration::from_millis(20)).unwrap_err();
    /// assert_eq!(err.kind(), multiproc::ErrorKind::Empty);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        Queue::decode(self.raw.get(Some(Instant::now() + timeout), Some(timeout))?)
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.raw.fmt(f)
    }
}

/// A [`Queue`] that also counts unfinished work, like Python's `multiprocessing.JoinableQueue`:
/// each `put` adds one, each [`task_done`](JoinableQueue::task_done) removes one, and
/// [`join`](JoinableQueue::join) waits until the count is zero.
///
/// Derefs to [`Queue`] for `put`, `get` and the rest.
///
/// **Send/Sync and Drop:** as for [`Queue`].
///
/// ```
/// use std::time::Duration;
/// use multiproc::JoinableQueue;
/// let jobs: JoinableQueue<u32> = JoinableQueue::new()?;
/// let worker_jobs = jobs.clone();
/// let worker = multiproc::spawn(move || {
///     let mut sum = 0;
///     while let Ok(n) = worker_jobs.get_timeout(Duration::from_millis(200)) {
///         sum += n;
///         worker_jobs.task_done().unwrap();
///     }
///     sum
/// })?;
/// for n in 1..=10 {
///     jobs.put(n)?;
/// }
/// jobs.join_timeout(Duration::from_secs(10))?; // every job was processed
/// assert_eq!(worker.join()?, 55);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
}

impl<T> Clone for JoinableQueue<T> {
    fn clone(&self) -> Self {
        JoinableQueue { queue: self.queue.clone() }
    }
}

impl<T> JoinableQueue<T> {
    /// A joinable queue without an item limit.
    ///
    /// ```
    /// let q = multiproc::JoinableQueue::<u8>::new()?;
    /// q.join()?; // nothing put: returns at once
    /// assert!(q.is_empty() && q.maxsize().is_none());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new() -> Result<JoinableQueue<T>> {
        QueueBuilder::new().build_joinable()
    }

    /// A joinable queue holding at most `maxsize` items.
    ///
    /// ```
    /// let q = multiproc::JoinableQueue::<u8>::bounded(1)?;
    /// q.put(1)?;
    /// assert!(q.try_put(2).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn bounded(maxsize: usize) -> Result<JoinableQueue<T>> {
        QueueBuilder::new().maxsize(maxsize).build_joinable()
    }

    /// Marks one item taken with `get` as processed. An
    /// [`InvalidState`](ErrorKind::InvalidState) error if called more often than items were put.
    ///
    /// ```
    /// let q = multiproc::JoinableQueue::<u8>::new()?;
    /// assert!(q.task_done().is_err());
    /// q.put(1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn task_done(&self) -> Result<()> {
        self.queue.raw.task_done()
    }

    /// Waits until every item put has been marked [`task_done`](JoinableQueue::task_done).
    ///
    /// ```
    /// let q = multiproc::JoinableQueue::<u8>::new()?;
    /// q.put(1)?;
    /// let worker = q.clone();
    /// let child = multiproc::spawn(move || {
    ///     let item = worker.get().unwrap();
    ///     worker.task_done().unwrap();
    ///     item
    /// })?;
    /// q.join()?; // returns once the child called task_done
    /// assert_eq!(child.join()?, 1);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join(&self) -> Result<()> {
        self.queue.raw.join(None, None)
    }

    /// Like [`join`](JoinableQueue::join), for at most `timeout`; a
    /// [`Timeout`](ErrorKind::Timeout) error when it runs out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let q = multiproc::JoinableQueue::<u8>::new()?;
    /// q.put(1)?;
    /// assert!(q.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<()> {
        self.queue.raw.join(Some(Instant::now() + timeout), Some(timeout))
    }
}

impl<T> Deref for JoinableQueue<T> {
    type Target = Queue<T>;
    fn deref(&self) -> &Queue<T> {
        &self.queue
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("JoinableQueue").field(&self.queue).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    fn die_now() -> ! {
        let _ = crate::sys::send_signal(crate::sys::getpid(), nix::sys::signal::Signal::SIGKILL);
        crate::sys::exit_now(99)
    }

    /// A process killed after copying half a message into the ring, holding the lock: the next
    /// process recovers the lock, the half message is invisible, the queue works on.
    #[test]
    fn killed_mid_copy_leaves_no_torn_message() {
        let q: Queue<Vec<u8>> = Queue::new().unwrap();
        q.put(vec![1u8; 10]).unwrap();
        let raw = q.raw.clone();
        let mut child = crate::spawn(move || -> () {
            let held = raw.lock(None, ErrorKind::Io).unwrap();
            let [_, tail, _, _] = raw.state(&held);
            raw.write_ring(tail, &(1000u64).to_le_bytes());
            raw.write_ring(tail + FRAME_HEADER, &[2u8; 500]); // half of the payload
            die_now()
        })
        .unwrap();
        assert_eq!(child.join_timeout(LIMIT).unwrap_err().signal(), Some(9));
        assert_eq!(q.get_timeout(LIMIT).unwrap(), vec![1u8; 10]);
        assert_eq!(q.try_get().unwrap_err().kind(), ErrorKind::Empty);
        q.put(vec![3u8; 20]).unwrap();
        assert_eq!(q.get_timeout(LIMIT).unwrap(), vec![3u8; 20]);
    }

    /// A process killed in the middle of committing (journal written, state half applied): the
    /// next process finishes the commit, so the message it had copied is delivered whole.
    #[test]
    fn killed_mid_commit_is_completed_by_the_next_locker() {
        let q: Queue<String> = Queue::new().unwrap();
        let raw = q.raw.clone();
        let mut child = crate::spawn(move || -> () {
            let held = raw.lock(None, ErrorKind::Io).unwrap();
            let payload = crate::wire::encode(&"whole".to_string(), "test").unwrap();
            let [head, tail, items, unfinished] = raw.state(&held);
            raw.write_ring(tail, &(payload.len() as u64).to_le_bytes());
            raw.write_ring(tail + FRAME_HEADER, &payload);
            let next = [head, tail + FRAME_HEADER + payload.len() as u64, items + 1, unfinished + 1];
            let h = raw.header();
            for (slot, v) in h.journal.iter().zip(next) {
                slot.store(v, Ordering::Relaxed);
            }
            h.journal_valid.store(1, Ordering::Release);
            h.state[1].store(next[1], Ordering::Relaxed); // tail applied, items not yet
            die_now()
        })
        .unwrap();
        assert_eq!(child.join_timeout(LIMIT).unwrap_err().signal(), Some(9));
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get_timeout(LIMIT).unwrap(), "whole");
        assert!(q.is_empty());
    }

    /// A process that holds the queue's lock and does not let go (stopped, or stuck): a
    /// `get_timeout` still returns within its timeout plus the short lock grace, and the queue
    /// recovers once that process is killed.
    #[test]
    fn a_stuck_lock_holder_does_not_stretch_timeouts() {
        let q: Queue<u8> = Queue::new().unwrap();
        q.put(1).unwrap();
        let raw = q.raw.clone();
        let held = crate::Event::new().unwrap();
        let h = held.clone();
        let mut child = crate::spawn(move || -> () {
            let _held = raw.lock(None, ErrorKind::Io).unwrap();
            h.set();
            std::thread::sleep(Duration::from_secs(60));
        })
        .unwrap();
        assert!(held.wait_timeout(LIMIT));
        let started = Instant::now();
        let err = q.get_timeout(Duration::from_millis(50)).unwrap_err();
        let waited = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Empty, "{err}");
        assert!(err.to_string().contains("stayed held"), "{err}");
        assert!(waited < Duration::from_secs(2), "waited {waited:?}");
        assert_eq!(q.try_put(2).unwrap_err().kind(), ErrorKind::Full);
        child.kill().unwrap();
        let _ = child.join_timeout(LIMIT);
        assert_eq!(q.get_timeout(LIMIT).unwrap(), 1);
    }
}
