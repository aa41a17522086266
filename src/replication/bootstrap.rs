//! Slave bootstrap (docs/operations.md, Replication and failover): copy the master's newest
//! snapshot of every series (and its idempotency snapshot) into the data directory
//! over `snapshot.fetch_chunk`, one TCP connection per request.
//!
//! Files are streamed into temp files, fsynced and renamed into place, and
//! every chunk's metadata must match the first chunk's (else the snapshot
//! changed under us and the bootstrap fails). The sidecars written carry
//! the master's series name and `last_lsn`.

use super::{now_unix, ReplicationError, ReplicationStats};
use crate::client::{Client, Error as ClientError, Options};
use crate::config::Config;
use crate::protocol::ErrorCode;
use crate::snapshot::{self, SnapshotMeta};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where the master is and how to talk to it.
#[derive(Clone, Debug)]
pub struct Source {
    pub host: String,
    pub port: u16,
    /// Pooled connections to the master, carrying the replication token.
    client: Arc<Client>,
}

impl Source {
    pub fn from_config(config: &Config) -> Option<Source> {
        let timeout = (config.read_timeout_secs > 0).then(|| Duration::from_secs(config.read_timeout_secs.max(1)));
        config.replication_source_host.as_ref().map(|host| {
            let options = Options {
                token: config.replication_token.clone(),
                read_timeout: timeout,
                write_timeout: timeout,
                connect_timeout: timeout.unwrap_or(Options::default().connect_timeout),
                ..Options::default()
            };
            let address = format!("{}:{}", bracket_ipv6(host), config.replication_source_port);
            Source {
                host: host.clone(),
                port: config.replication_source_port,
                client: Arc::new(Client::with_options(address, options)),
            }
        })
    }

    /// Sends one request line (the token added) and returns the raw reply
    /// line.
    pub fn request(&self, line: &str) -> Result<String, ReplicationError> {
        let request: serde_json::Value = serde_json::from_str(line)
            .map_err(|source| ReplicationError::InvalidRequest { line: line.to_string(), source })?;
        let (host, port) = (self.host.clone(), self.port);
        self.client.call_raw(request).map_err(|e| match e {
            ClientError::Connect { source, .. } => ReplicationError::Connect { host, port, source },
            ClientError::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
                ReplicationError::Closed { source }
            }
            source => ReplicationError::Request { host, port, source },
        })
    }
}

/// `host` as the host part of `host:port` (an IPv6 literal in brackets).
fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The envelope of a master reply, with the response kept raw.
#[derive(Deserialize)]
pub(super) struct Envelope<'a> {
    pub success: bool,
    #[serde(borrow)]
    pub response: &'a RawValue,
    /// Only in an error envelope.
    #[serde(default)]
    pub error_code: Option<String>,
}

/// Parses a reply line; a failure names the request and the reply, and
/// keeps an error envelope's `error_code`.
pub(super) fn envelope<'a>(reply: &'a str, what: &'static str) -> Result<Envelope<'a>, ReplicationError> {
    let envelope: Envelope<'a> =
        serde_json::from_str(reply).map_err(|source| ReplicationError::InvalidReply { what, source })?;
    if !envelope.success {
        let code = envelope.error_code.as_deref().and_then(ErrorCode::from_name);
        return Err(ReplicationError::Rejected { what, code, reply: reply.to_string() });
    }
    Ok(envelope)
}

#[derive(Deserialize)]
struct SnapshotInfo {
    #[serde(rename = "latest_by_tree")]
    latest_per_series: Vec<ChunkMeta>,
    idempotency_snapshot: Option<ChunkMeta>,
}

#[derive(Deserialize, Clone, PartialEq, Debug)]
struct ChunkMeta {
    #[serde(default, rename = "tree")]
    series: Option<String>,
    file: String,
    last_lsn: u64,
    bytes: u64,
}

#[derive(Deserialize)]
struct Chunk {
    metadata: ChunkMeta,
    next_offset: u64,
    done: bool,
    data_base64: String,
}

const CHUNK_BYTES: usize = 262_144;

/// Copies the master's newest snapshots into `dir`. Counts the attempt,
/// success or failure in `stats` and logs `replication.snapshot_bootstrap`.
pub fn bootstrap(source: &Source, dir: &Path, fsync: bool, stats: &ReplicationStats) -> Result<u64, ReplicationError> {
    stats.bootstrap_attempts.inc();
    stats.last_bootstrap_attempt_unix.set(now_unix());
    match copy_snapshots(source, dir, fsync) {
        Ok(lsn) => {
            stats.bootstrap_successes.inc();
            stats.last_bootstrap_success_unix.set(now_unix());
            *stats.last_bootstrap_error.lock() = None;
            log::info!(target: "replication.snapshot_bootstrap", "last_lsn={lsn} source={}:{}", source.host, source.port);
            Ok(lsn)
        }
        Err(error) => {
            stats.bootstrap_errors.inc();
            stats.last_bootstrap_error_unix.set(now_unix());
            *stats.last_bootstrap_error.lock() = Some(error.to_string());
            Err(error)
        }
    }
}

/// Returns the restore LSN of what was installed (0 when the master had
/// nothing).
fn copy_snapshots(source: &Source, dir: &Path, fsync: bool) -> Result<u64, ReplicationError> {
    std::fs::create_dir_all(dir).map_err(|source| ReplicationError::CreateDir { dir: dir.to_path_buf(), source })?;
    let reply = source.request(r#"{"v":2,"op":"snapshot.info"}"#)?;
    let info: SnapshotInfo = serde_json::from_str(envelope(&reply, "snapshot")?.response.get())
        .map_err(|source| ReplicationError::InvalidResponse { what: "snapshot.info reply", source })?;
    let mut lowest: Option<u64> = None;
    for latest in &info.latest_per_series {
        let file = latest.file.clone();
        if snapshot::check_requested_file(&file).is_err() {
            return Err(ReplicationError::UnsafeName(file));
        }
        let request = |offset: u64| {
            let mut quoted = Vec::new();
            crate::util::json_writer::write_str(&mut quoted, &file);
            let file = String::from_utf8_lossy(&quoted).into_owned();
            format!(r#"{{"v":2,"op":"snapshot.fetch_chunk","file":{file},"offset":{offset},"limit":{CHUNK_BYTES}}}"#)
        };
        let meta = fetch_file(source, dir, &file, request, "Snapshot", fsync)?;
        let series = meta.series.clone().unwrap_or_default();
        let parsed = snapshot::parse_snapshot_file_name(&file)
            .map_err(|reason| ReplicationError::InvalidName { file: file.clone(), reason })?;
        let bytes = std::fs::metadata(dir.join(&file)).map(|m| m.len()).unwrap_or(meta.bytes);
        let sidecar =
            SnapshotMeta { series, file: file.clone(), timestamp: parsed.timestamp, last_lsn: meta.last_lsn, bytes };
        crate::util::fs::write_atomic(dir, &sidecar.sidecar_file_name(), &sidecar.to_sidecar_json(), fsync)
            .map_err(|source| ReplicationError::WriteSidecar { file: file.clone(), source })?;
        lowest = Some(lowest.map_or(meta.last_lsn, |low| low.min(meta.last_lsn)));
    }
    if let Some(idempotency) = &info.idempotency_snapshot {
        let request = |offset: u64| {
            format!(r#"{{"v":2,"op":"idempotency.snapshot_fetch_chunk","offset":{offset},"limit":{CHUNK_BYTES}}}"#)
        };
        let meta = fetch_file(source, dir, snapshot::IDEMPOTENCY_FILE, request, "Idempotency snapshot", fsync)?;
        let bytes = std::fs::metadata(dir.join(snapshot::IDEMPOTENCY_FILE)).map(|m| m.len()).unwrap_or(0);
        let sidecar = snapshot::IdempotencyMeta {
            file: snapshot::IDEMPOTENCY_FILE.to_string(),
            timestamp: now_unix() as i64,
            last_lsn: meta.last_lsn,
            bytes,
            record_count: 0,
            committed_stream_count: 0,
        };
        let name = format!("{}.meta.json", snapshot::IDEMPOTENCY_FILE);
        crate::util::fs::write_atomic(dir, &name, &sidecar.to_sidecar_json(), fsync)
            .map_err(|source| ReplicationError::WriteIdempotencySidecar { name, source })?;
        lowest.get_or_insert(idempotency.last_lsn);
    }
    Ok(lowest.unwrap_or(0))
}

/// Fetches one file chunk by chunk and installs it as `dir/name` (temp
/// file, fsync, rename); every chunk's metadata must equal the first one's,
/// else the file `changed` (what it is, for the message) during the fetch.
fn fetch_file(
    source: &Source,
    dir: &Path,
    name: &str,
    request: impl Fn(u64) -> String,
    changed: &'static str,
    fsync: bool,
) -> Result<ChunkMeta, ReplicationError> {
    let mut first: Option<ChunkMeta> = None;
    let mut data = Vec::new();
    let mut offset = 0;
    loop {
        let reply = source.request(&request(offset))?;
        let envelope = envelope(&reply, "snapshot")?;
        let chunk: Chunk = serde_json::from_str(envelope.response.get())
            .map_err(|source| ReplicationError::InvalidResponse { what: "chunk", source })?;
        match &first {
            None => first = Some(chunk.metadata.clone()),
            Some(meta)
                if meta.file != chunk.metadata.file
                    || meta.last_lsn != chunk.metadata.last_lsn
                    || meta.bytes != chunk.metadata.bytes =>
            {
                return Err(ReplicationError::Changed { what: changed });
            }
            Some(_) => {}
        }
        let bytes = STANDARD.decode(&chunk.data_base64).map_err(ReplicationError::ChunkData)?;
        data.extend_from_slice(&bytes);
        offset = chunk.next_offset;
        if chunk.done {
            break;
        }
    }
    crate::util::fs::write_atomic(dir, name, &data, fsync)
        .map_err(|source| ReplicationError::Install { name: name.to_string(), source })?;
    first.ok_or_else(|| ReplicationError::NoChunk { name: name.to_string() })
}

/// Whether `dir` holds any `.tree` snapshot (bootstrap only runs without).
pub fn has_snapshots(dir: &Path) -> bool {
    snapshot::list_snapshots(dir).map(|files| !files.is_empty()).unwrap_or(false)
}
