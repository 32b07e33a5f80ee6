//! The storage node against the test log engine, its settings, and the checker's rules each
//! both ways on hand-built histories.

use super::api::{StorageApi, StorageKey, StorageOp, StorageResult, Stored, Version};
use super::check::{StorageDurability, StorageRecovers, DURABILITY, RECOVERS};
use super::config::{EngineKind, StorageConfig};
use super::node::{facts, StorageNode};
use super::{testing, StorageSystem};
use crate::api::history::{Outcome, Record, TypedHistory};
use crate::check::{FactChecker, HistoryChecker, RunContext};
use crate::node::testing::Harness;
use crate::node::{DiskIo, Effect, Fact, FsyncId, Reply, Request, RequestId};
use crate::storage::{Bugs, Engine, EngineConfig, StorageError};
use crate::system::System;

type Effects = Vec<Effect<(), StorageResult>>;

fn node_with(engines: u32, opener: super::node::Opener) -> StorageNode {
    StorageNode::with_opener(StorageConfig { engines, ..StorageConfig::default() }, opener)
}

fn request(client: u32, seq: u64, op: StorageOp) -> Request<StorageOp> {
    Request { id: RequestId { client, seq }, op }
}

fn fsyncs(effects: &Effects) -> Vec<FsyncId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Fsync { id } => Some(*id),
            _ => None,
        })
        .collect()
}

fn replies(effects: &Effects) -> Vec<(RequestId, Reply<StorageResult>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { request, reply, .. } => Some((*request, reply.clone())),
            _ => None,
        })
        .collect()
}

fn facts_named<'a>(effects: &'a Effects, name: &str) -> Vec<&'a Fact> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Fact { fact: f @ Fact::Custom { name: n, .. }, .. } if n == name => Some(f),
            _ => None,
        })
        .collect()
}

/// Completes every fsync in `pending` and those they start, collecting all effects.
fn settle(h: &mut Harness<StorageNode>, mut pending: Vec<FsyncId>) -> Effects {
    let mut all = Vec::new();
    while let Some(id) = pending.first().copied() {
        pending.remove(0);
        let effects = h.complete_fsync(id);
        pending.extend(fsyncs(&effects));
        all.extend(effects);
    }
    all
}

fn started(engines: u32, opener: super::node::Opener) -> Harness<StorageNode> {
    let mut h = Harness::new(0, node_with(engines, opener));
    let effects = h.start();
    assert_eq!(facts_named(&effects, facts::OPENED).len(), engines as usize);
    settle(&mut h, fsyncs(&effects)); // the new logs' directory syncs
    h
}

fn get(h: &mut Harness<StorageNode>, seq: u64, key: StorageKey) -> Reply<StorageResult> {
    let effects = h.request(9, request(9, seq, StorageOp::Get { key }));
    let [(_, reply)] = &replies(&effects)[..] else { panic!("one reply: {effects:?}") };
    reply.clone()
}

fn got(id: u64, seq: u64) -> Reply<StorageResult> {
    Reply::Ok { value: StorageResult::Got(Some(Version { value: Stored::Id(id), seq })) }
}

#[test]
fn writes_are_acknowledged_only_once_durable_and_group_commit_batches_them() {
    let mut h = started(1, testing::open);
    let first = h.request(1, request(1, 1, StorageOp::Put { key: 5, value: 100 }));
    assert!(replies(&first).is_empty(), "no ack before the fsync");
    assert_eq!(get(&mut h, 1, 5), got(100, 1), "visible at once");
    // Two more writes while the first fsync is in flight ride on the next one.
    let second = h.request(2, request(2, 1, StorageOp::Put { key: 6, value: 200 }));
    let third = h.request(3, request(3, 1, StorageOp::Delete { key: 5 }));
    assert!(fsyncs(&second).is_empty() && fsyncs(&third).is_empty(), "one fsync in flight");
    assert_eq!(h.node.pending_writes(0), 3);
    let done = h.complete_fsync(fsyncs(&first)[0]);
    let acked = replies(&done);
    assert_eq!(acked.len(), 1, "{done:?}");
    assert_eq!(acked[0].1, Reply::Ok { value: StorageResult::Written { seq: 1 } });
    let next = fsyncs(&done);
    assert_eq!(next.len(), 1, "the next group commit starts");
    let background = facts_named(&done, facts::BACKGROUND);
    assert!(matches!(background[..], [Fact::Custom { ref values, .. }] if values[..2] == [0, 1]));
    let acked = replies(&settle(&mut h, next));
    let seqs: Vec<_> = acked.iter().map(|(r, reply)| (r.client, reply.clone())).collect();
    let written = |seq| Reply::Ok { value: StorageResult::Written { seq } };
    assert_eq!(seqs, vec![(2, written(2)), (3, written(3))], "in order, one fsync");
    assert_eq!(h.node.pending_writes(0), 0);
    assert_eq!(get(&mut h, 2, 5), Reply::Ok { value: StorageResult::Got(None) });
}

#[test]
fn a_retried_write_is_applied_once_while_the_node_is_up() {
    let mut h = started(1, testing::open);
    let put = request(4, 7, StorageOp::Put { key: 1, value: 11 });
    let effects = h.request(4, put.clone());
    assert!(replies(&h.request(4, put.clone())).is_empty(), "pending: answered on durability");
    let acked = replies(&settle(&mut h, fsyncs(&effects)));
    assert_eq!(acked, vec![(put.id, Reply::Ok { value: StorageResult::Written { seq: 1 } })]);
    // A retry after the ack (the reply was lost) gets the same answer, without a new write.
    let again = replies(&h.request(4, put.clone()));
    assert_eq!(again, acked);
    let next = h.request(4, request(4, 8, StorageOp::Put { key: 1, value: 12 }));
    let acked = replies(&settle(&mut h, fsyncs(&next)));
    assert_eq!(acked[0].1, Reply::Ok { value: StorageResult::Written { seq: 2 } }, "seq 2: once");
    assert!(h.request(4, put).is_empty(), "an older request of a client that moved on");
}

#[test]
fn a_crash_loses_only_unacknowledged_writes() {
    let mut h = started(1, testing::open);
    let effects = h.request(1, request(1, 1, StorageOp::Put { key: 3, value: 30 }));
    settle(&mut h, fsyncs(&effects));
    h.request(1, request(1, 2, StorageOp::Put { key: 3, value: 31 })); // never synced
    let effects = h.crash_and_restart(node_with(1, testing::open));
    let opened = facts_named(&effects, facts::OPENED);
    assert!(matches!(opened[0], Fact::Custom { values, .. } if values[1..] == [1, 1]));
    assert_eq!(get(&mut h, 1, 3), got(30, 1));
    // A retry of the lost write after the crash is applied again: the node forgot it.
    let effects = h.request(1, request(1, 2, StorageOp::Put { key: 3, value: 31 }));
    let acked = replies(&settle(&mut h, fsyncs(&effects)));
    assert_eq!(acked[0].1, Reply::Ok { value: StorageResult::Written { seq: 2 } });
}

#[test]
fn scans_merge_engines_in_key_order_and_keep_to_the_limit() {
    let mut h = Harness::new(0, {
        let config = StorageConfig { engines: 3, scan_limit: 4, ..StorageConfig::default() };
        StorageNode::with_opener(config, testing::open)
    });
    let effects = h.start();
    settle(&mut h, fsyncs(&effects));
    for (n, key) in [9, 2, 4, 7, 3, 12].into_iter().enumerate() {
        let put = StorageOp::Put { key, value: 50 + u64::from(key) };
        let effects = h.request(1, request(1, n as u64 + 1, put));
        settle(&mut h, fsyncs(&effects));
    }
    h.request(1, request(1, 100, StorageOp::Delete { key: 4 }));
    let scan = |h: &mut Harness<StorageNode>, lo, hi, limit| {
        let effects = h.request(2, request(2, 1, StorageOp::Scan { lo, hi, limit }));
        match &replies(&effects)[0].1 {
            Reply::Ok { value: StorageResult::Rows(rows) } => {
                rows.iter().map(|(k, _)| *k).collect::<Vec<StorageKey>>()
            }
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(scan(&mut h, 0, 100, 32), vec![2, 3, 7, 9], "capped at scan_limit 4");
    assert_eq!(scan(&mut h, 3, 9, 2), vec![3, 7]);
    assert_eq!(scan(&mut h, 8, 20, 10), vec![9, 12]);
    assert_eq!(scan(&mut h, 5, 1, 10), Vec::<StorageKey>::new(), "an empty range");
}

fn open_missing(
    _: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Err(StorageError::Unrecoverable {
        file: format!("{dir}/000007.sst"),
        why: "the file is missing".into(),
    })
}

fn open_corrupt(
    _: &mut dyn DiskIo,
    dir: &str,
    _: &EngineConfig,
    _: Bugs,
) -> Result<Box<dyn Engine>, StorageError> {
    Err(StorageError::Corruption { file: format!("{dir}/MANIFEST"), offset: 12, what: "record" })
}

#[test]
fn an_engine_that_cannot_open_is_down_and_a_missing_file_is_a_finding() {
    let mut h = Harness::new(0, node_with(1, open_corrupt));
    let effects = h.start();
    let down = facts_named(&effects, facts::DOWN);
    assert!(matches!(down[0], Fact::Custom { text, .. } if text.contains("e0/MANIFEST")));
    assert!(!h.node.engine_up(0));
    assert_eq!(get(&mut h, 1, 0), Reply::Fail { reason: "engine down" });
    let put = h.request(1, request(1, 2, StorageOp::Put { key: 0, value: 1 }));
    assert_eq!(replies(&put)[0].1, Reply::Fail { reason: "engine down" });

    let mut h = Harness::new(0, node_with(1, open_missing));
    let effects = h.start();
    let missing = facts_named(&effects, facts::FILE_MISSING);
    assert!(matches!(missing[0], Fact::Custom { text, .. } if text.contains("000007.sst")));
    let mut checker = StorageRecovers::new();
    let violation = checker.on_fact(5, 0, 0, missing[0]).unwrap_err();
    assert_eq!(violation.check, RECOVERS);
    assert!(
        violation.detail.contains("e0/000007.sst: the file is missing"),
        "{}",
        violation.detail
    );
    assert!(violation.detail.contains("renames and directory syncs"));
    assert!(!checker.results()[0].passed);
}

#[test]
fn the_recovery_check_passes_opens_and_says_when_it_saw_none() {
    let mut checker = StorageRecovers::new();
    assert!(!checker.results()[0].judged);
    let opened =
        Fact::Custom { name: facts::OPENED.into(), values: vec![0, 3, 3], text: "x".into() };
    checker.on_fact(1, 0, 0, &opened).unwrap();
    checker.on_fact(1, 0, 0, &Fact::Leader { term: 1 }).unwrap();
    let result = &checker.results()[0];
    assert!(
        result.passed && result.judged && result.detail.contains("1 engine opens"),
        "{result:?}"
    );
}

#[test]
fn read_errors_fail_with_their_reason_and_garbled_bytes_are_reported() {
    let mut h = started(1, testing::open_failing_reads);
    let effects = h.request(1, request(1, 1, StorageOp::Put { key: 2, value: 20 }));
    settle(&mut h, fsyncs(&effects));
    assert_eq!(get(&mut h, 1, 2), Reply::Fail { reason: "corruption" });
    assert_eq!(get(&mut h, 2, 3), Reply::Ok { value: StorageResult::Got(None) }, "no record read");

    let mut h = started(1, testing::open_garbling);
    let effects = h.request(1, request(1, 1, StorageOp::Put { key: 2, value: 20 }));
    settle(&mut h, fsyncs(&effects));
    let Reply::Ok { value: StorageResult::Got(Some(v)) } = get(&mut h, 1, 2) else { panic!() };
    assert!(matches!(v.value, Stored::Garbled { len: 64, .. }), "{v:?}");
}

#[test]
fn nodes_other_than_the_server_redirect_to_it() {
    let mut h = Harness::new(1, node_with(1, testing::open));
    assert!(h.start().is_empty(), "opens nothing");
    let effects = h.request(1, request(1, 1, StorageOp::Get { key: 0 }));
    assert_eq!(replies(&effects)[0].1, Reply::Redirect { leader: Some(0) });
}

fn parse(text: &str) -> Result<StorageConfig, String> {
    StorageSystem::config(&text.parse::<toml::Table>().unwrap())
}

#[test]
fn config_defaults_sub_tables_and_errors_that_name_the_key() {
    let c = parse("").unwrap();
    assert_eq!(c, StorageConfig::default());
    assert_eq!((c.engine, c.value_bytes, c.engines, c.scan_limit), (EngineKind::Lsm, 64, 1, 32));
    let c = parse(
        "engine = \"bitcask\"\nbugs = [\"storage.no_checksum\"]\n\
         [bitcask]\nsegment_bytes_max = 4096\n[lsm]\ncompaction = \"tiered\"\n",
    )
    .unwrap();
    assert!(c.bugs.no_checksum && !c.bugs.skip_wal_fsync);
    let EngineConfig::Bitcask(b) = c.engine_config() else { panic!("bitcask") };
    assert_eq!((b.segment_bytes_max, b.merge_trigger_segments), (4096, 4));
    let c = parse("[lsm]\ncompaction = \"tiered\"\nmemtable_bytes_max = 2048\n").unwrap();
    let EngineConfig::Lsm(l) = c.engine_config() else { panic!("lsm") };
    assert_eq!(l.compaction, crate::storage::lsm::CompactionStyle::Tiered);
    assert_eq!(l.memtable_bytes_max, 2048);
    let e = parse("bugs = [\"storage.nope\"]").unwrap_err();
    assert!(e.contains("protocol.bugs") && e.contains("storage.nope"), "{e}");
    assert!(e.contains("storage.tombstone_dropped_early"), "lists the knobs: {e}");
    assert!(parse("engine = \"btree\"").unwrap_err().contains("protocol.engine"));
    assert!(parse("[lsm]\nbogus = 1").unwrap_err().contains("bogus"));
    assert!(parse("value_bytes = 4").unwrap_err().contains("protocol.value_bytes"));
    assert!(parse("engines = 0").unwrap_err().contains("protocol.engines"));
    let e = parse("[lsm]\nlevels_max = 1").unwrap_err();
    assert!(e.contains("protocol.lsm.levels_max"), "{e}");
}

// ---- The checker, rule by rule, on hand-built histories. ----

/// A history under construction; times in milliseconds.
#[derive(Default)]
struct Built {
    ops: Vec<Record<StorageApi>>,
}

const MS: u64 = 1_000_000;

impl Built {
    fn op(
        mut self,
        client: u32,
        op: StorageOp,
        (t0, t1): (u64, u64),
        outcome: Outcome,
        result: Option<StorageResult>,
    ) -> Self {
        let id = self.ops.len() as u64;
        self.ops.push(Record {
            id,
            client,
            op,
            invoke_ns: t0 * MS,
            complete_ns: t1 * MS,
            outcome,
            result,
        });
        self
    }
    fn put(self, key: StorageKey, value: u64, t: (u64, u64), seq: u64) -> Self {
        let written = Some(StorageResult::Written { seq });
        self.op(1, StorageOp::Put { key, value }, t, Outcome::Ok, written)
    }
    fn put_ended(self, key: StorageKey, value: u64, t: (u64, u64), outcome: Outcome) -> Self {
        self.op(1, StorageOp::Put { key, value }, t, outcome, None)
    }
    fn delete(self, key: StorageKey, t: (u64, u64), seq: u64) -> Self {
        let written = Some(StorageResult::Written { seq });
        self.op(2, StorageOp::Delete { key }, t, Outcome::Ok, written)
    }
    fn delete_ended(self, key: StorageKey, t: (u64, u64), outcome: Outcome) -> Self {
        self.op(2, StorageOp::Delete { key }, t, outcome, None)
    }
    fn get(self, key: StorageKey, t: (u64, u64), found: Option<(Stored, u64)>) -> Self {
        let version = found.map(|(value, seq)| Version { value, seq });
        self.op(3, StorageOp::Get { key }, t, Outcome::Ok, Some(StorageResult::Got(version)))
    }
    fn scan(
        self,
        (lo, hi, limit): (StorageKey, StorageKey, u32),
        t: (u64, u64),
        rows: &[(StorageKey, u64, u64)],
    ) -> Self {
        let rows =
            rows.iter().map(|&(k, id, seq)| (k, Version { value: Stored::Id(id), seq })).collect();
        let op = StorageOp::Scan { lo, hi, limit };
        self.op(4, op, t, Outcome::Ok, Some(StorageResult::Rows(rows)))
    }
    fn history(mut self) -> TypedHistory<StorageApi> {
        self.ops.sort_by_key(|r| (r.invoke_ns, r.id));
        TypedHistory { ops: self.ops }
    }
}

fn judge_with(engines: u32, b: Built) -> crate::check::CheckResult {
    let run = RunContext {
        quiet_start: None,
        end_ns: 0,
        faults_applied: 0,
        degraded_in_quiet: false,
        stopped_early: false,
        liveness_bound: 0,
    };
    StorageDurability { engines, scan_limit: 32 }.check(&b.history(), &run)
}

fn passes(b: Built) {
    let r = judge_with(1, b);
    assert!(r.passed && r.judged, "{r:?}");
}

fn fails(b: Built, words: &[&str]) {
    let r = judge_with(1, b);
    assert!(!r.passed, "should fail: {r:?}");
    assert_eq!(r.name, DURABILITY);
    for w in words {
        assert!(r.detail.contains(w), "missing `{w}` in: {}", r.detail);
    }
}

const A: u64 = (1 << 40) | 1;
const B: u64 = (1 << 40) | 2;

#[test]
fn rule1_a_value_must_be_a_put_to_the_key_invoked_before_the_read_ended() {
    passes(Built::default().put(1, A, (0, 10), 1).get(1, (5, 6), Some((Stored::Id(A), 1))));
    fails(Built::default().get(1, (5, 6), Some((Stored::Id(A), 1))), &["never written", "c1-1"]);
    let garbled = Stored::Garbled { len: 64, crc: 7 };
    fails(
        Built::default().put(1, A, (0, 10), 1).get(1, (20, 21), Some((garbled, 1))),
        &["torn or corrupt record returned as data", "client 3"],
    );
    fails(
        Built::default().put(2, A, (0, 10), 1).get(1, (20, 21), Some((Stored::Id(A), 1))),
        &["put to key 2"],
    );
    fails(
        Built::default().get(1, (5, 6), Some((Stored::Id(A), 1))).put(1, A, (7, 10), 1),
        &["after the read"],
    );
    fails(
        Built::default().put_ended(1, A, (0, 10), Outcome::Fail).get(
            1,
            (20, 21),
            Some((Stored::Id(A), 1)),
        ),
        &["failed"],
    );
    // A put of unknown outcome may have taken effect.
    passes(Built::default().put_ended(1, A, (0, 10), Outcome::Info).get(
        1,
        (20, 21),
        Some((Stored::Id(A), 1)),
    ));
}

#[test]
fn rule2_a_read_sees_at_least_the_newest_write_acknowledged_before_it_began() {
    let writes = || Built::default().put(1, A, (0, 10), 1).put(1, B, (20, 30), 2);
    passes(writes().get(1, (40, 50), Some((Stored::Id(B), 2))));
    fails(
        writes().get(1, (40, 50), Some((Stored::Id(A), 1))),
        &[
            "stale read / acknowledged write lost",
            "put c1-2 (seq 2, acknowledged at t=0.030000s)",
            "found c1-1@1",
        ],
    );
    // B was not acknowledged when the read began: A is still allowed.
    passes(writes().get(1, (25, 35), Some((Stored::Id(A), 1))));
    fails(writes().get(1, (40, 50), None), &["acknowledged write lost", "found nothing"]);
    passes(writes().get(1, (5, 9), None));
}

#[test]
fn rule2_only_a_delete_explains_a_missing_key() {
    let put = || Built::default().put(1, A, (0, 10), 1);
    passes(put().delete(1, (20, 30), 2).get(1, (40, 50), None));
    passes_why(put().delete(1, (45, 60), 2).get(1, (40, 50), None), "a concurrent delete");
    passes(put().delete_ended(1, (20, 30), Outcome::Info).get(1, (40, 50), None));
    fails(put().delete_ended(1, (20, 30), Outcome::Fail).get(1, (40, 50), None), &["lost"]);
    fails(put().delete_ended(1, (55, 60), Outcome::Info).get(1, (40, 50), None), &["lost"]);
    // A delete acknowledged with a lower seq than the put it would explain cannot.
    fails(put().delete(1, (5, 8), 0).get(1, (40, 50), None), &["lost"]);
}

fn passes_why(b: Built, why: &str) {
    let r = judge_with(1, b);
    assert!(r.passed && r.judged, "{why}: {r:?}");
}

#[test]
fn rule2_a_deleted_key_does_not_come_back() {
    let history = || Built::default().put(1, A, (0, 10), 1).delete(1, (20, 30), 2);
    fails(
        history().get(1, (40, 50), Some((Stored::Id(A), 1))),
        &["deleted key resurrected", "delete (seq 2"],
    );
    passes(history().put(1, B, (35, 38), 3).get(1, (40, 50), Some((Stored::Id(B), 3))));
}

#[test]
fn rule3_acknowledged_writes_keep_real_time_order_per_engine() {
    let ordered =
        Built::default().put(1, A, (0, 10), 5).put(2, B, (20, 30), 6).get(7, (40, 41), None);
    passes(ordered);
    fails(
        Built::default().put(1, A, (0, 10), 5).put(3, B, (20, 30), 3).get(7, (40, 41), None),
        &["sequence numbers went back", "seq 5", "seq 3"],
    );
    // Concurrent writes may be numbered either way.
    passes(Built::default().put(1, A, (0, 30), 5).put(3, B, (20, 40), 3).get(7, (50, 51), None));
    // Keys 1 and 2 live in different engines when there are two: their numbers are apart.
    let two = Built::default().put(1, A, (0, 10), 5).put(2, B, (20, 30), 3).get(7, (40, 41), None);
    let r = judge_with(2, two);
    assert!(r.passed && r.judged, "{r:?}");
}

#[test]
fn rule4_scan_rows_are_ordered_in_range_within_limit_and_complete() {
    let writes = || Built::default().put(1, A, (0, 10), 1).put(3, B, (0, 10), 2);
    passes(writes().scan((0, 5, 10), (20, 30), &[(1, A, 1), (3, B, 2)]));
    fails(writes().scan((0, 5, 10), (20, 30), &[(3, B, 2), (1, A, 1)]), &["out of key order"]);
    fails(writes().scan((2, 5, 10), (20, 30), &[(1, A, 1), (3, B, 2)]), &["outside 2..=5"]);
    fails(writes().scan((0, 5, 1), (20, 30), &[(1, A, 1), (3, B, 2)]), &["more than the limit 1"]);
    fails(writes().scan((0, 5, 10), (20, 30), &[(1, A, 1)]), &["scan missed key 3", "c1-2"]);
    // A scan that hit its limit claims nothing past its last row.
    passes(writes().scan((0, 5, 1), (20, 30), &[(1, A, 1)]));
    // A delete explains the absence.
    passes(writes().delete(3, (12, 15), 3).scan((0, 5, 10), (20, 30), &[(1, A, 1)]));
    // Each row is a read: a stale row fails like a stale get.
    let newer = writes().put(1, B + 1, (11, 12), 3);
    fails(newer.scan((0, 5, 10), (20, 30), &[(1, A, 1), (3, B, 2)]), &["stale read", "key 1"]);
    // Keys outside the range are not required.
    passes(writes().scan((2, 5, 10), (20, 30), &[(3, B, 2)]));
}

#[test]
fn the_verdict_says_what_was_judged_and_when_nothing_was() {
    let r = judge_with(1, Built::default().put(1, A, (0, 10), 1));
    assert!(r.passed && !r.judged, "{r:?}");
    assert!(r.detail.contains("no read") && r.detail.contains("1 acknowledged"), "{}", r.detail);
    let b = Built::default()
        .put(1, A, (0, 10), 1)
        .delete(2, (0, 10), 2)
        .get(1, (20, 21), Some((Stored::Id(A), 1)))
        .scan((0, 9, 5), (30, 31), &[(1, A, 1)]);
    let r = judge_with(1, b);
    assert!(r.passed && r.judged, "{r:?}");
    for words in
        ["1 gets", "1 scans", "1 rows", "1 absent keys", "1 acknowledged puts", "1 deletes"]
    {
        assert!(r.detail.contains(words), "`{words}` in {}", r.detail);
    }
    // Duplicate write ids cannot be judged and say so.
    let dup = Built::default().put(1, A, (0, 10), 1).put(2, A, (0, 10), 2).get(1, (20, 21), None);
    fails(dup, &["put twice"]);
}
