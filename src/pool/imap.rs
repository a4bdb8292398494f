//! `imap` and `imap_unordered`: results as an iterator, input pulled lazily.

use std::collections::VecDeque;
use std::fmt;

use serde::{de::DeserializeOwned, Serialize};

use super::call::{call_chunk, Slot};
use super::engine::decode_done;
use super::{input_item_error, lock, with_engine, Pool};
use crate::error::{Error, Result};

/// Chunks in flight per worker: enough to keep workers busy, few enough to bound memory.
const CHUNKS_PER_WORKER: usize = 32;

/// Anything, kept alive at a fixed address.
trait Keep {}
impl<T: ?Sized> Keep for T {}

/// What pulling the next chunk from the input gave.
enum Pulled {
    /// Encoded items and how many.
    Chunk(Vec<u8>),
    /// The input failed (after the items of `Chunk`, if any).
    Failed(Option<Vec<u8>>, Error),
    End,
}

/// The iterator returned by [`Pool::imap`], [`Pool::imap_unordered`] and their variants.
///
/// Each item is a result: `Ok(value)`, or `Err` for every chunk that failed (one error per
/// failed chunk) and, for [`Pool::try_imap`], once for a failing input. It keeps at most
/// 32 chunks per worker in flight and pulls the input only as results are consumed.
///
/// **Drop:** tasks not yet sent are cancelled; running ones finish and their results are
/// discarded. The pool and its workers are not affected.
///
/// ```
/// let pool = multiproc::Pool::new(2)?;
/// let mut it = pool.imap(|x: u32| x * 2, 0..);   // an endless input is fine
/// assert_eq!(it.next().unwrap()?, 0);
/// assert_eq!(it.next().unwrap()?, 2);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Imap<'p, R> {
    pool: &'p Pool,
    /// The task function, boxed so its address stays put while workers use it.
    _function: Box<dyn Keep + 'p>,
    slot: Slot,
    pull: Box<dyn FnMut() -> Pulled + 'p>,
    ordered: bool,
    window: usize,
    in_flight: VecDeque<u64>,
    ready: VecDeque<Result<R>>,
    input_error: Option<Error>,
    input_done: bool,
    finished: bool,
}

impl<'p, R: Serialize + DeserializeOwned> Imap<'p, R> {
    pub(crate) fn new<F, A, E, I>(pool: &'p Pool, f: F, items: I, chunksize: usize, ordered: bool) -> Imap<'p, R>
    where
        F: Fn(A) -> R + 'p,
        A: Serialize + DeserializeOwned + 'p,
        E: std::error::Error + Send + Sync + 'static,
        I: Iterator<Item = std::result::Result<A, E>> + 'p,
    {
        let function = Box::new(f);
        let slot = Slot::new(&*function, call_chunk::<F, A, R>, || lock(&pool.engine).next_epoch());
        let chunksize = chunksize.max(1);
        let mut items = items.enumerate();
        let pull = move || {
            let mut chunk: Vec<A> = Vec::with_capacity(chunksize);
            let mut failure = None;
            for (index, item) in items.by_ref() {
                match item {
                    Ok(a) => chunk.push(a),
                    Err(e) => {
                        failure = Some(input_item_error(index, e));
                        break;
                    }
                }
                if chunk.len() == chunksize {
                    break;
                }
            }
            let encoded = if chunk.is_empty() {
                None
            } else {
                match crate::wire::encode(&chunk, "an imap item") {
                    Ok(bytes) => Some(bytes),
                    Err(e) => return Pulled::Failed(None, e),
                }
            };
            match (encoded, failure) {
                (encoded, Some(err)) => Pulled::Failed(encoded, err),
                (Some(bytes), None) => Pulled::Chunk(bytes),
                (None, None) => Pulled::End,
            }
        };
        Imap {
            pool,
            _function: function,
            slot,
            pull: Box::new(pull),
            ordered,
            window: CHUNKS_PER_WORKER * pool.processes(),
            in_flight: VecDeque::new(),
            ready: VecDeque::new(),
            input_error: None,
            input_done: false,
            finished: false,
        }
    }

    /// Submits chunks until the window is full or the input ends.
    fn fill(&mut self) -> Result<()> {
        while !self.input_done && self.in_flight.len() < self.window {
            let (chunk, failure) = match (self.pull)() {
                Pulled::Chunk(bytes) => (Some(bytes), None),
                Pulled::Failed(bytes, err) => (bytes, Some(err)),
                Pulled::End => (None, None),
            };
            if chunk.is_none() || failure.is_some() {
                self.input_done = true;
                self.input_error = failure;
            }
            if let Some(bytes) = chunk {
                let slot = self.slot;
                let id = with_engine(&self.pool.engine, |engine| engine.submit(slot, bytes))?;
                self.in_flight.push_back(id);
            }
        }
        Ok(())
    }

    /// Waits for the next finished chunk (the oldest one if ordered) and queues its values.
    fn collect_one(&mut self) -> Result<()> {
        let ordered = self.ordered;
        let in_flight = &self.in_flight;
        let done = with_engine(&self.pool.engine, |engine| -> Result<_> {
            let front = in_flight.front().copied();
            engine.drive(None, |e| match (ordered, front) {
                (true, Some(id)) => e.settled(id),
                _ => in_flight.iter().any(|&id| e.settled(id)),
            })?;
            let position = in_flight.iter().position(|&id| engine.settled(id)).unwrap_or(0);
            let position = if ordered { 0 } else { position };
            let id = in_flight[position];
            Ok((position, engine.take(id)))
        });
        let (position, done) = done?;
        self.in_flight.remove(position);
        match decode_done::<Vec<R>>(done) {
            Ok(values) => self.ready.extend(values.into_iter().map(Ok)),
            Err(e) => self.ready.push_back(Err(e)),
        }
        Ok(())
    }
}

impl<R: Serialize + DeserializeOwned> Iterator for Imap<'_, R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
        loop {
            if let Some(value) = self.ready.pop_front() {
                return Some(value);
            }
            if self.finished {
                return None;
            }
            if let Err(e) = self.fill() {
                self.finished = true;
                return Some(Err(e));
            }
            if self.in_flight.is_empty() {
                self.finished = true;
                return self.input_error.take().map(Err);
            }
            if let Err(e) = self.collect_one() {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }
}

impl<R> Drop for Imap<'_, R> {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.in_flight.drain(..).collect();
        lock(&self.pool.engine).forget(ids);
    }
}

impl<R> fmt::Debug for Imap<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("ordered", &self.ordered)
            .field("in_flight", &self.in_flight.len())
            .field("buffered", &self.ready.len())
            .finish()
    }
}
