//! A primary-backup replicated register: the first system, small but real.
//!
//! Node 0 is the primary; the others are backups. Every write (put, cas, append) is appended to
//! the primary's write-ahead log and fsynced, then forwarded to every backup, which appends it to
//! its own log, fsyncs, and acknowledges. A write commits when every backup has it durably; the
//! primary then applies it to its key-value map and answers the client. Reads are served by the
//! primary from committed state. Backups redirect clients to the primary.
//!
//! Failure handling:
//! - Logs are length-prefixed, checksummed records; recovery replays the valid prefix and
//!   truncates a torn or corrupt tail.
//! - The primary forwards only entries that are durable on its own disk, so no backup ever holds
//!   an entry the primary lost in a crash, and entry numbers are never reused.
//! - A restarted primary does not know which of its entries committed: it asks the backups how
//!   far they are, re-replicates, and holds reads until everything it recovered has committed.
//! - Client sessions (last request applied per client, and its reply) make retried writes apply
//!   once, across restarts (they are rebuilt by replaying the log).
//!
//! There is no failover: while the primary is down the register is unavailable. That is the
//! point of this system: it shows what Raft (`system = "raft"`) adds.

use super::codec::{builtin_schema, put_record, read_records, RECORD_HEADER_BYTES};
use crate::check::linearizability::KvLinearizability;
use crate::check::Checks;
use crate::encoding::typed::{decode_message, encode_message, Sink, Source};
use crate::encoding::{DecodeError, EncodeError, Message, Schema};
use crate::node::{
    apply_op, ClientId, Context, Fact, FsyncId, Key, KvApi, NoControl, Node, NodeId, Op, Reply,
    Request, RequestId, Value,
};
use crate::system::{Cluster, System};
use std::collections::BTreeMap;

const WAL: &str = "wal";
/// Most log entries a node keeps (the register never compacts).
pub const ENTRIES_MAX: usize = 1 << 20;

/// One write in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The client request it came from (its session key).
    pub request: RequestId,
    /// The write.
    pub op: Op,
}

/// The WAL's schema (`schemas/register-v1.toml`).
fn schema() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        builtin_schema("register-v1.toml", include_str!("../../schemas/register-v1.toml"))
    })
}

/// A WAL record as the `WalEntry` message.
impl Message for Entry {
    const NAME: &'static str = "WalEntry";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.message("request", &self.request)?;
        sink.message("op", &self.op)
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(Entry { request: source.message("request")?, op: source.message("op")? })
    }
}

/// Messages between primary and backups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// Primary to backup: entries numbered `first..first+entries.len()`. Empty: a probe asking
    /// how far the backup is.
    Replicate { first: u64, entries: Vec<Entry> },
    /// Backup to primary: entries `1..=durable` are on my disk.
    Ack { durable: u64 },
}

/// Timers of the register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Primary: resend what backups lack.
    Retransmit,
}

/// Settings, from the scenario's `[protocol]` table.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegisterConfig {
    /// How often the primary resends unacknowledged entries (`retransmit`, default 50ms).
    #[serde(rename = "retransmit", with = "crate::node::duration_ns")]
    pub retransmit_ns: u64,
    /// Most entries in one `Replicate` (`batch_max`, default 64).
    pub batch_max: usize,
    /// Bug knob `register.serve_reads_while_recovering` (`bugs = [...]`): a restarted primary
    /// serves reads before the writes it recovered have committed again (it answers from an
    /// empty map).
    #[serde(rename = "bugs", deserialize_with = "bugs")]
    pub bug_reads_while_recovering: bool,
}

impl Default for RegisterConfig {
    fn default() -> Self {
        RegisterConfig {
            retransmit_ns: 50_000_000,
            batch_max: 64,
            bug_reads_while_recovering: false,
        }
    }
}

/// The register's bug knobs.
pub const BUGS: [&str; 1] = ["register.serve_reads_while_recovering"];

fn bugs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    use serde::Deserialize;
    let mut on = false;
    for name in Vec::<String>::deserialize(d)? {
        if name != BUGS[0] {
            return Err(serde::de::Error::custom(format!(
                "unknown bug knob `{name}` for system `register` (its knobs: {})",
                BUGS.join(", ")
            )));
        }
        on = true;
    }
    Ok(on)
}

/// A node of the primary-backup register.
#[derive(Debug)]
pub struct Register {
    id: NodeId,
    nodes: u32,
    config: RegisterConfig,
    entries: Vec<Entry>,
    /// Entries `1..=durable` are on this node's disk.
    durable: u64,
    fsyncs: Vec<(FsyncId, u64)>,
    // Primary only:
    acked: Vec<u64>,
    commit: u64,
    recovered: u64,
    store: BTreeMap<Key, Value>,
    sessions: BTreeMap<ClientId, (u64, Reply<Option<Value>>)>,
    waiting: BTreeMap<u64, ClientId>,
    in_log: BTreeMap<RequestId, u64>,
    held_reads: Vec<(ClientId, Request<Op>)>,
}

const PRIMARY: NodeId = 0;

impl Register {
    /// A node with empty memory.
    pub fn new(id: NodeId, nodes: u32, config: RegisterConfig) -> Self {
        Register {
            id,
            nodes,
            config,
            entries: Vec::new(),
            durable: 0,
            fsyncs: Vec::new(),
            acked: vec![0; nodes as usize],
            commit: 0,
            recovered: 0,
            store: BTreeMap::new(),
            sessions: BTreeMap::new(),
            waiting: BTreeMap::new(),
            in_log: BTreeMap::new(),
            held_reads: Vec::new(),
        }
    }

    fn is_primary(&self) -> bool {
        self.id == PRIMARY
    }

    fn last(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Replays the log from disk, truncating a torn or corrupt tail.
    fn recover(&mut self, ctx: &mut Context<'_, Self>) {
        let data = match ctx.disk().read_all(WAL) {
            Ok(data) => data,
            Err(_) => return, // no log yet (or unreadable: start empty, the primary resends)
        };
        let (records, mut valid) = read_records(&data);
        let mut decoded_end = 0;
        for payload in records {
            // A checksummed record that does not decode was written by an incompatible
            // version: the log is cut there, like a corrupt tail.
            match decode_message::<Entry>(schema(), payload) {
                Ok(e) => self.entries.push(e),
                Err(_) => {
                    valid = decoded_end;
                    break;
                }
            }
            decoded_end += RECORD_HEADER_BYTES + payload.len();
        }
        if valid < data.len() {
            ctx.disk().truncate(WAL, valid as u64);
            ctx.fsync(WAL);
        }
        self.durable = self.last();
        self.recovered = self.last();
        for (i, e) in self.entries.iter().enumerate() {
            self.in_log.insert(e.request, i as u64 + 1);
        }
    }

    fn append(&mut self, ctx: &mut Context<'_, Self>, entry: Entry) {
        assert!(self.entries.len() < ENTRIES_MAX, "register log full");
        let mut payload = Vec::with_capacity(64);
        encode_message(schema(), &entry, &mut payload).expect("WAL entries fit their schema");
        let mut record = Vec::with_capacity(payload.len() + 12);
        put_record(&mut record, &payload);
        ctx.disk().append(WAL, &record);
        self.entries.push(entry);
        let id = ctx.fsync(WAL);
        self.fsyncs.push((id, self.last()));
    }

    fn replicate_to(&self, ctx: &mut Context<'_, Self>, backup: NodeId) {
        let from = self.acked[backup as usize] + 1;
        if from > self.durable {
            return;
        }
        let upto = self.durable.min(from + self.config.batch_max as u64 - 1);
        let entries = self.entries[(from - 1) as usize..upto as usize].to_vec();
        ctx.send(backup, Msg::Replicate { first: from, entries });
    }

    fn backups(&self) -> impl Iterator<Item = NodeId> {
        1..self.nodes
    }

    /// Commits what every backup has durably, applies it, and answers waiting clients.
    fn advance_commit(&mut self, ctx: &mut Context<'_, Self>) {
        let replicated = self.backups().map(|b| self.acked[b as usize]).min().unwrap_or(u64::MAX);
        let commit = self.durable.min(replicated);
        while self.commit < commit {
            self.commit += 1;
            let entry = self.entries[(self.commit - 1) as usize].clone();
            let reply = self.apply(&entry);
            if let Some(client) = self.waiting.remove(&self.commit) {
                ctx.reply(client, entry.request, reply);
            }
            ctx.fact(Fact::Apply { index: self.commit, command: self.commit, state: 0 });
        }
        if self.commit >= self.recovered && !self.held_reads.is_empty() {
            for (client, request) in std::mem::take(&mut self.held_reads) {
                self.serve_read(ctx, client, request);
            }
        }
    }

    /// Applies a committed write once per request (client sessions); returns its reply.
    fn apply(&mut self, entry: &Entry) -> Reply<Option<Value>> {
        let RequestId { client, seq } = entry.request;
        if let Some((last, reply)) = self.sessions.get(&client) {
            if *last >= seq {
                return reply.clone(); // a retry that was logged twice: applied once
            }
        }
        let key = entry.op.key().to_string();
        let reply = match apply_op(self.store.get(&key), &entry.op) {
            Ok((_, new)) => {
                if let Some(v) = new {
                    self.store.insert(key, v);
                }
                Reply::Ok { value: None }
            }
            Err(()) => Reply::Fail { reason: "cas: value differs" },
        };
        self.sessions.insert(client, (seq, reply.clone()));
        reply
    }

    fn serve_read(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        if self.commit < self.recovered && !self.config.bug_reads_while_recovering {
            self.held_reads.push((client, request));
            return;
        }
        let value = self.store.get(request.op.key()).cloned();
        ctx.reply(client, request.id, Reply::Ok { value });
    }

    fn on_write(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        if let Some((last, reply)) = self.sessions.get(&client) {
            if *last == request.id.seq {
                ctx.reply(client, request.id, reply.clone());
                return;
            }
            if *last > request.id.seq {
                return; // the client has moved on
            }
        }
        if let Some(&number) = self.in_log.get(&request.id) {
            self.waiting.insert(number, client); // a retry of a logged write: answer at commit
            return;
        }
        self.append(ctx, Entry { request: request.id, op: request.op });
        self.in_log.insert(request.id, self.last());
        self.waiting.insert(self.last(), client);
    }
}

impl Node for Register {
    type Msg = Msg;
    type Timer = Timer;
    type Api = KvApi;
    type Control = NoControl;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.recover(ctx);
        if self.is_primary() {
            ctx.fact(Fact::Leader { term: 1 });
            for b in self.backups() {
                ctx.send(b, Msg::Replicate { first: self.last() + 1, entries: Vec::new() });
            }
            ctx.set_timer(self.config.retransmit_ns, Timer::Retransmit);
            self.advance_commit(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Replicate { first, entries } if !self.is_primary() => {
                if first > self.last() + 1 {
                    ctx.send(from, Msg::Ack { durable: self.durable }); // gap: tell where we are
                    return;
                }
                let skip = (self.last() + 1 - first) as usize;
                for entry in entries.into_iter().skip(skip) {
                    self.append(ctx, entry);
                }
                if self.fsyncs.is_empty() {
                    ctx.send(from, Msg::Ack { durable: self.durable });
                }
            }
            Msg::Ack { durable } if self.is_primary() && from < self.nodes => {
                let acked = &mut self.acked[from as usize];
                *acked = durable.min(self.durable);
                self.advance_commit(ctx);
                if self.acked[from as usize] < self.durable {
                    self.replicate_to(ctx, from);
                }
            }
            _ => {}
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        if !self.is_primary() {
            ctx.reply(client, request.id, Reply::Redirect { leader: Some(PRIMARY) });
        } else if request.op.is_read() {
            self.serve_read(ctx, client, request);
        } else {
            self.on_write(ctx, client, request);
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Retransmit => {
                for b in self.backups() {
                    if self.acked[b as usize] < self.durable {
                        self.replicate_to(ctx, b);
                    }
                }
                ctx.set_timer(self.config.retransmit_ns, Timer::Retransmit);
            }
        }
    }

    fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, fsync: FsyncId) {
        let Some(position) = self.fsyncs.iter().position(|(id, _)| *id == fsync) else { return };
        let (_, upto) = self.fsyncs.remove(position);
        self.durable = self.durable.max(upto);
        if self.is_primary() {
            for b in self.backups() {
                self.replicate_to(ctx, b);
            }
            self.advance_commit(ctx);
        } else if self.fsyncs.is_empty() {
            ctx.send(PRIMARY, Msg::Ack { durable: self.durable });
        }
    }
}

/// The register packaged for scenarios: `system = "register"`.
pub struct RegisterSystem;

impl System for RegisterSystem {
    const NAME: &'static str = "register";
    const ABOUT: &'static str =
        "primary-backup replicated register: node 0 logs, forwards to all backups, acks after all";
    type Node = Register;
    type Config = RegisterConfig;

    fn validate(config: &RegisterConfig) -> Result<(), String> {
        if config.retransmit_ns == 0 {
            return Err("protocol.retransmit: must be more than 0".into());
        }
        if !(1..=10_000).contains(&config.batch_max) {
            let n = config.batch_max;
            return Err(format!("protocol.batch_max: {n} is out of range (1 to 10000)"));
        }
        Ok(())
    }

    fn node(config: &RegisterConfig, id: NodeId, cluster: &Cluster) -> Register {
        Register::new(id, cluster.nodes, config.clone())
    }

    fn checks(_: &RegisterConfig, _: &Cluster) -> Checks<KvApi> {
        Checks::new().history(KvLinearizability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testing::Harness;
    use crate::node::Effect;

    fn config() -> RegisterConfig {
        RegisterConfig {
            retransmit_ns: 50_000_000,
            batch_max: 64,
            bug_reads_while_recovering: false,
        }
    }

    fn put(seq: u64, value: &str) -> Request<Op> {
        Request {
            id: RequestId { client: 7, seq },
            op: Op::Put { key: "k".into(), value: value.into() },
        }
    }

    fn fsyncs(effects: &[Effect<Msg, Option<Value>>]) -> Vec<FsyncId> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Fsync { id, .. } => Some(*id),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn primary_forwards_only_durable_entries_and_acks_after_all_backups() {
        let mut h = Harness::new(0, Register::new(0, 2, config()));
        h.start();
        let effects = h.request(7, put(1, "a"));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Send { .. })), "not before fsync");
        let sync = fsyncs(&effects)[0];
        let effects = h.complete_fsync(sync);
        assert!(effects.iter().any(|e| matches!(e, Effect::Send { to: 1, .. })));
        assert!(!effects.iter().any(|e| matches!(e, Effect::Reply { .. })), "not before backup");
        let effects = h.message(1, Msg::Ack { durable: 1 });
        assert!(effects.iter().any(|e| matches!(
            e,
            Effect::Reply { client: 7, reply: Reply::Ok { value: None }, .. }
        )));
    }

    #[test]
    fn retried_write_is_applied_once_and_survives_restart() {
        let mut h = Harness::new(0, Register::new(0, 1, config()));
        h.start();
        let append = |seq| Request {
            id: RequestId { client: 1, seq },
            op: Op::Append { key: "k".into(), value: "x".into() },
        };
        let sync = fsyncs(&h.request(1, append(1)))[0];
        h.request(1, append(1)); // a retry while pending: no second entry
        h.complete_fsync(sync);
        let effects = h.request(1, append(1)); // a retry after commit: cached reply
        assert!(matches!(effects[..], [Effect::Reply { reply: Reply::Ok { .. }, .. }]));
        h.crash_and_restart(Register::new(0, 1, config()));
        let read = Request { id: RequestId { client: 2, seq: 1 }, op: Op::Get { key: "k".into() } };
        let effects = h.request(2, read);
        assert!(effects.contains(&Effect::Reply {
            client: 2,
            request: RequestId { client: 2, seq: 1 },
            reply: Reply::Ok { value: Some("x".into()) }
        }));
    }

    #[test]
    fn recovery_truncates_a_torn_tail() {
        let mut h = Harness::new(1, Register::new(1, 2, config()));
        h.start();
        let entry = Entry { request: RequestId { client: 1, seq: 1 }, op: put(1, "a").op };
        let effects = h.message(0, Msg::Replicate { first: 1, entries: vec![entry.clone()] });
        h.complete_fsync(fsyncs(&effects)[0]);
        h.disk().append(WAL, &[1, 2, 3]); // a torn record header that reached the platter
        let sync = h.disk().begin_fsync(WAL);
        h.disk().complete_fsync(sync);
        let len = h.disk().len(WAL);
        let effects = h.crash_and_restart(Register::new(1, 2, config()));
        assert_eq!(h.disk().len(WAL), len - 3, "torn tail truncated");
        assert!(effects.iter().any(|e| matches!(e, Effect::Fsync { .. })));
        assert_eq!(h.node.last(), 1);
    }

    #[test]
    fn config_rejects_unknown_keys_and_bad_values() {
        let table: toml::Table = toml::from_str("bogus = 1").unwrap();
        assert!(RegisterSystem::config(&table).unwrap_err().contains("bogus"));
        let table: toml::Table = toml::from_str("batch_max = 0").unwrap();
        assert!(RegisterSystem::config(&table).unwrap_err().contains("batch_max"));
    }
}
