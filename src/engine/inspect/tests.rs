use super::*;

#[test]
fn the_deadline_is_checked_on_the_first_key_and_every_256th() {
    let metrics = Metrics::default();
    let deadline = Deadline::start(1);
    std::thread::sleep(Duration::from_millis(3));
    assert!(deadline.check(1, &metrics).is_ok());
    assert!(deadline.check(255, &metrics).is_ok());
    let error = deadline.check(256, &metrics).unwrap_err();
    assert_eq!((error.code, error.message.as_str()), (ErrorCode::QueryTimeout, "Query exceeded 1 ms"));
    assert!(deadline.check(0, &metrics).is_err());
    assert_eq!(metrics.query_timeout_count.get(), 2);
    assert!(Deadline::start(0).check_now(&metrics).is_ok());
}

#[test]
fn tree_top_stops_at_the_deadline() {
    let mut state = State::default();
    let series = state.store.get_or_create("big");
    for key in 0..1000 {
        series.counter_mut(key).add(Bucket::from_yyyymmdd(20260501).unwrap(), key + 1).unwrap();
    }
    let metrics = Metrics::default();
    let deadline = Deadline::start(1);
    std::thread::sleep(Duration::from_millis(3));
    let mut out = Vec::new();
    let error = top(&state, &metrics, &deadline, "big", 10, &None, &mut out).unwrap_err();
    assert_eq!(error.code, ErrorCode::QueryTimeout);
    let mut out = Vec::new();
    top(&state, &metrics, &Deadline::start(0), "big", 2, &None, &mut out).unwrap();
    assert_eq!(out, br#"{"tree":"big","limit":2,"items":[{"key":999,"value":1000},{"key":998,"value":999}]}"#);
}
