//! A capturing closure's return value comes back to the parent with serde: strings, vectors,
//! structs with `#[derive(Serialize, Deserialize)]`, a 64 MiB `Vec<u8>`; and values that fail
//! to serialize or deserialize come back as typed errors, never as a hang or a lost process.

mod process_support;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use multiproc::{ErrorKind, Process};
use process_support::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle { radius: f64 },
    Polygon(Vec<(i32, i32)>),
    Empty,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Report {
    name: String,
    scores: Vec<u32>,
    shape: Shape,
    tags: BTreeMap<String, Option<i64>>,
    nested: Option<Box<Report>>,
}

fn report() -> Report {
    Report {
        name: "Ælfgifu 👋".into(),
        scores: vec![3, 1, 4, 1, 5],
        shape: Shape::Polygon(vec![(0, 0), (1, -1), (i32::MAX, i32::MIN)]),
        tags: [("a".to_string(), Some(-1)), ("b".to_string(), None)].into_iter().collect(),
        nested: Some(Box::new(Report {
            name: String::new(),
            scores: vec![],
            shape: Shape::Circle { radius: 0.5 },
            tags: BTreeMap::new(),
            nested: None,
        })),
    }
}

#[test]
fn strings_round_trip() {
    let greeting = String::from("Hello");
    let name = "Alice";
    assert_eq!(run(move || format!("{greeting}, {name}!")).unwrap(), "Hello, Alice!");
    assert_eq!(run(String::new).unwrap(), "");
    let text = "ünïcødé\n\u{0}\tend".to_string();
    let expected = text.clone();
    assert_eq!(run(move || text).unwrap(), expected);
}

#[test]
fn vectors_and_collections_round_trip() {
    let data: Vec<i64> = (-500..500).collect();
    let expected: Vec<i64> = data.iter().map(|x| x * x).collect();
    assert_eq!(run(move || data.iter().map(|x| x * x).collect::<Vec<_>>()).unwrap(), expected);

    let words = vec!["a".to_string(), "bb".to_string(), "a".to_string()];
    let counts = run(move || {
        let mut m = HashMap::new();
        for w in words {
            *m.entry(w).or_insert(0u32) += 1;
        }
        m
    })
    .unwrap();
    assert_eq!(counts, [("a".to_string(), 2), ("bb".to_string(), 1)].into_iter().collect());

    let nested = run(|| vec![vec![1u8, 2], vec![], vec![3]]).unwrap();
    assert_eq!(nested, vec![vec![1, 2], vec![], vec![3]]);
    assert_eq!(run(|| (1u8, -2i16, 3.5f64, true, 'x', ())).unwrap(), (1, -2, 3.5, true, 'x', ()));
    assert_eq!(run(|| Option::<u8>::None).unwrap(), None);
    let not_a_failure: Result<u8, String> = run(|| Err::<u8, String>("a value, not a failure".into())).unwrap();
    assert_eq!(not_a_failure, Err("a value, not a failure".into()));
    let floats = run(|| [f64::NAN, f64::INFINITY, -0.0]).unwrap();
    assert!(floats[0].is_nan() && floats[1] == f64::INFINITY && floats[2].is_sign_negative());
}

#[test]
fn structs_with_serde_derive_round_trip() {
    let input = report();
    let expected = {
        let mut r = input.clone();
        r.scores.push(9);
        r
    };
    let got = run(move || {
        let mut r = input;
        r.scores.push(9);
        r
    })
    .unwrap();
    assert_eq!(got, expected);
    assert_eq!(run(|| Shape::Empty).unwrap(), Shape::Empty);
}

/// The closure may capture things that are neither `Send` nor serializable: the child has its
/// own copy of the parent's memory. Changes it makes stay in the child.
#[test]
fn captures_need_not_be_send_or_serializable() {
    let shared = Rc::new(RefCell::new(vec![1, 2, 3]));
    let in_child = Rc::clone(&shared);
    let sum = run(move || {
        in_child.borrow_mut().push(4);
        in_child.borrow().iter().sum::<i32>()
    })
    .unwrap();
    assert_eq!(sum, 10);
    assert_eq!(*shared.borrow(), vec![1, 2, 3], "the child's change stays in the child");
}

/// A 64 MiB result crosses the result pipe (far more than a pipe holds) while the parent waits.
#[test]
fn large_vec_u8_round_trips() {
    const LEN: usize = 64 << 20;
    let seed = 7u8;
    let mut p = Process::new(move || (0..LEN).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>());
    p.start().unwrap();
    let pid = p.pid().unwrap();
    let data = join(&mut p).unwrap();
    assert_eq!(data.len(), LEN);
    for (i, &b) in data.iter().enumerate() {
        if b != (i as u8).wrapping_mul(31).wrapping_add(seed) {
            panic!("byte {i} differs");
        }
    }
    assert_reaped(pid);
}

/// Ported from `_TestPool.test_unpickleable_result` (behaviour 20, at the process level): a
/// result that fails to serialize gives a typed Encode error naming the cause, 20 times in a row.
#[test]
fn result_that_fails_to_serialize_is_an_encode_error() {
    for _ in 0..20 {
        let mut p = Process::new(|| Unserializable);
        p.start().unwrap();
        let pid = p.pid().unwrap();
        let err = join(&mut p).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Encode, "{err:?}");
        assert_eq!(err.pid(), Some(pid));
        assert!(err.to_string().contains("this value refuses to be serialized"), "{err}");
        assert_eq!(p.exitcode(), Some(1));
        assert_reaped(pid);
    }
}

/// A value whose `Deserialize` fails in the parent.
#[derive(Debug, Serialize)]
struct Undeserializable(u32);

impl<'de> Deserialize<'de> for Undeserializable {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this value refuses to be deserialized"))
    }
}

#[test]
fn result_that_fails_to_deserialize_is_a_decode_error() {
    let mut p = Process::new(|| Undeserializable(1));
    p.start().unwrap();
    let pid = p.pid().unwrap();
    let err = join(&mut p).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    assert_eq!(err.pid(), Some(pid));
    assert!(err.to_string().contains("this value refuses to be deserialized"), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "the cause is chained");
    assert_eq!(p.exitcode(), Some(0), "the child itself succeeded");
}

/// A value whose `Serialize` panics.
#[derive(Debug, Deserialize)]
struct PanicsWhenSerialized;

impl Serialize for PanicsWhenSerialized {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("serialize panicked")
    }
}

/// A value whose `Drop` panics.
#[derive(Debug, Serialize, Deserialize)]
struct PanicsWhenDropped(u8);

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        if multiproc::parent_process().is_some() {
            panic!("drop panicked");
        }
    }
}

/// A panic while the child encodes or drops its value is reported like any other panic, with
/// its message, not as a bare exit code.
#[test]
fn panic_while_encoding_is_a_panic() {
    let err = run(|| PanicsWhenSerialized).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked, "{err:?}");
    assert_eq!(err.panic().unwrap().message, "serialize panicked");

    let err = run(|| PanicsWhenDropped(1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panicked, "{err:?}");
    assert_eq!(err.panic().unwrap().message, "drop panicked");
}
