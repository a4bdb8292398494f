//! The code runtime: the process in which evcxr runs each cell's compiled code.
//!
//! evcxr starts this same executable with `EVCXR_IS_RUNTIME` set, sends it one line
//! `LOAD_AND_RUN <library> <function>` per cell on stdin, and reads its stdout until the line
//! `EVCXR_EXECUTION_COMPLETE`. That is all of evcxr 0.22's runtime protocol (its `runtime.rs`), and
//! this module speaks it instead of `evcxr::runtime_hook` for one reason: the cell's stderr.
//!
//! The kernel forwards the runtime's stderr from a thread of its own, and the cell's "idle" can
//! overtake it. With Run All, a cell's last stderr lines (a child's panic report, an `eprintln!`)
//! then appear under the next cell, or after the cell is done, where nbclient drops them (seen: the
//! stderr of 4 of 6 back-to-back cells). So after the cell's function returns, this loop waits until
//! the kernel has read everything on the stderr pipe, plus a margin for it to send that on, and only
//! then prints the completion line. The runtime stays single-threaded, as cells that fork need.
//!
//! Not carried over from evcxr's runtime: its SIGSEGV/SIGILL/SIGBUS handlers, which print a
//! backtrace and abort. Here such a crash ends the runtime with the signal itself, and the kernel
//! reports "Subprocess terminated with status: signal: 11 (SIGSEGV)"; forked children no longer
//! inherit handlers that turn their crashes into SIGABRT.

use std::ffi::c_void;
use std::io::{self, BufRead, Write};
use std::time::{Duration, Instant};

/// Set by evcxr in the environment of the runtime process it starts.
const IS_RUNTIME_ENV: &str = "EVCXR_IS_RUNTIME";
/// The line that tells the kernel the cell has finished.
const EXECUTION_COMPLETE: &str = "EVCXR_EXECUTION_COMPLETE";
/// Longest wait for the kernel to read the stderr pipe (it reads continuously; this only bounds a
/// kernel that is stuck).
const MAX_STDERR_WAIT: Duration = Duration::from_millis(500);
/// After the pipe is empty, the kernel's stderr thread still has to hand the last line to Jupyter
/// (a channel and a socket send, well under a millisecond); the kernel itself sleeps 1 ms after
/// the completion line. This margin keeps the stderr ahead of the cell's idle.
const HANDOFF_MARGIN: Duration = Duration::from_millis(3);

/// The cell function evcxr generates: takes and returns its variable store.
type CellFn = extern "C" fn(*mut c_void) -> *mut c_void;

/// If this process is evcxr's code runtime, serves cells until stdin closes, then exits.
/// Otherwise returns at once.
pub fn run_if_runtime() {
    if std::env::var_os(IS_RUNTIME_ENV).is_none() {
        return;
    }
    // Still one thread here: changing the environment is safe.
    crate::session::restore_jupyter_path();
    let mut store: *mut c_void = std::ptr::null_mut();
    // Cell libraries are never unloaded: thread-local destructors and statics of earlier cells may
    // still refer to their code (evcxr does the same).
    let mut loaded: Vec<libloading::Library> = Vec::new();
    for line in io::stdin().lock().lines() {
        let result = line.map_err(|e| e.to_string()).and_then(|line| {
            let (library, function) = parse_command(&line).ok_or_else(|| format!("Unrecognised line: {line}"))?;
            run_cell(library, function, &mut store, &mut loaded)
        });
        if let Err(error) = result {
            eprintln!("multiproc-kernel runtime: {error}");
            std::process::exit(99);
        }
        wait_for_stderr_to_be_read();
        println!("{EXECUTION_COMPLETE}");
        let _ = io::stdout().flush();
    }
    std::process::exit(0);
}

/// `LOAD_AND_RUN <library> <function>` → (library, function).
fn parse_command(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("LOAD_AND_RUN ")?;
    let (library, function) = rest.split_once(' ')?;
    (!library.is_empty() && !function.is_empty() && !function.contains(' ')).then_some((library, function))
}

fn run_cell(
    library: &str,
    function: &str,
    store: &mut *mut c_void,
    loaded: &mut Vec<libloading::Library>,
) -> Result<(), String> {
    // SAFETY: `library` is the cdylib evcxr has just compiled from the user's cell for this
    // runtime; running its initialisers is part of running the cell, which the user asked for.
    let lib = unsafe { libloading::Library::new(library) }.map_err(|e| format!("loading {library}: {e}"))?;
    // SAFETY: evcxr generates `function` in that library as
    // `pub extern "C" fn run_user_code_N(*mut u8) -> *mut u8` (pointer-sized in and out), which is
    // the `CellFn` signature; the symbol is used only while `lib` stays loaded (it is never dropped).
    let cell: CellFn = unsafe { lib.get::<CellFn>(function.as_bytes()) }
        .map(|symbol| *symbol)
        .map_err(|e| format!("finding {function} in {library}: {e}"))?;
    loaded.push(lib);
    *store = cell(*store);
    Ok(())
}

/// Waits until the stderr pipe holds no unread bytes (bounded by [`MAX_STDERR_WAIT`]), then
/// [`HANDOFF_MARGIN`]. If stderr is not a pipe, there is nothing to wait for.
fn wait_for_stderr_to_be_read() {
    let deadline = Instant::now() + MAX_STDERR_WAIT;
    while let Some(pending) = unread_bytes(libc::STDERR_FILENO) {
        if pending == 0 || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(HANDOFF_MARGIN);
}

/// Bytes written to the pipe `fd` and not read yet (FIONREAD works on either end of a Linux
/// pipe: pipe(7)). `None` if `fd` is not something FIONREAD answers for.
fn unread_bytes(fd: libc::c_int) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`, alive for the
    // call; an invalid or unsuitable `fd` makes ioctl fail with an errno, touching no memory.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n as *mut libc::c_int) };
    (rc == 0).then(|| usize::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn parses_evcxrs_command_line() {
        assert_eq!(
            parse_command("LOAD_AND_RUN /t/target/debug/libcode_3.so run_user_code_2"),
            Some(("/t/target/debug/libcode_3.so", "run_user_code_2"))
        );
        for bad in ["", "LOAD_AND_RUN", "LOAD_AND_RUN x", "RUN a b", "LOAD_AND_RUN a b c"] {
            assert_eq!(parse_command(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unread_bytes_of_a_pipe_seen_from_its_write_end() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        assert_eq!(unread_bytes(writer.as_raw_fd()), Some(0));
        writer.write_all(b"hello").unwrap();
        assert_eq!(unread_bytes(writer.as_raw_fd()), Some(5));
        drop(reader);
        assert_eq!(unread_bytes(-1), None);
    }
}
