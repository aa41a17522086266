//! Snapshot file names: `<unix>_<series>.tree`.
//!
//! Karma 1.0 puts the series name into the file name verbatim and reads it
//! back verbatim, so a `/` made a subdirectory and `..` could leave the data
//! directory (defect D10). Every name Karma 1.0 can store is written the
//! same way, so the two implementations read each other's files as the same
//! series: `50%`, `utm%20source` and `cpu%2Fload` are `<unix>_50%.tree`,
//! `<unix>_utm%20source.tree` and `<unix>_cpu%2Fload.tree`.
//!
//! Only names Karma 1.0 cannot store get another file name: names holding
//! `/` or NUL, and names too long for a file name (see
//! [`MAX_VERBATIM_FILE_NAME`]). Since every file name Karma 1.0 could write
//! is a verbatim name, these are told apart by their `<unix>` prefix, which
//! carries one leading `0` (Karma 1.0 never writes one, and reads `0177…`
//! as the same time). After that prefix:
//!
//! - `/`, NUL and `%` are escaped as `%2F`, `%00` and `%25`;
//! - when that would not leave room for the sidecar's temporary file, the
//!   rest is `%H<64 lowercase hex SHA-256 of the series name>` and the real
//!   name lives only in the sidecar's `tree` field (the escaping never
//!   writes `%H`).
//!
//! So no series name can reach outside the data directory, and no two
//! series share a file name.
//!
//! Older versions of this server escaped `%` (and `/`, NUL) in every name
//! and hashed long names without the marked prefix: `<unix>_50%25.tree`,
//! `<unix>_%H<hex>.tree`. A plain name holding a `%` may therefore be such
//! a file, which its sidecar settles: when the sidecar's `tree` is a series
//! whose old or new file name this is, that is the series; otherwise the
//! name reads verbatim ([`ParsedName::sidecar_decides`]).
//!
//! Parsing follows docs/storage.md, Snapshots: strip `.tree`, split at the first
//! `_`, the prefix is a signed 64-bit decimal (surrounding ASCII whitespace
//! and a leading `+` allowed), the rest is the series name, which must not
//! be empty.

use sha2::{Digest, Sha256};

/// Suffix of every series snapshot file (Karma 1.0 named them `.tree`).
pub const SNAPSHOT_SUFFIX: &str = ".tree";

/// Suffix appended to a snapshot's file name to name its sidecar.
pub const SIDECAR_SUFFIX: &str = ".meta.json";

/// Longest snapshot file name written verbatim, in bytes.
///
/// Linux refuses names over 255 bytes. The longest name derived from a
/// snapshot file `F` is its sidecar's temporary file
/// `.F.meta.json.<pid>.<16 hex>.tmp`: `F` plus 43 bytes with a 10-digit pid.
/// Allowing 255 for `F` itself would let `.tree` succeed and its sidecar
/// fail, so the limit is 255 - 43.
pub const MAX_VERBATIM_FILE_NAME: usize = 255 - 43;

/// Marker that starts the series part of a hashed file name.
const HASHED_MARKER: &str = "%H";

/// A snapshot file name taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    /// The `<unix>` prefix.
    pub timestamp: i64,
    /// The series the name spells: verbatim for a plain name, decoded for a
    /// marked one; `None` for a hashed name, whose series is the `tree`
    /// field of its sidecar when [`names_series`] accepts it.
    pub series: Option<String>,
    /// Whether the sidecar's `tree`, when [`names_series`] accepts it, wins
    /// over `series` (a plain name with a `%`, which an older version of
    /// this server may have escaped).
    pub sidecar_decides: bool,
}

/// Why a file name is not a snapshot name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name does not end with `.tree`.
    #[error("the name does not end with .tree")]
    MissingSuffix,
    /// No `_` separates the timestamp from the series.
    #[error("no _ separates the timestamp and the series")]
    NoSeparator,
    /// The part before the first `_` is not a signed 64-bit decimal.
    #[error("Invalid Int64: \"{0}\"")]
    BadTimestamp(String),
    /// Nothing follows the first `_`.
    #[error("the series name is empty")]
    EmptySeries,
    /// A `%H` name without exactly 64 lowercase hex digits, or escapes that
    /// decode to bytes that are not UTF-8.
    #[error("the series name is not validly encoded")]
    BadEncoding,
}

/// The file name of the snapshot of `series` taken at `unix` seconds.
///
/// `series` must not be empty (the protocol layer rejects empty names);
/// an empty name would produce `<unix>_.tree`, which does not parse.
pub fn snapshot_file_name(unix: i64, series: &str) -> String {
    let verbatim = format!("{unix}_{series}{SNAPSHOT_SUFFIX}");
    if !series.contains(['/', '\0']) && verbatim.len() <= MAX_VERBATIM_FILE_NAME {
        return verbatim;
    }
    let prefix = marked_prefix(unix);
    let escaped = format!("{prefix}_{}{SNAPSHOT_SUFFIX}", escape(series));
    if escaped.len() <= MAX_VERBATIM_FILE_NAME {
        return escaped;
    }
    format!("{prefix}_{HASHED_MARKER}{}{SNAPSHOT_SUFFIX}", hex::encode(Sha256::digest(series)))
}

/// The name an older version of this server gave the snapshot: `%`, `/`
/// and NUL escaped in every name, long names hashed, no marked prefix.
fn legacy_file_name(unix: i64, series: &str) -> String {
    let name = format!("{unix}_{}{SNAPSHOT_SUFFIX}", escape(series));
    if name.len() <= MAX_VERBATIM_FILE_NAME {
        return name;
    }
    format!("{unix}_{HASHED_MARKER}{}{SNAPSHOT_SUFFIX}", hex::encode(Sha256::digest(series)))
}

/// Whether `file`, a snapshot taken at `timestamp`, is a file name this
/// server gives (or gave) the snapshots of `series`: how a sidecar's `tree`
/// is checked before it names a file's series.
pub fn names_series(file: &str, timestamp: i64, series: &str) -> bool {
    !series.is_empty() && (snapshot_file_name(timestamp, series) == file || legacy_file_name(timestamp, series) == file)
}

/// `<unix>` with one leading `0` after the sign: the mark of a name that is
/// not the series verbatim.
fn marked_prefix(unix: i64) -> String {
    if unix < 0 {
        format!("-0{}", unix.unsigned_abs())
    } else {
        format!("0{unix}")
    }
}

fn escape(series: &str) -> String {
    let mut escaped = String::with_capacity(series.len());
    for ch in series.chars() {
        match ch {
            '/' => escaped.push_str("%2F"),
            '\0' => escaped.push_str("%00"),
            '%' => escaped.push_str("%25"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The sidecar's file name for the snapshot (or idempotency) file `file`.
pub fn sidecar_file_name(file: &str) -> String {
    format!("{file}{SIDECAR_SUFFIX}")
}

/// Takes a snapshot file name (a basename) apart, as docs/storage.md, Snapshots.
pub fn parse_snapshot_file_name(file: &str) -> Result<ParsedName, NameError> {
    let stem = file.strip_suffix(SNAPSHOT_SUFFIX).ok_or(NameError::MissingSuffix)?;
    let (prefix, encoded) = stem.split_once('_').ok_or(NameError::NoSeparator)?;
    let timestamp = parse_timestamp(prefix)?;
    if encoded.is_empty() {
        return Err(NameError::EmptySeries);
    }
    let hashed = encoded
        .strip_prefix(HASHED_MARKER)
        .map(|digest| digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    if is_marked(prefix) {
        return match hashed {
            Some(true) => Ok(ParsedName { timestamp, series: None, sidecar_decides: true }),
            Some(false) => Err(NameError::BadEncoding),
            None => Ok(ParsedName { timestamp, series: Some(decode_series(encoded)?), sidecar_decides: false }),
        };
    }
    if hashed == Some(true) {
        // An older version's hashed name: without a sidecar naming its
        // series it cannot be attributed.
        return Ok(ParsedName { timestamp, series: None, sidecar_decides: true });
    }
    Ok(ParsedName { timestamp, series: Some(encoded.to_string()), sidecar_decides: encoded.contains('%') })
}

/// Checks the `file` field of `snapshot.load` / `snapshot.fetch*`
/// (docs/protocol.md, Snapshot ops); the error displays as the exact
/// validation message.
pub fn check_requested_file(file: &str) -> Result<(), RequestedFileError> {
    if file.is_empty() {
        return Err(RequestedFileError::Empty);
    }
    // "Must equal its own basename": any `/` (including a trailing one)
    // makes the basename differ from the whole.
    if file.contains('/') {
        return Err(RequestedFileError::NotABasename);
    }
    if !file.ends_with(SNAPSHOT_SUFFIX) {
        return Err(RequestedFileError::NotATreeFile);
    }
    Ok(())
}

/// Why a requested `file` cannot name a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestedFileError {
    #[error("Field file must not be empty")]
    Empty,
    #[error("Field file must be a snapshot basename")]
    NotABasename,
    #[error("Field file must end with .tree")]
    NotATreeFile,
}

/// Parses the `<unix>` prefix like Crystal's `String#to_i64`: surrounding
/// ASCII whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`) and one leading
/// `+` or `-` allowed, then decimal digits only.
fn parse_timestamp(prefix: &str) -> Result<i64, NameError> {
    let trimmed = prefix.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    // `i64::from_str` takes exactly: an optional sign, then at least one digit.
    trimmed.parse::<i64>().map_err(|_| NameError::BadTimestamp(prefix.to_string()))
}

/// Whether the `<unix>` prefix carries the leading `0` of a name that is
/// not the series verbatim.
fn is_marked(prefix: &str) -> bool {
    let trimmed = prefix.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    digits.len() > 1 && digits.starts_with('0')
}

/// Decodes `%XX` escapes; a `%` without two hex digits stays literal.
fn decode_series(encoded: &str) -> Result<String, NameError> {
    if !encoded.contains('%') {
        return Ok(encoded.to_string());
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| NameError::BadEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
