//! Snapshot file names: `<unix>_<series>.tree`.
//!
//! Karma 1.0 put the series name into the file name verbatim, so a `/` made
//! a subdirectory and `..` could leave the data directory (defect D10). We
//! keep every name that is safe verbatim, so Karma 1.0 reads our files and we
//! read its files, and escape only what a file name cannot hold:
//!
//! - `/`, NUL and `%` become `%2F`, `%00` and `%25` (`%` itself is escaped so
//!   that decoding is unambiguous for every name we write);
//! - when the escaped name would not leave room for the sidecar's temporary
//!   file (see [`MAX_VERBATIM_FILE_NAME`]), the file is named
//!   `<unix>_%H<64 lowercase hex SHA-256 of the series name>.tree` and the
//!   real name lives only in the sidecar's `tree` field. `%H` can never come
//!   out of the escaping above, since every `%` we write is followed by two
//!   hex digits.
//!
//! The `<unix>` prefix guarantees the file name never is `.` or `..`, so with
//! `/` and NUL gone no series name can reach outside the data directory.
//!
//! Parsing follows PERSISTENCE.md 1.2: strip `.tree`, split at the first
//! `_`, the prefix is a signed 64-bit decimal (surrounding ASCII whitespace
//! and a leading `+` allowed), the rest is the series name, which must not
//! be empty. `%XX` escapes are decoded; a `%` not followed by two hex digits
//! is kept literally, so a Karma 1.0 file such as `1_50%off.tree` still reads
//! as series `50%off`.

use std::fmt;

use crate::util::sha256::{hex, sha256};

/// Suffix of every snapshot file.
pub const TREE_SUFFIX: &str = ".tree";

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
    /// The series name, decoded; `None` for a hashed name, whose series is
    /// the `tree` field of its sidecar (check it with
    /// `snapshot_file_name(timestamp, tree) == file`).
    pub series: Option<String>,
}

/// Why a file name is not a snapshot name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// The name does not end with `.tree`.
    MissingSuffix,
    /// No `_` separates the timestamp from the series.
    NoSeparator,
    /// The part before the first `_` is not a signed 64-bit decimal.
    BadTimestamp(String),
    /// Nothing follows the first `_`.
    EmptySeries,
    /// A `%H` name without exactly 64 lowercase hex digits, or escapes that
    /// decode to bytes that are not UTF-8.
    BadEncoding,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::MissingSuffix => f.write_str("the name does not end with .tree"),
            NameError::NoSeparator => f.write_str("no _ separates the timestamp and the series"),
            NameError::BadTimestamp(text) => write!(f, "Invalid Int64: \"{text}\""),
            NameError::EmptySeries => f.write_str("the series name is empty"),
            NameError::BadEncoding => f.write_str("the series name is not validly encoded"),
        }
    }
}

impl std::error::Error for NameError {}

/// The file name of the snapshot of `series` taken at `unix` seconds.
///
/// `series` must not be empty (the protocol layer rejects empty names);
/// an empty name would produce `<unix>_.tree`, which does not parse.
pub fn snapshot_file_name(unix: i64, series: &str) -> String {
    let mut name = format!("{unix}_");
    for ch in series.chars() {
        match ch {
            '/' => name.push_str("%2F"),
            '\0' => name.push_str("%00"),
            '%' => name.push_str("%25"),
            other => name.push(other),
        }
    }
    name.push_str(TREE_SUFFIX);
    if name.len() <= MAX_VERBATIM_FILE_NAME {
        return name;
    }
    format!("{unix}_{HASHED_MARKER}{}{TREE_SUFFIX}", hex(&sha256(series.as_bytes())))
}

/// The sidecar's file name for the snapshot (or idempotency) file `file`.
pub fn sidecar_file_name(file: &str) -> String {
    format!("{file}{SIDECAR_SUFFIX}")
}

/// Takes a snapshot file name (a basename) apart, as PERSISTENCE.md 1.2.
pub fn parse_snapshot_file_name(file: &str) -> Result<ParsedName, NameError> {
    let stem = file.strip_suffix(TREE_SUFFIX).ok_or(NameError::MissingSuffix)?;
    let (prefix, encoded) = stem.split_once('_').ok_or(NameError::NoSeparator)?;
    let timestamp = parse_timestamp(prefix)?;
    if encoded.is_empty() {
        return Err(NameError::EmptySeries);
    }
    if let Some(digest) = encoded.strip_prefix(HASHED_MARKER) {
        let is_hash = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_hash {
            return Err(NameError::BadEncoding);
        }
        return Ok(ParsedName { timestamp, series: None });
    }
    Ok(ParsedName { timestamp, series: Some(decode_series(encoded)?) })
}

/// Checks the `file` field of `snapshot.load` / `snapshot.fetch*`
/// (COMMANDS.md 12.8), returning the exact validation message.
pub fn check_requested_file(file: &str) -> Result<(), &'static str> {
    if file.is_empty() {
        return Err("Field file must not be empty");
    }
    // "Must equal its own basename": any `/` (including a trailing one)
    // makes the basename differ from the whole.
    if file.contains('/') {
        return Err("Field file must be a snapshot basename");
    }
    if !file.ends_with(TREE_SUFFIX) {
        return Err("Field file must end with .tree");
    }
    Ok(())
}

/// Parses the `<unix>` prefix like Crystal's `String#to_i64`: surrounding
/// ASCII whitespace (space, `\t`, `\n`, `\v`, `\f`, `\r`) and one leading
/// `+` or `-` allowed, then decimal digits only.
fn parse_timestamp(prefix: &str) -> Result<i64, NameError> {
    let trimmed = prefix.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\x0b');
    // `i64::from_str` takes exactly: an optional sign, then at least one digit.
    trimmed.parse::<i64>().map_err(|_| NameError::BadTimestamp(prefix.to_string()))
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
mod tests {
    use super::*;

    fn parsed(timestamp: i64, series: Option<&str>) -> Result<ParsedName, NameError> {
        Ok(ParsedName { timestamp, series: series.map(str::to_string) })
    }

    #[test]
    fn plain_names_are_verbatim() {
        assert_eq!(snapshot_file_name(1795245397, "api"), "1795245397_api.tree");
        assert_eq!(snapshot_file_name(1777925811, "api_requests"), "1777925811_api_requests.tree");
        assert_eq!(snapshot_file_name(5, "é ü\\x"), "5_é ü\\x.tree");
        assert_eq!(snapshot_file_name(-3, "a"), "-3_a.tree");
    }

    #[test]
    fn slash_nul_and_percent_are_escaped() {
        assert_eq!(snapshot_file_name(7, "a/b"), "7_a%2Fb.tree");
        assert_eq!(snapshot_file_name(7, "../../etc/passwd"), "7_..%2F..%2Fetc%2Fpasswd.tree");
        assert_eq!(snapshot_file_name(7, "50%"), "7_50%25.tree");
        assert_eq!(snapshot_file_name(7, "n\0l"), "7_n%00l.tree");
        assert_eq!(snapshot_file_name(7, ".."), "7_...tree");
        assert_eq!(snapshot_file_name(7, "%H"), "7_%25H.tree");
    }

    #[test]
    fn escaped_names_parse_back() {
        for series in ["a/b", "../../etc/passwd", "50%", "n\0l", "..", "%H", "%2F", "x_y_z", "é/%/\0"] {
            let file = snapshot_file_name(1795245397, series);
            assert_eq!(parse_snapshot_file_name(&file), parsed(1795245397, Some(series)), "{file}");
        }
    }

    #[test]
    fn long_names_are_hashed() {
        let series = "x".repeat(300);
        let file = snapshot_file_name(1795245397, &series);
        assert_eq!(file, format!("1795245397_%H{}.tree", hex(&sha256(series.as_bytes()))));
        assert_eq!(file.len(), 10 + 1 + 2 + 64 + 5);
        assert_eq!(parse_snapshot_file_name(&file), parsed(1795245397, None));
    }

    #[test]
    fn the_verbatim_limit_leaves_room_for_the_sidecar_temp_file() {
        assert_eq!(MAX_VERBATIM_FILE_NAME, 212);
        // "1795245397_" is 11 bytes and ".tree" 5: 196 name bytes fit.
        let fits = "y".repeat(196);
        assert_eq!(snapshot_file_name(1795245397, &fits).len(), 212);
        let too_long = "y".repeat(197);
        assert!(snapshot_file_name(1795245397, &too_long).contains("%H"));
        // Escapes count in their encoded length.
        let slashes = "/".repeat(66);
        assert!(snapshot_file_name(1795245397, &slashes).contains("%H"));
        let longest_temp = format!(".{}.meta.json.4294967295.0123456789abcdef.tmp", "z".repeat(212));
        assert_eq!(longest_temp.len(), 255);
    }

    #[test]
    fn parse_follows_karma_rules() {
        assert_eq!(parse_snapshot_file_name("1777925811_api_requests.tree"), parsed(1777925811, Some("api_requests")));
        assert_eq!(parse_snapshot_file_name(" +12_a_b.tree"), parsed(12, Some("a_b")));
        assert_eq!(parse_snapshot_file_name("\t-12 _x.tree"), parsed(-12, Some("x")));
        assert_eq!(parse_snapshot_file_name("0012_x.tree"), parsed(12, Some("x")));
        assert_eq!(parse_snapshot_file_name("\x0b7\r\n_x.tree"), parsed(7, Some("x")));
    }

    #[test]
    fn parse_rejections() {
        assert_eq!(parse_snapshot_file_name("abc_x.tree"), Err(NameError::BadTimestamp("abc".to_string())));
        assert_eq!(parse_snapshot_file_name("_x.tree"), Err(NameError::BadTimestamp(String::new())));
        assert_eq!(parse_snapshot_file_name("12_.tree"), Err(NameError::EmptySeries));
        assert_eq!(parse_snapshot_file_name("foo.tree"), Err(NameError::NoSeparator));
        assert_eq!(parse_snapshot_file_name("12_x.TREE"), Err(NameError::MissingSuffix));
        assert_eq!(parse_snapshot_file_name("12_x.tree.meta.json"), Err(NameError::MissingSuffix));
        assert_eq!(parse_snapshot_file_name("+-1_x.tree"), Err(NameError::BadTimestamp("+-1".to_string())));
        assert_eq!(parse_snapshot_file_name("1 2_x.tree"), Err(NameError::BadTimestamp("1 2".to_string())));
        assert_eq!(
            parse_snapshot_file_name("9223372036854775808_x.tree"),
            Err(NameError::BadTimestamp("9223372036854775808".to_string()))
        );
        assert_eq!(parse_snapshot_file_name("1_%Habc.tree"), Err(NameError::BadEncoding));
        assert_eq!(parse_snapshot_file_name(&format!("1_%H{}.tree", "A".repeat(64))), Err(NameError::BadEncoding));
        assert_eq!(parse_snapshot_file_name("1_%FF.tree"), Err(NameError::BadEncoding));
        assert_eq!(NameError::BadTimestamp("abc".to_string()).to_string(), "Invalid Int64: \"abc\"");
    }

    #[test]
    fn karma_names_with_stray_percent_stay_literal() {
        assert_eq!(parse_snapshot_file_name("1_50%off.tree"), parsed(1, Some("50%off")));
        assert_eq!(parse_snapshot_file_name("1_100%.tree"), parsed(1, Some("100%")));
        assert_eq!(parse_snapshot_file_name("1_a%2fb.tree"), parsed(1, Some("a/b")));
        assert_eq!(parse_snapshot_file_name("1_%C3%A9.tree"), parsed(1, Some("é")));
    }

    #[test]
    fn requested_file_checks_in_order() {
        assert_eq!(check_requested_file(""), Err("Field file must not be empty"));
        assert_eq!(check_requested_file("../1_a.tree"), Err("Field file must be a snapshot basename"));
        assert_eq!(check_requested_file("1_a.tree/"), Err("Field file must be a snapshot basename"));
        assert_eq!(check_requested_file("/"), Err("Field file must be a snapshot basename"));
        assert_eq!(check_requested_file("1_a.json"), Err("Field file must end with .tree"));
        assert_eq!(check_requested_file(".."), Err("Field file must end with .tree"));
        assert_eq!(check_requested_file("1_a.tree"), Ok(()));
        assert_eq!(check_requested_file("abc_x.tree"), Ok(()));
    }

    #[test]
    fn sidecar_names_append_the_suffix() {
        assert_eq!(sidecar_file_name("1_a.tree"), "1_a.tree.meta.json");
    }
}
