//! The kinds of field a read op's row in the op table declares
//! (`protocol/op.rs`): each kind knows how its field is read from the
//! request (presence, type and sign, with the messages of `fields`) and
//! which semantic check it gets after authentication.
//!
//! Order of checks (docs/protocol.md, Order of checks): the parse step
//! reads the fields in the order the row lists them; the semantic step runs
//! by [`CHECK_ORDER`], the series name first, then sizes and limits, then
//! the range, each group in row order. So a row lists its fields in the
//! protocol's parse order and the check order follows from the kinds.

use super::error::CommandError;
use super::fields::{self, FieldResult, RawRange};
use super::json::Value;
use std::borrow::Cow;

/// Most keys or items one batch request may carry.
pub const MAX_BATCH: usize = 10_000;

/// The semantic check a field kind gets after authentication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing left to check after the parse step.
    Never,
    /// The series name is not empty.
    SeriesName,
    /// A list within [`MAX_BATCH`], a `limit` within its op's bounds.
    Size,
    /// The range's ends are real dates at most 366 days apart.
    Range,
}

/// The order of the semantic checks of one read op.
pub const CHECK_ORDER: [Check; 3] = [Check::SeriesName, Check::Size, Check::Range];

/// How one field of a read op is parsed and checked.
pub trait FieldKind<'a> {
    /// The typed value the op's handler receives.
    type Parsed: Clone + std::fmt::Debug + PartialEq;
    /// When the value is checked after authentication.
    const CHECK: Check = Check::Never;
    /// The parse step; `name` is the field's name in the row (and on the wire).
    fn parse(obj: &Value<'a>, name: &'static str) -> FieldResult<Self::Parsed>;
    /// The semantic check of [`FieldKind::CHECK`].
    fn check(_value: &Self::Parsed) -> Result<(), CommandError> {
        Ok(())
    }
    /// The series the value names, if it names one.
    fn series(_value: &Self::Parsed) -> Option<&str> {
        None
    }
}

/// The empty series name is refused after authentication.
pub fn series_name(series: &str) -> Result<(), CommandError> {
    if series.is_empty() {
        Err(CommandError::validation("Field tree_name is required"))
    } else {
        Ok(())
    }
}

/// A list of `len` keys or items is refused past [`MAX_BATCH`].
pub fn max_size(len: usize, field: &str) -> Result<(), CommandError> {
    if len > MAX_BATCH {
        Err(CommandError::validation(format!("Field {field} exceeds max size")))
    } else {
        Ok(())
    }
}

/// Checks `limit` against `1..=max`; absent means `default` (defect D1 fixed).
pub fn limit_or_default(limit: Option<i64>, (default, max): (usize, usize)) -> Result<usize, CommandError> {
    match limit {
        None => Ok(default),
        Some(n) if n <= 0 => Err(CommandError::validation("Field limit must be greater than 0")),
        Some(n) if n as u64 > max as u64 => Err(CommandError::validation("Field limit exceeds max size")),
        Some(n) => Ok(n as usize),
    }
}

/// `series` (or `tree`): a string, not empty.
pub struct Series;

impl<'a> FieldKind<'a> for Series {
    type Parsed = Cow<'a, str>;
    const CHECK: Check = Check::SeriesName;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Cow<'a, str>> {
        fields::series(obj)
    }
    fn check(value: &Cow<'a, str>) -> Result<(), CommandError> {
        series_name(value)
    }
    fn series(value: &Self::Parsed) -> Option<&str> {
        Some(value)
    }
}

/// An optional `range` (docs/protocol.md, Fields and numbers).
pub struct OptRange;

impl<'a> FieldKind<'a> for OptRange {
    type Parsed = Option<RawRange>;
    const CHECK: Check = Check::Range;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Option<RawRange>> {
        fields::opt_range(obj)
    }
    fn check(value: &Option<RawRange>) -> Result<(), CommandError> {
        value.as_ref().map(RawRange::buckets).transpose().map(|_| ())
    }
}

/// A required `range`.
pub struct Range;

impl<'a> FieldKind<'a> for Range {
    type Parsed = RawRange;
    const CHECK: Check = Check::Range;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<RawRange> {
        fields::req_range(obj)
    }
    fn check(value: &RawRange) -> Result<(), CommandError> {
        value.buckets().map(|_| ())
    }
}

/// A required unsigned integer, such as `key` or `after_lsn`.
pub struct Uint;

impl<'a> FieldKind<'a> for Uint {
    type Parsed = u64;
    fn parse(obj: &Value<'a>, name: &'static str) -> FieldResult<u64> {
        fields::req_uint(obj, name)
    }
}

/// `keys`: an array of unsigned integers, at most [`MAX_BATCH`].
pub struct Keys;

impl<'a> FieldKind<'a> for Keys {
    type Parsed = Vec<u64>;
    const CHECK: Check = Check::Size;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Vec<u64>> {
        fields::keys(obj)
    }
    fn check(value: &Vec<u64>) -> Result<(), CommandError> {
        max_size(value.len(), "keys")
    }
}

/// `items` of `counter.multi_sum`: `{"series","key"}` objects, at most
/// [`MAX_BATCH`].
pub struct SeriesKeys;

impl<'a> FieldKind<'a> for SeriesKeys {
    type Parsed = Vec<(Cow<'a, str>, u64)>;
    const CHECK: Check = Check::Size;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Self::Parsed> {
        let list = fields::req_array(obj, "items")?;
        let mut out = Vec::with_capacity(list.len());
        for item in list {
            if !matches!(item, Value::Object(_)) {
                return Err(fields::type_error("items[]", item, "an object"));
            }
            let series = fields::opt_str(item, "series").ok_or_else(|| fields::required("items[].series"))?;
            if series.is_empty() {
                return Err(CommandError::validation("Field items[].series must not be empty"));
            }
            let key = fields::req_uint_named(item, "key", "items[].key")?;
            out.push((series, key));
        }
        Ok(out)
    }
    fn check(value: &Self::Parsed) -> Result<(), CommandError> {
        max_size(value.len(), "items")
    }
}

/// `limit`: absent means `DEFAULT`, else `1..=MAX`. The handler takes the
/// number from [`Limit::get`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit<const DEFAULT: usize, const MAX: usize>(pub Option<i64>);

impl<const DEFAULT: usize, const MAX: usize> Limit<DEFAULT, MAX> {
    /// The limit to apply (an error only for a value the check refuses).
    pub fn get(&self) -> Result<usize, CommandError> {
        limit_or_default(self.0, (DEFAULT, MAX))
    }
}

impl<'a, const DEFAULT: usize, const MAX: usize> FieldKind<'a> for Limit<DEFAULT, MAX> {
    type Parsed = Self;
    const CHECK: Check = Check::Size;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Self> {
        fields::opt_limit(obj).map(Limit)
    }
    fn check(value: &Self) -> Result<(), CommandError> {
        value.get().map(|_| ())
    }
}

/// `cursor` of `tree.keys`: absent or `null` starts at the first key.
pub struct Cursor;

impl<'a> FieldKind<'a> for Cursor {
    type Parsed = Option<u64>;
    fn parse(obj: &Value<'a>, name: &'static str) -> FieldResult<Option<u64>> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => fields::uint_value(value, name).map(Some),
        }
    }
}

/// `offset` of the chunk ops: optional, default 0.
pub struct Offset;

impl<'a> FieldKind<'a> for Offset {
    type Parsed = u64;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<u64> {
        fields::opt_offset(obj)
    }
}

/// `file` of the snapshot ops: a snapshot's base name.
pub struct SnapshotFile;

impl<'a> FieldKind<'a> for SnapshotFile {
    type Parsed = Cow<'a, str>;
    fn parse(obj: &Value<'a>, _: &'static str) -> FieldResult<Cow<'a, str>> {
        fields::snapshot_file(obj)
    }
}

/// An optional string where any other type counts as absent (`source` of
/// `recovery.status`).
pub struct OptStr;

impl<'a> FieldKind<'a> for OptStr {
    type Parsed = Option<Cow<'a, str>>;
    fn parse(obj: &Value<'a>, name: &'static str) -> FieldResult<Option<Cow<'a, str>>> {
        Ok(fields::opt_str(obj, name))
    }
}
