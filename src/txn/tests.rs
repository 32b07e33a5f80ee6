use super::*;

fn store(rows: &[(Key, i64)]) -> Store<i64> {
    let mut s = Store::new(Bugs::default());
    s.load(rows.iter().copied());
    s
}

fn done<T: std::fmt::Debug>(o: Outcome<T>) -> T {
    match o {
        Outcome::Done(v) => v,
        other => panic!("expected done, got {other:?}"),
    }
}

/// Two transactions read x and y, then each writes one of them: write skew.
fn write_skew(level: Level) -> (bool, bool) {
    let mut s = store(&[(1, 10), (2, 20)]);
    let (a, b) = (s.begin(level), s.begin(level));
    for t in [a, b] {
        done(s.read(t, 1));
        done(s.read(t, 2));
    }
    let wa = s.write(a, 1, Some(11));
    let wb = s.write(b, 2, Some(21));
    let ca = matches!(wa, Outcome::Done(())) && matches!(s.commit(a), Outcome::Done(()));
    let cb = matches!(wb, Outcome::Done(())) && matches!(s.commit(b), Outcome::Done(()));
    (ca, cb)
}

#[test]
fn snapshot_isolation_allows_write_skew_and_ssi_prevents_it() {
    assert_eq!(write_skew(Level::SnapshotIsolation), (true, true));
    let (a, b) = write_skew(Level::Serializable);
    assert!(a ^ b, "exactly one commits under SSI: {a} {b}");
    let mut s = Store::<i64>::new(Bugs { no_rw_tracking: true, ..Bugs::default() });
    s.load([(1, 10), (2, 20)]);
    let (a, b) = (s.begin(Level::Serializable), s.begin(Level::Serializable));
    for t in [a, b] {
        done(s.read(t, 1));
        done(s.read(t, 2));
    }
    done(s.write(a, 1, Some(11)));
    done(s.write(b, 2, Some(21)));
    done(s.commit(a));
    done(s.commit(b));
}

#[test]
fn first_updater_wins_and_its_knob() {
    for bug in [false, true] {
        let mut s = Store::<i64>::new(Bugs { no_first_committer_wins: bug, ..Bugs::default() });
        s.load([(1, 0)]);
        let (a, b) = (s.begin(Level::SnapshotIsolation), s.begin(Level::SnapshotIsolation));
        done(s.read(a, 1));
        done(s.read(b, 1));
        done(s.modify(a, 1, &|v| v.copied().unwrap_or(0) + 1));
        assert_eq!(s.modify(b, 1, &|v| v.copied().unwrap_or(0) + 1), Outcome::Blocked);
        done(s.commit(a));
        assert_eq!(s.woken(), vec![b]);
        let again = s.modify(b, 1, &|v| v.copied().unwrap_or(0) + 1);
        if bug {
            done(again);
            done(s.commit(b));
            assert_eq!(s.rows(), vec![(1, 1)], "the lost update");
        } else {
            assert_eq!(again, Outcome::Failed(TxnError::SerializationFailure));
            assert_eq!(s.rows(), vec![(1, 1)]);
        }
    }
}

#[test]
fn read_committed_waits_then_updates_the_new_version() {
    let mut s = store(&[(1, 0)]);
    let (a, b) = (s.begin(Level::ReadCommitted), s.begin(Level::ReadCommitted));
    done(s.modify(a, 1, &|v| v.copied().unwrap_or(0) + 1));
    assert_eq!(done(s.read(b, 1)), Some(0), "no dirty read");
    assert_eq!(s.modify(b, 1, &|v| v.copied().unwrap_or(0) + 1), Outcome::Blocked);
    done(s.commit(a));
    assert_eq!(s.woken(), vec![b]);
    done(s.modify(b, 1, &|v| v.copied().unwrap_or(0) + 1));
    done(s.commit(b));
    assert_eq!(s.rows(), vec![(1, 2)]);
}

#[test]
fn read_uncommitted_reads_dirty_and_never_writes_dirty() {
    let mut s = store(&[(1, 0)]);
    let (a, b) = (s.begin(Level::ReadUncommitted), s.begin(Level::ReadUncommitted));
    done(s.write(a, 1, Some(5)));
    assert_eq!(done(s.read(b, 1)), Some(5), "a dirty read");
    assert_eq!(s.write(b, 1, Some(6)), Outcome::Blocked, "no dirty write");
    s.abort(a);
    assert_eq!(s.woken(), vec![b]);
    done(s.write(b, 1, Some(6)));
    done(s.commit(b));
    assert_eq!(s.rows(), vec![(1, 6)]);
}

#[test]
fn two_phase_locking_blocks_and_breaks_deadlocks() {
    for level in [Level::Serializable2pl, Level::RepeatableRead] {
        let mut s = store(&[(1, 10), (2, 20)]);
        let (a, b) = (s.begin(level), s.begin(level));
        done(s.read(a, 1));
        done(s.read(b, 2));
        assert_eq!(s.write(a, 2, Some(1)), Outcome::Blocked, "b holds a read lock on 2");
        assert_eq!(s.write(b, 1, Some(1)), Outcome::Failed(TxnError::Deadlock));
        assert_eq!(s.woken(), vec![a]);
        done(s.write(a, 2, Some(1)));
        done(s.commit(a));
        assert_eq!(s.rows(), vec![(1, 10), (2, 1)]);
        // Write skew cannot happen: the second writer waits for the first reader.
        let (x, y) = write_skew(level);
        assert!(!(x && y), "{level}: write skew under locks");
    }
}

#[test]
fn snapshots_are_stable_and_gc_keeps_what_they_read() {
    let mut s = store(&[(1, 0)]);
    let old = s.begin(Level::SnapshotIsolation);
    assert_eq!(done(s.read(old, 1)), Some(0));
    for i in 1..=5 {
        let w = s.begin(Level::SnapshotIsolation);
        done(s.write(w, 1, Some(i)));
        done(s.commit(w));
    }
    assert_eq!(s.versions_alive(), 6);
    s.gc();
    assert_eq!(done(s.read(old, 1)), Some(0), "the snapshot still reads its version");
    done(s.commit(old));
    let dropped = s.gc();
    assert_eq!((dropped, s.versions_alive()), (5, 1));
    assert_eq!(s.rows(), vec![(1, 5)]);
}

#[test]
fn prepared_transactions_hold_their_locks_and_commit_without_failing() {
    let mut s = Store::<Vec<i64>>::new(Bugs::default());
    let a = s.begin(Level::Serializable2pl);
    done(s.modify(a, 7, &|v| {
        let mut l = v.cloned().unwrap_or_default();
        l.push(1);
        l
    }));
    done(s.prepare(a));
    assert_eq!(s.write_set(a), vec![(7, Some(vec![1]))]);
    let b = s.begin(Level::Serializable2pl);
    assert_eq!(s.read(b, 7), Outcome::Blocked);
    done(s.commit(a));
    assert_eq!(s.woken(), vec![b]);
    assert_eq!(done(s.read(b, 7)), Some(vec![1]));
}
