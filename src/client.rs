//! A blocking NDJSON client: one TCP connection, one request line out, one
//! reply line back. Used by the slave poller, the tests and the benches.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    line: String,
}

impl Client {
    pub fn connect(address: impl ToSocketAddrs, timeout: Option<Duration>) -> std::io::Result<Client> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(timeout)?;
        stream.set_write_timeout(timeout)?;
        let writer = stream.try_clone()?;
        Ok(Client { reader: BufReader::new(stream), writer, line: String::new() })
    }

    /// Sends one request line (a `\n` is added) without waiting.
    pub fn send(&mut self, request: &str) -> std::io::Result<()> {
        let mut bytes = Vec::with_capacity(request.len() + 1);
        bytes.extend_from_slice(request.as_bytes());
        bytes.push(b'\n');
        self.writer.write_all(&bytes)
    }

    /// Sends raw bytes as they are (framing tests, pipelines).
    pub fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Reads one reply line without its terminator; `None` at end of stream.
    pub fn receive(&mut self) -> std::io::Result<Option<String>> {
        self.line.clear();
        if self.reader.read_line(&mut self.line)? == 0 {
            return Ok(None);
        }
        let trimmed = self.line.trim_end_matches(['\n', '\r']);
        Ok(Some(trimmed.to_string()))
    }

    /// One round trip; a closed connection is an error.
    pub fn request(&mut self, request: &str) -> std::io::Result<String> {
        self.send(request)?;
        self.receive()?
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed without a reply"))
    }
}
