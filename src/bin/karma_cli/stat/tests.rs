use super::*;

#[test]
fn figures_line_up() {
    let stats: Object = serde_json::from_str(
        r#"{"connections_active":2,"trees":3,"keys":40,"memory_bytes":3145728,"wal_current_lsn":18446744073709551615,"replication_lag_entries":0}"#,
    )
    .unwrap();
    assert_eq!(human_bytes(512), "512B");
    assert_eq!(human_bytes(1536), "1.5K");
    assert_eq!(
        line(&stats, 12.4),
        "        12            2          3           40       3.0M  18446744073709551615         0"
    );
}
