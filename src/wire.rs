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

/// How a piece of work in a child ended, as the child reports it to the parent.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It returned; these are the encoded return value's bytes.
    Returned(Vec<u8>),
    /// It panicked.
    Panicked(PanicInfo),
    /// It returned a value that failed to serialize; the error message.
    EncodeFailed(String),
}

const RETURNED: u8 = 0;
const PANICKED: u8 = 1;
const ENCODE_FAILED: u8 = 2;

impl Outcome {
    /// Runs `f` under catch_unwind and encodes how it ended. Encoding and dropping the value
    /// run under the same catch: a `Serialize` or `Drop` that panics is reported as the panic
    /// it is, with its message and location.
    pub(crate) fn of<R: Serialize>(f: impl FnOnce() -> R) -> Outcome {
        let encoded = crate::panic::catch(|| {
            let value = f();
            let bytes = bincode::serialize(&value);
            drop(value);
            bytes
        });
        match encoded {
            Ok(Ok(bytes)) => Outcome::Returned(bytes),
            Ok(Err(e)) => Outcome::EncodeFailed(e.to_string()),
            Err(info) => Outcome::Panicked(info),
        }
    }

    /// Appends the tagged form to `out`.
    pub(crate) fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Outcome::Returned(bytes) => {
                out.push(RETURNED);
                out.extend_from_slice(bytes);
            }
            Outcome::Panicked(info) => {
                out.push(PANICKED);
                // A PanicInfo is strings and integers: bincode cannot fail on it.
                let _ = bincode::serialize_into(&mut *out, info);
            }
            Outcome::EncodeFailed(message) => {
                out.push(ENCODE_FAILED);
                out.extend_from_slice(message.as_bytes());
            }
        }
    }

    /// Reads the tagged form; `None` if it is empty or torn (the writer died mid-message).
    pub(crate) fn read_from(bytes: &[u8]) -> Option<Outcome> {
        let (&tag, rest) = bytes.split_first()?;
        match tag {
            RETURNED => Some(Outcome::Returned(rest.to_vec())),
            PANICKED => bincode::deserialize(rest).ok().map(Outcome::Panicked),
            ENCODE_FAILED => Some(Outcome::EncodeFailed(String::from_utf8_lossy(rest).into_owned())),
            _ => None,
        }
    }

    /// The value or the error this outcome stands for; `who` names the process in messages.
    pub(crate) fn into_result<R: DeserializeOwned>(self, who: &str, pid: i32) -> Result<R> {
        match self {
            Outcome::Returned(bytes) => decode(&bytes, "the value the child returned").map_err(|e| e.with_pid(pid)),
            Outcome::Panicked(info) => Err(Error::panicked(who, info)),
            Outcome::EncodeFailed(message) => Err(Error::new(
                crate::ErrorKind::Encode,
                format!("{who} returned a value that could not be serialized: {message}; return a type whose Serialize succeeds"),
            )
            .with_pid(pid)),
        }
    }
}
