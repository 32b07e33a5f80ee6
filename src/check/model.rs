//! Linearizability of any datatype: a [`Model`] (Porcupine's four functions, stateright's
//! `SequentialSpec`) and a checker that searches a history for a linearization of it.
//!
//! The search is Wing & Gong's with Lowe's memoization of (set of linearized operations, model
//! state), run per partition ([`Model::partition`]: independent keys are checked apart). `ok`
//! operations took effect between their invocation and completion; `info` operations may take
//! effect at any time after their invocation, or never, so they have no completion event and
//! a linearization may leave them out; `fail` operations did not take effect and are dropped.
//!
//! Key-value histories have a faster, specialised search
//! ([`crate::check::linearizability::KvLinearizability`]); this one serves every other API,
//! and is tested against that one on random key-value histories.

// The search's cache is a hash set with a fixed hasher: lookups only, never iterated, so the
// order of the table cannot reach a verdict.
#![allow(clippy::disallowed_types)]

use super::{CheckResult, HistoryChecker, RunContext};
use crate::api::Api;
use crate::workload::{Outcome, Record, TypedHistory};
use std::collections::{BTreeMap, HashSet}; // determinism-ok: HashSet lookups only, fixed hasher
use std::fmt::Debug;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash};
use std::marker::PhantomData;

/// A sequential specification: what one correct copy of the data would answer.
pub trait Model {
    /// The operations (the system's API's).
    type Op;
    /// Their results.
    type Res;
    /// The state of one partition.
    type State: Clone + Eq + Hash + Debug;

    /// The state every partition starts in.
    fn init(&self) -> Self::State;

    /// The state after `op` if, applied to `state`, it could have returned `res` (`None`: the
    /// result is unknown, any result will do); `None` if it could not.
    fn step(
        &self,
        state: &Self::State,
        op: &Self::Op,
        res: Option<&Self::Res>,
    ) -> Option<Self::State>;

    /// The partition `op` belongs to: operations of different partitions never affect each
    /// other (keys of a key-value store). One partition by default.
    fn partition(&self, _op: &Self::Op) -> String {
        String::new()
    }
}

/// Most search steps per partition before the check gives up (inconclusive, not a pass).
pub const STEPS_PER_PARTITION_MAX: u64 = 10_000_000;

/// The linearizability check of histories of API `A` against model `M`.
pub struct Linearizable<A, M> {
    name: &'static str,
    model: M,
    steps_max: u64,
    api: PhantomData<fn() -> A>,
}

impl<A, M> Linearizable<A, M> {
    /// The check `linearizability` against `model`.
    pub fn new(model: M) -> Self {
        Linearizable {
            name: "linearizability",
            model,
            steps_max: STEPS_PER_PARTITION_MAX,
            api: PhantomData,
        }
    }

    /// The same check under another name.
    pub fn named(self, name: &'static str) -> Self {
        Linearizable { name, ..self }
    }

    /// With another step budget per partition.
    pub fn steps_max(self, steps_max: u64) -> Self {
        Linearizable { steps_max, ..self }
    }
}

/// The verdict on one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A linearization exists.
    Linearizable,
    /// None exists: the longest linearized prefix found (indices into the history) and the
    /// operation no order could place next.
    NotLinearizable { prefix: Vec<usize>, stuck: usize },
    /// The step budget ran out.
    Inconclusive,
}

impl<A, M> Linearizable<A, M>
where
    A: Api,
    M: Model<Op = A::Op, Res = A::Res>,
{
    /// Checks the operations `indices` of `history` (one partition).
    pub fn search(&self, history: &TypedHistory<A>, indices: &[usize]) -> Verdict {
        search(&self.model, &history.ops, indices, self.steps_max)
    }
}

impl<A, M> HistoryChecker<A> for Linearizable<A, M>
where
    A: Api,
    M: Model<Op = A::Op, Res = A::Res>,
{
    fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self, history: &TypedHistory<A>, _run: &RunContext) -> CheckResult {
        let mut partitions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, r) in history.ops.iter().enumerate() {
            if r.outcome != Outcome::Fail {
                partitions.entry(self.model.partition(&r.op)).or_default().push(i);
            }
        }
        if partitions.is_empty() {
            return CheckResult::not_judged(self.name, "not judged: no operation took effect");
        }
        let searched: usize = partitions.values().map(Vec::len).sum();
        let mut inconclusive = Vec::new();
        for (key, indices) in &partitions {
            match self.search(history, indices) {
                Verdict::Linearizable => {}
                Verdict::Inconclusive => inconclusive.push(key.clone()),
                Verdict::NotLinearizable { prefix, stuck } => {
                    let show = |i: usize| {
                        let r = &history.ops[i];
                        format!(
                            "#{} client {} {} -> {} ({}..{})",
                            r.id,
                            r.client,
                            A::describe(&r.op),
                            r.result.as_ref().map_or("?".into(), |v| format!("{v:?}")),
                            crate::engine::format_nanos(r.invoke_ns),
                            crate::engine::format_nanos(r.complete_ns)
                        )
                    };
                    let tail: Vec<String> =
                        prefix.iter().rev().take(8).rev().map(|&i| show(i)).collect();
                    return CheckResult::fail(
                        self.name,
                        format!(
                            "partition `{key}` is not linearizable: after the longest \
                             linearizable prefix ({} ops, last shown), no order can place \
                             {}\n  {}",
                            prefix.len(),
                            show(stuck),
                            tail.join("\n  ")
                        ),
                    );
                }
            }
        }
        if !inconclusive.is_empty() {
            return CheckResult::fail(
                self.name,
                format!(
                    "inconclusive: the search ran out of its {} steps on partitions {:?}",
                    self.steps_max, inconclusive
                ),
            );
        }
        CheckResult::pass(
            self.name,
            format!("{searched} operations over {} partitions linearizable", partitions.len()),
        )
    }
}

/// One event of the search's list: an operation's invocation, or an `ok` operation's
/// completion.
#[derive(Clone, Copy, Debug)]
struct Event {
    /// Index into the partition's operations.
    op: usize,
    call: bool,
    prev: usize,
    next: usize,
}

/// The head sentinel's index in the event list.
const HEAD: usize = 0;

fn search<A, M>(model: &M, ops: &[Record<A>], indices: &[usize], steps_max: u64) -> Verdict
where
    A: Api,
    M: Model<Op = A::Op, Res = A::Res>,
{
    // Events in time order; at equal times invocations come first, so touching intervals
    // count as concurrent (the lenient reading, as Porcupine's).
    let mut order: Vec<(u64, u8, usize)> = Vec::with_capacity(indices.len() * 2);
    for (k, &i) in indices.iter().enumerate() {
        order.push((ops[i].invoke_ns, 0, k));
        if ops[i].outcome == Outcome::Ok {
            order.push((ops[i].complete_ns, 1, k));
        }
    }
    order.sort_unstable();
    let n = order.len();
    // events[0] is the head sentinel; events 1..=n the list; the call of op k is at call_at[k].
    let mut events = vec![Event { op: usize::MAX, call: false, prev: HEAD, next: HEAD }; n + 1];
    let mut call_at = vec![0; indices.len()];
    let mut return_at = vec![usize::MAX; indices.len()];
    for (pos, &(_, kind, k)) in order.iter().enumerate() {
        let e = pos + 1;
        events[e] =
            Event { op: k, call: kind == 0, prev: e - 1, next: if e < n { e + 1 } else { HEAD } };
        if kind == 0 {
            call_at[k] = e;
        } else {
            return_at[k] = e;
        }
    }
    events[HEAD].next = if n > 0 { 1 } else { HEAD };
    events[HEAD].prev = n;
    let mut ok_left = indices.iter().filter(|&&i| ops[i].outcome == Outcome::Ok).count();
    let words = indices.len().div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut cache: HashSet<(Vec<u64>, M::State), BuildHasherDefault<DefaultHasher>> =
        HashSet::default();
    let mut state = model.init();
    // The stack of linearized ops: (op, the state before it).
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut best: Vec<usize> = Vec::new();
    let mut stuck = usize::MAX;
    let mut entry = events[HEAD].next;
    let mut steps = 0u64;
    let unlink = |events: &mut Vec<Event>, e: usize| {
        let (p, nx) = (events[e].prev, events[e].next);
        events[p].next = nx;
        events[nx].prev = p;
    };
    let relink = |events: &mut Vec<Event>, e: usize| {
        let (p, nx) = (events[e].prev, events[e].next);
        events[p].next = e;
        events[nx].prev = e;
    };
    while ok_left > 0 {
        steps += 1;
        if steps > steps_max {
            return Verdict::Inconclusive;
        }
        if entry != HEAD && events[entry].call {
            let k = events[entry].op;
            let r = &ops[indices[k]];
            let result = if r.outcome == Outcome::Ok { r.result.as_ref() } else { None };
            if let Some(next) = model.step(&state, &r.op, result) {
                linearized[k / 64] |= 1 << (k % 64);
                if cache.insert((linearized.clone(), next.clone())) {
                    stack.push((k, std::mem::replace(&mut state, next)));
                    unlink(&mut events, call_at[k]);
                    if return_at[k] != usize::MAX {
                        unlink(&mut events, return_at[k]);
                        ok_left -= 1;
                    }
                    if stack.len() > best.len() {
                        best = stack.iter().map(|(k, _)| indices[*k]).collect();
                    }
                    entry = events[HEAD].next;
                    continue;
                }
                linearized[k / 64] &= !(1 << (k % 64));
            }
            entry = events[entry].next;
            continue;
        }
        // A completion (or the end of the list) with its operation not yet placed: every
        // choice at this depth failed. Undo the last placement and try the next candidate.
        if entry != HEAD && stack.len() == best.len() && stuck == usize::MAX {
            stuck = indices[events[entry].op];
        }
        let Some((k, before)) = stack.pop() else {
            let stuck = if stuck == usize::MAX { indices[events[entry].op] } else { stuck };
            return Verdict::NotLinearizable { prefix: best, stuck };
        };
        state = before;
        linearized[k / 64] &= !(1 << (k % 64));
        if return_at[k] != usize::MAX {
            relink(&mut events, return_at[k]);
            ok_left += 1;
        }
        relink(&mut events, call_at[k]);
        entry = events[call_at[k]].next;
    }
    Verdict::Linearizable
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{apply_op, KvApi, Op, Value};
    use crate::check::linearizability::{check_history, generate_history, ModelKind};

    /// The key-value store as a model: one string (or none) per key.
    struct KvModel;

    impl Model for KvModel {
        type Op = Op;
        type Res = Option<Value>;
        type State = Option<Value>;
        fn init(&self) -> Option<Value> {
            None
        }
        fn step(
            &self,
            state: &Option<Value>,
            op: &Op,
            res: Option<&Option<Value>>,
        ) -> Option<Option<Value>> {
            match apply_op(state.as_ref(), op) {
                Ok((read, new)) => {
                    if op.is_read() && res.is_some_and(|r| *r != read) {
                        return None;
                    }
                    Some(new.or_else(|| state.clone()))
                }
                // A failed cas that completed `ok` cannot be: the system said it took effect.
                Err(()) => None,
            }
        }
        fn partition(&self, op: &Op) -> String {
            op.key().to_string()
        }
    }

    fn typed(history: &crate::api::kv::History) -> TypedHistory<KvApi> {
        TypedHistory::from(history)
    }

    fn run() -> RunContext {
        RunContext {
            quiet_start: None,
            end_ns: 0,
            faults_applied: 0,
            degraded_in_quiet: false,
            stopped_early: false,
            liveness_bound: 0,
        }
    }

    #[test]
    fn agrees_with_the_key_value_fast_path_on_random_histories() {
        let checker = Linearizable::<KvApi, _>::new(KvModel);
        let (mut yes, mut no) = (0, 0);
        for seed in 0..400 {
            let mut history = generate_history(24, 2, 4, seed);
            if seed % 2 == 1 {
                // Swap the values two reads of one key saw: usually no order explains that.
                let reads: Vec<usize> = (0..history.ops.len())
                    .filter(|&i| {
                        history.ops[i].op.is_read() && history.ops[i].outcome == Outcome::Ok
                    })
                    .collect();
                let pair = reads.iter().enumerate().find_map(|(n, &a)| {
                    reads[n + 1..]
                        .iter()
                        .copied()
                        .find(|&b| {
                            let (x, y) = (&history.ops[a], &history.ops[b]);
                            x.op.key() == y.op.key() && x.value != y.value
                        })
                        .map(|b| (a, b))
                });
                if let Some((a, b)) = pair {
                    let va = history.ops[a].value.take();
                    history.ops[a].value = std::mem::replace(&mut history.ops[b].value, va);
                }
            }
            let fast = check_history(&history, ModelKind::Kv, None);
            let generic = checker.check(&typed(&history), &run());
            assert_eq!(
                fast.passed(),
                generic.passed,
                "seed {seed}: {}\n{}",
                fast.detail(),
                generic.detail
            );
            if generic.passed {
                yes += 1
            } else {
                no += 1
            }
        }
        assert!(yes > 20 && no > 20, "both verdicts exercised: {yes} linearizable, {no} not");
    }

    #[test]
    fn a_stale_read_is_found_and_named() {
        let put = |id, v: &str, t: (u64, u64)| Record::<KvApi> {
            id,
            client: id as u32,
            op: Op::Put { key: "k".into(), value: v.into() },
            invoke_ns: t.0,
            complete_ns: t.1,
            outcome: Outcome::Ok,
            result: Some(None),
        };
        let get = Record::<KvApi> {
            id: 2,
            client: 2,
            op: Op::Get { key: "k".into() },
            invoke_ns: 30,
            complete_ns: 40,
            outcome: Outcome::Ok,
            result: Some(Some("a".into())),
        };
        let history = TypedHistory { ops: vec![put(0, "a", (0, 10)), put(1, "b", (11, 20)), get] };
        let r = Linearizable::<KvApi, _>::new(KvModel).check(&history, &run());
        assert!(!r.passed && r.detail.contains("#2"), "{}", r.detail);
    }
}
