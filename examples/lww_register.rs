//! Write your own protocol and run it under faults, in about a hundred lines.
//!
//! The protocol: a last-writer-wins replicated key-value store (DDIA ch. 5 and 8). Every node
//! accepts writes, stamps them with its *local* clock, applies them, and broadcasts them; a node
//! keeps the write with the highest stamp. Reads are served locally. It is available under
//! partitions, and it is not linearizable: reads go stale across a partition, and a node whose
//! clock runs behind loses its writes to older ones. The simulator finds that in a few seeds.
//!
//!     cargo run --release --example lww_register
use sim::check::linearizability::KvLinearizability;
use sim::check::Checks;
use sim::node::{apply_op, ClientId, Context, KvApi, Node, NodeId, Op, Reply, Request};
use sim::scenario::Scenario;
use sim::sim::{RunOptions, Sim};
use sim::system::{Cluster, System};
use std::collections::BTreeMap;

/// A stamped value: (local clock reading, writer) orders writes; the writer breaks ties.
type Stamp = (u64, NodeId);

/// One replica.
struct Lww {
    nodes: u32,
    store: BTreeMap<String, (Stamp, String)>,
}

/// A replicated write.
#[derive(Clone, Debug)]
struct Update {
    key: String,
    stamp: Stamp,
    value: String,
}

impl Lww {
    fn merge(&mut self, update: Update) {
        let newer = self.store.get(&update.key).is_none_or(|(stamp, _)| *stamp < update.stamp);
        if newer {
            self.store.insert(update.key, (update.stamp, update.value));
        }
    }
}

impl Node for Lww {
    type Msg = Update;
    type Timer = ();
    type Api = KvApi;
    type Control = sim::node::NoControl;

    fn on_start(&mut self, _: &mut Context<'_, Self>) {} // memory only: a crash loses all
    fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, update: Update) {
        self.merge(update);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, client: ClientId, request: Request<Op>) {
        let key = request.op.key().to_string();
        let current = self.store.get(&key).map(|(_, v)| v.clone());
        let reply = match apply_op(current.as_ref(), &request.op) {
            Err(()) => Reply::Fail { reason: "cas: value differs" },
            Ok((read, None)) => Reply::Ok { value: read },
            Ok((read, Some(value))) => {
                let update = Update { key, stamp: (ctx.now(), ctx.id()), value };
                let me = ctx.id();
                for peer in (0..self.nodes).filter(|&p| p != me) {
                    ctx.send(peer, update.clone());
                }
                self.merge(update);
                Reply::Ok { value: read }
            }
        };
        ctx.reply(client, request.id, reply);
    }
}

struct LwwSystem;

impl System for LwwSystem {
    const NAME: &'static str = "lww";
    const ABOUT: &'static str = "last-writer-wins replicated store";
    type Node = Lww;
    type Config = ();
    fn node(_: &(), _: NodeId, cluster: &Cluster) -> Lww {
        Lww { nodes: cluster.nodes, store: BTreeMap::new() }
    }
    fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
        Checks::new().history(KvLinearizability)
    }
}

const SCENARIO: &str = r#"
system = "lww"
nodes = 3
duration = "5s"
quiet = "1s"
[network]
latency = "2ms"
jitter = "3ms"
[clock]
offset_max = "20ms"       # clocks disagree by up to 20 ms: enough to reorder writes
[clients]
count = 3
keys = 2
[nemesis]
kinds = { partition = 1, isolate = 1 }
interval = "400ms"
duration = "300ms"
"#;

fn main() {
    let scenario = Scenario::parse(SCENARIO, "lww.toml".as_ref(), &[]).expect("valid scenario");
    for seed in 1..=5 {
        let run = Sim::<LwwSystem>::new(&scenario, (), seed, RunOptions::default()).run();
        let r = &run.report;
        println!("seed {seed}: {} ops ok, trace {}", r.ops.ok, r.trace_hash);
        for check in &r.checks {
            let verdict = if check.passed { "ok  " } else { "FAIL" };
            println!(
                "  {verdict} {:<16} {}",
                check.name,
                check.detail.lines().next().unwrap_or("")
            );
        }
    }
}
