//! Pool behaviours ported from CPython's `Lib/test/_test_multiprocessing.py` (class `_TestPool`
//! and friends), numbered as in `python-multiprocessing.md`, plus what Python cannot do.
//! Every test runs under a time limit, so a hang fails instead of stalling CI.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use multiproc::{Error, ErrorKind, Pool};

mod process_support;
use process_support::{within, Unserializable};

const LIMIT: Duration = Duration::from_secs(30);

fn sqr(x: i64) -> i64 {
    x * x
}

fn mul(a: i64, b: i64) -> i64 {
    a * b
}

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// True if `pid` is a zombie or gone (it was reaped or is waiting to be).
fn gone_or_reaped(pid: i32) -> bool {
    multiproc::wait_gone(pid, Duration::from_secs(5))
}

// 11. _TestPool.test_map
#[test]
fn map_equals_serial_map_with_default_and_explicit_chunksize() {
    within(LIMIT, || {
        let pool = Pool::new(4).unwrap();
        assert_eq!(pool.map(sqr, 0..10).unwrap(), (0..10).map(sqr).collect::<Vec<_>>());
        assert_eq!(pool.map_chunked(sqr, 0..100, 20).unwrap(), (0..100).map(sqr).collect::<Vec<_>>());
    });
}

// 12. _TestPool.test_starmap
#[test]
fn starmap_equals_serial_starmap() {
    within(LIMIT, || {
        let pool = Pool::new(4).unwrap();
        let pairs: Vec<(i64, i64)> = (0..10).map(|i| (i, i + 1)).collect();
        let expected: Vec<i64> = pairs.iter().map(|&(a, b)| mul(a, b)).collect();
        assert_eq!(pool.starmap(mul, pairs.clone()).unwrap(), expected);
        let triples: Vec<(i64, i64, i64)> = (0..100).map(|i| (i, 2, 3)).collect();
        let sums = pool.starmap(|a: i64, b: i64, c: i64| a + b + c, triples).unwrap();
        assert_eq!(sums, (0..100).map(|i| i + 5).collect::<Vec<_>>());
    });
}

// 13. _TestPool.test_async_timeout
#[test]
fn get_with_timeout_times_out_and_pool_stays_usable() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let mut slow = pool.apply_async(sleep_ms, (1000,)).unwrap();
        let started = Instant::now();
        let err = slow.get_timeout(Duration::from_millis(100)).unwrap_err();
        let waited = started.elapsed();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_millis(600), "waited {waited:?}");
        assert_eq!(pool.apply(sqr, (7,)).unwrap(), 49);
        slow.get_timeout(Duration::from_secs(10)).unwrap();
    });
}

// 14. _TestPool.test_imap and test_imap_unordered
#[test]
fn imap_in_order_and_imap_unordered_same_multiset() {
    within(LIMIT, || {
        let pool = Pool::new(4).unwrap();
        let ordered: Vec<i64> = pool.imap_chunked(sqr, 0..1000, 100).map(Result::unwrap).collect();
        assert_eq!(ordered, (0..1000).map(sqr).collect::<Vec<_>>());
        let mut unordered: Vec<i64> = pool.imap_unordered_chunked(sqr, 0..1000, 100).map(Result::unwrap).collect();
        unordered.sort();
        assert_eq!(unordered, (0..1000).map(sqr).collect::<Vec<_>>());
        let mut it = pool.imap(sqr, 0..3);
        assert_eq!(it.next().unwrap().unwrap(), 0);
        assert_eq!(it.next().unwrap().unwrap(), 1);
        assert_eq!(it.next().unwrap().unwrap(), 4);
        assert!(it.next().is_none());
    });
}

#[derive(Debug)]
struct SayWhenError;
impl std::fmt::Display for SayWhenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SayWhenError")
    }
}
impl std::error::Error for SayWhenError {}

/// CPython's `exception_throwing_generator(total, when)`.
fn failing_at(total: i64, when: i64) -> impl Iterator<Item = Result<i64, SayWhenError>> {
    (0..total).map(move |i| if i == when { Err(SayWhenError) } else { Ok(i) })
}

// 15. _TestPool.test_imap_handle_iterable_exception and test_map_handle_iterable_exception
#[test]
fn failing_input_iterator_yields_prefix_then_error_and_pool_is_reusable() {
    within(LIMIT, || {
        let pool = Pool::new(4).unwrap();
        let out: Vec<Result<i64, Error>> = pool.try_imap(sqr, failing_at(10, 3), 1).collect();
        assert_eq!(out.len(), 4);
        for (i, r) in out[..3].iter().enumerate() {
            assert_eq!(*r.as_ref().unwrap(), sqr(i as i64));
        }
        let err = out[3].as_ref().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(std::error::Error::source(err).unwrap().to_string().contains("SayWhenError"));

        let err = pool.try_map(sqr, failing_at(10, 3)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert_eq!(pool.map(sqr, 0..5).unwrap(), vec![0, 1, 4, 9, 16]);
    });
}

// 16. _TestPool.test_empty_iterable
#[test]
fn empty_input_gives_empty_output_without_stalling() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        assert!(pool.map(sqr, Vec::new()).unwrap().is_empty());
        assert!(pool.map_chunked(sqr, Vec::new(), 1).unwrap().is_empty());
        assert_eq!(pool.imap(sqr, Vec::new()).count(), 0);
        assert_eq!(pool.imap_unordered_chunked(sqr, Vec::new(), 1).count(), 0);
    });
}

// 17. _TestPool.test_wrong_processes / _TestPoolWorkerErrors / maxtasksperchild 0
#[test]
fn zero_processes_and_zero_max_tasks_are_errors() {
    let err = Pool::new(0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = Pool::builder().processes(1).max_tasks_per_child(0).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

// 18. _TestPool.test_traceback (the remote traceback becomes message + location)
#[test]
fn task_panic_reaches_get_with_message_file_and_line() {
    within(LIMIT, || {
        let pool = Pool::new(1).unwrap();
        let line = line!() + 1;
        let r = pool.apply_async(|| -> i32 { panic!("123") }, ()).unwrap();
        let err = r.get().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Panicked);
        let info = err.panic().unwrap();
        assert_eq!(info.message, "123");
        assert!(info.file.ends_with("pool_behaviour.rs"), "{}", info.file);
        assert_eq!(info.line, line);
        assert!(pool.worker_pids().contains(&info.pid));
        // map reports it too
        let err = pool.map(|x: i32| if x == 5 { panic!("bad {x}") } else { x }, 0..10).unwrap_err();
        assert_eq!(err.panic().unwrap().message, "bad 5");
    });
}

// 19. _TestPool.test_async_error_callback
#[test]
fn error_callback_and_get_both_see_the_error() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = seen.clone();
        let r = pool
            .apply_async_with_error_callback(
                |x: i32| -> i32 { panic!("failed on {x}") },
                (4,),
                move |e: &Error| sink.lock().unwrap().push(e.panic().unwrap().message.clone()),
            )
            .unwrap();
        let err = r.get().unwrap_err();
        assert_eq!(err.panic().unwrap().message, "failed on 4");
        assert_eq!(*seen.lock().unwrap(), vec!["failed on 4".to_string()]);
    });
}

// 20. _TestPool.test_unpickleable_result
#[test]
fn unserializable_result_is_a_typed_error_and_loses_no_worker() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let pids = pool.worker_pids();
        for _ in 0..20 {
            let err = pool.apply(|| Unserializable, ()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Encode);
            assert!(err.to_string().contains("refuses to be serialized"), "{err}");
        }
        assert_eq!(pool.worker_pids(), pids);
        // An argument that cannot be encoded fails in the parent, before any worker sees it.
        let err = pool.apply(|_: Unserializable| 1, (Unserializable,)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Encode);
        assert_eq!(pool.apply(sqr, (3,)).unwrap(), 9);
    });
}

// 21. _TestPoolWorkerLifetime.test_pool_worker_lifetime
#[test]
fn max_tasks_per_child_replaces_workers() {
    within(LIMIT, || {
        let pool = Pool::builder().processes(3).max_tasks_per_child(10).build().unwrap();
        let before = pool.worker_pids();
        let results: Vec<_> = (0..100).map(|i| pool.apply_async(sqr, (i,)).unwrap()).collect();
        let values: Vec<i64> = results.into_iter().map(|r| r.get().unwrap()).collect();
        assert_eq!(values, (0..100).map(sqr).collect::<Vec<_>>());
        let after = pool.worker_pids();
        assert!(before.iter().all(|p| !after.contains(p)), "before {before:?} after {after:?}");
        for pid in before {
            assert!(gone_or_reaped(pid));
        }
    });
}

// 22. _TestPoolWorkerLifetime.test_pool_worker_lifetime_early_close
#[test]
fn max_tasks_one_close_then_join_does_not_hang() {
    within(LIMIT, || {
        let pool = Pool::builder().processes(1).max_tasks_per_child(1).build().unwrap();
        let results: Vec<_> = (0..6).map(|i| pool.apply_async(|x: i64| { sleep_ms(20); x * 10 }, (i,)).unwrap()).collect();
        pool.close().unwrap();
        pool.join_timeout(Duration::from_secs(20)).unwrap();
        let values: Vec<i64> = results.into_iter().map(|r| r.get().unwrap()).collect();
        assert_eq!(values, vec![0, 10, 20, 30, 40, 50]);
    });
}

// 23. _TestPool.test_terminate and test_context (use after the `with` block)
#[test]
fn terminate_with_many_pending_tasks_is_prompt_and_results_after_drop_error() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let pids = pool.worker_pids();
        let results: Vec<_> = (0..10_000).map(|_| pool.apply_async(sleep_ms, (10_000,)).unwrap()).collect();
        let started = Instant::now();
        pool.terminate().unwrap();
        pool.join_timeout(Duration::from_secs(5)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "terminate took {:?}", started.elapsed());
        for pid in pids {
            assert!(gone_or_reaped(pid));
        }
        drop(pool);
        let err = results.into_iter().next().unwrap().get().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidState);

        let r = {
            let scoped = Pool::new(1).unwrap();
            scoped.apply_async(sleep_ms, (10_000,)).unwrap()
        };
        assert_eq!(r.get().unwrap_err().kind(), ErrorKind::InvalidState);
    });
}

fn kill_worker_mid_task(signal: i32, expected: i32) {
    let pool = Pool::new(2).unwrap();
    let path = std::env::temp_dir().join(format!("multiproc-victim-{}-{signal}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let slow = pool
        .apply_async(
            |path: String| -> i32 {
                std::fs::write(&path, std::process::id().to_string()).unwrap();
                loop {
                    std::thread::sleep(Duration::from_millis(10))
                }
            },
            (path.to_string_lossy().into_owned(),),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let victim: i32 = loop {
        slow.ready(); // moves the pool forward so the task gets sent
        if let Some(pid) = std::fs::read_to_string(&path).ok().and_then(|s| s.parse().ok()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "the task never started");
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = std::fs::remove_file(&path);
    // SAFETY: kill(2) has no memory effects; the pid is our own live worker.
    assert_eq!(unsafe { libc::kill(victim, signal) }, 0);
    let started = Instant::now();
    let err = slow.get().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(err.kind(), ErrorKind::Signaled, "{err}");
    assert_eq!(err.signal(), Some(expected));
    assert_eq!(err.pid(), Some(victim));
    assert!(err.to_string().contains(&victim.to_string()));
    // The pool replaced the worker and keeps working.
    assert_eq!(pool.map(sqr, 0..20).unwrap(), (0..20).map(sqr).collect::<Vec<_>>());
    assert_eq!(pool.worker_pids().len(), 2);
    assert!(!pool.worker_pids().contains(&victim));
}

// 24. _TestPool.test_pool_worker_death (bpo-22393: Python hangs here)
#[test]
fn worker_killed_mid_task_fails_only_that_task() {
    within(LIMIT, || kill_worker_mid_task(libc::SIGKILL, 9));
}

#[test]
fn worker_segfault_and_abort_fail_the_task_with_their_signal() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let err = pool
            .apply(
                || -> i32 {
                    // SAFETY: deliberately not safe: this task exists to crash its worker.
                    unsafe { libc::raise(libc::SIGSEGV) };
                    0
                },
                (),
            )
            .unwrap_err();
        assert_eq!(err.signal(), Some(libc::SIGSEGV));
        let err = pool.apply(|| -> i32 { std::process::abort() }, ()).unwrap_err();
        assert_eq!(err.signal(), Some(libc::SIGABRT));
        assert_eq!(pool.apply(sqr, (5,)).unwrap(), 25);
    });
}

#[test]
fn pool_of_200_sums_squares() {
    within(Duration::from_secs(60), || {
        let pool = Pool::new(200).unwrap();
        let total: i64 = pool.map(sqr, 0..1000).unwrap().iter().sum();
        assert_eq!(total, 332_833_500);
        pool.close().unwrap();
        pool.join_timeout(Duration::from_secs(30)).unwrap();
    });
}

#[test]
fn closures_capturing_values_made_after_the_pool_run_on_fresh_workers() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let before = pool.worker_pids();
        let table: Vec<i64> = (0..100).map(|i| i * 3).collect();
        let looked_up = pool.map(move |i: usize| table[i], 0..100).unwrap();
        assert_eq!(looked_up, (0..100).map(|i| i * 3).collect::<Vec<_>>());
        let after = pool.worker_pids();
        assert!(before.iter().all(|p| !after.contains(p)), "stale workers must be replaced");
        // A named function needs no new workers.
        assert_eq!(pool.map(sqr, 0..4).unwrap(), vec![0, 1, 4, 9]);
        let mut now = pool.worker_pids();
        let mut after = after;
        now.sort();
        after.sort();
        assert_eq!(now, after);
        // A borrowed local closure works with map (no 'static needed).
        let factor = 7;
        let scaled = pool.map(|x: i64| x * factor, 0..3).unwrap();
        assert_eq!(scaled, vec![0, 7, 14]);
    });
}

#[test]
fn dropped_pool_leaves_no_workers() {
    within(LIMIT, || {
        let pool = Pool::new(3).unwrap();
        let pids = pool.worker_pids();
        let _pending = pool.apply_async(sleep_ms, (10_000,)).unwrap();
        drop(pool);
        for pid in pids {
            assert!(gone_or_reaped(pid));
            assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "worker {pid} left as a zombie");
        }
    });
}

#[test]
fn join_requires_close_and_closed_pool_refuses_work() {
    within(LIMIT, || {
        let pool = Pool::new(1).unwrap();
        assert_eq!(pool.join().unwrap_err().kind(), ErrorKind::InvalidState);
        pool.close().unwrap();
        assert_eq!(pool.apply(sqr, (1,)).unwrap_err().kind(), ErrorKind::InvalidState);
        pool.join_timeout(Duration::from_secs(10)).unwrap();
        assert!(pool.worker_pids().is_empty());
    });
}

#[test]
fn initializer_runs_in_every_worker_and_a_failing_one_is_reported() {
    within(LIMIT, || {
        let pool = Pool::builder()
            .processes(2)
            .initializer(|| std::env::set_var("POOL_INIT_RAN", "yes"))
            .build()
            .unwrap();
        let seen = pool.map(|_: u8| std::env::var("POOL_INIT_RAN").unwrap_or_default(), 0..8).unwrap();
        assert!(seen.iter().all(|s| s == "yes"));
        let broken = Pool::builder().processes(2).initializer(|| panic!("init failed")).build().unwrap();
        let err = broken.apply(sqr, (1,)).unwrap_err();
        assert_eq!(err.panic().map(|p| p.message.as_str()), Some("init failed"), "{err}");
    });
}

#[test]
fn results_larger_than_a_pipe_arrive_whole() {
    within(LIMIT, || {
        let pool = Pool::new(2).unwrap();
        let sizes = pool.map(|n: usize| vec![7u8; n], [0, 1, 65_536, 1 << 20, 8 << 20]).unwrap();
        assert_eq!(sizes.iter().map(Vec::len).collect::<Vec<_>>(), vec![0, 1, 65_536, 1 << 20, 8 << 20]);
        assert!(sizes.iter().all(|v| v.iter().all(|&b| b == 7)));
        let echoed = pool.apply(|v: Vec<u8>| v.len(), (vec![1u8; 4 << 20],)).unwrap();
        assert_eq!(echoed, 4 << 20);
    });
}
