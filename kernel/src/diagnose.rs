//! Asking cargo why the library does not build, in words a person can act on.
//!
//! When the config fails to load, evcxr's error keeps only the compiler's headline ("mismatched
//! types"), without file or line. So the kernel checks the library itself, as a dependency of a
//! one-line crate in `WORK/check` (outside any workspace, with the repository's Cargo.lock), and
//! reports cargo's own output. The first check on a machine compiles the dependencies' metadata
//! (about 15 s); later ones take a second or two. This runs only after a load failed.

use crate::install::write_if_changed;
use std::path::Path;
use std::process::Command;

/// Why the config did not load: cargo's errors for the library when it does not build (and
/// `library` and `work_dir` are known), else what evcxr said.
pub fn explain(
    error: &evcxr::Error,
    library: Option<&Path>,
    work_dir: Option<&Path>,
    lockfile: Option<&Path>,
) -> String {
    let checked = match (library, work_dir) {
        (Some(library), Some(work_dir)) => library_errors(library, work_dir, lockfile),
        _ => None,
    };
    checked.unwrap_or_else(|| describe(error))
}

/// The compiler's own rendering of each error (file, line, caret), or evcxr's message.
fn describe(error: &evcxr::Error) -> String {
    match error {
        evcxr::Error::CompilationErrors(errors) => {
            let parts: Vec<String> = errors
                .iter()
                .map(|e| {
                    let rendered = e.rendered();
                    if rendered.trim().is_empty() {
                        e.message()
                    } else {
                        rendered
                    }
                })
                .collect();
            let text = parts.join("\n").trim_end().to_owned();
            if text.is_empty() {
                error.to_string()
            } else {
                text
            }
        }
        other => other.to_string(),
    }
}

/// cargo's errors for `library`, or `None` if it checks cleanly (or cargo cannot be run).
fn library_errors(library: &Path, work_dir: &Path, lockfile: Option<&Path>) -> Option<String> {
    let dir = work_dir.join("check");
    let manifest = format!(
        "[package]\nname = \"multiproc_kernel_check\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
         [lib]\npath = \"lib.rs\"\n\n[dependencies]\nmultiproc = {{ path = {} }}\n\n[workspace]\n",
        serde_json::Value::from(library.to_string_lossy())
    );
    write_if_changed(&dir.join("Cargo.toml"), manifest.as_bytes()).ok()?;
    write_if_changed(&dir.join("lib.rs"), b"").ok()?;
    if let Some(lock) = lockfile.filter(|l| l.is_file()) {
        if !dir.join("Cargo.lock").exists() {
            std::fs::copy(lock, dir.join("Cargo.lock")).ok()?;
        }
    }
    let out = Command::new("cargo")
        .args(["check", "--quiet", "--color", "never"])
        .current_dir(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .ok()?;
    if out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    (!text.is_empty()).then_some(text)
}
