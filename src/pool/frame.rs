//! The byte frames between the pool and its workers. Each frame is a little-endian `u32` length
//! followed by that many bytes, so boundaries survive the pipe and a frame torn by a dying
//! worker is simply never complete.
//!
//! Parent to worker: `RUN id call data input` or `EXIT`.
//! Worker to parent: `id micros started_ns outcome`, where `micros` is how long the task ran (the
//! pool uses it to decide how many tasks to queue per worker), `started_ns` when it started on
//! CLOCK_MONOTONIC (for timelines) and `outcome` a tagged [`crate::wire::Outcome`].

/// Kind byte of a task frame that runs a task.
pub(crate) const RUN: u8 = 0;
/// Kind byte of a task frame that asks the worker to exit.
pub(crate) const EXIT: u8 = 1;
/// Result id a worker uses to report that the pool's initializer failed.
pub(crate) const INIT_FAILED: u64 = u64::MAX;

/// Appends a frame whose body is written by `body` to `out`.
pub(crate) fn push(out: &mut Vec<u8>, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    body(out);
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends a RUN frame.
pub(crate) fn push_run(out: &mut Vec<u8>, id: u64, call: usize, data: usize, input: &[u8]) {
    push(out, |out| {
        out.push(RUN);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(call as u64).to_le_bytes());
        out.extend_from_slice(&(data as u64).to_le_bytes());
        out.extend_from_slice(input);
    });
}

/// Appends an EXIT frame.
pub(crate) fn push_exit(out: &mut Vec<u8>) {
    push(out, |out| out.push(EXIT));
}

/// The next complete frame's body in `buf[*pos..]`, advancing `pos`; None if incomplete.
pub(crate) fn next<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = &buf[*pos..];
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let body = rest.get(4..4 + len)?;
    *pos += 4 + len;
    Some(body)
}

/// Reads a little-endian u64 at `at`.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a little-endian u32 at `at`.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_keep_their_boundaries_and_torn_frames_wait() {
        let mut buf = Vec::new();
        push_run(&mut buf, 7, 1, 2, b"abc");
        push_exit(&mut buf);
        let mut pos = 0;
        let run = next(&buf, &mut pos).unwrap();
        assert_eq!(run[0], RUN);
        assert_eq!(u64_at(run, 1), Some(7));
        assert_eq!(&run[25..], b"abc");
        assert_eq!(next(&buf, &mut pos), Some(&[EXIT][..]));
        assert_eq!(next(&buf, &mut pos), None);
        let torn = &buf[..buf.len() - 1];
        let mut pos = 0;
        assert!(next(torn, &mut pos).is_some());
        assert_eq!(next(torn, &mut pos), None);
    }
}
