//! Merge: rewrite the live records of some closed segments into new segments, each with a
//! hint file, and delete the inputs (Bitcask's merge).
//!
//! # Which segments
//! Once at least `merge_trigger_segments` closed segments exist, the inputs are the closed
//! segments that are fully durable, not known damaged, and either at least
//! `merge_dead_percent_min` % dead or under half a segment of live bytes, oldest first, at most
//! `merge_inputs_max`. So the inputs need not be every closed segment, and a tombstone can be
//! dropped only if no segment outside the inputs holds records older than it (such a segment
//! could hold a put of the key the tombstone deletes).
//!
//! # Steps, each waiting for its fsyncs
//! 1. Read the inputs whole (a record that fails its checksum or a sector that cannot be read
//!    aborts the merge: the inputs stay, and the segment is marked damaged so the next merge
//!    skips it); copy the records the keydir points to, oldest first, into new segments named
//!    `NNNNNNNN.seg.tmp`, each with `NNNNNNNN.hint.tmp`; fsync them all.
//! 2. Rename the hint, then the segment, into place; fsync the directory.
//! 3. Point the keydir at the copies (only where it still names the copied version: a write
//!    that arrived meanwhile wins and the copy is dead), delete the inputs (segment, then
//!    hint); fsync the directory. Then the merge is done, and another may start.
//!
//! A crash at any point leaves either the inputs (temporary files are deleted by recovery) or
//! the outputs and possibly some inputs (the same records twice; recovery keeps one).
//!
//! # The `rename_without_dir_sync` bug
//! Steps 2 and 3 run at once, without the directory fsyncs. On this disk name operations
//! become durable in the order they were issued, so a crash keeps a prefix of them: if any
//! input's delete survives, every rename before it did too, and nothing is lost (the test
//! `rename_without_dir_sync_loses_nothing_on_an_ordered_disk` shows it). On a file system that
//! may persist a delete before an earlier rename, it would lose the inputs' data.

use super::hint::{self, HintEntry};
use super::record::{self, Parsed};
use super::{hint_name, segment_name, Bitcask, Entry, Segment};
use crate::node::{DiskIo, FsyncId};
use crate::storage::{fsync_counted, fsync_dir_counted, write_verified, Seq};
use std::collections::BTreeMap;

/// The fsyncs the merge in progress waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Of the temporary segments and hints.
    Outputs,
    /// Of the directory, after the renames.
    Renames,
    /// Of the directory, after the inputs' deletes.
    Deletes,
}

/// A record copied into an output.
#[derive(Clone, Debug)]
struct Copy {
    key: Vec<u8>,
    /// The keydir's sequence number for the key when it was copied: it is installed only if
    /// the keydir still says so.
    live_seq: Seq,
    /// Where the copy lies (its `seq` is the copied record's).
    entry: Entry,
}

/// A merge in progress.
#[derive(Clone, Debug)]
pub(super) struct Merge {
    inputs: Vec<u32>,
    /// Output segment numbers and their lengths.
    outputs: Vec<(u32, u64)>,
    copies: Vec<Copy>,
    /// Tombstones not copied: key and sequence number.
    dropped: Dropped,
    step: Step,
    fsyncs: Vec<FsyncId>,
}

/// Tombstones a merge drops: key and sequence number.
type Dropped = Vec<(Vec<u8>, Seq)>;

/// A record read from an input.
struct InputRecord {
    key: Vec<u8>,
    value: Vec<u8>,
    segment: u32,
    offset: u64,
    parsed: Parsed,
}

impl Bitcask {
    /// Whether segment `number` could be a merge input now.
    fn mergeable(&self, number: u32, segment: &Segment) -> bool {
        let closed = number != self.active && !self.buffers.iter().any(|b| b.segment == number);
        let durable = segment.seq_max <= self.durable_seq;
        let dead_bytes = segment.bytes - segment.live_bytes;
        let dead_enough = dead_bytes * 100 >= self.config.merge_dead_percent_min * segment.bytes;
        let small = segment.live_bytes * 2 < self.config.segment_bytes_max;
        closed && durable && !segment.damaged && (dead_enough || small)
    }

    /// Starts a merge if none runs, enough segments are closed and some are worth merging.
    pub(super) fn maybe_start_merge(&mut self, io: &mut dyn DiskIo) {
        if self.merge.is_some() || self.segments.len() <= self.config.merge_trigger_segments {
            return; // the active segment is not closed: `len - 1` closed ones
        }
        let inputs: Vec<u32> = self
            .segments
            .iter()
            .filter(|(n, s)| self.mergeable(**n, s))
            .map(|(n, _)| *n)
            .take(self.config.merge_inputs_max)
            .collect();
        let dead: u64 =
            inputs.iter().map(|n| self.segments[n].bytes - self.segments[n].live_bytes).sum();
        if inputs.len() < 2 && dead == 0 {
            return; // rewriting one fully live segment would change nothing
        }
        let mut records = Vec::new();
        for &number in &inputs {
            match self.read_input(io, number) {
                Some(found) => records.extend(found),
                None => {
                    self.stats.errors_detected += 1;
                    self.segments.get_mut(&number).expect("an input").damaged = true;
                    return;
                }
            }
        }
        let input_bytes: u64 = inputs.iter().map(|n| self.segments[n].bytes).sum();
        let (copies, dropped) = self.choose_copies(&inputs, records);
        let copy_bytes: u64 = copies.iter().map(|(c, _)| u64::from(c.entry.length)).sum();
        let lengths = copies.iter().map(|(c, _)| u64::from(c.entry.length));
        let outputs = output_count(lengths, self.config.segment_bytes_max);
        if copy_bytes == input_bytes && outputs >= inputs.len() {
            // Nothing to gain: every record is copied (some only because the write that
            // supersedes them is not durable yet) into as many segments. Retried after the
            // next commit; without this check the merge would repeat itself forever.
            return;
        }
        self.write_outputs(io, inputs, copies, dropped);
    }

    /// Every record of input `number`, verified; `None` if one cannot be read.
    fn read_input(&mut self, io: &mut dyn DiskIo, number: u32) -> Option<Vec<InputRecord>> {
        let path = self.path(&segment_name(number));
        let bytes = self.segments[&number].bytes;
        for _ in 0..2 {
            // Twice: a read can come back with a bit flipped, and the next one not.
            let data = io.disk().read(&path, 0, bytes).ok()?;
            self.stats.compaction_bytes_read += data.len() as u64;
            if let Some(records) = parse_all(&data, number, !self.bugs.no_checksum) {
                return Some(records);
            }
        }
        None
    }

    /// The records to copy, oldest first, and the tombstones to drop.
    fn choose_copies(
        &self,
        inputs: &[u32],
        records: Vec<InputRecord>,
    ) -> (Vec<(Copy, InputRecord)>, Dropped) {
        let oldest = if self.bugs.compaction_drops_newest {
            oldest_versions(&records)
        } else {
            BTreeMap::new()
        };
        // A tombstone may go only if no segment outside the inputs holds older records.
        let outside_oldest = self
            .segments
            .iter()
            .filter(|(n, s)| !inputs.contains(n) && s.seq_min > 0)
            .map(|(_, s)| s.seq_min)
            .min();
        // Records superseded only by writes not yet durable are copied all the same: a crash
        // could lose the newer write after the input's delete became durable.
        let mut fallback: BTreeMap<&[u8], usize> = BTreeMap::new();
        let mut live = Vec::new();
        let mut dropped = Vec::new();
        for (index, r) in records.iter().enumerate() {
            let Some(entry) = self.keydir.get(&r.key) else { continue };
            if entry.segment != r.segment || entry.offset != r.offset {
                if entry.seq > self.durable_seq {
                    let slot = fallback.entry(&r.key).or_insert(index);
                    if records[*slot].parsed.seq < r.parsed.seq {
                        *slot = index;
                    }
                }
                continue; // dead: a newer version exists
            }
            assert_eq!(entry.seq, r.parsed.seq, "the keydir and the record disagree");
            let older_outside = outside_oldest.is_some_and(|o| o < entry.seq);
            if entry.tombstone && (self.bugs.tombstone_dropped_early || !older_outside) {
                dropped.push((r.key.clone(), entry.seq));
                continue;
            }
            live.push((r.key.clone(), entry.seq));
        }
        let fallback: Vec<usize> = fallback.into_values().collect();
        // Sequence numbers must keep increasing across a crash, and recovery takes the highest
        // one on disk. So the newest tombstone stays unless a durable record newer than it
        // survives the merge: outside the inputs, or among the copies.
        let durable_outside = self
            .segments
            .iter()
            .filter(|(n, s)| !inputs.contains(n) && s.seq_min > 0 && s.seq_min <= self.durable_seq)
            .map(|(_, s)| s.seq_max.min(self.durable_seq))
            .max()
            .unwrap_or(0);
        let copied_max = live.iter().map(|(_, seq)| *seq).max().unwrap_or(0);
        let newest_dropped = dropped.iter().enumerate().max_by_key(|(_, (_, seq))| *seq);
        if let Some((at, &(_, seq))) = newest_dropped {
            if seq > durable_outside.max(copied_max) {
                live.push(dropped.swap_remove(at));
            }
        }
        let mut by_index: Vec<Option<InputRecord>> = records.into_iter().map(Some).collect();
        let mut index_of: BTreeMap<(Vec<u8>, Seq), usize> = BTreeMap::new();
        for (index, r) in by_index.iter().enumerate() {
            let r = r.as_ref().expect("all present");
            index_of.insert((r.key.clone(), r.parsed.seq), index);
        }
        let mut copies = Vec::with_capacity(live.len());
        for (key, live_seq) in live {
            let index = match oldest.get(&key) {
                Some(&index) => index, // the bug: the oldest version among the inputs
                None => index_of[&(key.clone(), live_seq)],
            };
            let record = by_index[index].take().expect("each record copied once");
            let entry = unplaced_entry(&record);
            copies.push((Copy { key, live_seq, entry }, record));
        }
        for index in fallback {
            let record = by_index[index].take().expect("a superseded record, copied once");
            let entry = unplaced_entry(&record);
            // `live_seq` is the record's own: the keydir names a newer one, so never installed.
            let copy = Copy { key: record.key.clone(), live_seq: record.parsed.seq, entry };
            copies.push((copy, record));
        }
        copies.sort_by_key(|(c, _)| c.entry.seq);
        (copies, dropped)
    }

    /// Encodes the copies into output segments and hints, writes them under temporary names
    /// and starts their fsyncs.
    fn write_outputs(
        &mut self,
        io: &mut dyn DiskIo,
        inputs: Vec<u32>,
        copies: Vec<(Copy, InputRecord)>,
        dropped: Dropped,
    ) {
        let mut merge = Merge {
            inputs,
            outputs: Vec::new(),
            copies: Vec::with_capacity(copies.len()),
            dropped,
            step: Step::Outputs,
            fsyncs: Vec::new(),
        };
        let mut bytes: Vec<u8> = Vec::new();
        let mut hints: Vec<HintEntry> = Vec::new();
        let mut number = 0;
        for (mut copy, record) in copies {
            let full = !bytes.is_empty()
                && bytes.len() as u64 + record.parsed.length > self.config.segment_bytes_max;
            if number == 0 || full {
                if number != 0 {
                    self.write_output(io, &mut merge, number, &bytes, &hints);
                }
                number = self.next_segment;
                self.next_segment += 1;
                bytes.clear();
                hints.clear();
            }
            let offset = bytes.len() as u64;
            let p = &record.parsed;
            let (seq, tombstone) = (p.seq, p.tombstone);
            record::encode(
                &mut bytes,
                number,
                offset,
                seq,
                tombstone,
                true,
                &record.key,
                &record.value,
            );
            copy.entry.segment = number;
            copy.entry.offset = offset;
            hints.push(HintEntry {
                key: record.key,
                seq,
                offset,
                length: copy.entry.length,
                tombstone,
            });
            merge.copies.push(copy);
        }
        if number != 0 {
            self.write_output(io, &mut merge, number, &bytes, &hints);
        }
        let nothing_to_sync = merge.fsyncs.is_empty();
        self.merge = Some(merge);
        if nothing_to_sync {
            self.advance_merge(io); // every input record was dead
        }
    }

    fn write_output(
        &mut self,
        io: &mut dyn DiskIo,
        merge: &mut Merge,
        number: u32,
        bytes: &[u8],
        hints: &[HintEntry],
    ) {
        let hint_bytes = hint::encode(number, bytes.len() as u64, hints);
        for (name, data) in [(segment_name(number), bytes), (hint_name(number), &hint_bytes)] {
            let path = self.path(&format!("{name}.tmp"));
            io.disk().create(&path).unwrap_or_else(|e| panic!("create {path}: {e}"));
            self.stats.verify_bytes_read += write_verified(io, &path, 0, data);
            self.stats.compaction_bytes_written += data.len() as u64;
            merge.fsyncs.push(fsync_counted(io, &mut self.stats, &path));
        }
        merge.outputs.push((number, bytes.len() as u64));
    }

    /// Handles a completed fsync of the merge; `false` if it is not one.
    pub(super) fn merge_fsync_done(&mut self, io: &mut dyn DiskIo, id: FsyncId) -> bool {
        let Some(merge) = self.merge.as_mut() else { return false };
        let Some(position) = merge.fsyncs.iter().position(|f| *f == id) else { return false };
        merge.fsyncs.remove(position);
        if merge.fsyncs.is_empty() {
            self.advance_merge(io);
        }
        true
    }

    /// Takes the next step once the current one's fsyncs are done.
    fn advance_merge(&mut self, io: &mut dyn DiskIo) {
        let merge = self.merge.as_ref().expect("a merge in progress");
        assert!(merge.fsyncs.is_empty(), "a step still waits");
        match merge.step {
            Step::Outputs => {
                self.rename_outputs(io);
                if self.bugs.rename_without_dir_sync {
                    self.install_merge();
                    self.delete_inputs(io);
                    return self.finish_merge(io);
                }
                let id = fsync_dir_counted(io, &mut self.stats, &self.dir);
                let merge = self.merge.as_mut().expect("in progress");
                merge.step = Step::Renames;
                merge.fsyncs.push(id);
            }
            Step::Renames => {
                self.install_merge();
                self.delete_inputs(io);
                let id = fsync_dir_counted(io, &mut self.stats, &self.dir);
                let merge = self.merge.as_mut().expect("in progress");
                merge.step = Step::Deletes;
                merge.fsyncs.push(id);
            }
            Step::Deletes => self.finish_merge(io),
        }
    }

    fn rename_outputs(&mut self, io: &mut dyn DiskIo) {
        let outputs = self.merge.as_ref().expect("in progress").outputs.clone();
        for (number, _) in outputs {
            for name in [hint_name(number), segment_name(number)] {
                let (from, to) = (self.path(&format!("{name}.tmp")), self.path(&name));
                io.disk().rename(&from, &to).unwrap_or_else(|e| panic!("rename {from}: {e}"));
            }
        }
    }

    /// Points the keydir at the copies still current, drops the tombstones still current,
    /// and swaps the inputs for the outputs in the segment table.
    fn install_merge(&mut self) {
        let merge = self.merge.take().expect("in progress");
        for &(number, bytes) in &merge.outputs {
            let segment = Segment { bytes, merged: true, name_synced: true, ..Segment::default() };
            self.segments.insert(number, segment);
        }
        for copy in &merge.copies {
            let output = self.segments.get_mut(&copy.entry.segment).expect("an output");
            output.note_seq(copy.entry.seq);
            let Some(current) = self.keydir.get_mut(&copy.key) else { continue };
            if current.seq != copy.live_seq || !merge.inputs.contains(&current.segment) {
                continue; // overwritten meanwhile: the copy is dead
            }
            let old = std::mem::replace(current, copy.entry);
            output.live_bytes += u64::from(copy.entry.length);
            self.forget(old);
        }
        for (key, seq) in &merge.dropped {
            if self.keydir.get(key).is_some_and(|e| e.seq == *seq && e.tombstone) {
                let old = self.keydir.remove(key).expect("just found");
                self.forget(old);
            }
        }
        for number in &merge.inputs {
            let input = self.segments.remove(number).expect("an input");
            assert_eq!(input.live_bytes, 0, "segment {number} still live after its merge");
        }
        self.merge = Some(merge);
    }

    fn delete_inputs(&mut self, io: &mut dyn DiskIo) {
        let merge = self.merge.as_ref().expect("in progress");
        for &number in &merge.inputs {
            io.disk().delete(&path_of(&self.dir, &segment_name(number))).ok();
            io.disk().delete(&path_of(&self.dir, &hint_name(number))).ok(); // none if a log segment
        }
    }

    fn finish_merge(&mut self, io: &mut dyn DiskIo) {
        let merge = self.merge.take().expect("in progress");
        assert!(merge.fsyncs.is_empty(), "finished with fsyncs pending");
        self.stats.compactions += 1;
        self.maybe_start_merge(io);
    }
}

/// For the `compaction_drops_newest` bug: per key, the index of its oldest record.
fn oldest_versions(records: &[InputRecord]) -> BTreeMap<Vec<u8>, usize> {
    let mut oldest: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    for (index, r) in records.iter().enumerate() {
        let slot = oldest.entry(r.key.clone()).or_insert(index);
        if records[*slot].parsed.seq > r.parsed.seq {
            *slot = index;
        }
    }
    oldest
}

/// How many output segments records of these lengths fill, packed in order.
fn output_count(lengths: impl Iterator<Item = u64>, segment_bytes_max: u64) -> usize {
    let (mut count, mut bytes) = (0, 0);
    for length in lengths {
        if count == 0 || (bytes > 0 && bytes + length > segment_bytes_max) {
            count += 1;
            bytes = 0;
        }
        bytes += length;
    }
    count
}

/// The keydir entry of a copy of `record`, before it has a place in an output.
fn unplaced_entry(record: &InputRecord) -> Entry {
    Entry {
        segment: 0,
        offset: 0,
        length: record.parsed.length as u32,
        seq: record.parsed.seq,
        tombstone: record.parsed.tombstone,
    }
}

fn path_of(dir: &str, name: &str) -> String {
    crate::storage::path_in(dir, name)
}

/// Every record of an input's bytes; `None` if any part of it is not a valid record.
fn parse_all(data: &[u8], number: u32, verify: bool) -> Option<Vec<InputRecord>> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let parsed = record::decode(data, at, number, at as u64, verify)?;
        records.push(InputRecord {
            key: data[parsed.key.clone()].to_vec(),
            value: record::value_of(data, &parsed),
            segment: number,
            offset: at as u64,
            parsed,
        });
        at += records.last().expect("just pushed").parsed.length as usize;
    }
    Some(records)
}
