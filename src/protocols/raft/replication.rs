//! Log replication: pipelined appends with conflict hints, heartbeats, commitment (with the
//! Figure 8 rule), applying, and InstallSnapshot.

use super::messages::{Entry, Msg, Payload, SnapshotData};
use super::node::{ProgressState, RaftNode, Role, Timer};
use super::persist::{Deferred, Gate};
use super::StateMachine;
use crate::node::{Context, Fact, NodeId};

/// Most entries in one AppendEntries.
pub const APPEND_ENTRIES_MAX: u64 = 64;
/// About the most entry bytes in one AppendEntries.
pub const APPEND_BYTES_MAX: u64 = 1 << 20;
/// Heartbeat rounds whose start time the leader remembers (for leases).
const ROUNDS_REMEMBERED_MAX: usize = 64;
/// A snapshot unanswered for this many heartbeat intervals is sent again...
const SNAPSHOT_RESEND_INTERVALS: u64 = 4;
/// ... and each further resend waits twice as long, doubling at most this many times (eight
/// times the first wait), so a slow link still carrying a large snapshot is not flooded.
const SNAPSHOT_RESEND_DOUBLINGS_MAX: u32 = 3;

/// How long the leader waits for a snapshot's answer before sending it again, after
/// `resends` resends to a follower that answers nothing: four heartbeat intervals (several
/// round trips at usual settings; heartbeats keep flowing meanwhile, so the election timeout
/// no longer bounds it), doubling up to eight times that. A follower that answers heartbeats
/// but not the snapshot gets it again after four intervals each time.
fn snapshot_resend_after(interval_heartbeat_ns: u64, resends: u32) -> u64 {
    let backoff = 1u64 << resends.min(SNAPSHOT_RESEND_DOUBLINGS_MAX);
    interval_heartbeat_ns.saturating_mul(SNAPSHOT_RESEND_INTERVALS * backoff)
}

impl<S: StateMachine> RaftNode<S> {
    /// Leader: appends `payload` in its term, persists it and sends it on. Returns its index.
    pub(super) fn propose(&mut self, ctx: &mut Context<'_, Self>, payload: Payload) -> u64 {
        assert_eq!(self.role, Role::Leader);
        let is_config = matches!(payload, Payload::Config { .. });
        let index = self.log.append(Entry { term: self.term, payload });
        let digest = self.log.last_digest();
        self.fact(ctx, Fact::LogAppend { index, term: self.term, digest });
        self.persist_entries(ctx, index);
        if is_config {
            self.refresh_config(ctx);
        }
        let peers: Vec<NodeId> =
            self.lead.as_ref().expect("leader").progress.keys().copied().collect();
        for peer in peers {
            self.replicate(ctx, peer);
        }
        self.maybe_commit(ctx);
        index
    }

    /// Most entries per AppendEntries: the in-flight limit bounds a probe's batch too.
    fn batch_entries_max(&self) -> u64 {
        APPEND_ENTRIES_MAX.min(self.config.inflight_entries_max)
    }

    /// Sends what `peer` may receive now: new entries within its in-flight budget, a probe,
    /// or a snapshot.
    pub(super) fn replicate(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let inflight_max = self.config.inflight_entries_max;
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&peer)) else { return };
        match p.state {
            ProgressState::Snapshot => {}
            ProgressState::Probe if !p.sent_since_tick => {
                p.sent_since_tick = true;
                self.send_append(ctx, peer, self.batch_entries_max(), true);
            }
            ProgressState::Probe => {}
            ProgressState::Replicate => {
                let inflight = p.next - 1 - p.matched;
                let budget = inflight_max.saturating_sub(inflight).min(APPEND_ENTRIES_MAX);
                if budget > 0 {
                    self.send_append(ctx, peer, budget, false);
                }
            }
        }
    }

    /// Sends an AppendEntries from `peer`'s next index (a snapshot if that is compacted).
    fn send_append(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId, count: u64, empty: bool) {
        let lead = self.lead.as_mut().expect("leader");
        let p = lead.progress.get_mut(&peer).expect("peer");
        let prev_index = p.next - 1;
        let Some(prev_term) = self.log.term(prev_index) else {
            self.send_snapshot(ctx, peer);
            return;
        };
        let entries = self.log.slice(p.next, count, APPEND_BYTES_MAX);
        if entries.is_empty() && !empty {
            return;
        }
        if p.state == ProgressState::Replicate {
            p.next += entries.len() as u64;
        }
        p.round_sent = lead.round;
        let msg = Msg::Append {
            term: self.term,
            prev_index,
            prev_term,
            entries,
            commit: self.commit_index,
            read_round: lead.round,
        };
        self.send(ctx, peer, &msg);
    }

    /// A heartbeat to a follower waiting for a snapshot: an empty AppendEntries at the
    /// log's base, the one point before the snapshot's end the leader can name. It resets the
    /// follower's election timer (a silent leader would be deposed by it, without PreVote and
    /// CheckQuorum, before a lost snapshot is resent) and its answer confirms read rounds and
    /// CheckQuorum. A follower that holds the base accepts it and the leader replicates from
    /// there instead; one that does not rejects it, which changes nothing while the snapshot
    /// is in flight.
    fn send_snapshot_heartbeat(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let lead = self.lead.as_mut().expect("leader");
        let p = lead.progress.get_mut(&peer).expect("peer");
        p.round_sent = lead.round;
        let msg = Msg::Append {
            term: self.term,
            prev_index: self.log.base_index(),
            prev_term: self.log.base_term(),
            entries: Vec::new(),
            commit: self.commit_index,
            read_round: lead.round,
        };
        self.send(ctx, peer, &msg);
    }

    fn send_snapshot(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let snapshot = self.snapshot.clone().expect("a compacted log has a snapshot");
        let lead = self.lead.as_mut().expect("leader");
        let p = lead.progress.get_mut(&peer).expect("peer");
        p.state = ProgressState::Snapshot;
        p.snapshot_sent_at_ns = ctx.now();
        p.snapshot_round = lead.round;
        p.round_sent = lead.round;
        let msg =
            Msg::Snapshot { term: self.term, snapshot: Box::new(snapshot), read_round: lead.round };
        self.send(ctx, peer, &msg);
    }

    /// The leader's tick: CheckQuorum, a new heartbeat round, one message per follower.
    pub(super) fn on_heartbeat_timer(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        if self.role != Role::Leader || term != self.term {
            return;
        }
        ctx.set_timer(self.config.interval_heartbeat_ns, Timer::Heartbeat { term });
        if !self.check_quorum(ctx) {
            return;
        }
        let lead = self.lead.as_mut().expect("leader");
        lead.round += 1;
        lead.round_started_ns.push_back((lead.round, ctx.now()));
        if lead.round_started_ns.len() > ROUNDS_REMEMBERED_MAX {
            lead.round_started_ns.pop_front();
        }
        let peers: Vec<NodeId> = lead.progress.keys().copied().collect();
        for peer in peers {
            self.heartbeat_peer(ctx, peer);
        }
        self.confirm_rounds(ctx);
        self.drive_membership(ctx);
    }

    /// False if the leader stepped down for lack of a quorum.
    fn check_quorum(&mut self, ctx: &mut Context<'_, Self>) -> bool {
        let now = ctx.now();
        let lead = self.lead.as_mut().expect("leader");
        if !self.config.check_quorum || now < lead.check_quorum_at_ns {
            return true;
        }
        lead.check_quorum_at_ns = now + self.config.timeout_election_max_ns;
        let mut active = usize::from(self.voters.contains(&self.id));
        for (peer, p) in &mut lead.progress {
            if p.active && self.voters.contains(peer) {
                active += 1;
            }
            p.active = false;
        }
        if active > self.voters.len() / 2 {
            return true;
        }
        self.become_follower(ctx, self.term, None);
        false
    }

    fn heartbeat_peer(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let now = ctx.now();
        let inflight_max = self.config.inflight_entries_max;
        let interval = self.config.interval_heartbeat_ns;
        let p = self.lead.as_mut().expect("leader").progress.get_mut(&peer).expect("peer");
        let acked = std::mem::replace(&mut p.acked_since_tick, false);
        p.sent_since_tick = false;
        match p.state {
            ProgressState::Snapshot => {
                // A follower that answered a heartbeat sent after the snapshot is up and
                // reachable, so the snapshot was lost (or is being written): no backoff.
                let heard = p.round_acked > p.snapshot_round;
                let resends = if heard { 0 } else { p.snapshot_resends };
                let resend_after = snapshot_resend_after(interval, resends);
                if now.saturating_sub(p.snapshot_sent_at_ns) >= resend_after {
                    p.snapshot_resends = p.snapshot_resends.saturating_add(1);
                    self.send_snapshot(ctx, peer);
                } else {
                    self.send_snapshot_heartbeat(ctx, peer);
                }
            }
            ProgressState::Probe => {
                p.sent_since_tick = true;
                self.send_append(ctx, peer, self.batch_entries_max(), true);
            }
            ProgressState::Replicate => {
                if !acked && p.next - 1 > p.matched {
                    p.next = p.matched + 1; // nothing came back: resend what is in flight
                }
                let budget = inflight_max.saturating_sub(p.next - 1 - p.matched);
                self.send_append(ctx, peer, budget.min(APPEND_ENTRIES_MAX), true);
            }
        }
    }

    /// Follower: AppendEntries from a leader.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_append(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        (prev_index, prev_term): (u64, u64),
        mut entries: Vec<Entry>,
        commit: u64,
        read_round: u64,
    ) {
        if term < self.term {
            self.send(ctx, from, &self.append_reject(read_round, 0, None));
            return;
        }
        self.follow(ctx, term, from);
        let (mut prev_index, mut prev_term) = (prev_index, prev_term);
        let base = self.log.base_index();
        if prev_index < base {
            // Entries up to the base are committed and in the snapshot: they match.
            let skip = (base - prev_index).min(entries.len() as u64);
            entries.drain(..skip as usize);
            if entries.is_empty() {
                self.send(ctx, from, &self.append_accept(read_round, prev_index + skip));
                return;
            }
            (prev_index, prev_term) = (base, self.log.base_term());
        }
        if self.log.term(prev_index) != Some(prev_term) {
            let reject = match self.log.term(prev_index) {
                None => self.append_reject(read_round, self.log.last_index() + 1, None),
                Some(t) => {
                    let first = self.log.first_index_of_term(t, prev_index);
                    self.append_reject(read_round, first, Some(t))
                }
            };
            self.send(ctx, from, &reject);
            return;
        }
        let matched = prev_index + entries.len() as u64;
        self.append_entries(ctx, prev_index, entries);
        if commit.min(matched) > self.commit_index {
            self.advance_commit(ctx, commit.min(matched));
        }
        if self.untrusted && matched >= commit {
            self.untrusted = false; // caught up with a leader: votes are safe again
        }
        let msg = self.append_accept(read_round, matched);
        let gate = self.gate(matched);
        self.defer(ctx, gate, Deferred::Send { to: from, msg });
    }

    /// Adopts `leader` of `term` and notes that it is alive.
    fn follow(&mut self, ctx: &mut Context<'_, Self>, term: u64, leader: NodeId) {
        self.become_follower(ctx, term, Some(leader));
        self.leader_heard_at_ns = Some(ctx.now());
        self.reset_election_deadline(ctx);
    }

    fn append_accept(&self, read_round: u64, match_index: u64) -> Msg {
        Msg::AppendReply {
            term: self.term,
            success: true,
            match_index,
            conflict_index: 0,
            conflict_term: None,
            read_round,
        }
    }

    fn append_reject(
        &self,
        read_round: u64,
        conflict_index: u64,
        conflict_term: Option<u64>,
    ) -> Msg {
        Msg::AppendReply {
            term: self.term,
            success: false,
            match_index: 0,
            conflict_index,
            conflict_term,
            read_round,
        }
    }

    /// Appends `entries` after `prev_index`, cutting a conflicting suffix first.
    fn append_entries(
        &mut self,
        ctx: &mut Context<'_, Self>,
        prev_index: u64,
        entries: Vec<Entry>,
    ) {
        let mut first_new = None;
        let mut config_changed = false;
        for (offset, entry) in entries.into_iter().enumerate() {
            let index = prev_index + 1 + offset as u64;
            match self.log.term(index) {
                Some(t) if t == entry.term => continue,
                Some(_) => {
                    config_changed |= self.config_index >= index;
                    self.truncate_log(ctx, index);
                }
                None => {}
            }
            config_changed |= matches!(entry.payload, Payload::Config { .. });
            let term = entry.term;
            self.log.append(entry);
            let digest = self.log.last_digest();
            self.fact(ctx, Fact::LogAppend { index, term, digest });
            first_new.get_or_insert(index);
        }
        if let Some(first) = first_new {
            self.persist_entries(ctx, first);
        }
        if config_changed {
            self.refresh_config(ctx);
        }
    }

    fn truncate_log(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        if index <= self.commit_index {
            // Only a safety bug elsewhere gets here; the checkers report what follows.
            self.commit_index = index - 1;
            self.applied_index = self.applied_index.min(index - 1);
        }
        self.fact(ctx, Fact::LogTruncate { index });
        self.persist_truncate(ctx, index);
        self.log.truncate_from(index);
    }

    /// Leader: a follower's answer to AppendEntries.
    pub(super) fn on_append_reply(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        let Msg::AppendReply {
            term,
            success,
            match_index,
            conflict_index,
            conflict_term,
            read_round,
        } = msg
        else {
            unreachable!("dispatched by kind")
        };
        if term > self.term {
            self.become_follower(ctx, term, None);
            return;
        }
        if self.role != Role::Leader || term < self.term {
            return;
        }
        let last_index = self.log.last_index();
        let hint = match conflict_term.and_then(|t| self.log.last_index_of_term(t)) {
            Some(index) => index + 1,
            None => conflict_index,
        };
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&from)) else { return };
        p.active = true;
        p.acked_since_tick = true;
        p.round_acked = p.round_acked.max(read_round);
        if success {
            p.matched = p.matched.max(match_index);
            p.next = p.next.max(p.matched + 1);
            p.state = ProgressState::Replicate;
            p.snapshot_resends = 0;
            self.maybe_commit(ctx);
            self.check_catchup(ctx, from);
        } else if p.state != ProgressState::Snapshot {
            p.next = hint.clamp(p.matched + 1, last_index + 1);
            p.state = ProgressState::Probe;
            p.sent_since_tick = false;
        }
        self.confirm_rounds(ctx);
        if self.role == Role::Leader {
            self.replicate(ctx, from);
        }
    }

    /// Follower: InstallSnapshot.
    pub(super) fn on_snapshot(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        snapshot: SnapshotData,
        read_round: u64,
    ) {
        if term < self.term {
            self.send(ctx, from, &Msg::SnapshotReply { term: self.term, index: 0, read_round });
            return;
        }
        self.follow(ctx, term, from);
        let index = snapshot.index;
        if index <= self.commit_index {
            self.send(ctx, from, &Msg::SnapshotReply { term: self.term, index, read_round });
            return;
        }
        if !self.snapshot_write_idle() {
            return; // one snapshot write at a time; the leader sends it again
        }
        self.install_snapshot(ctx, snapshot);
        let msg = Msg::SnapshotReply { term: self.term, index, read_round };
        let gate = Gate { snapshot_index: index, ..self.gate(0) };
        self.defer(ctx, gate, Deferred::Send { to: from, msg });
    }

    fn install_snapshot(&mut self, ctx: &mut Context<'_, Self>, snapshot: SnapshotData) {
        let (index, term, digest) = (snapshot.index, snapshot.term, snapshot.digest);
        self.replica.restore(&snapshot.state).expect("leader's snapshot restores");
        if self.log.term(index) == Some(term) {
            // The log holds the snapshot's last entry: keep what follows (compacted once the
            // snapshot is durable, like a local one). The state machine jumps to `index`
            // now, without applying the entries before it: say so, as checkers judge the
            // order of applies from the latest snapshot.
            self.fact(ctx, Fact::LogCompact { index, term, digest });
            self.persist_snapshot(ctx, snapshot, false);
        } else {
            let had_suffix = self.log.last_index() > index;
            self.log.reset(index, term, digest);
            self.fact(ctx, Fact::LogCompact { index, term, digest });
            if had_suffix {
                self.fact(ctx, Fact::LogTruncate { index: index + 1 });
            }
            self.snapshot = Some(snapshot.clone());
            self.persist_snapshot(ctx, snapshot, true);
        }
        self.applied_index = index;
        self.commit_index = index;
        self.fact(ctx, Fact::Commit { index, term, digest });
        self.refresh_config(ctx);
    }

    /// Leader: a follower installed a snapshot.
    pub(super) fn on_snapshot_reply(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        index: u64,
        read_round: u64,
    ) {
        if term > self.term {
            self.become_follower(ctx, term, None);
            return;
        }
        if self.role != Role::Leader || term < self.term {
            return;
        }
        let Some(p) = self.lead.as_mut().and_then(|l| l.progress.get_mut(&from)) else { return };
        p.active = true;
        p.acked_since_tick = true;
        p.round_acked = p.round_acked.max(read_round);
        p.matched = p.matched.max(index);
        p.next = p.next.max(p.matched + 1);
        p.state = ProgressState::Replicate;
        p.snapshot_resends = 0;
        self.maybe_commit(ctx);
        self.check_catchup(ctx, from);
        self.confirm_rounds(ctx);
        if self.role == Role::Leader {
            self.replicate(ctx, from);
        }
    }

    /// Hook after an fsync: the leader may now count itself.
    pub(super) fn after_durable(&mut self, ctx: &mut Context<'_, Self>) {
        self.maybe_commit(ctx);
    }

    /// Leader: commits the highest index a majority of voters hold, if it is of this term
    /// (Figure 8: earlier terms' entries commit only under one of the current term).
    pub(super) fn maybe_commit(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(lead) = self.lead.as_ref() else { return };
        let mut matched: Vec<u64> = self
            .voters
            .iter()
            .map(|v| {
                if *v == self.id {
                    self.durable_index()
                } else {
                    lead.progress.get(v).map_or(0, |p| p.matched)
                }
            })
            .collect();
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let candidate = matched[self.quorum() - 1];
        if candidate <= self.commit_index {
            return;
        }
        if self.log.term(candidate) == Some(self.term) || self.config.bugs.commit_previous_term {
            self.advance_commit(ctx, candidate);
        }
    }

    /// Commits up to `index`, applies, and lets the leader act on it.
    pub(super) fn advance_commit(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        assert!(index > self.commit_index && index <= self.log.last_index());
        self.commit_index = index;
        let term = self.log.term(index).expect("held");
        let digest = self.log.digest(index).expect("held");
        self.fact(ctx, Fact::Commit { index, term, digest });
        self.apply_committed(ctx);
        if self.role == Role::Leader {
            if !self.is_voter(self.id) && self.commit_index >= self.config_index {
                self.become_follower(ctx, self.term, None); // removed: step down (§4.2.2)
                return;
            }
            self.serve_reads(ctx);
            self.drive_membership(ctx);
        }
    }

    fn apply_committed(&mut self, ctx: &mut Context<'_, Self>) {
        while self.applied_index < self.commit_index {
            let index = self.applied_index + 1;
            let held = self.log.get(index).expect("committed entries are held").clone();
            if let Payload::Command { id, op } = &held.entry.payload {
                let outcome = self.replica.apply(*id, op, index);
                let waiting = self.lead.as_mut().and_then(|l| l.writes.remove(&index));
                if let Some((client, waiting_id)) = waiting {
                    let reply = if waiting_id == *id {
                        outcome.reply()
                    } else {
                        crate::node::Reply::Unknown
                    };
                    ctx.reply(client, waiting_id, reply);
                }
            }
            let state = self.replica.digest();
            self.fact(ctx, Fact::Apply { index, command: held.command, state });
            self.applied_index = index;
        }
        self.maybe_snapshot(ctx);
    }
}
