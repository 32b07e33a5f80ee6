//! Measuring engines: a workload driven straight into an engine on a disk driven by hand
//! ([`DiskHarness`]), with every fsync completed as soon as it is issued. What it reports is
//! counted, not estimated: the bytes the engine handed to the disk and got back, the files it
//! left, against the user's bytes.
//!
//! - Write amplification: bytes written to the disk (log, flushes and compactions, metadata)
//!   per byte of key and value the user wrote.
//! - Read amplification: bytes read from the disk per point read (the value itself included).
//! - Space amplification: bytes of the engine's files at the end per byte of live data (the
//!   current keys and values).
//!
//! `cargo xtask bench` prints these and `cargo xtask storage` draws them (reports/storage/).

use super::{open, Bugs, EngineConfig, EngineStats, Seq, StorageError};
use crate::node::testing::DiskHarness;
use crate::node::{DiskIo, SimRng};
use std::collections::BTreeMap;
use std::ops::Bound;

/// How keys are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Zipfian with exponent `theta_milli / 1000` (YCSB uses 0.99): a few keys take most
    /// operations. Ranks are scattered over the key space, as YCSB's "scrambled" variant.
    Zipf { theta_milli: u32 },
}

impl KeyDistribution {
    /// A short name for tables and plots (`uniform`, `zipf-0.99`).
    pub fn label(self) -> String {
        match self {
            KeyDistribution::Uniform => "uniform".to_string(),
            KeyDistribution::Zipf { theta_milli } => {
                format!("zipf-{}.{:02}", theta_milli / 1000, theta_milli % 1000 / 10)
            }
        }
    }
}

/// A workload: how many operations of which kinds on how many keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Distinct keys, `0..keys`.
    pub keys: u32,
    /// Operations to run.
    pub ops: u64,
    /// Percentages of puts, deletes and point reads; the rest are scans.
    pub put_percent: u32,
    pub delete_percent: u32,
    pub get_percent: u32,
    /// Rows a scan asks for.
    pub scan_rows: usize,
    /// Bytes of each value.
    pub value_bytes: usize,
    /// How keys are drawn.
    pub distribution: KeyDistribution,
    /// Writes between two syncs (a group commit of this size).
    pub writes_per_sync: u32,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            keys: 10_000,
            ops: 100_000,
            put_percent: 50,
            delete_percent: 5,
            get_percent: 40,
            scan_rows: 20,
            value_bytes: 100,
            distribution: KeyDistribution::Uniform,
            writes_per_sync: 16,
        }
    }
}

/// What one workload cost one engine.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Measurement {
    /// `engine.describe()` at the end.
    pub shape: String,
    pub ops: u64,
    /// Bytes written to the disk per user byte written.
    pub write_amplification: f64,
    /// Bytes read from the disk per point read.
    pub read_bytes_per_get: f64,
    /// Bytes of the engine's files per byte of live data, at the end.
    pub space_amplification: f64,
    /// Bytes of the engine's files at the end.
    pub disk_bytes: u64,
    /// Keys and values live at the end.
    pub live_bytes: u64,
    /// Bytes the engine wrote and read (all purposes) per operation: the virtual I/O cost.
    pub io_bytes_per_op: f64,
    /// Fsyncs per write.
    pub fsyncs_per_write: f64,
    /// The engine's own counters.
    pub stats: EngineStats,
}

/// The key a rank names: 16 bytes, ordered as the number.
pub fn key_bytes(key: u32) -> Vec<u8> {
    format!("key{key:013}").into_bytes()
}

/// Draws key indices from a distribution.
pub struct KeyChooser {
    /// Zipf: cumulative weights over ranks, scaled to `u64`; empty for uniform.
    cumulative: Vec<u64>,
    keys: u32,
}

impl KeyChooser {
    /// A chooser over `0..keys`.
    pub fn new(keys: u32, distribution: KeyDistribution) -> Self {
        assert!(keys > 0, "a workload needs keys");
        let cumulative = match distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf { theta_milli } => {
                let theta = f64::from(theta_milli) / 1000.0;
                let weights: Vec<f64> =
                    (1..=keys).map(|rank| 1.0 / f64::from(rank).powf(theta)).collect();
                let total: f64 = weights.iter().sum();
                let mut sum = 0.0;
                weights
                    .iter()
                    .map(|w| {
                        sum += w;
                        ((sum / total) * (u64::MAX as f64)) as u64
                    })
                    .collect()
            }
        };
        KeyChooser { cumulative, keys }
    }

    /// The next key.
    pub fn next(&self, rng: &mut SimRng) -> u32 {
        if self.cumulative.is_empty() {
            return rng.below(u64::from(self.keys)) as u32;
        }
        let u = rng.next_u64();
        let rank = self.cumulative.partition_point(|&c| c < u).min(self.keys as usize - 1);
        // Scatter ranks over the key space (a multiplicative permutation of 0..keys).
        scatter(rank as u32, self.keys)
    }
}

/// A bijection of `0..n` that spreads neighbouring ranks apart.
fn scatter(rank: u32, n: u32) -> u32 {
    let n = u64::from(n);
    let mut step = 2_654_435_761 % n; // Knuth's multiplicative constant, made coprime below
    while step == 0 || gcd(step, n) != 1 {
        step += 1;
    }
    ((u64::from(rank) * step) % n) as u32
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Completes every pending fsync of `disk`, handing each to `engine`, until the engine starts
/// no more (its group commits and background jobs have run to the end).
fn drain(disk: &mut DiskHarness, engine: &mut dyn super::Engine) {
    let mut steps = 0u64;
    while let Some(id) = disk.complete_next_fsync() {
        assert!(engine.on_fsync(disk, id), "every fsync here is the engine's");
        steps += 1;
        assert!(steps < 10_000_000, "the engine keeps starting fsyncs without end");
    }
}

/// Runs `workload` against a fresh engine `config` and measures it.
pub fn measure(
    config: &EngineConfig,
    workload: &Workload,
    seed: u64,
) -> Result<Measurement, StorageError> {
    assert!(workload.put_percent + workload.delete_percent + workload.get_percent <= 100);
    let mut disk = DiskHarness::new(seed);
    let mut engine = open(&mut disk, "db", config, Bugs::default())?;
    let mut rng = SimRng::new(seed, 0x5707);
    let chooser = KeyChooser::new(workload.keys, workload.distribution);
    let mut live: BTreeMap<u32, Seq> = BTreeMap::new();
    let (mut writes, mut unsynced, mut gets) = (0u64, 0u32, 0u64);
    let value = vec![0x5au8; workload.value_bytes];
    for _ in 0..workload.ops {
        let key = chooser.next(&mut rng);
        let roll = rng.below(100) as u32;
        if roll < workload.put_percent {
            let seq = engine.put(&mut disk, &key_bytes(key), &value);
            live.insert(key, seq);
        } else if roll < workload.put_percent + workload.delete_percent {
            engine.delete(&mut disk, &key_bytes(key));
            live.remove(&key);
        } else if roll < workload.put_percent + workload.delete_percent + workload.get_percent {
            let found = engine.get(&mut disk, &key_bytes(key))?;
            assert_eq!(found.is_some(), live.contains_key(&key), "get of key {key}");
            gets += 1;
            continue;
        } else {
            let from = key_bytes(key);
            let rows = engine.scan(
                &mut disk,
                (Bound::Included(&from[..]), Bound::Unbounded),
                workload.scan_rows,
            )?;
            let expected = live.range(key..).take(workload.scan_rows).count();
            assert_eq!(rows.len(), expected, "scan from key {key}");
            continue;
        }
        writes += 1;
        unsynced += 1;
        if unsynced >= workload.writes_per_sync {
            engine.sync(&mut disk);
            drain(&mut disk, engine.as_mut());
            unsynced = 0;
        }
    }
    engine.sync(&mut disk);
    drain(&mut disk, engine.as_mut());
    assert_eq!(engine.durable_seq(), engine.last_seq(), "everything synced at the end");

    let stats = engine.stats();
    let disk_bytes: u64 = files_under(&mut disk, "db").iter().map(|f| disk.disk().len(f)).sum();
    let live_bytes = live.len() as u64 * (key_bytes(0).len() + workload.value_bytes) as u64;
    let io = stats.disk_bytes_written()
        + stats.read_bytes
        + stats.compaction_bytes_read
        + stats.verify_bytes_read;
    Ok(Measurement {
        shape: engine.describe(),
        ops: workload.ops,
        write_amplification: ratio(stats.disk_bytes_written(), stats.user_bytes_written),
        read_bytes_per_get: ratio(stats.read_bytes, gets),
        space_amplification: ratio(disk_bytes, live_bytes),
        disk_bytes,
        live_bytes,
        io_bytes_per_op: ratio(io, workload.ops),
        fsyncs_per_write: ratio(stats.fsyncs, writes),
        stats,
    })
}

/// Every file in `dir` and its subdirectories' listed names (engines keep one flat directory).
fn files_under(disk: &mut DiskHarness, dir: &str) -> Vec<String> {
    disk.disk().list(dir).into_iter().map(|name| super::path_in(dir, &name)).collect()
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The Bloom filter's false-positive rate as measured through an LSM engine: `keys` keys
/// (the even ones) written and flushed into tables with `bits_per_key`, then `probes` point
/// reads of absent keys (the odd ones, inside the tables' key ranges). Every filter probe of
/// an absent key is a chance of a false positive: returns (measured, formula) where the
/// formula is `(1 - e^(-k n / m))^k` with the engine's `k`.
pub fn bloom_false_positive_rate(
    bits_per_key: u32,
    keys: u32,
    probes: u32,
    seed: u64,
) -> Result<(f64, f64), StorageError> {
    let config = EngineConfig::Lsm(super::lsm::LsmConfig {
        bloom_bits_per_key: bits_per_key,
        ..super::lsm::LsmConfig::default()
    });
    let mut disk = DiskHarness::new(seed);
    let mut engine = open(&mut disk, "db", &config, Bugs::default())?;
    for key in 0..keys {
        engine.put(&mut disk, &key_bytes(key * 2), b"v");
        if key % 64 == 63 {
            engine.sync(&mut disk);
            drain(&mut disk, engine.as_mut());
        }
    }
    engine.sync(&mut disk);
    drain(&mut disk, engine.as_mut());
    let before = engine.stats();
    for probe in 0..probes {
        let key = 2 * (probe % keys) + 1;
        let found = engine.get(&mut disk, &key_bytes(key))?;
        assert!(found.is_none(), "odd keys were never written");
    }
    let after = engine.stats();
    let probed = after.bloom_probes - before.bloom_probes;
    assert!(probed >= u64::from(probes) / 2, "most reads probe a filter ({probed})");
    let measured = ratio(after.bloom_false_positives - before.bloom_false_positives, probed);
    Ok((measured, super::lsm::bloom::Bloom::expected_false_positive_rate(bits_per_key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_draws_are_skewed_and_stay_in_range() {
        let chooser = KeyChooser::new(1000, KeyDistribution::Zipf { theta_milli: 990 });
        let mut rng = SimRng::new(1, 2);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[chooser.next(&mut rng) as usize] += 1;
        }
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let top_ten: u32 = counts[..10].iter().sum();
        // With theta 0.99 over 1000 keys the ten hottest take about 39% of draws.
        assert!((30_000..48_000).contains(&top_ten), "top ten drew {top_ten}");
        let uniform = KeyChooser::new(1000, KeyDistribution::Uniform);
        assert!((0..1000).all(|_| uniform.next(&mut rng) < 1000));
    }

    #[test]
    fn scatter_is_a_permutation() {
        let mut seen: Vec<u32> = (0..1000).map(|r| scatter(r, 1000)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
    }
}
