//! A pool worker: the loop a forked worker runs, and the parent's record of it.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::{CallFn, Slot};
use super::code_map::CodeMap;
use super::frame;
use crate::child::{fork_child, Child};
use crate::error::{Error, Result};
use crate::sys;

/// Results are sent back at the latest this long after the first unsent one was ready, so a
/// batch of quick tasks costs one write while a slow task does not hold back finished ones.
const RESULT_FLUSH_AFTER: Duration = Duration::from_millis(1);

/// What a worker needs besides its pipes.
pub(crate) struct WorkerSetup<'a> {
    pub(crate) max_tasks: Option<usize>,
    pub(crate) initializer: Option<&'a (dyn Fn() + Send + Sync)>,
    /// Write ends of the other workers' task pipes, which this fork inherited and must close,
    /// or those workers would never see end-of-file.
    pub(crate) close_fds: Vec<RawFd>,
}

/// A task sent to a worker and not yet answered.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) id: u64,
    pub(crate) slot: Slot,
    pub(crate) input: Vec<u8>,
}

/// One answer from a worker.
pub(crate) struct ResultFrame<'a> {
    pub(crate) id: u64,
    /// How long the task ran.
    pub(crate) micros: u32,
    /// When it started, on CLOCK_MONOTONIC.
    pub(crate) started_ns: u64,
    /// The tagged outcome.
    pub(crate) outcome: &'a [u8],
}

/// The parent's view of one worker process.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) child: Child,
    /// Write end of the task pipe (non-blocking), None once closed.
    task_fd: Option<OwnedFd>,
    /// Task frames not yet written into the pipe.
    outbox: Vec<u8>,
    /// Answered-in-order queue of tasks sent to this worker.
    pub(crate) in_flight: VecDeque<InFlight>,
    /// Tasks ever sent (for max_tasks_per_child).
    pub(crate) sent: usize,
    /// The pool's epoch when this worker was forked.
    pub(crate) epoch: u64,
    /// Code loaded when this worker was forked.
    code: Arc<CodeMap>,
    /// Asked to exit: gets no more tasks.
    pub(crate) retiring: bool,
    /// Where parsing of the result stream stopped.
    result_pos: usize,
}

impl Worker {
    /// Forks a worker.
    pub(crate) fn spawn(name: &str, epoch: u64, code: Arc<CodeMap>, setup: WorkerSetup<'_>) -> Result<Worker> {
        let (task_r, task_w) = sys::pipe().map_err(|e| Error::start("pipe", e))?;
        let task_w_raw = task_w.as_raw_fd();
        let child = fork_child(name, |side| {
            for fd in setup.close_fds.iter().copied().chain([task_w_raw]) {
                // SAFETY: these fds were inherited from the parent and nothing in this child
                // uses them; closing them only drops this process's reference.
                unsafe { libc::close(fd) };
            }
            worker_main(task_r.as_fd(), side.result, &setup)
        })?;
        drop(task_r);
        sys::set_nonblocking(task_w.as_fd()).map_err(|e| Error::start("fcntl", e))?;
        Ok(Worker {
            child,
            task_fd: Some(task_w),
            outbox: Vec::new(),
            in_flight: VecDeque::new(),
            sent: 0,
            epoch,
            code,
            retiring: false,
            result_pos: 0,
        })
    }

    pub(crate) fn pid(&self) -> i32 {
        self.child.pid()
    }

    /// The task pipe's write end, for other workers to close after fork.
    pub(crate) fn task_raw_fd(&self) -> Option<RawFd> {
        self.task_fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// True if this worker has the code and data `slot` needs.
    pub(crate) fn can_run(&self, slot: &Slot) -> bool {
        self.epoch >= slot.epoch && self.code.contains(slot.call)
    }

    /// Queues a task frame for this worker.
    pub(crate) fn send(&mut self, task: InFlight) {
        frame::push_run(&mut self.outbox, task.id, task.slot.call, task.slot.data, &task.input);
        self.sent += 1;
        self.in_flight.push_back(task);
    }

    /// Asks the worker to exit once it has answered what it was sent.
    pub(crate) fn retire(&mut self) {
        if !self.retiring {
            self.retiring = true;
            frame::push_exit(&mut self.outbox);
        }
    }

    /// Writes as much of the outbox as the pipe takes now.
    pub(crate) fn flush(&mut self) {
        let Some(fd) = &self.task_fd else {
            self.outbox.clear();
            return;
        };
        let mut written = 0;
        let mut broken = false;
        while written < self.outbox.len() {
            match nix::unistd::write(fd.as_fd(), &self.outbox[written..]) {
                Ok(n) => written += n,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => break,
                Err(_) => {
                    // The worker is gone (EPIPE); its death is handled when it is reaped.
                    written = self.outbox.len();
                    broken = true;
                }
            }
        }
        self.outbox.drain(..written);
        if broken {
            self.task_fd = None;
        }
    }

    /// Poll entries for this worker: its output and result pipes, its exit, and its task pipe
    /// when there is something left to write.
    pub(crate) fn poll_fds(&self, fds: &mut Vec<libc::pollfd>) {
        self.child.poll_fds(fds);
        if let (false, Some(fd)) = (self.outbox.is_empty(), &self.task_fd) {
            fds.push(libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLOUT, revents: 0 });
        }
    }

    /// Reads what the worker sent and hands each complete result frame to `on_result`.
    pub(crate) fn take_results(&mut self, mut on_result: impl FnMut(ResultFrame<'_>)) {
        self.child.drain_available();
        let buf = self.child.result_buffer();
        let mut pos = self.result_pos;
        while let Some(body) = frame::next(buf, &mut pos) {
            if let (Some(id), Some(micros), Some(started_ns)) =
                (frame::u64_at(body, 0), frame::u32_at(body, 8), frame::u64_at(body, 12))
            {
                on_result(ResultFrame { id, micros, started_ns, outcome: &body[20..] });
            }
        }
        buf.drain(..pos);
        self.result_pos = 0;
    }
}

/// The worker's main loop: run every task frame, send results in batches, exit on EXIT, on
/// end-of-file, or after `max_tasks`.
fn worker_main(tasks: BorrowedFd<'_>, results: BorrowedFd<'_>, setup: &WorkerSetup<'_>) -> i32 {
    // A worker lives long and may send large results: give its result pipe room once.
    sys::grow_pipe_for(results, usize::MAX);
    if let Some(init) = setup.initializer {
        if let Err(info) = crate::panic::catch(init) {
            let mut out = Vec::new();
            frame::push(&mut out, |out| {
                out.extend_from_slice(&frame::INIT_FAILED.to_le_bytes());
                out.extend_from_slice(&0u32.to_le_bytes());
                out.extend_from_slice(&0u64.to_le_bytes());
                crate::wire::record_panic(out, &info);
            });
            let _ = sys::write_all(results, &out);
            return 1;
        }
    }
    let mut input: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::new();
    let mut done = 0usize;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match sys::read(tasks.as_raw_fd(), &mut chunk) {
            Ok(0) => return 0,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return 1,
        };
        input.extend_from_slice(&chunk[..n]);
        let mut pos = 0;
        let mut first_unsent: Option<Instant> = None;
        while let Some(body) = frame::next(&input, &mut pos) {
            if body.first() != Some(&frame::RUN) {
                let _ = sys::write_all(results, &out);
                return 0;
            }
            let (Some(id), Some(call), Some(data)) = (frame::u64_at(body, 1), frame::u64_at(body, 9), frame::u64_at(body, 17)) else {
                return 1;
            };
            let started = Instant::now();
            let started_ns = sys::monotonic_ns();
            frame::push(&mut out, |out| {
                out.extend_from_slice(&id.to_le_bytes());
                let micros_at = out.len();
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&started_ns.to_le_bytes());
                // SAFETY: the pool sends only addresses of `CallFn` trampolines whose code was
                // loaded when this worker was forked, with data pointers to function values
                // that existed at that fork (`Worker::can_run`), so both are valid here.
                unsafe {
                    let call: CallFn = std::mem::transmute::<usize, CallFn>(call as usize);
                    call(data as usize as *const (), &body[25..], out);
                }
                let micros = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
                out[micros_at..micros_at + 4].copy_from_slice(&micros.to_le_bytes());
            });
            done += 1;
            let first = *first_unsent.get_or_insert(started);
            if setup.max_tasks.is_some_and(|max| done >= max) {
                let _ = sys::write_all(results, &out);
                return 0;
            }
            if first.elapsed() >= RESULT_FLUSH_AFTER {
                if sys::write_all(results, &out).is_err() {
                    return 1;
                }
                out.clear();
                first_unsent = None;
            }
        }
        input.drain(..pos);
        if !out.is_empty() {
            if sys::write_all(results, &out).is_err() {
                return 1;
            }
            out.clear();
        }
    }
}
