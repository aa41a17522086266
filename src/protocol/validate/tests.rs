use crate::protocol::request::parse_request;
use crate::protocol::CommandError;

fn check(line: &str) -> Result<(), CommandError> {
    parse_request(line.as_bytes()).unwrap().command.validate()
}

#[test]
fn semantic_rules() {
    assert_eq!(
        check(r#"{"v":2,"op":"counter.increment","series":"","key":1}"#).unwrap_err().message,
        "Field tree_name is required"
    );
    assert_eq!(
        check(r#"{"v":2,"op":"counter.increment","series":"a","key":1,"value":0}"#).unwrap_err().message,
        "Field value must be greater than 0"
    );
    // Defect D9: every op rejects an empty series, compaction too.
    assert_eq!(
        check(r#"{"v":2,"op":"series.compact","series":""}"#).unwrap_err().message,
        "Field tree_name is required"
    );
    assert_eq!(
        check(r#"{"v":2,"op":"tree.keys","series":"a","limit":0}"#).unwrap_err().message,
        "Field limit must be greater than 0"
    );
    assert_eq!(
        check(r#"{"v":2,"op":"tree.top","series":"a","limit":1001}"#).unwrap_err().message,
        "Field limit exceeds max size"
    );
    assert!(check(r#"{"v":2,"op":"tree.top","series":"a"}"#).is_ok());
    assert_eq!(
        check(r#"{"v":2,"op":"ingest.begin","stream_id":"s","mode":"x"}"#).unwrap_err().message,
        "Unsupported ingest mode x"
    );
    assert_eq!(
        check(r#"{"v":2,"op":"reconciliation.report","checked_points":1,"mismatch_count":2}"#).unwrap_err().message,
        "Field mismatch_count must be less than or equal to checked_points"
    );
    assert_eq!(
        check(r#"{"v":2,"op":"recovery.checkpoint","source":"s"}"#).unwrap_err().message,
        "Field offset or event_id is required"
    );
    let keys: Vec<String> = (0..10_001).map(|k| k.to_string()).collect();
    let line = format!(r#"{{"v":2,"op":"counter.batch_sum","series":"a","keys":[{}]}}"#, keys.join(","));
    assert_eq!(check(&line).unwrap_err().message, "Field keys exceeds max size");
}
