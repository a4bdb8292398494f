//! The notice crate: what a kernel loads when the library did not, so the reason shows in the notebook.
//!
//! evcxr compiles every `:dep` as soon as the config adds it, and any error there stops the kernel.
//! So the notice crate compiles cleanly at start and fails only afterwards: its build script emits
//! `compile_error!("<why>")` once the file `armed` says `1`, and the notice config's prelude writes
//! that `1` when it runs, which is after the dependency was built. From then on every cell compiles
//! the notice crate again, fails, and shows the message as its error; the kernel stays up.

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
    let armed = crate_dir.join("armed");
    let manifest = "[package]\nname = \"multiproc_kernel_notice\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
                    build = \"build.rs\"\n\n[lib]\npath = \"lib.rs\"\n\n[workspace]\n";
    write_if_changed(&crate_dir.join("Cargo.toml"), manifest.as_bytes())?;
    write_if_changed(&crate_dir.join("lib.rs"), LIB_RS.as_bytes())?;
    write_if_changed(&crate_dir.join("build.rs"), build_rs(&armed, &message).as_bytes())?;
    // Disarmed for the start; the prelude arms it.
    std::fs::write(&armed, "0").map_err(|e| KernelError::io("write", &armed, e))?;

    let mut notice = config::notice(&crate_dir);
    notice.prelude = format!("std::fs::write({:?}, \"1\").ok();\n", armed.to_string_lossy());
    let config_dir = dir.join("config");
    for (name, bytes) in spec::config_files(&notice) {
        write_if_changed(&config_dir.join(name), &bytes)?;
    }
    Ok(config_dir)
}

const LIB_RS: &str = "// Written by multiproc-kernel (kernel/src/notice.rs).\n\
                      include!(concat!(env!(\"OUT_DIR\"), \"/notice.rs\"));\n";

/// The build script: an empty `notice.rs` while disarmed, the `compile_error!` once armed.
/// `{:?}` of a str is a valid Rust string literal, quotes, backslashes and newlines escaped.
fn build_rs(armed: &Path, message: &str) -> String {
    format!(
        "// Written by multiproc-kernel (kernel/src/notice.rs).\n\
         fn main() {{\n\
         \x20   let armed = {armed:?};\n\
         \x20   println!(\"cargo:rerun-if-changed={{armed}}\");\n\
         \x20   let on = std::fs::read_to_string(armed).map_or(false, |s| s.trim() == \"1\");\n\
         \x20   let code = if on {{ format!(\"compile_error!({{:?}});\\n\", {message:?}) }} else {{ String::new() }};\n\
         \x20   let out = std::path::Path::new(&std::env::var_os(\"OUT_DIR\").unwrap()).join(\"notice.rs\");\n\
         \x20   std::fs::write(out, code).unwrap();\n\
         }}\n",
        armed = armed.to_string_lossy(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_crate_and_config() {
        let dir = std::env::temp_dir().join(format!("multiproc-kernel-notice-test-{}", std::process::id()));
        let config = write(&dir, "error[E0308]: \"quoted\" \\ path").unwrap();
        let init = std::fs::read_to_string(config.join("init.evcxr")).unwrap();
        assert!(init.contains(":dep multiproc_kernel_notice"), "{init}");
        let prelude = std::fs::read_to_string(config.join("prelude.rs")).unwrap();
        assert!(prelude.contains("armed") && prelude.contains("\"1\""), "{prelude}");
        let build = std::fs::read_to_string(dir.join("crate/build.rs")).unwrap();
        assert!(build.contains(r#"\"quoted\""#), "{build}");
        assert_eq!(std::fs::read_to_string(dir.join("crate/armed")).unwrap(), "0");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
