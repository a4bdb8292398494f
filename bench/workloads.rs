//! What every side runs: the workload groups, their sizes and repetitions, the timing helper and
//! the CPU-bound task.

use std::time::Instant;

/// Seconds per operation, one value per repetition.
pub type Samples = Vec<f64>;

/// A Rust side's entry point: runs one workload group, returns (key, samples) per measured key.
pub type RunGroup = fn(&'static str, &Sizes) -> Result<Vec<(&'static str, Samples)>, String>;

/// Workload groups in the order they run. Each group is measured on every side before the next
/// starts, so the sides of one comparison run close together in time on a shared machine.
pub const GROUPS: [&str; 9] =
    ["start_join", "pool_create", "map_100k", "map_chunk1", "apply_async", "apply", "result_64mb", "cpu", "start_join_1gb"];

/// Repetitions per workload group (each repetition gives one sample; the table shows medians).
#[derive(Debug, Clone, Copy)]
pub struct Reps {
    pub start_join: usize,
    pub pool_create: usize,
    /// map_100k, map_chunk1, apply_async, apply.
    pub pool_ops: usize,
    pub result: usize,
    pub cpu: usize,
    pub start_join_1gb: usize,
}

impl Reps {
    pub const QUICK: Reps = Reps { start_join: 1, pool_create: 1, pool_ops: 1, result: 1, cpu: 1, start_join_1gb: 1 };
    /// Rust sides (multiproc and raw): cheap, so many repetitions.
    pub const RUST: Reps = Reps { start_join: 400, pool_create: 40, pool_ops: 15, result: 9, cpu: 5, start_join_1gb: 40 };
    pub const PYTHON_FORK: Reps = Reps { start_join: 150, pool_create: 25, pool_ops: 7, result: 7, cpu: 5, start_join_1gb: 20 };
    /// Python's spawn start method starts a fresh interpreter per process (~60 ms): fewer.
    pub const PYTHON_SPAWN: Reps = Reps { start_join: 15, pool_create: 7, pool_ops: 5, result: 5, cpu: 3, start_join_1gb: 7 };
}

/// Sizes of the workloads, the same on every side unless noted.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub reps: Reps,
    /// One untimed run before the timed ones.
    pub warmup: bool,
    /// map with default chunking (ceil(n / (4 × 2 workers)) = 12,500 per chunk).
    pub map_items: usize,
    /// map at chunksize 1 (per-item cost = time / items).
    pub chunk1_items: usize,
    pub async_tasks: usize,
    /// Sequential `apply` calls per repetition (per-call cost = time / calls).
    pub apply_calls: usize,
    pub result_bytes: usize,
    /// Tasks of the CPU-bound job (on 1 worker, then on 2).
    pub cpu_tasks: usize,
    /// Iterations of [`cpu_task`] per task (the Python script picks its own count for a
    /// similar task time, since only each side's 2-vs-1 speedup is compared).
    pub cpu_iters: u64,
    /// Touched memory the parent holds for start_join_1gb.
    pub hold_bytes: usize,
}

impl Sizes {
    pub fn new(reps: Reps, quick: bool) -> Sizes {
        Sizes {
            reps,
            warmup: !quick,
            map_items: 100_000,
            chunk1_items: 20_000,
            async_tasks: 10_000,
            apply_calls: 1_000,
            result_bytes: 64 << 20,
            cpu_tasks: 16,
            cpu_iters: 15_000_000,
            hold_bytes: 1 << 30,
        }
    }
}

/// Times `reps` runs of `f` (after one untimed run if `warmup`) and returns seconds per
/// operation for each. Whatever `f` returns is dropped after the clock stops, so teardown
/// (closing a pool) is not timed.
pub fn sample<T>(reps: usize, warmup: bool, per_op: usize, mut f: impl FnMut() -> Result<T, String>) -> Result<Samples, String> {
    if warmup {
        drop(f()?);
    }
    let mut out = Vec::with_capacity(reps);
    for _ in 0..reps {
        let start = Instant::now();
        let kept = f()?;
        out.push(start.elapsed().as_secs_f64() / per_op.max(1) as f64);
        drop(kept);
    }
    Ok(out)
}

/// A wrong result is reported as this workload's error, not a panic: the benchmark goes on.
pub fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("wrong result: expected {what}"))
    }
}

/// The CPU-bound task: `iters` rounds of xorshift64, which the compiler cannot shorten.
pub fn cpu_task(iters: u64) -> u64 {
    let mut x: u64 = 88_172_645_463_325_252;
    for _ in 0..std::hint::black_box(iters) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// The trivial task of the pool workloads.
pub fn square(x: u64) -> u64 {
    x.wrapping_mul(x)
}

/// The median of `v` (mean of the middle two for an even count); None when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 })
}
