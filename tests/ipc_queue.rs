//! Queues between real forked processes: behaviour 25 of `python-multiprocessing.md` for
//! `Queue`, joinable queues, and the join-before-drain case that deadlocks in Python.
//!
//! Every wait is time-limited (`get_timeout`, `join_timeout`), so a hang fails the test.

use std::time::{Duration, Instant};

use multiproc::{spawn, ErrorKind, JoinableQueue, Process, Queue};

const LIMIT: Duration = Duration::from_secs(30);

/// Ported from CPython `_TestQueue.test_put` / `test_get` (Lib/test/_test_multiprocessing.py):
/// values put by a child come out in order, unchanged.
#[test]
fn values_round_trip_in_order() {
    let q: Queue<(u32, String, Vec<f64>)> = Queue::new().unwrap();
    let tx = q.clone();
    let mut child = spawn(move || {
        for i in 0..1000u32 {
            tx.put((i, format!("item {i}"), vec![i as f64; (i % 7) as usize])).unwrap();
        }
    })
    .unwrap();
    for i in 0..1000u32 {
        let (n, s, v) = q.get_timeout(LIMIT).unwrap();
        assert_eq!((n, s.as_str(), v.len()), (i, format!("item {i}").as_str(), (i % 7) as usize));
    }
    child.join_timeout(LIMIT).unwrap();
    assert!(q.is_empty());
}

/// Behaviour 25, ported from CPython `_TestQueue.test_put` / `test_get`: a bounded queue gives
/// Full on `put_nowait` (`try_put`), and Empty after a `get` timeout, which waits about that long.
#[test]
fn bounded_queue_full_and_empty_after_timeout() {
    let q: Queue<i32> = Queue::bounded(3).unwrap();
    assert_eq!(q.maxsize(), Some(3));
    let tx = q.clone();
    let mut child = spawn(move || {
        for i in 0..3 {
            tx.try_put(i).unwrap();
        }
        (tx.try_put(3).unwrap_err().kind() == ErrorKind::Full, tx.is_full(), tx.qsize())
    })
    .unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), (true, true, 3));

    let started = Instant::now();
    assert_eq!(q.put_timeout(9, Duration::from_millis(100)).unwrap_err().kind(), ErrorKind::Full);
    assert!(started.elapsed() >= Duration::from_millis(90));

    for i in 0..3 {
        assert_eq!(q.try_get().unwrap(), i);
    }
    assert_eq!(q.try_get().unwrap_err().kind(), ErrorKind::Empty);
    let started = Instant::now();
    let err = q.get_timeout(Duration::from_millis(100)).unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Empty, "{err}");
    assert!(waited >= Duration::from_millis(90) && waited < Duration::from_secs(5), "waited {waited:?}");
}

/// A `put` blocked on a full queue goes through as soon as another process gets.
#[test]
fn blocked_put_resumes_when_a_reader_makes_room() {
    let q: Queue<u32> = Queue::bounded(1).unwrap();
    let tx = q.clone();
    let mut child = spawn(move || {
        for i in 0..200 {
            tx.put_timeout(i, LIMIT).unwrap();
        }
    })
    .unwrap();
    for i in 0..200 {
        assert_eq!(q.get_timeout(LIMIT).unwrap(), i);
    }
    child.join_timeout(LIMIT).unwrap();
}

/// The Python pitfall: joining a process before draining the queue it put into deadlocks
/// there (the child's feeder thread cannot flush into the full pipe, so the child never
/// exits). Here `put` copies into shared memory and the child exits at once: join first, then
/// drain, with 10,000 items and a 10 MiB one, far more than a pipe holds.
#[test]
fn join_before_drain_does_not_deadlock() {
    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let tx = q.clone();
    let mut child = Process::new(move || {
        for i in 0..10_000u32 {
            tx.put(i.to_le_bytes().to_vec()).unwrap();
        }
        tx.put(vec![5u8; 10 << 20]).unwrap();
    });
    child.start().unwrap();
    child.join_timeout(LIMIT).unwrap(); // Python hangs here
    assert_eq!(child.exitcode(), Some(0));
    assert_eq!(q.qsize(), 10_001);
    for i in 0..10_000u32 {
        assert_eq!(q.get_timeout(LIMIT).unwrap(), i.to_le_bytes());
    }
    assert_eq!(q.get_timeout(LIMIT).unwrap().len(), 10 << 20);
}

/// When the queue really is full (its item limit here) and nobody drains it, a child's
/// `put_timeout` fails with Full instead of waiting forever, so joining it still ends.
#[test]
fn join_before_drain_of_a_full_queue_fails_clearly() {
    let q: Queue<u32> = Queue::bounded(2).unwrap();
    let tx = q.clone();
    let mut child = spawn(move || {
        for i in 0..5 {
            if let Err(e) = tx.put_timeout(i, Duration::from_millis(200)) {
                return Err(format!("item {i}: {e}"));
            }
        }
        Ok(())
    })
    .unwrap();
    let outcome = child.join_timeout(LIMIT).unwrap();
    let message = outcome.unwrap_err();
    assert!(message.starts_with("item 2:") && message.contains("full"), "{message}");
    assert_eq!((q.get_timeout(LIMIT).unwrap(), q.get_timeout(LIMIT).unwrap()), (0, 1));
}

/// Several producers and consumers at once: nothing lost, nothing twice.
#[test]
fn many_producers_and_consumers() {
    let q: Queue<u64> = Queue::bounded(64).unwrap();
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let tx = q.clone();
            spawn(move || {
                for i in 0..2_500u64 {
                    tx.put_timeout(p * 1_000_000 + i, LIMIT).unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = q.clone();
            spawn(move || {
                let mut got = Vec::new();
                while let Ok(v) = rx.get_timeout(Duration::from_millis(500)) {
                    got.push(v);
                }
                got
            })
            .unwrap()
        })
        .collect();
    for mut p in producers {
        p.join_timeout(LIMIT).unwrap();
    }
    let mut all: Vec<u64> = Vec::new();
    for mut c in consumers {
        all.extend(c.join_timeout(LIMIT).unwrap());
    }
    all.sort_unstable();
    let mut expected: Vec<u64> = (0..4u64).flat_map(|p| (0..2_500u64).map(move |i| p * 1_000_000 + i)).collect();
    expected.sort_unstable();
    assert_eq!(all, expected);
}

/// Ported from CPython `_TestQueue.test_task_done`: workers call `task_done` for each item and
/// `join` returns once all are done.
#[test]
fn joinable_queue_task_done_and_join() {
    let jobs: JoinableQueue<u32> = JoinableQueue::new().unwrap();
    let done: Queue<u32> = Queue::new().unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (jobs, done) = (jobs.clone(), done.clone());
            spawn(move || {
                while let Ok(n) = jobs.get_timeout(Duration::from_millis(300)) {
                    done.put(n * n).unwrap();
                    jobs.task_done().unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    for n in 0..100 {
        jobs.put(n).unwrap();
    }
    jobs.join_timeout(LIMIT).unwrap();
    assert_eq!(done.qsize(), 100);
    for mut w in workers {
        w.join_timeout(LIMIT).unwrap();
    }
    let mut squares: Vec<u32> = (0..100).map(|_| done.get_timeout(LIMIT).unwrap()).collect();
    squares.sort();
    assert_eq!(squares, (0..100).map(|n| n * n).collect::<Vec<_>>());
    assert_eq!(jobs.task_done().unwrap_err().kind(), ErrorKind::InvalidState);
}

/// A value that can never fit is refused at once with a message saying what to do; the queue
/// stays usable. A 16 MiB value fits the default ring.
#[test]
fn oversized_values_are_refused_and_big_ones_pass() {
    let small: Queue<Vec<u8>> = Queue::builder().capacity_bytes(4096).build().unwrap();
    let err = small.put(vec![0u8; 5000]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("capacity_bytes"), "{err}");
    small.put(vec![1u8; 100]).unwrap();
    assert_eq!(small.get_timeout(LIMIT).unwrap().len(), 100);

    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let tx = q.clone();
    let mut child = spawn(move || tx.put(vec![9u8; 16 << 20]).unwrap()).unwrap();
    child.join_timeout(LIMIT).unwrap();
    let big = q.get_timeout(LIMIT).unwrap();
    assert_eq!(big.len(), 16 << 20);
    assert!(big.iter().all(|&b| b == 9));
}

/// Messages wrap around the end of the ring many times without being torn.
#[test]
fn ring_wraps_around() {
    let q: Queue<Vec<u8>> = Queue::builder().capacity_bytes(1000).build().unwrap();
    let tx = q.clone();
    let mut child = spawn(move || {
        for i in 0..2_000usize {
            tx.put_timeout(vec![i as u8; i % 300], LIMIT).unwrap();
        }
    })
    .unwrap();
    for i in 0..2_000usize {
        let v = q.get_timeout(LIMIT).unwrap();
        assert_eq!(v.len(), i % 300);
        assert!(v.iter().all(|&b| b == i as u8));
    }
    child.join_timeout(LIMIT).unwrap();
}

/// A process killed while blocked in `put`/`get` leaves the queue working for the others.
#[test]
fn a_killed_waiter_leaves_the_queue_usable() {
    let q: Queue<u8> = Queue::bounded(1).unwrap();
    q.put(1).unwrap();
    let tx = q.clone();
    let mut blocked = Process::new(move || tx.put(2).unwrap());
    blocked.start().unwrap();
    // Give it time to block in put. Whether or not it got that far when the kill lands, the
    // queue must stay usable: this only makes the interesting case likely.
    std::thread::sleep(Duration::from_millis(20));
    blocked.kill().unwrap();
    let _ = blocked.join_timeout(LIMIT);
    assert_eq!(q.get_timeout(LIMIT).unwrap(), 1);
    q.put_timeout(3, LIMIT).unwrap();
    assert_eq!(q.get_timeout(LIMIT).unwrap(), 3);
}

/// Throughput of small and 1 MiB values from a child to the parent through a queue. Prints
/// figures; run with `cargo test --release --test ipc_queue -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a behaviour"]
fn queue_throughput() {
    let q: Queue<u64> = Queue::new().unwrap();
    let tx = q.clone();
    const N: u64 = 200_000;
    let started = Instant::now();
    let mut child = spawn(move || {
        for i in 0..N {
            tx.put(i).unwrap();
        }
    })
    .unwrap();
    for i in 0..N {
        assert_eq!(q.get_timeout(LIMIT).unwrap(), i);
    }
    let per = started.elapsed() / N as u32;
    child.join_timeout(LIMIT).unwrap();
    println!("queue: {N} u64 values, {per:?} per value");

    let q: Queue<Vec<u8>> = Queue::new().unwrap();
    let tx = q.clone();
    const M: usize = 512;
    let started = Instant::now();
    let mut child = spawn(move || {
        let payload = vec![1u8; 1 << 20];
        for _ in 0..M {
            tx.put(&payload).unwrap();
        }
    })
    .unwrap();
    for _ in 0..M {
        assert_eq!(q.get_timeout(LIMIT).unwrap().len(), 1 << 20);
    }
    let elapsed = started.elapsed();
    child.join_timeout(LIMIT).unwrap();
    println!("queue: {M} x 1 MiB in {elapsed:?} = {:.0} MB/s", (M << 20) as f64 / 1e6 / elapsed.as_secs_f64());
}
