//! The store itself: rows of versions, transactions, locks, SIREAD marks, waits.

use super::{Bugs, Key, Level, Outcome, TxnError, TxnId, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The transaction that loaded the initial rows.
const LOADER: TxnId = 0;

#[derive(Clone, Debug)]
struct Version<V> {
    value: Option<V>,
    creator: TxnId,
    /// The creator's commit timestamp, once it committed.
    commit: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Active,
    Prepared,
    Committed(u64),
    Aborted,
}

#[derive(Debug)]
struct Txn {
    level: Level,
    state: State,
    /// The clock when it began.
    start: u64,
    /// Its snapshot (snapshot isolation and SSI: taken at the first statement).
    snapshot: Option<u64>,
    writes: BTreeSet<Key>,
    /// Rows it holds read locks on (locking levels) or SIREAD marks on (SSI).
    reads: BTreeSet<Key>,
    /// SSI: transactions with a read-write anti-dependency to this one (they read what this
    /// one overwrote), and from it.
    rw_in: BTreeSet<TxnId>,
    rw_out: BTreeSet<TxnId>,
    /// SSI: another transaction made this one a pivot; it fails at its next step.
    doomed: bool,
    /// The transactions its parked statement waits for.
    waiting: Vec<TxnId>,
}

impl Txn {
    fn live(&self) -> bool {
        matches!(self.state, State::Active | State::Prepared)
    }
}

/// An MVCC store of `V` values at six isolation levels. See the module documentation.
pub struct Store<V: Value> {
    rows: BTreeMap<Key, Vec<Version<V>>>,
    txns: BTreeMap<TxnId, Txn>,
    /// Holders of read locks and SIREAD marks, by row.
    readers: BTreeMap<Key, BTreeSet<TxnId>>,
    next: TxnId,
    clock: u64,
    woken: Vec<TxnId>,
    bugs: Bugs,
}

impl<V: Value> std::fmt::Debug for Store<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store {{ rows: {}, txns: {} }}", self.rows.len(), self.txns.len())
    }
}

impl<V: Value> Store<V> {
    /// An empty store.
    pub fn new(bugs: Bugs) -> Self {
        Store {
            rows: BTreeMap::new(),
            txns: BTreeMap::new(),
            readers: BTreeMap::new(),
            next: LOADER + 1,
            clock: 0,
            woken: Vec::new(),
            bugs,
        }
    }

    /// Adds committed rows (the initial table, or a recovered one).
    pub fn load(&mut self, rows: impl IntoIterator<Item = (Key, V)>) {
        self.clock += 1;
        let commit = Some(self.clock);
        for (key, value) in rows {
            let version = Version { value: Some(value), creator: LOADER, commit };
            self.rows.entry(key).or_default().push(version);
        }
    }

    /// Starts a transaction at `level`.
    pub fn begin(&mut self, level: Level) -> TxnId {
        let id = self.next;
        self.next += 1;
        let txn = Txn {
            level,
            state: State::Active,
            start: self.clock,
            snapshot: None,
            writes: BTreeSet::new(),
            reads: BTreeSet::new(),
            rw_in: BTreeSet::new(),
            rw_out: BTreeSet::new(),
            doomed: false,
            waiting: Vec::new(),
        };
        self.txns.insert(id, txn);
        id
    }

    /// True while `t` may still run statements or commit.
    pub fn is_active(&self, t: TxnId) -> bool {
        self.txns.get(&t).is_some_and(Txn::live)
    }

    fn txn(&self, t: TxnId) -> &Txn {
        self.txns.get(&t).expect("a transaction of this store")
    }

    fn txn_mut(&mut self, t: TxnId) -> &mut Txn {
        self.txns.get_mut(&t).expect("a transaction of this store")
    }

    /// The snapshot a statement of `t` reads from, taking it if this is the first.
    fn snapshot(&mut self, t: TxnId) -> u64 {
        let clock = self.clock;
        let txn = self.txn_mut(t);
        if txn.level.transaction_snapshot() {
            *txn.snapshot.get_or_insert(clock)
        } else {
            clock
        }
    }

    /// Fails `t` now if it was doomed or cannot run statements.
    fn check_runnable(&mut self, t: TxnId) -> Result<(), TxnError> {
        let txn = self.txn(t);
        assert_eq!(txn.state, State::Active, "a statement of a transaction that is not active");
        if txn.doomed {
            self.fail(t, TxnError::SerializationFailure);
            return Err(TxnError::SerializationFailure);
        }
        Ok(())
    }

    /// Aborts `t` for `error`.
    fn fail(&mut self, t: TxnId, _error: TxnError) {
        self.abort(t);
    }

    /// The writer holding `key`'s write lock, if it is not `t`.
    fn write_holder(&self, key: Key, t: TxnId) -> Option<TxnId> {
        let last = self.rows.get(&key)?.last()?;
        (last.commit.is_none() && last.creator != t).then_some(last.creator)
    }

    /// Parks `t` waiting for `holders`, or fails it if that closes a cycle of waits.
    fn wait<T>(&mut self, t: TxnId, holders: Vec<TxnId>) -> Outcome<T> {
        debug_assert!(!holders.is_empty() && !holders.contains(&t));
        // Is `t` reachable from a holder through the waits? Then this wait is a deadlock.
        let mut stack = holders.clone();
        let mut seen = BTreeSet::new();
        while let Some(w) = stack.pop() {
            if w == t {
                self.fail(t, TxnError::Deadlock);
                return Outcome::Failed(TxnError::Deadlock);
            }
            if seen.insert(w) {
                stack.extend(self.txns.get(&w).map_or(&[][..], |x| &x.waiting[..]));
            }
        }
        self.txn_mut(t).waiting = holders;
        Outcome::Blocked
    }

    /// The version of `key` that `t` reads at `snapshot` (for snapshot levels), the newest
    /// committed one (locking levels), or the newest of all (read uncommitted); `t`'s own
    /// write comes first at every level.
    fn visible(&self, key: Key, t: TxnId, snapshot: u64) -> Option<&Version<V>> {
        let level = self.txn(t).level;
        let versions = self.rows.get(&key)?;
        versions.iter().rev().find(|v| {
            v.creator == t
                || match level {
                    Level::ReadUncommitted => true,
                    l if l.snapshot() => v.commit.is_some_and(|c| c <= snapshot),
                    _ => v.commit.is_some(),
                }
        })
    }

    /// Reads `key`: `None` if there is no such row.
    pub fn read(&mut self, t: TxnId, key: Key) -> Outcome<Option<V>> {
        if let Err(e) = self.check_runnable(t) {
            return Outcome::Failed(e);
        }
        let level = self.txn(t).level;
        if level.read_locks() {
            if let Some(holder) = self.write_holder(key, t) {
                return self.wait(t, vec![holder]);
            }
            self.txn_mut(t).reads.insert(key);
            self.readers.entry(key).or_default().insert(t);
        }
        let snapshot = self.snapshot(t);
        let value = self.visible(key, t, snapshot).and_then(|v| v.value.clone());
        if level == Level::Serializable && !self.bugs.no_rw_tracking {
            self.txn_mut(t).reads.insert(key);
            self.readers.entry(key).or_default().insert(t);
            // Versions newer than the one read: t -rw-> each of their writers.
            let newer: Vec<TxnId> = self.rows.get(&key).map_or(Vec::new(), |versions| {
                versions
                    .iter()
                    .filter(|v| v.creator != t && v.commit.is_none_or(|c| c > snapshot))
                    .map(|v| v.creator)
                    .collect()
            });
            for w in newer {
                if let Err(e) = self.rw_edge(t, t, w) {
                    return Outcome::Failed(e);
                }
            }
        }
        Outcome::Done(value)
    }

    /// Writes `key` (`None` deletes the row).
    pub fn write(&mut self, t: TxnId, key: Key, value: Option<V>) -> Outcome<()> {
        self.update_row(t, key, &|_| value.clone())
    }

    /// Reads and writes `key` as one statement (PostgreSQL's `UPDATE .. SET v = f(v)`, an
    /// insert if there is no row): `f` gets the row's current value as the level sees it.
    pub fn modify(&mut self, t: TxnId, key: Key, f: &dyn Fn(Option<&V>) -> V) -> Outcome<()> {
        self.update_row(t, key, &|old| Some(f(old)))
    }

    fn update_row(
        &mut self,
        t: TxnId,
        key: Key,
        f: &dyn Fn(Option<&V>) -> Option<V>,
    ) -> Outcome<()> {
        if let Err(e) = self.check_runnable(t) {
            return Outcome::Failed(e);
        }
        if let Some(holder) = self.write_holder(key, t) {
            return self.wait(t, vec![holder]);
        }
        let level = self.txn(t).level;
        if level.read_locks() {
            let others: Vec<TxnId> = self.readers.get(&key).map_or(Vec::new(), |r| {
                r.iter().copied().filter(|r| *r != t && self.txn(*r).live()).collect()
            });
            if !others.is_empty() {
                return self.wait(t, others);
            }
        }
        let snapshot = self.snapshot(t);
        if level.transaction_snapshot() && !self.bugs.no_first_committer_wins {
            // First-updater-wins: a version committed since the snapshot, by another.
            let newer = self.rows.get(&key).is_some_and(|versions| {
                versions.iter().any(|v| v.creator != t && v.commit.is_some_and(|c| c > snapshot))
            });
            if newer {
                self.fail(t, TxnError::SerializationFailure);
                return Outcome::Failed(TxnError::SerializationFailure);
            }
        }
        if level == Level::Serializable && !self.bugs.no_rw_tracking {
            // Every concurrent reader of the row -rw-> t.
            let readers: Vec<TxnId> = self.readers.get(&key).map_or(Vec::new(), |r| {
                r.iter().copied().filter(|r| *r != t && self.concurrent(*r, snapshot)).collect()
            });
            for r in readers {
                if let Err(e) = self.rw_edge(t, r, t) {
                    return Outcome::Failed(e);
                }
            }
        }
        // What the statement starts from: the snapshot's version at snapshot levels (the
        // newest committed one, unless first-updater-wins was switched off); the newest
        // committed (or own) version otherwise.
        let base = match level {
            l if l.transaction_snapshot() => self.visible(key, t, snapshot),
            _ => self.rows.get(&key).and_then(|vs| {
                vs.iter().rev().find(|v| v.creator == t || v.commit.is_some())
            }),
        };
        let value = f(base.and_then(|v| v.value.as_ref()));
        let versions = self.rows.entry(key).or_default();
        match versions.last_mut() {
            Some(last) if last.creator == t && last.commit.is_none() => last.value = value,
            _ => versions.push(Version { value, creator: t, commit: None }),
        }
        self.txn_mut(t).writes.insert(key);
        Outcome::Done(())
    }

    /// True if `r` ran concurrently with a transaction whose snapshot is `snapshot`.
    fn concurrent(&self, r: TxnId, snapshot: u64) -> bool {
        match self.txns.get(&r).map(|x| x.state) {
            Some(State::Active | State::Prepared) => true,
            Some(State::Committed(c)) => c > snapshot,
            _ => false,
        }
    }

    /// SSI: records `from -rw-> to`, made by a statement of `actor`, and fails the dangerous
    /// structure it may complete: a transaction with an anti-dependency in and one out. The
    /// pivot aborts if it still can; one that committed or prepared cannot, and then the
    /// actor does.
    fn rw_edge(&mut self, actor: TxnId, from: TxnId, to: TxnId) -> Result<(), TxnError> {
        if from == to {
            return Ok(());
        }
        self.txn_mut(from).rw_out.insert(to);
        self.txn_mut(to).rw_in.insert(from);
        for pivot in [from, to] {
            if !self.is_pivot(pivot) {
                continue;
            }
            if pivot != actor && self.txn(pivot).state == State::Active {
                self.txn_mut(pivot).doomed = true;
            } else {
                self.fail(actor, TxnError::SerializationFailure);
                return Err(TxnError::SerializationFailure);
            }
        }
        Ok(())
    }

    fn is_pivot(&self, t: TxnId) -> bool {
        let txn = self.txn(t);
        let counts = |set: &BTreeSet<TxnId>| {
            set.iter().any(|o| self.txns.get(o).is_some_and(|x| x.state != State::Aborted))
        };
        txn.state != State::Aborted && counts(&txn.rw_in) && counts(&txn.rw_out)
    }

    /// Runs the commit-time validation and promises the commit: afterwards [`Store::commit`]
    /// cannot fail and `t` keeps its locks until it commits or aborts.
    pub fn prepare(&mut self, t: TxnId) -> Outcome<()> {
        if self.txn(t).state == State::Prepared {
            return Outcome::Done(());
        }
        if let Err(e) = self.check_runnable(t) {
            return Outcome::Failed(e);
        }
        let level = self.txn(t).level;
        if level == Level::Serializable && !self.bugs.no_rw_tracking && self.is_pivot(t) {
            self.fail(t, TxnError::SerializationFailure);
            return Outcome::Failed(TxnError::SerializationFailure);
        }
        self.txn_mut(t).state = State::Prepared;
        Outcome::Done(())
    }

    /// Commits `t` (preparing it first if it is not prepared).
    pub fn commit(&mut self, t: TxnId) -> Outcome<()> {
        if let Outcome::Failed(e) = self.prepare(t) {
            return Outcome::Failed(e);
        }
        self.clock += 1;
        let ts = self.clock;
        let txn = self.txn_mut(t);
        txn.state = State::Committed(ts);
        let writes = std::mem::take(&mut txn.writes);
        for key in &writes {
            if let Some(v) = self.rows.get_mut(key).and_then(|vs| vs.last_mut()) {
                debug_assert!(v.creator == t && v.commit.is_none());
                v.commit = Some(ts);
            }
        }
        self.txn_mut(t).writes = writes;
        self.release(t);
        Outcome::Done(())
    }

    /// Aborts `t`: its versions vanish, its locks go.
    pub fn abort(&mut self, t: TxnId) {
        let Some(txn) = self.txns.get_mut(&t) else { return };
        if !txn.live() {
            return;
        }
        txn.state = State::Aborted;
        for key in std::mem::take(&mut txn.writes) {
            if let Some(vs) = self.rows.get_mut(&key) {
                vs.retain(|v| v.creator != t || v.commit.is_some());
                if vs.is_empty() {
                    self.rows.remove(&key);
                }
            }
        }
        self.release(t);
    }

    /// `t` ended: its read locks go (SIREAD marks stay while a concurrent transaction
    /// lives); everything waiting for it is woken.
    fn release(&mut self, t: TxnId) {
        let txn = self.txn_mut(t);
        txn.waiting.clear();
        let keep_marks = txn.level == Level::Serializable && matches!(txn.state, State::Committed(_));
        if !keep_marks {
            for key in std::mem::take(&mut txn.reads) {
                if let Some(r) = self.readers.get_mut(&key) {
                    r.remove(&t);
                    if r.is_empty() {
                        self.readers.remove(&key);
                    }
                }
            }
        }
        for (id, other) in &mut self.txns {
            if other.waiting.contains(&t) {
                other.waiting.clear();
                self.woken.push(*id);
            }
        }
        if matches!(self.txn(t).state, State::Aborted) || !keep_marks {
            self.forget_if_done(t);
        }
    }

    /// Drops an ended transaction nothing refers to any more.
    fn forget_if_done(&mut self, t: TxnId) {
        let txn = self.txn(t);
        if txn.live() || !txn.reads.is_empty() || txn.level == Level::Serializable {
            return; // SSI keeps ended transactions for their edges until `gc`
        }
        self.txns.remove(&t);
    }

    /// Transactions whose parked statement may run now; issue it again.
    pub fn woken(&mut self) -> Vec<TxnId> {
        let mut woken = std::mem::take(&mut self.woken);
        woken.retain(|t| self.is_active(*t));
        woken.dedup();
        woken
    }

    /// The rows `t` wrote and their new values (`None`: deleted), by key.
    pub fn write_set(&self, t: TxnId) -> Vec<(Key, Option<V>)> {
        let txn = self.txn(t);
        txn.writes
            .iter()
            .filter_map(|key| {
                let v = self.rows.get(key)?.iter().rev().find(|v| v.creator == t)?;
                Some((*key, v.value.clone()))
            })
            .collect()
    }

    /// The table as committed now, by key.
    pub fn rows(&self) -> Vec<(Key, V)> {
        self.rows
            .iter()
            .filter_map(|(key, vs)| {
                let v = vs.iter().rev().find(|v| v.commit.is_some())?;
                Some((*key, v.value.clone()?))
            })
            .collect()
    }

    /// Drops versions no live snapshot can read, and ended transactions no live one ran
    /// beside. Returns how many versions went.
    pub fn gc(&mut self) -> usize {
        let horizon = self
            .txns
            .values()
            .filter(|x| x.live())
            .map(|x| x.snapshot.unwrap_or(x.start).min(x.start))
            .min()
            .unwrap_or(self.clock);
        let mut dropped = 0;
        self.rows.retain(|_, vs| {
            // Keep the newest version committed at or before the horizon, and all after it.
            if let Some(keep) =
                vs.iter().rposition(|v| v.commit.is_some_and(|c| c <= horizon))
            {
                dropped += keep;
                vs.drain(..keep);
                if vs.len() == 1 && vs[0].value.is_none() && vs[0].commit.is_some() {
                    dropped += 1;
                    return false; // a delete everyone sees
                }
            }
            true
        });
        let ended: Vec<TxnId> = self
            .txns
            .iter()
            .filter(|(_, x)| match x.state {
                State::Committed(c) => c <= horizon,
                State::Aborted => true,
                _ => false,
            })
            .map(|(t, _)| *t)
            .collect();
        for t in ended {
            let txn = self.txns.remove(&t).expect("present");
            for key in txn.reads {
                if let Some(r) = self.readers.get_mut(&key) {
                    r.remove(&t);
                    if r.is_empty() {
                        self.readers.remove(&key);
                    }
                }
            }
        }
        dropped
    }

    /// Versions held now, over all rows.
    pub fn versions_alive(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }
}
