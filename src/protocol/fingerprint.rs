//! Request fingerprints (docs/protocol.md, Fingerprints).
//!
//! A fingerprint is the lowercase hex SHA-256 of a canonical text: one line
//! per field, each ending in `\n`, in a fixed order per command. It is what
//! makes an idempotency key or an ingest chunk "the same request": it
//! leaves out everything that does not change the effect (token, the
//! idempotency fields themselves, the alias used, JSON spelling, unknown
//! fields, `granularity` on batch ops) and keeps the resolved values (the
//! bucket after `date`/`bucket`/today resolution, `value` defaulting to 1).
//!
//! Fingerprints are stored in `karma.idempotency.json` by Karma 1.0, so the
//! text must match the reference byte for byte; the tests pin every
//! published vector.
//!
//! The write path uses a [`Fingerprint`], computed at most once per request
//! by [`command_digest`], which feeds the text to SHA-256 as it is produced
//! (through a stack buffer) and keeps the 32-byte digest: the hex form is
//! rendered only where a fingerprint is written out.
//!
//! Line forms: `<name>:s:<UTF-8 byte length>:<value>` for strings,
//! `<name>:u:<decimal>` for unsigned values (`<name>:n` when absent), and
//! `<name>:i:<decimal>` for counts. The first line is always
//! `command:s:<len>:<internal command name>`.

use super::fields::{Item, RawRange};
use super::op::Op;
use super::request::{Command, Request};
use super::write;
use sha2::{Digest as _, Sha256};
use std::cell::OnceCell;

/// A SHA-256 digest of a canonical text; its lowercase hex is the
/// fingerprint.
pub type Digest = [u8; 32];

/// The SHA-256 digest of `data`. `sha2` uses the CPU's SHA extensions when
/// present: every keyed write is fingerprinted, so this is on the hot path.
pub fn sha256(data: &[u8]) -> Digest {
    Sha256::digest(data).into()
}

/// A request's fingerprint, computed on first use and then kept: the
/// write path hands one of these down, so the canonical text of a request
/// is built once however many steps (the idempotency check, an ingest
/// stream's chunk check) look at it.
pub struct Fingerprint<'r, 'a> {
    op: Op,
    command: &'r Command<'a>,
    digest: OnceCell<Option<Digest>>,
}

impl<'r, 'a> Fingerprint<'r, 'a> {
    /// The fingerprint of `command` sent as `op` (nothing computed yet).
    pub fn new(op: Op, command: &'r Command<'a>) -> Fingerprint<'r, 'a> {
        Fingerprint { op, command, digest: OnceCell::new() }
    }

    /// The SHA-256 of the canonical text; `None` for ops that have none.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.get_or_init(|| command_digest(self.op, self.command)).as_ref()
    }

    /// The lowercase hex of [`digest`](Self::digest) (what ingest streams
    /// keep); empty for ops that have no fingerprint.
    pub fn hex(&self) -> String {
        self.digest().map(hex::encode).unwrap_or_default()
    }
}

/// The canonical text of an idempotent-eligible request (docs/protocol.md, Idempotency)
/// or of an ingest request; `None` for every other op.
pub fn canonical_text(request: &Request<'_>) -> Option<String> {
    let mut text = Vec::with_capacity(128);
    // Every piece pushed is a `&str` or ASCII digits, so this is UTF-8.
    canonical(request.op, &request.command, &mut text).then(|| String::from_utf8(text).ok()).flatten()
}

/// The lowercase hex SHA-256 of [`canonical_text`]; `None` for ops that
/// have no fingerprint.
pub fn fingerprint(request: &Request<'_>) -> Option<String> {
    command_digest(request.op, &request.command).map(hex::encode)
}

/// The SHA-256 of the canonical text, hashed as it is produced: no text is
/// built and no hex is rendered (records keep the digest; hex only when a
/// record is rendered).
pub fn command_digest(op: Op, command: &Command<'_>) -> Option<Digest> {
    let mut sink = HashSink::new();
    canonical(op, command, &mut sink).then(|| sink.finish())
}

/// Whether `text` is exactly the lowercase hex of `digest` (what a client
/// `fingerprint` must be), without rendering the hex.
pub fn is_hex_of(text: &str, digest: &Digest) -> bool {
    digest_from_hex(text).as_ref() == Some(digest)
}

/// The digest whose lowercase hex is `text`; `None` unless `text` is
/// exactly 64 lowercase hex digits.
pub fn digest_from_hex(text: &str) -> Option<Digest> {
    // The hex crate also takes upper case; a fingerprint is lower case only.
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut digest = [0u8; 32];
    hex::decode_to_slice(text, &mut digest).ok()?;
    Some(digest)
}

/// Writes the canonical text of `command` into `out`; `false` for ops that
/// have none (what was written is then meaningless).
fn canonical(op: Op, command: &Command<'_>, out: &mut impl Sink) -> bool {
    let mut text = Canonical(out);
    text.string("command:s:", op.internal_name());
    match command {
        Command::Increment(write::Increment { series, key, bucket, value })
        | Command::Decrement(write::Decrement { series, key, bucket, value }) => {
            text.string("series:s:", series);
            text.unsigned("key:u:", *key);
            text.unsigned("bucket:u:", u64::from(bucket.yyyymmdd()));
            text.unsigned("value:u:", value.unwrap_or(1));
        }
        Command::BatchAdd(write::BatchAdd { series, items }) | Command::BatchSet(write::BatchSet { series, items }) => {
            text.string("series:s:", series);
            text.items(items);
        }
        Command::BatchReset(write::BatchReset { series, keys }) => {
            text.string("series:s:", series);
            text.keys(keys);
        }
        Command::BatchDeleteRange(write::BatchDeleteRange { series, keys, range }) => {
            text.string("series:s:", series);
            text.keys(keys);
            text.range(range);
        }
        Command::CounterDeleteRange(write::CounterDeleteRange { series, key, range }) => {
            text.string("series:s:", series);
            text.unsigned("key:u:", *key);
            text.range(range);
        }
        Command::TreeDeleteRange(write::TreeDeleteRange { series, range }) => {
            text.string("series:s:", series);
            text.absent("key:n\n");
            text.range(range);
        }
        Command::CounterReset(write::CounterReset { series, key }) => {
            text.string("series:s:", series);
            text.unsigned("key:u:", *key);
        }
        Command::TreeReset(write::TreeReset { series }) => {
            text.string("series:s:", series);
            text.absent("key:n\n");
        }
        Command::IngestBegin(write::IngestBegin { stream_id, mode, granularity }) => {
            text.string("stream_id:s:", stream_id);
            text.string("mode:s:", mode);
            match granularity {
                Some(granularity) => text.string("granularity:s:", granularity),
                None => text.absent("granularity:n\n"),
            }
        }
        Command::IngestChunk(write::IngestChunk { series, stream_id, chunk_seq, items }) => {
            text.string("stream_id:s:", stream_id);
            text.string("series:s:", series);
            text.unsigned("chunk_seq:u:", *chunk_seq);
            text.items(items);
        }
        Command::IngestCommit(write::IngestCommit { stream_id, .. })
        | Command::IngestAbort(write::IngestAbort { stream_id }) => {
            text.string("stream_id:s:", stream_id);
        }
        // Not eligible for idempotency keys: no canonical text.
        Command::Read(_)
        | Command::DeleteBefore(_)
        | Command::SeriesCompact(_)
        | Command::SystemCompact(_)
        | Command::TreeCreate(_)
        | Command::TreeDrop(_)
        | Command::IdempotencyPrune(_)
        | Command::SnapshotCreate(_)
        | Command::SnapshotCreateAll(_)
        | Command::SnapshotLoad(_)
        | Command::ReconciliationReport(_)
        | Command::RecoveryCheckpoint(_) => return false,
    }
    true
}

/// Where canonical text goes: a buffer, or straight into SHA-256.
trait Sink {
    fn push(&mut self, bytes: &[u8]);

    /// The decimal digits of `value` and then `end`.
    #[inline]
    fn push_number(&mut self, value: u64, end: u8) {
        let mut buffer = [0u8; 21];
        let len = write_number(&mut buffer, value, end);
        self.push(&buffer[..len]);
    }
}

/// Writes the decimal digits of `value` and then `end` at the start of
/// `out` (21 bytes always suffice); returns how many bytes were written.
/// Two digits per division: the numbers of a canonical text are most of
/// its cost after the hashing.
#[inline]
fn write_number(out: &mut [u8], mut value: u64, end: u8) -> usize {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let digits = value.checked_ilog10().unwrap_or(0) as usize + 1;
    let mut at = digits;
    while at >= 2 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        out[at - 2..at].copy_from_slice(&PAIRS[pair..pair + 2]);
        at -= 2;
    }
    if at == 1 {
        out[0] = b'0' + value as u8;
    }
    out[digits] = end;
    digits + 1
}

impl Sink for Vec<u8> {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Feeds SHA-256 through a stack buffer: the text comes in pieces of a few
/// bytes, and one `update` per piece would cost more than the hashing. A
/// text that fits the buffer (every single-key write) is hashed in one go.
struct HashSink {
    buffer: [u8; 128],
    len: usize,
    /// Fed only by texts longer than the buffer.
    hasher: Option<Sha256>,
}

impl HashSink {
    fn new() -> HashSink {
        HashSink { buffer: [0; 128], len: 0, hasher: None }
    }

    #[inline]
    fn finish(&mut self) -> Digest {
        match self.hasher.take() {
            None => sha256(&self.buffer[..self.len]),
            Some(mut hasher) => {
                hasher.update(&self.buffer[..self.len]);
                hasher.finalize().into()
            }
        }
    }

    #[cold]
    fn spill(&mut self, bytes: &[u8]) {
        let hasher = self.hasher.get_or_insert_with(Sha256::new);
        hasher.update(&self.buffer[..self.len]);
        hasher.update(bytes);
        self.len = 0;
    }
}

impl Sink for HashSink {
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        match self.buffer.get_mut(self.len..self.len + bytes.len()) {
            Some(free) => {
                free.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.spill(bytes),
        }
    }

    /// Straight into the buffer when it has room: a copy of a few bytes
    /// of unknown length costs more than the digits.
    #[inline]
    fn push_number(&mut self, value: u64, end: u8) {
        match self.buffer.get_mut(self.len..self.len + 21) {
            Some(free) => self.len += write_number(free, value, end),
            None => {
                let mut buffer = [0u8; 21];
                let len = write_number(&mut buffer, value, end);
                self.push(&buffer[..len]);
            }
        }
    }
}

/// A canonical text being written, one `\n`-terminated line at a time.
/// Each method takes the line's fixed start (`<name>:<type>:`) whole, so a
/// line is fed in few pieces.
struct Canonical<'s, S: Sink>(&'s mut S);

impl<S: Sink> Canonical<'_, S> {
    /// `<name>:s:<UTF-8 byte length>:<value>\n`; `start` is `<name>:s:`.
    #[inline]
    fn string(&mut self, start: &str, value: &str) {
        self.0.push(start.as_bytes());
        self.number(value.len() as u64, b':');
        self.0.push(value.as_bytes());
        self.0.push(b"\n");
    }

    /// `<name>:u:<decimal>\n`; `start` is `<name>:u:`.
    #[inline]
    fn unsigned(&mut self, start: &str, value: u64) {
        self.0.push(start.as_bytes());
        self.number(value, b'\n');
    }

    /// `<name>:n\n`, given whole.
    #[inline]
    fn absent(&mut self, line: &str) {
        self.0.push(line.as_bytes());
    }

    /// `<name>:i:<decimal>\n`; `start` is `<name>:i:`.
    #[inline]
    fn count(&mut self, start: &str, value: usize) {
        self.0.push(start.as_bytes());
        self.number(value as u64, b'\n');
    }

    #[inline]
    fn number(&mut self, value: u64, end: u8) {
        self.0.push_number(value, end);
    }

    fn items(&mut self, items: &[Item]) {
        self.count("items_count:i:", items.len());
        for &(key, bucket, value) in items {
            self.unsigned("item_key:u:", key);
            self.unsigned("item_bucket:u:", u64::from(bucket.yyyymmdd()));
            self.unsigned("item_value:u:", value);
        }
    }

    fn keys(&mut self, keys: &[u64]) {
        self.count("keys_count:i:", keys.len());
        for &key in keys {
            self.unsigned("key_value:u:", key);
        }
    }

    fn range(&mut self, range: &RawRange) {
        self.unsigned("range_from:u:", range.from);
        self.unsigned("range_to:u:", range.to);
    }
}

#[cfg(test)]
mod tests;
