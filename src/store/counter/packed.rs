//! The packed points behind a [`Counter`](super::Counter): one heap block
//! of points, ascending by day, each a day field then a value field,
//! little-endian, without padding, plus the few fields that say how to read
//! them (kept inline, next to the point count, so that counting points,
//! `tree.summary`, never touches the block):
//!
//! ```text
//! inline: block pointer and size, point count, format, base year
//! block:  [day|value] [day|value] ... [spare]
//! ```
//!
//! Days are *packed dates*, `year << 9 | month << 5 | day`: ordered like the
//! dates and converted to and from `YYYYMMDD` with a few multiplications,
//! without calendar arithmetic. A *narrow* block stores each day as a `u16`
//! offset from `base year << 9`, which spans 128 years; a *wide* one (base
//! year 0) stores the whole packed date in a `u32`. Values take 1, 2, 4 or 8
//! bytes: one width per block, the narrowest that holds its largest value.
//! A typical counter (values below 65,536 within a few years) thus costs 4
//! bytes per point, a worst-case one 12.
//!
//! The format only widens on the O(1) write paths (a value outgrowing its
//! width, a day outside the narrow window): the points are recoded in
//! place, once per widening, so at most four times between two removals.
//! The paths that remove points are O(points) anyway and re-pick the
//! narrowest format and base.
//!
//! Capacity grows in steps of a quarter, rounded up to a size that fills a
//! whole malloc chunk (`16 k + 8` bytes: chunks are 16-byte multiples with
//! an 8-byte header). A key that gains one point a day is reallocated every
//! few days while small and then every quarter of growth, not daily: each
//! reallocation leaves a freed small block behind, and with every key of a
//! series growing in step those blocks are no use to the next day's larger
//! requests. The block shrinks when more than a third of it is spare.
//!
//! Invariant: an empty buffer owns no memory and has the default format
//! and base. A non-empty one has `len >= 1` points strictly ascending by
//! day, each stored day and value within the format's widths (narrow days
//! relative to the base), and a block with room for them.

use crate::store::bucket::Bucket;

#[cfg(test)]
mod tests;

/// The largest day a narrow buffer can store, relative to its base.
const NARROW_MAX_DAY: u32 = u16::MAX as u32;
/// The smallest block: a 32-byte malloc chunk.
const MIN_BLOCK: usize = 24;

/// The packed date of `bucket`: `year << 9 | month << 5 | day`, below 2^23.
pub(super) fn pack(bucket: Bucket) -> u32 {
    let yyyymmdd = bucket.yyyymmdd();
    ((yyyymmdd / 10_000) << 9) | (((yyyymmdd / 100) % 100) << 5) | (yyyymmdd % 100)
}

/// The bucket of a packed date made by [`pack`].
pub(super) fn unpack(packed: u32) -> Bucket {
    Bucket::from_stored(yyyymmdd_of(packed))
}

/// The `YYYYMMDD` number of a packed date.
fn yyyymmdd_of(packed: u32) -> u32 {
    (packed >> 9) * 10_000 + ((packed >> 5) & 15) * 100 + (packed & 31)
}

/// How a buffer stores its points: the day width (narrow 2 or wide 4
/// bytes) and the value width (1, 2, 4 or 8 bytes, as its base-2 log).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Format(u8);

impl Format {
    const WIDE_DAYS: u8 = 4;

    fn new(wide_days: bool, value_log2: u8) -> Format {
        Format(if wide_days { Format::WIDE_DAYS } else { 0 } | value_log2)
    }

    fn wide_days(self) -> bool {
        self.0 & Format::WIDE_DAYS != 0
    }

    fn value_log2(self) -> u8 {
        self.0 & 3
    }

    fn day_width(self) -> usize {
        if self.wide_days() {
            4
        } else {
            2
        }
    }

    fn value_width(self) -> usize {
        1 << self.value_log2()
    }

    /// Bytes per point.
    fn stride(self) -> usize {
        self.day_width() + self.value_width()
    }

    fn max_day(self) -> u32 {
        if self.wide_days() {
            u32::MAX
        } else {
            NARROW_MAX_DAY
        }
    }
}

/// The base-2 log of the narrowest value width holding `value`.
fn value_log2_for(value: u64) -> u8 {
    match value {
        0..=0xFF => 0,
        0x100..=0xFFFF => 1,
        0x1_0000..=0xFFFF_FFFF => 2,
        _ => 3,
    }
}

/// The narrowest format and base for points from `first` to `last`
/// (packed dates) whose values need `value_log2`.
fn fitting(first: u32, last: u32, value_log2: u8) -> (Format, u16) {
    let base_year = first >> 9;
    if last - (base_year << 9) <= NARROW_MAX_DAY {
        // Years are below 10,000, so the base year fits a u16.
        (Format::new(false, value_log2), base_year as u16)
    } else {
        (Format::new(true, value_log2), 0)
    }
}

/// The block size for `needed` bytes: the next `16 k + 8`, at least 24.
fn block_size(needed: usize) -> usize {
    ((needed + 8).div_ceil(16) * 16 - 8).max(MIN_BLOCK)
}

/// Reads a `WIDTH`-byte little-endian unsigned integer.
#[inline(always)]
fn read_le<const WIDTH: usize>(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..WIDTH].copy_from_slice(&bytes[..WIDTH]);
    u64::from_le_bytes(word)
}

/// [`read_le`] with the width known at run time (1, 2, 4 or 8).
#[inline]
fn read_uint(bytes: &[u8], width: usize) -> u64 {
    match width {
        1 => read_le::<1>(bytes),
        2 => read_le::<2>(bytes),
        4 => read_le::<4>(bytes),
        _ => read_le::<8>(bytes),
    }
}

/// Writes the low `WIDTH` bytes of `value`, little-endian.
#[inline(always)]
fn write_le<const WIDTH: usize>(bytes: &mut [u8], value: u64) {
    bytes[..WIDTH].copy_from_slice(&value.to_le_bytes()[..WIDTH]);
}

/// [`write_le`] with the width known at run time (1, 2, 4 or 8); the
/// caller checked that the value fits.
#[inline]
fn write_uint(bytes: &mut [u8], width: usize, value: u64) {
    debug_assert!(width == 8 || value >> (8 * width) == 0);
    match width {
        1 => write_le::<1>(bytes, value),
        2 => write_le::<2>(bytes, value),
        4 => write_le::<4>(bytes, value),
        _ => write_le::<8>(bytes, value),
    }
}

/// Runs a kernel generic over `<DAY_WIDTH, VALUE_WIDTH>` for a format, so
/// the hot loops read fixed-width fields.
macro_rules! dispatch {
    ($format:expr, $kernel:ident($($arg:expr),* $(,)?)) => {
        match ($format.wide_days(), $format.value_log2()) {
            (false, 0) => $kernel::<2, 1>($($arg),*),
            (false, 1) => $kernel::<2, 2>($($arg),*),
            (false, 2) => $kernel::<2, 4>($($arg),*),
            (false, _) => $kernel::<2, 8>($($arg),*),
            (true, 0) => $kernel::<4, 1>($($arg),*),
            (true, 1) => $kernel::<4, 2>($($arg),*),
            (true, 2) => $kernel::<4, 4>($($arg),*),
            (true, _) => $kernel::<4, 8>($($arg),*),
        }
    };
}

/// The index of the first of `len` points whose stored day is `>= wanted`
/// (`len` if none). Gallops backwards from the newest point before
/// bisecting: writes and range queries nearly always concern recent days,
/// so a large counter costs a few adjacent cache lines instead of a binary
/// search's scattered probes.
fn lower_bound<const DW: usize, const VW: usize>(body: &[u8], len: usize, wanted: u32) -> usize {
    let day = |index: usize| read_le::<DW>(&body[index * (DW + VW)..]) as u32;
    // Invariant: days at hi.. are >= wanted, days at ..lo are < wanted.
    let (mut lo, mut hi) = (0, len);
    let mut step = 1;
    while hi > 0 {
        let probe = hi.saturating_sub(step);
        if day(probe) < wanted {
            lo = probe + 1;
            break;
        }
        hi = probe;
        step *= 2;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if day(mid) < wanted {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `Ok((index, value))` of the point among `len >= 1` whose stored day is
/// `wanted`, or `Err(index)` where it would go. The newest point is tried
/// first: it is the one nearly every write touches (today), or the one a
/// new day goes after.
fn find<const DW: usize, const VW: usize>(body: &[u8], len: usize, wanted: u32) -> Result<(usize, u64), usize> {
    let point = |index: usize| {
        let point = &body[index * (DW + VW)..];
        (read_le::<DW>(point) as u32, read_le::<VW>(&point[DW..]))
    };
    let last = len - 1;
    match point(last) {
        (day, value) if day == wanted => return Ok((last, value)),
        (day, _) if day < wanted => return Err(len),
        _ => {}
    }
    let index = lower_bound::<DW, VW>(body, last, wanted);
    match point(index) {
        (day, value) if index < last && day == wanted => Ok((index, value)),
        _ => Err(index),
    }
}

/// The wrapping sum of the values of points `start..end`.
fn sum<const DW: usize, const VW: usize>(body: &[u8], start: usize, end: usize) -> u64 {
    let stride = DW + VW;
    let points = body[start * stride..end * stride].chunks_exact(stride);
    points.fold(0u64, |sum, point| sum.wrapping_add(read_le::<VW>(&point[DW..])))
}

/// The points of one counter (see the module doc).
#[derive(Clone, Default)]
pub(super) struct Packed {
    /// The block: `len` points, then spare room.
    bytes: Box<[u8]>,
    /// At most one point per valid day (about 3.3 million), so a `u32`.
    len: u32,
    format: Format,
    /// Narrow days count from `base_year << 9`; 0 when wide.
    base_year: u16,
}

impl Packed {
    /// A buffer holding `points`: packed dates strictly ascending, values
    /// above 0. Sized to fit, in the narrowest format.
    pub(super) fn from_sorted(points: &[(u32, u64)]) -> Packed {
        let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
            return Packed::default();
        };
        let value_log2 = points.iter().map(|&(_, value)| value_log2_for(value)).max().unwrap_or(0);
        let (format, base_year) = fitting(first, last, value_log2);
        let bytes = vec![0; block_size(points.len() * format.stride())].into();
        let mut packed = Packed { bytes, len: 0, format, base_year };
        packed.set_len(points.len());
        let base = packed.base();
        let (stride, day_width, value_width) = (format.stride(), format.day_width(), format.value_width());
        for (point, &(day, value)) in packed.bytes.chunks_exact_mut(stride).zip(points) {
            write_uint(point, day_width, u64::from(day - base));
            write_uint(&mut point[day_width..], value_width, value);
        }
        packed
    }

    /// Number of points.
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    /// Heap bytes owned (the whole block, spare room included).
    pub(super) fn capacity_bytes(&self) -> usize {
        self.bytes.len()
    }

    /// The packed date of point `index` (< len).
    pub(super) fn day(&self, index: usize) -> u32 {
        let format = self.format();
        let at = index * format.stride();
        read_uint(&self.bytes[at..], format.day_width()) as u32 + self.base()
    }

    /// The value of point `index` (< len).
    pub(super) fn value(&self, index: usize) -> u64 {
        let format = self.format();
        let at = index * format.stride() + format.day_width();
        read_uint(&self.bytes[at..], format.value_width())
    }

    /// The index of the first point on or after the packed date `day`
    /// (`len` if none).
    pub(super) fn lower_bound(&self, day: u32) -> usize {
        let len = self.len();
        if len == 0 {
            return 0;
        }
        let (format, base) = (self.format(), self.base());
        match day.checked_sub(base) {
            None => 0,
            Some(relative) if relative > format.max_day() => len,
            Some(relative) => dispatch!(format, lower_bound(&self.bytes, len, relative)),
        }
    }

    /// `Ok((index, value))` of the point on the packed date `day`, or
    /// `Err(index)` where it would be inserted.
    pub(super) fn find(&self, day: u32) -> Result<(usize, u64), usize> {
        let len = self.len();
        if len == 0 {
            return Err(0);
        }
        let (format, base) = (self.format(), self.base());
        match day.checked_sub(base) {
            None => Err(0),
            Some(relative) if relative > format.max_day() => Err(len),
            Some(relative) => dispatch!(format, find(&self.bytes, len, relative)),
        }
    }

    /// The number of points whose `YYYYMMDD` is below `before`, a raw
    /// number that need not be a valid date.
    pub(super) fn count_before(&self, before: u64) -> usize {
        let below = |index: usize| u64::from(yyyymmdd_of(self.day(index))) < before;
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if below(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// The wrapping sum of the values of points `start..end`.
    pub(super) fn sum(&self, start: usize, end: usize) -> u64 {
        if start >= end {
            return 0;
        }
        dispatch!(self.format(), sum(&self.bytes, start, end))
    }

    /// Points `start..end` as `(packed date, value)`.
    pub(super) fn iter(&self, start: usize, end: usize) -> Iter<'_> {
        if start >= end {
            return Iter { points: &[], base: 0, day_width: 2, value_width: 1 };
        }
        let format = self.format();
        let points = &self.bytes[start * format.stride()..end * format.stride()];
        Iter { points, base: self.base(), day_width: format.day_width(), value_width: format.value_width() }
    }

    /// Sets point `index` (< len) to `value` (> 0), widening the values
    /// first when it needs more bytes.
    pub(super) fn set_value(&mut self, index: usize, value: u64) {
        let mut format = self.format();
        let needed = value_log2_for(value);
        if needed > format.value_log2() {
            format = Format::new(format.wide_days(), needed);
            self.recode(format, self.base_year(), self.len());
        }
        let at = index * format.stride() + format.day_width();
        write_uint(&mut self.bytes[at..], format.value_width(), value);
    }

    /// Inserts a point on the packed date `day` with `value` (> 0) at
    /// `index`, which keeps the days strictly ascending (from `find`).
    pub(super) fn insert(&mut self, index: usize, day: u32, value: u64) {
        let len = self.len();
        if len == 0 {
            *self = Packed::from_sorted(&[(day, value)]);
            return;
        }
        let (mut format, mut base_year) = (self.format(), self.base_year());
        let value_log2 = format.value_log2().max(value_log2_for(value));
        let in_window = day.checked_sub(self.base()).is_some_and(|relative| relative <= format.max_day());
        if !in_window {
            // Re-centre the narrow window on the first point, or go wide.
            let first = if index == 0 { day } else { self.day(0) };
            let last = if index == len { day } else { self.day(len - 1) };
            (format, base_year) = fitting(first, last, value_log2);
        } else if value_log2 > format.value_log2() {
            format = Format::new(format.wide_days(), value_log2);
        }
        if (format, base_year) != (self.format(), self.base_year()) {
            self.recode(format, base_year, len + 1);
        } else {
            self.reserve((len + 1) * format.stride());
        }
        let stride = format.stride();
        let body = &mut self.bytes[..];
        body.copy_within(index * stride..len * stride, (index + 1) * stride);
        let point = &mut body[index * stride..];
        write_uint(point, format.day_width(), u64::from(day - (u32::from(base_year) << 9)));
        write_uint(&mut point[format.day_width()..], format.value_width(), value);
        self.set_len(len + 1);
    }

    /// Removes points `start..end` (`start < end <= len`) and returns the
    /// wrapping sum of their values. Then re-picks the narrowest format,
    /// and gives memory back when much of the block is spare.
    pub(super) fn remove(&mut self, start: usize, end: usize) -> u64 {
        let len = self.len();
        let removed = self.sum(start, end);
        if end - start == len {
            *self = Packed::default();
            return removed;
        }
        let stride = self.format().stride();
        self.bytes.copy_within(end * stride..len * stride, start * stride);
        let len = len - (end - start);
        self.set_len(len);
        let value_log2 = (0..len).map(|index| value_log2_for(self.value(index))).max().unwrap_or(0);
        let (format, base_year) = fitting(self.day(0), self.day(len - 1), value_log2);
        if (format, base_year) != (self.format(), self.base_year()) {
            self.recode(format, base_year, len);
        }
        let needed = len * format.stride();
        if self.bytes.len() > block_size(needed + needed / 2) {
            let mut bytes = std::mem::take(&mut self.bytes).into_vec();
            bytes.truncate(block_size(needed));
            // Shrinks the block, usually in place.
            self.bytes = bytes.into_boxed_slice();
        }
        removed
    }

    fn format(&self) -> Format {
        self.format
    }

    fn base_year(&self) -> u16 {
        self.base_year
    }

    /// The packed date that narrow stored days count from (0 when wide).
    fn base(&self) -> u32 {
        u32::from(self.base_year) << 9
    }

    fn set_len(&mut self, len: usize) {
        // At most one point per valid day (about 3.3 million) fits a u32.
        self.len = len as u32;
    }

    /// Makes the block at least `needed` bytes, growing by a quarter at
    /// least so steady growth reallocates rarely.
    fn reserve(&mut self, needed: usize) {
        let capacity = self.bytes.len();
        if capacity >= needed {
            return;
        }
        let size = block_size(needed.max(capacity + capacity / 4));
        let mut bytes = std::mem::take(&mut self.bytes).into_vec();
        bytes.reserve_exact(size - capacity);
        bytes.resize(size, 0);
        self.bytes = bytes.into_boxed_slice();
    }

    /// Rewrites the points in `format` relative to `base_year`, in place,
    /// with room for `room` points afterwards (at least `len`).
    fn recode(&mut self, format: Format, base_year: u16, room: usize) {
        let len = self.len();
        let (from, from_base) = (self.format(), self.base());
        let to_base = u32::from(base_year) << 9;
        self.reserve(room * format.stride());
        let (from_stride, to_stride) = (from.stride(), format.stride());
        let body = &mut self.bytes[..];
        let mut convert = |index: usize| {
            let old = &body[index * from_stride..];
            let day = read_uint(old, from.day_width()) as u32 + from_base;
            let value = read_uint(&old[from.day_width()..], from.value_width());
            let new = &mut body[index * to_stride..];
            write_uint(new, format.day_width(), u64::from(day - to_base));
            write_uint(&mut new[format.day_width()..], format.value_width(), value);
        };
        // Front to back when points move down, back to front when they
        // move up, so no point is overwritten before it is read.
        if to_stride > from_stride {
            (0..len).rev().for_each(&mut convert);
        } else {
            (0..len).for_each(&mut convert);
        }
        self.format = format;
        self.base_year = base_year;
    }

    /// Whether the fields agree with the block and every point is valid
    /// and strictly ascending (the module invariant; for debug checks).
    pub(super) fn invariant_holds(&self) -> bool {
        let len = self.len();
        if len == 0 {
            return self.bytes.is_empty() && self.format == Format::default() && self.base_year == 0;
        }
        let format = self.format();
        let base_ok = !format.wide_days() || self.base_year() == 0;
        let fits = self.bytes.len() >= len * format.stride();
        let points: Vec<(u32, u64)> = self.iter(0, len).collect();
        let ascending = points.windows(2).all(|pair| pair[0].0 < pair[1].0);
        let valid = points.iter().all(|&(day, value)| {
            let relative_ok = day.checked_sub(self.base()).is_some_and(|relative| relative <= format.max_day());
            let date_ok = Bucket::from_yyyymmdd(u64::from(yyyymmdd_of(day))).is_some_and(|b| pack(b) == day);
            value > 0 && value_log2_for(value) <= format.value_log2() && relative_ok && date_ok
        });
        format.0 < 8 && base_ok && fits && ascending && valid
    }
}

/// Points of a [`Packed`] buffer as `(packed date, value)`, ascending.
pub(super) struct Iter<'a> {
    /// The points not yet returned.
    points: &'a [u8],
    base: u32,
    day_width: usize,
    value_width: usize,
}

impl Iterator for Iter<'_> {
    type Item = (u32, u64);

    fn next(&mut self) -> Option<(u32, u64)> {
        let stride = self.day_width + self.value_width;
        let (point, rest) = self.points.split_at_checked(stride)?;
        self.points = rest;
        let day = read_uint(point, self.day_width) as u32 + self.base;
        Some((day, read_uint(&point[self.day_width..], self.value_width)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.points.len() / (self.day_width + self.value_width);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Iter<'_> {}
