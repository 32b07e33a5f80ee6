//! The txn system under whole scenarios: serializable runs pass and repeat bit for bit,
//! snapshot isolation shows write skew and nothing worse, SSI on every shard is not
//! serializable across shards while strict 2PL is, and every bug knob is caught by the
//! check that should catch it (and the same scenario without it holds).

use sim::check::CheckResult;
use sim::protocols::txn::TxnSystem;
use sim::scenario::Scenario;
use sim::sim::RunOutput;
use sim::testing::{load_with, run};

fn scenario(name: &str, sets: &[(&str, &str)]) -> Scenario {
    load_with(format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR")), sets)
}

fn check<'a>(out: &'a RunOutput, name: &str) -> &'a CheckResult {
    out.report.checks.iter().find(|c| c.name == name).expect("the check ran")
}

#[test]
fn serializable_runs_pass_and_repeat_bit_for_bit() {
    let s = scenario("txn-serializable", &[]);
    let a = run::<TxnSystem>(&s, 3);
    assert!(a.report.passed, "{:#?}", a.report.checks);
    assert!(check(&a, "txn_isolation").judged && check(&a, "txn_atomic").judged);
    assert!(a.report.ops.ok > 100, "{:?}", a.report.ops);
    let b = run::<TxnSystem>(&s, 3);
    assert_eq!(a.report.trace_hash, b.report.trace_hash);
    assert!(!a.gauges.get("in_doubt").is_empty(), "shards report their gauges");
}

#[test]
fn snapshot_isolation_shows_write_skew_and_nothing_worse() {
    for seed in 0..3 {
        let out = run::<TxnSystem>(&scenario("txn-snapshot-write-skew", &[]), seed);
        let iso = check(&out, "txn_isolation");
        assert!(!iso.passed && iso.detail.contains("G2-item"), "seed {seed}: {}", iso.detail);
        assert!(out.report.passed, "the expected failure");
        // Judged as what it is, the same history holds.
        let as_si = [("protocol.consistency_model", "snapshot-isolation")];
        let out = run::<TxnSystem>(&scenario("txn-snapshot-write-skew", &as_si), seed);
        assert!(check(&out, "txn_isolation").passed, "{}", check(&out, "txn_isolation").detail);
    }
}

#[test]
fn every_bug_knob_is_caught_by_its_check() {
    let cases = [
        ("txn-si-lost-update", "txn_isolation"),
        ("txn-ssi-no-rw-tracking", "txn_isolation"),
        ("txn-2pc-commit-early", "txn_atomic"),
        ("txn-2pc-forget-prepared", "txn_atomic"),
    ];
    for (name, failing) in cases {
        let s = scenario(name, &[]);
        let caught = (0..20).find(|seed| !check(&run::<TxnSystem>(&s, *seed), failing).passed);
        assert!(caught.is_some(), "{name}: `{failing}` never failed in 20 seeds");
        // The same scenario without its knob holds.
        let fixed = scenario(name, &[("protocol.bugs", "[]")]);
        let out = run::<TxnSystem>(&fixed, caught.unwrap());
        assert!(
            check(&out, failing).passed,
            "{name} without its knob: {}",
            check(&out, failing).detail
        );
    }
}

#[test]
fn ssi_on_each_shard_is_not_serializable_across_shards_but_2pl_is() {
    for seed in 0..3 {
        let out = run::<TxnSystem>(&scenario("txn-ssi-across-shards", &[]), seed);
        let iso = check(&out, "txn_isolation");
        assert!(!iso.passed && iso.detail.contains("G2-item"), "seed {seed}: {}", iso.detail);
        assert!(check(&out, "txn_atomic").passed, "two-phase commit itself holds");
        for fix in [("protocol.shards", "1"), ("protocol.level", "serializable_2pl")] {
            let out = run::<TxnSystem>(&scenario("txn-ssi-across-shards", &[fix]), seed);
            let iso = check(&out, "txn_isolation");
            assert!(iso.judged && iso.passed, "seed {seed} with {fix:?}: {}", iso.detail);
        }
    }
}
