//! `prebuild`: load the installed config once, as a kernel start does, so that the library is
//! compiled into the first work slot before anyone opens a notebook; then run a first cell.

use crate::diagnose;
use crate::error::KernelError;
use crate::location::Location;
use crate::session;
use crate::spec::{self, CONFIG_DIR_ENV, LOCKFILE_ENV, WORK_DIR_ENV};
use std::env;
use std::time::Instant;

/// The cell `prebuild` runs after the config: it needs the prelude, as a student's first cell does.
const FIRST_CELL: &str = "println!(\"multiproc ready: {} CPUs\", cpu_count());";

/// Loads the config installed at `location` and runs [`FIRST_CELL`]; prints the times.
pub fn prebuild(location: &Location) -> Result<(), KernelError> {
    let kernel_dir = location.kernel_dir()?;
    let installed = spec::read_installed(&kernel_dir)?;
    // The same environment Jupyter gives the kernel from kernel.json. One thread so far.
    env::set_var(CONFIG_DIR_ENV, &installed.config_dir);
    if let Some(dir) = &installed.work_dir {
        env::set_var(WORK_DIR_ENV, dir);
    }
    if let Some(file) = &installed.lockfile {
        env::set_var(LOCKFILE_ENV, file);
    }
    let slot = session::prepare()?;
    if let Some(slot) = &slot {
        println!("prebuild: work slot {}", slot.dir().display());
    }

    // On failure, cargo's own errors for the library say more than evcxr's headline.
    let load_error = |e: evcxr::Error| {
        let i = &installed;
        KernelError::Load(diagnose::explain(&e, i.library.as_deref(), i.work_dir.as_deref(), i.lockfile.as_deref()))
    };
    let start = Instant::now();
    let (mut ctx, outputs) = evcxr::CommandContext::new().map_err(load_error)?;
    // evcxr blocks until its output channels are drained: forward them from other threads.
    let out = std::thread::spawn(move || outputs.stdout.iter().for_each(|l| println!("  | {l}")));
    let err = std::thread::spawn(move || outputs.stderr.iter().for_each(|l| eprintln!("  | {l}")));
    let started = start.elapsed();
    ctx.execute(":load_config --quiet").map_err(load_error)?;
    let loaded = start.elapsed() - started;
    let cell = Instant::now();
    ctx.execute(FIRST_CELL).map_err(load_error)?;
    let first_cell = cell.elapsed();
    drop(ctx); // ends the runtime process, which closes the output channels
    let _ = (out.join(), err.join());
    println!(
        "prebuild: evcxr started in {:.1} s, config and library loaded in {:.1} s, first cell ran in {:.1} s",
        started.as_secs_f64(),
        loaded.as_secs_f64(),
        first_cell.as_secs_f64()
    );
    Ok(())
}
