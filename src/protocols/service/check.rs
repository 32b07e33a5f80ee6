//! `goodput_recovery`, a liveness check: after the last slowdown ends, goodput (calls that
//! completed `ok` per bucket of `goodput_bucket`) must be back to `recovered_fraction` of its
//! baseline (the mean over the buckets before the first slowdown, the first bucket left out as
//! warm-up), for `recovered_buckets` buckets in a row, within `recovery_bound`.
//!
//! A metastable failure is the case it exists for: the trigger (the slowdown) is gone, yet the
//! system stays overloaded by the work the trigger left behind (retries of calls whose clients
//! gave up) and goodput stays near zero.
//!
//! Only buckets that end before the last invocation count: clients stop issuing a deadline
//! before the run ends, and the quiet goodput after that is no failure. The check says "not
//! judged" (never a silent pass) when there is no slowdown, no baseline, or too little run
//! after the slowdown to tell.

use super::api::ServiceApi;
use crate::api::history::{Outcome, TypedHistory};
use crate::check::{CheckKind, CheckResult, HistoryChecker, RunContext};
use crate::node::{format_nanos, Nanos};

/// The check's name.
pub const GOODPUT_RECOVERY: &str = "goodput_recovery";

/// Most buckets after the trigger the evidence lists.
const EVIDENCE_BUCKETS_MAX: usize = 40;

/// The `goodput_recovery` checker, with the slowdown window it judges recovery from.
#[derive(Clone, Debug, PartialEq)]
pub struct GoodputRecovery {
    /// The first slowdown's start and the last one's end (global time), if any.
    pub slowdown: Option<(Nanos, Nanos)>,
    /// Bucket width.
    pub bucket_ns: Nanos,
    /// Fraction of the baseline that counts as recovered.
    pub fraction: f64,
    /// Consecutive buckets at or above it that count as recovered.
    pub sustain: u32,
    /// Recovery must start within this long of the slowdown's end.
    pub bound_ns: Nanos,
}

impl GoodputRecovery {
    /// Judges `history`, whose run ended at `end_ns`.
    pub fn judge(&self, history: &TypedHistory<ServiceApi>, end_ns: Nanos) -> CheckResult {
        let name = GOODPUT_RECOVERY;
        let Some((start, end)) = self.slowdown else {
            return CheckResult::not_judged(
                name,
                "not judged: no slowdown (`[[protocol.slowdowns]]`), so nothing to recover from",
            );
        };
        let b = self.bucket_ns;
        let last_invoke = history.ops.iter().map(|o| o.invoke_ns).max().unwrap_or(0);
        let horizon = last_invoke.min(end_ns);
        let buckets = (horizon / b) as usize; // whole buckets before the horizon
        let mut goodput = vec![0u64; buckets];
        for o in history.ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            if let Some(slot) = goodput.get_mut((o.complete_ns / b) as usize) {
                *slot += 1;
            }
        }
        let before = ((start / b) as usize).min(buckets);
        if before < 3 {
            return CheckResult::not_judged(
                name,
                format!(
                    "not judged: the first slowdown starts at {}, leaving fewer than 2 buckets of \
                     {} (after the first, warm-up) to measure a baseline",
                    format_nanos(start),
                    format_nanos(b)
                ),
            );
        }
        let baseline = goodput[1..before].iter().sum::<u64>() as f64 / (before - 1) as f64;
        if baseline <= 0.0 {
            return CheckResult::not_judged(
                name,
                format!(
                    "not judged: no call succeeded before the slowdown at {}",
                    format_nanos(start)
                ),
            );
        }
        let threshold = baseline * self.fraction;
        let first = end.div_ceil(b) as usize;
        let sustain = self.sustain as usize;
        let recovered = (first..buckets.saturating_sub(sustain - 1))
            .find(|&i| goodput[i..i + sustain].iter().all(|&g| g as f64 >= threshold));
        let evidence = |upto: usize| {
            let from = (start / b) as usize;
            let upto = upto.min(buckets).min(first + EVIDENCE_BUCKETS_MAX).max(from);
            let counts: Vec<String> = goodput[from..upto].iter().map(u64::to_string).collect();
            format!(
                "baseline {baseline:.1} ok/{bucket} (threshold {threshold:.1}); slowdown \
                 {} to {}; ok per {bucket} from {}: [{}]",
                format_nanos(start),
                format_nanos(end),
                format_nanos(from as Nanos * b),
                counts.join(" "),
                bucket = format_nanos(b),
            )
        };
        let due = end + self.bound_ns;
        match recovered {
            Some(i) if i as Nanos * b <= due => CheckResult::pass(
                name,
                format!(
                    "recovered at {}, {} after the slowdown ended (bound {}); {}",
                    format_nanos(i as Nanos * b),
                    format_nanos((i as Nanos * b).saturating_sub(end)),
                    format_nanos(self.bound_ns),
                    evidence(i + sustain)
                ),
            ),
            Some(i) => CheckResult::fail(
                name,
                format!(
                    "goodput recovered only at {}, {} after the slowdown ended at {}: more \
                     than the {} bound; {}",
                    format_nanos(i as Nanos * b),
                    format_nanos(i as Nanos * b - end),
                    format_nanos(end),
                    format_nanos(self.bound_ns),
                    evidence(i + sustain)
                ),
            ),
            None if horizon >= due + sustain as Nanos * b => CheckResult::fail(
                name,
                format!(
                    "goodput never recovered after the slowdown ended at {} (bound {}, judged \
                     until {}); {}",
                    format_nanos(end),
                    format_nanos(self.bound_ns),
                    format_nanos(horizon),
                    evidence(buckets)
                ),
            ),
            None => CheckResult::not_judged(
                name,
                format!(
                    "not judged: clients stopped issuing at {}, before recovery was due by {} \
                     (lengthen the run); {}",
                    format_nanos(horizon),
                    format_nanos(due),
                    evidence(buckets)
                ),
            ),
        }
    }
}

impl HistoryChecker<ServiceApi> for GoodputRecovery {
    fn name(&self) -> &'static str {
        GOODPUT_RECOVERY
    }

    fn kind(&self) -> CheckKind {
        CheckKind::Liveness
    }

    fn check(&self, history: &TypedHistory<ServiceApi>, run: &RunContext) -> CheckResult {
        let result = if run.stopped_early {
            CheckResult::not_judged(GOODPUT_RECOVERY, "not judged: the run stopped early")
        } else {
            self.judge(history, run.end_ns)
        };
        result.of_kind(CheckKind::Liveness)
    }
}
