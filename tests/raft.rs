//! Raft under scenarios: the healthy protocol passes a partition-heavy scenario, and each bug
//! knob's scenario is caught by a check at a known seed (and passes with the knob off, so the
//! knob is what the check catches).

use sim::api::kv::{History, HistoryOp, KvApi};
use sim::node::Op;
use sim::scenario::Scenario;
use sim::sim::{RunOptions, RunOutput};
use sim::workload::Outcome;
use std::path::PathBuf;

fn run(file: &str, seed: u64, overrides: &[&str]) -> RunOutput {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).join(file);
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(&path, &overrides).expect("scenario loads");
    sim::systems::builtin()
        .run(&scenario, &path, seed, RunOptions::default())
        .expect("scenario runs")
}

fn assert_passes(file: &str, seed: u64, overrides: &[&str]) {
    let out = run(file, seed, overrides);
    if let Some(failed) = out.first_failure() {
        panic!("{file} seed {seed}: check {} failed: {}", failed.name, failed.detail);
    }
}

/// Runs the bug scenario at `seed`: a check in `expected` fails; with the knob off it passes.
fn assert_caught(file: &str, seed: u64, expected: &[&str]) {
    assert_caught_with(file, seed, &[], expected);
}

/// [`assert_caught`] with scenario overrides (a shorter run, for speed in debug builds).
fn assert_caught_with(file: &str, seed: u64, overrides: &[&str], expected: &[&str]) {
    let out = run(file, seed, overrides);
    let failed = out.first_failure().unwrap_or_else(|| panic!("{file} seed {seed} passed"));
    assert!(expected.contains(&failed.name.as_str()), "{file}: unexpected {failed:?}");
    let mut off = overrides.to_vec();
    off.push("protocol.bugs=[]");
    assert_passes(file, seed, &off);
}

#[test]
fn partition_scenario_stays_safe_and_live() {
    // Shorter than the file's 60 s so the test is quick in debug builds; same faults.
    for seed in 0..3 {
        assert_passes("partition.toml", seed, &["duration=\"20s\"", "quiet=\"5s\""]);
    }
}

#[test]
fn snapshot_catchup_over_a_lossy_link_keeps_the_leader() {
    // A leader that sent nothing to a follower awaiting a snapshot was deposed by it on every
    // seed of 0..20 (`no_leader`); heartbeats during catch-up keep it (0..100 pass).
    for seed in 0..4 {
        assert_passes("raft-lab/snapshot-catchup.toml", seed, &[]);
    }
}

#[test]
fn membership_changes_stay_safe() {
    assert_passes("raft-membership.toml", 0, &[]);
}

#[test]
fn figure8_bug_is_caught() {
    assert_caught("raft-figure8.toml", 47, &["leader_completeness", "state_machine_safety"]);
}

#[test]
fn vote_without_log_check_bug_is_caught() {
    assert_caught("raft-vote-without-log-check.toml", 0, &["leader_completeness"]);
}

#[test]
fn skip_fsync_bug_is_caught() {
    let expected = ["leader_completeness", "election_safety", "state_machine_safety"];
    assert_caught("raft-skip-fsync.toml", 0, &expected);
}

/// Reads that returned a value older than a write which completed before the read began (the
/// scenarios for read bugs use only `get` and `put` with unique values, so this is exact).
fn stale_reads(out: &RunOutput) -> usize {
    let history = History::from(out.history.typed::<KvApi>().expect("a key-value history"));
    let ok = |o: &&HistoryOp| o.outcome == Outcome::Ok;
    let puts: Vec<&HistoryOp> =
        history.ops.iter().filter(ok).filter(|o| matches!(o.op, Op::Put { .. })).collect();
    let written_by = |key: &str, value: &str| {
        puts.iter()
            .find(|w| matches!(&w.op, Op::Put { key: k, value: v } if k == key && v == value))
    };
    let mut stale = 0;
    for read in history.ops.iter().filter(ok) {
        let (Op::Get { key }, Some(value)) = (&read.op, &read.value) else { continue };
        let Some(w1) = written_by(key, value) else { continue };
        let newer = puts.iter().any(|w2| {
            w2.op.key() == key && w1.complete_ns < w2.invoke_ns && w2.complete_ns < read.invoke_ns
        });
        stale += usize::from(newer);
    }
    stale
}

/// The read bug's scenario at `seed` serves stale reads; with the knob off (`off`) it does not.
fn assert_stale_reads(file: &str, seed: u64, off: &[&str]) {
    let short = "duration=\"5s\"";
    let stale = stale_reads(&run(file, seed, &[short]));
    assert!(stale > 0, "{file} seed {seed}: no stale read");
    let mut overrides = vec![short];
    overrides.extend_from_slice(off);
    assert_eq!(stale_reads(&run(file, seed, &overrides)), 0, "{file} seed {seed}, knob off");
}

#[test]
fn no_read_index_bug_serves_stale_reads() {
    assert_stale_reads("raft-no-read-index.toml", 0, &["protocol.bugs=[]"]);
}

#[test]
fn lease_reads_bug_serves_stale_reads() {
    assert_stale_reads("raft-lease-reads.toml", 1, &["protocol.bugs=[]"]);
}

#[test]
fn no_read_index_bug_is_caught() {
    assert_caught_with("raft-no-read-index.toml", 0, &["duration=\"5s\""], &["linearizability"]);
}

#[test]
fn lease_reads_bug_is_caught() {
    assert_caught_with("raft-lease-reads.toml", 1, &["duration=\"5s\""], &["linearizability"]);
}
