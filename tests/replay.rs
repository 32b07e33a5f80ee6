//! `sim replay` never reports success falsely: a record holds the scenario it ran, so it replays
//! from any folder after the scenario file is gone; a replay that does not reproduce the
//! recorded trace and verdict exits non-zero and says why (1: a different run; 3: the same
//! scenario on the same build gave another trace, a bug in sim).

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    common::scratch("test-replay", name)
}

fn read_json(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

fn write_json(file: &Path, value: &Value) {
    std::fs::write(file, serde_json::to_string(value).unwrap()).unwrap();
}

/// A copy of `scenario` in `dir`, run with `sim run --seed SEED --out dir/out` from `dir`;
/// returns the run record's path.
fn recorded_run(dir: &Path, scenario: &str, seed: &str) -> PathBuf {
    std::fs::copy(root().join(scenario), dir.join("s.toml")).unwrap();
    let out = sim_in(dir, &["run", "s.toml", "--seed", seed, "--out", "out"]);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", printed(&out));
    dir.join("out/run.json")
}

fn replay(record: &Path) -> std::process::Output {
    sim_in(Path::new("/"), &["replay", record.to_str().unwrap()])
}

#[test]
fn a_record_replays_from_anywhere_after_its_scenario_file_is_gone() {
    let dir = scratch("gone");
    let record = recorded_run(&dir, SMALL, "4");
    let json = read_json(&record);
    assert!(json["scenario_text"].as_str().unwrap().contains("system = \"register\""), "{json}");
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    std::fs::remove_file(dir.join("s.toml")).unwrap();
    let out = replay(&record);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("reproduced: trace hash"), "{text}");
    assert!(text.contains("is gone; replaying the scenario as recorded"), "{text}");
}

#[test]
fn a_failure_replays_as_recorded_after_its_scenario_file_changed_and_says_so() {
    let dir = scratch("edited");
    let record = recorded_run(&dir, FLAKY, "0");
    assert_eq!(read_json(&record)["check"], "liveness", "seed 0 of the flaky scenario fails");
    let text = std::fs::read_to_string(dir.join("s.toml")).unwrap();
    std::fs::write(dir.join("s.toml"), text.replace("duration = \"2s\"", "duration = \"7s\""))
        .unwrap();
    let out = sim_in(Path::new("/"), &["replay", record.to_str().unwrap(), "--json"]);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(1), "the recorded failure recurs: {text}");
    assert!(text.contains("changed since the run was recorded"), "{text}");
    assert!(text.contains("check `liveness` failed again"), "{text}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(report["virtual_ns"], 2_000_000_000u64, "the recorded 2s scenario ran");
}

#[test]
fn a_replay_that_does_not_reproduce_exits_non_zero_and_says_why() {
    let dir = scratch("differs");
    let record = recorded_run(&dir, SMALL, "4");
    let json = read_json(&record);
    assert_eq!(json["check"], "", "seed 4 of the small scenario passes");
    let commit = json["commit"].as_str().map(str::to_string);

    // Recorded by another sim: a different trace is a different run, exit 1.
    let mut other = json.clone();
    other["trace_hash"] = "0000000000000000".into();
    other["version"] = "0.0.1".into();
    let file = dir.join("other-version.json");
    write_json(&file, &other);
    let out = replay(&file);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("NOT REPRODUCED") && text.contains("sim changed"), "{text}");

    // Recorded as a failure that no longer shows: exit 1, never 0.
    let mut failed = json.clone();
    failed["check"] = "linearizability".into();
    failed["version"] = "0.0.1".into();
    let file = dir.join("failure-gone.json");
    write_json(&file, &failed);
    let out = replay(&file);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("recorded run failed `linearizability`, the replay passed"), "{text}");

    // The same scenario and build, another trace: sim is not deterministic, exit 3. A build
    // with uncommitted changes (or without git) cannot tell, and exits 1.
    let mut broken = json.clone();
    broken["trace_hash"] = "0000000000000000".into();
    let file = dir.join("same-build.json");
    write_json(&file, &broken);
    let out = replay(&file);
    let text = printed(&out);
    if commit.as_deref().is_some_and(|c| !c.ends_with("-dirty")) {
        assert_eq!(out.status.code(), Some(3), "{text}");
        assert!(text.contains("DETERMINISM BROKEN"), "{text}");
    } else {
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("no known clean commit"), "{text}");
    }
}

#[test]
fn an_old_record_without_its_scenario_replays_the_file_and_refuses_a_changed_one() {
    let dir = scratch("old");
    let record = recorded_run(&dir, SMALL, "4");
    let mut json = read_json(&record);
    let object = json.as_object_mut().unwrap();
    object.remove("scenario_text");
    object.remove("commit");
    object.insert("scenario".into(), dir.join("s.toml").to_str().unwrap().into());
    write_json(&record, &json);
    let out = replay(&record);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let text = std::fs::read_to_string(dir.join("s.toml")).unwrap();
    std::fs::write(dir.join("s.toml"), text.replace("loss = 0.01", "loss = 0.02")).unwrap();
    let out = replay(&record);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("does not hold the scenario it ran"), "{text}");
    assert!(text.contains("NOT REPRODUCED"), "{text}");
}

#[test]
fn run_names_its_seed_before_running_and_json_stays_one_object() {
    let out = sim(&["run", SMALL, "--seed", "3", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with(&format!("seed 3: running {SMALL}")), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(report["seed"], 3);
}

#[test]
fn every_scenario_reads_back_from_the_text_a_record_embeds() {
    let mut files: Vec<PathBuf> = Vec::new();
    for folder in ["scenarios", "tests/regressions", "tests/fixtures"] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "{files:?}");
    for path in files {
        let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
        let text = scenario.to_toml();
        let back = sim::scenario::Scenario::parse(&text, Path::new("embedded"), &[])
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        assert_eq!(back, scenario, "{}", path.display());
        assert_eq!(back.hash(), scenario.hash(), "{}", path.display());
    }
}
