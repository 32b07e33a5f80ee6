//! Background jobs, one at a time, each a state machine its fsyncs drive: flushes, compactions
//! (leveled or size-tiered) and manifest installs.
//!
//! A flush or compaction does its CPU part at once (merge, build the tables in memory), then
//! writes each output under `NNNNNN.sst.tmp` with `write_verified` and fsyncs it; renames the
//! outputs into place and fsyncs the directory; appends the manifest edit and fsyncs it; and
//! only then deletes what the edit obsoleted (input tables, old WALs). A compaction that meets
//! a corrupt or unreadable block aborts with its inputs kept and the table marked, so it is not
//! picked again: compaction never drops data it cannot read.

use super::manifest::{copy_names, Edit, TableMeta};
use super::sstable::{self, Builder, Entry, ReadCounters, Source};
use super::{table_name, wal_name, CompactionStyle, Lsm};
use crate::node::{DiskIo, FsyncId};
use crate::storage::{fsync_counted, fsync_dir_counted, write_verified, Seq};

/// What a job is doing, and the fsync its next step waits on.
#[derive(Debug)]
pub struct Job {
    pub waiting: FsyncId,
    kind: Kind,
    step: Step,
}

#[derive(Debug)]
enum Kind {
    /// Writing the immutable memtable to a level-0 table.
    Flush { outputs: Vec<Output> },
    /// Merging `inputs` into `outputs` (none for a trivial move, which only edits).
    Compaction { inputs: Vec<u64>, outputs: Vec<Output>, moved: Option<TableMeta> },
    /// Installing manifest `number` holding a snapshot of `bytes` bytes.
    Install { number: u64, bytes: u64 },
}

#[derive(Debug)]
struct Output {
    meta: TableMeta,
    loaded: sstable::Loaded,
    /// The table's bytes until they are written.
    bytes: Vec<u8>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Tables (or the new manifest) written under temporary names, their fsyncs in flight.
    Written,
    /// Renamed into place, the directory fsync in flight.
    Renamed,
    /// The manifest edit appended, its fsync in flight.
    Edited,
    /// Install: the temporary `CURRENT` written, its fsync in flight.
    CurrentWritten,
}

fn temporary(name: &str) -> String {
    format!("{name}.tmp")
}

impl Lsm {
    /// Starts the next job if none is running: a flush first, then a manifest that outgrew
    /// its limit, then a compaction.
    pub(super) fn schedule(&mut self, io: &mut dyn DiskIo) {
        if self.job.is_some() {
            return;
        }
        if self.imm.is_some() {
            return self.start_flush(io);
        }
        if self.manifest_offset > self.config.manifest_bytes_max || self.manifest_repair_wanted {
            return self.start_install(io);
        }
        // A pick can fail on a damaged table; it is marked and the next pick avoids it. Each
        // failure marks one more table, so this ends.
        for _ in 0..=self.tables.len() {
            let Some(pick) = self.pick() else { return };
            if self.start_compaction(io, pick) {
                return;
            }
        }
    }

    /// Starts installing a new manifest holding a snapshot of the state. The install is the
    /// only job running (see [`Lsm::schedule`]), so from here until the new manifest is live no
    /// edit is appended to the old one: the new snapshot is all the old manifest holds, which
    /// is why recovery may open the newest manifest when `CURRENT` cannot be read.
    pub(super) fn start_install(&mut self, io: &mut dyn DiskIo) {
        assert!(self.job.is_none(), "an install runs alone");
        let number = self.allocate_file();
        let mut state = self.state.clone();
        state.next_file = self.next_file;
        let record = super::manifest::encode_record(number, 0, &state.snapshot());
        let waiting = self.write_manifest_copies(io, number, true, 0, &record);
        let kind = Kind::Install { number, bytes: record.len() as u64 };
        self.job = Some(Job { waiting, kind, step: Step::Written });
    }

    /// Writes `record` at `offset` of both copies of manifest `number` (under their temporary
    /// names, created here, if `fresh`) and fsyncs both; returns the second fsync, which
    /// completes after the first (a disk completes fsyncs in issue order), so once it does the
    /// record is durable in both copies.
    fn write_manifest_copies(
        &mut self,
        io: &mut dyn DiskIo,
        number: u64,
        fresh: bool,
        offset: u64,
        record: &[u8],
    ) -> FsyncId {
        let mut ids = Vec::with_capacity(2);
        for name in copy_names(number) {
            let path = if fresh { self.path(&temporary(&name)) } else { self.path(&name) };
            if fresh {
                io.disk().create(&path).expect("a fresh file number names no file");
            }
            let read_back = write_verified(io, &path, offset, record);
            self.count_write(record, read_back, |s| &mut s.meta_bytes_written);
            ids.push(fsync_counted(io, &mut self.stats, &path));
        }
        let waiting = ids.pop().expect("two copies");
        self.quiet_fsyncs.extend(ids);
        waiting
    }

    fn start_flush(&mut self, io: &mut dyn DiskIo) {
        let imm = self.imm.as_ref().expect("a flush needs an immutable memtable");
        let entries: Vec<Entry> = imm
            .iter()
            .map(|(key, v)| Entry { key: key.clone(), seq: v.seq, value: v.value.clone() })
            .collect();
        let (seq_lo, seq_hi) = (imm.seq_first, imm.seq_last.max(imm.seq_first));
        let outputs = if entries.is_empty() {
            Vec::new()
        } else {
            self.build_outputs(entries, 0, (seq_lo, seq_hi), u64::MAX)
        };
        let kind = Kind::Flush { outputs };
        self.write_outputs(io, kind);
    }

    /// Builds tables at `level` from entries sorted by key, cut at `cut_bytes`.
    fn build_outputs(
        &mut self,
        entries: Vec<Entry>,
        level: u32,
        (seq_lo, seq_hi): (Seq, Seq),
        cut_bytes: u64,
    ) -> Vec<Output> {
        let mut outputs = Vec::new();
        let mut builder: Option<(u64, Builder)> = None;
        let (block_bytes, bits) = (self.config.block_bytes, self.config.bloom_bits_per_key);
        for entry in &entries {
            if builder.is_none() {
                let number = self.allocate_file();
                builder = Some((number, Builder::new(number, block_bytes, bits)));
            }
            let (_, b) = builder.as_mut().expect("set above");
            b.add(entry);
            if b.bytes_estimate() >= cut_bytes {
                let (number, b) = builder.take().expect("set above");
                outputs.push(finish(number, b, level, (seq_lo, seq_hi)));
            }
        }
        if let Some((number, b)) = builder {
            outputs.push(finish(number, b, level, (seq_lo, seq_hi)));
        }
        outputs
    }

    /// Writes every output under its temporary name and fsyncs it; the job waits on the last.
    fn write_outputs(&mut self, io: &mut dyn DiskIo, mut kind: Kind) {
        let outputs = match &mut kind {
            Kind::Flush { outputs } | Kind::Compaction { outputs, .. } => outputs,
            Kind::Install { .. } => unreachable!("an install writes no table"),
        };
        let mut ids = Vec::new();
        let mut written = Vec::new();
        for output in outputs.iter_mut() {
            let path = self.path(&temporary(&table_name(output.meta.number)));
            io.disk().create(&path).expect("a fresh file number names no file");
            let bytes = std::mem::take(&mut output.bytes);
            let read_back = write_verified(io, &path, 0, &bytes);
            written.push((bytes, read_back));
            ids.push(fsync_counted(io, &mut self.stats, &path));
        }
        for (bytes, read_back) in written {
            self.count_write(&bytes, read_back, |s| &mut s.compaction_bytes_written);
        }
        match ids.pop() {
            Some(waiting) => {
                self.quiet_fsyncs.extend(ids);
                self.job = Some(Job { waiting, kind, step: Step::Written });
            }
            None => self.append_edit(io, kind), // nothing to write: a trivial move or empty flush
        }
    }

    /// The fsync the job waited on completed: its next step.
    pub(super) fn advance_job(&mut self, io: &mut dyn DiskIo) {
        let job = self.job.take().expect("a job is running");
        match (job.kind, job.step) {
            (Kind::Install { number, bytes }, step) => {
                self.advance_install(io, number, bytes, step)
            }
            (kind, Step::Written) => {
                let outputs = match &kind {
                    Kind::Flush { outputs } | Kind::Compaction { outputs, .. } => outputs,
                    Kind::Install { .. } => unreachable!(),
                };
                for output in outputs {
                    let name = table_name(output.meta.number);
                    let (from, to) = (self.path(&temporary(&name)), self.path(&name));
                    io.disk().rename(&from, &to).expect("the temporary table exists");
                }
                if self.bugs.rename_without_dir_sync {
                    return self.append_edit(io, kind); // the bug: the names may not be durable
                }
                let waiting = fsync_dir_counted(io, &mut self.stats, &self.dir);
                self.job = Some(Job { waiting, kind, step: Step::Renamed });
            }
            (kind, Step::Renamed) => self.append_edit(io, kind),
            (kind, Step::Edited) => self.finish_job(io, kind),
            (_, Step::CurrentWritten) => unreachable!("only an install writes CURRENT"),
        }
    }

    fn edits_of(&self, kind: &Kind) -> Vec<Edit> {
        let mut edits = Vec::new();
        match kind {
            Kind::Flush { outputs } => {
                edits.extend(outputs.iter().map(|o| Edit::AddTable(o.meta.clone())));
                edits.push(Edit::LogNumber(self.wal.number));
                let imm = self.imm.as_ref().expect("flushing");
                edits.push(Edit::LastSeq(imm.seq_last));
            }
            Kind::Compaction { inputs, outputs, moved } => {
                edits.extend(inputs.iter().map(|&number| Edit::DeleteTable { number }));
                edits.extend(outputs.iter().map(|o| Edit::AddTable(o.meta.clone())));
                edits.extend(moved.iter().cloned().map(Edit::AddTable));
            }
            Kind::Install { .. } => unreachable!(),
        }
        edits.push(Edit::NextFile(self.next_file));
        edits
    }

    fn append_edit(&mut self, io: &mut dyn DiskIo, kind: Kind) {
        let edits = self.edits_of(&kind);
        let (number, offset) = (self.manifest_number, self.manifest_offset);
        let record = super::manifest::encode_record(number, offset, &edits);
        let waiting = self.write_manifest_copies(io, number, false, offset, &record);
        self.manifest_offset += record.len() as u64;
        self.job = Some(Job { waiting, kind, step: Step::Edited });
    }

    /// The edit is durable: the new shape takes effect and what it obsoleted is deleted.
    fn finish_job(&mut self, io: &mut dyn DiskIo, kind: Kind) {
        for edit in self.edits_of(&kind) {
            self.state.apply(&edit);
        }
        match kind {
            Kind::Flush { outputs } => {
                for o in outputs {
                    self.add_table(o.meta, Some(o.loaded));
                }
                self.imm = None;
                self.stats.flushes += 1;
                let log_number = self.state.log_number;
                for number in self.wal_files.iter().copied().filter(|n| *n < log_number) {
                    let _ = io.disk().delete(&self.path(&wal_name(number)));
                }
                self.wal_files.retain(|n| *n >= log_number);
                self.update_durable();
            }
            Kind::Compaction { inputs, outputs, moved } => {
                let moved_loaded =
                    moved.as_ref().and_then(|m| self.tables[&m.number].loaded.clone());
                for number in &inputs {
                    self.remove_table(*number);
                }
                for o in outputs {
                    self.add_table(o.meta, Some(o.loaded));
                }
                if let Some(meta) = moved {
                    self.add_table(meta, moved_loaded);
                } else {
                    for number in &inputs {
                        let _ = io.disk().delete(&self.path(&table_name(*number)));
                    }
                }
                self.stats.compactions += 1;
            }
            Kind::Install { .. } => unreachable!(),
        }
        self.scrub_manifest(io);
        self.schedule(io);
    }

    /// Most bytes of each manifest copy one scrub reads back (one after every job and every
    /// group commit, wrapping round).
    const SCRUB_BYTES_MAX: u64 = 1 << 10;

    /// Reads back the next stretch of both manifest copies (at most [`Self::SCRUB_BYTES_MAX`]
    /// each, wrapping around) and, if they differ or one cannot be read, asks for a new
    /// manifest. The copies keep the metadata through one fault only if that fault is repaired
    /// before a second lands in the other copy, and nothing else reads the manifest until the
    /// next open: this is ZFS's self-healing, run after every edit. A read that comes back with
    /// a transient flip only costs an install.
    pub(super) fn scrub_manifest(&mut self, io: &mut dyn DiskIo) {
        if self.manifest_number == 0 || self.manifest_repair_wanted {
            return;
        }
        let len = self.manifest_offset;
        if self.manifest_scrub_offset >= len {
            self.manifest_scrub_offset = 0;
        }
        let offset = self.manifest_scrub_offset;
        let want = Self::SCRUB_BYTES_MAX.min(len - offset);
        let [first, second] = copy_names(self.manifest_number).map(|name| {
            let path = self.path(&name);
            io.disk().read(&path, offset, want)
        });
        self.stats.verify_bytes_read += 2 * want;
        self.manifest_scrub_offset = offset + want;
        let intact =
            matches!((&first, &second), (Ok(a), Ok(b)) if a == b && a.len() as u64 == want);
        if !intact {
            self.stats.errors_detected += 1;
            self.manifest_repair_wanted = true;
        }
    }

    fn advance_install(&mut self, io: &mut dyn DiskIo, number: u64, bytes: u64, step: Step) {
        match step {
            Step::Written => {
                // Both copies are named before CURRENT is written: name operations are
                // committed in order, so a CURRENT naming this manifest finds both.
                for name in copy_names(number) {
                    let (from, to) = (self.path(&temporary(&name)), self.path(&name));
                    io.disk().rename(&from, &to).expect("the temporary manifest exists");
                }
                let current_tmp = self.path("CURRENT.tmp");
                let _ = io.disk().delete(&current_tmp);
                io.disk().create(&current_tmp).expect("deleted above");
                let data = super::manifest::encode_current(number);
                let read_back = write_verified(io, &current_tmp, 0, &data);
                self.count_write(&data, read_back, |s| &mut s.meta_bytes_written);
                let waiting = fsync_counted(io, &mut self.stats, &current_tmp);
                let kind = Kind::Install { number, bytes };
                self.job = Some(Job { waiting, kind, step: Step::CurrentWritten });
            }
            Step::CurrentWritten => {
                io.disk().rename(&self.path("CURRENT.tmp"), &self.path("CURRENT")).expect("tmp");
                if self.bugs.rename_without_dir_sync {
                    return self.advance_install(io, number, bytes, Step::Renamed);
                }
                let waiting = fsync_dir_counted(io, &mut self.stats, &self.dir);
                let kind = Kind::Install { number, bytes };
                self.job = Some(Job { waiting, kind, step: Step::Renamed });
            }
            Step::Renamed => {
                let old = std::mem::replace(&mut self.manifest_number, number);
                if old != 0 && old != number {
                    for name in copy_names(old) {
                        let _ = io.disk().delete(&self.path(&name));
                    }
                }
                self.manifest_offset = bytes;
                self.manifest_scrub_offset = 0;
                self.manifest_repair_wanted = false;
                self.current_installed = true;
                self.update_durable();
                self.schedule(io);
            }
            Step::Edited => unreachable!("an install appends no edit"),
        }
    }
}

fn finish(number: u64, builder: Builder, level: u32, (seq_lo, seq_hi): (Seq, Seq)) -> Output {
    let built = builder.finish(seq_lo, seq_hi);
    let footer = &built.loaded.footer;
    let meta = TableMeta {
        number,
        level,
        size: built.bytes.len() as u64,
        entries: footer.entries,
        seq_lo,
        seq_hi,
        smallest: footer.smallest.clone(),
        largest: footer.largest.clone(),
    };
    Output { meta, loaded: built.loaded, bytes: built.bytes }
}

/// A compaction chosen: its inputs, newest first, and where the output goes.
#[derive(Clone, Debug)]
pub(super) struct Pick {
    inputs: Vec<u64>,
    output_level: u32,
    /// Tables older than the output that may hold keys of its range (a tombstone for such a
    /// key must be kept).
    older: Vec<u64>,
}

impl Lsm {
    fn pick(&mut self) -> Option<Pick> {
        match self.config.compaction {
            CompactionStyle::Leveled => self.pick_leveled(),
            CompactionStyle::Tiered => self.pick_tiered(),
        }
    }

    fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|n| self.tables[n].meta.size).sum()
    }

    /// Level `level`'s target size: `level_base_bytes * multiplier^(level - 1)`.
    fn level_target_bytes(&self, level: usize) -> u64 {
        let growth = self.config.level_size_multiplier.saturating_pow(level as u32 - 1);
        self.config.level_base_bytes.saturating_mul(growth)
    }

    fn overlapping(&self, level: usize, smallest: &[u8], largest: &[u8]) -> Vec<u64> {
        let meets = |n: &&u64| {
            let m = &self.tables[*n].meta;
            m.smallest.as_slice() <= largest && smallest <= m.largest.as_slice()
        };
        self.levels[level].iter().filter(meets).copied().collect()
    }

    fn pick_leveled(&mut self) -> Option<Pick> {
        let last = self.levels.len() - 1;
        // Scores in thousandths: level 0 by file count, the others by bytes over target.
        let mut scores: Vec<(u64, usize)> = Vec::new();
        let trigger = self.config.l0_compaction_trigger.max(1) as u64;
        scores.push((self.levels[0].len() as u64 * 1000 / trigger, 0));
        for level in 1..last {
            let target = self.level_target_bytes(level).max(1);
            scores.push((self.level_bytes(level).saturating_mul(1000) / target, level));
        }
        scores.sort_by_key(|&(score, level)| (std::cmp::Reverse(score), level));
        for (score, level) in scores {
            if score < 1000 {
                return None;
            }
            let pick = if level == 0 { self.pick_level0() } else { self.pick_in_level(level) };
            if pick.is_some() {
                return pick;
            }
        }
        None
    }

    /// Level 0's tables, oldest first, except the damaged ones and any that overlaps an older
    /// table left behind (a newer version may never move below an older one), with the
    /// level-1 tables they overlap. A damaged table's key range thus stays in level 0.
    fn pick_level0(&self) -> Option<Pick> {
        let mut chosen: Vec<u64> = Vec::new();
        let mut left: Vec<u64> = Vec::new();
        for &number in self.levels[0].iter().rev() {
            let m = &self.tables[&number].meta;
            let blocked = left.iter().any(|n| {
                let o = &self.tables[n].meta;
                o.smallest <= m.largest && m.smallest <= o.largest
            });
            if self.tables[&number].damaged || blocked {
                left.push(number);
            } else {
                chosen.push(number);
            }
        }
        let (smallest, largest) = self.key_range(&chosen)?;
        let next = self.overlapping(1, &smallest, &largest);
        if next.iter().any(|n| self.tables[n].damaged) {
            return None;
        }
        let mut inputs: Vec<u64> = chosen.into_iter().rev().collect();
        inputs.extend(next);
        let mut older = left; // older than some inputs and staying in level 0
        older.extend((2..self.levels.len()).flat_map(|l| self.levels[l].clone()));
        Some(Pick { inputs, output_level: 1, older })
    }

    /// The table after the compact pointer in `level`, with the tables of the next level it
    /// overlaps.
    fn pick_in_level(&mut self, level: usize) -> Option<Pick> {
        let numbers = &self.levels[level];
        let pointer = &self.compact_pointer[level];
        let start = numbers.partition_point(|n| self.tables[n].meta.smallest <= *pointer);
        for i in 0..numbers.len() {
            let number = numbers[(start + i) % numbers.len()];
            let table = &self.tables[&number];
            if table.damaged {
                continue;
            }
            let next = self.overlapping(level + 1, &table.meta.smallest, &table.meta.largest);
            if next.iter().any(|n| self.tables[n].damaged) {
                continue;
            }
            self.compact_pointer[level] = table.meta.largest.clone();
            let mut inputs = vec![number];
            inputs.extend(next);
            let older =
                (level + 2..self.levels.len()).flat_map(|l| self.levels[l].clone()).collect();
            return Some(Pick { inputs, output_level: level as u32 + 1, older });
        }
        None
    }

    fn key_range(&self, numbers: &[u64]) -> Option<(Vec<u8>, Vec<u8>)> {
        let smallest = numbers.iter().map(|n| &self.tables[n].meta.smallest).min()?.clone();
        let largest = numbers.iter().map(|n| &self.tables[n].meta.largest).max()?.clone();
        Some((smallest, largest))
    }

    /// Size-tiered: the newest window of `tiered_min_merge_width` adjacent runs of similar
    /// size; past `tiered_runs_max` runs, the adjacent window of least bytes.
    fn pick_tiered(&self) -> Option<Pick> {
        let runs = &self.levels[0];
        let width = self.config.tiered_min_merge_width.max(2);
        if runs.len() < width {
            return None;
        }
        let size = |n: &u64| self.tables[n].meta.size;
        let usable = |w: &[u64]| w.iter().all(|n| !self.tables[n].damaged);
        let ratio = 100 + self.config.tiered_size_ratio_percent;
        let similar = |w: &[u64]| {
            let (lo, hi) = (w.iter().map(size).min(), w.iter().map(size).max());
            hi.unwrap_or(0).saturating_mul(100) <= lo.unwrap_or(0).saturating_mul(ratio)
        };
        let mut start = (0..=runs.len() - width).find(|&s| {
            let w = &runs[s..s + width];
            usable(w) && similar(w)
        });
        if start.is_none() && runs.len() > self.config.tiered_runs_max {
            start = (0..=runs.len() - width)
                .filter(|&s| usable(&runs[s..s + width]))
                .min_by_key(|&s| runs[s..s + width].iter().map(size).sum::<u64>());
        }
        let start = start?;
        let inputs = runs[start..start + width].to_vec();
        let older = runs[start + width..].to_vec();
        Some(Pick { inputs, output_level: 0, older })
    }

    /// Merges the pick's inputs and writes the outputs; `false` (and the damaged table
    /// marked) if an input could not be read.
    fn start_compaction(&mut self, io: &mut dyn DiskIo, pick: Pick) -> bool {
        assert!(!pick.inputs.is_empty(), "a compaction without inputs");
        if pick.inputs.len() == 1 && self.config.compaction == CompactionStyle::Leveled {
            // A trivial move: nothing in the next level overlaps; only the manifest changes.
            let mut meta = self.tables[&pick.inputs[0]].meta.clone();
            meta.level = pick.output_level;
            let kind =
                Kind::Compaction { inputs: pick.inputs, outputs: Vec::new(), moved: Some(meta) };
            self.write_outputs(io, kind);
            return true;
        }
        let mut runs = Vec::new();
        for &number in &pick.inputs {
            match self.read_table(io, number) {
                Ok(entries) => runs.push(entries),
                Err(_) => {
                    self.tables.get_mut(&number).expect("live").damaged = true;
                    return false;
                }
            }
        }
        let seq_lo = pick.inputs.iter().map(|n| self.tables[n].meta.seq_lo).min().expect("inputs");
        let seq_hi = pick.inputs.iter().map(|n| self.tables[n].meta.seq_hi).max().expect("inputs");
        let merged = self.merge(runs, &pick.older);
        let cut = match self.config.compaction {
            CompactionStyle::Leveled => self.config.table_bytes_target,
            CompactionStyle::Tiered => u64::MAX,
        };
        let outputs = if merged.is_empty() {
            Vec::new()
        } else {
            self.build_outputs(merged, pick.output_level, (seq_lo, seq_hi), cut)
        };
        let kind = Kind::Compaction { inputs: pick.inputs, outputs, moved: None };
        self.write_outputs(io, kind);
        true
    }

    fn read_table(&mut self, io: &mut dyn DiskIo, number: u64) -> Result<Vec<Entry>, ()> {
        let mut counters = ReadCounters::default();
        let result = self.ensure_loaded(io, number, &mut counters).and_then(|()| {
            let path = self.path(&table_name(number));
            let source = Source { path: &path, number, no_checksum: self.bugs.no_checksum };
            let loaded = self.tables[&number].loaded.as_ref().expect("loaded above");
            sstable::read_all(io, source, loaded, &mut counters)
        });
        self.stats.compaction_bytes_read += counters.bytes;
        self.stats.errors_detected += counters.errors;
        result.map_err(|_| ())
    }

    /// One version per key (the newest; the oldest with the `compaction_drops_newest` bug),
    /// sorted; a tombstone is dropped when no older table may hold the key (always, with the
    /// `tombstone_dropped_early` bug).
    fn merge(&self, runs: Vec<Vec<Entry>>, older: &[u64]) -> Vec<Entry> {
        let mut all: Vec<Entry> = runs.into_iter().flatten().collect();
        all.sort_by(|a, b| a.key.cmp(&b.key).then(b.seq.cmp(&a.seq)));
        let mut merged: Vec<Entry> = Vec::with_capacity(all.len());
        for entry in all {
            match merged.last_mut() {
                Some(last) if last.key == entry.key => {
                    if self.bugs.compaction_drops_newest {
                        *last = entry; // the bug: the oldest version wins
                    }
                }
                _ => merged.push(entry),
            }
        }
        let covered = |key: &[u8]| {
            older.iter().any(|n| {
                let m = &self.tables[n].meta;
                m.smallest.as_slice() <= key && key <= m.largest.as_slice()
            })
        };
        merged.retain(|e| {
            e.value.is_some() || (!self.bugs.tombstone_dropped_early && covered(&e.key))
        });
        merged
    }
}
