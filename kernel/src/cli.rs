//! The command line: `install`, `prebuild`, `help`, and `--control_file`, which Jupyter uses to start the kernel.

use crate::error::KernelError;
use crate::location::Location;
use std::ffi::OsString;
use std::path::PathBuf;

/// Printed by `multiproc-kernel help`.
pub const USAGE: &str = "\
multiproc-kernel: a Jupyter kernel for Rust (evcxr) with the multiproc library ready in every cell.

USAGE:
  multiproc-kernel install [--user | --prefix DIR] [--library DIR] [--work-dir DIR]
      Writes the kernel spec `rust-multiproc` and its evcxr config. Changes nothing that is
      already right. --user (the default) installs into your Jupyter data directory;
      --prefix DIR into DIR/share/jupyter (e.g. a virtual environment).
      --library DIR: the multiproc crate to load (default: the repository this binary was built in).
      --work-dir DIR: where kernels keep their build caches (default: LIBRARY/target/multiproc-kernel).
  multiproc-kernel install --uninstall [--user | --prefix DIR]
      Removes the kernel spec and its config (build caches stay; `cargo clean` removes them).
  multiproc-kernel prebuild [--user | --prefix DIR]
      Loads the installed config once, exactly as a kernel start does, so that the library is
      compiled before anyone opens a notebook. Prints the time taken; fails with the compiler's
      errors if the library does not build.
  multiproc-kernel --control_file FILE
      Runs the kernel (this is what kernel.json tells Jupyter to run).
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Write the kernel spec and config.
    Install { location: Location, library: Option<PathBuf>, work_dir: Option<PathBuf> },
    /// Remove the kernel spec and config.
    Uninstall { location: Location },
    /// Load the installed config once, to compile the library ahead of time.
    Prebuild { location: Location },
    /// Run the kernel; evcxr_jupyter reads `--control_file FILE` from the arguments itself.
    Serve,
    /// Print [`USAGE`].
    Help,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, KernelError> {
    let mut args = args.into_iter().map(|a| a.into_string().map_err(bad_utf8));
    let first = match args.next() {
        None => return Ok(Command::Help),
        Some(a) => a?,
    };
    match first.as_str() {
        "--control_file" => Ok(Command::Serve),
        "help" | "--help" | "-h" => Ok(Command::Help),
        "install" | "uninstall" | "prebuild" => {
            let opts = Options::parse(args)?;
            let uninstall = opts.uninstall || first == "uninstall";
            if (first == "prebuild" || uninstall) && (opts.library.is_some() || opts.work_dir.is_some()) {
                return Err(usage("--library and --work-dir only go with `install`"));
            }
            if first == "prebuild" {
                if opts.uninstall {
                    return Err(usage("--uninstall goes with `install`, not `prebuild`"));
                }
                return Ok(Command::Prebuild { location: opts.location });
            }
            if uninstall {
                return Ok(Command::Uninstall { location: opts.location });
            }
            Ok(Command::Install { location: opts.location, library: opts.library, work_dir: opts.work_dir })
        }
        other => Err(usage(&format!("unknown command `{other}`"))),
    }
}

#[derive(Default)]
struct Options {
    location: Location,
    library: Option<PathBuf>,
    work_dir: Option<PathBuf>,
    uninstall: bool,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = Result<String, KernelError>>) -> Result<Self, KernelError> {
        let mut opts = Options::default();
        let mut location_given = false;
        while let Some(arg) = args.next() {
            let arg = arg?;
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |what: &str| -> Result<PathBuf, KernelError> {
                match inline.clone() {
                    Some(v) => Ok(PathBuf::from(v)),
                    None => match args.next() {
                        Some(v) => Ok(PathBuf::from(v?)),
                        None => Err(usage(&format!("{name} needs {what}"))),
                    },
                }
            };
            match name.as_str() {
                "--user" | "--prefix" if location_given => {
                    return Err(usage("give at most one of --user and --prefix"));
                }
                "--user" => {
                    location_given = true;
                    opts.location = Location::User;
                }
                "--prefix" => {
                    location_given = true;
                    opts.location = Location::Prefix(value("a directory")?);
                }
                "--library" => opts.library = Some(value("the multiproc crate's directory")?),
                "--work-dir" => opts.work_dir = Some(value("a directory")?),
                "--uninstall" => opts.uninstall = true,
                other => return Err(usage(&format!("unknown option `{other}`"))),
            }
        }
        Ok(opts)
    }
}

fn usage(msg: &str) -> KernelError {
    KernelError::Usage(msg.to_owned())
}

fn bad_utf8(arg: OsString) -> KernelError {
    usage(&format!("argument {arg:?} is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(args: &[&str]) -> Result<Command, KernelError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn install_defaults_to_user() {
        assert_eq!(
            parse_str(&["install"]).unwrap(),
            Command::Install { location: Location::User, library: None, work_dir: None }
        );
    }

    #[test]
    fn prefix_in_both_spellings() {
        let want = Command::Install { location: Location::Prefix("/v".into()), library: None, work_dir: None };
        assert_eq!(parse_str(&["install", "--prefix", "/v"]).unwrap(), want);
        assert_eq!(parse_str(&["install", "--prefix=/v"]).unwrap(), want);
    }

    #[test]
    fn uninstall_flag_and_command() {
        let want = Command::Uninstall { location: Location::Prefix("/v".into()) };
        assert_eq!(parse_str(&["install", "--uninstall", "--prefix", "/v"]).unwrap(), want);
        assert_eq!(parse_str(&["uninstall", "--prefix", "/v"]).unwrap(), want);
    }

    #[test]
    fn control_file_serves() {
        assert_eq!(parse_str(&["--control_file", "/tmp/c.json"]).unwrap(), Command::Serve);
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for args in [
            &["install", "--user", "--prefix", "/v"][..],
            &["install", "--prefix"],
            &["frobnicate"],
            &["prebuild", "--library", "/x"],
        ] {
            assert!(matches!(parse_str(args), Err(KernelError::Usage(_))), "{args:?}");
        }
    }
}
