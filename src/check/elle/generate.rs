//! Generated transactional histories that are strictly serializable by construction, for
//! benchmarks and tests: clients invoke transactions concurrently and each takes effect,
//! atomically, at its completion, against a simple in-memory store.

use super::{Key, Model, Mop, Op, OpType, ReadValue};
use crate::engine::SimRng;
use std::collections::BTreeMap;

/// Concurrent client processes of a generated history.
pub const PROCESSES: u64 = 10;
/// Micro-operations per generated transaction, at most.
pub const MOPS_MAX: u64 = 4;

/// A list-append history of `txns` committed transactions over `keys` keys (at least 1),
/// drawn from `seed`; `PROCESSES` processes run one transaction each at a time.
pub fn list_append(seed: u64, txns: usize, keys: u64) -> Vec<Op> {
    history(seed, txns, keys, Model::ListAppend)
}

/// An rw-register history of the same shape as [`list_append`]'s.
pub fn rw_register(seed: u64, txns: usize, keys: u64) -> Vec<Op> {
    history(seed, txns, keys, Model::RwRegister)
}

/// The store a generated history runs against.
#[derive(Default)]
struct Store {
    lists: BTreeMap<Key, Vec<i64>>,
    registers: BTreeMap<Key, i64>,
    next_value: BTreeMap<Key, i64>,
}

impl Store {
    /// Applies an invoked transaction, returning it with its reads filled in.
    fn apply(&mut self, mops: &[Mop]) -> Vec<Mop> {
        mops.iter()
            .map(|mop| match mop {
                Mop::Append { key, value } => {
                    self.lists.entry(*key).or_default().push(*value);
                    mop.clone()
                }
                Mop::Write { key, value } => {
                    self.registers.insert(*key, *value);
                    mop.clone()
                }
                Mop::Read { key, value: Some(ReadValue::List(_)) } => {
                    let list = self.lists.get(key).cloned().unwrap_or_default();
                    Mop::Read { key: *key, value: Some(ReadValue::List(list)) }
                }
                Mop::Read { key, .. } => {
                    let value = self.registers.get(key).copied();
                    Mop::Read { key: *key, value: Some(ReadValue::Register(value)) }
                }
            })
            .collect()
    }

    /// A fresh transaction: 1 to `MOPS_MAX` reads and writes on random keys, with unique
    /// values per key. Reads carry a placeholder of the model's kind until applied.
    fn draw(&mut self, rng: &mut SimRng, keys: u64, model: Model) -> Vec<Mop> {
        let count = rng.between(1, MOPS_MAX);
        (0..count)
            .map(|_| {
                let key = rng.below(keys.max(1)) as Key;
                if rng.below(2) == 0 {
                    let placeholder = match model {
                        Model::ListAppend => ReadValue::List(Vec::new()),
                        Model::RwRegister => ReadValue::Register(None),
                    };
                    return Mop::Read { key, value: Some(placeholder) };
                }
                let next = self.next_value.entry(key).or_insert(1);
                let value = *next;
                *next += 1;
                match model {
                    Model::ListAppend => Mop::Append { key, value },
                    Model::RwRegister => Mop::Write { key, value },
                }
            })
            .collect()
    }
}

/// Reads as an invocation shows them: value unknown.
fn invocation(mops: &[Mop]) -> Vec<Mop> {
    mops.iter()
        .map(|m| match m {
            Mop::Read { key, .. } => Mop::Read { key: *key, value: None },
            other => other.clone(),
        })
        .collect()
}

fn history(seed: u64, txns: usize, keys: u64, model: Model) -> Vec<Op> {
    let mut rng = SimRng::new(seed, 0xE11E);
    let mut store = Store::default();
    let mut ops = Vec::with_capacity(txns * 2);
    // In flight: process -> its transaction (with placeholder reads).
    let mut running: BTreeMap<u64, Vec<Mop>> = BTreeMap::new();
    let (mut invoked, mut time) = (0usize, 0u64);
    while invoked < txns || !running.is_empty() {
        time += 1 + rng.below(1_000);
        let idle = PROCESSES - running.len() as u64;
        let invoke = invoked < txns && (running.is_empty() || (idle > 0 && rng.below(2) == 0));
        let index = ops.len() as u64;
        if invoke {
            let process = (0..PROCESSES).find(|p| !running.contains_key(p)).unwrap_or(0);
            let mops = store.draw(&mut rng, keys, model);
            ops.push(Op {
                index,
                process,
                kind: OpType::Invoke,
                mops: invocation(&mops),
                time: Some(time),
            });
            running.insert(process, mops);
            invoked += 1;
        } else {
            let busy: Vec<u64> = running.keys().copied().collect();
            let process = busy[rng.below(busy.len() as u64) as usize];
            let mops = running.remove(&process).unwrap_or_default();
            let done = store.apply(&mops);
            ops.push(Op { index, process, kind: OpType::Ok, mops: done, time: Some(time) });
        }
    }
    ops
}
