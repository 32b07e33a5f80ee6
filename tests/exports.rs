//! Our exports read back into our own checker with the same verdict: the Jepsen EDN history and
//! the JSON Lines history of a run are checked exactly like the run's in-memory history, for a
//! passing run and for a run with a planted bug.

mod common;

use sim::check::history_file::parse_history;
use sim::check::linearizability::{check_history, ModelKind};
use sim::scenario::Scenario;
use sim::sim::RunOptions;
use std::path::Path;

fn verdicts(file: &str, seed: u64) -> (bool, bool, bool) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let scenario = Scenario::load(&path, &[]).unwrap();
    let output =
        sim::systems::builtin().run(&scenario, &path, seed, RunOptions::default()).unwrap();
    let history = output.history;
    let direct = output.report.checks.iter().find(|c| c.name == "linearizability").unwrap().passed;
    let mut edn = Vec::new();
    sim::report::write_edn_history(&mut edn, &history).unwrap();
    let edn = parse_history(std::str::from_utf8(&edn).unwrap(), "history.edn").unwrap();
    let from_edn = check_history(&edn.history, ModelKind::Kv, None).passed();
    let jsonl = history.to_json_lines();
    assert!(jsonl.lines().all(|l| l.contains("\"key\":\"k")), "every op names its key");
    let jsonl = parse_history(&jsonl, "history.jsonl").unwrap();
    let from_jsonl = check_history(&jsonl.history, ModelKind::Kv, None).passed();
    (direct, from_edn, from_jsonl)
}

#[test]
fn exported_histories_get_the_same_verdict() {
    assert_eq!(verdicts("scenarios/quickstart.toml", 2), (true, true, true));
    assert_eq!(verdicts("scenarios/register-recovery-reads.toml", 0), (false, false, false));
}

#[test]
fn sim_check_reads_our_history_edn_strictly_and_says_why_knossos_may_not() {
    let dir = common::scratch("test-exports", "recovery-reads");
    let scenario = "scenarios/register-recovery-reads.toml";
    let run = common::sim(&["run", scenario, "--seed", "0", "--out", dir.to_str().unwrap()]);
    assert!(run.status.code().is_some_and(|c| c < 2), "{}", common::printed(&run));
    let edn = dir.join("history.edn");
    let text = std::fs::read_to_string(&edn).unwrap();
    assert!(text.starts_with("; nil-reads: absent"), "{}", &text[..200.min(text.len())]);
    let check = |extra: &[&str]| {
        let mut args = vec!["check", edn.to_str().unwrap(), "--model", "kv"];
        args.extend_from_slice(extra);
        common::sim(&args).status.code()
    };
    // The planted bug is a read of no value: our file says nil means that, so it is caught...
    assert_eq!(check(&[]), Some(1));
    // ...while read as Knossos reads nil (an unknown value) it goes unseen.
    assert_eq!(check(&["--nil-reads", "unknown"]), Some(0));
}
