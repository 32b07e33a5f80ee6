//! Reads: point lookups newest source first, and scans as a merge of every source.
//!
//! A block that fails its checksum (twice: a transient flip is per read) or cannot be read
//! ends the read with that error; falling through to an older table would return stale data.

use super::bloom::key_hash;
use super::sstable::{self, Entry, ReadCounters, Source};
use super::{table_name, Lsm, Memtable};
use crate::node::DiskIo;
use crate::storage::{Range, Row, Seq, StorageError};
use std::ops::Bound;

/// A version found: its sequence number and value (`None`: a tombstone).
pub type Hit = (Seq, Option<Vec<u8>>);

fn after_start(key: &[u8], start: Bound<&[u8]>) -> bool {
    match start {
        Bound::Included(s) => key >= s,
        Bound::Excluded(s) => key > s,
        Bound::Unbounded => true,
    }
}

fn before_end(key: &[u8], end: Bound<&[u8]>) -> bool {
    match end {
        Bound::Included(e) => key <= e,
        Bound::Excluded(e) => key < e,
        Bound::Unbounded => true,
    }
}

impl Lsm {
    /// The newest version of `key` anywhere.
    pub(super) fn lookup(
        &mut self,
        io: &mut dyn DiskIo,
        key: &[u8],
    ) -> Result<Option<Hit>, StorageError> {
        for mem in std::iter::once(&self.mem).chain(self.imm.as_ref()) {
            if let Some(v) = mem.get(key) {
                return Ok(Some((v.seq, v.value.clone())));
            }
        }
        let hash = key_hash(key);
        for number in self.tables_for_key(key) {
            if let Some(entry) = self.probe(io, number, key, hash)? {
                return Ok(Some((entry.seq, entry.value)));
            }
        }
        Ok(None)
    }

    /// Tables whose key range holds `key`, newest first.
    fn tables_for_key(&self, key: &[u8]) -> Vec<u64> {
        let covers = |n: &u64| {
            let m = &self.tables[n].meta;
            m.smallest.as_slice() <= key && key <= m.largest.as_slice()
        };
        let mut numbers: Vec<u64> = self.levels[0].iter().copied().filter(covers).collect();
        for level in &self.levels[1..] {
            let i = level.partition_point(|n| self.tables[n].meta.largest.as_slice() < key);
            if let Some(n) = level.get(i).filter(|n| covers(n)) {
                numbers.push(*n);
            }
        }
        numbers
    }

    /// Tables whose key range meets `range`, newest first.
    fn tables_for_range(&self, range: Range<'_>) -> Vec<u64> {
        let meets = |n: &&u64| {
            let m = &self.tables[*n].meta;
            before_end(&m.smallest, range.1) && after_start(&m.largest, range.0)
        };
        self.levels.iter().flat_map(|level| level.iter().filter(meets)).copied().collect()
    }

    fn source(&self, number: u64) -> (String, u64, bool) {
        (self.path(&table_name(number)), number, self.bugs.no_checksum)
    }

    /// Reads table `number`'s index and filter if not read yet. An error is not kept: the
    /// next read tries again (the flip may have been transient).
    pub(super) fn ensure_loaded(
        &mut self,
        io: &mut dyn DiskIo,
        number: u64,
        counters: &mut ReadCounters,
    ) -> Result<(), StorageError> {
        if self.tables[&number].loaded.is_some() {
            return Ok(());
        }
        let (path, number, no_checksum) = self.source(number);
        let size = self.tables[&number].meta.size;
        let loaded =
            sstable::load(io, Source { path: &path, number, no_checksum }, size, counters)?;
        self.tables.get_mut(&number).expect("live").loaded = Some(loaded);
        Ok(())
    }

    fn probe(
        &mut self,
        io: &mut dyn DiskIo,
        number: u64,
        key: &[u8],
        hash: u64,
    ) -> Result<Option<Entry>, StorageError> {
        let mut counters = ReadCounters::default();
        let result = self.probe_counted(io, number, key, hash, &mut counters);
        self.stats.read_bytes += counters.bytes;
        self.stats.errors_detected += counters.errors;
        result
    }

    fn probe_counted(
        &mut self,
        io: &mut dyn DiskIo,
        number: u64,
        key: &[u8],
        hash: u64,
        counters: &mut ReadCounters,
    ) -> Result<Option<Entry>, StorageError> {
        self.ensure_loaded(io, number, counters)?;
        let (path, number, no_checksum) = self.source(number);
        let loaded = self.tables[&number].loaded.as_ref().expect("loaded above");
        let filtered = loaded.filter.is_some();
        if let Some(filter) = &loaded.filter {
            self.stats.bloom_probes += 1;
            if !filter.may_contain(hash) {
                return Ok(None);
            }
        }
        let found = match sstable::block_for(&loaded.index, key) {
            None => None,
            Some(i) => {
                let block = loaded.index[i].clone();
                let source = Source { path: &path, number, no_checksum };
                let entries = sstable::read_block(io, source, &block, counters)?;
                entries.into_iter().find(|e| e.key == key)
            }
        };
        if found.is_none() && filtered {
            self.stats.bloom_false_positives += 1;
        }
        Ok(found)
    }

    /// The rows in `range`: a merge of the memtables and every table meeting the range, the
    /// newest version of each key, tombstones hidden.
    pub(super) fn scan_merged(
        &mut self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, StorageError> {
        let mut counters = ReadCounters::default();
        let numbers = self.tables_for_range(range);
        let mut result = Ok(());
        for &number in &numbers {
            result = result.and_then(|()| self.ensure_loaded(io, number, &mut counters));
        }
        let rows =
            result.and_then(|()| self.merge_sources(io, range, limit, &numbers, &mut counters));
        self.stats.read_bytes += counters.bytes;
        self.stats.errors_detected += counters.errors;
        rows
    }

    fn merge_sources(
        &self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        limit: usize,
        numbers: &[u64],
        counters: &mut ReadCounters,
    ) -> Result<Vec<Row>, StorageError> {
        let mut cursors: Vec<Cursor> = std::iter::once(&self.mem)
            .chain(self.imm.as_ref())
            .map(|mem| Cursor::memtable(mem, range))
            .collect();
        for &number in numbers {
            let (path, _, no_checksum) = self.source(number);
            let loaded = self.tables[&number].loaded.as_ref().expect("loaded by the caller");
            let blocks = loaded
                .index
                .iter()
                .filter(|b| before_end(&b.first_key, range.1) && after_start(&b.last_key, range.0))
                .cloned()
                .collect();
            cursors.push(Cursor {
                entries: Vec::new(),
                next: 0,
                blocks,
                path,
                number,
                no_checksum,
            });
        }
        let mut rows = Vec::new();
        while rows.len() < limit {
            for cursor in &mut cursors {
                cursor.fill(io, range, counters)?;
            }
            let Some(key) = cursors.iter().filter_map(Cursor::peek).map(|e| &e.key).min().cloned()
            else {
                break;
            };
            let mut newest: Option<Entry> = None;
            for cursor in &mut cursors {
                if cursor.peek().is_some_and(|e| e.key == key) {
                    let entry = cursor.pop();
                    if newest.as_ref().is_none_or(|n| entry.seq > n.seq) {
                        newest = Some(entry);
                    }
                }
            }
            let newest = newest.expect("some cursor holds the smallest key");
            if let Some(value) = newest.value {
                rows.push(Row { key, value, seq: newest.seq });
            }
        }
        debug_assert!(rows.windows(2).all(|w| w[0].key < w[1].key), "scan out of order");
        Ok(rows)
    }
}

/// One source of a scan: entries in key order, read a block at a time from a table.
struct Cursor {
    entries: Vec<Entry>,
    next: usize,
    /// Blocks still to read, in order (none for a memtable).
    blocks: std::collections::VecDeque<sstable::IndexEntry>,
    path: String,
    number: u64,
    no_checksum: bool,
}

impl Cursor {
    fn memtable(mem: &Memtable, range: Range<'_>) -> Self {
        let entries = mem
            .range(range)
            .map(|(key, v)| Entry { key: key.clone(), seq: v.seq, value: v.value.clone() })
            .collect();
        let blocks = std::collections::VecDeque::new();
        Cursor { entries, next: 0, blocks, path: String::new(), number: 0, no_checksum: false }
    }

    /// Reads blocks until an entry in range is at hand or the blocks are done.
    fn fill(
        &mut self,
        io: &mut dyn DiskIo,
        range: Range<'_>,
        counters: &mut ReadCounters,
    ) -> Result<(), StorageError> {
        while self.next >= self.entries.len() {
            let Some(block) = self.blocks.pop_front() else { return Ok(()) };
            let source =
                Source { path: &self.path, number: self.number, no_checksum: self.no_checksum };
            let entries = sstable::read_block(io, source, &block, counters)?;
            self.entries = entries
                .into_iter()
                .filter(|e| after_start(&e.key, range.0) && before_end(&e.key, range.1))
                .collect();
            self.next = 0;
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Entry> {
        self.entries.get(self.next)
    }

    fn pop(&mut self) -> Entry {
        let entry = std::mem::replace(
            &mut self.entries[self.next],
            Entry { key: Vec::new(), seq: 0, value: None },
        );
        self.next += 1;
        entry
    }
}
