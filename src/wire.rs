//! How values and outcomes cross between processes: serde with bincode, plus a one-byte tag
//! saying whether the child returned, panicked or could not encode its value.

use serde::{de::DeserializeOwned, Serialize};

use crate::error::{Error, PanicInfo, Result};

/// Serializes `value` for another process; `what` names it in the error.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<Vec<u8>> {
    bincode::serialize(value).map_err(|e| Error::encode(what, e))
}

/// Appends `value`'s encoding to `out`.
pub(crate) fn encode_into<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T, what: &str) -> Result<()> {
    bincode::serialize_into(out, value).map_err(|e| Error::encode(what, e))
}

/// Turns bytes from another process back into a value; `what` names it in the error.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    bincode::deserialize(bytes).map_err(|e| Error::decode(what, e))
}

/// How a piece of work in a child ended, as read back by the parent from its tagged bytes.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    /// It returned; these are the encoded return value's bytes (borrowed, never copied).
    Returned(&'a [u8]),
    /// It panicked.
    Panicked(PanicInfo),
    /// It returned a value that failed to serialize; the error message.
    EncodeFailed(String),
}

const RETURNED: u8 = 0;
const PANICKED: u8 = 1;
const ENCODE_FAILED: u8 = 2;

/// Runs `f` under catch_unwind and appends how it ended to `out`, tagged: the value is
/// serialized straight into `out` (one buffer, no copy: it may be 64 MB), or replaced by the
/// panic report or the encode error. A panic while serializing or dropping the value counts as
/// the closure's panic. Returns true if the value was returned and encoded.
pub(crate) fn record<R: Serialize>(out: &mut Vec<u8>, f: impl FnOnce() -> R) -> bool {
    let start = out.len();
    out.push(RETURNED);
    let encoded = crate::panic::catch(|| {
        let value = f();
        let result = bincode::serialize_into(&mut *out, &value);
        drop(value);
        result
    });
    match encoded {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            out.truncate(start);
            record_encode_failed(out, &e.to_string());
            false
        }
        Err(info) => {
            out.truncate(start);
            record_panic(out, &info);
            false
        }
    }
}

/// Appends a tagged panic report.
pub(crate) fn record_panic(out: &mut Vec<u8>, info: &PanicInfo) {
    out.push(PANICKED);
    // A PanicInfo is strings and integers: bincode cannot fail on it.
    let _ = bincode::serialize_into(&mut *out, info);
}

/// Appends a tagged encode (or argument decode) failure.
pub(crate) fn record_encode_failed(out: &mut Vec<u8>, message: &str) {
    out.push(ENCODE_FAILED);
    out.extend_from_slice(message.as_bytes());
}

impl<'a> Outcome<'a> {
    /// Reads the tagged form; `None` if it is empty or torn (the writer died mid-message).
    pub(crate) fn read_from(bytes: &'a [u8]) -> Option<Outcome<'a>> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            RETURNED => Some(Outcome::Returned(rest)),
            PANICKED => bincode::deserialize(rest).ok().map(Outcome::Panicked),
            ENCODE_FAILED => Some(Outcome::EncodeFailed(String::from_utf8_lossy(rest).into_owned())),
            _ => None,
        }
    }

    /// The value or the error this outcome stands for; `who` names the process in messages.
    pub(crate) fn into_result<R: DeserializeOwned>(self, who: &str, pid: i32) -> Result<R> {
        match self {
            Outcome::Returned(bytes) => decode(bytes, "the value the child returned").map_err(|e| e.with_pid(pid)),
            Outcome::Panicked(info) => Err(Error::panicked(who, info)),
            Outcome::EncodeFailed(message) => Err(Error::new(
                crate::ErrorKind::Encode,
                format!("{who} returned a value that could not be serialized: {message}; return a type whose Serialize succeeds"),
            )
            .with_pid(pid)),
        }
    }
}
