//! Benchmarks. Each prints `bench NAME VALUE UNIT`; later issues add theirs here.
//!
//! Figures are medians of several repetitions in one process; they are throughputs (higher is
//! better), never asserted: speed targets live here, not in tests.

use sim::check::Checks;
use sim::node::{ClientId, Context, KvApi, Node, NodeId, Op, Request};
use sim::scenario::Scenario;
use sim::sim::{RunOptions, Sim};
use sim::system::{Cluster, System};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

/// Pending timers per node in the kernel benchmark (10 nodes: ~1000 pending events).
const TIMERS_PER_NODE: u64 = 100;

/// A node that keeps `TIMERS_PER_NODE` timers pending: each firing sets the next one.
struct Ticker;

impl Node for Ticker {
    type Msg = ();
    type Timer = ();
    type Api = sim::node::KvApi;
    type Control = sim::node::NoControl;
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        for _ in 0..TIMERS_PER_NODE {
            let delay = ctx.rng().between(100_000, 10_000_000);
            ctx.set_timer(delay, ());
        }
    }
    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<Op>) {}
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        let delay = ctx.rng().between(100_000, 10_000_000);
        ctx.set_timer(delay, ());
    }
}

/// A node that answers every message by sending one to a random peer: messages in flight stay
/// constant, every event crosses the network model.
struct Gossip {
    nodes: u32,
}

impl Node for Gossip {
    type Msg = u64;
    type Timer = ();
    type Api = sim::node::KvApi;
    type Control = sim::node::NoControl;
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        for i in 0..TIMERS_PER_NODE {
            let to = ctx.rng().below(u64::from(self.nodes)) as NodeId;
            ctx.send(to, i);
        }
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _: NodeId, msg: u64) {
        let to = ctx.rng().below(u64::from(self.nodes)) as NodeId;
        ctx.send(to, msg + 1);
    }
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<Op>) {}
    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
}

macro_rules! bench_system {
    ($name:ident, $node:ty, $build:expr) => {
        struct $name;
        impl System for $name {
            const NAME: &'static str = stringify!($name);
            const ABOUT: &'static str = "benchmark";
            type Node = $node;
            type Config = ();
            fn config(_: &toml::Table) -> Result<(), String> {
                Ok(())
            }
            fn node(_: &(), _: NodeId, cluster: &Cluster) -> $node {
                let build: fn(&Cluster) -> $node = $build;
                build(cluster)
            }
            fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
                Checks::default()
            }
        }
    };
}

bench_system!(TickerSystem, Ticker, |_| Ticker);
bench_system!(GossipSystem, Gossip, |c| Gossip { nodes: c.nodes });

fn scenario(duration: &str) -> Scenario {
    let text = format!(
        "system = \"bench\"\nnodes = 10\nduration = \"{duration}\"\n\
         [clients]\ncount = 0\n[checks]\nlinearizability = false\nliveness_bound = \"0s\"\n"
    );
    Scenario::parse(&text, Path::new("bench.toml"), &[]).expect("bench scenario parses")
}

/// Runs `f` `repeat` times and returns the median of `units / seconds`.
fn median_rate(repeat: usize, mut f: impl FnMut() -> u64) -> f64 {
    let mut rates: Vec<f64> = (0..repeat)
        .map(|_| {
            let start = Instant::now();
            let units = f();
            units as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn kernel_events() -> f64 {
    // ~1000 pending timers with a mean delay of ~5 ms: 200k events per virtual second.
    let scenario = scenario("50s");
    median_rate(5, || {
        let out = Sim::<TickerSystem>::new(&scenario, (), 1, RunOptions::default()).run();
        out.report.events
    })
}

fn kernel_messages() -> f64 {
    let scenario = scenario("5s");
    median_rate(5, || {
        let out = Sim::<GossipSystem>::new(&scenario, (), 1, RunOptions::default()).run();
        out.report.network.delivered
    })
}

/// Operations per second the linearizability checker gets through on a generated 10,000-operation
/// history over 10 keys with 8 concurrent clients (a different history each repetition).
fn checker_ops() -> f64 {
    use sim::check::linearizability::{check_history, generate_history, ModelKind};
    let histories: Vec<_> = (0..5).map(|seed| generate_history(10_000, 10, 8, seed)).collect();
    let mut next = histories.iter();
    median_rate(5, || {
        let history = next.next().expect("one history per repetition");
        let report = check_history(history, ModelKind::Kv, None);
        assert!(report.passed(), "generated histories are linearizable");
        history.ops.len() as u64
    })
}

/// Seeds per second of a scenario on one thread, checks included.
fn scenario_seeds(file: &str) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let scenario = Scenario::load(&path, &[]).expect("scenario loads");
    let seeds = 10;
    let start = Instant::now();
    for seed in 0..seeds {
        let out = sim::systems::builtin()
            .run(&scenario, &path, seed, RunOptions::default())
            .expect("runs");
        assert!(out.report.passed, "{file} seed {seed} failed");
    }
    seeds as f64 / start.elapsed().as_secs_f64()
}

fn quickstart_seeds() -> f64 {
    scenario_seeds("scenarios/quickstart.toml")
}

fn partition_seeds() -> f64 {
    scenario_seeds("scenarios/partition.toml")
}

/// A benchmark: its name, its unit, and the function that measures it.
type Bench = (&'static str, &'static str, fn() -> f64);

/// `cargo xtask bench [NAME...]`: runs the named benchmarks, or all.
pub fn run(names: &[String]) -> ExitCode {
    let benches: &[Bench] = &[
        ("kernel_events", "ev/s", kernel_events),
        ("kernel_messages", "msg/s", kernel_messages),
        ("checker_ops", "ops/s", checker_ops),
        ("quickstart_seeds", "seeds/s", quickstart_seeds),
        ("partition_seeds", "seeds/s", partition_seeds),
    ];
    for (name, unit, f) in benches {
        if names.is_empty() || names.iter().any(|n| n == name) {
            let value = f();
            // Whole numbers for large rates; two decimals where they matter (seeds/s).
            if value >= 100.0 {
                println!("bench {name} {value:.0} {unit}");
            } else {
                println!("bench {name} {value:.2} {unit}");
            }
        }
    }
    ExitCode::SUCCESS
}
