//! Model check of the group commit: every interleaving of a small workload,
//! explored exhaustively (a depth-first search over the enabled steps, with
//! the states already seen skipped), checking the invariants in every state.
//!
//! The bookkeeping is the production code: the real [`Queue`] (records
//! encoded as WAL lines), [`Progress`] and [`Deliveries`]. The threads are
//! modelled after `handle.rs` (`Wal::append`, `Wal::when_durable`,
//! `Wal::after_release`) and `committer.rs` (`lead`, the WAL thread's
//! `run`): each step below is one critical section there (one lock held,
//! or one atomic), so any interleaving of the real threads is an
//! interleaving of these steps. Writes may fail (once), as a full disk
//! makes them.
//!
//! Checked: nothing is reported durable before it is written; every write
//! gets exactly one outcome; when nothing can move any more no record is
//! left queued without a committer coming and no waiter is left waiting
//! (no lost wake-up); a failure reaches every waiter of what was not
//! written; and nothing ever deadlocks. Two deliberately broken variants of
//! the protocol show that the search finds a lost wake-up when there is
//! one.
//!
//! Not modelled: waiters blocked in `wait_durable` (parked threads), a
//! non-zero `batch_wait`, seals, reset, shutdown and resume.

use std::collections::HashSet;
use std::io;

use super::*;
use crate::wal::queue::Queue;

/// Who waits: (appender, entry).
type Token = (usize, usize);

/// Where an appender is, for its current entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Session {
    /// `Wal::append` of the next entry (under the engine's state lock).
    Append,
    /// `Wal::when_durable`: the outcome, or a registration (progress lock).
    Register,
    /// `when_durable`: is the WAL thread busy (an atomic load)?
    Route,
    /// `Committer::wake`: the WAL thread was busy.
    Wake,
    /// `writer.try_lock()`.
    TryLead,
    /// Leading: `lead` with one round.
    Commit(Commit),
    /// `after_release`: a record queued meanwhile wakes the WAL thread.
    CheckQueue,
    /// `after_release`: `deliver(false)`, waking the WAL thread when
    /// refusals are left for it.
    Deliver,
    /// Every entry has been handled.
    Done,
}

/// The steps of one `lead` round, shared by a leading session and the WAL
/// thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Commit {
    /// `writer.take(&mut queue)` (queue lock).
    Take,
    /// `commit_taken`: write (maybe failing), then publish or fail.
    Write,
    /// Drop the writer lock.
    Release,
}

/// Where the WAL thread is (`committer::run`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Thread {
    /// Blocked in `woken.recv()`.
    Idle,
    SetBusy,
    /// `while !queue.is_empty()`.
    CheckQueue,
    /// `writer.lock()` (blocks while someone else holds it).
    Lock,
    Commit(Commit),
    /// `deliver(true)` after each round.
    Deliver,
    ClearBusy,
    /// The `deliver(true)` after clearing the flag.
    FinalDeliver,
}

/// A deliberately broken protocol, to show the search finds the bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Flaw {
    None,
    /// `after_release` forgets to wake the WAL thread for records queued
    /// while the session committed.
    NoWakeAfterRelease,
    /// A session that finds the WAL thread busy leaves its record to it
    /// without waking it (it may be about to sleep).
    NoWakeWhenBusy,
}

#[derive(Clone)]
struct Model {
    flaw: Flaw,
    entries: usize,
    sessions: Vec<Session>,
    /// The entry each session is at.
    entry: Vec<usize>,
    /// The LSN each (session, entry) got, 0 before its append.
    lsns: Vec<Vec<u64>>,
    /// Each (session, entry)'s outcome: None until told.
    outcomes: Vec<Vec<Option<bool>>>,
    thread: Thread,
    /// A wake is pending in the WAL thread's channel (capacity one).
    woken: bool,
    busy: bool,
    /// Someone holds the writer lock (only the holder takes commit steps).
    writer_locked: bool,
    queue: Queue,
    /// What the current committer took from the queue.
    taken: Queue,
    last_appended: u64,
    /// Every LSN up to this one is in the file.
    written: u64,
    /// The file writer's own failed flag (it writes nothing once failed).
    writer_failed: bool,
    failures_left: usize,
    progress: Progress<Token>,
    deliveries: Deliveries<Token>,
    /// The first invariant a step broke.
    violation: Option<Violation>,
}

impl Model {
    fn new(sessions: usize, entries: usize, failures: usize, flaw: Flaw) -> Model {
        Model {
            flaw,
            entries,
            sessions: vec![Session::Append; sessions],
            entry: vec![0; sessions],
            lsns: vec![vec![0; entries]; sessions],
            outcomes: vec![vec![None; entries]; sessions],
            thread: Thread::Idle,
            woken: false,
            busy: false,
            writer_locked: false,
            queue: Queue::default(),
            taken: Queue::default(),
            last_appended: 0,
            written: 0,
            writer_failed: false,
            failures_left: failures,
            progress: Progress::new(0),
            deliveries: Deliveries::default(),
            violation: None,
        }
    }

    /// Records that `holds` failed (the first violation is kept).
    fn expect(&mut self, holds: bool, violation: impl FnOnce() -> Violation) {
        if !holds && self.violation.is_none() {
            self.violation = Some(violation());
        }
    }

    /// Everything that tells two states apart.
    fn key(&self) -> impl std::hash::Hash + Eq {
        let progress = &self.progress;
        let waiters: Vec<_> = progress.waiters.clone();
        let deliveries: Vec<_> =
            self.deliveries.pending.iter().map(|(lsn, token, e)| (*lsn, *token, e.is_some())).collect();
        (
            (self.sessions.clone(), self.entry.clone(), self.lsns.clone(), self.outcomes.clone()),
            (self.thread, self.woken, self.busy, self.writer_locked),
            (
                self.queue.lsns(),
                self.taken.lsns(),
                self.last_appended,
                self.written,
                self.writer_failed,
                self.failures_left,
            ),
            (progress.durable, progress.failure.is_some(), progress.stopped, waiters, deliveries),
            self.violation.clone(),
        )
    }

    /// Every state one step away.
    fn successors(&self) -> Vec<Model> {
        let mut next = Vec::new();
        for session in 0..self.sessions.len() {
            next.extend(self.step_session(session));
        }
        next.extend(self.step_thread());
        next
    }

    fn step_session(&self, me: usize) -> Vec<Model> {
        let mut m = self.clone();
        match self.sessions[me] {
            Session::Done => return Vec::new(),
            Session::Append => {
                let entry = m.entry[me];
                if m.progress.failure().is_some() {
                    // `append` refuses at once: the client gets an error.
                    m.tell(me, entry, false);
                    m.next_entry(me);
                } else {
                    let lsn = m.last_appended + 1;
                    m.queue.push_record(lsn, br#"{"op":"add"}"#);
                    m.last_appended = lsn;
                    m.lsns[me][entry] = lsn;
                    m.sessions[me] = Session::Register;
                }
            }
            Session::Register => {
                let entry = m.entry[me];
                let lsn = m.lsns[me][entry];
                match m.progress.wait(lsn, m.last_appended, (me, entry)) {
                    Some(outcome) => {
                        m.tell(me, entry, outcome.is_ok());
                        m.next_entry(me);
                    }
                    None => m.sessions[me] = Session::Route,
                }
            }
            Session::Route => m.sessions[me] = if m.busy { Session::Wake } else { Session::TryLead },
            Session::Wake => {
                if m.flaw != Flaw::NoWakeWhenBusy {
                    m.woken = true;
                }
                m.next_entry(me);
            }
            Session::TryLead => {
                if !m.writer_locked {
                    m.writer_locked = true;
                    m.sessions[me] = Session::Commit(Commit::Take);
                } else {
                    m.next_entry(me);
                }
            }
            Session::Commit(step) => {
                return m
                    .commit(step)
                    .into_iter()
                    .map(|(mut m, after)| {
                        m.sessions[me] = match after {
                            Some(step) => Session::Commit(step),
                            None => Session::CheckQueue,
                        };
                        m
                    })
                    .collect();
            }
            Session::CheckQueue => {
                if !m.queue.is_empty() && m.flaw != Flaw::NoWakeAfterRelease {
                    m.woken = true;
                }
                m.sessions[me] = Session::Deliver;
            }
            Session::Deliver => {
                m.deliver(false);
                if !m.deliveries.is_empty() {
                    m.woken = true;
                }
                m.next_entry(me);
            }
        }
        vec![m]
    }

    fn step_thread(&self) -> Vec<Model> {
        let mut m = self.clone();
        match self.thread {
            Thread::Idle => {
                if !m.woken {
                    return Vec::new();
                }
                m.woken = false;
                m.thread = Thread::SetBusy;
            }
            Thread::SetBusy => {
                m.busy = true;
                m.thread = Thread::CheckQueue;
            }
            Thread::CheckQueue => m.thread = if m.queue.is_empty() { Thread::ClearBusy } else { Thread::Lock },
            Thread::Lock => {
                if m.writer_locked {
                    return Vec::new();
                }
                m.writer_locked = true;
                m.thread = Thread::Commit(Commit::Take);
            }
            Thread::Commit(step) => {
                return m
                    .commit(step)
                    .into_iter()
                    .map(|(mut m, after)| {
                        m.thread = match after {
                            Some(step) => Thread::Commit(step),
                            None => Thread::Deliver,
                        };
                        m
                    })
                    .collect();
            }
            Thread::Deliver => {
                m.deliver(true);
                m.thread = Thread::CheckQueue;
            }
            Thread::ClearBusy => {
                m.busy = false;
                m.thread = Thread::FinalDeliver;
            }
            Thread::FinalDeliver => {
                m.deliver(true);
                m.thread = Thread::Idle;
            }
        }
        vec![m]
    }

    /// One step of a `lead` round by the holder of the writer lock; `None`
    /// after the lock is released.
    fn commit(mut self, step: Commit) -> Vec<(Model, Option<Commit>)> {
        match step {
            Commit::Take => {
                let took = self.queue.take_into(&mut self.taken);
                vec![(self, Some(if took { Commit::Write } else { Commit::Release }))]
            }
            Commit::Write => {
                let lsns = self.taken.lsns();
                self.taken = Queue::default();
                let Some(&last) = lsns.last() else {
                    return vec![(self, Some(Commit::Release))];
                };
                if self.writer_failed {
                    // Never written, so never reported durable.
                    return vec![(self, Some(Commit::Release))];
                }
                let mut outcomes = Vec::new();
                if self.failures_left > 0 {
                    let mut failed = self.clone();
                    failed.failures_left -= 1;
                    failed.writer_failed = true;
                    let error = WalError::io("write WAL file", "karma.wal", io::Error::other("No space left"));
                    let (released, failure) = failed.progress.fail(error);
                    failed.deliveries.add(released, Err(&failure));
                    outcomes.push((failed, Some(Commit::Release)));
                }
                let first = lsns[0];
                let written = self.written;
                self.expect(first == written + 1, || Violation::OutOfOrderBatch { first, written });
                self.written = last;
                let released = self.progress.publish(last);
                self.deliveries.add(released, Ok(()));
                outcomes.push((self, Some(Commit::Release)));
                outcomes
            }
            Commit::Release => {
                self.writer_locked = false;
                vec![(self, None)]
            }
        }
    }

    /// `WalState::deliver`: calls the completions taken.
    fn deliver(&mut self, refusals: bool) {
        for (lsn, (session, entry), failure) in self.deliveries.take(refusals) {
            let own = self.lsns[session][entry];
            self.expect(own == lsn, || Violation::WrongCompletion { own, told: lsn });
            self.tell(session, entry, failure.is_none());
        }
    }

    /// A client hears about its write.
    fn tell(&mut self, session: usize, entry: usize, durable: bool) {
        let lsn = self.lsns[session][entry];
        let written = self.written;
        self.expect(self.outcomes[session][entry].is_none(), || Violation::AnsweredTwice { lsn });
        self.expect(!durable || (lsn > 0 && lsn <= written), || Violation::DurableTooEarly { lsn, written });
        self.outcomes[session][entry] = Some(durable);
    }

    fn next_entry(&mut self, me: usize) {
        self.entry[me] += 1;
        self.sessions[me] = if self.entry[me] == self.entries { Session::Done } else { Session::Append };
    }

    /// Invariants of every state.
    fn check(&self) -> Result<(), Violation> {
        if let Some(violation) = &self.violation {
            return Err(violation.clone());
        }
        let (durable, written) = (self.progress.durable(), self.written);
        if durable > written {
            return Err(Violation::DurableBeyondFile { durable, written });
        }
        if self.progress.failure().is_some() && !self.progress.waiters.is_empty() {
            return Err(Violation::WaitersSurvivedFailure(format!("{:?}", self.progress.waiters)));
        }
        Ok(())
    }

    /// When nothing can move: no deadlock, no lost wake-up, every write
    /// answered, and answered truly.
    fn check_final(&self) -> Result<(), Violation> {
        if self.sessions.iter().any(|s| *s != Session::Done) || self.thread != Thread::Idle || self.writer_locked {
            return Err(Violation::Stuck(format!("sessions {:?}, WAL thread {:?}", self.sessions, self.thread)));
        }
        if !self.progress.waiters.is_empty() {
            return Err(Violation::LostWakeUp(format!("{:?} still wait", self.progress.waiters)));
        }
        if !self.deliveries.is_empty() {
            return Err(Violation::CompletionNeverCalled);
        }
        if self.progress.failure().is_none() && !self.queue.is_empty() {
            return Err(Violation::LostWakeUp(format!("LSNs {:?} left queued", self.queue.lsns())));
        }
        for (session, outcomes) in self.outcomes.iter().enumerate() {
            for (entry, outcome) in outcomes.iter().enumerate() {
                let lsn = self.lsns[session][entry];
                let durable = lsn > 0 && lsn <= self.progress.durable();
                match outcome {
                    None => return Err(Violation::NeverAnswered { session, entry, lsn }),
                    Some(told) if *told != durable => return Err(Violation::Untrue { lsn, told: *told, durable }),
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// An invariant a state broke: what the model check reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
enum Violation {
    #[error("batch from LSN {first} written after {written}")]
    OutOfOrderBatch { first: u64, written: u64 },
    #[error("the completion of LSN {own} was told about LSN {told}")]
    WrongCompletion { own: u64, told: u64 },
    #[error("LSN {lsn} was answered twice")]
    AnsweredTwice { lsn: u64 },
    #[error("LSN {lsn} reported durable, written to {written}")]
    DurableTooEarly { lsn: u64, written: u64 },
    #[error("durable LSN {durable} beyond the file's {written}")]
    DurableBeyondFile { durable: u64, written: u64 },
    #[error("waiters {0} survived the failure")]
    WaitersSurvivedFailure(String),
    #[error("stuck: {0}")]
    Stuck(String),
    #[error("lost wake-up: {0}")]
    LostWakeUp(String),
    #[error("a released completion was never called")]
    CompletionNeverCalled,
    #[error("write {entry} of session {session} (LSN {lsn}) was never answered")]
    NeverAnswered { session: usize, entry: usize, lsn: u64 },
    #[error("LSN {lsn} was answered {told}, durable is {durable}")]
    Untrue { lsn: u64, told: bool, durable: bool },
}

/// Explores every reachable state, checking each; returns how many there
/// were and how many of them were final, or the first violation.
fn explore(initial: Model) -> Result<(usize, usize), Violation> {
    let mut seen = HashSet::new();
    let mut stack = vec![initial];
    let mut finals = 0;
    while let Some(model) = stack.pop() {
        if !seen.insert(model.key()) {
            continue;
        }
        model.check()?;
        let next = model.successors();
        if next.is_empty() {
            model.check_final()?;
            finals += 1;
        }
        stack.extend(next);
    }
    Ok((seen.len(), finals))
}

#[test]
fn every_interleaving_of_two_sessions_answers_every_write_truly() {
    let (states, finals) = explore(Model::new(2, 2, 0, Flaw::None)).unwrap();
    assert!(states > 1000 && finals > 0, "{states} states, {finals} final");
}

#[test]
fn every_interleaving_with_a_failing_write_fails_every_waiter() {
    let (states, finals) = explore(Model::new(2, 2, 1, Flaw::None)).unwrap();
    assert!(states > 1000 && finals > 0, "{states} states, {finals} final");
}

#[test]
fn every_interleaving_of_three_sessions_answers_every_write_truly() {
    let (states, finals) = explore(Model::new(3, 1, 0, Flaw::None)).unwrap();
    assert!(states > 1000 && finals > 0, "{states} states, {finals} final");
}

/// The search is strong enough to find the lost wake-ups the protocol
/// guards against.
#[test]
fn the_search_finds_a_lost_wake_up() {
    for flaw in [Flaw::NoWakeAfterRelease, Flaw::NoWakeWhenBusy] {
        let found = explore(Model::new(2, 2, 0, flaw)).expect_err("the flaw must be found");
        assert!(matches!(found, Violation::LostWakeUp(_) | Violation::Stuck(_)), "{flaw:?}: {found}");
    }
}
