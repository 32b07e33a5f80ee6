//! The store: version chains, transactions, the lock table, the wait-for graph and SSI's
//! rw-antidependencies. See the module documentation of [`crate::txn`] for the rules.

use super::{Bugs, Key, Level, Outcome, Pred, Target, TxnError, TxnId, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A logical commit timestamp: a snapshot `s` sees the versions committed at or before `s`.
type Ts = u64;

/// The writer of the rows [`Store::load`] puts in: no transaction.
const LOADER: TxnId = 0;

/// One version of a row.
#[derive(Clone, Debug)]
struct Version<V> {
    /// The row's value; `None`: the row was deleted (a tombstone).
    value: Option<V>,
    writer: TxnId,
    /// When it committed; `None` while its writer is running (then it is the newest).
    commit_ts: Option<Ts>,
}

/// Where a transaction is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnState {
    /// Running; it may issue statements.
    Active,
    /// Running, with a statement parked until [`Store::woken`] names it.
    Blocked,
    /// Prepared: its commit cannot fail; it keeps its locks until it commits or aborts.
    Prepared,
    Committed,
    Aborted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Life {
    Active,
    Prepared,
    Committed,
    Aborted,
}

#[derive(Debug)]
struct Txn {
    level: Level,
    life: Life,
    /// Snapshot isolation and serializable: taken at the first statement.
    snapshot: Option<Ts>,
    /// Read committed: the snapshot of a statement parked while it waits, kept for its retry.
    statement_snapshot: Option<Ts>,
    commit_ts: Option<Ts>,
    /// The keys this transaction wrote (its versions are the newest of each).
    writes: BTreeSet<Key>,
    /// SIREAD marks (serializable only): keys read, rows matched by predicates, predicates.
    read_keys: BTreeSet<Key>,
    read_preds: Vec<Pred>,
    /// rw-antidependencies: `rw_in` read something this one wrote, `rw_out` wrote something
    /// this one read, without either seeing the other's effect.
    rw_in: BTreeSet<TxnId>,
    rw_out: BTreeSet<TxnId>,
    /// The transactions its parked statement waits for.
    waits_for: BTreeSet<TxnId>,
    /// Rebuilt from a log after a crash: its rw-antidependencies are unknown and assumed
    /// ([`Store::restore_prepared`]).
    assumed: bool,
}

impl Txn {
    fn running(&self) -> bool {
        matches!(self.life, Life::Active | Life::Prepared)
    }
}

/// The item locks on one key.
#[derive(Debug, Default)]
struct ItemLock {
    exclusive: Option<TxnId>,
    shared: BTreeSet<TxnId>,
}

/// How a statement reads rows.
#[derive(Clone, Copy, Debug)]
enum View {
    /// The newest version, committed or not (read uncommitted).
    Newest,
    /// The transaction's own write, else the newest committed version (lock-based levels).
    Latest,
    /// The transaction's own write, else the version this snapshot sees.
    Snapshot(Ts),
}

/// A multi-version store of rows `Key -> V` with transactions at six isolation levels.
///
/// Every statement takes the transaction it runs in and returns an [`Outcome`]. Calling a
/// statement, `prepare` or `commit` for a transaction that is not running, or `commit` for an
/// unknown one, is a bug in the caller and panics; [`Store::state`] says where one is.
#[derive(Debug)]
pub struct Store<V: Value> {
    bugs: Bugs,
    /// The newest commit timestamp handed out.
    clock: Ts,
    next_txn: TxnId,
    rows: BTreeMap<Key, Vec<Version<V>>>,
    txns: BTreeMap<TxnId, Txn>,
    locks: BTreeMap<Key, ItemLock>,
    /// Serializable 2PL's predicate locks, held to the end of their transaction.
    pred_locks: Vec<(TxnId, Pred)>,
    woken: Vec<TxnId>,
}

/// One row a write statement looks at: its key and the value its view saw (`None`: no row).
struct Planned<V> {
    key: Key,
    seen: Option<V>,
}

impl<V: Value> Store<V> {
    /// An empty store with these bug knobs.
    pub fn new(bugs: Bugs) -> Self {
        Store {
            bugs,
            clock: 0,
            next_txn: 1,
            rows: BTreeMap::new(),
            txns: BTreeMap::new(),
            locks: BTreeMap::new(),
            pred_locks: Vec::new(),
            woken: Vec::new(),
        }
    }

    /// Puts committed rows in, as if one transaction wrote and committed them now: every later
    /// snapshot sees them. Loading a key another transaction has an uncommitted write to
    /// panics (load the table before the transactions start).
    pub fn load(&mut self, rows: impl IntoIterator<Item = (Key, V)>) {
        self.clock += 1;
        let ts = self.clock;
        for (key, value) in rows {
            let chain = self.rows.entry(key).or_default();
            assert!(
                chain.last().is_none_or(|v| v.commit_ts.is_some()),
                "load: key {key} has an uncommitted write"
            );
            chain.push(Version { value: Some(value), writer: LOADER, commit_ts: Some(ts) });
        }
    }

    /// Begins a transaction at `level`. Snapshot isolation and serializable take their
    /// snapshot at the first statement, not here.
    pub fn begin(&mut self, level: Level) -> TxnId {
        let id = self.next_txn;
        self.next_txn += 1;
        let txn = Txn {
            level,
            life: Life::Active,
            snapshot: None,
            statement_snapshot: None,
            commit_ts: None,
            writes: BTreeSet::new(),
            read_keys: BTreeSet::new(),
            read_preds: Vec::new(),
            rw_in: BTreeSet::new(),
            rw_out: BTreeSet::new(),
            waits_for: BTreeSet::new(),
            assumed: false,
        };
        self.txns.insert(id, txn);
        id
    }

    /// Reads one row: its value, or `None` when there is no such row.
    pub fn read(&mut self, t: TxnId, key: Key) -> Outcome<Option<V>> {
        let view = self.start_statement(t);
        let level = self.level(t);
        if level.lock_based() {
            if let Some(x) = self.exclusive_holder(key).filter(|&x| x != t) {
                return self.wait(t, BTreeSet::from([x]));
            }
            self.lock_shared(t, key);
        }
        let value = self.value_in(t, key, view).cloned();
        if self.tracks_reads(t) {
            self.txn_mut(t).read_keys.insert(key);
            self.read_edges(t, key, None);
        }
        self.finish(t, Outcome::Done(value))
    }

    /// Reads every row whose value matches `pred`, sorted by key.
    pub fn scan(&mut self, t: TxnId, pred: &Pred) -> Outcome<Vec<(Key, V)>> {
        let view = self.start_statement(t);
        if let Some(blocked) = self.predicate_read(t, pred) {
            return blocked;
        }
        let rows = self.matching(t, view, pred);
        self.after_predicate_read(t, pred, &rows);
        self.finish(t, Outcome::Done(rows))
    }

    /// Inserts a row, as `INSERT .. ON CONFLICT DO NOTHING`: when the row exists (for this
    /// transaction's level: its newest committed version, or its own write) nothing is
    /// inserted and the affected keys are `[]`; otherwise `[key]`. Under snapshot isolation and
    /// serializable, a row inserted or deleted by a concurrent transaction that committed
    /// after the snapshot is a serialization failure, as for any write.
    pub fn insert(&mut self, t: TxnId, key: Key, value: V) -> Outcome<Vec<Key>> {
        self.start_statement(t);
        let new = Some(value);
        if let Some(blocked) = self.write_lock_check(t, key, new.as_ref()) {
            return blocked;
        }
        if let Some(failed) = self.first_updater_wins(t, key) {
            return failed;
        }
        // The uniqueness check sees past the snapshot, as an index does: once the lock check
        // has waited for writers in flight, the latest version decides.
        let exists = self.latest(t, key).is_some();
        if self.tracks_reads(t) {
            self.txn_mut(t).read_keys.insert(key);
            self.read_edges(t, key, None);
        }
        if exists {
            if self.level(t).lock_based() {
                self.lock_shared(t, key);
            }
            return self.finish(t, Outcome::Done(Vec::new()));
        }
        self.install(t, key, new);
        self.finish(t, Outcome::Done(vec![key]))
    }

    /// Updates the target rows to `f(old value)`; returns the keys changed, sorted.
    pub fn update(&mut self, t: TxnId, target: &Target, f: &dyn Fn(&V) -> V) -> Outcome<Vec<Key>> {
        self.change(t, target, Some(f))
    }

    /// Deletes the target rows; returns the keys deleted, sorted.
    pub fn delete(&mut self, t: TxnId, target: &Target) -> Outcome<Vec<Key>> {
        self.change(t, target, None)
    }

    /// Writes one row without reading it: an upsert, or a delete for `None`.
    pub fn write(&mut self, t: TxnId, key: Key, value: Option<V>) -> Outcome<()> {
        self.start_statement(t);
        if let Some(blocked) = self.write_lock_check(t, key, value.as_ref()) {
            return blocked;
        }
        if let Some(failed) = self.first_updater_wins(t, key) {
            return failed;
        }
        self.install(t, key, value);
        self.finish(t, Outcome::Done(()))
    }

    /// Reads one row and writes `f(its value)` (upserting when it is absent) as one statement,
    /// like PostgreSQL's `INSERT .. ON CONFLICT DO UPDATE SET v = v || x`: the way to append to
    /// a list. Read committed applies `f` to the newest committed version (after waiting for a
    /// writer in flight); snapshot isolation and serializable to the snapshot's, failing when a
    /// concurrent transaction changed the row.
    pub fn modify(&mut self, t: TxnId, key: Key, f: &dyn Fn(Option<&V>) -> V) -> Outcome<()> {
        let view = self.start_statement(t);
        let base_view = match view {
            View::Snapshot(_) if self.level(t) == Level::ReadCommitted => View::Latest,
            other => other,
        };
        let new = f(self.value_in(t, key, base_view));
        if let Some(blocked) = self.write_lock_check(t, key, Some(&new)) {
            return blocked;
        }
        if let Some(failed) = self.first_updater_wins(t, key) {
            return failed;
        }
        // After the wait the newest version may have changed: compute from it again.
        let new = f(self.value_in(t, key, base_view));
        if self.tracks_reads(t) {
            self.txn_mut(t).read_keys.insert(key);
            self.read_edges(t, key, None);
        }
        self.install(t, key, Some(new));
        self.finish(t, Outcome::Done(()))
    }

    /// The 2PC vote: runs every commit-time check. After `Done`, [`Store::commit`] cannot
    /// fail, and the transaction keeps its locks until it commits or aborts. Preparing a
    /// prepared transaction is `Done` again.
    pub fn prepare(&mut self, t: TxnId) -> Outcome<()> {
        let txn = self.txn(t);
        match txn.life {
            Life::Prepared => return Outcome::Done(()),
            Life::Active => {}
            life => panic!("prepare: transaction {t} is {life:?}"),
        }
        if txn.level == Level::Serializable && self.dangerous(t) {
            self.end(t, false);
            return Outcome::Failed(TxnError::SerializationFailure);
        }
        let txn = self.txn_mut(t);
        txn.life = Life::Prepared;
        txn.waits_for.clear(); // a parked statement is abandoned
        Outcome::Done(())
    }

    /// Rebuilds a prepared transaction from a 2PC participant's log after a crash: runs its
    /// reads and writes again, so it holds its read and write locks (or SIREAD marks), and
    /// makes it prepared without the commit-time checks, which it passed before the crash.
    /// Its rw-antidependencies with transactions from before the crash are lost, so (as
    /// PostgreSQL assumes of a recovered prepared transaction) a serializable one is taken to
    /// have one in each direction: a transaction that forms an rw-antidependency with it,
    /// either way, fails at its own prepare, since the recovered one can no longer be aborted.
    ///
    /// # Panics
    /// If a read or write must wait: transactions prepared together never conflict, so the
    /// records disagree with each other.
    pub fn restore_prepared(
        &mut self,
        level: Level,
        reads: &[Key],
        writes: &[(Key, Option<V>)],
    ) -> TxnId {
        let t = self.begin(level);
        for &key in reads {
            let done = self.read(t, key);
            assert!(matches!(done, Outcome::Done(_)), "restoring a read of {key}: {done:?}");
        }
        for (key, value) in writes {
            let done = self.write(t, *key, value.clone());
            assert!(matches!(done, Outcome::Done(())), "restoring a write of {key}: {done:?}");
        }
        let txn = self.txn_mut(t);
        txn.life = Life::Prepared;
        txn.assumed = level == Level::Serializable;
        t
    }

    /// Commits: prepares first if needed (which may fail), then makes the writes visible to
    /// later snapshots and releases every lock.
    pub fn commit(&mut self, t: TxnId) -> Outcome<()> {
        if let Outcome::Failed(e) = self.prepare(t) {
            return Outcome::Failed(e);
        }
        self.end(t, true);
        Outcome::Done(())
    }

    /// Aborts: drops the transaction's writes and releases its locks. Aborting a transaction
    /// that already aborted (or failed) does nothing.
    pub fn abort(&mut self, t: TxnId) {
        match self.txns.get(&t).map(|txn| txn.life) {
            Some(Life::Active | Life::Prepared) => self.end(t, false),
            Some(Life::Aborted) | None => {}
            Some(Life::Committed) => panic!("abort: transaction {t} has committed"),
        }
    }

    /// The rows this transaction wrote and what it wrote (`None`: deleted), sorted by key:
    /// what a 2PC participant logs at prepare.
    pub fn write_set(&self, t: TxnId) -> Vec<(Key, Option<V>)> {
        let Some(txn) = self.txns.get(&t) else { return Vec::new() };
        if !txn.running() {
            return Vec::new();
        }
        txn.writes.iter().map(|&k| (k, self.own(t, k).and_then(|v| v.value.clone()))).collect()
    }

    /// The transactions whose parked statement may now run, in the order they were released
    /// (each once); the caller issues each one's statement again.
    pub fn woken(&mut self) -> Vec<TxnId> {
        std::mem::take(&mut self.woken)
    }

    /// The transactions `t`'s parked statement waits for (empty if it is not parked).
    pub fn blockers(&self, t: TxnId) -> Vec<TxnId> {
        self.txns.get(&t).map(|txn| txn.waits_for.iter().copied().collect()).unwrap_or_default()
    }

    /// The latest committed table, sorted by key.
    pub fn rows(&self) -> Vec<(Key, V)> {
        self.rows
            .iter()
            .filter_map(|(&k, chain)| {
                let v = chain.iter().rev().find(|v| v.commit_ts.is_some())?;
                Some((k, v.value.clone()?))
            })
            .collect()
    }

    /// Where a transaction is; `None` for an id never begun, or finished long enough ago that
    /// [`Store::gc`] forgot it.
    pub fn state(&self, t: TxnId) -> Option<TxnState> {
        let txn = self.txns.get(&t)?;
        Some(match txn.life {
            Life::Active if !txn.waits_for.is_empty() => TxnState::Blocked,
            Life::Active => TxnState::Active,
            Life::Prepared => TxnState::Prepared,
            Life::Committed => TxnState::Committed,
            Life::Aborted => TxnState::Aborted,
        })
    }

    /// Whether the transaction is running (active, blocked or prepared).
    pub fn is_active(&self, t: TxnId) -> bool {
        self.txns.get(&t).is_some_and(Txn::running)
    }

    /// Drops the versions no snapshot in use can see (every version older than the newest one
    /// committed at or before the oldest snapshot in use, and tombstones nothing needs) and
    /// forgets the finished transactions no running one is concurrent with. Returns how many
    /// versions it dropped.
    pub fn gc(&mut self) -> usize {
        let horizon = self.horizon();
        let mut dropped = 0;
        self.rows.retain(|_, chain| {
            // The newest version every snapshot in use sees; everything older is invisible.
            if let Some(keep) =
                chain.iter().rposition(|v| v.commit_ts.is_some_and(|c| c <= horizon))
            {
                dropped += keep;
                chain.drain(..keep);
                if chain[0].value.is_none() {
                    // A tombstone everyone sees reads as no row at all.
                    dropped += 1;
                    chain.remove(0);
                }
            }
            !chain.is_empty()
        });
        let forget: Vec<TxnId> = self
            .txns
            .iter()
            .filter(|(_, txn)| match txn.life {
                Life::Aborted => true,
                Life::Committed => txn.commit_ts.is_some_and(|c| c <= horizon),
                Life::Active | Life::Prepared => false,
            })
            .map(|(&id, _)| id)
            .collect();
        for id in &forget {
            self.txns.remove(id);
        }
        for txn in self.txns.values_mut() {
            txn.rw_in.retain(|id| !forget.contains(id));
            txn.rw_out.retain(|id| !forget.contains(id));
        }
        dropped
    }

    /// How many versions (values and tombstones) the store holds.
    pub fn versions_alive(&self) -> usize {
        self.rows.values().map(Vec::len).sum()
    }

    // ---- statements: the shared steps ----

    fn txn(&self, t: TxnId) -> &Txn {
        self.txns.get(&t).unwrap_or_else(|| panic!("unknown transaction {t}"))
    }

    fn txn_mut(&mut self, t: TxnId) -> &mut Txn {
        self.txns.get_mut(&t).unwrap_or_else(|| panic!("unknown transaction {t}"))
    }

    fn level(&self, t: TxnId) -> Level {
        self.txn(t).level
    }

    /// Checks the transaction may run a statement and returns the view it reads through.
    fn start_statement(&mut self, t: TxnId) -> View {
        let clock = self.clock;
        let txn = self.txn_mut(t);
        assert_eq!(txn.life, Life::Active, "a statement in transaction {t}, which is not active");
        txn.waits_for.clear();
        match txn.level {
            Level::ReadUncommitted => View::Newest,
            Level::RepeatableRead | Level::Serializable2pl => View::Latest,
            Level::ReadCommitted => View::Snapshot(*txn.statement_snapshot.get_or_insert(clock)),
            Level::SnapshotIsolation | Level::Serializable => {
                View::Snapshot(*txn.snapshot.get_or_insert(clock))
            }
        }
    }

    /// Ends a statement that did not block: read committed's next statement takes a fresh
    /// snapshot.
    fn finish<T>(&mut self, t: TxnId, outcome: Outcome<T>) -> Outcome<T> {
        if let Some(txn) = self.txns.get_mut(&t) {
            txn.statement_snapshot = None;
        }
        outcome
    }

    /// Parks `t`'s statement behind `blockers`, or fails it when that closes a cycle.
    fn wait<T>(&mut self, t: TxnId, blockers: BTreeSet<TxnId>) -> Outcome<T> {
        assert!(!blockers.is_empty() && !blockers.contains(&t), "{t} waits for {blockers:?}");
        if blockers.iter().any(|&b| self.waits_on(b, t)) {
            self.end(t, false);
            return Outcome::Failed(TxnError::Deadlock);
        }
        self.txn_mut(t).waits_for = blockers;
        Outcome::Blocked
    }

    /// Whether `from` waits, directly or through others, for `to`.
    fn waits_on(&self, from: TxnId, to: TxnId) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(at) = stack.pop() {
            if at == to {
                return true;
            }
            if seen.insert(at) {
                if let Some(txn) = self.txns.get(&at) {
                    stack.extend(txn.waits_for.iter().copied());
                }
            }
        }
        false
    }

    /// Commits (at the next timestamp) or aborts `t`, releases its locks and wakes waiters.
    fn end(&mut self, t: TxnId, commit: bool) {
        let ts = if commit {
            self.clock += 1;
            Some(self.clock)
        } else {
            None
        };
        let txn = self.txn_mut(t);
        txn.life = if commit { Life::Committed } else { Life::Aborted };
        txn.commit_ts = ts;
        txn.waits_for.clear();
        txn.statement_snapshot = None;
        // A committed transaction keeps its write set's keys: SSI asks whether it wrote.
        let writes: Vec<Key> = txn.writes.iter().copied().collect();
        if !commit {
            txn.writes.clear();
        }
        for key in &writes {
            let chain = self.rows.get_mut(key).expect("a written key has versions");
            let last = chain.last_mut().expect("a written key has versions");
            assert!(last.writer == t && last.commit_ts.is_none(), "{t}'s write is the newest");
            if commit {
                last.commit_ts = ts;
            } else {
                chain.pop();
                if chain.is_empty() {
                    self.rows.remove(key);
                }
            }
        }
        self.locks.retain(|_, lock| {
            if lock.exclusive == Some(t) {
                lock.exclusive = None;
            }
            lock.shared.remove(&t);
            lock.exclusive.is_some() || !lock.shared.is_empty()
        });
        self.pred_locks.retain(|(holder, _)| *holder != t);
        for (&id, txn) in self.txns.iter_mut() {
            if txn.waits_for.contains(&t) {
                txn.waits_for.clear();
                self.woken.push(id);
            }
        }
    }

    // ---- reading versions ----

    /// `t`'s own uncommitted version of `key`.
    fn own(&self, t: TxnId, key: Key) -> Option<&Version<V>> {
        self.rows.get(&key)?.last().filter(|v| v.writer == t && v.commit_ts.is_none())
    }

    fn newest_committed(&self, key: Key) -> Option<&Version<V>> {
        self.rows.get(&key)?.iter().rev().find(|v| v.commit_ts.is_some())
    }

    /// The value `t`'s own write, else the newest committed version, holds.
    fn latest(&self, t: TxnId, key: Key) -> Option<&V> {
        match self.own(t, key) {
            Some(v) => v.value.as_ref(),
            None => self.newest_committed(key)?.value.as_ref(),
        }
    }

    /// The version a snapshot sees (own writes aside).
    fn at_snapshot(&self, key: Key, snapshot: Ts) -> Option<&Version<V>> {
        self.rows.get(&key)?.iter().rev().find(|v| v.commit_ts.is_some_and(|c| c <= snapshot))
    }

    fn value_in(&self, t: TxnId, key: Key, view: View) -> Option<&V> {
        match view {
            View::Newest => self.rows.get(&key)?.last()?.value.as_ref(),
            View::Latest => self.latest(t, key),
            View::Snapshot(s) => match self.own(t, key) {
                Some(v) => v.value.as_ref(),
                None => self.at_snapshot(key, s)?.value.as_ref(),
            },
        }
    }

    /// The rows matching `pred` in a view, sorted by key.
    fn matching(&self, t: TxnId, view: View, pred: &Pred) -> Vec<(Key, V)> {
        self.rows
            .keys()
            .filter_map(|&k| {
                let v = self.value_in(t, k, view)?;
                pred.matches(v).then(|| (k, v.clone()))
            })
            .collect()
    }

    // ---- locks ----

    fn exclusive_holder(&self, key: Key) -> Option<TxnId> {
        self.locks.get(&key)?.exclusive
    }

    fn lock_shared(&mut self, t: TxnId, key: Key) {
        let lock = self.locks.entry(key).or_default();
        if lock.exclusive != Some(t) {
            lock.shared.insert(t);
        }
    }

    /// The other transactions whose locks stop `t` writing `key` from its latest value to
    /// `new`: item lock holders, and predicate locks the old or the new value matches.
    fn write_blockers(&self, t: TxnId, key: Key, new: Option<&V>) -> BTreeSet<TxnId> {
        let mut blockers = BTreeSet::new();
        if let Some(lock) = self.locks.get(&key) {
            blockers.extend(lock.exclusive.filter(|&x| x != t));
            blockers.extend(lock.shared.iter().copied().filter(|&s| s != t));
        }
        let old = self.latest(t, key);
        for (holder, pred) in &self.pred_locks {
            if *holder != t && (pred.matches_opt(old) || pred.matches_opt(new)) {
                blockers.insert(*holder);
            }
        }
        blockers
    }

    /// Waits if another transaction's locks stop `t` writing `key`.
    fn write_lock_check<T>(&mut self, t: TxnId, key: Key, new: Option<&V>) -> Option<Outcome<T>> {
        let blockers = self.write_blockers(t, key, new);
        (!blockers.is_empty()).then(|| self.wait(t, blockers))
    }

    /// First updater wins (snapshot isolation, serializable): a version of `key` committed
    /// after `t`'s snapshot fails the write. The lock check has already waited for writers in
    /// flight, so every other version is committed.
    fn first_updater_wins<T>(&mut self, t: TxnId, key: Key) -> Option<Outcome<T>> {
        let txn = self.txn(t);
        if !matches!(txn.level, Level::SnapshotIsolation | Level::Serializable)
            || self.bugs.no_first_committer_wins
            || self.own(t, key).is_some()
        {
            return None;
        }
        let snapshot = txn.snapshot.expect("the statement took the snapshot");
        let newer = self.newest_committed(key).is_some_and(|v| v.commit_ts > Some(snapshot));
        newer.then(|| {
            self.end(t, false);
            Outcome::Failed(TxnError::SerializationFailure)
        })
    }

    /// A lock-based level's predicate read: waits for in-flight writes by others whose old or
    /// new value matches (`Some(Blocked)` or a deadlock); serializable 2PL then holds the
    /// predicate lock to the end. Multi-version levels and read uncommitted take none.
    fn predicate_read<T>(&mut self, t: TxnId, pred: &Pred) -> Option<Outcome<T>> {
        if !self.level(t).lock_based() {
            return None;
        }
        let mut blockers = BTreeSet::new();
        for (&key, lock) in &self.locks {
            let Some(x) = lock.exclusive.filter(|&x| x != t) else { continue };
            let new = self.rows.get(&key).and_then(|c| c.last()).and_then(|v| v.value.as_ref());
            let old = self.newest_committed(key).and_then(|v| v.value.as_ref());
            if pred.matches_opt(old) || pred.matches_opt(new) {
                blockers.insert(x);
            }
        }
        if !blockers.is_empty() {
            return Some(self.wait(t, blockers));
        }
        if self.level(t) == Level::Serializable2pl
            && !self.pred_locks.iter().any(|(h, p)| *h == t && p == pred)
        {
            self.pred_locks.push((t, pred.clone()));
        }
        None
    }

    /// After a predicate read returned `rows`: repeatable read holds item locks on them;
    /// serializable records its SIREAD marks and the rw-antidependencies of what it skipped.
    fn after_predicate_read(&mut self, t: TxnId, pred: &Pred, rows: &[(Key, V)]) {
        if self.level(t) == Level::RepeatableRead {
            for (k, _) in rows {
                self.lock_shared(t, *k);
            }
        }
        if self.tracks_reads(t) {
            let txn = self.txn_mut(t);
            txn.read_keys.extend(rows.iter().map(|(k, _)| *k));
            if !txn.read_preds.contains(pred) {
                txn.read_preds.push(pred.clone());
            }
            let keys: Vec<Key> = self.rows.keys().copied().collect();
            for key in keys {
                self.read_edges(t, key, Some(pred));
            }
        }
    }

    // ---- writing ----

    /// `update` (with `f`) and `delete` (without).
    fn change(
        &mut self,
        t: TxnId,
        target: &Target,
        f: Option<&dyn Fn(&V) -> V>,
    ) -> Outcome<Vec<Key>> {
        let view = self.start_statement(t);
        let level = self.level(t);
        let planned: Vec<Planned<V>> = match target {
            Target::Key(key) => {
                if level.lock_based() && self.value_in(t, *key, view).is_none() {
                    // Finding no row is a read of the key: hold it, as a read would.
                    if let Some(x) = self.exclusive_holder(*key).filter(|&x| x != t) {
                        return self.wait(t, BTreeSet::from([x]));
                    }
                }
                let seen = self.value_in(t, *key, view).cloned();
                vec![Planned { key: *key, seen }]
            }
            Target::Where(pred) => {
                if let Some(blocked) = self.predicate_read(t, pred) {
                    return blocked;
                }
                let rows = self.matching(t, view, pred);
                rows.into_iter().map(|(key, v)| Planned { key, seen: Some(v) }).collect()
            }
        };
        // Every lock first, so a statement that must wait has changed nothing.
        for p in planned.iter().filter(|p| p.seen.is_some()) {
            let new = f.map(|f| f(p.seen.as_ref().expect("filtered")));
            if let Some(blocked) = self.write_lock_check(t, p.key, new.as_ref()) {
                return blocked;
            }
        }
        for p in planned.iter().filter(|p| p.seen.is_some()) {
            if let Some(failed) = self.first_updater_wins(t, p.key) {
                return failed;
            }
        }
        // The reads this statement made.
        match target {
            Target::Key(key) => {
                if level.lock_based() {
                    self.lock_shared(t, *key);
                }
                if self.tracks_reads(t) {
                    self.txn_mut(t).read_keys.insert(*key);
                    self.read_edges(t, *key, None);
                }
            }
            Target::Where(pred) => {
                let rows: Vec<(Key, V)> =
                    planned.iter().filter_map(|p| Some((p.key, p.seen.clone()?))).collect();
                self.after_predicate_read(t, pred, &rows);
            }
        }
        let mut affected = Vec::new();
        for p in planned {
            let Some(seen) = p.seen else { continue };
            let Some(base) = self.base(t, p.key, view, target, seen) else { continue };
            self.install(t, p.key, f.map(|f| f(&base)));
            affected.push(p.key);
        }
        self.finish(t, Outcome::Done(affected))
    }

    /// The value a write statement computes from, once it holds the row's lock; `None` when
    /// read committed's re-check skips the row.
    fn base(&self, t: TxnId, key: Key, view: View, target: &Target, seen: V) -> Option<V> {
        if self.own(t, key).is_some() {
            return self.latest(t, key).cloned();
        }
        match (self.level(t), view) {
            (Level::ReadCommitted, View::Snapshot(s)) => {
                let newest = self.newest_committed(key)?;
                if newest.commit_ts <= Some(s) {
                    return Some(seen);
                }
                // Changed since the statement's snapshot: re-check it (EvalPlanQual).
                let value = newest.value.as_ref()?;
                let still = match target {
                    Target::Key(_) => true,
                    Target::Where(pred) => pred.matches(value),
                };
                still.then(|| value.clone())
            }
            // Snapshot isolation and serializable: first updater wins has failed any row
            // changed since the snapshot, except with the bug, which writes from the snapshot.
            (_, View::Snapshot(_)) => Some(seen),
            (_, View::Newest | View::Latest) => self.latest(t, key).cloned(),
        }
    }

    /// Writes `t`'s version of `key` (replacing its earlier one) and takes the write lock.
    fn install(&mut self, t: TxnId, key: Key, value: Option<V>) {
        let old = self.latest(t, key).cloned();
        let chain = self.rows.entry(key).or_default();
        match chain.last_mut() {
            Some(last) if last.writer == t && last.commit_ts.is_none() => {
                last.value = value.clone()
            }
            last => {
                assert!(
                    last.is_none_or(|v| v.commit_ts.is_some()),
                    "{t} writes key {key} over another transaction's uncommitted version"
                );
                chain.push(Version { value: value.clone(), writer: t, commit_ts: None });
            }
        }
        let lock = self.locks.entry(key).or_default();
        assert!(lock.exclusive.is_none_or(|x| x == t), "{t} writes key {key} without its lock");
        lock.exclusive = Some(t);
        self.txn_mut(t).writes.insert(key);
        if self.tracks_reads(t) {
            self.write_edges(t, key, old.as_ref(), value.as_ref());
        }
    }

    // ---- serializable snapshot isolation ----

    /// Whether `t` takes part in SSI's read tracking.
    fn tracks_reads(&self, t: TxnId) -> bool {
        self.txn(t).level == Level::Serializable && !self.bugs.no_rw_tracking
    }

    fn add_edge(&mut self, reader: TxnId, writer: TxnId) {
        if reader == writer {
            return;
        }
        self.txn_mut(reader).rw_out.insert(writer);
        self.txn_mut(writer).rw_in.insert(reader);
    }

    /// Whether `id` is a serializable transaction that has not aborted.
    fn ssi_member(&self, id: TxnId) -> bool {
        self.txns
            .get(&id)
            .is_some_and(|x| x.level == Level::Serializable && x.life != Life::Aborted)
    }

    /// `reader` read `key` (with `pred`, or as an item): every version of it newer than the one
    /// its snapshot saw (committed since, or in flight) was written by a transaction it does
    /// not see: `reader -rw-> writer`. For a predicate, only versions that change whether the
    /// row matches count (the previous or the new value matches).
    fn read_edges(&mut self, reader: TxnId, key: Key, pred: Option<&Pred>) {
        let Some(snapshot) = self.txn(reader).snapshot else { return };
        let Some(chain) = self.rows.get(&key) else { return };
        let mut writers = Vec::new();
        let mut prev: Option<&V> = None;
        for v in chain {
            let newer = v.commit_ts.is_none_or(|c| c > snapshot);
            let relevant = match pred {
                None => true,
                Some(p) => p.matches_opt(prev) || p.matches_opt(v.value.as_ref()),
            };
            if newer && relevant && v.writer != reader {
                writers.push(v.writer);
            }
            prev = v.value.as_ref();
        }
        for w in writers {
            if self.ssi_member(w) {
                self.add_edge(reader, w);
            }
        }
    }

    /// `writer` changed `key` from `old` to `new`: every concurrent serializable transaction
    /// that read the key, or scanned with a predicate either value matches, gets
    /// `reader -rw-> writer`.
    fn write_edges(&mut self, writer: TxnId, key: Key, old: Option<&V>, new: Option<&V>) {
        let snapshot = self.txn(writer).snapshot.expect("serializable writes take a snapshot");
        let readers: Vec<TxnId> = self
            .txns
            .iter()
            .filter(|(&id, r)| {
                id != writer
                    && r.level == Level::Serializable
                    && (r.running() || (r.life == Life::Committed && r.commit_ts > Some(snapshot)))
                    && (r.read_keys.contains(&key)
                        || r.read_preds.iter().any(|p| p.matches_opt(old) || p.matches_opt(new)))
            })
            .map(|(&id, _)| id)
            .collect();
        for r in readers {
            self.add_edge(r, writer);
        }
    }

    /// Whether preparing `x` would let a dangerous structure `T_in -rw-> pivot -rw-> T_out`
    /// in which `T_out` commits first complete. Checked for every structure `x` is part of
    /// whose other members have all prepared or committed (the last of the three to prepare
    /// decides, and can still be aborted), and, preferring to abort the pivot, for `x` as
    /// pivot with `T_out` committed and `T_in` still running.
    fn dangerous(&self, x: TxnId) -> bool {
        if self.bugs.no_rw_tracking {
            return false;
        }
        let live = |id: &TxnId| self.ssi_member(*id);
        let txn = self.txn(x);
        let assumed = |id: &TxnId| self.txns.get(id).is_some_and(|o| o.assumed);
        if txn.rw_in.iter().chain(&txn.rw_out).any(|id| live(id) && assumed(id)) {
            return true;
        }
        // x as pivot.
        for &i in txn.rw_in.iter().filter(|id| live(id)) {
            for &o in txn.rw_out.iter().filter(|id| live(id)) {
                if self.structure_dangerous(x, i, x, o, true) {
                    return true;
                }
            }
        }
        // x as T_in.
        for &p in txn.rw_out.iter().filter(|id| live(id)) {
            for &o in self.txn(p).rw_out.iter().filter(|id| live(id)) {
                if self.structure_dangerous(x, x, p, o, false) {
                    return true;
                }
            }
        }
        // x as T_out.
        for &p in txn.rw_in.iter().filter(|id| live(id)) {
            for &i in self.txn(p).rw_in.iter().filter(|id| live(id)) {
                if self.structure_dangerous(x, i, p, x, false) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether the structure `i -rw-> p -rw-> o`, seen by `x` as it prepares, is dangerous.
    fn structure_dangerous(&self, x: TxnId, i: TxnId, p: TxnId, o: TxnId, pivot: bool) -> bool {
        let life = |id: TxnId| self.txn(id).life;
        let commit = |id: TxnId| self.txn(id).commit_ts;
        let decided = |id: TxnId| id == x || matches!(life(id), Life::Prepared | Life::Committed);
        let all_decided = decided(i) && decided(p) && decided(o);
        let pivot_early = pivot && life(o) == Life::Committed;
        if !(all_decided || pivot_early) {
            return false;
        }
        // Does (or may) T_out commit first of the three?
        let others_committed =
            [i, p].into_iter().filter(|&id| id != o && life(id) == Life::Committed);
        let o_first = match commit(o) {
            Some(c) => others_committed.clone().all(|id| commit(id) > Some(c)),
            None => others_committed.count() == 0,
        };
        if !o_first {
            return false;
        }
        // A T_in that wrote nothing is harmless unless T_out committed before its snapshot.
        let reader = self.txn(i);
        if reader.writes.is_empty() {
            let before = match (commit(o), reader.snapshot) {
                (Some(c), Some(s)) => c <= s,
                _ => false,
            };
            return before;
        }
        true
    }

    /// The oldest snapshot a running transaction reads from (or will: a transaction without
    /// one takes the current time).
    fn horizon(&self) -> Ts {
        self.txns
            .values()
            .filter(|t| t.running())
            .filter_map(|t| t.snapshot.or(t.statement_snapshot))
            .min()
            .unwrap_or(self.clock)
            .min(self.clock)
    }
}
