//! The `.tree` file: one series as Karma 1.0's MessagePack document
//! (docs/storage.md, Snapshots).
//!
//! ```text
//! Store   = map { "branches_num": 9, "branches": array[9] of Branch }
//! Branch  = map { <key: u64> => Counter }        key k in branch k % 9
//! Counter = map { "table": map { <bucket: u64> => <value: u64> }, "total": u64 }
//! ```
//!
//! Writing streams straight from `store::Series`: thin wrapper types
//! implement `Serialize`, so a series of millions of keys is never copied
//! into an intermediate hash map. Karma 1.0 shards keys into nine branch
//! maps; we are not sharded, so each branch is one pass over the series'
//! keys filtered by `key % 9` (a first pass counts the keys per branch,
//! since a MessagePack map header carries its length). Every struct is
//! written as a map with string field names, in Karma's field order, and
//! rmp-serde picks the smallest integer encodings: the output is
//! byte-identical to Karma 1.0's up to the order of map entries.
//!
//! Reading accepts what Karma 1.0's reader accepts (docs/storage.md, Snapshots): fields in any
//! order, str or bin field names, unknown fields skipped, any integer marker
//! whose value fits, nil map values skipped, trailing bytes ignored, any
//! `branches_num >= 1` with keys in any branch. A `Deserialize` visitor
//! builds `Counter`s directly. On top of Karma, buckets must be real dates
//! and a counter's `total` must equal the sum of its table; Karma checked
//! neither at load time, and a model that breaks either cannot be held by
//! `store::Counter`. Where a map repeats a key or a bucket, the last entry
//! wins, as it did in Karma's hashes.

use std::cell::RefCell;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::store::{Bucket, Counter, Series};

/// Number of branches Karma 1.0 creates, and that we write.
pub const BRANCHES_NUM: u32 = 9;

/// Why a `.tree` document does not decode.
#[derive(Debug, thiserror::Error)]
pub enum SeriesDecodeError {
    /// Not MessagePack of the expected shape: truncated, wrong types (a
    /// float, a negative, an array where a map belongs, ...). rmp-serde's
    /// error.
    #[error(transparent)]
    Malformed(rmp_serde::decode::Error),
    /// The document has no `branches_num` field.
    #[error("missing field `branches_num`")]
    MissingBranchesNum,
    /// `branches_num` is 0 (Karma 1.0 would divide by zero).
    #[error("branches_num must be at least 1, got 0")]
    ZeroBranchesNum,
    /// A bucket that is not a real `YYYYMMDD` day.
    #[error("bucket {bucket} of key {key} is not a YYYYMMDD date")]
    NotADate {
        /// The key holding it.
        key: u64,
        /// The bucket as written.
        bucket: u64,
    },
    /// A counter whose `total` differs from the sum of its table.
    #[error("total {total} of key {key} does not equal the sum of its table {}", shown_sum(*.sum))]
    TotalMismatch {
        /// The key.
        key: u64,
        /// `total` as written.
        total: u64,
        /// The sum of the table, `None` when it exceeds `u64::MAX`.
        sum: Option<u64>,
    },
}

/// The sum in a `TotalMismatch` message: past `u64` it is not known.
fn shown_sum(sum: Option<u64>) -> String {
    sum.map_or_else(|| "(above 18446744073709551615)".to_string(), |sum| sum.to_string())
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// Encodes `series` as a complete `.tree` document.
pub fn encode_series(series: &Series) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and the wrappers below always give
    // lengths that match what they write.
    encode_series_into(series, &mut out).expect("encoding into memory cannot fail");
    out
}

/// Encodes `series` as a complete `.tree` document into `out` (wrap a file
/// in a `BufWriter`: the encoder makes many small writes).
pub fn encode_series_into(series: &Series, out: &mut (impl io::Write + ?Sized)) -> io::Result<()> {
    let mut counts = [0usize; BRANCHES_NUM as usize];
    for (key, _) in series.iter() {
        counts[branch_of(key)] += 1;
    }
    let document = StoreOut { series, counts };
    let mut writer = ErrorKeepingWriter { inner: out, error: None };
    let result = document.serialize(&mut rmp_serde::Serializer::new(&mut writer));
    match (result, writer.error) {
        (Ok(()), _) => Ok(()),
        // rmp-serde wraps I/O errors in its own type; hand back the original.
        (Err(_), Some(io)) => Err(io),
        (Err(other), None) => Err(io::Error::other(other.to_string())),
    }
}

/// Remembers the first I/O error of the inner writer.
struct ErrorKeepingWriter<W> {
    inner: W,
    error: Option<io::Error>,
}

impl<W> ErrorKeepingWriter<W> {
    /// Keeps the original error and gives rmp-serde a copy.
    fn keep<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        result.map_err(|err| {
            let copy = io::Error::new(err.kind(), err.to_string());
            self.error.get_or_insert(err);
            copy
        })
    }
}

impl<W: io::Write> io::Write for ErrorKeepingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = self.inner.write(buf);
        self.keep(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = self.inner.write_all(buf);
        self.keep(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = self.inner.flush();
        self.keep(result)
    }
}

fn branch_of(key: u64) -> usize {
    // The remainder is below 9, so the cast cannot truncate.
    (key % u64::from(BRANCHES_NUM)) as usize
}

struct StoreOut<'a> {
    series: &'a Series,
    counts: [usize; BRANCHES_NUM as usize],
}

impl Serialize for StoreOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `branches_num` first: Karma 1.0's order (docs/storage.md, Snapshots).
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("branches_num", &BRANCHES_NUM)?;
        map.serialize_entry("branches", &BranchesOut(self))?;
        map.end()
    }
}

struct BranchesOut<'a, 'b>(&'b StoreOut<'a>);

impl Serialize for BranchesOut<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.counts.len()))?;
        for (branch, &len) in self.0.counts.iter().enumerate() {
            seq.serialize_element(&BranchOut { series: self.0.series, branch, len })?;
        }
        seq.end()
    }
}

struct BranchOut<'a> {
    series: &'a Series,
    branch: usize,
    len: usize,
}

impl Serialize for BranchOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len))?;
        if self.len > 0 {
            for (key, counter) in self.series.iter() {
                if branch_of(key) == self.branch {
                    map.serialize_entry(&key, &CounterOut(counter))?;
                }
            }
        }
        map.end()
    }
}

struct CounterOut<'a>(&'a Counter);

impl Serialize for CounterOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `table` first, then `total`: Karma 1.0's order.
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("table", &TableOut(self.0))?;
        map.serialize_entry("total", &self.0.total())?;
        map.end()
    }
}

struct TableOut<'a>(&'a Counter);

impl Serialize for TableOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let points = self.0.points();
        let mut map = serializer.serialize_map(Some(points.len()))?;
        for (bucket, value) in points {
            map.serialize_entry(&u64::from(bucket.yyyymmdd()), &value)?;
        }
        map.end()
    }
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Decodes a `.tree` document into a series.
pub fn decode_series(bytes: &[u8]) -> Result<Series, SeriesDecodeError> {
    // Errors the model finds are kept here with their structure; rmp-serde
    // only carries a message through the visitor stack.
    let failure = RefCell::new(None);
    let mut deserializer = rmp_serde::Deserializer::from_read_ref(bytes);
    let result = StoreSeed { failure: &failure }.deserialize(&mut deserializer);
    match result {
        Ok(series) => Ok(series),
        Err(err) => Err(failure.into_inner().unwrap_or(SeriesDecodeError::Malformed(err))),
    }
}

type Failure = RefCell<Option<SeriesDecodeError>>;

/// Records a model error and returns the matching serde error.
fn fail<E: de::Error>(failure: &Failure, error: SeriesDecodeError) -> E {
    let message = error.to_string();
    *failure.borrow_mut() = Some(error);
    E::custom(message)
}

/// A field name, given as str or bin.
enum Field {
    BranchesNum,
    Branches,
    Table,
    Total,
    Other,
}

impl<'de> de::Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name (str or bin)")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Field, E> {
                self.visit_bytes(name.as_bytes())
            }
            fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<Field, E> {
                Ok(match name {
                    b"branches_num" => Field::BranchesNum,
                    b"branches" => Field::Branches,
                    b"table" => Field::Table,
                    b"total" => Field::Total,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

struct StoreSeed<'f> {
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for StoreSeed<'_> {
    type Value = Series;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Series, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for StoreSeed<'_> {
    type Value = Series;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a snapshot map with branches_num and branches")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Series, A::Error> {
        let mut series = Series::new();
        let mut branches_num: Option<u32> = None;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::BranchesNum => branches_num = Some(map.next_value()?),
                Field::Branches => map.next_value_seed(BranchesSeed { series: &mut series, failure: self.failure })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match branches_num {
            None => Err(fail(self.failure, SeriesDecodeError::MissingBranchesNum)),
            Some(0) => Err(fail(self.failure, SeriesDecodeError::ZeroBranchesNum)),
            // Keys are not sharded in memory, so neither the branch count
            // nor which branch a key sat in matters once it is read.
            Some(_) => Ok(series),
        }
    }
}

/// `branches`: an array of branch maps, or nil (read as no branches).
struct BranchesSeed<'s, 'f> {
    series: &'s mut Series,
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for BranchesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for BranchesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of branch maps")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(BranchSeed { series: self.series, failure: self.failure })?.is_some() {}
        Ok(())
    }
}

/// One branch: key -> counter (nil counters skipped).
struct BranchSeed<'s, 'f> {
    series: &'s mut Series,
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for BranchSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BranchSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a branch map from keys to counters")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<u64>()? {
            let counter = map.next_value_seed(CounterSeed { key, failure: self.failure })?;
            if let Some(counter) = counter {
                self.series.insert(key, counter);
            }
        }
        Ok(())
    }
}

/// One counter (or nil): `{"table": {...}, "total": N}`.
struct CounterSeed<'f> {
    key: u64,
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for CounterSeed<'_> {
    type Value = Option<Counter>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Counter>, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for CounterSeed<'_> {
    type Value = Option<Counter>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a counter map with table and total")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Counter>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Counter>, D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Counter>, A::Error> {
        let mut points: Vec<(Bucket, u64)> = Vec::new();
        // Absent (or nil) fields take Karma's initial values: an empty
        // table and a total of 0.
        let mut total: u64 = 0;
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::Table => {
                    map.next_value_seed(TableSeed { key: self.key, points: &mut points, failure: self.failure })?
                }
                Field::Total => total = map.next_value::<Option<u64>>()?.unwrap_or(0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let mismatch = |sum| fail(self.failure, SeriesDecodeError::TotalMismatch { key: self.key, total, sum });
        last_entry_wins(&mut points);
        let sum = points.iter().try_fold(0u64, |sum, &(_, value)| sum.checked_add(value));
        if sum != Some(total) {
            return Err(mismatch(sum));
        }
        Counter::from_points(points).map(Some).map_err(|_| mismatch(None))
    }
}

/// Keeps only the last of repeated buckets (a MessagePack map that repeats
/// a key means the later value, as in Karma's hash), sorted by bucket.
fn last_entry_wins(points: &mut Vec<(Bucket, u64)>) {
    // Stable, so equal buckets keep their file order.
    points.sort_by_key(|&(bucket, _)| bucket);
    let mut write = 0;
    for read in 0..points.len() {
        if write > 0 && points[write - 1].0 == points[read].0 {
            points[write - 1] = points[read];
        } else {
            points[write] = points[read];
            write += 1;
        }
    }
    points.truncate(write);
}

/// A counter's `table` (or nil): bucket -> value, nil values skipped.
struct TableSeed<'p, 'f> {
    key: u64,
    points: &'p mut Vec<(Bucket, u64)>,
    failure: &'f Failure,
}

impl<'de> DeserializeSeed<'de> for TableSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TableSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a table map from buckets to values")
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.points.clear();
        // The hint comes from the file: cap it, so a corrupt length cannot
        // make us allocate gigabytes before the read fails.
        self.points.reserve(map.size_hint().unwrap_or(0).min(4096));
        while let Some(raw) = map.next_key::<u64>()? {
            let Some(bucket) = Bucket::from_yyyymmdd(raw) else {
                return Err(fail(self.failure, SeriesDecodeError::NotADate { key: self.key, bucket: raw }));
            };
            if let Some(value) = map.next_value::<Option<u64>>()? {
                self.points.push((bucket, value));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
