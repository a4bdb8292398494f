//! `install` and `install --uninstall`: write or remove the kernel spec directory.
//! Writing changes only files whose contents differ, so a second run touches nothing.

use crate::error::KernelError;
use crate::location::{self, absolute, Location};
use crate::spec::{self, SpecInputs};
use std::fs;
use std::path::{Path, PathBuf};

/// Writes the kernel spec for `library` (default: the repository this binary was built in).
pub fn install(location: &Location, library: Option<&Path>, work_dir: Option<&Path>) -> Result<(), KernelError> {
    let kernel_dir = location.kernel_dir()?;
    let library = resolve_library(library)?;
    let work_dir = match work_dir {
        Some(dir) => absolute(dir)?,
        None => default_work_dir(&library)?,
    };
    let exe = std::env::current_exe().map_err(|e| KernelError::io("find", "this program", e))?;
    let inputs = SpecInputs { exe, kernel_dir: kernel_dir.clone(), library, work_dir };
    let mut changed = 0;
    for (rel, bytes) in spec::files(&inputs) {
        let path = kernel_dir.join(&rel);
        if write_if_changed(&path, &bytes)? {
            println!("  wrote {}", path.display());
            changed += 1;
        }
    }
    let state = if changed == 0 { "already up to date" } else { "installed" };
    println!("Kernel spec `rust-multiproc` (Rust (multiproc)) {state}: {}", kernel_dir.display());
    println!("  library: {}", inputs.library.display());
    Ok(())
}

/// Removes the kernel spec directory, with its evcxr config. Build caches in the work directory stay.
pub fn uninstall(location: &Location) -> Result<(), KernelError> {
    let kernel_dir = location.kernel_dir()?;
    if !kernel_dir.exists() {
        println!("Nothing to remove: no kernel spec at {}", kernel_dir.display());
        return Ok(());
    }
    fs::remove_dir_all(&kernel_dir).map_err(|e| KernelError::io("remove", &kernel_dir, e))?;
    println!("Removed {}", kernel_dir.display());
    Ok(())
}

/// `~/.cache/multiproc-kernel/<library folder>-<hash of its path>`. Outside the repository on
/// purpose: a work slot is a cargo package, and cargo refuses to build a package that sits below a
/// workspace (the repository's Cargo.toml) without being one of its members.
fn default_work_dir(library: &Path) -> Result<PathBuf, KernelError> {
    let cache = location::user_cache_dir().ok_or(KernelError::NoCacheDir)?;
    let name = library.file_name().map_or("root".into(), |n| n.to_string_lossy());
    // FNV-1a: a stable short hash, so two clones of the repository get two work directories.
    let hash = library
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    Ok(cache.join("multiproc-kernel").join(format!("{name}-{:08x}", hash as u32)))
}

/// The multiproc crate's directory, absolute, checked to be that crate.
fn resolve_library(given: Option<&Path>) -> Result<PathBuf, KernelError> {
    // This file is kernel/src/install.rs; the library is the workspace root above kernel/.
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("/"));
    let dir = given.unwrap_or(built_in);
    let dir = fs::canonicalize(dir).map_err(|e| KernelError::io("find the library directory", dir, e))?;
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    if !manifest.lines().any(|l| l.trim() == "name = \"multiproc\"") {
        return Err(KernelError::NotTheLibrary(dir));
    }
    Ok(dir)
}

/// Writes `bytes` to `path` unless it already holds exactly them; returns whether it wrote.
/// Writes a temporary file and renames it, so Jupyter never reads a half-written kernel.json.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, KernelError> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    let dir = path.parent().expect("spec files live in a directory");
    fs::create_dir_all(dir).map_err(|e| KernelError::io("create", dir, e))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes).map_err(|e| KernelError::io("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| KernelError::io("replace", path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_write_of_the_same_bytes_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("multiproc-kernel-write-test-{}", std::process::id()));
        let file = dir.join("sub/kernel.json");
        assert!(write_if_changed(&file, b"a").unwrap());
        assert!(!write_if_changed(&file, b"a").unwrap());
        assert!(write_if_changed(&file, b"b").unwrap());
        assert_eq!(fs::read(&file).unwrap(), b"b");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn built_in_library_is_this_repository() {
        let dir = resolve_library(None).unwrap();
        assert!(dir.join("kernel").join("Cargo.toml").exists());
    }
}
