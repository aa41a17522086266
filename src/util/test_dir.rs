//! A unique scratch directory per test, removed on drop.
//!
//! Tests run in parallel threads of one process and several test binaries
//! may run at once, so each directory is named by a label, the pid and a
//! process-wide counter under the system temp directory. A leftover from
//! an earlier run with the same pid is removed first.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh, empty directory that is removed (with its contents) on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// Creates `<temp>/karma-<label>-<pid>-<counter>`.
    pub(crate) fn new(label: &str) -> TempDir {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("karma-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        TempDir(path)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::TempDir;

    #[test]
    fn each_dir_is_fresh_distinct_and_removed_on_drop() {
        let a = TempDir::new("test_dir");
        let b = TempDir::new("test_dir");
        assert_ne!(a.path(), b.path());
        assert!(a.path().is_dir());
        assert_eq!(std::fs::read_dir(a.path()).expect("read").count(), 0);
        std::fs::write(a.path().join("x"), b"x").expect("write");
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists());
        assert!(b.path().is_dir());
    }
}
