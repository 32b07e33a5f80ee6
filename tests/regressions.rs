//! Shrunk reproducers of bugs sim has found, kept as regression tests.
//!
//! Every `tests/regressions/*.toml` was written by `sim shrink` and says in `[expect]` which
//! check fails at which seed: running it must fail that check (and only it), every time.

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

#[test]
fn every_shrunk_reproducer_still_fails_its_check() {
    let files = regression_files();
    assert!(files.len() >= 5, "the bug knobs' reproducers are here: {files:?}");
    for file in files {
        let scenario = Scenario::load(&file, &[]).unwrap();
        let seed =
            scenario.expect.seed.unwrap_or_else(|| panic!("{}: no [expect] seed", file.display()));
        let check = scenario
            .expect
            .fails
            .first()
            .unwrap_or_else(|| panic!("{}: no [expect] fails", file.display()));
        let first =
            sim::systems::builtin().run(&scenario, &file, seed, RunOptions::default()).unwrap();
        let failed: Vec<&str> =
            first.report.checks.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect();
        assert!(
            failed.contains(&check.as_str()) && first.report.passed,
            "{}: expected `{check}` (and nothing else) to fail, failed: {failed:?}",
            file.display()
        );
        let again =
            sim::systems::builtin().run(&scenario, &file, seed, RunOptions::default()).unwrap();
        assert_eq!(again.report.trace_hash, first.report.trace_hash, "{}", file.display());
    }
}
