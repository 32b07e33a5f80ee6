//! Issue 13 end to end: Raft's messages travel encoded with the schema version each node runs.
//! A rolling upgrade v1 -> v2 under load stays safe and every message decodes; the bug knob
//! `encoding.skip_compat_check` lets an incompatible v3 in, and `wire_decodes` catches the
//! decode failures it causes (and the run passes with the knob off: the registry refuses v3).

use sim::scenario::Scenario;
use sim::sim::{RunOptions, RunOutput};
use std::path::PathBuf;

fn run(file: &str, seed: u64, overrides: &[&str]) -> RunOutput {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios")).join(file);
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    let scenario = Scenario::load(&path, &overrides).expect("scenario loads");
    sim::systems::builtin()
        .run(&scenario, &path, seed, RunOptions::default())
        .expect("scenario runs")
}

fn check<'a>(out: &'a RunOutput, name: &str) -> &'a sim::check::CheckResult {
    out.report.checks.iter().find(|c| c.name == name).expect("the check ran")
}

#[test]
fn rolling_upgrade_passes_and_every_message_decodes() {
    for seed in 0..3 {
        let out = run("encoding-rolling-upgrade.toml", seed, &[]);
        if let Some(failed) = out.first_failure() {
            panic!("seed {seed}: check {} failed: {}", failed.name, failed.detail);
        }
        let decodes = check(&out, "wire_decodes");
        assert!(decodes.detail.contains("node 4 -> v2"), "{}", decodes.detail);
    }
}

#[test]
fn skip_compat_check_is_caught_by_wire_decodes_and_passes_without_the_knob() {
    let out = run("encoding-skip-compat-check.toml", 0, &[]);
    let failed = out.first_failure().expect("the knob's run fails");
    assert_eq!(failed.name, "wire_decodes");
    assert!(failed.detail.contains("RaftMessage.commit (tag 10)"), "{}", failed.detail);
    let off = run("encoding-skip-compat-check.toml", 0, &["protocol.bugs=[]"]);
    assert!(off.first_failure().is_none(), "{:?}", off.first_failure());
    let decodes = check(&off, "wire_decodes");
    assert!(
        decodes.detail.contains("refused by the registry: node 0 v2 -> v3"),
        "{}",
        decodes.detail
    );
}

#[test]
fn an_unknown_schema_version_is_refused_at_load() {
    let source = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .join("encoding-rolling-upgrade.toml");
    let text = std::fs::read_to_string(&source).unwrap().replacen("version = 2", "version = 7", 1);
    let path = std::env::temp_dir().join(format!("sim-encoding-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let scenario = Scenario::load(&path, &[]).expect("the file parses");
    let refused = sim::systems::builtin()
        .run(&scenario, &path, 0, RunOptions::default())
        .map(|_| ())
        .expect_err("version 7 does not exist");
    let _ = std::fs::remove_file(&path);
    assert!(refused.to_string().contains("version 7"), "{refused}");
}
