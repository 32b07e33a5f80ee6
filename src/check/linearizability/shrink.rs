//! Shrinks a non-linearizable set of operations of one key to a small one that still is.
//!
//! First the shortest failing prefix (in invocation order) is looked for, then chunks and
//! single operations are deleted greedily while the rest stays non-linearizable (delta
//! debugging without the complement step). Every candidate is judged by a full search, so the
//! result is always a verified non-linearizable slice; a bounded step budget stops the work
//! early, in which case the slice is small but maybe not minimal.
//!
//! A deletion must also keep every read explained: deleting the write whose value a stale read
//! returned leaves a read of a value nobody wrote, non-linearizable but beside the point. So a
//! candidate may not have a completed read or compare-and-set whose expected value no remaining
//! write (or the initial value) can produce, unless the whole history already had it.

use super::observe::explains;
use super::search::{search, KeyOp, Limits, SearchOutcome, StateId, States, Step};
use super::search::{STATE_NONE, STATE_UNOBSERVED};

/// The result of shrinking.
pub(super) struct Shrunk {
    /// Indices into the key's operations, in invocation order.
    pub ops: Vec<usize>,
    /// True if removing any single operation of `ops` makes it linearizable.
    pub one_minimal: bool,
    /// Steps the searches took.
    pub steps: u64,
}

struct Shrinker<'a> {
    ops: &'a [KeyOp],
    initial: StateId,
    states: &'a mut States,
    limits: Limits,
    steps: u64,
    steps_max: u64,
    exhausted: bool,
    /// Operations whose expected value the whole failing set cannot explain, ascending.
    unexplained_allowed: Vec<usize>,
}

impl Shrinker<'_> {
    /// True if `candidate` is verified non-linearizable within the budget, and explains the
    /// reads it keeps.
    fn fails(&mut self, candidate: &[usize]) -> bool {
        if self.steps >= self.steps_max {
            self.exhausted = true;
            return false;
        }
        self.steps += candidate.len() as u64;
        let unexplained = self.unexplained(candidate);
        let allowed = &self.unexplained_allowed;
        if !unexplained.iter().all(|index| allowed.binary_search(index).is_ok()) {
            return false;
        }
        let steps_max = self.limits.steps_max.min(self.steps_max - self.steps);
        let limits = Limits { steps_max, ..self.limits };
        let outcome =
            search(self.ops, candidate, self.initial, self.states, limits, &mut self.steps);
        match outcome {
            SearchOutcome::NotLinearizable(_) => true,
            SearchOutcome::Linearizable => false,
            SearchOutcome::Exhausted => {
                self.exhausted = true;
                false
            }
        }
    }

    /// The completed operations of `candidate` (indices into the ops, ascending) whose
    /// expected value no base and appends of `candidate` can produce.
    fn unexplained(&self, candidate: &[usize]) -> Vec<usize> {
        let value = |id: StateId| self.states.value(id).unwrap_or_default();
        let mut bases = vec![""];
        if self.initial != STATE_NONE {
            bases.push(value(self.initial));
        }
        let mut pieces = Vec::new();
        for &index in candidate {
            match self.ops[index].step {
                Step::Write(v) | Step::Cas { to: v, .. } if v != STATE_UNOBSERVED => {
                    bases.push(value(v));
                }
                Step::Append(piece) => pieces.push(value(piece)),
                _ => {}
            }
        }
        let mut unexplained: Vec<usize> = candidate
            .iter()
            .copied()
            .filter(|&index| {
                let op = &self.ops[index];
                let expected = match op.step {
                    Step::Read(v) | Step::Cas { from: v, .. } if op.return_ns.is_some() => v,
                    _ => return false,
                };
                if expected == STATE_NONE {
                    return self.initial != STATE_NONE;
                }
                !explains(value(expected), &bases, &pieces)
            })
            .collect();
        unexplained.sort_unstable();
        unexplained
    }

    /// The shortest prefix of `current` found to fail (`current` itself fails).
    fn shortest_failing_prefix(&mut self, current: &[usize]) -> usize {
        let mut len = 1;
        while len < current.len() && !self.fails(&current[..len]) {
            len *= 2;
        }
        let (mut low, mut high) = (len / 2, len.min(current.len()));
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if self.fails(&current[..middle]) {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    }

    /// Deletes runs of `chunk` operations while the rest still fails. True if any went.
    fn delete_chunks(&mut self, current: &mut Vec<usize>, chunk: usize) -> bool {
        assert!(chunk > 0);
        let mut removed = false;
        let mut start = 0;
        while start < current.len() && !self.exhausted {
            let end = (start + chunk).min(current.len());
            let candidate: Vec<usize> =
                current[..start].iter().chain(&current[end..]).copied().collect();
            if !candidate.is_empty() && self.fails(&candidate) {
                *current = candidate;
                removed = true;
            } else {
                start = end;
            }
        }
        removed
    }
}

/// Shrinks `failing` (indices into `ops`, non-linearizable from `initial`), spending at most
/// about `steps_max` search steps, each search bounded by `limits`.
pub(super) fn shrink(
    ops: &[KeyOp],
    failing: &[usize],
    initial: StateId,
    states: &mut States,
    limits: Limits,
    steps_max: u64,
) -> Shrunk {
    assert!(!failing.is_empty(), "an empty history is linearizable");
    let mut shrinker = Shrinker {
        ops,
        initial,
        states,
        limits,
        steps: 0,
        steps_max,
        exhausted: false,
        unexplained_allowed: Vec::new(),
    };
    shrinker.unexplained_allowed = shrinker.unexplained(failing);
    let mut current = failing.to_vec();
    let prefix = shrinker.shortest_failing_prefix(&current);
    current.truncate(prefix);
    let mut chunk = current.len() / 2;
    while chunk > 1 && !shrinker.exhausted {
        shrinker.delete_chunks(&mut current, chunk);
        chunk /= 2;
    }
    let mut one_minimal = false;
    while !shrinker.exhausted {
        if !shrinker.delete_chunks(&mut current, 1) {
            one_minimal = !shrinker.exhausted;
            break;
        }
    }
    Shrunk { ops: current, one_minimal, steps: shrinker.steps }
}
