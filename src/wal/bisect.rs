//! Binary search over the lines of a WAL file or of its `.idx` sidecar,
//! whose LSNs increase line by line.

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

/// Index of the `\n` ending the line that starts at `at` (or the end).
pub fn line_end(data: &[u8], at: usize) -> usize {
    data[at..].iter().position(|&b| b == b'\n').map_or(data.len(), |p| at + p)
}
