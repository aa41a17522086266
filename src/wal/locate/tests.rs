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
