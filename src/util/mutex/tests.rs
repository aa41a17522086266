use super::{Condvar, Mutex};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn try_lock_fails_while_held_and_succeeds_after() {
    let lock = Mutex::new(5);
    let guard = lock.lock();
    assert!(lock.try_lock().is_none());
    drop(guard);
    assert_eq!(*lock.try_lock().expect("free"), 5);
}

/// More threads than cores, each adding to a plain (non-atomic) counter
/// under the lock: any two holders at once would lose additions.
#[test]
fn contending_threads_never_hold_it_together() {
    const THREADS: u64 = 16;
    const ROUNDS: u64 = 20_000;
    let counter = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = Arc::clone(&counter);
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let mut value = counter.lock();
                    let read = *value;
                    std::hint::black_box(&mut *value);
                    *value = read + 1;
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic");
    }
    assert_eq!(*counter.lock(), THREADS * ROUNDS);
}

/// Holders that sleep with the lock make every other thread park, so the
/// unlock path has to wake parked threads (and hand over now and then).
#[test]
fn parked_waiters_are_all_woken() {
    const THREADS: usize = 8;
    let order = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let order = Arc::clone(&order);
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let mut order = order.lock();
                    order.push(i);
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic");
    }
    let order = order.lock();
    assert_eq!(order.len(), THREADS * 5);
    for i in 0..THREADS {
        assert_eq!(order.iter().filter(|&&t| t == i).count(), 5);
    }
}

#[test]
fn a_notification_wakes_the_waiter_with_the_change_made() {
    let shared = Arc::new((Mutex::new(false), Condvar::new()));
    let waiter = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let (flag, changed) = &*shared;
            let mut flag = flag.lock();
            while !*flag {
                changed.wait(&mut flag);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(20));
    *shared.0.lock() = true;
    shared.1.notify_all();
    waiter.join().expect("woken");
}

#[test]
fn a_timed_wait_without_notification_times_out_and_holds_the_lock_again() {
    let lock = Mutex::new(1);
    let changed = Condvar::new();
    let mut guard = lock.lock();
    let started = std::time::Instant::now();
    let result = changed.wait_until(&mut guard, started + Duration::from_millis(30));
    assert!(result.timed_out());
    assert!(started.elapsed() >= Duration::from_millis(30));
    assert!(lock.is_locked());
    *guard += 1;
    drop(guard);
    assert_eq!(*lock.lock(), 2);
    assert!(!changed.notify_one());
}

/// Many rounds of hand-offs between two threads: a lost wake-up would hang.
#[test]
fn ping_pong_loses_no_wake_up() {
    let shared = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let (turn, changed) = &*shared;
            for round in 0..2_000 {
                let mut turn = turn.lock();
                while *turn != round * 2 + 1 {
                    changed.wait(&mut turn);
                }
                *turn += 1;
                changed.notify_all();
            }
        })
    };
    let (turn, changed) = &*shared;
    for round in 0..2_000 {
        let mut turn = turn.lock();
        while *turn != round * 2 {
            changed.wait(&mut turn);
        }
        *turn += 1;
        changed.notify_all();
    }
    other.join().expect("no panic");
    assert_eq!(*turn.lock(), 4_000);
}
