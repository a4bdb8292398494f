//! The pool's scheduler: pending tasks, workers, results, all driven from the caller's thread.
//!
//! There is no background thread (a thread in the parent would make every later fork unsafe,
//! see `kernel.md` hazard 8). Work moves forward whenever a pool call waits: `map`, `get`,
//! `next` on an imap iterator, `join`, and briefly on every submission. While it waits the
//! engine polls every worker's result pipe, stdout, stderr and pidfd at once, so results,
//! output lines and deaths are all handled as they happen.

use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::Slot;
use super::code_map::CodeMap;
use super::timeline::TaskSpan;
use super::worker::{InFlight, ResultFrame, Worker, WorkerSetup};
use crate::error::{Error, Result};
use crate::wire::Outcome;

/// How long `terminate` waits after SIGTERM before SIGKILL.
const TERMINATE_GRACE: Duration = Duration::from_millis(200);
/// Queue per worker is sized so it holds about this much work.
const QUEUED_WORK_PER_WORKER_US: f64 = 2_000.0;
const MAX_WINDOW: usize = 256;

/// How a task ended, as stored until its owner takes it: the worker's pid and the tagged
/// outcome bytes, or an error decided by the parent (worker died, pool terminated).
pub(crate) type Done = Result<(i32, Vec<u8>)>;

/// An error callback given to `apply_async_with_error_callback`.
pub(crate) type ErrorCallback = Box<dyn FnOnce(&Error) + Send>;

/// A callback to run, with the error it gets, once the engine lock is released.
pub(crate) type FiredCallback = (ErrorCallback, Error);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolState {
    Running,
    Closed,
    Terminated,
}

#[derive(Debug)]
struct Pending {
    id: u64,
    slot: Slot,
    input: Vec<u8>,
}

/// Everything the pool knows; lives behind the `Pool`'s mutex.
pub(crate) struct Engine {
    size: usize,
    max_tasks: Option<usize>,
    initializer: Option<Arc<dyn Fn() + Send + Sync>>,
    workers: Vec<Worker>,
    pending: VecDeque<Pending>,
    /// Ids pending or in flight.
    outstanding: HashSet<u64>,
    done: HashMap<u64, Done>,
    /// Ids whose result nobody will take (cancelled map, dropped AsyncResult).
    forgotten: HashSet<u64>,
    callbacks: HashMap<u64, ErrorCallback>,
    fired: Vec<FiredCallback>,
    /// Function values of `apply_async` tasks, kept alive until a worker that has them runs them.
    keepalive: HashMap<u64, Box<dyn Any + Send>>,
    next_id: u64,
    epoch: u64,
    spawned: u64,
    pub(crate) state: PoolState,
    /// Set when the initializer failed: nothing can run.
    broken: Option<Error>,
    /// Exponential average of task run time in µs; None until the first result.
    task_micros: Option<f64>,
    timeline: Option<Vec<TaskSpan>>,
}

impl Engine {
    pub(crate) fn new(
        size: usize,
        max_tasks: Option<usize>,
        initializer: Option<Arc<dyn Fn() + Send + Sync>>,
        record_timeline: bool,
    ) -> Result<Engine> {
        let mut engine = Engine {
            size,
            max_tasks,
            initializer,
            workers: Vec::with_capacity(size),
            pending: VecDeque::new(),
            outstanding: HashSet::new(),
            done: HashMap::new(),
            forgotten: HashSet::new(),
            callbacks: HashMap::new(),
            fired: Vec::new(),
            keepalive: HashMap::new(),
            next_id: 0,
            epoch: 0,
            spawned: 0,
            state: PoolState::Running,
            broken: None,
            task_micros: None,
            timeline: record_timeline.then(Vec::new),
        };
        engine.replace_workers()?;
        Ok(engine)
    }

    /// A new epoch: workers forked from now on have every value created so far.
    pub(crate) fn next_epoch(&mut self) -> u64 {
        self.epoch += 1;
        self.epoch
    }

    /// Pids of the live workers that take new tasks.
    pub(crate) fn worker_pids(&self) -> Vec<i32> {
        self.workers.iter().filter(|w| !w.retiring).map(|w| w.pid()).collect()
    }

    pub(crate) fn timeline(&self) -> Option<&[TaskSpan]> {
        self.timeline.as_deref()
    }

    /// Fails unless new tasks are accepted.
    pub(crate) fn check_accepting(&self) -> Result<()> {
        if let Some(err) = &self.broken {
            return Err(err.clone());
        }
        match self.state {
            PoolState::Running => Ok(()),
            PoolState::Closed => Err(Error::invalid_state("the pool is closed and takes no new tasks; create a new Pool")),
            PoolState::Terminated => Err(Error::invalid_state(
                "the pool was terminated (or dropped) and takes no new tasks; create a new Pool",
            )),
        }
    }

    /// Queues a task and tries to send it at once. Returns its id.
    pub(crate) fn submit(&mut self, slot: Slot, input: Vec<u8>) -> Result<u64> {
        self.check_accepting()?;
        let id = self.next_id;
        self.next_id += 1;
        self.pending.push_back(Pending { id, slot, input });
        self.outstanding.insert(id);
        Ok(id)
    }

    /// Keeps `value` alive until task `id` has been sent to a worker and answered.
    pub(crate) fn keep_alive(&mut self, id: u64, value: Box<dyn Any + Send>) {
        self.keepalive.insert(id, value);
    }

    pub(crate) fn on_error(&mut self, id: u64, callback: ErrorCallback) {
        match self.done.get(&id) {
            Some(done) => {
                if let Some(err) = done_error(done) {
                    self.fired.push((callback, err));
                }
            }
            None => {
                self.callbacks.insert(id, callback);
            }
        }
    }

    /// Callbacks that became due; run them after releasing the lock.
    pub(crate) fn take_fired(&mut self) -> Vec<FiredCallback> {
        std::mem::take(&mut self.fired)
    }

    /// True when task `id` can be waited for no longer: done or lost.
    pub(crate) fn settled(&self, id: u64) -> bool {
        !self.outstanding.contains(&id)
    }

    /// Takes the outcome of task `id`, or the error explaining why there is none.
    pub(crate) fn take(&mut self, id: u64) -> Done {
        match self.done.remove(&id) {
            Some(done) => done,
            None if self.state == PoolState::Terminated => Err(Error::invalid_state(
                "the pool was terminated (or dropped) before this task finished; keep the Pool alive until you have its results",
            )),
            None => Err(Error::invalid_state("this task's result was already taken")),
        }
    }

    /// Drops tasks nobody will wait for: pending ones are removed, running ones finish but
    /// their results are discarded.
    pub(crate) fn forget(&mut self, ids: impl IntoIterator<Item = u64>) {
        let ids: HashSet<u64> = ids.into_iter().collect();
        if ids.is_empty() {
            return;
        }
        let mut unsent = HashSet::new();
        self.pending.retain(|p| !(ids.contains(&p.id) && unsent.insert(p.id)));
        for id in ids {
            self.done.remove(&id);
            self.callbacks.remove(&id);
            if unsent.contains(&id) {
                self.outstanding.remove(&id);
                self.keepalive.remove(&id);
            } else if self.outstanding.contains(&id) {
                // Outstanding but not pending: a worker is running it; drop its result on arrival.
                self.forgotten.insert(id);
            }
        }
    }

    /// Discards task `id`'s result when it arrives, without cancelling the task.
    pub(crate) fn forget_result(&mut self, id: u64) {
        if self.done.remove(&id).is_none() && self.outstanding.contains(&id) {
            self.forgotten.insert(id);
        }
    }

    /// True if task `id` finished and returned a value (not a panic, death or encode error).
    pub(crate) fn succeeded(&self, id: u64) -> bool {
        self.done.get(&id).is_some_and(|d| done_error(d).is_none())
    }

    /// Moves work forward until `until` holds or `deadline` passes. Returns whether `until` held.
    pub(crate) fn drive(&mut self, deadline: Option<Instant>, mut until: impl FnMut(&Engine) -> bool) -> Result<bool> {
        loop {
            self.maintain()?;
            if until(self) {
                return Ok(true);
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
            if self.workers.is_empty() {
                // Nothing can change any more (terminated, or joined): do not sleep forever.
                return Ok(until(self));
            }
            self.wait_and_collect(left)?;
        }
    }

    /// Handles dead workers, forks replacements, sends pending tasks.
    fn maintain(&mut self) -> Result<()> {
        for _ in 0..3 {
            self.reap_dead();
            self.replace_workers()?;
            if !self.dispatch() {
                break;
            }
        }
        for w in &mut self.workers {
            w.flush();
        }
        Ok(())
    }

    /// Forks workers until there are `size` that take tasks, while there is a use for them.
    fn replace_workers(&mut self) -> Result<()> {
        let wanted = match self.state {
            PoolState::Running => self.size,
            PoolState::Closed if !self.outstanding.is_empty() => self.size,
            _ => 0,
        };
        if self.broken.is_some() {
            return Ok(());
        }
        let mut active = self.workers.iter().filter(|w| !w.retiring).count();
        if active >= wanted {
            return Ok(());
        }
        let code = Arc::new(CodeMap::current());
        while active < wanted {
            self.spawned += 1;
            let setup = WorkerSetup {
                max_tasks: self.max_tasks,
                initializer: self.initializer.as_deref(),
                close_fds: self.workers.iter().filter_map(|w| w.task_raw_fd()).collect(),
            };
            let name = format!("PoolWorker-{}", self.spawned);
            let worker = Worker::spawn(&name, self.epoch, code.clone(), setup)?;
            self.workers.push(worker);
            active += 1;
        }
        Ok(())
    }

    /// How many tasks each worker may have queued, from how long tasks take.
    fn window(&self) -> usize {
        match self.task_micros {
            None => 2,
            Some(us) => ((QUEUED_WORK_PER_WORKER_US / us.max(0.5)) as usize).clamp(1, MAX_WINDOW),
        }
    }

    /// Sends pending tasks, in order, to workers that can run them. Returns true if it retired
    /// stale workers (then replacements must be forked and dispatch tried again).
    fn dispatch(&mut self) -> bool {
        let window = self.window();
        let max_tasks = self.max_tasks;
        while let Some(task) = self.pending.front() {
            let slot = task.slot;
            let has_room = |w: &Worker| {
                !w.retiring && w.in_flight.len() < window && max_tasks.map_or(true, |m| w.sent < m)
            };
            let best = self
                .workers
                .iter()
                .enumerate()
                .filter(|(_, w)| has_room(w) && w.can_run(&slot))
                .min_by_key(|(_, w)| w.in_flight.len())
                .map(|(i, _)| i);
            match best {
                Some(i) => {
                    let Some(task) = self.pending.pop_front() else { break };
                    self.workers[i].send(InFlight { id: task.id, slot: task.slot, input: task.input });
                }
                None => {
                    // Workers forked before this function existed cannot run it: retire the
                    // idle ones so fresh forks, which have it, take their place.
                    let mut retired = false;
                    for w in &mut self.workers {
                        if !w.retiring && !w.can_run(&slot) && w.in_flight.is_empty() {
                            w.retire();
                            retired = true;
                        }
                    }
                    return retired;
                }
            }
        }
        false
    }

    /// Sleeps until a worker has something for us (at most `left`), then takes it.
    fn wait_and_collect(&mut self, left: Option<Duration>) -> Result<()> {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(self.workers.len() * 5);
        let mut ranges = Vec::with_capacity(self.workers.len());
        let mut must_poll = false;
        for w in &self.workers {
            let start = fds.len();
            w.poll_fds(&mut fds);
            ranges.push(start..fds.len());
            must_poll |= w.child.needs_polling();
        }
        let limit = if must_poll { Some(left.map_or(Duration::from_millis(5), |l| l.min(Duration::from_millis(5)))) } else { left };
        crate::sys::poll(&mut fds, limit).map_err(|e| Error::io("poll", e))?;
        for (i, range) in ranges.into_iter().enumerate() {
            if must_poll || fds[range].iter().any(|f| f.revents != 0) {
                self.collect_from(i);
            }
        }
        Ok(())
    }

    /// Takes results and output from worker `i` and notes if it died.
    fn collect_from(&mut self, i: usize) {
        let mut frames: Vec<(u64, u32, u64, Vec<u8>)> = Vec::new();
        let worker = &mut self.workers[i];
        let pid = worker.pid();
        // Reap first: if it ended, everything it wrote is already in the pipes and is read now.
        worker.child.reap_if_exited();
        worker.take_results(|f: ResultFrame<'_>| frames.push((f.id, f.micros, f.started_ns, f.outcome.to_vec())));
        for (id, micros, started_ns, outcome) in frames {
            self.complete(i, pid, id, micros, started_ns, outcome);
        }
    }

    fn complete(&mut self, worker: usize, pid: i32, id: u64, micros: u32, started_ns: u64, outcome: Vec<u8>) {
        if id == super::frame::INIT_FAILED {
            let err = match Outcome::read_from(&outcome) {
                Some(o) => o.into_result::<()>(&format!("the pool's initializer in worker pid {pid}"), pid).err(),
                None => None,
            }
            .unwrap_or_else(|| Error::invalid_state("the pool's initializer failed"));
            self.break_pool(err);
            return;
        }
        let w = &mut self.workers[worker];
        if w.in_flight.front().is_some_and(|t| t.id == id) {
            w.in_flight.pop_front();
        } else {
            w.in_flight.retain(|t| t.id != id);
        }
        let us = micros as f64;
        self.task_micros = Some(match self.task_micros {
            None => us,
            Some(avg) => avg * 0.8 + us * 0.2,
        });
        if let Some(timeline) = &mut self.timeline {
            timeline.push(TaskSpan { task: id, pid, start_ns: started_ns, end_ns: started_ns + micros as u64 * 1000 });
        }
        self.finish(id, Ok((pid, outcome)));
    }

    /// Records how task `id` ended, fires its error callback, releases its function value.
    fn finish(&mut self, id: u64, done: Done) {
        self.outstanding.remove(&id);
        self.keepalive.remove(&id);
        if let Some(callback) = self.callbacks.remove(&id) {
            if let Some(err) = done_error(&done) {
                self.fired.push((callback, err));
            }
        }
        if !self.forgotten.remove(&id) {
            self.done.insert(id, done);
        }
    }

    /// Removes workers that ended; fails the task each was running, requeues the rest.
    fn reap_dead(&mut self) {
        let mut i = 0;
        while i < self.workers.len() {
            let w = &mut self.workers[i];
            if w.child.exit_code().is_none() {
                i += 1;
                continue;
            }
            let mut w = self.workers.remove(i); // keeps the others in order: worker_pids() stays stable
            let code = w.child.exit_code().unwrap_or(0);
            let who = format!("pool worker (pid {})", w.pid());
            let mut in_flight = std::mem::take(&mut w.in_flight);
            if let Some(err) = &self.broken {
                // The initializer failed: that, not the worker's exit, is why these tasks fail.
                let err = err.clone();
                for task in in_flight {
                    self.finish(task.id, Err(err.clone()));
                }
                continue;
            }
            if let Some(running) = in_flight.pop_front() {
                if code != 0 || !w.retiring {
                    let err = if code < 0 {
                        Error::signaled(&who, w.pid(), -code)
                    } else {
                        Error::exited(&who, w.pid(), code)
                    }
                    .prefixed("the task's worker died while running it");
                    self.finish(running.id, Err(err));
                } else {
                    in_flight.push_front(running);
                }
            }
            // Tasks queued behind the running one never started: give them to other workers.
            for task in in_flight.into_iter().rev() {
                self.pending.push_front(Pending { id: task.id, slot: task.slot, input: task.input });
            }
        }
    }

    fn break_pool(&mut self, err: Error) {
        self.broken = Some(err.clone());
        for task in std::mem::take(&mut self.pending) {
            self.finish(task.id, Err(err.clone()));
        }
        for w in &mut self.workers {
            w.retire();
        }
    }

    /// Python's `close()`: no new tasks; workers exit once the queued work is done.
    pub(crate) fn close(&mut self) {
        if self.state == PoolState::Running {
            self.state = PoolState::Closed;
        }
    }

    /// Asks idle workers to exit once no work is left (after `close`).
    pub(crate) fn retire_idle_when_finished(&mut self) {
        if self.outstanding.is_empty() {
            for w in &mut self.workers {
                w.retire();
            }
        }
    }

    pub(crate) fn all_workers_gone(&self) -> bool {
        self.workers.is_empty()
    }

    pub(crate) fn has_outstanding(&self) -> bool {
        !self.outstanding.is_empty()
    }

    /// Python's `terminate()`: stops every worker now; unfinished tasks fail.
    pub(crate) fn terminate(&mut self) {
        self.state = PoolState::Terminated;
        for w in &mut self.workers {
            let _ = w.child.signal(nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + TERMINATE_GRACE;
        for w in &mut self.workers {
            if !matches!(w.child.wait_until(Some(deadline)), Ok(Some(_))) {
                w.child.shut_down(Duration::ZERO);
            }
        }
        self.workers.clear();
        self.pending.clear();
        self.outstanding.clear();
        self.callbacks.clear();
        self.keepalive.clear();
        self.forgotten.clear();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if !self.workers.is_empty() {
            self.terminate();
        }
    }
}

/// The error a stored outcome stands for, if it is one (for error callbacks).
fn done_error(done: &Done) -> Option<Error> {
    match done {
        Err(e) => Some(e.clone()),
        Ok((pid, bytes)) => match Outcome::read_from(bytes) {
            Some(Outcome::Returned(_)) => None,
            Some(other) => other.into_result::<()>(&format!("pool worker (pid {pid})"), *pid).err(),
            None => Some(Error::invalid_state("a worker sent a torn result")),
        },
    }
}

/// Turns a stored outcome into the task's value.
pub(crate) fn decode_done<R: serde::de::DeserializeOwned>(done: Done) -> Result<R> {
    let (pid, bytes) = done?;
    match Outcome::read_from(&bytes) {
        Some(outcome) => outcome.into_result(&format!("pool worker (pid {pid})"), pid),
        None => Err(Error::invalid_state("a worker sent a torn result").with_pid(pid)),
    }
}
