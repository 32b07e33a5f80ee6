//! Transactions: every anomaly script at every level against Hermitage's published
//! PostgreSQL results and the textbook definitions of our other levels, and the
//! `sim txn-script` command line (its JSON contract, bad scripts, the bug knobs).

mod common;

use common::{printed, root, scratch, sim};
use serde_json::Value;
use sim::txn::matrix::{hermitage_prevents, matrix, script_files, Row, HERMITAGE_POSTGRES};
use sim::txn::script::{run, Script, Verdict};
use sim::txn::{Bugs, Level};
use std::path::Path;

fn rows() -> Vec<Row> {
    matrix(&root().join("scenarios/txn")).unwrap_or_else(|e| panic!("{e}"))
}

fn prevented(row: &Row, level: Level) -> bool {
    let at = Level::ALL.iter().position(|&l| l == level).unwrap();
    matches!(row.verdicts[at], Verdict::Prevented { .. })
}

#[test]
fn our_postgres_levels_agree_with_hermitage() {
    let rows = rows();
    for (id, _) in HERMITAGE_POSTGRES {
        assert!(rows.iter().any(|r| r.id == *id), "no script for Hermitage's {id}");
    }
    let mut compared = 0;
    for row in &rows {
        for level in [Level::ReadCommitted, Level::SnapshotIsolation, Level::Serializable] {
            let Some(expected) = hermitage_prevents(&row.id, level) else { continue };
            compared += 1;
            assert_eq!(
                prevented(row, level),
                expected,
                "{} ({}) at {level}: Hermitage says PostgreSQL {}",
                row.id,
                row.file,
                if expected { "prevents it" } else { "allows it" }
            );
        }
    }
    assert_eq!(compared, 30, "ten anomalies at three levels");
}

#[test]
fn the_other_levels_behave_as_defined() {
    let rows = rows();
    let row = |id: &str| rows.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no {id}"));
    for id in ["G1a", "G1b", "G1c"] {
        assert!(
            !prevented(row(id), Level::ReadUncommitted),
            "{id}: dirty reads at read_uncommitted"
        );
    }
    assert!(prevented(row("G0"), Level::ReadUncommitted), "no dirty writes, even there");
    // PL-2.99: items protected, predicates not.
    for id in ["G0", "G1a", "G1b", "G1c", "OTV", "P4", "G-single", "G2-item"] {
        assert!(prevented(row(id), Level::RepeatableRead), "{id} at repeatable_read");
    }
    for id in ["PMP", "G2"] {
        assert!(!prevented(row(id), Level::RepeatableRead), "{id}: phantoms at repeatable_read");
    }
    assert!(!prevented(row("read-only"), Level::SnapshotIsolation));
    for r in &rows {
        for level in [Level::Serializable, Level::Serializable2pl] {
            assert!(prevented(r, level), "{} at {level}", r.id);
        }
    }
}

#[test]
fn the_bug_knobs_bring_the_anomalies_back() {
    let load = |file: &str| Script::load(&root().join("scenarios/txn").join(file)).unwrap();
    let judge = |script: &Script, level, bugs| {
        script.anomaly.as_ref().unwrap().verdict(&run(script, level, bugs))
    };
    let lost = load("07-p4-lost-update.toml");
    let no_fcw = Bugs { no_first_committer_wins: true, ..Bugs::default() };
    assert_ne!(judge(&lost, Level::SnapshotIsolation, Bugs::default()), Verdict::Possible);
    assert_eq!(judge(&lost, Level::SnapshotIsolation, no_fcw), Verdict::Possible);
    let skew = load("09-g2-item-write-skew.toml");
    let no_rw = Bugs { no_rw_tracking: true, ..Bugs::default() };
    assert_ne!(judge(&skew, Level::Serializable, Bugs::default()), Verdict::Possible);
    assert_eq!(judge(&skew, Level::Serializable, no_rw), Verdict::Possible);
    let phantom = load("10-g2-phantom-write-skew.toml");
    assert_eq!(judge(&phantom, Level::Serializable, no_rw), Verdict::Possible);
}

#[test]
fn the_scripts_are_not_simulation_scenarios() {
    let gallery = sim::report::gallery::scenario_files(&root().join("scenarios")).unwrap();
    assert!(!gallery.is_empty());
    assert!(gallery.iter().all(|p| !p.starts_with(root().join("scenarios/txn"))), "{gallery:?}");
    assert_eq!(script_files(&root().join("scenarios/txn")).unwrap().len(), 11);
}

const WRITE_SKEW: &str = r#"
table = [[1, 10], [2, 20]]
[[step]]
session = 1
op = "begin"
[[step]]
session = 2
op = "begin"
[[step]]
session = 1
op = "read"
key = 1
[[step]]
session = 1
op = "read"
key = 2
[[step]]
session = 2
op = "read"
key = 1
[[step]]
session = 2
op = "read"
key = 2
[[step]]
session = 1
op = "update"
key = 1
value = 11
[[step]]
session = 2
op = "update"
key = 2
value = 21
[[step]]
session = 1
op = "commit"
[[step]]
session = 2
op = "commit"
[[step]]
session = 3
op = "scan"
where = "true"
autocommit = true
"#;

fn run_json(file: &Path, level: &str) -> Value {
    let out = sim(&["txn-script", file.to_str().unwrap(), "--level", level, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

#[test]
fn write_skew_commits_both_under_snapshot_isolation_and_one_under_serializable() {
    let dir = scratch("test-txn", "write-skew");
    let file = dir.join("skew.toml");
    std::fs::write(&file, WRITE_SKEW).unwrap();
    let si = run_json(&file, "snapshot_isolation");
    assert_eq!(si["level"], "snapshot_isolation");
    assert_eq!(si["committed"], serde_json::json!([1, 2]));
    assert_eq!(si["final"], serde_json::json!([[1, 11], [2, 21]]));
    assert_eq!(
        si["steps"][2],
        serde_json::json!({"step": 3, "session": 1, "op": "read", "result": "ok", "returns": 10})
    );
    assert_eq!(si["steps"][6]["affected_keys"], serde_json::json!([1]));
    assert_eq!(si["steps"][10]["returns"], serde_json::json!([[1, 11], [2, 21]]));
    let ser = run_json(&file, "serializable");
    assert_eq!(ser["committed"].as_array().unwrap().len(), 1, "{ser}");
    assert_eq!(ser["aborted"].as_array().unwrap().len(), 1, "{ser}");
    assert_eq!(ser["steps"][9]["error"], "serialization_failure");
    let text = sim(&["txn-script", file.to_str().unwrap(), "--level", "repeatable_read"]);
    let shown = printed(&text);
    assert_eq!(text.status.code(), Some(0), "{shown}");
    assert!(shown.contains("blocked; resumed after step 8"), "{shown}");
    assert!(shown.contains("error: deadlock"), "{shown}");
}

#[test]
fn blocked_and_deferred_steps_say_when_they_ran() {
    let file = root().join("scenarios/txn/07-p4-lost-update.toml");
    let si = run_json(&file, "snapshot_isolation");
    let step6 = &si["steps"][5];
    assert_eq!(step6["result"], "blocked");
    assert_eq!(step6["resumed_after_step"], 7);
    assert_eq!(
        step6["then"],
        serde_json::json!({"result": "error", "error": "serialization_failure"})
    );
    assert_eq!(si["steps"][7]["result"], "skipped");
    // Read skew under repeatable read: session 2's write (step 6) waits for session 1's read
    // lock; its update of row 2 and its commit wait behind it, and all run after step 10.
    let skew =
        run_json(&root().join("scenarios/txn/08-g-single-read-skew.toml"), "repeatable_read");
    assert_eq!(skew["steps"][5]["result"], "blocked", "{skew}");
    assert_eq!(skew["steps"][5]["resumed_after_step"], 10);
    for step in [6, 7] {
        let deferred = &skew["steps"][step];
        assert_eq!(deferred["result"], "deferred", "{skew}");
        assert_eq!(deferred["ran_after_step"], 10);
        assert_eq!(deferred["then"]["result"], "ok");
    }
    assert_eq!(skew["steps"][8]["returns"], 20);
    assert_eq!(skew["committed"], serde_json::json!([1, 2]));
}

#[test]
fn bad_scripts_and_arguments_exit_2_naming_what_is_wrong() {
    let dir = scratch("test-txn", "bad");
    let file = dir.join("bad.toml");
    std::fs::write(&file, WRITE_SKEW.replace("where = \"true\"", "where = \"value > 3\"")).unwrap();
    let out = sim(&["txn-script", file.to_str().unwrap(), "--level", "serializable"]);
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "{}: step 11: where: expected \"true\", \"value = N\" or \"value % N = M\"",
            file.display()
        )),
        "{said}"
    );
    std::fs::write(
        &file,
        WRITE_SKEW
            .replace("op = \"abort\"", "")
            .replace("key = 2\nvalue = 21", "key = 2\nvalu = 21"),
    )
    .unwrap();
    let out = sim(&["txn-script", file.to_str().unwrap(), "--level", "serializable"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(printed(&out).contains("step 8: valu: unknown key"), "{}", printed(&out));
    let out = sim(&["txn-script", file.to_str().unwrap(), "--level", "snapshot"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(printed(&out).contains("--level: unknown level `snapshot`"), "{}", printed(&out));
    let out = sim(&[
        "txn-script",
        "scenarios/txn/01-g0-dirty-write.toml",
        "--level",
        "serializable",
        "--bug",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = sim(&["txn-script", "no-such.toml", "--level", "serializable"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(printed(&out).contains("no-such.toml: cannot read"), "{}", printed(&out));
}

#[test]
fn the_bug_flag_reaches_the_store() {
    let file = "scenarios/txn/09-g2-item-write-skew.toml";
    let out =
        sim(&["txn-script", file, "--level", "serializable", "--bug", "no_rw_tracking", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["committed"], serde_json::json!([1, 2]));
}
