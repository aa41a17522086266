//! Counter, series and tree ops over real TCP: exact reply lines.
mod common;
use common::{err, ok, Server};

#[test]
fn increment_decrement_and_sums() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"api_requests","key":42,"bucket":20260505,"value":5}"#),
        ok("5")
    );
    assert_eq!(q(r#"{"v":2,"op":"series.increment","tree":"api_requests","key":42,"date":20260506}"#), ok("1"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"api_requests","key":42,"bucket":"2026-05-07","value":2}"#),
        ok("2")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"api_requests","key":42}"#), ok("8"));
    assert_eq!(
        q(r#"{"v":2,"op":"series.sum","series":"api_requests","key":42,"range":{"from":20260506,"to":20260507}}"#),
        ok("3")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"api_requests","key":7}"#), ok("0"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.decrement","series":"api_requests","key":42,"bucket":20260505,"value":100}"#),
        ok("100")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"api_requests","key":42}"#), ok("3"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.series","series":"api_requests","key":42,"range":{"from":20260501,"to":20260531}}"#),
        ok(r#"{"20260506":1,"20260507":2}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.sum","series":"missing","key":42}"#),
        err("not_found", "Tree \"missing\" not found")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"s","key":1,"bucket":20261332}"#),
        err("validation_error", "Field bucket must be a bucket date")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"s","key":1,"value":0}"#),
        err("validation_error", "Field value must be greater than 0")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"","key":1}"#),
        err("validation_error", "Field tree_name is required")
    );
}

#[test]
fn increment_overflow_changes_nothing() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    let max = i64::MAX;
    assert_eq!(
        q(&format!(r#"{{"v":2,"op":"counter.increment","series":"o","key":1,"bucket":20260501,"value":{max}}}"#)),
        ok(&max.to_string())
    );
    assert_eq!(
        q(&format!(r#"{{"v":2,"op":"counter.increment","series":"o","key":1,"bucket":20260502,"value":{max}}}"#)),
        ok(&max.to_string())
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.increment","series":"o","key":1,"bucket":20260503,"value":1}"#), ok("1"));
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"o","key":1}"#), ok(&u64::MAX.to_string()));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.increment","series":"o","key":1,"bucket":20260504,"value":1}"#),
        err("validation_error", "Counter overflow key=1 bucket=20260504")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"o","key":1}"#), ok(&u64::MAX.to_string()));
}

#[test]
fn batch_sum_multi_sum_and_batch_writes() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    assert_eq!(
        q(r#"{"v":2,"op":"series.batch_add","series":"b1","items":[[1,20260501,5],[2,20260501,3],[1,20260501,2]]}"#),
        ok(r#"{"applied":3,"total":10}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.batch_sum","series":"b1","keys":[2,999,1,1]}"#),
        ok(r#"[{"key":2,"value":3},{"key":999,"value":0},{"key":1,"value":7},{"key":1,"value":7}]"#)
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.batch_sum","series":"b1","keys":[]}"#), ok("[]"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.batch_sum","series":"nope","keys":[]}"#),
        err("not_found", "Tree \"nope\" not found")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.multi_sum","items":[{"series":"b1","key":1},{"series":"b1","key":3}]}"#),
        ok(r#"[{"series":"b1","key":1,"value":7},{"series":"b1","key":3,"value":0}]"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.multi_sum","items":[{"series":"b1","key":1},{"series":"zz","key":3}]}"#),
        err("not_found", "Tree \"zz\" not found")
    );
    assert_eq!(
        q(
            r#"{"v":2,"op":"series.batch_set","series":"usage","items":[[101,20260527,42],[102,20260527,5],[101,20260527,7],[103,20260527,0]]}"#
        ),
        ok(r#"{"applied":4}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.batch_sum","series":"usage","keys":[101,102,103]}"#),
        ok(r#"[{"key":101,"value":7},{"key":102,"value":5},{"key":103,"value":0}]"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.info","series":"usage"}"#),
        ok(r#"{"tree":"usage","key_count":3,"bucket_count":2,"total":12,"branches":9}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"series.batch_add","series":"b1","items":[[1,20260501,0]]}"#),
        err("validation_error", "Batch item value must be greater than 0")
    );
    let big = u64::MAX / 2 + 1;
    let half = i64::MAX;
    let _ = big;
    assert_eq!(
        q(&format!(
            r#"{{"v":2,"op":"series.batch_add","series":"b2","items":[[1,20260501,{half}],[1,20260501,{half}],[1,20260501,2]]}}"#
        )),
        err("validation_error", "Batch total overflow")
    );
    assert_eq!(q(r#"{"v":2,"op":"tree.list"}"#), ok(r#"["b1","usage"]"#));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.batch_reset","series":"b1","keys":[1,1,7]}"#),
        ok(r#"{"reset":1,"missing":2}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"counter.batch_reset","series":"nope","keys":[1]}"#),
        err("not_found", "Tree \"nope\" not found")
    );
}

#[test]
fn tree_reads() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    q(
        r#"{"v":2,"op":"series.batch_add","series":"t1","items":[[1,20260501,3],[1,20260502,4],[2,20260501,1],[2,20260502,1],[10,20260501,5],[19,20260501,5]]}"#,
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.info","series":"t1"}"#),
        ok(r#"{"tree":"t1","key_count":4,"bucket_count":6,"total":19,"branches":9}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.keys","series":"t1","limit":2}"#),
        ok(r#"{"tree":"t1","limit":2,"cursor":null,"next_cursor":2,"keys":[{"key":1,"total":7},{"key":2,"total":2}]}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.keys","series":"t1","limit":2,"cursor":2}"#),
        ok(
            r#"{"tree":"t1","limit":2,"cursor":2,"next_cursor":null,"keys":[{"key":10,"total":5},{"key":19,"total":5}]}"#
        )
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.keys","series":"t1"}"#),
        ok(
            r#"{"tree":"t1","limit":100,"cursor":null,"next_cursor":null,"keys":[{"key":1,"total":7},{"key":2,"total":2},{"key":10,"total":5},{"key":19,"total":5}]}"#
        )
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.summary","series":"t1"}"#),
        ok(r#"{"tree":"t1","total":19,"active_keys":4,"bucket_count":6}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.summary","series":"t1","range":{"from":20260502,"to":20260502}}"#),
        ok(r#"{"tree":"t1","range_from":20260502,"range_to":20260502,"total":5,"active_keys":2,"bucket_count":2}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.top","series":"t1","limit":2}"#),
        ok(r#"{"tree":"t1","limit":2,"items":[{"key":1,"value":7},{"key":10,"value":5}]}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.series","series":"t1","range":{"from":20260502,"to":20260502}}"#),
        ok(r#"{"1":{"20260502":4},"2":{"20260502":1},"10":{},"19":{}}"#)
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.keys","series":"t1","limit":0}"#),
        err("validation_error", "Field limit must be greater than 0")
    );
    assert_eq!(
        q(r#"{"v":2,"op":"tree.top","series":"t1","limit":1001}"#),
        err("validation_error", "Field limit exceeds max size")
    );
    assert_eq!(q(r#"{"v":2,"op":"tree.info","series":"nope"}"#), err("not_found", "Tree \"nope\" not found"));
    assert_eq!(
        q(r#"{"v":2,"op":"tree.series","series":"t1","range":{"from":20250101,"to":20260103}}"#),
        err("validation_error", "Range exceeds max days")
    );
}

#[test]
fn maintenance_ops() {
    let server = Server::start(&[]);
    let mut c = server.client();
    let mut q = |line: &str| c.request(line).unwrap();
    assert_eq!(q(r#"{"v":2,"op":"tree.create","series":"m"}"#), ok(r#""OK""#));
    assert_eq!(q(r#"{"v":2,"op":"tree.create","series":"m"}"#), ok(r#""OK""#));
    q(r#"{"v":2,"op":"series.batch_add","series":"m","items":[[1,20260501,3],[1,20260601,4],[2,20260501,1]]}"#);
    assert_eq!(q(r#"{"v":2,"op":"counter.reset","series":"m","key":2}"#), ok(r#""OK""#));
    assert_eq!(
        q(r#"{"v":2,"op":"tree.info","series":"m"}"#),
        ok(r#"{"tree":"m","key_count":2,"bucket_count":2,"total":7,"branches":9}"#)
    );
    assert_eq!(q(r#"{"v":2,"op":"series.compact","series":"m"}"#), ok(r#""OK""#));
    assert_eq!(
        q(r#"{"v":2,"op":"tree.info","series":"m"}"#),
        ok(r#"{"tree":"m","key_count":1,"bucket_count":2,"total":7,"branches":9}"#)
    );
    assert_eq!(q(r#"{"v":2,"op":"series.delete_before","series":"m","before":20260601}"#), ok(r#""OK""#));
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"m","key":1}"#), ok("4"));
    assert_eq!(
        q(r#"{"v":2,"op":"counter.delete_range","series":"m","key":1,"range":{"from":20260601,"to":20260601}}"#),
        ok("true")
    );
    assert_eq!(q(r#"{"v":2,"op":"counter.sum","series":"m","key":1}"#), ok("0"));
    assert_eq!(
        q(r#"{"v":2,"op":"tree.delete_range","series":"new","range":{"from":20260601,"to":20260601}}"#),
        ok("true")
    );
    assert_eq!(q(r#"{"v":2,"op":"tree.reset","series":"m"}"#), ok(r#""OK""#));
    assert_eq!(q(r#"{"v":2,"op":"system.compact"}"#), ok(r#""OK""#));
    assert_eq!(
        q(r#"{"v":2,"op":"tree.info","series":"m"}"#),
        ok(r#"{"tree":"m","key_count":0,"bucket_count":0,"total":0,"branches":9}"#)
    );
    assert_eq!(q(r#"{"v":2,"op":"tree.drop","series":"m"}"#), ok(r#""OK""#));
    assert_eq!(q(r#"{"v":2,"op":"tree.drop","series":"m"}"#), err("not_found", "Tree \"m\" not found"));
    // D9: an empty series is a validation error on every op, compaction too.
    assert_eq!(
        q(r#"{"v":2,"op":"series.compact","series":""}"#),
        err("validation_error", "Field tree_name is required")
    );
    assert_eq!(q(r#"{"v":2,"op":"tree.compact","tree":""}"#), err("validation_error", "Field tree_name is required"));
    q(r#"{"v":2,"op":"series.batch_add","series":"d","items":[[6,20260501,1],[7,20260502,1]]}"#);
    assert_eq!(
        q(
            r#"{"v":2,"op":"counter.batch_delete_range","series":"d","keys":[6,6,7,8],"range":{"from":20260501,"to":20260501}}"#
        ),
        ok(r#"{"deleted":1,"missing":2}"#)
    );
}
