//! Tests of the `.tree` codec: the exact bytes of the example in
//! docs/storage.md, Snapshots, Karma 1.0's rmp-serde layout both ways, and
//! every acceptance and rejection of Karma 1.0's reader.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::*;

/// The recipe of docs/storage.md, Snapshots, byte-identical to Karma 1.0.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct RecipeCounter {
    table: HashMap<u64, u64>,
    total: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct RecipeStore {
    branches_num: u32,
    branches: Vec<HashMap<u64, RecipeCounter>>,
}

type Contents = BTreeMap<u64, Vec<(u32, u64)>>;

fn contents(series: &Series) -> Contents {
    series
        .iter()
        .map(|(key, counter)| {
            let points = counter.points().map(|(b, v)| (b.yyyymmdd(), v)).collect();
            (key, points)
        })
        .collect()
}

fn series_of(entries: &[(u64, &[(u64, u64)])]) -> Series {
    let mut series = Series::new();
    for &(key, points) in entries {
        let points = points.iter().map(|&(b, v)| (Bucket::from_yyyymmdd(b).unwrap(), v)).collect();
        series.insert(key, Counter::from_points(points).unwrap());
    }
    series
}

fn unhex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    hex::decode(digits).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Hand-built MessagePack, for documents our encoder would never write.
fn fixstr(s: &str) -> Vec<u8> {
    let mut out = vec![0xa0 | s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

fn bin(s: &str) -> Vec<u8> {
    let mut out = vec![0xc4, s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `{"table": {20260505: 7}, "total": 7}`
fn counter_7() -> Vec<u8> {
    cat(&[&[0x82], &fixstr("table"), &[0x81, 0xce, 0x01, 0x35, 0x26, 0x99, 0x07], &fixstr("total"), &[0x07]])
}

const WORKED_EXAMPLE: &str = "82ac6272616e636865735f6e756d09a86272616e6368657399808080808080\
                              812a82a57461626c6581ce0135269907a5746f74616c078080";

#[test]
fn worked_example_encodes_to_the_exact_56_bytes() {
    let series = series_of(&[(42, &[(20260505, 7)])]);
    let bytes = encode_series(&series);
    assert_eq!(bytes.len(), 56);
    assert_eq!(hex(&bytes), WORKED_EXAMPLE);
}

#[test]
fn worked_example_decodes() {
    let series = decode_series(&unhex(WORKED_EXAMPLE)).unwrap();
    assert_eq!(contents(&series), BTreeMap::from([(42, vec![(20260505, 7)])]));
    assert_eq!(series.get(42).unwrap().total(), 7);
}

/// `snapshot.fetch` and the chunk ops carry file bytes as RFC 4648 base64
/// with `=` padding and no line breaks (docs/storage.md, Snapshots); the `base64`
/// crate's `STANDARD` engine writes exactly that and, decoding, rejects
/// anything it would not write (missing padding, set trailing bits, breaks).
#[test]
fn worked_example_base64_is_the_spec_text() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    let text = "gqxicmFuY2hlc19udW0JqGJyYW5jaGVzmYCAgICAgIEqgqV0YWJsZYHOATUmmQeldG90YWwHgIA=";
    assert_eq!(STANDARD.encode(unhex(WORKED_EXAMPLE)), text);
    assert_eq!(STANDARD.decode(text).unwrap(), unhex(WORKED_EXAMPLE));
    for lenient in ["Zg", "Zh==", "Zm9v\nYmFy", "Zm9-", "Zg==Zg=="] {
        assert!(STANDARD.decode(lenient).is_err(), "{lenient}");
    }
}

#[test]
fn empty_series_is_34_bytes() {
    let bytes = encode_series(&Series::new());
    assert_eq!(hex(&bytes), "82ac6272616e636865735f6e756d09a86272616e6368657399808080808080808080");
    assert_eq!(bytes.len(), 34);
    assert_eq!(decode_series(&bytes).unwrap().key_count(), 0);
}

#[test]
fn wider_integers_use_the_smallest_encoding() {
    // Key 300 sits in branch 300 % 9 = 3.
    let series = series_of(&[(300, &[(20260505, 70000)])]);
    let expected = cat(&[
        &[0x82],
        &fixstr("branches_num"),
        &[0x09],
        &fixstr("branches"),
        &[0x99, 0x80, 0x80, 0x80, 0x81, 0xcd, 0x01, 0x2c, 0x82],
        &fixstr("table"),
        &[0x81, 0xce, 0x01, 0x35, 0x26, 0x99, 0xce, 0x00, 0x01, 0x11, 0x70],
        &fixstr("total"),
        &[0xce, 0x00, 0x01, 0x11, 0x70, 0x80, 0x80, 0x80, 0x80, 0x80],
    ]);
    assert_eq!(hex(&encode_series(&series)), hex(&expected));
    let big = series_of(&[(u64::MAX, &[(20260505, u64::MAX)])]);
    let bytes = encode_series(&big);
    assert!(hex(&bytes).contains("cfffffffffffffffff82"));
    assert_eq!(contents(&decode_series(&bytes).unwrap()), contents(&big));
}

fn sample_series() -> Series {
    series_of(&[
        (0, &[]),
        (9, &[(20260101, 1), (20260102, 2)]),
        (42, &[(20260505, 7)]),
        (300, &[(19991231, 70000), (20260505, 5)]),
        (u64::MAX, &[(99991231, u64::MAX)]),
    ])
}

#[test]
fn a_file_written_by_the_recipe_decodes_identically() {
    let series = sample_series();
    let mut branches: Vec<HashMap<u64, RecipeCounter>> = (0..9).map(|_| HashMap::new()).collect();
    for (key, counter) in series.iter() {
        let table = counter.points().map(|(b, v)| (u64::from(b.yyyymmdd()), v)).collect();
        branches[(key % 9) as usize].insert(key, RecipeCounter { table, total: counter.total() });
    }
    let recipe = RecipeStore { branches_num: 9, branches };
    let bytes = rmp_serde::to_vec_named(&recipe).unwrap();
    assert_eq!(contents(&decode_series(&bytes).unwrap()), contents(&series));
    // And the other way: the recipe reads our file into the same document,
    // and with one entry per map our bytes equal the recipe's.
    let ours = encode_series(&series);
    assert_eq!(rmp_serde::from_slice::<RecipeStore>(&ours).unwrap(), recipe);
    let single = series_of(&[(42, &[(20260505, 7)])]);
    let mut one: Vec<HashMap<u64, RecipeCounter>> = (0..9).map(|_| HashMap::new()).collect();
    one[6].insert(42, RecipeCounter { table: HashMap::from([(20260505, 7)]), total: 7 });
    let recipe_bytes = rmp_serde::to_vec_named(&RecipeStore { branches_num: 9, branches: one }).unwrap();
    assert_eq!(encode_series(&single), recipe_bytes);
}

#[test]
fn a_large_random_series_round_trips() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut series = Series::new();
    for _ in 0..20_000 {
        let key = match next() % 4 {
            0 => next() % 128,
            1 => next() % 70_000,
            2 => next() % (1 << 33),
            _ => next(),
        };
        let buckets = (next() % 6) as usize;
        let points = (0..buckets)
            .map(|_| {
                let day = Bucket::from_day_number(19_000 + (next() % 800) as i64).unwrap();
                (day, 1 + next() % (1 << (next() % 40)))
            })
            .collect();
        series.insert(key, Counter::from_points(points).unwrap());
    }
    let bytes = encode_series(&series);
    let back = decode_series(&bytes).unwrap();
    assert_eq!(back.key_count(), series.key_count());
    assert_eq!(contents(&back), contents(&series));
    let mut streamed = Vec::new();
    encode_series_into(&series, &mut streamed).unwrap();
    assert_eq!(streamed, bytes);
}

#[test]
fn the_reader_accepts_what_karma_accepts() {
    // Fields in any order, bin field names, unknown fields skipped,
    // branches_num 1 with a key "in the wrong branch", nil values skipped,
    // wide and signed integer markers, trailing bytes.
    let counter_bin_names_reordered = cat(&[
        &[0x83],
        &bin("total"),
        &[0xcf, 0, 0, 0, 0, 0, 0, 0, 0x07],
        &fixstr("extra"),
        &[0x92, 0xc0, 0xa1, b'x'],
        &bin("table"),
        &[0x82, 0xce, 0x01, 0x35, 0x26, 0x99, 0xd0, 0x07, 0xce, 0x01, 0x35, 0x26, 0x9a, 0xc0],
    ]);
    let doc = cat(&[
        &[0x83],
        &fixstr("branches"),
        &[0x91, 0x83, 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x2a],
        &counter_bin_names_reordered,
        &[0x05, 0xc0, 0x07],
        &counter_7(),
        &fixstr("comment"),
        &[0xc3],
        &fixstr("branches_num"),
        &[0xcd, 0x00, 0x01],
        &[0xc1, 0xff, 0x00],
    ]);
    let series = decode_series(&doc).unwrap();
    assert_eq!(contents(&series), BTreeMap::from([(7, vec![(20260505, 7)]), (42, vec![(20260505, 7)])]));
}

#[test]
fn nil_or_missing_branches_is_an_empty_series() {
    let nil = cat(&[&[0x82], &fixstr("branches_num"), &[0x09], &fixstr("branches"), &[0xc0]]);
    assert_eq!(decode_series(&nil).unwrap().key_count(), 0);
    let missing = cat(&[&[0x81], &fixstr("branches_num"), &[0x09]]);
    assert_eq!(decode_series(&missing).unwrap().key_count(), 0);
}

#[test]
fn repeated_buckets_and_keys_keep_the_last_entry() {
    let doc = cat(&[
        &[0x82],
        &fixstr("branches_num"),
        &[0x09],
        &fixstr("branches"),
        &[0x91, 0x82, 0x2a],
        &cat(&[&[0x82], &fixstr("table"), &[0x81, 0xce, 0x01, 0x35, 0x26, 0x99, 0x03], &fixstr("total"), &[0x03]]),
        &[0x2a],
        &cat(&[
            &[0x82],
            &fixstr("table"),
            &[0x82, 0xce, 0x01, 0x35, 0x26, 0x99, 0x01, 0xce, 0x01, 0x35, 0x26, 0x99, 0x07],
            &fixstr("total"),
            &[0x07],
        ]),
    ]);
    assert_eq!(contents(&decode_series(&doc).unwrap()), BTreeMap::from([(42, vec![(20260505, 7)])]));
}

fn with_counter(counter: &[u8]) -> Vec<u8> {
    cat(&[&[0x82], &fixstr("branches_num"), &[0x09], &fixstr("branches"), &[0x91, 0x81, 0x2a], counter])
}

fn error_of(doc: &[u8]) -> (SeriesDecodeError, String) {
    let err = decode_series(doc).unwrap_err();
    let text = err.to_string();
    (err, text)
}

#[test]
fn rejects_a_float() {
    let counter = cat(&[&[0x82], &fixstr("table"), &[0x80], &fixstr("total"), &[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]]);
    let (err, text) = error_of(&with_counter(&counter));
    assert!(matches!(err, SeriesDecodeError::Malformed(_)));
    assert_eq!(text, "invalid type: floating point `1.5`, expected u64");
}

#[test]
fn rejects_a_negative() {
    let counter =
        cat(&[&[0x82], &fixstr("table"), &[0x81, 0xce, 0x01, 0x35, 0x26, 0x99, 0xff], &fixstr("total"), &[0x00]]);
    let (_, text) = error_of(&with_counter(&counter));
    assert_eq!(text, "invalid value: integer `-1`, expected u64");
}

#[test]
fn rejects_array_encoded_structs() {
    let store = RecipeStore { branches_num: 9, branches: (0..9).map(|_| HashMap::new()).collect() };
    let (_, text) = error_of(&rmp_serde::to_vec(&store).unwrap());
    assert_eq!(text, "invalid type: sequence, expected a snapshot map with branches_num and branches");
    let counter = [0x92, 0x80, 0x00];
    let (_, text) = error_of(&with_counter(&counter));
    assert_eq!(text, "invalid type: sequence, expected a counter map with table and total");
}

#[test]
fn rejects_missing_or_zero_branches_num() {
    let missing = cat(&[&[0x81], &fixstr("branches"), &[0x90]]);
    assert_eq!(error_of(&missing), (SeriesDecodeError::MissingBranchesNum, "missing field `branches_num`".to_string()));
    let zero = cat(&[&[0x82], &fixstr("branches_num"), &[0x00], &fixstr("branches"), &[0x90]]);
    assert_eq!(
        error_of(&zero),
        (SeriesDecodeError::ZeroBranchesNum, "branches_num must be at least 1, got 0".to_string())
    );
    let too_wide = cat(&[&[0x81], &fixstr("branches_num"), &[0xcf, 0, 0, 0, 1, 0, 0, 0, 0]]);
    assert_eq!(error_of(&too_wide).1, "invalid value: integer `4294967296`, expected u32");
}

#[test]
fn rejects_a_bucket_that_is_not_a_date() {
    // 20260230: February 30th.
    let counter =
        cat(&[&[0x82], &fixstr("table"), &[0x81, 0xce, 0x01, 0x35, 0x25, 0x86, 0x01], &fixstr("total"), &[0x01]]);
    assert_eq!(
        error_of(&with_counter(&counter)),
        (
            SeriesDecodeError::NotADate { key: 42, bucket: 20260230 },
            "bucket 20260230 of key 42 is not a YYYYMMDD date".to_string()
        )
    );
}

#[test]
fn rejects_a_total_that_is_not_the_sum() {
    let counter =
        cat(&[&[0x82], &fixstr("table"), &[0x81, 0xce, 0x01, 0x35, 0x26, 0x99, 0x07], &fixstr("total"), &[0x08]]);
    assert_eq!(
        error_of(&with_counter(&counter)),
        (
            SeriesDecodeError::TotalMismatch { key: 42, total: 8, sum: Some(7) },
            "total 8 of key 42 does not equal the sum of its table 7".to_string()
        )
    );
    let max = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    let overflow = cat(&[
        &[0x82],
        &fixstr("table"),
        &[0x82, 0xce, 0x01, 0x35, 0x26, 0x99],
        &max,
        &[0xce, 0x01, 0x35, 0x26, 0x9a, 0x01],
        &fixstr("total"),
        &max,
    ]);
    assert_eq!(
        error_of(&with_counter(&overflow)).1,
        "total 18446744073709551615 of key 42 does not equal the sum of its table (above 18446744073709551615)"
    );
}

#[test]
fn rejects_truncated_and_non_map_documents() {
    let bytes = unhex(WORKED_EXAMPLE);
    assert!(matches!(decode_series(&bytes[..40]), Err(SeriesDecodeError::Malformed(_))));
    assert!(matches!(decode_series(&[]), Err(SeriesDecodeError::Malformed(_))));
    assert_eq!(error_of(&[0xc0]).1, "invalid type: unit value, expected a snapshot map with branches_num and branches");
    // A corrupt map32 length must fail cleanly, not allocate.
    let huge = with_counter(&cat(&[
        &[0x82],
        &fixstr("table"),
        &[0xdf, 0xff, 0xff, 0xff, 0xff, 0xce, 0x01, 0x35, 0x26, 0x99, 0x01],
    ]));
    assert_eq!(error_of(&huge).1, "IO error while reading marker: failed to fill whole buffer");
}

#[test]
fn a_failing_writer_gets_its_own_error_back() {
    struct FullDisk(usize);
    impl io::Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0 < buf.len() {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.0 -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let err = encode_series_into(&sample_series(), &mut FullDisk(20)).unwrap_err();
    assert_eq!((err.kind(), err.to_string()), (io::ErrorKind::StorageFull, "disk full".to_string()));
}

/// Errors compare by their variant and fields as Debug shows them (the
/// rmp-serde error inside `Malformed` has no equality of its own).
impl PartialEq for SeriesDecodeError {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}
