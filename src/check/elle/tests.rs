//! The checker on hand-built histories: each anomaly class, Elle's documented examples, the
//! process and real-time variants, each model's verdict, lenient inputs, and generated
//! histories with and without injected faults.

use super::generate;
use super::parse::parse;
use super::*;
use crate::property::proptest_config;
use proptest::prelude::*;

fn run(model: Model, edn: &str, models: &[&str]) -> Report {
    let parsed = parse(edn, "test.edn", model).expect("parses");
    let options = Options {
        consistency_models: models.iter().map(|m| ConsistencyModel::named(m).unwrap()).collect(),
        key_names: parsed.key_names,
        ..Options::default()
    };
    check(&parsed.ops, model, &options)
}

fn append(edn: &str) -> Report {
    run(Model::ListAppend, edn, &["strict-serializable"])
}

fn types(report: &Report) -> Vec<&str> {
    report.anomaly_types.iter().map(String::as_str).collect()
}

fn has(report: &Report, name: &str) -> bool {
    report.anomaly_types.iter().any(|t| t == name)
}

/// The public contract: two appends in opposite orders on two keys.
const G0: &str = "\
{:type :invoke, :f :txn, :process 3, :value [[:append :a 5] [:append :b 5]]}
{:type :invoke, :f :txn, :process 4, :value [[:append :b 6] [:append :a 6]]}
{:type :ok, :f :txn, :process 3, :value [[:append :a 5] [:append :b 5]]}
{:type :ok, :f :txn, :process 4, :value [[:append :b 6] [:append :a 6]]}
{:type :invoke, :f :txn, :process 5, :value [[:r :a nil] [:r :b nil]]}
{:type :ok, :f :txn, :process 5, :value [[:r :a [5 6]] [:r :b [6 5]]]}
";

#[test]
fn g0_is_a_write_cycle() {
    let report = append(G0);
    assert_eq!(report.valid, Validity::False);
    assert_eq!(types(&report), vec!["G0"]);
    assert_eq!(report.not, vec!["read-uncommitted"]);
    let g0 = &report.anomalies["G0"][0];
    assert_eq!(g0.detail, "T1 -ww(:a)-> T2 -ww(:b)-> T1");
    assert_eq!(g0.txns.iter().map(|t| t.index).collect::<Vec<_>>(), vec![2, 3]);
    // The same appends read in one order are fine.
    let fixed = G0.replace("[:r :b [6 5]]", "[:r :b [5 6]]");
    assert_eq!(append(&fixed).valid, Validity::True);
}

/// Elle's README example: T1 reads y = [1] which T2 appended, and T2's append to x follows T1's.
const G1C: &str = "[{:process 0, :type :ok, :value [[:append :x 1] [:r :y [1]]]}
 {:process 1, :type :ok, :value [[:append :x 2] [:append :y 1]]}
 {:process 2, :type :ok, :value [[:r :x [1 2]]]}]";

#[test]
fn g1c_as_in_elles_readme() {
    let report = append(G1C);
    assert!(has(&report, "G1c"), "{}", report.render());
    assert_eq!(report.not, vec!["read-committed"]);
    let cycle = &report.anomalies["G1c"][0];
    assert_eq!(cycle.detail, "T1 -wr(:y)-> T2 -ww(:x)-> T1");
    assert_eq!(run(Model::ListAppend, G1C, &["read-uncommitted"]).valid, Validity::True);
}

const G_SINGLE: &str = "\
{:process 0, :type :invoke, :value [[:append :x 1] [:append :y 1]]}
{:process 1, :type :invoke, :value [[:r :x nil] [:r :y nil]]}
{:process 0, :type :ok, :value [[:append :x 1] [:append :y 1]]}
{:process 1, :type :ok, :value [[:r :x [1]] [:r :y []]]}
{:process 2, :type :invoke, :value [[:r :y nil]]}
{:process 2, :type :ok, :value [[:r :y [1]]]}
";

#[test]
fn g_single_is_a_read_skew() {
    let report = append(G_SINGLE);
    assert_eq!(types(&report), vec!["G-single-item"], "{}", report.render());
    assert_eq!(report.not, vec!["consistent-view", "repeatable-read"]);
    assert!(report.anomalies["G-single-item"][0].detail.contains("-rw(:y)->"));
    for (model, valid) in [
        ("snapshot-isolation", Validity::False),
        ("repeatable-read", Validity::False),
        ("read-committed", Validity::True),
        ("read-uncommitted", Validity::True),
    ] {
        assert_eq!(run(Model::ListAppend, G_SINGLE, &[model]).valid, valid, "{model}");
    }
}

/// Write skew: each reads the key the other appends to.
const WRITE_SKEW: &str = "\
{:process 0, :type :invoke, :value [[:r :x nil] [:append :y 1]]}
{:process 1, :type :invoke, :value [[:r :y nil] [:append :x 1]]}
{:process 0, :type :ok, :value [[:r :x []] [:append :y 1]]}
{:process 1, :type :ok, :value [[:r :y []] [:append :x 1]]}
{:process 2, :type :invoke, :value [[:r :x nil] [:r :y nil]]}
{:process 2, :type :ok, :value [[:r :x [1]] [:r :y [1]]]}
";

#[test]
fn each_consistency_model_judges_write_skew() {
    let report = append(WRITE_SKEW);
    assert_eq!(types(&report), vec!["G2-item"], "{}", report.render());
    assert_eq!(report.not, vec!["repeatable-read"]);
    assert!(report.anomalies["G2-item"][0].detail.contains("-rw(:x)->"));
    for (model, valid) in [
        ("strict-serializable", Validity::False),
        ("strong-serializable", Validity::False),
        ("serializable", Validity::False),
        ("repeatable-read", Validity::False),
        ("snapshot-isolation", Validity::True),
        ("strong-session-snapshot-isolation", Validity::True),
        ("read-committed", Validity::True),
    ] {
        assert_eq!(run(Model::ListAppend, WRITE_SKEW, &[model]).valid, valid, "{model}");
    }
    // Several models at once: the union of what they forbid.
    let both = run(Model::ListAppend, WRITE_SKEW, &["snapshot-isolation", "repeatable-read"]);
    assert_eq!(both.valid, Validity::False);
}

#[test]
fn nonadjacent_rw_edges_are_g_nonadjacent() {
    let report = append(
        "[{:process 0, :type :ok, :value [[:r :x []] [:r :w [1]]]}
          {:process 1, :type :ok, :value [[:append :x 1] [:append :y 1]]}
          {:process 2, :type :ok, :value [[:r :y [1]] [:r :z []]]}
          {:process 3, :type :ok, :value [[:append :z 1] [:append :w 1]]}
          {:process 4, :type :ok, :value [[:r :x [1]] [:r :z [1]]]}]",
    );
    assert!(has(&report, "G-nonadjacent-item"), "{}", report.render());
    let cycle = &report.anomalies["G-nonadjacent-item"][0];
    let rels: Vec<Rel> = cycle.cycle.iter().map(|s| s.rel).collect();
    assert_eq!(rels.iter().filter(|r| **r == Rel::Rw).count(), 2, "{}", cycle.detail);
    assert!(report.not.contains(&"snapshot-isolation".to_string()), "{:?}", report.not);
}

/// T1 appends x 1 and completes; T2 begins after and reads x empty: a stale read.
const STALE: &str = "\
{:process 0, :type :invoke, :value [[:append :x 1]]}
{:process 0, :type :ok, :value [[:append :x 1]]}
{:process 1, :type :invoke, :value [[:r :x nil]]}
{:process 1, :type :ok, :value [[:r :x []]]}
{:process 2, :type :invoke, :value [[:r :x nil]]}
{:process 2, :type :ok, :value [[:r :x [1]]]}
";

#[test]
fn realtime_variants_need_the_realtime_order() {
    let report = append(STALE);
    assert_eq!(types(&report), vec!["G-single-item-realtime"], "{}", report.render());
    assert_eq!(
        report.anomalies["G-single-item-realtime"][0].detail,
        "T1 -rw(:x)-> T2 -realtime-> T1"
    );
    assert_eq!(report.not, vec!["strong-snapshot-isolation"]);
    assert_eq!(run(Model::ListAppend, STALE, &["serializable"]).valid, Validity::True);
    // On one process, the session models see it too.
    let one_process = STALE.replace(":process 1", ":process 0");
    let session = run(Model::ListAppend, &one_process, &["strong-session-serializable"]);
    assert_eq!(types(&session), vec!["G-single-item-process"], "{}", session.render());
    assert_eq!(
        run(Model::ListAppend, STALE, &["strong-session-serializable"]).valid,
        Validity::True
    );
}

#[test]
fn g0_realtime() {
    // T1 appends x 1 then y 1 comes after; T2, begun after T1 completed, is ordered before T1
    // on y: a ww cycle closed by real time.
    let report = append(
        "{:process 0, :type :invoke, :value [[:append :x 1] [:append :y 2]]}
         {:process 0, :type :ok, :value [[:append :x 1] [:append :y 2]]}
         {:process 1, :type :invoke, :value [[:append :y 1]]}
         {:process 1, :type :ok, :value [[:append :y 1]]}
         {:process 2, :type :invoke, :value [[:r :y nil]]}
         {:process 2, :type :ok, :value [[:r :y [1 2]]]}",
    );
    assert!(has(&report, "G0-realtime"), "{}", report.render());
}

#[test]
fn aborted_and_intermediate_reads() {
    let g1a = append(
        "{:process 0, :type :invoke, :value [[:append :x 1]]}
         {:process 0, :type :fail, :value [[:append :x 1]]}
         {:process 1, :type :invoke, :value [[:r :x nil]]}
         {:process 1, :type :ok, :value [[:r :x [1]]]}",
    );
    assert!(has(&g1a, "G1a"), "{}", g1a.render());
    assert_eq!(g1a.not, vec!["read-committed"]);
    let g1b = append(
        "{:process 0, :type :ok, :value [[:append :x 1] [:append :x 2]]}
         {:process 1, :type :ok, :value [[:r :x [1]]]}",
    );
    assert!(has(&g1b, "G1b"), "{}", g1b.render());
    let final_read = append(
        "{:process 0, :type :ok, :value [[:append :x 1] [:append :x 2]]}
         {:process 1, :type :ok, :value [[:r :x [1 2]]]}",
    );
    assert_eq!(final_read.valid, Validity::True, "{}", final_read.render());
}

#[test]
fn internal_and_future_reads() {
    let internal = append("{:process 0, :type :ok, :value [[:append :x 1] [:r :x [2]]]}");
    assert!(has(&internal, "internal"), "{}", internal.render());
    let reread = append("{:process 0, :type :ok, :value [[:r :x [1]] [:r :x [1 2]]]}");
    assert!(has(&reread, "internal"));
    let fine = append(
        "{:process 1, :type :ok, :value [[:append :x 7]]}
         {:process 0, :type :ok, :value [[:r :x [7]] [:append :x 1] [:r :x [7 1]]]}",
    );
    assert!(!has(&fine, "internal"), "{}", fine.render());
    let future = append(
        "{:process 0, :type :ok, :value [[:r :x [1]] [:append :x 1]]}
         {:process 1, :type :ok, :value [[:r :x [1]]]}",
    );
    assert!(has(&future, "future-read"), "{}", future.render());
}

#[test]
fn dirty_updates_duplicates_and_incompatible_orders() {
    let dirty = append(
        "{:process 0, :type :invoke, :value [[:append :x 1]]}
         {:process 0, :type :fail, :value [[:append :x 1]]}
         {:process 1, :type :ok, :value [[:append :x 2]]}
         {:process 2, :type :ok, :value [[:r :x [1 2]]]}",
    );
    assert!(has(&dirty, "dirty-update") && has(&dirty, "G1a"), "{}", dirty.render());
    let dup = append(
        "{:process 0, :type :ok, :value [[:append :x 1]]}
         {:process 1, :type :ok, :value [[:r :x [1 1]]]}",
    );
    assert!(has(&dup, "duplicate-elements"), "{}", dup.render());
    let incompatible = append(
        "{:process 0, :type :ok, :value [[:append :x 1]]}
         {:process 1, :type :ok, :value [[:append :x 2]]}
         {:process 3, :type :ok, :value [[:append :x 3]]}
         {:process 2, :type :ok, :value [[:r :x [1 2]]]}
         {:process 4, :type :ok, :value [[:r :x [1 3]]]}",
    );
    assert!(has(&incompatible, "incompatible-order"), "{}", incompatible.render());
    let garbage = append("{:process 0, :type :ok, :value [[:r :x [9]]]}");
    assert!(has(&garbage, "garbage-read"), "{}", garbage.render());
    assert_eq!(garbage.not, vec!["read-uncommitted"]);
}

#[test]
fn lost_update_is_found_directly() {
    let report = append(
        "{:process 0, :type :invoke, :value [[:r :x nil] [:append :x 1]]}
         {:process 1, :type :invoke, :value [[:r :x nil] [:append :x 2]]}
         {:process 0, :type :ok, :value [[:r :x []] [:append :x 1]]}
         {:process 1, :type :ok, :value [[:r :x []] [:append :x 2]]}
         {:process 2, :type :ok, :value [[:r :x [1 2]]]}",
    );
    assert!(has(&report, "lost-update"), "{}", report.render());
    assert_eq!(report.anomalies["lost-update"][0].txns.len(), 2);
    let serial = append(
        "{:process 0, :type :ok, :value [[:r :x []] [:append :x 1]]}
         {:process 1, :type :ok, :value [[:r :x [1]] [:append :x 2]]}
         {:process 2, :type :ok, :value [[:r :x [1 2]]]}",
    );
    assert_eq!(serial.valid, Validity::True, "{}", serial.render());
}

#[test]
fn an_empty_graph_is_unknown() {
    let report = append("{:process 0, :type :ok, :value [[:append :x 1]]}");
    assert_eq!(report.valid, Validity::Unknown);
    assert_eq!(types(&report), vec!["empty-transaction-graph"]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["valid"], "unknown");
    assert_eq!(serde_json::to_value(append(G0)).unwrap()["valid"], false);
}

#[test]
fn chosen_anomalies_alone() {
    let parsed = parse(WRITE_SKEW, "t", Model::ListAppend).unwrap();
    let only = |names: &[&str]| Options {
        consistency_models: Vec::new(),
        anomalies: Some(names.iter().map(|s| s.to_string()).collect()),
        ..Options::default()
    };
    assert_eq!(check(&parsed.ops, Model::ListAppend, &only(&["G1c"])).valid, Validity::True);
    assert_eq!(check(&parsed.ops, Model::ListAppend, &only(&["G2"])).valid, Validity::False);
}

// rw-register.

fn register(edn: &str, options: Options) -> Report {
    let parsed = parse(edn, "test.edn", Model::RwRegister).expect("parses");
    check(&parsed.ops, Model::RwRegister, &Options { key_names: parsed.key_names, ..options })
}

#[test]
fn registers_infer_from_nil_and_find_g_single() {
    let report = register(
        "{:process 0, :type :ok, :value [[:w :x 1] [:w :y 1]]}
         {:process 1, :type :ok, :value [[:r :x 1] [:r :y nil]]}",
        Options::default(),
    );
    assert!(has(&report, "G-single-item"), "{}", report.render());
    let fine = register(
        "{:process 0, :type :ok, :value [[:w :x 1] [:w :y 1]]}
         {:process 1, :type :ok, :value [[:r :x 1] [:r :y 1]]}",
        Options::default(),
    );
    assert_eq!(fine.valid, Validity::True, "{}", fine.render());
}

#[test]
fn register_anomalies_without_cycles() {
    let report = register(
        "{:process 0, :type :invoke, :value [[:w :x 1]]}
         {:process 0, :type :fail, :value [[:w :x 1]]}
         {:process 1, :type :ok, :value [[:r :x 1]]}
         {:process 2, :type :ok, :value [[:w :y 1] [:w :y 2]]}
         {:process 3, :type :ok, :value [[:r :y 1]]}
         {:process 4, :type :ok, :value [[:w :z 1] [:r :z 2]]}
         {:process 5, :type :ok, :value [[:r :q 5]]}
         {:process 6, :type :ok, :value [[:r :u nil] [:w :u 1]]}
         {:process 7, :type :ok, :value [[:r :u nil] [:w :u 2]]}",
        Options::default(),
    );
    for name in ["G1a", "G1b", "internal", "garbage-read", "lost-update"] {
        assert!(has(&report, name), "{name}: {}", report.render());
    }
}

/// Process 0 writes x 1 then x 2; T3 (spanning both) reads x 1 and the z that x 2's writer
/// wrote: only an order of x's versions makes it a cycle.
const ORDERED_REGISTER: &str = "\
{:process 0, :type :invoke, :value [[:w :x 1]]}
{:process 2, :type :invoke, :value [[:r :x nil] [:r :z nil]]}
{:process 0, :type :ok, :value [[:w :x 1]]}
{:process 0, :type :invoke, :value [[:w :x 2] [:w :z 1]]}
{:process 0, :type :ok, :value [[:w :x 2] [:w :z 1]]}
{:process 2, :type :ok, :value [[:r :x 1] [:r :z 1]]}
";

#[test]
fn register_version_orders_from_assumptions() {
    assert_eq!(register(ORDERED_REGISTER, Options::default()).valid, Validity::True);
    for options in [
        Options { linearizable_keys: true, ..Options::default() },
        Options { sequential_keys: true, ..Options::default() },
    ] {
        let report = register(ORDERED_REGISTER, options);
        assert_eq!(types(&report), vec!["G-single-item"], "{}", report.render());
        assert_eq!(report.anomalies["G-single-item"][0].detail, "T1 -rw(:x)-> T2 -wr(:z)-> T1");
    }
    // A read of x 1 after x 2 completed: x's versions cannot be linearizable.
    let stale = "{:process 0, :type :ok, :value [[:w :x 1]]}
                 {:process 1, :type :ok, :value [[:w :x 2]]}
                 {:process 2, :type :ok, :value [[:r :x 1]]}";
    let report = register(stale, Options { linearizable_keys: true, ..Options::default() });
    assert!(has(&report, "cyclic-versions"), "{}", report.render());
    assert_eq!(register(stale, Options::default()).valid, Validity::True);
}

#[test]
fn register_writes_follow_reads_and_cyclic_versions() {
    let history = "{:process 0, :type :ok, :value [[:r :x 1] [:w :x 2]]}
                   {:process 1, :type :ok, :value [[:r :x 2] [:w :x 1]]}";
    let report = register(history, Options { wfr_keys: true, ..Options::default() });
    assert!(has(&report, "cyclic-versions"), "{}", report.render());
    assert!(!has(&register(history, Options::default()), "cyclic-versions"));
}

#[test]
fn register_transaction_order() {
    // T1 writes x 1 and z 1 ... T2 writes x 2 and reads y; T3 reads x 1 and z... all concurrent.
    let history = "\
{:process 0, :type :invoke, :value [[:w :x 1]]}
{:process 1, :type :invoke, :value [[:w :x 2] [:w :z 1]]}
{:process 2, :type :invoke, :value [[:r :x nil] [:r :z nil]]}
{:process 0, :type :ok, :index 10, :value [[:w :x 1]]}
{:process 1, :type :ok, :index 11, :value [[:w :x 2] [:w :z 1]]}
{:process 2, :type :ok, :index 12, :value [[:r :x 1] [:r :z 1]]}";
    assert_eq!(register(history, Options::default()).valid, Validity::True);
    let order = [(10, 1), (11, 2)].into_iter().collect();
    let report =
        register(history, Options { transaction_order: Some(order), ..Options::default() });
    assert_eq!(types(&report), vec!["G-single-item"], "{}", report.render());
}

// Input formats.

#[test]
fn lenient_edn_inputs() {
    let parsed = parse(
        "; a comment
         {:type :invoke, :process 0, :value [[:append 1 5] [:r :x]], :index 10}
         {:type :invoke, :process 0, :value [[:append 1 6]], :index 20}
         {:type :ok, :process 0, :value [[:append 1 5] [:r :x [3]]], :index 30}
         {:type :info, :process 0, :value [[:append 1 6]], :index 40}
         {:type :ok, :process 7, :value [], :index 41}
         {:type :info, :process :nemesis, :f :partition, :value nil}
         {:type :ok, :process 9, :f :txn, :time 5, :value [[:r 1 [5 6]] [:r :x nil]]}",
        "lenient.edn",
        Model::ListAppend,
    )
    .unwrap();
    assert_eq!(parsed.ops.len(), 6, "the nemesis record is skipped");
    assert_eq!(parsed.ops[0].index, 10);
    assert_eq!(parsed.ops[0].mops[1], Mop::Read { key: 1, value: None });
    assert_eq!(parsed.key_names.values().cloned().collect::<Vec<_>>(), vec!["1", ":x"]);
    let report = check(&parsed.ops, Model::ListAppend, &Options::default());
    // :x = [3] was never appended; the info append of 6 was read: fine.
    assert_eq!(types(&report), vec!["garbage-read"], "{}", report.render());
}

#[test]
fn bad_inputs_name_the_line() {
    let cases = [
        ("{:type :ok, :process 0, :value [[:append :x]]}", 1, "needs an integer"),
        ("{:type :ok, :process 0, :value [[:w :x 1]]}", 1, "rw-register"),
        ("{:type :ok, :process 0, :value [[:append :x 1]]}\n{:type :ok, :value []}", 2, ":process"),
        ("{:type :done, :process 0, :value []}", 1, ":type"),
        ("{:type :ok, :process 0, :value [[:r :x 1]]}", 1, "list or nil"),
        ("{:type :ok, :process 0, :value 5}", 1, "vector"),
        ("{:type :ok, :process 0, :value [[:r :x [1 2]}", 1, ""),
        ("hello", 1, "not a history"),
        (
            "{\"id\":0,\"client\":1,\"value\":[],\"invoke_ns\":5,\"outcome\":\"maybe\"}",
            1,
            "outcome",
        ),
    ];
    for (text, line, reason) in cases {
        let error = parse(text, "bad.edn", Model::ListAppend).unwrap_err();
        assert_eq!(error.line, Some(line), "{text}: {error}");
        assert!(error.reason.contains(reason), "{text}: {error}");
        assert!(error.to_string().starts_with(&format!("bad.edn:{line}: ")), "{error}");
    }
}

#[test]
fn json_lines_of_the_txn_system() {
    let text = r#"{"id":0,"client":3,"f":"txn","value":[["append",1,5],["append",2,5]],"invoke_ns":10,"complete_ns":30,"outcome":"ok"}
{"id":1,"client":4,"f":"txn","value":[["append",2,6],["append",1,6]],"invoke_ns":20,"complete_ns":40,"outcome":"ok"}
{"id":2,"client":5,"f":"txn","value":[["r",1,[5,6]],["r",2,[6,5]]],"invoke_ns":50,"complete_ns":60,"outcome":"ok"}
{"id":3,"client":6,"f":"txn","value":[["append",1,7],["r",2,null]],"invoke_ns":55,"outcome":"info"}
{"id":4,"client":7,"f":"txn","value":[["append","k",1]],"invoke_ns":56,"complete_ns":57,"outcome":"fail"}"#;
    let parsed = parse(text, "history.jsonl", Model::ListAppend).unwrap();
    assert_eq!(parsed.ops.len(), 10);
    assert_eq!(parsed.ops.last().unwrap().kind, OpType::Info, "info completes never: last");
    let options = Options { key_names: parsed.key_names, ..Options::default() };
    let report = check(&parsed.ops, Model::ListAppend, &options);
    assert_eq!(types(&report), vec!["G0"], "{}", report.render());
    assert_eq!(report.anomalies["G0"][0].detail, "T1 -ww(1)-> T2 -ww(2)-> T1");
}

// Generated histories.

fn inject_lost_update(ops: &mut Vec<Op>, key: Key) {
    let full: Vec<i64> = ops
        .iter()
        .filter(|o| o.kind == OpType::Ok)
        .flat_map(|o| o.mops.iter())
        .filter_map(|m| match m {
            Mop::Append { key: k, value } if *k == key => Some(*value),
            _ => None,
        })
        .collect();
    let read = |list: Vec<i64>| Mop::Read { key, value: Some(ReadValue::List(list)) };
    let mut end = full.clone();
    end.extend([1_000_001, 1_000_002]);
    let txns = [
        (100, vec![read(full.clone()), Mop::Append { key, value: 1_000_001 }]),
        (101, vec![read(full.clone()), Mop::Append { key, value: 1_000_002 }]),
        (102, vec![read(end)]),
    ];
    for (process, mops) in txns {
        let index = ops.len() as u64;
        ops.push(Op { index, process, kind: OpType::Ok, mops, time: None });
    }
}

proptest! {
    #![proptest_config(proptest_config(64))]

    #[test]
    fn generated_histories_are_strictly_serializable(
        seed in any::<u64>(), txns in 1usize..80, keys in 1u64..6, registers in any::<bool>(),
    ) {
        let (model, ops) = if registers {
            (Model::RwRegister, generate::rw_register(seed, txns, keys))
        } else {
            (Model::ListAppend, generate::list_append(seed, txns, keys))
        };
        let report = check(&ops, model, &Options::default());
        prop_assert!(report.valid != Validity::False, "{}", report.render());
        prop_assert!(
            report.anomaly_types.iter().all(|t| t == "empty-transaction-graph"),
            "{}", report.render()
        );
    }

    #[test]
    fn an_injected_lost_update_is_caught(seed in any::<u64>(), txns in 1usize..60, keys in 1u64..4) {
        let mut ops = generate::list_append(seed, txns, keys);
        inject_lost_update(&mut ops, 0);
        let report = check(&ops, Model::ListAppend, &Options::default());
        prop_assert_eq!(report.valid, Validity::False);
        prop_assert!(has(&report, "lost-update"), "{}", report.render());
    }

    #[test]
    fn a_swapped_read_is_caught(seed in any::<u64>(), txns in 20usize..80, pick in any::<u64>()) {
        let mut ops = generate::list_append(seed, txns, 2);
        // A read of two or more elements, its first two swapped.
        let reads: Vec<(usize, usize)> = ops.iter().enumerate().filter(|(_, o)| o.kind == OpType::Ok)
            .flat_map(|(i, o)| o.mops.iter().enumerate().filter_map(move |(j, m)| match m {
                Mop::Read { value: Some(ReadValue::List(l)), .. } if l.len() >= 2 => Some((i, j)),
                _ => None,
            }))
            .collect();
        prop_assume!(!reads.is_empty());
        let (i, j) = reads[(pick % reads.len() as u64) as usize];
        let key = ops[i].mops[j].key();
        if let Mop::Read { value: Some(ReadValue::List(l)), .. } = &mut ops[i].mops[j] {
            l.swap(0, 1);
        }
        // A final read of the whole list settles the order of appends.
        let full: Vec<i64> = ops.iter().filter(|o| o.kind == OpType::Ok).flat_map(|o| o.mops.iter())
            .filter_map(|m| match m { Mop::Append { key: k, value } if *k == key => Some(*value), _ => None })
            .collect();
        let index = ops.len() as u64;
        ops.insert(0, Op { index, process: 99, kind: OpType::Ok, time: None,
            mops: vec![Mop::Read { key, value: Some(ReadValue::List(full)) }] });
        let report = check(&ops, Model::ListAppend, &Options::default());
        prop_assert_eq!(report.valid, Validity::False, "{}", report.render());
        prop_assert!(has(&report, "incompatible-order"), "{}", report.render());
    }
}
