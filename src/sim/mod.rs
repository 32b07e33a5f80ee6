//! The simulation: one scheduler running nodes, clients, clocks, disks, links and faults.
//!
//! One event at a time flows like this: the earliest event leaves the [`EventQueue`]; it is
//! folded into the trace hash; the simulator hands it to its target (a node's handler through a
//! [`Context`], a client, or the fault injector); the target's effects go back into the world
//! (messages into the network, which decides when and whether they arrive; timers onto the node's
//! clock; fsyncs onto its disk; facts into the checkers) and become new events.

mod expect;
mod faults;
pub mod gauges;
mod report;
pub mod trace;

pub use report::{
    percentiles_ms, AppliedControl, AppliedFault, LatencySummary, OpCounts, RunOutput, RunReport,
    SkippedFault, EXPECT_CHECK,
};

use crate::api::{Api, Reply, Request, RequestId};
use crate::check::{CheckResult, Checks, FactChecker, HistoryChecker, RunContext, Violation};
use crate::engine::rng::stream;
use crate::engine::{EventQueue, Nanos, SimRng, TraceHash, TraceWriter};
use crate::node::{
    ClientId, Context, Effect, Fact, FsyncId, Group, Node, NodeId, OpOf, ReadId, ResOf, TimerId,
    Timers,
};
use crate::scenario::{InFlightSetting, JitterDistribution, Scenario};
use crate::system::{ApiOf, Cluster, ControlOf, System};
use crate::workload::{ClientOut, History, Workload};
use crate::world::clock::Clock;
use crate::world::disk::{Disk, DiskConfig};
use crate::world::fault::{Degrade, ScheduledFault};
use crate::world::nemesis::{Nemesis, NemesisPlan};
use crate::world::network::{HostId, InFlight, Jitter, LinkConfig, MessageClass, Network, Transit};
use std::panic::{catch_unwind, AssertUnwindSafe};
use trace::{debug_name, TraceEvent, TraceRecord};

/// What the queue holds. Small and `Copy`: messages live in `packets`.
#[derive(Clone, Copy, Debug)]
enum Event {
    Deliver {
        packet: u32,
    },
    Timer {
        node: NodeId,
        id: TimerId,
    },
    Fsync {
        node: NodeId,
        id: FsyncId,
        incarnation: u32,
    },
    Read {
        node: NodeId,
        id: ReadId,
        incarnation: u32,
    },
    Fault {
        index: u32,
    },
    Repair {
        index: u32,
    },
    Nemesis,
    ClientWake {
        client: ClientId,
    },
    ClientTimeout {
        client: ClientId,
        attempt: u32,
    },
    Arrival,
    QuietStart,
    Control {
        index: u32,
    },
    /// An expectation's window opens or reaches its deadline.
    Expect {
        index: u32,
    },
}

impl Event {
    fn tag(&self) -> u64 {
        match self {
            Event::Deliver { .. } => 1,
            Event::Timer { .. } => 2,
            Event::Fsync { .. } => 3,
            Event::Fault { .. } => 4,
            Event::Repair { .. } => 5,
            Event::Nemesis => 6,
            Event::ClientWake { .. } => 7,
            Event::ClientTimeout { .. } => 8,
            Event::Arrival => 9,
            Event::QuietStart => 10,
            Event::Read { .. } => 11,
            Event::Control { .. } => 12,
            Event::Expect { .. } => 13,
        }
    }
}

#[derive(Clone, Debug)]
enum Payload<M, O, R> {
    Peer(M),
    Request(Request<O>),
    Reply(RequestId, Reply<R>),
}

#[derive(Clone, Debug)]
struct Packet<P> {
    from: HostId,
    to: HostId,
    epoch: u32,
    payload: P,
}

/// What travels between hosts in a run of node type `N`.
type PayloadOf<N> = Payload<<N as Node>::Msg, OpOf<N>, ResOf<N>>;

/// Messages in flight, indexed by the queue's `Deliver` events; slots are reused.
struct Packets<P> {
    slots: Vec<Option<Packet<P>>>,
    free: Vec<u32>,
}

impl<P> Packets<P> {
    fn insert(&mut self, packet: Packet<P>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(packet);
                i
            }
            None => {
                self.slots.push(Some(packet));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn take(&mut self, i: u32) -> Packet<P> {
        self.free.push(i);
        self.slots[i as usize].take().expect("a queued packet is stored")
    }
}

struct NodeSlot<N: Node> {
    node: Option<N>,
    clock: Clock,
    drift_initial_ppm: i64,
    disk: Disk,
    rng: SimRng,
    timers: Timers<N::Timer>,
    incarnation: u32,
}

/// Options of one run that do not change its outcome.
#[derive(Default)]
pub struct RunOptions {
    /// Write the full trace (JSON Lines) here.
    pub trace: Option<TraceWriter>,
    /// Called every [`PROGRESS_EVENTS`] events with how far the run got (a long run can say
    /// how long it will take; the caller may read the wall clock, the run does not).
    pub progress: Option<Box<dyn FnMut(RunProgress)>>,
}

impl RunOptions {
    /// Options that write the trace to `trace`.
    pub fn with_trace(trace: TraceWriter) -> Self {
        RunOptions { trace: Some(trace), ..RunOptions::default() }
    }
}

/// How far a run has got, for progress reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunProgress {
    /// Events processed so far.
    pub events: u64,
    /// Virtual time reached.
    pub virtual_ns: Nanos,
    /// Virtual time the run ends at.
    pub end_ns: Nanos,
}

/// How often [`RunOptions::progress`] is called, in events (a power of two).
pub const PROGRESS_EVENTS: u64 = 1 << 20;

/// One run of a system under a scenario and a seed.
pub struct Sim<'s, S: System> {
    scenario: &'s Scenario,
    config: S::Config,
    cluster: Cluster,
    seed: u64,
    now: Nanos,
    end: Nanos,
    queue: EventQueue<Event>,
    packets: Packets<PayloadOf<S::Node>>,
    nodes: Vec<NodeSlot<S::Node>>,
    network: Network,
    base_link: LinkConfig,
    /// The degrades in force since the last link restore, oldest first.
    degrades: Vec<Degrade>,
    /// Degrades stood when the quiet period began (`through_quiet`).
    degraded_in_quiet: bool,
    workload: Workload<ApiOf<S>>,
    client_out: Vec<ClientOut<OpOf<S::Node>>>,
    effects: crate::node::testing::Effects<S::Node>,
    nemesis: Option<Nemesis>,
    resolver: SimRng,
    repairs: Vec<crate::world::fault::Fault>,
    fault_log: Vec<AppliedFault>,
    schedule: faults::Schedule,
    expect: expect::Expectations,
    controls: Vec<(Nanos, ControlOf<S>)>,
    control_log: Vec<AppliedControl>,
    fact_checkers: Vec<EnabledFacts>,
    history_checkers: Vec<Box<dyn HistoryChecker<ApiOf<S>>>>,
    violation: Option<Violation>,
    groups: Groups,
    hash: TraceHash,
    trace: Option<TraceWriter>,
    progress: Option<Box<dyn FnMut(RunProgress)>>,
    events: u64,
    gauges: gauges::Gauges,
}

impl<'s, S: System> Sim<'s, S> {
    /// Sets up a run: nodes, clocks, disks, network, clients and faults, all seeded by `seed`.
    pub fn new(scenario: &'s Scenario, config: S::Config, seed: u64, options: RunOptions) -> Self {
        let n = scenario.nodes;
        let cluster = Cluster { nodes: n, initial_members: scenario.initial_member_ids() };
        let mut setup = SimRng::new(seed, stream::SETUP);
        let disk_config = DiskConfig {
            fsync_latency_min: scenario.disk.fsync_min.0,
            fsync_latency_max: scenario.disk.fsync_max.0,
            torn_write_ppm: scenario.disk.torn_write.ppm(),
            read_corruption_ppm: scenario.disk.read_corruption.ppm(),
            read_latency_min: scenario.disk.read_min.0,
            read_latency_max: scenario.disk.read_max.0,
            dir_op_lost_ppm: scenario.disk.dir_op_lost.ppm(),
        };
        let nodes = (0..n)
            .map(|id| {
                let offset = setup.below(scenario.clock.offset_max.0 + 1) as i64;
                let max = i64::from(scenario.clock.drift_ppm_max);
                let drift = setup.between(0, 2 * max as u64) as i64 - max;
                NodeSlot {
                    node: None,
                    clock: Clock::new(offset, drift),
                    drift_initial_ppm: drift,
                    disk: Disk::new(
                        disk_config.clone(),
                        SimRng::new(seed, stream::DISK + u64::from(id)),
                    ),
                    rng: SimRng::new(seed, stream::NODE + u64::from(id)),
                    timers: Timers::new(),
                    incarnation: 0,
                }
            })
            .collect();
        let net = &scenario.network;
        let base_link = LinkConfig {
            latency: net.latency.0,
            jitter: net.jitter.0,
            jitter_shape: match net.jitter_distribution {
                JitterDistribution::Uniform => Jitter::Uniform,
                JitterDistribution::Exponential => Jitter::Exponential,
            },
            loss_ppm: net.loss.ppm(),
            duplicate_ppm: net.duplicate.ppm(),
            reorder_ppm: net.reorder.ppm(),
            jitter_unordered: 0,
            long_delay_ppm: 0,
            long_delay_min: 0,
            long_delay_max: 0,
        };
        let in_flight = match net.in_flight_on_cut {
            InFlightSetting::Drop => InFlight::Drop,
            InFlightSetting::Deliver => InFlight::Deliver,
        };
        let hosts = (n + scenario.clients.count) as usize;
        let mut network =
            Network::new(hosts, base_link, in_flight, SimRng::new(seed, stream::NETWORK));
        network.set_bandwidth(scenario.network.bandwidth.0);
        let end = scenario.duration.0;
        let issue_until = end.saturating_sub(scenario.clients.deadline.0).max(end / 2);
        let workload = Workload::new(&scenario.clients, n, issue_until, seed);
        let nemesis = scenario.nemesis.as_ref().map(|ns| {
            let plan = NemesisPlan {
                kinds: ns.kinds.iter().map(|(k, w)| (k.clone(), *w)).collect(),
                start: ns.start.0,
                interval: ns.interval.0,
                duration: ns.duration.0,
                clock_jump_max: ns.clock_jump_max.0,
                crash_downtime: ns.crash_downtime.map(|[low, high]| (low.0, high.0)),
            };
            Nemesis::new(plan, SimRng::new(seed, stream::NEMESIS))
        });
        let controls =
            crate::system::controls::<S>(scenario, &config).unwrap_or_else(|(key, reason)| {
                panic!("scenario `{}`: `{key}`: {reason}", scenario.name)
            });
        let checks = S::checks(&config, &cluster);
        let (fact_checkers, history_checkers) = enabled_checks(checks, scenario);
        Sim {
            scenario,
            config,
            cluster,
            seed,
            now: 0,
            end,
            queue: EventQueue::with_capacity(4096),
            packets: Packets { slots: Vec::new(), free: Vec::new() },
            nodes,
            network,
            base_link,
            degrades: Vec::new(),
            degraded_in_quiet: false,
            workload,
            client_out: Vec::new(),
            effects: Vec::new(),
            nemesis,
            resolver: SimRng::new(seed, stream::RESOLVER),
            repairs: Vec::new(),
            fault_log: Vec::new(),
            schedule: faults::Schedule::default(),
            expect: expect::Expectations::default(),
            controls,
            control_log: Vec::new(),
            fact_checkers,
            history_checkers,
            violation: None,
            groups: Groups::default(),
            hash: TraceHash::default(),
            trace: options.trace,
            progress: options.progress,
            events: 0,
            gauges: gauges::Gauges::default(),
        }
    }

    /// Runs to the end of the scenario (or the first safety violation) and judges the run.
    pub fn run(mut self) -> RunOutput {
        self.boot();
        while let Some(t) = self.queue.peek_time() {
            if t > self.end || self.violation.is_some() {
                break;
            }
            self.step();
            if self.events & (PROGRESS_EVENTS - 1) == 0 {
                if let Some(progress) = self.progress.as_mut() {
                    let at =
                        RunProgress { events: self.events, virtual_ns: self.now, end_ns: self.end };
                    progress(at);
                }
            }
        }
        self.finish()
    }

    fn boot(&mut self) {
        self.trace_record(|s| TraceEvent::Start {
            seed: s.seed,
            scenario: s.scenario.name.clone(),
            system: S::NAME.to_string(),
        });
        let (schedule, due) = faults::Schedule::new(&self.scenario.faults, self.seed);
        self.schedule = schedule;
        for (at, index) in due {
            self.queue.push(at, Event::Fault { index });
        }
        self.expectations_boot();
        for (i, (at, _)) in self.controls.iter().enumerate() {
            self.queue.push(*at, Event::Control { index: i as u32 });
        }
        if let Some(nemesis) = self.nemesis.as_mut() {
            let first = nemesis.first_at();
            self.queue.push(first, Event::Nemesis);
        }
        if self.scenario.quiet.0 > 0 {
            self.queue.push(self.scenario.quiet_start(), Event::QuietStart);
        }
        for id in 0..self.cluster.nodes {
            self.start_node(id);
        }
        if let Some(at) = self.workload.start(&mut self.client_out) {
            self.queue.push(at, Event::Arrival);
        }
        self.apply_client_out();
    }

    /// Processes the earliest event.
    #[inline]
    fn step(&mut self) {
        let (now, event) = self.queue.pop().expect("step with a pending event");
        debug_assert!(now >= self.now, "time went backwards");
        self.now = now;
        self.events += 1;
        self.hash.add(now);
        self.hash.add(event.tag());
        match event {
            Event::Deliver { packet } => self.deliver(packet),
            Event::Timer { node, id } => self.fire_timer(node, id),
            Event::Fsync { node, id, incarnation } => {
                let slot = &mut self.nodes[node as usize];
                if slot.incarnation == incarnation && slot.disk.complete_fsync(id) {
                    self.hash.add(u64::from(node));
                    self.trace_record(|_| TraceEvent::FsyncDone { node });
                    if self.expect.samples_disks() {
                        self.expectations_on_disk(node);
                    }
                    self.call(node, |n, ctx| n.on_fsync(ctx, id));
                }
            }
            Event::Read { node, id, incarnation } => {
                let slot = &mut self.nodes[node as usize];
                if slot.incarnation != incarnation {
                    return;
                }
                if let Some(data) = slot.disk.complete_read(id) {
                    self.hash.add(u64::from(node));
                    self.trace_record(|_| TraceEvent::ReadDone { node });
                    self.call(node, |n, ctx| n.on_read(ctx, id, data));
                }
            }
            Event::Fault { index } => self.scheduled_fault(index),
            Event::Repair { index } => {
                let fault = self.repairs[index as usize].clone();
                if self.now < self.quiet_start_or_end() {
                    self.inject(fault, false);
                }
            }
            Event::Nemesis => self.nemesis_strike(),
            Event::ClientWake { client } => {
                self.workload.wake(now, client, &mut self.client_out);
                self.apply_client_out();
            }
            Event::ClientTimeout { client, attempt } => {
                self.trace_record(|_| TraceEvent::ClientTimeout { client, attempt });
                self.workload.timeout(now, client, attempt, &mut self.client_out);
                self.apply_client_out();
            }
            Event::Arrival => {
                if let Some(next) = self.workload.arrival(now, &mut self.client_out) {
                    self.queue.push(next, Event::Arrival);
                }
                self.apply_client_out();
            }
            Event::QuietStart => self.quiet_start(),
            Event::Expect { index } => self.expectation_due(index),
            Event::Control { index } => {
                let action = self.controls[index as usize].1.clone();
                let text = format!("{action:?}");
                self.hash.add_bytes(text.as_bytes());
                self.control_log.push(AppliedControl { at_ns: now, action: text.clone() });
                self.trace_record(|_| TraceEvent::Control { action: text });
                self.control(action);
            }
        }
    }

    fn quiet_start_or_end(&self) -> Nanos {
        if self.scenario.quiet.0 > 0 {
            self.scenario.quiet_start()
        } else {
            self.end + 1
        }
    }

    fn fire_timer(&mut self, node: NodeId, id: TimerId) {
        let slot = &mut self.nodes[node as usize];
        let local = slot.clock.local(self.now);
        let Some(deadline) = slot.timers.deadline(id) else { return };
        if local < deadline {
            // The clock was stepped back or slowed since the timer was set: wait longer.
            let at = slot.clock.global_at(self.now, deadline);
            self.queue.push(at.max(self.now + 1), Event::Timer { node, id });
            return;
        }
        let timer = slot.timers.fire(id).expect("deadline implies pending");
        self.hash.add(u64::from(node));
        self.trace_record(|_| TraceEvent::Timer { node, timer: format!("{timer:?}"), local });
        self.call(node, |n, ctx| n.on_timer(ctx, timer));
    }

    fn deliver(&mut self, index: u32) {
        let packet = self.packets.take(index);
        self.hash.add(u64::from(packet.from) << 32 | u64::from(packet.to));
        let nodes = self.cluster.nodes;
        let (from, to) = (packet.from, packet.to);
        let arrives = self.network.arrives(self.now, from, to, packet.epoch);
        if self.trace.is_some() {
            let (name, msg) = Self::payload_text(&packet.payload);
            let down = to < nodes && self.nodes[to as usize].node.is_none();
            let event = match (arrives, down) {
                (false, _) => TraceEvent::Drop { from, to, name, why: "cut_in_flight".into() },
                (true, true) => TraceEvent::Drop { from, to, name, why: "node_down".into() },
                (true, false) => TraceEvent::Recv { from, to, name, msg },
            };
            self.trace_record(|_| event);
        }
        if !arrives {
            return;
        }
        match packet.payload {
            Payload::Peer(msg) => self.call(to, |n, ctx| n.on_message(ctx, from, msg)),
            Payload::Request(request) => {
                self.call(to, |n, ctx| n.on_request(ctx, from - nodes, request))
            }
            Payload::Reply(request, reply) => {
                self.workload.reply(self.now, to - nodes, request, reply, &mut self.client_out);
                self.apply_client_out();
            }
        }
    }

    /// A message's kind and its whole text, for the trace.
    fn payload_text(payload: &PayloadOf<S::Node>) -> (String, String) {
        match payload {
            Payload::Peer(m) => {
                let msg = format!("{m:?}");
                (debug_name(&msg).to_string(), msg)
            }
            Payload::Request(r) => {
                let name = ApiOf::<S>::name(&r.op).to_string();
                (name, format!("{:?} {}", r.id, ApiOf::<S>::describe(&r.op)))
            }
            Payload::Reply(id, reply) => {
                let text = format!("{reply:?}");
                (debug_name(&text).to_string(), format!("{id:?} {text}"))
            }
        }
    }

    /// Calls a handler of node `id` if it is up, then carries out its effects. A panic in the
    /// handler is a bug the simulation found in the protocol: it stops the run as a violation.
    fn call(&mut self, id: NodeId, handler: impl FnOnce(&mut S::Node, &mut Context<'_, S::Node>)) {
        let slot = &mut self.nodes[id as usize];
        let Some(node) = slot.node.as_mut() else { return };
        let local = slot.clock.local(self.now);
        let mut ctx = Context::new(
            id,
            local,
            &mut slot.rng,
            &mut slot.disk,
            &mut slot.timers,
            &mut self.effects,
        );
        let outcome = catch_unwind(AssertUnwindSafe(|| handler(node, &mut ctx)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            self.effects.clear();
            self.violation = Some(Violation {
                check: "node_panic".into(),
                detail: format!("node n{id} panicked at {}: {message}", fmt_t(self.now)),
            });
            return;
        }
        self.apply_effects(id);
    }

    fn apply_effects(&mut self, id: NodeId) {
        let mut effects = std::mem::take(&mut self.effects);
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => {
                    assert!(to < self.cluster.nodes, "node n{id} sent to unknown node {to}");
                    self.send(self.now, id, to, Payload::Peer(msg));
                }
                Effect::Reply { client, request, reply } => {
                    let host = self.cluster.nodes + client;
                    if (host as usize) < self.network.hosts() {
                        self.send(self.now, id, host, Payload::Reply(request, reply));
                    }
                }
                Effect::SetTimer { id: timer, deadline } => {
                    let at = self.nodes[id as usize].clock.global_at(self.now, deadline);
                    self.queue.push(at, Event::Timer { node: id, id: timer });
                }
                Effect::CancelTimer { .. } => {}
                Effect::Fsync { id: fsync } => {
                    let slot = &mut self.nodes[id as usize];
                    let at = slot.disk.fsync_done_at(self.now);
                    let incarnation = slot.incarnation;
                    self.queue.push(at, Event::Fsync { node: id, id: fsync, incarnation });
                }
                Effect::Read { id: read, latency } => {
                    let incarnation = self.nodes[id as usize].incarnation;
                    let at = self.now + latency;
                    self.queue.push(at, Event::Read { node: id, id: read, incarnation });
                }
                Effect::Fact { group, fact } => self.fact(id, group, fact),
                Effect::Gauge { name, value } => self.gauges.record(self.now, id, name, value),
            }
        }
        self.effects = effects;
    }

    fn send(&mut self, at: Nanos, from: HostId, to: HostId, payload: PayloadOf<S::Node>) {
        let bytes = match &payload {
            Payload::Peer(m) => S::Node::wire_bytes(m),
            Payload::Request(_) | Payload::Reply(..) => 0,
        };
        if self.expect.counts_sends() && from < self.cluster.nodes {
            if let Payload::Peer(m) = &payload {
                let name = S::Node::message_name(m);
                self.expectations_on_send(from, &name, bytes);
            }
        }
        let class = match &payload {
            Payload::Peer(m) if S::Node::is_reply(m) => MessageClass::Reply,
            Payload::Peer(_) | Payload::Request(_) => MessageClass::Request,
            Payload::Reply(..) => MessageClass::Reply,
        };
        let transit = self.network.send_message(at, from, to, bytes, class);
        self.hash.add(u64::from(from) << 32 | u64::from(to));
        if self.trace.is_some() {
            let (name, msg) = Self::payload_text(&payload);
            let (arrive, drop) = match transit {
                Transit::Arrives { first, .. } => (Some(first), None),
                Transit::Dropped(why) => (None, Some(format!("{why:?}"))),
            };
            let event = TraceEvent::Send { from, to, name, msg, arrive, drop };
            self.trace_record_at(at, event);
        }
        match transit {
            Transit::Dropped(_) => {}
            Transit::Arrives { first, duplicate, epoch } => {
                if let Some(second) = duplicate {
                    let copy = Packet { from, to, epoch, payload: payload.clone() };
                    let index = self.packets.insert(copy);
                    self.queue.push(second, Event::Deliver { packet: index });
                }
                let index = self.packets.insert(Packet { from, to, epoch, payload });
                self.queue.push(first, Event::Deliver { packet: index });
            }
        }
    }

    fn fact(&mut self, node: NodeId, group: Group, fact: Fact) {
        if let Fact::Leader { term } = fact {
            self.hash.add(term);
        }
        self.groups.observe(node, group, &fact);
        self.schedule_on_fact(node, &fact);
        self.trace_record(|_| TraceEvent::Fact { node, group, fact: fact.clone() });
        if self.violation.is_some() {
            return;
        }
        if let Some(v) = self.expectations_on_fact(node, group, &fact) {
            self.violation = Some(v);
            return;
        }
        for checker in &mut self.fact_checkers {
            if let Err(v) = checker.checker.on_fact(self.now, node, group, &fact) {
                if !checker.disabled.iter().any(|d| *d == v.check) {
                    self.violation = Some(v);
                    return;
                }
            }
        }
    }

    fn apply_client_out(&mut self) {
        let mut out = std::mem::take(&mut self.client_out);
        let nodes = self.cluster.nodes;
        for o in out.drain(..) {
            match o {
                ClientOut::Send { client, to, request, at } => {
                    if self.trace.is_some() {
                        let op = ApiOf::<S>::describe(&request.op);
                        let seq = request.id.seq;
                        self.trace_record_at(at, TraceEvent::ClientSend { client, to, op, seq });
                    }
                    self.send(at, nodes + client, to, Payload::Request(request));
                }
                ClientOut::Timeout { client, attempt, at } => {
                    self.queue.push(at, Event::ClientTimeout { client, attempt });
                }
                ClientOut::Wake { client, at } => self.queue.push(at, Event::ClientWake { client }),
                ClientOut::Gauge { name, value } => {
                    self.gauges.record(self.now, gauges::CLIENTS, name, value)
                }
            }
        }
        self.client_out = out;
    }

    fn start_node(&mut self, id: NodeId) {
        let slot = &mut self.nodes[id as usize];
        debug_assert!(slot.node.is_none());
        slot.node = Some(S::node(&self.config, id, &self.cluster));
        self.trace_record(|_| TraceEvent::Boot { node: id });
        self.call(id, |n, ctx| n.on_start(ctx));
        self.retry_waiting();
    }

    fn control(&mut self, action: ControlOf<S>) {
        for id in 0..self.cluster.nodes {
            let action = action.clone();
            self.call(id, |n, ctx| n.on_control(ctx, action));
        }
    }

    /// Writes one trace line if a trace was requested; `line` builds it from the simulation.
    fn trace_record(&mut self, event: impl FnOnce(&Self) -> TraceEvent) {
        if self.trace.is_some() {
            let event = event(self);
            self.trace_record_at(self.now, event);
        }
    }

    /// Writes one trace line for time `t` (a send leaves after a backoff: not always now).
    fn trace_record_at(&mut self, t: Nanos, event: TraceEvent) {
        if let Some(trace) = self.trace.as_mut() {
            trace.record(&TraceRecord { t, event });
        }
    }

    fn finish(mut self) -> RunOutput {
        self.schedule_finish();
        let end = self.now.max(if self.violation.is_some() { self.now } else { self.end });
        self.now = end;
        let expectations = self.expectations_finish();
        let finished = self.workload.finish(end);
        let (typed, shed) = (finished.history, finished.shed);
        let mut checks: Vec<CheckResult> = Vec::new();
        for c in &self.fact_checkers {
            let results = c.checker.results().into_iter();
            checks.extend(results.filter(|r| !c.disabled.iter().any(|d| *d == r.name)));
        }
        checks.extend(expectations);
        if let Some(v) = &self.violation {
            match checks.iter_mut().find(|c| c.name == v.check) {
                Some(c) => {
                    c.passed = false;
                    c.judged = true;
                    c.detail = v.detail.clone();
                }
                None => checks.push(CheckResult::fail(v.check.clone(), v.detail.clone())),
            }
        }
        let scenario = self.scenario;
        let run = RunContext {
            quiet_start: (scenario.quiet.0 > 0).then(|| scenario.quiet_start()),
            end_ns: end,
            faults_applied: self.fault_log.len(),
            degraded_in_quiet: self.degraded_in_quiet,
            stopped_early: self.violation.is_some(),
            liveness_bound: scenario.checks.liveness_bound.0,
        };
        for checker in &self.history_checkers {
            let result = if run.stopped_early {
                let why = "not judged: the run stopped at a safety violation";
                CheckResult::not_judged(checker.name(), why)
            } else {
                checker.check(&typed, &run)
            };
            checks.push(result.of_kind(checker.kind()));
        }
        let history = History::from_typed(typed);
        let liveness_on = scenario.checks.enabled(crate::check::liveness::NAME, true);
        if let (true, Some(result)) = (liveness_on, crate::check::liveness::judge(&history, &run)) {
            checks.push(result);
        }
        let progress_on = scenario.checks.enabled(crate::check::liveness::PROGRESS, true);
        let min_ok = scenario.checks.ops_ok_min;
        let progress = crate::check::liveness::judge_progress(&history, &run, min_ok);
        if let (true, Some(result)) = (progress_on, progress) {
            checks.push(result);
        }
        let trace_error = self.trace.take().and_then(|t| t.finish().err());
        let disks = self.nodes.iter().map(|s| s.disk.stats()).collect();
        report::build(report::Parts {
            scenario,
            system: S::NAME,
            seed: self.seed,
            hash: self.hash,
            events: self.events,
            virtual_ns: end,
            history,
            shed,
            clients: finished.counts,
            load: finished.load,
            checks,
            fault_log: self.fault_log,
            faults_skipped: std::mem::take(&mut self.schedule.skipped),
            controls: self.control_log,
            network: self.network.stats(),
            wire_bytes_per_second: self.network.bytes_per_second().0.clone(),
            disks,
            trace_error,
            gauges: self.gauges,
        })
    }
}

/// A fact checker with the names of its checks the scenario switched off.
struct EnabledFacts {
    checker: Box<dyn FactChecker>,
    disabled: Vec<&'static str>,
}

/// The system's checks that the scenario leaves on: a fact checker runs when any of its
/// checks is on (the others' results and violations are dropped).
fn enabled_checks<A: Api>(
    checks: Checks<A>,
    scenario: &Scenario,
) -> (Vec<EnabledFacts>, Vec<Box<dyn HistoryChecker<A>>>) {
    let Checks { facts, history, off_by_default } = checks;
    let on = |name: &str| scenario.checks.enabled(name, !off_by_default.contains(&name));
    let facts = facts
        .into_iter()
        .filter_map(|checker| {
            let names = checker.names();
            let disabled: Vec<&'static str> = names.iter().copied().filter(|n| !on(n)).collect();
            (disabled.len() < names.len()).then_some(EnabledFacts { checker, disabled })
        })
        .collect();
    let history = history.into_iter().filter(|c| on(c.name())).collect();
    (facts, history)
}

/// Most groups the facts of one run may name (groups are small integers: shard ids).
pub const GROUPS_MAX: u32 = 1 << 16;

/// Per group (a shard, a replica set): its latest leader and the nodes that recorded facts in
/// it, for symbolic fault targets (`leader@G`, `random@G`). Indexed by group: a fact costs a
/// few array lookups, not a map search (facts are on Raft's hot path).
#[derive(Clone, Debug, Default)]
struct Groups {
    leaders: Vec<Option<NodeId>>,
    /// The node that most recently claimed leadership of any group, while it leads.
    latest: Option<NodeId>,
    /// Per group, one bit per node that recorded a fact in it.
    members: Vec<Vec<u64>>,
}

impl Groups {
    fn observe(&mut self, node: NodeId, group: Group, fact: &Fact) {
        assert!(group < GROUPS_MAX, "node n{node} named group {group}: at most {GROUPS_MAX}");
        let g = group as usize;
        if g >= self.members.len() {
            self.members.resize(g + 1, Vec::new());
            self.leaders.resize(g + 1, None);
        }
        let bits = &mut self.members[g];
        let word = node as usize / 64;
        if word >= bits.len() {
            bits.resize(word + 1, 0);
        }
        bits[word] |= 1 << (node % 64);
        match fact {
            Fact::Leader { .. } => {
                self.leaders[g] = Some(node);
                self.latest = Some(node);
            }
            Fact::SteppedDown { .. } if self.leaders[g] == Some(node) => {
                self.leaders[g] = None;
                if self.latest == Some(node) {
                    self.latest = None;
                }
            }
            _ => {}
        }
    }

    /// A node crashed: it leads nothing any more.
    fn crashed(&mut self, node: NodeId) {
        for leader in self.leaders.iter_mut().filter(|l| **l == Some(node)) {
            *leader = None;
        }
        if self.latest == Some(node) {
            self.latest = None;
        }
    }

    /// The leader of `group` (of any group: the latest claim).
    fn leader(&self, group: Option<Group>) -> Option<NodeId> {
        match group {
            Some(g) => self.leaders.get(g as usize).copied().flatten(),
            None => self.latest,
        }
    }

    /// True if `node` recorded a fact in `group`; `None` if no node did.
    fn is_member(&self, group: Group, node: NodeId) -> Option<bool> {
        let bits = self.members.get(group as usize).filter(|b| b.iter().any(|w| *w != 0))?;
        let word = bits.get(node as usize / 64).copied().unwrap_or(0);
        Some(word & (1 << (node % 64)) != 0)
    }
}

fn fmt_t(ns: Nanos) -> String {
    crate::engine::format_nanos(ns)
}

/// Faults as they were applied in a run, as an explicit schedule (symbolic targets resolved).
pub fn explicit_schedule(log: &[AppliedFault]) -> Vec<ScheduledFault> {
    log.iter()
        .map(|f| {
            let mut scheduled = ScheduledFault::at(f.at_ns, f.fault.clone());
            scheduled.plan.name = f.name.clone();
            scheduled
        })
        .collect()
}

#[cfg(test)]
mod degrade_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::FactChecker;
    use crate::node::DiskError;

    /// Writes a file, fsyncs it, reads it back asynchronously and states how much it read.
    struct ReadBack;

    impl Node for ReadBack {
        type Msg = ();
        type Timer = ();
        type Api = crate::node::KvApi;
        type Control = crate::node::NoControl;
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            ctx.disk().write("f", 0, b"12345");
            ctx.fsync("f");
        }
        fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, _: FsyncId) {
            ctx.read("f", 0, 100);
        }
        fn on_read(
            &mut self,
            ctx: &mut Context<'_, Self>,
            _: ReadId,
            d: Result<Vec<u8>, DiskError>,
        ) {
            let len = d.map_or(0, |d| d.len() as u64);
            let values = vec![len, ctx.now()];
            ctx.fact(Fact::Custom { name: "read".into(), values, text: String::new() });
        }
        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
        fn on_request(
            &mut self,
            _: &mut Context<'_, Self>,
            _: ClientId,
            _: Request<crate::node::Op>,
        ) {
        }
        fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
    }

    /// Fails (on purpose) at the first `read` fact, reporting what was read and when.
    struct ReadSeen;

    impl FactChecker for ReadSeen {
        fn names(&self) -> Vec<&'static str> {
            vec!["read_seen"]
        }
        fn on_fact(&mut self, _: Nanos, _: NodeId, _: Group, fact: &Fact) -> Result<(), Violation> {
            match fact {
                Fact::Custom { values, .. } => Err(Violation {
                    check: "read_seen".into(),
                    detail: format!("{} {}", values[0], values[1]),
                }),
                _ => Ok(()),
            }
        }
        fn results(&self) -> Vec<CheckResult> {
            Vec::new()
        }
    }

    struct ReadBackSystem;

    impl System for ReadBackSystem {
        const NAME: &'static str = "read-back";
        const ABOUT: &'static str = "test";
        type Node = ReadBack;
        type Config = ();
        fn config(_: &toml::Table) -> Result<(), String> {
            Ok(())
        }
        fn node(_: &(), _: NodeId, _: &Cluster) -> ReadBack {
            ReadBack
        }
        fn checks(_: &(), _: &Cluster) -> Checks<crate::node::KvApi> {
            Checks::new().fact(ReadSeen)
        }
    }

    #[test]
    fn async_disk_reads_complete_after_their_latency() {
        let text = "system = \"read-back\"\nnodes = 1\nduration = \"1s\"\n[clients]\ncount = 0\n\
                    [disk]\nfsync_min = \"1ms\"\nfsync_max = \"1ms\"\nread_min = \"3ms\"\n\
                    read_max = \"3ms\"\n";
        let scenario = Scenario::parse(text, "t.toml".as_ref(), &[]).unwrap();
        let out = Sim::<ReadBackSystem>::new(&scenario, (), 1, RunOptions::default()).run();
        let seen = out.report.checks.iter().find(|c| c.name == "read_seen").unwrap();
        // 5 bytes read, at local time 1 ms (fsync) + 3 ms (read) after boot.
        assert_eq!(seen.detail, "5 4000000");
    }

    #[test]
    fn queue_events_stay_small() {
        // The event queue moves entries on every push and pop: keep them at 16 bytes.
        assert!(std::mem::size_of::<super::Event>() <= 16);
    }
}

#[cfg(test)]
mod group_tests {
    use super::*;
    use crate::node::{KvApi, NoControl, Op};

    /// Node `n` belongs to group `n % 2` and claims its leadership at boot, one after another
    /// (node 0, then 1, ...): the last claim of each group stands.
    struct Claimer;

    impl Node for Claimer {
        type Msg = ();
        type Timer = ();
        type Api = KvApi;
        type Control = NoControl;
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            let delay = 1_000 * u64::from(ctx.id() + 1);
            ctx.set_timer(delay, ());
        }
        fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
            let group = ctx.id() % 2;
            ctx.fact_in(group, Fact::Leader { term: 1 });
        }
        fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
        fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<Op>) {}
    }

    struct Groups2;

    impl System for Groups2 {
        const NAME: &'static str = "groups";
        const ABOUT: &'static str = "test";
        type Node = Claimer;
        type Config = ();
        fn node(_: &(), _: NodeId, _: &Cluster) -> Claimer {
            Claimer
        }
        fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
            Checks::new()
        }
    }

    fn crashed(fault: &str, seed: u64) -> Vec<String> {
        let text = format!(
            "system = \"groups\"\nnodes = 6\nduration = \"1s\"\n[clients]\ncount = 0\n\
             [[faults]]\nat = \"100ms\"\nkind = \"crash\"\nnode = \"{fault}\"\n"
        );
        let scenario = Scenario::parse(&text, "g.toml".as_ref(), &[]).unwrap();
        let out = Sim::<Groups2>::new(&scenario, (), seed, RunOptions::default()).run();
        out.report.fault_log.iter().map(|f| f.description.clone()).collect()
    }

    #[test]
    fn a_system_without_settings_reads_an_empty_protocol_table() {
        assert!(Groups2::config(&toml::Table::new()).is_ok());
        let mut extra = toml::Table::new();
        extra.insert("x".into(), toml::Value::Integer(1));
        assert!(Groups2::config(&extra).is_err());
    }

    #[test]
    fn symbolic_targets_resolve_within_their_group() {
        // Group 0 is nodes 0, 2, 4 (4 claimed last); group 1 is 1, 3, 5.
        assert_eq!(crashed("leader@0", 1), ["crash n4"]);
        assert_eq!(crashed("leader@1", 1), ["crash n5"]);
        assert_eq!(crashed("leader", 1), ["crash n5"], "the latest claim of any group");
        for seed in 0..20 {
            let picked = crashed("random@1", seed);
            assert!(
                ["crash n1", "crash n3", "crash n5"].contains(&picked[0].as_str()),
                "{picked:?}"
            );
        }
    }
}
