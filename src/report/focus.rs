//! What the report of a failed run looks at: the failed check, and the times and operations its
//! evidence names. Checkers write their evidence for people (`committed by node 3 at
//! t=1.008991s`, `op #12`); reports read those names back from the check's detail, so they need
//! nothing from a checker beyond its verdict.

use crate::engine::{parse_duration, Nanos, MILLISECOND};
use crate::sim::{RunReport, EXPECT_CHECK};
use crate::workload::History;

/// Least time shown around the named times, before the first and after the failure.
pub const FOCUS_MARGIN_NS: Nanos = 10 * MILLISECOND;
/// Least length of a window around a failure.
pub const FOCUS_WINDOW_MIN_NS: Nanos = 50 * MILLISECOND;

/// A failed check: its name and its evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailedCheck<'a> {
    /// The check's name.
    pub name: &'a str,
    /// What it found.
    pub detail: &'a str,
}

/// The failed check a report is about: the first check that went against the run, else the
/// first that failed as the scenario expected (`[expect]`: the run passed because it failed).
/// `None` when every check passed, or when only the `expect` check failed (the failure the
/// scenario exists to show did not happen, so there is no failure to show).
pub fn failed_check(report: &RunReport) -> Option<FailedCheck<'_>> {
    let check = report.first_failure().or_else(|| report.checks.iter().find(|c| !c.passed))?;
    let failed = FailedCheck { name: &check.name, detail: &check.detail };
    (check.name != EXPECT_CHECK).then_some(failed)
}

/// Every time a detail names as `t=<duration>` (`t=1.008991s`, `t=250ms`), in text order.
pub fn named_times(detail: &str) -> Vec<Nanos> {
    let mut times = Vec::new();
    for (at, _) in detail.match_indices("t=") {
        // `t=` begins a word: `at=3` or `count=2` name no time.
        let word_start = detail[..at].chars().last().is_none_or(|c| !c.is_alphanumeric());
        if !word_start {
            continue;
        }
        let rest = &detail[at + 2..];
        let number = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let unit = rest[number..].find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(0);
        if let Ok(t) = parse_duration(&rest[..number + unit]) {
            times.push(t);
        }
    }
    times
}

/// The operations a detail names by id (`#12`), sorted into the parts of a linearizability
/// failure (see `crate::check::linearizability`): the operation with no valid place, the last
/// operations of the longest partial linearization (in linearization order) and the minimal
/// non-linearizable slice. Ids named anywhere else are `other`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamedOps {
    /// The op that has no valid place after the longest partial linearization.
    pub stuck: Option<u64>,
    /// The last ops of the longest partial linearization, in linearization order.
    pub partial: Vec<u64>,
    /// The minimal non-linearizable slice (its last rows, if the checker cut a long one).
    pub slice: Vec<u64>,
    /// Ops named outside those parts (e.g. by the liveness check).
    pub other: Vec<u64>,
}

impl NamedOps {
    /// True if the detail names no operation.
    pub fn is_empty(&self) -> bool {
        self.stuck.is_none()
            && self.partial.is_empty()
            && self.slice.is_empty()
            && self.other.is_empty()
    }
}

/// The ids named `#N` in `text`, in order.
fn ids(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices('#') {
        let rest = &text[at + 1..];
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if let Ok(id) = rest[..digits].parse() {
            out.push(id);
        }
    }
    out
}

/// Reads the operations a check's detail names; see [`NamedOps`].
pub fn named_ops(detail: &str) -> NamedOps {
    #[derive(PartialEq)]
    enum Part {
        Text,
        Partial,
        Slice,
    }
    let mut named = NamedOps::default();
    let mut part = Part::Text;
    for line in detail.lines() {
        if line.starts_with("Last ops of that partial linearization") {
            part = Part::Partial;
            continue;
        }
        if line.starts_with("Non-linearizable slice") {
            part = Part::Slice;
            continue;
        }
        // A part's lines are indented: a table's header, its rows (each beginning with the
        // op's id) and notes such as `(40 earlier ops of the slice not shown)`.
        let row = line.trim_start().starts_with('#');
        match (&part, line.starts_with(' ')) {
            (Part::Partial, true) if row => named.partial.extend(ids(line).first()),
            (Part::Slice, true) if row => named.slice.extend(ids(line).first()),
            (Part::Partial | Part::Slice, true) => {}
            _ => {
                part = Part::Text;
                match line.split_once("then op #") {
                    Some((before, after)) => {
                        named.other.extend(ids(before));
                        named.stuck = ids(&format!("#{after}")).first().copied();
                    }
                    None => named.other.extend(ids(line)),
                }
            }
        }
    }
    named
}

/// Where a failed run's report looks: the failed check, the times its detail names and the
/// time of the failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Focus {
    /// The failed check's name.
    pub check: String,
    /// When the failure showed: the latest time the check names, or the end of the run.
    pub failure_ns: Nanos,
    /// Every time the check names (times `t=...`, and the invocations and completions of the
    /// operations it names as the failure), sorted, with `failure_ns` last.
    pub named_ns: Vec<Nanos>,
    /// What happened at some of those times: `#12 get k0 -> nil invoked`.
    pub notes: Vec<(Nanos, String)>,
}

impl Focus {
    /// The focus of a run's report, if a check failed (see [`failed_check`]). The times are
    /// the detail's `t=...`; for a linearizability failure, the invocation and completion of
    /// the op with no valid place (else of the slice's last op); for other checks, of every op
    /// named. A check that names nothing failed at the end of the run (`report.virtual_ns`).
    pub fn of(report: &RunReport, history: &History) -> Option<Focus> {
        let check = failed_check(report)?;
        let mut named_ns = named_times(check.detail);
        let ops = named_ops(check.detail);
        let shown: Vec<u64> = match (ops.stuck, ops.slice.last()) {
            (Some(stuck), _) => vec![stuck],
            (None, Some(&last)) => vec![last],
            (None, None) => ops.other.clone(),
        };
        let mut notes = Vec::new();
        for id in shown {
            if let Some(i) = history.ops.iter().position(|o| o.id == id) {
                let (op, text) = (&history.ops[i], history.describe(i));
                named_ns.extend([op.invoke_ns, op.complete_ns]);
                notes.push((op.invoke_ns, format!("#{id} {text} invoked")));
                notes.push((op.complete_ns, format!("#{id} {text} completed")));
            }
        }
        if named_ns.is_empty() {
            named_ns.push(report.virtual_ns);
        }
        named_ns.sort_unstable();
        named_ns.dedup();
        let failure_ns = *named_ns.last().expect("at least one time");
        Some(Focus { check: check.name.to_string(), failure_ns, named_ns, notes })
    }

    /// What the check's evidence says happened at `t`, if it names something then.
    pub fn note(&self, t: Nanos) -> Option<&str> {
        self.notes.iter().find(|(at, _)| *at == t).map(|(_, note)| note.as_str())
    }

    /// The earliest time named.
    pub fn first_ns(&self) -> Nanos {
        self.named_ns[0]
    }

    /// The window that shows every named time and the failure inside it: from the earliest
    /// named time to the failure, with a margin of an eighth of that span (at least
    /// [`FOCUS_MARGIN_NS`]) on both sides, and at least [`FOCUS_WINDOW_MIN_NS`] long.
    pub fn window(&self) -> (Nanos, Nanos) {
        let (first, last) = (self.first_ns(), self.failure_ns);
        let margin = ((last - first) / 8).max(FOCUS_MARGIN_NS);
        let from = first.saturating_sub(margin);
        let from = from.min(last.saturating_sub(FOCUS_WINDOW_MIN_NS - FOCUS_MARGIN_NS));
        let to = (last + margin).max(from + FOCUS_WINDOW_MIN_NS);
        debug_assert!(from <= first && last < to);
        (from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_where_a_word_begins_with_t_equals() {
        let detail = "t=1.177671s: node 4 became leader of term 7 but lacks entry 15 committed \
                      by node 3 at t=1.008991s; at=5 count=2 (t=250ms)";
        assert_eq!(named_times(detail), vec![1_177_671_000, 1_008_991_000, 250_000_000]);
        assert_eq!(named_times("no times; t= nothing; t=xs"), Vec::<Nanos>::new());
    }

    /// The layout of `crate::check::linearizability`'s failure detail.
    const LINEARIZABILITY: &str = "NOT linearizable: 1 of 2 keys cannot be linearized: \"k0\" \
(model kv, initial value nil: 12 of 12 ops searched over 2 keys in 18 steps; dropped 0)
Key \"k0\": 6 ops searched. The longest partial linearization covers 2 of 6 completed ops and \
leaves the value <unobserved>; then op #1053 (get k0 -> nil, completed 4796.802826ms) has no \
valid place.
Last ops of that partial linearization, in linearization order:
  op  client       invoked    completed  outcome  operation
  #1  client 2  1.069471ms   7.508417ms  ok       get k0 -> nil
  #0  client 0  0.109824ms  15.382681ms  ok       put k0 = \"c0-1\"
Non-linearizable slice of key \"k0\": 2 ops (removing any one of them makes it linearizable):
  (1 earlier ops of the slice not shown; the last 2 follow)
  op     client          invoked      completed  outcome  operation
  #133   client 3   479.493008ms   499.372942ms  ok       put k0 = \"c3-34\"
  #1053  client 1  4714.890459ms  4796.802826ms  ok       get k0 -> nil";

    #[test]
    fn a_linearizability_detail_names_the_stuck_op_the_partial_linearization_and_the_slice() {
        let named = named_ops(LINEARIZABILITY);
        assert_eq!(named.stuck, Some(1053));
        assert_eq!(named.partial, vec![1, 0]);
        assert_eq!(named.slice, vec![133, 1053]);
        assert!(named.other.is_empty(), "{named:?}");
        let liveness = "2 operation(s) invoked after recovery was due (12s) ended indeterminate; \
                        first: #77 client 1 `get k0` invoked at 12.5s, gave up at 14.5s";
        assert_eq!(named_ops(liveness).other, vec![77]);
        assert!(named_ops("4 terms had a leader").is_empty());
    }

    #[test]
    fn the_window_holds_the_cause_and_the_failure_with_margins() {
        let focus = |named_ns: Vec<Nanos>| Focus {
            check: "c".into(),
            failure_ns: *named_ns.last().unwrap(),
            named_ns,
            notes: Vec::new(),
        };
        // Figure 8: committed at 1.008991 s, overwritten by a leader at 1.177671 s.
        let (from, to) = focus(vec![1_008_991_000, 1_177_671_000]).window();
        assert!(from < 1_008_991_000 && to > 1_177_671_000, "{from}..{to}");
        assert_eq!((from, to), (1_008_991_000 - 21_085_000, 1_177_671_000 + 21_085_000));
        // One time: 40 ms before it, 10 ms after.
        let t = 500 * MILLISECOND;
        assert_eq!(focus(vec![t]).window(), (t - 40 * MILLISECOND, t + FOCUS_MARGIN_NS));
        assert_eq!(focus(vec![MILLISECOND]).window(), (0, FOCUS_WINDOW_MIN_NS));
    }
}
