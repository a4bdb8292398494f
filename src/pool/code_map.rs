//! Which machine code a process has: the address ranges of every loaded object (executable and
//! shared libraries) at one moment.
//!
//! In a notebook each cell is compiled into a new shared library loaded after the pool's workers
//! were forked; a worker forked earlier does not have that code, and calling into it would crash.
//! The pool takes a snapshot when it forks a worker and sends a task only to workers whose
//! snapshot contains the task's entry point.

use std::ffi::c_void;

/// Address ranges of the loadable segments of every object mapped when the snapshot was taken.
#[derive(Debug, Clone, Default)]
pub(crate) struct CodeMap {
    /// Sorted, non-overlapping `[start, end)` ranges.
    ranges: Vec<(usize, usize)>,
}

impl CodeMap {
    /// The objects loaded in this process right now.
    /// [dl_iterate_phdr(3)](https://man7.org/linux/man-pages/man3/dl_iterate_phdr.3.html)
    pub(crate) fn current() -> CodeMap {
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        // SAFETY: `collect` only reads the `dl_phdr_info` it is given for the duration of the
        // call and pushes into the Vec passed as `data`, which outlives the call.
        unsafe {
            libc::dl_iterate_phdr(Some(collect), &mut ranges as *mut Vec<(usize, usize)> as *mut c_void);
        }
        ranges.sort_unstable();
        CodeMap { ranges }
    }

    /// True if `addr` lies in an object that was loaded when this snapshot was taken.
    pub(crate) fn contains(&self, addr: usize) -> bool {
        let i = self.ranges.partition_point(|&(start, _)| start <= addr);
        i > 0 && addr < self.ranges[i - 1].1
    }
}

unsafe extern "C" fn collect(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut c_void) -> libc::c_int {
    // SAFETY: dl_iterate_phdr passes a valid info pointer for this call, and `data` is the
    // `&mut Vec` given in `CodeMap::current`, not aliased elsewhere during the iteration.
    let (info, ranges) = unsafe { (&*info, &mut *(data as *mut Vec<(usize, usize)>)) };
    if info.dlpi_phdr.is_null() {
        return 0;
    }
    // SAFETY: dlpi_phdr points to dlpi_phnum program headers of this object.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) };
    for h in headers.iter().filter(|h| h.p_type == libc::PT_LOAD) {
        let start = (info.dlpi_addr as usize).wrapping_add(h.p_vaddr as usize);
        ranges.push((start, start.wrapping_add(h.p_memsz as usize)));
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_code_is_in_the_snapshot_and_heap_is_not() {
        let map = CodeMap::current();
        let code: fn() = own_code_is_in_the_snapshot_and_heap_is_not;
        assert!(map.contains(code as usize));
        let heap = Box::new(0u64);
        assert!(!map.contains(&*heap as *const u64 as usize));
    }
}
