//! Liveness: a cluster that does nothing is safe, so safety alone proves little. Once every
//! fault is repaired (the quiet period), operations must succeed again within a bound, and keep
//! succeeding.

use super::CheckResult;
use crate::engine::{format_nanos, Nanos};
use crate::workload::{History, Outcome};

/// The name of the check.
pub const NAME: &str = "liveness";

/// Judges `history` given that every fault was repaired at `quiet_start`: some operation must
/// succeed by `quiet_start + bound`, and no operation invoked after that may end indeterminate.
pub fn check(history: &History, quiet_start: Nanos, bound: Nanos) -> CheckResult {
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
                "no operation succeeded after every fault was repaired at {} \
                 ({invoked} operations invoked since)",
                format_nanos(quiet_start)
            ),
        );
    };
    if first_ok > recovered_by {
        return CheckResult::fail(
            NAME,
            format!(
                "faults repaired at {}, but the first operation to succeed after that completed \
                 at {}: more than the {} bound",
                format_nanos(quiet_start),
                format_nanos(first_ok),
                format_nanos(bound)
            ),
        );
    }
    let stuck: Vec<_> = history
        .ops
        .iter()
        .filter(|o| o.invoke_ns >= recovered_by && o.outcome == Outcome::Info)
        .collect();
    if let Some(op) = stuck.first() {
        return CheckResult::fail(
            NAME,
            format!(
                "{} operation(s) invoked after recovery was due ({}) ended indeterminate; first: \
                 #{} client {} `{}` invoked at {}, gave up at {}",
                stuck.len(),
                format_nanos(recovered_by),
                op.id,
                op.client,
                op.op,
                format_nanos(op.invoke_ns),
                format_nanos(op.complete_ns)
            ),
        );
    }
    CheckResult::pass(
        NAME,
        format!(
            "recovered {} after faults were repaired (bound {})",
            format_nanos(first_ok - quiet_start),
            format_nanos(bound)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Op;
    use crate::workload::HistoryOp;

    fn op(id: u64, invoke_ns: Nanos, complete_ns: Nanos, outcome: Outcome) -> HistoryOp {
        HistoryOp {
            id,
            client: 0,
            op: Op::Get { key: "k".into() },
            invoke_ns,
            complete_ns,
            outcome,
            value: None,
        }
    }

    #[test]
    fn passes_when_operations_resume_within_the_bound() {
        let h = History { ops: vec![op(0, 90, 95, Outcome::Info), op(1, 101, 120, Outcome::Ok)] };
        assert!(check(&h, 100, 50).passed);
    }

    #[test]
    fn fails_when_nothing_succeeds_or_too_late_or_stalls() {
        let none = History { ops: vec![op(0, 101, 200, Outcome::Info)] };
        assert!(!check(&none, 100, 50).passed);
        let late = History { ops: vec![op(0, 101, 200, Outcome::Ok)] };
        assert!(!check(&late, 100, 50).passed);
        let stalls =
            History { ops: vec![op(0, 101, 110, Outcome::Ok), op(1, 160, 300, Outcome::Info)] };
        let r = check(&stalls, 100, 50);
        assert!(!r.passed && r.detail.contains("#1"), "{}", r.detail);
    }
}
