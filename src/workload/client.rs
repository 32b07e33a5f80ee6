//! Simulated clients: each one a host on the network that issues operations, retries them
//! across nodes, and records how they ended.
//!
//! A client has at most one operation in flight (Jepsen's process model). It sends the request to
//! the node it believes leads (or a random one), follows redirects, and on a timeout tries
//! another node with the *same* request id, so a server with client sessions applies a retried
//! command once. When the operation's deadline passes it gives up: the outcome is `info`
//! (indeterminate) if any attempt may have reached a node, `fail` if none can have.
//!
//! Like nodes, clients are sans-IO: they return what to do as [`ClientOut`] values.

use super::history::{Outcome, Record, TypedHistory};
use crate::api::{Api, Draw, Reply, Request, RequestId};
use crate::engine::{Nanos, SimRng};
use crate::node::NodeId;
use crate::scenario::{ClientMode, ClientSettings};

/// Pause before retrying after a redirect without a leader hint, or an `Unknown` reply.
const BACKOFF_NS: Nanos = 10_000_000;

/// Something the clients ask the simulator to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOut<O> {
    /// Send `request` from `client` to node `to`, leaving at `at` (now, or after a backoff).
    Send { client: u32, to: NodeId, request: Request<O>, at: Nanos },
    /// Call [`Workload::timeout`] for this attempt at `at`.
    Timeout { client: u32, attempt: u32, at: Nanos },
    /// Call [`Workload::wake`] for `client` at `at`.
    Wake { client: u32, at: Nanos },
}

#[derive(Clone, Debug)]
struct InFlight<O> {
    /// Index of the operation in the history.
    op: usize,
    request: Request<O>,
    attempt: u32,
    target: NodeId,
    deadline: Nanos,
    /// Some attempt may have reached a node and taken effect.
    maybe_applied: bool,
}

#[derive(Clone, Debug)]
struct Client<O> {
    rng: SimRng,
    seq: u64,
    leader_hint: Option<NodeId>,
    in_flight: Option<InFlight<O>>,
}

/// All clients, the operation generator and the history they write, for API `A`.
#[derive(Clone, Debug)]
pub struct Workload<A: Api> {
    settings: ClientSettings,
    nodes: u32,
    clients: Vec<Client<A::Op>>,
    /// The scenario's mix as weights in the order of [`Api::OPS`].
    weights: Vec<u32>,
    history: TypedHistory<A>,
    issue_until: Nanos,
    arrivals: SimRng,
    /// Open-loop arrivals that found every client busy.
    shed: u64,
}

impl<A: Api> Workload<A> {
    /// Clients for a cluster of `nodes` nodes; new operations are issued until `issue_until`.
    pub fn new(settings: &ClientSettings, nodes: u32, issue_until: Nanos, seed: u64) -> Self {
        use crate::engine::rng::stream;
        let clients = (0..settings.count)
            .map(|i| Client {
                rng: SimRng::new(seed, stream::CLIENT + u64::from(i)),
                seq: 0,
                leader_hint: None,
                in_flight: None,
            })
            .collect();
        Workload {
            settings: settings.clone(),
            nodes,
            clients,
            weights: mix_weights::<A>(&settings.mix),
            history: TypedHistory::default(),
            issue_until,
            arrivals: SimRng::new(seed, stream::ARRIVALS),
            shed: 0,
        }
    }

    /// First wake-ups (closed loop) and the first arrival time (open loop).
    pub fn start(&mut self, out: &mut Vec<ClientOut<A::Op>>) -> Option<Nanos> {
        match self.settings.mode {
            ClientMode::Closed => {
                for (i, c) in self.clients.iter_mut().enumerate() {
                    let at = c.rng.below(self.settings.think.0 + 1);
                    out.push(ClientOut::Wake { client: i as u32, at });
                }
                None
            }
            ClientMode::Open => Some(self.next_arrival(0)),
        }
    }

    fn next_arrival(&mut self, now: Nanos) -> Nanos {
        let mean = 1_000_000_000 / u64::from(self.settings.rate_per_s.max(1));
        now + self.arrivals.between(mean / 2, mean + mean / 2).max(1)
    }

    fn budget_left(&self) -> bool {
        self.settings.ops_max == 0
            || (self.history.ops.len() as u64) < u64::from(self.settings.ops_max)
    }

    /// Closed loop: `client` is done thinking.
    pub fn wake(&mut self, now: Nanos, client: u32, out: &mut Vec<ClientOut<A::Op>>) {
        if now < self.issue_until && self.budget_left() {
            self.issue(now, client, out);
        }
    }

    /// Open loop: an operation arrives; returns when the next one does.
    pub fn arrival(&mut self, now: Nanos, out: &mut Vec<ClientOut<A::Op>>) -> Option<Nanos> {
        if now >= self.issue_until || !self.budget_left() {
            return None;
        }
        let count = self.clients.len() as u32;
        let start = self.arrivals.below(u64::from(count.max(1))) as u32;
        let idle = (0..count)
            .map(|k| (start + k) % count)
            .find(|&c| self.clients[c as usize].in_flight.is_none());
        match idle {
            Some(c) => self.issue(now, c, out),
            None => self.shed += 1,
        }
        Some(self.next_arrival(now))
    }

    fn issue(&mut self, now: Nanos, client: u32, out: &mut Vec<ClientOut<A::Op>>) {
        let nodes = self.nodes;
        let c = &mut self.clients[client as usize];
        debug_assert!(c.in_flight.is_none(), "one operation in flight per client");
        c.seq += 1;
        let mut draw = Draw {
            rng: &mut c.rng,
            client,
            n: c.seq,
            keys: self.settings.keys,
            timeout: self.settings.timeout.0,
        };
        let op = A::generate(&self.weights, &mut draw);
        let target = c.leader_hint.unwrap_or_else(|| c.rng.below(u64::from(nodes)) as NodeId);
        let index = self.history.ops.len();
        self.history.ops.push(Record {
            id: index as u64,
            client,
            op: op.clone(),
            invoke_ns: now,
            complete_ns: now,
            outcome: Outcome::Info,
            result: None,
        });
        let request = Request { id: RequestId { client, seq: c.seq }, op };
        c.in_flight = Some(InFlight {
            op: index,
            request: request.clone(),
            attempt: 1,
            target,
            deadline: now + self.settings.deadline.0,
            maybe_applied: false,
        });
        out.push(ClientOut::Send { client, to: target, request, at: now });
        out.push(ClientOut::Timeout { client, attempt: 1, at: now + self.settings.timeout.0 });
    }

    /// A reply reached `client`.
    pub fn reply(
        &mut self,
        now: Nanos,
        client: u32,
        request: RequestId,
        reply: Reply<A::Res>,
        out: &mut Vec<ClientOut<A::Op>>,
    ) {
        let c = &mut self.clients[client as usize];
        let Some(flight) = c.in_flight.as_mut() else { return };
        if flight.request.id != request {
            return; // a late reply to an operation this client already gave up on
        }
        match reply {
            Reply::Ok { value } => {
                c.leader_hint = Some(flight.target);
                self.complete(now, client, Outcome::Ok, Some(value), out);
            }
            Reply::Fail { .. } => self.complete(now, client, Outcome::Fail, None, out),
            Reply::Redirect { leader } => {
                c.leader_hint = leader.filter(|l| *l < self.nodes && *l != flight.target);
                let delay = if c.leader_hint.is_some() { 0 } else { BACKOFF_NS };
                self.retry(now, client, delay, out);
            }
            Reply::Unknown => {
                flight.maybe_applied = true;
                c.leader_hint = None;
                self.retry(now, client, BACKOFF_NS, out);
            }
        }
    }

    /// An attempt's timer ran out.
    pub fn timeout(
        &mut self,
        now: Nanos,
        client: u32,
        attempt: u32,
        out: &mut Vec<ClientOut<A::Op>>,
    ) {
        let c = &mut self.clients[client as usize];
        let Some(flight) = c.in_flight.as_mut() else { return };
        if flight.attempt != attempt {
            return;
        }
        flight.maybe_applied = true; // the request may have arrived and the reply been lost
        c.leader_hint = None;
        self.retry(now, client, 0, out);
    }

    /// Sends the in-flight operation again after `delay`, to the leader hint or another node;
    /// gives up if the deadline has passed.
    fn retry(&mut self, now: Nanos, client: u32, delay: Nanos, out: &mut Vec<ClientOut<A::Op>>) {
        let nodes = self.nodes;
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.as_mut().expect("retry with an operation in flight");
        let at = now + delay;
        if at >= flight.deadline {
            let outcome = if flight.maybe_applied { Outcome::Info } else { Outcome::Fail };
            self.complete(now, client, outcome, None, out);
            return;
        }
        let target = match c.leader_hint {
            Some(l) => l,
            None if nodes > 1 => {
                let other = c.rng.below(u64::from(nodes) - 1) as NodeId;
                if other >= flight.target {
                    other + 1
                } else {
                    other
                }
            }
            None => 0,
        };
        flight.attempt += 1;
        flight.target = target;
        out.push(ClientOut::Send { client, to: target, request: flight.request.clone(), at });
        let timeout_at = (at + self.settings.timeout.0).min(flight.deadline.max(at + 1));
        out.push(ClientOut::Timeout { client, attempt: flight.attempt, at: timeout_at });
    }

    fn complete(
        &mut self,
        now: Nanos,
        client: u32,
        outcome: Outcome,
        result: Option<A::Res>,
        out: &mut Vec<ClientOut<A::Op>>,
    ) {
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.take().expect("complete with an operation in flight");
        let op = &mut self.history.ops[flight.op];
        op.complete_ns = now;
        op.outcome = outcome;
        op.result = result;
        if self.settings.mode == ClientMode::Closed {
            out.push(ClientOut::Wake { client, at: now + self.settings.think.0 });
        }
    }

    /// Ends the run at `end`: operations still in flight become `info`.
    pub fn finish(mut self, end: Nanos) -> (TypedHistory<A>, u64) {
        for c in &mut self.clients {
            if let Some(flight) = c.in_flight.take() {
                let op = &mut self.history.ops[flight.op];
                op.complete_ns = end;
                op.outcome = Outcome::Info;
            }
        }
        (self.history, self.shed)
    }

    /// The history so far.
    pub fn history(&self) -> &TypedHistory<A> {
        &self.history
    }
}

/// The scenario's mix as weights in the order of `A::OPS`: the API's defaults when the
/// scenario names no operation, else the named weights (operations not named weigh 0).
pub fn mix_weights<A: Api>(mix: &indexmap::IndexMap<String, u32>) -> Vec<u32> {
    if mix.is_empty() {
        return A::OPS.iter().map(|(_, w)| *w).collect();
    }
    A::OPS.iter().map(|(name, _)| mix.get(*name).copied().unwrap_or(0)).collect()
}
