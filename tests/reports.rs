//! The committed reports/ gallery matches the code: every scenario has its folder, and the
//! quickstart's recorded trace hash is what the code produces now. If this fails, run
//! `cargo xtask reports` and commit reports/. And the sequence diagram of a failure shows its
//! cause.

mod common;

use common::scratch;
use sim::report::focus::Focus;
use sim::report::gallery::{check_one, scenario_files, GALLERY_SEED, PICTURES};
use sim::sim::RunOptions;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_scenario_has_a_report_folder() {
    let reports = root().join("reports");
    assert!(reports.join("README.md").exists(), "reports/README.md is missing");
    for path in scenario_files(&root().join("scenarios")).unwrap() {
        let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
        let dir = reports.join(&scenario.name);
        assert!(dir.join("summary.json").exists(), "{}: no summary.json", dir.display());
        for picture in PICTURES {
            assert!(
                dir.join(format!("{picture}.png")).exists(),
                "{}: no {picture}.png",
                dir.display()
            );
        }
    }
}

#[test]
fn the_quickstart_report_is_up_to_date() {
    let path = root().join("scenarios/quickstart.toml");
    if let Err(stale) =
        check_one(sim::systems::builtin(), &path, &root().join("reports"), GALLERY_SEED)
    {
        panic!("{stale}");
    }
}

#[test]
fn the_figure8_sequence_diagram_shows_the_commit_and_the_violation() {
    let path = root().join("tests/regressions/raft-figure8-seed47.toml");
    let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
    let dir = scratch("test-reports", "figure8");
    let trace = dir.join("trace.jsonl");
    let file = std::fs::File::create(&trace).unwrap();
    let options = RunOptions {
        trace: Some(sim::engine::TraceWriter::new(Box::new(std::io::BufWriter::new(file)))),
    };
    let seed = scenario.expect.seed.unwrap();
    let output = sim::systems::builtin().run(&scenario, &path, seed, options).unwrap();
    // The scenario expects the failure, so the run passes; the report still shows it.
    assert!(output.report.passed);
    let focus = Focus::of(&output.report, &output.history).expect("a failed check");
    assert_eq!(focus.check, "leader_completeness");
    let (from, to) = focus.window();
    let commit = *focus.named_ns.first().unwrap();
    assert!(from < commit && commit < focus.failure_ns && focus.failure_ns < to, "{focus:?}");
    // The violation is inside the window, not on its edge.
    assert!(to - focus.failure_ns >= 10_000_000 && commit - from >= 10_000_000, "{from}..{to}");
    sim::report::write_run(&dir, &scenario, &output, Some(&trace)).unwrap();
    let svg = std::fs::read_to_string(dir.join("sequence.svg")).unwrap();
    for text in ["violation of `leader_completeness` at ", "named by `leader_completeness`"] {
        assert!(svg.contains(text), "no `{text}` in the diagram");
    }
    // The commit the check names is labelled where it happened, and arrows carry names.
    assert!(svg.contains("\ncommit 15@t1\n"), "the named commit is labelled");
    assert!(svg.contains("\nAppend\n") && svg.contains("\nVote\n"), "arrows are named");
}
