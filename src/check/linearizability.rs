//! Linearizability: is there an order of the operations, consistent with real time, in which
//! a single correct copy of the data would have given every result the clients saw?
//!
//! The search is Wing & Gong's, in Lowe's just-in-time form with memoization of (set of
//! linearized operations, model state), as Porcupine does it, and the history is split by key
//! first (P-compositionality: a history of independent registers is linearizable if and only if
//! each register's sub-history is), so each search is small.
//!
//! What enters the search:
//! - `ok` operations, which took effect between their invocation and completion;
//! - `info` operations except reads: they may take effect at any time after their invocation,
//!   or never. An `info` read constrains nothing and is dropped. An `info` write that no read
//!   and no compare-and-set could have observed is dropped too (see `observe.rs`): it can be
//!   left out of any linearization, and keeping it would make the search try it everywhere;
//! - not `fail` operations: they did not take effect.
//!
//! On a violation the report names the failing key, how far the search got, and a small slice
//! of that key's operations that still cannot be linearized, shrunk by greedy deletion.
//! The search is bounded by step budgets; running out is reported as inconclusive, not a pass.

mod generate;
mod observe;
mod search;
mod shrink;

pub use generate::generate_history;

use crate::api::kv::KvApi;
use crate::api::kv::{History, HistoryOp};
use crate::api::kv::{Op, Value};
use crate::check::{CheckResult, HistoryChecker, RunContext};
use crate::engine::{Nanos, MILLISECOND};
use crate::workload::Outcome;
use crate::workload::TypedHistory;
use observe::Role;
use search::STATE_UNOBSERVED;
use search::{search, KeyOp, Limits, Progress, SearchOutcome, StateId, States, Step};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// The name of the check in a [`CheckResult`].
pub const CHECK_NAME: &str = "linearizability";

/// The sequential specification operations are checked against. Every model is a register per
/// key: keys are independent and checked apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Reads and writes (`get`, `put`).
    Register,
    /// Reads, writes and compare-and-sets (`get`, `put`, `cas`).
    CasRegister,
    /// A key-value store of strings: `get`, `put`, `cas`, `append`. The simulator's own model.
    Kv,
}

impl ModelKind {
    /// Every model, in the order `sim check --help` lists them.
    pub const ALL: [ModelKind; 3] = [ModelKind::Register, ModelKind::CasRegister, ModelKind::Kv];

    /// `register`, `cas-register` or `kv`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Register => "register",
            ModelKind::CasRegister => "cas-register",
            ModelKind::Kv => "kv",
        }
    }

    /// True if `op` is an operation of this model.
    pub fn supports(self, op: &Op) -> bool {
        match (self, op) {
            (_, Op::Get { .. } | Op::Put { .. }) | (ModelKind::Kv, _) => true,
            (ModelKind::CasRegister, Op::Cas { .. }) => true,
            (_, Op::Cas { .. } | Op::Append { .. }) => false,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModelKind::ALL.into_iter().find(|model| model.name() == text).ok_or_else(|| {
            format!("unknown model `{text}` (expected register, cas-register or kv)")
        })
    }
}

/// How times are shown in a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeDisplay {
    /// Times are nanoseconds; shown in milliseconds.
    Nanos,
    /// Times are positions of events in a file; shown as `@position`.
    Ordinal,
}

/// Bounds and presentation of one check.
#[derive(Clone, Copy, Debug)]
pub struct CheckOptions {
    /// Search steps one key may take before it is declared inconclusive.
    pub steps_per_key_max: u64,
    /// Search steps all keys together may take.
    pub steps_max: u64,
    /// Search steps spent shrinking a violation to a small slice.
    pub shrink_steps_max: u64,
    /// Memo-table words (8 bytes each) one search may hold before it is inconclusive.
    pub cache_words_max: usize,
    /// How times are printed.
    pub times: TimeDisplay,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            steps_per_key_max: 5_000_000,
            steps_max: 50_000_000,
            shrink_steps_max: 5_000_000,
            cache_words_max: 32 << 20,
            times: TimeDisplay::Nanos,
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every key's operations have a linearization.
    Linearizable,
    /// Some key's operations have none (proven by exhaustive search).
    NotLinearizable,
    /// No violation found, but the search ran out of budget on some key, or the history does
    /// not fit the model. Not a pass.
    Unknown,
}

/// The evidence for one non-linearizable key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFailure {
    /// The key.
    pub key: String,
    /// Operations of this key that entered the search.
    pub ops_searched: usize,
    /// Completed (`ok`) operations among them.
    pub ok_total: usize,
    /// The most completed operations any partial linearization covered.
    pub linearized_ok_max: usize,
    /// In that deepest attempt, the operation that completed without a way to place it.
    pub stuck: Option<HistoryOp>,
    /// The key's value in that deepest attempt, as shown: `nil`, a quoted string, or
    /// `<unobserved>` for a value written by an operation no result observed.
    pub state_at_stuck: String,
    /// The last operations of that partial linearization, in linearization order.
    pub linearized_tail: Vec<HistoryOp>,
    /// A small set of this key's operations that cannot be linearized, in invocation order.
    pub slice: Vec<HistoryOp>,
    /// True if removing any one operation of `slice` makes it linearizable.
    pub slice_one_minimal: bool,
}

/// What [`check_history`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearizabilityReport {
    /// The outcome.
    pub verdict: Verdict,
    /// The model checked against.
    pub model: ModelKind,
    /// Every key's value before the history.
    pub initial: Option<Value>,
    /// Operations in the history.
    pub ops_total: usize,
    /// Operations that entered the search.
    pub ops_searched: usize,
    /// `fail` operations, dropped: they did not take effect.
    pub fails_dropped: usize,
    /// `info` reads, dropped: they constrain nothing.
    pub info_reads_dropped: usize,
    /// `info` writes nothing observed, dropped.
    pub info_writes_pruned: usize,
    /// Keys checked.
    pub keys: usize,
    /// Search steps taken, shrinking included.
    pub steps: u64,
    /// Keys proven non-linearizable.
    pub failing_keys: Vec<String>,
    /// Keys whose search ran out of budget.
    pub inconclusive_keys: Vec<String>,
    /// Why the history could not be checked at all, if it could not.
    pub invalid: Option<String>,
    /// The evidence for the first failing key.
    pub failure: Option<KeyFailure>,
    /// How times are printed.
    pub times: TimeDisplay,
    /// The per-key step budget, for the report.
    steps_per_key_max: u64,
}

/// The linearizability check of key-value histories, as a history checker: the fast path of
/// [`crate::check::model::Linearizable`] for [`KvApi`], every key starting with no value.
#[derive(Clone, Copy, Debug, Default)]
pub struct KvLinearizability;

impl HistoryChecker<KvApi> for KvLinearizability {
    fn name(&self) -> &'static str {
        CHECK_NAME
    }

    fn check(&self, history: &TypedHistory<KvApi>, _run: &RunContext) -> CheckResult {
        let history = History::from(history);
        if history.ops.is_empty() {
            return CheckResult::not_judged(CHECK_NAME, "not judged: the history is empty");
        }
        check_history(&history, ModelKind::Kv, None).check_result()
    }
}

/// Checks `history` against `model`, every key starting at `initial`, with default bounds.
pub fn check_history(
    history: &History,
    model: ModelKind,
    initial: Option<Value>,
) -> LinearizabilityReport {
    check_history_with(history, model, initial, &CheckOptions::default())
}

/// Checks `history` against `model`, every key starting at `initial`.
pub fn check_history_with(
    history: &History,
    model: ModelKind,
    initial: Option<Value>,
    options: &CheckOptions,
) -> LinearizabilityReport {
    let mut report = LinearizabilityReport {
        verdict: Verdict::Linearizable,
        model,
        initial,
        ops_total: history.ops.len(),
        ops_searched: 0,
        fails_dropped: 0,
        info_reads_dropped: 0,
        info_writes_pruned: 0,
        keys: 0,
        steps: 0,
        failing_keys: Vec::new(),
        inconclusive_keys: Vec::new(),
        invalid: None,
        failure: None,
        times: options.times,
        steps_per_key_max: options.steps_per_key_max,
    };
    let by_key = match partition(history, model, &mut report) {
        Ok(by_key) => by_key,
        Err(reason) => {
            report.invalid = Some(reason);
            report.verdict = Verdict::Unknown;
            return report;
        }
    };
    report.keys = by_key.len();
    for (key, sources) in &by_key {
        let mut checker = KeyCheck::new(history, sources, report.initial.as_deref());
        report.info_writes_pruned += sources.len() - checker.subset.len();
        report.ops_searched += checker.subset.len();
        let steps_left = options.steps_max.saturating_sub(report.steps);
        let limits = Limits {
            steps_max: options.steps_per_key_max.min(steps_left),
            cache_words_max: options.cache_words_max,
        };
        let outcome = checker.search(limits, &mut report.steps);
        match outcome {
            SearchOutcome::Linearizable => {}
            SearchOutcome::Exhausted => report.inconclusive_keys.push(key.to_string()),
            SearchOutcome::NotLinearizable(progress) => {
                if report.failure.is_none() {
                    report.failure = Some(checker.failure(key, &progress, limits, options));
                    report.steps += checker.shrink_steps;
                }
                report.failing_keys.push(key.to_string());
            }
        }
    }
    report.verdict = if !report.failing_keys.is_empty() {
        Verdict::NotLinearizable
    } else if !report.inconclusive_keys.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Linearizable
    };
    report
}

/// Validates the history and splits the operations that enter the search by key.
fn partition<'h>(
    history: &'h History,
    model: ModelKind,
    report: &mut LinearizabilityReport,
) -> Result<BTreeMap<&'h str, Vec<usize>>, String> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, op) in history.ops.iter().enumerate() {
        if !model.supports(&op.op) {
            return Err(format!(
                "op #{} ({}) is not an operation of model {model}",
                op.id,
                describe_op(op)
            ));
        }
        if op.complete_ns < op.invoke_ns {
            return Err(format!("op #{} completes before it is invoked", op.id));
        }
        match op.outcome {
            Outcome::Fail => report.fails_dropped += 1,
            Outcome::Info if op.op.is_read() => report.info_reads_dropped += 1,
            Outcome::Ok | Outcome::Info => by_key.entry(op.op.key()).or_default().push(index),
        }
    }
    Ok(by_key)
}

/// The search over one key's operations.
struct KeyCheck<'h> {
    history: &'h History,
    states: States,
    initial: StateId,
    ops: Vec<KeyOp>,
    /// The operations that enter the search (indices into `ops`): all but pruned info writes.
    subset: Vec<usize>,
    shrink_steps: u64,
}

impl<'h> KeyCheck<'h> {
    fn new(history: &'h History, sources: &[usize], initial_value: Option<&str>) -> Self {
        let mut states = States::new();
        let initial = states.intern(initial_value);
        let roles = observe::roles(history, sources, initial_value);
        let ops: Vec<KeyOp> = sources
            .iter()
            .zip(&roles)
            .map(|(&source, &role)| {
                let op = &history.ops[source];
                let unobserved = role == Role::Unobserved;
                let step = match &op.op {
                    Op::Get { .. } => Step::Read(states.intern(op.value.as_deref())),
                    Op::Put { .. } | Op::Append { .. } if unobserved => {
                        Step::Write(STATE_UNOBSERVED)
                    }
                    Op::Put { value, .. } => Step::Write(states.intern(Some(value))),
                    Op::Append { value, .. } => Step::Append(states.intern(Some(value))),
                    Op::Cas { from, to, .. } => Step::Cas {
                        from: states.intern(from.as_deref()),
                        to: if unobserved { STATE_UNOBSERVED } else { states.intern(Some(to)) },
                    },
                };
                let ok = op.outcome == Outcome::Ok;
                KeyOp {
                    source,
                    call_ns: op.invoke_ns,
                    return_ns: ok.then_some(op.complete_ns),
                    step,
                }
            })
            .collect();
        let subset = (0..ops.len()).filter(|&i| roles[i] != Role::Drop).collect();
        KeyCheck { history, states, initial, ops, subset, shrink_steps: 0 }
    }

    fn search(&mut self, limits: Limits, steps: &mut u64) -> SearchOutcome {
        search(&self.ops, &self.subset, self.initial, &mut self.states, limits, steps)
    }

    fn history_op(&self, index: usize) -> HistoryOp {
        self.history.ops[self.ops[index].source].clone()
    }

    fn failure(
        &mut self,
        key: &str,
        progress: &Progress,
        limits: Limits,
        options: &CheckOptions,
    ) -> KeyFailure {
        let shrunk = shrink::shrink(
            &self.ops,
            &self.subset,
            self.initial,
            &mut self.states,
            limits,
            options.shrink_steps_max,
        );
        self.shrink_steps = shrunk.steps;
        KeyFailure {
            key: key.to_string(),
            ops_searched: self.subset.len(),
            ok_total: progress.ok_total,
            linearized_ok_max: progress.linearized_ok_max,
            stuck: progress.stuck.map(|index| self.history_op(index)),
            state_at_stuck: if progress.state == STATE_UNOBSERVED {
                "<unobserved>".to_string()
            } else {
                show_value(self.states.value(progress.state))
            },
            linearized_tail: progress.tail.iter().map(|&index| self.history_op(index)).collect(),
            slice: shrunk.ops.iter().map(|&index| self.history_op(index)).collect(),
            slice_one_minimal: shrunk.one_minimal,
        }
    }
}

impl LinearizabilityReport {
    /// True only for a proven linearizable history.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Linearizable
    }

    /// The verdict as a named check for the run's report.
    pub fn check_result(&self) -> CheckResult {
        let result = CheckResult::pass(CHECK_NAME, self.detail());
        CheckResult { passed: self.passed(), judged: self.ops_searched > 0, ..result }
    }

    /// A human-readable account: a summary line, and the evidence when it did not pass.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        let initial = show_value(self.initial.as_deref());
        let scope = format!(
            "model {}, initial value {initial}: {} of {} ops searched over {} keys in {} steps",
            self.model, self.ops_searched, self.ops_total, self.keys, self.steps
        );
        let dropped = format!(
            "dropped {} failed ops and {} indeterminate reads; pruned {} indeterminate writes \
             nothing observed",
            self.fails_dropped, self.info_reads_dropped, self.info_writes_pruned
        );
        match (self.verdict, &self.invalid) {
            (_, Some(reason)) => {
                let _ = write!(
                    out,
                    "INCONCLUSIVE: cannot check against model {}: {reason}",
                    self.model
                );
            }
            (Verdict::Linearizable, None) => {
                let _ = write!(out, "linearizable ({scope}; {dropped})");
            }
            (Verdict::Unknown, None) => {
                let _ = write!(
                    out,
                    "INCONCLUSIVE, not a pass: the search budget ({} steps per key) ran out on \
                     keys {}; no violation on the others ({scope}; {dropped})",
                    self.steps_per_key_max,
                    quote_all(&self.inconclusive_keys)
                );
            }
            (Verdict::NotLinearizable, None) => {
                let _ = writeln!(
                    out,
                    "NOT linearizable: {} of {} keys cannot be linearized: {} ({scope}; {dropped})",
                    self.failing_keys.len(),
                    self.keys,
                    quote_all(&self.failing_keys)
                );
                if !self.inconclusive_keys.is_empty() {
                    let keys = quote_all(&self.inconclusive_keys);
                    let _ = writeln!(out, "Inconclusive (budget ran out) on keys {keys}.");
                }
                if let Some(failure) = &self.failure {
                    failure.write(&mut out, self.times);
                }
            }
        }
        out.trim_end().to_string()
    }
}

impl KeyFailure {
    fn write(&self, out: &mut String, times: TimeDisplay) {
        let shown = self.slice.iter().chain(&self.linearized_tail).chain(&self.stuck);
        let precision = Precision::of(times, shown);
        let _ = write!(
            out,
            "Key {:?}: {} ops searched. The longest partial linearization covers {} of {} \
             completed ops and leaves the value {}",
            self.key, self.ops_searched, self.linearized_ok_max, self.ok_total, self.state_at_stuck
        );
        match &self.stuck {
            Some(op) => {
                let _ = writeln!(
                    out,
                    "; then op #{} ({}, completed {}) has no valid place.",
                    op.id,
                    describe_op(op),
                    precision.show(op.complete_ns)
                );
            }
            None => out.push_str(".\n"),
        }
        if !self.linearized_tail.is_empty() {
            out.push_str("Last ops of that partial linearization, in linearization order:\n");
            write_table(out, &self.linearized_tail, precision);
        }
        let minimal = if self.slice_one_minimal {
            "removing any one of them makes it linearizable"
        } else {
            "shrinking stopped at its budget, so it may not be minimal"
        };
        let _ = writeln!(
            out,
            "Non-linearizable slice of key {:?}: {} ops ({minimal}):",
            self.key,
            self.slice.len()
        );
        // A limit on what is printed: the operations closest to the violation, last.
        let shown = self.slice.len().min(SLICE_ROWS_MAX);
        if shown < self.slice.len() {
            let _ = writeln!(
                out,
                "  ({} earlier ops of the slice not shown; the last {shown} follow)",
                self.slice.len() - shown
            );
        }
        write_table(out, &self.slice[self.slice.len() - shown..], precision);
    }
}

/// Most rows of a non-linearizable slice printed in a report (the slice itself is kept whole).
pub const SLICE_ROWS_MAX: usize = 60;

/// How times are printed in one report: positions, or milliseconds with enough decimals.
#[derive(Clone, Copy)]
enum Precision {
    Ordinal,
    Millis { decimals: usize },
}

impl Precision {
    fn of<'a>(times: TimeDisplay, ops: impl Iterator<Item = &'a HistoryOp>) -> Self {
        if times == TimeDisplay::Ordinal {
            return Precision::Ordinal;
        }
        let mut decimals = 3;
        for op in ops {
            if op.invoke_ns % 1_000 != 0 || op.complete_ns % 1_000 != 0 {
                decimals = 6;
            }
        }
        Precision::Millis { decimals }
    }

    fn show(self, at_ns: Nanos) -> String {
        match self {
            Precision::Ordinal => format!("@{at_ns}"),
            Precision::Millis { decimals } => {
                let fraction = (at_ns % MILLISECOND) / 10u64.pow(6 - decimals as u32);
                format!("{}.{fraction:0decimals$}ms", at_ns / MILLISECOND)
            }
        }
    }
}

fn write_table(out: &mut String, ops: &[HistoryOp], precision: Precision) {
    let rows: Vec<[String; 6]> = ops
        .iter()
        .map(|op| {
            [
                format!("#{}", op.id),
                format!("client {}", op.client),
                precision.show(op.invoke_ns),
                precision.show(op.complete_ns),
                op.outcome.name().to_string(),
                describe_op(op),
            ]
        })
        .collect();
    let header = ["op", "client", "invoked", "completed", "outcome", "operation"].map(String::from);
    let mut widths = [0; 6];
    for row in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let _ = writeln!(
            out,
            "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:<w4$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3],
            w4 = widths[4],
        );
    }
}

/// `get k -> "v"`, `put k = "v"`, `cas k "a" -> "b"`, `append k += "x"`.
fn describe_op(op: &HistoryOp) -> String {
    match &op.op {
        Op::Get { key } if op.outcome == Outcome::Ok => {
            format!("get {key} -> {}", show_value(op.value.as_deref()))
        }
        Op::Get { key } => format!("get {key}"),
        Op::Put { key, value } => format!("put {key} = {}", show_value(Some(value))),
        Op::Cas { key, from, to } => {
            format!("cas {key} {} -> {}", show_value(from.as_deref()), show_value(Some(to)))
        }
        Op::Append { key, value } => format!("append {key} += {}", show_value(Some(value))),
    }
}

/// Values printed this long or longer are cut in the middle.
const VALUE_SHOWN_CHARS_MAX: usize = 100;

fn show_value(value: Option<&str>) -> String {
    let Some(text) = value else { return "nil".to_string() };
    let chars = text.chars().count();
    if chars <= VALUE_SHOWN_CHARS_MAX {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(30).collect();
    let tail: String = text.chars().skip(chars - 60).collect();
    format!("{head:?}..({} chars)..{tail:?}", chars - 90)
}

fn quote_all(keys: &[String]) -> String {
    keys.iter().map(|key| format!("{key:?}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        id: u64,
        op: Op,
        times: (Nanos, Nanos),
        outcome: Outcome,
        read: Option<&str>,
    ) -> HistoryOp {
        HistoryOp {
            id,
            client: id as u32,
            op,
            invoke_ns: times.0 * MILLISECOND,
            complete_ns: times.1 * MILLISECOND,
            outcome,
            value: read.map(str::to_string),
        }
    }

    fn put(key: &str, value: &str) -> Op {
        Op::Put { key: key.to_string(), value: value.to_string() }
    }

    fn get(key: &str) -> Op {
        Op::Get { key: key.to_string() }
    }

    #[test]
    fn model_names_round_trip_and_gate_operations() {
        for model in ModelKind::ALL {
            assert_eq!(model.name().parse::<ModelKind>(), Ok(model));
        }
        assert!("queue".parse::<ModelKind>().is_err());
        let cas = Op::Cas { key: "k".into(), from: None, to: "1".into() };
        assert!(!ModelKind::Register.supports(&cas));
        assert!(ModelKind::CasRegister.supports(&cas));
        let append = Op::Append { key: "k".into(), value: "1".into() };
        assert!(!ModelKind::CasRegister.supports(&append));
        assert!(ModelKind::Kv.supports(&append));
    }

    #[test]
    fn unobserved_info_writes_are_pruned_but_observed_ones_kept() {
        let history = History {
            ops: vec![
                op(0, put("k", "lost"), (0, 1), Outcome::Info, None),
                op(1, put("k", "seen"), (0, 1), Outcome::Info, None),
                op(2, get("k"), (2, 3), Outcome::Ok, Some("seen")),
            ],
        };
        let report = check_history(&history, ModelKind::Register, None);
        assert_eq!(report.verdict, Verdict::Linearizable, "{}", report.detail());
        assert_eq!(report.info_writes_pruned, 1);
        assert_eq!(report.ops_searched, 2);
    }

    #[test]
    fn unsupported_operation_is_inconclusive_not_a_pass() {
        let history = History {
            ops: vec![op(
                0,
                Op::Append { key: "k".into(), value: "x".into() },
                (0, 1),
                Outcome::Ok,
                None,
            )],
        };
        let report = check_history(&history, ModelKind::Register, None);
        assert_eq!(report.verdict, Verdict::Unknown);
        let result = report.check_result();
        assert!(!result.passed);
        assert!(result.detail.contains("not an operation of model register"), "{}", result.detail);
    }

    #[test]
    fn times_print_in_milliseconds_with_needed_decimals() {
        let coarse = Precision::Millis { decimals: 3 };
        assert_eq!(coarse.show(12_500_000), "12.500ms");
        let fine = Precision::Millis { decimals: 6 };
        assert_eq!(fine.show(1_000_123), "1.000123ms");
        assert_eq!(Precision::Ordinal.show(7), "@7");
        assert_eq!(show_value(None), "nil");
        assert!(show_value(Some(&"x".repeat(500))).contains("chars"));
    }
}
