//! Replication page reads from a large WAL (`cargo bench --bench wal_page`).
//!
//! Writes 1,000,000 entries through the real writer (64 MiB segments, no
//! fsync), then measures:
//! - a cold page (fresh reader, nothing cached) in the middle of a sealed
//!   segment, with its `.idx` and without it (the reader then binary-searches
//!   the segment's own lines), against a linear scan to the same position
//!   (what a reader without any positioning would do);
//! - hot pages (segments mapped) at random positions: p50 / p95;
//! - sequential catch-up from LSN 0 in pages of 10,000 entries.
//!
//! "Cold" means cold for the reader; the OS page cache stays warm (dropping
//! it needs root and would disturb other users of the machine).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use karma::wal::{PageRequest, Wal, WalOptions, WalReader};

const ENTRIES: u64 = 1_000_000;
const SEGMENT_BYTES: u64 = 64 << 20;
const PAGE_LIMIT: usize = 1000;
/// The default budget: --max-response-bytes 1048576 - 2048.
const BUDGET: Option<usize> = Some(1_048_576 - 2048);

fn entry(lsn: u64) -> Vec<u8> {
    format!(
        r#"{{"v":2,"op":"counter.increment","series":"api_requests","key":{},"bucket":20260505,"value":{}}}"#,
        lsn.wrapping_mul(2_654_435_761) % 1_000_000,
        lsn % 100 + 1
    )
    .into_bytes()
}

fn write_wal(dir: &Path) -> Duration {
    let started = Instant::now();
    let options = WalOptions {
        dir: dir.to_path_buf(),
        fsync: false,
        segment_bytes: SEGMENT_BYTES,
        batch_size: 1024,
        batch_wait: Duration::ZERO,
    };
    let wal = Wal::open(options, 0).expect("open WAL");
    for lsn in 1..=ENTRIES {
        wal.append(lsn, &entry(lsn)).expect("append");
        if lsn % 4096 == 0 {
            // Keep the queue (and memory) bounded.
            wal.wait_durable(lsn).expect("durable");
        }
    }
    wal.wait_durable(ENTRIES).expect("durable");
    wal.shutdown();
    started.elapsed()
}

fn page(reader: &WalReader, after_lsn: u64, limit: usize) -> usize {
    let request = PageRequest { after_lsn, limit, byte_budget: BUDGET, durable_lsn: ENTRIES };
    let page = reader.read_page(&request).expect("page");
    assert_eq!(page.last_lsn, Some(after_lsn + page.count as u64), "pages are contiguous");
    page.count
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn cold_page(dir: &Path, after_lsn: u64, runs: usize) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let reader = WalReader::new(dir.to_path_buf());
                let started = Instant::now();
                page(&reader, after_lsn, PAGE_LIMIT);
                started.elapsed()
            })
            .collect(),
    )
}

/// Baseline: find the page start by scanning every line from the start of
/// the segment, reading the LSN of each.
fn scan_to(segment: &Path, after_lsn: u64) -> Duration {
    let started = Instant::now();
    let data = std::fs::read(segment).expect("read segment");
    let prefix = br#"{"v":2,"lsn":"#;
    let mut found = None;
    for (offset, line) in data.split(|&b| b == b'\n').scan(0usize, |at, line| {
        let start = *at;
        *at += line.len() + 1;
        Some((start, line))
    }) {
        let digits = &line[prefix.len()..];
        let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
        let lsn: u64 = std::str::from_utf8(&digits[..end]).unwrap().parse().unwrap();
        if lsn > after_lsn {
            found = Some(offset);
            break;
        }
    }
    assert!(found.is_some());
    started.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let dir: PathBuf = std::env::temp_dir().join(format!("karma-bench-wal-page-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let write_time = write_wal(&dir);
    let files = karma::wal::wal_files(&dir).expect("list");
    let bytes: u64 = files.iter().map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0)).sum();
    let segment = files.first().expect("a segment").clone();
    let index = PathBuf::from(format!("{}.idx", segment.display()));
    assert!(index.exists(), "the first segment has its .idx");
    let segment_entries = std::fs::read_to_string(&index).expect("idx").lines().count() as u64 - 1;
    let middle = segment_entries / 2;

    let cold_indexed = cold_page(&dir, middle, 21);
    let hidden = PathBuf::from(format!("{}.hidden", index.display()));
    std::fs::rename(&index, &hidden).expect("hide idx");
    let cold_plain = cold_page(&dir, middle, 21);
    std::fs::rename(&hidden, &index).expect("restore idx");
    let scan = median((0..5).map(|_| scan_to(&segment, middle)).collect());

    let reader = WalReader::new(dir.clone());
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let hot: Vec<Duration> = (0..2000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let after = state % (ENTRIES - PAGE_LIMIT as u64);
            let started = Instant::now();
            page(&reader, after, PAGE_LIMIT);
            started.elapsed()
        })
        .collect();

    let started = Instant::now();
    let mut after = 0;
    while after < ENTRIES {
        after += page(&reader, after, 10_000) as u64;
    }
    let catch_up = started.elapsed();
    let rate = ENTRIES as f64 / catch_up.as_secs_f64();

    println!(
        "wal_page: {ENTRIES} entries, {} files ({} sealed), {:.1} MiB, written in {:.2} s",
        files.len(),
        files.len() - 1,
        bytes as f64 / (1 << 20) as f64,
        write_time.as_secs_f64()
    );
    println!(
        "cold/hot pages: {PAGE_LIMIT} entries from LSN {} (middle of a {segment_entries}-entry segment)",
        middle + 1
    );
    println!();
    println!("| measurement                          | result             | target     |");
    println!("|--------------------------------------|--------------------|------------|");
    println!("| cold page, with .idx (median of 21)  | {:>18} | < 5 ms     |", ms(cold_indexed));
    println!("| cold page, no .idx (bisect lines)    | {:>18} |            |", ms(cold_plain));
    println!("| read + scan segment to the page start| {:>18} |            |", ms(scan));
    println!(
        "| speed-up of .idx over the scan       | {:>17.0}x |            |",
        scan.as_secs_f64() / cold_indexed.as_secs_f64()
    );
    println!(
        "| speed-up of .idx over no .idx        | {:>17.1}x |            |",
        cold_plain.as_secs_f64() / cold_indexed.as_secs_f64()
    );
    println!("| hot page p50                         | {:>18} |            |", ms(percentile(&hot, 0.50)));
    println!("| hot page p95                         | {:>18} |            |", ms(percentile(&hot, 0.95)));
    println!("| sequential catch-up                  | {:>10.2} M/s     | >= 2 M/s   |", rate / 1e6);
    let _ = std::fs::remove_dir_all(&dir);
}
