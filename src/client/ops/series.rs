//! Whole-series management and reads (docs/protocol.md, Inspecting a series; the wire
//! calls a series a `tree`).

use super::counters::numeric_keys;
use super::{Fields, Range};
use crate::client::{Client, KeysPage, Result, SeriesInfo, SeriesSummary, Top};
use crate::protocol::Op;
use std::collections::BTreeMap;

impl Client {
    /// `tree.create`: creates an empty series (no error if it exists).
    pub fn create_series(&self, series: &str) -> Result<()> {
        self.acknowledged(Op::TreeCreate, Fields::series(series))
    }

    /// `tree.drop`: removes a series; `not_found` when missing.
    pub fn drop_series(&self, series: &str) -> Result<()> {
        self.acknowledged(Op::TreeDrop, Fields::series(series))
    }

    /// `tree.list`: the names of all series.
    pub fn list_series(&self) -> Result<Vec<String>> {
        self.typed(Op::TreeList, Fields::new().into_map())
    }

    /// `tree.reset`: empties every key of the series (the keys stay).
    pub fn reset_series(&self, series: &str, idempotency_key: Option<&str>) -> Result<()> {
        let fields = Fields::series(series).idempotency_key(idempotency_key);
        self.acknowledged(Op::TreeReset, fields)
    }

    /// `tree.delete_range`: deletes the buckets inside `range` of every key.
    pub fn delete_series_range(&self, series: &str, range: Range, idempotency_key: Option<&str>) -> Result<()> {
        let fields = Fields::series(series).range(range).idempotency_key(idempotency_key);
        self.typed::<bool>(Op::TreeDeleteRange, fields.into_map()).map(drop)
    }

    /// `tree.series`: every key with its buckets inside `range`
    /// (key -> bucket -> value; keys with nothing in range map to empty).
    pub fn series_points(&self, series: &str, range: Range) -> Result<BTreeMap<u64, BTreeMap<u64, u64>>> {
        let keys: BTreeMap<String, BTreeMap<String, u64>> =
            self.typed(Op::TreeSeries, Fields::series(series).range(range).into_map())?;
        numeric_keys(keys)?.into_iter().map(|(key, points)| Ok((key, numeric_keys(points)?))).collect()
    }

    /// `tree.info`: key and bucket counts and the grand total.
    pub fn series_info(&self, series: &str) -> Result<SeriesInfo> {
        self.typed(Op::TreeInfo, Fields::series(series).into_map())
    }

    /// `tree.keys`: one page of keys (ascending) strictly after `cursor`,
    /// with their totals; `limit` 1..=10,000, 100 when `None`.
    pub fn series_keys(&self, series: &str, limit: Option<u32>, cursor: Option<u64>) -> Result<KeysPage> {
        let fields = Fields::series(series).with_some("limit", limit).with_some("cursor", cursor);
        self.typed(Op::TreeKeys, fields.into_map())
    }

    /// `tree.summary`: totals of the whole series, or of `range`.
    pub fn series_summary(&self, series: &str, range: Option<Range>) -> Result<SeriesSummary> {
        self.typed(Op::TreeSummary, Fields::series(series).some_range(range).into_map())
    }

    /// `tree.top`: the keys with the highest totals (or in-range sums);
    /// `limit` 1..=1000, 50 when `None`.
    pub fn series_top(&self, series: &str, limit: Option<u32>, range: Option<Range>) -> Result<Top> {
        let fields = Fields::series(series).with_some("limit", limit).some_range(range);
        self.typed(Op::TreeTop, fields.into_map())
    }
}
