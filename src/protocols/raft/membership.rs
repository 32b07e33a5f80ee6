//! Single-server membership changes (thesis ch. 4): one at a time, a new server catches up as
//! a learner first, and a config entry takes effect as soon as it is appended.
//!
//! Every running node remembers the operator's changes in order; whichever node leads carries
//! out the first one not yet in effect, so a change happens eventually if a leader exists.

use super::messages::Payload;
use super::node::{Catchup, Progress, RaftNode, Role, CONTROLS_MAX};
use super::Control;
use super::StateMachine;
use crate::node::{Context, Fact};

impl<S: StateMachine> RaftNode<S> {
    pub(super) fn on_control_action(&mut self, ctx: &mut Context<'_, Self>, action: Control) {
        if let Control::Upgrade { node, version } = action {
            if node == self.id {
                self.begin_upgrade(ctx, version);
            }
            return;
        }
        if self.controls.len() >= CONTROLS_MAX {
            self.controls.pop_front();
        }
        self.controls.push_back(action);
        self.drive_membership(ctx);
    }

    fn in_effect(&self, action: Control) -> bool {
        match action {
            Control::AddMember { node } => self.is_voter(node),
            Control::RemoveMember { node } => !self.is_voter(node),
            Control::Upgrade { .. } => true, // not a membership change
        }
    }

    /// Forgets changes already in effect; the leader starts the next one if it may.
    pub(super) fn drive_membership(&mut self, ctx: &mut Context<'_, Self>) {
        while self.controls.front().is_some_and(|c| self.in_effect(*c)) {
            self.controls.pop_front();
        }
        let Some(&action) = self.controls.front() else { return };
        // One change at a time, and only after this term's no-op commits (thesis §4.1 fix).
        if self.role != Role::Leader
            || !self.committed_in_term()
            || self.config_index > self.commit_index
        {
            return;
        }
        match action {
            Control::AddMember { node } => {
                let now = ctx.now();
                let next = self.log.last_index() + 1;
                let target = self.log.last_index();
                let lead = self.lead.as_mut().expect("leader");
                if lead.catchup.is_some_and(|c| c.node == node) {
                    return;
                }
                lead.catchup = Some(Catchup { node, round_target: target, round_start_ns: now });
                lead.progress.entry(node).or_insert_with(|| Progress::new(next));
                self.replicate(ctx, node);
            }
            Control::RemoveMember { node } => {
                if self.voters.len() > 1 {
                    let voters = self.voters.iter().copied().filter(|v| *v != node).collect();
                    self.propose(ctx, Payload::Config { voters });
                }
            }
            Control::Upgrade { .. } => unreachable!("in effect: never queued"),
        }
    }

    /// Leader: `peer` acknowledged entries; if it is the learner catching up and finished a
    /// round quickly enough, add it.
    pub(super) fn check_catchup(&mut self, ctx: &mut Context<'_, Self>, peer: crate::node::NodeId) {
        let now = ctx.now();
        let last = self.log.last_index();
        let timeout = self.config.timeout_election_min_ns;
        let Some(lead) = self.lead.as_mut() else { return };
        let Some(catchup) = lead.catchup.as_mut().filter(|c| c.node == peer) else { return };
        let matched = lead.progress.get(&peer).map_or(0, |p| p.matched);
        if matched < catchup.round_target {
            return;
        }
        if now.saturating_sub(catchup.round_start_ns) > timeout {
            catchup.round_target = last; // too slow: another round
            catchup.round_start_ns = now;
            return;
        }
        lead.catchup = None;
        if self.config_index > self.commit_index || self.is_voter(peer) {
            return;
        }
        let mut voters = self.voters.clone();
        voters.push(peer);
        voters.sort_unstable();
        self.propose(ctx, Payload::Config { voters });
    }

    /// Puts the latest config in the log into effect (after an append, a cut or a snapshot).
    pub(super) fn refresh_config(&mut self, ctx: &mut Context<'_, Self>) {
        let (voters, index) = self.config_at(self.log.last_index());
        self.config_index = index;
        if voters == self.voters {
            return;
        }
        self.voters = voters;
        self.fact(ctx, Fact::Membership { members: self.voters.clone() });
        let next = self.log.last_index() + 1;
        let id = self.id;
        let voters = self.voters.clone();
        if let Some(lead) = self.lead.as_mut() {
            for v in voters.iter().filter(|v| **v != id) {
                lead.progress.entry(*v).or_insert_with(|| Progress::new(next));
            }
            let learner = lead.catchup.map(|c| c.node);
            lead.progress.retain(|peer, _| voters.contains(peer) || Some(*peer) == learner);
        }
        while self.controls.front().is_some_and(|c| self.in_effect(*c)) {
            self.controls.pop_front();
        }
    }
}
