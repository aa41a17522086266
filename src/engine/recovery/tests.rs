use super::*;

fn checkpoint(source: &str, offset: Option<&str>, event_id: Option<&str>, at: i64) -> Checkpoint {
    Checkpoint {
        source: source.into(),
        offset: offset.map(Into::into),
        event_id: event_id.map(Into::into),
        updated_at_unix: at,
    }
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8")
}

#[test]
fn set_replies_and_replaces_whole() {
    let mut checkpoints = RecoveryCheckpoints::new();
    let reply = checkpoints.set(checkpoint("usage-export", Some("export-2026-05-05"), Some("batch-42"), 1795245204));
    assert_eq!(
        text(&reply),
        r#"{"source":"usage-export","offset":"export-2026-05-05","event_id":"batch-42","updated_at_unix":1795245204}"#
    );
    let reply = checkpoints.set(checkpoint("usage-export", None, Some("batch-43"), 1795245210));
    assert_eq!(
        text(&reply),
        r#"{"source":"usage-export","offset":null,"event_id":"batch-43","updated_at_unix":1795245210}"#
    );
    assert_eq!(checkpoints.get("usage-export"), Some(&checkpoint("usage-export", None, Some("batch-43"), 1795245210)));
    assert_eq!(checkpoints.count(), 1);
    assert_eq!(checkpoints.last_updated_unix(), 1795245210);
    assert_eq!(RecoveryCheckpoints::new().last_updated_unix(), 0);
}

#[test]
fn file_bytes_and_status_are_sorted_by_source_bytes() {
    let mut checkpoints = RecoveryCheckpoints::new();
    checkpoints.set(checkpoint("usage", Some("42"), None, 1795245230));
    checkpoints.set(checkpoint("abc", None, Some("e1"), 1795245230));
    checkpoints.set(checkpoint("Zed", Some("1"), Some("2"), 1795245100));
    assert_eq!(
        text(&checkpoints.file_bytes()),
        concat!(
            r#"{"checkpoints":[{"source":"Zed","offset":"1","event_id":"2","updated_at_unix":1795245100},"#,
            r#"{"source":"abc","event_id":"e1","updated_at_unix":1795245230},"#,
            r#"{"source":"usage","offset":"42","updated_at_unix":1795245230}]}"#,
            "\n"
        )
    );
    let mut out = Vec::new();
    checkpoints.status_json(None, &mut out);
    assert_eq!(
        text(&out),
        concat!(
            r#"{"checkpoint_count":3,"checkpoints":[{"source":"Zed","offset":"1","event_id":"2","updated_at_unix":1795245100},"#,
            r#"{"source":"abc","offset":null,"event_id":"e1","updated_at_unix":1795245230},"#,
            r#"{"source":"usage","offset":"42","event_id":null,"updated_at_unix":1795245230}]}"#
        )
    );
    out.clear();
    checkpoints.status_json(Some("abc"), &mut out);
    assert_eq!(
        text(&out),
        r#"{"checkpoint_count":1,"checkpoints":[{"source":"abc","offset":null,"event_id":"e1","updated_at_unix":1795245230}]}"#
    );
    out.clear();
    checkpoints.status_json(Some("missing"), &mut out);
    assert_eq!(text(&out), r#"{"checkpoint_count":0,"checkpoints":[]}"#);
    out.clear();
    RecoveryCheckpoints::new().status_json(None, &mut out);
    assert_eq!(text(&out), r#"{"checkpoint_count":0,"checkpoints":[]}"#);
    assert_eq!(text(&RecoveryCheckpoints::new().file_bytes()), "{\"checkpoints\":[]}\n");
}

#[test]
fn load_reads_what_file_bytes_wrote() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(RecoveryCheckpoints::load(dir.path()).unwrap(), RecoveryCheckpoints::new());
    let mut checkpoints = RecoveryCheckpoints::new();
    checkpoints.set(checkpoint("usage", Some("42"), None, 1795245230));
    checkpoints.set(checkpoint("abc", None, Some("e1"), 1795245230));
    crate::util::fs::write_atomic(dir.path(), RECOVERY_FILE, &checkpoints.file_bytes(), false).unwrap();
    assert_eq!(RecoveryCheckpoints::load(dir.path()).unwrap(), checkpoints);
    // The Karma 1.0 example, with unknown fields tolerated.
    let karma = r#"{"checkpoints":[{"source":"abc","event_id":"e1","updated_at_unix":1795245230,"x":1},{"source":"usage","offset":"42","updated_at_unix":1795245230}],"v":1}"#;
    std::fs::write(dir.path().join(RECOVERY_FILE), karma).unwrap();
    let loaded = RecoveryCheckpoints::load(dir.path()).unwrap();
    assert_eq!(loaded.get("abc"), Some(&checkpoint("abc", None, Some("e1"), 1795245230)));
    assert_eq!(loaded.get("usage"), Some(&checkpoint("usage", Some("42"), None, 1795245230)));
}

#[test]
fn a_bad_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(RECOVERY_FILE), "{\"checkpoints\":[{\"source\":1}]}").unwrap();
    let error = RecoveryCheckpoints::load(dir.path()).unwrap_err().to_string();
    let path = std::path::absolute(dir.path().join(RECOVERY_FILE)).unwrap();
    assert!(error.starts_with(&format!("Cannot parse {}: invalid type", path.display())), "{error}");
    std::fs::remove_file(dir.path().join(RECOVERY_FILE)).unwrap();
    std::fs::create_dir(dir.path().join(RECOVERY_FILE)).unwrap();
    let error = RecoveryCheckpoints::load(dir.path()).unwrap_err().to_string();
    assert!(error.starts_with(&format!("Cannot read {}: ", path.display())), "{error}");
}
