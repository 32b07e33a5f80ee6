//! `sim check --model list-append|rw-register`: Elle's checker from the command line: exit 0
//! valid (or unknown), 1 anomalies, 2 unreadable input naming the file, the line and the reason;
//! `--json`; the consistency-model and inference options; and 100,000 transactions in release
//! builds.

mod common;

use common::*;
use std::path::PathBuf;

/// The public contract's G0 history.
const G0: &str = "\
{:type :invoke, :f :txn, :process 3, :value [[:append :a 5] [:append :b 5]]}
{:type :invoke, :f :txn, :process 4, :value [[:append :b 6] [:append :a 6]]}
{:type :ok, :f :txn, :process 3, :value [[:append :a 5] [:append :b 5]]}
{:type :ok, :f :txn, :process 4, :value [[:append :b 6] [:append :a 6]]}
{:type :invoke, :f :txn, :process 5, :value [[:r :a nil] [:r :b nil]]}
{:type :ok, :f :txn, :process 5, :value [[:r :a [5 6]] [:r :b [6 5]]]}
";

/// Write skew: allowed by snapshot isolation, not by serializability.
const WRITE_SKEW: &str = "\
{:process 0, :type :invoke, :value [[:r :x nil] [:append :y 1]]}
{:process 1, :type :invoke, :value [[:r :y nil] [:append :x 1]]}
{:process 0, :type :ok, :value [[:r :x []] [:append :y 1]]}
{:process 1, :type :ok, :value [[:r :y []] [:append :x 1]]}
{:process 2, :type :invoke, :value [[:r :x nil] [:r :y nil]]}
{:process 2, :type :ok, :value [[:r :x [1]] [:r :y [1]]]}
";

fn file(name: &str, text: &str) -> PathBuf {
    let dir = scratch("test-elle", name);
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", printed(out)))
}

#[test]
fn the_public_contract_g0() {
    let path = file("g0.edn", G0);
    let out = sim(&["check", path.to_str().unwrap(), "--model", "list-append", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", printed(&out));
    let report = json(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["anomaly_types"], serde_json::json!(["G0"]));
    assert_eq!(report["not"], serde_json::json!(["read-uncommitted"]));
    let human = sim(&["check", path.to_str().unwrap(), "--model", "list-append"]);
    assert_eq!(human.status.code(), Some(1));
    let text = printed(&human);
    assert!(text.contains("T1 -ww(:a)-> T2 -ww(:b)-> T1"), "{text}");
    assert!(text.contains("[[:append :a 5] [:append :b 5]]"), "{text}");
}

#[test]
fn consistency_models_decide_the_exit() {
    let path = file("skew.edn", WRITE_SKEW);
    let path = path.to_str().unwrap();
    let with = |extra: &[&str]| {
        let mut args = vec!["check", path, "--model", "list-append", "--json"];
        args.extend_from_slice(extra);
        sim(&args)
    };
    assert_eq!(with(&[]).status.code(), Some(1));
    let si = with(&["--consistency-model", "snapshot-isolation"]);
    assert_eq!(si.status.code(), Some(0), "{}", printed(&si));
    assert_eq!(json(&si)["valid"], true);
    let both = with(&["--consistency-model", "snapshot-isolation,serializable"]);
    assert_eq!(both.status.code(), Some(1));
    assert_eq!(json(&both)["anomaly_types"], serde_json::json!(["G2-item"]));
    assert_eq!(with(&["--anomalies", "G1c"]).status.code(), Some(0), "only G1c is looked for");
    assert_eq!(with(&["--anomalies", "G2-item"]).status.code(), Some(1));
}

#[test]
fn unknown_verdicts_exit_0() {
    let path = file("alone.edn", "{:process 0, :type :ok, :value [[:append :x 1]]}\n");
    let out = sim(&["check", path.to_str().unwrap(), "--model", "list-append", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", printed(&out));
    assert_eq!(json(&out)["valid"], "unknown");
    assert_eq!(json(&out)["anomaly_types"], serde_json::json!(["empty-transaction-graph"]));
}

#[test]
fn json_lines_and_register_options() {
    let rows = [
        r#"{"id":0,"client":0,"f":"txn","value":[["w","x",1]],"invoke_ns":0,"complete_ns":10,"outcome":"ok"}"#,
        r#"{"id":1,"client":2,"f":"txn","value":[["r","x",1],["r","z",1]],"invoke_ns":5,"complete_ns":50,"outcome":"ok"}"#,
        r#"{"id":2,"client":0,"f":"txn","value":[["w","x",2],["w","z",1]],"invoke_ns":20,"complete_ns":30,"outcome":"ok"}"#,
        r#"{"id":3,"client":3,"f":"txn","value":[["w","y",1]],"invoke_ns":60,"outcome":"info"}"#,
    ];
    let path = file("history.jsonl", &(rows.join("\n") + "\n"));
    let path = path.to_str().unwrap();
    let base = ["check", path, "--model", "rw-register", "--json"];
    let run = |extra: &[&str]| sim(&[&base[..], extra].concat());
    assert_eq!(run(&[]).status.code(), Some(0), "{}", printed(&run(&[])));
    for option in
        [&["--linearizable-keys"][..], &["--sequential-keys"], &["--transaction-order", "0:1,2:2"]]
    {
        let out = run(option);
        assert_eq!(out.status.code(), Some(1), "{option:?}: {}", printed(&out));
        assert_eq!(json(&out)["anomaly_types"], serde_json::json!(["G-single-item"]), "{option:?}");
    }
}

#[test]
fn bad_input_exits_2_naming_file_line_and_reason() {
    let cases = [
        ("bad-mop.edn", "{:process 0, :type :ok, :value [[:append :x 1]]}\n{:process 0, :type :ok, :value [[:append :x]]}\n", ":2: ", "needs an integer"),
        ("bad-edn.edn", "{:process 0, :type :ok, :value [[:append :x 1]\n", ":1: ", "unclosed"),
        ("bad-json.jsonl", "{\"id\":0,\"client\":0,\"value\":[[\"r\",1]],\"invoke_ns\":1,\"complete_ns\":2,\"outcome\":\"ok\"}\n{\"id\":1}\n", ":2: ", "client"),
        ("bad-model.edn", "{:process 0, :type :ok, :value [[:w :x 1]]}\n", ":1: ", "--model rw-register"),
    ];
    for (name, text, line, reason) in cases {
        let path = file(name, text);
        let out = sim(&["check", path.to_str().unwrap(), "--model", "list-append"]);
        let message = printed(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {message}");
        assert!(message.contains(&format!("{name}{line}")), "{name}: {message}");
        assert!(message.contains(reason), "{name}: {message}");
        assert!(!message.contains("panicked"), "{message}");
    }
    let path = file("g0.edn", G0);
    let path = path.to_str().unwrap();
    for (args, reason) in [
        (&["--consistency-model", "serialisable"][..], "unknown consistency model `serialisable`"),
        (&["--anomalies", "G3"], "unknown anomaly `G3`"),
        (&["--wfr-keys"], "need --model rw-register"),
    ] {
        let out = sim(&[&["check", path, "--model", "list-append"][..], args].concat());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", printed(&out));
        assert!(printed(&out).contains(reason), "{args:?}: {}", printed(&out));
    }
    let out = sim(&["check", path, "--model", "register", "--consistency-model", "serializable"]);
    assert_eq!(out.status.code(), Some(2), "{}", printed(&out));
    let missing = sim(&["check", "no-such-file.edn", "--model", "list-append"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(printed(&missing).contains("no-such-file.edn"));
}

/// 100,000 generated transactions, checked by the library in release builds (a debug build
/// skips it: `cargo test --release --test elle`).
#[test]
#[cfg_attr(debug_assertions, ignore = "run in release: cargo test --release --test elle")]
fn a_hundred_thousand_transactions_check_in_seconds() {
    use sim::check::elle::{check, generate, Model, Options, Validity};
    let ops = generate::list_append(7, 100_000, 100);
    let report = check(&ops, Model::ListAppend, &Options::default());
    assert_eq!(report.valid, Validity::True, "{}", report.render());
    assert_eq!(report.txns, 100_000);
}
