//! Crash-safe file replacement: temp file, fsync, rename, fsync directory.
//!
//! A reader (or a restart after a crash) sees either the old file or the
//! complete new one, never a torn one: the bytes go to a hidden temporary
//! file `.<name>.<pid>.<16 hex>.tmp` in the same directory (same file
//! system, so the rename is atomic), which is fsynced before it is renamed
//! over the target. Fsyncing the directory afterwards makes the rename itself
//! survive a power loss (Karma 1.0 skipped this; nothing a peer sees
//! changes). On any failure the temporary file is removed.
//
// Folded into util::fs when both land.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Atomically replaces `dir/file_name` with `bytes`.
pub(crate) fn write_atomic(dir: &Path, file_name: &str, bytes: &[u8], fsync_dir: bool) -> io::Result<()> {
    write_atomic_with(dir, file_name, fsync_dir, |out| out.write_all(bytes)).map(|_| ())
}

/// Atomically replaces `dir/file_name` with what `fill` writes, streaming
/// through a buffer so the whole content never has to sit in memory.
/// Returns the number of bytes written.
pub(crate) fn write_atomic_with<F>(dir: &Path, file_name: &str, fsync_dir: bool, fill: F) -> io::Result<u64>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let target = dir.join(file_name);
    let (temp_path, file) = create_temp(dir, file_name)?;
    match fill_and_sync(file, fill) {
        Ok(len) => {
            if let Err(err) = fs::rename(&temp_path, &target) {
                let _ = fs::remove_file(&temp_path);
                return Err(err);
            }
            if fsync_dir {
                sync_dir(dir)?;
            }
            Ok(len)
        }
        Err(err) => {
            let _ = fs::remove_file(&temp_path);
            Err(err)
        }
    }
}

/// Fsyncs a directory, so that renames and removals in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn fill_and_sync<F>(file: File, fill: F) -> io::Result<u64>
where
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let mut counting = CountingWriter { inner: BufWriter::with_capacity(1 << 16, file), written: 0 };
    fill(&mut counting)?;
    let file = counting.inner.into_inner().map_err(|err| err.into_error())?;
    file.sync_all()?;
    Ok(counting.written)
}

/// Creates the temporary file with `create_new`, so two writers can never
/// share one; a clash (practically impossible) just draws another name.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    let mut attempts = 0;
    loop {
        let path = dir.join(format!(".{file_name}.{}.{:016x}.tmp", std::process::id(), random_u64()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => {
                attempts += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// 64 unpredictable-enough bits for temp names (not for security): std's
/// randomly keyed hasher over the clock and a process-wide counter.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::test_dir::TestDir;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_replaces_leaving_no_temp_file() {
        let dir = TestDir::new("durable_replace");
        write_atomic(dir.path(), "a.json", b"one\n", true).unwrap();
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"one\n");
        write_atomic(dir.path(), "a.json", b"two!\n", false).unwrap();
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"two!\n");
        assert_eq!(entries(dir.path()), vec!["a.json".to_string()]);
    }

    #[test]
    fn streaming_writer_counts_bytes() {
        let dir = TestDir::new("durable_stream");
        let n = write_atomic_with(dir.path(), "b.bin", true, |out| {
            out.write_all(&[7u8; 100_000])?;
            out.write_all(b"end")
        })
        .unwrap();
        assert_eq!(n, 100_003);
        assert_eq!(fs::metadata(dir.path().join("b.bin")).unwrap().len(), 100_003);
    }

    #[test]
    fn a_failed_fill_removes_the_temp_file_and_keeps_the_old_content() {
        let dir = TestDir::new("durable_fail");
        write_atomic(dir.path(), "c.json", b"old\n", true).unwrap();
        let err = write_atomic_with(dir.path(), "c.json", true, |out| {
            out.write_all(b"partial")?;
            Err(io::Error::other("encoder failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "encoder failed");
        assert_eq!(fs::read(dir.path().join("c.json")).unwrap(), b"old\n");
        assert_eq!(entries(dir.path()), vec!["c.json".to_string()]);
    }

    #[test]
    fn a_failed_rename_removes_the_temp_file() {
        let dir = TestDir::new("durable_rename_fail");
        // A non-empty directory in the target's place makes the rename fail.
        fs::create_dir_all(dir.path().join("d.json").join("inner")).unwrap();
        assert!(write_atomic(dir.path(), "d.json", b"x", true).is_err());
        assert_eq!(entries(dir.path()), vec!["d.json".to_string()]);
    }

    #[test]
    fn temp_names_follow_the_documented_pattern() {
        let dir = TestDir::new("durable_pattern");
        let mut seen = None;
        let _ = write_atomic_with(dir.path(), "e.tree", true, |_| {
            seen = Some(entries(dir.path()));
            Err(io::Error::other("stop"))
        });
        let names = seen.unwrap();
        assert_eq!(names.len(), 1);
        let name = &names[0];
        let prefix = format!(".e.tree.{}.", std::process::id());
        assert!(name.starts_with(&prefix), "{name}");
        let hex = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")).unwrap();
        assert_eq!(hex.len(), 16);
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
}
