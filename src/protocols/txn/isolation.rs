//! `txn_isolation`: the client history judged by the Elle-class checker.

use super::api::{Mop, ReadValue, TxnApi, TxnKind};
use super::check::ISOLATION;
use super::config::TxnConfig;
use crate::api::history::{Outcome, TypedHistory};
use crate::check::{CheckResult, HistoryChecker, RunContext};
use crate::node::Nanos;

/// The `txn_isolation` check. See the module documentation.
pub struct TxnIsolation {
    options: crate::check::elle::Options,
}

impl TxnIsolation {
    /// The check for the scenario's settings (validated: the models parse).
    pub fn new(config: &TxnConfig) -> Self {
        let models = config.models().expect("validated: the consistency models parse");
        let options = crate::check::elle::Options {
            consistency_models: models,
            linearizable_keys: config.linearizable_keys,
            ..Default::default()
        };
        TxnIsolation { options }
    }
}

/// The history of one workload as the Elle-class checker reads it: an invocation and a
/// completion per transaction, in time order (an `info` completes as `info`: its effect is
/// unknown).
pub fn elle_history(history: &TypedHistory<TxnApi>, kind: TxnKind) -> Vec<crate::check::elle::Op> {
    use crate::check::elle::{Mop as EMop, Op, OpType, ReadValue as ERead};
    let mut events: Vec<(Nanos, u8, u64, Op)> = Vec::new();
    for r in history.ops.iter().filter(|r| r.op.kind == kind) {
        let mops = |with_reads: bool| -> Vec<EMop> {
            r.op.mops
                .iter()
                .enumerate()
                .map(|(i, m)| match *m {
                    Mop::Append { key, value } => EMop::Append { key, value },
                    Mop::Write { key, value } => EMop::Write { key, value },
                    Mop::Read { key } => {
                        let read = r
                            .result
                            .as_ref()
                            .filter(|_| with_reads)
                            .and_then(|res| res.reads.get(i).cloned().flatten())
                            .map(|v| match v {
                                ReadValue::List(l) => ERead::List(l),
                                ReadValue::Register(v) => ERead::Register(v),
                            });
                        EMop::Read { key, value: read }
                    }
                })
                .collect()
        };
        let process = u64::from(r.client);
        let invoke = Op { index: 0, process, kind: OpType::Invoke, mops: mops(false), time: None };
        events.push((r.invoke_ns, 0, r.id, Op { time: Some(r.invoke_ns), ..invoke }));
        let kind = match r.outcome {
            Outcome::Ok => OpType::Ok,
            Outcome::Fail => OpType::Fail,
            Outcome::Info => OpType::Info,
        };
        let done = Op { index: 0, process, kind, mops: mops(true), time: Some(r.complete_ns) };
        events.push((r.complete_ns, 1, r.id, done));
    }
    // Completions before invocations at one instant: an operation that ended then precedes
    // one that began then only if it really did; ties never make a real-time edge.
    events.sort_by_key(|(t, phase, id, _)| (*t, std::cmp::Reverse(*phase), *id));
    events
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, _, op))| crate::check::elle::Op { index: i as u64, ..op })
        .collect()
}

impl HistoryChecker<TxnApi> for TxnIsolation {
    fn name(&self) -> &'static str {
        ISOLATION
    }

    fn check(&self, history: &TypedHistory<TxnApi>, _: &RunContext) -> CheckResult {
        use crate::check::elle::{check, Model, Validity};
        let models: Vec<&str> = self.options.consistency_models.iter().map(|m| m.name()).collect();
        let models = models.join(", ");
        let mut details = Vec::new();
        let mut failed = false;
        let mut judged = false;
        for (kind, model) in
            [(TxnKind::ListAppend, Model::ListAppend), (TxnKind::RwRegister, Model::RwRegister)]
        {
            let ops = elle_history(history, kind);
            if ops.is_empty() {
                continue;
            }
            let report = check(&ops, model, &self.options);
            let committed = history
                .ops
                .iter()
                .filter(|r| r.op.kind == kind && r.outcome == Outcome::Ok)
                .count();
            match report.valid {
                Validity::False => {
                    failed = true;
                    judged = true;
                    details.insert(
                        0,
                        format!(
                            "{}: {} transactions ({committed} committed) are not {models}: {}\n{}",
                            model.name(),
                            report.txns,
                            report.anomaly_types.join(", "),
                            report.render().trim_end()
                        ),
                    );
                }
                Validity::Unknown => details.push(format!(
                    "{}: {} transactions ({committed} committed): nothing to judge ({})",
                    model.name(),
                    report.txns,
                    report.anomaly_types.join(", ")
                )),
                Validity::True => {
                    judged = true;
                    details.push(format!(
                        "{}: {} transactions ({committed} committed), {} dependencies: {models}",
                        model.name(),
                        report.txns,
                        report.edges
                    ));
                }
            }
        }
        let detail = details.join("\n");
        if failed {
            CheckResult::fail(ISOLATION, detail)
        } else if !judged {
            let why = if detail.is_empty() { "no transaction ran".to_string() } else { detail };
            CheckResult::not_judged(ISOLATION, why)
        } else {
            CheckResult::pass(ISOLATION, detail)
        }
    }
}
