//! `results.edn`: the verdicts of a run as a Jepsen store folder has them, beside
//! `history.edn`, so tools that read Jepsen results read ours.

use crate::api::edn;
use crate::sim::RunReport;
use std::fmt::Write as _;

/// `{:valid? BOOL, :results {:CHECK {:valid? BOOL, :kind :safety, :detail "..."} ...}}`.
/// A check that judged nothing is `:valid? :unknown` (Jepsen's word for it), and so is the
/// whole when no check judged anything; an expected failure counts as valid.
pub fn results_edn(report: &RunReport) -> String {
    let valid = |passed: bool, judged: bool| match (passed, judged) {
        (false, _) => "false",
        (true, true) => "true",
        (true, false) => ":unknown",
    };
    let mut out = String::new();
    let overall = valid(report.passed, report.judged());
    let _ = write!(out, "{{:valid? {overall},\n :results {{");
    for (i, c) in report.checks.iter().enumerate() {
        let expected = report.expected_failures.contains(&c.name);
        let sep = if i == 0 { "" } else { ",\n            " };
        let first_line = c.detail.lines().next().unwrap_or("");
        let _ = write!(
            out,
            "{sep}:{} {{:valid? {}, :kind :{}{}, :detail {}}}",
            c.name,
            valid(c.passed, c.judged),
            c.kind.name(),
            if expected { ", :expected-failure? true" } else { "" },
            edn::string(first_line)
        );
    }
    out.push_str("}}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{CheckKind, CheckResult};

    #[test]
    fn verdicts_read_as_jepsen_results() {
        let checks = vec![
            CheckResult::pass("linearizability", "ok"),
            CheckResult::fail("liveness", "stuck \"here\"").of_kind(CheckKind::Liveness),
            CheckResult::not_judged("counter", "nothing"),
        ];
        let report = RunReport {
            scenario: "s".into(),
            system: "x".into(),
            seed: 1,
            trace_hash: String::new(),
            events: 0,
            virtual_ns: 0,
            wall_ms: 0,
            ops: Default::default(),
            clients: Default::default(),
            latency_ms: Default::default(),
            varied: Vec::new(),
            faults: 0,
            fault_log: Vec::new(),
            faults_skipped: Vec::new(),
            controls: Vec::new(),
            checks,
            expected_failures: Vec::new(),
            passed: false,
            network: Default::default(),
            wire_bytes_per_second: Vec::new(),
            disk: Default::default(),
        };
        let text = results_edn(&report);
        assert!(text.starts_with("{:valid? false,"), "{text}");
        assert!(text.contains(":linearizability {:valid? true, :kind :safety"), "{text}");
        assert!(text.contains(":liveness {:valid? false, :kind :liveness"), "{text}");
        assert!(text.contains(":detail \"stuck \\\"here\\\"\""), "{text}");
        assert!(text.contains(":counter {:valid? :unknown"), "{text}");
    }
}
