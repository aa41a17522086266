//! `karma.idempotency.json` (docs/storage.md, Idempotency and ingest snapshot): idempotency records
//! and committed ingest streams, written by `snapshot.create_all` and read at
//! startup.
//!
//! The document is compact JSON plus `\n`, keys in this order:
//! `{"records":[…],"committed_streams":[…]}`. Records are written in
//! insertion order with their stored `response` JSON embedded verbatim;
//! committed streams in commit order, `granularity` / `series_name` left
//! out when null, `chunk_fingerprints` keyed by the chunk number as a
//! decimal string.
//!
//! Extension: open streams would otherwise be lost when `create_all`
//! truncates the WAL that holds their chunks (the reference loses them,
//! docs/protocol.md, Streaming ingest). They go into one more field, `active_streams`, after
//! `committed_streams` and only when there is at least one, so a file
//! without open streams is byte-for-byte what Karma 1.0 writes, and Karma
//! 1.0 ignores the field otherwise. A `replace_series` stream carries its
//! staged series as `staged_tree_base64`, the `.tree` MessagePack in base64;
//! the `.tree` codec is passed in by the caller.
//!
//! A `response` holding an integer above `i64::MAX` (a `series.batch_add`
//! total) is written with floats plus the exact text in `response_json`
//! (see `protocol::saved_reply`), so Karma 1.0 can still load the file.
//!
//! Reading keeps a stored `response` byte-exact: it is re-rendered from the
//! parse events in document order (a `serde_json::Value` would sort object
//! keys), with integers up to `u64::MAX` kept as integers.

mod error;

use super::{ActiveStream, CommittedStream, IngestMode, IngestRegistry};
use crate::engine::idempotency::{IdempotencyRecord, IdempotencyRegistry};
use crate::protocol::saved_reply::write_saved_reply;
use crate::store::Series;
use crate::util::json_writer::{write_f64, write_i64, write_key, write_str, write_u64};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
pub use error::{DecodeError, IdempotencyFileError};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// Renders the whole `karma.idempotency.json` document (with its trailing
/// `\n`) into `out`. `encode` turns a staged series into `.tree` bytes.
pub fn write_idempotency_json(
    records: &IdempotencyRegistry,
    streams: &IngestRegistry,
    encode: &dyn Fn(&Series) -> Vec<u8>,
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"records\":[");
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        write_str(out, record.key());
        out.extend_from_slice(b",\"operation\":");
        write_str(out, record.operation());
        out.extend_from_slice(b",\"fingerprint\":");
        record.write_fingerprint(out);
        out.push(b',');
        write_saved_reply(out, "response", record.response().as_bytes());
        out.extend_from_slice(b",\"created_at_unix\":");
        write_i64(out, record.created_at_unix);
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"committed_streams\":[");
    for (i, stream) in streams.committed_streams().iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let head = StreamHead {
            stream_id: &stream.stream_id,
            mode: stream.mode,
            granularity: stream.granularity.as_deref(),
            series_name: stream.series_name.as_deref(),
            last_chunk_seq: stream.last_chunk_seq,
            begin_fingerprint: &stream.begin_fingerprint,
            chunk_fingerprints: &stream.chunk_fingerprints,
        };
        head.write(out);
        out.extend_from_slice(b",\"committed_at_unix\":");
        write_i64(out, stream.committed_at_unix);
        out.push(b'}');
    }
    out.push(b']');
    if streams.active_count() > 0 {
        out.extend_from_slice(b",\"active_streams\":[");
        for (i, (stream_id, stream)) in streams.active_streams().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let head = StreamHead {
                stream_id,
                mode: stream.mode,
                granularity: stream.granularity.as_deref(),
                series_name: stream.series.as_deref(),
                last_chunk_seq: stream.last_chunk_seq,
                begin_fingerprint: &stream.begin_fingerprint,
                chunk_fingerprints: &stream.chunk_fingerprints,
            };
            head.write(out);
            if let Some(staged) = &stream.staged {
                out.extend_from_slice(b",\"staged_tree_base64\":\"");
                out.extend_from_slice(STANDARD.encode(encode(staged)).as_bytes());
                out.push(b'"');
            }
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\n");
}

/// The fields committed and active streams share, in file order.
struct StreamHead<'a> {
    stream_id: &'a str,
    mode: IngestMode,
    granularity: Option<&'a str>,
    series_name: Option<&'a str>,
    last_chunk_seq: u64,
    begin_fingerprint: &'a str,
    chunk_fingerprints: &'a BTreeMap<u64, String>,
}

impl StreamHead<'_> {
    /// Writes `{` and the fields, without the closing brace.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"stream_id\":");
        write_str(out, self.stream_id);
        out.extend_from_slice(b",\"mode\":");
        write_str(out, self.mode.as_str());
        if let Some(granularity) = self.granularity {
            out.extend_from_slice(b",\"granularity\":");
            write_str(out, granularity);
        }
        if let Some(series) = self.series_name {
            out.extend_from_slice(b",\"series_name\":");
            write_str(out, series);
        }
        out.extend_from_slice(b",\"last_chunk_seq\":");
        write_u64(out, self.last_chunk_seq);
        out.extend_from_slice(b",\"begin_fingerprint\":");
        write_str(out, self.begin_fingerprint);
        out.extend_from_slice(b",\"chunk_fingerprints\":{");
        for (i, (seq, fingerprint)) in self.chunk_fingerprints.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, &seq.to_string());
            write_str(out, fingerprint);
        }
        out.push(b'}');
    }
}

/// Parses `karma.idempotency.json` (Karma 1.0's, or ours with
/// `active_streams`). Records are loaded with pruning relative to
/// `now_unix` (docs/storage.md, Idempotency and ingest snapshot); the third value is how many were
/// pruned. `decode` turns `.tree` bytes back into a staged series.
pub fn read_idempotency_json(
    bytes: &[u8],
    max_records: usize,
    max_age_secs: u64,
    now_unix: i64,
    decode: &dyn Fn(&[u8]) -> Result<Series, DecodeError>,
) -> Result<(IdempotencyRegistry, IngestRegistry, u64), IdempotencyFileError> {
    let document: Document = serde_json::from_slice(bytes).map_err(IdempotencyFileError::Json)?;
    let mut records = IdempotencyRegistry::new(max_records, max_age_secs);
    let loaded: Vec<IdempotencyRecord> = document
        .records
        .iter()
        .map(|r| {
            let response = match &r.response_json {
                Some(exact) => serde_json::from_str::<RawJson>(exact).map_err(IdempotencyFileError::ResponseJson)?.0,
                None => r.response.0.clone(),
            };
            Ok(IdempotencyRecord::from_file(&r.key, &r.operation, &r.fingerprint, &response, r.created_at_unix))
        })
        .collect::<Result<_, IdempotencyFileError>>()?;
    let pruned = records.load(loaded, now_unix);

    let mut streams = IngestRegistry::new();
    for stream in document.committed_streams {
        let (id, head) = (stream.head.stream_id.clone(), stream.head);
        if streams.committed_stream(&id).is_some() {
            return Err(IdempotencyFileError::CommittedTwice(id));
        }
        let mode = head.mode()?;
        let chunk_fingerprints = head.chunk_fingerprints()?;
        streams.push_committed(CommittedStream {
            stream_id: head.stream_id,
            mode,
            granularity: head.granularity,
            series_name: head.series_name,
            last_chunk_seq: head.last_chunk_seq,
            begin_fingerprint: head.begin_fingerprint,
            chunk_fingerprints,
            committed_at_unix: stream.committed_at_unix,
        });
    }
    for stream in document.active_streams {
        let head = stream.head;
        let id = head.stream_id.clone();
        if streams.committed_stream(&id).is_some() || streams.active_stream(&id).is_some() {
            return Err(IdempotencyFileError::ActiveTwice(id));
        }
        let mode = head.mode()?;
        let chunk_fingerprints = head.chunk_fingerprints()?;
        let staged = match (mode, stream.staged_series_base64) {
            (IngestMode::ReplaceSeries, Some(text)) => {
                let bytes = STANDARD
                    .decode(&text)
                    .map_err(|source| IdempotencyFileError::StagedBase64 { stream: id.clone(), source })?;
                Some(
                    decode(&bytes)
                        .map_err(|source| IdempotencyFileError::StagedSeries { stream: id.clone(), source })?,
                )
            }
            (IngestMode::ReplaceSeries, None) if head.last_chunk_seq == 0 => Some(Series::new()),
            (IngestMode::ReplaceSeries, None) => {
                return Err(IdempotencyFileError::NoStagedSeries(id));
            }
            _ => None,
        };
        let active = ActiveStream {
            mode,
            granularity: head.granularity,
            series: head.series_name,
            last_chunk_seq: head.last_chunk_seq,
            begin_fingerprint: head.begin_fingerprint,
            chunk_fingerprints,
            staged,
        };
        streams.active.insert(id, active);
    }
    Ok((records, streams, pruned))
}

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    records: Vec<FileRecord>,
    #[serde(default)]
    committed_streams: Vec<FileCommitted>,
    #[serde(default)]
    active_streams: Vec<FileActive>,
}

#[derive(Deserialize)]
struct FileRecord {
    key: String,
    operation: String,
    fingerprint: String,
    response: RawJson,
    /// The exact `response` when that one holds floats for wide integers.
    #[serde(default)]
    response_json: Option<String>,
    created_at_unix: i64,
}

#[derive(Deserialize)]
struct FileHead {
    stream_id: String,
    mode: String,
    #[serde(default)]
    granularity: Option<String>,
    #[serde(default)]
    series_name: Option<String>,
    last_chunk_seq: u64,
    begin_fingerprint: String,
    #[serde(default)]
    chunk_fingerprints: BTreeMap<String, String>,
}

impl FileHead {
    fn mode(&self) -> Result<IngestMode, IdempotencyFileError> {
        IngestMode::from_name(&self.mode).ok_or_else(|| IdempotencyFileError::UnknownMode {
            stream: self.stream_id.clone(),
            mode: self.mode.clone(),
        })
    }

    fn chunk_fingerprints(&self) -> Result<BTreeMap<u64, String>, IdempotencyFileError> {
        self.chunk_fingerprints
            .iter()
            .map(|(seq, fingerprint)| match seq.parse::<u64>() {
                Ok(seq) => Ok((seq, fingerprint.clone())),
                Err(_) => Err(IdempotencyFileError::ChunkKey { stream: self.stream_id.clone(), key: seq.clone() }),
            })
            .collect()
    }
}

#[derive(Deserialize)]
struct FileCommitted {
    #[serde(flatten)]
    head: FileHead,
    committed_at_unix: i64,
}

#[derive(Deserialize)]
struct FileActive {
    #[serde(flatten)]
    head: FileHead,
    /// The staged series as `.tree` bytes in base64.
    #[serde(default, rename = "staged_tree_base64")]
    staged_series_base64: Option<String>,
}

/// Any JSON value, re-rendered compactly in document order.
struct RawJson(String);

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawJson, D::Error> {
        let mut out = Vec::new();
        RawSeed(&mut out).deserialize(deserializer)?;
        // Only `write_*` output and serde's UTF-8 strings went in.
        String::from_utf8(out).map(RawJson).map_err(de::Error::custom)
    }
}

/// Renders the next value into the buffer.
struct RawSeed<'o>(&'o mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for RawSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RawSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        crate::util::json_writer::write_bool(self.0, value);
        Ok(())
    }

    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        write_i64(self.0, value);
        Ok(())
    }

    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        write_u64(self.0, value);
        Ok(())
    }

    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        write_f64(self.0, value);
        Ok(())
    }

    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        write_str(self.0, value);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push(b'[');
        let mut first = true;
        loop {
            let at = out.len();
            if !first {
                out.push(b',');
            }
            if seq.next_element_seed(RawSeed(&mut *out))?.is_none() {
                out.truncate(at);
                break;
            }
            first = false;
        }
        out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        out.push(b'{');
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if !first {
                out.push(b',');
            }
            first = false;
            write_key(out, &key);
            map.next_value_seed(RawSeed(&mut *out))?;
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests;
