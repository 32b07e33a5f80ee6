//! The LSM-tree driven by hand on a [`DiskHarness`]: durability, crashes at every fsync of a
//! flush and a compaction, corruption, the bug knobs, and a model-checked proptest.

use super::*;
use crate::node::testing::{DiskConfig, DiskHarness};
use crate::storage::Engine;
use proptest::prelude::*;
use std::ops::Bound;

fn small(style: CompactionStyle) -> LsmConfig {
    LsmConfig {
        memtable_bytes_max: 2 << 10,
        block_bytes: 256,
        compaction: style,
        l0_compaction_trigger: 2,
        level_base_bytes: 4 << 10,
        level_size_multiplier: 4,
        levels_max: 4,
        table_bytes_target: 2 << 10,
        tiered_min_merge_width: 2,
        tiered_runs_max: 6,
        ..LsmConfig::default()
    }
}

fn open(h: &mut DiskHarness, config: &LsmConfig, bugs: Bugs) -> Lsm {
    Lsm::open(h, "db", config.clone(), bugs).expect("open")
}

/// Completes every pending fsync, feeding each to the engine, until none is left.
fn settle(h: &mut DiskHarness, lsm: &mut Lsm) {
    for _ in 0..10_000 {
        let Some(id) = h.complete_next_fsync() else { return };
        assert!(lsm.on_fsync(h, id), "fsync {id:?} is the engine's");
    }
    panic!("fsyncs never settle");
}

fn key(i: u64) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    format!("value-{i}-{round}-{}", "x".repeat((i % 7) as usize * 10)).into_bytes()
}

fn get(lsm: &mut Lsm, h: &mut DiskHarness, k: &[u8]) -> Option<Vec<u8>> {
    lsm.get(h, k).expect("get").map(|f| f.value)
}

#[test]
fn durable_only_after_the_fsync() {
    let mut h = DiskHarness::new(1);
    let mut lsm = open(&mut h, &small(CompactionStyle::Leveled), Bugs::default());
    settle(&mut h, &mut lsm);
    let seq = lsm.put(&mut h, b"a", b"1");
    assert_eq!(get(&mut lsm, &mut h, b"a"), Some(b"1".to_vec()), "visible at once");
    lsm.sync(&mut h);
    assert!(lsm.durable_seq() < seq, "not before the fsync");
    let second = lsm.put(&mut h, b"b", b"2");
    lsm.sync(&mut h); // waits for the fsync in flight
    assert_eq!(h.pending_fsyncs().len(), 1, "one log fsync in flight");
    let id = h.complete_next_fsync().unwrap();
    assert!(lsm.on_fsync(&mut h, id));
    assert_eq!(lsm.durable_seq(), seq);
    settle(&mut h, &mut lsm);
    assert_eq!(lsm.durable_seq(), second);
    h.crash();
    let mut lsm = open(&mut h, &small(CompactionStyle::Leveled), Bugs::default());
    assert_eq!(get(&mut lsm, &mut h, b"b"), Some(b"2".to_vec()));
    assert!(lsm.last_seq() >= second);
}

fn fill(lsm: &mut Lsm, h: &mut DiskHarness, n: u64, round: u64) {
    for i in 0..n {
        lsm.put(h, &key(i), &value(i, round));
        lsm.sync(h);
        settle(h, lsm);
    }
}

#[test]
fn put_get_delete_scan_across_memtable_and_levels() {
    for style in [CompactionStyle::Leveled, CompactionStyle::Tiered] {
        let mut h = DiskHarness::new(2);
        let mut lsm = open(&mut h, &small(style), Bugs::default());
        let mut model = std::collections::BTreeMap::new();
        for round in 0..4 {
            for i in 0..150 {
                let k = key((i * 7 + round * 3) % 200);
                if i % 5 == 0 {
                    lsm.delete(&mut h, &k);
                    model.remove(&k);
                } else {
                    lsm.put(&mut h, &k, &value(i, round));
                    model.insert(k, value(i, round));
                }
                lsm.sync(&mut h);
                settle(&mut h, &mut lsm);
            }
        }
        assert!(lsm.stats().flushes > 3 && lsm.stats().compactions > 0, "{}", lsm.describe());
        for i in 0..200 {
            assert_eq!(get(&mut lsm, &mut h, &key(i)), model.get(&key(i)).cloned(), "{i}");
        }
        let rows = lsm
            .scan(&mut h, (Bound::Included(b"key00050"), Bound::Excluded(b"key00150")), 30)
            .unwrap();
        let expected: Vec<_> = model
            .range(b"key00050".to_vec()..b"key00150".to_vec())
            .take(30)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let got: Vec<_> = rows.into_iter().map(|r| (r.key, r.value)).collect();
        assert_eq!(got, expected, "{style:?}");
        let s = lsm.stats();
        assert!(s.bloom_probes > 0 && s.read_bytes > 0 && s.compaction_bytes_read > 0);
        assert!(lsm.describe().starts_with("lsm: mem"), "{}", lsm.describe());
    }
}

#[test]
fn sstable_round_trips_and_every_block_checks() {
    let mut builder = sstable::Builder::new(7, 128, 10);
    let entries: Vec<sstable::Entry> = (0..60)
        .map(|i| sstable::Entry {
            key: key(i),
            seq: i + 1,
            value: (i % 9 != 0).then(|| value(i, 0)),
        })
        .collect();
    entries.iter().for_each(|e| builder.add(e));
    let built = builder.finish(1, 60);
    let mut h = DiskHarness::new(3);
    h.disk().write("t.sst", 0, &built.bytes);
    let source = sstable::Source { path: "t.sst", number: 7, no_checksum: false };
    let mut counters = sstable::ReadCounters::default();
    let loaded = sstable::load(&mut h, source, built.bytes.len() as u64, &mut counters).unwrap();
    assert!(loaded.index.len() > 3, "several blocks");
    assert_eq!(sstable::read_all(&mut h, source, &loaded, &mut counters).unwrap(), entries);
    let other = sstable::Source { number: 8, ..source };
    assert!(sstable::load(&mut h, other, built.bytes.len() as u64, &mut counters).is_err());
    // A flipped bit anywhere: the table fails to load or to read, or only its filter is lost.
    for byte in (0..built.bytes.len()).step_by(7) {
        let mut flipped = built.bytes.clone();
        flipped[byte] ^= 1 << (byte % 8);
        h.disk().write("t.sst", 0, &flipped);
        let mut c = sstable::ReadCounters::default();
        let len = flipped.len() as u64;
        let outcome = sstable::load(&mut h, source, len, &mut c)
            .and_then(|l| sstable::read_all(&mut h, source, &l, &mut c).map(|e| (e, l.filter)));
        match outcome {
            Err(_) => {}
            Ok((read, filter)) => {
                assert_eq!(read, entries, "byte {byte}: wrong data returned");
                assert!(filter.is_none(), "byte {byte}: a flip went unseen");
            }
        }
    }
}

/// Writes until one table is flushed (all settled), then until the memtable rotates again
/// with the job's fsyncs held back; then completes the fsyncs one by one, crashing after each
/// in turn: through the second flush and the compaction it triggers. After each crash, every
/// durable write must be there.
fn crash_at_every_step(style: CompactionStyle) {
    let config = small(style);
    for crash_after in 0..400 {
        let mut h = DiskHarness::new(4 + crash_after);
        let mut lsm = open(&mut h, &config, Bugs::default());
        let mut model = std::collections::BTreeMap::new();
        let mut i = 0;
        while lsm.stats().flushes == 0 {
            let k = key(i % 40);
            lsm.put(&mut h, &k, &value(i, 1));
            model.insert(k, (value(i, 1), lsm.last_seq()));
            lsm.sync(&mut h);
            settle(&mut h, &mut lsm);
            i += 1;
        }
        while lsm.imm.is_none() {
            let k = key(i % 40);
            lsm.put(&mut h, &k, &value(i, 1));
            model.insert(k, (value(i, 1), lsm.last_seq()));
            lsm.sync(&mut h);
            // Keep the log moving but leave the job's fsyncs to the loop below.
            while let Some(id) = h.pending_fsyncs().first().copied() {
                if lsm.log_sync.is_none_or(|s| s.id != id) && !lsm.quiet_fsyncs.contains(&id) {
                    break;
                }
                h.complete_next_fsync();
                lsm.on_fsync(&mut h, id);
            }
            i += 1;
        }
        let mut completed = 0;
        while completed < crash_after {
            let Some(id) = h.complete_next_fsync() else { break };
            lsm.on_fsync(&mut h, id);
            completed += 1;
        }
        let finished = h.pending_fsyncs().is_empty();
        if finished {
            assert_eq!(lsm.stats().flushes, 2, "{style:?}");
            assert!(lsm.stats().compactions >= 1, "{style:?}: the crashes covered a compaction");
        }
        let durable = lsm.durable_seq();
        h.crash();
        let mut lsm = Lsm::open(&mut h, "db", config.clone(), Bugs::default())
            .unwrap_or_else(|e| panic!("crash after {crash_after}: {e}"));
        for (k, (v, seq)) in &model {
            if *seq <= durable {
                let got = lsm.get(&mut h, k).unwrap().expect("a durable write is kept");
                assert!(got.seq >= *seq, "crash after {crash_after}: {k:?} went back");
                if got.seq == *seq {
                    assert_eq!(&got.value, v);
                }
            }
        }
        settle(&mut h, &mut lsm);
        if finished {
            return;
        }
    }
    panic!("the job never finished");
}

#[test]
fn crash_at_every_step_of_a_flush_and_a_compaction() {
    crash_at_every_step(CompactionStyle::Leveled);
    crash_at_every_step(CompactionStyle::Tiered);
}

#[test]
fn a_torn_wal_tail_is_cut_never_returned() {
    let config = DiskConfig { torn_write_ppm: 1_000_000, ..DiskConfig::default() };
    let mut h = DiskHarness::with_config(config, 5);
    let cfg = small(CompactionStyle::Leveled);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    settle(&mut h, &mut lsm);
    lsm.put(&mut h, b"a", b"durable");
    lsm.sync(&mut h);
    settle(&mut h, &mut lsm);
    for i in 0..5 {
        lsm.put(&mut h, &key(i), &[b'z'; 100]);
    }
    lsm.sync(&mut h); // written, never fsynced: torn at the crash
    h.crash();
    assert_eq!(h.stats().torn_writes, 1);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    assert_eq!(get(&mut lsm, &mut h, b"a"), Some(b"durable".to_vec()));
    for i in 0..5 {
        if let Some(v) = get(&mut lsm, &mut h, &key(i)) {
            assert_eq!(v, vec![b'z'; 100], "a torn record is never data");
        }
    }
    assert!(lsm.damage().is_empty(), "a torn tail is not damage");
    settle(&mut h, &mut lsm);
    lsm.put(&mut h, b"b", b"after");
    lsm.sync(&mut h);
    settle(&mut h, &mut lsm);
    h.crash();
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    assert!(lsm.damage().is_empty(), "the cut tail is not mistaken for corruption");
    assert_eq!(get(&mut lsm, &mut h, b"b"), Some(b"after".to_vec()));
}

#[test]
fn no_checksum_turns_a_torn_record_into_data() {
    let config = DiskConfig { torn_write_ppm: 1_000_000, ..DiskConfig::default() };
    let mut returned_garbage = false;
    for seed in 0..20 {
        let mut h = DiskHarness::with_config(config.clone(), seed);
        let cfg = small(CompactionStyle::Leveled);
        let bugs = Bugs { no_checksum: true, ..Bugs::default() };
        let mut lsm = open(&mut h, &cfg, bugs);
        settle(&mut h, &mut lsm);
        lsm.put(&mut h, b"k", &[b'v'; 400]);
        lsm.sync(&mut h);
        h.crash();
        let mut lsm = open(&mut h, &cfg, bugs);
        if let Ok(Some(found)) = lsm.get(&mut h, b"k") {
            returned_garbage |= found.value != vec![b'v'; 400];
        }
    }
    assert!(returned_garbage, "a torn record came back as data");
}

#[test]
fn corruption_at_rest_is_an_error_never_stale_data() {
    let cfg = small(CompactionStyle::Leveled);
    let mut errors = 0;
    for seed in 0..30 {
        let mut h = DiskHarness::new(100 + seed);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        fill(&mut lsm, &mut h, 60, 0);
        fill(&mut lsm, &mut h, 60, 1); // newer versions shadow the old in lower levels
        h.crash();
        h.corrupt();
        let Ok(mut lsm) = Lsm::open(&mut h, "db", cfg.clone(), Bugs::default()) else {
            errors += 1; // the manifest or CURRENT was hit: refusing to open is right
            continue;
        };
        for i in 0..60 {
            match lsm.get(&mut h, &key(i)) {
                Ok(found) => {
                    assert_eq!(found.map(|f| f.value), Some(value(i, 1)), "seed {seed} key {i}")
                }
                Err(_) => errors += 1,
            }
        }
    }
    assert!(errors > 0, "some flip hit data that was read");
}

#[test]
fn misdirected_writes_never_lose_a_durable_write() {
    let cfg = small(CompactionStyle::Leveled);
    let mut misdirected = 0;
    for seed in 0..30 {
        let mut h = DiskHarness::new(200 + seed);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        settle(&mut h, &mut lsm);
        for i in 0..80 {
            if i % 10 == 0 {
                h.arm_misdirect();
            }
            lsm.put(&mut h, &key(i), &value(i, 0));
            lsm.sync(&mut h);
            settle(&mut h, &mut lsm);
        }
        misdirected += h.stats().misdirected_writes;
        h.crash();
        let Ok(mut lsm) = Lsm::open(&mut h, "db", cfg.clone(), Bugs::default()) else { continue };
        for i in 0..80 {
            if let Ok(found) = lsm.get(&mut h, &key(i)) {
                assert_eq!(found.map(|f| f.value), Some(value(i, 0)), "seed {seed} key {i}");
            }
        }
    }
    assert!(misdirected > 10, "writes went astray: {misdirected}");
}

#[test]
fn skip_wal_fsync_loses_acknowledged_writes() {
    let cfg = small(CompactionStyle::Leveled);
    let mut h = DiskHarness::new(6);
    let bugs = Bugs { skip_wal_fsync: true, ..Bugs::default() };
    let mut lsm = open(&mut h, &cfg, bugs);
    settle(&mut h, &mut lsm);
    let seq = lsm.put(&mut h, b"a", b"1");
    lsm.sync(&mut h);
    assert!(lsm.durable_seq() >= seq, "reported durable");
    h.crash();
    let mut lsm = open(&mut h, &cfg, bugs);
    assert_eq!(get(&mut lsm, &mut h, b"a"), None, "an acknowledged write is gone");
}

/// Fills two levels so that old versions sit below, then compacts.
fn layered(bugs: Bugs) -> (DiskHarness, Lsm) {
    let mut cfg = small(CompactionStyle::Leveled);
    cfg.l0_compaction_trigger = 2;
    let mut h = DiskHarness::new(7);
    let mut lsm = open(&mut h, &cfg, bugs);
    fill(&mut lsm, &mut h, 120, 0);
    for i in 0..120 {
        if i % 2 == 0 {
            lsm.delete(&mut h, &key(i));
        } else {
            lsm.put(&mut h, &key(i), &value(i, 1));
        }
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
    }
    fill(&mut lsm, &mut h, 0, 2);
    for i in 200..400 {
        lsm.put(&mut h, &key(i), b"filler");
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
    }
    (h, lsm)
}

#[test]
fn compaction_knobs_bring_back_old_values() {
    let (mut h, mut lsm) = layered(Bugs::default());
    for i in 0..120 {
        let expected = (i % 2 == 1).then(|| value(i, 1));
        assert_eq!(get(&mut lsm, &mut h, &key(i)), expected, "correct engine, key {i}");
    }
    let (mut h, mut lsm) = layered(Bugs { compaction_drops_newest: true, ..Bugs::default() });
    let stale = (0..120).filter(|&i| get(&mut lsm, &mut h, &key(i)) == Some(value(i, 0))).count();
    assert!(stale > 0, "compaction_drops_newest returns old values");
    let (mut h, mut lsm) = layered(Bugs { tombstone_dropped_early: true, ..Bugs::default() });
    let back = (0..120).step_by(2).filter(|&i| get(&mut lsm, &mut h, &key(i)).is_some()).count();
    assert!(back > 0, "tombstone_dropped_early resurrects deleted keys");
}

#[test]
fn rename_without_dir_sync_leaves_the_manifest_naming_a_missing_table() {
    let cfg = small(CompactionStyle::Leveled);
    let bugs = Bugs { rename_without_dir_sync: true, ..Bugs::default() };
    let mut h = DiskHarness::new(8);
    let mut lsm = open(&mut h, &cfg, bugs);
    settle(&mut h, &mut lsm);
    let mut i = 0;
    while lsm.stats().flushes == 0 {
        lsm.put(&mut h, &key(i), &value(i, 0));
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
        i += 1;
    }
    h.crash();
    match Lsm::open(&mut h, "db", cfg, Bugs::default()) {
        Err(StorageError::Unrecoverable { why, .. }) => assert!(why.contains("missing"), "{why}"),
        other => panic!("expected a missing table, got {:?}", other.map(|l| l.describe())),
    }
}

#[test]
fn leveled_and_tiered_keep_all_data_and_report_amplification() {
    for style in [CompactionStyle::Leveled, CompactionStyle::Tiered] {
        let mut h = DiskHarness::new(9);
        let mut lsm = open(&mut h, &small(style), Bugs::default());
        for round in 0..5 {
            fill(&mut lsm, &mut h, 300, round);
        }
        for i in 0..300 {
            assert_eq!(get(&mut lsm, &mut h, &key(i)), Some(value(i, 4)), "{style:?} {i}");
        }
        let s = lsm.stats();
        let amplification = s.disk_bytes_written() as f64 / s.user_bytes_written as f64;
        let summary = lsm.level_summary();
        eprintln!(
            "{style:?}: write amplification {amplification:.2}, {}, {summary:?}",
            lsm.describe()
        );
        assert!(amplification > 1.0);
    }
}

#[derive(Clone, Debug)]
enum Op {
    Put(u8, u8),
    Delete(u8),
    Get(u8),
    Scan(u8),
    Sync,
    CompleteFsync,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..40, any::<u8>()).prop_map(|(k, v)| Op::Put(k, v)),
        2 => (0u8..40).prop_map(Op::Delete),
        2 => (0u8..40).prop_map(Op::Get),
        1 => (0u8..40).prop_map(Op::Scan),
        3 => Just(Op::Sync),
        5 => Just(Op::CompleteFsync),
        1 => Just(Op::Crash),
    ]
}

/// Per key: the durable value (`None`: absent) and the values written since, any of which a
/// crash may keep.
type Model = std::collections::BTreeMap<u8, (Option<u8>, Vec<(Seq, Option<u8>)>)>;

/// The current value of every key, as the model expects reads to see it.
type Current = std::collections::BTreeMap<u8, u8>;

trait CrashChecked {
    fn crash_checked(
        &mut self,
        lsm: &mut Lsm,
        model: &mut Model,
        current: &mut Current,
        reopen: impl Fn(&mut DiskHarness) -> Lsm,
    );
}

impl CrashChecked for DiskHarness {
    /// Crashes, reopens, and checks every key holds its durable value or a later one written
    /// (never an unwritten value, never a deleted key back from before its durable delete).
    fn crash_checked(
        &mut self,
        lsm: &mut Lsm,
        model: &mut Model,
        current: &mut Current,
        reopen: impl Fn(&mut DiskHarness) -> Lsm,
    ) {
        let h = self;
        let durable = lsm.durable_seq();
        for (durable_value, later) in model.values_mut() {
            for &(seq, v) in later.iter() {
                if seq <= durable {
                    *durable_value = v;
                }
            }
            later.retain(|(seq, _)| *seq > durable);
        }
        h.crash();
        *lsm = reopen(h);
        current.clear();
        for (&k, (durable_value, later)) in model.iter_mut() {
            let got = lsm.get(h, &[k]).unwrap().map(|f| f.value[0]);
            let allowed = got == *durable_value || later.iter().any(|(_, v)| *v == got);
            assert!(allowed, "key {k}: {got:?}, durable {durable_value:?}, later {later:?}");
            // What survived is now the durable state.
            *durable_value = got;
            later.clear();
            if let Some(v) = got {
                current.insert(k, v);
            }
        }
        let rows = lsm.scan(h, (Bound::Unbounded, Bound::Unbounded), 1000).unwrap();
        assert!(rows.windows(2).all(|w| w[0].key < w[1].key), "scan sorted");
        assert_eq!(rows.len(), current.len(), "scan agrees with gets");
    }
}

fn run_model(style: CompactionStyle, ops: &[Op]) {
    run_model_with(style, ops, Bugs::default());
}

fn run_model_with(style: CompactionStyle, ops: &[Op], bugs: Bugs) {
    let mut cfg = small(style);
    cfg.memtable_bytes_max = 600;
    cfg.block_bytes = 128;
    // Levels small enough that data reaches L2 and L3, where old versions and tombstones
    // meet below newer ones.
    cfg.level_base_bytes = 1 << 10;
    cfg.level_size_multiplier = 2;
    cfg.table_bytes_target = 512;
    let mut h = DiskHarness::new(10);
    let mut lsm = open(&mut h, &cfg, bugs);
    let mut model: Model = Model::new();
    let mut current = Current::new();
    for op in ops {
        match *op {
            Op::Put(k, v) => {
                let seq = lsm.put(&mut h, &[k], &[v; 20]);
                model.entry(k).or_default().1.push((seq, Some(v)));
                current.insert(k, v);
            }
            Op::Delete(k) => {
                let seq = lsm.delete(&mut h, &[k]);
                model.entry(k).or_default().1.push((seq, None));
                current.remove(&k);
            }
            Op::Get(k) => {
                let got = lsm.get(&mut h, &[k]).unwrap().map(|f| f.value);
                assert_eq!(got, current.get(&k).map(|v| vec![*v; 20]), "get {k}");
            }
            Op::Scan(k) => {
                let rows =
                    lsm.scan(&mut h, (Bound::Included(&[k][..]), Bound::Unbounded), 5).unwrap();
                let expected: Vec<_> =
                    current.range(k..).take(5).map(|(k, v)| (vec![*k], vec![*v; 20])).collect();
                let got: Vec<_> = rows.into_iter().map(|r| (r.key, r.value)).collect();
                assert_eq!(got, expected, "scan from {k}");
            }
            Op::Sync => lsm.sync(&mut h),
            Op::CompleteFsync => {
                if let Some(id) = h.complete_next_fsync() {
                    assert!(lsm.on_fsync(&mut h, id));
                }
            }
            Op::Crash => {
                h.crash_checked(&mut lsm, &mut model, &mut current, |h| open(h, &cfg, bugs));
            }
        }
    }
}

proptest! {
    #![proptest_config(crate::property::proptest_config(48))]

    #[test]
    fn random_operations_keep_durable_writes_leveled(ops in prop::collection::vec(op(), 1..400)) {
        run_model(CompactionStyle::Leveled, &ops);
    }

    #[test]
    fn random_operations_keep_durable_writes_tiered(ops in prop::collection::vec(op(), 1..400)) {
        run_model(CompactionStyle::Tiered, &ops);
    }

    #[test]
    #[ignore = "a mutation check: run by hand with a knob named in MUTANT to see the model fail"]
    fn the_model_catches_a_bug_knob(ops in prop::collection::vec(op(), 1..400)) {
        let mut bugs = Bugs::default();
        bugs.enable(&std::env::var("MUTANT").unwrap_or_default());
        run_model_with(CompactionStyle::Leveled, &ops, bugs);
    }
}

#[test]
fn model_runs_flush_compact_and_crash() {
    let ops: Vec<Op> = (0..400u32)
        .map(|i| match i % 23 {
            22 => Op::Crash,
            n if n % 3 == 0 => Op::Sync,
            n if n % 3 == 1 => Op::CompleteFsync,
            n => Op::Put((i * 7 % 40) as u8, n as u8),
        })
        .collect();
    run_model(CompactionStyle::Leveled, &ops);
    let mut cfg = small(CompactionStyle::Leveled);
    cfg.memtable_bytes_max = 600;
    let mut h = DiskHarness::new(11);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    for i in 0..300u64 {
        lsm.put(&mut h, &[(i % 40) as u8], &[i as u8; 20]);
        lsm.sync(&mut h);
        if i % 2 == 0 {
            settle(&mut h, &mut lsm);
        }
    }
    let s = lsm.stats();
    assert!(s.flushes > 5 && s.compactions > 0, "the model's shape flushes and compacts: {s:?}");
}

#[test]
fn bloom_rates_by_bits_per_key() {
    for bits in [4u32, 6, 8, 10, 12, 14, 16] {
        let n = 20_000u64;
        let hashes: Vec<u64> =
            (0..n).map(|i| bloom::key_hash(format!("k{i}").as_bytes())).collect();
        let filter = bloom::Bloom::build(&hashes, bits);
        let probes = 200_000u64;
        let hits = (0..probes)
            .filter(|i| filter.may_contain(bloom::key_hash(format!("a{i}").as_bytes())))
            .count();
        let measured = hits as f64 / probes as f64;
        let expected = bloom::Bloom::expected_false_positive_rate(bits);
        eprintln!("bloom {bits} bits/key: measured {measured:.5}, formula {expected:.5}");
        assert!(measured < expected * 1.5 + 0.001);
    }
}

/// Overwrites `len` bytes at `offset` of `path` durably, as corruption at rest would.
fn scribble(h: &mut DiskHarness, path: &str, offset: u64, len: usize) {
    use crate::node::DiskIo;
    h.disk().write(path, offset, &vec![0x5a; len]);
    h.fsync(path);
    h.complete_fsyncs();
}

#[test]
fn wal_corruption_in_the_middle_is_damage_that_outlives_the_wal() {
    let cfg = small(CompactionStyle::Leveled);
    let mut h = DiskHarness::new(12);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    for i in 0..10 {
        lsm.put(&mut h, &key(i), b"v");
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
    }
    h.crash();
    let wal = h.disk().list("db").into_iter().filter(|n| n.ends_with(".log")).min().unwrap();
    scribble(&mut h, &format!("db/{wal}"), 60, 4); // inside the third record or so
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    assert!(!lsm.damage().is_empty(), "a bad record followed by valid ones is damage");
    assert!(lsm.scan(&mut h, (Bound::Unbounded, Bound::Unbounded), 10).is_err());
    let lost = (0..10).filter(|&i| lsm.get(&mut h, &key(i)).is_err()).count();
    assert!(lost > 0, "reads the lost writes could have changed fail");
    settle(&mut h, &mut lsm);
    fill(&mut lsm, &mut h, 100, 1); // flushes: the damaged WAL is deleted
    assert!(lsm.stats().flushes > 0);
    h.crash();
    let lsm = open(&mut h, &cfg, Bugs::default());
    assert!(!lsm.damage().is_empty(), "the manifest keeps the damage");
}

#[test]
fn a_compaction_meeting_a_corrupt_block_keeps_its_inputs() {
    let cfg = small(CompactionStyle::Leveled);
    let mut h = DiskHarness::new(13);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    let mut i = 0;
    while lsm.stats().flushes == 0 {
        lsm.put(&mut h, &key(i), &value(i, 0));
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
        i += 1;
    }
    let first = lsm.levels[0][0];
    let path = format!("db/{}", table_name(first));
    scribble(&mut h, &path, 5, 8); // the first data block
    for j in 1000..1300 {
        lsm.put(&mut h, &key(j), &value(j, 0));
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
    }
    assert!(h.disk().exists(&path), "the damaged input is kept");
    assert!(lsm.tables[&first].damaged, "and never picked again");
    assert!(lsm.stats().errors_detected > 0);
    let mut failed = 0;
    for j in 0..i {
        match lsm.get(&mut h, &key(j)) {
            Ok(found) => assert_eq!(found.map(|f| f.value), Some(value(j, 0)), "key {j}"),
            Err(_) => failed += 1,
        }
    }
    assert!(failed > 0, "keys of the damaged block fail rather than vanish");
    let level0 = lsm.levels[0].len();
    assert!(level0 <= cfg.l0_compaction_trigger + 1, "other key ranges still compact: {level0}");
    for j in 1000..1300 {
        assert_eq!(get(&mut lsm, &mut h, &key(j)), Some(value(j, 0)), "newer data is served");
    }
}

#[test]
fn an_unreadable_wal_sector_is_damage_never_a_silent_loss() {
    let cfg = small(CompactionStyle::Leveled);
    let (mut failed_reads, mut checked) = (0, 0);
    for seed in 0..60 {
        let mut h = DiskHarness::new(300 + seed);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        settle(&mut h, &mut lsm);
        for i in 0..20 {
            lsm.put(&mut h, &key(i), &value(i, 0));
            lsm.sync(&mut h);
            settle(&mut h, &mut lsm);
        }
        assert_eq!(lsm.stats().flushes, 0, "all in the WAL");
        h.crash();
        let wal = h.disk().list("db").into_iter().filter(|n| n.ends_with(".log")).max().unwrap();
        if h.fail_sector().is_none_or(|(file, _)| file != format!("db/{wal}")) {
            continue; // another file was hit: not what this test is about
        }
        checked += 1;
        let mut lsm = Lsm::open(&mut h, "db", cfg.clone(), Bugs::default()).expect("opens");
        assert!(!lsm.damage().is_empty(), "seed {seed}: the lost sector is damage");
        for i in 0..20 {
            match lsm.get(&mut h, &key(i)) {
                Ok(found) => assert_eq!(found.map(|f| f.value), Some(value(i, 0)), "key {i}"),
                Err(_) => failed_reads += 1,
            }
        }
    }
    assert!(checked > 0 && failed_reads > 0, "{checked} runs, {failed_reads} reads failed");
}

/// A store with writes in tables and the WAL, every one durable, then crashed: the keys and
/// the values every open must find.
fn durable_store(seed: u64) -> (DiskHarness, LsmConfig) {
    let cfg = small(CompactionStyle::Leveled);
    let mut h = DiskHarness::new(seed);
    let mut lsm = open(&mut h, &cfg, Bugs::default());
    settle(&mut h, &mut lsm);
    fill(&mut lsm, &mut h, 120, 0); // flushes and a compaction: manifest edits
    settle(&mut h, &mut lsm);
    assert!(lsm.stats().flushes > 1 && lsm.manifest_offset > 0, "{}", lsm.describe());
    h.crash();
    (h, cfg)
}

fn assert_every_durable_write(h: &mut DiskHarness, cfg: &LsmConfig, what: &str) {
    let mut lsm = Lsm::open(h, "db", cfg.clone(), Bugs::default())
        .unwrap_or_else(|e| panic!("{what}: refused to open: {e}"));
    assert!(lsm.damage().is_empty(), "{what}: metadata damage is no data damage");
    for i in 0..120 {
        assert_eq!(get(&mut lsm, h, &key(i)), Some(value(i, 0)), "{what}: key {i}");
    }
    settle(h, &mut lsm);
    h.crash();
    let mut again = Lsm::open(h, "db", cfg.clone(), Bugs::default()).expect("reopens");
    assert_eq!(get(&mut again, h, &key(7)), Some(value(7, 0)), "{what}: after the reinstall");
}

fn live_manifest(h: &mut DiskHarness) -> [String; 2] {
    use crate::node::DiskIo;
    let current = h.disk().read_all("db/CURRENT").unwrap();
    let number = manifest::decode_current(&current).expect("CURRENT checks");
    manifest::copy_names(number).map(|name| format!("db/{name}"))
}

#[test]
fn a_corrupt_or_unreadable_current_falls_back_to_the_newest_manifest() {
    use crate::node::DiskIo;
    for byte in [0u64, 5, 16] {
        let (mut h, cfg) = durable_store(400 + byte);
        scribble(&mut h, "db/CURRENT", byte, 1);
        assert!(manifest::decode_current(&h.disk().read_all("db/CURRENT").unwrap()).is_none());
        assert_every_durable_write(&mut h, &cfg, &format!("CURRENT corrupt at {byte}"));
    }
    let mut failed = 0;
    for seed in 0..200 {
        let (mut h, cfg) = durable_store(500 + seed);
        if h.fail_sector().is_none_or(|(file, _)| file != "db/CURRENT") {
            continue;
        }
        failed += 1;
        assert!(h.disk().read_all("db/CURRENT").is_err());
        assert_every_durable_write(&mut h, &cfg, "CURRENT unreadable");
        if failed == 3 {
            break;
        }
    }
    assert!(failed > 0, "a sector error hit CURRENT");
}

#[test]
fn one_corrupt_manifest_copy_loses_no_durable_write() {
    use crate::node::DiskIo;
    let (mut h, _) = durable_store(600);
    let first = live_manifest(&mut h)[0].clone();
    let len = h.disk().len(&first);
    assert!(len > 100, "several records: {len} bytes");
    // Every third byte of either copy, one at a time: every record, header and body.
    for copy in 0..2 {
        for byte in (0..len).step_by(3) {
            let (mut hit, cfg) = durable_store(600);
            let path = live_manifest(&mut hit)[copy].clone();
            let mut data = hit.disk().read(&path, byte, 1).unwrap();
            data[0] ^= 1 << (byte % 8);
            hit.disk().write(&path, byte, &data);
            hit.fsync(&path);
            hit.complete_fsyncs();
            assert_every_durable_write(&mut hit, &cfg, &format!("copy {copy} byte {byte}"));
        }
    }
}

#[test]
fn an_unreadable_manifest_copy_loses_no_durable_write() {
    let mut hit = 0;
    for seed in 0..300 {
        let (mut h, cfg) = durable_store(700 + seed);
        let copies = live_manifest(&mut h);
        if h.fail_sector().is_none_or(|(file, _)| !copies.contains(&file)) {
            continue;
        }
        hit += 1;
        assert_every_durable_write(&mut h, &cfg, &format!("seed {seed}: a copy unreadable"));
    }
    assert!(hit >= 3, "sector errors hit a manifest copy {hit} times");
}

#[test]
fn both_manifest_copies_bad_refuses_with_the_reason() {
    let (mut h, cfg) = durable_store(800);
    for path in live_manifest(&mut h) {
        scribble(&mut h, &path, 20, 4); // the same record in both
    }
    let why = match Lsm::open(&mut h, "db", cfg, Bugs::default()) {
        Ok(_) => panic!("opened with a record lost in both copies"),
        Err(e) => e.to_string(),
    };
    assert!(why.contains("MANIFEST-") && why.contains("corrupt in both copies"), "{why}");
}

#[test]
fn a_corrupt_last_wal_record_is_damage_and_a_torn_one_is_cut() {
    use crate::node::DiskIo;
    let cfg = small(CompactionStyle::Leveled);
    for (name, from_end) in [("body", 2u64), ("header", 0)] {
        let mut h = DiskHarness::new(900);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        settle(&mut h, &mut lsm);
        for i in 0..5 {
            lsm.put(&mut h, &key(i), &value(i, 0));
            lsm.sync(&mut h);
            settle(&mut h, &mut lsm);
        }
        assert_eq!(lsm.stats().flushes, 0, "all in the WAL");
        let (wal, last_record) = (lsm.wal.path.clone(), lsm.wal.offset);
        h.crash();
        let len = h.disk().len(&wal);
        let record_bytes = len / 5;
        let byte = if from_end == 0 { len - record_bytes + 1 } else { len - from_end };
        assert!(last_record == len && byte < len);
        let mut data = h.disk().read(&wal, byte, 1).unwrap();
        data[0] ^= 0x10;
        h.disk().write(&wal, byte, &data);
        h.fsync(&wal);
        h.complete_fsyncs();
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        assert!(!lsm.damage().is_empty(), "{name}: the last record's loss is damage");
        assert!(lsm.get(&mut h, &key(4)).is_err(), "{name}: the lost write fails its read");
        settle(&mut h, &mut lsm);
        h.crash();
        let lsm = open(&mut h, &cfg, Bugs::default());
        assert!(!lsm.damage().is_empty(), "{name}: the damage outlives the next crash");
    }
    // A torn tail, every time: cut, and never damage.
    for seed in 0..20 {
        let config = DiskConfig { torn_write_ppm: 1_000_000, ..DiskConfig::default() };
        let mut h = DiskHarness::with_config(config, 950 + seed);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        settle(&mut h, &mut lsm);
        fill(&mut lsm, &mut h, 3, 0);
        for i in 10..13 {
            lsm.put(&mut h, &key(i), &value(i, 0));
        }
        lsm.sync(&mut h); // written, never fsynced: torn at the crash
        h.crash();
        assert!(h.stats().torn_writes >= 1);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        assert!(lsm.damage().is_empty(), "seed {seed}: a torn tail is not damage");
        for i in 0..3 {
            assert_eq!(get(&mut lsm, &mut h, &key(i)), Some(value(i, 0)), "seed {seed}");
        }
    }
}

/// A key as the transaction shards write them: a tag, `/`, a big-endian number.
fn tagged(tag: u8, n: u64) -> Vec<u8> {
    let mut k = vec![tag, b'/'];
    k.extend_from_slice(&n.to_be_bytes());
    k
}

/// The shape of a lost commit record: a put that fills the memtable (it rotates; the put's
/// record is still in the old WAL's unwritten buffer), a later delete, a sync, and a crash at
/// every step of the flush that rotation started. After reopening, the delete may only be
/// visible with the put, and `durable_seq` never claims a write that is gone; then a new write
/// made durable survives a second crash (the log after the lost write was cut, not left to be
/// replayed over the new writes).
#[test]
fn a_write_that_fills_the_memtable_is_never_lost_behind_a_later_one() {
    let cfg = LsmConfig::default();
    let prepared = tagged(b'p', 23);
    let commit = tagged(b'c', 130);
    for crash_after in 0..40 {
        let mut h = DiskHarness::new(40 + crash_after);
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        lsm.put(&mut h, &prepared, b"prepared");
        lsm.sync(&mut h);
        settle(&mut h, &mut lsm);
        // Durable filler, leaving less room than one commit record takes.
        let big = vec![b'v'; 1500];
        let entry = (commit.len() + big.len() + 24) as u64;
        let mut n = 0;
        while lsm.mem.bytes() + entry < cfg.memtable_bytes_max {
            lsm.put(&mut h, &tagged(b'c', n), &big);
            lsm.sync(&mut h);
            settle(&mut h, &mut lsm);
            n += 1;
        }
        assert!(lsm.imm.is_none() && lsm.stats().flushes == 0, "{}", lsm.describe());
        let put = lsm.put(&mut h, &commit, &big);
        assert!(lsm.imm.is_some(), "the put filled the memtable");
        let delete = lsm.delete(&mut h, &prepared);
        lsm.sync(&mut h);
        let mut completed = 0;
        while completed < crash_after {
            let Some(id) = h.complete_next_fsync() else { break };
            assert!(lsm.on_fsync(&mut h, id));
            completed += 1;
        }
        let finished = h.pending_fsyncs().is_empty();
        let durable = lsm.durable_seq();
        h.crash();
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        let what = format!("crash after {crash_after} fsyncs ({})", lsm.describe());
        let has_put = get(&mut lsm, &mut h, &commit).is_some();
        let has_delete = get(&mut lsm, &mut h, &prepared).is_none();
        assert!(has_put || !has_delete, "{what}: the delete survived without the put");
        if durable >= delete {
            assert!(has_put && has_delete, "{what}: both were durable before the crash");
        }
        let reopened = lsm.durable_seq();
        assert!(reopened < put || has_put, "{what}: durable {reopened}, the put is gone");
        assert!(reopened < delete || has_delete, "{what}: durable {reopened}, the delete is gone");
        let rows = lsm.scan(&mut h, (Bound::Unbounded, Bound::Unbounded), 1000).unwrap();
        assert_eq!(rows.iter().any(|r| r.key == commit), has_put, "{what}: scan agrees");
        // A new write, made durable while the reopened store's own flush may be under way.
        let after = lsm.put(&mut h, &tagged(b'c', 999), b"after");
        lsm.sync(&mut h);
        while lsm.durable_seq() < after {
            let id = h.complete_next_fsync().expect("the write becomes durable");
            assert!(lsm.on_fsync(&mut h, id));
        }
        h.crash();
        let mut lsm = open(&mut h, &cfg, Bugs::default());
        assert_eq!(get(&mut lsm, &mut h, &tagged(b'c', 999)), Some(b"after".to_vec()), "{what}");
        assert_eq!(get(&mut lsm, &mut h, &commit).is_some(), has_put, "{what}: the put");
        assert_eq!(get(&mut lsm, &mut h, &prepared).is_none(), has_delete, "{what}: the delete");
        if finished {
            return;
        }
    }
    panic!("the flush never finished");
}
