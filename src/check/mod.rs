//! Checkers: they judge a run from its history and the facts nodes recorded, never from a
//! protocol's state.
//!
//! Two kinds: a [`FactChecker`] is fed the facts nodes record as they record them (a violation
//! stops the run at that step); a [`HistoryChecker`] judges the finished client history, typed
//! by the system's API. A system chooses its checkers ([`Checks`]); a scenario switches them by
//! name in `[checks]`. Every check says whether it is a safety or a liveness property (or a
//! budget)
//! ([`CheckKind`]), and whether it judged anything at all.
//!
//! Invariant: nothing here imports a protocol.

mod edn;
pub mod elle;
pub mod history_file;
pub mod linearizability;
pub mod model;

use serde::{Deserialize, Serialize};

/// What a check promises: nothing bad ever happens, or something good eventually does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Always: a violation is a bug, whatever happens later.
    #[default]
    Safety,
    /// Eventually: the system must make progress once faults are repaired (or within a bound).
    Liveness,
    /// A cost bound: at most so many messages, bytes on the wire or bytes on disk. Exceeding it
    /// is waste, not a wrong answer.
    Budget,
}

impl CheckKind {
    /// `safety`, `liveness` or `budget`.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Safety => "safety",
            CheckKind::Liveness => "liveness",
            CheckKind::Budget => "budget",
        }
    }
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

/// The verdict of one named check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name, e.g. `linearizability`, `election_safety`, `liveness`.
    pub name: String,
    /// Safety or liveness.
    #[serde(default)]
    pub kind: CheckKind,
    /// True if the run satisfied it (also when it judged nothing: see `judged`).
    pub passed: bool,
    /// False when the check had nothing to judge (no operations, the run stopped first): its
    /// pass says nothing.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub judged: bool,
    /// What was found: a short summary when passed, the evidence when not.
    pub detail: String,
}

impl CheckResult {
    /// A passing safety verdict.
    pub fn pass(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult {
            name: name.into(),
            kind: CheckKind::Safety,
            passed: true,
            judged: true,
            detail: detail.into(),
        }
    }

    /// A failing safety verdict with its evidence.
    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Self {
        CheckResult { passed: false, ..CheckResult::pass(name, detail) }
    }

    /// A check that had nothing to judge; `why` says so.
    pub fn not_judged(name: impl Into<String>, why: impl Into<String>) -> Self {
        CheckResult { judged: false, ..CheckResult::pass(name, why) }
    }

    /// The same verdict, of `kind`.
    pub fn of_kind(self, kind: CheckKind) -> Self {
        CheckResult { kind, ..self }
    }

    /// `ok`, `FAIL` or `not judged`, for people.
    pub fn verdict(&self) -> &'static str {
        match (self.passed, self.judged) {
            (false, _) => "FAIL",
            (true, true) => "ok",
            (true, false) => "not judged",
        }
    }
}

use crate::api::Api;
use crate::engine::Nanos;
use crate::node::{Fact, Group, NodeId};
use crate::workload::TypedHistory;

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
    /// The properties this checker judges, by name (what `[checks]` switches); each is a
    /// result of [`FactChecker::results`].
    fn names(&self) -> Vec<&'static str>;

    /// Judges one fact about `group` recorded by `node` at global time `at`.
    fn on_fact(
        &mut self,
        at: Nanos,
        node: NodeId,
        group: Group,
        fact: &Fact,
    ) -> Result<(), Violation>;

    /// `node` crashed at `at`: its memory is gone (what it said before still counts).
    fn on_crash(&mut self, _at: Nanos, _node: NodeId) {}

    /// The final verdicts, one per named property this checker watches (including the ones
    /// that held). Called once, after the run.
    fn results(&self) -> Vec<CheckResult>;
}

pub mod liveness;

/// What a history checker may know of the run besides the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunContext {
    /// When every fault was repaired and the quiet period began, if the scenario has one.
    pub quiet_start: Option<Nanos>,
    /// When the run ended.
    pub end_ns: Nanos,
    /// Faults applied during the run (repairs included).
    pub faults_applied: usize,
    /// Links stayed degraded through the quiet period (a `through_quiet` degrade): liveness
    /// is judged over the unreliable network.
    pub degraded_in_quiet: bool,
    /// The run stopped early, at a safety violation: the history is cut short.
    pub stopped_early: bool,
    /// The scenario's `checks.liveness_bound`.
    pub liveness_bound: Nanos,
}

/// A checker of a finished client history, typed by the system's API `A`.
pub trait HistoryChecker<A: Api> {
    /// The check's name (what `[checks]` switches and reports show).
    fn name(&self) -> &'static str;
    /// Safety (the default) or liveness.
    fn kind(&self) -> CheckKind {
        CheckKind::Safety
    }
    /// Judges the history.
    fn check(&self, history: &TypedHistory<A>, run: &RunContext) -> CheckResult;
}

/// The checks a system offers: fact checkers and history checkers, each named.
pub struct Checks<A: Api> {
    /// Fed with facts during the run.
    pub facts: Vec<Box<dyn FactChecker>>,
    /// Run on the history after the run.
    pub history: Vec<Box<dyn HistoryChecker<A>>>,
    /// Names of checks that run only when the scenario switches them on.
    pub off_by_default: Vec<&'static str>,
}

impl<A: Api> Default for Checks<A> {
    fn default() -> Self {
        Checks { facts: Vec::new(), history: Vec::new(), off_by_default: Vec::new() }
    }
}

impl<A: Api> Checks<A> {
    /// No checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a fact checker.
    pub fn fact(mut self, checker: impl FactChecker + 'static) -> Self {
        self.facts.push(Box::new(checker));
        self
    }

    /// Adds a history checker.
    pub fn history(mut self, checker: impl HistoryChecker<A> + 'static) -> Self {
        self.history.push(Box::new(checker));
        self
    }

    /// Adds a history checker that runs only when the scenario switches it on.
    pub fn history_off_by_default(mut self, checker: impl HistoryChecker<A> + 'static) -> Self {
        self.off_by_default.push(checker.name());
        self.history(checker)
    }

    /// Every check's name with its kind where known before the run (fact checkers' kinds
    /// show in their results), the platform's `liveness` and `progress` included.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.facts.iter().flat_map(|c| c.names()).collect();
        names.extend(self.history.iter().map(|c| c.name()));
        names.push(liveness::NAME);
        names.push(liveness::PROGRESS);
        names.push(NODE_PANIC);
        names
    }
}

/// The check a panic in a protocol's handler fails: the simulation found a crash bug.
pub const NODE_PANIC: &str = "node_panic";

pub mod replicated_log;
