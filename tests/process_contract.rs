//! The fork contract of `shared/notes/kernel.md` (hazards 1–11), what Drop does to a process,
//! and bad input: every misuse is an `InvalidState` error with a helpful message, never a panic
//! in library code and never a hang.

mod process_support;

use std::time::{Duration, Instant};

use multiproc::{ErrorKind, Process};
use process_support::*;

/// What a child does after appending its line, in [`child_never_runs_the_parents_code`].
#[derive(Debug, Clone, Copy)]
enum Ending {
    Return,
    Panic,
    PanicInNestedCall,
    PanicWithNonStringPayload,
    Exit,
    /// A panic during a panic: std aborts the process.
    DoublePanic,
}

struct PanicsOnDrop;
impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("second panic, while unwinding");
    }
}

fn nested(depth: u32) -> u32 {
    if depth == 0 {
        panic!("deep down");
    }
    nested(depth - 1) + 1
}

/// Hazard 1: whatever way a child ends, it never returns or unwinds into the parent's code
/// after the fork point: the parent's side effects (lines appended to a file after `start` and
/// after `join`) happen exactly once.
#[test]
fn child_never_runs_the_parents_code() {
    let cases = [
        (Ending::Return, Some(0)),
        (Ending::Panic, Some(1)),
        (Ending::PanicInNestedCall, Some(1)),
        (Ending::PanicWithNonStringPayload, Some(1)),
        (Ending::Exit, Some(3)),
        (Ending::DoublePanic, Some(-6)),
    ];
    for (ending, code) in cases {
        let file = TempPath::new("once");
        let path = file.path();
        append_line(&path, "parent: before start");
        let mut p = Process::new(move || -> u32 {
            append_line(&path, "child");
            match ending {
                Ending::Return => 0,
                Ending::Panic => panic!("child panics"),
                Ending::PanicInNestedCall => nested(10),
                Ending::PanicWithNonStringPayload => std::panic::panic_any(vec![1, 2, 3]),
                Ending::Exit => multiproc::exit(3),
                Ending::DoublePanic => {
                    let _guard = PanicsOnDrop;
                    panic!("first panic");
                }
            }
        });
        p.start().unwrap();
        append_line(&file.0, "parent: after start");
        let _ = join(&mut p);
        append_line(&file.0, "parent: after join");
        assert_eq!(p.exitcode(), code, "{ending:?}");

        let lines = file.lines();
        let count = |text: &str| lines.iter().filter(|l| *l == text).count();
        assert_eq!(count("parent: before start"), 1, "{ending:?}: {lines:?}");
        assert_eq!(count("child"), 1, "{ending:?}: {lines:?}");
        assert_eq!(count("parent: after start"), 1, "{ending:?}: the child ran the parent's code: {lines:?}");
        assert_eq!(count("parent: after join"), 1, "{ending:?}: the child ran the parent's code: {lines:?}");
        assert_eq!(lines.len(), 4, "{ending:?}: {lines:?}");
        assert_reaped(p.pid().unwrap());
    }
}

/// Hazard 5: a child's stdin is /dev/null, so reading it gives end-of-file at once even when
/// the parent's stdin is a pipe that would block (as the kernel's command pipe does). Runs in a
/// helper whose stdin is such a pipe.
#[test]
fn child_stdin_is_dev_null() {
    let out = run_helper("helper", "stdin", &[]);
    assert!(out.status.success(), "{}", out.describe());
    assert_eq!(
        out.stdout_lines(),
        ["parent stdin is a pipe: true", "child stdin: /dev/null, same device: true, read: 0 bytes"],
        "{}",
        out.describe()
    );
}

fn stdin_report() -> String {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let link = std::fs::read_link("/proc/self/fd/0").map(|p| p.display().to_string()).unwrap_or_else(|e| e.to_string());
    let same = std::fs::metadata("/proc/self/fd/0").map(|m| m.rdev()).ok() == std::fs::metadata("/dev/null").map(|m| m.rdev()).ok();
    // Bounded by the child's join in the parent: if this blocked, the test would fail, not hang.
    let mut buf = [0u8; 16];
    let n = std::io::stdin().lock().read(&mut buf).unwrap_or(usize::MAX);
    format!("child stdin: {link}, same device: {same}, read: {n} bytes")
}

/// Hazard 2: a child whose parent is SIGKILLed dies within 1 s (`PR_SET_PDEATHSIG`). The middle
/// process starts a grandchild and hands its pid over; the test kills the middle one.
#[test]
fn child_of_a_sigkilled_parent_dies_within_1s() {
    let (mut ours, theirs) = Link::pair();
    let mut middle = Process::new(move || {
        let mut theirs = theirs;
        let mut grandchild = multiproc::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap();
        theirs.send(grandchild.pid() as i64);
        let _ = grandchild.join_timeout(LIMIT);
    });
    middle.start().unwrap();
    let middle_pid = middle.pid().unwrap();
    let grandchild = ours.recv() as i32;
    assert_eq!(proc_stat(grandchild).map(|(_, ppid)| ppid), Some(middle_pid), "the grandchild runs under the middle process");

    middle.kill().unwrap();
    assert_eq!(join(&mut middle).unwrap_err().signal(), Some(9));
    let t = Instant::now();
    assert!(gone_within(grandchild, Duration::from_secs(1)), "the grandchild outlived its SIGKILLed parent by 1 s");
    eprintln!("grandchild gone {:?} after its parent was reaped", t.elapsed());
    assert_reaped(middle_pid);
}

/// Hazards 2 and 7: the child asked to be killed with its parent, has default signal handlers
/// and an empty signal mask, whatever the parent (Rust ignores SIGPIPE; this thread blocks
/// SIGUSR1).
#[test]
fn child_has_default_signals_and_death_signal() {
    // SAFETY: changes only this thread's mask; restored below.
    let blocked = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut())
    };
    assert_eq!(blocked, 0);
    let result = run(|| {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name)).unwrap().trim().to_string();
        let mut death_signal: libc::c_int = 0;
        // SAFETY: PR_GET_PDEATHSIG writes one int through the pointer.
        unsafe { libc::prctl(libc::PR_GET_PDEATHSIG, &mut death_signal as *mut libc::c_int) };
        (field("SigBlk:"), field("SigIgn:"), death_signal)
    });
    // SAFETY: as above.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    let (blocked, ignored, death_signal) = result.unwrap();
    let mask = |hex: &str| u64::from_str_radix(hex, 16).unwrap();
    assert_eq!(mask(&blocked), 0, "signal mask {blocked}");
    // Signals 1-31. Real-time signals keep their dispositions; 32 and 33 belong to the C
    // library, which refuses to change them (the test harness's process ignores 32).
    assert_eq!(mask(&ignored) & 0x7fff_ffff, 0, "ignored signals {ignored}");
    assert_eq!(death_signal, libc::SIGKILL);

    // SIGPIPE is ignored in the parent (Rust's default) but kills the child, as in C.
    let mut p = Process::new(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe writes two fds into the array; we close the read end and write one byte
        // from a valid buffer to the write end.
        let written = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            libc::close(fds[0]);
            libc::write(fds[1], b"x".as_ptr().cast(), 1)
        };
        format!("the write did not raise SIGPIPE (returned {written})")
    });
    p.start().unwrap();
    let err = join(&mut p).unwrap_err();
    assert_eq!(err.signal(), Some(libc::SIGPIPE), "{err:?}");
    assert_eq!(p.exitcode(), Some(-libc::SIGPIPE));
}

/// Drop of a started, unjoined `Process` or `JoinHandle` terminates and reaps its child:
/// afterwards the pid is no child of ours, not even a zombie.
#[test]
fn drop_of_an_unjoined_handle_terminates_and_reaps() {
    bounded(drop_of_an_unjoined_handle);
}

fn drop_of_an_unjoined_handle() {
    // A Process, a JoinHandle, and a child that already ended but was never joined.
    let (p, mut link) = {
        let (ours, mut theirs) = Link::pair();
        let mut p = Process::new(move || {
            theirs.send(1);
            std::thread::sleep(Duration::from_secs(60));
        });
        p.start().unwrap();
        (p, ours)
    };
    link.recv();
    let pid = p.pid().unwrap();
    drop(p);
    assert_reaped(pid);

    let h = multiproc::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap();
    let pid = h.pid();
    drop(h);
    assert_reaped(pid);

    let mut h = multiproc::spawn(|| 5).unwrap();
    let pid = h.pid();
    assert!(multiproc::wait_gone(pid, LIMIT));
    assert!(!h.is_alive());
    drop(h);
    assert_reaped(pid);

    // Never started: nothing to do.
    drop(Process::new(|| ()));
}

/// A child that ignores SIGTERM is killed by Drop after the grace period, well within 2 s.
#[test]
fn drop_kills_a_child_that_ignores_sigterm() {
    bounded(drop_kills_despite_sigterm_ignored);
}

fn drop_kills_despite_sigterm_ignored() {
    let (mut ours, mut theirs) = Link::pair();
    let mut p = Process::new(move || {
        // SAFETY: SIG_IGN installs no handler code.
        unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
        theirs.send(1);
        std::thread::sleep(Duration::from_secs(60));
    });
    p.start().unwrap();
    ours.recv();
    let pid = p.pid().unwrap();
    // terminate() is not enough...
    p.terminate().unwrap();
    assert!(p.join_timeout(Duration::from_millis(300)).unwrap_err().is_timeout());
    // ...Drop escalates to SIGKILL.
    let t = Instant::now();
    drop(p);
    assert!(t.elapsed() < Duration::from_secs(2), "drop took {:?}", t.elapsed());
    assert_reaped(pid);
}

fn assert_invalid(err: multiproc::Error, hint: &str) {
    assert_eq!(err.kind(), ErrorKind::InvalidState, "{err:?}");
    assert!(err.to_string().contains(hint), "message {:?} lacks {hint:?}", err.to_string());
}

/// Ported from `_TestProcess.test_close` and `test_process` (the ValueError cases), plus the
/// other misuses: join before start, start twice, terminate or kill after exit, close while
/// alive, join twice. Each is an InvalidState error naming what to do, returned at once.
#[test]
fn bad_input_is_an_invalid_state_error() {
    bounded(|| {
        let mut p = Process::new(|| 1);
        assert!(!p.is_alive());
        assert_eq!(p.exitcode(), None);
        assert_invalid(p.join().unwrap_err(), "never started; call start() first");
        assert_invalid(p.join_timeout(Duration::from_secs(1)).unwrap_err(), "call start() first");
        assert_invalid(p.terminate().unwrap_err(), "call start() first");
        assert_invalid(p.kill().unwrap_err(), "call start() first");
        let err = p.join().unwrap_err();
        assert!(err.to_string().contains(p.name()), "the message names the process: {err}");

        p.start().unwrap();
        assert_invalid(p.start().unwrap_err(), "create a new Process");
        assert_eq!(join(&mut p).unwrap(), 1);
        assert_invalid(p.start().unwrap_err(), "create a new Process");
        assert_invalid(p.join().unwrap_err(), "already joined");
        assert_invalid(p.terminate().unwrap_err(), "already joined");
        assert_invalid(p.kill().unwrap_err(), "already joined");
    });

    bounded(|| {
        // Terminate after the child ended but before it was joined.
        let mut p = Process::new(|| 2);
        p.start().unwrap();
        assert!(multiproc::wait_gone(p.pid().unwrap(), LIMIT));
        assert_invalid(p.terminate().unwrap_err(), "already ended with exit code 0");
        assert_invalid(p.kill().unwrap_err(), "join it to collect its result");
        assert_eq!(join(&mut p).unwrap(), 2, "the result is still there");

        let mut h = multiproc::spawn(|| 3).unwrap();
        assert!(multiproc::wait_gone(h.pid(), LIMIT));
        assert_invalid(h.terminate().unwrap_err(), "already ended");
        assert_eq!(join_handle(&mut h).unwrap(), 3);
    });

    bounded(|| {
        let (mut ours, mut theirs) = Link::pair();
        let mut p = Process::new(move || {
            theirs.recv();
        });
        p.start().unwrap();
        assert_invalid(p.close().unwrap_err(), "still running; join or terminate it first");
        assert!(p.is_alive(), "a refused close leaves the process alone");
        ours.send(1);
        join(&mut p).unwrap();
        p.close().unwrap();
        assert_invalid(p.join().unwrap_err(), "closed");
    });
}

/// Names with a colon, non-ASCII letters and more than the 15 bytes `/proc/<pid>/comm` holds
/// come back whole from `current_process()` in the child and `parent_process()` in a grandchild.
#[test]
fn unusual_names_round_trip() {
    let name = "wörker:1:with a long name";
    let h = multiproc::Process::builder().name(name).spawn(|| {
        let me = multiproc::current_process().name().to_string();
        let grandchild = multiproc::spawn(|| multiproc::parent_process().map(|p| p.name().to_string())).unwrap();
        let mut grandchild = grandchild;
        let parent_seen_by_grandchild = join_handle(&mut grandchild).unwrap();
        (me, parent_seen_by_grandchild)
    });
    let mut h = h.unwrap();
    let (me, seen) = join_handle(&mut h).unwrap();
    assert_eq!(me, name);
    assert_eq!(seen.as_deref(), Some(name));
}

/// When no file descriptor is left for the child's pipes, `start` fails with a Start error that
/// says what to do, and works again once descriptors are free. Runs in a helper, whose fd limit
/// it lowers.
#[test]
fn start_without_file_descriptors_is_a_start_error() {
    let out = run_helper("helper", "fd_limit", &[]);
    assert!(out.status.success(), "{}", out.describe());
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 2, "{}", out.describe());
    assert!(lines[0].starts_with("Start: could not start a process (pipe: "), "{}", lines[0]);
    assert!(lines[0].contains("file descriptors"), "{}", lines[0]);
    assert_eq!(lines[1], "after raising the limit: 42");
}

/// Entry point of the helper modes run by [`run_helper`]; does nothing in a normal test run.
#[test]
fn helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else { return };
    match mode.as_str() {
        "stdin" => bracketed(|| {
            use std::os::unix::fs::FileTypeExt;
            let is_pipe = std::fs::metadata("/proc/self/fd/0").map(|m| m.file_type().is_fifo()).unwrap_or(false);
            println!("parent stdin is a pipe: {is_pipe}");
            println!("{}", run(stdin_report).unwrap());
        }),
        "fd_limit" => bracketed(|| {
            let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as u64;
            let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: getrlimit/setrlimit read and write one rlimit struct we own.
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
            let low = libc::rlimit { rlim_cur: open + 1, rlim_max: limit.rlim_max };
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &low) }, 0);
            let err = multiproc::spawn(|| 1).unwrap_err();
            println!("{:?}: {err}", err.kind());
            // SAFETY: as above.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
            println!("after raising the limit: {}", run(|| 42).unwrap());
        }),
        other => panic!("unknown helper mode {other}"),
    }
}

/// A timeout too large to add to the current instant means "no limit", not a panic.
#[test]
fn huge_timeout_is_no_limit() {
    bounded(|| {
        let mut p = Process::new(|| 9);
        p.start().unwrap();
        assert_eq!(p.join_timeout(Duration::MAX).unwrap(), 9);
        let mut h = multiproc::spawn(|| 10).unwrap();
        assert_eq!(h.join_timeout(Duration::MAX).unwrap(), 10);
    });
}

/// A handle that ends up in another process (a forked child holding a copy of the parent's
/// memory) belongs to the process that started it: dropping it there leaves the child alone,
/// and using it there is an InvalidState error, not a signal sent to someone else's child.
#[test]
fn a_handle_copied_into_another_process_is_left_alone() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let (mut ours, mut theirs) = Link::pair();
    let sibling = Rc::new(RefCell::new(Some(
        multiproc::spawn(move || {
            theirs.send(1);
            std::thread::sleep(Duration::from_secs(60));
        })
        .unwrap(),
    )));
    ours.recv();
    let copy = Rc::clone(&sibling);
    let (join_error, _) = run(move || {
        let mut handle = copy.borrow_mut().take().expect("the copied handle");
        let err = handle.join_timeout(Duration::from_secs(1)).unwrap_err();
        let text = format!("{:?}: {err}", err.kind());
        drop(handle); // must not terminate the parent's child
        (text, ())
    })
    .unwrap();
    assert!(join_error.starts_with("InvalidState"), "{join_error}");
    assert!(join_error.contains("started by process"), "{join_error}");
    let mut sibling = sibling.borrow_mut().take().unwrap();
    assert!(sibling.is_alive(), "the child's drop of its copy killed the parent's child");
    assert_eq!(sibling.exitcode(), None);
    sibling.kill().unwrap();
    let _ = join_handle(&mut sibling);
}
