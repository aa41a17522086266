//! Why `karma.idempotency.json` cannot be loaded. Every message starts
//! with `Cannot load karma.idempotency.json:` ([`crate::snapshot::IDEMPOTENCY_FILE`]).

/// What a staged series' decoder (the `.tree` reader) reports.
pub type DecodeError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum IdempotencyFileError {
    /// The file is not the JSON document it should be.
    #[error("Cannot load karma.idempotency.json: {0}")]
    Json(#[source] serde_json::Error),
    /// A record's exact `response_json` is not JSON.
    #[error("Cannot load karma.idempotency.json: response_json: {0}")]
    ResponseJson(#[source] serde_json::Error),
    /// A committed stream listed twice.
    #[error("Cannot load karma.idempotency.json: committed stream \"{0}\" appears twice")]
    CommittedTwice(String),
    /// An active stream listed twice (or also as committed).
    #[error("Cannot load karma.idempotency.json: active stream \"{0}\" appears twice")]
    ActiveTwice(String),
    /// A stream whose `mode` is none of the ingest modes.
    #[error("Cannot load karma.idempotency.json: stream \"{stream}\" has unknown mode \"{mode}\"")]
    UnknownMode { stream: String, mode: String },
    /// A `chunk_fingerprints` key that is not a chunk number.
    #[error(
        "Cannot load karma.idempotency.json: stream \"{stream}\" has chunk fingerprint key \"{key}\", not a chunk number"
    )]
    ChunkKey { stream: String, key: String },
    /// A `replace_series` stream with chunks but no staged series.
    #[error("Cannot load karma.idempotency.json: replace_series stream \"{0}\" has no staged_tree_base64")]
    NoStagedSeries(String),
    /// A staged series whose base64 does not decode.
    #[error("Cannot load karma.idempotency.json: staged series of stream \"{stream}\": {source}")]
    StagedBase64 { stream: String, source: base64::DecodeError },
    /// A staged series whose `.tree` bytes do not decode.
    #[error("Cannot load karma.idempotency.json: staged series of stream \"{stream}\": {source}")]
    StagedSeries { stream: String, source: DecodeError },
}
