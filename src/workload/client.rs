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
use crate::reliability::policy::NAIVE_PAUSE_NS;
use crate::reliability::{Admit, Backoff, CallResult, Policies, PolicyCounts};
use crate::scenario::{ClientMode, ClientSettings};
use serde::Serialize;

/// Width of the buckets [`ClientLoad`] counts in.
pub const LOAD_BUCKET_NS: Nanos = 10_000_000;

/// Name of the clients' breaker gauge (0 closed, 1 open, 2 half-open).
pub const BREAKER_GAUGE: &str = "breaker";

/// Something the clients ask the simulator to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientOut<O> {
    /// Send `request` from `client` to node `to`, leaving at `at` (now, or after a backoff).
    Send { client: u32, to: NodeId, request: Request<O>, at: Nanos },
    /// Call [`Workload::timeout`] with this timer token at `at`: an attempt's timeout, the end
    /// of a backoff or a limiter's wait, or a hedge falling due. (For the naive client the
    /// token is the attempt's number.)
    Timeout { client: u32, attempt: u32, at: Nanos },
    /// Call [`Workload::wake`] for `client` at `at`.
    Wake { client: u32, at: Nanos },
    /// The clients' gauge `name` is `value` from now on (for plots; see [`BREAKER_GAUGE`]).
    Gauge { name: &'static str, value: i64 },
}

/// What an operation's pending timer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Waiting {
    /// The reply to the attempt last sent.
    Reply,
    /// The end of a backoff or a limiter's wait: then the next attempt is admitted and sent.
    ToSend,
}

#[derive(Clone, Debug)]
struct InFlight<O> {
    /// Index of the operation in the history.
    op: usize,
    request: Request<O>,
    /// Attempts sent so far (hedges aside).
    attempt: u32,
    target: NodeId,
    deadline: Nanos,
    /// Some attempt may have reached a node and taken effect.
    maybe_applied: bool,
    /// Timer tokens handed out for this operation; the pending timer's is `timers`.
    timers: u32,
    /// The hedge timer's token (0: none pending).
    hedge_timer: u32,
    waiting: Waiting,
    /// When the last attempt went, and when the first did (`None`: none went yet).
    sent_at: Nanos,
    first_sent: Option<Nanos>,
    hedged: bool,
    backoff: Option<Backoff>,
    /// The rate limiter reserved a permit for the next attempt (it waits for it).
    permit: bool,
}

#[derive(Clone, Debug)]
struct Client<O> {
    rng: SimRng,
    seq: u64,
    leader_hint: Option<NodeId>,
    in_flight: Option<InFlight<O>>,
}

/// What the clients sent, per [`LOAD_BUCKET_NS`] of virtual time: offered load and retry rate
/// for the report's `load` plot. Observations only: they do not change the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientLoad {
    /// Bucket width.
    pub bucket_ns: Nanos,
    /// Operations issued (first attempts due) per bucket.
    pub issued: Vec<u32>,
    /// Attempts sent per bucket, first attempts, retries and hedges included.
    pub sent: Vec<u32>,
    /// Retries sent per bucket.
    pub retries: Vec<u32>,
    /// Attempts the breaker or the limiter rejected per bucket.
    pub rejected: Vec<u32>,
}

impl ClientLoad {
    fn bump(series: &mut Vec<u32>, now: Nanos) {
        let i = (now / LOAD_BUCKET_NS) as usize;
        if series.len() <= i {
            series.resize(i + 1, 0);
        }
        series[i] += 1;
    }
}

/// What the clients did over a run, in the run's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClientCounts {
    /// Attempts sent, first attempts, retries and hedges included.
    pub sent: u64,
    /// Retries sent.
    pub retries: u64,
    /// What the reliability policies did (all zero for the naive client).
    #[serde(flatten)]
    pub policies: PolicyCounts,
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
    policies: Policies,
    load: ClientLoad,
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
            policies: Policies::new(&settings.policies(), 0),
            load: ClientLoad { bucket_ns: LOAD_BUCKET_NS, ..ClientLoad::default() },
        }
    }

    /// Operations issued so far.
    pub fn issued(&self) -> usize {
        self.history.ops.len()
    }

    /// First wake-ups (closed loop) and the first arrival time (open loop).
    pub fn start(&mut self, out: &mut Vec<ClientOut<A::Op>>) -> Option<Nanos> {
        if self.policies.has_breaker() {
            out.push(ClientOut::Gauge { name: BREAKER_GAUGE, value: 0 });
        }
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
            value_size: self.settings.value_size,
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
            request,
            attempt: 0,
            target,
            deadline: now + self.settings.deadline.0,
            maybe_applied: false,
            timers: 0,
            hedge_timer: 0,
            waiting: Waiting::ToSend,
            sent_at: now,
            first_sent: None,
            hedged: false,
            backoff: self.policies.backoff(),
            permit: false,
        });
        ClientLoad::bump(&mut self.load.issued, now);
        self.send_due(now, client, out);
    }

    /// The next attempt of `client`'s operation is due now: admits it and sends it to its
    /// target, or waits for a permit, or gives the operation up.
    fn send_due(&mut self, now: Nanos, client: u32, out: &mut Vec<ClientOut<A::Op>>) {
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.as_mut().expect("an attempt of an operation in flight");
        let holds_permit = std::mem::take(&mut flight.permit);
        match self.policies.admit(now, flight.deadline, holds_permit) {
            Admit::Go => {}
            Admit::Wait(at) => {
                flight.permit = true;
                flight.timers += 1;
                flight.waiting = Waiting::ToSend;
                out.push(ClientOut::Timeout { client, attempt: flight.timers, at });
                return;
            }
            Admit::Reject(_) => {
                ClientLoad::bump(&mut self.load.rejected, now);
                self.report_breaker(out);
                return self.give_up(now, client, out);
            }
        }
        self.send_at(now, now, client, out);
        self.report_breaker(out);
    }

    /// Sends the operation's next attempt to its target, leaving at `at` (admitted already),
    /// with its timeout and its hedge.
    fn send_at(&mut self, now: Nanos, at: Nanos, client: u32, out: &mut Vec<ClientOut<A::Op>>) {
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.as_mut().expect("an attempt of an operation in flight");
        flight.attempt += 1;
        flight.sent_at = at;
        flight.waiting = Waiting::Reply;
        ClientLoad::bump(&mut self.load.sent, at);
        if flight.first_sent.is_none() {
            flight.first_sent = Some(at);
            self.policies.on_first_attempt(now);
            if let Some(hedge_at) = self.policies.hedge_at(at) {
                if hedge_at < flight.deadline {
                    flight.timers += 1;
                    flight.hedge_timer = flight.timers;
                    out.push(ClientOut::Timeout { client, attempt: flight.timers, at: hedge_at });
                }
            }
        } else {
            ClientLoad::bump(&mut self.load.retries, at);
        }
        let request = flight.request.clone();
        out.push(ClientOut::Send { client, to: flight.target, request, at });
        flight.timers += 1;
        let timeout_at = (at + self.settings.timeout.0).min(flight.deadline.max(at + 1));
        out.push(ClientOut::Timeout { client, attempt: flight.timers, at: timeout_at });
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
        let took = now.saturating_sub(flight.sent_at);
        let result = match &reply {
            Reply::Ok { .. } | Reply::Redirect { .. } => CallResult::Success,
            Reply::Fail { .. } => self.policies.fail_reply(),
            Reply::Unknown => CallResult::Failure,
        };
        if flight.waiting == Waiting::Reply {
            self.policies.on_result(now, took, result);
        }
        match reply {
            Reply::Ok { value } => {
                c.leader_hint = Some(flight.target);
                self.complete(now, client, Outcome::Ok, Some(value), out);
            }
            Reply::Fail { .. } if self.policies.retries_fail() => {
                c.leader_hint = None;
                self.retry(now, client, 0, out);
            }
            Reply::Fail { .. } => self.complete(now, client, Outcome::Fail, None, out),
            Reply::Redirect { leader } => {
                c.leader_hint = leader.filter(|l| *l < self.nodes && *l != flight.target);
                if c.leader_hint.is_some() {
                    self.resend(now, client, 0, out);
                } else {
                    self.retry(now, client, NAIVE_PAUSE_NS, out);
                }
            }
            Reply::Unknown => {
                flight.maybe_applied = true;
                c.leader_hint = None;
                self.retry(now, client, NAIVE_PAUSE_NS, out);
            }
        }
        self.report_breaker(out);
    }

    /// A timer of `client` ran out: an attempt's timeout, a wait's end, or a hedge's time.
    pub fn timeout(
        &mut self,
        now: Nanos,
        client: u32,
        token: u32,
        out: &mut Vec<ClientOut<A::Op>>,
    ) {
        let c = &mut self.clients[client as usize];
        let Some(flight) = c.in_flight.as_mut() else { return };
        if token != 0 && token == flight.hedge_timer {
            flight.hedge_timer = 0;
            if flight.waiting == Waiting::Reply && self.policies.try_hedge(now) {
                flight.hedged = true;
                flight.maybe_applied = true;
                let to = other_node(&mut c.rng, self.nodes, flight.target);
                ClientLoad::bump(&mut self.load.sent, now);
                let request = flight.request.clone();
                out.push(ClientOut::Send { client, to, request, at: now });
            }
            return;
        }
        if flight.timers != token {
            return;
        }
        match flight.waiting {
            Waiting::ToSend => self.send_due(now, client, out),
            Waiting::Reply => {
                flight.maybe_applied = true; // the request may have arrived and the reply been lost
                c.leader_hint = None;
                let took = now.saturating_sub(flight.sent_at);
                self.policies.on_result(now, took, CallResult::Failure);
                self.retry(now, client, 0, out);
                self.report_breaker(out);
            }
        }
    }

    /// The last attempt failed: retries after the policy's delay (`naive_ns` for the naive
    /// client), or gives up.
    fn retry(&mut self, now: Nanos, client: u32, naive_ns: Nanos, out: &mut Vec<ClientOut<A::Op>>) {
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.as_mut().expect("retry with an operation in flight");
        match self.policies.retry_delay(now, naive_ns, flight.backoff.as_mut(), &mut c.rng) {
            Ok(delay) => self.resend(now, client, delay, out),
            Err(_) => self.give_up(now, client, out),
        }
    }

    /// Sends the in-flight operation again after `delay`, to the leader hint or another node;
    /// gives up if the deadline has passed.
    fn resend(&mut self, now: Nanos, client: u32, delay: Nanos, out: &mut Vec<ClientOut<A::Op>>) {
        let nodes = self.nodes;
        let c = &mut self.clients[client as usize];
        let flight = c.in_flight.as_mut().expect("retry with an operation in flight");
        let at = now + delay;
        if at >= flight.deadline {
            return self.give_up(now, client, out);
        }
        flight.target = match c.leader_hint {
            Some(l) => l,
            None => other_node(&mut c.rng, nodes, flight.target),
        };
        if delay == 0 {
            self.send_due(now, client, out);
        } else if self.policies.admits_at_send() {
            flight.timers += 1;
            flight.waiting = Waiting::ToSend;
            out.push(ClientOut::Timeout { client, attempt: flight.timers, at });
        } else {
            self.send_at(now, at, client, out);
        }
    }

    /// Ends the operation without a reply: `info` if an attempt may have taken effect, else
    /// `fail`.
    fn give_up(&mut self, now: Nanos, client: u32, out: &mut Vec<ClientOut<A::Op>>) {
        let c = &self.clients[client as usize];
        let flight = c.in_flight.as_ref().expect("give up an operation in flight");
        let outcome = if flight.maybe_applied { Outcome::Info } else { Outcome::Fail };
        self.complete(now, client, outcome, None, out);
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
        if let Some(first) = flight.first_sent {
            self.policies.on_complete(now, now.saturating_sub(first), flight.hedged);
        }
        let op = &mut self.history.ops[flight.op];
        op.complete_ns = now;
        op.outcome = outcome;
        op.result = result;
        if self.settings.mode == ClientMode::Closed {
            out.push(ClientOut::Wake { client, at: now + self.settings.think.0 });
        }
    }

    fn report_breaker(&mut self, out: &mut Vec<ClientOut<A::Op>>) {
        if let Some(code) = self.policies.breaker_change() {
            out.push(ClientOut::Gauge { name: BREAKER_GAUGE, value: i64::from(code) });
        }
    }

    /// Ends the run at `end`: operations still in flight become `info`.
    pub fn finish(mut self, end: Nanos) -> Finished<A> {
        for c in &mut self.clients {
            if let Some(flight) = c.in_flight.take() {
                let op = &mut self.history.ops[flight.op];
                op.complete_ns = end;
                op.outcome = Outcome::Info;
            }
        }
        let total = |series: &[u32]| series.iter().map(|&n| u64::from(n)).sum();
        let counts = ClientCounts {
            sent: total(&self.load.sent),
            retries: total(&self.load.retries),
            policies: self.policies.counts(),
        };
        Finished { history: self.history, shed: self.shed, load: self.load, counts }
    }

    /// The history so far.
    pub fn history(&self) -> &TypedHistory<A> {
        &self.history
    }
}

/// What the clients leave at the end of a run.
#[derive(Clone, Debug)]
pub struct Finished<A: Api> {
    /// The history.
    pub history: TypedHistory<A>,
    /// Open-loop arrivals that found every client busy.
    pub shed: u64,
    /// Load per bucket.
    pub load: ClientLoad,
    /// Totals.
    pub counts: ClientCounts,
}

/// A node other than `current`, uniformly (node 0 in a one-node cluster).
fn other_node(rng: &mut SimRng, nodes: u32, current: NodeId) -> NodeId {
    if nodes <= 1 {
        return 0;
    }
    let other = rng.below(u64::from(nodes) - 1) as NodeId;
    if other >= current {
        other + 1
    } else {
        other
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::KvApi;
    use crate::engine::{MILLISECOND, SECOND};
    use crate::reliability::TokenBucketConfig;
    use crate::reliability::{BreakerConfig, HedgeConfig, Jitter, LimiterConfig, RetryConfig};
    use crate::scenario::Duration;

    type Out = Vec<ClientOut<<KvApi as Api>::Op>>;

    /// One closed-loop client on a three-node cluster, 10ms timeout, 1s deadline.
    fn settings() -> ClientSettings {
        ClientSettings {
            count: 1,
            think: Duration(0),
            timeout: Duration(10 * MILLISECOND),
            deadline: Duration(SECOND),
            ..ClientSettings::default()
        }
    }

    /// Starts `settings`' client and issues its first operation at time 0.
    fn started(settings: &ClientSettings) -> (Workload<KvApi>, Out) {
        let mut w = Workload::<KvApi>::new(settings, 3, 100 * SECOND, 1);
        let mut out = Vec::new();
        w.start(&mut out);
        out.clear();
        w.wake(0, 0, &mut out);
        (w, out)
    }

    fn sends(out: &Out) -> Vec<(NodeId, Nanos)> {
        out.iter()
            .filter_map(|o| match o {
                ClientOut::Send { to, at, .. } => Some((*to, *at)),
                _ => None,
            })
            .collect()
    }

    fn timers(out: &Out) -> Vec<(u32, Nanos)> {
        out.iter()
            .filter_map(|o| match o {
                ClientOut::Timeout { attempt, at, .. } => Some((*attempt, *at)),
                _ => None,
            })
            .collect()
    }

    fn request(w: &Workload<KvApi>) -> RequestId {
        w.clients[0].in_flight.as_ref().expect("in flight").request.id
    }

    #[test]
    fn the_naive_client_retries_a_timeout_at_once_until_the_deadline() {
        let (mut w, out) = started(&settings());
        assert_eq!(timers(&out), [(1, 10 * MILLISECOND)]);
        let mut now = 10 * MILLISECOND;
        let mut attempt = 1;
        loop {
            let mut out = Vec::new();
            w.timeout(now, 0, attempt, &mut out);
            if w.clients[0].in_flight.is_none() {
                break;
            }
            attempt += 1;
            assert_eq!(sends(&out).len(), 1);
            assert_eq!(sends(&out)[0].1, now, "a naive retry goes at once");
            assert_eq!(timers(&out), [(attempt, now + 10 * MILLISECOND)]);
            now += 10 * MILLISECOND;
        }
        assert_eq!(attempt, 100, "retries until the 1s deadline");
        assert_eq!(w.history().ops[0].outcome, Outcome::Info);
        let f = w.finish(2 * SECOND);
        assert_eq!((f.counts.sent, f.counts.retries), (100, 99));
    }

    #[test]
    fn backoff_delays_retries_and_max_attempts_ends_the_operation() {
        let retry = RetryConfig { jitter: Jitter::None, max_attempts: 3, ..RetryConfig::default() };
        let s = ClientSettings { retry: Some(retry), ..settings() };
        let (mut w, _) = started(&s);
        let mut out = Vec::new();
        w.timeout(10 * MILLISECOND, 0, 1, &mut out);
        // No breaker or limiter: the retry is sent ahead, leaving after its 10ms backoff.
        assert_eq!(sends(&out).len(), 1);
        assert_eq!(sends(&out)[0].1, 20 * MILLISECOND);
        assert_eq!(timers(&out), [(2, 30 * MILLISECOND)]);
        out.clear();
        w.timeout(30 * MILLISECOND, 0, 2, &mut out);
        assert_eq!(sends(&out)[0].1, 50 * MILLISECOND, "the second backoff is 20ms");
        out.clear();
        w.timeout(60 * MILLISECOND, 0, 3, &mut out);
        assert!(sends(&out).is_empty(), "three attempts used");
        assert_eq!(w.history().ops[0].outcome, Outcome::Info);
        assert_eq!(w.finish(SECOND).counts.policies.attempts_used, 1);
    }

    #[test]
    fn a_fail_reply_is_retried_only_when_asked() {
        for on_fail in [false, true] {
            let retry = RetryConfig { jitter: Jitter::None, on_fail, ..RetryConfig::default() };
            let s = ClientSettings { retry: Some(retry), ..settings() };
            let (mut w, _) = started(&s);
            let mut out = Vec::new();
            let id = request(&w);
            w.reply(MILLISECOND, 0, id, Reply::Fail { reason: "overloaded" }, &mut out);
            assert_eq!(sends(&out).len(), usize::from(on_fail), "on_fail = {on_fail}");
            if !on_fail {
                assert_eq!(w.history().ops[0].outcome, Outcome::Fail);
            }
        }
    }

    #[test]
    fn an_open_breaker_fails_operations_without_sending_them() {
        let breaker = BreakerConfig {
            sliding_window_size: 2,
            minimum_number_of_calls: 2,
            wait_duration_in_open_state_ns: SECOND,
            ..BreakerConfig::default()
        };
        let s = ClientSettings { breaker: Some(breaker), ..settings() };
        let (mut w, mut out) = started(&s);
        // Two timeouts: 2 of 2 calls failed, the breaker opens.
        for (t, attempt) in [(10, 1), (20, 2)] {
            out.clear();
            w.timeout(t * MILLISECOND, 0, attempt, &mut out);
        }
        assert!(out.contains(&ClientOut::Gauge { name: BREAKER_GAUGE, value: 1 }), "{out:?}");
        assert!(sends(&out).is_empty(), "the retry after the second failure is rejected");
        assert_eq!(w.history().ops[0].outcome, Outcome::Info, "an attempt went: indeterminate");
        // The next operation never leaves the client and definitely did not happen.
        out.clear();
        w.wake(30 * MILLISECOND, 0, &mut out);
        assert!(sends(&out).is_empty());
        assert_eq!(w.history().ops[1].outcome, Outcome::Fail);
        let f = w.finish(SECOND);
        assert_eq!((f.counts.policies.breaker_opened, f.counts.policies.breaker_rejected), (1, 2));
        assert_eq!(f.load.rejected.iter().sum::<u32>(), 2);
    }

    #[test]
    fn a_breaker_admits_a_delayed_retry_when_it_is_due_not_when_scheduled() {
        let retry = RetryConfig { jitter: Jitter::None, ..RetryConfig::default() };
        let s = ClientSettings {
            retry: Some(retry),
            breaker: Some(BreakerConfig::default()),
            ..settings()
        };
        let (mut w, _) = started(&s);
        let mut out = Vec::new();
        w.timeout(10 * MILLISECOND, 0, 1, &mut out);
        assert!(sends(&out).is_empty(), "nothing sent ahead of the backoff");
        assert_eq!(timers(&out), [(2, 20 * MILLISECOND)]);
        out.clear();
        w.timeout(20 * MILLISECOND, 0, 2, &mut out);
        assert_eq!(sends(&out).len(), 1);
        assert_eq!(sends(&out)[0].1, 20 * MILLISECOND);
        assert_eq!(timers(&out), [(3, 30 * MILLISECOND)]);
    }

    #[test]
    fn a_rate_limiter_makes_an_operation_wait_for_its_permit() {
        let limiter = LimiterConfig {
            token_bucket: Some(TokenBucketConfig { rate_per_s: 10, burst: 1 }),
            sliding_window: None,
            max_wait_ns: SECOND,
        };
        let s = ClientSettings { limiter: Some(limiter), ..settings() };
        let (mut w, out) = started(&s);
        assert_eq!(sends(&out).len(), 1, "the burst's token");
        let mut out = Vec::new();
        let id = request(&w);
        w.reply(MILLISECOND, 0, id, Reply::Ok { value: None }, &mut out);
        out.clear();
        w.wake(MILLISECOND, 0, &mut out);
        assert!(sends(&out).is_empty());
        assert_eq!(timers(&out), [(1, 100 * MILLISECOND)], "the next token comes at 100ms");
        out.clear();
        w.timeout(100 * MILLISECOND, 0, 1, &mut out);
        assert_eq!(sends(&out), [(sends(&out)[0].0, 100 * MILLISECOND)]);
        assert_eq!(w.finish(SECOND).counts.policies.limiter_delayed, 1);
    }

    #[test]
    fn a_hedge_goes_to_another_node_and_the_first_answer_wins() {
        let hedge =
            HedgeConfig { delay_ns: 3 * MILLISECOND, max_ratio: 1.0, ..HedgeConfig::default() };
        let s = ClientSettings { hedge: Some(hedge), ..settings() };
        let (mut w, out) = started(&s);
        let first = sends(&out)[0].0;
        assert_eq!(timers(&out), [(1, 3 * MILLISECOND), (2, 10 * MILLISECOND)]);
        let mut out = Vec::new();
        w.timeout(3 * MILLISECOND, 0, 1, &mut out);
        let hedged = sends(&out);
        assert_eq!(hedged.len(), 1);
        assert_ne!(hedged[0].0, first, "the hedge goes elsewhere");
        let id = request(&w);
        out.clear();
        w.reply(4 * MILLISECOND, 0, id, Reply::Ok { value: None }, &mut out);
        assert_eq!(w.history().ops[0].outcome, Outcome::Ok);
        // The original timeout is stale now.
        out.clear();
        w.timeout(10 * MILLISECOND, 0, 2, &mut out);
        assert!(out.is_empty());
        let f = w.finish(SECOND);
        assert_eq!((f.counts.sent, f.counts.policies.hedges), (2, 1));
    }
}
