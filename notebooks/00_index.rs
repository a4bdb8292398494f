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
// # Multiprocessing, six questions, answered in Rust
//
// Six classic questions about Python's `multiprocessing`, each answered in its own notebook with
// Rust code you can run. Every claim is backed by a cell whose output shows it, and every
// notebook ends with a short exercise and a cell that checks your answer.
//
// | | question | you will see |
// |---|---|---|
// | [01](01_what_is_multiprocessing.ipynb) | What is multiprocessing? Why is it useful? | a speedup table and chart on 1, 2, ... processes; a child's changes and crashes stay in the child; what Rust threads already give you |
// | [02](02_processes_vs_threads.ipynb) | Multiprocessing vs multithreading? | one counter, shared by threads and copied by processes; pids and thread ids; the cost of starting each |
// | [03](03_create_a_process.ipynb) | How do I create a process? | "Hello, Alice!" from a child, then "Main process continues..." |
// | [04](04_what_is_a_pool.ipynb) | What is a pool, and why use one? | workers reused across tasks; a pool against one process per task; a timeline of who ran what |
// | [05](05_create_a_pool.ipynb) | How do I create a pool? | the four steps with `map`, `apply`, `apply_async` and `imap_unordered`; what a panicking task does |
// | [06](06_four_processes.ipynb) | Four processes that each print a number | the program, and why the order is up to the operating system |
//
// **How to run them.** Open them in JupyterLab with the kernel **Rust (multiproc)** (kernel spec
// `rust-multiproc`). Each cell is compiled Rust; `use multiproc::prelude::*;` is already in
// scope, so `Process`, `spawn`, `Pool`, `current_process`, `cpu_count` and friends need no
// import. The first cell of a fresh kernel takes a little longer while the library loads.
//
// **Two habits for notebook cells.** Join every process in the cell that starts it, so its
// output shows up in that cell. End a cell with `;` unless you want its last value displayed.
//
// The cell below checks that the kernel works.

// %%
println!("Ready: {} CPUs, and this notebook runs as process {}.", cpu_count(), current_process().pid());
