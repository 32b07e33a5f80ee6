//! Recovery: rebuild the keydir from the segment files.
//!
//! 1. List the directory; delete leftover temporary files of an unfinished merge, and hint
//!    files whose segment is gone. Empty segments (a fresh active segment nothing was written
//!    to, a torn tail truncated by an earlier recovery) are deleted too.
//! 2. Each segment with a valid hint file is loaded from it; every other one is read whole
//!    and scanned record by record. A record that fails its checksum starts a bad region,
//!    which ends at the next offset holding a valid record (offsets are in the checksum, so
//!    the search is exact) or at the end of the file.
//! 3. A bad region at the end of the newest log segment, with no valid record anywhere newer
//!    than the last good one, is the torn tail of the last unsynced write: the file is
//!    truncated there (and fsynced) and nothing is lost that was durable. Any other bad region
//!    is damage: the sequence numbers it may have held go into the [`DamageLog`].
//! 4. The keydir takes, per key, the record with the highest sequence number, tombstones
//!    included (a tombstone stays in the keydir until a merge may drop it).
//!
//! Merged segments (those with a hint file name, or whose records carry the merged flag) are
//! fsynced before they are named, so they are never torn: a bad region in one is damage.
//! Recovery assumes the page cache is the durable image, as it is after a crash (or a clean
//! shutdown that synced everything).

use super::record::{self, Damaged, HEADER_BYTES};
use super::{hint, hint_name, segment_name, Bitcask, Entry, Segment};
use crate::node::{DiskError, DiskIo};
use crate::storage::{fsync_counted, fsync_dir_counted, Seq, StorageError};
use std::collections::BTreeMap;

/// Sector-sized reads find which parts of a segment with a latent sector error can be read
/// (the simulated disk's sectors are 512 bytes; a smaller chunk would only cost more reads).
const SECTOR_BYTES: u64 = 512;

/// One record recovery found.
#[derive(Clone, Debug)]
struct Found {
    key: Vec<u8>,
    seq: Seq,
    offset: u64,
    length: u32,
    tombstone: bool,
}

/// Bytes `start..end` of a segment hold no valid record.
#[derive(Clone, Debug)]
struct BadRegion {
    start: u64,
    end: u64,
    /// The sequence numbers of the valid records either side, in the same segment.
    before: Option<Seq>,
    after: Option<Seq>,
    /// Part of it could not be read at all (a latent sector error).
    unreadable: bool,
    /// It starts with bytes a tear cannot leave (a whole header that fails its own checksum,
    /// or a whole record that fails its body's): a record written whole whose bytes changed
    /// since, never a torn write, which leaves a strict prefix of what was written.
    whole_record: bool,
}

/// What recovery learned of one segment file.
#[derive(Clone, Debug, Default)]
struct Loaded {
    records: Vec<Found>,
    bad: Vec<BadRegion>,
    bytes: u64,
    merged: bool,
    /// Holds a bad region that is not a torn tail: a merge would fail on it.
    damaged: bool,
}

/// The files of the directory, by kind.
#[derive(Default)]
struct Listing {
    segments: Vec<u32>,
    hints: Vec<u32>,
    temporary: Vec<String>,
    number_max: u32,
}

fn parse_listing(names: &[String], dir: &str) -> Listing {
    let mut listing = Listing::default();
    for name in names {
        let file = name.strip_prefix(dir).unwrap_or(name).trim_start_matches('/');
        let Some((stem, extension)) = file.split_once('.') else { continue };
        let Ok(number) = stem.parse::<u32>() else { continue };
        if stem.len() != 8 {
            continue;
        }
        match extension {
            "seg" => listing.segments.push(number),
            "hint" => listing.hints.push(number),
            "seg.tmp" | "hint.tmp" => listing.temporary.push(file.to_string()),
            _ => continue,
        }
        listing.number_max = listing.number_max.max(number);
    }
    listing
}

impl Bitcask {
    /// Rebuilds the engine's state from `self.dir`.
    pub(super) fn recover(&mut self, io: &mut dyn DiskIo) -> Result<(), StorageError> {
        let names = io.disk().list(&self.dir);
        let listing = parse_listing(&names, &self.dir);
        self.next_segment = listing.number_max + 1;
        let mut names_changed = false;
        for name in &listing.temporary {
            names_changed |= io.disk().delete(&self.path(name)).is_ok();
        }
        for number in listing.hints.iter().filter(|n| !listing.segments.contains(n)) {
            names_changed |= io.disk().delete(&self.path(&hint_name(*number))).is_ok();
        }
        let mut loaded = BTreeMap::new();
        for &number in &listing.segments {
            let path = self.path(&segment_name(number));
            if io.disk().len(&path) == 0 {
                names_changed |= io.disk().delete(&path).is_ok();
                if listing.hints.contains(&number) {
                    io.disk().delete(&self.path(&hint_name(number))).ok();
                }
                continue;
            }
            let merged = listing.hints.contains(&number);
            loaded.insert(number, self.load_segment(io, number, merged)?);
        }
        self.judge_bad_regions(io, &mut loaded);
        self.rebuild(&loaded);
        if names_changed {
            let id = fsync_dir_counted(io, &mut self.stats, &self.dir);
            self.recovery_fsyncs.push(id);
        }
        Ok(())
    }

    /// Loads segment `number` from its hint file if it has a valid one, else by a scan.
    fn load_segment(
        &mut self,
        io: &mut dyn DiskIo,
        number: u32,
        merged: bool,
    ) -> Result<Loaded, StorageError> {
        let path = self.path(&segment_name(number));
        let bytes = io.disk().len(&path);
        if merged {
            let hint_path = self.path(&hint_name(number));
            let data = io.disk().read_all(&hint_path).unwrap_or_default();
            self.stats.recovery_bytes_read += data.len() as u64;
            match hint::decode(&data, number) {
                Some((segment_bytes, entries))
                    if segment_bytes <= bytes
                        && entries.iter().all(|e| e.offset + u64::from(e.length) <= bytes) =>
                {
                    let records = entries
                        .into_iter()
                        .map(|e| Found {
                            key: e.key,
                            seq: e.seq,
                            offset: e.offset,
                            length: e.length,
                            tombstone: e.tombstone,
                        })
                        .collect();
                    return Ok(Loaded { records, bad: Vec::new(), bytes, merged, damaged: false });
                }
                _ => self.stats.errors_detected += 1, // scan the segment instead
            }
        }
        let (data, unreadable) = self.read_segment(io, &path, number);
        let mut loaded = scan(&data, number, !self.bugs.no_checksum, &unreadable);
        loaded.bytes = bytes;
        // A merged segment whose hint is gone still says so in its records.
        loaded.merged = merged || loaded.merged;
        Ok(loaded)
    }

    /// The whole of segment `number`: read again if its scan finds a bad record (a read can
    /// flip a bit the next one does not), sector by sector if a sector cannot be read (those
    /// read as zeros and are returned as ranges).
    fn read_segment(
        &mut self,
        io: &mut dyn DiskIo,
        path: &str,
        number: u32,
    ) -> (Vec<u8>, Vec<(u64, u64)>) {
        let bytes = io.disk().len(path);
        let mut previous: Option<Vec<u8>> = None;
        for _ in 0..3 {
            match io.disk().read(path, 0, bytes) {
                Ok(data) => {
                    self.stats.recovery_bytes_read += data.len() as u64;
                    let clean = scan(&data, number, !self.bugs.no_checksum, &[]).bad.is_empty();
                    if clean || previous.as_ref() == Some(&data) {
                        return (data, Vec::new());
                    }
                    previous = Some(data);
                }
                Err(DiskError::Unreadable { .. }) => return self.read_by_sector(io, path, bytes),
                Err(DiskError::NotFound) => return (Vec::new(), Vec::new()),
            }
        }
        (previous.unwrap_or_default(), Vec::new())
    }

    fn read_by_sector(
        &mut self,
        io: &mut dyn DiskIo,
        path: &str,
        bytes: u64,
    ) -> (Vec<u8>, Vec<(u64, u64)>) {
        let mut data = Vec::with_capacity(bytes as usize);
        let mut unreadable = Vec::new();
        let mut offset = 0;
        while offset < bytes {
            let len = SECTOR_BYTES.min(bytes - offset);
            match io.disk().read(path, offset, len) {
                Ok(sector) => data.extend_from_slice(&sector),
                Err(_) => {
                    self.stats.errors_detected += 1;
                    data.resize(data.len() + len as usize, 0);
                    unreadable.push((offset, offset + len));
                }
            }
            offset += len;
        }
        self.stats.recovery_bytes_read += data.len() as u64;
        (data, unreadable)
    }

    /// Truncates the torn tail of the newest log segment; records every other bad region's
    /// possibly lost sequence numbers as damage.
    fn judge_bad_regions(&mut self, io: &mut dyn DiskIo, loaded: &mut BTreeMap<u32, Loaded>) {
        let newest_log = loaded.iter().rev().find(|(_, l)| !l.merged).map(|(n, _)| *n);
        let seq_max_all = loaded.values().flat_map(|l| l.records.iter().map(|r| r.seq)).max();
        let numbers: Vec<u32> = loaded.keys().copied().collect();
        for number in numbers {
            let regions = std::mem::take(&mut loaded.get_mut(&number).expect("listed").bad);
            for region in regions {
                let is_tail = region.end == loaded[&number].bytes && region.after.is_none();
                let newer_exists = seq_max_all.is_some_and(|m| m > region.before.unwrap_or(0));
                let all_garbage = region.before.is_none() && loaded[&number].records.is_empty();
                let torn = is_tail
                    && !region.whole_record
                    && Some(number) == newest_log
                    && !region.unreadable
                    && (!newer_exists || all_garbage);
                if torn {
                    self.truncate_tail(io, number, region.start);
                    loaded.get_mut(&number).expect("listed").bytes = region.start;
                    continue;
                }
                self.stats.errors_detected += 1;
                loaded.get_mut(&number).expect("listed").damaged = true;
                if let Some((lo, hi)) = lost_range(loaded, number, &region, seq_max_all) {
                    self.damage.add(lo, hi);
                    self.last_seq = self.last_seq.max(hi);
                }
            }
        }
    }

    fn truncate_tail(&mut self, io: &mut dyn DiskIo, number: u32, at: u64) {
        let path = self.path(&segment_name(number));
        io.disk().truncate(&path, at);
        let id = fsync_counted(io, &mut self.stats, &path);
        self.recovery_fsyncs.push(id);
    }

    /// The keydir and segment table from what was loaded.
    fn rebuild(&mut self, loaded: &BTreeMap<u32, Loaded>) {
        for (&number, segment) in loaded {
            let mut table = Segment {
                bytes: segment.bytes,
                merged: segment.merged,
                damaged: segment.damaged,
                name_synced: true,
                ..Segment::default()
            };
            for found in &segment.records {
                table.note_seq(found.seq);
                // Only a `no_checksum` decode accepts a record cut short by the end of file.
                table.bytes = table.bytes.max(found.offset + u64::from(found.length));
                self.last_seq = self.last_seq.max(found.seq);
                let entry = Entry {
                    segment: number,
                    offset: found.offset,
                    length: found.length,
                    seq: found.seq,
                    tombstone: found.tombstone,
                };
                match self.keydir.get_mut(found.key.as_slice()) {
                    Some(old) if old.seq >= found.seq => {} // a copy (same seq) or older
                    Some(old) => *old = entry,
                    None => {
                        self.keydir.insert(found.key.clone(), entry);
                    }
                }
            }
            self.segments.insert(number, table);
        }
        for entry in self.keydir.values() {
            let segment = self.segments.get_mut(&entry.segment).expect("loaded");
            segment.live_bytes += u64::from(entry.length);
        }
        self.durable_seq = self.last_seq;
        assert!(self.segments.values().all(|s| s.live_bytes <= s.bytes), "live over bytes");
    }
}

/// The sequence numbers a bad region of segment `number` may have held, or `None` if it
/// cannot have held any. A region holds at most `count` records, one per [`HEADER_BYTES`]
/// bytes. A log segment's records have consecutive numbers, older than those of every log
/// segment numbered above it; a merged segment's records are sorted by number, any subset.
/// Where a side is unknown the range errs wide: reads fail rather than answer stale data.
fn lost_range(
    loaded: &BTreeMap<u32, Loaded>,
    number: u32,
    region: &BadRegion,
    seq_max_all: Option<Seq>,
) -> Option<(Seq, Seq)> {
    let count = ((region.end - region.start) / HEADER_BYTES as u64).max(1);
    let seq_max_all = seq_max_all.unwrap_or(0);
    if loaded[&number].merged {
        let lo = region.before.map_or(1, |a| a + 1);
        let hi = region.after.map_or(seq_max_all.max(lo) + count, |b| b.saturating_sub(1));
        return (hi >= lo).then_some((lo, hi));
    }
    let above = || {
        loaded
            .range(number + 1..)
            .filter(|(_, l)| !l.merged)
            .flat_map(|(_, l)| l.records.iter().map(|r| r.seq))
            .min()
    };
    let (lo, hi) = match (region.before, region.after.or_else(above)) {
        (Some(a), Some(b)) => (a + 1, b.saturating_sub(1).min(a + count)),
        (Some(a), None) => (a + 1, a + count),
        (None, Some(b)) => (b.saturating_sub(count).max(1), b.saturating_sub(1)),
        (None, None) => (1, seq_max_all + count),
    };
    (hi >= lo).then_some((lo, hi))
}

/// Every valid record of a segment's bytes, and the bad regions between them.
fn scan(data: &[u8], number: u32, verify: bool, unreadable: &[(u64, u64)]) -> Loaded {
    let mut loaded = Loaded { bytes: data.len() as u64, ..Loaded::default() };
    let mut at = 0usize;
    let mut before = None;
    while at < data.len() {
        if let Some(parsed) = record::decode(data, at, number, at as u64, verify) {
            before = Some(parsed.seq);
            loaded.merged |= parsed.merged;
            loaded.records.push(Found {
                key: data[parsed.key.clone()].to_vec(),
                seq: parsed.seq,
                offset: at as u64,
                length: parsed.length as u32,
                tombstone: parsed.tombstone,
            });
            at += parsed.length as usize;
            continue;
        }
        let next = (at + 1..data.len())
            .find(|&o| record::decode(data, o, number, o as u64, verify).is_some())
            .unwrap_or(data.len());
        let after = (next < data.len())
            .then(|| record::decode(data, next, number, next as u64, verify).map(|p| p.seq))
            .flatten();
        let (start, end) = (at as u64, next as u64);
        let unreadable = unreadable.iter().any(|&(s, e)| s < end && e > start);
        // A tear cuts the file: judged against the region's end (the next valid record, or
        // the end of the file).
        let region = &data[..next];
        let whole_record = record::damaged(region, at, number, at as u64) == Damaged::Changed;
        loaded.bad.push(BadRegion { start, end, before, after, unreadable, whole_record });
        at = next;
    }
    loaded
}
