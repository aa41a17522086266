use super::*;

#[test]
fn names_move_to_base_units() {
    assert_eq!(base_unit("karma_command_latency_ms"), ("karma_command_latency_seconds".to_string(), Some(0.001)));
    assert_eq!(
        base_unit("karma_command_latency_ms_average"),
        ("karma_command_latency_seconds_average".to_string(), Some(0.001))
    );
    assert_eq!(
        base_unit("karma_replication_last_received_unix"),
        ("karma_replication_last_received_timestamp_seconds".to_string(), None)
    );
    assert_eq!(base_unit("karma_memory_bytes"), ("karma_memory_bytes".to_string(), None));
    // `_ms` only as a whole word.
    assert_eq!(base_unit("karma_msgs_total"), ("karma_msgs_total".to_string(), None));
}

#[test]
fn every_figure_with_a_metric_has_its_own_help() {
    let config = std::sync::Arc::new(crate::config::Config::default());
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let engine = Engine::new(config, metrics, crate::engine::State::default());
    for (stat, metric, _) in engine.figures().0 {
        if metric.is_some() || stat == "role" || stat == "wal_enabled" {
            assert_ne!(help(stat), help("no such figure"), "{stat} has no help text");
        }
    }
}

#[test]
fn seconds_histograms_keep_short_bounds() {
    let h = HistogramSnapshot { bounds: vec![0.05, 2.5], counts: vec![1, 0, 0], count: 1, sum: 0.05 };
    let s = in_seconds(&h);
    assert_eq!(format!("{:?} {:?} {:?}", s.bounds[0], s.bounds[1], s.sum), "5e-5 0.0025 5e-5");
}
