//! The storage system under scenarios.
//!
//! First, the node and its checker under the whole simulator (crashes, torn writes, lost
//! directory operations), on the small test engine `protocols::storage::testing`: a correct
//! engine passes with many reads judged, and each deliberate flaw of it is caught. Then the
//! real engines (Bitcask, the LSM-tree): both crash scenarios pass, each bug knob's scenario is
//! caught by the check that should catch it, and a seed replays to the same trace hash.

use sim::check::{CheckResult, Checks};
use sim::node::NodeId;
use sim::protocols::storage::check::{DURABILITY, RECOVERS};
use sim::protocols::storage::{testing, StorageApi, StorageConfig, StorageNode, StorageSystem};
use sim::registry::{system, Entry, Registry};
use sim::scenario::Scenario;
use sim::sim::{RunOptions, RunOutput};
use sim::system::{Cluster, System};
use sim::workload::Outcome;
use std::path::PathBuf;

fn path(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).join(file)
}

fn run_in(registry: Registry<'_>, file: &str, seed: u64, overrides: &[&str]) -> RunOutput {
    let path = path(file);
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(&path, &overrides).expect("scenario loads");
    registry.validate(&scenario, &path).expect("scenario is valid");
    registry.run(&scenario, &path, seed, RunOptions::default()).expect("scenario runs")
}

fn check<'a>(out: &'a RunOutput, name: &str) -> &'a CheckResult {
    out.report.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}"))
}

/// Gets and scans that completed `ok`: what `storage_durability` judged.
fn reads_ok(out: &RunOutput) -> usize {
    let history = out.history.typed::<StorageApi>().expect("a storage history");
    history.ops.iter().filter(|r| r.outcome == Outcome::Ok && !r.op.is_write()).count()
}

// ---- The node and checker on the test engine. ----

/// The storage system with the test engine, flawed as `FLAW` says (0: not at all).
struct LogStorage<const FLAW: u8>;

impl<const FLAW: u8> System for LogStorage<FLAW> {
    const NAME: &'static str = match FLAW {
        0 => "storage-log",
        1 => "storage-log-no-fsync",
        2 => "storage-log-garbling",
        _ => "storage-log-dropping-tombstones",
    };
    const ABOUT: &'static str = "the storage node on the test log engine";
    type Node = StorageNode;
    type Config = StorageConfig;

    fn node(config: &StorageConfig, _: NodeId, _: &Cluster) -> StorageNode {
        let opener = match FLAW {
            0 => testing::open,
            1 => testing::open_no_fsync,
            2 => testing::open_garbling,
            _ => testing::open_dropping_tombstones,
        };
        StorageNode::with_opener(config.clone(), opener)
    }

    fn checks(config: &StorageConfig, cluster: &Cluster) -> Checks<StorageApi> {
        StorageSystem::checks(config, cluster)
    }
}

const LOG_SYSTEMS: &[Entry] = &[
    system::<LogStorage<0>>(),
    system::<LogStorage<1>>(),
    system::<LogStorage<2>>(),
    system::<LogStorage<3>>(),
];

/// Runs `file` on the test engine `name`, with crashes as the only nemesis fault: the test
/// engine has checksums but no damage tracking, so bit rot would truncate its log.
fn run_log(name: &str, file: &str, seed: u64, extra: &[&str]) -> RunOutput {
    let system = format!("system=\"{name}\"");
    let mut overrides = vec![system.as_str(), "nemesis.kinds={crash=1}", "disk.read_corruption=0"];
    overrides.extend_from_slice(extra);
    run_in(Registry::new(LOG_SYSTEMS), file, seed, &overrides)
}

#[test]
fn the_node_on_a_correct_engine_passes_crashes_with_many_reads_judged() {
    for seed in 0..3 {
        let out = run_log("storage-log", "storage-lsm-crash.toml", seed, &[]);
        if let Some(failed) = out.first_failure() {
            panic!("seed {seed}: {} failed: {}", failed.name, failed.detail);
        }
        let durability = check(&out, "storage_durability");
        assert!(durability.judged, "seed {seed}: {durability:?}");
        assert!(reads_ok(&out) > 500, "seed {seed}: {} reads", reads_ok(&out));
        assert!(out.report.faults > 5, "seed {seed}: crashes happened");
        assert!(check(&out, "storage_recovers").passed);
        assert!(check(&out, "liveness").judged, "the quiet period was judged");
    }
    // Keys spread over three engines: scans merge them, sequence numbers are per engine.
    let out = run_log("storage-log", "storage-bitcask-crash.toml", 5, &["protocol.engines=3"]);
    if let Some(failed) = out.first_failure() {
        panic!("three engines: {} failed: {}", failed.name, failed.detail);
    }
    assert!(reads_ok(&out) > 500, "three engines: {} reads", reads_ok(&out));
}

#[test]
fn a_crash_loses_writes_an_engine_acknowledged_without_fsync() {
    let out = run_log("storage-log-no-fsync", "storage-skip-wal-fsync.toml", 1, &[]);
    let durability = check(&out, "storage_durability");
    assert!(!durability.passed, "{durability:?}");
    assert!(durability.detail.contains("acknowledged write lost"), "{}", durability.detail);
}

#[test]
fn torn_or_corrupt_values_reaching_clients_are_caught() {
    let out = run_log("storage-log-garbling", "storage-lsm-crash.toml", 0, &[]);
    let durability = check(&out, "storage_durability");
    assert!(!durability.passed, "{durability:?}");
    assert!(durability.detail.contains("torn or corrupt record"), "{}", durability.detail);
}

#[test]
fn deletes_forgotten_at_recovery_are_caught_as_resurrections() {
    let mut found = None;
    for seed in 0..5 {
        let out = run_log(
            "storage-log-dropping-tombstones",
            "storage-tombstone-dropped-early.toml",
            seed,
            &["nemesis={kinds={crash=1},start=\"100ms\",interval=\"150ms\",duration=\"20ms\"}"],
        );
        let durability = check(&out, "storage_durability");
        if !durability.passed {
            found = Some(durability.detail.clone());
            break;
        }
    }
    let detail = found.expect("a resurrected delete within 5 seeds");
    assert!(
        detail.contains("deleted key resurrected") || detail.contains("stale read"),
        "{detail}"
    );
}

// ---- The real engines. ----

fn run(file: &str, seed: u64) -> RunOutput {
    run_in(sim::systems::builtin(), file, seed, &[])
}

#[test]
fn both_crash_scenarios_pass_with_many_reads_judged() {
    for file in ["storage-bitcask-crash.toml", "storage-lsm-crash.toml"] {
        for seed in 0..4 {
            let out = run(file, seed);
            if let Some(failed) = out.first_failure() {
                panic!("{file} seed {seed}: {} failed: {}", failed.name, failed.detail);
            }
            assert!(check(&out, "storage_durability").judged, "{file} seed {seed}");
            assert!(reads_ok(&out) > 500, "{file} seed {seed}: {} reads", reads_ok(&out));
            assert!(out.report.faults > 5, "{file} seed {seed}: faults happened");
        }
    }
}

/// Crashes alone (torn writes, lost directory operations) never make an engine report damage:
/// damage is for faults at rest (bit rot, bad sectors, misdirected writes). A misdirected
/// write can overwrite an acknowledged record with no second copy to restore it from; the
/// engine then answers `MaybeLost` for the keys it may have held, as seed 42 of the LSM
/// scenario shows.
#[test]
fn only_faults_at_rest_make_engines_report_damage() {
    let crashes_only = ["nemesis.kinds={crash=1}", "disk.read_corruption=0"];
    for file in ["storage-bitcask-crash.toml", "storage-lsm-crash.toml"] {
        for seed in 0..12 {
            let out = run_in(sim::systems::builtin(), file, seed, &crashes_only);
            assert!(out.first_failure().is_none(), "{file} seed {seed}: {:?}", out.first_failure());
            let recovers = check(&out, RECOVERS);
            assert!(recovers.detail.contains("; 0 damaged ranges"), "{file} {seed}: {recovers:?}");
        }
    }
    let out = run("storage-lsm-crash.toml", 42);
    assert!(out.first_failure().is_none(), "{:?}", out.first_failure());
    let misdirect = out.report.fault_log.iter().any(|f| f.kind == "disk-misdirect");
    let recovers = check(&out, RECOVERS);
    assert!(misdirect && !recovers.detail.contains("; 0 damaged"), "{recovers:?}");
}

#[test]
fn each_bug_knob_is_caught_by_its_check_and_only_with_the_knob_on() {
    let knobs = [
        ("storage-skip-wal-fsync.toml", "storage.skip_wal_fsync", DURABILITY),
        ("storage-no-checksum.toml", "storage.no_checksum", DURABILITY),
        ("storage-compaction-drops-newest.toml", "storage.compaction_drops_newest", DURABILITY),
        ("storage-rename-without-dir-sync.toml", "storage.rename_without_dir_sync", RECOVERS),
        ("storage-tombstone-dropped-early.toml", "storage.tombstone_dropped_early", DURABILITY),
    ];
    for (file, knob, expected) in knobs {
        let text = std::fs::read_to_string(path(file)).unwrap();
        assert!(text.contains(&format!("\"{knob}\"")), "{file} names its knob");
        let caught = (0..10).find(|&seed| {
            let out = run(file, seed);
            out.first_failure().is_some_and(|failed| failed.name == expected)
        });
        let Some(seed) = caught else { panic!("{file}: {expected} not caught in seeds 0..10") };
        // With the knob off, the same seed passes: the knob is what the check caught.
        let off = run_in(sim::systems::builtin(), file, seed, &["protocol.bugs=[]"]);
        if let Some(failed) = off.first_failure() {
            panic!("{file} seed {seed} without {knob}: {} failed: {}", failed.name, failed.detail);
        }
    }
}

#[test]
fn a_seed_replays_to_the_same_trace_hash() {
    for file in ["storage-bitcask-crash.toml", "storage-lsm-crash.toml"] {
        let (a, b) = (run(file, 7), run(file, 7));
        assert_eq!(a.report.trace_hash, b.report.trace_hash, "{file}");
        assert_eq!(a.report.ops, b.report.ops, "{file}");
        assert_ne!(run(file, 8).report.trace_hash, a.report.trace_hash, "{file}: seeds differ");
    }
}

#[test]
fn the_test_engine_replays_to_the_same_trace_hash() {
    let a = run_log("storage-log", "storage-bitcask-crash.toml", 3, &[]);
    let b = run_log("storage-log", "storage-bitcask-crash.toml", 3, &[]);
    assert_eq!(a.report.trace_hash, b.report.trace_hash);
    assert_eq!(a.report.ops, b.report.ops);
}
