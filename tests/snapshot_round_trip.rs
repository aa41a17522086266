//! Snapshots round-trip: what is written is what is read back.
//!
//! - the series codec of `.tree` files (`encode_series` / `decode_series`)
//!   on series of keys across the whole u64 range, real-day buckets from
//!   1000-01-01 to 9999-12-31, values up to u64::MAX, empty counters and
//!   empty series;
//! - file names: `snapshot_file_name` then `parse_snapshot_file_name`
//!   gives back the time and the series (or defers to the sidecar, which
//!   then names it) for any name, `/`, NUL, `%`, `%H…`, long and non-ASCII
//!   names included;
//! - sidecars: `to_sidecar_json` then `from_sidecar_json`, for any strings;
//! - the files themselves: `write_snapshot` of a few series into a temp
//!   directory, then `list_snapshots`, `load_meta` and `read_snapshot` give
//!   back each series, its name and its metadata.
//!
//! The case counts are bounded so that `cargo test --release` takes a few
//! seconds (the file round trip fsyncs). For a longer local run, set
//! `PROPTEST_CASES`, which proptest reads natively:
//! `PROPTEST_CASES=20000 cargo test --release --test snapshot_round_trip`.

use std::collections::BTreeMap;

use karma::snapshot::names::names_series;
use karma::snapshot::{
    decode_series, encode_series, list_snapshots, load_meta, parse_snapshot_file_name, read_snapshot,
    snapshot_file_name, write_snapshot, IdempotencyMeta, SnapshotMeta,
};
use karma::store::{Bucket, Counter, Series};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases of the in-memory properties when `PROPTEST_CASES` is not set.
const MEMORY_CASES: u32 = 1000;
/// Cases of the file property (each writes and fsyncs a few files).
const FILE_CASES: u32 = 40;

fn config(default_cases: u32) -> Config {
    // `Config::default()` reads PROPTEST_CASES; `with_cases` would ignore it.
    if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(default_cases)
    }
}

/// A series as plain data: key -> (bucket `YYYYMMDD`, value), ascending.
type Contents = BTreeMap<u64, Vec<(u32, u64)>>;

fn contents(series: &Series) -> Contents {
    series.iter().map(|(key, counter)| (key, counter.points().map(|(b, v)| (b.yyyymmdd(), v)).collect())).collect()
}

fn key() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        2 => 0..40u64,
        1 => proptest::sample::select(&[0, 1, 8, 9, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX - 1, u64::MAX][..]),
    ]
}

fn bucket() -> impl Strategy<Value = Bucket> {
    let first = Bucket::MIN.day_number();
    let last = Bucket::MAX.day_number();
    let today = Bucket::from_yyyymmdd(20260505).expect("a real day").day_number();
    prop_oneof![
        2 => first..=last,
        2 => today - 400..=today + 400,
        1 => proptest::sample::select(vec![first, last, Bucket::from_yyyymmdd(20240229).expect("leap day").day_number()]),
    ]
    .prop_map(|day| Bucket::from_day_number(day).expect("within the bucket range"))
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 1..1000u64,
        2 => any::<u64>(),
        1 => Just(u64::MAX),
        1 => Just(i64::MAX as u64 + 1),
    ]
}

/// A counter's points: any buckets and values, as long as the total fits a
/// u64 (the points that would overflow it are left out, as a write that
/// would is refused). No points: an empty counter.
fn counter() -> impl Strategy<Value = Counter> {
    prop::collection::vec((bucket(), value()), 0..8).prop_map(|points| {
        let mut total: u64 = 0;
        let kept = points.into_iter().filter(|&(_, v)| total.checked_add(v).map(|t| total = t).is_some()).collect();
        Counter::from_points(kept).expect("the total fits a u64")
    })
}

fn series() -> impl Strategy<Value = Series> {
    prop_oneof![
        1 => Just(Vec::new()),
        8 => prop::collection::vec((key(), counter()), 1..24),
    ]
    .prop_map(|counters| {
        let mut series = Series::new();
        for (key, counter) in counters {
            series.insert(key, counter);
        }
        series
    })
}

/// Series names, with every character the file-name escaping must handle.
fn series_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_.-]{1,12}",
        2 => "[a-z%/\u{0}._ -]{1,10}",
        2 => any::<String>(),
        1 => proptest::sample::select(&[".", "..", "%", "%25", "%2F", "%00", "%H", "a/b", "/", "\0", "_", " x "][..])
            .prop_map(str::to_string),
        // A verbatim name that looks like a hashed one.
        1 => "%H[0-9a-f]{64}",
        // Around the longest verbatim file name, and far past it.
        1 => ("[a-z%/é]", 190..230usize).prop_map(|(c, n)| c.repeat(n)),
        1 => "[a-z\u{0}]{300,2000}",
    ]
    .prop_filter("the protocol refuses empty names", |name| !name.is_empty())
}

fn unix() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1_700_000_000..1_900_000_000i64,
        1 => any::<i64>(),
        1 => proptest::sample::select(&[0, 1, -1, i64::MIN, i64::MAX][..]),
    ]
}

proptest! {
    #![proptest_config(config(MEMORY_CASES))]

    /// The `.tree` codec gives back every key, bucket and value.
    #[test]
    fn series_codec_round_trips(series in series()) {
        let bytes = encode_series(&series);
        let decoded = decode_series(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(contents(&decoded), contents(&series));
        prop_assert_eq!(decoded.key_count(), series.key_count());
        prop_assert_eq!(decoded.bucket_count(), series.bucket_count());
        for (key, counter) in series.iter() {
            prop_assert_eq!(decoded.get(key).map(Counter::total), Some(counter.total()));
        }
    }

    /// A snapshot file name gives back its time and its series: spelled in
    /// the name, or (a hashed name, or a plain name with a `%`) named by
    /// the sidecar, whose `tree` the name then accepts.
    #[test]
    fn file_names_round_trip(name in series_name(), unix in unix()) {
        let file = snapshot_file_name(unix, &name);
        prop_assert!(!file.contains(['/', '\0']), "{file:?}");
        prop_assert!(file.len() <= 255, "{} bytes", file.len());
        let parsed = parse_snapshot_file_name(&file).map_err(|e| TestCaseError::fail(format!("{file:?}: {e}")))?;
        prop_assert_eq!(parsed.timestamp, unix);
        match parsed.series {
            Some(spelled) if !parsed.sidecar_decides => prop_assert_eq!(spelled, name),
            _ => prop_assert!(names_series(&file, unix, &name), "{:?} does not accept {:?}", file, name),
        }
    }

    /// Sidecars give back every field, whatever the strings hold.
    #[test]
    fn sidecars_round_trip(
        series in any::<String>(),
        file in any::<String>(),
        timestamp in any::<i64>(),
        numbers in any::<[u64; 4]>(),
    ) {
        let meta = SnapshotMeta { series, file: file.clone(), timestamp, last_lsn: numbers[0], bytes: numbers[1] };
        prop_assert_eq!(SnapshotMeta::from_sidecar_json(&meta.to_sidecar_json()).ok(), Some(meta));
        let meta = IdempotencyMeta {
            file,
            timestamp,
            last_lsn: numbers[0],
            bytes: numbers[1],
            record_count: numbers[2],
            committed_stream_count: numbers[3],
        };
        prop_assert_eq!(IdempotencyMeta::from_sidecar_json(&meta.to_sidecar_json()).ok(), Some(meta));
    }
}

proptest! {
    #![proptest_config(config(FILE_CASES))]

    /// Snapshots of a few series written to one directory are listed under
    /// their own names and read back whole, with their metadata.
    #[test]
    fn snapshot_files_round_trip(
        written in prop::collection::btree_map(series_name(), (series(), any::<u64>()), 1..4),
        unix in unix(),
    ) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut metas = BTreeMap::new();
        for (name, (series, last_lsn)) in &written {
            let meta = write_snapshot(dir.path(), name, series, *last_lsn, unix)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            metas.insert(name.clone(), meta);
        }
        let files = list_snapshots(dir.path()).expect("list");
        prop_assert_eq!(files.len(), written.len());
        for file in &files {
            let (series, _) = written.get(&file.series).ok_or_else(|| TestCaseError::fail(format!("{file:?}")))?;
            let meta = &metas[&file.series];
            prop_assert_eq!(&file.file, &meta.file);
            prop_assert_eq!(file.timestamp, unix);
            prop_assert_eq!(file.bytes, meta.bytes);
            prop_assert_eq!(&load_meta(file).map_err(|e| TestCaseError::fail(e.to_string()))?, meta);
            let read = read_snapshot(&file.path).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(contents(&read), contents(series));
        }
    }
}
