//! Saved replies in a form Karma 1.0 can read.
//!
//! An idempotent write's first reply is kept on disk twice: in its WAL
//! entry (`idempotency_response`) and in `karma.idempotency.json`
//! (`response`). A reply may hold an integer above `i64::MAX` even when
//! every number of the request fits an i64: `series.batch_add`'s `total`
//! is the sum of the item values. Karma 1.0 parses every integer of a WAL
//! line and of that file as an Int64 and stops at a larger one (`Invalid
//! Int64`), so such a reply would make a Karma 1.0 node or slave unable to
//! start on data it could otherwise read. Karma 1.0 itself never saves a
//! reply in the WAL (it recomputes it by running the entry again) and
//! cannot load its own file once a reply there overflows.
//!
//! So a reply with such an integer is written as two fields: the usual
//! one, with each integer above `i64::MAX` written as the nearest float
//! (which Karma 1.0 reads as a Float64 and, for the file, would answer to
//! a retry), followed by `<field>_json`, the exact reply as a JSON string,
//! which Karma 1.0 ignores and this server reads instead. A reply without
//! such an integer is written as before, byte for byte.

use crate::util::json_writer::{write_f64, write_str};

/// Whether the compact JSON `reply` holds an integer above `i64::MAX`.
pub fn has_wide_integer(reply: &[u8]) -> bool {
    let mut wide = false;
    scan(reply, |token| wide |= is_wide(token));
    wide
}

/// Appends `"<field>":<reply>`, or for a reply with an integer above
/// `i64::MAX` `"<field>":<reply with floats>,"<field>_json":"<reply>"`.
/// The caller writes the separating comma before it.
pub fn write_saved_reply(out: &mut Vec<u8>, field: &str, reply: &[u8]) {
    write_str(out, field);
    out.push(b':');
    if !has_wide_integer(reply) {
        out.extend_from_slice(reply);
        return;
    }
    let mut copied = 0;
    scan(reply, |token| {
        if is_wide(token) {
            let start = token.as_ptr() as usize - reply.as_ptr() as usize;
            out.extend_from_slice(&reply[copied..start]);
            let digits = std::str::from_utf8(token).unwrap_or("0");
            write_f64(out, digits.parse::<f64>().unwrap_or(0.0));
            copied = start + token.len();
        }
    });
    out.extend_from_slice(&reply[copied..]);
    out.push(b',');
    write_str(out, &format!("{field}_json"));
    out.push(b':');
    write_str(out, &String::from_utf8_lossy(reply));
}

/// A non-negative integer literal beyond `i64::MAX` (19 digits or more).
fn is_wide(token: &[u8]) -> bool {
    token.len() >= 19
        && token.iter().all(u8::is_ascii_digit)
        && std::str::from_utf8(token).ok().and_then(|t| t.parse::<i64>().ok()).is_none()
}

/// Calls `each` with every number literal of the valid JSON `text`,
/// skipping strings.
fn scan(text: &[u8], mut each: impl FnMut(&[u8])) {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < text.len() && matches!(text[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                each(&text[start..i]);
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests;
