//! The raw limit: fork, pipes and waitpid through libc with nothing on top.
//!
//! Each workload here does the least a process library must do for the same job, so the ratio
//! `multiproc / raw` is the library's overhead. Workers speak a fixed binary protocol: a message
//! is a little-endian `u64` count `n` followed by `n` little-endian `u64` items; the reply has the
//! same shape with every item squared. `n == u64::MAX` asks the worker to exit.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd};

use crate::workloads::{check, cpu_task, sample, Samples, Sizes};

const STOP: u64 = u64::MAX;
/// Bytes of requests kept in flight per worker: below the 64 KiB pipe capacity, so neither
/// side's write can block while the other is also writing.
const IN_FLIGHT_BYTES: usize = 32 * 1024;

/// Forks a child that runs `body` and `_exit`s with its return value; returns the child's pid.
/// In the parent, `body` is dropped unrun (closing any pipe ends it owns).
fn fork_with(body: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: the benchmark binary is single-threaded (no test harness, no helper threads), so
    // the child may allocate and use std I/O; the child never returns from this function, it
    // ends in `_exit` below. fork(2): https://man7.org/linux/man-pages/man2/fork.2.html
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
            // SAFETY: `_exit` ends the child without running the parent's atexit handlers or
            // destructors, which belong to the parent. _exit(2).
            unsafe { libc::_exit(code) }
        }
        pid => Ok(pid),
    }
}

/// waitpid(2) for one child, retrying on EINTR; returns the raw status.
fn wait(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out pointer; `pid` is our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// pipe2(2) with O_CLOEXEC: (read end, write end).
fn pipe() -> io::Result<(File, File)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just created and are owned by nothing else.
    Ok(unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) })
}

fn encode(items: &[u64], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&(items.len() as u64).to_le_bytes());
    for x in items {
        out.extend_from_slice(&x.to_le_bytes());
    }
}

fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// If `buf` starts with a whole message, its item count and total length.
fn whole_message(buf: &[u8]) -> Option<(u64, usize)> {
    if buf.len() < 8 {
        return None;
    }
    let n = word(buf, 0);
    if n == STOP {
        return Some((STOP, 8));
    }
    let len = 8 + 8 * n as usize;
    (buf.len() >= len).then_some((n, len))
}

/// A worker's loop: read what is there, answer every whole message with one write.
fn serve(mut rx: File, mut tx: File) -> i32 {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut reply = Vec::new();
    let mut items = Vec::new();
    loop {
        let mut pos = 0;
        while let Some((n, len)) = whole_message(&buf[pos..]) {
            if n == STOP {
                return 0;
            }
            items.clear();
            items.extend((0..n as usize).map(|i| word(&buf, pos + 8 + 8 * i)).map(|x| x.wrapping_mul(x)));
            encode(&items, &mut reply);
            if tx.write_all(&reply).is_err() {
                return 1;
            }
            pos += len;
        }
        buf.drain(..pos);
        match rx.read(&mut chunk) {
            Ok(0) | Err(_) => return 0,
            Ok(got) => buf.extend_from_slice(&chunk[..got]),
        }
    }
}

struct Worker {
    pid: i32,
    tx: File,
    rx: File,
    buf: Vec<u8>,
    /// Chunk indexes sent and not yet answered, oldest first.
    in_flight: std::collections::VecDeque<usize>,
}

/// `n` forked workers, each with a request and a reply pipe. Drop stops and reaps them.
pub struct RawPool {
    workers: Vec<Worker>,
}

impl RawPool {
    pub fn new(n: usize) -> io::Result<RawPool> {
        let mut pool = RawPool { workers: Vec::with_capacity(n) };
        for _ in 0..n {
            let (req_r, req_w) = pipe()?;
            let (rep_r, rep_w) = pipe()?;
            let pid = fork_with(move || serve(req_r, rep_w))?;
            pool.workers.push(Worker { pid, tx: req_w, rx: rep_r, buf: Vec::new(), in_flight: Default::default() });
        }
        Ok(pool)
    }

    /// One synchronous request and reply with the first worker.
    pub fn round_trip(&mut self, x: u64) -> io::Result<u64> {
        let w = &mut self.workers[0];
        let mut msg = Vec::with_capacity(16);
        encode(&[x], &mut msg);
        w.tx.write_all(&msg)?;
        let mut reply = [0u8; 16];
        w.rx.read_exact(&mut reply)?;
        Ok(word(&reply, 8))
    }

    /// Squares `items` in chunks of `chunksize`, pipelined over all workers with poll(2).
    pub fn map(&mut self, items: &[u64], chunksize: usize) -> io::Result<Vec<u64>> {
        let chunks: Vec<&[u64]> = items.chunks(chunksize.max(1)).collect();
        let window = (IN_FLIGHT_BYTES / (8 + 8 * chunksize)).max(1);
        let mut results = vec![0u64; items.len()];
        let (mut next, mut done) = (0, 0);
        let mut msg = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while done < chunks.len() {
            for w in &mut self.workers {
                while w.in_flight.len() < window && next < chunks.len() {
                    encode(chunks[next], &mut msg);
                    w.tx.write_all(&msg)?;
                    w.in_flight.push_back(next);
                    next += 1;
                }
            }
            let mut fds: Vec<libc::pollfd> = self
                .workers
                .iter()
                .map(|w| libc::pollfd { fd: w.rx.as_raw_fd(), events: libc::POLLIN, revents: 0 })
                .collect();
            // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs. poll(2).
            if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            for (w, fd) in self.workers.iter_mut().zip(&fds) {
                if fd.revents == 0 {
                    continue;
                }
                let got = w.rx.read(&mut chunk)?;
                if got == 0 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "a raw worker exited"));
                }
                w.buf.extend_from_slice(&chunk[..got]);
                let mut pos = 0;
                while let Some((n, len)) = whole_message(&w.buf[pos..]) {
                    let idx = w.in_flight.pop_front().expect("a reply without a request");
                    let start = idx * chunksize;
                    for k in 0..n as usize {
                        results[start + k] = word(&w.buf, pos + 8 + 8 * k);
                    }
                    pos += len;
                    done += 1;
                }
                w.buf.drain(..pos);
            }
        }
        Ok(results)
    }
}

impl Drop for RawPool {
    fn drop(&mut self) {
        for w in &mut self.workers {
            let _ = w.tx.write_all(&STOP.to_le_bytes());
        }
        for w in &self.workers {
            let _ = wait(w.pid);
        }
    }
}

fn err(e: io::Error) -> String {
    format!("raw baseline: {e}")
}

/// fork + `_exit(0)` + waitpid.
fn start_join() -> io::Result<()> {
    let pid = fork_with(|| 0)?;
    wait(pid).map(drop)
}

/// Runs one workload group; returns (key, seconds per operation) for each measured key.
pub fn run(group: &'static str, s: &Sizes) -> Result<Vec<(&'static str, Samples)>, String> {
    let r = s.reps;
    Ok(match group {
        "start_join" => vec![("start_join", sample(r.start_join, s.warmup, 1, || start_join().map_err(err))?)],
        "pool_create" => {
            let t = sample(r.pool_create, s.warmup, 1, || {
                let mut pool = RawPool::new(2).map_err(err)?;
                pool.round_trip(3).map_err(err)?;
                Ok(pool)
            })?;
            vec![("pool_create", t)]
        }
        "map_100k" | "map_chunk1" | "apply_async" | "apply" => {
            let mut pool = RawPool::new(2).map_err(err)?;
            // chunksize 0 means one synchronous round trip per item.
            let (n, chunksize) = match group {
                "map_100k" => (s.map_items, s.map_items.div_ceil(8)),
                "map_chunk1" => (s.chunk1_items, 1),
                "apply_async" => (s.async_tasks, 1),
                _ => (s.apply_calls, 0),
            };
            let items: Vec<u64> = (0..n as u64).collect();
            let per_op = if group == "map_100k" { 1 } else { n };
            let t = sample(r.pool_ops, s.warmup, per_op, || {
                if chunksize == 0 {
                    for &x in &items {
                        pool.round_trip(x).map_err(err)?;
                    }
                } else {
                    let out = pool.map(&items, chunksize).map_err(err)?;
                    check(out[n - 1] == (n as u64 - 1) * (n as u64 - 1), "the last square")?;
                }
                Ok(())
            })?;
            vec![(group, t)]
        }
        "result_64mb" => {
            let bytes = s.result_bytes;
            let t = sample(r.result, s.warmup, 1, || {
                let (mut rx, mut tx) = pipe().map_err(err)?;
                let pid = fork_with(move || {
                    let data = vec![1u8; bytes];
                    i32::from(tx.write_all(&data).is_err())
                })
                .map_err(err)?;
                let mut data = Vec::with_capacity(bytes);
                rx.read_to_end(&mut data).map_err(err)?;
                wait(pid).map_err(err)?;
                check(data.len() == bytes, "data.len() == bytes")?;
                Ok(())
            })?;
            vec![("result_64mb", t)]
        }
        "cpu" => {
            // 1-child and 2-children runs alternate, so both see the same load.
            let job = |workers: usize| {
                let per_worker = s.cpu_tasks / workers;
                sample(1, false, 1, || {
                    let pids: Vec<i32> = (0..workers)
                        .map(|_| fork_with(|| (0..per_worker).map(|_| cpu_task(s.cpu_iters)).fold(0, u64::wrapping_add) as i32 & 1))
                        .collect::<io::Result<_>>()
                        .map_err(err)?;
                    for pid in pids {
                        wait(pid).map_err(err)?;
                    }
                    Ok(())
                })
            };
            let (mut one, mut two) = (Vec::new(), Vec::new());
            for _ in 0..r.cpu {
                one.extend(job(1)?);
                two.extend(job(2)?);
            }
            vec![("cpu_1", one), ("cpu_2", two)]
        }
        "start_join_1gb" => {
            let t = sample(r.start_join_1gb, s.warmup, 1, || start_join().map_err(err))?;
            vec![("start_join_1gb", t)]
        }
        other => return Err(format!("unknown workload {other}")),
    })
}
