//! 1,000 processes in a row leak no file descriptors, whatever way they end. This binary holds
//! this one test, so nothing else opens or closes fds meanwhile.

mod process_support;

use std::time::{Duration, Instant};

use multiproc::Process;
use process_support::*;

fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path()).map(|t| t.display().to_string()).unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        .collect();
    fds.sort();
    fds
}

/// In a child: its panic report goes to /dev/null instead of 200 lines in the test log.
fn quiet_stderr() {
    let devnull = std::fs::File::open("/dev/null").unwrap();
    // SAFETY: dup2 onto fd 2 of this (child) process; `devnull` stays open for the call.
    unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&devnull), 2) };
}

#[test]
fn a_thousand_processes_leak_no_fds() {
    bounded(a_thousand_processes_leak_no_fds_body);
}

fn a_thousand_processes_leak_no_fds_body() {
    // One process first, so anything the library or std opens once per process is open already.
    assert_eq!(run(|| 0).unwrap(), 0);
    let before = open_fds();
    let t = Instant::now();
    for i in 0..1000u32 {
        match i % 5 {
            0 => assert_eq!(run(move || i).unwrap(), i),
            1 => assert!(run(move || -> u32 {
                quiet_stderr();
                panic!("task {i}")
            })
            .unwrap_err()
            .is_panic()),
            2 => assert_eq!(run(|| -> u32 { multiproc::exit(2) }).unwrap_err().exit_code(), Some(2)),
            3 => {
                let mut p = Process::new(|| std::thread::sleep(Duration::from_secs(60)));
                p.start().unwrap();
                p.kill().unwrap();
                assert_eq!(join(&mut p).unwrap_err().signal(), Some(9));
            }
            _ => {
                let mut p = Process::new(|| std::thread::sleep(Duration::from_secs(60)));
                p.start().unwrap();
                drop(p);
            }
        }
    }
    eprintln!("1000 processes in {:?}", t.elapsed());
    let after = open_fds();
    assert_eq!(before, after, "file descriptors differ after 1000 processes");
    assert_eq!(our_children(), Vec::<i32>::new(), "children left behind");
}
