//! The notice crate: what a kernel loads when the library did not, so the reason shows in the notebook.
//!
//! It is a crate whose only item is `compile_error!("<why>")`. evcxr validates a `:dep` without
//! compiling it, so loading the notice config succeeds and the kernel comes up; every cell then
//! compiles the dependency, fails, and shows the message as its error output.

use crate::config;
use crate::error::KernelError;
use crate::install::write_if_changed;
use crate::spec;
use std::path::{Path, PathBuf};

/// Writes the notice crate and its evcxr config under `dir`; returns the config directory.
pub fn write(dir: &Path, report: &str) -> Result<PathBuf, KernelError> {
    let message = format!(
        "The multiproc library could not be loaded when this kernel started, so no cell can run.\n\n\
         {report}\n\n\
         What to do: fix the error above (it names the file and line), then restart the kernel \
         (Kernel > Restart Kernel). `multiproc-kernel prebuild` shows the same error on a console."
    );
    let crate_dir = dir.join("crate");
    let manifest = "[package]\nname = \"multiproc_kernel_notice\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
                    [lib]\npath = \"lib.rs\"\n\n[workspace]\n";
    write_if_changed(&crate_dir.join("Cargo.toml"), manifest.as_bytes())?;
    // `{:?}` of a str is a valid Rust string literal: quotes, backslashes and newlines escaped.
    let lib = format!("compile_error!({message:?});\n");
    write_if_changed(&crate_dir.join("lib.rs"), lib.as_bytes())?;

    let config_dir = dir.join("config");
    for (name, bytes) in spec::config_files(&config::notice(&crate_dir)) {
        write_if_changed(&config_dir.join(name), &bytes)?;
    }
    Ok(config_dir)
}
