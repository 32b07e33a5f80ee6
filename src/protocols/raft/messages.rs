//! What Raft nodes store in their logs and send each other.

use crate::encoding::typed::encode_message;
use crate::encoding::typed::{Sink, Source};
use crate::encoding::{DecodeError, EncodeError, Message};
use crate::node::{NodeId, Op, RequestId};
use serde::{Deserialize, Serialize};

/// What a log entry carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// The entry a new leader appends to commit its term (and learn the commit index).
    Noop,
    /// A client's write, with the id its session deduplicates on.
    Command { id: RequestId, op: Op },
    /// A new voting membership; it takes effect on every node as soon as it is appended.
    Config { voters: Vec<NodeId> },
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The term of the leader that created it.
    pub term: u64,
    /// What it carries.
    pub payload: Payload,
}

impl Entry {
    /// Digest of the entry's payload alone (what `Apply` facts carry).
    pub fn command_digest(&self) -> u64 {
        // Always the version-1 encoding, so nodes on different schema versions agree.
        let mut bytes = Vec::with_capacity(64);
        encode_message(super::storage::schema(1), &self.payload, &mut bytes)
            .expect("payloads fit the schema");
        super::checksum(&bytes)
    }

    /// Size of the entry as counted against message limits.
    pub fn size_bytes(&self) -> u64 {
        match &self.payload {
            Payload::Noop => 16,
            Payload::Config { voters } => 16 + 4 * voters.len() as u64,
            Payload::Command { op, .. } => {
                let value_bytes = match op {
                    Op::Get { .. } => 0,
                    Op::Put { value, .. } | Op::Append { value, .. } => value.len(),
                    Op::Cas { from, to, .. } => from.as_ref().map_or(0, String::len) + to.len(),
                };
                32 + (op.key().len() + value_bytes) as u64
            }
        }
    }
}

/// A payload as the `Payload` message of `schemas/raft-v1.toml`.
impl Message for Payload {
    const NAME: &'static str = "Payload";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        match self {
            Payload::Noop => sink.variant("kind", "noop"),
            Payload::Command { id, op } => {
                sink.variant("kind", "command")?;
                sink.message("request", id)?;
                sink.message("op", op)
            }
            Payload::Config { voters } => {
                sink.variant("kind", "config")?;
                sink.uints("voters", voters.iter().map(|v| u64::from(*v)))
            }
        }
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(match source.variant("kind", &["noop", "command", "config"])? {
            0 => Payload::Noop,
            1 => Payload::Command { id: source.message("request")?, op: source.message("op")? },
            _ => {
                let voters = source.uints("voters")?;
                let voters: Result<Vec<NodeId>, _> =
                    voters.into_iter().map(NodeId::try_from).collect();
                let voters = voters.map_err(|_| source.missing("voters", "node ids (u32)"))?;
                Payload::Config { voters }
            }
        })
    }
}

/// An entry as the `Entry` message.
impl Message for Entry {
    const NAME: &'static str = "Entry";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.uint("term", self.term)?;
        sink.message("payload", &self.payload)
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(Entry { term: source.uint("term")?, payload: source.message("payload")? })
    }
}

/// A snapshot as sent to a lagging follower: the state machine (with its client sessions) as
/// of `index`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotData {
    /// Last log index the snapshot covers.
    pub index: u64,
    /// Term of that entry.
    pub term: u64,
    /// Chained digest of the log prefix up to `index`.
    pub digest: u64,
    /// The voting membership as of `index`.
    pub voters: Vec<NodeId>,
    /// The replicated state: state machine and client sessions.
    pub state: Vec<u8>,
}

/// Messages between Raft nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// RequestVote (`pre`: a PreVote, which changes no state on the receiver). A PreVote
    /// carries the term the candidate would campaign in.
    Vote { pre: bool, term: u64, last_index: u64, last_term: u64 },
    /// Answer to `Vote`. `term` is the voter's term, or the asked term for a granted PreVote.
    VoteReply { pre: bool, term: u64, granted: bool },
    /// AppendEntries; also the heartbeat. `read_round` is the leader's latest heartbeat round,
    /// echoed back so the leader can confirm its leadership for reads.
    Append {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<Entry>,
        commit: u64,
        read_round: u64,
    },
    /// Answer to `Append`. On success `match_index` is the last index known to match. On
    /// failure the hints let the leader skip a whole conflicting term: the follower's term at
    /// `prev_index` (`conflict_term`) and the first index it holds of that term
    /// (`conflict_index`), or its log length + 1 if it is too short.
    AppendReply {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_index: u64,
        conflict_term: Option<u64>,
        read_round: u64,
    },
    /// InstallSnapshot, whole.
    Snapshot { term: u64, snapshot: Box<SnapshotData>, read_round: u64 },
    /// Answer to `Snapshot`: the follower now holds everything up to `index`.
    SnapshotReply { term: u64, index: u64, read_round: u64 },
}

impl Msg {
    /// Every variant's name, as its `Debug` form starts, in the order of the wire's
    /// `MessageKind` enum (`vote = 0` .. `snapshot_reply = 5`).
    pub const NAMES: [&'static str; 6] =
        ["Vote", "VoteReply", "Append", "AppendReply", "Snapshot", "SnapshotReply"];

    /// The variant's number in `MessageKind` (an index of [`Msg::NAMES`]).
    pub fn kind(&self) -> usize {
        match self {
            Msg::Vote { .. } => 0,
            Msg::VoteReply { .. } => 1,
            Msg::Append { .. } => 2,
            Msg::AppendReply { .. } => 3,
            Msg::Snapshot { .. } => 4,
            Msg::SnapshotReply { .. } => 5,
        }
    }

    /// The variant's name (what traces and `messages` budgets call it).
    pub fn name(&self) -> &'static str {
        Msg::NAMES[self.kind()]
    }

    /// True for the answers to an RPC (the `*Reply` variants).
    pub fn is_reply(kind: usize) -> bool {
        matches!(kind, 1 | 3 | 5)
    }
}
