use super::*;
use crate::protocol::request::parse_request;

fn entry(line: &str) -> String {
    let request = parse_request(line.as_bytes()).unwrap();
    let mut out = Vec::new();
    write_entry(&mut out, &request, None);
    String::from_utf8(out).unwrap()
}

#[test]
fn entries_are_canonical() {
    assert_eq!(
        entry(r#"{"v":2,"op":"series.increment","tree":"api","key":42,"date":20260505,"token":"x"}"#),
        r#"{"v":2,"op":"counter.increment","series":"api","key":42,"bucket":20260505,"value":1}"#
    );
    assert_eq!(
        entry(r#"{"v":2,"op":"counter.batch_increment","series":"s","items":[[1,"20260501",5]]}"#.replace("\"20260501\"", "20260501").as_str()),
        r#"{"v":2,"op":"series.batch_add","series":"s","granularity":"day","items":[[1,20260501,5]]}"#
    );
    assert_eq!(
        entry(r#"{"v":2,"op":"tree.delete_before","series":"s","date":20260101}"#),
        r#"{"v":2,"op":"series.delete_before","series":"s","before":20260101}"#
    );
    assert_eq!(
        entry(
            r#"{"v":2,"op":"counter.increment","series":"usage","key":1,"bucket":20260501,"value":3,"idempotency_key":"q1"}"#
        ),
        r#"{"v":2,"op":"counter.increment","series":"usage","key":1,"bucket":20260501,"value":3,"idempotency_key":"q1"}"#
    );
}
