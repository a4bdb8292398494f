//! Shared memory: the anonymous regions every queue, lock and `Value` lives in, and
//! [`SharedMemory`], Python's `multiprocessing.shared_memory.SharedMemory`, a named block that
//! any process can attach to.

use std::ffi::CString;
use std::fmt;
use std::os::fd::AsFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ipc_sys;

/// A `MAP_SHARED | MAP_ANONYMOUS` mapping: memory that this process and every process it forks
/// afterwards see at the same address. Unmapped on drop (in this process only; the memory lives
/// until the last process unmaps it or exits).
pub(crate) struct Region {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a Region is raw memory with no thread affinity. Every type built on it synchronizes
// access itself (process-shared mutexes and atomics), which works between threads too.
unsafe impl Send for Region {}
// SAFETY: as above; `&Region` only hands out raw pointers.
unsafe impl Sync for Region {}

impl Region {
    /// Maps `len` zeroed bytes (at least one page).
    pub(crate) fn new(len: usize, what: &str) -> Result<Arc<Region>> {
        let len = len.max(1);
        let ptr = ipc_sys::map_anonymous(len).map_err(|e| {
            Error::new(
                crate::ErrorKind::Start,
                format!("could not map {len} bytes of shared memory for {what}: {e}; free memory or ask for less"),
            )
            .with_source(e)
        })?;
        Ok(Arc::new(Region { ptr, len }))
    }

    /// The start of the mapping (page-aligned).
    pub(crate) fn ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly our mapping; the last Arc is going away, so nothing in
        // this process refers into it any more.
        unsafe { ipc_sys::unmap(self.ptr, self.len) }
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region").field("ptr", &self.ptr).field("len", &self.len).finish()
    }
}

/// A named block of shared memory, like Python's `multiprocessing.shared_memory.SharedMemory`:
/// one process creates it, others attach to it by [`name`](SharedMemory::name), even processes
/// that were not forked from the creator.
///
/// Bytes are read and written with [`read_at`](SharedMemory::read_at) and
/// [`write_at`](SharedMemory::write_at). These are not synchronized: if two processes may touch
/// the same bytes at once, guard them with a [`Lock`](crate::Lock) (a racing read may see a mix
/// of old and new bytes, never anything worse, since every byte pattern is a valid `u8`).
///
/// Clones share one mapping. To give a forked child the block, move a clone (or just the name)
/// into its closure.
///
/// **Send/Sync:** both. The handle is a pointer and a length; the bytes are shared with other
/// processes anyway, and every access copies through raw pointers.
///
/// **Drop:** when the last clone in this process is dropped, unmaps the block here; if the
/// block was made by [`create`](SharedMemory::create) or
/// [`create_named`](SharedMemory::create_named) in this process, also unlinks the name (the
/// copies a forked child inherits never unlink). Processes still attached keep their mapping;
/// nobody new can attach. Call [`keep`](SharedMemory::keep) to leave the name in place
/// (Python's default), then [`unlink`](SharedMemory::unlink) later.
///
/// ```
/// use multiproc::SharedMemory;
/// let block = SharedMemory::create(4096)?;
/// let name = block.name().to_string();
/// let child = multiproc::spawn(move || {
///     // A child attaches by name, as an unrelated process would.
///     let same = SharedMemory::open(&name).unwrap();
///     same.write_at(0, b"hello").unwrap();
/// })?;
/// child.join()?;
/// let mut buf = [0u8; 5];
/// block.read_at(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), multiproc::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedMemory {
    inner: Arc<Named>,
}

/// What clones of a `SharedMemory` share in one process.
struct Named {
    region: Region,
    name: String,
    /// The pid that created the name and unlinks it on drop; 0 for attached handles, and
    /// after `unlink` or `keep`.
    creator: AtomicI32,
}

fn shm_name(name: &str) -> Result<CString> {
    let trimmed = name.strip_prefix('/').unwrap_or(name);
    if trimmed.is_empty() || trimmed.len() > 250 || trimmed.contains('/') || trimmed.contains('\0') {
        return Err(Error::invalid_input(format!(
            "invalid shared memory name {name:?}: use 1 to 250 characters without '/' or NUL (a leading '/' is allowed)"
        )));
    }
    CString::new(format!("/{trimmed}")).map_err(|_| Error::invalid_input("shared memory name contains NUL"))
}

impl SharedMemory {
    fn wrap(region: Region, c_name: &std::ffi::CStr, creator: i32) -> SharedMemory {
        let name = c_name.to_string_lossy().trim_start_matches('/').to_string();
        SharedMemory { inner: Arc::new(Named { region, name, creator: AtomicI32::new(creator) }) }
    }

    /// Creates a block of `size` zeroed bytes under a fresh unique name (Python's
    /// `SharedMemory(create=True, size=size)`).
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(100)?;
    /// assert_eq!(block.len(), 100);
    /// assert!(block.name().starts_with("mp-"));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn create(size: usize) -> Result<SharedMemory> {
        // No static counter (each notebook cell has its own statics): pid, clock and address of
        // a local make the name unique enough; O_EXCL catches the rare clash and we retry.
        let local = 0u8;
        for attempt in 0u32..16 {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
            let name = format!("mp-{}-{:x}-{attempt}", crate::sys::getpid(), nanos ^ (&local as *const u8 as u128));
            match SharedMemory::create_named(&name, size) {
                Err(e) if e.kind() == crate::ErrorKind::InvalidState => continue,
                other => return other,
            }
        }
        Err(Error::new(crate::ErrorKind::Start, "could not find a free shared memory name after 16 tries; use create_named"))
    }

    /// Creates a block of `size` zeroed bytes named `name`. An
    /// [`InvalidState`](crate::ErrorKind::InvalidState) error if the name is taken,
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) if `size` is 0 or the name is not valid.
    ///
    /// ```
    /// use multiproc::{ErrorKind, SharedMemory};
    /// let name = format!("doc-{}", std::process::id());
    /// let block = SharedMemory::create_named(&name, 64)?;
    /// assert_eq!(block.name(), name);
    /// assert_eq!(SharedMemory::create_named(&name, 64).unwrap_err().kind(), ErrorKind::InvalidState);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn create_named(name: &str, size: usize) -> Result<SharedMemory> {
        if size == 0 {
            return Err(Error::invalid_input("a shared memory block needs a size of at least 1 byte"));
        }
        let c_name = shm_name(name)?;
        let fd = ipc_sys::shm_open(&c_name, true).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::invalid_state(format!("shared memory {name:?} already exists; open it with SharedMemory::open, or pick another name"))
                    .with_source(e)
            } else {
                crate::sync::os_failed(&format!("creating shared memory {name:?}"), "check free space in /dev/shm (df -h /dev/shm) and its permissions", e)
            }
        })?;
        let made = ipc_sys::set_len(fd.as_fd(), size)
            .and_then(|()| ipc_sys::map_fd(fd.as_fd(), size))
            .map_err(|e| crate::sync::os_failed(&format!("sizing and mapping shared memory {name:?} ({size} bytes)"), "check free space in /dev/shm (df -h /dev/shm) and its permissions", e));
        match made {
            Ok(ptr) => Ok(SharedMemory::wrap(Region { ptr, len: size }, &c_name, crate::sys::getpid())),
            Err(e) => {
                let _ = ipc_sys::shm_unlink(&c_name);
                Err(e)
            }
        }
    }

    /// Attaches to the existing block `name` (Python's `SharedMemory(name)`), whatever its size.
    /// An [`InvalidInput`](crate::ErrorKind::InvalidInput) error if there is no such block.
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(16)?;
    /// block.write_at(3, &[7])?;
    /// let other = multiproc::SharedMemory::open(block.name())?;
    /// assert_eq!(other.len(), 16);
    /// let mut b = [0u8];
    /// other.read_at(3, &mut b)?;
    /// assert_eq!(b[0], 7);
    /// assert!(multiproc::SharedMemory::open("no-such-block-here").is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn open(name: &str) -> Result<SharedMemory> {
        let c_name = shm_name(name)?;
        let fd = ipc_sys::shm_open(&c_name, false).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::invalid_input(format!("no shared memory named {name:?}; check the name, or whether its creator already dropped it"))
                    .with_source(e)
            } else {
                crate::sync::os_failed(&format!("opening shared memory {name:?}"), "check free space in /dev/shm (df -h /dev/shm) and its permissions", e)
            }
        })?;
        let len = ipc_sys::len_of(fd.as_fd()).map_err(|e| crate::sync::os_failed("fstat on shared memory", "check free space in /dev/shm (df -h /dev/shm) and its permissions", e))?;
        if len == 0 {
            return Err(Error::invalid_state(format!("shared memory {name:?} has size 0 (its creator has not sized it yet); retry")));
        }
        let ptr = ipc_sys::map_fd(fd.as_fd(), len).map_err(|e| crate::sync::os_failed(&format!("mapping shared memory {name:?}"), "the system may be out of memory or address space", e))?;
        Ok(SharedMemory::wrap(Region { ptr, len }, &c_name, 0))
    }

    /// The block's name, without the leading '/' (pass it to [`open`](SharedMemory::open)).
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(1)?;
    /// assert!(!block.name().starts_with('/'));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The size in bytes (Python's `size`).
    ///
    /// ```
    /// assert_eq!(multiproc::SharedMemory::create(10)?.len(), 10);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.inner.region.len
    }

    /// Always false: a block has at least one byte.
    ///
    /// ```
    /// assert!(!multiproc::SharedMemory::create(1)?.is_empty());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.inner.region.len == 0
    }

    fn check_range(&self, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.inner.region.len => Ok(()),
            _ => Err(Error::invalid_input(format!(
                "bytes {offset}..{} are outside shared memory {:?} of {} bytes",
                offset.saturating_add(len),
                self.inner.name,
                self.inner.region.len
            ))),
        }
    }

    /// Copies `buf.len()` bytes starting at `offset` into `buf`. An
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) error if the range is outside the block.
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(8)?;
    /// let mut buf = [1u8; 8];
    /// block.read_at(0, &mut buf)?;
    /// assert_eq!(buf, [0; 8]); // new blocks are zeroed
    /// assert!(block.read_at(4, &mut buf).is_err());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.check_range(offset, buf.len())?;
        // SAFETY: the range was checked to be inside our live mapping; `buf` is a distinct
        // local buffer. Other processes may write concurrently: bytes have no invalid values.
        unsafe { std::ptr::copy_nonoverlapping(self.inner.region.ptr().add(offset), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` into the block at `offset`. An
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) error if it does not fit.
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(4)?;
    /// block.write_at(1, &[9, 9])?;
    /// assert!(block.write_at(3, &[1, 2]).is_err());
    /// let mut buf = [0u8; 4];
    /// block.read_at(0, &mut buf)?;
    /// assert_eq!(buf, [0, 9, 9, 0]);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn write_at(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.check_range(offset, data.len())?;
        // SAFETY: the range was checked to be inside our live, writable mapping; `data` is a
        // distinct buffer. No Rust reference into the mapping exists that this could alias.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.inner.region.ptr().add(offset), data.len()) };
        Ok(())
    }

    /// The start of the block, for code that lays out its own data (with its own
    /// synchronization). Valid while this handle lives.
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(8)?;
    /// assert!(!block.as_ptr().is_null());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn as_ptr(&self) -> *mut u8 {
        self.inner.region.ptr()
    }

    /// Removes the name now (Python's `unlink()`): processes already attached keep the memory,
    /// new [`open`](SharedMemory::open) calls fail. Drop will not unlink again.
    ///
    /// ```
    /// let block = multiproc::SharedMemory::create(8)?;
    /// block.unlink()?;
    /// assert!(multiproc::SharedMemory::open(block.name()).is_err());
    /// block.write_at(0, &[1])?; // still mapped here
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn unlink(&self) -> Result<()> {
        self.inner.creator.store(0, Ordering::Relaxed);
        let c_name = shm_name(&self.inner.name)?;
        ipc_sys::shm_unlink(&c_name).map_err(|e| crate::sync::os_failed(&format!("unlinking shared memory {:?}", self.inner.name), "it may have been unlinked already (by unlink() or another process)", e))
    }

    /// Leaves the name in place when this handle is dropped, so the block outlives its creator
    /// (until someone calls [`unlink`](SharedMemory::unlink) or the machine reboots).
    ///
    /// ```
    /// let name = {
    ///     let block = multiproc::SharedMemory::create(8)?;
    ///     block.keep();
    ///     block.name().to_string()
    /// };
    /// let again = multiproc::SharedMemory::open(&name)?; // still there
    /// assert_eq!(again.len(), 8);
    /// again.unlink()?;
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn keep(&self) {
        self.inner.creator.store(0, Ordering::Relaxed);
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let creator = self.creator.load(Ordering::Relaxed);
        if creator != 0 && creator == crate::sys::getpid() {
            if let Ok(c_name) = shm_name(&self.name) {
                let _ = ipc_sys::shm_unlink(&c_name);
            }
        }
        // The Region field unmaps itself.
    }
}

impl fmt::Debug for SharedMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMemory")
            .field("name", &self.inner.name)
            .field("len", &self.inner.region.len)
            .field("unlinks_on_drop", &(self.inner.creator.load(Ordering::Relaxed) == crate::sys::getpid()))
            .finish()
    }
}
