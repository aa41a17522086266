//! The typed methods of [`Client`], one per op, grouped as
//! docs/protocol.md groups them. Each builds its request's fields; the client
//! adds `v`, `op` and the token, and decodes the reply.

mod admin;
mod counters;
mod series;

use super::{Client, Result};
use crate::protocol::Op;
use serde_json::{Map, Value};

/// An inclusive range of day buckets, `YYYYMMDD` to `YYYYMMDD`, at most
/// 367 days (the server's limit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: u64,
    pub to: u64,
}

impl Range {
    pub fn new(from: u64, to: u64) -> Range {
        Range { from, to }
    }

    /// One day.
    pub fn day(bucket: u64) -> Range {
        Range { from: bucket, to: bucket }
    }
}

pub use crate::protocol::IngestMode;

/// The fields of one request, in the order they are added.
struct Fields(Map<String, Value>);

impl Fields {
    fn new() -> Fields {
        Fields(Map::new())
    }

    fn series(series: &str) -> Fields {
        Fields::new().with("series", series)
    }

    fn with(mut self, name: &str, value: impl Into<Value>) -> Fields {
        self.0.insert(name.to_string(), value.into());
        self
    }

    fn with_some(self, name: &str, value: Option<impl Into<Value>>) -> Fields {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }

    fn range(self, range: Range) -> Fields {
        let mut object = Map::new();
        object.insert("from".into(), Value::from(range.from));
        object.insert("to".into(), Value::from(range.to));
        self.with("range", Value::Object(object))
    }

    fn some_range(self, range: Option<Range>) -> Fields {
        match range {
            Some(range) => self.range(range),
            None => self,
        }
    }

    fn keys(self, keys: &[u64]) -> Fields {
        self.with("keys", keys.iter().map(|&key| Value::from(key)).collect::<Vec<_>>())
    }

    /// `[key, bucket, value]` triples.
    fn items(self, items: &[(u64, u64, u64)]) -> Fields {
        let items: Vec<Value> = items
            .iter()
            .map(|&(key, bucket, value)| Value::Array(vec![key.into(), bucket.into(), value.into()]))
            .collect();
        self.with("items", items)
    }

    fn idempotency_key(self, key: Option<&str>) -> Fields {
        self.with_some("idempotency_key", key)
    }

    fn into_map(self) -> Map<String, Value> {
        self.0
    }
}

impl Client {
    /// Sends an op whose reply is the string `"OK"`, and drops it.
    fn acknowledged(&self, op: Op, fields: Fields) -> Result<()> {
        self.typed::<String>(op, fields.into_map()).map(drop)
    }
}
