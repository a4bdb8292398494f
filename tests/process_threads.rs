//! Forking from one thread while other threads of the parent use the library: a child must
//! never inherit a lock another thread held at the instant of the fork (kernel.md hazard 8).
//! This binary runs alone so the thread counts below are its own.

mod process_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use multiproc::{current_process, parent_process, Process};
use process_support::*;

/// Regression test: a child forked while another thread was inside `std::env` (creating a
/// `Process` counts names in the environment) inherited std's environment lock held and hung
/// in its first `set_var`. 300 forks race a thread that creates processes without pause.
#[test]
fn fork_while_another_thread_names_processes() {
    let stop = Arc::new(AtomicBool::new(false));
    let namer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut made = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let p = Process::new(|| ());
                assert!(p.name().starts_with("Process-"));
                made += 1;
            }
            made
        })
    };
    for _ in 0..300 {
        let mut p = Process::new(|| {
            // Everything a child may do with the environment: who am I, who is my parent, and
            // naming a grandchild.
            let me = current_process();
            let parent = parent_process().map(|p| p.pid());
            let grandchild = Process::new(|| ()).name().to_string();
            (me.pid(), me.name().to_string(), parent, grandchild)
        });
        p.start().unwrap();
        let pid = p.pid().unwrap();
        let name = p.name().to_string();
        let result = p.join_timeout(Duration::from_secs(5));
        stop.store(result.is_err(), Ordering::Relaxed);
        let (child_pid, child_name, parent, grandchild) = result.expect("a child hung or failed");
        assert_eq!(child_pid, pid);
        assert_eq!(child_name, name);
        assert_eq!(parent, Some(std::process::id() as i32));
        assert_eq!(grandchild, "Process-1", "a child counts its own children from 1");
        assert_reaped(pid);
    }
    stop.store(true, Ordering::Relaxed);
    assert!(namer.join().unwrap() > 0);
}

/// Regression test: a child forked while another thread of the parent was inside a panic hook
/// (printing a backtrace takes a while) inherited std's hook lock held, and hung in the
/// `panic::set_hook` it made to install its concise report. Now the hook is put in place by the
/// parent around the fork. Here a thread panics without pause, each hook run taking 1 ms.
#[test]
fn fork_while_another_thread_panics() {
    let _hooks = HOOK_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some("panicker") {
            std::thread::sleep(Duration::from_millis(1));
        } else {
            default_hook(info);
        }
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let panicker = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("panicker".into())
            .spawn(move || {
                let mut panics = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::panic::catch_unwind(|| panic!("on purpose"));
                    panics += 1;
                }
                panics
            })
            .unwrap()
    };
    for i in 0..200 {
        // Every other child panics too: its report must be the concise one.
        let mut p = Process::new(move || -> u32 {
            if i % 2 == 1 {
                panic!("child {i}");
            }
            i
        });
        p.start().unwrap();
        let result = p.join_timeout(Duration::from_secs(5));
        if matches!(&result, Err(e) if e.is_timeout()) {
            stop.store(true, Ordering::Relaxed);
            panic!("child {i} hung");
        }
        match result {
            Ok(v) => assert_eq!(v, i),
            Err(e) => {
                assert_eq!(e.panic().map(|p| p.message.as_str()), Some(format!("child {i}").as_str()), "{e:?}");
                assert!(e.panic().unwrap().line > 0, "the concise hook recorded the location");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(panicker.join().unwrap() > 0);
    drop(std::panic::take_hook());
}

/// The tests that set the process-wide panic hook run one at a time.
static HOOK_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Regression test: a parent with several threads puts the child's panic hook in place around
/// each fork and then restores its own. Two threads forking at once once interleaved their swaps
/// and left the parent with std's default hook for good. Here two threads fork 200 times each;
/// afterwards a panic must run the hook set before.
#[test]
fn concurrent_forks_keep_the_parents_hook() {
    use std::sync::atomic::AtomicUsize;
    static HITS: AtomicUsize = AtomicUsize::new(0);
    let _hooks = HOOK_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    std::panic::set_hook(Box::new(|_| {
        HITS.fetch_add(1, Ordering::SeqCst);
    }));
    let forkers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..200 {
                    assert_eq!(run(move || i).unwrap(), i);
                }
            })
        })
        .collect();
    for forker in forkers {
        forker.join().unwrap();
    }
    let before = HITS.load(Ordering::SeqCst);
    let _ = std::panic::catch_unwind(|| panic!("probe"));
    drop(std::panic::take_hook());
    assert_eq!(HITS.load(Ordering::SeqCst), before + 1, "the parent's hook was replaced");
}
