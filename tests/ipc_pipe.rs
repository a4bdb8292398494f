//! Pipes between real forked processes: behaviour 25 of `python-multiprocessing.md` for
//! `Pipe`, plus end-of-stream and a writer killed in the middle of a message.
//!
//! Every wait is time-limited (`recv_timeout`, `join_timeout`), so a hang fails the test.

use std::time::{Duration, Instant};

use multiproc::{pipe, spawn, ErrorKind, Process};

const LIMIT: Duration = Duration::from_secs(30);

/// Ported from CPython `_TestConnection.test_connection` (Lib/test/_test_multiprocessing.py):
/// values of several types echo back through a child unchanged.
#[test]
fn values_round_trip_through_a_child() {
    let (parent, child_end) = pipe(true).unwrap();
    let mut echo = Process::new(move || loop {
        match child_end.recv_bytes_timeout(LIMIT) {
            Ok(bytes) => child_end.send_bytes(&bytes).unwrap(),
            Err(e) if e.kind() == ErrorKind::Disconnected => return,
            Err(e) => panic!("{e}"),
        }
    });
    echo.start().unwrap();

    parent.send(&385i32).unwrap();
    assert_eq!(parent.recv_timeout::<i32>(LIMIT).unwrap(), 385);
    let list = vec![(1u8, "one".to_string()), (2, "two".to_string())];
    parent.send(&list).unwrap();
    assert_eq!(parent.recv_timeout::<Vec<(u8, String)>>(LIMIT).unwrap(), list);
    parent.send(&Some(-1.5f64)).unwrap();
    assert_eq!(parent.recv_timeout::<Option<f64>>(LIMIT).unwrap(), Some(-1.5));
    parent.send(&()).unwrap();
    parent.recv_timeout::<()>(LIMIT).unwrap();

    drop(parent); // the child sees end-of-stream and returns
    echo.join_timeout(LIMIT).unwrap();
    assert_eq!(echo.exitcode(), Some(0));
}

/// Behaviour 25: a 16 MiB message round-trips (here through a child that sends it back).
#[test]
fn sixteen_mib_message_round_trips() {
    let (parent, child_end) = pipe(true).unwrap();
    let mut child = spawn(move || {
        let data = child_end.recv_bytes_timeout(LIMIT).unwrap();
        child_end.send_bytes(&data).unwrap();
        data.len()
    })
    .unwrap();
    let big: Vec<u8> = (0..16 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    parent.send_bytes(&big).unwrap();
    let back = parent.recv_bytes_timeout(LIMIT).unwrap();
    assert_eq!(back.len(), big.len());
    assert!(back == big, "the 16 MiB message came back changed");
    assert_eq!(child.join_timeout(LIMIT).unwrap(), 16 << 20);

    // And as a serde value.
    let (a, b) = pipe(true).unwrap();
    let mut child = spawn(move || b.recv_timeout::<Vec<u64>>(LIMIT).unwrap().iter().sum::<u64>()).unwrap();
    let values: Vec<u64> = (0..(2u64 << 20)).collect(); // 16 MiB encoded
    a.send(&values).unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), values.iter().sum::<u64>());
}

/// Ported from CPython `_TestConnection.test_connection` (the `poll` part): `poll(0.1 s)` is
/// false on an empty pipe and waits about that long; after a send it is true.
#[test]
fn poll_is_false_then_true_after_a_send() {
    let (a, b) = pipe(true).unwrap();
    let started = Instant::now();
    assert!(!b.poll(Duration::from_millis(100)).unwrap());
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(90), "poll returned after {waited:?}");

    let mut child = spawn(move || a.send(&"ping").unwrap()).unwrap();
    assert!(b.poll(LIMIT).unwrap());
    assert_eq!(b.recv_timeout::<String>(LIMIT).unwrap(), "ping");
    child.join_timeout(LIMIT).unwrap();
}

/// Behaviour 25: message boundaries are kept, whatever the sizes (CPython
/// `_TestConnection.test_connection` sends and receives `send_bytes` messages one by one).
#[test]
fn message_boundaries_are_kept() {
    let sizes = [0usize, 1, 11, 12, 13, 4095, 4096, 65_536, 65_537, 300_000, 1, 0, 2_000_000, 7];
    let (reader, writer) = pipe(false).unwrap();
    let mut child = spawn(move || {
        for (i, &n) in sizes.iter().enumerate() {
            writer.send_bytes(&vec![i as u8; n]).unwrap();
        }
    })
    .unwrap();
    for (i, &n) in sizes.iter().enumerate() {
        let got = reader.recv_bytes_timeout(LIMIT).unwrap();
        assert_eq!(got.len(), n, "message {i}");
        assert!(got.iter().all(|&b| b == i as u8), "message {i} mixed with another");
    }
    child.join_timeout(LIMIT).unwrap();
    assert_eq!(reader.recv_bytes_timeout(LIMIT).unwrap_err().kind(), ErrorKind::Disconnected);
}

/// Behaviour 25: end-of-stream after the peer closes. Messages sent before the close are still
/// delivered; then `recv` gives `Disconnected`, again on every later call; and sending to a
/// closed peer is `Disconnected` too (not SIGPIPE).
#[test]
fn end_of_stream_after_the_peer_closes() {
    let (parent, child_end) = pipe(true).unwrap();
    let mut child = spawn(move || {
        child_end.send(&"last words").unwrap();
        // child_end is closed when the child exits
    })
    .unwrap();
    child.join_timeout(LIMIT).unwrap();
    assert_eq!(parent.recv_timeout::<String>(LIMIT).unwrap(), "last words");
    for _ in 0..2 {
        let err = parent.recv_timeout::<String>(LIMIT).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    }
    assert!(parent.poll(Duration::ZERO).unwrap(), "poll is true at end-of-stream, as in Python");
    assert_eq!(parent.send(&1).unwrap_err().kind(), ErrorKind::Disconnected);

    // A child sending to a parent end that was dropped gets an error, and is not killed by SIGPIPE.
    let (parent, child_end) = pipe(true).unwrap();
    drop(parent);
    let mut child = spawn(move || child_end.send(&"anyone?").unwrap_err().kind() == ErrorKind::Disconnected).unwrap();
    assert!(child.join_timeout(LIMIT).unwrap());
}

/// A child sees end-of-stream when the parent closes or drops its end, although the child holds
/// a copy of the parent's end (fork copies every open descriptor). Python's child would wait
/// forever here unless it closed its inherited copy itself.
#[test]
fn child_sees_end_of_stream_when_the_parent_closes() {
    // Duplex, parent closes explicitly.
    let (parent, child_end) = pipe(true).unwrap();
    let mut child = spawn(move || {
        let mut got = Vec::new();
        loop {
            match child_end.recv_timeout::<u32>(LIMIT) {
                Ok(n) => got.push(n),
                Err(e) if e.kind() == ErrorKind::Disconnected => return got,
                Err(e) => panic!("{e}"),
            }
        }
    })
    .unwrap();
    for n in 0..100 {
        parent.send(&n).unwrap();
    }
    parent.close();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), (0..100).collect::<Vec<u32>>());

    // One-way, the parent's reader is dropped after use: the child's sends fail.
    let (reader, writer) = pipe(false).unwrap();
    let mut child = spawn(move || {
        writer.send(&1u8).unwrap();
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if let Err(e) = writer.send(&2u8) {
                return e.kind() == ErrorKind::Disconnected;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    })
    .unwrap();
    assert_eq!(reader.recv_timeout::<u8>(LIMIT).unwrap(), 1);
    drop(reader);
    assert!(child.join_timeout(LIMIT).unwrap(), "the child's sends never failed");
}

/// A child blocked sending a message larger than the socket holds learns that the parent closed
/// its end, instead of waiting forever (it holds a copy of that end, so the socket stays open).
#[test]
fn blocked_sender_learns_the_reader_closed() {
    let (parent, child_end) = pipe(true).unwrap();
    let mut child = spawn(move || match child_end.send_bytes(&vec![0u8; 16 << 20]) {
        Ok(()) => "sent".to_string(),
        Err(e) => format!("{:?}", e.kind()),
    })
    .unwrap();
    assert!(parent.poll(LIMIT).unwrap()); // the message has started to arrive
    parent.close();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), "Disconnected");
}

/// A writer SIGKILLed in the middle of a 16 MiB message: the reader gets a clean
/// `Disconnected` error saying the message was cut short, never part of the message.
#[test]
fn writer_killed_mid_message_gives_a_clean_error() {
    let (reader, writer) = pipe(false).unwrap();
    let mut child = Process::new(move || {
        writer.send_bytes(&vec![7u8; 16 << 20]).unwrap(); // blocks: nobody reads yet
    });
    child.start().unwrap();
    // Some of the message is in the socket: the child is blocked in the middle of it.
    // 16 MiB is far more than the socket holds, so the child is blocked inside the message.
    assert!(reader.poll(LIMIT).unwrap());
    child.kill().unwrap();
    assert!(child.join_timeout(LIMIT).is_err());
    assert_eq!(child.exitcode(), Some(-9));

    let err = reader.recv_bytes_timeout(LIMIT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Disconnected, "{err}");
    assert!(err.to_string().contains("middle of a message"), "{err}");
    // Nothing more: the partial message was discarded, not handed out later.
    assert_eq!(reader.recv_bytes_timeout(LIMIT).unwrap_err().kind(), ErrorKind::Disconnected);
}

/// A timeout in the middle of a message keeps what arrived: the next call completes it.
#[test]
fn timeout_mid_message_keeps_the_partial_message() {
    let (reader, writer) = pipe(false).unwrap();
    let (go_r, go_w) = pipe(false).unwrap();
    let mut child = spawn(move || {
        // An 8 MiB message is far larger than the socket buffer, so the reader sees it arrive
        // in pieces and its 1 µs timeouts fire with part of it received.
        go_r.recv_timeout::<()>(LIMIT).unwrap();
        writer.send_bytes(&vec![3u8; 8 << 20]).unwrap();
    })
    .unwrap();
    go_w.send(&()).unwrap();
    // Poll until part of it is there, then time out quickly while the child still writes.
    assert!(reader.poll(LIMIT).unwrap());
    let mut timeouts = 0;
    let got = loop {
        match reader.recv_bytes_timeout(Duration::from_micros(1)) {
            Ok(bytes) => break bytes,
            Err(e) if e.is_timeout() => timeouts += 1,
            Err(e) => panic!("{e}"),
        }
        if timeouts > 1_000_000 {
            panic!("never completed");
        }
    };
    assert_eq!(got.len(), 8 << 20);
    assert!(got.iter().all(|&b| b == 3));
    child.join_timeout(LIMIT).unwrap();
}

/// A message of the wrong type is a `Decode` error and is consumed; the stream stays in step.
#[test]
fn a_decode_error_does_not_desynchronize_the_stream() {
    let (a, b) = pipe(true).unwrap();
    a.send(&1u8).unwrap();
    a.send(&"next".to_string()).unwrap();
    let err = b.recv_timeout::<String>(LIMIT).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(b.recv_timeout::<String>(LIMIT).unwrap(), "next");
}

/// A one-way pipe refuses use the wrong way round with a typed error.
#[test]
fn one_way_pipe_ends_refuse_the_wrong_direction() {
    let (reader, writer) = pipe(false).unwrap();
    assert_eq!(reader.send(&1).unwrap_err().kind(), ErrorKind::InvalidState);
    assert_eq!(writer.recv_timeout::<i32>(LIMIT).unwrap_err().kind(), ErrorKind::InvalidState);
    assert_eq!(writer.poll(Duration::ZERO).unwrap_err().kind(), ErrorKind::InvalidState);
}

/// Bulk throughput of 1 MiB messages from a child to the parent. Prints MB/s; run with
/// `cargo test --release --test ipc_pipe -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a behaviour"]
fn pipe_throughput() {
    const MESSAGES: usize = 512;
    let (reader, writer) = pipe(false).unwrap();
    let payload = vec![1u8; 1 << 20];
    let started = Instant::now();
    let mut child = spawn(move || {
        for _ in 0..MESSAGES {
            writer.send_bytes(&payload).unwrap();
        }
    })
    .unwrap();
    for _ in 0..MESSAGES {
        assert_eq!(reader.recv_bytes_timeout(LIMIT).unwrap().len(), 1 << 20);
    }
    let elapsed = started.elapsed();
    child.join_timeout(LIMIT).unwrap();
    let mb = (MESSAGES << 20) as f64 / 1e6;
    println!("pipe: {MESSAGES} x 1 MiB in {elapsed:?} = {:.0} MB/s", mb / elapsed.as_secs_f64());

    // Round trips of a small message.
    let (a, b) = pipe(true).unwrap();
    let mut child = spawn(move || {
        while let Ok(n) = b.recv_timeout::<u64>(LIMIT) {
            b.send(&(n + 1)).unwrap();
        }
    })
    .unwrap();
    let rounds = 10_000u64;
    let started = Instant::now();
    for i in 0..rounds {
        a.send(&i).unwrap();
        assert_eq!(a.recv_timeout::<u64>(LIMIT).unwrap(), i + 1);
    }
    let per = started.elapsed() / rounds as u32;
    drop(a);
    child.join_timeout(LIMIT).unwrap();
    println!("pipe: ping-pong round trip {per:?}");
}
