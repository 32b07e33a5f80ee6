//! The committed reports/ gallery matches the code: every scenario has its folder, and the
//! quickstart's recorded trace hash is what the code produces now. If this fails, run
//! `cargo xtask reports` and commit reports/. And what `sim run --out` writes: the whole trace
//! only with `--trace`, and a sequence diagram of a failure that shows its cause.

mod common;

use common::{scratch, sim, SMALL};
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

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn bytes(file: &Path) -> u64 {
    std::fs::metadata(file).unwrap_or_else(|e| panic!("{}: {e}", file.display())).len()
}

fn chrome_events(file: &Path) -> Vec<serde_json::Value> {
    let trace: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    trace["traceEvents"].as_array().unwrap().clone()
}

#[test]
fn run_out_keeps_the_whole_trace_only_with_the_trace_flag() {
    let dir = scratch("test-reports", "trace-flag");
    let (compact, full) = (dir.join("compact"), dir.join("full"));
    let run = |out: &Path, trace: bool| {
        let mut args = vec!["run", SMALL, "--seed", "1", "--out", out.to_str().unwrap()];
        if trace {
            args.push("--trace");
        }
        let output = sim(&args);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    };
    run(&compact, false);
    run(&full, true);
    let listed = files(&compact);
    for file in ["sequence.png", "timeline.html", "history.edn", "chrome-trace.json"] {
        assert!(listed.iter().any(|f| f == file), "{file} missing: {listed:?}");
    }
    assert!(listed.iter().any(|f| f == "trace-window.jsonl"), "{listed:?}");
    assert!(!listed.iter().any(|f| f.contains("trace.jsonl") || f.starts_with('.')), "{listed:?}");
    assert!(files(&full).iter().any(|f| f == "trace.jsonl"));
    let window = bytes(&compact.join("trace-window.jsonl"));
    let whole = bytes(&full.join("trace.jsonl"));
    assert!(window * 5 < whole, "the window ({window} B) is a small part of the trace ({whole} B)");
    let (small, large) = (compact.join("chrome-trace.json"), full.join("chrome-trace.json"));
    assert!(bytes(&small) * 2 < bytes(&large), "{} vs {}", bytes(&small), bytes(&large));
    // The full Chrome trace joins every message received to its send.
    let events = chrome_events(&large);
    let received = events.iter().filter(|e| e["cat"] == "recv").count();
    let arrows = events.iter().filter(|e| e["ph"] == "f").count();
    assert!(received > 100 && arrows >= received, "{arrows} arrows for {received} receipts");
    // The compact one says what it leaves out.
    let title = |events: &[serde_json::Value]| {
        let e = events.iter().find(|e| e["name"] == "process_name").unwrap();
        e["args"]["name"].as_str().unwrap().to_string()
    };
    assert!(title(&chrome_events(&small)).contains("only (`sim run --trace` exports all)"));
    assert!(!title(&events).contains("only"));
    // The same pictures either way: the sequence diagram reads the same window.
    assert_eq!(
        std::fs::read(compact.join("sequence.svg")).unwrap(),
        std::fs::read(full.join("sequence.svg")).unwrap()
    );
    // A later run without --trace does not leave the earlier run's trace behind.
    run(&full, false);
    assert!(!files(&full).iter().any(|f| f == "trace.jsonl"), "{:?}", files(&full));
}

#[test]
fn the_figure8_sequence_diagram_shows_the_commit_and_the_violation() {
    let path = root().join("tests/regressions/raft-figure8-seed47.toml");
    let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
    let dir = scratch("test-reports", "figure8");
    let trace = dir.join("trace.jsonl");
    let file = std::fs::File::create(&trace).unwrap();
    let options = RunOptions::with_trace(sim::engine::TraceWriter::new(Box::new(
        std::io::BufWriter::new(file),
    )));
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

#[test]
fn a_linearizability_failure_is_shown_at_the_op_with_no_valid_place() {
    let path = root().join("scenarios/register-recovery-reads.toml");
    let scenario = sim::scenario::Scenario::load(&path, &[]).unwrap();
    let dir = scratch("test-reports", "recovery-reads");
    let trace = dir.join("trace.jsonl");
    let file = std::fs::File::create(&trace).unwrap();
    let writer = sim::engine::TraceWriter::new(Box::new(std::io::BufWriter::new(file)));
    let options = RunOptions::with_trace(writer);
    let output = sim::systems::builtin().run(&scenario, &path, 0, options).unwrap();
    let focus = Focus::of(&output.report, &output.history).expect("linearizability fails");
    assert_eq!(focus.check, "linearizability");
    let check = output.report.checks.iter().find(|c| c.name == "linearizability").unwrap();
    let stuck = sim::report::focus::named_ops(&check.detail).stuck.unwrap();
    let op = output.history.ops.iter().find(|o| o.id == stuck).unwrap();
    assert_eq!((focus.first_ns(), focus.failure_ns), (op.invoke_ns, op.complete_ns));
    let note = focus.note(op.complete_ns).unwrap().to_string();
    assert!(note.starts_with(&format!("#{stuck} get ")) && note.ends_with(" completed"), "{note}");
    sim::report::write_run(&dir, &scenario, &output, Some(&trace)).unwrap();
    let svg = std::fs::read_to_string(dir.join("sequence.svg")).unwrap();
    assert!(svg.contains("violation of `linearizability` at "), "{note}");
    assert!(svg.contains(&note.replace('>', "&gt;")), "the violation says which op: {note}");
}
