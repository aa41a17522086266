//! Reply envelopes (docs/protocol.md, The envelope), written into a reused buffer.
//! Lines end with `\r\n` (docs/protocol.md, Differences from Karma 1.0: the Karma 1.0 README's
//! promise).

use super::error::{CommandError, ErrorCode};
use crate::util::json_writer::write_str;

const SUCCESS_HEAD: &[u8] = b"{\"protocol_version\":2,\"success\":true,\"response\":";
const SUCCESS_TAIL: &[u8] = b",\"error_code\":null}";
const ERROR_HEAD: &[u8] = b"{\"protocol_version\":2,\"success\":false,\"response\":";

/// The reply line terminator.
pub const LINE_END: &[u8] = b"\r\n";

/// Byte length of the success envelope around a `response` body of
/// `body_len` bytes (without the line end), as `--max-response-bytes` counts it.
pub fn success_len(body_len: usize, idempotent: Option<bool>) -> usize {
    let flag = match idempotent {
        None => 0,
        Some(true) => ",\"idempotent\":true".len(),
        Some(false) => ",\"idempotent\":false".len(),
    };
    SUCCESS_HEAD.len() + body_len + flag + SUCCESS_TAIL.len()
}

/// Appends a success envelope whose `response` is the JSON in `body`.
pub fn write_success(out: &mut Vec<u8>, body: &[u8], idempotent: Option<bool>) {
    out.extend_from_slice(SUCCESS_HEAD);
    out.extend_from_slice(body);
    match idempotent {
        None => {}
        Some(true) => out.extend_from_slice(b",\"idempotent\":true"),
        Some(false) => out.extend_from_slice(b",\"idempotent\":false"),
    }
    out.extend_from_slice(SUCCESS_TAIL);
    out.extend_from_slice(LINE_END);
}

/// Appends an error envelope.
pub fn write_error(out: &mut Vec<u8>, error: &CommandError) {
    write_error_parts(out, error.code, &error.message);
}

pub fn write_error_parts(out: &mut Vec<u8>, code: ErrorCode, message: &str) {
    out.extend_from_slice(ERROR_HEAD);
    write_str(out, message);
    out.extend_from_slice(b",\"error_code\":\"");
    out.extend_from_slice(code.as_str().as_bytes());
    out.extend_from_slice(b"\"}");
    out.extend_from_slice(LINE_END);
}

#[cfg(test)]
mod tests;
