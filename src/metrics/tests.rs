use super::*;

#[test]
fn observations_land_in_the_first_bound_not_below_them() {
    let histogram = Histogram::new(&[1.0, 10.0]);
    for value in [0.5, 1.0, 1.5, 10.0, 11.0] {
        histogram.observe(value);
    }
    let snap = histogram.snapshot();
    assert_eq!(snap.counts, vec![2, 2, 1]);
    assert_eq!(snap.count, 5);
    assert!((snap.sum - 24.0).abs() < 1e-9);
}
