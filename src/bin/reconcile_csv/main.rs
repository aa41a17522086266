//! `reconcile-csv`: checks a Karma series against a CSV export of what it
//! should hold, and reports the drift.
//!
//! The CSV (RFC 4180: fields may be quoted, and a quoted field may hold
//! commas, doubled quotes and line breaks; a UTF-8 BOM at the start is
//! skipped) has one `key,bucket,value` row per record, with an optional
//! `key,bucket,value` header first. Blank lines are skipped; a bad row is
//! reported with the line it starts on and skipped. The file is streamed,
//! not read whole. Rows are summed per
//! `(key, bucket)`; those sums are the expected values. For each distinct
//! bucket `B` the server is asked for `counter.batch_sum` over the range
//! `B..=B`, for the keys that have rows in `B`, `--batch` keys per request,
//! so every `(key, bucket)` point is compared exactly. A missing series
//! holds 0 everywhere.
//!
//! Output: the checked points, mismatches, absolute drift
//! (`sum |expected - actual|`), the largest `|delta|`, keys whose total over
//! the exported buckets differs, and the first 20 mismatches as
//! `key bucket expected actual delta` lines, where `delta = actual -
//! expected`. With `--report` the figures are sent as
//! `reconciliation.report`.
//!
//! Exit status: 0 no drift, 2 drift found, 1 any error.

mod error;

use csv::ByteRecord;
use error::{ArgsError, RowError, RunError};
use karma::client::{Client, KeyValue, Options as ClientOptions, Range};
use karma::protocol::field_kind::MAX_BATCH;
use karma::protocol::ErrorCode;
use karma::store::Bucket;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
Usage: reconcile-csv --series S --csv FILE [--host 127.0.0.1] [--port 8080]
                     [--token T] [--report] [--batch 1000]

Compares the per (key, bucket) sums of a `key,bucket,value` CSV export with
series S on a Karma server. Exit status: 0 no drift, 2 drift, 1 error.";

/// Mismatch lines printed.
const SHOWN_MISMATCHES: usize = 20;

#[derive(Debug)]
struct Options {
    host: String,
    port: u16,
    token: Option<String>,
    series: String,
    csv: PathBuf,
    report: bool,
    batch: usize,
}

/// `None` when help was asked for.
fn parse_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Option<Options>, ArgsError> {
    use lexopt::Arg::{Long, Short};
    let mut parser = lexopt::Parser::from_args(args);
    let (mut host, mut port, mut token, mut series, mut csv) = ("127.0.0.1".to_string(), 8080u16, None, None, None);
    let (mut report, mut batch) = (false, 1000usize);
    let text = |parser: &mut lexopt::Parser, name: &'static str| -> Result<String, ArgsError> {
        let value = parser.value()?;
        value.into_string().map_err(|_| ArgsError::NotUtf8(name))
    };
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(None),
            Long("host") => host = text(&mut parser, "host")?,
            Long("port") => {
                let value = text(&mut parser, "port")?;
                port = value.parse().map_err(|_| ArgsError::Port(value))?;
            }
            Long("token") => token = Some(text(&mut parser, "token")?),
            Long("series") => series = Some(text(&mut parser, "series")?),
            Long("csv") => csv = Some(PathBuf::from(parser.value()?)),
            Long("report") => report = true,
            Long("batch") => {
                let value = text(&mut parser, "batch")?;
                batch = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_BATCH).contains(n))
                    .ok_or(ArgsError::Batch { given: value })?;
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let series = series.filter(|s| !s.is_empty()).ok_or(ArgsError::NoSeries)?;
    let csv = csv.ok_or(ArgsError::NoCsv)?;
    Ok(Some(Options { host, port, token, series, csv, report, batch }))
}

/// The expected values read from the CSV.
#[derive(Debug, Default, PartialEq)]
struct Expected {
    /// Summed values by `(bucket, key)`.
    points: BTreeMap<(Bucket, u64), u128>,
    /// Data rows accepted.
    rows: usize,
    /// `(line number, reason)` of each skipped line.
    bad: Vec<(usize, RowError)>,
}

/// Reads the expected values from a CSV export, one record at a time, so
/// that the file is never held whole. The `csv` crate does the parsing:
/// quoted fields (with commas, doubled quotes or line breaks inside), CRLF
/// or LF line ends, and a UTF-8 BOM at the start. Only a read error fails;
/// a bad row is counted in [`Expected::bad`] with the line it starts on.
fn read_expected(input: impl Read) -> Result<Expected, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        // The header is optional, so it is recognised below instead.
        .has_headers(false)
        // A row with the wrong number of fields is a bad line, not the end.
        .flexible(true)
        // Rows end at LF, which the reader then consumes with the row (the
        // CR of a CRLF is trimmed off with the last field), and every row
        // ends in one: see `start_line`.
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(input.chain(&b"\n"[..]));
    let mut expected = Expected::default();
    let mut record = ByteRecord::new();
    let mut first = true;
    let mut next_line = 1;
    while reader.read_byte_record(&mut record)? {
        let line = start_line(&record, reader.position().line(), next_line);
        next_line = reader.position().line();
        let fields: Result<Vec<&str>, _> = record.iter().map(|f| std::str::from_utf8(f).map(str::trim)).collect();
        let Ok(fields) = fields else {
            expected.bad.push((line, RowError::NotUtf8));
            continue;
        };
        // The parser skips empty lines; a line of blanks is one empty field.
        if fields == [""] {
            continue;
        }
        let is_header = std::mem::take(&mut first) && fields == ["key", "bucket", "value"];
        if is_header {
            continue;
        }
        match parse_row(&fields) {
            Ok((key, bucket, value)) => {
                *expected.points.entry((bucket, key)).or_insert(0) += u128::from(value);
                expected.rows += 1;
            }
            Err(reason) => expected.bad.push((line, reason)),
        }
    }
    Ok(expected)
}

/// The line `record` starts on, given the line after its end (the reader's
/// position once it is read) and the line after the previous record's end.
///
/// The record's own position will not do: the reader gives the end of the
/// previous record, before the empty lines it skipped since. Counting back
/// from the end instead is exact when the record ends with its LF, which
/// the LF appended to the input makes sure of. Only a quote left open at
/// the end of the file swallows that LF: its row then counts from the line
/// after the previous row (the floor), ahead of any empty lines between.
fn start_line(record: &ByteRecord, line_after: u64, next_line: u64) -> usize {
    let breaks = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    let line = line_after.saturating_sub(breaks + 1).max(next_line);
    usize::try_from(line).unwrap_or(usize::MAX)
}

fn parse_row(fields: &[&str]) -> Result<(u64, Bucket, u64), RowError> {
    let &[key, bucket, value] = fields else {
        return Err(RowError::FieldCount(fields.len()));
    };
    let key = key.parse::<u64>().map_err(|_| RowError::Key(key.to_string()))?;
    // Buckets may be written 20260505 or 2026-05-05, as on the wire.
    let digits: String = bucket.chars().filter(|&c| c != '-').collect();
    let bucket = (!bucket.starts_with('-') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<u64>().ok())
        .flatten()
        .and_then(Bucket::from_yyyymmdd)
        .ok_or_else(|| RowError::Bucket(bucket.to_string()))?;
    let value = value.parse::<u64>().map_err(|_| RowError::Value(value.to_string()))?;
    Ok((key, bucket, value))
}

/// One point where the server disagrees with the export.
#[derive(Debug, PartialEq)]
struct Mismatch {
    key: u64,
    bucket: Bucket,
    expected: u128,
    actual: u64,
}

impl Mismatch {
    /// `actual - expected`.
    fn delta(&self) -> i128 {
        i128::from(self.actual) - self.expected as i128
    }
}

#[derive(Debug, Default, PartialEq)]
struct Drift {
    checked_points: u64,
    mismatch_count: u64,
    absolute_drift: u128,
    max_abs_delta: u128,
    /// Keys whose total over the exported buckets differs.
    drifting_keys: u64,
    /// The first mismatches, by key then bucket.
    first: Vec<Mismatch>,
}

/// Compares every expected point with `actual` (missing means 0).
fn compare(expected: &BTreeMap<(Bucket, u64), u128>, actual: &HashMap<(Bucket, u64), u64>) -> Drift {
    let mut drift = Drift::default();
    let mut mismatches = Vec::new();
    let mut per_key: BTreeMap<u64, (u128, u128)> = BTreeMap::new();
    for (&(bucket, key), &want) in expected {
        let got = actual.get(&(bucket, key)).copied().unwrap_or(0);
        drift.checked_points += 1;
        let totals = per_key.entry(key).or_insert((0, 0));
        totals.0 += want;
        totals.1 += u128::from(got);
        if want != u128::from(got) {
            let mismatch = Mismatch { key, bucket, expected: want, actual: got };
            let size = mismatch.delta().unsigned_abs();
            drift.mismatch_count += 1;
            drift.absolute_drift += size;
            drift.max_abs_delta = drift.max_abs_delta.max(size);
            mismatches.push(mismatch);
        }
    }
    drift.drifting_keys = per_key.values().filter(|(want, got)| want != got).count() as u64;
    mismatches.sort_by_key(|m| (m.key, m.bucket));
    mismatches.truncate(SHOWN_MISMATCHES);
    drift.first = mismatches;
    drift
}

fn render_report(options: &Options, expected: &Expected, drift: &Drift) -> String {
    let keys = expected.points.keys().map(|&(_, key)| key).collect::<std::collections::BTreeSet<u64>>().len();
    let mut text = format!(
        "series: {}\nrows: {} (bad lines skipped: {})\nkeys: {keys}\nchecked points: {}\nmismatches: {}\n\
         absolute drift: {}\nmax abs delta: {}\nkeys with drift: {}\n",
        options.series,
        expected.rows,
        expected.bad.len(),
        drift.checked_points,
        drift.mismatch_count,
        drift.absolute_drift,
        drift.max_abs_delta,
        drift.drifting_keys
    );
    if !drift.first.is_empty() {
        text.push_str("first mismatches (key bucket expected actual delta):\n");
        for m in &drift.first {
            text.push_str(&format!("{} {} {} {} {}\n", m.key, m.bucket, m.expected, m.actual, m.delta()));
        }
    }
    text
}

/// The figures of `reconciliation.report`, each clamped to `i64::MAX`
/// (the server reads them as signed integers).
fn report_figures(drift: &Drift) -> [u64; 4] {
    let clamp = |n: u128| n.min(i64::MAX as u128) as u64;
    [
        clamp(u128::from(drift.checked_points)),
        clamp(u128::from(drift.mismatch_count)),
        clamp(drift.absolute_drift),
        clamp(drift.max_abs_delta),
    ]
}

/// Asks the server for every expected point.
fn fetch_actual(
    client: &Client,
    options: &Options,
    expected: &Expected,
) -> Result<HashMap<(Bucket, u64), u64>, RunError> {
    let mut by_bucket: BTreeMap<Bucket, Vec<u64>> = BTreeMap::new();
    for &(bucket, key) in expected.points.keys() {
        by_bucket.entry(bucket).or_default().push(key);
    }
    let mut actual = HashMap::with_capacity(expected.points.len());
    for (bucket, keys) in by_bucket {
        let day = u64::from(bucket.yyyymmdd());
        for batch in keys.chunks(options.batch) {
            match client.batch_sum(&options.series, batch, Some(Range::day(day))) {
                Ok(values) => {
                    for KeyValue { key, value } in values {
                        actual.insert((bucket, key), value);
                    }
                }
                // A missing series holds nothing: every point reads 0.
                Err(e) if e.is(ErrorCode::NotFound) => return Ok(HashMap::new()),
                Err(e) => return Err(RunError::BatchSum(e)),
            }
        }
    }
    Ok(actual)
}

fn run(options: &Options) -> Result<bool, RunError> {
    let path = || options.csv.clone();
    let file = File::open(&options.csv).map_err(|source| RunError::Open { path: path(), source })?;
    let expected = read_expected(file).map_err(|source| RunError::Csv { path: path(), source })?;
    for (line, reason) in &expected.bad {
        eprintln!("{}:{line}: skipped: {reason}", options.csv.display());
    }
    let client_options = ClientOptions { token: options.token.clone(), ..ClientOptions::default() };
    let client = Client::with_options(format!("{}:{}", options.host, options.port), client_options);
    let actual = fetch_actual(&client, options, &expected)?;
    let drift = compare(&expected.points, &actual);
    print!("{}", render_report(options, &expected, &drift));
    if options.report {
        let [checked, mismatches, drift_sum, max_delta] = report_figures(&drift);
        client.reconciliation_report(checked, mismatches, drift_sum, max_delta).map_err(RunError::Report)?;
        println!("reported to {}", client.address());
    }
    Ok(drift.mismatch_count > 0)
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args_os().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("ERROR: {message}\n\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    match run(&options) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(2),
        Err(message) => {
            eprintln!("ERROR: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests;
