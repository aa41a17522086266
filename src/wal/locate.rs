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

use super::index::IndexView;
use super::line::{is_blank, line_lsn};

/// How many lines [`verify`] walks back over (blank lines, lines without an
/// envelope) before giving up and asking for a scan.
const MAX_WALK_BACK: usize = 64;

/// Binary search over the lines of `body` for the first line that
/// `classify` maps to an LSN `>= target`; lines mapped to `None` (blank,
/// no LSN) are skipped. Returns the line's start, `None` when every
/// classified line is below `target`, or the classifier's error.
pub fn bisect_lines<E>(
    body: &[u8],
    mut classify: impl FnMut(&[u8]) -> Result<Option<u64>, E>,
    target: u64,
) -> Result<Option<usize>, E> {
    // Invariant: every classified line starting before `lo` is < target;
    // `found` is the first classified line starting at or after `hi`, and
    // it is >= target. `lo` and `hi` are line starts (or the end).
    let mut lo = 0;
    let mut hi = body.len();
    let mut found = None;
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut start = mid;
        while start > lo && body[start - 1] != b'\n' {
            start -= 1;
        }
        let mut probe = start;
        let mut hit = None;
        while probe < hi {
            let end = line_end(body, probe);
            if let Some(lsn) = classify(&body[probe..end])? {
                hit = Some((probe, end, lsn));
                break;
            }
            probe = end + 1;
        }
        match hit {
            None => hi = start,
            Some((_, end, lsn)) if lsn < target => lo = (end + 1).min(body.len()),
            Some((line_start, _, _)) => {
                hi = start;
                found = Some(line_start);
            }
        }
    }
    Ok(found)
}

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

/// Index of the `\n` ending the line that starts at `at` (or the end).
pub fn line_end(data: &[u8], at: usize) -> usize {
    data[at..].iter().position(|&b| b == b'\n').map_or(data.len(), |p| at + p)
}

#[cfg(test)]
mod tests {
    use super::super::line::encode_line;
    use super::*;

    fn wal(lsns: &[u64]) -> Vec<u8> {
        let mut data = Vec::new();
        for &lsn in lsns {
            encode_line(&mut data, lsn, br#"{"v":2,"op":"system.compact"}"#);
            if lsn % 3 == 0 {
                data.extend_from_slice(b"\n  \n"); // blank lines in between
            }
        }
        data
    }

    fn lsn_at(data: &[u8], position: usize) -> Option<u64> {
        (position < data.len()).then(|| line_lsn(&data[position..line_end(data, position)]).unwrap())
    }

    #[test]
    fn bisect_finds_every_target() {
        let lsns: Vec<u64> = (5..=40).collect();
        let data = wal(&lsns);
        for target in 0..=45 {
            let position = locate(&data, target, None);
            assert_eq!(lsn_at(&data, position), (target <= 40).then_some(target.max(5)), "target {target}");
            assert_eq!(position, scan(&data, target));
        }
    }

    #[test]
    fn verify_rejects_positions_that_would_skip_entries() {
        let data = wal(&[1, 2, 3, 4]);
        let second = line_end(&data, 0) + 1;
        assert!(verify(&data, 0, 1));
        assert!(verify(&data, second, 2));
        assert!(!verify(&data, second, 1), "entry 1 would be skipped");
        assert!(!verify(&data, second + 1, 2), "not a line start");
        assert!(verify(&data, data.len(), 5));
        assert!(!verify(&data, data.len(), 4));
    }

    #[test]
    fn a_lying_index_is_caught() {
        let data = wal(&[1, 2, 3, 4]);
        let size = data.len() as u64;
        // Claims entry 3 starts where entry 2 does.
        let text = format!("KARMA_WAL_INDEX_V1 size={size}\n1 0\n3 {}\n", line_end(&data, 0) + 1);
        let view = IndexView::new(text.as_bytes(), size).expect("well formed");
        let position = locate(&data, 3, Some(&view));
        assert_eq!(lsn_at(&data, position), Some(3));
        // Claims nothing is >= 3.
        let text = format!("KARMA_WAL_INDEX_V1 size={size}\n1 0\n");
        let view = IndexView::new(text.as_bytes(), size).expect("well formed");
        assert_eq!(lsn_at(&data, locate(&data, 3, Some(&view))), Some(3));
    }
}
