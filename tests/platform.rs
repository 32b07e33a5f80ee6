//! The platform as a user meets it: a system's own operations, checks and controls are
//! checked against the scenario (exit 2 naming the key), a scenario's `[expect]` is honoured,
//! and a system written outside sim (`examples/user_system.rs`) gets the whole command line
//! through `sim::cli::main_with`.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scenario_with(name: &str, extra: &str) -> PathBuf {
    let dir = scratch("test-platform", name);
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(SMALL)).unwrap();
    let file = dir.join("s.toml");
    std::fs::write(&file, format!("{text}\n{extra}")).unwrap();
    file
}

fn refused(out: &Output, key: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("`{key}`")) && stderr.contains("s.toml"), "{stderr}");
}

#[test]
fn a_systems_operations_checks_and_controls_are_checked_by_name() {
    let run = |file: &Path, sets: &[&str]| {
        let mut args = vec!["run", file.to_str().unwrap()];
        for s in sets {
            args.extend(["--set", s]);
        }
        sim(&args)
    };
    let file = scenario_with("names", "");
    refused(&run(&file, &["clients.mix={ get = 1, incr = 1 }"]), "clients.mix.incr");
    refused(&run(&file, &["checks.serializability=true"]), "checks.serializability");
    refused(&run(&file, &["expect.fails=[\"nope\"]"]), "expect.fails");
    let control =
        scenario_with("control", "[[controls]]\nat = \"1s\"\nkind = \"add-member\"\nnode = 1\n");
    let out = run(&control, &[]);
    refused(&out, "controls[0]");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no operator actions"));
    // Switched off by name, a check is not run.
    let out = run(&file, &["checks.linearizability=false"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(!stdout.contains("linearizability") && stdout.contains("liveness"), "{stdout}");
}

#[test]
fn an_expected_failure_passes_and_its_absence_fails() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("tests/regressions/raft-figure8-seed47.toml");
    let shows = sim(&["run", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&shows.stdout);
    assert_eq!(shows.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("FAIL (expected)") && stdout.contains("showed at seed 47"), "{stdout}");
    let gone = sim(&["run", file.to_str().unwrap(), "--set", "protocol.bugs=[]"]);
    let stdout = String::from_utf8_lossy(&gone.stdout);
    assert_eq!(gone.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("expects `leader_completeness` to fail, but it held"), "{stdout}");
}

#[test]
fn raft_membership_changes_are_controls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = root.join("scenarios/raft-membership.toml");
    let out = sim(&["run", file.to_str().unwrap(), "--seed", "2", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let controls = report["controls"].as_array().unwrap();
    assert_eq!(controls.len(), 4, "{report}");
    assert_eq!(controls[3]["action"], "RemoveMember { node: 0 }");
    let bad = sim(&[
        "run",
        file.to_str().unwrap(),
        "--set",
        "controls=[{ at = \"1s\", kind = \"add-member\", node = 9 }]",
    ]);
    assert_eq!(bad.status.code(), Some(2), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("node 9 does not exist"));
}

/// The example's binary (built by `cargo test`, which builds every example).
fn user_system(args: &[&str]) -> Output {
    let sim_bin = Path::new(env!("CARGO_BIN_EXE_sim"));
    let exe = sim_bin.parent().unwrap().join("examples").join("user_system");
    assert!(exe.exists(), "{} is built with the tests", exe.display());
    Command::new(exe).args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
}

#[test]
fn a_users_system_runs_under_the_whole_command_line() {
    let dir = scratch("test-platform", "user");
    let run = user_system(&["run", "examples/user_system.toml", "--seed", "3", "--json"]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["system"], "counter");
    let names: Vec<&str> =
        report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["counter_converges", "liveness", "progress"]);
    // Its own history: the counter's operations, as JSON lines and as Maelstrom-shaped EDN.
    let out = dir.join("run");
    let run = user_system(&[
        "run",
        "examples/user_system.toml",
        "--seed",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0));
    let jsonl = std::fs::read_to_string(out.join("history.jsonl")).unwrap();
    assert!(
        jsonl.contains("\"by\":")
            && jsonl.contains("\"f\":\"add\"")
            && jsonl.contains("\"f\":\"read\""),
        "{jsonl:.300}"
    );
    let results = std::fs::read_to_string(out.join("results.edn")).unwrap();
    assert!(results.starts_with("{:valid? true,"), "{results}");
    assert!(results.contains(":counter_converges {:valid? true, :kind :safety"), "{results}");
    let edn = std::fs::read_to_string(out.join("history.edn")).unwrap();
    assert!(edn.contains(":f :add, :value ") && edn.contains(":index 0,"), "{edn:.300}");
    let replay = user_system(&["replay", out.join("run.json").to_str().unwrap()]);
    assert_eq!(replay.status.code(), Some(0), "{}", String::from_utf8_lossy(&replay.stdout));
    // Its bug knob is caught, and the strict check it leaves off finds the stale reads.
    let sweep = dir.join("sweep");
    let bug = "protocol.bugs=[\"counter.merge_overwrites\"]";
    let out = user_system(&[
        "sweep",
        "examples/user_system.toml",
        "--seeds",
        "0..4",
        "--set",
        bug,
        "--out",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let strict = user_system(&[
        "run",
        "examples/user_system.toml",
        "--seed",
        "3",
        "--set",
        "checks.linearizability=true",
    ]);
    let stdout = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("safety check `linearizability` failed"), "{stdout}");
    // sim's own binary does not know the counter: exit 2 naming the known systems.
    let unknown = sim(&["run", "examples/user_system.toml"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown system `counter`"));
}

#[test]
fn a_sweep_keeps_liveness_failures_apart_from_safety_bugs() {
    let out_dir = scratch("test-platform", "kinds");
    let out = sim(&[
        "sweep",
        FLAKY,
        "--seeds",
        "0..6",
        "--jobs",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(" liveness (a liveness failure"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("summary.json")).unwrap())
            .unwrap();
    let kinds = summary["failures_by_kind"].as_object().unwrap();
    assert!(kinds.contains_key("liveness") && !kinds.contains_key("safety"), "{summary}");
}
