//! The linearizability checker and the history file formats, on hand-written and generated
//! histories, and against a brute-force oracle on random small ones.

use sim::api::kv::{History, HistoryOp};
use sim::check::history_file::{check_file, parse_history, to_json_lines, HistoryFormat};
use sim::check::linearizability::{
    check_history, check_history_with, generate_history, CheckOptions, LinearizabilityReport,
    ModelKind, TimeDisplay, Verdict,
};
use sim::engine::{SimRng, MILLISECOND};
use sim::node::{apply_op, Op};
use sim::workload::Outcome;
use std::collections::BTreeSet;

/// One hand-written operation: (client, op, invoke ms, complete ms, outcome, read value).
type Spec<'a> = (u32, Op, u64, u64, Outcome, Option<&'a str>);

/// Builds a history; ids follow the order given, which must be invocation order.
fn history(ops: &[Spec<'_>]) -> History {
    let ops = ops
        .iter()
        .enumerate()
        .map(|(id, (client, op, invoke_ms, complete_ms, outcome, read))| HistoryOp {
            id: id as u64,
            client: *client,
            op: op.clone(),
            invoke_ns: invoke_ms * MILLISECOND,
            complete_ns: complete_ms * MILLISECOND,
            outcome: *outcome,
            value: read.map(str::to_string),
        })
        .collect();
    History { ops }
}

fn get(key: &str) -> Op {
    Op::Get { key: key.to_string() }
}

fn put(key: &str, value: &str) -> Op {
    Op::Put { key: key.to_string(), value: value.to_string() }
}

fn cas(key: &str, from: Option<&str>, to: &str) -> Op {
    Op::Cas { key: key.to_string(), from: from.map(str::to_string), to: to.to_string() }
}

fn append(key: &str, value: &str) -> Op {
    Op::Append { key: key.to_string(), value: value.to_string() }
}

use Outcome::{Fail, Info, Ok as Done};

fn kv(history: &History) -> LinearizabilityReport {
    check_history(history, ModelKind::Kv, None)
}

fn assert_verdict(report: &LinearizabilityReport, verdict: Verdict) {
    assert_eq!(report.verdict, verdict, "{}", report.detail());
}

#[test]
fn sequential_and_concurrent_histories_are_linearizable() {
    let sequential = history(&[
        (0, put("x", "1"), 0, 1, Done, None),
        (1, get("x"), 2, 3, Done, Some("1")),
        (0, cas("x", Some("1"), "2"), 4, 5, Done, None),
        (1, append("x", "3"), 6, 7, Done, None),
        (0, get("x"), 8, 9, Done, Some("23")),
    ]);
    assert_verdict(&kv(&sequential), Verdict::Linearizable);
    // The two writes overlap both reads, which see them in either order.
    let concurrent = history(&[
        (0, put("x", "1"), 0, 10, Done, None),
        (1, put("x", "2"), 0, 10, Done, None),
        (2, get("x"), 1, 9, Done, Some("2")),
        (3, get("x"), 2, 8, Done, Some("1")),
        (2, get("x"), 11, 12, Done, Some("1")),
    ]);
    let report = kv(&concurrent);
    assert_verdict(&report, Verdict::Linearizable);
    let result = report.check_result();
    assert!(result.passed && result.name == "linearizability", "{result:?}");
}

#[test]
fn stale_read_is_caught_and_shown() {
    let stale = history(&[
        (0, put("x", "1"), 0, 1, Done, None),
        (0, put("x", "2"), 2, 3, Done, None),
        (1, get("x"), 4, 5, Done, Some("1")),
    ]);
    let report = kv(&stale);
    assert_verdict(&report, Verdict::NotLinearizable);
    let failure = report.failure.as_ref().expect("evidence");
    assert_eq!(failure.key, "x");
    assert_eq!(failure.slice.len(), 3, "{}", report.detail());
    assert!(failure.slice_one_minimal);
    let detail = report.check_result().detail;
    assert!(!report.check_result().passed);
    for needle in ["NOT linearizable", "get x -> \"1\"", "4.000ms", "5.000ms", "client 1", "ok"] {
        assert!(detail.contains(needle), "missing {needle:?} in:\n{detail}");
    }
    assert!(detail.contains("covers 2 of 3 completed ops"), "{detail}");
}

#[test]
fn lost_write_is_caught() {
    // The second write completed, yet a later read sees the first value.
    let lost = history(&[
        (0, put("x", "a"), 0, 1, Done, None),
        (1, put("x", "b"), 2, 3, Done, None),
        (2, get("x"), 4, 5, Done, Some("b")),
        (0, get("x"), 6, 7, Done, Some("a")),
    ]);
    assert_verdict(&kv(&lost), Verdict::NotLinearizable);
}

#[test]
fn cas_violation_is_caught_and_a_failed_cas_is_ignored() {
    let bad = history(&[
        (0, put("x", "1"), 0, 1, Done, None),
        (1, cas("x", Some("0"), "2"), 2, 3, Done, None),
    ]);
    assert_verdict(&check_history(&bad, ModelKind::CasRegister, None), Verdict::NotLinearizable);
    let failed = history(&[
        (0, put("x", "1"), 0, 1, Done, None),
        (1, cas("x", Some("0"), "2"), 2, 3, Fail, None),
        (1, get("x"), 4, 5, Done, Some("1")),
    ]);
    assert_verdict(&check_history(&failed, ModelKind::CasRegister, None), Verdict::Linearizable);
}

#[test]
fn indeterminate_ops_may_take_effect_late_or_never() {
    // The info write took effect after its client gave up: later reads see it.
    let late = history(&[
        (0, put("x", "1"), 0, 1, Info, None),
        (1, get("x"), 2, 3, Done, None),
        (1, get("x"), 10, 11, Done, Some("1")),
    ]);
    assert_verdict(&kv(&late), Verdict::Linearizable);
    // Never took effect.
    let never = history(&[(0, put("x", "1"), 0, 1, Info, None), (1, get("x"), 10, 11, Done, None)]);
    assert_verdict(&kv(&never), Verdict::Linearizable);
    // An info read constrains nothing, even with an impossible value recorded.
    let info_read = history(&[(0, get("x"), 0, 1, Info, Some("impossible"))]);
    assert_verdict(&kv(&info_read), Verdict::Linearizable);
}

#[test]
fn indeterminate_ops_cannot_save_a_bad_history() {
    // The info write can explain the "2", but not the "1" read after it was overwritten.
    let bad = history(&[
        (0, put("x", "1"), 0, 1, Done, None),
        (1, put("x", "2"), 2, 3, Info, None),
        (2, get("x"), 4, 5, Done, Some("2")),
        (2, get("x"), 6, 7, Done, Some("1")),
    ]);
    assert_verdict(&kv(&bad), Verdict::NotLinearizable);
    // An info op cannot take effect before it was invoked.
    let early =
        history(&[(0, get("x"), 0, 1, Done, Some("1")), (1, put("x", "1"), 2, 3, Info, None)]);
    assert_verdict(&kv(&early), Verdict::NotLinearizable);
}

#[test]
fn initial_value_is_configurable() {
    let h = history(&[(0, get("x"), 0, 1, Done, Some("0"))]);
    assert_verdict(&kv(&h), Verdict::NotLinearizable);
    let report = check_history(&h, ModelKind::Register, Some("0".to_string()));
    assert_verdict(&report, Verdict::Linearizable);
}

#[test]
fn multi_key_history_names_only_the_bad_key() {
    let mut ops = Vec::new();
    for (i, key) in ["a", "b", "c", "d"].iter().enumerate() {
        let base = i as u64 * 10;
        ops.push((0, put(key, "1"), base, base + 1, Done, None));
        ops.push((1, get(key), base + 2, base + 3, Done, Some("1")));
    }
    ops.push((2, get("c"), 50, 51, Done, None)); // c had a value: a read of nil is wrong.
    let report = kv(&history(&ops));
    assert_verdict(&report, Verdict::NotLinearizable);
    assert_eq!(report.failing_keys, ["c"]);
    let failure = report.failure.as_ref().expect("evidence");
    assert_eq!(failure.key, "c");
    assert!(failure.slice.iter().all(|op| op.op.key() == "c"), "{}", report.detail());
    assert_eq!(failure.slice.len(), 2, "{}", report.detail());
    let detail = report.detail();
    assert!(!detail.contains("put a") && !detail.contains("get b"), "{detail}");
}

#[test]
fn an_operation_outside_the_model_is_inconclusive() {
    let h = history(&[(0, cas("x", None, "1"), 0, 1, Done, None)]);
    let report = check_history(&h, ModelKind::Register, None);
    assert_verdict(&report, Verdict::Unknown);
    assert!(!report.check_result().passed);
}

#[test]
fn generated_history_of_10k_ops_is_linearizable() {
    let h = generate_history(10_000, 10, 8, 7);
    assert_eq!(h.ops.len(), 10_000);
    let (_, _, info) = h.counts();
    assert!(info > 100, "only {info} info ops");
    let report = kv(&h);
    assert_verdict(&report, Verdict::Linearizable);
    assert_eq!(report.keys, 10);
}

#[test]
fn generated_histories_with_hot_keys_are_linearizable() {
    for (ops, keys, clients, seed) in [(3_000, 1, 10, 1), (3_000, 1, 20, 2), (2_000, 2, 5, 3)] {
        let report = kv(&generate_history(ops, keys, clients, seed));
        assert_verdict(&report, Verdict::Linearizable);
    }
}

#[test]
fn a_mutated_read_in_a_generated_history_is_found() {
    let mut h = generate_history(10_000, 10, 8, 11);
    let victim = h
        .ops
        .iter()
        .position(|op| op.id > 5_000 && op.outcome == Done && op.op.is_read() && op.value.is_some())
        .expect("a completed read");
    h.ops[victim].value = Some("never-written".to_string());
    let key = h.ops[victim].op.key().to_string();
    let report = kv(&h);
    assert_verdict(&report, Verdict::NotLinearizable);
    assert_eq!(report.failing_keys, [key]);
    let failure = report.failure.as_ref().expect("evidence");
    assert!(failure.slice.iter().any(|op| op.id == h.ops[victim].id), "{}", report.detail());
    assert!(failure.slice.len() <= 3, "slice too big:\n{}", report.detail());
}

#[test]
fn a_swapped_read_in_a_generated_history_is_found() {
    // Make a read return the value its key held two writes earlier: a stale read.
    let mut h = generate_history(4_000, 4, 6, 5);
    let mut found = None;
    for (i, op) in h.ops.iter().enumerate().skip(2_000) {
        if op.outcome != Done || !op.op.is_read() {
            continue;
        }
        let earlier = h.ops[..i].iter().rev().filter(|o| o.op.key() == op.op.key());
        let stale = earlier
            .filter(|o| o.outcome == Done && o.op.is_read() && o.value.is_some())
            .map(|o| o.value.clone())
            .find(|value| *value != op.value && op.invoke_ns > 50 * MILLISECOND);
        if let Some(stale) = stale {
            found = Some((i, stale));
            break;
        }
    }
    let (victim, stale) = found.expect("a read with an older, different value");
    // The stale value must have been overwritten before the read began; check that it was.
    let key = h.ops[victim].op.key().to_string();
    let overwritten = h.ops.iter().any(|o| {
        o.op.key() == key
            && o.outcome == Done
            && !o.op.is_read()
            && o.complete_ns < h.ops[victim].invoke_ns
            && h.ops.iter().any(|r| {
                r.op.key() == key
                    && r.op.is_read()
                    && r.value == stale
                    && r.complete_ns < o.invoke_ns
            })
    });
    h.ops[victim].value = stale;
    if overwritten {
        assert_verdict(&kv(&h), Verdict::NotLinearizable);
    }
}

#[test]
fn checker_agrees_with_brute_force_on_random_small_histories() {
    let mut rng = SimRng::new(2024, 9);
    let (mut linearizable, mut not) = (0, 0);
    for case in 0..6_000 {
        let h = random_small_history(&mut rng);
        let initial = rng.chance_ppm(200_000).then(|| "a".to_string());
        let expected = brute_force(&h, initial.as_deref());
        let report = check_history(&h, ModelKind::Kv, initial.clone());
        let verdict = if expected { Verdict::Linearizable } else { Verdict::NotLinearizable };
        assert_eq!(
            report.verdict,
            verdict,
            "case {case}, initial {initial:?}: {h:#?}\n{}",
            report.detail()
        );
        if expected {
            linearizable += 1;
        } else {
            not += 1;
            // The slice must itself be non-linearizable.
            let slice = History { ops: report.failure.expect("evidence").slice };
            assert!(!brute_force(&slice, initial.as_deref()), "case {case}: slice {slice:#?}");
        }
    }
    assert!(linearizable > 500 && not > 500, "{linearizable} linearizable, {not} not");
}

/// Up to 7 operations on one or two keys, values from a tiny alphabet so that coincidences,
/// appends and violations are common.
fn random_small_history(rng: &mut SimRng) -> History {
    let values = ["a", "b", "ab", "ba", "bb"];
    let count = 1 + rng.below(7) as usize;
    // Registers only, with compare-and-set, or everything: the search prunes differently
    // on keys without appends.
    let kinds = 2 + rng.below(3);
    let mut ops = Vec::new();
    for id in 0..count {
        let key = if rng.chance_ppm(200_000) { "y" } else { "x" };
        let pick = |rng: &mut SimRng| values[rng.below(values.len() as u64) as usize];
        let op = match rng.below(kinds) {
            0 => get(key),
            1 => put(key, pick(rng)),
            2 => {
                let from = if rng.chance_ppm(250_000) { None } else { Some(pick(rng)) };
                cas(key, from, pick(rng))
            }
            _ => append(key, ["a", "b"][rng.below(2) as usize]),
        };
        let invoke_ms = rng.below(10);
        let complete_ms = invoke_ms + rng.below(4);
        let outcome = match rng.below(10) {
            0..=5 => Done,
            6..=7 => Info,
            _ => Fail,
        };
        let read = match (&op, outcome) {
            (Op::Get { .. }, Done) if rng.chance_ppm(200_000) => None,
            (Op::Get { .. }, Done) => Some(pick(rng).to_string()),
            _ => None,
        };
        ops.push(HistoryOp {
            id: id as u64,
            client: id as u32,
            op,
            invoke_ns: invoke_ms * MILLISECOND,
            complete_ns: complete_ms * MILLISECOND,
            outcome,
            value: read,
        });
    }
    ops.sort_by_key(|op| (op.invoke_ns, op.id));
    History { ops }
}

/// True if some order of the ok operations and some of the info ones (not info reads),
/// respecting real time, explains every ok result under `apply_op`.
fn brute_force(h: &History, initial: Option<&str>) -> bool {
    let ops: Vec<&HistoryOp> = h
        .ops
        .iter()
        .filter(|op| op.outcome == Done || (op.outcome == Info && !op.op.is_read()))
        .collect();
    let keys: BTreeSet<&str> = ops.iter().map(|op| op.op.key()).collect();
    // Keys are independent registers; checking the whole history at once also works but the
    // per-key split keeps the search small.
    keys.iter().all(|key| {
        let mine: Vec<&HistoryOp> = ops.iter().copied().filter(|op| op.op.key() == *key).collect();
        search(&mine, 0, initial.map(str::to_string), &mut BTreeSet::new())
    })
}

fn search(
    ops: &[&HistoryOp],
    done: u32,
    state: Option<String>,
    seen: &mut BTreeSet<(u32, Option<String>)>,
) -> bool {
    let all_ok_done =
        ops.iter().enumerate().all(|(i, op)| op.outcome != Done || done & (1 << i) != 0);
    if all_ok_done {
        return true;
    }
    if !seen.insert((done, state.clone())) {
        return false;
    }
    for (i, op) in ops.iter().enumerate() {
        if done & (1 << i) != 0 {
            continue;
        }
        // Every ok op that completed before this one was invoked must come first.
        let blocked = ops.iter().enumerate().any(|(j, other)| {
            done & (1 << j) == 0 && other.outcome == Done && other.complete_ns < op.invoke_ns
        });
        if blocked {
            continue;
        }
        let Ok((result, next)) = apply_op(state.as_ref(), &op.op) else { continue };
        if op.outcome == Done && op.op.is_read() && result != op.value {
            continue;
        }
        if search(ops, done | (1 << i), next, seen) {
            return true;
        }
    }
    false
}

#[test]
fn edn_histories_in_the_knossos_styles_parse_and_check() {
    let single_lines = "; a register\n\
        {:process 0, :type :invoke, :f :write, :value 1}\n\
        {:process 1, :type :invoke, :f :read, :value nil}\n\
        {:process 0, :type :ok, :f :write, :value 1}\n\
        {:process 1, :type :ok, :f :read, :value 1}\n\
        {:process 2, :type :invoke, :f :cas, :value [1 2]} ; may or may not happen\n\
        {:process 2, :type :info, :f :cas, :value [1 2]}\n\
        {:process :nemesis, :type :info, :f :start, :value nil}\n\
        {:process 0, :type :invoke, :f :read, :value nil, :index 9}\n\
        {:process 0, :type :ok, :f :read, :value 2}\n";
    let parsed = parse_history(single_lines, "reg.edn").expect("valid EDN history");
    assert_eq!(parsed.format, HistoryFormat::Edn);
    assert_eq!(parsed.times, TimeDisplay::Ordinal);
    assert_eq!(parsed.history.ops.len(), 4);
    assert_eq!(parsed.history.ops[2].outcome, Info);
    assert_eq!(parsed.lines, [2, 3, 6, 9]);
    let report = check_history(&parsed.history, ModelKind::CasRegister, None);
    assert_verdict(&report, Verdict::Linearizable);

    let wrapped = format!("[\n{}]\n", single_lines.replace(":value 2}", ":value 3}"));
    let parsed = parse_history(&wrapped, "bad.edn").expect("valid EDN history");
    let options = CheckOptions { times: parsed.times, ..CheckOptions::default() };
    let report = check_history_with(&parsed.history, ModelKind::CasRegister, None, &options);
    assert_verdict(&report, Verdict::NotLinearizable);
    assert!(report.detail().contains("@"), "ordinal times: {}", report.detail());

    let list = "({:process 0 :type :invoke :f :write :value 1 :time 100}\n \
                 {:process 0 :type :ok :f :write :value 1 :time 2000100})";
    let parsed = parse_history(list, "timed.edn").expect("valid EDN history");
    assert_eq!(parsed.times, TimeDisplay::Nanos);
    assert_eq!(
        (parsed.history.ops[0].invoke_ns, parsed.history.ops[0].complete_ns),
        (100, 2000100)
    );
}

#[test]
fn edn_multi_key_and_never_completed_ops() {
    let text = "{:process 0 :type :invoke :f :write :key \"a\" :value \"x\"}\n\
                {:process 1 :type :invoke :f :write :key :b :value 1}\n\
                {:process 0 :type :ok :f :write :key \"a\" :value \"x\"}\n";
    let parsed = parse_history(text, "keys.edn").expect("valid");
    let ops = &parsed.history.ops;
    assert_eq!((ops[0].op.key(), ops[1].op.key()), ("a", ":b"));
    assert_eq!(ops[1].outcome, Info, "never completed counts as info");
}

/// A JSON Lines history whose only operation completes before it is invoked.
const BACKWARDS_JSON: &str = concat!(
    "# c\n",
    r#"{"id":0,"client":0,"f":"get","key":"k","invoke_ns":5,"complete_ns":1,"outcome":"ok"}"#
);

#[test]
fn history_file_errors_name_the_line() {
    let cases = [
        ("{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok", 2, "unclosed"),
        ("{:process 0 :type :invoke :f :write :value \"1}\n", 1, "unterminated string"),
        ("{:process 0 :type :ok :f :write :value 1}\n", 1, "no pending invocation"),
        ("{:process 0 :type :invoke :f :dance}\n", 1, "unsupported :f"),
        ("\n{:process 0 :type :invoke :f :read}\n{:process 0 :type :invoke :f :read}", 3, "again"),
        ("{:process 0 :type :invoke :f :cas :value 1}\n", 1, "[from to]"),
        ("{\"id\":0}\n", 1, "not a history operation"),
        (BACKWARDS_JSON, 2, "before"),
        ("hello", 1, "not a history"),
    ];
    for (text, line, reason) in cases {
        let error = parse_history(text, "h").expect_err(text);
        assert_eq!(error.line, Some(line), "{text:?}: {error}");
        assert!(error.reason.contains(reason), "{text:?}: {error}");
        assert!(error.to_string().starts_with(&format!("h:{line}: ")), "{error}");
    }
}

#[test]
fn json_lines_round_trip_keeps_history_and_verdict() {
    let h = generate_history(3_000, 5, 6, 21);
    let text = to_json_lines(&h);
    assert!(text.contains("\"read\":"), "gets carry their result in `read`");
    let parsed = parse_history(&format!("# generated\n\n{text}"), "h.jsonl").expect("round trip");
    assert_eq!(parsed.format, HistoryFormat::JsonLines);
    assert_eq!(parsed.history, h);
    assert_eq!(kv(&parsed.history).verdict, kv(&h).verdict);

    let mut bad = h.clone();
    let victim = bad.ops.iter().position(|op| op.outcome == Done && op.op.is_read()).expect("read");
    bad.ops[victim].value = Some("nope".to_string());
    let parsed = parse_history(&to_json_lines(&bad), "bad.jsonl").expect("round trip");
    assert_verdict(&kv(&parsed.history), Verdict::NotLinearizable);
}

#[test]
fn check_file_reads_detects_and_checks() {
    let dir = std::env::temp_dir().join(format!("sim-checker-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let jsonl = dir.join("h.jsonl");
    std::fs::write(&jsonl, to_json_lines(&generate_history(500, 2, 4, 3))).expect("write");
    let report = check_file(&jsonl, ModelKind::Kv, None).expect("readable");
    assert_verdict(&report, Verdict::Linearizable);
    let error = check_file(&jsonl, ModelKind::Register, None).expect_err("cas/append in register");
    assert!(error.reason.contains("not an operation of model register"), "{error}");
    assert!(error.line.is_some());
    let edn = dir.join("h.edn");
    std::fs::write(
        &edn,
        "{:process 0 :type :invoke :f :read}\n{:process 0 :type :ok :f :read :value 0}",
    )
    .expect("write");
    assert_verdict(
        &check_file(&edn, ModelKind::Register, None).expect("ok"),
        Verdict::NotLinearizable,
    );
    assert_verdict(
        &check_file(&edn, ModelKind::Register, Some("0".into())).expect("ok"),
        Verdict::Linearizable,
    );
    let binary = dir.join("h.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00]).expect("write");
    assert!(check_file(&binary, ModelKind::Kv, None).expect_err("binary").reason.contains("UTF-8"));
    assert!(check_file(&dir.join("missing"), ModelKind::Kv, None).is_err());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn random_bytes_and_truncated_files_never_panic() {
    let mut rng = SimRng::new(99, 1);
    let valid_edn = "[{:process 0, :type :invoke, :f :cas, :value [nil \"a\\\"b\"], :time 5}\n\
                     #_ {:skip 1}\n\
                     {:process 0, :type :ok, :f :cas, :value [nil \"a\\\"b\"], :time 9}\n\
                     {:process 1, :type :invoke, :f :read, :key #{1 2}} ; c\n]";
    let valid_json = to_json_lines(&generate_history(20, 2, 3, 1));
    let alphabet: Vec<char> = "{}[]()#_:;\"\\ ,\n0123456789abcnil-+.eNM/".chars().collect();
    for source in [valid_edn, valid_json.as_str()] {
        for cut in 0..source.len() {
            if source.is_char_boundary(cut) {
                let _ = parse_history(&source[..cut], "cut");
            }
        }
    }
    for _ in 0..20_000 {
        let len = rng.below(80) as usize;
        let text: String = if rng.chance_ppm(500_000) {
            (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect()
        } else {
            let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        if let Ok(parsed) = parse_history(&text, "random") {
            let _ = check_history(&parsed.history, ModelKind::Kv, None).detail();
        }
    }
    // Deep nesting is refused, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_history(&deep, "deep").is_err());
    let discards = "#_ ".repeat(100_000);
    assert!(parse_history(&format!("[{discards}]"), "discards").is_err());
}
