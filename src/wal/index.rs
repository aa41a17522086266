//! The `.idx` sidecar of a sealed segment (docs/storage.md, The write-ahead log).
//!
//! ```text
//! KARMA_WAL_INDEX_V1 size=324
//! 1 0
//! 2 108
//! 3 216
//! ```
//!
//! The writer produces it once, at rotation, from its in-memory table of the
//! active file (or, when that table is incomplete, from a scan of the
//! segment), through a temp file and a rename (`util::fs`).
//!
//! Readers never trust it: the header must name the segment's current size,
//! every line the lookup touches must be well formed (two fields, u64 LSN,
//! i64 offset in `0..size`), the first offset must be 0, and the position it
//! yields is verified against the segment itself before use
//! ([`super::locate`]). Anything else makes the reader ignore the index.

use std::io;
use std::path::{Path, PathBuf};

use super::bisect::bisect_lines;
use super::files::{index_path, push_u64};
use super::line::{is_blank, line_lsn};
use crate::util::fs::{write_atomic_with, Fsync};

const MAGIC: &[u8] = b"KARMA_WAL_INDEX_V1 size=";

/// Renders the index text for a segment of `size` bytes.
pub fn render(size: u64, table: &[(u64, u64)]) -> Vec<u8> {
    let mut text = Vec::with_capacity(32 + table.len() * 18);
    text.extend_from_slice(MAGIC);
    push_u64(&mut text, size);
    text.push(b'\n');
    for &(lsn, offset) in table {
        push_u64(&mut text, lsn);
        text.push(b' ');
        push_u64(&mut text, offset);
        text.push(b'\n');
    }
    text
}

/// Writes `segment`'s index atomically (temp file + rename), fsyncing the
/// temp file first when `fsync` is on. Returns the index path. The
/// directory is not fsynced for it: a lost `.idx` only makes readers search
/// the segment itself.
pub fn write(segment: &Path, size: u64, table: &[(u64, u64)], fsync: bool) -> io::Result<PathBuf> {
    let target = index_path(segment);
    let (Some(dir), Some(name)) = (target.parent(), target.file_name().and_then(|name| name.to_str())) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a segment path"));
    };
    let fsync = if fsync { Fsync::File } else { Fsync::Off };
    write_atomic_with(dir, name, fsync, |out| out.write_all(&render(size, table)))?;
    Ok(target)
}

/// Builds the (LSN, offset) table of a whole segment by scanning its lines,
/// for rotations where the writer's own table is incomplete.
pub fn scan_table(data: &[u8]) -> Vec<(u64, u64)> {
    let mut table = Vec::new();
    let mut start = 0;
    while start < data.len() {
        let end = data[start..].iter().position(|&b| b == b'\n').map_or(data.len(), |p| start + p);
        let line = &data[start..end];
        if !is_blank(line) {
            if let Some(lsn) = line_lsn(line) {
                table.push((lsn, start as u64));
            }
        }
        start = end + 1;
    }
    table
}

/// An index file that passed the header check, ready for lookups.
pub struct IndexView<'a> {
    body: &'a [u8],
    segment_size: u64,
}

impl<'a> IndexView<'a> {
    /// Checks the header against the segment's current size and that the
    /// first entry (if any) starts at offset 0. `None`: ignore the index.
    pub fn new(text: &'a [u8], segment_size: u64) -> Option<IndexView<'a>> {
        let header_end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
        let size = text[..header_end].strip_prefix(MAGIC)?;
        if size.is_empty() || !size.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if std::str::from_utf8(size).ok()?.parse::<u64>().ok()? != segment_size {
            return None;
        }
        let view = IndexView { body: text.get(header_end + 1..).unwrap_or(&[]), segment_size };
        let mut at = 0;
        while at < view.body.len() {
            let end = view.line_end(at);
            let line = &view.body[at..end];
            if !is_blank(line) {
                let (_, offset) = view.parse(line)?;
                return (offset == 0).then_some(view);
            }
            at = end + 1;
        }
        Some(view)
    }

    /// The first entry whose LSN is `>= target`, by binary search over the
    /// index lines. `Ok(None)`: every entry is below `target`.
    /// `Err(())`: a line the search touched is malformed.
    #[allow(clippy::result_unit_err)]
    pub fn lower_bound(&self, target: u64) -> Result<Option<(u64, u64)>, ()> {
        let found = bisect_lines(
            self.body,
            |line| {
                if is_blank(line) {
                    Ok(None)
                } else {
                    self.parse(line).map(|(lsn, _)| Some(lsn)).ok_or(())
                }
            },
            target,
        )?;
        match found {
            Some(start) => {
                let end = self.line_end(start);
                self.parse(&self.body[start..end]).map(Some).ok_or(())
            }
            None => Ok(None),
        }
    }

    fn line_end(&self, at: usize) -> usize {
        self.body[at..].iter().position(|&b| b == b'\n').map_or(self.body.len(), |p| at + p)
    }

    /// One index line: exactly two fields separated by runs of spaces, a u64
    /// LSN and an i64 offset inside the segment.
    fn parse(&self, line: &[u8]) -> Option<(u64, u64)> {
        let text = std::str::from_utf8(line).ok()?;
        let mut fields = text.split(' ').filter(|f| !f.is_empty());
        let lsn: u64 = parse_digits(fields.next()?)?;
        let offset: i64 = fields.next()?.parse().ok()?;
        if fields.next().is_some() || offset < 0 || offset as u64 >= self.segment_size {
            return None;
        }
        Some((lsn, offset as u64))
    }
}

fn parse_digits(field: &str) -> Option<u64> {
    if field.bytes().all(|b| b.is_ascii_digit()) {
        field.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
