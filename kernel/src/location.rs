//! Where a kernel spec lives: the user's Jupyter data directory, or `PREFIX/share/jupyter`.
//!
//! Jupyter's own rules (jupyter_core.paths): the user data directory is `$JUPYTER_DATA_DIR`, else
//! `$XDG_DATA_HOME/jupyter`, else `~/.local/share/jupyter`; a prefix (a virtual environment) has its
//! kernels in `PREFIX/share/jupyter/kernels`, which Jupyter started from that environment searches.

use crate::error::KernelError;
use std::env;
use std::path::{Path, PathBuf};

/// The kernel spec's name. Never `rust`: evcxr_jupyter rewrites `kernels/rust/kernel.json` on start.
pub const SPEC_NAME: &str = "rust-multiproc";

/// Which Jupyter data directory to use.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Location {
    /// The user's Jupyter data directory.
    #[default]
    User,
    /// `PREFIX/share/jupyter`, e.g. a virtual environment.
    Prefix(PathBuf),
}

impl Location {
    /// The Jupyter data directory (the one that holds `kernels/`), made absolute.
    pub fn data_dir(&self) -> Result<PathBuf, KernelError> {
        let dir = match self {
            Location::Prefix(prefix) => prefix.join("share").join("jupyter"),
            Location::User => user_data_dir().ok_or(KernelError::NoDataDir)?,
        };
        absolute(&dir)
    }

    /// The directory of our kernel spec: `DATA/kernels/rust-multiproc`.
    pub fn kernel_dir(&self) -> Result<PathBuf, KernelError> {
        Ok(self.data_dir()?.join("kernels").join(SPEC_NAME))
    }
}

fn user_data_dir() -> Option<PathBuf> {
    let var = |name| env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("JUPYTER_DATA_DIR")
        .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("jupyter")))
        .or_else(|| var("HOME").map(|h| h.join(".local").join("share").join("jupyter")))
}

/// The user's cache directory: `$XDG_CACHE_HOME`, else `~/.cache`.
pub fn user_cache_dir() -> Option<PathBuf> {
    let var = |name| env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("XDG_CACHE_HOME").or_else(|| var("HOME").map(|h| h.join(".cache")))
}

/// `path` made absolute against the current directory (it need not exist yet).
pub fn absolute(path: &Path) -> Result<PathBuf, KernelError> {
    std::path::absolute(path).map_err(|e| KernelError::io("resolve", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_kernel_dir() {
        let dir = Location::Prefix("/venv".into()).kernel_dir().unwrap();
        assert_eq!(dir, Path::new("/venv/share/jupyter/kernels/rust-multiproc"));
    }

    #[test]
    fn relative_prefix_becomes_absolute() {
        let dir = Location::Prefix(".venv".into()).kernel_dir().unwrap();
        assert!(dir.is_absolute());
        assert!(dir.ends_with(".venv/share/jupyter/kernels/rust-multiproc"));
    }
}
