//! No zombie is left, checked for the whole process: this binary holds this one test, so no
//! other test's children can be mistaken for leftovers. Every way a process can end or be let
//! go is exercised, then `/proc/self/task/*/children` must be empty.

mod process_support;

use std::time::Duration;

use multiproc::Process;
use process_support::*;

fn sleeper() -> Process<()> {
    let mut p = Process::new(|| std::thread::sleep(Duration::from_secs(60)));
    p.start().unwrap();
    p
}

#[test]
fn no_child_is_left_behind() {
    bounded(no_child_is_left_behind_body);
}

fn no_child_is_left_behind_body() {
    assert_eq!(our_children(), Vec::<i32>::new(), "children before the test");

    // Joined after returning, panicking, exiting.
    assert_eq!(run(|| 1).unwrap(), 1);
    assert!(run(|| -> () { panic!("x") }).unwrap_err().is_panic());
    assert_eq!(run(|| -> () { multiproc::exit(4) }).unwrap_err().exit_code(), Some(4));

    // Terminated and killed, then joined.
    let mut p = sleeper();
    assert!(our_children().contains(&p.pid().unwrap()), "/proc/self/task/*/children lists our children");
    p.terminate().unwrap();
    let _ = join(&mut p);
    let mut p = sleeper();
    p.kill().unwrap();
    let _ = join(&mut p);

    // Dropped while running: a Process, a JoinHandle.
    drop(sleeper());
    drop(multiproc::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap());

    // Ended, never joined, dropped.
    let h = multiproc::spawn(|| 5).unwrap();
    assert!(multiproc::wait_gone(h.pid(), LIMIT));
    drop(h);

    // Ended, noticed through is_alive / exitcode only, then dropped.
    let mut p = Process::new(|| ());
    p.start().unwrap();
    assert!(multiproc::wait_gone(p.pid().unwrap(), LIMIT));
    assert!(!p.is_alive());
    assert_eq!(p.exitcode(), Some(0));
    drop(p);

    // Timed out, then dropped.
    let mut p = sleeper();
    assert!(p.join_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    drop(p);

    // Joined then closed.
    let mut p = Process::new(|| ());
    p.start().unwrap();
    join(&mut p).unwrap();
    p.close().unwrap();

    // A child whose own child is still running when it returns: the grandchild is the
    // child's business (reaped by it on drop), not a child of ours.
    let grandchild = run(|| {
        let h = multiproc::spawn(|| std::thread::sleep(Duration::from_secs(60))).unwrap();
        h.pid()
    })
    .unwrap();
    assert!(gone_within(grandchild, Duration::from_secs(5)));

    // Many at once, dropped together.
    let batch: Vec<Process<()>> = (0..50).map(|_| sleeper()).collect();
    drop(batch);

    assert_eq!(our_children(), Vec::<i32>::new(), "children left behind (alive or zombies)");
}
