//! A child's stdout and stderr reach the parent's as whole, valid UTF-8 lines, in order
//! (kernel.md hazards 3, 4, 11 and 12). Each test re-runs this binary as a helper (see
//! `run_helper`) and asserts on what the helper printed: its own lines and its children's,
//! relayed by the library.

mod process_support;

use std::io::Write;
use std::time::{Duration, Instant};

use multiproc::Process;
use process_support::*;

/// Writes raw bytes to this process's fd, bypassing std's buffers.
fn raw_write(fd: i32, bytes: &[u8]) {
    // SAFETY: writes from a valid buffer of the given length to an fd this process owns.
    let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    assert_eq!(n, bytes.len() as isize);
}

fn helper_output(mode: &str) -> Captured {
    let out = run_helper("helper", mode, &[]);
    assert!(out.status.success(), "{}", out.describe());
    out
}

/// Lines arrive whole and in order on each stream, including lines longer than a pipe's
/// atomic write (4 KiB) and bursts larger than the pipe (64 KiB).
#[test]
fn lines_arrive_whole_and_in_order() {
    let out = helper_output("order");
    let mut expected_out: Vec<String> = (0..2000).map(|i| format!("out {i}")).collect();
    expected_out.push("x".repeat(60_000));
    expected_out.push("after the long line".into());
    let expected_err: Vec<String> = (0..2000).map(|i| format!("err {i}")).collect();
    assert!(out.stdout_lines() == expected_out, "stdout differs: {}", out.describe());
    assert!(out.stderr_lines() == expected_err, "stderr differs: {}", out.describe());
}

/// Two children writing long lines at once: every line arrives whole, and each child's lines
/// in its own order.
#[test]
fn concurrent_children_never_tear_lines() {
    let out = helper_output("two_children");
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 600, "{}", out.describe());
    for who in ["a", "b"] {
        let mine: Vec<&String> = lines.iter().filter(|l| l.starts_with(who)).collect();
        assert_eq!(mine.len(), 300);
        for (i, line) in mine.iter().enumerate() {
            assert_eq!(**line, format!("{who} {i:03} {}", who.repeat(5000)), "line torn or out of order");
        }
    }
}

/// A last line without a newline gets one, whether the child returns, exits or panics, and
/// whether it was buffered by std or written straight to the fd.
#[test]
fn partial_last_line_gets_a_newline() {
    let out = helper_output("partial");
    assert_eq!(
        out.stdout_lines(),
        ["buffered, no newline", "raw, no newline", "before exit", "before panic", "parent done"],
        "{}",
        out.describe()
    );
    let err = out.stderr_lines();
    assert_eq!(err.len(), 2, "{}", out.describe());
    assert!(err[0].contains("panicked at") && err[0].ends_with(": after a partial line"), "{}", out.describe());
    assert_eq!(err[1], "stderr, no newline", "{}", out.describe());
}

/// Invalid UTF-8 is replaced by U+FFFD, on stdout and stderr; a character split across two
/// writes is kept whole; a CR before the newline is dropped.
#[test]
fn invalid_utf8_is_replaced() {
    let out = helper_output("utf8");
    assert_eq!(out.stdout_lines(), ["ok \u{FFFD}\u{FFFD} end", "café", "windows"], "{}", out.describe());
    assert_eq!(out.stderr_lines(), ["err \u{FFFD}"], "{}", out.describe());
    assert!(std::str::from_utf8(&out.stdout_bytes()).is_ok());
}

/// Every `EVCXR_` in a child's line (evcxr matches its markers anywhere in a line) is defused
/// with a zero-width space, so it can never end, shift or swallow a notebook cell.
#[test]
fn evcxr_control_lines_are_defused() {
    let out = helper_output("evcxr");
    let lines = out.stdout_lines();
    assert_eq!(
        lines,
        [
            "EVCXR\u{200B}_EXECUTION_COMPLETE",
            "EVCXR\u{200B}_BEGIN_CONTENT text/html",
            " EVCXR\u{200B}_ indented is not a control line",
            "mentions EVCXR\u{200B}_EXECUTION_COMPLETE later",
        ],
        "{}",
        out.describe()
    );
    assert!(lines.iter().all(|l| !l.contains("EVCXR_")));
    assert_eq!(out.stderr_lines(), ["EVCXR\u{200B}_EXECUTION_COMPLETE"], "{}", out.describe());
}

/// Output a child writes while nobody waits for it stays in its pipe and appears at the next
/// wait (here `join`), after what the parent printed meanwhile: it never lands behind the
/// parent's back (hazard 12; see `Process`'s docs).
#[test]
fn output_appears_when_the_parent_waits() {
    let out = helper_output("deferred");
    assert_eq!(out.stdout_lines(), ["parent: before join", "child: written before the parent printed", "parent: after join"], "{}", out.describe());
}

/// A grandchild that inherited the child's stdout pipe and outlives the child does not make
/// `join` wait for it; the child's own last line, partial or not, still arrives.
#[test]
fn grandchild_holding_the_pipe_does_not_block_join() {
    let out = helper_output("grandchild_pipe");
    let lines = out.stdout_lines();
    assert_eq!(lines[0], "child: whole line", "{}", out.describe());
    assert_eq!(lines[1], "child: partial line", "{}", out.describe());
    assert!(lines[2].starts_with("joined in "), "{}", out.describe());
    let ms: u64 = lines[2]["joined in ".len()..].trim_end_matches(" ms").parse().unwrap();
    assert!(ms < 5000, "join waited for the grandchild: {ms} ms");
    assert_eq!(lines.len(), 3, "{}", out.describe());
}

/// A line longer than the relay's limit (64 KiB) is passed on in pieces, none lost.
#[test]
fn runaway_line_is_passed_on_in_pieces() {
    let out = helper_output("runaway");
    let lines = out.stdout_lines();
    assert!(lines.len() >= 3, "{}", lines.len());
    assert!(lines.iter().all(|l| l.len() <= 64 * 1024));
    assert_eq!(lines.concat(), "y".repeat(200_000));
}

/// Entry point of the helper modes run by [`run_helper`]; does nothing in a normal test run.
#[test]
fn helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else { return };
    bracketed(|| match mode.as_str() {
        "order" => {
            run(|| {
                for i in 0..2000 {
                    println!("out {i}");
                    eprintln!("err {i}");
                }
                println!("{}", "x".repeat(60_000));
                println!("after the long line");
            })
            .unwrap();
        }
        "two_children" => {
            let child = |who: &'static str| {
                let mut p = Process::new(move || {
                    for i in 0..300 {
                        println!("{who} {i:03} {}", who.repeat(5000));
                    }
                });
                p.start().unwrap();
                p
            };
            let (mut a, mut b) = (child("a"), child("b"));
            join(&mut a).unwrap();
            join(&mut b).unwrap();
        }
        "partial" => {
            run(|| print!("buffered, no newline")).unwrap();
            run(|| raw_write(1, b"raw, no newline")).unwrap();
            let _ = run(|| -> () {
                print!("before exit");
                multiproc::exit(0)
            });
            let _ = run(|| -> () {
                print!("before panic");
                panic!("after a partial line")
            });
            run(|| eprint!("stderr, no newline")).unwrap();
            println!("parent done");
        }
        "utf8" => {
            run(|| {
                raw_write(1, b"ok \xff\xfe end\n");
                raw_write(1, b"caf\xc3");
                std::thread::sleep(Duration::from_millis(20));
                raw_write(1, b"\xa9\nwindows\r\n");
                raw_write(2, b"err \xc3\n");
            })
            .unwrap();
        }
        "evcxr" => {
            run(|| {
                println!("EVCXR_EXECUTION_COMPLETE");
                println!("EVCXR_BEGIN_CONTENT text/html");
                println!(" EVCXR_ indented is not a control line");
                println!("mentions EVCXR_EXECUTION_COMPLETE later");
                eprintln!("EVCXR_EXECUTION_COMPLETE");
            })
            .unwrap();
        }
        "deferred" => {
            let (mut ours, mut theirs) = Link::pair();
            let mut p = Process::new(move || {
                println!("child: written before the parent printed");
                std::io::stdout().flush().unwrap();
                theirs.send(1);
            });
            p.start().unwrap();
            ours.recv();
            println!("parent: before join");
            join(&mut p).unwrap();
            println!("parent: after join");
        }
        "grandchild_pipe" => {
            let t = Instant::now();
            let sleeper = run(|| {
                // `sleep` inherits the child's stdout (fd 1 is not close-on-exec) and outlives it;
                // the helper kills it below, and whoever reaps orphans reaps it.
                #[allow(clippy::zombie_processes)]
                let sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
                println!("child: whole line");
                print!("child: partial line");
                sleeper.id()
            })
            .unwrap();
            println!("joined in {} ms", t.elapsed().as_millis());
            // SAFETY: kill takes a pid and a signal; the sleeper is our grandchild's orphan.
            unsafe { libc::kill(sleeper as i32, libc::SIGKILL) };
        }
        "runaway" => {
            run(|| println!("{}", "y".repeat(200_000))).unwrap();
        }
        other => panic!("unknown helper mode {other}"),
    });
}
