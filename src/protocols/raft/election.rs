//! Leader election: randomized timeouts, PreVote, votes persisted before they are granted,
//! and leader stickiness (a node that hears from a leader ignores candidates).

use super::messages::{Msg, Payload};
use super::node::{LeaderState, Progress, RaftNode, Role, Timer};
use super::persist::Deferred;
use super::StateMachine;
use crate::node::{Context, Fact, NodeId};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

impl<S: StateMachine> RaftNode<S> {
    /// Picks a new random election deadline and makes sure the timer is armed.
    pub(super) fn reset_election_deadline(&mut self, ctx: &mut Context<'_, Self>) {
        let (min, max) = (self.config.timeout_election_min_ns, self.config.timeout_election_max_ns);
        let timeout = ctx.rng().between(min, max);
        self.election_deadline_ns = ctx.now() + timeout;
        self.arm_election_timer(ctx);
    }

    fn arm_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.election_timer_armed {
            let delay = self.election_deadline_ns.saturating_sub(ctx.now());
            ctx.set_timer(delay, Timer::Election);
            self.election_timer_armed = true;
        }
    }

    pub(super) fn on_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        self.election_timer_armed = false;
        if self.role == Role::Leader {
            return; // re-armed when it steps down
        }
        if ctx.now() < self.election_deadline_ns {
            self.arm_election_timer(ctx);
            return;
        }
        self.reset_election_deadline(ctx);
        if !self.is_voter(self.id) || self.untrusted {
            return;
        }
        if self.config.prevote {
            self.start_prevote(ctx);
        } else {
            self.start_campaign(ctx);
        }
    }

    fn start_prevote(&mut self, ctx: &mut Context<'_, Self>) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes = BTreeSet::from([self.id]);
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        let term = self.term + 1;
        for to in self.other_voters() {
            self.send(ctx, to, &Msg::Vote { pre: true, term, last_index, last_term });
        }
        if self.votes.len() >= self.quorum() {
            self.start_campaign(ctx);
        }
    }

    fn start_campaign(&mut self, ctx: &mut Context<'_, Self>) {
        self.term += 1;
        self.vote = Some(self.id);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes.clear();
        self.persist_meta(ctx);
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for to in self.other_voters() {
            self.send(ctx, to, &Msg::Vote { pre: false, term: self.term, last_index, last_term });
        }
        // The candidate counts its own vote only once the vote is durable.
        let gate = self.gate(0);
        self.defer(ctx, gate, Deferred::SelfVote);
    }

    pub(super) fn on_self_vote(&mut self, ctx: &mut Context<'_, Self>) {
        if self.role == Role::Candidate {
            self.fact(ctx, Fact::Vote { term: self.term, candidate: self.id });
            self.votes.insert(self.id);
            self.maybe_win(ctx);
        }
    }

    fn maybe_win(&mut self, ctx: &mut Context<'_, Self>) {
        let granted = self.votes.iter().filter(|v| self.is_voter(**v)).count();
        if granted >= self.quorum() {
            self.become_leader(ctx);
        }
    }

    /// True if this node heard from a leader within the shortest election timeout (or leads).
    fn leader_is_alive(&self, ctx: &Context<'_, Self>) -> bool {
        if self.role == Role::Leader {
            return true;
        }
        self.leader_heard_at_ns
            .is_some_and(|at| ctx.now().saturating_sub(at) < self.config.timeout_election_min_ns)
    }

    fn log_up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        if self.config.bugs.vote_without_log_check {
            return true;
        }
        (last_term, last_index) >= (self.log.last_term(), self.log.last_index())
    }

    pub(super) fn on_vote(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        pre: bool,
        term: u64,
        (last_index, last_term): (u64, u64),
    ) {
        let sticky = self.config.leader_stickiness() && self.leader_is_alive(ctx);
        if pre {
            let grant = term > self.term
                && !sticky
                && !self.untrusted
                && self.log_up_to_date(last_index, last_term);
            let reply_term = if grant { term } else { self.term };
            self.send(ctx, from, &Msg::VoteReply { pre: true, term: reply_term, granted: grant });
            return;
        }
        if term > self.term && sticky {
            return; // a leader is alive: this candidate is disruptive (thesis §4.2.3)
        }
        if term > self.term {
            self.become_follower(ctx, term, None);
        }
        let free = self.vote.is_none() || self.vote == Some(from);
        let grant = term == self.term
            && free
            && !self.untrusted
            && self.log_up_to_date(last_index, last_term);
        if !grant {
            self.send(ctx, from, &Msg::VoteReply { pre: false, term: self.term, granted: false });
            return;
        }
        if self.vote.is_none() {
            self.vote = Some(from);
            self.persist_meta(ctx);
        }
        self.reset_election_deadline(ctx);
        let msg = Msg::VoteReply { pre: false, term: self.term, granted: true };
        let gate = self.gate(0);
        self.defer(ctx, gate, Deferred::Send { to: from, msg });
    }

    pub(super) fn on_vote_reply(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        pre: bool,
        term: u64,
        granted: bool,
    ) {
        if term > self.term && !(pre && granted) {
            self.become_follower(ctx, term, None);
            return;
        }
        if !granted {
            return;
        }
        if pre && self.role == Role::PreCandidate && term == self.term + 1 {
            self.votes.insert(from);
            if self.votes.iter().filter(|v| self.is_voter(**v)).count() >= self.quorum() {
                self.start_campaign(ctx);
            }
        } else if !pre && self.role == Role::Candidate && term == self.term {
            self.votes.insert(from);
            self.maybe_win(ctx);
        }
    }

    /// Follows `term` (adopting it, and forgetting the vote, if newer).
    pub(super) fn become_follower(
        &mut self,
        ctx: &mut Context<'_, Self>,
        term: u64,
        leader: Option<NodeId>,
    ) {
        assert!(term >= self.term, "terms never go back");
        if term > self.term {
            self.term = term;
            self.vote = None;
            self.persist_meta(ctx);
        }
        if self.role == Role::Leader {
            self.step_down(ctx);
        }
        self.role = Role::Follower;
        self.leader = leader;
        self.arm_election_timer(ctx);
    }

    /// Leaves leadership: pending clients learn that the outcome is unknown.
    pub(super) fn step_down(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(lead) = self.lead.take() else { return };
        self.role = Role::Follower;
        self.fact(ctx, Fact::SteppedDown { term: self.term });
        for (_, (client, id)) in lead.writes {
            ctx.reply(client, id, crate::node::Reply::Unknown);
        }
        for read in lead.reads {
            ctx.reply(read.client, read.id, crate::node::Reply::Redirect { leader: None });
        }
        self.leader = None;
        self.reset_election_deadline(ctx);
    }

    fn become_leader(&mut self, ctx: &mut Context<'_, Self>) {
        assert_eq!(self.role, Role::Candidate);
        self.role = Role::Leader;
        self.leader = Some(self.id);
        let next = self.log.last_index() + 1;
        let progress: BTreeMap<NodeId, Progress> =
            self.other_voters().into_iter().map(|peer| (peer, Progress::new(next))).collect();
        self.lead = Some(LeaderState {
            progress,
            writes: BTreeMap::new(),
            reads: Vec::new(),
            round: 0,
            round_started_ns: VecDeque::new(),
            round_confirmed: 0,
            lease_until_ns: 0,
            check_quorum_at_ns: ctx.now() + self.config.timeout_election_max_ns,
            catchup: None,
        });
        self.fact(ctx, Fact::Leader { term: self.term });
        ctx.set_timer(self.config.interval_heartbeat_ns, Timer::Heartbeat { term: self.term });
        self.propose(ctx, Payload::Noop);
    }
}
