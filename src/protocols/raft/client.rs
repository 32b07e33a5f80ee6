//! Client requests: redirects, exactly-once writes through sessions, and reads through
//! ReadIndex or a lease.

use super::kv::Seen;
use super::messages::Payload;
use super::node::{PendingRead, RaftNode, Role, PENDING_READS_MAX, PENDING_WRITES_MAX};
use super::StateMachine;
use crate::node::{ClientId, Context, Op, Reply, Request};

/// Largest client operation accepted (key plus values), in bytes.
pub const OP_BYTES_MAX: usize = 64 << 10;

impl<S: StateMachine> RaftNode<S> {
    pub(super) fn on_client_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<Op>,
    ) {
        if self.role != Role::Leader {
            ctx.reply(client, request.id, Reply::Redirect { leader: self.leader });
            return;
        }
        if request.op.is_read() {
            self.on_read(ctx, client, request);
        } else {
            self.on_write(ctx, client, request);
        }
    }

    fn on_write(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        let id = request.id;
        match self.replica.sessions.seen(id) {
            Seen::Applied(outcome) => return ctx.reply(client, id, outcome.reply()),
            Seen::Stale => return ctx.reply(client, id, Reply::Unknown),
            Seen::New => {}
        }
        let lead = self.lead.as_ref().expect("leader");
        if lead.writes.values().any(|(_, waiting)| *waiting == id) {
            return; // already proposed: the answer comes when it applies
        }
        if lead.writes.len() >= PENDING_WRITES_MAX {
            return ctx.reply(client, id, Reply::Fail { reason: "too many pending writes" });
        }
        let entry_bytes = super::messages::Entry {
            term: self.term,
            payload: Payload::Command { id, op: request.op.clone() },
        }
        .size_bytes();
        if entry_bytes as usize > OP_BYTES_MAX {
            return ctx.reply(client, id, Reply::Fail { reason: "operation too large" });
        }
        let index = self.propose(ctx, Payload::Command { id, op: request.op });
        if let Some(lead) = self.lead.as_mut() {
            lead.writes.insert(index, (client, id));
        }
        // A single-node cluster may have committed and applied it already.
        if self.applied_index >= index {
            self.apply_late_reply(ctx, index);
        }
    }

    /// Answers a write that applied before its waiter was registered.
    fn apply_late_reply(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        let Some((client, id)) = self.lead.as_mut().and_then(|l| l.writes.remove(&index)) else {
            return;
        };
        let reply = match self.replica.sessions.seen(id) {
            Seen::Applied(outcome) => outcome.reply(),
            _ => Reply::Unknown,
        };
        ctx.reply(client, id, reply);
    }

    fn on_read(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        let id = request.id;
        if self.config.bugs.no_read_index {
            let outcome = self.replica.machine.query(&request.op);
            return ctx.reply(client, id, outcome.reply());
        }
        let committed_in_term = self.committed_in_term();
        let commit = self.commit_index;
        let lease = self.config.lease_reads();
        let now = ctx.now();
        let lead = self.lead.as_mut().expect("leader");
        if lead.reads.len() >= PENDING_READS_MAX {
            return ctx.reply(client, id, Reply::Fail { reason: "too many pending reads" });
        }
        let leased = lease && committed_in_term && now < lead.lease_until_ns;
        lead.reads.push(PendingRead {
            client,
            id,
            op: request.op,
            // Leadership must be confirmed by a round that starts after the read arrived.
            round: if leased { 0 } else { lead.round + 1 },
            index: committed_in_term.then_some(commit),
        });
        self.serve_reads(ctx);
    }

    /// Leader: a majority echoed heartbeat rounds; confirm reads and extend the lease.
    pub(super) fn confirm_rounds(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(lead) = self.lead.as_mut() else { return };
        let mut rounds: Vec<u64> = self
            .voters
            .iter()
            .map(|v| {
                if *v == self.id {
                    lead.round
                } else {
                    lead.progress.get(v).map_or(0, |p| p.round_acked)
                }
            })
            .collect();
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed = rounds[self.voters.len() / 2];
        if confirmed > lead.round_confirmed {
            lead.round_confirmed = confirmed;
            let started = lead.round_started_ns.iter().find(|(r, _)| *r == confirmed);
            if let Some((_, at)) = started {
                let until = at + self.config.lease_duration_ns();
                lead.lease_until_ns = lead.lease_until_ns.max(until);
            }
        }
        self.serve_reads(ctx);
    }

    /// Leader: answers the reads whose leadership is confirmed and whose index is applied.
    pub(super) fn serve_reads(&mut self, ctx: &mut Context<'_, Self>) {
        let committed_in_term = self.committed_in_term();
        let (commit, applied) = (self.commit_index, self.applied_index);
        let Some(lead) = self.lead.as_mut() else { return };
        let confirmed = lead.round_confirmed;
        let mut waiting = Vec::new();
        for mut read in std::mem::take(&mut lead.reads) {
            if read.index.is_none() && committed_in_term {
                read.index = Some(commit); // the no-op of this term committed
            }
            if read.round <= confirmed && read.index.is_some_and(|i| i <= applied) {
                let outcome = self.replica.machine.query(&read.op);
                ctx.reply(read.client, read.id, outcome.reply());
            } else {
                waiting.push(read);
            }
        }
        lead.reads = waiting;
    }
}
