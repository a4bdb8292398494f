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
// # Q6. Write a python program to create 4 processes, each process should print a different number using the multiprocessing module in python.
//
// The plan: one function that prints its number; a loop that creates and starts four processes,
// numbers 1 to 4, keeping them in a list; a second loop that joins every one of them; and only
// then the final message. Starting all four before joining any is what lets them run at the
// same time; joining them all before the last line is what makes "All processes have finished."
// true when it is printed.

// %%
fn print_number(number: u32) {
    println!("Process {number}: {number}");
}

// %% [markdown]
// ## The program

// %%
let mut processes = Vec::new();
for i in 1..=4 {
    let mut process = Process::new(move || print_number(i));
    process.start()?;
    processes.push(process);
}
for process in &mut processes {
    process.join()?;
}
println!("All processes have finished.");

// %% [markdown]
// ## In which order do they run?
//
// Nobody promises one. Once started, the four children are separate programs, and the
// operating system decides when each gets a core: on a machine with fewer cores than processes
// some must wait, and which ones is up to the scheduler. So the order in which the children do
// their work varies from run to run.
//
// Above, the lines still appear as 1, 2, 3, 4 every time, and that is a property of this
// library rather than of the scheduler: a child's output is passed on to the notebook while the
// parent waits for that child, so the lines show up in the order of the `join` calls. (In Python
// each child writes to the terminal directly, so there the printed order itself can vary.)
//
// To see the real order, the cell below starts four processes five times over. All four wait
// for the same moment, then do a little work and report how many microseconds after that
// moment they finished. Sorting by that time gives the order in which they actually finished.
// Run the cell a few times: the orders change.

// %%
use std::time::{Duration, Instant};

fn work_then_report(number: u32, go: Instant) -> (u64, u32) {
    std::thread::sleep(go.saturating_duration_since(Instant::now()));
    let busy: u64 = (0..200_000u64).map(|x| x % 7).sum();
    assert!(busy > 0);
    (go.elapsed().as_micros() as u64, number)
}

for round in 1..=5 {
    let go = Instant::now() + Duration::from_millis(30);
    let children = (1..=4u32)
        .map(|i| spawn(move || work_then_report(i, go)))
        .collect::<Result<Vec<_>, Error>>()?;
    let mut finished = Vec::new();
    for child in children {
        finished.push(child.join()?);
    }
    finished.sort();
    let order: Vec<u32> = finished.iter().map(|&(_, number)| number).collect();
    println!("round {round}: finished in the order {order:?}");
};

// %% [markdown]
// If you need results in a fixed order, do not rely on timing: have each process *return* its
// value and collect the values in the order you join them, as the exercise does.
//
// ## Exercise
//
// Write `squares_in_processes(n)`: start one process for each number `1..=n`; each returns the
// square of its number. Join them in order and return, for each number, `(its square, the pid
// of the process that computed it)`.

// %% tags=["exercise"]
fn squares_in_processes(n: u64) -> Vec<(u64, i32)> {
    // Replace this line with your code.
    todo!("one process per number 1..={n}, each returning its square")
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    let me = current_process().pid();
    let got = squares_in_processes(4);
    let squares: Vec<u64> = got.iter().map(|&(square, _)| square).collect();
    let mut pids: Vec<i32> = got.iter().map(|&(_, pid)| pid).collect();
    pids.sort();
    pids.dedup();
    if squares != vec![1, 4, 9, 16] {
        format!("Not yet: the squares were {squares:?}; expected [1, 4, 9, 16] in that order")
    } else if pids.len() != 4 || pids.contains(&me) {
        format!("Not yet: each square should come from its own process (pids {pids:?})")
    } else {
        format!("Check passed: {squares:?} from 4 processes {pids:?}")
    }
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
