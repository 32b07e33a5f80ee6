//! Determinism: the same scenario and seed give the same run, bit for bit, whatever else runs
//! at the same time; different seeds give different runs.
#![allow(clippy::disallowed_methods)] // std::thread::scope: running seeds side by side on purpose

use sim::scenario::Scenario;
use sim::sim::RunOptions;
use sim::testing::TraceBuffer;
use std::path::Path;

fn scenario() -> (Scenario, &'static Path) {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml"));
    // Shorter than the real thing, so the test is quick in debug builds; same faults and nemesis.
    let s = Scenario::load(path, &["duration=\"12s\"".into(), "quiet=\"2s\"".into()]).unwrap();
    (s, path)
}

fn hash(scenario: &Scenario, path: &Path, seed: u64) -> String {
    sim::systems::builtin()
        .run(scenario, path, seed, RunOptions::default())
        .unwrap()
        .report
        .trace_hash
}

#[test]
fn same_seed_same_hash_and_same_full_trace() {
    let (scenario, path) = scenario();
    let traced = |seed| {
        let buffer = TraceBuffer::default();
        let options = buffer.options();
        let out = sim::systems::builtin().run(&scenario, path, seed, options).unwrap();
        let bytes = buffer.bytes();
        (out.report.trace_hash, bytes, out.history)
    };
    let (h1, t1, history1) = traced(7);
    let (h2, t2, history2) = traced(7);
    assert_eq!(h1, h2);
    assert!(t1.len() > 10_000, "a real trace was written");
    assert!(t1 == t2, "full traces differ for the same seed");
    assert_eq!(history1, history2);
    // Tracing does not change the run.
    assert_eq!(hash(&scenario, path, 7), h1);
}

#[test]
fn different_seeds_give_different_runs() {
    let (scenario, path) = scenario();
    let hashes: std::collections::BTreeSet<String> =
        (0..6).map(|seed| hash(&scenario, path, seed)).collect();
    assert_eq!(hashes.len(), 6);
}

#[test]
fn parallel_runs_match_sequential_runs() {
    let (scenario, path) = scenario();
    let seeds: Vec<u64> = (10..16).collect();
    let sequential: Vec<String> = seeds.iter().map(|&s| hash(&scenario, path, s)).collect();
    let parallel: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&s| {
                let scenario = &scenario;
                scope.spawn(move || hash(scenario, path, s))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sequential, parallel);
}

#[test]
fn degraded_links_replay_bit_for_bit() {
    // Every mode of a link-degrade in use at once: jitter after FIFO order, reordering,
    // duplicates, long delays, replies only, one direction, standing through the quiet period.
    let text = "system = \"raft\"\nnodes = 3\nduration = \"6s\"\nquiet = \"2s\"\n\
        [[faults]]\nat = \"1s\"\nkind = \"link-degrade\"\njitter = \"3ms\"\n\
        jitter_distribution = \"exponential\"\nreorder = 0.1\nduplicate = 0.05\n\
        long_delay_fraction = 0.02\nlong_delay = \"200ms..1s\"\nthrough_quiet = true\n\
        [[faults]]\nat = \"2s\"\nkind = \"link-degrade\"\na = [0]\nb = [1, 2]\n\
        direction = \"a-to-b\"\nmessages = \"replies\"\nlatency = \"10ms\"\nloss = 0.1\n";
    let path = Path::new("degraded.toml");
    let scenario = Scenario::parse(text, path, &[]).unwrap();
    let traced = |scenario: &Scenario, seed| {
        let buffer = TraceBuffer::default();
        let options = buffer.options();
        let out = sim::systems::builtin().run(scenario, path, seed, options).unwrap();
        let bytes = buffer.bytes();
        (out.report, bytes)
    };
    let (r1, t1) = traced(&scenario, 5);
    let (r2, t2) = traced(&scenario, 5);
    assert_eq!(r1.trace_hash, r2.trace_hash);
    assert!(t1 == t2, "full traces differ for the same seed");
    assert!(r1.network.long_delayed > 0 && r1.network.duplicated > 0, "{:?}", r1.network);
    // The modes change the run: without them, another trace.
    let plain = Scenario { faults: Vec::new(), ..scenario.clone() };
    assert_ne!(traced(&plain, 5).0.trace_hash, r1.trace_hash);
    // The written scenario reads back to the same scenario, and the same run.
    let again = Scenario::parse(&scenario.to_toml(), path, &[]).unwrap();
    assert_eq!(again, scenario);
    assert_eq!(traced(&again, 5).0.trace_hash, r1.trace_hash);
}
