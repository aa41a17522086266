//! The streaming-ingest workload of the engine and tcp benches: whole
//! streams of `ingest.begin`, [`CHUNKS_PER_STREAM`] `ingest.chunk` lines
//! of [`CHUNK_ITEMS`] items each, and `ingest.commit`, for each mode.
//!
//! The items JSON of every chunk is built once; a request line is its
//! short head (stream id, sequence number) followed by that prebuilt body,
//! so the per-line client cost is one copy of the body. Each stream gets a
//! fresh id (a committed id would only answer `already_committed`), and
//! every chunk reply must say `"skipped":false`, so no row is flattered by
//! deduplication.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Items per `ingest.chunk`.
pub const CHUNK_ITEMS: u64 = 10_000;
/// Chunks per stream (then the commit).
pub const CHUNKS_PER_STREAM: u64 = 10;
/// The three modes, in table order.
pub const MODES: [&str; 3] = ["add", "set", "replace_series"];

/// The prebuilt chunk bodies.
pub struct StreamLines {
    /// `[k,b,v],...` of each chunk of a stream.
    bodies: Vec<String>,
}

/// What [`StreamLines::run`] measured.
pub struct IngestRun {
    pub streams: u64,
    pub chunks: u64,
    pub items: u64,
    pub elapsed: Duration,
}

impl IngestRun {
    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }

    pub fn chunks_per_sec(&self) -> f64 {
        self.chunks as f64 / self.elapsed.as_secs_f64()
    }

    pub fn ns_per_item(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.items as f64
    }
}

impl StreamLines {
    /// Chunk `c` holds keys `c * CHUNK_ITEMS ..` (distinct over a stream)
    /// on bucket `bucket`, values 1..=100.
    pub fn new(bucket: u32) -> StreamLines {
        let bodies = (0..CHUNKS_PER_STREAM)
            .map(|c| {
                let mut body = String::with_capacity(CHUNK_ITEMS as usize * 24);
                for j in 0..CHUNK_ITEMS {
                    let comma = if j == 0 { "" } else { "," };
                    let _ = write!(body, "{comma}[{},{bucket},{}]", c * CHUNK_ITEMS + j, j % 100 + 1);
                }
                body
            })
            .collect();
        StreamLines { bodies }
    }

    /// Runs whole streams of `mode` into `series` until `duration` has
    /// passed (the last stream is finished, and counted, whole). `send`
    /// answers one line with its reply, or `Err` for a failed request.
    /// Stream ids are `<tag>-<mode>-<n>`; `tag` must differ between runs
    /// against one server.
    pub fn run(
        &self,
        tag: &str,
        mode: &str,
        series: &str,
        duration: Duration,
        mut send: impl FnMut(&str) -> Result<String, String>,
    ) -> Result<IngestRun, String> {
        let mut line = String::with_capacity(self.bodies[0].len() + 256);
        let started = Instant::now();
        let mut streams = 0u64;
        while streams == 0 || started.elapsed() < duration {
            let id = format!("{tag}-{mode}-{streams}");
            line.clear();
            let _ = write!(line, "{{\"v\":2,\"op\":\"ingest.begin\",\"stream_id\":\"{id}\",\"mode\":\"{mode}\"}}");
            send(&line)?;
            for (c, body) in self.bodies.iter().enumerate() {
                line.clear();
                let _ = write!(
                    line,
                    "{{\"v\":2,\"op\":\"ingest.chunk\",\"series\":\"{series}\",\"stream_id\":\"{id}\",\"chunk_seq\":{},\"items\":[",
                    c + 1
                );
                line.push_str(body);
                line.push_str("]}");
                let reply = send(&line)?;
                if !reply.contains("\"skipped\":false") {
                    return Err(format!("chunk {} of {id} was not applied: {reply}", c + 1));
                }
            }
            line.clear();
            let _ = write!(line, "{{\"v\":2,\"op\":\"ingest.commit\",\"stream_id\":\"{id}\"}}");
            let reply = send(&line)?;
            if !reply.contains("\"status\":\"committed\"") {
                return Err(format!("commit of {id} failed: {reply}"));
            }
            streams += 1;
        }
        let chunks = streams * CHUNKS_PER_STREAM;
        Ok(IngestRun { streams, chunks, items: chunks * CHUNK_ITEMS, elapsed: started.elapsed() })
    }
}
