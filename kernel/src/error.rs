//! The kernel's one error type: every variant says what went wrong and what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a `multiproc-kernel` command failed.
#[derive(Debug)]
pub enum KernelError {
    /// The command line could not be understood.
    Usage(String),
    /// A file or directory could not be read or written.
    Io { action: &'static str, path: PathBuf, source: io::Error },
    /// `--library` (or the built-in default) does not hold the multiproc crate.
    NotTheLibrary(PathBuf),
    /// No directory to install into could be found (no HOME, no JUPYTER_DATA_DIR).
    NoDataDir,
    /// No directory for build caches could be found (no HOME, no XDG_CACHE_HOME).
    NoCacheDir,
    /// `prebuild` found no installed kernel spec where it looked.
    NotInstalled(PathBuf),
    /// The installed kernel.json could not be understood.
    BadSpec { path: PathBuf, reason: String },
    /// Every work slot is held by a running kernel.
    NoFreeSlot(PathBuf),
    /// The library (or the startup config) did not load into evcxr.
    Load(String),
    /// evcxr's Jupyter server stopped with an error.
    Jupyter(String),
}

impl KernelError {
    /// Wraps an I/O error with the action and the path it concerned.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        KernelError::Io { action, path: path.into(), source }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelError::Usage(msg) => write!(f, "{msg}\nRun `multiproc-kernel help` for the commands."),
            KernelError::Io { action, path, source } => write!(
                f,
                "could not {action} {}: {source}\nCheck that the path exists and that you have permission to use it.",
                path.display()
            ),
            KernelError::NotTheLibrary(dir) => write!(
                f,
                "{} is not the multiproc crate (no Cargo.toml there naming the package `multiproc`).\n\
                 Pass --library <the repository's directory>.",
                dir.display()
            ),
            KernelError::NoDataDir => write!(
                f,
                "no Jupyter data directory: neither JUPYTER_DATA_DIR, XDG_DATA_HOME nor HOME is set.\n\
                 Set one of them, or install into a prefix with `--prefix <dir>`."
            ),
            KernelError::NoCacheDir => write!(
                f,
                "no cache directory for the kernel's builds: neither XDG_CACHE_HOME nor HOME is set.\n\
                 Set one of them, or pass `--work-dir <dir>` to `install`."
            ),
            KernelError::NotInstalled(dir) => write!(
                f,
                "no kernel spec at {}\nInstall it first: `multiproc-kernel install` with the same --user/--prefix.",
                dir.display()
            ),
            KernelError::BadSpec { path, reason } => write!(
                f,
                "{} is not a kernel spec this program wrote ({reason}).\nReinstall with `multiproc-kernel install`.",
                path.display()
            ),
            KernelError::NoFreeSlot(dir) => write!(
                f,
                "all work slots under {} are held by running kernels.\nShut down an idle kernel, or set EVCXR_TMPDIR to a directory of your own.",
                dir.display()
            ),
            KernelError::Load(report) => write!(
                f,
                "the multiproc library did not load into the kernel:\n{report}\n\
                 Fix the error above (it names the file and line), then run the command again."
            ),
            KernelError::Jupyter(msg) => write!(
                f,
                "the Jupyter server of the kernel stopped: {msg}\nRestart the kernel; if it happens again, read the Jupyter server log."
            ),
        }
    }
}

impl std::error::Error for KernelError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KernelError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
