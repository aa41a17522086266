//! Durable whole-file writes for snapshots and small state files.
//!
//! [`write_atomic`] never lets a reader (or a crash) see a half-written
//! target: the bytes go to a temp file in the same directory, which is
//! fsynced and then renamed over the target (rename is atomic within one
//! file system), and finally the directory is fsynced so the rename itself
//! survives a power loss. After a crash the target holds either the old or
//! the new contents in full; at worst a `.<name>.<pid>.<random>.tmp` file is
//! left behind, which startup code may delete.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Replaces `dir/file_name` with `contents`, atomically; with `fsync`, also
/// durably (file data before the rename, the directory entry after it).
///
/// On any failure before the rename the temp file is removed and the target
/// is untouched. If only the final directory fsync fails, the new contents
/// are in place but may not survive a power loss; the error says so.
pub fn write_atomic(dir: &Path, file_name: &str, contents: &[u8], fsync: bool) -> io::Result<()> {
    let target = dir.join(file_name);
    let temp = dir.join(temp_name(file_name));
    if let Err(e) = write_and_rename(&temp, &target, contents, fsync) {
        // The temp file may not exist (creation failed); nothing to report.
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    if fsync {
        fsync_dir(dir).map_err(|e| {
            context(e, format!("{} was replaced but its directory could not be synced", target.display()))
        })?;
    }
    Ok(())
}

/// Flushes a directory's entries (created, renamed, removed files) to disk.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| context(e, format!("cannot fsync directory {}", dir.display())))
}

fn write_and_rename(temp: &Path, target: &Path, contents: &[u8], fsync: bool) -> io::Result<()> {
    // `create_new`: never write through a stale temp file or a planted link.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| context(e, format!("cannot create {}", temp.display())))?;
    file.write_all(contents).map_err(|e| context(e, format!("cannot write {}", temp.display())))?;
    if fsync {
        file.sync_all().map_err(|e| context(e, format!("cannot fsync {}", temp.display())))?;
    }
    drop(file);
    fs::rename(temp, target)
        .map_err(|e| context(e, format!("cannot rename {} to {}", temp.display(), target.display())))
}

/// `.<file_name>.<pid>.<16 hex digits>.tmp`: hidden, unique per process and
/// call, and recognisable as debris by its suffix.
fn temp_name(file_name: &str) -> String {
    format!(".{file_name}.{}.{:016x}.tmp", std::process::id(), random_u64())
}

/// 64 unpredictable-enough bits without a dependency: std seeds each
/// `RandomState` from the OS, and the counter and clock make repeated
/// calls differ even if the seeds were reused.
fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    hasher.write_u128(nanos);
    hasher.finish()
}

/// `error` with `message` in front, keeping its kind.
fn context(error: io::Error, message: String) -> io::Error {
    io::Error::new(error.kind(), format!("{message}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The names in `dir`, sorted.
    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut names: Vec<PathBuf> = fs::read_dir(dir)
            .expect("test dir is readable")
            .map(|e| PathBuf::from(e.expect("dir entry").file_name()))
            .collect();
        names.sort();
        names
    }

    /// A fresh directory per test, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir().join(format!("karma-util-fs-{}-{n}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create test dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn creates_then_replaces_and_leaves_no_temp_file() {
        let dir = TempDir::new("replace");
        for fsync in [true, false] {
            write_atomic(&dir.0, "karma.wal.lsn", b"41\n", fsync).expect("first write");
            assert_eq!(fs::read(dir.0.join("karma.wal.lsn")).expect("read"), b"41\n");
            write_atomic(&dir.0, "karma.wal.lsn", b"42\n", fsync).expect("second write");
            assert_eq!(fs::read(dir.0.join("karma.wal.lsn")).expect("read"), b"42\n");
            assert_eq!(entries(&dir.0), [PathBuf::from("karma.wal.lsn")]);
        }
        write_atomic(&dir.0, "empty", b"", true).expect("empty write");
        assert_eq!(fs::read(dir.0.join("empty")).expect("read"), b"");
    }

    #[test]
    fn missing_directory_fails_and_creates_nothing() {
        let dir = TempDir::new("missing");
        let missing = dir.0.join("nope");
        let error = write_atomic(&missing, "a.tree", b"x", true).expect_err("must fail");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().starts_with("cannot create "), "{error}");
        assert!(error.to_string().contains("nope/.a.tree."), "{error}");
        assert!(!missing.exists());
        assert!(entries(&dir.0).is_empty());
    }

    #[test]
    fn failed_rename_removes_the_temp_file() {
        // A directory in the target's place makes the rename fail after the
        // temp file was written.
        let dir = TempDir::new("rename");
        fs::create_dir(dir.0.join("target")).expect("create blocking dir");
        fs::write(dir.0.join("target").join("inside"), b"keep").expect("fill it");
        let error = write_atomic(&dir.0, "target", b"new", true).expect_err("must fail");
        assert!(error.to_string().starts_with("cannot rename "), "{error}");
        assert_eq!(entries(&dir.0), [PathBuf::from("target")]);
        assert_eq!(fs::read(dir.0.join("target").join("inside")).expect("read"), b"keep");
    }

    #[test]
    fn temp_names_have_the_documented_shape() {
        let name = temp_name("1795245397_api.tree");
        let prefix = format!(".1795245397_api.tree.{}.", std::process::id());
        let random = name.strip_prefix(&prefix).and_then(|rest| rest.strip_suffix(".tmp")).expect("shape");
        assert_eq!(random.len(), 16);
        assert!(random.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_ne!(temp_name("x"), temp_name("x"));
    }

    #[test]
    fn fsync_dir_reports_the_path() {
        let dir = TempDir::new("fsync");
        fsync_dir(&dir.0).expect("fsync an existing dir");
        let error = fsync_dir(&dir.0.join("gone")).expect_err("must fail");
        assert!(error.to_string().contains("cannot fsync directory "), "{error}");
        assert!(error.to_string().contains("gone"), "{error}");
    }
}
