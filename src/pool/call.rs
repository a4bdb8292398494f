//! How a task function reaches a worker without being serialized.
//!
//! A worker is a fork of the parent, so it already has the function's code and, if the function
//! was created before the worker was forked, its captured data at the same address. The parent
//! sends two addresses: a monomorphized trampoline ([`CallFn`]) and the function value's
//! address; only the arguments and the result are encoded. [`Slot`] records what a worker must
//! have for those addresses to be valid: the trampoline's code (see [`super::code_map`]) and,
//! for a function that carries data, a fork after the function was registered (its epoch).

use serde::{de::DeserializeOwned, Serialize};

use crate::wire::{record, record_encode_failed};

/// Calls a task function: `data` is the function value, `input` the encoded arguments; the
/// tagged outcome (see [`crate::wire::record`]) is appended to `out`.
///
/// # Safety
/// `data` must point to a live value of the function type this trampoline was made for.
pub(crate) type CallFn = unsafe fn(data: *const (), input: &[u8], out: &mut Vec<u8>);

/// A function applied to one argument tuple, Python's `f(*args)`: implemented for closures and
/// functions of 0 to 4 arguments taking a tuple of that many values.
///
/// ```
/// use multiproc::StarFn;
/// fn add(a: i32, b: i32) -> i32 { a + b }
/// assert_eq!(add.call_star((2, 3)), 5);
/// ```
pub trait StarFn<Args> {
    /// What the function returns.
    type Output;
    /// Calls the function with the tuple's elements as its arguments.
    fn call_star(&self, args: Args) -> Self::Output;
}

macro_rules! star_fn {
    ($($arg:ident),*) => {
        impl<Func, Ret, $($arg),*> StarFn<($($arg,)*)> for Func
        where
            Func: Fn($($arg),*) -> Ret,
        {
            type Output = Ret;
            #[allow(non_snake_case)]
            fn call_star(&self, ($($arg,)*): ($($arg,)*)) -> Ret {
                self($($arg),*)
            }
        }
    };
}
star_fn!();
star_fn!(A);
star_fn!(A, B);
star_fn!(A, B, C);
star_fn!(A, B, C, D);

/// The trampoline for `map`-style calls: input is a `Vec<A>` (one chunk), output a `Vec<R>`.
///
/// # Safety
/// `data` must point to a live `F`.
pub(crate) unsafe fn call_chunk<F, A, R>(data: *const (), input: &[u8], out: &mut Vec<u8>)
where
    F: Fn(A) -> R,
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: the caller guarantees `data` points to a live F (for a zero-sized F any aligned,
    // non-null pointer does).
    let f = unsafe { &*(data as *const F) };
    match crate::wire::decode::<Vec<A>>(input, "the task's arguments") {
        Ok(items) => drop(record(out, || items.into_iter().map(f).collect::<Vec<R>>())),
        Err(e) => record_encode_failed(out, &e.to_string()),
    }
}

/// The trampoline for `starmap`: input is a `Vec<Args>` (one chunk), output a `Vec<R>`.
///
/// # Safety
/// `data` must point to a live `F`.
pub(crate) unsafe fn call_star_chunk<F, Args, R>(data: *const (), input: &[u8], out: &mut Vec<u8>)
where
    F: StarFn<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: as in `call_chunk`.
    let f = unsafe { &*(data as *const F) };
    match crate::wire::decode::<Vec<Args>>(input, "the task's arguments") {
        Ok(items) => drop(record(out, || items.into_iter().map(|args| f.call_star(args)).collect::<Vec<R>>())),
        Err(e) => record_encode_failed(out, &e.to_string()),
    }
}

/// The trampoline for `apply`-style calls: input is the argument tuple, output one value.
///
/// # Safety
/// `data` must point to a live `F`.
pub(crate) unsafe fn call_star<F, Args, R>(data: *const (), input: &[u8], out: &mut Vec<u8>)
where
    F: StarFn<Args, Output = R>,
    Args: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: as in `call_chunk`.
    let f = unsafe { &*(data as *const F) };
    match crate::wire::decode::<Args>(input, "the task's arguments") {
        Ok(args) => drop(record(out, || f.call_star(args))),
        Err(e) => record_encode_failed(out, &e.to_string()),
    }
}

/// A registered task function, as the pool's scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Address of the trampoline.
    pub(crate) call: usize,
    /// Address of the function value.
    pub(crate) data: usize,
    /// Workers forked at or after this epoch have the function value; 0 when the value is
    /// zero-sized (a named function or a closure that captures nothing) and any worker has it.
    pub(crate) epoch: u64,
}

impl Slot {
    /// A slot for `f` with trampoline `call`; `epoch` is used only if `F` carries data.
    pub(crate) fn new<F>(f: &F, call: CallFn, epoch: impl FnOnce() -> u64) -> Slot {
        let zero_sized = std::mem::size_of::<F>() == 0;
        Slot {
            call: call as usize,
            data: f as *const F as usize,
            epoch: if zero_sized { 0 } else { epoch() },
        }
    }
}
