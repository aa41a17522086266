//! Writing JSON straight into a reusable byte buffer.
//!
//! Replies, WAL entries and sidecars are rendered by hand rather than through
//! `serde_json::Value`, so field order is exactly the protocol's and the hot
//! path does no intermediate allocation. String escaping follows docs/protocol.md, Connections and
//! framing: `"` and `\` escaped, `\b \f \n \r \t` by name, other control bytes and DEL as `\u00XX`
//! (lowercase hex), everything else raw UTF-8.

/// Appends `value` as a JSON string literal.
pub fn write_str(out: &mut Vec<u8>, value: &str) {
    out.push(b'"');
    let bytes = value.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f | 0x7f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        run_start = i + 1;
        if escape.is_empty() {
            let mut digits = [0u8; 2];
            // Cannot fail: two digits for one byte.
            let _ = hex::encode_to_slice([b], &mut digits);
            out.extend_from_slice(b"\\u00");
            out.extend_from_slice(&digits);
        } else {
            out.extend_from_slice(escape);
        }
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

/// Appends an unsigned integer in decimal (every reply and WAL line has
/// some; itoa writes two digits per step from a table).
pub fn write_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a signed integer in decimal.
pub fn write_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Appends a float in its shortest round-trip form, always with a
/// fractional part or exponent (`0.0`, `28.236576127`), as Karma 1.0 does.
pub fn write_f64(out: &mut Vec<u8>, value: f64) {
    use std::io::Write;
    let value = if value.is_finite() { value } else { 0.0 };
    let _ = write!(out, "{value:?}");
}

/// Appends `"name":` (the caller writes a separating comma first).
pub fn write_key(out: &mut Vec<u8>, name: &str) {
    write_str(out, name);
    out.push(b':');
}

/// Appends a JSON `null` or the string.
pub fn write_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

pub fn write_bool(out: &mut Vec<u8>, value: bool) {
    out.extend_from_slice(if value { b"true" } else { b"false" });
}

#[cfg(test)]
mod tests;
