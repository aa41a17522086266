use super::*;

#[test]
fn catalogue_has_48_ops_and_55_names() {
    assert_eq!(Op::COUNT, 48);
    assert_eq!(ALL_NAMES.len(), 55);
    let aliases = [
        ("series.increment", Op::Increment),
        ("series.sum", Op::Sum),
        ("series.batch_sum", Op::BatchSum),
        ("series.points", Op::CounterSeries),
        ("counter.batch_increment", Op::BatchAdd),
        ("tree.delete_before", Op::DeleteBefore),
        ("tree.compact", Op::SeriesCompact),
    ];
    for (alias, op) in aliases {
        assert_eq!(Op::from_name(alias), Some(op), "{alias}");
        assert_ne!(op.name(), alias);
    }
    let read_only = ALL_OPS.iter().filter(|op| op.is_read_only()).count();
    assert_eq!(read_only, 23);
    let logged = ALL_OPS.iter().filter(|op| op.is_logged()).count();
    assert_eq!(logged, 20);
    let admin = ALL_OPS.iter().filter(|op| op.class() == Class::Admin).count();
    assert_eq!(admin, 5);
    let idempotent = ALL_OPS.iter().filter(|op| op.is_idempotent()).count();
    assert_eq!(idempotent, 10);
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
