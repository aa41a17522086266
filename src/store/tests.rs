use super::*;

fn series_with_key(key: u64) -> Series {
    let mut series = Series::new();
    let day = Bucket::from_yyyymmdd(20260505).expect("valid date");
    series.counter_mut(key).add(day, 3).unwrap();
    series
}

fn names(store: &Store) -> Vec<&str> {
    store.names().collect()
}

#[test]
fn creation_order_survives_replace_and_remove() {
    let mut store = Store::new();
    store.get_or_create("b");
    store.get_or_create("a");
    store.insert("c", series_with_key(1));
    store.get_or_create("b").counter_mut(7);
    assert_eq!(names(&store), vec!["b", "a", "c"]);

    store.insert("a", series_with_key(2));
    assert_eq!(names(&store), vec!["b", "a", "c"]);
    assert_eq!(store.get("a").map(|s| s.sorted_keys()), Some(vec![2]));

    assert_eq!(store.remove("b").map(|s| s.sorted_keys()), Some(vec![7]));
    assert_eq!(store.remove("b").map(|s| s.key_count()), None);
    assert_eq!(names(&store), vec!["a", "c"]);
    assert!(!store.contains("b"));
    assert!(store.contains("c"));
    assert_eq!(store.get("c").map(Series::key_count), Some(1));

    store.get_or_create("b");
    assert_eq!(names(&store), vec!["a", "c", "b"]);
    store.get_mut("b").expect("exists").counter_mut(9);
    assert_eq!(store.get("b").map(Series::key_count), Some(1));
    assert!(store.get_mut("zz").is_none());
    assert!(store.get("zz").is_none());
}

#[test]
fn counts_over_all_series() {
    let mut store = Store::new();
    assert_eq!((store.series_count(), store.key_count(), store.point_count()), (0, 0, 0));
    store.insert("x", series_with_key(1));
    store.insert("y", series_with_key(2));
    store.get_or_create("y").counter_mut(3);
    store.get_or_create("");
    assert_eq!((store.series_count(), store.key_count(), store.point_count()), (3, 3, 2));
    let listed: Vec<(&str, usize)> = store.iter().map(|(n, s)| (n, s.key_count())).collect();
    assert_eq!(listed, vec![("x", 1), ("y", 2), ("", 0)]);
    for (_, series) in store.iter_mut() {
        series.compact();
    }
    assert_eq!(store.key_count(), 2);
    assert!(store.heap_bytes() > 0);
}
