//! Benchmarks. Each prints `bench NAME VALUE UNIT`, sometimes followed by a note in
//! parentheses; later issues add theirs here.
//!
//! Throughputs (higher is better) are medians of several repetitions in one process; the idle
//! cluster figures are one run's wall time and peak memory. None is asserted: speed targets
//! live here, not in tests.

use sim::check::Checks;
use sim::node::{ClientId, Context, KvApi, NoControl, Node, NodeId, Op, Request};
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
    type Api = KvApi;
    type Control = NoControl;
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
    type Api = KvApi;
    type Control = NoControl;
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
            fn node(_: &(), _: NodeId, cluster: &Cluster) -> $node {
                let build: fn(&Cluster) -> $node = $build;
                build(cluster)
            }
            fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
                Checks::new()
            }
        }
    };
}

/// Heartbeat period of the idle cluster's nodes.
const HEARTBEAT_NS: u64 = 100_000_000;
/// Every this many heartbeats, an idle node sends one message to a random peer.
const BEATS_PER_MESSAGE: u32 = 10;

/// A member of an idle cluster: a heartbeat timer every 100 ms, and a trickle of gossip (one
/// message a second to a random peer) so that the network's state is exercised too.
struct Idle {
    nodes: u32,
    /// Heartbeats since the last message.
    beats: u32,
}

impl Node for Idle {
    type Msg = ();
    type Timer = ();
    type Api = KvApi;
    type Control = NoControl;
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        // Random phases: the heartbeats of a real cluster do not fire in lockstep.
        let phase = ctx.rng().between(1, HEARTBEAT_NS);
        ctx.set_timer(phase, ());
    }
    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<Op>) {}
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        self.beats += 1;
        if self.beats == BEATS_PER_MESSAGE {
            self.beats = 0;
            let to = ctx.rng().below(u64::from(self.nodes)) as NodeId;
            ctx.send(to, ());
        }
        ctx.set_timer(HEARTBEAT_NS, ());
    }
}

bench_system!(TickerSystem, Ticker, |_| Ticker);
bench_system!(GossipSystem, Gossip, |c| Gossip { nodes: c.nodes });
bench_system!(IdleSystem, Idle, |c| Idle { nodes: c.nodes, beats: 0 });

fn scenario(duration: &str) -> Scenario {
    cluster(10, duration)
}

/// `nodes` nodes, no clients, no checks.
fn cluster(nodes: u32, duration: &str) -> Scenario {
    let text = format!(
        "system = \"bench\"\nnodes = {nodes}\nduration = \"{duration}\"\n\
         [clients]\ncount = 0\n[checks]\nliveness_bound = \"0s\"\n"
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

/// Transactions per second Elle's checker (`sim check --model list-append`) gets through on a
/// generated 100,000-transaction list-append history over 100 keys and 10 concurrent
/// processes, against strict serializability (real-time edges included): the median of three
/// runs, with the median wall time of one check.
fn elle_txns() -> Figure {
    use sim::check::elle::{check, generate, Model, Options, Validity};
    const TXNS: usize = 100_000;
    let ops = generate::list_append(1, TXNS, 100);
    let mut seconds: Vec<f64> = (0..3)
        .map(|_| {
            let start = Instant::now();
            let report = check(&ops, Model::ListAppend, &Options::default());
            let elapsed = start.elapsed().as_secs_f64();
            assert_eq!(report.valid, Validity::True, "generated histories are valid");
            elapsed
        })
        .collect();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[1];
    Figure { value: TXNS as f64 / median, note: format!("{median:.2} s per 100k transactions") }
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

/// A field of `/proc/self/status` in bytes (`VmHWM`: peak resident memory; `VmRSS`: now), on
/// Linux.
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let value = line.trim_start_matches(field).trim_start_matches(':');
    let kb: u64 = value.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Ten virtual minutes of an idle cluster of `nodes` nodes: the wall time, and a note with the
/// peak memory of the run and what it comes to per node. Peak memory is read from the kernel
/// (`VmHWM`), reset before the run where the kernel allows it (`/proc/self/clear_refs`).
///
/// Measured when it was written: 1.0-1.5 KB per node (1,000 nodes add ~1.3 MiB to the
/// process's ~4 MiB, 2,000 nodes ~2 MiB: linear), where the target allowed 1 MiB per node.
/// Before, the network kept ~45 bytes per pair of hosts: 41 KB per node at 1,000 nodes, 81 KB
/// at 2,000.
fn idle_nodes(nodes: u32) -> Figure {
    let scenario = cluster(nodes, "10m");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let before = proc_status_bytes("VmRSS");
    let start = Instant::now();
    let out = Sim::<IdleSystem>::new(&scenario, (), 1, RunOptions::default()).run();
    let seconds = start.elapsed().as_secs_f64();
    let peak = proc_status_bytes("VmHWM");
    let events = out.report.events as f64;
    let mut note = format!("{:.1}M events, {:.0} ev/s", events / 1e6, events / seconds);
    match (peak, before) {
        (Some(peak), Some(before)) => {
            let mib = |b: u64| b as f64 / f64::from(1 << 20);
            let per_node = peak.saturating_sub(before) / u64::from(nodes);
            let since = if reset { "" } else { " (process peak: could not reset)" };
            note += &format!(
                "; peak RSS {:.1} MiB{since}, {:.1} MiB above the start, {per_node} B/node",
                mib(peak),
                mib(peak.saturating_sub(before)),
            );
        }
        _ => note += "; peak memory unknown (no /proc/self/status)",
    }
    Figure { value: seconds, note }
}

fn idle_1000_nodes() -> Figure {
    idle_nodes(1000)
}

fn idle_2000_nodes() -> Figure {
    idle_nodes(2000)
}

fn quickstart_seeds() -> f64 {
    scenario_seeds("scenarios/quickstart.toml")
}

fn partition_seeds() -> f64 {
    scenario_seeds("scenarios/partition.toml")
}

/// The Bloom filter's false-positive rate at 10 bits per key, with every setting from 4 to 16
/// bits against the formula in the note.
fn storage_bloom_fpr() -> Figure {
    let points = crate::storage::bloom_points();
    let at = |bits| points.iter().find(|p| p.bits_per_key == bits).expect("measured");
    let note = points
        .iter()
        .map(|p| format!("{}b {:.4}/{:.4}", p.bits_per_key, p.measured, p.formula))
        .collect::<Vec<_>>()
        .join(", ");
    Figure { value: at(10).measured, note: format!("measured/formula: {note}") }
}

/// Write, read and space amplification of each engine under uniform and Zipf(0.99) keys.
fn storage_amplification() -> Figure {
    let points = crate::storage::amplification_points();
    let note = points
        .iter()
        .map(|p| {
            let m = &p.measurement;
            format!(
                "{} {}: write {:.2}, read {:.0} B/get, space {:.2}",
                p.engine,
                p.workload,
                m.write_amplification,
                m.read_bytes_per_get,
                m.space_amplification
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let leveled = &points[0].measurement;
    Figure { value: leveled.write_amplification, note: format!("leveled uniform first; {note}") }
}

/// The storage bench workload (uniform keys) as operations per wall second of engine `index`
/// of [`crate::storage::setups`], on the simulated disk.
fn storage_engine_ops(index: usize) -> f64 {
    let (_, config) = crate::storage::setups().swap_remove(index);
    let workload = &crate::storage::workloads()[0];
    median_rate(3, || {
        sim::storage::experiment::measure(&config, workload, 1).expect("fault-free").ops
    })
}

/// The same operations against fjall (an LSM-tree embedded store) in a tmpfs directory, a
/// `persist(SyncAll)` per 16 writes as the simulated engines' group commit.
fn fjall_ops() -> Figure {
    use sim::storage::experiment::{key_bytes, KeyChooser};
    let workload = crate::storage::workloads().swap_remove(0);
    let base = Path::new("/dev/shm");
    let base = if base.is_dir() { base.to_path_buf() } else { std::env::temp_dir() };
    let dir = base.join(format!("sim-bench-fjall-{}", std::process::id()));
    let value = vec![0x5au8; workload.value_bytes];
    let rate = median_rate(3, || {
        let _ = std::fs::remove_dir_all(&dir);
        let db = fjall::Database::builder(&dir).open().expect("fjall opens");
        let items = db.keyspace("items", fjall::KeyspaceCreateOptions::default).expect("keyspace");
        let chooser = KeyChooser::new(workload.keys, workload.distribution);
        let mut rng = sim::node::SimRng::new(1, 0x5707);
        let mut unsynced = 0;
        for _ in 0..workload.ops {
            let key = key_bytes(chooser.next(&mut rng));
            let roll = rng.below(100) as u32;
            let (put, delete) = (workload.put_percent, workload.delete_percent);
            if roll < put {
                items.insert(&key, &value).expect("insert");
            } else if roll < put + delete {
                items.remove(&key).expect("remove");
            } else if roll < put + delete + workload.get_percent {
                std::hint::black_box(items.get(&key).expect("get"));
                continue;
            } else {
                let rows = items.range(key.clone()..).take(workload.scan_rows).count();
                std::hint::black_box(rows);
                continue;
            }
            unsynced += 1;
            if unsynced >= workload.writes_per_sync {
                db.persist(fjall::PersistMode::SyncAll).expect("persist");
                unsynced = 0;
            }
        }
        db.persist(fjall::PersistMode::SyncAll).expect("persist");
        workload.ops
    });
    let _ = std::fs::remove_dir_all(&dir);
    Figure { value: rate, note: format!("fjall 3 on {}", base.display()) }
}

/// What a benchmark measured, and a note to print after it (empty: none).
struct Figure {
    value: f64,
    note: String,
}

impl From<f64> for Figure {
    fn from(value: f64) -> Self {
        Figure { value, note: String::new() }
    }
}

/// Round trips per second (encode, then decode) of `f`: the median of five runs of 20,000.
fn round_trips(f: impl Fn() -> usize) -> f64 {
    median_rate(5, || {
        let mut sink = 0;
        for _ in 0..20_000 {
            sink += f();
        }
        std::hint::black_box(sink);
        20_000
    })
}

/// The schema encoding's round trips of an Append with 8 puts, against JSON and postcard of
/// the same fields (`cargo xtask encoding` has the sizes).
fn encoding_round_trips() -> Figure {
    let msg = crate::encoding::append(8);
    let schema = round_trips(|| crate::encoding::round_trip_schema(&msg));
    let form = crate::encoding::serde_form(&msg);
    let json = round_trips(|| crate::encoding::round_trip_json(&form));
    let postcard = round_trips(|| crate::encoding::round_trip_postcard(&form));
    Figure {
        value: schema,
        note: format!(
            "Append with 8 puts; JSON {json:.0}/s ({:.2}x), postcard {postcard:.0}/s ({:.2}x)",
            schema / json,
            schema / postcard
        ),
    }
}

/// A log record's round trips through the schema's direct path.
fn encoding_record_round_trips() -> f64 {
    let record = sim::protocols::raft::storage::Record {
        index: 1042,
        digest: 7,
        entry: crate::encoding::put(1042),
    };
    round_trips(|| crate::encoding::round_trip_record(&record))
}

/// A benchmark: its name, its unit, and the function that measures it.
type Bench = (&'static str, &'static str, fn() -> Figure);

/// `cargo xtask bench [NAME...]`: runs the named benchmarks, or all.
pub fn run(names: &[String]) -> ExitCode {
    let benches: &[Bench] = &[
        ("kernel_events", "ev/s", || kernel_events().into()),
        ("kernel_messages", "msg/s", || kernel_messages().into()),
        ("checker_ops", "ops/s", || checker_ops().into()),
        ("elle_txns", "txn/s", elle_txns),
        ("quickstart_seeds", "seeds/s", || quickstart_seeds().into()),
        ("partition_seeds", "seeds/s", || partition_seeds().into()),
        ("idle_1000_nodes", "s", idle_1000_nodes),
        ("idle_2000_nodes", "s", idle_2000_nodes),
        ("storage_bloom_fpr", "fp/probe", storage_bloom_fpr),
        ("storage_amplification", "x", storage_amplification),
        ("storage_lsm_ops", "ops/s", || storage_engine_ops(0).into()),
        ("storage_lsm_tiered_ops", "ops/s", || storage_engine_ops(1).into()),
        ("storage_bitcask_ops", "ops/s", || storage_engine_ops(2).into()),
        ("storage_fjall_ops", "ops/s", fjall_ops),
        ("encoding_round_trips", "msg/s", encoding_round_trips),
        ("encoding_record_round_trips", "rec/s", || encoding_record_round_trips().into()),
    ];
    for (name, unit, f) in benches {
        if names.is_empty() || names.iter().any(|n| n == name) {
            let Figure { value, note } = f();
            // Whole numbers for large rates; two decimals where they matter (seeds/s).
            let value = if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.2}") };
            if note.is_empty() {
                println!("bench {name} {value} {unit}");
            } else {
                println!("bench {name} {value} {unit} ({note})");
            }
        }
    }
    ExitCode::SUCCESS
}
