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
// # Q2. What are the differences between multiprocessing and multithreading?
//
// A **thread** is one line of execution inside a process. All threads of a process see the same
// memory: a variable one thread changes is changed for all of them. Starting a thread is cheap,
// and so is handing it data, since nothing has to be copied.
//
// A **process** is a whole running program with a memory of its own. A child process starts as
// a copy of its parent, and from that moment on the two are apart: a change on one side is
// invisible on the other. Data that must travel between them is copied over explicitly (here: a
// child's return value is serialized and sent back to the parent). Starting one costs more.
//
// In Rust, sharing between threads is checked by the compiler: data used by several threads
// must be wrapped in something safe to share (`Arc` with a `Mutex` or an atomic), or the program
// does not compile. Processes need none of that, because they share nothing unless you ask.
//
// The cells below show each of these differences live, threads and processes side by side.

// %%
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// %% [markdown]
// ## One counter, four workers
//
// Both halves run identical code: four workers, each adding 1 to the same `counter` 10,000
// times. With threads they really share one counter, which ends at 40,000. With processes each
// child counts on its own copy: every child reaches 10,000, and the parent's counter has not
// moved.

// %%
const WORKERS: u64 = 4;
const TIMES: u64 = 10_000;

fn add_many(counter: &AtomicU64) -> u64 {
    for _ in 0..TIMES {
        counter.fetch_add(1, Ordering::SeqCst);
    }
    counter.load(Ordering::SeqCst)
}

// Threads: one counter in shared memory.
let counter = Arc::new(AtomicU64::new(0));
let threads: Vec<_> = (0..WORKERS)
    .map(|_| {
        let counter = counter.clone();
        std::thread::spawn(move || add_many(&counter))
    })
    .collect();
for t in threads {
    t.join().unwrap();
}
println!("threads:   the parent's counter is now {}", counter.load(Ordering::SeqCst));

// Processes: every child gets its own copy of the counter.
let counter = Arc::new(AtomicU64::new(0));
let children = (0..WORKERS)
    .map(|_| {
        let counter = counter.clone();
        spawn(move || add_many(&counter))
    })
    .collect::<Result<Vec<_>, Error>>()?;
let mut seen = Vec::new();
for child in children {
    seen.push(child.join()?);
}
println!("processes: each child ended with {seen:?} on its own copy");
println!("processes: the parent's counter is still {}", counter.load(Ordering::SeqCst));

// %% [markdown]
// ## Who is who: pids and thread ids
//
// Every process has a pid; every thread has a thread id, unique within its process. Three
// threads report **one** pid (ours) and three different thread ids. Three processes report
// three different pids, and each is running on its own main thread.

// %%
fn whoami() -> String {
    format!("pid {:>6}, thread {:?}", current_process().pid(), std::thread::current().id())
}

println!("the notebook itself:  {}", whoami());
for i in 0..3 {
    let line = std::thread::spawn(whoami).join().unwrap();
    println!("thread {i}:            {line}");
}
for i in 0..3 {
    let line = spawn(whoami)?.join()?;
    println!("process {i}:           {line}");
};

// %% [markdown]
// ## What it costs to start one
//
// The price of a separate memory is paid at start: the operating system has to set up a new
// process (and this library opens pipes to bring its output and result back). Below we start and
// join 100 threads, then 100 processes, one after another, each doing nothing, and compare the
// median time of one start-and-join.

// %%
fn median_of(times: &mut Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

let mut thread_times = Vec::new();
for _ in 0..100 {
    let start = Instant::now();
    std::thread::spawn(|| ()).join().unwrap();
    thread_times.push(start.elapsed());
}
let mut process_times = Vec::new();
for _ in 0..100 {
    let start = Instant::now();
    spawn(|| ())?.join()?;
    process_times.push(start.elapsed());
}
let thread_cost = median_of(&mut thread_times);
let process_cost = median_of(&mut process_times);
println!("start + join one thread:  {:>8.1} µs", thread_cost.as_secs_f64() * 1e6);
println!("start + join one process: {:>8.1} µs", process_cost.as_secs_f64() * 1e6);
println!("a process costs about {:.0} times as much to start", process_cost.as_secs_f64() / thread_cost.as_secs_f64());

// %% [markdown]
// Both are small next to a job that runs for seconds, which is why starting a few processes for
// a big job is fine, and starting one per tiny task is not (that is what a pool is for: Q4).
//
// ## Side by side
//
// | | threads | processes |
// |---|---|---|
// | memory | one, shared by all threads | one per process, copied at start |
// | sharing data | direct; Rust requires `Arc`, `Mutex` or atomics | by sending copies (arguments, return values, pipes, queues) |
// | ids | one pid, many thread ids | one pid each |
// | cost to start | low | higher (measured above) |
// | a crash | ends the whole program | ends only that process (Q1) |

// %% [markdown]
// ## Exercise
//
// The children above counted on copies, and their counts were lost to the parent except as
// return values. Write `total_from_children(counter, k, per)`: start `k` child processes; each
// adds 1 to `counter` `per` times (use `add_one`) and **returns** how far its copy got; the
// parent joins them and returns the sum of what they returned. The parent's own counter must
// stay at 0: that is how the check knows you used processes and not threads.

// %% tags=["exercise"]
fn add_one(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::SeqCst);
}

fn total_from_children(counter: Arc<AtomicU64>, k: u64, per: u64) -> u64 {
    // Replace this line with your code.
    todo!("start {k} processes that each call add_one {per} times and return their count")
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    for (k, per) in [(1u64, 10u64), (3, 1_000), (4, 250)] {
        let counter = Arc::new(AtomicU64::new(0));
        let total = total_from_children(counter.clone(), k, per);
        let left = counter.load(Ordering::SeqCst);
        if left != 0 {
            return format!("Not yet: the parent's counter changed to {left}; threads share it, child processes would not");
        }
        if total != k * per {
            return format!("Not yet: total_from_children(_, {k}, {per}) returned {total}; expected {}", k * per);
        }
    }
    "Check passed: the children's counts came back as return values, and the parent's counter stayed 0".to_string()
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
