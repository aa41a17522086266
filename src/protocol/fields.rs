//! Field decoding shared by every op (docs/protocol.md, Fields and numbers): presence,
//! JSON type and sign, with the exact messages of the reference.

use super::error::CommandError;
use super::json::Value;
use crate::store::Bucket;
use std::borrow::Cow;

pub type FieldResult<T> = Result<T, CommandError>;

pub fn type_error(name: &str, value: &Value<'_>, expected: &str) -> CommandError {
    CommandError::validation(format!("Field {name} must be {expected}, got {}", value.type_name()))
}

fn negative(name: &str) -> CommandError {
    CommandError::validation(format!("Field {name} must be greater than or equal to 0"))
}

pub fn required(name: &str) -> CommandError {
    CommandError::validation(format!("Field {name} is required"))
}

/// An unsigned integer (docs/protocol.md, Fields and numbers) from a value already present:
/// the whole u64 range, where Karma 1.0 stops at `i64::MAX`.
pub fn uint_value(value: &Value<'_>, name: &str) -> FieldResult<u64> {
    match value {
        Value::Int(n) if *n < 0 => Err(negative(name)),
        Value::Int(n) => u64::try_from(*n).map_err(|_| too_large(name, u64::MAX.into())),
        other => Err(type_error(name, other, "an integer")),
    }
}

/// Only reachable for a value the JSON parser did not produce (it keeps
/// integers within `i64::MIN..=u64::MAX`) or a field narrower than u64.
fn too_large(name: &str, max: i128) -> CommandError {
    CommandError::validation(format!("Field {name} must be less than or equal to {max}"))
}

/// An optional unsigned integer field.
pub fn opt_uint(obj: &Value<'_>, field: &str, name: &str) -> FieldResult<Option<u64>> {
    obj.get(field).map(|v| uint_value(v, name)).transpose()
}

/// A required unsigned integer field (`Field <field> is required`).
pub fn req_uint(obj: &Value<'_>, field: &str) -> FieldResult<u64> {
    req_uint_named(obj, field, field)
}

/// A required unsigned integer field, called `name` in messages (for a
/// field of a nested object, such as `range.from`).
pub fn req_uint_named(obj: &Value<'_>, field: &str, name: &str) -> FieldResult<u64> {
    opt_uint(obj, field, name)?.ok_or_else(|| required(name))
}

/// A required array field.
pub fn req_array<'v, 'a>(obj: &'v Value<'a>, field: &str) -> FieldResult<&'v [Value<'a>]> {
    match obj.get(field) {
        None => Err(required(field)),
        Some(Value::Array(list)) => Ok(list),
        Some(other) => Err(type_error(field, other, "an array")),
    }
}

/// A signed i64 JSON integer (reconciliation fields); a larger one, which
/// the parser accepts for the u64 fields, is a validation error.
pub fn opt_int(obj: &Value<'_>, field: &str) -> FieldResult<Option<i64>> {
    match obj.get(field) {
        None => Ok(None),
        Some(Value::Int(n)) => i64::try_from(*n).map(Some).map_err(|_| too_large(field, i64::MAX.into())),
        Some(other) => Err(type_error(field, other, "an integer")),
    }
}

/// `limit`: an integer that must fit int32 (defect D5 fixed: out-of-range
/// values are a validation error with the validator's own wording).
pub fn opt_limit(obj: &Value<'_>) -> FieldResult<Option<i64>> {
    match obj.get("limit") {
        None => Ok(None),
        Some(Value::Int(n)) if *n > i128::from(i32::MAX) => {
            Err(CommandError::validation("Field limit exceeds max size"))
        }
        Some(Value::Int(n)) if *n < i128::from(i32::MIN) => {
            Err(CommandError::validation("Field limit must be greater than 0"))
        }
        Some(Value::Int(n)) => Ok(Some(*n as i64)),
        Some(other) => Err(type_error("limit", other, "an integer")),
    }
}

/// `offset` of the chunk ops: optional, default 0, never negative.
pub fn opt_offset(obj: &Value<'_>) -> FieldResult<u64> {
    Ok(opt_uint(obj, "offset", "offset")?.unwrap_or(0))
}

/// The series name: `tree` if it is a string, else `series` (docs/protocol.md, Fields and numbers).
pub fn series<'a>(obj: &Value<'a>) -> FieldResult<Cow<'a, str>> {
    if let Some(Value::Str(s)) = obj.get("tree") {
        return Ok(s.clone());
    }
    if let Some(Value::Str(s)) = obj.get("series") {
        return Ok(s.clone());
    }
    Err(CommandError::validation("Field tree or series is required"))
}

/// A string field where any other type counts as missing.
pub fn opt_str<'a>(obj: &Value<'a>, field: &str) -> Option<Cow<'a, str>> {
    match obj.get(field) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A string field that must be present as a string.
pub fn req_str<'a>(obj: &Value<'a>, field: &str) -> FieldResult<Cow<'a, str>> {
    opt_str(obj, field).ok_or_else(|| required(field))
}

/// `file` of the snapshot ops (docs/protocol.md, Snapshot ops, parse step).
pub fn snapshot_file<'a>(obj: &Value<'a>) -> FieldResult<Cow<'a, str>> {
    let file = req_str(obj, "file")?;
    if file.is_empty() {
        return Err(CommandError::validation("Field file must not be empty"));
    }
    if file.contains('/') || file == "." || file == ".." {
        return Err(CommandError::validation("Field file must be a snapshot basename"));
    }
    if !file.ends_with(".tree") {
        return Err(CommandError::validation("Field file must end with .tree"));
    }
    Ok(file)
}

/// A "string or integer" field (docs/protocol.md, Fields and numbers): integers become their
/// decimal text; any other type, `null` included, is an error.
/// A string is borrowed from the request line when it has no escapes.
pub fn opt_str_or_int<'a>(obj: &Value<'a>, field: &str) -> FieldResult<Option<Cow<'a, str>>> {
    obj.get(field).map(|value| str_or_int(value, field)).transpose()
}

/// The value of the "string or integer" field `field`.
pub fn str_or_int<'a>(value: &Value<'a>, field: &str) -> FieldResult<Cow<'a, str>> {
    match value {
        Value::Str(s) => Ok(s.clone()),
        Value::Int(n) => Ok(Cow::Owned(n.to_string())),
        _ => Err(CommandError::validation(format!("Field {field} must be a string or integer"))),
    }
}

/// The write bucket of increment/decrement (docs/protocol.md, Fields and
/// numbers, with the deliberate difference of docs/protocol.md, Differences
/// from Karma 1.0: it must be a real UTC day).
/// `date` wins over `bucket`; neither means today.
pub fn write_bucket(obj: &Value<'_>) -> FieldResult<Bucket> {
    if let Some(value) = obj.get("date") {
        let raw = uint_value(value, "date")?;
        return Bucket::from_yyyymmdd(raw).ok_or_else(|| not_a_date("date"));
    }
    match obj.get("bucket") {
        None => Ok(Bucket::today()),
        Some(Value::Str(text)) => {
            if text.starts_with('-') {
                return Err(negative("bucket"));
            }
            let digits: String = text.chars().filter(|&c| c != '-').collect();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_date("bucket"));
            }
            digits.parse::<u64>().ok().and_then(Bucket::from_yyyymmdd).ok_or_else(|| not_a_date("bucket"))
        }
        Some(value) => {
            let raw = uint_value(value, "bucket")?;
            Bucket::from_yyyymmdd(raw).ok_or_else(|| not_a_date("bucket"))
        }
    }
}

fn not_a_date(name: &str) -> CommandError {
    CommandError::validation(format!("Field {name} must be a bucket date"))
}

/// An inclusive bucket range as sent; dates are checked by [`RawRange::buckets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRange {
    pub from: u64,
    pub to: u64,
}

/// Widest range: 366 days between the endpoints (367 buckets).
pub const MAX_RANGE_DAYS: i64 = 366;

impl RawRange {
    /// The validator's checks (docs/protocol.md, Fields and numbers): real 8-digit dates, at
    /// most 366 days apart.
    pub fn buckets(&self) -> FieldResult<(Bucket, Bucket)> {
        let from = Bucket::from_yyyymmdd(self.from);
        let to = Bucket::from_yyyymmdd(self.to);
        match (from, to) {
            (Some(from), Some(to)) => {
                if Bucket::days_between(from, to) > MAX_RANGE_DAYS {
                    Err(CommandError::validation("Range exceeds max days"))
                } else {
                    Ok((from, to))
                }
            }
            _ => Err(CommandError::validation("Invalid bucket date")),
        }
    }
}

/// `range`, parsed only when the key is present (even as `null`).
pub fn opt_range(obj: &Value<'_>) -> FieldResult<Option<RawRange>> {
    let value = match obj.get("range") {
        None => return Ok(None),
        Some(v) => v,
    };
    if !matches!(value, Value::Object(_)) {
        return Err(type_error("range", value, "an object"));
    }
    let from = req_uint_named(value, "from", "range.from")?;
    let to = req_uint_named(value, "to", "range.to")?;
    if from > to {
        return Err(CommandError::validation("Bucket range start must be less than or equal to range end"));
    }
    Ok(Some(RawRange { from, to }))
}

pub fn req_range(obj: &Value<'_>) -> FieldResult<RawRange> {
    opt_range(obj)?.ok_or_else(|| required("range"))
}

/// `keys`: an array of unsigned integers.
pub fn keys(obj: &Value<'_>) -> FieldResult<Vec<u64>> {
    req_array(obj, "keys")?.iter().map(|v| uint_value(v, "keys[]")).collect()
}

/// One `[key, bucket, value]` triple of a batch, the bucket a real day.
pub type Item = (u64, Bucket, u64);

/// `items` of batch_add / batch_set / ingest.chunk (docs/protocol.md, series.batch_add).
pub fn items(obj: &Value<'_>) -> FieldResult<Vec<Item>> {
    let list = req_array(obj, "items")?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let triple = match item {
            Value::Array(triple) => triple,
            other => return Err(type_error("items[]", other, "an array")),
        };
        if triple.len() != 3 {
            return Err(CommandError::validation("Each item must be [key, bucket, value]"));
        }
        let key = uint_value(&triple[0], "items[][0]")?;
        let raw_bucket = uint_value(&triple[1], "items[][1]")?;
        let value = uint_value(&triple[2], "items[][2]")?;
        let bucket = Bucket::from_yyyymmdd(raw_bucket).ok_or_else(|| not_a_date("items[][1]"))?;
        out.push((key, bucket, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
