//! Checkers: they judge a run from its history and the facts nodes recorded, never from a
//! protocol's state.
//!
//! Invariant: nothing here imports a protocol.

mod edn;
pub mod history_file;
pub mod linearizability;

use serde::{Deserialize, Serialize};

/// The verdict of one named check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name, e.g. `linearizability`, `election_safety`, `liveness`.
    pub name: String,
    /// True if the run satisfied it.
    pub passed: bool,
    /// What was found: a short summary when passed, the evidence when not.
    pub detail: String,
}

impl CheckResult {
    /// A passing verdict.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult { name: name.into(), passed: true, detail: detail.into() }
    }

    /// A failing verdict with its evidence.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult { name: name.into(), passed: false, detail: detail.into() }
    }
}

use crate::engine::Nanos;
use crate::node::{Fact, NodeId};

/// A broken safety property, found while the run was going on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The name of the check that failed (one of the names in [`FactChecker::results`]).
    pub check: String,
    /// The evidence: times, nodes, entries.
    pub detail: String,
}

/// A checker fed with the facts nodes record, as they record them. A violation stops the run at
/// the first wrong step.
pub trait FactChecker {
    /// Judges one fact recorded by `node` at global time `at`.
    fn on_fact(&mut self, at: Nanos, node: NodeId, fact: &Fact) -> Result<(), Violation>;

    /// `node` crashed at `at`: its memory is gone (what it said before still counts).
    fn on_crash(&mut self, _at: Nanos, _node: NodeId) {}

    /// The final verdicts, one per named property this checker watches (including the ones
    /// that held). Called once, after the run.
    fn results(&self) -> Vec<CheckResult>;
}

pub mod liveness;

/// The checks that judge a finished run's client history: liveness (when the scenario has a
/// quiet period and clients) and linearizability (when enabled).
pub fn history_checks(
    scenario: &crate::scenario::Scenario,
    history: &crate::workload::History,
    stopped_early: bool,
) -> Vec<CheckResult> {
    let mut checks = Vec::new();
    let bound = scenario.checks.liveness_bound.0;
    if stopped_early {
        checks
            .push(CheckResult::pass(liveness::NAME, "not judged: the run stopped at a violation"));
    } else if bound > 0 && scenario.quiet.0 > 0 && scenario.clients.count > 0 {
        checks.push(liveness::check(history, scenario.quiet_start(), bound));
    }
    if scenario.checks.linearizability {
        let report = linearizability::check_history(history, linearizability::ModelKind::Kv, None);
        checks.push(report.check_result());
    }
    checks
}

pub mod replicated_log;
