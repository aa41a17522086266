//! The line envelope (docs/storage.md, The write-ahead log): `{"v":2,"lsn":N,"entry":<entry>}\n`.
//!
//! Writing is a byte copy: the entry arrives already serialised and is put
//! between a fixed prefix and `}`. Reading has a fast path for exactly the
//! layout we (and Karma 1.0) write, which needs no JSON parser: the entry is
//! the slice between `,"entry":` and the final `}`. Any other line (other key
//! order, spaces) is validated with serde_json and then taken apart by a
//! small scanner that keeps the entry's own key order, because the entry is
//! handed on verbatim (replay, replication) and must not be reordered.

use std::borrow::Cow;

use super::files::push_u64;

const PREFIX: &[u8] = br#"{"v":2,"lsn":"#;
const ENTRY_KEY: &[u8] = br#","entry":"#;

/// Appends one complete WAL line for (`lsn`, `entry`) to `buf`.
pub fn encode_line(buf: &mut Vec<u8>, lsn: u64, entry: &[u8]) {
    buf.extend_from_slice(PREFIX);
    push_u64(buf, lsn);
    buf.extend_from_slice(ENTRY_KEY);
    buf.extend_from_slice(entry);
    buf.extend_from_slice(b"}\n");
}

/// What one WAL line (without its `\n`) holds.
#[derive(Debug, PartialEq)]
pub enum Line<'a> {
    /// Empty or only whitespace: skipped by every reader.
    Blank,
    /// A v2 envelope: its LSN and the entry's compact JSON text.
    Record { lsn: u64, entry: Cow<'a, [u8]> },
    /// Valid JSON without a usable `lsn` or `entry` (v1 lines, bare entries).
    NoEnvelope(&'static str),
}

/// Parses one line (without its terminating `\n`). `Err` is the JSON
/// parser's error for a line that is not valid JSON.
pub fn parse_line(line: &[u8]) -> Result<Line<'_>, serde_json::Error> {
    if let Some((lsn, entry)) = fast_path(line) {
        return Ok(Line::Record { lsn, entry: Cow::Borrowed(entry) });
    }
    slow_path(line)
}

/// The LSN of a line when it can be read cheaply: the fast-path prefix, else
/// a full parse. `None` for blank lines, lines without an envelope and
/// unparsable lines.
pub fn line_lsn(line: &[u8]) -> Option<u64> {
    if let Some(rest) = line.strip_prefix(PREFIX) {
        if let Some((lsn, _)) = leading_u64(rest) {
            return Some(lsn);
        }
    }
    match slow_path(line) {
        Ok(Line::Record { lsn, .. }) => Some(lsn),
        _ => None,
    }
}

/// Like [`parse_line`] but validates the whole line as JSON even when the
/// fast path matches. Used where a torn line must be told from a complete
/// one (the unterminated tail of the active file).
pub fn parse_line_strict(line: &[u8]) -> Result<Line<'_>, serde_json::Error> {
    if !is_blank(line) {
        serde_json::from_slice::<serde::de::IgnoredAny>(line)?;
    }
    parse_line(line)
}

/// True for lines that hold nothing but JSON whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn fast_path(line: &[u8]) -> Option<(u64, &[u8])> {
    let rest = line.strip_prefix(PREFIX)?;
    let (lsn, rest) = leading_u64(rest)?;
    let rest = rest.strip_prefix(ENTRY_KEY)?;
    let entry = rest.strip_suffix(b"}")?;
    // A torn line can end in an inner `}`; the entry object must then still
    // open and close, which a cut-off object does not.
    if entry.first() == Some(&b'{') && entry.last() == Some(&b'}') {
        Some((lsn, entry))
    } else {
        None
    }
}

/// A JSON-valid decimal u64 at the start of `bytes` (no leading zeros,
/// no overflow), and the rest.
fn leading_u64(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || (digits > 1 && bytes[0] == b'0') {
        return None;
    }
    let mut value: u64 = 0;
    for &b in &bytes[..digits] {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some((value, &bytes[digits..]))
}

fn slow_path(line: &[u8]) -> Result<Line<'_>, serde_json::Error> {
    if is_blank(line) {
        return Ok(Line::Blank);
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(line)?;
    // From here on the line is known to be valid JSON, which keeps the
    // scanner below simple: it never has to report syntax errors.
    let mut at = skip_ws(line, 0);
    if line.get(at) != Some(&b'{') {
        return Ok(Line::NoEnvelope("not a JSON object"));
    }
    at += 1;
    let mut lsn_span = None;
    let mut entry_span = None;
    loop {
        at = skip_ws(line, at);
        if line.get(at) != Some(&b'"') {
            break; // `}` of an empty object
        }
        let key_end = skip_value(line, at);
        let key = &line[at..key_end];
        at = skip_ws(line, key_end) + 1; // the `:`
        at = skip_ws(line, at);
        let value_end = skip_value(line, at);
        match key_text(key).as_deref() {
            Some("lsn") => lsn_span = Some(&line[at..value_end]),
            Some("entry") => entry_span = Some(&line[at..value_end]),
            _ => {}
        }
        at = skip_ws(line, value_end);
        if line.get(at) == Some(&b',') {
            at += 1;
        } else {
            break;
        }
    }
    let Some(entry) = entry_span else {
        return Ok(Line::NoEnvelope("WAL entry without v2 LSN envelope is not supported"));
    };
    let Some(lsn) = lsn_span else {
        return Ok(Line::NoEnvelope("WAL line without lsn"));
    };
    let Ok(lsn) = serde_json::from_slice::<u64>(lsn) else {
        return Ok(Line::NoEnvelope("WAL line lsn is not an unsigned integer"));
    };
    Ok(Line::Record { lsn, entry: compact(entry) })
}

fn key_text(raw: &[u8]) -> Option<Cow<'_, str>> {
    let inner = &raw[1..raw.len() - 1];
    if inner.contains(&b'\\') {
        serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
    } else {
        std::str::from_utf8(inner).ok().map(Cow::Borrowed)
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\r' | b'\n') {
        at += 1;
    }
    at
}

/// End of the (valid) JSON value starting at `at`.
fn skip_value(bytes: &[u8], at: usize) -> usize {
    match bytes.get(at) {
        Some(b'"') => skip_string(bytes, at),
        Some(b'{') | Some(b'[') => {
            let mut depth = 0usize;
            let mut i = at;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = skip_string(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        _ => {
            let mut i = at;
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            i
        }
    }
}

/// End (one past the closing quote) of the string starting at `at`.
fn skip_string(bytes: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// Removes insignificant whitespace, keeping everything else (key order,
/// string escapes, number spelling) as written.
fn compact(value: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < value.len() {
        let b = value[i];
        if b == b'"' {
            let end = skip_string(value, i);
            if let Some(out) = out.as_mut() {
                out.extend_from_slice(&value[i..end]);
            }
            i = end;
            continue;
        }
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            out.get_or_insert_with(|| value[..i].to_vec());
        } else if let Some(out) = out.as_mut() {
            out.push(b);
        }
        i += 1;
    }
    match out {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(value),
    }
}

#[cfg(test)]
pub(super) mod tests;
