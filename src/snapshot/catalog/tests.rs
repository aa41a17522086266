//! Tests of the directory catalog, on real files in a scratch directory.

use std::fs;

use super::*;
use crate::store::{Bucket, Counter};
use tempfile::TempDir;

fn api_series() -> Series {
    let mut series = Series::new();
    let bucket = Bucket::from_yyyymmdd(20260505).unwrap();
    series.insert(42, Counter::from_points(vec![(bucket, 7)]).unwrap());
    series
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

fn files_of(list: &[SnapshotFile]) -> Vec<&str> {
    list.iter().map(|f| f.file.as_str()).collect()
}

/// Writes a `.tree` of the empty series plus a sidecar with `last_lsn`.
fn put(dir: &Path, series: &str, unix: i64, last_lsn: u64) -> SnapshotMeta {
    write_snapshot(dir, series, &Series::new(), last_lsn, unix).unwrap()
}

#[test]
fn write_snapshot_writes_the_worked_example_and_its_sidecar() {
    let dir = TempDir::new().unwrap();
    let meta = write_snapshot(dir.path(), "api", &api_series(), 1, 1795245397).unwrap();
    assert_eq!(
        meta,
        SnapshotMeta {
            series: "api".to_string(),
            file: "1795245397_api.tree".to_string(),
            timestamp: 1795245397,
            last_lsn: 1,
            bytes: 56,
        }
    );
    assert_eq!(names_in(dir.path()), vec!["1795245397_api.tree", "1795245397_api.tree.meta.json"]);
    let written = fs::read(dir.path().join("1795245397_api.tree")).unwrap();
    assert_eq!(written.len(), 56);
    assert_eq!(
        fs::read_to_string(dir.path().join("1795245397_api.tree.meta.json")).unwrap(),
        "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"last_lsn\":1,\"bytes\":56}\n"
    );
    let back = read_snapshot(&dir.path().join("1795245397_api.tree")).unwrap();
    assert_eq!(back.get(42).unwrap().total(), 7);
}

#[test]
fn write_snapshot_creates_the_directory() {
    let dir = TempDir::new().unwrap();
    let nested = dir.path().join("a").join("b");
    put(&nested, "s", 1, 0);
    assert_eq!(names_in(&nested), vec!["1_s.tree", "1_s.tree.meta.json"]);
}

#[test]
fn unsafe_series_names_stay_inside_the_directory() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "../../escape", 5, 0);
    put(dir.path(), "a/b%c", 5, 0);
    put(dir.path(), "50%", 5, 0);
    assert_eq!(
        names_in(dir.path()),
        vec![
            "05_..%2F..%2Fescape.tree",
            "05_..%2F..%2Fescape.tree.meta.json",
            "05_a%2Fb%25c.tree",
            "05_a%2Fb%25c.tree.meta.json",
            "5_50%.tree",
            "5_50%.tree.meta.json",
        ]
    );
    let list = list_snapshots(dir.path()).unwrap();
    let series: Vec<&str> = list.iter().map(|f| f.series.as_str()).collect();
    assert_eq!(series, vec!["../../escape", "a/b%c", "50%"]);
}

/// Files an older version wrote with `%` escaped in every name keep their
/// series through their sidecars; without a sidecar a plain name reads
/// verbatim, as Karma 1.0 reads it.
#[test]
fn escaped_names_of_older_versions_keep_their_series() {
    let dir = TempDir::new().unwrap();
    let legacy = |file: &str, series: &str| {
        fs::write(dir.path().join(file), series_codec::encode_series(&Series::new())).unwrap();
        let meta =
            SnapshotMeta { series: series.to_string(), file: file.to_string(), timestamp: 5, last_lsn: 3, bytes: 34 };
        fs::write(dir.path().join(meta.sidecar_file_name()), meta.to_sidecar_json()).unwrap();
    };
    legacy("5_50%25.tree", "50%");
    legacy("5_a%2Fb.tree", "a/b");
    legacy("5_cpu%2Fload.tree", "cpu%2Fload");
    // A sidecar naming a series this file could never hold does not count.
    legacy("5_x%25.tree", "y");
    fs::write(dir.path().join("5_%25.tree"), series_codec::encode_series(&Series::new())).unwrap();
    let list = list_snapshots(dir.path()).unwrap();
    let found: Vec<(&str, &str)> = list.iter().map(|f| (f.file.as_str(), f.series.as_str())).collect();
    assert_eq!(
        found,
        vec![
            ("5_%25.tree", "%25"),
            ("5_50%25.tree", "50%"),
            ("5_a%2Fb.tree", "a/b"),
            ("5_cpu%2Fload.tree", "cpu%2Fload"),
            ("5_x%25.tree", "x%25"),
        ]
    );
    // A new snapshot of `50%` takes the verbatim name; retention counts both
    // files as the one series.
    put(dir.path(), "50%", 6, 4);
    assert_eq!(prune(dir.path(), 1).unwrap(), 1);
    assert!(!dir.path().join("5_50%25.tree").exists());
    assert!(dir.path().join("6_50%.tree").exists());
}

#[test]
fn a_300_byte_series_name_is_hashed_and_resolved_through_its_sidecar() {
    let dir = TempDir::new().unwrap();
    let long = "é".repeat(150);
    let meta = put(dir.path(), &long, 9, 4);
    assert!(meta.file.starts_with("09_%H"));
    assert_eq!(meta.series, long);
    let list = list_snapshots(dir.path()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].series, long);
    assert_eq!(load_meta(&list[0]).unwrap(), meta);
    assert_eq!(stat_snapshot(dir.path(), &meta.file).unwrap().unwrap().series, long);
    // Without its sidecar the file cannot be attributed and is skipped.
    fs::remove_file(dir.path().join(meta.sidecar_file_name())).unwrap();
    assert_eq!(list_snapshots(dir.path()).unwrap(), vec![]);
    // So is a sidecar naming another series.
    let mut other = meta.clone();
    other.series = "other".to_string();
    fs::write(dir.path().join(meta.sidecar_file_name()), other.to_sidecar_json()).unwrap();
    assert_eq!(list_snapshots(dir.path()).unwrap(), vec![]);
}

#[test]
fn listing_is_newest_first_ties_by_name_and_skips_what_is_not_a_snapshot() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "b", 100, 0);
    put(dir.path(), "a", 100, 0);
    put(dir.path(), "a", 300, 0);
    put(dir.path(), "c", 200, 0);
    put(dir.path(), "old", -5, 0);
    fs::write(dir.path().join("foo.tree"), b"").unwrap();
    fs::write(dir.path().join("abc_x.tree"), b"").unwrap();
    fs::write(dir.path().join("12_.tree"), b"").unwrap();
    fs::write(dir.path().join("1_x.TREE"), b"").unwrap();
    fs::write(dir.path().join("karma.wal"), b"").unwrap();
    fs::create_dir(dir.path().join("7_dir.tree")).unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    fs::write(dir.path().join("sub").join("8_nested.tree"), b"").unwrap();
    let list = list_snapshots(dir.path()).unwrap();
    assert_eq!(files_of(&list), vec!["300_a.tree", "200_c.tree", "100_a.tree", "100_b.tree", "-5_old.tree"]);
    assert_eq!(list[0].path, dir.path().join("300_a.tree"));
    assert_eq!(list[0].bytes, 34);
    assert_eq!(list[0].timestamp, 300);
    assert_eq!(list[0].series, "a");
}

#[test]
fn a_missing_directory_lists_empty() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    assert_eq!(list_snapshots(&missing).unwrap(), vec![]);
    assert_eq!(restore_lsn(&missing).unwrap(), 0);
    assert_eq!(last_snapshot_lsn(&missing).unwrap(), 0);
    assert_eq!(prune(&missing, 1).unwrap(), 0);
}

#[test]
fn load_meta_reads_or_synthesises_and_reports_bad_sidecars() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "api", 1795245397, 12);
    fs::write(dir.path().join("1795245000_api.tree"), [0x80]).unwrap();
    let list = list_snapshots(dir.path()).unwrap();
    assert_eq!(load_meta(&list[0]).unwrap().last_lsn, 12);
    assert_eq!(
        load_meta(&list[1]).unwrap(),
        SnapshotMeta {
            series: "api".to_string(),
            file: "1795245000_api.tree".to_string(),
            timestamp: 1795245000,
            last_lsn: 0,
            bytes: 1,
        }
    );
    let sidecar = dir.path().join("1795245000_api.tree.meta.json");
    fs::write(&sidecar, b"{\"tree\":").unwrap();
    assert_eq!(
        load_meta(&list[1]).unwrap_err().to_string(),
        format!("Invalid snapshot metadata {}: EOF while parsing a value at line 1 column 8", sidecar.display())
    );
}

#[test]
fn latest_per_series_orders_series_by_their_newest_snapshot() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "a", 100, 0);
    put(dir.path(), "b", 150, 0);
    put(dir.path(), "a", 120, 0);
    put(dir.path(), "c", 300, 0);
    put(dir.path(), "b", 90, 0);
    let list = list_snapshots(dir.path()).unwrap();
    let latest: Vec<&str> = latest_per_series(&list).iter().map(|f| f.file.as_str()).collect();
    assert_eq!(latest, vec!["300_c.tree", "150_b.tree", "120_a.tree"]);
    // Input order does not matter.
    let mut reversed = list.clone();
    reversed.reverse();
    let latest: Vec<&str> = latest_per_series(&reversed).iter().map(|f| f.file.as_str()).collect();
    assert_eq!(latest, vec!["300_c.tree", "150_b.tree", "120_a.tree"]);
}

#[test]
fn restore_lsn_is_the_minimum_and_last_snapshot_lsn_the_maximum() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "a", 100, 50);
    put(dir.path(), "a", 200, 9);
    put(dir.path(), "b", 150, 20);
    put(dir.path(), "b", 10, 1);
    // Newest per series: a@200 (9), b@150 (20).
    assert_eq!(restore_lsn(dir.path()).unwrap(), 9);
    assert_eq!(last_snapshot_lsn(dir.path()).unwrap(), 20);
    // A newest snapshot without sidecar counts as 0.
    fs::write(dir.path().join("300_c.tree"), [0x80]).unwrap();
    assert_eq!(restore_lsn(dir.path()).unwrap(), 0);
    assert_eq!(last_snapshot_lsn(dir.path()).unwrap(), 20);
}

#[test]
fn restore_lsn_falls_back_to_the_idempotency_sidecar() {
    let dir = TempDir::new().unwrap();
    assert_eq!(restore_lsn(dir.path()).unwrap(), 0);
    write_idempotency_snapshot(dir.path(), b"{\"records\":[],\"committed_streams\":[]}\n", 23, 0, 0).unwrap();
    assert_eq!(restore_lsn(dir.path()).unwrap(), 23);
    assert_eq!(last_snapshot_lsn(dir.path()).unwrap(), 0);
    // A sidecar without its payload does not count.
    fs::remove_file(dir.path().join(IDEMPOTENCY_FILE)).unwrap();
    assert_eq!(restore_lsn(dir.path()).unwrap(), 0);
    // Snapshots of series win over the fallback.
    write_idempotency_snapshot(dir.path(), b"{}\n", 23, 0, 0).unwrap();
    put(dir.path(), "a", 1, 7);
    assert_eq!(restore_lsn(dir.path()).unwrap(), 7);
}

#[test]
fn prune_keeps_the_newest_n_per_series_with_their_sidecars() {
    let dir = TempDir::new().unwrap();
    for unix in [10, 20, 30, 40] {
        put(dir.path(), "a", unix, 0);
    }
    put(dir.path(), "b", 5, 0);
    put(dir.path(), "gone", 1, 0);
    fs::write(dir.path().join("15_a.tree"), [0x80]).unwrap(); // no sidecar
    assert_eq!(prune(dir.path(), 0).unwrap(), 0);
    assert_eq!(list_snapshots(dir.path()).unwrap().len(), 7);
    assert_eq!(prune(dir.path(), 2).unwrap(), 3);
    assert_eq!(
        names_in(dir.path()),
        vec![
            "1_gone.tree",
            "1_gone.tree.meta.json",
            "30_a.tree",
            "30_a.tree.meta.json",
            "40_a.tree",
            "40_a.tree.meta.json",
            "5_b.tree",
            "5_b.tree.meta.json",
        ]
    );
    assert_eq!(prune(dir.path(), 2).unwrap(), 0);
}

#[test]
fn remove_series_snapshots_removes_only_that_series() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "a", 1, 0);
    put(dir.path(), "a", 2, 0);
    put(dir.path(), "a_b", 3, 0);
    put(dir.path(), "b", 4, 0);
    assert_eq!(remove_series_snapshots(dir.path(), "a").unwrap(), 2);
    assert_eq!(names_in(dir.path()), vec!["3_a_b.tree", "3_a_b.tree.meta.json", "4_b.tree", "4_b.tree.meta.json"]);
    assert_eq!(remove_series_snapshots(dir.path(), "a").unwrap(), 0);
}

#[test]
fn read_snapshot_names_the_corrupt_file() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("1_x.tree");
    fs::write(&path, [0x81, 0xa8]).unwrap();
    let err = read_snapshot(&path).unwrap_err();
    assert!(matches!(err, SnapshotError::Corrupt { .. }));
    assert!(err.to_string().starts_with(&format!("Corrupt snapshot {}: ", path.display())), "{err}");
    let missing = dir.path().join("2_y.tree");
    let err = read_snapshot(&missing).unwrap_err();
    assert!(err.to_string().starts_with(&format!("Cannot read {}: ", missing.display())), "{err}");
}

#[test]
fn stat_snapshot_checks_the_name_before_existence() {
    let dir = TempDir::new().unwrap();
    put(dir.path(), "api", 7, 0);
    let found = stat_snapshot(dir.path(), "7_api.tree").unwrap().unwrap();
    assert_eq!((found.series.as_str(), found.timestamp, found.bytes), ("api", 7, 34));
    assert_eq!(stat_snapshot(dir.path(), "8_api.tree").unwrap(), None);
    let err = stat_snapshot(dir.path(), "abc_x.tree").unwrap_err();
    assert_eq!(err.to_string(), "Invalid dump file name \"abc_x.tree\"");
    let err = stat_snapshot(dir.path(), "nounderscore.tree").unwrap_err();
    assert_eq!(err.to_string(), "Invalid dump file name \"nounderscore.tree\"");
    // Names no file system can hold are missing files, not read errors.
    let too_long = format!("1_{}.tree", "y".repeat(300));
    assert_eq!(stat_snapshot(dir.path(), &too_long).unwrap(), None);
    assert_eq!(stat_snapshot(dir.path(), "1_a\0b.tree").unwrap(), None);
}

#[test]
fn idempotency_snapshot_and_its_sidecar() {
    let dir = TempDir::new().unwrap();
    assert_eq!(read_idempotency_meta(dir.path(), (3, 4)).unwrap(), None);
    let payload = b"{\"records\":[],\"committed_streams\":[]}\n";
    let meta = write_idempotency_snapshot(dir.path(), payload, 23, 2, 1).unwrap();
    assert_eq!(meta.bytes, payload.len() as u64);
    assert_eq!((meta.last_lsn, meta.record_count, meta.committed_stream_count), (23, 2, 1));
    assert_eq!(fs::read(dir.path().join(IDEMPOTENCY_FILE)).unwrap(), payload);
    assert_eq!(
        fs::read_to_string(dir.path().join("karma.idempotency.json.meta.json")).unwrap(),
        format!(
            "{{\"file\":\"karma.idempotency.json\",\"timestamp\":{},\"last_lsn\":23,\"bytes\":38,\"record_count\":2,\"committed_stream_count\":1}}\n",
            meta.timestamp
        )
    );
    assert_eq!(read_idempotency_meta(dir.path(), (9, 9)).unwrap(), Some(meta.clone()));
    // Without the sidecar: mtime, last_lsn 0, the size, in-memory counts.
    fs::remove_file(dir.path().join("karma.idempotency.json.meta.json")).unwrap();
    let mtime = fs::metadata(dir.path().join(IDEMPOTENCY_FILE))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        read_idempotency_meta(dir.path(), (3, 4)).unwrap(),
        Some(IdempotencyMeta {
            file: IDEMPOTENCY_FILE.to_string(),
            timestamp: mtime,
            last_lsn: 0,
            bytes: 38,
            record_count: 3,
            committed_stream_count: 4,
        })
    );
    fs::write(dir.path().join("karma.idempotency.json.meta.json"), b"[]").unwrap();
    assert!(read_idempotency_meta(dir.path(), (0, 0))
        .unwrap_err()
        .to_string()
        .starts_with("Invalid snapshot metadata "));
    assert_eq!(names_in(dir.path()).len(), 2, "no temporary file left");
}
