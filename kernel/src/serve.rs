//! Running the kernel, as kernel.json tells Jupyter: `multiproc-kernel --control_file FILE`.
//!
//! evcxr_jupyter loads the config (`:load_config`) before it answers any request, and returns the
//! error if that fails: Jupyter would see a kernel that dies, restart it five times and give up,
//! with the reason only in the server log. Here that error is printed on the console and the
//! kernel starts a second time with the notice config ([`crate::notice`]), so it stays up and
//! every cell shows why the library is missing. The second start binds the same ports: the first
//! one's sockets closed when its runtime was dropped.

use crate::diagnose;
use crate::error::KernelError;
use crate::notice;
use crate::session;
use crate::spec::{CONFIG_DIR_ENV, LIBRARY_ENV, LOCKFILE_ENV, WORK_DIR_ENV};
use std::env;
use std::path::PathBuf;

/// Serves Jupyter until it asks the kernel to shut down.
pub fn serve() -> Result<(), KernelError> {
    let slot = session::prepare()?;
    session::shield_rust_spec();
    let err = match evcxr_jupyter::main() {
        Ok(()) => return Ok(()),
        Err(err) => err,
    };
    // Only evcxr's own errors (creating the context, loading the config) happen before serving;
    // anything else (a socket error, shutdown trouble) is not a load failure and is returned.
    let Some(load_error) = err.downcast_ref::<evcxr::Error>() else {
        return Err(KernelError::Jupyter(format!("{err:#}")));
    };
    let var = |name| env::var_os(name).map(PathBuf::from);
    let (library, work_dir, lockfile) = (var(LIBRARY_ENV), var(WORK_DIR_ENV), var(LOCKFILE_ENV));
    let report = diagnose::explain(load_error, library.as_deref(), work_dir.as_deref(), lockfile.as_deref());
    eprintln!(
        "\n==== multiproc-kernel: the library did not load; starting without it ====\n{report}\n\
         ==== every cell will show this error until it is fixed and the kernel restarted ====\n"
    );
    let notice_dir = match &slot {
        Some(slot) => slot.dir().with_extension("notice"),
        None => env::temp_dir().join(format!("multiproc-kernel-notice-{}", std::process::id())),
    };
    let config_dir = notice::write(&notice_dir, &report)?;
    // evcxr_jupyter::main has returned and dropped its runtime; no thread of ours reads the
    // environment while it changes.
    env::set_var(CONFIG_DIR_ENV, &config_dir);
    evcxr_jupyter::main().map_err(|e| KernelError::Jupyter(format!("{e:#}")))
}
