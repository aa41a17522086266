use super::*;
use tempfile::TempDir;

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .expect("test dir is readable")
        .map(|e| PathBuf::from(e.expect("dir entry").file_name()))
        .collect();
    names.sort();
    names
}

/// The names in `dir`, sorted, as strings.
fn entry_names(dir: &Path) -> Vec<String> {
    entries(dir).iter().map(|name| name.display().to_string()).collect()
}

#[test]
fn creates_then_replaces_and_leaves_no_temp_file() {
    let dir = TempDir::new().unwrap();
    for fsync in [true, false] {
        write_atomic(dir.path(), "karma.wal.lsn", b"41\n", fsync).expect("first write");
        assert_eq!(fs::read(dir.path().join("karma.wal.lsn")).expect("read"), b"41\n");
        write_atomic(dir.path(), "karma.wal.lsn", b"42\n", fsync).expect("second write");
        assert_eq!(fs::read(dir.path().join("karma.wal.lsn")).expect("read"), b"42\n");
        assert_eq!(entries(dir.path()), [PathBuf::from("karma.wal.lsn")]);
    }
    write_atomic(dir.path(), "empty", b"", true).expect("empty write");
    assert_eq!(fs::read(dir.path().join("empty")).expect("read"), b"");
}

#[test]
fn writes_and_replaces_leaving_no_temp_file() {
    let dir = TempDir::new().unwrap();
    write_atomic(dir.path(), "a.json", b"one\n", true).unwrap();
    assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"one\n");
    write_atomic(dir.path(), "a.json", b"two!\n", false).unwrap();
    assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"two!\n");
    assert_eq!(entry_names(dir.path()), vec!["a.json".to_string()]);
}

#[test]
fn streaming_writer_counts_bytes() {
    let dir = TempDir::new().unwrap();
    let n = write_atomic_with(dir.path(), "b.bin", true, |out| {
        out.write_all(&[7u8; 100_000])?;
        out.write_all(b"end")
    })
    .unwrap();
    assert_eq!(n, 100_003);
    assert_eq!(fs::metadata(dir.path().join("b.bin")).unwrap().len(), 100_003);
}

#[test]
fn every_fsync_level_writes_the_same_bytes() {
    let dir = TempDir::new().unwrap();
    for (fsync, content) in [(Fsync::Off, "off"), (Fsync::File, "file"), (Fsync::FileAndDir, "file and dir")] {
        let n = write_atomic_with(dir.path(), "f.json", fsync, |out| out.write_all(content.as_bytes())).unwrap();
        assert_eq!(n, content.len() as u64);
        assert_eq!(fs::read(dir.path().join("f.json")).unwrap(), content.as_bytes());
        assert_eq!(entry_names(dir.path()), vec!["f.json".to_string()]);
    }
    assert_eq!(Fsync::from(true), Fsync::FileAndDir);
    assert_eq!(Fsync::from(false), Fsync::Off);
}

#[test]
fn a_failed_fill_removes_the_temp_file_and_keeps_the_old_content() {
    let dir = TempDir::new().unwrap();
    write_atomic(dir.path(), "c.json", b"old\n", true).unwrap();
    let err = write_atomic_with(dir.path(), "c.json", true, |out| {
        out.write_all(b"partial")?;
        Err(io::Error::other("encoder failed"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "encoder failed");
    assert_eq!(fs::read(dir.path().join("c.json")).unwrap(), b"old\n");
    assert_eq!(entry_names(dir.path()), vec!["c.json".to_string()]);
}

#[test]
fn missing_directory_fails_and_creates_nothing() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    let error = write_atomic(&missing, "a.tree", b"x", true).expect_err("must fail");
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().starts_with("cannot create "), "{error}");
    assert!(error.to_string().contains("nope/.a.tree."), "{error}");
    assert!(!missing.exists());
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn failed_rename_removes_the_temp_file() {
    // A directory in the target's place makes the rename fail after the
    // temp file was written.
    let dir = TempDir::new().unwrap();
    fs::create_dir(dir.path().join("target")).expect("create blocking dir");
    fs::write(dir.path().join("target").join("inside"), b"keep").expect("fill it");
    let error = write_atomic(dir.path(), "target", b"new", true).expect_err("must fail");
    assert!(error.to_string().starts_with("cannot rename "), "{error}");
    assert_eq!(entries(dir.path()), [PathBuf::from("target")]);
    assert_eq!(fs::read(dir.path().join("target").join("inside")).expect("read"), b"keep");
}

#[test]
fn a_failed_rename_removes_the_temp_file() {
    let dir = TempDir::new().unwrap();
    // A non-empty directory in the target's place makes the rename fail.
    fs::create_dir_all(dir.path().join("d.json").join("inner")).unwrap();
    assert!(write_atomic(dir.path(), "d.json", b"x", true).is_err());
    assert_eq!(entry_names(dir.path()), vec!["d.json".to_string()]);
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
fn temp_names_follow_the_documented_pattern() {
    let dir = TempDir::new().unwrap();
    let mut seen = None;
    let _ = write_atomic_with(dir.path(), "e.tree", true, |_| {
        seen = Some(entry_names(dir.path()));
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

#[test]
fn fsync_dir_reports_the_path() {
    let dir = TempDir::new().unwrap();
    fsync_dir(dir.path()).expect("fsync an existing dir");
    let error = fsync_dir(&dir.path().join("gone")).expect_err("must fail");
    assert!(error.to_string().contains("cannot fsync directory "), "{error}");
    assert!(error.to_string().contains("gone"), "{error}");
}
