//! Jepsen/Knossos EDN histories get Knossos's verdicts: as in Knossos's own tests, the files in
//! tests/fixtures/knossos/good are linearizable and those in bad are not, for a compare-and-set
//! register starting at 0. An `:ok` read of `nil` is a read of unknown value (Knossos's model)
//! unless `--nil-reads absent` or the file's `; nil-reads: absent` says otherwise;
//! `jepsen.independent`'s `[key value]` tuples are read as keys when every keyless invocation
//! has one.

mod common;

use common::*;
use sim::check::history_file::{parse_history, parse_history_with, NilReads, ReadOptions};
use std::path::PathBuf;

fn fixtures(verdict: &str) -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/knossos").join(verdict);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3, "{verdict}: {files:?}");
    files
}

fn check(file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["check", file.to_str().unwrap(), "--model", "cas-register"];
    args.extend_from_slice(&["--initial", "0"]);
    args.extend_from_slice(extra);
    sim(&args)
}

#[test]
fn verdicts_match_knossos_on_its_kinds_of_histories() {
    for (verdict, code) in [("good", 0), ("bad", 1)] {
        for file in fixtures(verdict) {
            let out = check(&file, &[]);
            assert_eq!(out.status.code(), Some(code), "{}: {}", file.display(), printed(&out));
        }
    }
}

#[test]
fn reads_of_nil_are_unknown_unless_told_otherwise() {
    let file = root().join("tests/fixtures/knossos/good/reads-of-nil.edn");
    let out = check(&file, &[]);
    let text = printed(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("2 :ok read(s) of nil taken as reads of unknown value"), "{text}");
    let strict = check(&file, &["--nil-reads", "absent"]);
    assert_eq!(strict.status.code(), Some(1), "{}", printed(&strict));
    let bad = check(&file, &["--nil-reads", "maybe"]);
    assert_eq!(bad.status.code(), Some(2), "{}", printed(&bad));

    // A file may declare its reading; the option overrides it.
    let text = std::fs::read_to_string(&file).unwrap();
    let declared = format!("; nil-reads: absent\n{text}");
    let parsed = parse_history(&declared, "declared.edn").unwrap();
    assert_eq!((parsed.nil_reads, parsed.unknown_reads), (NilReads::Absent, 0));
    assert_eq!(parsed.history.ops.len(), 5);
    let options = ReadOptions { nil_reads: Some(NilReads::Unknown) };
    let parsed = parse_history_with(&declared, "declared.edn", options).unwrap();
    assert_eq!((parsed.nil_reads, parsed.unknown_reads), (NilReads::Unknown, 2));
    assert_eq!(parsed.history.ops.len(), 3);
    let error = parse_history(&format!("; c\n; nil-reads: maybe\n{text}"), "x.edn").unwrap_err();
    assert_eq!(error.line, Some(2), "{error}");
}

#[test]
fn tuples_are_keys_only_when_every_keyless_invocation_has_one() {
    let tuples = "{:process 0 :type :invoke :f :write :value [:k 1]}\n\
                  {:process 0 :type :ok :f :write :value [:k 1]}\n\
                  {:process 1 :type :invoke :f :cas :value [:k [1 2]]}\n\
                  {:process 1 :type :ok :f :cas :value [:k [1 2]]}\n\
                  {:process 2 :type :invoke :f :read :value [:k nil]}\n\
                  {:process 2 :type :ok :f :read :value [:k 2]}\n";
    let parsed = parse_history(tuples, "t.edn").unwrap();
    let ops: Vec<String> = parsed.history.ops.iter().map(|op| op.op.to_string()).collect();
    assert_eq!(ops, ["put :k=1", "cas :k 1->2", "get :k"]);
    assert_eq!(parsed.history.ops[2].value.as_deref(), Some("2"));

    // A plain cas register: `[1 2]` is from 1 to 2, not key 1.
    let plain = "{:process 0 :type :invoke :f :cas :value [1 2]}\n\
                 {:process 0 :type :ok :f :cas :value [1 2]}\n";
    let parsed = parse_history(plain, "p.edn").unwrap();
    assert_eq!(parsed.history.ops[0].op.to_string(), "cas register 1->2");

    // One keyless invocation without a tuple: no value is a tuple, and a vector write is an
    // error rather than a write to key 1.
    let mixed = format!("{tuples}{{:process 3 :type :invoke :f :read :value nil}}\n");
    let error = parse_history(&mixed, "m.edn").unwrap_err();
    assert_eq!(error.line, Some(1), "{error}");
    assert!(error.reason.contains("must be a scalar"), "{error}");

    // A read's completion for another key than its invocation is refused.
    let other = tuples.replace(":ok :f :read :value [:k 2]", ":ok :f :read :value [:j 2]");
    let error = parse_history(&other, "o.edn").unwrap_err();
    assert_eq!(error.line, Some(6), "{error}");
}
