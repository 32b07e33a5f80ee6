//! The Raft node: its state, and the [`Node`] handlers that dispatch to the other files.

use super::kv::{KvStore, Replica, StateMachine};
use super::log::Log;
use super::messages::{Msg, SnapshotData};
use super::persist::DiskState;
use super::upgrade::Upgrade;
use super::wire::{self, Frame, Versions};
use super::{Control, RaftConfig};
use crate::node::{
    ClientId, Context, Fact, FsyncId, KvApi, Nanos, Node, NodeId, Op, Request, RequestId,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What a node is doing in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Asks for PreVotes before campaigning (no term change yet).
    PreCandidate,
    /// Campaigns for votes in its term.
    Candidate,
    /// Leads its term.
    Leader,
}

/// Timers a Raft node sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Check whether the election deadline passed.
    Election,
    /// Leader's heartbeat tick for `term`.
    Heartbeat { term: u64 },
}

/// How the leader replicates to one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ProgressState {
    /// One append at a time until the follower's log matches.
    Probe,
    /// Pipelined appends, at most `inflight_entries_max` beyond `matched`.
    Replicate,
    /// A snapshot was sent; waiting for its answer.
    Snapshot,
}

/// The leader's view of one follower (or learner).
#[derive(Clone, Debug)]
pub(super) struct Progress {
    pub(super) next: u64,
    pub(super) matched: u64,
    pub(super) state: ProgressState,
    /// Something (with entries) was sent since the last heartbeat tick.
    pub(super) sent_since_tick: bool,
    /// The follower answered since the last heartbeat tick.
    pub(super) acked_since_tick: bool,
    /// The follower answered since the last CheckQuorum.
    pub(super) active: bool,
    /// Highest heartbeat round the follower echoed.
    pub(super) round_acked: u64,
    /// Highest heartbeat round sent to it.
    pub(super) round_sent: u64,
    /// Local time the last snapshot was sent.
    pub(super) snapshot_sent_at_ns: Nanos,
    /// Times the snapshot in flight was sent again (each resend waits longer).
    pub(super) snapshot_resends: u32,
    /// Heartbeat round when the last snapshot was sent.
    pub(super) snapshot_round: u64,
}

impl Progress {
    pub(super) fn new(next: u64) -> Self {
        Progress {
            next,
            matched: 0,
            state: ProgressState::Probe,
            sent_since_tick: false,
            acked_since_tick: false,
            active: false,
            round_acked: 0,
            round_sent: 0,
            snapshot_sent_at_ns: 0,
            snapshot_resends: 0,
            snapshot_round: 0,
        }
    }
}

/// A read waiting for leadership to be confirmed and the state machine to catch up.
#[derive(Clone, Debug)]
pub(super) struct PendingRead {
    pub(super) client: ClientId,
    pub(super) id: RequestId,
    pub(super) op: Op,
    /// Heartbeat round that must be confirmed (0: confirmed by a lease).
    pub(super) round: u64,
    /// Commit index to apply up to; `None` until the leader's no-op commits.
    pub(super) index: Option<u64>,
}

/// A server catching up as a learner before it is added (thesis §4.2.1).
#[derive(Clone, Copy, Debug)]
pub(super) struct Catchup {
    pub(super) node: NodeId,
    pub(super) round_target: u64,
    pub(super) round_start_ns: Nanos,
}

/// State only a leader has.
#[derive(Clone, Debug)]
pub(super) struct LeaderState {
    pub(super) progress: BTreeMap<NodeId, Progress>,
    /// Log index -> the client waiting for that write.
    pub(super) writes: BTreeMap<u64, (ClientId, RequestId)>,
    pub(super) reads: Vec<PendingRead>,
    /// Current heartbeat round, and the local time each recent round started.
    pub(super) round: u64,
    pub(super) round_started_ns: VecDeque<(u64, Nanos)>,
    pub(super) round_confirmed: u64,
    pub(super) lease_until_ns: Nanos,
    pub(super) check_quorum_at_ns: Nanos,
    pub(super) catchup: Option<Catchup>,
}

/// Most writes a leader keeps waiting; more are refused (`Reply::Fail`, nothing applied).
pub const PENDING_WRITES_MAX: usize = 4096;
/// Most reads a leader keeps waiting; more are refused.
pub const PENDING_READS_MAX: usize = 4096;
/// Most membership changes remembered.
pub const CONTROLS_MAX: usize = 64;

/// A Raft node replicating state machine `S` (the key-value store by default).
pub struct RaftNode<S: StateMachine = KvStore> {
    pub(super) config: RaftConfig,
    pub(super) id: NodeId,
    pub(super) initial_voters: Vec<NodeId>,
    // Durable state, mirrored on disk by persist.rs.
    pub(super) term: u64,
    pub(super) vote: Option<NodeId>,
    pub(super) log: Log,
    pub(super) disk: DiskState,
    // Volatile state.
    pub(super) role: Role,
    pub(super) leader: Option<NodeId>,
    pub(super) commit_index: u64,
    pub(super) applied_index: u64,
    pub(super) replica: Replica<S>,
    /// The latest membership in the log (in effect as soon as appended) and its index.
    pub(super) voters: Vec<NodeId>,
    pub(super) config_index: u64,
    /// The latest snapshot taken or installed (sent to lagging followers).
    pub(super) snapshot: Option<SnapshotData>,
    pub(super) votes: BTreeSet<NodeId>,
    pub(super) election_deadline_ns: Nanos,
    pub(super) election_timer_armed: bool,
    pub(super) leader_heard_at_ns: Option<Nanos>,
    pub(super) lead: Option<LeaderState>,
    pub(super) controls: VecDeque<Control>,
    /// Recovery found corruption in the middle of the log: no voting or campaigning until a
    /// leader has brought this node up to its commit index.
    pub(super) untrusted: bool,
    /// The schema versions installed and the one the node runs (encodes and decodes with).
    pub(super) versions: Versions,
    /// A rolling-upgrade restart waiting for the node's writes to become durable.
    pub(super) upgrade: Option<Upgrade>,
    /// The schema version each peer said it runs (version 2 and up send it), as last heard.
    pub(super) peer_versions: BTreeMap<NodeId, u32>,
}

impl<S: StateMachine> RaftNode<S> {
    /// A fresh node `id`; `initial_voters` is the membership before any config entry.
    pub fn new(config: RaftConfig, id: NodeId, initial_voters: Vec<NodeId>) -> Self {
        assert!(!initial_voters.is_empty(), "a cluster needs at least one voter");
        assert!(config.timeout_election_min_ns <= config.timeout_election_max_ns);
        let config_skip = config.bugs.skip_compat_check;
        RaftNode {
            config,
            id,
            voters: initial_voters.clone(),
            initial_voters,
            term: 0,
            vote: None,
            log: Log::default(),
            disk: DiskState::default(),
            role: Role::Follower,
            leader: None,
            commit_index: 0,
            applied_index: 0,
            replica: Replica::default(),
            config_index: 0,
            snapshot: None,
            votes: BTreeSet::new(),
            election_deadline_ns: 0,
            election_timer_armed: false,
            leader_heard_at_ns: None,
            lead: None,
            controls: VecDeque::new(),
            untrusted: false,
            versions: Versions::new(config_skip),
            upgrade: None,
            peer_versions: BTreeMap::new(),
        }
    }

    /// The node's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The node's current term.
    pub fn term(&self) -> u64 {
        self.term
    }

    /// The node's log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    /// Highest index known committed.
    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    /// Highest index applied to the state machine.
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The voting membership in effect.
    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }

    /// The replicated state machine.
    pub fn machine(&self) -> &S {
        &self.replica.machine
    }

    /// True while recovery's distrust of the local log lasts.
    pub fn untrusted(&self) -> bool {
        self.untrusted
    }

    /// Votes needed for a majority of the current voters.
    pub(super) fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    pub(super) fn is_voter(&self, node: NodeId) -> bool {
        self.voters.contains(&node)
    }

    /// Other voters (the nodes a candidate asks).
    pub(super) fn other_voters(&self) -> Vec<NodeId> {
        self.voters.iter().copied().filter(|v| *v != self.id).collect()
    }

    /// True if this node is leader and its term's no-op (or later) is committed.
    pub(super) fn committed_in_term(&self) -> bool {
        self.log.term(self.commit_index) == Some(self.term)
    }

    pub(super) fn fact(&self, ctx: &mut Context<'_, Self>, fact: Fact) {
        ctx.fact(fact);
    }

    /// The schema version the node runs.
    pub fn schema_version(&self) -> u32 {
        self.versions.running()
    }

    /// Sends `msg` to `to`, encoded with the schema version this node runs.
    pub(super) fn send(&self, ctx: &mut Context<'_, Self>, to: NodeId, msg: &Msg) {
        if let Msg::VoteReply { pre: false, term, granted: true } = *msg {
            self.fact(ctx, Fact::Vote { term, candidate: to });
        }
        ctx.send(to, wire::encode(self.versions.running(), msg));
    }

    /// Decodes a frame from `from` with this node's version; a frame that does not decode is
    /// dropped and recorded (`decode_failed`: writer and reader versions, the message type's
    /// number and the field's tag in the reader's schema, which the `wire_decodes` check
    /// turns back into names).
    fn receive(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, frame: &Frame) -> Option<Msg> {
        let reader = self.versions.running();
        match wire::decode(reader, frame) {
            Ok((msg, sender_version)) => {
                if reader >= 2
                    && self.peer_versions.insert(from, sender_version) != Some(sender_version)
                {
                    let values = vec![u64::from(from), u64::from(sender_version)];
                    ctx.fact(Fact::Custom {
                        name: "peer_version".into(),
                        values,
                        text: String::new(),
                    });
                }
                Some(msg)
            }
            Err(e) => {
                let (message, tag) = wire::locate(reader, &e);
                let values = vec![u64::from(frame.version), u64::from(reader), message, tag];
                ctx.fact(Fact::Custom {
                    name: "decode_failed".into(),
                    values,
                    text: e.to_string(),
                });
                None
            }
        }
    }
}

impl<S: StateMachine> Node for RaftNode<S> {
    type Msg = Frame;
    type Timer = Timer;
    type Api = KvApi;
    type Control = Control;

    fn wire_bytes(frame: &Frame) -> u64 {
        frame.bytes.len() as u64
    }

    /// The variant's name (`Append`, `VoteReply`, ...), read from the frame's `kind` field.
    fn message_name(frame: &Frame) -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(wire::kind(frame).map_or("Undecodable", |k| Msg::NAMES[k]))
    }

    fn is_reply(frame: &Frame) -> bool {
        wire::kind(frame).is_some_and(Msg::is_reply)
    }

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.recover_version(ctx);
        self.recover(ctx);
        self.reset_election_deadline(ctx);
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, frame: Frame) {
        let Some(msg) = self.receive(ctx, from, &frame) else { return };
        let binding = match msg {
            Msg::VoteReply { pre: false, term, .. }
            | Msg::Append { term, .. }
            | Msg::AppendReply { term, .. }
            | Msg::Snapshot { term, .. }
            | Msg::SnapshotReply { term, .. } => term,
            Msg::Vote { .. } | Msg::VoteReply { pre: true, .. } => 0,
        };
        if binding > self.term {
            self.fact(ctx, Fact::TermSeen { term: binding });
        }
        match msg {
            Msg::Vote { pre, term, last_index, last_term } => {
                self.on_vote(ctx, from, pre, term, (last_index, last_term))
            }
            Msg::VoteReply { pre, term, granted } => {
                self.on_vote_reply(ctx, from, pre, term, granted)
            }
            Msg::Append { term, prev_index, prev_term, entries, commit, read_round } => {
                let prev = (prev_index, prev_term);
                self.on_append(ctx, from, term, prev, entries, commit, read_round)
            }
            Msg::AppendReply { .. } => self.on_append_reply(ctx, from, msg),
            Msg::Snapshot { term, snapshot, read_round } => {
                self.on_snapshot(ctx, from, term, *snapshot, read_round)
            }
            Msg::SnapshotReply { term, index, read_round } => {
                self.on_snapshot_reply(ctx, from, term, index, read_round)
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        self.on_client_request(ctx, client, request);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Election => self.on_election_timer(ctx),
            Timer::Heartbeat { term } => self.on_heartbeat_timer(ctx, term),
        }
    }

    fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, fsync: FsyncId) {
        self.on_fsync_done(ctx, fsync);
        self.upgrade_on_fsync(ctx, fsync);
    }

    fn on_control(&mut self, ctx: &mut Context<'_, Self>, action: Control) {
        self.on_control_action(ctx, action);
    }
}
