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
// # Q3. Write a python code to create a process using the multiprocessing module.
//
// The Python answer takes three moves: describe the process (`Process(target=..., args=...)`),
// launch it (`start()`), and wait for it (`join()`). The `multiproc` crate keeps the same three
// moves, so the Rust version reads almost line for line like the Python one:
//
// | Python | Rust (`multiproc`) |
// |---|---|
// | `def worker_function(name): print(f"Hello, {name}!")` | `fn worker_function(name: &str) { println!("Hello, {name}!"); }` |
// | `process = multiprocessing.Process(target=worker_function, args=("Alice",))` | `let mut process = Process::new(\|\| worker_function("Alice"));` |
// | `process.start()` | `process.start()?;` |
// | `process.join()` | `process.join()?;` |
//
// Two small differences. Instead of a target plus a tuple of arguments, Rust takes one closure
// that already holds its arguments. And there is no `if __name__ == "__main__":` guard: this
// library starts a child by *forking*, which copies the running program, so nothing is imported
// again and no guard is needed.
//
// Every cell of this kernel starts with `use multiproc::prelude::*;` already done, so
// `Process`, `spawn`, `Pool`, `current_process` and friends are in scope.

// %% [markdown]
// ## The function the child will run

// %%
fn worker_function(name: &str) {
    println!("Hello, {name}!");
}

// %% [markdown]
// ## Create, start, join
//
// In the seed's notebook the output showed only `Main process continues...`: the child's
// greeting went to a terminal the notebook never showed. Here the child's output is carried back
// to the parent line by line while the parent waits in `join()`, so both lines appear, in the
// order they happened: the child greets first, because the parent waits for it before printing.

// %%
let mut process = Process::new(|| worker_function("Alice"));
process.start()?;
process.join()?;
println!("Main process continues...");

// %% [markdown]
// ## It really was another process
//
// The `Process` value remembers what happened to its child: a pid different from this kernel's
// own, and exit code 0 for a clean finish (Python's `exitcode`).

// %%
println!("this notebook's process: pid {}", current_process().pid());
let exit_code = process.exitcode();
println!("{}: pid {:?}, exit code {:?}", process.name(), process.pid(), exit_code);

// %% [markdown]
// ## Sending data in and getting a value back
//
// A closure with `move` takes its own copy of what it uses (here the name) into the child.
// Whatever the closure returns comes back to the parent from `join()`: values cross between
// processes by serialization (serde), so any type that derives `Serialize` and `Deserialize`
// can make the trip. `spawn` creates and starts in one call, like `std::thread::spawn`.

// %%
let name = String::from("Alice");
let child = spawn(move || {
    let me = current_process();
    format!("Hello, {name}! (from {} with pid {})", me.name(), me.pid())
})?;
let greeting: String = child.join()?;
println!("the parent received: {greeting}");

// %% [markdown]
// ## Why `join` matters in a notebook
//
// A child's lines are shown while its parent waits for it. If a cell started a process and
// never joined it, its lines would turn up at the top of whichever cell waits next, and a
// `Process` dropped without `join` is stopped (terminated) so that nothing keeps running behind
// your back. Habit to keep: **join every process in the cell that starts it.**

// %% [markdown]
// ## Exercise
//
// Write `greet_in_process(name)`: start **one** child process that builds the text
// `"Hello, {name}!"` and returns it; then return that text together with the child's pid.
// Run the check cell after it to find out whether your answer works.

// %% tags=["exercise"]
fn greet_in_process(name: String) -> (String, i32) {
    // Replace this line with your code.
    todo!("start a process that returns the greeting for {name}, then return (greeting, its pid)")
}

// %% tags=["check"]
// The check runs your function inside a child process, so even a panic cannot stop the notebook.
let verdict = spawn(|| {
    let me = current_process().pid();
    let (text, pid) = greet_in_process("Bob".to_string());
    if text != "Hello, Bob!" {
        format!("Not yet: the greeting was {text:?}, expected \"Hello, Bob!\"")
    } else if pid == me || pid <= 0 {
        format!("Not yet: pid {pid} is not a child's pid; the greeting should be made in a new process")
    } else {
        format!("Check passed: {text} came from the child with pid {pid}")
    }
})
.and_then(|handle| handle.join());
match verdict {
    Ok(message) => println!("{message}"),
    Err(error) => println!("Not yet: your function failed: {error}"),
};
