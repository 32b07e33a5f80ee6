//! Pairs invocations with completions into transactions, and derives the process and
//! real-time orders between them.

use super::{Mop, Op, OpType, Rel};
use crate::check::elle::graph::Edge;
use std::collections::{BTreeMap, VecDeque};

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Fail,
    Info,
}

/// One transaction: an invocation and its completion, if any.
#[derive(Clone, Debug)]
pub(crate) struct Txn<'h> {
    /// The index of the record that names it: its completion, else its invocation.
    pub index: u64,
    pub process: u64,
    pub outcome: Outcome,
    /// The micro-operations: the completion's (with the values read) when it has any, else
    /// the invocation's.
    pub mops: &'h [Mop],
    /// Position of the invocation in the history.
    pub invoke_at: usize,
    /// Position of the completion, for transactions known to have finished (`ok`, `fail`);
    /// `None` for `info`, which may take effect at any later time.
    pub complete_at: Option<usize>,
}

impl Txn<'_> {
    /// Ok and info transactions may have taken effect: they are the graph's.
    pub fn possible(&self) -> bool {
        self.outcome != Outcome::Fail
    }
}

/// The transactions of `history`, ordered by invocation. A completion pairs with the earliest
/// pending invocation of its process; a completion without one is a transaction invoked where
/// it completed; an invocation never completed is `info`.
pub(crate) fn pair(history: &[Op]) -> Vec<Txn<'_>> {
    let mut pending: BTreeMap<u64, VecDeque<usize>> = BTreeMap::new();
    // Slot per invocation, filled when its completion arrives.
    let mut slots: Vec<Option<Txn<'_>>> = Vec::with_capacity(history.len() / 2 + 1);
    let mut slot_of_invoke: Vec<(usize, usize)> = Vec::new(); // (history position, slot)
    for (at, op) in history.iter().enumerate() {
        let outcome = match op.kind {
            OpType::Invoke => {
                pending.entry(op.process).or_default().push_back(slots.len());
                slot_of_invoke.push((at, slots.len()));
                slots.push(Some(Txn {
                    index: op.index,
                    process: op.process,
                    outcome: Outcome::Info,
                    mops: &op.mops,
                    invoke_at: at,
                    complete_at: None,
                }));
                continue;
            }
            OpType::Ok => Outcome::Ok,
            OpType::Fail => Outcome::Fail,
            OpType::Info => Outcome::Info,
        };
        let complete_at = (outcome != Outcome::Info).then_some(at);
        let slot = pending.get_mut(&op.process).and_then(VecDeque::pop_front);
        match slot.and_then(|s| slots[s].as_mut()) {
            Some(txn) => {
                txn.index = op.index;
                txn.outcome = outcome;
                txn.complete_at = complete_at;
                if !op.mops.is_empty() || outcome == Outcome::Ok {
                    txn.mops = &op.mops;
                }
            }
            None => slots.push(Some(Txn {
                index: op.index,
                process: op.process,
                outcome,
                mops: &op.mops,
                invoke_at: at,
                complete_at,
            })),
        }
    }
    let mut txns: Vec<Txn<'_>> = slots.into_iter().flatten().collect();
    txns.sort_by_key(|t| t.invoke_at);
    txns
}

/// Process order: each possible transaction of a process before the process's next one.
pub(crate) fn process_edges(txns: &[Txn<'_>], edges: &mut Vec<Edge>) {
    let mut last: BTreeMap<u64, u32> = BTreeMap::new();
    for (id, txn) in txns.iter().enumerate() {
        if !txn.possible() {
            continue;
        }
        if let Some(prev) = last.insert(txn.process, id as u32) {
            edges.push(Edge { from: prev, to: id as u32, rel: Rel::Process, key: None });
        }
    }
}

/// Real-time order, transitively reduced as Elle builds it: T1 -> T2 when T1 completed before
/// T2 was invoked and no T completed between them that itself began after T1 completed. Only
/// transactions that finished (ok) precede anything; an info transaction may take effect at
/// any time after its invocation, so it only follows.
pub(crate) fn realtime_edges(txns: &[Txn<'_>], edges: &mut Vec<Edge>) {
    let ids: Vec<u32> = (0..txns.len() as u32).filter(|&id| txns[id as usize].possible()).collect();
    realtime_order(txns, &ids, |from, to| {
        edges.push(Edge { from, to, rel: Rel::Realtime, key: None })
    });
}

/// Walks the invocations and completions of transactions `ids` in history order, calling
/// `link(a, b)` for each edge of the transitively reduced real-time order among them.
pub(crate) fn realtime_order(txns: &[Txn<'_>], ids: &[u32], mut link: impl FnMut(u32, u32)) {
    // Events: (position, is completion, txn id).
    let mut events: Vec<(usize, bool, u32)> = Vec::with_capacity(ids.len() * 2);
    for &id in ids {
        let txn = &txns[id as usize];
        events.push((txn.invoke_at, false, id));
        if let (Some(at), true) = (txn.complete_at, txn.outcome == Outcome::Ok) {
            events.push((at, true, id));
        }
    }
    events.sort_unstable();
    // The completed transactions no later completion has yet superseded.
    let mut frontier: Vec<u32> = Vec::new();
    // For each transaction, the frontier when it was invoked (its immediate predecessors).
    let mut preds: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (_, completion, id) in events {
        if !completion {
            for &from in &frontier {
                link(from, id);
            }
            preds.insert(id, frontier.clone());
        } else {
            let before = preds.remove(&id).unwrap_or_default();
            frontier.retain(|t| !before.contains(t));
            frontier.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(index: u64, process: u64, kind: OpType) -> Op {
        Op {
            index,
            process,
            kind,
            mops: vec![Mop::Append { key: 0, value: index as i64 }],
            time: None,
        }
    }

    #[test]
    fn pairs_by_process_in_order_and_leniently() {
        let history = vec![
            op(0, 1, OpType::Invoke),
            op(1, 1, OpType::Invoke), // a second outstanding invocation of process 1
            op(2, 2, OpType::Ok),     // a completion with no invocation
            op(3, 1, OpType::Ok),
            op(4, 1, OpType::Fail),
            op(5, 3, OpType::Invoke), // never completed
        ];
        let txns = pair(&history);
        let got: Vec<_> = txns.iter().map(|t| (t.index, t.outcome, t.invoke_at)).collect();
        assert_eq!(
            got,
            vec![
                (3, Outcome::Ok, 0),
                (4, Outcome::Fail, 1),
                (2, Outcome::Ok, 2),
                (5, Outcome::Info, 5)
            ]
        );
    }

    #[test]
    fn realtime_is_transitively_reduced() {
        // a: [0,1], b: [2,3], c: [4,5], d: [2,6] (concurrent with b and c)
        let h = vec![
            op(0, 0, OpType::Invoke),
            op(1, 0, OpType::Ok),
            op(2, 1, OpType::Invoke),
            op(3, 2, OpType::Invoke),
            op(4, 1, OpType::Ok),
            op(5, 1, OpType::Invoke),
            op(6, 1, OpType::Ok),
            op(7, 2, OpType::Ok),
        ];
        let txns = pair(&h);
        let mut edges = Vec::new();
        realtime_edges(&txns, &mut edges);
        let got: Vec<_> = edges.iter().map(|e| (e.from, e.to)).collect();
        // a -> b, a -> d, b -> c; not a -> c (implied through b).
        assert_eq!(got, vec![(0, 1), (0, 2), (1, 3)]);
    }
}
