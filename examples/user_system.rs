//! A system written outside sim, with its own client API and its own history checker, run
//! under the whole `sim` command line:
//!
//!     cargo run --release --example user_system -- run examples/user_system.toml --seed 1
//!     cargo run --release --example user_system -- sweep examples/user_system.toml --seeds 0..100
//!
//! The system: a grow-only counter (a G-Counter CRDT, DDIA ch. 5). Every node serves `add` and
//! `read`. A node counts its own adds in its own slot, makes the slot durable (write + fsync)
//! before it acknowledges, and gossips all slots to its peers; a node merges what it hears by
//! taking the larger value per slot. It is available under partitions and converges when they
//! heal, but a read can miss adds acknowledged elsewhere: it is not linearizable.
//!
//! Its checks: `counter_converges` (once faults are repaired and the replicas have gossiped,
//! every read sees every add acknowledged before it began: nothing acknowledged is lost), and
//! the strict `linearizability` against a counter model, off by default:
//! `--set checks.linearizability=true` shows the stale reads. The bug knob
//! `counter.merge_overwrites` merges gossip by overwriting each slot instead of taking the
//! maximum: a stale message then rolls a slot back and acknowledged adds are lost, which
//! `counter_converges` catches.

use serde::{Deserialize, Serialize};
use sim::api::{Api, Draw, EdnOp};
use sim::check::model::{Linearizable, Model};
use sim::check::{CheckResult, Checks, HistoryChecker, RunContext};
use sim::node::{ClientId, Context, FsyncId, NoControl, Node, NodeId, Reply, Request};
use sim::system::{Cluster, System};
use sim::workload::{Outcome, TypedHistory};

/// The counter's operations: the system's own client API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum CounterOp {
    /// Add `by` to the counter.
    Add { by: u64 },
    /// Read the counter.
    Read,
}

/// The counter API: an `add` returns nothing (0), a `read` the value it saw.
pub struct CounterApi;

impl Api for CounterApi {
    type Op = CounterOp;
    type Res = u64;
    const OPS: &'static [(&'static str, u32)] = &[("add", 1), ("read", 1)];

    fn name(op: &CounterOp) -> &'static str {
        match op {
            CounterOp::Add { .. } => "add",
            CounterOp::Read => "read",
        }
    }

    fn generate(weights: &[u32], draw: &mut Draw<'_>) -> CounterOp {
        match draw.rng.weighted(weights) {
            Some(0) => CounterOp::Add { by: 1 + draw.rng.below(5) },
            _ => CounterOp::Read,
        }
    }

    fn describe(op: &CounterOp) -> String {
        match op {
            CounterOp::Add { by } => format!("add {by}"),
            CounterOp::Read => "read".into(),
        }
    }

    fn json(op: &CounterOp, result: Option<&u64>) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(op) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        if let (CounterOp::Read, Some(value)) = (op, result) {
            map.insert("value".into(), (*value).into());
        }
        map
    }

    /// Maelstrom's g-counter shapes: `{:f :add, :value 3}`, `{:f :read, :value 12}`.
    fn edn(op: &CounterOp, result: Option<&u64>) -> EdnOp {
        let (invoke, complete) = match op {
            CounterOp::Add { by } => (by.to_string(), by.to_string()),
            CounterOp::Read => ("nil".into(), result.map_or("nil".into(), u64::to_string)),
        };
        EdnOp { f: Self::name(op).into(), invoke, complete, key: None }
    }
}

/// Messages between replicas: every slot, for a max-merge.
#[derive(Clone, Debug)]
pub struct Slots(Vec<u64>);

/// Timers: gossip to the peers; flush (group commit) the slot to disk.
#[derive(Clone, Copy, Debug)]
pub enum Timer {
    Gossip,
    Flush,
}

/// Settings (`[protocol]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CounterConfig {
    /// How often a node sends its slots to every peer (`gossip_interval`, default 50ms).
    #[serde(rename = "gossip_interval", with = "sim::node::duration_ns")]
    pub gossip_interval_ns: u64,
    /// Group commit: adds are written at once and fsynced together this often
    /// (`flush_interval`, default 10ms); they are acknowledged when their fsync completes.
    #[serde(rename = "flush_interval", with = "sim::node::duration_ns")]
    pub flush_interval_ns: u64,
    /// Bug knobs: `counter.merge_overwrites`.
    pub bugs: Vec<String>,
}

impl Default for CounterConfig {
    fn default() -> Self {
        CounterConfig {
            gossip_interval_ns: 50_000_000,
            flush_interval_ns: 10_000_000,
            bugs: Vec::new(),
        }
    }
}

const SLOT_FILE: &str = "slot";
const BUG_MERGE_OVERWRITES: &str = "counter.merge_overwrites";

/// One replica.
pub struct Counter {
    id: NodeId,
    slots: Vec<u64>,
    config: CounterConfig,
    /// Adds written since the last flush began, waiting for the next one.
    unflushed: Vec<(ClientId, sim::node::RequestId)>,
    /// Adds waiting for an fsync in flight: (fsync, client, request).
    pending: Vec<(FsyncId, ClientId, sim::node::RequestId)>,
}

impl Node for Counter {
    type Msg = Slots;
    type Timer = Timer;
    type Api = CounterApi;
    type Control = NoControl;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        // Recover this node's own slot; the others come back by gossip.
        if let Ok(bytes) = ctx.disk().read_all(SLOT_FILE) {
            if let Ok(raw) = <[u8; 8]>::try_from(bytes.as_slice()) {
                self.slots[self.id as usize] = u64::from_le_bytes(raw);
            }
        }
        ctx.set_timer(self.config.gossip_interval_ns, Timer::Gossip);
        ctx.set_timer(self.config.flush_interval_ns, Timer::Flush);
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, Slots(theirs): Slots) {
        let overwrite = self.config.bugs.iter().any(|b| b == BUG_MERGE_OVERWRITES);
        for (mine, theirs) in self.slots.iter_mut().zip(theirs) {
            // The join of a G-Counter is the maximum per slot; overwriting is not a join.
            *mine = if overwrite { theirs } else { (*mine).max(theirs) };
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, r: Request<CounterOp>) {
        match r.op {
            CounterOp::Read => {
                ctx.reply(client, r.id, Reply::Ok { value: self.slots.iter().sum() })
            }
            CounterOp::Add { by } => {
                // Retries reuse the request id, but a counter without sessions applies them
                // again: the client sees `info` on a timeout, and the bounds allow for it.
                let me = self.id as usize;
                self.slots[me] += by;
                ctx.disk().write(SLOT_FILE, 0, &self.slots[me].to_le_bytes());
                self.unflushed.push((client, r.id));
            }
        }
    }

    fn on_fsync(&mut self, ctx: &mut Context<'_, Self>, fsync: FsyncId) {
        // An fsync covers every write before it, so it acknowledges every earlier add too.
        let Some(last) = self.pending.iter().rposition(|(id, ..)| *id == fsync) else { return };
        for (_, client, request) in self.pending.drain(..=last) {
            ctx.reply(client, request, Reply::Ok { value: 0 });
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Gossip => {
                let me = ctx.id();
                for peer in (0..self.slots.len() as NodeId).filter(|&p| p != me) {
                    ctx.send(peer, Slots(self.slots.clone()));
                }
                ctx.set_timer(self.config.gossip_interval_ns, Timer::Gossip);
            }
            Timer::Flush => {
                if !self.unflushed.is_empty() {
                    let fsync = ctx.fsync(SLOT_FILE);
                    let waiting = self.unflushed.drain(..).map(|(c, r)| (fsync, c, r));
                    self.pending.extend(waiting);
                }
                ctx.set_timer(self.config.flush_interval_ns, Timer::Flush);
            }
        }
    }
}

/// Time the replicas get after the quiet period begins to exchange what they missed.
const SETTLE_NS: u64 = 1_000_000_000;

/// Convergence without loss: once every fault is repaired and the replicas had time to gossip
/// (`SETTLE_NS`), every read sees at least every add acknowledged before it began. (Before
/// that, a replica may not have heard of adds made elsewhere: stale reads are allowed. Adds
/// are at-least-once, so a retried add may count twice; reads are not bounded above.)
pub struct CounterConverges;

impl HistoryChecker<CounterApi> for CounterConverges {
    fn name(&self) -> &'static str {
        "counter_converges"
    }

    fn check(&self, history: &TypedHistory<CounterApi>, run: &RunContext) -> CheckResult {
        let Some(quiet) = run.quiet_start else {
            return CheckResult::not_judged(
                self.name(),
                "not judged: the scenario has no quiet period",
            );
        };
        let settled = quiet + SETTLE_NS;
        let mut acked: Vec<(u64, u64)> = history
            .ops
            .iter()
            .filter_map(|r| match r.op {
                CounterOp::Add { by } if r.outcome == Outcome::Ok => Some((r.complete_ns, by)),
                _ => None,
            })
            .collect();
        acked.sort_unstable();
        let mut reads = 0;
        for r in &history.ops {
            let (CounterOp::Read, Outcome::Ok, Some(&value)) = (r.op, r.outcome, r.result.as_ref())
            else {
                continue;
            };
            if r.invoke_ns < settled {
                continue;
            }
            reads += 1;
            let lower: u64 =
                acked.iter().take_while(|(at, _)| *at < r.invoke_ns).map(|(_, by)| by).sum();
            if value < lower {
                return CheckResult::fail(
                    self.name(),
                    format!(
                        "read #{} by client {} at {}ns returned {value}, but adds acknowledged \
                         before it began sum to {lower}: acknowledged adds were lost",
                        r.id, r.client, r.invoke_ns
                    ),
                );
            }
        }
        if reads == 0 {
            return CheckResult::not_judged(
                self.name(),
                "not judged: no read after the replicas settled",
            );
        }
        CheckResult::pass(self.name(), format!("{reads} settled reads saw every acknowledged add"))
    }
}

/// The counter as a sequential specification, for the strict check.
pub struct CounterModel;

impl Model for CounterModel {
    type Op = CounterOp;
    type Res = u64;
    type State = u64;
    fn init(&self) -> u64 {
        0
    }
    fn step(&self, state: &u64, op: &CounterOp, res: Option<&u64>) -> Option<u64> {
        match op {
            CounterOp::Add { by } => Some(state + by),
            CounterOp::Read => res.is_none_or(|v| v == state).then_some(*state),
        }
    }
}

/// The counter packaged for scenarios: `system = "counter"`.
pub struct CounterSystem;

impl System for CounterSystem {
    const NAME: &'static str = "counter";
    const ABOUT: &'static str = "grow-only counter CRDT: durable own slot, gossip, max-merge";
    type Node = Counter;
    type Config = CounterConfig;

    fn validate(config: &CounterConfig) -> Result<(), String> {
        if config.gossip_interval_ns == 0 || config.flush_interval_ns == 0 {
            return Err("protocol.gossip_interval: intervals must be more than 0".into());
        }
        match config.bugs.iter().find(|b| *b != BUG_MERGE_OVERWRITES) {
            Some(b) => {
                Err(format!("protocol.bugs: unknown knob `{b}` (known: {BUG_MERGE_OVERWRITES})"))
            }
            None => Ok(()),
        }
    }

    fn node(config: &CounterConfig, id: NodeId, cluster: &Cluster) -> Counter {
        let slots = vec![0; cluster.nodes as usize];
        Counter { id, slots, config: config.clone(), unflushed: Vec::new(), pending: Vec::new() }
    }

    fn checks(_: &CounterConfig, _: &Cluster) -> Checks<CounterApi> {
        Checks::new()
            .history(CounterConverges)
            .history_off_by_default(Linearizable::<CounterApi, _>::new(CounterModel))
    }
}

fn main() -> std::process::ExitCode {
    sim::cli::main_with(&[sim::system::<CounterSystem>()])
}
