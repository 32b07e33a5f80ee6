//! `sim shrink` and the shrinking library: a failing seed shrinks to a smaller scenario file
//! that fails the same check on its own; a passing seed is refused.

mod common;

use common::*;
use sim::shrink::{fails_check, shrink};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    common::scratch("test-shrink", name)
}

fn fixture(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(file)
}

#[test]
fn a_failing_seed_shrinks_to_a_file_that_fails_on_its_own() {
    let file = scratch("cli").join("shrunk.toml");
    let out = sim(&["shrink", FLAKY, "--seed", "0", "--out", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("before") && stdout.contains("after"), "{stdout}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# Shrunk by `sim shrink`"), "{text}");
    assert!(text.contains("[expect]\nseed = 0"), "{text}");
    // The reproducer fails its check on its own, at the seed it names.
    let plain = sim(&["run", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&plain.stdout);
    assert_eq!(plain.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("liveness check `liveness` failed at seed 0"), "{stdout}");
    // As a regression it states its lesson: the failure shows, so the run passes.
    let kept = scratch("cli").join("kept.toml");
    let out =
        sim(&["shrink", FLAKY, "--seed", "0", "--as-regression", "--out", kept.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&kept).unwrap();
    assert!(text.contains("[expect]\nfails = [\"liveness\"]\nseed = 0"), "{text}");
    let run = sim(&["run", kept.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("the expected failure of `liveness` showed at seed 0"), "{stdout}");
}

#[test]
fn shrinking_makes_the_run_smaller_and_keeps_the_check() {
    let path = fixture(FLAKY);
    let scenario = sim::testing::load(&path);
    let shrunk = shrink(sim::systems::builtin(), &scenario, &path, 0, 200, &mut |_| {}).unwrap();
    assert_eq!(shrunk.check, "liveness");
    assert!(shrunk.verified);
    assert!(shrunk.runs <= 200);
    assert!(fails_check(&shrunk.output, "liveness"));
    assert!(shrunk.after.faults < shrunk.before.faults, "{} -> {}", shrunk.before, shrunk.after);
    // Fewer faults can mean more operations succeed, so events need not drop; time does.
    assert!(shrunk.after.virtual_ns < shrunk.before.virtual_ns);
    assert!(shrunk.scenario.nemesis.is_none(), "faults were made explicit");
}

#[test]
fn the_run_bound_is_respected() {
    let path = fixture(FLAKY);
    let scenario = sim::testing::load(&path);
    let shrunk = shrink(sim::systems::builtin(), &scenario, &path, 0, 5, &mut |_| {}).unwrap();
    assert!(shrunk.runs_limit_hit);
    assert!(shrunk.runs <= 6, "5 shrink runs plus the verification, got {}", shrunk.runs);
    assert!(shrunk.verified);
}

#[test]
fn a_passing_seed_is_refused_with_exit_2() {
    let file = scratch("pass").join("never.toml");
    let out = sim(&[
        "shrink",
        "tests/fixtures/register-small.toml",
        "--seed",
        "0",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("passes every check"));
    assert!(!file.exists());
}
