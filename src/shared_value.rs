//! `Value<T>` and `Array<T>`: Python's `multiprocessing.Value` and `Array`, plain data in
//! shared memory with a lock.

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};
use crate::ipc_sys::{Locked, RawMutex};
use crate::shm::Region;
use crate::sync::{MutexHandle, RLock, RLockGuard};

/// Plain data that may live in shared memory and be read by other processes: the bound on
/// [`Value`] and [`Array`] elements (what `bytemuck::Pod` means, without the dependency).
///
/// Implemented for the integer and floating-point types and for arrays of `Plain` types.
/// `bool` and `char` are left out because not every bit pattern is a valid `bool` or `char`:
/// a process killed halfway through a write could leave one that is neither. References,
/// pointers, `String`, `Vec` and `Box` are left out because an address means nothing in
/// another process. Use `u8` for a flag, and [`Queue`](crate::Queue) for owned data.
///
/// # Safety
/// Implement it only for a `#[repr(C)]` or `#[repr(transparent)]` type made of `Plain` fields,
/// for which every bit pattern is a valid value, and that contains no pointers or references.
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// #[repr(C)]
/// struct Point { x: f64, y: f64 }
/// // SAFETY: two f64 fields, no padding, any bits are a valid Point, no pointers.
/// unsafe impl multiproc::Plain for Point {}
///
/// let p = multiproc::Value::new(Point { x: 1.0, y: 2.0 })?;
/// assert_eq!(p.get()?.y, 2.0);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain {
    ($($t:ty),*) => { $(
        // SAFETY: a primitive number: every bit pattern is a valid value, no pointers.
        unsafe impl Plain for $t {}
    )* };
}
plain!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);
// SAFETY: an array of Plain elements has no padding between them and inherits their properties.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// The shared mapping of a `Value` or `Array`: a recursive robust mutex, a "borrowed" flag, and
/// `len` elements of `T`.
struct Cells<T> {
    lock: RLock,
    borrowed: NonNull<AtomicU32>,
    data: NonNull<T>,
    len: usize,
    _t: PhantomData<T>,
}

impl<T> Clone for Cells<T> {
    fn clone(&self) -> Self {
        Cells { lock: self.lock.clone(), borrowed: self.borrowed, data: self.data, len: self.len, _t: PhantomData }
    }
}

const BORROWED_AT: usize = std::mem::size_of::<RawMutex>().next_multiple_of(8);

impl<T: Plain> Cells<T> {
    /// Maps room for `len` elements, all zero bits (a valid `T`, since `T: Plain`).
    fn new(len: usize, what: &str) -> Result<Cells<T>> {
        let align = std::mem::align_of::<T>().max(8);
        if align > 4096 {
            return Err(Error::invalid_input(format!("{what}: alignment {align} is larger than a page; use a type aligned to at most 4096")));
        }
        let data_at = (BORROWED_AT + 4).next_multiple_of(align);
        let bytes = std::mem::size_of::<T>()
            .checked_mul(len)
            .and_then(|b| b.checked_add(data_at))
            .ok_or_else(|| Error::invalid_input(format!("{what}: {len} elements do not fit in memory")))?;
        let region = Region::new(bytes, what)?;
        let base = region.ptr();
        // SAFETY: offset 0 is page-aligned and the region is at least BORROWED_AT bytes longer
        // than a RawMutex; nothing else uses these bytes.
        let handle = unsafe { MutexHandle::init_in(region, 0, true) }?;
        // SAFETY: data_at + len * size_of::<T>() <= bytes (computed above), and data_at is a
        // multiple of T's alignment within a page-aligned mapping; BORROWED_AT + 4 <= data_at.
        let (borrowed, data) = unsafe { (base.add(BORROWED_AT).cast::<AtomicU32>(), base.add(data_at).cast::<T>()) };
        Ok(Cells {
            lock: RLock::from_handle(handle),
            borrowed: NonNull::new(borrowed).ok_or_else(|| Error::invalid_state("shared memory mapped at address 0"))?,
            data: NonNull::new(data).ok_or_else(|| Error::invalid_state("shared memory mapped at address 0"))?,
            len,
            _t: PhantomData,
        })
    }

    fn borrowed(&self) -> &AtomicU32 {
        // SAFETY: an aligned AtomicU32 inside the mapping that `self.lock` keeps alive;
        // zero-initialized, which is a valid AtomicU32.
        unsafe { self.borrowed.as_ref() }
    }

    /// Takes the lock for a short access. Fails if this thread holds a guard from `lock()`
    /// (its `&mut` must stay the only way to the data while it lives).
    fn enter(&self, what: &str) -> Result<RLockGuard<'_>> {
        let handle = self.lock.handle();
        let result = handle.raw().lock(None);
        if let Ok(Locked::OwnerDied(_)) = result {
            // The dead process may have held a guard; it holds nothing now.
            self.borrowed().store(0, Ordering::Relaxed);
        }
        handle.check(result, what, None)?;
        let guard = self.lock.guard(); // releases the level we just took
        if self.borrowed().load(Ordering::Relaxed) != 0 {
            return Err(Error::invalid_state(format!(
                "{what} is borrowed by a guard from lock() on this thread; read and write through that guard, or drop it first"
            )));
        }
        Ok(guard)
    }

    /// Reads element `i`. Caller holds the lock and checked `i < len`.
    fn read(&self, i: usize) -> T {
        // SAFETY: i < len (checked by callers); the lock is held, so no other process or thread
        // writes, and no `&mut` from a guard exists (`enter` checked the borrowed flag).
        unsafe { self.data.as_ptr().add(i).read() }
    }

    /// Writes element `i`. Caller holds the lock and checked `i < len`.
    fn write(&self, i: usize, value: T) {
        // SAFETY: as for `read`; writing a Copy value over a Copy value drops nothing.
        unsafe { self.data.as_ptr().add(i).write(value) }
    }
}

/// One plain value in shared memory, like Python's `multiprocessing.Value`, with a lock.
///
/// [`get`](Value::get) and [`set`](Value::set) each take the lock for one access. For a
/// read-modify-write (`+= 1`), hold the lock across it: [`lock`](Value::lock) returns a guard
/// that derefs to the value, or take [`get_lock`](Value::get_lock) (an [`RLock`], as in Python,
/// so `get`/`set` still work while you hold it).
///
/// `T` must be [`Plain`] (numbers, arrays of numbers, or your own `#[repr(C)]` plain struct).
///
/// **Send/Sync:** both (for `T: Plain`, itself `Send + Sync`); every access goes through the
/// process-shared lock. Clones refer to the same value.
///
/// **Drop:** unmaps the memory in this process once the last clone is dropped; the value lives
/// on in processes still holding a clone.
///
/// ```
/// let counter = multiproc::Value::new(0i64)?;
/// let c = counter.clone();
/// let child = multiproc::spawn(move || {
///     for _ in 0..1000 {
///         *c.lock().unwrap() += 1;
///     }
/// })?;
/// for _ in 0..1000 {
///     *counter.lock()? += 1;
/// }
/// child.join()?;
/// assert_eq!(counter.get()?, 2000);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Value<T: Plain> {
    cells: Cells<T>,
}

// SAFETY: the value is only reached while holding its process-shared lock (or through a guard,
// which is !Send); T: Plain is Send + Sync.
unsafe impl<T: Plain> Send for Value<T> {}
// SAFETY: as above: `&Value` only offers locked accesses.
unsafe impl<T: Plain> Sync for Value<T> {}

impl<T: Plain> Clone for Value<T> {
    fn clone(&self) -> Self {
        Value { cells: self.cells.clone() }
    }
}

/// Locked access to a [`Value`]: derefs to the value; releases the lock when dropped.
///
/// ```
/// let v = multiproc::Value::new(1.5f64)?;
/// let mut guard = v.lock()?;
/// *guard *= 2.0;
/// assert_eq!(*guard, 3.0);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ValueGuard<'a, T: Plain> {
    value: &'a Value<T>,
    _guard: RLockGuard<'a>,
}

impl<T: Plain> Value<T> {
    /// Puts `value` in a new block of shared memory.
    ///
    /// ```
    /// let v = multiproc::Value::new(42u32)?;
    /// assert_eq!(v.get()?, 42);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new(value: T) -> Result<Value<T>> {
        let cells = Cells::new(1, "a Value")?;
        cells.write(0, value); // nobody else can see it yet
        Ok(Value { cells })
    }

    /// Reads the value (taking the lock for the read). An
    /// [`OwnerDied`](crate::ErrorKind::OwnerDied) error if a process died holding the lock.
    ///
    /// ```
    /// let v = multiproc::Value::new(7i8)?;
    /// let w = v.clone();
    /// multiproc::spawn(move || w.set(-7).unwrap())?.join()?;
    /// assert_eq!(v.get()?, -7); // the child's write
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get(&self) -> Result<T> {
        let _guard = self.cells.enter("the Value")?;
        Ok(self.cells.read(0))
    }

    /// Replaces the value (taking the lock for the write).
    ///
    /// ```
    /// let v = multiproc::Value::new(0u8)?;
    /// v.set(255)?;
    /// assert_eq!(v.get()?, 255);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn set(&self, value: T) -> Result<()> {
        let _guard = self.cells.enter("the Value")?;
        self.cells.write(0, value);
        Ok(())
    }

    /// Takes the lock and returns a guard that derefs (mutably) to the value. While it lives,
    /// `get`, `set` and `lock` on this thread return an
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error instead of aliasing it.
    ///
    /// ```
    /// let v = multiproc::Value::new(10u64)?;
    /// {
    ///     let mut guard = v.lock()?;
    ///     *guard += 5;
    ///     assert!(v.get().is_err()); // use the guard instead
    /// }
    /// assert_eq!(v.get()?, 15);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn lock(&self) -> Result<ValueGuard<'_, T>> {
        let guard = self.cells.enter("the Value")?;
        self.cells.borrowed().store(1, Ordering::Relaxed);
        Ok(ValueGuard { value: self, _guard: guard })
    }

    /// The value's lock (Python's `get_lock()`), re-entrant so `get`/`set` work while it is held.
    ///
    /// ```
    /// let v = multiproc::Value::new(1i32)?;
    /// let _held = v.get_lock().acquire()?;
    /// v.set(v.get()? + 1)?; // no other process can come between the get and the set
    /// assert_eq!(v.get()?, 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get_lock(&self) -> &RLock {
        &self.cells.lock
    }
}

impl<T: Plain> Deref for ValueGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock and the borrowed flag, so nothing else reads or
        // writes the value until it is dropped; the pointer is valid and aligned.
        unsafe { &*self.value.cells.data.as_ptr() }
    }
}

impl<T: Plain> DerefMut for ValueGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as for `deref`; `&mut self` makes this the only reference handed out.
        unsafe { &mut *self.value.cells.data.as_ptr() }
    }
}

impl<T: Plain> Drop for ValueGuard<'_, T> {
    fn drop(&mut self) {
        // Cleared before `_guard` releases the lock (fields drop after this body).
        self.value.cells.borrowed().store(0, Ordering::Relaxed);
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Value");
        match self.cells.lock.try_acquire() {
            Ok(_guard) if self.cells.borrowed().load(Ordering::Relaxed) == 0 => s.field("value", &self.cells.read(0)),
            _ => s.field("value", &format_args!("<locked>")),
        };
        s.finish()
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ValueGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueGuard").field("value", &**self).finish()
    }
}

/// A fixed-length array of plain values in shared memory, like Python's
/// `multiprocessing.Array`, with a lock.
///
/// Element accesses ([`get`](Array::get), [`set`](Array::set), [`to_vec`](Array::to_vec))
/// each take the lock; [`lock`](Array::lock) returns a guard that derefs to the whole slice.
/// Out-of-range indexes are [`InvalidInput`](crate::ErrorKind::InvalidInput) errors, not panics.
///
/// **Send/Sync:** both, as for [`Value`]. **Drop:** as for [`Value`].
///
/// ```
/// let squares = multiproc::Array::<u32>::new(4)?;
/// let s = squares.clone();
/// multiproc::spawn(move || {
///     let mut all = s.lock().unwrap();
///     for (i, x) in all.iter_mut().enumerate() {
///         *x = (i * i) as u32;
///     }
/// })?
/// .join()?;
/// assert_eq!(squares.to_vec()?, [0, 1, 4, 9]);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Array<T: Plain> {
    cells: Cells<T>,
}

// SAFETY: as for Value: every access is under the process-shared lock; T: Plain is Send + Sync.
unsafe impl<T: Plain> Send for Array<T> {}
// SAFETY: as above.
unsafe impl<T: Plain> Sync for Array<T> {}

impl<T: Plain> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array { cells: self.cells.clone() }
    }
}

/// Locked access to a whole [`Array`]: derefs to `[T]`; releases the lock when dropped.
///
/// ```
/// let a = multiproc::Array::from_slice(&[3, 1, 2])?;
/// let mut all = a.lock()?;
/// all.sort();
/// assert_eq!(*all, [1, 2, 3]);
/// # Ok::<(), multiproc::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct ArrayGuard<'a, T: Plain> {
    array: &'a Array<T>,
    _guard: RLockGuard<'a>,
}

impl<T: Plain> Array<T> {
    /// An array of `len` zeros (all bits zero; Python's `Array(typecode, len)`).
    ///
    /// ```
    /// let a = multiproc::Array::<f64>::new(3)?;
    /// assert_eq!(a.to_vec()?, [0.0; 3]);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn new(len: usize) -> Result<Array<T>> {
        Ok(Array { cells: Cells::new(len, "an Array")? })
    }

    /// An array holding a copy of `values`.
    ///
    /// ```
    /// let a = multiproc::Array::from_slice(&[1u8, 2, 3])?;
    /// assert_eq!(a.len(), 3);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn from_slice(values: &[T]) -> Result<Array<T>> {
        let cells = Cells::new(values.len(), "an Array")?;
        for (i, v) in values.iter().enumerate() {
            cells.write(i, *v); // nobody else can see it yet
        }
        Ok(Array { cells })
    }

    /// The number of elements.
    ///
    /// ```
    /// assert_eq!(multiproc::Array::<i32>::new(5)?.len(), 5);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.cells.len
    }

    /// True for an array of no elements.
    ///
    /// ```
    /// assert!(multiproc::Array::<i32>::new(0)?.is_empty());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cells.len == 0
    }

    fn check_index(&self, i: usize) -> Result<()> {
        if i < self.cells.len {
            Ok(())
        } else {
            Err(Error::invalid_input(format!("index {i} is out of range for an Array of length {}", self.cells.len)))
        }
    }

    /// Reads element `i`.
    ///
    /// ```
    /// let a = multiproc::Array::from_slice(&[10, 20])?;
    /// assert_eq!(a.get(1)?, 20);
    /// assert!(a.get(2).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get(&self, i: usize) -> Result<T> {
        self.check_index(i)?;
        let _guard = self.cells.enter("the Array")?;
        Ok(self.cells.read(i))
    }

    /// Writes element `i`.
    ///
    /// ```
    /// let a = multiproc::Array::<i16>::new(2)?;
    /// a.set(0, -1)?;
    /// assert_eq!(a.to_vec()?, [-1, 0]);
    /// assert!(a.set(5, 1).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn set(&self, i: usize, value: T) -> Result<()> {
        self.check_index(i)?;
        let _guard = self.cells.enter("the Array")?;
        self.cells.write(i, value);
        Ok(())
    }

    /// A copy of all elements, read under one lock.
    ///
    /// ```
    /// assert_eq!(multiproc::Array::from_slice(&[1, 2])?.to_vec()?, vec![1, 2]);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn to_vec(&self) -> Result<Vec<T>> {
        let _guard = self.cells.enter("the Array")?;
        Ok((0..self.cells.len).map(|i| self.cells.read(i)).collect())
    }

    /// Overwrites all elements from `values` under one lock; an
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) error if the lengths differ.
    ///
    /// ```
    /// let a = multiproc::Array::<u8>::new(2)?;
    /// a.copy_from_slice(&[4, 5])?;
    /// assert!(a.copy_from_slice(&[1]).is_err());
    /// assert_eq!(a.to_vec()?, [4, 5]);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn copy_from_slice(&self, values: &[T]) -> Result<()> {
        if values.len() != self.cells.len {
            return Err(Error::invalid_input(format!(
                "copy_from_slice got {} values for an Array of length {}",
                values.len(),
                self.cells.len
            )));
        }
        let _guard = self.cells.enter("the Array")?;
        for (i, v) in values.iter().enumerate() {
            self.cells.write(i, *v);
        }
        Ok(())
    }

    /// Takes the lock and returns a guard that derefs (mutably) to the whole slice. While it
    /// lives, other accesses on this thread return an
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error instead of aliasing it.
    ///
    /// ```
    /// let a = multiproc::Array::from_slice(&[1, 2, 3])?;
    /// let sum: i32 = a.lock()?.iter().sum();
    /// assert_eq!(sum, 6);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn lock(&self) -> Result<ArrayGuard<'_, T>> {
        let guard = self.cells.enter("the Array")?;
        self.cells.borrowed().store(1, Ordering::Relaxed);
        Ok(ArrayGuard { array: self, _guard: guard })
    }

    /// The array's lock (Python's `get_lock()`), re-entrant so element accesses still work
    /// while it is held.
    ///
    /// ```
    /// let a = multiproc::Array::from_slice(&[1, 2])?;
    /// let _held = a.get_lock().acquire()?;
    /// a.set(0, a.get(1)?)?;
    /// assert_eq!(a.get(0)?, 2);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn get_lock(&self) -> &RLock {
        &self.cells.lock
    }
}

impl<T: Plain> Deref for ArrayGuard<'_, T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        let cells = &self.array.cells;
        // SAFETY: the guard holds the lock and the borrowed flag, so nothing else touches the
        // elements; `data` is aligned, non-null and valid for `len` initialized elements.
        unsafe { std::slice::from_raw_parts(cells.data.as_ptr(), cells.len) }
    }
}

impl<T: Plain> DerefMut for ArrayGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut [T] {
        let cells = &self.array.cells;
        // SAFETY: as for `deref`; `&mut self` makes this the only reference handed out.
        unsafe { std::slice::from_raw_parts_mut(cells.data.as_ptr(), cells.len) }
    }
}

impl<T: Plain> Drop for ArrayGuard<'_, T> {
    fn drop(&mut self) {
        self.array.cells.borrowed().store(0, Ordering::Relaxed);
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Array");
        s.field("len", &self.cells.len);
        match self.cells.lock.try_acquire() {
            Ok(_guard) if self.cells.borrowed().load(Ordering::Relaxed) == 0 => {
                let values: Vec<T> = (0..self.cells.len).map(|i| self.cells.read(i)).collect();
                s.field("values", &values)
            }
            _ => s.field("values", &format_args!("<locked>")),
        };
        s.finish()
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for ArrayGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayGuard").field("values", &&**self).finish()
    }
}
