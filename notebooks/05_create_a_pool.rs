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
// # Q5. How can we create a pool of worker processes in python using the multiprocessing module?
//
// The recipe has four steps, and they carry over to Rust one for one:
//
// 1. bring the library in;
// 2. write the function each task will run;
// 3. create the pool, saying how many worker processes it gets;
// 4. hand it work with one of its methods: `map` for a whole list at once, `apply` for one
//    call that you wait for, `apply_async` for one call that you collect later, and
//    `imap_unordered` for results one by one, as soon as each is ready.
//
// At the end we look at what happens when a task panics, and shut the pool down.

// %% [markdown]
// ## Step 1: bring the library in
//
// The kernel already did this for every cell; writing it again does no harm.

// %%
use multiproc::prelude::*;
use std::time::{Duration, Instant};

// %% [markdown]
// ## Step 2: the task
//
// Any Rust function (or closure) will do. Arguments and results travel between processes, so
// their types must be serializable; numbers, strings, vectors and tuples all are. The function
// itself is never sent anywhere: the workers are copies of this process and already have it.

// %%
fn cube(x: u64) -> u64 {
    x * x * x
}

/// Like `cube`, but takes its time: `millis` milliseconds.
fn slow_cube(x: u64, millis: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(millis));
    cube(x)
}

// %% [markdown]
// ## Step 3: create the pool
//
// We ask for four worker processes. (`Pool::new(cpu_count())` gives one per core;
// `Pool::builder()` has more settings.) The workers start right away and wait for tasks.

// %%
let pool = Pool::new(4)?;
println!("4 workers ready: {:?}", pool.worker_pids());

// %% [markdown]
// ## Step 4a: `map`, a whole list at once
//
// `map` splits the inputs over the workers, waits for all of them, and returns the results in
// the order of the inputs, whatever order the workers finished in.

// %%
let cubes = pool.map(cube, 1..=10)?;
println!("{cubes:?}");

// %% [markdown]
// ## Step 4b: `apply`, one call, and wait for it
//
// The arguments go in a tuple, like Python's `args=(7,)`. `apply` blocks until the answer is
// back: handy for one job, but it runs on one worker while the others idle.

// %%
let one = pool.apply(cube, (7,))?;
println!("cube(7) computed on a worker: {one}");

// %% [markdown]
// ## Step 4c: `apply_async`, start now, collect later
//
// `apply_async` returns at once with an `AsyncResult`, a claim ticket for the answer. Meanwhile
// the parent is free to do other things. `get_timeout` waits at most the time you give it: here
// the task needs 300 ms, so asking after 10 ms gives a timeout error (the task keeps running
// and you can ask again), and asking with a generous limit gives the value.

// %%
let mut ticket = pool.apply_async(slow_cube, (3, 300))?;
match ticket.get_timeout(Duration::from_millis(10)) {
    Ok(value) => println!("already done: {value}"),
    Err(error) if error.is_timeout() => println!("after 10 ms: not ready yet ({error})"),
    Err(error) => println!("the task failed: {error}"),
};
let value = ticket.get_timeout(Duration::from_secs(10))?;
println!("after waiting longer: {value}");

// %% [markdown]
// Several `apply_async` calls in a row run side by side on different workers: four tasks of
// 200 ms each take about 200 ms in total on four workers, not 800.

// %%
let start = Instant::now();
let tickets = (1..=4u64).map(|x| pool.apply_async(slow_cube, (x, 200))).collect::<Result<Vec<_>, Error>>()?;
let mut values = Vec::new();
for mut ticket in tickets {
    values.push(ticket.get_timeout(Duration::from_secs(10))?);
}
println!("{values:?} in {} ms", start.elapsed().as_millis());

// %% [markdown]
// ## Step 4d: `imap_unordered`, results as they come
//
// `imap_unordered` gives an iterator that yields each result as soon as some worker finishes
// it. The tasks below take 300, 100, 200 and 0 ms, so the answers come back shortest first, not
// in input order. (`imap` is the same but keeps input order; `map` waits for everything.)

// %%
let start = Instant::now();
let jobs = vec![(1u64, 300u64), (2, 100), (3, 200), (4, 0)];
for result in pool.imap_unordered(|(x, millis): (u64, u64)| (x, slow_cube(x, millis)), jobs) {
    let (x, value) = result?;
    println!("{:>4} ms: cube({x}) = {value}", start.elapsed().as_millis());
};

// %% [markdown]
// ## When a task panics
//
// A panic in a task does not take down the pool, let alone the notebook: it happens in a
// worker process, and it comes back to the parent as an ordinary `Err`, carrying the panic
// message, the file and line, and the worker's pid (Python likewise re-raises a worker's
// exception in the parent). `map` fails as a whole if any item fails; `imap` and
// `imap_unordered` give each item its own `Result`, so the good results are kept. Afterwards the
// pool works as before.

// %%
fn picky_cube(x: u64) -> u64 {
    if x == 3 {
        panic!("I refuse to cube {x}");
    }
    cube(x)
}

match pool.apply(picky_cube, (3,)) {
    Ok(value) => println!("apply: {value}"),
    Err(error) => {
        println!("apply failed: {error}");
        if let Some(panic) = error.panic() {
            println!("  message {:?}, line {}, in worker {}", panic.message, panic.line, panic.pid);
        }
    }
};

match pool.map(picky_cube, 1..=5) {
    Ok(values) => println!("map: {values:?}"),
    Err(error) => println!("map failed as a whole: {error}"),
};

for (x, result) in (1..=5).zip(pool.imap(picky_cube, 1..=5)) {
    match result {
        Ok(value) => println!("imap item {x}: {value}"),
        Err(error) => println!("imap item {x}: error: {}", error.panic().map(|p| p.message.as_str()).unwrap_or("?")),
    }
}

println!("the pool still works: {:?}", pool.map(cube, 1..=3)?);

// %% [markdown]
// ## Shutting down
//
// `close` stops the pool taking new tasks; `join` waits until the queued ones are done and the
// workers have exited. (Dropping a pool without this stops its workers at once, like leaving
// Python's `with Pool(...) as pool:` block.)

// %%
pool.close()?;
pool.join()?;
println!("pool closed and joined");

// %% [markdown]
// ## Exercise
//
// `strict_sqrt` panics on negative numbers. Write `safe_sqrt_all(xs)`: make a pool, submit one
// `apply_async(strict_sqrt, (x,))` per number, then collect each answer with `get_timeout` (a
// few seconds is plenty). Return `Some(root)` for the numbers that worked and `None` for those
// whose task panicked, in the order of `xs`.

// %% tags=["exercise"]
fn strict_sqrt(x: f64) -> f64 {
    assert!(x >= 0.0, "no square root of {x}");
    x.sqrt()
}

fn safe_sqrt_all(xs: Vec<f64>) -> Vec<Option<f64>> {
    // Replace this line with your code.
    todo!("apply_async strict_sqrt to each of {xs:?} and collect the answers")
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    let got = safe_sqrt_all(vec![4.0, -1.0, 9.0, -4.0, 0.25]);
    let want = vec![Some(2.0), None, Some(3.0), None, Some(0.5)];
    if got == want {
        format!("Check passed: {got:?}")
    } else {
        format!("Not yet: got {got:?}; expected {want:?}")
    }
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
