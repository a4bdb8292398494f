//! The kernel spec directory's contents: kernel.json, the logos and the evcxr config.
//!
//! Layout of `DATA/kernels/rust-multiproc/`:
//! `kernel.json`, `logo-svg.svg`, `logo-32x32.png`, `logo-64x64.png`, `evcxr/init.evcxr`,
//! `evcxr/prelude.rs`. The evcxr config sits inside the spec so that uninstall removes it too.

use crate::config::{self, EvcxrConfig};
use crate::error::KernelError;
use crate::logo;
use serde_json::json;
use std::path::{Path, PathBuf};

/// kernel.json's `env` key naming the work directory (see [`crate::slot`]).
pub const WORK_DIR_ENV: &str = "MULTIPROC_KERNEL_WORK_DIR";
/// kernel.json's `env` key naming the repository Cargo.lock a new work slot starts from.
pub const LOCKFILE_ENV: &str = "MULTIPROC_KERNEL_LOCKFILE";
/// kernel.json's `env` key naming the multiproc crate, for the kernel's diagnosis when it does not load.
pub const LIBRARY_ENV: &str = "MULTIPROC_KERNEL_LIBRARY";
/// evcxr reads its config from here instead of `~/.config/evcxr`.
pub const CONFIG_DIR_ENV: &str = "EVCXR_CONFIG_DIR";

/// Everything a kernel spec is made from.
#[derive(Debug, Clone)]
pub struct SpecInputs {
    /// This program, by absolute path (Jupyter runs it).
    pub exe: PathBuf,
    /// The spec directory being written.
    pub kernel_dir: PathBuf,
    /// The multiproc crate's directory, absolute.
    pub library: PathBuf,
    /// Where kernels keep their build directories, absolute.
    pub work_dir: PathBuf,
}

/// The evcxr config directory inside a spec directory.
pub fn config_dir(kernel_dir: &Path) -> PathBuf {
    kernel_dir.join("evcxr")
}

/// Writes `config` as the two files of an evcxr config directory, as (relative path, bytes) pairs.
pub fn config_files(config: &EvcxrConfig) -> Vec<(&'static str, Vec<u8>)> {
    vec![("init.evcxr", config.init.clone().into_bytes()), ("prelude.rs", config.prelude.clone().into_bytes())]
}

/// Every file of the spec directory, as (path relative to it, bytes).
pub fn files(inputs: &SpecInputs) -> Vec<(String, Vec<u8>)> {
    let kernel_json = json!({
        "argv": [inputs.exe.to_string_lossy(), "--control_file", "{connection_file}"],
        "display_name": "Rust (multiproc)",
        "language": "rust",
        // "signal" would SIGINT the kernel's whole process group; evcxr handles the message by
        // killing only its code runtime (and with it, through PDEATHSIG, the cell's children).
        "interrupt_mode": "message",
        "env": {
            CONFIG_DIR_ENV: config_dir(&inputs.kernel_dir).to_string_lossy(),
            WORK_DIR_ENV: inputs.work_dir.to_string_lossy(),
            LOCKFILE_ENV: inputs.library.join("Cargo.lock").to_string_lossy(),
            LIBRARY_ENV: inputs.library.to_string_lossy(),
        },
    });
    let mut json_text = serde_json::to_string_pretty(&kernel_json).expect("a json! value serialises");
    json_text.push('\n');
    let mut out = vec![
        ("kernel.json".to_owned(), json_text.into_bytes()),
        ("logo-svg.svg".to_owned(), logo::svg().into_bytes()),
        ("logo-32x32.png".to_owned(), logo::png(32)),
        ("logo-64x64.png".to_owned(), logo::png(64)),
    ];
    for (name, bytes) in config_files(&config::normal(&inputs.library)) {
        out.push((format!("evcxr/{name}"), bytes));
    }
    out
}

/// What `prebuild` and the kernel need from an installed kernel.json.
#[derive(Debug, Clone)]
pub struct Installed {
    /// `EVCXR_CONFIG_DIR`.
    pub config_dir: PathBuf,
    /// The work directory, if the spec names one.
    pub work_dir: Option<PathBuf>,
    /// The repository's Cargo.lock, if the spec names one.
    pub lockfile: Option<PathBuf>,
    /// The multiproc crate, if the spec names it.
    pub library: Option<PathBuf>,
}

/// Reads the `env` of `DIR/kernel.json`.
pub fn read_installed(kernel_dir: &Path) -> Result<Installed, KernelError> {
    let path = kernel_dir.join("kernel.json");
    if !path.exists() {
        return Err(KernelError::NotInstalled(kernel_dir.to_owned()));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| KernelError::io("read", &path, e))?;
    let bad = |reason: &str| KernelError::BadSpec { path: path.clone(), reason: reason.to_owned() };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
    let env_path = |key: &str| value["env"][key].as_str().map(PathBuf::from);
    Ok(Installed {
        config_dir: env_path(CONFIG_DIR_ENV).ok_or_else(|| bad("no env.EVCXR_CONFIG_DIR"))?,
        work_dir: env_path(WORK_DIR_ENV),
        lockfile: env_path(LOCKFILE_ENV),
        library: env_path(LIBRARY_ENV),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> SpecInputs {
        SpecInputs {
            exe: "/bin/mk".into(),
            kernel_dir: "/d/kernels/rust-multiproc".into(),
            library: "/repo".into(),
            work_dir: "/repo/target/multiproc-kernel".into(),
        }
    }

    #[test]
    fn kernel_json_fields() {
        let files = files(&inputs());
        let (_, json) = files.iter().find(|(n, _)| n == "kernel.json").unwrap();
        let v: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(v["argv"], json!(["/bin/mk", "--control_file", "{connection_file}"]));
        assert_eq!(v["display_name"], "Rust (multiproc)");
        assert_eq!(v["language"], "rust");
        assert_eq!(v["interrupt_mode"], "message");
        assert_eq!(v["env"]["EVCXR_CONFIG_DIR"], "/d/kernels/rust-multiproc/evcxr");
        let names: Vec<_> = files.iter().map(|(n, _)| n.as_str()).collect();
        for want in ["logo-svg.svg", "logo-32x32.png", "logo-64x64.png", "evcxr/init.evcxr", "evcxr/prelude.rs"] {
            assert!(names.contains(&want), "{want}");
        }
    }
}
