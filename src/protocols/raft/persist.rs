//! When the node writes and fsyncs, what waits for durability, and recovery from the disk.
//!
//! Replies that depend on durable state (vote grants, append and snapshot acks) and the
//! candidate's and leader's counting of themselves are *deferred* behind a [`Gate`]: they
//! happen once the meta version, the log prefix and the snapshot they depend on are durable.
//!
//! Corruption in the middle of the log (a bad record followed by more data, an unreadable
//! sector, a record that does not chain onto the one before it) cuts the log there, like a torn
//! tail, but also marks the node *untrusted*: it grants no votes and does not campaign until a
//! leader has brought it up to that leader's commit index. Entries it had acknowledged beyond
//! the cut may be lost; not voting keeps the node from electing a leader that lacks them.

use super::log::chain;
use super::messages::{Msg, Payload, SnapshotData};
use super::node::RaftNode;
use super::storage::{self, Meta, Record, META_FILE, META_SLOT_BYTES};
use super::StateMachine;
use crate::node::{Context, Fact, FsyncId, NodeId};

/// Log bytes below the snapshot that make the log file worth rewriting.
const STALE_BYTES_REWRITE_MIN: u64 = 64 << 10;
/// Most deferred replies kept; beyond it the oldest is dropped (as the network might).
const DEFERRED_MAX: usize = 4096;
/// Times recovery re-reads a file whose records look corrupt (reads may flip bits).
const RECOVERY_READS_MAX: usize = 3;

/// What a deferred action waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Gate {
    pub(super) meta_version: u64,
    pub(super) log_index: u64,
    pub(super) snapshot_index: u64,
}

#[derive(Clone, Debug)]
pub(super) enum Deferred {
    Send { to: NodeId, msg: Msg },
    SelfVote,
}

/// The node's bookkeeping of its files.
#[derive(Clone, Debug, Default)]
pub(super) struct DiskState {
    pub(super) meta_version: u64,
    pub(super) meta_durable: Meta,
    meta_slot_durable: u64,
    meta_inflight: Option<(FsyncId, Meta, u64)>,
    meta_dirty: bool,
    pub(super) log_gen: u64,
    /// File offset of each held log entry, parallel to the in-memory log.
    log_offsets: Vec<u64>,
    log_end: u64,
    pub(super) log_durable_index: u64,
    log_fsyncs: Vec<(FsyncId, u64)>,
    pub(super) snapshot_durable_index: u64,
    snapshot_slot_durable: u64,
    snapshot_inflight: Option<(FsyncId, SnapshotData, u64, bool)>,
    deferred: Vec<(Gate, u64, Deferred)>,
}

impl DiskState {
    /// True when no write of the node waits for its fsync (everything written is durable).
    pub(super) fn idle(&self) -> bool {
        self.meta_inflight.is_none()
            && self.log_fsyncs.is_empty()
            && self.snapshot_inflight.is_none()
    }
}

impl<S: StateMachine> RaftNode<S> {
    /// The gate for a reply that depends on the current meta and log up to `log_index`.
    pub(super) fn gate(&self, log_index: u64) -> Gate {
        Gate { meta_version: self.disk.meta_version, log_index, snapshot_index: 0 }
    }

    fn gate_open(&self, gate: &Gate) -> bool {
        self.config.bugs.skip_fsync
            || (self.disk.meta_durable.version >= gate.meta_version
                && self.disk.log_durable_index >= gate.log_index
                && self.disk.snapshot_durable_index >= gate.snapshot_index)
    }

    /// Index up to which this node's own log counts as durable (for self-counting).
    pub(super) fn durable_index(&self) -> u64 {
        if self.config.bugs.skip_fsync {
            self.log.last_index()
        } else {
            self.disk.log_durable_index.min(self.log.last_index())
        }
    }

    /// Runs `action` once `gate` is durable (at once if it already is).
    pub(super) fn defer(&mut self, ctx: &mut Context<'_, Self>, gate: Gate, action: Deferred) {
        if self.gate_open(&gate) {
            self.run_deferred(ctx, action);
            return;
        }
        if self.disk.deferred.len() >= DEFERRED_MAX {
            self.disk.deferred.remove(0);
        }
        self.disk.deferred.push((gate, self.term, action));
    }

    fn run_deferred(&mut self, ctx: &mut Context<'_, Self>, action: Deferred) {
        match action {
            Deferred::Send { to, msg } => self.send(ctx, to, &msg),
            Deferred::SelfVote => self.on_self_vote(ctx),
        }
    }

    fn release_deferred(&mut self, ctx: &mut Context<'_, Self>) {
        let pending = std::mem::take(&mut self.disk.deferred);
        let mut kept = Vec::new();
        for (gate, term, action) in pending {
            if term != self.term {
                continue; // answers of an older term are moot
            }
            if self.gate_open(&gate) {
                self.run_deferred(ctx, action);
            } else {
                kept.push((gate, term, action));
            }
        }
        kept.append(&mut self.disk.deferred);
        self.disk.deferred = kept;
    }

    /// Records a change of term, vote or log generation; written now or after the write in
    /// flight (one meta write at a time, into the slot not holding the durable record).
    pub(super) fn persist_meta(&mut self, ctx: &mut Context<'_, Self>) {
        self.disk.meta_version += 1;
        if self.disk.meta_inflight.is_some() {
            self.disk.meta_dirty = true;
        } else {
            self.write_meta(ctx);
        }
    }

    fn write_meta(&mut self, ctx: &mut Context<'_, Self>) {
        assert!(self.disk.meta_inflight.is_none(), "one meta write at a time");
        let meta = Meta {
            version: self.disk.meta_version,
            term: self.term,
            vote: self.vote,
            log_gen: self.disk.log_gen,
        };
        let slot = 1 - self.disk.meta_slot_durable;
        ctx.disk().write(META_FILE, slot * META_SLOT_BYTES, &storage::encode_meta(&meta));
        let id = ctx.fsync(META_FILE);
        self.disk.meta_inflight = Some((id, meta, slot));
        self.disk.meta_dirty = false;
    }

    /// Writes the log entries from `from` to the end and starts an fsync.
    pub(super) fn persist_entries(&mut self, ctx: &mut Context<'_, Self>, from: u64) {
        let file = storage::log_file(self.disk.log_gen);
        assert_eq!(self.disk.log_offsets.len() as u64, from - 1 - self.log.base_index());
        for index in from..=self.log.last_index() {
            let held = self.log.get(index).expect("held entry");
            let record = Record { index, digest: held.digest, entry: held.entry.clone() };
            let bytes = storage::encode_record(&record);
            let offset = ctx.disk().append(&file, &bytes);
            assert_eq!(offset, self.disk.log_end, "log file and memory agree");
            self.disk.log_offsets.push(offset);
            self.disk.log_end = offset + bytes.len() as u64;
        }
        let id = ctx.fsync(&file);
        self.disk.log_fsyncs.push((id, self.log.last_index()));
    }

    /// Cuts the log file at entry `index` (the in-memory log is cut by the caller).
    pub(super) fn persist_truncate(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        let keep = (index - 1 - self.log.base_index()) as usize;
        let offset = self.disk.log_offsets[keep];
        ctx.disk().truncate(&storage::log_file(self.disk.log_gen), offset);
        self.disk.log_offsets.truncate(keep);
        self.disk.log_end = offset;
        self.clamp_log_durable(index - 1);
    }

    fn clamp_log_durable(&mut self, last_valid: u64) {
        self.disk.log_durable_index = self.disk.log_durable_index.min(last_valid);
        for (_, upto) in &mut self.disk.log_fsyncs {
            *upto = (*upto).min(last_valid);
        }
    }

    /// True if a snapshot can be written now (one at a time).
    pub(super) fn snapshot_write_idle(&self) -> bool {
        self.disk.snapshot_inflight.is_none()
    }

    /// Writes `snapshot` into the slot not holding the durable one and starts its fsync.
    /// `installed`: it replaced the log (InstallSnapshot), so the log file is emptied after it.
    pub(super) fn persist_snapshot(
        &mut self,
        ctx: &mut Context<'_, Self>,
        snapshot: SnapshotData,
        installed: bool,
    ) {
        assert!(self.snapshot_write_idle());
        let slot = 1 - self.disk.snapshot_slot_durable;
        let file = storage::snapshot_file(slot);
        let bytes = storage::encode_snapshot(&snapshot);
        ctx.disk().truncate(&file, 0);
        ctx.disk().write(&file, 0, &bytes);
        let id = ctx.fsync(&file);
        if installed {
            // Issued after the snapshot's fsync, so it completes after it: the log is never
            // durably emptied before the snapshot that replaces it is durable.
            let log = storage::log_file(self.disk.log_gen);
            ctx.disk().truncate(&log, 0);
            self.disk.log_offsets.clear();
            self.disk.log_end = 0;
            self.clamp_log_durable(snapshot.index);
            let log_id = ctx.fsync(&log);
            self.disk.log_fsyncs.push((log_id, snapshot.index));
        }
        self.disk.snapshot_inflight = Some((id, snapshot, slot, installed));
    }

    /// Drops the offsets of entries a snapshot now covers (the log was compacted to `index`).
    pub(super) fn forget_offsets_to(&mut self, dropped: usize) {
        let dropped = dropped.min(self.disk.log_offsets.len());
        self.disk.log_offsets.drain(..dropped);
    }

    pub(super) fn on_fsync_done(&mut self, ctx: &mut Context<'_, Self>, id: FsyncId) {
        if let Some((fsync, meta, slot)) = self.disk.meta_inflight {
            if fsync == id {
                self.disk.meta_durable = meta;
                self.disk.meta_slot_durable = slot;
                self.disk.meta_inflight = None;
                if self.disk.meta_dirty {
                    self.write_meta(ctx);
                }
            }
        }
        if let Some(position) = self.disk.log_fsyncs.iter().position(|(f, _)| *f == id) {
            let (_, upto) = self.disk.log_fsyncs.remove(position);
            let upto = upto.min(self.log.last_index());
            self.disk.log_durable_index = self.disk.log_durable_index.max(upto);
        }
        if self.disk.snapshot_inflight.as_ref().is_some_and(|s| s.0 == id) {
            let (_, snapshot, slot, installed) = self.disk.snapshot_inflight.take().expect("some");
            self.disk.snapshot_slot_durable = slot;
            self.disk.snapshot_durable_index = snapshot.index;
            if !installed {
                self.compact_log(ctx, snapshot);
            }
        }
        self.release_deferred(ctx);
        self.after_durable(ctx);
    }

    /// A local snapshot is durable: drop the log entries it covers, maybe rewrite the file.
    fn compact_log(&mut self, ctx: &mut Context<'_, Self>, snapshot: SnapshotData) {
        let index = snapshot.index;
        if index > self.log.base_index() && index <= self.log.last_index() {
            let dropped = (index - self.log.base_index()) as usize;
            self.log.compact_to(index);
            self.forget_offsets_to(dropped);
            let (term, digest) = (snapshot.term, snapshot.digest);
            self.fact(ctx, Fact::LogCompact { index, term, digest });
        }
        if self.snapshot.as_ref().is_none_or(|s| s.index < index) {
            self.snapshot = Some(snapshot);
        }
        self.maybe_rewrite_log(ctx);
    }

    /// Rewrites the live records into the other log file when the stale prefix dominates;
    /// `meta` switches to it (fsynced after the new file, so recovery sees a complete file).
    fn maybe_rewrite_log(&mut self, ctx: &mut Context<'_, Self>) {
        let stale = self.disk.log_offsets.first().copied().unwrap_or(self.disk.log_end);
        let live = self.disk.log_end - stale;
        let switching = self.disk.meta_durable.log_gen != self.disk.log_gen;
        if stale < STALE_BYTES_REWRITE_MIN || stale < live || switching {
            return;
        }
        if self.disk.meta_inflight.is_some() {
            return; // try again after a later snapshot
        }
        self.disk.log_gen += 1;
        let file = storage::log_file(self.disk.log_gen);
        ctx.disk().truncate(&file, 0);
        self.disk.log_offsets.clear();
        self.disk.log_end = 0;
        let from = self.log.base_index() + 1;
        if from <= self.log.last_index() {
            self.persist_entries(ctx, from);
        } else {
            let id = ctx.fsync(&file);
            self.disk.log_fsyncs.push((id, self.log.last_index()));
        }
        self.persist_meta(ctx);
    }

    /// Starts a local snapshot at the applied index if the log has grown enough.
    pub(super) fn maybe_snapshot(&mut self, ctx: &mut Context<'_, Self>) {
        let base = self.snapshot.as_ref().map_or(0, |s| s.index).max(self.log.base_index());
        let grown = self.applied_index.saturating_sub(base);
        if grown < self.config.snapshot_entries || !self.snapshot_write_idle() {
            return;
        }
        let index = self.applied_index;
        let held = self.log.get(index).expect("applied entries are held");
        let snapshot = SnapshotData {
            index,
            term: held.entry.term,
            digest: held.digest,
            voters: self.config_at(index).0,
            state: self.replica.snapshot(),
        };
        self.persist_snapshot(ctx, snapshot, false);
    }

    /// Rebuilds the node from its disk and re-announces its log to the checkers.
    pub(super) fn recover(&mut self, ctx: &mut Context<'_, Self>) {
        self.fact(ctx, Fact::LogTruncate { index: 1 });
        if let Some((snapshot, slot)) = storage::read_snapshot(&mut ctx.disk()) {
            let (index, term, digest) = (snapshot.index, snapshot.term, snapshot.digest);
            self.replica.restore(&snapshot.state).expect("checksummed snapshot restores");
            self.log.reset(index, term, digest);
            self.commit_index = index;
            self.applied_index = index;
            self.disk.snapshot_durable_index = index;
            self.disk.snapshot_slot_durable = slot;
            self.snapshot = Some(snapshot);
            self.fact(ctx, Fact::LogCompact { index, term, digest });
        } else {
            self.disk.snapshot_slot_durable = 1;
        }
        let meta = storage::read_meta(&mut ctx.disk());
        let (durable, slot) = meta.meta.unwrap_or((Meta::default(), 1));
        self.untrusted |= meta.corrupt;
        self.disk.meta_durable = durable;
        self.disk.meta_slot_durable = slot;
        self.disk.meta_version = durable.version;
        self.disk.log_gen = durable.log_gen;
        self.term = durable.term;
        self.vote = durable.vote;
        self.recover_log(ctx);
        if meta.corrupt {
            self.term = self.term.max(self.log.last_term());
        }
        self.disk.log_durable_index = self.log.last_index();
        let (voters, index) = self.config_at(self.log.last_index());
        self.voters = voters;
        self.config_index = index;
        self.fact(ctx, Fact::Membership { members: self.voters.clone() });
    }

    fn recover_log(&mut self, ctx: &mut Context<'_, Self>) {
        let file = storage::log_file(self.disk.log_gen);
        let mut read = storage::read_log(&mut ctx.disk(), &file);
        for _ in 1..RECOVERY_READS_MAX {
            if !read.corrupt {
                break;
            }
            read = storage::read_log(&mut ctx.disk(), &file);
        }
        let mut end = 0;
        let mut chained = true;
        for (at, (offset, record)) in read.records.iter().enumerate() {
            // A record ends where the next begins (the last one at the end of the valid data).
            let record_end = read.records.get(at + 1).map_or(read.end, |(next, _)| *next);
            if record.index <= self.log.base_index() {
                end = record_end;
                continue;
            }
            let command = record.entry.command_digest();
            let fits = record.index == self.log.last_index() + 1
                && record.entry.term >= self.log.last_term()
                && chain(self.log.last_digest(), record.entry.term, command) == record.digest;
            if !fits {
                // Stale records after an installed snapshot are expected; a break later on
                // means the file was damaged.
                chained = self.log.last_index() == self.log.base_index();
                break;
            }
            let index = self.log.append(record.entry.clone());
            let (term, digest) = (record.entry.term, record.digest);
            self.fact(ctx, Fact::LogAppend { index, term, digest });
            self.disk.log_offsets.push(*offset);
            end = record_end;
        }
        self.untrusted |= read.corrupt || !chained;
        if end < ctx.disk().len(&file) {
            ctx.disk().truncate(&file, end);
        }
        self.disk.log_end = end;
    }

    /// The membership in effect with the log cut at `upto`, and the index it came from.
    pub(super) fn config_at(&self, upto: u64) -> (Vec<NodeId>, u64) {
        let mut index = upto.min(self.log.last_index());
        while index > self.log.base_index() {
            if let Payload::Config { voters } = &self.log.get(index).expect("held").entry.payload {
                return (voters.clone(), index);
            }
            index -= 1;
        }
        match &self.snapshot {
            Some(s) if s.index == self.log.base_index() => (s.voters.clone(), s.index),
            _ => (self.initial_voters.clone(), 0),
        }
    }
}
