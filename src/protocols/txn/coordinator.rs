//! The coordinator of two-phase commit, with presumed abort and a durable decision log.
//!
//! It splits a client's transaction by shard and sends each shard its part (`Prepare`). When
//! every shard voted yes it writes the commit decision (with what the reads returned) to its
//! log, and only once that is durable tells the shards to commit; a single no, or a vote
//! missing after `vote_timeout`, aborts. Nothing is logged for an abort: a shard that asks
//! about a transaction the log has no commit for is told abort. The client hears `ok` once
//! every shard applied the commit (so a transaction that starts after that sees it), `fail`
//! as soon as the transaction aborted.
//!
//! At every start the coordinator makes a new epoch durable before it takes a request, so
//! transaction ids never repeat; the commit decisions in the log answer shards that ask and
//! clients that retry a committed transaction. A transaction of an earlier epoch without a
//! commit record is aborted for good, so a client's retry of it runs as a new transaction.
//!
//! While the coordinator is down, shards that voted yes wait: they hold their locks and cannot
//! decide alone (two-phase commit blocks); the `in_doubt` gauge shows it.

use super::api::{Mop, ReadValue, TxnOp, TxnRes};
use super::config::TxnConfig;
use super::messages::{Msg, TxnId};
use super::records::{key, key_number, Decision};
use super::shard::store_key;
use super::{facts, TxnNode};
use crate::node::{ClientId, Context, Fact, FsyncId, Nanos, NodeId, Reply, Request, RequestId};
use crate::storage::{Engine, Seq};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// The engine key of the coordinator's epoch.
const EPOCH_KEY: u8 = b'e';
/// The prefix of commit decisions.
const DECISION: u8 = b'd';

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for votes until the deadline.
    Preparing { deadline: Nanos },
    /// Decided commit; the decision is on its way to the disk.
    Logging,
    /// Telling the shards to commit; the client hears once all acknowledged.
    Committing,
    /// Telling the shards to abort.
    Aborting,
}

#[derive(Debug)]
struct Active {
    client: ClientId,
    request: RequestId,
    op_len: usize,
    /// Each shard's node and its part of the transaction.
    parts: BTreeMap<NodeId, Vec<(u16, Mop)>>,
    kind: super::api::TxnKind,
    votes: BTreeMap<NodeId, Vec<(u16, ReadValue)>>,
    acked: BTreeSet<NodeId>,
    phase: Phase,
    sent: Nanos,
}

/// The coordinator's state while it is up.
pub struct Coordinator {
    epoch: u64,
    ready: bool,
    next: u64,
    shards: u32,
    config: TxnConfig,
    active: BTreeMap<TxnId, Active>,
    /// Each client request's transaction (by client and request number).
    requests: BTreeMap<(ClientId, u64), TxnId>,
    /// Commit decisions, from the log and new.
    committed: BTreeMap<TxnId, Decision>,
    /// Transactions this incarnation aborted (or was asked about and presumed aborted).
    aborted: BTreeSet<TxnId>,
    /// Requests that arrived before the epoch was durable.
    queued: Vec<(ClientId, Request<TxnOp>)>,
    waits: std::collections::VecDeque<(Seq, Option<TxnId>)>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Coordinator {{ epoch: {}, active: {} }}", self.epoch, self.active.len())
    }
}

type Ctx<'a, 'b> = &'a mut Context<'b, TxnNode>;

impl Coordinator {
    /// Recovers from the log and starts a new epoch (serving once it is durable).
    pub fn recover(
        ctx: Ctx<'_, '_>,
        engine: &mut dyn Engine,
        config: &TxnConfig,
        shards: u32,
    ) -> Self {
        let rows = engine
            .scan(ctx, (Bound::Unbounded, Bound::Unbounded), usize::MAX)
            .expect("an engine without damage reads back");
        let mut c = Coordinator {
            epoch: 0,
            ready: false,
            next: 0,
            shards,
            config: config.clone(),
            active: BTreeMap::new(),
            requests: BTreeMap::new(),
            committed: BTreeMap::new(),
            aborted: BTreeSet::new(),
            queued: Vec::new(),
            waits: Default::default(),
        };
        for row in &rows {
            if key_number(EPOCH_KEY, &row.key).is_some() {
                let bytes: [u8; 8] = row.value.as_slice().try_into().expect("an epoch record");
                c.epoch = c.epoch.max(u64::from_le_bytes(bytes));
            } else if let Some(txn) = key_number(DECISION, &row.key) {
                let d = Decision::decode(&row.value).expect("a decision record decodes");
                // A decision record found is a commit decided, even one whose fsync had not
                // completed when the coordinator crashed (the write reached the disk anyway).
                let mut values = vec![txn, 1];
                values.extend(d.shards.iter().map(|s| u64::from(*s)));
                ctx.fact(Fact::custom(facts::DECIDE, values, ""));
                c.requests.insert((d.client, d.seq), txn);
                c.committed.insert(txn, d);
            }
        }
        c.epoch += 1;
        assert!(c.epoch < 1 << 31, "epochs run out");
        let seq = engine.put(ctx, &key(EPOCH_KEY, 0), &c.epoch.to_le_bytes());
        engine.sync(ctx);
        c.waits.push_back((seq, None));
        c.durable(ctx, engine);
        c
    }

    fn gauges(&self, ctx: Ctx<'_, '_>) {
        ctx.gauge("active", self.active.len() as i64);
    }

    /// A client's transaction.
    pub fn on_request(&mut self, ctx: Ctx<'_, '_>, client: ClientId, request: Request<TxnOp>) {
        if !self.ready {
            self.queued.push((client, request));
            return;
        }
        if let Some(&txn) = self.requests.get(&(client, request.id.seq)) {
            // A retry: answer from what is known; a transaction still running answers when
            // it ends.
            if let Some(d) = self.committed.get(&txn) {
                if !self.active.contains_key(&txn) {
                    let value = result(request.op.mops.len(), &d.reads);
                    ctx.reply(client, request.id, Reply::Ok { value });
                }
            } else if self.aborted.contains(&txn) {
                ctx.reply(client, request.id, Reply::Fail { reason: "aborted" });
            }
            return;
        }
        let txn = (self.epoch << 32) | self.next;
        self.next += 1;
        assert!(self.next < 1 << 32, "transaction numbers run out in one epoch");
        self.requests.insert((client, request.id.seq), txn);
        let mut parts: BTreeMap<NodeId, Vec<(u16, Mop)>> = BTreeMap::new();
        let kind = request.op.kind;
        for (pos, mop) in request.op.mops.iter().enumerate() {
            let shard = store_key(kind, mop.key()).rem_euclid(i64::from(self.shards)) as u32;
            parts.entry(TxnConfig::shard_node(shard)).or_default().push((pos as u16, *mop));
        }
        let now = ctx.now();
        for (node, mops) in &parts {
            ctx.send(*node, Msg::Prepare { txn, kind, mops: mops.clone() });
        }
        let deadline = now + self.config.vote_timeout_ns;
        let active = Active {
            client,
            request: request.id,
            op_len: request.op.mops.len(),
            parts,
            kind,
            votes: BTreeMap::new(),
            acked: BTreeSet::new(),
            phase: Phase::Preparing { deadline },
            sent: now,
        };
        self.active.insert(txn, active);
        self.gauges(ctx);
    }

    /// A message from a shard.
    pub fn on_message(
        &mut self,
        ctx: Ctx<'_, '_>,
        engine: &mut dyn Engine,
        from: NodeId,
        msg: Msg,
    ) {
        match msg {
            Msg::Vote { txn, yes, reads } => self.vote(ctx, engine, from, txn, yes, reads),
            Msg::Ack { txn } => self.ack(ctx, from, txn),
            Msg::Inquire { txn } => self.inquire(ctx, from, txn),
            Msg::Prepare { .. } | Msg::Decide { .. } => {}
        }
        self.gauges(ctx);
    }

    fn vote(
        &mut self,
        ctx: Ctx<'_, '_>,
        engine: &mut dyn Engine,
        from: NodeId,
        txn: TxnId,
        yes: bool,
        reads: Vec<(u16, ReadValue)>,
    ) {
        let Some(a) = self.active.get_mut(&txn) else { return };
        if !matches!(a.phase, Phase::Preparing { .. }) || !a.parts.contains_key(&from) {
            return; // a late or duplicate vote
        }
        if !yes {
            return self.abort(ctx, txn);
        }
        a.votes.insert(from, reads);
        let all = a.votes.len() == a.parts.len();
        if all || self.config.bugs.commit_before_all_prepared {
            self.decide_commit(ctx, engine, txn);
        }
    }

    fn decide_commit(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, txn: TxnId) {
        let a = self.active.get_mut(&txn).expect("deciding an active transaction");
        a.phase = Phase::Logging;
        let mut reads: Vec<(u16, ReadValue)> = a.votes.values().flatten().cloned().collect();
        reads.sort_by_key(|(pos, _)| *pos);
        let shards: Vec<u32> = a.parts.keys().copied().collect();
        let d = Decision { client: a.client, seq: a.request.seq, shards, reads };
        let seq = engine.put(ctx, &key(DECISION, txn), &d.encode());
        engine.sync(ctx);
        self.committed.insert(txn, d);
        self.waits.push_back((seq, Some(txn)));
        self.durable(ctx, engine);
    }

    fn abort(&mut self, ctx: Ctx<'_, '_>, txn: TxnId) {
        let a = self.active.get_mut(&txn).expect("aborting an active transaction");
        a.phase = Phase::Aborting;
        a.sent = ctx.now();
        let mut values = vec![txn, 0];
        values.extend(a.parts.keys().map(|s| u64::from(*s)));
        ctx.fact(Fact::custom(facts::DECIDE, values, ""));
        for node in a.parts.keys() {
            ctx.send(*node, Msg::Decide { txn, commit: false });
        }
        ctx.reply(a.client, a.request, Reply::Fail { reason: "aborted" });
        self.aborted.insert(txn);
    }

    fn ack(&mut self, ctx: Ctx<'_, '_>, from: NodeId, txn: TxnId) {
        let Some(a) = self.active.get_mut(&txn) else { return };
        if !matches!(a.phase, Phase::Committing | Phase::Aborting) {
            return;
        }
        a.acked.insert(from);
        if a.acked.len() < a.parts.len() {
            return;
        }
        let a = self.active.remove(&txn).expect("present");
        if a.phase == Phase::Committing {
            let d = &self.committed[&txn];
            let value = result(a.op_len, &d.reads);
            ctx.reply(a.client, a.request, Reply::Ok { value });
        }
    }

    fn inquire(&mut self, ctx: Ctx<'_, '_>, from: NodeId, txn: TxnId) {
        let commit = match self.active.get(&txn).map(|a| &a.phase) {
            Some(Phase::Preparing { .. } | Phase::Logging) => return, // not decided yet
            Some(Phase::Committing) => true,
            Some(Phase::Aborting) => false,
            None if self.committed.contains_key(&txn) => true,
            None => {
                // Presumed abort: no commit record, and none will ever be written (a
                // transaction of this epoch that ended, or of an earlier one).
                if self.aborted.insert(txn) {
                    ctx.fact(Fact::custom(facts::DECIDE, vec![txn, 0, u64::from(from)], ""));
                }
                false
            }
        };
        ctx.send(from, Msg::Decide { txn, commit });
    }

    /// Carries out what the log's durable sequence number now covers.
    pub fn durable(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine) {
        let durable = engine.durable_seq();
        while let Some(&(seq, txn)) = self.waits.front() {
            if seq > durable {
                break;
            }
            self.waits.pop_front();
            match txn {
                None => {
                    // The epoch is durable: this incarnation leads (fault targets such as
                    // `crash-leader` name the coordinator).
                    self.ready = true;
                    ctx.fact(Fact::Leader { term: self.epoch });
                    for (client, request) in std::mem::take(&mut self.queued) {
                        self.on_request(ctx, client, request);
                    }
                }
                Some(txn) => {
                    let Some(a) = self.active.get_mut(&txn) else { continue };
                    // The decision is taken when it is durable: a crash before that leaves
                    // no commit record, and the transaction is presumed aborted.
                    let mut values = vec![txn, 1];
                    values.extend(a.parts.keys().map(|s| u64::from(*s)));
                    ctx.fact(Fact::custom(facts::DECIDE, values, ""));
                    a.phase = Phase::Committing;
                    a.sent = ctx.now();
                    for node in a.parts.keys() {
                        ctx.send(*node, Msg::Decide { txn, commit: true });
                    }
                }
            }
        }
        self.gauges(ctx);
    }

    /// The periodic tick: votes that timed out abort; unanswered messages go again.
    pub fn tick(&mut self, ctx: Ctx<'_, '_>) {
        let now = ctx.now();
        let retry = self.config.retry_interval_ns;
        let mut timed_out = Vec::new();
        for (txn, a) in &mut self.active {
            match a.phase {
                Phase::Preparing { deadline } if now >= deadline => timed_out.push(*txn),
                Phase::Preparing { .. } if now >= a.sent + retry => {
                    a.sent = now;
                    for (node, mops) in &a.parts {
                        if !a.votes.contains_key(node) {
                            let msg = Msg::Prepare { txn: *txn, kind: a.kind, mops: mops.clone() };
                            ctx.send(*node, msg);
                        }
                    }
                }
                Phase::Committing | Phase::Aborting if now >= a.sent + retry => {
                    a.sent = now;
                    let commit = a.phase == Phase::Committing;
                    for node in a.parts.keys().filter(|n| !a.acked.contains(n)) {
                        ctx.send(*node, Msg::Decide { txn: *txn, commit });
                    }
                }
                _ => {}
            }
        }
        for txn in timed_out {
            self.abort(ctx, txn);
        }
        self.gauges(ctx);
    }

    /// An fsync completed.
    pub fn on_fsync(&mut self, ctx: Ctx<'_, '_>, engine: &mut dyn Engine, id: FsyncId) {
        if engine.on_fsync(ctx, id) {
            self.durable(ctx, engine);
        }
    }
}

/// A committed transaction's result from the reads by position.
fn result(len: usize, reads: &[(u16, ReadValue)]) -> TxnRes {
    let mut out = vec![None; len];
    for (pos, read) in reads {
        if let Some(slot) = out.get_mut(usize::from(*pos)) {
            *slot = Some(read.clone());
        }
    }
    TxnRes { reads: out }
}
