//! Finding where a page starts inside one WAL file.
//!
//! A WAL file's LSNs increase line by line, so "the first entry with
//! `lsn >= target`" can be found by binary search, either over the `.idx`
//! sidecar's lines or over the file's own lines. Neither source is trusted
//! blindly: a candidate position `p` is accepted only when it starts a line
//! and the nearest entry before it has an LSN below `target`. Under the
//! increasing-LSN invariant that proves nothing before `p` belongs to the
//! page, whatever the index claimed. When a check fails we fall back to a
//! linear scan from the start of the file, which needs no invariant at all.

use super::bisect::{bisect_lines, line_end};
use super::index::IndexView;
use super::line::{is_blank, line_lsn};

/// How many lines [`verify`] walks back over (blank lines, lines without an
/// envelope) before giving up and asking for a scan.
const MAX_WALK_BACK: usize = 64;

/// The position in `data` (a WAL file's complete lines) from which a page
/// for entries `>= target` must be read: every entry before it is below
/// `target`. Uses `index` when given and verified, else a binary search over
/// the lines, else a scan.
pub fn locate(data: &[u8], target: u64, index: Option<&IndexView<'_>>) -> usize {
    if let Some(index) = index {
        match index.lower_bound(target) {
            Ok(Some((lsn, offset))) => {
                let offset = offset as usize;
                if offset <= data.len()
                    && line_lsn(&data[offset..line_end(data, offset)]) == Some(lsn)
                    && verify(data, offset, target)
                {
                    return offset;
                }
            }
            Ok(None) if verify(data, data.len(), target) => return data.len(),
            _ => {}
        }
        log::debug!(target: "wal.index", "index rejected for target lsn {target}; searching the segment");
    }
    let bisected = bisect_lines(data, |line| Ok::<_, ()>(line_lsn(line)), target);
    if let Ok(found) = bisected {
        let position = found.unwrap_or(data.len());
        if verify(data, position, target) {
            return position;
        }
    }
    scan(data, target)
}

/// True when `position` starts a line of `data` and the nearest entry
/// before it has an LSN below `target` (or there is none).
pub fn verify(data: &[u8], position: usize, target: u64) -> bool {
    if position > data.len() || (position > 0 && data[position - 1] != b'\n') {
        return false;
    }
    // Walk back line by line: `end` is the index of a line's `\n`.
    let mut end = position;
    for _ in 0..MAX_WALK_BACK {
        if end == 0 {
            return true;
        }
        let line_stop = end - 1; // the `\n` ending the previous line
        let mut start = line_stop;
        while start > 0 && data[start - 1] != b'\n' {
            start -= 1;
        }
        let line = &data[start..line_stop];
        if !is_blank(line) {
            if let Some(lsn) = line_lsn(line) {
                return lsn < target;
            }
        }
        end = start;
    }
    false
}

/// Linear scan: start of the first line whose LSN is `>= target`.
pub fn scan(data: &[u8], target: u64) -> usize {
    let mut start = 0;
    while start < data.len() {
        let end = line_end(data, start);
        if let Some(lsn) = line_lsn(&data[start..end]) {
            if lsn >= target {
                return start;
            }
        }
        start = end + 1;
    }
    data.len()
}

#[cfg(test)]
mod tests;
