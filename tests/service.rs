//! The service system under whole scenarios: the naive retry storm never recovers from its
//! slowdown; deadline propagation (or a queue sized to the timeout) cures it on the server, and
//! the client's policies cure it on the client (a breaker, or a retry budget, but not backoff
//! alone); a breaker that never half-opens is an outage; and a run repeats bit for bit.

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

fn check<'a>(out: &'a RunOutput, name: &str) -> &'a CheckResult {
    out.report.checks.iter().find(|c| c.name == name).expect("the check ran")
}

#[test]
fn the_clients_policies_cure_the_storm() {
    let s = scenario("retry-storm-cured", &[]);
    let naive = scenario("retry-storm-naive", &[]);
    for seed in 0..5 {
        let out = run::<ServiceSystem>(&s, seed);
        let g = goodput(&out);
        assert!(g.passed && g.judged, "seed {seed}: {}", g.detail);
        assert!(out.report.passed, "seed {seed}: {:#?}", out.report.checks);
        let c = out.report.clients;
        assert!(c.policies.breaker_opened >= 1, "seed {seed}: the slowdown trips the breaker");
        assert!(c.policies.breaker_rejected > 0 && c.retries > 0, "seed {seed}: {c:?}");
        let breaker = out.gauges.get("breaker");
        assert_eq!(breaker.len(), 1, "one breaker, the clients'");
        assert_eq!(breaker[0].points.last().map(|p| p.1), Some(0), "it closed again");
        let storm = run::<ServiceSystem>(&naive, seed).report.clients;
        assert!(
            storm.retries > 20 * c.retries,
            "seed {seed}: {} against {}",
            storm.retries,
            c.retries
        );
    }
}

#[test]
fn each_cure_alone_backoff_does_not_suffice() {
    // Backoff with full jitter and 4 attempts still sends ~3 retries per timed-out call: the
    // queue stays full. A budget caps retries at a tenth of the calls; a breaker stops them.
    let cured = scenario("retry-storm-cured", &[]);
    let mut backoff = cured.clone();
    backoff.clients.breaker = None;
    backoff.clients.retry.as_mut().expect("a retry policy").budget = None;
    let mut breaker = cured.clone();
    breaker.clients.retry = None;
    for seed in 0..3 {
        let g = goodput(&run::<ServiceSystem>(&backoff, seed)).clone();
        assert!(g.judged && !g.passed, "seed {seed}, backoff alone: {}", g.detail);
        let g = goodput(&run::<ServiceSystem>(&breaker, seed)).clone();
        assert!(g.judged && g.passed, "seed {seed}, breaker alone: {}", g.detail);
    }
}

#[test]
fn a_breaker_that_never_half_opens_is_an_outage() {
    let s = scenario("retry-storm-breaker-stuck", &[]);
    for seed in 0..3 {
        let out = run::<ServiceSystem>(&s, seed);
        for name in ["goodput_recovery", "liveness"] {
            let c = check(&out, name);
            assert!(c.judged && !c.passed, "seed {seed}: {name}: {}", c.detail);
        }
        let breaker = &out.gauges.get("breaker")[0];
        assert_eq!(breaker.points.last().map(|p| p.1), Some(1), "open to the end");
    }
    // The same run without the knob holds.
    let fixed = scenario("retry-storm-breaker-stuck", &[("clients.bugs", "[]")]);
    let out = run::<ServiceSystem>(&fixed, 0);
    assert!(out.report.passed, "{:#?}", out.report.checks);
}
