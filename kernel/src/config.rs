//! The evcxr config a kernel starts with (`init.evcxr`, then `prelude.rs`, read from
//! `$EVCXR_CONFIG_DIR` by evcxr's `:load_config`).
//!
//! `init.evcxr` holds only `:commands`, no Rust and no comments, so that loading it compiles nothing;
//! the library is compiled when the prelude's `use` runs. Any error in either file stops evcxr at
//! start, which is why [`crate::serve`] catches that error and starts again with [`notice`].

use std::path::Path;

/// The two files of an evcxr config directory.
#[derive(Debug, Clone, PartialEq)]
pub struct EvcxrConfig {
    /// `init.evcxr`: `:commands`, one a line.
    pub init: String,
    /// `prelude.rs`: Rust run once at start; its `use` items stay in scope for every cell.
    pub prelude: String,
}

/// Speed settings, in this order:
/// - `:opt 0` before any `:dep`: evcxr builds every dependency at opt-level 2 by default, which
///   triples the first build; notebooks that time work say so and can run `:opt 2` themselves.
/// - `:cache`: keeps compiled registry crates (libc, nix, serde, ...) in `~/.cache/evcxr` (MiB), so a
///   kernel that gets a fresh work slot does not recompile them. Path crates (multiproc) are not cached.
const SPEED: &str = ":opt 0\n:cache 512\n";

/// The config of a normal start: the speed settings, the library by absolute path (relative
/// paths would resolve against each notebook's folder), and the prelude.
pub fn normal(library: &Path) -> EvcxrConfig {
    EvcxrConfig {
        init: format!("{SPEED}:dep multiproc = {{ path = {} }}\n", toml_string(library)),
        prelude: "use multiproc::prelude::*;\n".to_owned(),
    }
}

/// The config of a start after the normal one failed: the only dependency is the notice crate at
/// `notice_crate`, which does not compile and whose error message tells why. So the kernel stays up,
/// and every cell shows the reason instead of a kernel that dies and restarts.
pub fn notice(notice_crate: &Path) -> EvcxrConfig {
    EvcxrConfig {
        init: format!("{SPEED}:dep multiproc_kernel_notice = {{ path = {} }}\n", toml_string(notice_crate)),
        prelude: String::new(),
    }
}

/// A TOML basic string. JSON's string escapes are a subset of TOML's, so serde_json writes it.
fn toml_string(path: &Path) -> String {
    serde_json::Value::from(path.to_string_lossy()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opt_comes_before_the_dep() {
        let c = normal(Path::new("/repo"));
        let opt = c.init.find(":opt 0").unwrap();
        let dep = c.init.find(":dep multiproc = { path = \"/repo\" }").unwrap();
        assert!(opt < dep);
        assert_eq!(c.prelude.trim(), "use multiproc::prelude::*;");
    }

    #[test]
    fn init_has_only_commands() {
        for line in normal(Path::new("/a \"b\"")).init.lines() {
            assert!(line.starts_with(':'), "{line}");
        }
        assert!(normal(Path::new("/a \"b\"")).init.contains(r#"path = "/a \"b\"""#));
    }
}
