//! `multiproc-kernel`: a Jupyter kernel for Rust, evcxr_jupyter with the multiproc library loaded
//! and `use multiproc::prelude::*;` in scope in every cell. `multiproc-kernel help` lists the commands.
//!
//! One executable, four roles:
//! - `install` / `install --uninstall` ([`install`]): the kernel spec ([`spec`], [`logo`], [`png`])
//!   with its evcxr config ([`config`]), in a Jupyter data directory ([`location`]);
//! - `prebuild` ([`prebuild`]): loads that config once so the library is compiled before class;
//! - `--control_file FILE` ([`serve`]): the kernel, evcxr_jupyter in a persistent work slot
//!   ([`session`], [`slot`]); if the library does not load, it says why ([`diagnose`]) and starts
//!   with the notice config instead ([`notice`]);
//! - evcxr's code runtime ([`runtime`]) and rustc wrapper (`evcxr::runtime_hook`), which evcxr
//!   starts by running this executable again.

mod cli;
mod config;
mod diagnose;
mod error;
mod install;
mod location;
mod logo;
mod notice;
mod png;
mod prebuild;
mod runtime;
mod serve;
mod session;
mod slot;
mod spec;

use cli::Command;
use std::process::ExitCode;

fn main() -> ExitCode {
    // First of all: evcxr runs this same executable as its code runtime and as a rustc wrapper,
    // and in those roles these calls take over and never return. The code runtime is our own
    // (runtime.rs: it keeps a cell's stderr ahead of the cell's end); evcxr's hook does the rest.
    runtime::run_if_runtime();
    evcxr::runtime_hook();
    let result = cli::parse(std::env::args_os().skip(1)).and_then(|command| match command {
        Command::Install { location, library, work_dir } => {
            install::install(&location, library.as_deref(), work_dir.as_deref())
        }
        Command::Uninstall { location } => install::uninstall(&location),
        Command::Prebuild { location } => prebuild::prebuild(&location),
        Command::Serve => serve::serve(),
        Command::Help => {
            print!("{}", cli::USAGE);
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("multiproc-kernel: {err}");
            ExitCode::FAILURE
        }
    }
}
