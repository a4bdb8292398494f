//! Behaviours 1–10 and 18 of `shared/notes/python-multiprocessing.md`, ported from CPython's
//! `Lib/test/_test_multiprocessing.py` (3.12/3.13). Each test names the case it comes from.
//!
//! Differences from Python are deliberate and noted where they occur: `is_alive()` returns
//! `false` after `close()` instead of raising; a grandchild does not outlive its parent here
//! (`PR_SET_PDEATHSIG`), so the port of `test_parent_process` checks that it is killed.

mod process_support;

use std::time::{Duration, Instant};

use multiproc::{active_children, current_process, parent_process, ErrorKind, Process};
use process_support::*;

fn listed(pid: i32) -> bool {
    active_children().iter().any(|c| c.pid() == pid)
}

/// Ported from `_TestProcess.test_process`: before start not alive, no exit code, no pid; after
/// start alive and among the active children; after join exit code 0, not alive, not listed.
/// A `Link` keeps the child alive until the parent has looked (Python uses a Queue). The parent
/// looks once the child runs its body: before that, `/proc` may still show the name of the
/// thread that forked it (see `active_children`).
#[test]
fn test_process() {
    let (mut ours, mut theirs) = Link::pair();
    let mut p = Process::builder().name("SomeProcess").process(move || {
        theirs.send(1);
        theirs.recv();
        let me = current_process();
        (vec![1, 2], me.name().to_string(), me.pid())
    });
    assert!(!p.is_alive());
    assert_eq!(p.exitcode(), None);
    assert_eq!(p.pid(), None);
    assert_eq!(p.name(), "SomeProcess");

    p.start().unwrap();
    let pid = p.pid().expect("a pid once started");
    assert_eq!(p.exitcode(), None);
    assert!(p.is_alive());
    ours.recv();
    let child = active_children().into_iter().find(|c| c.pid() == pid).expect("listed among active children");
    assert_eq!(child.name(), "SomeProcess");

    ours.send(1);
    let (args, name, child_pid) = join(&mut p).unwrap();
    assert_eq!(args, vec![1, 2]);
    assert_eq!(name, "SomeProcess");
    assert_eq!(child_pid, pid);
    assert_eq!(p.exitcode(), Some(0));
    assert!(!p.is_alive());
    assert!(!listed(pid));
    assert_eq!(p.pid(), Some(pid), "the pid stays known after join");
    assert_reaped(pid);
}

/// A child that tells the parent it is running its body, then sleeps for a minute.
fn sleeper() -> (Process<()>, Link) {
    let (ours, mut theirs) = Link::pair();
    let p = Process::new(move || {
        theirs.send(1);
        std::thread::sleep(Duration::from_secs(60));
    });
    (p, ours)
}

/// Ported from `_TestProcess._kill_process` (the part before the kill, used by `test_terminate`
/// and `test_kill`): `join(0)` on a running child returns at once, the child still alive with no
/// exit code.
#[test]
fn test_join_timeout_zero() {
    let (mut p, mut link) = sleeper();
    p.start().unwrap();
    link.recv();
    let pid = p.pid().unwrap();
    assert!(p.is_alive());
    assert!(listed(pid));
    assert_eq!(p.exitcode(), None);

    let t = Instant::now();
    let err = p.join_timeout(Duration::ZERO).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(1), "join_timeout(0) took {:?}", t.elapsed());
    assert!(err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains("still running"), "{err}");
    assert!(p.is_alive());
    assert_eq!(p.exitcode(), None);

    let t = Instant::now();
    assert!(p.join_timeout(Duration::from_millis(100)).unwrap_err().is_timeout());
    assert!(t.elapsed() >= Duration::from_millis(100), "returned early: {:?}", t.elapsed());
    assert!(p.is_alive());

    p.kill().unwrap();
    let _ = join(&mut p);
    assert_reaped(pid);
}

/// Ported from `_TestProcess.test_terminate`: a sleeping child terminated gives exit code -15.
#[test]
fn test_terminate() {
    let (mut p, mut link) = sleeper();
    p.start().unwrap();
    link.recv();
    let pid = p.pid().unwrap();
    p.terminate().unwrap();
    let err = join(&mut p).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signaled, "{err:?}");
    assert_eq!(err.signal(), Some(15));
    assert_eq!(err.pid(), Some(pid));
    assert_eq!(p.exitcode(), Some(-15));
    assert!(!p.is_alive());
    assert!(!listed(pid));
    assert_reaped(pid);
}

/// Ported from `_TestProcess.test_kill`: a sleeping child killed gives exit code -9.
#[test]
fn test_kill() {
    let (mut p, mut link) = sleeper();
    p.start().unwrap();
    link.recv();
    let pid = p.pid().unwrap();
    p.kill().unwrap();
    let err = join(&mut p).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Signaled, "{err:?}");
    assert_eq!(err.signal(), Some(9));
    assert!(err.to_string().contains("SIGKILL"), "{err}");
    assert_eq!(p.exitcode(), Some(-9));
    assert!(!p.is_alive());
    assert_reaped(pid);
}

/// Ported from `_TestProcess.test_sys_exit` (the `sys.exit(n)` cases): exit code 8 gives 8,
/// exit 0 gives 0; plus a normal return (0) and a panic (1, Python's code for an exception).
#[test]
fn test_sys_exit() {
    for code in [8, 0, 1, 255] {
        let mut p = Process::new(move || -> u32 { multiproc::exit(code) });
        p.start().unwrap();
        let pid = p.pid().unwrap();
        let err = join(&mut p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Exited, "exit({code}): {err:?}");
        assert_eq!(err.exit_code(), Some(code));
        assert!(err.to_string().contains(&format!("exited with code {code}")), "{err}");
        assert_eq!(p.exitcode(), Some(code));
        assert_reaped(pid);
    }

    let mut p = Process::new(|| 7u8);
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap(), 7);
    assert_eq!(p.exitcode(), Some(0));

    let mut p = Process::new(|| -> u8 { panic!("ZeroDivisionError") });
    p.start().unwrap();
    assert_eq!(join(&mut p).unwrap_err().kind(), ErrorKind::Panicked);
    assert_eq!(p.exitcode(), Some(1));
}

/// Ported from `_TestProcess.test_stderr_flush` (the child's traceback reaches stderr): a
/// panicking child's report is on the parent's stderr, in one line with the process name, pid,
/// location and message, and no backtrace even with `RUST_BACKTRACE=1` (as the kernel sets it).
#[test]
fn test_stderr_flush() {
    let out = run_helper("helper", "panic_report", &[("RUST_BACKTRACE", "1")]);
    assert!(out.status.success(), "{}", out.describe());
    let stderr = out.stderr_lines();
    assert_eq!(stderr.len(), 1, "one line expected, {}", out.describe());
    let line = &stderr[0];
    assert!(line.starts_with("Panicker (pid "), "{line}");
    assert!(line.contains("panicked at tests/process_python.rs:"), "{line}");
    assert!(line.ends_with(": 1/0 # MARKER"), "{line}");
    assert_eq!(out.stdout_lines(), vec!["exitcode Some(1)"], "{}", out.describe());
}

/// Ported from `_TestProcess.test_close`: `close()` on a live process is an error; after join it
/// is fine and idempotent; later use is an error. (Python's `is_alive()` raises after close; here
/// it returns false.)
#[test]
fn test_close() {
    let (mut ours, mut theirs) = Link::pair();
    let mut p = Process::new(move || {
        theirs.recv();
    });
    p.start().unwrap();
    let pid = p.pid().unwrap();
    assert!(p.is_alive());
    let err = p.close().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    assert!(err.to_string().contains("still running"), "{err}");

    ours.send(1);
    join(&mut p).unwrap();
    assert!(!p.is_alive());
    assert_eq!(p.exitcode(), Some(0));
    p.close().unwrap();
    assert!(!p.is_alive());
    for err in [p.join().unwrap_err(), p.terminate().unwrap_err(), p.kill().unwrap_err(), p.start().unwrap_err()] {
        assert_eq!(err.kind(), ErrorKind::InvalidState, "{err:?}");
        assert!(err.to_string().contains("closed"), "{err}");
    }
    p.close().unwrap();
    assert_reaped(pid);
}

/// Ported from `_TestProcess.test_sentinel`: waiting for the process is "not ready" while it
/// runs, "ready" once it ended, and can be bounded by a timeout. Here the waits are
/// `join_timeout` and `wait_gone`; the Event is a `Link`.
#[test]
fn test_sentinel() {
    let (mut ours, mut theirs) = Link::pair();
    let mut p = Process::new(move || {
        theirs.recv();
    });
    p.start().unwrap();
    let pid = p.pid().unwrap();
    assert!(p.join_timeout(Duration::ZERO).unwrap_err().is_timeout());
    assert!(!multiproc::wait_gone(pid, Duration::ZERO));

    ours.send(1);
    assert!(multiproc::wait_gone(pid, LIMIT), "the child did not end after the event was set");
    join(&mut p).unwrap();
    assert_reaped(pid);
}

/// Ported from `_TestProcess.test_parent_process_attributes`: no parent at top level; a child's
/// parent is this process, with its pid and name.
#[test]
fn test_parent_process_attributes() {
    assert!(parent_process().is_none());
    let (pid, name) =
        run(|| parent_process().map(|p| (p.pid(), p.name().to_string())).expect("a child has a parent")).unwrap();
    assert_eq!(pid, std::process::id() as i32);
    assert_eq!(pid, current_process().pid());
    assert_eq!(name, current_process().name());
    assert_eq!(name, "MainProcess");
}

/// Ported from `_TestProcess.test_parent_process`, adapted: a child starts a grandchild, which
/// sees its parent alive; the child is then terminated. Python's grandchild outlives its parent
/// and notices it is gone; here a child dies with its parent (`PR_SET_PDEATHSIG`), so the
/// grandchild must be gone within 1 s.
#[test]
fn test_parent_process() {
    let (mut ours, theirs) = Link::pair();
    let mut middle = Process::builder().name("middle").process(move || {
        let mut theirs = theirs;
        let mut grandchild = multiproc::spawn(move || {
            let parent = parent_process().expect("a grandchild has a parent");
            theirs.send(current_process().pid() as i64);
            theirs.send(parent.pid() as i64);
            theirs.send(parent.is_alive() as i64);
            theirs.send((parent.name() == "middle") as i64);
            std::thread::sleep(Duration::from_secs(60));
        })
        .unwrap();
        let _ = grandchild.join_timeout(LIMIT);
    });
    middle.start().unwrap();
    let middle_pid = middle.pid().unwrap();
    let grandchild = ours.recv() as i32;
    assert_eq!(ours.recv() as i32, middle_pid, "the grandchild's parent_process() is the middle process");
    assert_eq!(ours.recv(), 1, "the grandchild sees its parent alive");
    assert_eq!(ours.recv(), 1, "the grandchild sees its parent's name");

    middle.terminate().unwrap();
    assert_eq!(join(&mut middle).unwrap_err().signal(), Some(15));
    assert!(gone_within(grandchild, Duration::from_secs(1)), "the grandchild outlived its parent by 1 s");
    assert_reaped(middle_pid);
}

fn recursion(path: std::path::PathBuf, id: Vec<u8>) {
    append_line(&path, &format!("{id:?}"));
    if id.len() < 2 {
        for i in 0..2 {
            let (path, mut id) = (path.clone(), id.clone());
            id.push(i);
            let mut p = Process::new(move || recursion(path, id));
            p.start().unwrap();
            join(&mut p).unwrap();
        }
    }
}

/// Ported from `_TestProcess.test_recursion`: a depth-2 binary tree of processes, each starting
/// and joining its children in turn, reports its ids in depth-first order. (Python sends the ids
/// through a Pipe; here each process appends to a file.)
#[test]
fn test_recursion() {
    let file = TempPath::new("recursion");
    recursion_top(file.path());
    assert_eq!(file.lines(), ["[]", "[0]", "[0, 0]", "[0, 1]", "[1]", "[1, 0]", "[1, 1]"]);
}

fn recursion_top(path: std::path::PathBuf) {
    // The top level runs in this process, like Python's direct call of `_test_recursion`.
    recursion(path, Vec::new());
}

/// Ported from `_TestProcess.test_many_processes`: 100 short children all exit 0; 100 sleepers
/// terminated right after start all give -15; none is left a zombie.
#[test]
fn test_many_processes() {
    const N: usize = 100;
    let mut procs: Vec<Process<()>> =
        (0..N).map(|_| Process::new(|| std::thread::sleep(Duration::from_millis(10)))).collect();
    for p in &mut procs {
        p.start().unwrap();
    }
    for p in &mut procs {
        join(p).unwrap();
    }
    for p in &mut procs {
        assert_eq!(p.exitcode(), Some(0));
        assert_reaped(p.pid().unwrap());
    }

    let mut procs: Vec<Process<()>> =
        (0..N).map(|_| Process::new(|| std::thread::sleep(Duration::from_secs(60)))).collect();
    for p in &mut procs {
        p.start().unwrap();
    }
    for p in &mut procs {
        p.terminate().unwrap();
    }
    for p in &mut procs {
        let _ = join(p);
    }
    for p in &mut procs {
        assert_eq!(p.exitcode(), Some(-15));
        assert_reaped(p.pid().unwrap());
    }
}

/// Ported from `_TestPool.test_traceback` (behaviour 18, at the process level): a child panicking
/// with "123" makes `join()` return an error with message "123", the panic's file and line, and
/// the child's pid.
#[test]
fn test_traceback() {
    #[rustfmt::skip]
    let (line, mut h) = (line!(), multiproc::spawn(|| -> () { panic!("123") }).unwrap());
    let pid = h.pid();
    let err = join_handle(&mut h).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked, "{err:?}");
    assert!(err.is_panic());
    let info = err.panic().expect("panic details");
    assert_eq!(info.message, "123");
    assert_eq!(info.file, file!());
    assert_eq!(info.line, line);
    assert!(info.column > 0);
    assert_eq!(info.pid, pid);
    assert_eq!(err.pid(), Some(pid));
    let text = err.to_string();
    assert!(text.contains("123") && text.contains(&format!("{}:{line}:", file!())), "{text}");
    assert_eq!(h.exitcode(), Some(1));

    // A formatted message and a payload that is not a string.
    let err = run(|| -> () { panic!("{}-{}", 12, 3) }).unwrap_err();
    assert_eq!(err.panic().unwrap().message, "12-3");
    let err = run(|| -> () { std::panic::panic_any(123_i32) }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked);
    assert!(err.panic().unwrap().message.contains("not a string"), "{err}");
}

/// Entry point of the helper modes run by [`run_helper`]; does nothing in a normal test run.
#[test]
fn helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else { return };
    match mode.as_str() {
        "panic_report" => bracketed(|| {
            let mut p = Process::builder().name("Panicker").process(|| -> () { panic!("1/0 # MARKER") });
            p.start().unwrap();
            let _ = join(&mut p);
            println!("exitcode {:?}", p.exitcode());
        }),
        other => panic!("unknown helper mode {other}"),
    }
}
