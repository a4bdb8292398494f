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
// # Q4. What is a multiprocessing pool in python? Why is it used?
//
// A **pool** is a fixed team of worker processes that you start once and then keep feeding with
// tasks. You hand the pool a function and a pile of inputs; each idle worker takes the next
// input, runs the function on it, sends the result back and takes another. When the pile is
// empty, the pool gives you all the results.
//
// Why not simply start one process per task?
//
// - **Start-up is paid once.** Starting a process costs far more than calling a function (Q2).
//   A pool pays it once per worker, not once per task.
// - **The number of processes stays sensible.** Ten thousand tasks do not become ten thousand
//   processes fighting over a few cores: the pool runs as many at a time as it has workers,
//   usually one per core.
// - **Work is balanced by itself.** A worker that finishes early just takes the next task, so
//   short and long tasks even out.
// - **It is convenient.** `pool.map(f, inputs)` reads like an ordinary `map` and returns results
//   in input order.
//
// The cells below show each point.

// %%
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

// %% [markdown]
// ## Workers are reused
//
// Twelve tasks go to a pool of two workers. Each task reports the pid of the process that ran
// it. Only two pids appear, the pool's two workers, each having run several tasks. (`map_chunked`
// with a chunk size of 1 hands out the tasks one at a time; each task sleeps a little so that
// both workers get a turn.)

// %%
fn which_worker(_task: u32) -> i32 {
    std::thread::sleep(Duration::from_millis(20));
    current_process().pid()
}

let pool = Pool::new(2)?;
println!("the pool's workers: {:?}", pool.worker_pids());
let pids = pool.map_chunked(which_worker, 0..12, 1)?;
println!("task -> worker pid: {pids:?}");
let mut tally = BTreeMap::new();
for pid in &pids {
    *tally.entry(*pid).or_insert(0) += 1;
}
for (pid, tasks) in &tally {
    println!("worker {pid} ran {tasks} of the 12 tasks");
}
pool.close()?;
pool.join()?;

// %% [markdown]
// ## A pool against one process per task
//
// The same 200 small tasks, twice: once on a pool with one worker per core (the time includes
// starting the pool), once with a new process for every task, at most as many at a time as the
// pool has workers. The work is identical; the difference is the price of starting processes.

// %%
fn small_task(i: u64) -> u64 {
    (0..10_000).map(|x| (x * i) % 7).sum()
}

let tasks: Vec<u64> = (0..200).collect();
let workers = cpu_count();

let start = Instant::now();
let pool = Pool::new(workers)?;
let from_pool = pool.map_chunked(small_task, tasks.clone(), 1)?;
pool.close()?;
pool.join()?;
let pool_time = start.elapsed();

let start = Instant::now();
let mut one_each = Vec::new();
for batch in tasks.chunks(workers) {
    let children = batch.iter().map(|&i| spawn(move || small_task(i))).collect::<Result<Vec<_>, Error>>()?;
    for child in children {
        one_each.push(child.join()?);
    }
}
let process_time = start.elapsed();

assert_eq!(from_pool, one_each);
println!("pool of {workers} workers:    {:>7.1} ms for {} tasks", pool_time.as_secs_f64() * 1e3, tasks.len());
println!("one process per task: {:>7.1} ms for {} tasks", process_time.as_secs_f64() * 1e3, tasks.len());
println!("the pool was {:.1} times as fast", process_time.as_secs_f64() / pool_time.as_secs_f64());

// %% [markdown]
// ## A timeline: which worker ran which task, when
//
// A pool built with `.timeline(true)` records when each task started and ended on which worker;
// `pool.timeline()` draws it. Each row is a worker, each bar a task. The tasks here have
// different lengths on purpose. Look at how each worker starts its next task as soon as it is
// free, so neither sits idle while tasks are waiting: that is the load balancing.

// %%
fn uneven_task(i: u64) -> u64 {
    let millis = 10 + (i * 37) % 50;
    std::thread::sleep(Duration::from_millis(millis));
    millis
}

let pool = Pool::builder().processes(2).timeline(true).build()?;
let slept = pool.map_chunked(uneven_task, 0..12, 1)?;
println!("tasks slept {slept:?} ms, {} ms in total", slept.iter().sum::<u64>());
pool.timeline()

// %% [markdown]
// The timeline also exists as text, which is what the tests read:

// %%
let timeline = pool.timeline();
println!("{} tasks on {} workers", timeline.spans().len(), timeline.workers().len());
print!("{timeline}");
pool.close()?;
pool.join()?;

// %% [markdown]
// ## Exercise
//
// Write `lengths_on_pool(words)`: make a pool of **2** workers and use it to compute the length
// of every word. For each word return its length and the pid of the worker that measured it, in
// the order of the words. (Hint: a function that returns a tuple `(usize, i32)` and `map`.)

// %% tags=["exercise"]
fn lengths_on_pool(words: Vec<String>) -> Vec<(usize, i32)> {
    // Replace this line with your code.
    todo!("measure the {} words on a pool of 2 workers", words.len())
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    let me = current_process().pid();
    let words: Vec<String> = "a pool keeps its workers and feeds them one task after another until the pile is empty"
        .split(' ')
        .map(String::from)
        .collect();
    let got = lengths_on_pool(words.clone());
    let lengths: Vec<usize> = got.iter().map(|&(len, _)| len).collect();
    let want: Vec<usize> = words.iter().map(|w| w.len()).collect();
    let mut pids: Vec<i32> = got.iter().map(|&(_, pid)| pid).collect();
    pids.sort();
    pids.dedup();
    if lengths != want {
        format!("Not yet: the lengths were {lengths:?}; expected {want:?}")
    } else if pids.contains(&me) {
        "Not yet: some words were measured in the calling process, not by a worker".to_string()
    } else if pids.len() > 2 {
        format!("Not yet: {} different processes did the work; a pool of 2 reuses its 2 workers", pids.len())
    } else {
        format!("Check passed: {} words measured by {} reused worker(s) {pids:?}", words.len(), pids.len())
    }
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
