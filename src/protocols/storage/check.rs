//! The storage system's checks.
//!
//! `storage_durability` (a history checker) compares every read with a model of the writes
//! clients had acknowledged: what a read may return is bounded below by the newest write
//! acknowledged before it began, and above by the writes invoked before it ended. Because every
//! put writes a unique id and every version carries its write's sequence number, each read
//! names exactly which write it saw, and the check is a lookup per read, not a search:
//! O(n log n) in the history, plus, per scan, the keys of its range that had acknowledged
//! writes (ranges are short: `api::SCAN_SPAN_MAX`).
//!
//! `storage_recovers` (a fact checker) fails when an engine cannot open because its metadata
//! names a file that is gone.

use super::api::{id_name, StorageApi, StorageKey, StorageOp, StorageResult, Stored, Version};
use super::node::facts;
use crate::api::history::{Outcome, Record, TypedHistory};
use crate::check::{CheckResult, FactChecker, HistoryChecker, RunContext, Violation};
use crate::node::{Fact, Group, Nanos, NodeId};
use std::collections::BTreeMap;

/// The history check's name.
pub const DURABILITY: &str = "storage_durability";
/// The recovery check's name.
pub const RECOVERS: &str = "storage_recovers";

fn time(at: Nanos) -> String {
    format!("t={}.{:06}s", at / 1_000_000_000, at % 1_000_000_000 / 1_000)
}

/// An operation for people: what, by whom, when.
fn op_name(r: &Record<StorageApi>) -> String {
    use crate::api::Api;
    format!(
        "`{}` by client {} [{} .. {}]",
        StorageApi::describe(&r.op),
        r.client,
        time(r.invoke_ns),
        time(r.complete_ns)
    )
}

/// An acknowledged write: a put of `id` (`None`: a delete) with its sequence number.
#[derive(Clone, Copy, Debug)]
struct Acked {
    id: Option<u64>,
    seq: u64,
    complete_ns: Nanos,
}

impl Acked {
    fn describe(&self) -> String {
        let what = self.id.map_or("delete".to_string(), |id| format!("put {}", id_name(id)));
        format!("{what} (seq {}, acknowledged at {})", self.seq, time(self.complete_ns))
    }
}

/// What the history says about one key.
#[derive(Debug, Default)]
struct KeyModel {
    /// Acknowledged writes ordered by completion time.
    acked: Vec<Acked>,
    /// `best[i]`: index in `acked` of the highest sequence number among `acked[..=i]`.
    best: Vec<usize>,
    /// Acknowledged deletes as (invocation time, seq), by invocation time.
    deletes: Vec<(Nanos, u64)>,
    /// `deletes_seq_max[i]`: the highest seq among `deletes[..=i]`.
    deletes_seq_max: Vec<u64>,
    /// The earliest invocation of a delete whose outcome is unknown.
    delete_unknown_first_ns: Option<Nanos>,
}

impl KeyModel {
    fn seal(&mut self) {
        self.acked.sort_by_key(|a| (a.complete_ns, a.seq));
        self.best.clear();
        for (i, a) in self.acked.iter().enumerate() {
            let keep = self.best.last().copied().filter(|&b| self.acked[b].seq >= a.seq);
            self.best.push(keep.unwrap_or(i));
        }
        self.deletes.sort_unstable();
        let mut max = 0;
        self.deletes_seq_max = self
            .deletes
            .iter()
            .map(|&(_, s)| {
                max = max.max(s);
                max
            })
            .collect();
    }

    /// F: the acknowledged write with the highest seq among those completed before `t`.
    fn floor(&self, t: Nanos) -> Option<Acked> {
        let n = self.acked.partition_point(|a| a.complete_ns < t);
        (n > 0).then(|| self.acked[self.best[n - 1]])
    }

    /// True if a delete could explain finding nothing by `t` though write `seq` was
    /// acknowledged: an acknowledged delete with a higher seq invoked by `t`, or a delete of
    /// unknown outcome invoked by `t`.
    fn delete_explains(&self, seq: u64, t: Nanos) -> bool {
        if self.delete_unknown_first_ns.is_some_and(|first| first <= t) {
            return true;
        }
        let n = self.deletes.partition_point(|&(invoke, _)| invoke <= t);
        n > 0 && self.deletes_seq_max[n - 1] > seq
    }
}

/// A put as rule 1 needs it.
#[derive(Clone, Copy, Debug)]
struct PutInfo {
    key: StorageKey,
    invoke_ns: Nanos,
    outcome: Outcome,
}

/// What the checker judged, for the pass detail.
#[derive(Debug, Default)]
struct Tally {
    gets: u64,
    scans: u64,
    rows: u64,
    absences: u64,
    puts_acked: u64,
    deletes_acked: u64,
}

/// The model of a whole history.
struct Model {
    keys: BTreeMap<StorageKey, KeyModel>,
    puts: BTreeMap<u64, PutInfo>,
}

/// `storage_durability`: see the module documentation. `engines` and `scan_limit` are the
/// node's settings: sequence numbers are per engine (key `k` in engine `k % engines`), and a
/// scan returns at most `min(limit, scan_limit)` rows.
#[derive(Clone, Copy, Debug)]
pub struct StorageDurability {
    /// Engines per node.
    pub engines: u32,
    /// The node's cap on rows per scan.
    pub scan_limit: u32,
}

impl Model {
    fn build(history: &TypedHistory<StorageApi>, tally: &mut Tally) -> Result<Self, String> {
        let mut keys: BTreeMap<StorageKey, KeyModel> = BTreeMap::new();
        let mut puts = BTreeMap::new();
        for r in &history.ops {
            let (key, id) = match r.op {
                StorageOp::Put { key, value } => (key, Some(value)),
                StorageOp::Delete { key } => (key, None),
                _ => continue,
            };
            if let Some(id) = id {
                let info = PutInfo { key, invoke_ns: r.invoke_ns, outcome: r.outcome };
                if puts.insert(id, info).is_some() {
                    let why = "write ids must be unique, or a read cannot name its write";
                    return Err(format!(
                        "{}: write id {} put twice: {why}",
                        op_name(r),
                        id_name(id)
                    ));
                }
            }
            let model = keys.entry(key).or_default();
            match (r.outcome, &r.result) {
                (Outcome::Ok, Some(StorageResult::Written { seq })) => {
                    model.acked.push(Acked { id, seq: *seq, complete_ns: r.complete_ns });
                    match id {
                        Some(_) => tally.puts_acked += 1,
                        None => {
                            tally.deletes_acked += 1;
                            model.deletes.push((r.invoke_ns, *seq));
                        }
                    }
                }
                (Outcome::Info, _) if id.is_none() => {
                    let first = model.delete_unknown_first_ns.get_or_insert(r.invoke_ns);
                    *first = (*first).min(r.invoke_ns);
                }
                _ => {}
            }
        }
        for model in keys.values_mut() {
            model.seal();
        }
        Ok(Model { keys, puts })
    }

    /// Rules 1 and 2 for a read `r` of `key` that found `found`.
    fn read(
        &self,
        r: &Record<StorageApi>,
        key: StorageKey,
        found: Option<&Version>,
    ) -> Result<(), String> {
        let at = || format!("{} read key {key}", op_name(r));
        if let Some(v) = found {
            self.written(r, key, v).map_err(|why| format!("{}: {why}", at()))?;
        }
        let Some(model) = self.keys.get(&key) else { return Ok(()) };
        let Some(floor) = model.floor(r.invoke_ns) else { return Ok(()) };
        match (found, floor.id) {
            (Some(v), None) if v.seq < floor.seq => Err(format!(
                "{}: deleted key resurrected: found {v}, but {} completed before the read began",
                at(),
                floor.describe()
            )),
            (Some(v), Some(_)) if v.seq < floor.seq => Err(format!(
                "{}: stale read / acknowledged write lost: found {v} (seq {} < {}), but {} \
                 completed before the read began",
                at(),
                v.seq,
                floor.seq,
                floor.describe()
            )),
            (None, Some(_)) if !model.delete_explains(floor.seq, r.complete_ns) => Err(format!(
                "{}: acknowledged write lost: found nothing, but {} completed before the read \
                 began and no delete could explain it",
                at(),
                floor.describe()
            )),
            _ => Ok(()),
        }
    }

    /// Rule 1: the version's value is a put to `key` that may have taken effect by the time
    /// `r` completed.
    fn written(&self, r: &Record<StorageApi>, key: StorageKey, v: &Version) -> Result<(), String> {
        let id = match v.value {
            Stored::Garbled { .. } => {
                return Err(format!(
                    "value never written: a torn or corrupt record returned as data ({v})"
                ))
            }
            Stored::Id(id) => id,
        };
        let Some(put) = self.puts.get(&id) else {
            return Err(format!("value never written: {v} is no put's id"));
        };
        if put.key != key {
            return Err(format!("value never written to this key: {v} was put to key {}", put.key));
        }
        if put.invoke_ns > r.complete_ns {
            let when = time(put.invoke_ns);
            return Err(format!("value never written yet: {v} was put at {when}, after the read"));
        }
        if put.outcome == Outcome::Fail {
            return Err(format!("value never written: {v} is the value of a put that failed"));
        }
        Ok(())
    }

    /// Rule 4 for scan `r`, plus rules 1 and 2 for each row.
    fn scan(
        &self,
        r: &Record<StorageApi>,
        (lo, hi, limit): (StorageKey, StorageKey, usize),
        rows: &[(StorageKey, Version)],
        tally: &mut Tally,
    ) -> Result<(), String> {
        if rows.len() > limit {
            return Err(format!(
                "{}: {} rows, more than the limit {limit}",
                op_name(r),
                rows.len()
            ));
        }
        for (i, (key, v)) in rows.iter().enumerate() {
            if i > 0 && rows[i - 1].0 >= *key {
                let before = rows[i - 1].0;
                return Err(format!("{}: rows out of key order: {before} then {key}", op_name(r)));
            }
            if *key < lo || *key > hi {
                return Err(format!("{}: row with key {key} outside {lo}..={hi}", op_name(r)));
            }
            self.read(r, *key, Some(v))?;
            tally.rows += 1;
        }
        // Keys past the last row are not claimed absent when the scan hit its limit.
        let upper = match rows.last() {
            Some((last, _)) if rows.len() == limit => *last,
            _ if limit == 0 => return Ok(()),
            _ => hi,
        };
        for (&key, model) in self.keys.range(lo..=upper) {
            if rows.binary_search_by_key(&key, |(k, _)| *k).is_ok() {
                continue;
            }
            tally.absences += 1;
            let Some(floor) = model.floor(r.invoke_ns) else { continue };
            if floor.id.is_some() && !model.delete_explains(floor.seq, r.complete_ns) {
                return Err(format!(
                    "{}: scan missed key {key}: {} completed before the scan began and no \
                     delete could explain its absence",
                    op_name(r),
                    floor.describe()
                ));
            }
        }
        Ok(())
    }
}

impl StorageDurability {
    /// Rule 3: for acknowledged writes A and B of one engine, A completed before B was
    /// invoked implies A.seq < B.seq. A sweep over both orders: O(n log n).
    fn sequence_order(&self, history: &TypedHistory<StorageApi>) -> Result<(), String> {
        let engines = self.engines.max(1);
        let acked: Vec<(&Record<StorageApi>, usize, u64)> = history
            .ops
            .iter()
            .filter_map(|r| match (&r.op, &r.result) {
                (
                    StorageOp::Put { key, .. } | StorageOp::Delete { key },
                    Some(StorageResult::Written { seq }),
                ) if r.outcome == Outcome::Ok => Some((r, (key % engines) as usize, *seq)),
                _ => None,
            })
            .collect();
        let mut by_completion: Vec<usize> = (0..acked.len()).collect();
        by_completion.sort_by_key(|&i| (acked[i].0.complete_ns, i));
        let mut by_invocation = by_completion.clone();
        by_invocation.sort_by_key(|&i| (acked[i].0.invoke_ns, i));
        let mut newest: Vec<Option<usize>> = vec![None; engines as usize];
        let mut next = 0;
        for &b in &by_invocation {
            let (record_b, engine, seq_b) = acked[b];
            while next < by_completion.len()
                && acked[by_completion[next]].0.complete_ns < record_b.invoke_ns
            {
                let a = by_completion[next];
                let slot = &mut newest[acked[a].1];
                if slot.is_none_or(|s| acked[s].2 < acked[a].2) {
                    *slot = Some(a);
                }
                next += 1;
            }
            let Some(a) = newest[engine] else { continue };
            let (record_a, _, seq_a) = acked[a];
            if seq_a >= seq_b {
                return Err(format!(
                    "sequence numbers went back: {} was acknowledged with seq {seq_a}, then {}, \
                     invoked after it, was acknowledged with seq {seq_b}",
                    op_name(record_a),
                    op_name(record_b)
                ));
            }
        }
        Ok(())
    }

    fn judge(&self, history: &TypedHistory<StorageApi>, tally: &mut Tally) -> Result<(), String> {
        let model = Model::build(history, tally)?;
        let scan_limit = self.scan_limit as usize;
        for r in &history.ops {
            if r.outcome != Outcome::Ok {
                continue;
            }
            match (&r.op, &r.result) {
                (StorageOp::Get { key }, Some(StorageResult::Got(found))) => {
                    tally.gets += 1;
                    model.read(r, *key, found.as_ref())?;
                }
                (StorageOp::Scan { lo, hi, limit }, Some(StorageResult::Rows(rows))) => {
                    tally.scans += 1;
                    let limit = (*limit as usize).min(scan_limit);
                    model.scan(r, (*lo, *hi, limit), rows, tally)?;
                }
                (
                    StorageOp::Put { .. } | StorageOp::Delete { .. },
                    Some(StorageResult::Written { .. }),
                ) => {}
                (op, result) => {
                    return Err(format!("{}: result {result:?} does not fit {op:?}", op_name(r)))
                }
            }
        }
        self.sequence_order(history)
    }
}

impl HistoryChecker<StorageApi> for StorageDurability {
    fn name(&self) -> &'static str {
        DURABILITY
    }

    fn check(&self, history: &TypedHistory<StorageApi>, _: &RunContext) -> CheckResult {
        let mut tally = Tally::default();
        let verdict = self.judge(history, &mut tally);
        let t = &tally;
        match verdict {
            Err(detail) => CheckResult::fail(DURABILITY, detail),
            Ok(()) if t.gets + t.scans == 0 => CheckResult::not_judged(
                DURABILITY,
                format!(
                    "not judged: no read completed ({} acknowledged writes)",
                    t.puts_acked + t.deletes_acked
                ),
            ),
            Ok(()) => CheckResult::pass(
                DURABILITY,
                format!(
                    "{} gets and {} scans ({} rows, {} absent keys) agreed with {} acknowledged \
                     puts and {} deletes; sequence numbers kept real-time order",
                    t.gets, t.scans, t.rows, t.absences, t.puts_acked, t.deletes_acked
                ),
            ),
        }
    }
}

/// `storage_recovers`: no engine open fails because its metadata names a missing file. See
/// the module documentation.
#[derive(Clone, Debug, Default)]
pub struct StorageRecovers {
    opens: u64,
    down: u64,
    /// Ranges of sequence numbers engines reported as possibly lost when they opened.
    damaged: u64,
    failure: Option<String>,
}

impl StorageRecovers {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }
}

impl FactChecker for StorageRecovers {
    fn names(&self) -> Vec<&'static str> {
        vec![RECOVERS]
    }

    fn on_fact(&mut self, at: Nanos, node: NodeId, _: Group, fact: &Fact) -> Result<(), Violation> {
        let Fact::Custom { name, values, text } = fact else { return Ok(()) };
        match name.as_str() {
            facts::OPENED => self.opens += 1,
            facts::DOWN => self.down += 1,
            facts::DAMAGE => self.damaged += 1,
            facts::FILE_MISSING => {
                let engine = values.first().copied().unwrap_or(0);
                let detail = format!(
                    "{}: node {node} engine {engine} cannot open: {text}. The engine's metadata \
                     names a file that is gone: only the engine's own ordering of renames and \
                     directory syncs can do that",
                    time(at)
                );
                self.failure.get_or_insert_with(|| detail.clone());
                return Err(Violation { check: RECOVERS.to_string(), detail });
            }
            _ => {}
        }
        Ok(())
    }

    fn results(&self) -> Vec<CheckResult> {
        let result = match &self.failure {
            Some(detail) => CheckResult::fail(RECOVERS, detail.clone()),
            None if self.opens + self.down == 0 => {
                CheckResult::not_judged(RECOVERS, "not judged: no engine was opened")
            }
            None => CheckResult::pass(
                RECOVERS,
                format!(
                    "{} engine opens found every file their metadata named ({} engines down \
                     for damage they detected; {} damaged ranges reported)",
                    self.opens, self.down, self.damaged
                ),
            ),
        };
        vec![result]
    }
}
