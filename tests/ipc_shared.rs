//! Shared memory between real forked processes: `Value` and `Array` writes in a child are seen
//! by the parent (the "Also" line of `python-multiprocessing.md`), and a named `SharedMemory`
//! block is attached by name.
//!
//! Every wait is time-limited (`join_timeout`), so a hang fails the test.

use std::time::Duration;

use multiproc::{spawn, Array, ErrorKind, Plain, SharedMemory, Value};

const LIMIT: Duration = Duration::from_secs(30);

/// Ported from CPython `_TestValue.test_value`: values of several types, changed by a child,
/// read back by the parent.
#[test]
fn value_writes_in_a_child_are_seen_by_the_parent() {
    let int = Value::new(-7i32).unwrap();
    let float = Value::new(0.5f64).unwrap();
    let byte = Value::new(b'x').unwrap();
    let pair = Value::new([1u16, 2]).unwrap();
    let (i, f, b, p) = (int.clone(), float.clone(), byte.clone(), pair.clone());
    let mut child = spawn(move || {
        i.set(i.get().unwrap() * 2).unwrap();
        f.set(f.get().unwrap() + 1.0).unwrap();
        b.set(b'y').unwrap();
        p.lock().unwrap().reverse();
    })
    .unwrap();
    child.join_timeout(LIMIT).unwrap();
    assert_eq!(int.get().unwrap(), -14);
    assert_eq!(float.get().unwrap(), 1.5);
    assert_eq!(byte.get().unwrap(), b'y');
    assert_eq!(pair.get().unwrap(), [2, 1]);
}

/// Ported from CPython `_TestArray.test_array`: a child fills an array, the parent reads it;
/// out-of-range accesses are typed errors, not panics.
#[test]
fn array_writes_in_a_child_are_seen_by_the_parent() {
    let seq = [5i64, 2, 8, 1, 9, 0, 3];
    let arr = Array::from_slice(&seq).unwrap();
    assert_eq!(arr.len(), seq.len());
    let a = arr.clone();
    let mut child = spawn(move || {
        let mut all = a.lock().unwrap();
        all.sort();
        for x in all.iter_mut() {
            *x *= 10;
        }
    })
    .unwrap();
    child.join_timeout(LIMIT).unwrap();
    assert_eq!(arr.to_vec().unwrap(), [0, 10, 20, 30, 50, 80, 90]);
    assert_eq!(arr.get(7).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(arr.set(100, 1).unwrap_err().kind(), ErrorKind::InvalidInput);

    let zeros = Array::<f32>::new(1000).unwrap();
    let z = zeros.clone();
    let mut child = spawn(move || {
        for i in (0..1000).step_by(10) {
            z.set(i, i as f32).unwrap();
        }
    })
    .unwrap();
    child.join_timeout(LIMIT).unwrap();
    let got = zeros.to_vec().unwrap();
    assert!(got.iter().enumerate().all(|(i, &x)| x == if i % 10 == 0 { i as f32 } else { 0.0 }));
}

/// A user-defined plain struct in a Value.
#[test]
fn plain_struct_in_a_value() {
    #[derive(Clone, Copy, Debug, PartialEq)]
    #[repr(C)]
    struct Stats {
        count: u64,
        sum: f64,
    }
    // SAFETY: two 8-byte plain fields, no padding, no pointers; any bits are a valid Stats.
    unsafe impl Plain for Stats {}

    let stats = Value::new(Stats { count: 0, sum: 0.0 }).unwrap();
    let children: Vec<_> = (1..=3)
        .map(|k| {
            let s = stats.clone();
            spawn(move || {
                let mut g = s.lock().unwrap();
                g.count += 1;
                g.sum += k as f64;
            })
            .unwrap()
        })
        .collect();
    for mut c in children {
        c.join_timeout(LIMIT).unwrap();
    }
    assert_eq!(stats.get().unwrap(), Stats { count: 3, sum: 6.0 });
}

/// Ported from CPython `_TestSharedMemory.test_shared_memory_basics`: a block created by name
/// is attached by name in another process, which sees and changes the same bytes; the
/// creator's drop unlinks the name, and a child's drop of its inherited copy does not.
#[test]
fn named_shared_memory_is_attached_by_name() {
    let name = format!("ipc-test-{}", std::process::id());
    let block = SharedMemory::create_named(&name, 4096).unwrap();
    block.write_at(0, b"from the parent").unwrap();
    let n = name.clone();
    let mut child = spawn(move || {
        let other = SharedMemory::open(&n).unwrap();
        let mut buf = [0u8; 15];
        other.read_at(0, &mut buf).unwrap();
        other.write_at(100, b"from the child").unwrap();
        (String::from_utf8_lossy(&buf).into_owned(), other.len())
    })
    .unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), ("from the parent".to_string(), 4096));
    let mut buf = [0u8; 14];
    block.read_at(100, &mut buf).unwrap();
    assert_eq!(&buf, b"from the child");

    // The same name cannot be created twice.
    assert_eq!(SharedMemory::create_named(&name, 10).unwrap_err().kind(), ErrorKind::InvalidState);

    // A child given a clone of the creator's handle, which it drops, does not unlink; the
    // creator's last drop does.
    let shared = SharedMemory::create(64).unwrap();
    let shared_name = shared.name().to_string();
    let for_child = shared.clone();
    let mut child = spawn(move || drop(for_child)).unwrap();
    child.join_timeout(LIMIT).unwrap();
    assert!(SharedMemory::open(&shared_name).is_ok(), "the child's drop unlinked the block");
    drop(shared);
    assert_eq!(SharedMemory::open(&shared_name).unwrap_err().kind(), ErrorKind::InvalidInput);

    drop(block);
    assert_eq!(SharedMemory::open(&name).unwrap_err().kind(), ErrorKind::InvalidInput);
}
