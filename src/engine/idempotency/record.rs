//! One stored idempotency record, packed for a registry of up to a
//! million of them (every byte of a record is memory the server must
//! fault in and keep):
//!
//! - the key and the saved reply are one text, `key ++ response`, kept
//!   inline when it is at most 20 bytes (a short key and a counter reply:
//!   no allocation at all) and in one boxed `str` otherwise;
//! - the operation is the `Op` (its internal name is rendered);
//! - the fingerprint is the 32-byte digest, rendered as hex only when the
//!   record is written out.
//!
//! That makes a record 64 bytes, a cache line.
//!
//! A record loaded from `karma.idempotency.json` may carry an operation or
//! a fingerprint this server would never produce; those are kept verbatim
//! in a side box (`Unusual`) so the file is written back unchanged, and no
//! request matches such a fingerprint (a lookup answers a conflict, as it
//! did when fingerprints were compared as text).

use crate::protocol::fingerprint::{digest_from_hex, Digest};
use crate::protocol::op::ALL_OPS;
use crate::protocol::Op;
use crate::util::json_writer::write_str;

/// Longest `key ++ response` kept without an allocation.
const INLINE: usize = 20;

/// `key ++ response`, where the key ends, and the operation, in 24 bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Text {
    /// `bytes[..len]`, the rest zero.
    Inline {
        op: Op,
        key_len: u8,
        len: u8,
        bytes: [u8; INLINE],
    },
    Boxed {
        op: Op,
        key_len: u32,
        text: Box<str>,
    },
    /// Mostly from a file: see [`Unusual`].
    Unusual(Box<Unusual>),
}

/// A loaded record with an operation or a fingerprint that this server
/// would not have written, kept verbatim; or a key too long for
/// `Text::Boxed` (over 4 GiB, so never in practice).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Unusual {
    /// `key ++ response`.
    text: Box<str>,
    key_len: usize,
    /// The operation name when it is no idempotent op's internal name.
    operation: Result<Op, Box<str>>,
    /// The fingerprint when it is not 64 lowercase hex digits.
    fingerprint: Option<Box<str>>,
}

impl Text {
    fn new(op: Op, key: &str, response: &str) -> Text {
        let len = key.len() + response.len();
        if len <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..key.len()].copy_from_slice(key.as_bytes());
            bytes[key.len()..len].copy_from_slice(response.as_bytes());
            return Text::Inline { op, key_len: key.len() as u8, len: len as u8, bytes };
        }
        match u32::try_from(key.len()) {
            Ok(key_len) => Text::Boxed { op, key_len, text: concat(key, response) },
            Err(_) => Text::Unusual(Box::new(Unusual {
                text: concat(key, response),
                key_len: key.len(),
                operation: Ok(op),
                fingerprint: None,
            })),
        }
    }

    /// `key ++ response` and where the key ends.
    fn parts(&self) -> (&[u8], usize) {
        match self {
            Text::Inline { key_len, len, bytes, .. } => (&bytes[..usize::from(*len)], usize::from(*key_len)),
            Text::Boxed { key_len, text, .. } => (text.as_bytes(), *key_len as usize),
            Text::Unusual(unusual) => (unusual.text.as_bytes(), unusual.key_len),
        }
    }
}

fn concat(key: &str, response: &str) -> Box<str> {
    let mut text = String::with_capacity(key.len() + response.len());
    text.push_str(key);
    text.push_str(response);
    text.into_boxed_str()
}

/// One executed idempotent write (docs/protocol.md, Idempotency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    text: Text,
    /// The fingerprint's digest; zero when the fingerprint is unusual.
    digest: Digest,
    /// Server time of the execution, whole Unix seconds.
    pub created_at_unix: i64,
}

impl IdempotencyRecord {
    /// A record of `key` for `op`, whose request had the fingerprint
    /// `digest` and whose first reply's `response` value was `response`
    /// (raw JSON, key order kept).
    pub fn new(key: &str, op: Op, digest: Digest, response: &str, created_at_unix: i64) -> IdempotencyRecord {
        IdempotencyRecord { text: Text::new(op, key, response), digest, created_at_unix }
    }

    /// A record read from a file, fields as written there.
    pub fn from_file(
        key: &str,
        operation: &str,
        fingerprint: &str,
        response: &str,
        created_at_unix: i64,
    ) -> IdempotencyRecord {
        let op = ALL_OPS.iter().copied().find(|op| op.is_idempotent() && op.internal_name() == operation);
        let digest = digest_from_hex(fingerprint);
        let text = match (op, digest) {
            (Some(op), Some(_)) => Text::new(op, key, response),
            _ => Text::Unusual(Box::new(Unusual {
                text: concat(key, response),
                key_len: key.len(),
                operation: op.ok_or_else(|| operation.into()),
                fingerprint: digest.is_none().then(|| fingerprint.into()),
            })),
        };
        IdempotencyRecord { text, digest: digest.unwrap_or_default(), created_at_unix }
    }

    /// The client's `idempotency_key`.
    pub fn key(&self) -> &str {
        // Copied from a `&str` and cut where that `&str` ended.
        std::str::from_utf8(self.key_bytes()).unwrap_or_default()
    }

    /// [`key`](Self::key) as bytes, without the UTF-8 check: what the
    /// index compares.
    pub(super) fn key_bytes(&self) -> &[u8] {
        let (text, key_len) = self.text.parts();
        text.get(..key_len).unwrap_or_default()
    }

    /// The raw JSON of the first reply's `response` value.
    pub fn response(&self) -> &str {
        let (text, key_len) = self.text.parts();
        std::str::from_utf8(text.get(key_len..).unwrap_or_default()).unwrap_or_default()
    }

    /// The internal command name (`increment`, `batch_add`, ...).
    pub fn operation(&self) -> &str {
        match &self.text {
            Text::Inline { op, .. } | Text::Boxed { op, .. } => op.internal_name(),
            Text::Unusual(unusual) => match &unusual.operation {
                Ok(op) => op.internal_name(),
                Err(name) => name,
            },
        }
    }

    /// Whether a request with this fingerprint digest is the request this
    /// record was made for.
    pub fn fingerprint_matches(&self, digest: &Digest) -> bool {
        self.digest == *digest && self.unusual_fingerprint().is_none()
    }

    /// Appends the fingerprint as a JSON string: the digest in lowercase
    /// hex, or the loaded text.
    pub fn write_fingerprint(&self, out: &mut Vec<u8>) {
        if let Some(text) = self.unusual_fingerprint() {
            return write_str(out, text);
        }
        let mut text = [0u8; 64];
        // Cannot fail: the buffer is exactly twice the digest's length.
        let _ = hex::encode_to_slice(self.digest, &mut text);
        out.push(b'"');
        out.extend_from_slice(&text);
        out.push(b'"');
    }

    fn unusual_fingerprint(&self) -> Option<&str> {
        match &self.text {
            Text::Unusual(unusual) => unusual.fingerprint.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
