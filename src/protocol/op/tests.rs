use super::*;

/// Karma 1.0's catalogue: every op of the v2 protocol with its class and
/// idempotency. The table may grow (a new op needs no change here), but
/// none of these may go, be renamed or change what it may do.
const KARMA_1_0_OPS: [(&str, Class, Idempotency); 48] = [
    ("counter.increment", Class::Logged, Idempotency::Eligible),
    ("counter.decrement", Class::Logged, Idempotency::Eligible),
    ("counter.sum", Class::Read, Idempotency::Ineligible),
    ("counter.batch_sum", Class::Read, Idempotency::Ineligible),
    ("counter.multi_sum", Class::Read, Idempotency::Ineligible),
    ("counter.series", Class::Read, Idempotency::Ineligible),
    ("counter.delete_range", Class::Logged, Idempotency::Eligible),
    ("counter.batch_delete_range", Class::Logged, Idempotency::Eligible),
    ("counter.reset", Class::Logged, Idempotency::Eligible),
    ("counter.batch_reset", Class::Logged, Idempotency::Eligible),
    ("series.batch_add", Class::Logged, Idempotency::Eligible),
    ("series.batch_set", Class::Logged, Idempotency::Eligible),
    ("series.delete_before", Class::Logged, Idempotency::Ineligible),
    ("series.compact", Class::Logged, Idempotency::Ineligible),
    ("system.compact", Class::Logged, Idempotency::Ineligible),
    ("tree.create", Class::Logged, Idempotency::Ineligible),
    ("tree.drop", Class::Logged, Idempotency::Ineligible),
    ("tree.list", Class::Read, Idempotency::Ineligible),
    ("tree.reset", Class::Logged, Idempotency::Eligible),
    ("tree.delete_range", Class::Logged, Idempotency::Eligible),
    ("tree.series", Class::Read, Idempotency::Ineligible),
    ("tree.info", Class::Read, Idempotency::Ineligible),
    ("tree.keys", Class::Read, Idempotency::Ineligible),
    ("tree.summary", Class::Read, Idempotency::Ineligible),
    ("tree.top", Class::Read, Idempotency::Ineligible),
    ("ingest.begin", Class::Logged, Idempotency::Ineligible),
    ("ingest.chunk", Class::Logged, Idempotency::Ineligible),
    ("ingest.commit", Class::Logged, Idempotency::Ineligible),
    ("ingest.abort", Class::Logged, Idempotency::Ineligible),
    ("idempotency.prune", Class::Logged, Idempotency::Ineligible),
    ("idempotency.snapshot_fetch_chunk", Class::Read, Idempotency::Ineligible),
    ("snapshot.create", Class::Admin, Idempotency::Ineligible),
    ("snapshot.create_all", Class::Admin, Idempotency::Ineligible),
    ("snapshot.list", Class::Read, Idempotency::Ineligible),
    ("snapshot.info", Class::Read, Idempotency::Ineligible),
    ("snapshot.load", Class::Admin, Idempotency::Ineligible),
    ("snapshot.fetch", Class::Read, Idempotency::Ineligible),
    ("snapshot.fetch_chunk", Class::Read, Idempotency::Ineligible),
    ("snapshot.verify", Class::Read, Idempotency::Ineligible),
    ("system.ping", Class::Read, Idempotency::Ineligible),
    ("system.health", Class::Read, Idempotency::Ineligible),
    ("system.stats", Class::Read, Idempotency::Ineligible),
    ("system.metrics", Class::Read, Idempotency::Ineligible),
    ("reconciliation.report", Class::Admin, Idempotency::Ineligible),
    ("recovery.checkpoint", Class::Admin, Idempotency::Ineligible),
    ("recovery.status", Class::Read, Idempotency::Ineligible),
    ("replication.status", Class::Read, Idempotency::Ineligible),
    ("replication.entries", Class::Read, Idempotency::Ineligible),
];

/// Karma 1.0's aliases and the op each one names.
const KARMA_1_0_ALIASES: [(&str, Op); 7] = [
    ("series.increment", Op::Increment),
    ("series.sum", Op::Sum),
    ("series.batch_sum", Op::BatchSum),
    ("series.points", Op::CounterSeries),
    ("counter.batch_increment", Op::BatchAdd),
    ("tree.delete_before", Op::DeleteBefore),
    ("tree.compact", Op::SeriesCompact),
];

#[test]
fn every_karma_1_0_op_keeps_its_name_class_and_idempotency() {
    for (name, class, idempotency) in KARMA_1_0_OPS {
        let op = Op::from_name(name).unwrap_or_else(|| panic!("{name} is gone"));
        assert_eq!(op.name(), name, "{name} is an alias now");
        assert_eq!((op.class(), op.idempotency()), (class, idempotency), "{name}");
    }
    for (alias, op) in KARMA_1_0_ALIASES {
        assert_eq!(Op::from_name(alias), Some(op), "{alias}");
        assert_ne!(op.name(), alias);
    }
}

#[test]
fn every_name_and_alias_round_trips() {
    for (name, op) in ALL_NAMES {
        assert_eq!(Op::from_name(name), Some(*op), "{name}");
    }
    for op in ALL_OPS {
        assert_eq!(Op::from_name(op.name()), Some(op));
        assert!(ALL_NAMES.contains(&(op.name(), op)), "{op:?}");
    }
    let mut names: Vec<&str> = ALL_NAMES.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), ALL_NAMES.len(), "a wire name is declared twice");
    assert_eq!(Op::from_name("counter.nope"), None);
    assert_eq!(Op::from_name("Counter.Increment"), None);
}

#[test]
fn ops_are_listed_once_in_declaration_order() {
    for (i, op) in ALL_OPS.iter().enumerate() {
        assert_eq!(*op as usize, i, "{op:?}");
    }
}

#[test]
fn only_logged_ops_take_an_idempotency_key() {
    for op in ALL_OPS.into_iter().filter(|op| op.is_idempotent()) {
        assert!(op.is_logged(), "{op:?}");
    }
}

#[test]
fn op_map_holds_one_value_per_op() {
    let map = OpMap::from_fn(|op| op.name());
    for op in ALL_OPS {
        assert_eq!(*map.get(op), op.name());
    }
}
