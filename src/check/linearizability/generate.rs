//! Generates linearizable concurrent histories, for tests and the checker's benchmark.
//!
//! A real key-value store is simulated: every operation takes effect at one instant (its
//! linearization point) inside its invoke..complete window, and the store's state at that
//! instant decides the result. Clients are sequential, so each has one operation in flight.

use crate::api::kv::{apply_op, Op, Value};
use crate::api::kv::{History, HistoryOp};
use crate::engine::{Nanos, SimRng, MICROSECOND};
use crate::workload::Outcome;
use std::collections::BTreeMap;

/// Chance that an operation ends indeterminate (`info`), in parts per million.
const INFO_PPM: u32 = 30_000;
/// Chance that an indeterminate operation took effect anyway.
const INFO_APPLIED_PPM: u32 = 500_000;
/// Chance that a put fails without taking effect.
const PUT_FAIL_PPM: u32 = 10_000;
/// Chance that a compare-and-set expects the current value (else a stale or absent one).
const CAS_CURRENT_PPM: u32 = 700_000;
/// Weights of get, put, cas, append.
const OP_WEIGHTS: [u32; 4] = [40, 30, 15, 15];

/// When one operation happens, before its content is decided.
struct Timing {
    client: u32,
    invoke_ns: Nanos,
    effect_ns: Nanos,
    complete_ns: Nanos,
    info: bool,
}

/// A linearizable history of `ops` operations on `keys` keys (`k0`, `k1`, ...) by `clients`
/// concurrent sequential clients, reproducible from `seed`.
///
/// About 3% of operations end `info` (half of those took effect), 1% of puts fail, and
/// compare-and-sets that expected a stale value fail. Every written value is unique, appends
/// add `a<n>.`. Operations are in invocation order, `id` is their position.
pub fn generate_history(ops: usize, keys: usize, clients: usize, seed: u64) -> History {
    assert!(keys > 0 && clients > 0, "need at least one key and one client");
    let mut rng = SimRng::new(seed, 0);
    let mut timings = Vec::with_capacity(ops);
    let mut free_ns: Vec<Nanos> = vec![0; clients];
    for _ in 0..ops {
        let client = (0..clients).min_by_key(|&c| (free_ns[c], c)).expect("clients > 0");
        let invoke_ns = free_ns[client] + rng.below(1_000 * MICROSECOND);
        let effect_ns = invoke_ns + 1 + rng.below(2_000 * MICROSECOND);
        let complete_ns = effect_ns + rng.below(2_000 * MICROSECOND);
        let info = rng.chance_ppm(INFO_PPM);
        free_ns[client] = complete_ns + 1;
        let client = u32::try_from(client).expect("clients below 2^32");
        timings.push(Timing { client, invoke_ns, effect_ns, complete_ns, info });
    }
    // Decide contents in linearization order, where the store's state is known.
    let mut by_effect: Vec<usize> = (0..ops).collect();
    by_effect.sort_by_key(|&i| (timings[i].effect_ns, i));
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    let mut written: Vec<Vec<Value>> = vec![Vec::new(); keys];
    let mut history_ops: Vec<Option<HistoryOp>> = vec![None; ops];
    for (n, &i) in by_effect.iter().enumerate() {
        let timing = &timings[i];
        let key_index = rng.below(keys as u64) as usize;
        let key = format!("k{key_index}");
        let op = match rng.weighted(&OP_WEIGHTS).expect("non-zero weights") {
            0 => Op::Get { key: key.clone() },
            1 => Op::Put { key: key.clone(), value: format!("v{n}") },
            2 => {
                let stale = rng.pick(&written[key_index]).cloned();
                let from =
                    if rng.chance_ppm(CAS_CURRENT_PPM) { store.get(&key).cloned() } else { stale };
                Op::Cas { key: key.clone(), from, to: format!("v{n}") }
            }
            _ => Op::Append { key: key.clone(), value: format!("a{n}.") },
        };
        let takes_effect = if timing.info {
            rng.chance_ppm(INFO_APPLIED_PPM)
        } else {
            !(matches!(op, Op::Put { .. }) && rng.chance_ppm(PUT_FAIL_PPM))
        };
        let mut outcome = if timing.info { Outcome::Info } else { Outcome::Fail };
        let mut read = None;
        if takes_effect {
            if let Ok((result, next)) = apply_op(store.get(&key), &op) {
                if !timing.info {
                    outcome = Outcome::Ok;
                    read = result.filter(|_| op.is_read());
                }
                if let Some(next) = next {
                    if store.get(&key) != Some(&next) {
                        written[key_index].push(next.clone());
                    }
                    store.insert(key.clone(), next);
                }
            }
        }
        history_ops[i] = Some(HistoryOp {
            id: 0,
            client: timing.client,
            op,
            invoke_ns: timing.invoke_ns,
            complete_ns: timing.complete_ns,
            outcome,
            value: read,
        });
    }
    let mut ops: Vec<HistoryOp> = history_ops.into_iter().map(|op| op.expect("all set")).collect();
    ops.sort_by_key(|op| op.invoke_ns);
    for (id, op) in ops.iter_mut().enumerate() {
        op.id = id as u64;
    }
    History { ops }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_history_is_reproducible_and_concurrent() {
        let a = generate_history(2_000, 3, 6, 42);
        assert_eq!(a, generate_history(2_000, 3, 6, 42));
        assert_ne!(a, generate_history(2_000, 3, 6, 43));
        assert_eq!(a.ops.len(), 2_000);
        let (ok, fail, info) = a.counts();
        assert!(ok > 1_500 && fail > 10 && info > 20, "ok {ok} fail {fail} info {info}");
        assert!(a.ops.windows(2).all(|w| w[0].invoke_ns <= w[1].invoke_ns));
        let overlapping = a.ops.windows(2).filter(|w| w[1].invoke_ns < w[0].complete_ns).count();
        assert!(overlapping > 1_000, "only {overlapping} overlapping neighbours");
    }
}
