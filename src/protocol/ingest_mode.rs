//! `ingest.begin`'s `mode`: how a stream's chunks change data. One type for
//! the server, which parses it, and the client library, which sends it.

/// How an ingest stream applies its chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IngestMode {
    /// Each chunk is added to the live series (`series.batch_add`).
    Add,
    /// Each chunk sets the live series (`series.batch_set`).
    Set,
    /// Chunks set a staged series that commit swaps in whole.
    ReplaceSeries,
}

impl IngestMode {
    /// The mode called `name` (`add`, `set`, `replace_series`).
    pub fn from_name(name: &str) -> Option<IngestMode> {
        match name {
            "add" => Some(IngestMode::Add),
            "set" => Some(IngestMode::Set),
            "replace_series" => Some(IngestMode::ReplaceSeries),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IngestMode::Add => "add",
            IngestMode::Set => "set",
            IngestMode::ReplaceSeries => "replace_series",
        }
    }
}
