//! Counter ops and series-level writes (docs/protocol.md sections 7 and 8).

use super::{Fields, Range};
use crate::client::{BatchAdded, BatchDeleted, BatchReset, BatchSet, Client, KeyValue, Result, SeriesKeyValue};
use crate::protocol::Op;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

impl Client {
    /// `counter.increment`: adds `value` (> 0) to `key`'s `bucket` (today
    /// in UTC when `None`) and returns the amount added, **not** the new
    /// total. Creates the series and key when missing.
    pub fn increment(
        &self,
        series: &str,
        key: u64,
        bucket: Option<u64>,
        value: u64,
        idempotency_key: Option<&str>,
    ) -> Result<u64> {
        self.change_counter(Op::Increment, series, key, bucket, value, idempotency_key)
    }

    /// `counter.decrement`: takes up to `value` from `key`'s `bucket`
    /// (never below zero) and returns `value` as requested.
    pub fn decrement(
        &self,
        series: &str,
        key: u64,
        bucket: Option<u64>,
        value: u64,
        idempotency_key: Option<&str>,
    ) -> Result<u64> {
        self.change_counter(Op::Decrement, series, key, bucket, value, idempotency_key)
    }

    /// `counter.sum`: `key`'s all-time total, or its sum over `range`; 0
    /// for a missing key, `not_found` for a missing series.
    pub fn sum(&self, series: &str, key: u64, range: Option<Range>) -> Result<u64> {
        self.typed(Op::Sum, Fields::series(series).with("key", key).some_range(range).into_map())
    }

    /// `counter.batch_sum`: one sum per requested key (at most 10,000), in
    /// request order, duplicates kept.
    pub fn batch_sum(&self, series: &str, keys: &[u64], range: Option<Range>) -> Result<Vec<KeyValue>> {
        self.typed(Op::BatchSum, Fields::series(series).keys(keys).some_range(range).into_map())
    }

    /// `counter.multi_sum`: sums of `(series, key)` pairs across series, in
    /// request order.
    pub fn multi_sum(&self, items: &[(&str, u64)], range: Option<Range>) -> Result<Vec<SeriesKeyValue>> {
        let items: Vec<serde_json::Value> =
            items.iter().map(|&(series, key)| serde_json::json!({"series": series, "key": key})).collect();
        self.typed(Op::MultiSum, Fields::new().with("items", items).some_range(range).into_map())
    }

    /// `counter.series`: `key`'s buckets inside `range`, bucket -> value.
    pub fn points(&self, series: &str, key: u64, range: Range) -> Result<BTreeMap<u64, u64>> {
        let points: BTreeMap<String, u64> =
            self.typed(Op::CounterSeries, Fields::series(series).with("key", key).range(range).into_map())?;
        numeric_keys(points)
    }

    /// `counter.delete_range`: deletes `key`'s buckets inside `range`.
    pub fn delete_range(&self, series: &str, key: u64, range: Range, idempotency_key: Option<&str>) -> Result<()> {
        let fields = Fields::series(series).with("key", key).range(range).idempotency_key(idempotency_key);
        self.typed::<bool>(Op::CounterDeleteRange, fields.into_map()).map(drop)
    }

    /// `counter.batch_delete_range`: deletes each key's buckets inside
    /// `range`.
    pub fn batch_delete_range(
        &self,
        series: &str,
        keys: &[u64],
        range: Range,
        idempotency_key: Option<&str>,
    ) -> Result<BatchDeleted> {
        let fields = Fields::series(series).keys(keys).range(range).idempotency_key(idempotency_key);
        self.typed(Op::BatchDeleteRange, fields.into_map())
    }

    /// `counter.reset`: removes all of `key`'s buckets (the key stays).
    pub fn reset(&self, series: &str, key: u64, idempotency_key: Option<&str>) -> Result<()> {
        let fields = Fields::series(series).with("key", key).idempotency_key(idempotency_key);
        self.acknowledged(Op::CounterReset, fields)
    }

    /// `counter.batch_reset`: removes all buckets of each key.
    pub fn batch_reset(&self, series: &str, keys: &[u64], idempotency_key: Option<&str>) -> Result<BatchReset> {
        let fields = Fields::series(series).keys(keys).idempotency_key(idempotency_key);
        self.typed(Op::BatchReset, fields.into_map())
    }

    /// `series.batch_add`: adds each `(key, bucket, value)` item (at most
    /// 10,000, values > 0), all or nothing.
    pub fn batch_add(
        &self,
        series: &str,
        items: &[(u64, u64, u64)],
        idempotency_key: Option<&str>,
    ) -> Result<BatchAdded> {
        self.write_items(Op::BatchAdd, series, items, idempotency_key)
    }

    /// `series.batch_set`: sets each `(key, bucket, value)` item's bucket
    /// to exactly `value` (0 deletes it); the last of duplicates wins.
    pub fn batch_set(
        &self,
        series: &str,
        items: &[(u64, u64, u64)],
        idempotency_key: Option<&str>,
    ) -> Result<BatchSet> {
        self.write_items(Op::BatchSet, series, items, idempotency_key)
    }

    /// `series.delete_before`: deletes every bucket `< before`, then
    /// compacts the series.
    pub fn delete_before(&self, series: &str, before: u64) -> Result<()> {
        self.acknowledged(Op::DeleteBefore, Fields::series(series).with("before", before))
    }

    /// `series.compact`: drops zero buckets and keys whose total is 0.
    pub fn compact_series(&self, series: &str) -> Result<()> {
        self.acknowledged(Op::SeriesCompact, Fields::series(series))
    }

    /// `system.compact`: compacts every series.
    pub fn compact_all(&self) -> Result<()> {
        self.acknowledged(Op::SystemCompact, Fields::new())
    }
}

impl Client {
    /// `counter.increment` and `counter.decrement`: the same fields, and
    /// both reply with the amount asked for.
    fn change_counter(
        &self,
        op: Op,
        series: &str,
        key: u64,
        bucket: Option<u64>,
        value: u64,
        idempotency_key: Option<&str>,
    ) -> Result<u64> {
        let fields = Fields::series(series)
            .with("key", key)
            .with_some("bucket", bucket)
            .with("value", value)
            .idempotency_key(idempotency_key);
        self.typed(op, fields.into_map())
    }

    /// `series.batch_add` and `series.batch_set`: the same fields, each
    /// with its own reply.
    fn write_items<T: DeserializeOwned>(
        &self,
        op: Op,
        series: &str,
        items: &[(u64, u64, u64)],
        idempotency_key: Option<&str>,
    ) -> Result<T> {
        let fields = Fields::series(series).items(items).idempotency_key(idempotency_key);
        self.typed(op, fields.into_map())
    }
}

/// Reads an object keyed by decimal numbers (buckets or keys).
pub(super) fn numeric_keys<V>(object: BTreeMap<String, V>) -> Result<BTreeMap<u64, V>> {
    object
        .into_iter()
        .map(|(name, value)| match name.parse::<u64>() {
            Ok(number) => Ok((number, value)),
            Err(_) => Err(crate::client::Error::InvalidReply {
                reason: format!("{name:?} is not an unsigned integer"),
                reply: String::new(),
            }),
        })
        .collect()
}
