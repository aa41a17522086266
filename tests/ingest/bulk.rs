//! Big streams: each mode end to end with 100,000 items, checked against
//! a model of the series, and the atomic `replace_series` swap under
//! concurrent readers.
use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a series should hold: key -> bucket -> value (keys may be empty
/// counters).
#[derive(Clone, Default, Debug, PartialEq)]
struct Model(BTreeMap<u64, BTreeMap<u64, u64>>);

impl Model {
    fn add(&mut self, items: &[Item]) {
        for &(key, bucket, value) in items {
            *self.0.entry(key).or_default().entry(bucket).or_insert(0) += value;
        }
    }

    fn set(&mut self, items: &[Item]) {
        for &(key, bucket, value) in items {
            let counter = self.0.entry(key).or_default();
            if value == 0 {
                counter.remove(&bucket);
            } else {
                counter.insert(bucket, value);
            }
        }
    }

    /// The unranged `tree.summary` reply.
    fn summary(&self, series: &str) -> String {
        let total: u64 = self.0.values().flat_map(|c| c.values()).sum();
        let buckets: usize = self.0.values().map(|c| c.len()).sum();
        ok(&format!(r#"{{"tree":"{series}","total":{total},"active_keys":{},"bucket_count":{buckets}}}"#, self.0.len()))
    }

    /// The `counter.batch_sum` request and reply over every key.
    fn batch_sum(&self, series: &str) -> (String, String) {
        let keys: Vec<String> = self.0.keys().map(u64::to_string).collect();
        let values: Vec<String> =
            self.0.iter().map(|(k, c)| format!(r#"{{"key":{k},"value":{}}}"#, c.values().sum::<u64>())).collect();
        (
            format!(r#"{{"v":2,"op":"counter.batch_sum","series":"{series}","keys":[{}]}}"#, keys.join(",")),
            ok(&format!("[{}]", values.join(","))),
        )
    }
}

fn assert_holds(server: &Server, series: &str, model: &Model) {
    assert_eq!(summary(server, series), model.summary(series), "summary of {series}");
    let (request, reply) = model.batch_sum(series);
    assert_eq!(server.request(&request), reply, "per-key totals of {series}");
}

/// 100 chunks of 1000 items.
fn chunks(item: impl Fn(u64) -> Item) -> Vec<Vec<Item>> {
    (0..100u64).map(|c| (0..1000u64).map(|j| item(c * 1000 + j)).collect()).collect()
}

#[test]
fn each_mode_end_to_end_with_100k_items() {
    let temp = temp_dir();
    let mut server = Server::start_in(temp.path(), &[BIG]);
    let mut c = server.client();
    let seed: Vec<Item> = (0..300).map(|k| (k * 17, 20260501 + k % 3, k + 1)).collect();
    let mut models = BTreeMap::new();
    for (mode, item) in [
        ("add", (|i: u64| ((i * 7919) % 5000, 20260501 + i % 28, i % 97 + 1)) as fn(u64) -> Item),
        ("set", |i| ((i * 31) % 5000, 20260501 + i % 28, i % 5)),
        ("replace_series", |i| ((i * 13) % 6000, 20260601 + i % 20, i % 7)),
    ] {
        let (series, id) = (format!("s-{mode}"), format!("st-{mode}"));
        let reply = c
            .request(&format!(
                r#"{{"v":2,"op":"series.batch_add","series":"{series}","items":[{}]}}"#,
                seed.iter().map(|(k, b, v)| format!("[{k},{b},{v}]")).collect::<Vec<_>>().join(",")
            ))
            .unwrap();
        assert_eq!(reply, ok(r#"{"applied":300,"total":45150}"#));
        let old = {
            let mut m = Model::default();
            m.add(&seed);
            m
        };
        let mut model = if mode == "replace_series" { Model::default() } else { old.clone() };
        assert_eq!(
            c.request(&begin_line(&id, mode, Some("day"))).unwrap(),
            status(&id, mode, None, Some("day"), "active", 0)
        );
        for (n, items) in chunks(item).iter().enumerate() {
            let seq = n as u64 + 1;
            assert_eq!(
                c.request(&chunk_line(&series, &id, seq, items)).unwrap(),
                applied(&id, seq, items),
                "{mode} {seq}"
            );
            match mode {
                "add" => model.add(items),
                _ => model.set(items),
            }
        }
        if mode == "replace_series" {
            // Nothing is live before the commit.
            assert_holds(&server, &series, &old);
        } else {
            assert_holds(&server, &series, &model);
        }
        assert_eq!(
            c.request(&begin_line(&id, mode, Some("day"))).unwrap(),
            status(&id, mode, Some(&series), Some("day"), "active", 100)
        );
        assert_eq!(c.request(&commit_line(&id)).unwrap(), committed(&id, 100));
        assert_holds(&server, &series, &model);
        models.insert(series, model);
    }
    // Spot values: the add model is exact per point too.
    let add = &models["s-add"];
    let key = (123 * 7919) % 5000;
    let bucket = 20260501 + 123 % 28;
    assert_eq!(
        server.request(&format!(
            r#"{{"v":2,"op":"counter.sum","series":"s-add","key":{key},"range":{{"from":{bucket},"to":{bucket}}}}}"#
        )),
        ok(&add.0[&key][&bucket].to_string())
    );
    assert_eq!(
        stat_values(&server, &["ingest_chunks_applied", "ingest_items_applied", "ingest_active_streams"]),
        expected_stats(&[
            ("ingest_chunks_applied", 300),
            ("ingest_items_applied", 300_000),
            ("ingest_active_streams", 0)
        ])
    );
    // Replayed from the WAL: the same data.
    drop(c);
    server.kill9();
    let server = Server::start_in(temp.path(), &[BIG]);
    for (series, model) in &models {
        assert_holds(&server, series, model);
    }
}

/// Readers polling the series during a `replace_series` stream and its
/// commit see the old series until the commit and the new one after it,
/// never a mix and never the staged data early.
#[test]
fn replace_series_is_atomic_for_concurrent_readers() {
    let server = Server::start(&[BIG, "--wal-fsync=false"]);
    let old: Vec<Item> = (0..2000).map(|k| (k, 20260501, 1)).collect();
    let old_line = format!(
        r#"{{"v":2,"op":"series.batch_add","series":"hot","items":[{}]}}"#,
        old.iter().map(|(k, b, v)| format!("[{k},{b},{v}]")).collect::<Vec<_>>().join(",")
    );
    q_ok(&server, &old_line);
    let old_summary = ok(r#"{"tree":"hot","total":2000,"active_keys":2000,"bucket_count":2000}"#);
    // 100 chunks of 1000: keys 0..5000, each on 20 buckets of value 2.
    let staged = chunks(|i| (i % 5000, 20260601 + i / 5000, 2));
    let new_summary = ok(r#"{"tree":"hot","total":200000,"active_keys":5000,"bucket_count":100000}"#);
    assert_eq!(summary(&server, "hot"), old_summary);

    let commit_sent = Arc::new(AtomicBool::new(false));
    let committed_flag = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // How many readers have seen the old / the new series at least once.
    let (readers_on_old, readers_on_new) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (commit_sent, committed_flag, stop) = (commit_sent.clone(), committed_flag.clone(), stop.clone());
            let (readers_on_old, readers_on_new) = (readers_on_old.clone(), readers_on_new.clone());
            let (addr, old_summary, new_summary) = (server.addr, old_summary.clone(), new_summary.clone());
            std::thread::spawn(move || {
                let mut c = karma::client::Connection::connect(addr, Some(Duration::from_secs(30))).unwrap();
                let (mut saw_old, mut saw_new) = (0u64, 0u64);
                while !stop.load(Ordering::SeqCst) {
                    let done_before = committed_flag.load(Ordering::SeqCst);
                    let reply = c.request(r#"{"v":2,"op":"tree.summary","series":"hot"}"#).unwrap();
                    let sent_after = commit_sent.load(Ordering::SeqCst);
                    if reply == old_summary {
                        assert!(!done_before, "old series after the commit was acknowledged");
                        if saw_old == 0 {
                            readers_on_old.fetch_add(1, Ordering::SeqCst);
                        }
                        saw_old += 1;
                    } else if reply == new_summary {
                        assert!(sent_after, "new series before the commit was sent");
                        if saw_new == 0 {
                            readers_on_new.fetch_add(1, Ordering::SeqCst);
                        }
                        saw_new += 1;
                    } else {
                        panic!("a mixed series: {reply}");
                    }
                }
                (saw_old, saw_new)
            })
        })
        .collect();
    let all_on_old = common::eventually(Duration::from_secs(30), || readers_on_old.load(Ordering::SeqCst) == 4);
    q_ok(&server, &begin_line("swap", "replace_series", Some("day")));
    for (n, items) in staged.iter().enumerate() {
        let seq = n as u64 + 1;
        assert_eq!(server.request(&chunk_line("hot", "swap", seq, items)), applied("swap", seq, items));
    }
    commit_sent.store(true, Ordering::SeqCst);
    assert_eq!(server.request(&commit_line("swap")), committed("swap", 100));
    committed_flag.store(true, Ordering::SeqCst);
    let all_on_new = common::eventually(Duration::from_secs(30), || readers_on_new.load(Ordering::SeqCst) == 4);
    stop.store(true, Ordering::SeqCst);
    for reader in readers {
        let (saw_old, saw_new) = reader.join().unwrap();
        assert!(saw_old > 0 && saw_new > 0, "reader saw old {saw_old} times, new {saw_new} times");
    }
    assert!(all_on_old && all_on_new);
    assert_eq!(summary(&server, "hot"), new_summary);
}
