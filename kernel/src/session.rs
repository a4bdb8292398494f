//! The environment a kernel session runs evcxr in: config directory and work slot.

use crate::error::KernelError;
use crate::slot::{self, Slot};
use crate::spec::{LOCKFILE_ENV, WORK_DIR_ENV};
use std::env;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Command;

/// Takes a work slot ([`take_slot`]) and lets cell libraries find Rust's `libstd-*.so`
/// ([`add_std_to_library_path`]). Call it while the process has one thread: it changes the
/// environment, which evcxr reads later and passes on to its code runtime.
pub fn prepare() -> Result<Option<Slot>, KernelError> {
    add_std_to_library_path();
    take_slot()
}

/// Keeps evcxr_jupyter from rewriting somebody's `rust` kernel spec.
///
/// On start, evcxr_jupyter reinstalls `$JUPYTER_PATH/kernels/rust` (or the one in the user's data
/// directory) whenever that directory exists and its version.txt is not evcxr's: a kernel spec of
/// that name that is not evcxr's would be turned into this kernel. So the kernel process points
/// `JUPYTER_PATH` at a directory that does not exist, and keeps the real value for the code runtime,
/// which puts it back ([`restore_jupyter_path`]) before any cell runs.
pub fn shield_rust_spec() {
    // Saved as "=<value>", or "unset" when there was none.
    let saved = match env::var_os(JUPYTER_PATH_ENV) {
        Some(value) => {
            let mut s = std::ffi::OsString::from("=");
            s.push(value);
            s
        }
        None => "unset".into(),
    };
    env::set_var(SAVED_JUPYTER_PATH_ENV, saved);
    env::set_var(JUPYTER_PATH_ENV, env::temp_dir().join("multiproc-kernel-no-such-dir"));
}

/// Undoes [`shield_rust_spec`] in the code runtime, so cells see the user's `JUPYTER_PATH`.
/// Call it while the process has one thread.
pub fn restore_jupyter_path() {
    let Some(saved) = env::var_os(SAVED_JUPYTER_PATH_ENV) else {
        return;
    };
    match saved.as_bytes().strip_prefix(b"=") {
        Some(value) => env::set_var(JUPYTER_PATH_ENV, OsStr::from_bytes(value)),
        None => env::remove_var(JUPYTER_PATH_ENV),
    }
    env::remove_var(SAVED_JUPYTER_PATH_ENV);
}

const JUPYTER_PATH_ENV: &str = "JUPYTER_PATH";
const SAVED_JUPYTER_PATH_ENV: &str = "MULTIPROC_KERNEL_SAVED_JUPYTER_PATH";

/// Puts the toolchain's `target-libdir` (which holds `libstd-*.so`) first on `LD_LIBRARY_PATH`.
///
/// Each cell is a cdylib built with `-Cprefer-dynamic`, so it needs `libstd-*.so`. Cargo writes its
/// RUNPATH relative to `target/<triple>/debug/deps`, but evcxr loads the copy one level up in
/// `debug/`; the path then resolves one directory short. In evcxr's default `/tmp/...` directory
/// that goes unnoticed (`..` at `/` stays at `/`), but with the work slot and rustup both under
/// `$HOME`, dlopen fails ("dlopen failed", seen). If rustc cannot be asked, nothing changes.
fn add_std_to_library_path() {
    let Ok(out) = Command::new("rustc").args(["--print", "target-libdir"]).output() else {
        return;
    };
    let libdir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() || libdir.is_empty() {
        return;
    }
    let libdir = PathBuf::from(libdir);
    let mut paths = vec![libdir.clone()];
    if let Some(old) = env::var_os(LIBRARY_PATH_ENV) {
        paths.extend(env::split_paths(&old).filter(|p| *p != libdir));
    }
    if let Ok(joined) = env::join_paths(paths) {
        env::set_var(LIBRARY_PATH_ENV, joined);
    }
}

const LIBRARY_PATH_ENV: &str = "LD_LIBRARY_PATH";

/// evcxr builds cells in this directory when it is set.
pub const TMPDIR_ENV: &str = "EVCXR_TMPDIR";

/// Takes a work slot for this process and points `EVCXR_TMPDIR` at it, unless the user set
/// `EVCXR_TMPDIR` already or the spec names no work directory (then evcxr uses a temporary one).
pub fn take_slot() -> Result<Option<Slot>, KernelError> {
    if env::var_os(TMPDIR_ENV).is_some() {
        return Ok(None);
    }
    let Some(work_dir) = env::var_os(WORK_DIR_ENV).map(PathBuf::from) else {
        return Ok(None);
    };
    let lockfile = env::var_os(LOCKFILE_ENV).map(PathBuf::from);
    let slot = slot::acquire(&work_dir, lockfile.as_deref())?;
    env::set_var(TMPDIR_ENV, slot.dir());
    Ok(Some(slot))
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test for both cases: the environment is process-wide.
    #[test]
    fn shield_then_restore_gives_back_the_value_or_its_absence() {
        env::set_var(JUPYTER_PATH_ENV, "/a:/b");
        shield_rust_spec();
        assert!(env::var(JUPYTER_PATH_ENV).unwrap().contains("no-such-dir"));
        restore_jupyter_path();
        assert_eq!(env::var(JUPYTER_PATH_ENV).unwrap(), "/a:/b");
        assert!(env::var_os(SAVED_JUPYTER_PATH_ENV).is_none());

        env::remove_var(JUPYTER_PATH_ENV);
        shield_rust_spec();
        restore_jupyter_path();
        assert!(env::var_os(JUPYTER_PATH_ENV).is_none());
    }
}
