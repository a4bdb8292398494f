//! Work slots: persistent evcxr build directories, one per running kernel.
//!
//! evcxr compiles every cell in a cargo project under `EVCXR_TMPDIR` (by default a new temporary
//! directory per kernel, so each start recompiles the library and its dependencies). A kernel
//! here takes the first free `WORK/slot-N` instead, holding an exclusive lock on `slot-N/.lock` for
//! its lifetime (the lock goes with the process, even on SIGKILL). Two kernels never share a
//! project; a kernel that starts after another ended reuses its compiled library. `prebuild` warms
//! `slot-0`, the one the first kernel takes.

use crate::error::KernelError;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// More kernels than this at once from one install is not a classroom machine; fail clearly.
const MAX_SLOTS: usize = 32;

/// A locked work slot. Dropping it releases the lock.
#[derive(Debug)]
pub struct Slot {
    dir: PathBuf,
    _lock: File,
}

impl Slot {
    /// The slot's directory, to be used as `EVCXR_TMPDIR`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Locks the first free slot under `work_dir`, creating it if needed. A new slot gets `lockfile`
/// (the repository's Cargo.lock) as its Cargo.lock, so the kernel builds the library with the
/// same dependency versions as the repository's tests, and without asking the registry.
pub fn acquire(work_dir: &Path, lockfile: Option<&Path>) -> Result<Slot, KernelError> {
    fs::create_dir_all(work_dir).map_err(|e| KernelError::io("create", work_dir, e))?;
    for n in 0..MAX_SLOTS {
        let dir = work_dir.join(format!("slot-{n}"));
        fs::create_dir_all(&dir).map_err(|e| KernelError::io("create", &dir, e))?;
        let lock_path = dir.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| KernelError::io("open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {
                seed_lockfile(&dir, lockfile)?;
                return Ok(Slot { dir, _lock: lock });
            }
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(e)) => return Err(KernelError::io("lock", &lock_path, e)),
        }
    }
    Err(KernelError::NoFreeSlot(work_dir.to_owned()))
}

fn seed_lockfile(dir: &Path, lockfile: Option<&Path>) -> Result<(), KernelError> {
    let target = dir.join("Cargo.lock");
    match lockfile {
        Some(src) if src.is_file() && !target.exists() => {
            fs::copy(src, &target).map_err(|e| KernelError::io("copy Cargo.lock to", &target, e))?;
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_gets_the_next_slot_and_reuses_freed_ones() {
        let root = std::env::temp_dir().join(format!("multiproc-kernel-slot-test-{}", std::process::id()));
        let a = acquire(&root, None).unwrap();
        let b = acquire(&root, None).unwrap();
        assert!(a.dir().ends_with("slot-0"));
        assert!(b.dir().ends_with("slot-1"));
        drop(a);
        let c = acquire(&root, None).unwrap();
        assert!(c.dir().ends_with("slot-0"));
        drop((b, c));
        fs::remove_dir_all(&root).unwrap();
    }
}
