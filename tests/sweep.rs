//! `sim sweep`, `sim merge` and `sim replay` end to end: results do not depend on the number of
//! jobs, shards merge into the full sweep, bad input exits 2 before anything runs.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn scratch(name: &str) -> PathBuf {
    common::scratch("test-sweep", name)
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn sweep(scenario: &str, extra: &[&str], out: &Path) -> Output {
    let mut args = vec!["sweep", scenario, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    sim(&args)
}

#[test]
fn results_do_not_depend_on_jobs() {
    let (one, two) = (scratch("jobs1"), scratch("jobs2"));
    let a = sweep(FLAKY, &["--seeds", "0..12", "--jobs", "1"], &one);
    let b = sweep(FLAKY, &["--seeds", "0..12", "--jobs", "2"], &two);
    assert_eq!(a.status.code(), Some(1), "{}", String::from_utf8_lossy(&a.stderr));
    assert_eq!(b.status.code(), Some(1));
    assert_eq!(read(&one, "seeds.jsonl"), read(&two, "seeds.jsonl"));
    assert_eq!(read(&one, "failures.jsonl"), read(&two, "failures.jsonl"));
    assert_eq!(read(&one, "seeds.jsonl").lines().count(), 12);
    let failures = read(&one, "failures.jsonl").lines().count();
    assert!(failures > 0 && failures < 12, "want mixed results, got {failures} failures of 12");
}

#[test]
fn stop_on_first_reports_the_lowest_failing_seed() {
    let full = scratch("full-for-stop");
    sweep(FLAKY, &["--seeds", "3..15", "--jobs", "2"], &full);
    let full_seeds = read(&full, "seeds.jsonl");
    let lowest = full_seeds.lines().find(|l| l.contains("\"passed\":false")).unwrap();
    for jobs in ["1", "2"] {
        let dir = scratch(&format!("stop{jobs}"));
        let out = sweep(FLAKY, &["--seeds", "3..15", "--stop-on-first", "--jobs", jobs], &dir);
        assert_eq!(out.status.code(), Some(1));
        let seeds = read(&dir, "seeds.jsonl");
        assert_eq!(seeds.lines().last(), Some(lowest), "jobs {jobs}");
        assert!(full_seeds.starts_with(&seeds), "jobs {jobs}: a prefix of the full sweep");
        assert_eq!(read(&dir, "failures.jsonl").lines().count(), 1);
    }
}

#[test]
fn shards_merge_into_the_full_sweep() {
    let full = scratch("full");
    let (s0, s1, merged) = (scratch("shard0"), scratch("shard1"), scratch("merged"));
    sweep(FLAKY, &["--seeds", "0..10", "--jobs", "2"], &full);
    sweep(FLAKY, &["--seeds", "0..10", "--shard", "0/2", "--jobs", "1"], &s0);
    sweep(FLAKY, &["--seeds", "0..10", "--shard", "1/2", "--jobs", "1"], &s1);
    assert_eq!(read(&s0, "seeds.jsonl").lines().count(), 5);
    let out = sim(&[
        "merge",
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(read(&full, "seeds.jsonl"), read(&merged, "seeds.jsonl"));
    assert_eq!(read(&full, "failures.jsonl"), read(&merged, "failures.jsonl"));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["seeds_run"], 10);
}

#[test]
fn merge_rejects_folders_of_different_scenarios() {
    let (a, b, merged) = (scratch("merge-a"), scratch("merge-b"), scratch("merge-out"));
    sweep(FLAKY, &["--seeds", "0..2"], &a);
    sweep(SMALL, &["--seeds", "0..2"], &b);
    let out = sim(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scenario hash"));
}

#[test]
fn bad_input_exits_2_before_running() {
    let dir = scratch("bad");
    let cases: &[&[&str]] = &[
        &["--seeds", "5..5"],
        &["--seeds", "nine"],
        &["--seeds", "0..4", "--shard", "2/2"],
        &["--seeds", "0..4", "--jobs", "0"],
        &["--seeds", "0..4", "--set", "nodes=0"],
    ];
    for extra in cases {
        let out = sweep(FLAKY, extra, &dir.join("never"));
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(!dir.join("never").exists(), "{extra:?} wrote results");
    }
    let out = sweep("tests/fixtures/missing.toml", &["--seeds", "0..4"], &dir.join("never"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn replay_of_a_failure_fails_again_with_the_same_trace() {
    let dir = scratch("replay");
    let out = sweep(FLAKY, &["--seeds", "0..3", "--json"], &dir);
    assert_eq!(out.status.code(), Some(1));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["failures"].as_u64().unwrap() > 0);
    let failures = dir.join("failures.jsonl");
    let out = sim(&["replay", failures.to_str().unwrap(), "--index", "0"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("matches the recorded run"), "{text}");
    assert!(text.contains("failed again"), "{text}");
    assert!(!text.to_lowercase().contains("mismatch") && !text.contains("differ"), "{text}");
}

#[test]
fn printed_reproductions_fail_again_the_replay_first_and_from_any_folder() {
    let dir = scratch("repro");
    let bug = "protocol.bugs=[\"register.serve_reads_while_recovering\"]";
    let extra = ["--seeds", "0..200", "--stop-on-first", "--jobs", "1", "--set", bug];
    let out = sweep("scenarios/quickstart.toml", &extra, &dir);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let commands: Vec<&str> =
        stdout.lines().filter_map(|l| l.find("sim ").map(|at| &l[at..])).collect();
    let replay = commands[0];
    assert!(replay.starts_with(&format!("sim replay {}", dir.display())), "{stdout}");
    assert!(commands[1].starts_with("sim run") && commands[1].contains("--set"), "{stdout}");
    for (command, folder) in [(replay, Path::new("/")), (commands[1], root())] {
        let line = command.replacen("sim", env!("CARGO_BIN_EXE_sim"), 1);
        let out = std::process::Command::new("sh")
            .args(["-c", &line])
            .current_dir(folder)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "`{command}`: {}", printed(&out));
    }
}

#[test]
fn merge_refuses_a_missing_or_repeated_shard_and_names_it() {
    let shards: Vec<PathBuf> = (0..3).map(|k| scratch(&format!("three{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        let shard = format!("{k}/3");
        let out = sweep(SMALL, &["--seeds", "0..9", "--shard", &shard, "--jobs", "1"], dir);
        assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    }
    let other_range = scratch("three-other-range");
    sweep(SMALL, &["--seeds", "0..6", "--shard", "2/3", "--jobs", "1"], &other_range);
    let merged = scratch("three-merged");
    let merge = |dirs: &[&PathBuf]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        args.extend(["--out", merged.to_str().unwrap()]);
        sim(&args)
    };
    let [s0, s1, s2] = [&shards[0], &shards[1], &shards[2]];
    let cases: [(&[&PathBuf], &str); 4] = [
        (&[s0, s1], "shard 2/3 is missing (seeds 2, 5, 8)"),
        (&[s0, s1, s1], "shard 2/3 is missing"),
        (&[s0, s1, s1, s2], "shard 1/3 is given 2 times"),
        (&[s0, s1, &other_range], "`seeds` is 0..6"),
    ];
    for (dirs, says) in cases {
        let out = merge(dirs);
        let text = printed(&out);
        assert_eq!(out.status.code(), Some(2), "{dirs:?}: {text}");
        assert!(text.contains(says), "{dirs:?}: {text}");
        assert!(!merged.join("summary.json").exists(), "{dirs:?} wrote a merge");
    }
    let out = merge(&[s2, s0, s1]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert_eq!(read(&merged, "seeds.jsonl").lines().count(), 9);
}
