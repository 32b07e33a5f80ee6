//! A shard: one participant of two-phase commit, holding its keys in an MVCC store
//! (`crate::txn::Store`) at the configured isolation level and its log in a storage engine.
//!
//! `Prepare` runs the shard's micro-operations in a local transaction; a statement that must
//! wait for a lock parks the transaction until the store wakes it. When they all ran, the
//! store validates the transaction (`prepare`: SSI's dangerous structures, first-updater-wins)
//! and the shard logs the prepared record (write set and reads) durably before it votes yes;
//! any failure votes no and aborts. From a yes on, the shard holds the transaction's locks and
//! cannot decide alone: it is *in doubt* until the coordinator's decision arrives, and asks
//! for it again and again. A commit is logged durably before its writes become visible, so a
//! transaction that read them can never survive a crash that loses them.
//!
//! Recovery replays the commit records in order into a fresh store, then re-prepares every
//! prepared transaction that has no commit record (taking its read and write locks again; under
//! SSI its lost rw-antidependencies are assumed, `Store::restore_prepared`) and asks the
//! coordinator how each ended.

use super::api::{Mop, ReadValue, TxnKind};
use super::config::TxnConfig;
use super::messages::{Msg, TxnId};
use super::records::{key, key_number, Applied, Prepared, Write};
use super::{facts, TxnNode, COORDINATOR};
use crate::node::{Context, Fact, FsyncId, Nanos};
use crate::storage::{Engine, Seq};
use crate::txn::{Level, Outcome, Store, TxnError};
use std::collections::BTreeMap;
use std::ops::Bound;

/// rw-register keys live at `key + RW_KEY_BASE` in the store, apart from the lists.
pub const RW_KEY_BASE: i64 = 1 << 40;

/// The store key of an API key of `kind`.
pub fn store_key(kind: TxnKind, key: i64) -> i64 {
    match kind {
        TxnKind::ListAppend => key,
        TxnKind::RwRegister => key + RW_KEY_BASE,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Running its statements (possibly parked on a lock).
    Running,
    /// Prepared in the store; the prepared record is on its way to the disk.
    Logging,
    /// Voted yes: in doubt until the decision arrives.
    Prepared,
    /// Decided commit; the commit record is on its way to the disk.
    Committing,
}

#[derive(Debug)]
struct Local {
    local: crate::txn::TxnId,
    kind: TxnKind,
    mops: Vec<(u16, Mop)>,
    cursor: usize,
    reads: Vec<(u16, ReadValue)>,
    writes: Vec<Write>,
    state: State,
    /// When it was prepared (for asking the coordinator).
    since: Nanos,
    /// A commit decision arrived before the shard prepared (only a broken coordinator sends
    /// one): commit as soon as it is prepared.
    commit_early: bool,
}

/// What a durable sequence number completes.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Prepared(TxnId),
    Committed(TxnId),
}

/// A shard's state while it is up.
pub struct Shard {
    level: Level,
    store: Store<Vec<i64>>,
    txns: BTreeMap<TxnId, Local>,
    by_local: BTreeMap<crate::txn::TxnId, TxnId>,
    /// Transactions that ended here: true committed, false aborted.
    finished: BTreeMap<TxnId, bool>,
    next_commit: u64,
    waits: std::collections::VecDeque<(Seq, Wait)>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shard {{ active: {}, finished: {} }}", self.txns.len(), self.finished.len())
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, TxnNode>;

impl Shard {
    /// Recovers the shard from its engine: commits replayed, prepared transactions re-taken.
    pub fn recover(ctx: Ctx<'_, '_>, engine: &mut dyn Engine, config: &TxnConfig) -> Self {
        let mut shard = Shard {
            level: config.level,
            store: Store::new(config.engine_bugs()),
            txns: BTreeMap::new(),
            by_local: BTreeMap::new(),
            finished: BTreeMap::new(),
            next_commit: 0,
            waits: Default::default(),
        };
        let rows = engine
            .scan(ctx, (Bound::Unbounded, Bound::Unbounded), usize::MAX)
            .expect("an engine without damage reads back");
        let mut table: BTreeMap<i64, Option<Vec<i64>>> = BTreeMap::new();
        let mut prepared = Vec::new();
        for row in &rows {
            if let Some(n) = key_number(b'c', &row.key) {
                let applied = Applied::decode(&row.value).expect("a commit record decodes");
                for (k, v) in applied.writes {
                    table.insert(k, v);
                }
                shard.finished.insert(applied.txn, true);
                shard.next_commit = shard.next_commit.max(n + 1);
            } else if let Some(txn) = key_number(b'p', &row.key) {
                prepared.push((txn, Prepared::decode(&row.value).expect("a prepared record")));
            }
        }
        shard.store.load(table.into_iter().filter_map(|(k, v)| Some((k, v?))));
        if config.bugs.forget_prepared_on_restart {
            prepared.clear();
        }
        for (txn, p) in prepared {
            if shard.finished.contains_key(&txn) {
                continue; // committed; the crash came before the prepared record's delete
            }
            // Its read locks (2PL) or SIREAD marks (SSI) as well as its write locks: a writer
            // must not slip in under a read the coordinator may still commit.
            let local = shard.store.restore_prepared(shard.level, &p.read_keys, &p.writes);
            // The record may have reached the disk without its fsync completing, so no
            // vote was cast for it yet; from now on it is durable and the shard votes yes.
            ctx.fact(Fact::custom(facts::VOTE, vec![txn, 1], "prepared record recovered"));
            shard.by_local.insert(local, txn);
            let entry = Local {
                local,
                kind: TxnKind::ListAppend, // read only while running; this one has run
                mops: Vec::new(),
                cursor: 0,
                reads: p.reads,
                writes: p.writes,
                state: State::Prepared,
                since: ctx.now(),
                commit_early: false,
            };
            shard.txns.insert(txn, entry);
        }
        shard.gauges(ctx);
        shard
    }

    /// Reports the shard's gauges: transactions in doubt, parked, and versions alive.
    fn gauges(&self, ctx: Ctx<'_, '_>) {
        let count = |s: State| self.txns.values().filter(|t| t.state == s).count() as i64;
        ctx.gauge("in_doubt", count(State::Prepared) + count(State::Committing));
        ctx.gauge("running", count(State::Running));
        ctx.gauge("versions", self.store.versions_alive() as i64);
    }

    /// A message from the coordinator.
    pub fn on_message(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, msg: Msg) {
        match msg {
            Msg::Prepare { txn, kind, mops } => self.prepare(ctx, engine, txn, kind, mops),
            Msg::Decide { txn, commit } => self.decide(ctx, engine, txn, commit),
            Msg::Vote { .. } | Msg::Ack { .. } | Msg::Inquire { .. } => {}
        }
        self.gauges(ctx);
    }

    fn prepare(
        &mut self,
        ctx: Ctx<'_, '_>,
        engine: &mut dyn Engine,
        txn: TxnId,
        kind: TxnKind,
        mops: Vec<(u16, Mop)>,
    ) {
        if let Some(&committed) = self.finished.get(&txn) {
            if !committed {
                ctx.send(COORDINATOR, Msg::Vote { txn, yes: false, reads: Vec::new() });
            }
            return; // a committed transaction's prepare is a stale duplicate
        }
        if let Some(t) = self.txns.get(&txn) {
            if t.state == State::Prepared {
                let reads = t.reads.clone();
                ctx.send(COORDINATOR, Msg::Vote { txn, yes: true, reads });
            }
            return; // still running or logging: the vote comes when it is ready
        }
        let local = self.store.begin(self.level);
        self.by_local.insert(local, txn);
        let entry = Local {
            local,
            kind,
            mops,
            cursor: 0,
            reads: Vec::new(),
            writes: Vec::new(),
            state: State::Running,
            since: 0,
            commit_early: false,
        };
        self.txns.insert(txn, entry);
        self.run(ctx, engine, txn);
        self.wake(ctx, engine);
    }

    /// Runs `txn`'s statements from where it stopped; prepares and logs it when all ran.
    fn run(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, txn: TxnId) {
        let Some(t) = self.txns.get_mut(&txn) else { return };
        if t.state != State::Running {
            return;
        }
        while t.cursor < t.mops.len() {
            let (pos, mop) = t.mops[t.cursor];
            let outcome = match mop {
                Mop::Read { key } => {
                    let k = store_key(t.kind, key);
                    match self.store.read(t.local, k) {
                        Outcome::Done(v) => {
                            let read = match t.kind {
                                TxnKind::ListAppend => ReadValue::List(v.unwrap_or_default()),
                                TxnKind::RwRegister => {
                                    ReadValue::Register(v.and_then(|l| l.first().copied()))
                                }
                            };
                            t.reads.push((pos, read));
                            Outcome::Done(())
                        }
                        Outcome::Blocked => Outcome::Blocked,
                        Outcome::Failed(e) => Outcome::Failed(e),
                    }
                }
                Mop::Append { key, value } => {
                    let k = store_key(t.kind, key);
                    let append = move |old: Option<&Vec<i64>>| {
                        let mut list = old.cloned().unwrap_or_default();
                        list.push(value);
                        list
                    };
                    self.store.modify(t.local, k, &append)
                }
                Mop::Write { key, value } => {
                    let k = store_key(t.kind, key);
                    self.store.write(t.local, k, Some(vec![value]))
                }
            };
            match outcome {
                Outcome::Done(()) => t.cursor += 1,
                Outcome::Blocked => return,
                Outcome::Failed(e) => return self.failed(ctx, txn, e),
            }
        }
        match self.store.prepare(t.local) {
            Outcome::Done(()) => {}
            Outcome::Blocked => return,
            Outcome::Failed(e) => return self.failed(ctx, txn, e),
        }
        t.writes = self.store.write_set(t.local);
        t.state = State::Logging;
        let read_keys = t
            .mops
            .iter()
            .filter_map(|(_, m)| match m {
                Mop::Read { key } => Some(store_key(t.kind, *key)),
                _ => None,
            })
            .collect();
        let record = Prepared { writes: t.writes.clone(), read_keys, reads: t.reads.clone() };
        let seq = engine.put(ctx, &key(b'p', txn), &record.encode());
        engine.sync(ctx);
        self.waits.push_back((seq, Wait::Prepared(txn)));
        self.durable(ctx, engine);
    }

    /// The store aborted `txn` (a serialization failure or a deadlock): vote no.
    fn failed(&mut self, ctx: Ctx<'_, '_>, txn: TxnId, error: TxnError) {
        let t = self.txns.remove(&txn).expect("a failing transaction is active");
        self.by_local.remove(&t.local);
        self.finished.insert(txn, false);
        ctx.fact(Fact::custom(facts::VOTE, vec![txn, 0], error.to_string()));
        ctx.fact(Fact::custom(facts::APPLIED, vec![txn, 0], ""));
        ctx.send(COORDINATOR, Msg::Vote { txn, yes: false, reads: Vec::new() });
    }

    fn decide(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, txn: TxnId, commit: bool) {
        if let Some(&committed) = self.finished.get(&txn) {
            if commit && !committed {
                // Told to commit what this shard aborted: only a coordinator that decided
                // before every vote was in does that. It cannot be undone; say so.
                ctx.fact(Fact::custom(facts::REFUSED, vec![txn], ""));
            }
            ctx.send(COORDINATOR, Msg::Ack { txn });
            return;
        }
        let Some(t) = self.txns.get_mut(&txn) else {
            if commit {
                // A commit for a transaction this shard has no trace of: it voted yes (or
                // the coordinator could not have decided commit) and then lost the record.
                ctx.fact(Fact::custom(facts::MISSING, vec![txn], ""));
            }
            self.finished.insert(txn, false);
            ctx.send(COORDINATOR, Msg::Ack { txn });
            return;
        };
        match (commit, t.state) {
            (true, State::Prepared) => {
                t.state = State::Committing;
                let record = Applied { txn, writes: t.writes.clone() };
                let n = self.next_commit;
                self.next_commit += 1;
                engine.put(ctx, &key(b'c', n), &record.encode());
                let seq = engine.delete(ctx, &key(b'p', txn));
                engine.sync(ctx);
                self.waits.push_back((seq, Wait::Committed(txn)));
                self.durable(ctx, engine);
            }
            (true, State::Committing) => {}
            (true, State::Running | State::Logging) => t.commit_early = true,
            (false, State::Committing) => {
                // Decided both ways: the coordinator's own check records it.
                ctx.fact(Fact::custom(facts::REFUSED, vec![txn], ""));
            }
            (false, state) => {
                let (local, logged) = (t.local, state != State::Running);
                self.txns.remove(&txn);
                self.by_local.remove(&local);
                self.store.abort(local);
                if logged {
                    // No fsync: a prepared record that survives a crash is asked about, and
                    // the coordinator says abort again.
                    engine.delete(ctx, &key(b'p', txn));
                }
                self.finished.insert(txn, false);
                ctx.fact(Fact::custom(facts::APPLIED, vec![txn, 0], ""));
                ctx.send(COORDINATOR, Msg::Ack { txn });
                self.wake(ctx, engine);
            }
        }
    }

    /// Carries out what the engine's durable sequence number now covers.
    pub fn durable(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine) {
        let durable = engine.durable_seq();
        while let Some(&(seq, wait)) = self.waits.front() {
            if seq > durable {
                break;
            }
            self.waits.pop_front();
            match wait {
                Wait::Prepared(txn) => {
                    let Some(t) = self.txns.get_mut(&txn) else { continue };
                    if t.state != State::Logging {
                        continue;
                    }
                    t.state = State::Prepared;
                    t.since = ctx.now();
                    let reads = t.reads.clone();
                    ctx.fact(Fact::custom(facts::VOTE, vec![txn, 1], ""));
                    ctx.send(COORDINATOR, Msg::Vote { txn, yes: true, reads });
                    if t.commit_early {
                        self.decide(ctx, engine, txn, true);
                    }
                }
                Wait::Committed(txn) => {
                    let t = self.txns.remove(&txn).expect("a committing transaction is active");
                    self.by_local.remove(&t.local);
                    let done = self.store.commit(t.local);
                    assert!(matches!(done, Outcome::Done(())), "a prepared commit: {done:?}");
                    self.finished.insert(txn, true);
                    ctx.fact(Fact::custom(facts::APPLIED, vec![txn, 1], ""));
                    ctx.send(COORDINATOR, Msg::Ack { txn });
                    self.wake(ctx, engine);
                }
            }
        }
        self.gauges(ctx);
    }

    /// Runs the transactions the store woke (their lock was released), until none is woken.
    fn wake(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine) {
        loop {
            let woken = self.store.woken();
            if woken.is_empty() {
                return;
            }
            for local in woken {
                if let Some(&txn) = self.by_local.get(&local) {
                    self.run(ctx, engine, txn);
                }
            }
        }
    }

    /// The periodic tick: ask about transactions long in doubt; collect old versions.
    pub fn tick(&mut self, ctx: Ctx<'_, '_>, retry: Nanos) {
        let now = ctx.now();
        let asks: Vec<TxnId> = self
            .txns
            .iter()
            .filter(|(_, t)| t.state == State::Prepared && now >= t.since + 2 * retry)
            .map(|(txn, _)| *txn)
            .collect();
        for txn in asks {
            ctx.send(COORDINATOR, Msg::Inquire { txn });
        }
        self.store.gc();
        self.gauges(ctx);
    }

    /// An fsync completed.
    pub fn on_fsync(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, id: FsyncId) {
        if engine.on_fsync(ctx, id) {
            self.durable(ctx, engine);
        }
    }
}
