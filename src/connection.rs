//! `pipe()` and `Connection`: Python's `multiprocessing.Pipe` and its connection objects.
//!
//! A connection is one end of a connected pair of Unix stream sockets. Each message travels as
//! a frame: a 4-byte marker, an 8-byte little-endian length, then the bytes. The reader keeps
//! a partial frame across `recv_timeout` calls, so a timeout never splits or loses a message,
//! and a frame cut short by the end of the stream (a writer killed mid-message) is reported as
//! an error, never returned.
//!
//! End-of-stream cannot rely on the socket alone: fork gives every child a copy of every end
//! its parent had open, so the socket stays open as long as any child lives. Closing an end
//! therefore also sends an in-band "closed" frame (see `Connection::close` and Drop).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::ipc_sys;
use crate::sync::os_failed;

/// Marks the start of every frame, so that bytes from a second writer on the same end (which
/// the docs warn against) give a clear error rather than a bogus length.
const MAGIC: [u8; 4] = *b"mpc1";
/// The frame a closing end sends: this marker and a zero length. No message follows it.
const CLOSED: [u8; 4] = *b"mpc0";
const HEADER: usize = 12;
/// Largest message accepted: a length beyond this means the stream is out of step.
const MAX_MESSAGE: u64 = 1 << 40;
/// How much to ask the kernel for at once while no large frame is pending.
const READ_CHUNK: usize = 64 * 1024;

/// Creates a pipe and returns its two ends, like Python's `multiprocessing.Pipe(duplex)`.
///
/// With `duplex` true both ends can send and receive. With `duplex` false the first end only
/// receives and the second only sends (Python's order: `reader, writer = Pipe(False)`); using
/// an end the wrong way is an [`InvalidState`](ErrorKind::InvalidState) error.
///
/// Create the pipe before forking and move one end into the child's closure: the parent's copy
/// of a moved end is closed when the child starts, so the parent sees end-of-stream once the
/// child is gone.
///
/// ```
/// use std::time::Duration;
/// let (parent, child_end) = multiproc::pipe(true)?;
/// let child = multiproc::spawn(move || {
///     let n: i32 = child_end.recv_timeout(Duration::from_secs(10)).unwrap();
///     child_end.send(&(n * 2)).unwrap();
/// })?;
/// parent.send(&21)?;
/// assert_eq!(parent.recv_timeout::<i32>(Duration::from_secs(10))?, 42);
/// child.join()?;
/// # Ok::<(), multiproc::Error>(())
/// ```
pub fn pipe(duplex: bool) -> Result<(Connection, Connection)> {
    let (a, b) = ipc_sys::socketpair().map_err(|e| Error::start("socketpair", e))?;
    Ok((Connection::new(a, true, duplex), Connection::new(b, duplex, true)))
}

/// One end of a [`pipe`], like Python's `multiprocessing.connection.Connection`.
///
/// [`send`](Connection::send) / [`recv`](Connection::recv) move serde values (bincode);
/// [`send_bytes`](Connection::send_bytes) / [`recv_bytes`](Connection::recv_bytes) move raw
/// bytes. Every send is one message for the receiver: boundaries are kept, however large.
/// [`poll`](Connection::poll) waits until something can be received.
///
/// After the other end is closed ([`close`](Connection::close), or dropped by the process that
/// used it, or its process exited), receiving gives a
/// [`Disconnected`](ErrorKind::Disconnected) error once the messages sent before are read, and
/// sending gives one too. A message cut short because its writer died is reported as
/// `Disconnected`, never returned in part.
///
/// Sending waits while the socket buffer (a few hundred KiB) is full, until the other end
/// reads. So, as in Python, a child sending a large message to a parent that joins it before
/// receiving waits forever: receive first, then join (or join with a timeout).
///
/// One writer per end: two processes sending on copies of the same end at the same time would
/// interleave their frames (the reader then gets a [`Decode`](ErrorKind::Decode) error).
///
/// **Send, not Sync:** an end can move to another thread, but is used from one thread at a time
/// (as in Python), since a message is written and read in several system calls. Wrap it in a
/// `Mutex` to share it between threads.
///
/// ```compile_fail
/// fn shared_between_threads<T: Sync>(_: &T) {}
/// let (a, _b) = multiproc::pipe(true).unwrap();
/// shared_between_threads(&a); // error: `Connection` is not `Sync`
/// ```
///
/// **Drop:** closes this process's copy of the socket and, if this process sent or received on
/// this end, tells the other end it was closed (see [`close`](Connection::close) for why this
/// is needed with fork). Never blocks. Not `Clone`: after a fork the child has its own copy of
/// every end the parent had open at that moment.
///
/// ```
/// let (reader, writer) = multiproc::pipe(false)?;
/// writer.send_bytes(b"one")?;
/// writer.send_bytes(b"two")?;
/// assert_eq!(reader.recv_bytes()?, b"one"); // boundaries kept
/// assert_eq!(reader.recv_bytes()?, b"two");
/// drop(writer);
/// assert_eq!(reader.recv_bytes().unwrap_err().kind(), multiproc::ErrorKind::Disconnected);
/// # Ok::<(), multiproc::Error>(())
/// ```
pub struct Connection {
    fd: OwnedFd,
    readable: bool,
    writable: bool,
    inbox: RefCell<Inbox>,
    /// The pid of the last process that sent or received on this end: the process it belongs
    /// to, whose drop closes it for the other end.
    used_by: Cell<i32>,
}

/// Received bytes not yet handed out: `buf[start..]`, at most one partial frame plus whatever
/// followed it.
#[derive(Default)]
struct Inbox {
    buf: Vec<u8>,
    start: usize,
    /// Set once end-of-stream was seen.
    eof: bool,
}

enum Frame {
    /// A whole frame: its payload is `buf[from..to]`.
    Ready { from: usize, to: usize },
    /// Not all there yet; this many more bytes complete it (or at least the header).
    Need(usize),
    /// The other end was closed; the marker ends at `to`.
    Closed { to: usize },
}

impl Inbox {
    fn pending(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn frame(&self) -> Result<Frame> {
        let pending = self.pending();
        if pending.len() < HEADER {
            return Ok(Frame::Need(HEADER - pending.len()));
        }
        if pending[..4] == CLOSED {
            return Ok(Frame::Closed { to: self.start + HEADER });
        }
        if pending[..4] != MAGIC {
            return Err(Error::new(
                ErrorKind::Decode,
                "the connection's byte stream is out of step (a frame does not start with its marker); \
                 two processes probably wrote to the same end at once: give each writer its own pipe",
            ));
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&pending[4..HEADER]);
        let len = u64::from_le_bytes(len_bytes);
        if len > MAX_MESSAGE {
            return Err(Error::new(ErrorKind::Decode, format!("the connection announced a message of {len} bytes, more than the 1 TiB limit: the stream is corrupt")));
        }
        let len = len as usize;
        if pending.len() - HEADER >= len {
            let from = self.start + HEADER;
            Ok(Frame::Ready { from, to: from + len })
        } else {
            Ok(Frame::Need(HEADER + len - pending.len()))
        }
    }

    /// True if a "closed" frame is among the whole frames received but not yet handed out.
    fn holds_close(&self) -> bool {
        let mut rest = self.pending();
        while rest.len() >= HEADER {
            if rest[..4] == CLOSED {
                return true;
            }
            if rest[..4] != MAGIC {
                return false;
            }
            let mut len_bytes = [0u8; 8];
            len_bytes.copy_from_slice(&rest[4..HEADER]);
            let len = u64::from_le_bytes(len_bytes);
            match usize::try_from(len).ok().and_then(|l| l.checked_add(HEADER)) {
                Some(skip) if skip <= rest.len() => rest = &rest[skip..],
                _ => return false,
            }
        }
        false
    }

    /// Marks `buf[..to]` as handed out and compacts the buffer when that is cheap.
    fn consume(&mut self, to: usize) {
        self.start = to;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > 4 * READ_CHUNK {
                self.buf = Vec::new(); // do not keep a 16 MiB buffer around for small messages
            }
        } else if self.start > READ_CHUNK && self.start * 2 > self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

impl Connection {
    fn new(fd: OwnedFd, readable: bool, writable: bool) -> Connection {
        Connection { fd, readable, writable, inbox: RefCell::new(Inbox::default()), used_by: Cell::new(0) }
    }

    fn touch(&self) {
        self.used_by.set(crate::sys::getpid());
    }

    /// True if the other end announced it closed (or vanished): sending would reach nobody.
    fn peer_closed(&self) -> bool {
        if self.inbox.try_borrow().is_ok_and(|inbox| inbox.eof || inbox.holds_close()) {
            return true;
        }
        // A one-way writer never receives: anything arriving is the reader's "closed" frame.
        !self.readable && ipc_sys::has_input(self.fd.as_fd())
    }

    /// Sends the "closed" frame if it fits now (12 bytes go whole or not at all); Drop must
    /// never block.
    fn send_closed_marker(&self) {
        let mut frame = [0u8; HEADER];
        frame[..4].copy_from_slice(&CLOSED);
        let _ = ipc_sys::send_nowait(self.fd.as_fd(), &frame);
    }

    /// Closes this end: the other end's `recv` gives [`Disconnected`](ErrorKind::Disconnected)
    /// once it has received the messages sent before, even if forked children still hold
    /// copies of this end (they inherit every end open at fork time). Python's `close()`.
    ///
    /// Dropping an end does the same if this process sent or received on it. An end this
    /// process never used (typically the parent's copy of an end it moved into a child) is only
    /// closed locally on drop, so handing an end to a child does not close it. So hand an end
    /// to a child before using it: an end the parent used and then moved into a child would
    /// look closed to the other end once the parent's copy is dropped as the child starts.
    ///
    /// The "closed" frame is sent only if the socket has room for it right now (closing never
    /// waits); if the other end stopped reading and the socket is full, it sees end-of-stream
    /// only when every copy of this end is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (parent, child_end) = multiproc::pipe(true)?;
    /// let child = multiproc::spawn(move || {
    ///     let mut total = 0;
    ///     // Ends when the parent closes its end, although this child holds a copy of it.
    ///     while let Ok(n) = child_end.recv_timeout::<i32>(Duration::from_secs(10)) {
    ///         total += n;
    ///     }
    ///     total
    /// })?;
    /// for n in 1..=3 {
    ///     parent.send(&n)?;
    /// }
    /// parent.close();
    /// assert_eq!(child.join()?, 6);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn close(self) {
        self.send_closed_marker();
        self.used_by.set(0); // Drop need not send it again
    }

    fn check_writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(Error::invalid_state("this end of a one-way pipe only receives; send on the other end (pipe(false) returns (reader, writer))"))
        }
    }

    fn check_readable(&self) -> Result<()> {
        if self.readable {
            Ok(())
        } else {
            Err(Error::invalid_state("this end of a one-way pipe only sends; receive on the other end (pipe(false) returns (reader, writer))"))
        }
    }

    /// Sends all of `frame`. While the socket is full, it waits for room *or* input: input may
    /// be the other end's "closed" frame, and a sender must not wait forever for a reader that
    /// is gone (the socket itself stays open while forked children hold copies of that end).
    /// Input that arrives meanwhile is kept for `recv`.
    fn write_frame(&self, mut frame: &[u8]) -> Result<()> {
        while !frame.is_empty() {
            match ipc_sys::send_nowait(self.fd.as_fd(), frame) {
                Ok(n) => frame = &frame[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let (_, readable) = ipc_sys::wait_writable_or_readable(self.fd.as_fd()).map_err(|e| os_failed("poll on a pipe", "the pipe may have been closed by a crash; create a new pipe", e))?;
                    if readable && self.take_input_sees_close()? {
                        return Err(Error::new(
                            ErrorKind::Disconnected,
                            "cannot send: the other end of the pipe was closed while this message was being sent",
                        ));
                    }
                }
                Err(e) => return Err(self.send_error(e)),
            }
        }
        Ok(())
    }

    /// Moves whatever input is waiting into the inbox (nothing is lost: `recv` hands it out
    /// later) and reports whether the other end has closed.
    fn take_input_sees_close(&self) -> Result<bool> {
        let Ok(mut inbox) = self.inbox.try_borrow_mut() else {
            return Ok(false);
        };
        while !inbox.eof {
            match ipc_sys::recv_some(self.fd.as_fd(), &mut inbox.buf, READ_CHUNK) {
                Ok(0) => inbox.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => inbox.eof = true,
                Err(e) => return Err(os_failed("receiving on a pipe", "the pipe may have been closed by a crash; create a new pipe", e)),
            }
        }
        Ok(inbox.eof || inbox.holds_close())
    }

    fn start_send(&self) -> Result<()> {
        self.check_writable()?;
        self.touch();
        if self.peer_closed() {
            return Err(Error::new(ErrorKind::Disconnected, "cannot send: the other end of the pipe was closed"));
        }
        Ok(())
    }

    fn send_error(&self, e: std::io::Error) -> Error {
        match e.raw_os_error() {
            Some(libc::EPIPE) | Some(libc::ECONNRESET) => Error::new(
                ErrorKind::Disconnected,
                "cannot send: the other end of the pipe was closed (dropped, or its process exited)",
            )
            .with_source(e),
            _ => os_failed("sending on a pipe", "the pipe may have been closed by a crash; create a new pipe", e),
        }
    }

    /// Sends `value` (serialized with bincode) as one message.
    ///
    /// Errors: [`Encode`](ErrorKind::Encode) if it cannot be serialized (nothing is sent),
    /// [`Disconnected`](ErrorKind::Disconnected) if the other end is closed.
    ///
    /// ```
    /// let (a, b) = multiproc::pipe(true)?;
    /// a.send(&vec!["x".to_string(), "y".to_string()])?;
    /// assert_eq!(b.recv::<Vec<String>>()?, ["x", "y"]);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        self.start_send()?;
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(&MAGIC);
        frame.extend_from_slice(&[0; 8]);
        crate::wire::encode_into(&mut frame, value, "a value sent on a pipe")?;
        let len = (frame.len() - HEADER) as u64;
        frame[4..HEADER].copy_from_slice(&len.to_le_bytes());
        self.write_frame(&frame)
    }

    /// Sends `bytes` as one message, as is.
    ///
    /// ```
    /// let (a, b) = multiproc::pipe(true)?;
    /// a.send_bytes(&[])?; // an empty message is a message
    /// assert_eq!(b.recv_bytes()?, b"");
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<()> {
        self.start_send()?;
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&MAGIC);
        header[4..].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
        if bytes.len() <= READ_CHUNK {
            let mut frame = Vec::with_capacity(HEADER + bytes.len());
            frame.extend_from_slice(&header);
            frame.extend_from_slice(bytes);
            self.write_frame(&frame)
        } else {
            // Large: two sends rather than copying the payload.
            self.write_frame(&header)?;
            self.write_frame(bytes)
        }
    }

    /// Receives until one whole frame is there or `deadline` passes; returns its payload.
    fn recv_frame<R>(&self, deadline: Option<Instant>, waited: Option<Duration>, take: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
        self.check_readable()?;
        self.touch();
        let mut inbox = self
            .inbox
            .try_borrow_mut()
            .map_err(|_| Error::invalid_state("this connection is already receiving (re-entrant call)"))?;
        loop {
            let need = match inbox.frame() {
                Ok(Frame::Ready { from, to }) => {
                    let result = take(&inbox.buf[from..to]);
                    inbox.consume(to);
                    return result;
                }
                Ok(Frame::Closed { to }) => {
                    inbox.consume(to);
                    inbox.eof = true;
                    continue;
                }
                Ok(Frame::Need(n)) => n,
                Err(e) => {
                    // Out of step: nothing after this point can be trusted; drop it.
                    let end = inbox.buf.len();
                    inbox.consume(end);
                    return Err(e);
                }
            };
            if inbox.eof {
                let partial = inbox.pending().len();
                let end = inbox.buf.len();
                inbox.consume(end);
                return Err(if partial == 0 {
                    Error::new(ErrorKind::Disconnected, "the other end of the pipe was closed (dropped, or its process exited) and every message was received")
                } else {
                    Error::new(
                        ErrorKind::Disconnected,
                        format!(
                            "the other end of the pipe was closed in the middle of a message ({partial} bytes of it arrived, {need} missing); \
                             its writer probably died while sending. The partial message was discarded"
                        ),
                    )
                });
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let ready = ipc_sys::wait_readable(self.fd.as_fd(), left).map_err(|e| os_failed("poll on a pipe", "the pipe may have been closed by a crash; create a new pipe", e))?;
            if !ready {
                if left.is_some_and(|l| l.is_zero()) || deadline.is_some_and(|d| Instant::now() >= d) {
                    let got = inbox.pending().len();
                    let more = if got > 0 { format!(" ({got} bytes of the next message arrived; they are kept for the next call)") } else { String::new() };
                    return Err(Error::timeout(format!("no whole message arrived within {:?}{more}", waited.unwrap_or_default())));
                }
                continue;
            }
            // Read straight into place: a big frame in one go, else a chunk at a time.
            let want = need.max(READ_CHUNK);
            match ipc_sys::recv_some(self.fd.as_fd(), &mut inbox.buf, want) {
                Ok(0) => inbox.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                    return Err(Error::new(ErrorKind::Decode, format!("not enough memory to receive a message ({need} more bytes)")))
                }
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => inbox.eof = true,
                Err(e) => return Err(os_failed("receiving on a pipe", "the pipe may have been closed by a crash; create a new pipe", e)),
            }
        }
    }

    /// Receives one value, waiting as long as it takes. In tests prefer
    /// [`recv_timeout`](Connection::recv_timeout), so a missing send fails instead of hanging.
    ///
    /// Errors: [`Disconnected`](ErrorKind::Disconnected) once the other end is closed and
    /// everything was received; [`Decode`](ErrorKind::Decode) if the message is not a `T`
    /// (the message is consumed; the next one can still be received).
    ///
    /// ```
    /// let (a, b) = multiproc::pipe(true)?;
    /// a.send(&(1u8, 'x'))?;
    /// let got: (u8, char) = b.recv()?;
    /// assert_eq!(got, (1, 'x'));
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T> {
        self.recv_frame(None, None, |bytes| crate::wire::decode(bytes, "a value received on a pipe"))
    }

    /// Receives one value, waiting at most `timeout`; a [`Timeout`](ErrorKind::Timeout) error
    /// when it runs out (a message that arrived in part is kept for the next call).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, b) = multiproc::pipe(true)?;
    /// assert!(b.recv_timeout::<u8>(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// a.send(&5u8)?;
    /// assert_eq!(b.recv_timeout::<u8>(Duration::from_millis(10))?, 5);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T> {
        self.recv_frame(Some(Instant::now() + timeout), Some(timeout), |bytes| crate::wire::decode(bytes, "a value received on a pipe"))
    }

    /// Receives one message's bytes, waiting as long as it takes.
    ///
    /// ```
    /// let (a, b) = multiproc::pipe(true)?;
    /// b.send_bytes(b"raw")?;
    /// assert_eq!(a.recv_bytes()?, b"raw");
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn recv_bytes(&self) -> Result<Vec<u8>> {
        self.recv_frame(None, None, |bytes| Ok(bytes.to_vec()))
    }

    /// Receives one message's bytes, waiting at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, b) = multiproc::pipe(true)?;
    /// assert!(a.recv_bytes_timeout(Duration::ZERO).unwrap_err().is_timeout());
    /// b.send_bytes(b"late")?;
    /// assert_eq!(a.recv_bytes_timeout(Duration::from_secs(1))?, b"late");
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>> {
        self.recv_frame(Some(Instant::now() + timeout), Some(timeout), |bytes| Ok(bytes.to_vec()))
    }

    /// Waits at most `timeout` until there is something to receive: true if a message (or part
    /// of one, or end-of-stream) is there, like Python's `poll(timeout)`. `Duration::ZERO`
    /// checks without waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, b) = multiproc::pipe(true)?;
    /// assert!(!b.poll(Duration::from_millis(100))?);
    /// a.send(&"ping")?;
    /// assert!(b.poll(Duration::from_millis(100))?);
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool> {
        self.check_readable()?;
        self.touch();
        if let Ok(inbox) = self.inbox.try_borrow() {
            if !inbox.pending().is_empty() || inbox.eof {
                return Ok(true);
            }
        }
        ipc_sys::wait_readable(self.fd.as_fd(), Some(timeout)).map_err(|e| os_failed("poll on a pipe", "the pipe may have been closed by a crash; create a new pipe", e))
    }

    /// True for an end that can receive (both ends of a duplex pipe; the first of a one-way pipe).
    ///
    /// ```
    /// let (r, w) = multiproc::pipe(false)?;
    /// assert!(r.readable() && !r.writable());
    /// assert!(w.writable() && !w.readable());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn readable(&self) -> bool {
        self.readable
    }

    /// True for an end that can send.
    ///
    /// ```
    /// let (a, b) = multiproc::pipe(true)?;
    /// assert!(a.writable() && b.writable());
    /// # Ok::<(), multiproc::Error>(())
    /// ```
    pub fn writable(&self) -> bool {
        self.writable
    }
}

impl Drop for Connection {
    /// Closes the socket in this process; if this process used this end, first tells the other
    /// end it was closed (see [`close`](Connection::close)). Never blocks.
    fn drop(&mut self) {
        if self.used_by.get() == crate::sys::getpid() {
            self.send_closed_marker();
        }
    }
}

impl AsFd for Connection {
    /// The socket, e.g. to wait on several connections with `poll(2)` (Python's `fileno()`).
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Connection {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("fd", &self.fd.as_raw_fd())
            .field("readable", &self.readable)
            .field("writable", &self.writable)
            .finish()
    }
}
