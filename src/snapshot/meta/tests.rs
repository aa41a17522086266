use super::*;

fn api_meta() -> SnapshotMeta {
    SnapshotMeta {
        series: "api".to_string(),
        file: "1795245397_api.tree".to_string(),
        timestamp: 1795245397,
        last_lsn: 1,
        bytes: 56,
    }
}

#[test]
fn sidecar_bytes_are_exact() {
    assert_eq!(
        String::from_utf8(api_meta().to_sidecar_json()).unwrap(),
        "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"last_lsn\":1,\"bytes\":56}\n"
    );
}

#[test]
fn reply_form_is_exact() {
    let mut out = Vec::new();
    api_meta().write_reply_json(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"tree\":\"api\",\"file\":\"1795245397_api.tree\",\"timestamp\":1795245397,\"bytes\":56,\"last_lsn\":1,\"metadata_file\":\"1795245397_api.tree.meta.json\"}"
    );
}

#[test]
fn sidecar_round_trips_and_ignores_extra_fields() {
    let meta = api_meta();
    assert_eq!(SnapshotMeta::from_sidecar_json(&meta.to_sidecar_json()).ok(), Some(meta.clone()));
    let with_extra =
        br#"{"bytes":56,"extra":[1,2],"last_lsn":1,"timestamp":1795245397,"file":"1795245397_api.tree","tree":"api"}"#;
    assert_eq!(SnapshotMeta::from_sidecar_json(with_extra).ok(), Some(meta));
}

#[test]
fn sidecar_requires_every_field() {
    let missing = br#"{"tree":"api","file":"1795245397_api.tree","timestamp":1795245397,"bytes":56}"#;
    assert_eq!(
        SnapshotMeta::from_sidecar_json(missing).map_err(|e| e.to_string()),
        Err("missing field `last_lsn` at line 1 column 77".to_string())
    );
}

#[test]
fn idempotency_sidecar_and_reply_are_exact() {
    let meta = IdempotencyMeta {
        file: "karma.idempotency.json".to_string(),
        timestamp: 1795245233,
        last_lsn: 23,
        bytes: 682,
        record_count: 2,
        committed_stream_count: 1,
    };
    let sidecar = meta.to_sidecar_json();
    assert_eq!(
        String::from_utf8(sidecar.clone()).unwrap(),
        "{\"file\":\"karma.idempotency.json\",\"timestamp\":1795245233,\"last_lsn\":23,\"bytes\":682,\"record_count\":2,\"committed_stream_count\":1}\n"
    );
    assert_eq!(IdempotencyMeta::from_sidecar_json(&sidecar).ok(), Some(meta.clone()));
    let mut out = Vec::new();
    meta.write_reply_json(&mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"file\":\"karma.idempotency.json\",\"timestamp\":1795245233,\"bytes\":682,\"last_lsn\":23,\"record_count\":2,\"committed_stream_count\":1}"
    );
}

#[test]
fn a_series_name_with_quotes_survives_the_sidecar() {
    let meta = SnapshotMeta { series: "we\"ird\n/name".to_string(), ..api_meta() };
    assert_eq!(SnapshotMeta::from_sidecar_json(&meta.to_sidecar_json()).ok(), Some(meta));
}
