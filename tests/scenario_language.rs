//! The scenario language, judged on Raft runs: targets (`leader`, `follower:K`, bindings),
//! unresolvable targets skipped or waited for (and logged), triggers (`after` + `delay`,
//! `when`, `if`), per-seed draws (`at` ranges, `probability`), `connect` of one node,
//! symbolic partition sides, each expectation kind passing and failing, and wrong input
//! refused with exit 2 naming the key.

mod common;

use common::*;
use sim::scenario::Scenario;
use sim::sim::{RunOptions, RunOutput};
use sim::world::fault::{Fault, NodeRef, Side};
use std::path::Path;

const RAFT: &str = "system = \"raft\"\nnodes = 5\nduration = \"6s\"\n\
    [clients]\ncount = 2\nthink = \"5ms\"\n";

fn scenario(body: &str) -> Scenario {
    let text = format!("{RAFT}\n{body}");
    Scenario::parse(&text, Path::new("language.toml"), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn run(scenario: &Scenario, seed: u64) -> RunOutput {
    sim::systems::builtin()
        .run(scenario, Path::new("language.toml"), seed, RunOptions::default())
        .expect("runs")
}

fn run_text(body: &str, seed: u64) -> RunOutput {
    run(&scenario(body), seed)
}

/// The node a concrete fault names.
fn node_of(fault: &Fault) -> u32 {
    let node = match fault {
        Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::Isolate { node }
        | Fault::Connect { node }
        | Fault::ClockDrift { node, .. } => node,
        other => panic!("no single node: {other:?}"),
    };
    match node {
        NodeRef::Id(n) => *n,
        other => panic!("an applied fault names a node id, not {other}"),
    }
}

fn check<'a>(out: &'a RunOutput, name: &str) -> &'a sim::check::CheckResult {
    out.report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| {
        let names: Vec<&str> = out.report.checks.iter().map(|c| c.name.as_str()).collect();
        panic!("no check {name}: {names:?}")
    })
}

fn passes(out: &RunOutput, name: &str) -> bool {
    let c = check(out, name);
    assert!(c.judged, "{name} judged nothing: {}", c.detail);
    c.passed
}

#[test]
fn a_binding_names_the_node_a_pick_resolved_to() {
    let body = "[[faults]]\nat = \"2s\"\nkind = \"crash\"\nnode = \"leader\"\nbind = \"L1\"\n\n\
        [[faults]]\nat = \"2.5s\"\nkind = \"clock-drift\"\nnode = \"L1+2\"\nppm = 10\n\n\
        [[faults]]\nat = \"3s\"\nkind = \"restart\"\nnode = \"L1\"\n";
    for seed in 0..4 {
        let out = run_text(body, seed);
        let log = &out.report.fault_log;
        assert_eq!(log.len(), 3, "seed {seed}: {log:?}");
        let l1 = node_of(&log[0].fault);
        assert_eq!(node_of(&log[1].fault), (l1 + 2) % 5, "seed {seed}: L1+2 wraps the cluster");
        assert_eq!(node_of(&log[2].fault), l1, "seed {seed}: the crashed leader restarts");
        assert!(out.first_failure().is_none(), "seed {seed}: {:?}", out.first_failure());
    }
}

#[test]
fn follower_k_is_the_kth_node_in_id_order_other_than_the_leader() {
    let body = "[[faults]]\nat = \"2s\"\nkind = \"clock-drift\"\nnode = \"leader\"\nppm = 1\n\
        bind = \"L\"\n\n[[faults]]\nat = \"2s\"\nkind = \"crash\"\nnode = \"follower:1\"\n";
    for seed in 0..4 {
        let out = run_text(body, seed);
        let log = &out.report.fault_log;
        let leader = node_of(&log[0].fault);
        let followers: Vec<u32> = (0..5).filter(|&n| n != leader).collect();
        assert_eq!(node_of(&log[1].fault), followers[1], "seed {seed}: leader n{leader}");
    }
}

#[test]
fn a_pick_that_cannot_resolve_is_skipped_or_waited_for_and_logged() {
    // At 1ms no election has finished: there is no leader to crash.
    let skip = run_text("[[faults]]\nat = \"1ms\"\nkind = \"crash\"\nnode = \"leader\"\n", 0);
    assert!(skip.report.fault_log.is_empty(), "never a fallback: {:?}", skip.report.fault_log);
    let skipped = &skip.report.faults_skipped;
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].at_ns, 1_000_000);
    assert!(skipped[0].why.contains("leader"), "{:?}", skipped[0]);

    let body =
        "[[faults]]\nat = \"1ms\"\nkind = \"crash\"\nnode = \"leader\"\nmissing = \"wait\"\n";
    let wait = run_text(body, 0);
    assert!(wait.report.faults_skipped.is_empty());
    let applied = &wait.report.fault_log;
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(applied[0].at_ns > 1_000_000, "applied once a leader exists: {applied:?}");
}

#[test]
fn after_and_delay_when_and_if_trigger_faults() {
    let body = "[[faults]]\nat = \"1.5s\"\nkind = \"crash\"\nnode = 4\nname = \"first\"\n\n\
        [[faults]]\nafter = \"first\"\ndelay = \"250ms\"\nkind = \"crash\"\nnode = 3\n\n\
        [[faults]]\nwhen = \"leader\"\nkind = \"clock-drift\"\nnode = \"leader\"\nppm = 5\n\n\
        [[faults]]\nat = \"2s\"\nif = \"up < majority\"\nkind = \"crash\"\nnode = 2\n\n\
        [[faults]]\nat = \"2.1s\"\nif = \"up >= majority\"\nkind = \"restart\"\nnode = 4\n";
    let out = run_text(body, 1);
    let at = |n: u32, kind: &str| {
        let f = out.report.fault_log.iter().find(|f| f.kind == kind && node_of(&f.fault) == n);
        f.map(|f| f.at_ns)
    };
    assert_eq!(at(3, "crash"), Some(1_750_000_000), "250ms after `first`");
    let drift = out.report.fault_log.iter().find(|f| f.kind == "clock-drift").expect("drifted");
    assert!(drift.at_ns > 0 && drift.at_ns < 1_500_000_000, "at the first leader: {drift:?}");
    // Three of five are up at 2s: not fewer than a majority, so node 2 stays up; at 2.1s the
    // condition holds and node 4 restarts.
    assert_eq!(at(2, "crash"), None);
    assert!(out.report.faults_skipped.iter().any(|f| f.why.contains("up < majority")));
    assert_eq!(at(4, "restart"), Some(2_100_000_000));
}

#[test]
fn recorder_is_the_node_whose_fact_triggered_the_fault() {
    // Crash whichever node votes first after 1s, and restart it 1ms later.
    let body = "[[faults]]\nat = \"1s\"\nkind = \"crash\"\nnode = \"leader\"\n\n\
        [[faults]]\nat = \"1s\"\nwhen = \"vote\"\nkind = \"crash\"\nnode = \"RECORDER\"\n\
        bind = \"V\"\nname = \"voted\"\n\n\
        [[faults]]\nafter = \"voted\"\ndelay = \"1ms\"\nkind = \"restart\"\nnode = \"V\"\n";
    let out = run_text(body, 2);
    let crashes: Vec<_> = out.report.fault_log.iter().filter(|f| f.kind == "crash").collect();
    assert_eq!(crashes.len(), 2, "{:?}", out.report.fault_log);
    let (leader, voter) = (node_of(&crashes[0].fault), node_of(&crashes[1].fault));
    assert_ne!(leader, voter, "the voter is another node than the crashed leader");
    let restart = out.report.fault_log.iter().find(|f| f.kind == "restart").expect("restarted");
    assert_eq!(node_of(&restart.fault), voter);
    assert_eq!(restart.at_ns, crashes[1].at_ns + 1_000_000);
}

#[test]
fn at_ranges_and_coins_are_drawn_per_seed_and_reproduce() {
    let body = "[[faults]]\nat = \"1s..3s\"\nprobability = 0.5\nkind = \"crash\"\nnode = 1\n";
    let s = scenario(body);
    let (mut applied, mut skipped, mut times) = (0, 0, std::collections::BTreeSet::new());
    for seed in 0..20 {
        let out = run(&s, seed);
        let again = run(&s, seed);
        assert_eq!(out.report.trace_hash, again.report.trace_hash, "seed {seed} reproduces");
        match out.report.fault_log.first() {
            Some(f) => {
                assert!((1_000_000_000..=3_000_000_000).contains(&f.at_ns), "{f:?}");
                times.insert(f.at_ns);
                applied += 1;
            }
            None => {
                assert_eq!(out.report.faults_skipped.len(), 1, "a lost coin flip is logged");
                skipped += 1;
            }
        }
    }
    assert!(applied >= 4 && skipped >= 4, "a fair coin: {applied} applied, {skipped} not");
    assert!(times.len() >= 3, "times vary by seed: {times:?}");
}

#[test]
fn connect_rejoins_one_node_and_symbolic_sides_split_the_rest() {
    // Three of five cut off: nothing commits; node 0 rejoins: three reach each other again, so
    // an entry applies on a majority but not on all five while nodes 1 and 2 stay away.
    let body = "[[faults]]\nat = \"2s\"\nkind = \"disconnect\"\nnode = 0\n\n\
        [[faults]]\nat = \"2s\"\nkind = \"disconnect\"\nnode = 1\n\n\
        [[faults]]\nat = \"2s\"\nkind = \"disconnect\"\nnode = 2\n\n\
        [[faults]]\nat = \"3s\"\nkind = \"connect\"\nnode = 0\nname = \"back\"\n\n\
        [[expectations]]\nkind = \"no-commit\"\nat = \"2.5s\"\nuntil = \"back\"\n\n\
        [[expectations]]\nname = \"majority\"\nkind = \"applied\"\nafter = \"back\"\n\
        within = \"2s\"\n\n[[expectations]]\nname = \"everyone\"\nkind = \"applied\"\n\
        after = \"back\"\nwithin = \"2s\"\ncount = \"all\"\n";
    let out = run_text(body, 2);
    assert!(passes(&out, "no_commit"), "{:?}", check(&out, "no_commit"));
    assert!(passes(&out, "majority"), "{:?}", check(&out, "majority"));
    assert!(!passes(&out, "everyone"), "nodes 1 and 2 are still away");

    let body = "[[faults]]\nat = \"2s\"\nkind = \"clock-drift\"\nnode = \"leader\"\nppm = 1\n\
        bind = \"L1\"\n\n[[faults]]\nat = \"2s\"\nkind = \"partition\"\n\
        groups = [[\"L1\", \"L1+1\"], \"rest\"]\nname = \"split\"\n\n\
        [[expectations]]\nkind = \"leader\"\nafter = \"split\"\nwithin = \"2s\"\n\n\
        [[expectations]]\nkind = \"no-minority-leader\"\nafter = \"split\"\n";
    for seed in 0..3 {
        let out = run_text(body, seed);
        let l1 = node_of(&out.report.fault_log[0].fault);
        let Fault::Partition { groups: Some(groups) } = &out.report.fault_log[1].fault else {
            panic!("{:?}", out.report.fault_log[1])
        };
        let ids = |g: &Side| -> Vec<u32> {
            let mut v = g.ids().unwrap_or_else(|| panic!("applied sides are ids: {g:?}"));
            v.sort_unstable();
            v
        };
        let mut minority = vec![l1, (l1 + 1) % 5];
        minority.sort_unstable();
        let rest: Vec<u32> = (0..5).filter(|n| !minority.contains(n)).collect();
        assert_eq!(ids(&groups[0]), minority, "seed {seed}");
        assert_eq!(ids(&groups[1]), rest, "seed {seed}: `rest` is everyone else");
        assert!(passes(&out, "leader"), "seed {seed}: {:?}", check(&out, "leader"));
        assert!(passes(&out, "no_minority_leader"), "seed {seed}");
    }
}

#[test]
fn each_expectation_kind_can_pass_and_fail() {
    let healthy = "[[expectations]]\nkind = \"leader\"\nwithin = \"1s\"\n\n\
        [[expectations]]\nkind = \"applied\"\nat = \"2s\"\nwithin = \"1s\"\ncount = \"all\"\n\n\
        [[expectations]]\nname = \"index_3\"\nkind = \"applied\"\nindex = 3\nat = \"4s\"\n\
        within = \"1s\"\ncount = \"all\"\n\n\
        [[expectations]]\nkind = \"converged\"\nat = \"5s\"\nwithin = \"500ms\"\n\n\
        [[expectations]]\nkind = \"no-minority-leader\"\n\n\
        [[expectations]]\nname = \"votes\"\nkind = \"messages\"\n\
        messages = [\"Vote\", \"VoteReply\"]\nper = \"election\"\nmax = 40\n\n\
        [[expectations]]\nkind = \"bytes-per-commit\"\nmax = 100000\n\n\
        [[expectations]]\nkind = \"persisted-bytes\"\nmax = 100000000\n";
    let out = run_text(healthy, 3);
    for name in [
        "leader",
        "applied",
        "index_3",
        "converged",
        "no_minority_leader",
        "votes",
        "bytes_per_commit",
        "persisted_bytes",
    ] {
        assert!(passes(&out, name), "{name}: {:?}", check(&out, name));
    }
    assert!(out.first_failure().is_none(), "{:?}", out.first_failure());
    // A healthy cluster elects a leader and commits: each of these fails, with evidence.
    for failing in [
        "kind = \"no-leader\"\nwithin = \"1s\"",
        "kind = \"no-commit\"\nat = \"3s\"\nwithin = \"1s\"",
        "kind = \"messages\"\nmessages = [\"Vote\", \"VoteReply\"]\nmax = 1",
        "kind = \"bytes-per-commit\"\nmax = 1",
        "kind = \"persisted-bytes\"\nmax = 10",
        "kind = \"applied\"\nindex = 100000\nat = \"1s\"\nwithin = \"1s\"",
    ] {
        let out = run_text(&format!("[[expectations]]\nname = \"it\"\n{failing}\n"), 3);
        let c = check(&out, "it");
        assert!(c.judged && !c.passed && !c.detail.is_empty(), "{failing}: should fail: {c:?}");
        assert_eq!(out.first_failure().map(|f| f.name.as_str()), Some("it"), "{failing}");
    }

    // A majority crashed: no leader, nothing applies, nothing converges; and the failure of
    // a liveness expectation is reported as liveness.
    let down = "[[faults]]\nat = \"500ms\"\nkind = \"crash\"\nnode = 0\n\n\
        [[faults]]\nat = \"500ms\"\nkind = \"crash\"\nnode = 1\n\n\
        [[faults]]\nat = \"500ms\"\nkind = \"crash\"\nnode = 2\n\n\
        [[expectations]]\nkind = \"leader\"\nat = \"2s\"\nwithin = \"1s\"\n\n\
        [[expectations]]\nkind = \"no-leader\"\nat = \"2s\"\nwithin = \"1s\"\n\n\
        [[expectations]]\nkind = \"applied\"\nat = \"2s\"\nwithin = \"1s\"\n\n\
        [[expectations]]\nkind = \"no-commit\"\nat = \"2s\"\nwithin = \"1s\"\n";
    let out = run_text(down, 3);
    for name in ["leader", "applied"] {
        let c = check(&out, name);
        assert!(!c.passed, "{name}: {c:?}");
        assert_eq!(c.kind, sim::check::CheckKind::Liveness, "{name}");
    }
    assert!(passes(&out, "no_leader") && passes(&out, "no_commit"));
}

#[test]
fn a_client_value_size_pads_values_and_shows_in_bytes_per_commit() {
    let body = "[[expectations]]\nkind = \"bytes-per-commit\"\nmax = 1000000\n";
    let per_commit = |size: &str| {
        let text = format!("{RAFT}value_size = {size}\n{body}");
        let s = Scenario::parse(&text, Path::new("v.toml"), &[]).unwrap_or_else(|e| panic!("{e}"));
        let out = run(&s, 4);
        let c = check(&out, "bytes_per_commit").detail.clone();
        let n: f64 = c.split_whitespace().find_map(|w| w.parse().ok()).expect(&c);
        (n, out)
    };
    let (small, _) = per_commit("0");
    let (large, out) = per_commit("400");
    assert!(large > small + 400.0, "{small} -> {large} bytes per commit");
    assert!(out.report.checks.iter().all(|c| c.passed), "{:?}", out.first_failure());
}

#[test]
fn wrong_language_is_refused_with_exit_2_naming_the_key() {
    let dir = scratch("test-scenario-language", "bad");
    let fault = |keys: &str| format!("{RAFT}\n[[faults]]\n{keys}\n");
    let cases: Vec<(String, &str, &str)> = vec![
        (fault("at = \"1s\"\nkind = \"crash\"\nnode = \"L9\""), "`faults[0].node`", "no fault binds `L9`"),
        (fault("at = \"1s\"\nkind = \"crash\"\nnode = \"RECORDER\""), "`faults[0].node`", "has no `when`"),
        (
            fault("at = \"1s\"\nkind = \"partition\"\ngroups = [[\"leader\"], \"rest\"]\nbind = \"L\""),
            "`faults[0].bind`",
            "targets no single node",
        ),
        (fault("at = \"3s..1s\"\nkind = \"crash\"\nnode = 0"), "`faults[0].at`", "start is after its end"),
        (fault("at = \"1s\"\nkind = \"crash\"\nnode = 0\nmissing = \"later\""), "`faults[0].missing`", "\"skip\" or \"wait\""),
        (fault("after = \"nope\"\nkind = \"crash\"\nnode = 0"), "`faults[0].after`", "no fault is named `nope`"),
        (fault("at = \"1s\"\nkind = \"crash\"\nnode = 0\nif = \"up < lots\""), "`faults[0].if`", "is not a condition"),
        (format!("{RAFT}\n[[expectations]]\nkind = \"leader\""), "`expectations[0].within`", "needs a bound"),
        (format!("{RAFT}\n[[expectations]]\nkind = \"messages\"\nmax = 3"), "`expectations[0].messages`", "name the message kinds"),
        (format!("{RAFT}\n[[expectations]]\nkind = \"no-commit\"\nindex = 3"), "`expectations[0].index`", "does not apply"),
        (format!("{RAFT}\n[[expectations]]\nkind = \"applied\"\nwithin = \"1s\"\ncount = 9"), "`expectations[0].count`", "more than the 5 nodes"),
        (
            "system = \"storage\"\nnodes = 1\nduration = \"1s\"\n[clients]\nvalue_size = 10\n".into(),
            "`clients.value_size`",
            "no string values to pad",
        ),
    ];
    assert_refused(&dir, &cases);
}
