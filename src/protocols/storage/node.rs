//! The storage node: one or more engines on the node's disk, serving the storage API.
//!
//! Reads answer at once from the engine. A write is applied at once (the engine gives it a
//! sequence number), the engine is asked to sync, and the write is acknowledged only once the
//! engine's durable sequence number reaches it, after one of its fsyncs completed: many writes
//! ride on one fsync (group commit), and a crash can lose only writes never acknowledged.
//!
//! A retried write (same request id) is answered from its first application while the node is
//! up; after a crash the node remembers nothing and applies it again (its value is the same
//! write id, so a read of either application names the same write).

use super::api::{
    decode_value, encode_value, key_bytes, key_from_bytes, StorageApi, StorageKey, StorageOp,
    StorageResult, Stored, Version,
};
use super::config::StorageConfig;
use crate::node::{ClientId, Context, DiskIo, Fact, FsyncId, NoControl, Node, Reply, Request};
use crate::storage::{self, Bugs, Engine, EngineConfig, Seq, StorageError};
use std::collections::BTreeMap;
use std::ops::Bound;

/// How an engine is opened: `crate::storage::open`, or a test's own engine.
pub type Opener =
    fn(&mut dyn DiskIo, &str, &EngineConfig, Bugs) -> Result<Box<dyn Engine>, StorageError>;

/// Most writes waiting for durability per engine: one per client in flight, and clients are
/// bounded (`scenario::CLIENTS_MAX`), so more is a leak.
pub const PENDING_MAX: usize = 1 << 16;

/// The node that serves; any other redirects clients to it.
pub const SERVER: crate::node::NodeId = 0;

/// Names of the facts the node records (`Fact::Custom`).
pub mod facts {
    /// An engine opened: `[engine, last_seq, durable_seq]`, text: its shape.
    pub const OPENED: &str = "storage_opened";
    /// An engine cannot open because its metadata names a file that is gone: `[engine]`, text:
    /// the file and the engine's reason. `storage_recovers` fails on it.
    pub const FILE_MISSING: &str = "storage_file_missing";
    /// An engine cannot open for another reason (corruption the engine detected): `[engine]`,
    /// text: the error. Requests for its keys fail; not a bug.
    pub const DOWN: &str = "storage_engine_down";
    /// Recovery found data it could not read: `[engine, seq_lo, seq_hi]`.
    pub const DAMAGE: &str = "storage_damage";
    /// Background work finished: `[engine, flushes, compactions, disk_bytes_written,
    /// user_bytes_written]`, recorded when the flush or compaction count changes.
    pub const BACKGROUND: &str = "storage_background";
}

/// One engine slot of the node.
enum Slot {
    /// Serving; `flushes`/`compactions` are the counts last reported in a fact.
    Up { engine: Box<dyn Engine>, flushes: u64, compactions: u64 },
    /// Could not open: every request for its keys fails.
    Down,
}

/// A write applied but not yet durable: who to answer when `seq` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    seq: Seq,
    client: ClientId,
    request: crate::node::RequestId,
}

/// The last write a client's request applied while the node is up (its session).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Session {
    request_seq: u64,
    engine: usize,
    seq: Seq,
}

/// A node serving the storage API from its engines.
pub struct StorageNode {
    config: StorageConfig,
    engine_config: EngineConfig,
    opener: Opener,
    slots: Vec<Slot>,
    /// Per engine, writes waiting for durability, in sequence order.
    pending: Vec<std::collections::VecDeque<Pending>>,
    sessions: BTreeMap<ClientId, Session>,
}

impl std::fmt::Debug for StorageNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let up = self.slots.iter().filter(|s| matches!(s, Slot::Up { .. })).count();
        write!(f, "StorageNode {{ engines: {}, up: {up} }}", self.slots.len())
    }
}

/// The static reason a read that hit `error` fails with.
pub fn fail_reason(error: &StorageError) -> &'static str {
    match error {
        StorageError::Corruption { .. } => "corruption",
        StorageError::Unreadable { .. } => "unreadable",
        StorageError::MaybeLost { .. } => "maybe lost",
        StorageError::Unrecoverable { .. } => "unrecoverable",
    }
}

/// True if an open failed because the engine's metadata names a file that is gone (the
/// wording of `StorageError::from_disk` for a missing file).
pub fn names_missing_file(error: &StorageError) -> bool {
    matches!(error, StorageError::Unrecoverable { why, .. } if why.contains("missing"))
}

impl StorageNode {
    /// A node with empty memory that opens its engines with `crate::storage::open`.
    pub fn new(config: StorageConfig) -> Self {
        Self::with_opener(config, storage::open)
    }

    /// A node that opens its engines with `opener` (a test's engine).
    pub fn with_opener(config: StorageConfig, opener: Opener) -> Self {
        assert!(config.engines >= 1, "validated: at least one engine");
        let engines = config.engines as usize;
        StorageNode {
            engine_config: config.engine_config(),
            config,
            opener,
            slots: Vec::with_capacity(engines),
            pending: (0..engines).map(|_| Default::default()).collect(),
            sessions: BTreeMap::new(),
        }
    }

    /// The engine holding `key`.
    fn engine_of(&self, key: StorageKey) -> usize {
        (key % self.config.engines) as usize
    }

    fn engine(&mut self, index: usize) -> Option<&mut Box<dyn Engine>> {
        match &mut self.slots[index] {
            Slot::Up { engine, .. } => Some(engine),
            Slot::Down => None,
        }
    }

    /// Opens engine `index` from directory `e{index}`, recording what happened.
    fn open(&mut self, ctx: &mut Context<'_, Self>, index: usize) -> Slot {
        let dir = format!("e{index}");
        let engine_index = index as u64;
        match (self.opener)(ctx, &dir, &self.engine_config, self.config.bugs) {
            Ok(engine) => {
                let (last, durable) = (engine.last_seq(), engine.durable_seq());
                assert!(durable <= last, "engine {index}: durable {durable} > last {last}");
                let text = engine.describe();
                ctx.fact(Fact::custom(facts::OPENED, vec![engine_index, last, durable], text));
                for d in engine.damage().ranges() {
                    let values = vec![engine_index, d.seq_lo, d.seq_hi];
                    ctx.fact(Fact::custom(facts::DAMAGE, values, ""));
                }
                let stats = engine.stats();
                Slot::Up { engine, flushes: stats.flushes, compactions: stats.compactions }
            }
            Err(error) => {
                let name =
                    if names_missing_file(&error) { facts::FILE_MISSING } else { facts::DOWN };
                let text = match &error {
                    StorageError::Unrecoverable { file, why } => format!("{file}: {why}"),
                    other => other.to_string(),
                };
                ctx.fact(Fact::custom(name, vec![engine_index], text));
                Slot::Down
            }
        }
    }

    fn get(&mut self, ctx: &mut Context<'_, Self>, key: StorageKey) -> Reply<StorageResult> {
        let value_bytes = self.config.value_bytes;
        let index = self.engine_of(key);
        let Some(engine) = self.engine(index) else { return Reply::Fail { reason: "engine down" } };
        match engine.get(ctx, &key_bytes(key)) {
            Ok(found) => {
                let version = found
                    .map(|f| Version { value: decode_value(&f.value, value_bytes), seq: f.seq });
                Reply::Ok { value: StorageResult::Got(version) }
            }
            Err(error) => Reply::Fail { reason: fail_reason(&error) },
        }
    }

    /// A scan over every engine, merged by key: each engine holds its own keys, so the first
    /// `limit` keys of the merge are the first `limit` of the range.
    fn scan(
        &mut self,
        ctx: &mut Context<'_, Self>,
        (lo, hi, limit): (StorageKey, StorageKey, u32),
    ) -> Reply<StorageResult> {
        if lo > hi {
            return Reply::Ok { value: StorageResult::Rows(Vec::new()) };
        }
        let limit = limit.min(self.config.scan_limit) as usize;
        let value_bytes = self.config.value_bytes;
        let (lo_bytes, hi_bytes) = (key_bytes(lo), key_bytes(hi));
        let range = (Bound::Included(&lo_bytes[..]), Bound::Included(&hi_bytes[..]));
        let mut rows: Vec<(StorageKey, Version)> = Vec::new();
        for index in 0..self.slots.len() {
            let Some(engine) = self.engine(index) else {
                return Reply::Fail { reason: "engine down" };
            };
            let found = match engine.scan(ctx, range, limit) {
                Ok(found) => found,
                Err(error) => return Reply::Fail { reason: fail_reason(&error) },
            };
            assert!(found.len() <= limit, "engine {index} returned more rows than asked");
            rows.extend(found.into_iter().map(|row| decode_row(&row, value_bytes)));
        }
        if self.slots.len() > 1 {
            rows.sort_by_key(|(key, _)| *key); // stable: one engine's order stays as it was
            rows.truncate(limit);
        }
        Reply::Ok { value: StorageResult::Rows(rows) }
    }

    /// Applies a put or delete once per request, then answers when it is durable.
    fn write(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<StorageOp>,
    ) {
        if let Some(session) = self.sessions.get(&client).copied() {
            if session.request_seq > request.id.seq {
                return; // the client has moved on: this is a stale duplicate
            }
            if session.request_seq == request.id.seq {
                self.answer_retry(ctx, client, request.id, session);
                return;
            }
        }
        let (key, value) = match request.op {
            StorageOp::Put { key, value } => (key, Some(value)),
            StorageOp::Delete { key } => (key, None),
            _ => unreachable!("write() takes puts and deletes"),
        };
        let index = self.engine_of(key);
        let value_bytes = self.config.value_bytes;
        let Some(engine) = self.engine(index) else {
            ctx.reply(client, request.id, Reply::Fail { reason: "engine down" });
            return;
        };
        let before = engine.last_seq();
        let seq = match value {
            Some(id) => engine.put(ctx, &key_bytes(key), &encode_value(id, value_bytes)),
            None => engine.delete(ctx, &key_bytes(key)),
        };
        assert!(seq > before, "engine {index}: write got seq {seq}, not above {before}");
        engine.sync(ctx);
        let durable = engine.durable_seq();
        let session = Session { request_seq: request.id.seq, engine: index, seq };
        self.sessions.insert(client, session);
        if durable >= seq {
            ctx.reply(client, request.id, Reply::Ok { value: StorageResult::Written { seq } });
        } else {
            let queue = &mut self.pending[index];
            assert!(queue.len() < PENDING_MAX, "engine {index}: too many writes pending");
            debug_assert!(queue.back().is_none_or(|p| p.seq < seq), "pending in seq order");
            queue.push_back(Pending { seq, client, request: request.id });
        }
        self.background_facts(ctx, index);
    }

    /// A retry of the write `session` applied: answer now if it is durable; if not, the
    /// pending entry answers it when it is (the client matches replies by request id).
    fn answer_retry(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: crate::node::RequestId,
        session: Session,
    ) {
        let Some(engine) = self.engine(session.engine) else { return };
        if engine.durable_seq() >= session.seq {
            let value = StorageResult::Written { seq: session.seq };
            ctx.reply(client, request, Reply::Ok { value });
        }
    }

    /// Answers the writes of engine `index` that are durable now, in order.
    fn release(&mut self, ctx: &mut Context<'_, Self>, index: usize) {
        let Some(engine) = self.engine(index) else { return };
        let durable = engine.durable_seq();
        assert!(durable <= engine.last_seq(), "engine {index}: durable beyond last");
        while let Some(p) = self.pending[index].front().copied() {
            if p.seq > durable {
                break;
            }
            self.pending[index].pop_front();
            let value = StorageResult::Written { seq: p.seq };
            ctx.reply(p.client, p.request, Reply::Ok { value });
        }
    }

    /// Records a fact when engine `index` finished a flush or compaction since the last one.
    fn background_facts(&mut self, ctx: &mut Context<'_, Self>, index: usize) {
        let Slot::Up { engine, flushes, compactions } = &mut self.slots[index] else { return };
        let stats = engine.stats();
        if stats.flushes == *flushes && stats.compactions == *compactions {
            return;
        }
        (*flushes, *compactions) = (stats.flushes, stats.compactions);
        let values = vec![
            index as u64,
            stats.flushes,
            stats.compactions,
            stats.disk_bytes_written(),
            stats.user_bytes_written,
        ];
        ctx.fact(Fact::custom(facts::BACKGROUND, values, ""));
    }

    /// Writes waiting for durability on engine `index` (for tests and traces).
    pub fn pending_writes(&self, index: usize) -> usize {
        self.pending[index].len()
    }

    /// True if engine `index` opened.
    pub fn engine_up(&self, index: usize) -> bool {
        matches!(self.slots.get(index), Some(Slot::Up { .. }))
    }
}

/// A scan row as the API reports it. A key that is not 4 bytes cannot be an API key: the row
/// is reported garbled under the key its leading bytes spell, for the checker to judge.
fn decode_row(row: &storage::Row, value_bytes: usize) -> (StorageKey, Version) {
    match key_from_bytes(&row.key) {
        Some(key) => (key, Version { value: decode_value(&row.value, value_bytes), seq: row.seq }),
        None => {
            let mut padded = [0u8; 4];
            for (to, from) in padded.iter_mut().zip(&row.key) {
                *to = *from;
            }
            let mut bytes = row.key.clone();
            bytes.extend_from_slice(&row.value);
            let garbled = Stored::Garbled {
                len: bytes.len() as u32,
                crc: crate::storage::crc::crc32c(&bytes),
            };
            (StorageKey::from_be_bytes(padded), Version { value: garbled, seq: row.seq })
        }
    }
}

impl Node for StorageNode {
    type Msg = ();
    type Timer = ();
    type Api = StorageApi;
    type Control = NoControl;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        assert!(self.slots.is_empty(), "a node starts once per boot");
        if ctx.id() != SERVER {
            return;
        }
        for index in 0..self.config.engines as usize {
            let slot = self.open(ctx, index);
            self.slots.push(slot);
        }
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: crate::node::NodeId, _: ()) {}

    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<StorageOp>,
    ) {
        if ctx.id() != SERVER {
            ctx.reply(client, request.id, Reply::Redirect { leader: Some(SERVER) });
            return;
        }
        let reply = match request.op {
            StorageOp::Get { key } => self.get(ctx, key),
            StorageOp::Scan { lo, hi, limit } => self.scan(ctx, (lo, hi, limit)),
            StorageOp::Put { .. } | StorageOp::Delete { .. } => {
                return self.write(ctx, client, request);
            }
        };
        ctx.reply(client, request.id, reply);
    }

    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}

    fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, fsync: FsyncId) {
        for index in 0..self.slots.len() {
            let Some(engine) = self.engine(index) else { continue };
            if engine.on_fsync(ctx, fsync) {
                self.release(ctx, index);
                self.background_facts(ctx, index);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_decode_and_a_row_whose_key_is_not_an_api_key_is_garbled() {
        let value = encode_value(42, 16);
        let row = storage::Row { key: key_bytes(7).to_vec(), value: value.clone(), seq: 3 };
        assert_eq!(decode_row(&row, 16), (7, Version { value: Stored::Id(42), seq: 3 }));
        let bad = storage::Row { key: vec![0, 0, 1], value, seq: 4 };
        let (key, version) = decode_row(&bad, 16);
        assert_eq!(key, 256, "the leading bytes, zero-padded");
        assert!(matches!(version.value, Stored::Garbled { len: 19, .. }), "{version:?}");
    }

    #[test]
    fn read_errors_map_to_static_reasons_and_only_a_missing_file_is_a_finding() {
        let missing = StorageError::Unrecoverable {
            file: "e0/MANIFEST".into(),
            why: "the file is missing".into(),
        };
        let unreadable =
            StorageError::Unrecoverable { file: "e0/MANIFEST".into(), why: "checksum".into() };
        assert!(names_missing_file(&missing) && !names_missing_file(&unreadable));
        assert_eq!(fail_reason(&StorageError::MaybeLost { seq_lo: 1, seq_hi: 2 }), "maybe lost");
        let sector = StorageError::Unreadable { file: "f".into(), offset: 0 };
        assert_eq!(fail_reason(&sector), "unreadable");
    }
}
