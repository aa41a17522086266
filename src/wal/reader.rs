//! Replication pages: the entries after an LSN, read straight from the WAL
//! files (docs/storage.md, The write-ahead log: segments and their index;
//! docs/protocol.md, replication.entries).
//!
//! This never touches the engine's state lock and never waits for the
//! writer. It relies on three facts about the files:
//!
//! - sealed segments are immutable, and the active file only grows while
//!   the process runs, so a read-only map of either stays valid (deleting
//!   or renaming a mapped file does not invalidate the map);
//! - every line with `lsn <= durable_lsn` is completely written, so
//!   reading stops at the first entry above the caller's durable LSN and
//!   never at a partial line;
//! - LSNs increase by one from line to line and file to file, so the start
//!   of a page is found by binary search (`super::locate`, through the
//!   `.idx` when it checks out), and a jump in the sequence reveals a race
//!   with rotation or truncation (a file listed under a name that has since
//!   moved). On such a jump, or when a listed file has vanished, the page is
//!   read once more from a fresh listing.
//!
//! Up to 8 sealed segments stay mapped (least recently used first out),
//! each with its `.idx` map when that passed the header check; lookups are
//! O(log n) in both, so no per-entry table is built on the heap.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;
use parking_lot::Mutex;

use super::files::{self, decimal_len};
use super::index::IndexView;
use super::line::{parse_line, Line};
use super::locate::locate;
use super::WalError;

/// Sealed segments kept mapped between requests.
const CACHED_SEGMENTS: usize = 8;

/// What a replica asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// Entries with `lsn > after_lsn` are returned.
    pub after_lsn: u64,
    /// At most this many entries.
    pub limit: usize,
    /// At most this many entry bytes (see [`Page::entries_bytes`]).
    pub byte_budget: Option<usize>,
    /// Nothing above this LSN is read (the WAL's published durable LSN).
    pub durable_lsn: u64,
}

/// One page of entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The JSON array body: `{"lsn":N,"entry":{...}}` joined by `,`, without
    /// the brackets.
    pub entries: Vec<u8>,
    pub count: usize,
    /// Sum of the byte lengths of each `{"lsn":N,"entry":...}` (commas not
    /// counted), as `entries_bytes` in the reply.
    pub entries_bytes: usize,
    /// True only when the byte budget ended the page.
    pub truncated_by_bytes: bool,
    /// LSN of the last entry, if any.
    pub last_lsn: Option<u64>,
}

/// Why a page could not be read.
#[derive(Debug, Clone, PartialEq)]
pub enum PageError {
    /// The first entry alone exceeds the byte budget (`response_too_large`).
    SingleEntryTooLarge(u64),
    /// A WAL file could not be listed, opened or mapped.
    Io(WalError),
    /// A line in the page's range is not valid JSON.
    Corrupt(String),
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::SingleEntryTooLarge(lsn) => {
                write!(f, "Single WAL entry {lsn} exceeds replication response byte budget")
            }
            PageError::Io(error) => write!(f, "{error}"),
            PageError::Corrupt(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for PageError {}

/// Reads replication pages from a data directory. `Send + Sync`.
pub struct WalReader {
    dir: PathBuf,
    /// Most recently used first.
    cache: Mutex<Vec<Arc<Segment>>>,
}

/// A mapped sealed segment and, when its header checked out, its index.
struct Segment {
    path: PathBuf,
    identity: (u64, u64, u64),
    data: Mmap,
    /// The `.idx` read into memory: a sidecar is not trusted, so it is
    /// never mapped (truncating a mapped file would kill the process).
    index: Option<Vec<u8>>,
}

impl Segment {
    fn index_view(&self) -> Option<IndexView<'_>> {
        IndexView::new(self.index.as_deref()?, self.data.len() as u64)
    }
}

/// Why one attempt at a page did not produce it.
enum Attempt {
    /// A listed file vanished (rotation or truncation raced with us).
    Vanished(WalError),
    Failed(PageError),
}

impl From<PageError> for Attempt {
    fn from(error: PageError) -> Attempt {
        Attempt::Failed(error)
    }
}

impl WalReader {
    /// A reader for the WAL files in `dir`.
    pub fn new(dir: PathBuf) -> WalReader {
        WalReader { dir, cache: Mutex::new(Vec::new()) }
    }

    /// The entries after `request.after_lsn`, up to `limit`, the byte
    /// budget, `durable_lsn` or the end of the WAL.
    pub fn read_page(&self, request: &PageRequest) -> Result<Page, PageError> {
        let Some(target) = request.after_lsn.checked_add(1) else {
            return Ok(Page::default());
        };
        if request.limit == 0 || target > request.durable_lsn {
            return Ok(Page::default());
        }
        let mut retried = false;
        loop {
            match self.attempt(request, target) {
                Ok((page, contiguous)) if contiguous || retried => return Ok(page),
                Ok(_) => {}
                Err(Attempt::Vanished(error)) if retried => return Err(PageError::Io(error)),
                Err(Attempt::Vanished(_)) => {}
                Err(Attempt::Failed(error)) => return Err(error),
            }
            retried = true;
        }
    }

    /// One pass over a fresh listing. Returns the page and whether its LSNs
    /// ran from `target` without a gap.
    fn attempt(&self, request: &PageRequest, target: u64) -> Result<(Page, bool), Attempt> {
        let listing =
            files::list(&self.dir).map_err(|e| PageError::Io(WalError::io("list WAL directory", &self.dir, e)))?;
        // A deleted segment that stays mapped keeps its disk space in use.
        self.cache.lock().retain(|cached| listing.segments.iter().any(|(_, path)| *path == cached.path));
        // Segment k holds LSNs below the first LSN of segment k + 1, so the
        // page starts in the last segment whose first LSN is <= target.
        let first = listing.segments.iter().rposition(|(first_lsn, _)| *first_lsn <= target).unwrap_or(0);
        let mut page = PageBuilder::new(request, target);
        for (_, path) in &listing.segments[first..] {
            if page.done {
                break;
            }
            let segment = self.segment(path)?;
            let index = segment.index_view();
            let start = if page.page.count == 0 { locate(&segment.data, target, index.as_ref()) } else { 0 };
            page.read(path, &segment.data, start)?;
        }
        if let (false, Some(path)) = (page.done, &listing.active) {
            let file = match File::open(path) {
                Ok(file) => Some(file),
                // Rotated away between the listing and now (a new one is
                // being created): the page ends here, which is still a
                // correct prefix; the next request finds the segment.
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(PageError::Io(WalError::io("open WAL file", path, e)).into()),
            };
            let Some(file) = file else {
                let contiguous = page.contiguous;
                return Ok((page.page, contiguous));
            };
            let map = files::map_file(&file).map_err(|e| PageError::Io(WalError::io("map WAL file", path, e)))?;
            // Only complete lines: the writer may be in the middle of one.
            // (memrchr: with fsync on, a blank fill of up to 256 KiB follows
            // the last line.)
            let complete = memchr::memrchr(b'\n', &map).map_or(0, |p| p + 1);
            let data = &map[..complete];
            let start = if page.page.count == 0 { locate(data, target, None) } else { 0 };
            page.read(path, data, start)?;
        }
        let contiguous = page.contiguous;
        Ok((page.page, contiguous))
    }

    /// The mapped segment at `path`, from the cache when it is the same file.
    fn segment(&self, path: &Path) -> Result<Arc<Segment>, Attempt> {
        let meta = fs::metadata(path).map_err(|e| vanished_or_failed("stat WAL segment", path, e))?;
        let identity = (meta.dev(), meta.ino(), meta.len());
        {
            let mut cache = self.cache.lock();
            if let Some(at) = cache.iter().position(|s| s.path == path && s.identity == identity) {
                let segment = cache.remove(at);
                cache.insert(0, Arc::clone(&segment));
                return Ok(segment);
            }
        }
        let file = open(path)?;
        let meta = file.metadata().map_err(|e| PageError::Io(WalError::io("stat WAL segment", path, e)))?;
        let data = files::map_file(&file).map_err(|e| PageError::Io(WalError::io("map WAL segment", path, e)))?;
        let index = load_index(path, data.len() as u64);
        let segment =
            Arc::new(Segment { path: path.to_path_buf(), identity: (meta.dev(), meta.ino(), meta.len()), data, index });
        let mut cache = self.cache.lock();
        cache.retain(|s| s.path != path);
        cache.insert(0, Arc::clone(&segment));
        cache.truncate(CACHED_SEGMENTS);
        Ok(segment)
    }
}

fn open(path: &Path) -> Result<File, Attempt> {
    File::open(path).map_err(|e| vanished_or_failed("open WAL file", path, e))
}

fn vanished_or_failed(action: &'static str, path: &Path, error: io::Error) -> Attempt {
    let vanished = error.kind() == io::ErrorKind::NotFound;
    let error = WalError::io(action, path, error);
    if vanished {
        Attempt::Vanished(error)
    } else {
        Attempt::Failed(PageError::Io(error))
    }
}

/// The segment's `.idx`, mapped, if it exists and its header names the
/// segment's size. Anything else means "no index" (the segment is searched
/// directly); nothing is rewritten.
fn load_index(segment: &Path, size: u64) -> Option<Vec<u8>> {
    let text = std::fs::read(files::index_path(segment)).ok()?;
    IndexView::new(&text, size)?;
    Some(text)
}

/// Accumulates a page under the request's limits.
struct PageBuilder<'r> {
    request: &'r PageRequest,
    target: u64,
    page: Page,
    done: bool,
    contiguous: bool,
}

impl<'r> PageBuilder<'r> {
    fn new(request: &'r PageRequest, target: u64) -> PageBuilder<'r> {
        PageBuilder { request, target, page: Page::default(), done: false, contiguous: true }
    }

    /// Reads the lines of `data` from byte `start` until the page is done
    /// or the data ends.
    fn read(&mut self, path: &Path, data: &[u8], mut start: usize) -> Result<(), PageError> {
        while start < data.len() && !self.done {
            let end = data[start..].iter().position(|&b| b == b'\n').map_or(data.len(), |p| start + p);
            match parse_line(&data[start..end]) {
                Ok(Line::Record { lsn, entry }) => self.push(lsn, &entry)?,
                Ok(Line::Blank) | Ok(Line::NoEnvelope(_)) => {}
                Err(message) => {
                    return Err(PageError::Corrupt(format!(
                        "Corrupt WAL line at {} byte {start}: {message}",
                        path.display()
                    )))
                }
            }
            start = end + 1;
        }
        Ok(())
    }

    fn push(&mut self, lsn: u64, entry: &[u8]) -> Result<(), PageError> {
        let page = &mut self.page;
        if lsn < self.target || page.last_lsn.is_some_and(|last| lsn <= last) {
            return Ok(());
        }
        if lsn > self.request.durable_lsn {
            self.done = true;
            return Ok(());
        }
        // {"lsn":N,"entry":E}
        let size = r#"{"lsn":,"entry":}"#.len() + decimal_len(lsn) + entry.len();
        if let Some(budget) = self.request.byte_budget {
            if page.entries_bytes + size > budget {
                if page.count == 0 {
                    return Err(PageError::SingleEntryTooLarge(lsn));
                }
                page.truncated_by_bytes = true;
                self.done = true;
                return Ok(());
            }
        }
        if lsn != page.last_lsn.map_or(self.target, |last| last + 1) {
            self.contiguous = false;
        }
        if page.count > 0 {
            page.entries.push(b',');
        }
        page.entries.extend_from_slice(br#"{"lsn":"#);
        files::push_u64(&mut page.entries, lsn);
        page.entries.extend_from_slice(br#","entry":"#);
        page.entries.extend_from_slice(entry);
        page.entries.push(b'}');
        page.count += 1;
        page.entries_bytes += size;
        page.last_lsn = Some(lsn);
        if page.count >= self.request.limit {
            self.done = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
