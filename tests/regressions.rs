//! Shrunk reproducers of bugs sim has found, kept as regression tests.
//!
//! Every `tests/regressions/*.toml` was written by `sim shrink` and carries a line
//! `# expect: seed=N check=NAME`: running it with that seed must fail that check, every time.

use sim::scenario::Scenario;
use sim::sim::RunOptions;
use std::path::{Path, PathBuf};

fn regression_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/regressions exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// The `# expect: seed=N check=NAME` line of a regression file.
fn expectation(text: &str, file: &Path) -> (u64, String) {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{}: no `# expect:` line", file.display()));
    let mut seed = None;
    let mut check = None;
    for part in line.split_whitespace() {
        match part.split_once('=') {
            Some(("seed", v)) => seed = v.parse().ok(),
            Some(("check", v)) => check = Some(v.to_string()),
            _ => {}
        }
    }
    (seed.expect("seed=N"), check.expect("check=NAME"))
}

#[test]
fn every_shrunk_reproducer_still_fails_its_check() {
    let files = regression_files();
    assert!(files.len() >= 5, "the bug knobs' reproducers are here: {files:?}");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let (seed, check) = expectation(&text, &file);
        let scenario = Scenario::parse(&text, &file, &[]).unwrap();
        let first = sim::systems::run(&scenario, &file, seed, RunOptions::default()).unwrap();
        let failed: Vec<&str> =
            first.report.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
        assert!(
            failed.contains(&check.as_str()),
            "{}: expected `{check}` to fail, failed: {failed:?}",
            file.display()
        );
        let again = sim::systems::run(&scenario, &file, seed, RunOptions::default()).unwrap();
        assert_eq!(again.report.trace_hash, first.report.trace_hash, "{}", file.display());
    }
}
