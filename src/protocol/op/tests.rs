use super::*;

#[test]
fn catalogue_has_48_ops_and_55_names() {
    let names = [
        "series.increment",
        "series.sum",
        "series.batch_sum",
        "series.points",
        "counter.batch_increment",
        "tree.delete_before",
        "tree.compact",
    ];
    for op in ALL_OPS {
        assert_eq!(Op::from_name(op.name()), Some(op));
    }
    for alias in names {
        assert!(Op::from_name(alias).is_some());
    }
    let read_only = ALL_OPS.iter().filter(|op| op.is_read_only()).count();
    assert_eq!(read_only, 23);
    let logged = ALL_OPS.iter().filter(|op| op.is_logged()).count();
    assert_eq!(logged, 20);
}
