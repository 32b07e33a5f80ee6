//! The service system under whole scenarios: the naive retry storm never recovers from its
//! slowdown, deadline propagation (or a queue sized to the timeout) cures it, and a run
//! repeats bit for bit.

use sim::check::CheckResult;
use sim::protocols::service::ServiceSystem;
use sim::scenario::Scenario;
use sim::sim::RunOutput;
use sim::testing::{load_with, run};

fn scenario(name: &str, sets: &[(&str, &str)]) -> Scenario {
    load_with(format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR")), sets)
}

fn goodput(out: &RunOutput) -> &CheckResult {
    out.report.checks.iter().find(|c| c.name == "goodput_recovery").expect("the check ran")
}

#[test]
fn the_naive_storm_never_recovers() {
    let s = scenario("retry-storm-naive", &[]);
    for seed in 0..3 {
        let out = run::<ServiceSystem>(&s, seed);
        let g = goodput(&out);
        assert!(!g.passed && g.judged, "seed {seed}: {}", g.detail);
        assert!(g.detail.contains("never recovered"), "seed {seed}: {}", g.detail);
        assert!(out.report.passed, "seed {seed}: the expected failure, and nothing else");
        let queue = out.gauges.get("queue");
        assert!(!queue.is_empty(), "the node reports its queue");
    }
}

#[test]
fn deadline_propagation_cures_the_storm() {
    // Without the expectation: the same run must now hold every check.
    let cured = [("protocol.deadline_propagation", "true"), ("expect.fails", "[]")];
    let s = scenario("retry-storm-naive", &cured);
    for seed in 0..3 {
        let out = run::<ServiceSystem>(&s, seed);
        let g = goodput(&out);
        assert!(g.passed && g.judged, "seed {seed}: {}", g.detail);
        assert!(out.report.passed, "seed {seed}: {:#?}", out.report.checks);
    }
}

#[test]
fn a_queue_sized_to_the_timeout_avoids_the_storm() {
    let s = scenario("service-baseline", &[]);
    for seed in 0..3 {
        let out = run::<ServiceSystem>(&s, seed);
        let g = goodput(&out);
        assert!(g.passed && g.judged, "seed {seed}: {}", g.detail);
        assert!(out.report.passed, "seed {seed}: {:#?}", out.report.checks);
    }
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let s = scenario("retry-storm-naive", &[]);
    let a = run::<ServiceSystem>(&s, 7);
    let b = run::<ServiceSystem>(&s, 7);
    assert_eq!(a.report.trace_hash, b.report.trace_hash);
    assert_ne!(a.report.trace_hash, run::<ServiceSystem>(&s, 8).report.trace_hash);
}
