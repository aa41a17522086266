//! Durable whole-file writes for snapshots and small state files.
//!
//! [`write_atomic`](crate::util::fs::write_atomic) and
//! [`write_atomic_with`](crate::util::fs::write_atomic_with) never let a
//! reader (or a crash) see a half-written target: the bytes go to a hidden
//! temp file `.<name>.<pid>.<16 hex>.tmp` in the same directory (same file
//! system, so the rename is atomic), created with `create_new` so it is
//! never shared or reached through a planted link. The temp file is fsynced
//! and then renamed over the target, and finally the directory is fsynced
//! so the rename itself survives a power loss (Karma 1.0 skipped this;
//! nothing a peer sees changes). [`Fsync`](crate::util::fs::Fsync) says
//! which of the two fsyncs happen.
//!
//! After a crash the target holds either the old or the new contents in
//! full; at worst a `.tmp` file is left behind, which startup code may
//! delete. On any failure before the rename the temp file is removed and
//! the target is untouched.
//!
//! Errors from the file system name the file and the step that failed
//! (`cannot create <temp>: ...`); an error returned by a `fill` callback
//! itself is passed through unchanged.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Buffer between a streaming `fill` and the temp file.
const STREAM_BUFFER: usize = 1 << 16;

/// How durable an atomic replacement is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// Nothing is fsynced: still atomic, but a power loss may lose the new
    /// contents (or, after a rename, leave an empty target).
    Off,
    /// The file's data is fsynced before the rename, the directory is not:
    /// for a caller that renames several files and then calls [`fsync_dir`]
    /// once.
    File,
    /// The file's data before the rename and the directory after it.
    FileAndDir,
}

impl From<bool> for Fsync {
    /// `true` is [`Fsync::FileAndDir`], `false` is [`Fsync::Off`].
    fn from(fsync: bool) -> Fsync {
        if fsync {
            Fsync::FileAndDir
        } else {
            Fsync::Off
        }
    }
}

/// Replaces `dir/file_name` with `contents`, atomically; with `fsync`, also
/// durably (file data before the rename, the directory entry after it).
///
/// On any failure before the rename the temp file is removed and the target
/// is untouched. If only the final directory fsync fails, the new contents
/// are in place but may not survive a power loss; the error says so.
pub fn write_atomic(dir: &Path, file_name: &str, contents: &[u8], fsync: bool) -> io::Result<()> {
    replace(dir, file_name, fsync.into(), |file, temp| {
        file.write_all(contents).map_err(|e| context(e, format!("cannot write {}", temp.display())))
    })
}

/// Replaces `dir/file_name` with what `fill` writes, atomically and as
/// durably as `fsync` says (`true`/`false` as for [`write_atomic`]).
/// Streams through a buffer, so the whole content never has to sit in
/// memory. Returns the number of bytes written.
///
/// If `fill` fails the temp file is removed, the target is untouched and
/// `fill`'s error is returned as it is.
pub fn write_atomic_with(
    dir: &Path,
    file_name: &str,
    fsync: impl Into<Fsync>,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<u64> {
    replace(dir, file_name, fsync.into(), |file, temp| {
        let mut out = TempWriter { inner: BufWriter::with_capacity(STREAM_BUFFER, file), temp, written: 0 };
        fill(&mut out)?;
        out.flush()?;
        Ok(out.written)
    })
}

/// Flushes a directory's entries (created, renamed, removed files) to disk;
/// the error names the directory.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    sync_dir(dir).map_err(|e| context(e, format!("cannot fsync directory {}", dir.display())))
}

/// [`fsync_dir`] with the OS error as it is, for a caller that names the
/// step in its own words (the WAL's `Cannot fsync WAL directory <dir>: ...`).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The one implementation behind both writers: creates the temp file, lets
/// `write` fill it, fsyncs, renames, fsyncs the directory.
fn replace<T>(
    dir: &Path,
    file_name: &str,
    fsync: Fsync,
    write: impl FnOnce(&mut File, &Path) -> io::Result<T>,
) -> io::Result<T> {
    let target = dir.join(file_name);
    let (temp, file) = create_temp(dir, file_name)?;
    let value = match write_and_rename(file, &temp, &target, fsync, write) {
        Ok(value) => value,
        Err(e) => {
            // Gone already if the rename half-happened; nothing to report.
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    if fsync == Fsync::FileAndDir {
        fsync_dir(dir).map_err(|e| {
            context(e, format!("{} was replaced but its directory could not be synced", target.display()))
        })?;
    }
    Ok(value)
}

fn write_and_rename<T>(
    mut file: File,
    temp: &Path,
    target: &Path,
    fsync: Fsync,
    write: impl FnOnce(&mut File, &Path) -> io::Result<T>,
) -> io::Result<T> {
    let value = write(&mut file, temp)?;
    if fsync != Fsync::Off {
        file.sync_all().map_err(|e| context(e, format!("cannot fsync {}", temp.display())))?;
    }
    drop(file);
    fs::rename(temp, target)
        .map_err(|e| context(e, format!("cannot rename {} to {}", temp.display(), target.display())))?;
    Ok(value)
}

/// Creates the temp file with `create_new`: never write through a stale
/// temp file or a planted link, and never share one with another writer. A
/// name clash (practically impossible) just draws another name.
fn create_temp(dir: &Path, file_name: &str) -> io::Result<(PathBuf, File)> {
    let mut attempts = 0;
    loop {
        let path = dir.join(temp_name(file_name));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
            Err(e) => return Err(context(e, format!("cannot create {}", path.display()))),
        }
    }
}

/// `.<file_name>.<pid>.<16 hex digits>.tmp`: hidden, unique per process and
/// call, and recognisable as debris by its suffix.
fn temp_name(file_name: &str) -> String {
    format!(".{file_name}.{}.{:016x}.tmp", std::process::id(), random_u64())
}

/// 64 unpredictable-enough bits without a dependency (not for security):
/// std seeds each `RandomState` from the OS, and the counter and clock make
/// repeated calls differ even if the seeds were reused.
fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.finish()
}

/// `error` with `message` in front, keeping its kind.
fn context(error: io::Error, message: String) -> io::Error {
    io::Error::new(error.kind(), format!("{message}: {error}"))
}

/// What a streaming `fill` writes to: buffered, counting, and naming the
/// temp file in its errors.
struct TempWriter<'a> {
    inner: BufWriter<&'a mut File>,
    temp: &'a Path,
    written: u64,
}

impl TempWriter<'_> {
    fn failed(&self, error: io::Error) -> io::Error {
        context(error, format!("cannot write {}", self.temp.display()))
    }
}

impl Write for TempWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf).map_err(|e| self.failed(e))?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.failed(e))
    }
}

#[cfg(test)]
mod tests;
