//! Locks, semaphores, events, barriers and conditions shared by real forked processes:
//! the "Also" line of `python-multiprocessing.md` (Lock/Event/Barrier basics across processes),
//! 4 × 10,000 locked increments, a robust lock after its holder was SIGKILLed, and a barrier
//! with 4 processes × 100 rounds.
//!
//! Every wait is time-limited (`*_timeout`, `join_timeout`), so a hang fails the test.

use std::time::{Duration, Instant};

use multiproc::{spawn, Array, Barrier, Condition, ErrorKind, Event, Lock, Process, RLock, Semaphore, Value};

const LIMIT: Duration = Duration::from_secs(60);

/// 4 processes × 10,000 increments of a shared `Value`, each under the value's lock:
/// exactly 40,000. (CPython `_TestValue` checks values cross; this checks they do not race.)
#[test]
fn four_processes_times_ten_thousand_locked_increments() {
    let counter = Value::new(0u64).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let c = counter.clone();
            spawn(move || {
                for _ in 0..10_000 {
                    *c.lock().unwrap() += 1;
                }
            })
            .unwrap()
        })
        .collect();
    for mut child in children {
        child.join_timeout(LIMIT).unwrap();
    }
    assert_eq!(counter.get().unwrap(), 40_000);

    // The same with a separate Lock around get/set, the Python idiom
    // `with lock: v.value += 1`.
    let lock = Lock::new().unwrap();
    let plain = Value::new(0i64).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let (lock, v) = (lock.clone(), plain.clone());
            spawn(move || {
                for _ in 0..10_000 {
                    let _guard = lock.acquire_timeout(LIMIT).unwrap();
                    v.set(v.get().unwrap() + 1).unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    for mut child in children {
        child.join_timeout(LIMIT).unwrap();
    }
    assert_eq!(plain.get().unwrap(), 40_000);
}

/// Ported from CPython `_TestLock.test_lock`: acquire, a non-blocking acquire fails while held
/// (here from another process), release, acquire again.
#[test]
fn lock_basics_across_processes() {
    let lock = Lock::new().unwrap();
    let guard = lock.acquire().unwrap();
    let other = lock.clone();
    let mut child = spawn(move || {
        let busy = other.try_acquire().unwrap_err().kind() == ErrorKind::Timeout;
        let started = Instant::now();
        let timed_out = other.acquire_timeout(Duration::from_millis(100)).unwrap_err().is_timeout();
        (busy, timed_out, started.elapsed() >= Duration::from_millis(90))
    })
    .unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), (true, true, true));
    drop(guard);
    let other = lock.clone();
    let mut child = spawn(move || other.try_acquire().is_ok()).unwrap();
    assert!(child.join_timeout(LIMIT).unwrap());
    // The same thread acquiring twice is an error, not a deadlock.
    let _g = lock.acquire().unwrap();
    assert_eq!(lock.acquire().unwrap_err().kind(), ErrorKind::InvalidState);
}

/// Ported from CPython `_TestLock.test_rlock`: the holder may acquire again; others may not
/// until every level is released.
#[test]
fn rlock_is_reentrant_for_its_holder_only() {
    let rlock = RLock::new().unwrap();
    let a = rlock.acquire().unwrap();
    let b = rlock.acquire().unwrap();
    let other = rlock.clone();
    let probe = move || {
        let other = other.clone();
        spawn(move || other.try_acquire().is_ok()).unwrap().join_timeout(LIMIT).unwrap()
    };
    assert!(!probe());
    drop(b);
    assert!(!probe());
    drop(a);
    assert!(probe());
}

/// A process SIGKILLed while holding a lock: the next locker gets OwnerDied naming its pid,
/// instead of deadlocking (Python's `terminate()` pitfall); the lock is usable afterwards. A
/// second process already blocked in `acquire` when the holder dies is woken with the error.
#[test]
fn robust_lock_after_its_holder_was_sigkilled() {
    let lock = Lock::new().unwrap();
    let held = Event::new().unwrap();
    let (l, h) = (lock.clone(), held.clone());
    let mut holder = Process::new(move || {
        let _guard = l.acquire().unwrap();
        h.set();
        std::thread::sleep(Duration::from_secs(60));
    });
    holder.start().unwrap();
    assert!(held.wait_timeout(LIMIT));
    let holder_pid = holder.pid().unwrap();

    // A waiter blocked on the lock while the holder is killed.
    let w = lock.clone();
    let mut waiter = spawn(move || match w.acquire_timeout(LIMIT) {
        Ok(_) => "acquired".to_string(),
        Err(e) => format!("{:?} {:?}", e.kind(), e.pid()),
    })
    .unwrap();
    assert!(lock.try_acquire().unwrap_err().is_timeout());
    holder.kill().unwrap();
    assert!(holder.join_timeout(LIMIT).is_err());
    assert_eq!(holder.exitcode(), Some(-9));

    let seen = waiter.join_timeout(LIMIT).unwrap();
    // Either the waiter was woken by the death (it got the error), or we race it here and get
    // it ourselves; exactly one locker learns of the death.
    let mine = lock.acquire_timeout(LIMIT);
    match &mine {
        Ok(_) => assert_eq!(seen, format!("OwnerDied Some({holder_pid})")),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::OwnerDied, "{e}");
            assert_eq!(e.pid(), Some(holder_pid));
            assert!(e.to_string().contains("died while holding"), "{e}");
            assert_eq!(seen, "acquired");
        }
    }
    drop(mine);
    // Usable again, from here and from another process.
    drop(lock.acquire_timeout(LIMIT).unwrap());
    let l = lock.clone();
    assert!(spawn(move || l.acquire_timeout(LIMIT).is_ok()).unwrap().join_timeout(LIMIT).unwrap());
}

/// A process killed while holding a Value's lock (mid-update): the next access reports
/// OwnerDied once, then the value works again.
#[test]
fn value_lock_holder_killed() {
    let v = Value::new(5u32).unwrap();
    let held = Event::new().unwrap();
    let (c, h) = (v.clone(), held.clone());
    let mut holder = Process::new(move || {
        let mut guard = c.lock().unwrap();
        *guard = 6;
        h.set();
        std::thread::sleep(Duration::from_secs(60));
    });
    holder.start().unwrap();
    assert!(held.wait_timeout(LIMIT));
    holder.kill().unwrap();
    let _ = holder.join_timeout(LIMIT);
    let err = v.get().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OwnerDied, "{err}");
    assert_eq!(v.get().unwrap(), 6); // what the dead process wrote, for the caller to judge
    *v.lock().unwrap() += 1;
    assert_eq!(v.get().unwrap(), 7);
}

/// Ported from CPython `_TestSemaphore.test_semaphore` / `test_bounded_semaphore`, across
/// processes: at most 2 of 6 children inside at once; a bounded semaphore refuses a release
/// too many.
#[test]
fn semaphore_limits_concurrency() {
    let sem = Semaphore::bounded(2).unwrap();
    let inside = Value::new(0u32).unwrap();
    let most = Value::new(0u32).unwrap();
    let children: Vec<_> = (0..6)
        .map(|_| {
            let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
            spawn(move || {
                for _ in 0..20 {
                    let _permit = sem.acquire_timeout(LIMIT).unwrap();
                    let now = {
                        let mut n = inside.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    {
                        let mut m = most.lock().unwrap();
                        *m = (*m).max(now);
                    }
                    std::thread::yield_now();
                    *inside.lock().unwrap() -= 1;
                }
            })
            .unwrap()
        })
        .collect();
    for mut child in children {
        child.join_timeout(LIMIT).unwrap();
    }
    assert!(most.get().unwrap() <= 2, "{} inside at once", most.get().unwrap());
    assert_eq!(sem.get_value(), 2);
    assert_eq!(sem.release().unwrap_err().kind(), ErrorKind::InvalidState);

    // Python-style signalling: one process releases, another acquires.
    let ready = Semaphore::new(0).unwrap();
    let r = ready.clone();
    let mut child = spawn(move || r.release().unwrap()).unwrap();
    ready.acquire_timeout(LIMIT).unwrap().forget();
    child.join_timeout(LIMIT).unwrap();
    assert_eq!(ready.get_value(), 0);
}

/// Ported from CPython `_TestEvent.test_event`: not set at first; `wait(timeout)` returns
/// false after the timeout; set by another process, waits return true; clear resets it.
#[test]
fn event_basics_across_processes() {
    let event = Event::new().unwrap();
    assert!(!event.is_set());
    let started = Instant::now();
    assert!(!event.wait_timeout(Duration::from_millis(100)));
    assert!(started.elapsed() >= Duration::from_millis(90));

    // Several children wait; one more sets it.
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let e = event.clone();
            spawn(move || e.wait_timeout(LIMIT)).unwrap()
        })
        .collect();
    let e = event.clone();
    let mut setter = spawn(move || e.set()).unwrap();
    setter.join_timeout(LIMIT).unwrap();
    for mut w in waiters {
        assert!(w.join_timeout(LIMIT).unwrap());
    }
    assert!(event.is_set());
    assert!(event.wait_timeout(Duration::ZERO));
    event.clear();
    assert!(!event.is_set());
    assert!(!event.wait_timeout(Duration::from_millis(10)));
}

/// A barrier with 4 processes × 100 rounds: in each round every process writes its round number,
/// meets the others, and then sees every process's write of that round. Each round exactly one
/// process gets each arrival index.
#[test]
fn barrier_four_processes_times_one_hundred_rounds() {
    const PARTIES: usize = 4;
    const ROUNDS: u32 = 100;
    let barrier = Barrier::new(PARTIES as u32).unwrap();
    let marks = Array::<u32>::new(PARTIES).unwrap();
    let index_sums = Array::<u64>::new(ROUNDS as usize).unwrap();
    let children: Vec<_> = (0..PARTIES)
        .map(|me| {
            let (barrier, marks, index_sums) = (barrier.clone(), marks.clone(), index_sums.clone());
            spawn(move || {
                for round in 1..=ROUNDS {
                    marks.set(me, round).unwrap();
                    let index = barrier.wait_timeout(LIMIT).unwrap();
                    assert!(index < PARTIES);
                    {
                        let mut sums = index_sums.lock().unwrap();
                        sums[(round - 1) as usize] += 1 << (8 * index);
                    }
                    let seen = marks.to_vec().unwrap();
                    assert!(seen.iter().all(|&m| m == round), "round {round}: saw {seen:?}");
                    // Nobody starts the next round's write before everyone has checked.
                    barrier.wait_timeout(LIMIT).unwrap();
                }
            })
            .unwrap()
        })
        .collect();
    for mut child in children {
        child.join_timeout(LIMIT).unwrap();
    }
    // Each round: indexes 0, 1, 2, 3 once each.
    let expected: u64 = (0..PARTIES).map(|i| 1u64 << (8 * i)).sum();
    assert!(index_sums.to_vec().unwrap().iter().all(|&s| s == expected));
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.is_broken());
}

/// Ported from CPython `_TestBarrier.test_timeout` and `test_abort_and_reset`: a wait that
/// times out breaks the barrier for the others too; `reset` makes it usable again.
#[test]
fn barrier_timeout_breaks_it_and_reset_repairs_it() {
    let barrier = Barrier::new(3).unwrap();
    let b = barrier.clone();
    // This child waits long; the parent's short wait times out and breaks the barrier.
    let mut child = spawn(move || b.wait_timeout(LIMIT).map_err(|e| format!("{:?}", e.kind()))).unwrap();
    let deadline = Instant::now() + LIMIT;
    while barrier.n_waiting() == 0 {
        assert!(Instant::now() < deadline, "the child never reached the barrier");
        std::thread::yield_now();
    }
    let err = barrier.wait_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(child.join_timeout(LIMIT).unwrap(), Err("InvalidState".to_string()));
    assert!(barrier.is_broken());
    assert_eq!(barrier.wait_timeout(LIMIT).unwrap_err().kind(), ErrorKind::InvalidState);

    barrier.reset().unwrap();
    assert!(!barrier.is_broken());
    let children: Vec<_> = (0..2)
        .map(|_| {
            let b = barrier.clone();
            spawn(move || b.wait_timeout(LIMIT).unwrap()).unwrap()
        })
        .collect();
    let mut indexes = vec![barrier.wait_timeout(LIMIT).unwrap()];
    for mut c in children {
        indexes.push(c.join_timeout(LIMIT).unwrap());
    }
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2]);
}

/// Ported from CPython `_TestCondition.test_notify` / `test_wait_result`: a waiter in one
/// process is woken by a notify from another; `wait_timeout` with no notify returns false.
#[test]
fn condition_notify_across_processes() {
    let cond = Condition::new().unwrap();
    let state = Value::new(0u32).unwrap();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (cond, state) = (cond.clone(), state.clone());
            spawn(move || {
                let mut guard = cond.acquire().unwrap();
                cond.wait_for_timeout(&mut guard, || state.get().unwrap() >= 1, LIMIT).unwrap()
            })
            .unwrap()
        })
        .collect();
    let (c, s) = (cond.clone(), state.clone());
    let mut producer = spawn(move || {
        let _guard = c.acquire().unwrap();
        s.set(1).unwrap();
        c.notify_all();
    })
    .unwrap();
    producer.join_timeout(LIMIT).unwrap();
    for mut c in consumers {
        assert!(c.join_timeout(LIMIT).unwrap());
    }

    let mut guard = cond.acquire().unwrap();
    let started = Instant::now();
    assert!(!cond.wait_timeout(&mut guard, Duration::from_millis(100)).unwrap());
    assert!(started.elapsed() >= Duration::from_millis(90));
    // A guard of another lock is refused.
    let other = Lock::new().unwrap();
    let mut wrong = other.acquire().unwrap();
    assert_eq!(cond.wait_timeout(&mut wrong, Duration::ZERO).unwrap_err().kind(), ErrorKind::InvalidInput);
}

/// Which handles may cross threads, checked by the compiler (the docs of each type say why).
/// Negative cases (`Connection` is not `Sync`, lock guards are not `Send`) are `compile_fail`
/// doc tests on those types.
#[test]
fn send_and_sync_as_documented() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Lock>();
    send_sync::<RLock>();
    send_sync::<Semaphore>();
    send_sync::<Event>();
    send_sync::<Barrier>();
    send_sync::<Condition>();
    send_sync::<Value<u64>>();
    send_sync::<Array<f64>>();
    send_sync::<multiproc::SharedMemory>();
    send_sync::<multiproc::Queue<std::rc::Rc<u8>>>(); // values are serialized, never shared
    send_sync::<multiproc::JoinableQueue<std::cell::Cell<u8>>>();
    send::<multiproc::Connection>();
    send::<multiproc::SemaphoreGuard<'static>>();
}
