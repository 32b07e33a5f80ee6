//! Liveness: a cluster that does nothing is safe, so safety alone proves little. Once every
//! fault is repaired (the quiet period), operations must succeed again within a bound, and keep
//! succeeding. A degrade with `through_quiet` is not repaired: the cluster must then make that
//! progress over the degraded links (as a Raft lab's "unreliable" tests ask), and the check
//! says so.

use super::{CheckKind, CheckResult, RunContext};
use crate::engine::{format_nanos, Nanos};
use crate::workload::{History, Outcome};

/// The name of the check.
pub const NAME: &str = "liveness";

/// The name of the minimum-progress check: over the whole run, at least `checks.ops_ok_min`
/// operations must succeed. It holds scenarios without a quiet period to account too: a run in
/// which nothing succeeded proves only that a cluster doing nothing is safe.
pub const PROGRESS: &str = "progress";

/// Judges minimum progress: at least `min_ok` operations of the history succeeded (0 turns the
/// check off). Not judged when no client issued anything or the run stopped at a violation.
pub fn judge_progress(history: &History, run: &RunContext, min_ok: u64) -> Option<CheckResult> {
    if min_ok == 0 {
        return None;
    }
    let (ok, fail, info) = history.counts();
    let total = history.ops.len();
    let result = if run.stopped_early {
        CheckResult::not_judged(PROGRESS, "not judged: the run stopped at a safety violation")
    } else if total == 0 {
        CheckResult::not_judged(PROGRESS, "not judged: no client issued an operation")
    } else if ok < min_ok {
        CheckResult::fail(
            PROGRESS,
            format!(
                "{ok} of {total} operations succeeded over the run ({fail} failed, {info} \
                 indeterminate); at least {min_ok} must (`checks.ops_ok_min`)"
            ),
        )
    } else {
        CheckResult::pass(
            PROGRESS,
            format!("{ok} of {total} operations succeeded (at least {min_ok} must)"),
        )
    };
    Some(result.of_kind(CheckKind::Liveness))
}

/// Judges a run's history, or says why it cannot: liveness needs a quiet period, a bound, an
/// unbroken run, and operations invoked in the quiet period.
pub fn judge(history: &History, run: &RunContext) -> Option<CheckResult> {
    let quiet_start = run.quiet_start?;
    if run.liveness_bound == 0 {
        return None;
    }
    let result = if run.stopped_early {
        CheckResult::not_judged(NAME, "not judged: the run stopped at a safety violation")
    } else if !history.ops.iter().any(|o| o.invoke_ns >= quiet_start) {
        CheckResult::not_judged(
            NAME,
            format!(
                "not judged: no operation was invoked after {} (the quiet period's start)",
                format_nanos(quiet_start)
            ),
        )
    } else {
        check(history, quiet_start, run.liveness_bound, run.faults_applied, run.degraded_in_quiet)
    };
    Some(result.of_kind(CheckKind::Liveness))
}

/// Judges `history` given that every fault was repaired at `quiet_start` (`faults` applied
/// before), but degraded links if `degraded`: some operation must succeed by
/// `quiet_start + bound`, and no operation invoked after that may end indeterminate.
pub fn check(
    history: &History,
    quiet_start: Nanos,
    bound: Nanos,
    faults: usize,
    degraded: bool,
) -> CheckResult {
    let since = if degraded {
        "the quiet period began with links still degraded (`through_quiet`), every other fault \
         repaired"
            .to_string()
    } else if faults == 0 {
        "the quiet period began (the run had no faults)".to_string()
    } else {
        "every fault was repaired".to_string()
    };
    let recovered_by = quiet_start + bound;
    let first_ok = history
        .ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok && o.complete_ns >= quiet_start)
        .map(|o| o.complete_ns)
        .min();
    let Some(first_ok) = first_ok else {
        let invoked = history.ops.iter().filter(|o| o.invoke_ns >= quiet_start).count();
        return CheckResult::fail(
            NAME,
            format!(
                "no operation succeeded after {since} at {} \
                 ({invoked} operations invoked since)",
                format_nanos(quiet_start)
            ),
        );
    };
    if first_ok > recovered_by {
        return CheckResult::fail(
            NAME,
            format!(
                "{since} at {}, but the first operation to succeed after that completed \
                 at {}: more than the {} bound",
                format_nanos(quiet_start),
                format_nanos(first_ok),
                format_nanos(bound)
            ),
        );
    }
    let stuck: Vec<usize> = (0..history.ops.len())
        .filter(|&i| {
            let o = &history.ops[i];
            o.invoke_ns >= recovered_by && o.outcome == Outcome::Info
        })
        .collect();
    if let Some(&i) = stuck.first() {
        let op = &history.ops[i];
        return CheckResult::fail(
            NAME,
            format!(
                "{} operation(s) invoked after recovery was due ({}) ended indeterminate; first: \
                 #{} client {} `{}` invoked at {}, gave up at {}",
                stuck.len(),
                format_nanos(recovered_by),
                op.id,
                op.client,
                history.describe(i),
                format_nanos(op.invoke_ns),
                format_nanos(op.complete_ns)
            ),
        );
    }
    CheckResult::pass(
        NAME,
        format!(
            "recovered {} after {since} (bound {})",
            format_nanos(first_ok - quiet_start),
            format_nanos(bound)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::workload::{Record, TypedHistory};

    fn op(id: u64, invoke_ns: Nanos, complete_ns: Nanos, outcome: Outcome) -> Record<KvApi> {
        let result = (outcome == Outcome::Ok).then_some(None);
        let op = Op::Get { key: "k".into() };
        Record { id, client: 0, op, invoke_ns, complete_ns, outcome, result }
    }

    fn history(ops: Vec<Record<KvApi>>) -> History {
        History::from_typed(TypedHistory { ops })
    }

    #[test]
    fn passes_when_operations_resume_within_the_bound() {
        let h = history(vec![op(0, 90, 95, Outcome::Info), op(1, 101, 120, Outcome::Ok)]);
        assert!(check(&h, 100, 50, 1, false).passed);
    }

    #[test]
    fn fails_when_nothing_succeeds_or_too_late_or_stalls() {
        let none = history(vec![op(0, 101, 200, Outcome::Info)]);
        assert!(!check(&none, 100, 50, 1, false).passed);
        let late = history(vec![op(0, 101, 200, Outcome::Ok)]);
        assert!(!check(&late, 100, 50, 1, false).passed);
        let stalls = history(vec![op(0, 101, 110, Outcome::Ok), op(1, 160, 300, Outcome::Info)]);
        let r = check(&stalls, 100, 50, 1, false);
        assert!(!r.passed && r.detail.contains("#1"), "{}", r.detail);
    }

    #[test]
    fn says_when_it_judged_nothing() {
        let run = RunContext {
            quiet_start: Some(100),
            end_ns: 200,
            faults_applied: 0,
            degraded_in_quiet: false,
            stopped_early: false,
            liveness_bound: 50,
        };
        let before = history(vec![op(0, 10, 20, Outcome::Ok)]);
        let r = judge(&before, &run).unwrap();
        assert!(r.passed && !r.judged && r.kind == CheckKind::Liveness, "{r:?}");
        let stopped = judge(&before, &RunContext { stopped_early: true, ..run }).unwrap();
        assert!(!stopped.judged);
        assert!(judge(&before, &RunContext { quiet_start: None, ..run }).is_none());
    }

    #[test]
    fn progress_needs_enough_successes_and_says_when_it_judged_nothing() {
        let run = RunContext {
            quiet_start: None,
            end_ns: 200,
            faults_applied: 0,
            degraded_in_quiet: false,
            stopped_early: false,
            liveness_bound: 0,
        };
        let stuck = history(vec![op(0, 10, 20, Outcome::Info), op(1, 30, 40, Outcome::Fail)]);
        let r = judge_progress(&stuck, &run, 1).unwrap();
        assert!(!r.passed && r.kind == CheckKind::Liveness, "{r:?}");
        assert!(r.detail.starts_with("0 of 2 operations succeeded"), "{}", r.detail);
        let one = history(vec![op(0, 10, 20, Outcome::Ok), op(1, 30, 40, Outcome::Info)]);
        assert!(judge_progress(&one, &run, 1).unwrap().passed);
        assert!(!judge_progress(&one, &run, 2).unwrap().passed);
        assert!(judge_progress(&one, &run, 0).is_none());
        let empty = history(vec![]);
        let r = judge_progress(&empty, &run, 1).unwrap();
        assert!(r.passed && !r.judged, "{r:?}");
        let r = judge_progress(&stuck, &RunContext { stopped_early: true, ..run }, 1).unwrap();
        assert!(r.passed && !r.judged, "{r:?}");
    }
}
