// ---
// jupyter:
//   jupytext:
//     formats: ipynb,rs:percent
//     text_representation:
//       extension: .rs
//       format_name: percent
//   kernelspec:
//     display_name: Rust (multiproc)
//     language: rust
//     name: rust-multiproc
// ---

// %% [markdown]
// # Q1. What is multiprocessing in python? Why is it useful?
//
// **What it is.** A running program is a *process*: the operating system gives it its own
// memory, its own open files and its own id (the pid). Multiprocessing means splitting a job
// over several such processes that run at the same time, usually copies of one program, each
// doing a share of the work. Python's `multiprocessing` module does this for Python; the
// `multiproc` crate used here does the same for Rust, with the same names (`Process`, `Pool`,
// `cpu_count`, ...).
//
// **Why people use it.** Two separate reasons:
//
// 1. *Speed.* A machine with several cores can run several processes truly at once, so a job
//    that keeps a core busy (a *CPU-bound* job) can finish sooner when split.
// 2. *Isolation.* Each process has its own memory. A child can change its data as it likes
//    without the parent seeing it, and a child that crashes takes only itself down.
//
// **An honest word about Rust.** In Python the first reason is the famous one, because of the
// Global Interpreter Lock (GIL): only one thread at a time runs Python code, so threads cannot
// use several cores for Python work and processes are the way around it. Rust has no GIL.
// Rust threads already run on all cores at once (we measure that below). So in Rust, speed alone
// is rarely the reason to reach for processes; what processes add is the second reason:
// separate memory, crashes that stay contained, and the ability to run whole other programs.
//
// Every claim above is backed by a cell below that you can run. Timings depend on the machine
// and on what else it is doing, so your numbers will differ from run to run.

// %% [markdown]
// ## How many cores do we have?

// %%
use std::time::{Duration, Instant};
println!("cpu_count() = {}", cpu_count());
println!("this notebook runs in process {}", current_process().pid());

// %% [markdown]
// ## A CPU-bound job
//
// Counting prime numbers by trial division keeps a core busy and needs no input or output.
// To split it fairly we deal the numbers out like cards: with `k` workers, worker `i` checks
// `i, i + k, i + 2k, ...`. (Cutting the range into `k` consecutive blocks would be unfair: big
// numbers take longer to check than small ones.)

// %%
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 1;
    }
    true
}

/// Counts the primes among start, start + step, start + 2·step, ... below `end`.
fn count_primes(start: u64, step: u64, end: u64) -> u64 {
    (start..end).step_by(step as usize).filter(|&n| is_prime(n)).count() as u64
}

/// Runs `job` `runs` times and keeps the fastest time: other programs on the machine only ever
/// make a run slower, so the minimum is the fairest single number.
fn best_of<T>(runs: usize, mut job: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut value = None;
    for _ in 0..runs {
        let start = Instant::now();
        value = Some(job());
        best = best.min(start.elapsed());
    }
    (value.unwrap(), best)
}

// %% [markdown]
// First the job alone, in this process, with no helpers: the *sequential* time every other run
// is compared with.

// %%
let limit: u64 = 2_000_000;
let (primes, sequential) = best_of(3, || count_primes(0, 1, limit));
println!("{primes} primes below {limit}, counted in {:.1} ms", sequential.as_secs_f64() * 1e3);

// %% [markdown]
// ## The same job on 1, 2, ... processes
//
// `count_on_processes(k)` starts `k` child processes with `spawn`; each counts its share and
// returns its count; the parent joins them all and adds the counts up. The table compares each
// run with the sequential one: a speedup of 2.00x means twice as fast. The bar chart marks the
// ideal (one x per process) with a thin line; starting processes and sharing the machine keep
// real runs a little below it, and no run can beat the number of cores. The gain also needs
// *idle* cores: on a machine busy with other programs the extra processes just wait their turn,
// and the speedup shrinks towards 1.00x. Run the cell again and compare.

// %%
fn count_on_processes(k: u64, end: u64) -> Result<u64, Error> {
    let children = (0..k)
        .map(|i| spawn(move || count_primes(i, k, end)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut total = 0;
    for child in children {
        total += child.join()?;
    }
    Ok(total)
}

let mut table = multiproc::SpeedupTable::new(sequential);
for k in 1..=cpu_count() {
    let (count, time) = best_of(3, || count_on_processes(k as u64, limit));
    assert_eq!(count?, primes, "every run must find the same primes");
    table.add(k, time);
}
table

// %% [markdown]
// ## Threads do this too in Rust
//
// Here is the same split on threads instead of processes. With no GIL the threads run on
// separate cores and the speedup is about the same: for raw speed on one machine, Rust threads
// are enough (and cheaper to start, see Q2).

// %%
fn count_on_threads(k: u64, end: u64) -> u64 {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..k).map(|i| scope.spawn(move || count_primes(i, k, end))).collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

let k = cpu_count() as u64;
let (count, time) = best_of(3, || count_on_threads(k, limit));
assert_eq!(count, primes);
println!(
    "{k} threads: {:.1} ms, speedup {:.2}x over sequential",
    time.as_secs_f64() * 1e3,
    sequential.as_secs_f64() / time.as_secs_f64()
);

// %% [markdown]
// ## Isolation: a child works on its own copy
//
// Below, one list is shared through an `Arc<Mutex<...>>`, the usual Rust way to share data
// between threads. A thread that adds a name changes the list the parent sees. A child process
// that runs the very same code changes only its own copy: when a process starts, it gets a
// copy of the parent's memory, and from then on the two never see each other's changes.

// %%
use std::sync::{Arc, Mutex};

let names = Arc::new(Mutex::new(vec!["Ada".to_string()]));

let for_thread = names.clone();
std::thread::spawn(move || for_thread.lock().unwrap().push("from a thread".to_string()))
    .join()
    .unwrap();
println!("after the thread:  the parent's list is {:?}", names.lock().unwrap());

let for_child = names.clone();
let childs_view = spawn(move || {
    let mut list = for_child.lock().unwrap();
    list.push("from a process".to_string());
    list.clone()
})?
.join()?;
println!("inside the child:  the list was {childs_view:?}");
println!("after the process: the parent's list is {:?}", names.lock().unwrap());

// %% [markdown]
// ## Isolation: a crash stays in the child
//
// `std::process::abort()` ends a process on the spot, the way a serious bug (a segmentation
// fault, a failed allocation) would. Run in a thread, it would end this notebook's kernel. Run in
// a child process, it ends only the child: the parent learns how the child died and carries on.
// As in Python, the exit code of a process killed by a signal is minus the signal number
// (SIGABRT is 6, so -6). A plain Rust panic is gentler: it gives exit code 1, like an uncaught
// exception in Python.

// %%
let mut crasher = Process::new(|| -> () { std::process::abort() });
crasher.start()?;
match crasher.join() {
    Ok(()) => println!("the child finished normally"),
    Err(error) => println!("the child crashed: {error}"),
};
let exit_code = crasher.exitcode();
println!("its exit code: {exit_code:?}");
println!("and the parent (pid {}) is still running", current_process().pid());

// %% [markdown]
// ## Processes can be whole other programs
//
// A child process does not have to be a copy of this program: the operating system can start
// any program as a process. Here the standard library's `Command` runs a shell that reports its
// own pid. This is something threads cannot do at all.

// %%
let output = std::process::Command::new("sh")
    .args(["-c", "echo \"I am a separate program (sh), pid $$\""])
    .output()?;
print!("{}", String::from_utf8_lossy(&output.stdout));
println!("started from the notebook's process, pid {}", current_process().pid());

// %% [markdown]
// ## In short
//
// | | threads (Rust) | processes |
// |---|---|---|
// | use several cores | yes | yes |
// | memory | shared (guarded by `Arc`, `Mutex`, atomics) | each has its own copy |
// | a crash | ends the whole program | ends that child only; the parent gets the exit code |
// | can be another program | no | yes |
// | cost to start | small | larger (see Q2) |

// %% [markdown]
// ## Exercise
//
// Write `partial_sums(n, k)`: add up the squares `0², 1², ..., (n-1)²` using `k` child
// processes. Give each child a share of the numbers (any fair split will do), let it return
// its partial sum, join them all, and return one `(pid of the child, its partial sum)` pair per
// child. Then run the check cell.

// %% tags=["exercise"]
fn partial_sums(n: u64, k: u64) -> Vec<(i32, u64)> {
    // Replace this line with your code.
    todo!("split the squares below {n} over {k} child processes")
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    let me = current_process().pid();
    for (n, k) in [(1_000u64, 1u64), (1_000, 2), (10_001, 3), (5, 4)] {
        let parts = partial_sums(n, k);
        let want: u64 = (0..n).map(|x| x * x).sum();
        let got: u64 = parts.iter().map(|&(_, sum)| sum).sum();
        let mut pids: Vec<i32> = parts.iter().map(|&(pid, _)| pid).collect();
        pids.sort();
        pids.dedup();
        if parts.len() != k as usize {
            return format!("Not yet: partial_sums({n}, {k}) returned {} parts; expected one per process, {k}", parts.len());
        }
        if got != want {
            return format!("Not yet: partial_sums({n}, {k}) adds up to {got}; expected {want}");
        }
        if pids.len() != k as usize || pids.contains(&me) {
            return format!("Not yet: partial_sums({n}, {k}) should get each part from its own child process (pids {pids:?})");
        }
    }
    "Check passed: every split adds up, and each part came from its own process".to_string()
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
