//! Request fingerprints (COMMANDS.md 11.3, PERSISTENCE.md 2.8.1).
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
//! Line forms: `<name>:s:<UTF-8 byte length>:<value>` for strings,
//! `<name>:u:<decimal>` for unsigned values (`<name>:n` when absent), and
//! `<name>:i:<decimal>` for counts. The first line is always
//! `command:s:<len>:<internal command name>`.

use super::fields::{Item, RawRange};
use super::op::Op;
use super::request::{Command, Request};
use crate::util::sha256::{hex, sha256};

/// The canonical text of an idempotent-eligible request (COMMANDS.md 11.1)
/// or of an ingest request; `None` for every other op.
pub fn canonical_text(request: &Request<'_>) -> Option<String> {
    command_canonical_text(request.op, &request.command)
}

/// The lowercase hex SHA-256 of [`canonical_text`]; `None` for ops that
/// have no fingerprint.
pub fn fingerprint(request: &Request<'_>) -> Option<String> {
    command_fingerprint(request.op, &request.command)
}

/// [`fingerprint`] from the op and command alone (WAL replay builds these
/// without an envelope).
pub fn command_fingerprint(op: Op, command: &Command<'_>) -> Option<String> {
    command_canonical_text(op, command).map(|text| hex(&sha256(text.as_bytes())))
}

/// [`canonical_text`] from the op and command alone.
pub fn command_canonical_text(op: Op, command: &Command<'_>) -> Option<String> {
    let mut text = Canonical::new(op.internal_name());
    match command {
        Command::Increment { series, key, bucket, value } | Command::Decrement { series, key, bucket, value } => {
            text.string("series", series);
            text.unsigned("key", *key);
            text.unsigned("bucket", u64::from(bucket.yyyymmdd()));
            text.unsigned("value", value.unwrap_or(1));
        }
        Command::BatchAdd { series, items } | Command::BatchSet { series, items } => {
            text.string("series", series);
            text.items(items);
        }
        Command::BatchReset { series, keys } => {
            text.string("series", series);
            text.keys(keys);
        }
        Command::BatchDeleteRange { series, keys, range } => {
            text.string("series", series);
            text.keys(keys);
            text.range(range);
        }
        Command::CounterDeleteRange { series, key, range } => {
            text.string("series", series);
            text.unsigned("key", *key);
            text.range(range);
        }
        Command::TreeDeleteRange { series, range } => {
            text.string("series", series);
            text.absent("key");
            text.range(range);
        }
        Command::CounterReset { series, key } => {
            text.string("series", series);
            text.unsigned("key", *key);
        }
        Command::TreeReset { series } => {
            text.string("series", series);
            text.absent("key");
        }
        Command::IngestBegin { stream_id, mode, granularity } => {
            text.string("stream_id", stream_id);
            text.string("mode", mode);
            match granularity {
                Some(granularity) => text.string("granularity", granularity),
                None => text.absent("granularity"),
            }
        }
        Command::IngestChunk { series, stream_id, chunk_seq, items } => {
            text.string("stream_id", stream_id);
            text.string("series", series);
            text.unsigned("chunk_seq", *chunk_seq);
            text.items(items);
        }
        Command::IngestCommit { stream_id } | Command::IngestAbort { stream_id } => {
            text.string("stream_id", stream_id);
        }
        _ => return None,
    }
    Some(text.0)
}

/// A canonical text being built, one `\n`-terminated line at a time.
struct Canonical(String);

impl Canonical {
    fn new(command: &str) -> Canonical {
        let mut text = Canonical(String::with_capacity(128));
        text.string("command", command);
        text
    }

    fn string(&mut self, name: &str, value: &str) {
        self.0.push_str(name);
        self.0.push_str(":s:");
        self.decimal(value.len() as u64);
        self.0.push(':');
        self.0.push_str(value);
        self.0.push('\n');
    }

    /// Appends a decimal number without going through `fmt`.
    fn decimal(&mut self, value: u64) {
        let mut buffer = [0u8; 20];
        let digits = super::write::decimal(value, &mut buffer);
        self.0.extend(digits.iter().map(|&d| char::from(d)));
    }

    fn unsigned(&mut self, name: &str, value: u64) {
        self.0.push_str(name);
        self.0.push_str(":u:");
        self.decimal(value);
        self.0.push('\n');
    }

    fn absent(&mut self, name: &str) {
        self.0.push_str(name);
        self.0.push_str(":n\n");
    }

    fn count(&mut self, name: &str, value: usize) {
        self.0.push_str(name);
        self.0.push_str(":i:");
        self.decimal(value as u64);
        self.0.push('\n');
    }

    fn items(&mut self, items: &[Item]) {
        self.count("items_count", items.len());
        for &(key, bucket, value) in items {
            self.unsigned("item_key", key);
            self.unsigned("item_bucket", u64::from(bucket.yyyymmdd()));
            self.unsigned("item_value", value);
        }
    }

    fn keys(&mut self, keys: &[u64]) {
        self.count("keys_count", keys.len());
        for &key in keys {
            self.unsigned("key_value", key);
        }
    }

    fn range(&mut self, range: &RawRange) {
        self.unsigned("range_from", range.from);
        self.unsigned("range_to", range.to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_request;

    fn fp(line: &str) -> Option<String> {
        fingerprint(&parse_request(line.as_bytes()).expect("valid request line"))
    }

    fn text(line: &str) -> Option<String> {
        canonical_text(&parse_request(line.as_bytes()).expect("valid request line"))
    }

    #[test]
    fn increment_vector_and_its_equivalent_spellings() {
        let expected = "00efa1dcd02ad1bb399c2131de3a2ae29a340f7dc629c33809641d0a6bd46e14";
        let line = r#"{"v":2,"op":"counter.increment","series":"usage","key":101,"bucket":20260529,"value":2}"#;
        assert_eq!(
            text(line).as_deref(),
            Some("command:s:9:increment\nseries:s:5:usage\nkey:u:101\nbucket:u:20260529\nvalue:u:2\n")
        );
        assert_eq!(fp(line).as_deref(), Some(expected));
        // Alias, `date`, a string bucket, extra fields and key order do not count.
        for same in [
            r#"{"v":2,"op":"series.increment","tree":"usage","key":101,"date":20260529,"value":2}"#,
            r#"{"value":2,"bucket":"2026-05-29","key":101,"series":"usage","op":"counter.increment","v":2,"token":"t","idempotency_key":"k","fingerprint":"x","range":{"from":1,"to":2},"other":[1]}"#,
        ] {
            assert_eq!(fp(same).as_deref(), Some(expected), "{same}");
        }
    }

    #[test]
    fn increment_defaults_value_and_bucket() {
        let today = crate::store::Bucket::today().yyyymmdd();
        assert_eq!(
            text(r#"{"v":2,"op":"counter.decrement","series":"s","key":1}"#),
            Some(format!("command:s:9:decrement\nseries:s:1:s\nkey:u:1\nbucket:u:{today}\nvalue:u:1\n"))
        );
    }

    #[test]
    fn persistence_example() {
        let line = r#"{"v":2,"op":"counter.increment","series":"api","key":43,"bucket":20260506,"value":3}"#;
        assert_eq!(fp(line).as_deref(), Some("f5cec8440dbe3a2c8a1f2954263670d37ecfaecdacf186dc74c507ad42665f2e"));
    }

    #[test]
    fn batch_add_vector() {
        let line = r#"{"v":2,"op":"series.batch_add","series":"usage","items":[[101,20260529,5],[102,20260529,1]]}"#;
        assert_eq!(
            text(line).as_deref(),
            Some(concat!(
                "command:s:9:batch_add\nseries:s:5:usage\nitems_count:i:2\n",
                "item_key:u:101\nitem_bucket:u:20260529\nitem_value:u:5\n",
                "item_key:u:102\nitem_bucket:u:20260529\nitem_value:u:1\n"
            ))
        );
        let expected = "d7b24834877dd43ac3bfac544cb3ce840865e0e3f52c18b3c7b61df77b836151";
        assert_eq!(fp(line).as_deref(), Some(expected));
        let alias = r#"{"v":2,"op":"counter.batch_increment","series":"usage","granularity":"day","items":[[101,20260529,5],[102,20260529,1]]}"#;
        assert_eq!(fp(alias).as_deref(), Some(expected));
    }

    #[test]
    fn tree_reset_vector_and_counter_reset() {
        let line = r#"{"v":2,"op":"tree.reset","series":"usage"}"#;
        assert_eq!(text(line).as_deref(), Some("command:s:5:reset\nseries:s:5:usage\nkey:n\n"));
        assert_eq!(fp(line).as_deref(), Some("422e51677aebd841b23f86612755285b7200bc1c0ba822dd00463c24c6f8d205"));
        assert_eq!(
            text(r#"{"v":2,"op":"counter.reset","series":"usage","key":7}"#).as_deref(),
            Some("command:s:5:reset\nseries:s:5:usage\nkey:u:7\n")
        );
    }

    #[test]
    fn batch_delete_range_vector() {
        let line = r#"{"v":2,"op":"counter.batch_delete_range","series":"usage","keys":[1,2],"range":{"from":20260501,"to":20260531}}"#;
        assert_eq!(
            text(line).as_deref(),
            Some(concat!(
                "command:s:18:batch_delete_range\nseries:s:5:usage\nkeys_count:i:2\n",
                "key_value:u:1\nkey_value:u:2\nrange_from:u:20260501\nrange_to:u:20260531\n"
            ))
        );
        assert_eq!(fp(line).as_deref(), Some("f2ba9c528b1ce30256ef5efca90aa37c093c82f027070e87aa1b3db1f8f12bc5"));
    }

    #[test]
    fn ingest_vectors() {
        let chunk = r#"{"v":2,"op":"ingest.chunk","stream_id":"import-1","series":"usage","chunk_seq":1,"items":[[101,20260529,5]]}"#;
        assert_eq!(
            text(chunk).as_deref(),
            Some(concat!(
                "command:s:12:ingest_chunk\nstream_id:s:8:import-1\nseries:s:5:usage\nchunk_seq:u:1\n",
                "items_count:i:1\nitem_key:u:101\nitem_bucket:u:20260529\nitem_value:u:5\n"
            ))
        );
        assert_eq!(fp(chunk).as_deref(), Some("0d8bca02e8caeb2397147b66695cab1b30a7484faa740ac3837c283aa7a15f86"));
        let begin = r#"{"v":2,"op":"ingest.begin","stream_id":"s1","mode":"add","granularity":"day"}"#;
        assert_eq!(fp(begin).as_deref(), Some("1e2a7aef87c0443538c0db22e97db18ef2faa0af3ecf31ebb8f455a783dd06de"));
        assert_eq!(
            text(r#"{"v":2,"op":"ingest.begin","stream_id":"s1","mode":"add","granularity":5}"#).as_deref(),
            Some("command:s:12:ingest_begin\nstream_id:s:2:s1\nmode:s:3:add\ngranularity:n\n")
        );
        assert_eq!(
            text(r#"{"v":2,"op":"ingest.commit","stream_id":"s1"}"#).as_deref(),
            Some("command:s:13:ingest_commit\nstream_id:s:2:s1\n")
        );
        assert_eq!(
            text(r#"{"v":2,"op":"ingest.abort","stream_id":"s1"}"#).as_deref(),
            Some("command:s:12:ingest_abort\nstream_id:s:2:s1\n")
        );
    }

    #[test]
    fn delete_and_batch_reset_lines() {
        assert_eq!(
            text(r#"{"v":2,"op":"counter.delete_range","series":"u","key":3,"range":{"from":20260501,"to":20260502}}"#)
                .as_deref(),
            Some("command:s:6:delete\nseries:s:1:u\nkey:u:3\nrange_from:u:20260501\nrange_to:u:20260502\n")
        );
        assert_eq!(
            text(r#"{"v":2,"op":"tree.delete_range","series":"u","range":{"from":20260501,"to":20260502}}"#).as_deref(),
            Some("command:s:6:delete\nseries:s:1:u\nkey:n\nrange_from:u:20260501\nrange_to:u:20260502\n")
        );
        assert_eq!(
            text(r#"{"v":2,"op":"counter.batch_reset","series":"é","keys":[]}"#).as_deref(),
            Some("command:s:11:batch_reset\nseries:s:2:é\nkeys_count:i:0\n")
        );
        assert_eq!(
            text(r#"{"v":2,"op":"series.batch_set","series":"u","items":[[1,20260501,0]]}"#).as_deref(),
            Some("command:s:9:batch_set\nseries:s:1:u\nitems_count:i:1\nitem_key:u:1\nitem_bucket:u:20260501\nitem_value:u:0\n")
        );
    }

    #[test]
    fn other_ops_have_no_fingerprint() {
        assert_eq!(fp(r#"{"v":2,"op":"counter.sum","series":"u","key":1}"#), None);
        assert_eq!(fp(r#"{"v":2,"op":"tree.create","series":"u","idempotency_key":"k"}"#), None);
        assert_eq!(fp(r#"{"v":2,"op":"system.ping"}"#), None);
    }
}
