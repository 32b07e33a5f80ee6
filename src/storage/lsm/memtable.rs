//! The memtable: the newest version of every key written since the last flush, sorted, in
//! memory. Its size counts every write taken (as RocksDB's arena does), so overwrites of one key
//! still fill it and bound the WAL behind it.

use super::super::Seq;
use std::collections::BTreeMap;
use std::ops::Bound;

/// A version of a key: the write's sequence number and its value (`None`: a tombstone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub seq: Seq,
    pub value: Option<Vec<u8>>,
}

/// Overhead counted per write besides key and value (sequence number, kind, map node).
const ENTRY_OVERHEAD_BYTES: u64 = 24;

/// One memtable and the WAL writes behind it.
#[derive(Clone, Debug, Default)]
pub struct Memtable {
    entries: BTreeMap<Vec<u8>, Version>,
    bytes: u64,
    /// The first sequence number that belongs to this memtable (earlier ones are in tables or
    /// an older memtable).
    pub seq_first: Seq,
    /// The last sequence number written into it (`seq_first - 1` while empty).
    pub seq_last: Seq,
    /// Every write of this memtable up to this number is durable in its WAL.
    pub seq_synced: Seq,
}

impl Memtable {
    /// An empty memtable whose first write will be `seq_first`.
    pub fn new(seq_first: Seq) -> Self {
        assert!(seq_first >= 1, "sequence numbers start at 1");
        Memtable {
            entries: BTreeMap::new(),
            bytes: 0,
            seq_first,
            seq_last: seq_first - 1,
            seq_synced: seq_first - 1,
        }
    }

    /// Records write `seq`: `value` under `key`, `None` for a delete. A replayed write older
    /// than the version held is ignored.
    pub fn insert(&mut self, key: &[u8], seq: Seq, value: Option<&[u8]>) {
        assert!(seq >= self.seq_first, "write {seq} predates memtable {}", self.seq_first);
        self.bytes += key.len() as u64 + value.map_or(0, |v| v.len() as u64) + ENTRY_OVERHEAD_BYTES;
        self.seq_last = self.seq_last.max(seq);
        let version = Version { seq, value: value.map(<[u8]>::to_vec) };
        match self.entries.get_mut(key) {
            Some(held) if held.seq > seq => {}
            Some(held) => *held = version,
            None => {
                self.entries.insert(key.to_vec(), version);
            }
        }
    }

    /// The newest version of `key` held here.
    pub fn get(&self, key: &[u8]) -> Option<&Version> {
        self.entries.get(key)
    }

    /// Versions with keys in the range, in key order.
    pub fn range<'a>(
        &'a self,
        range: (Bound<&[u8]>, Bound<&[u8]>),
    ) -> impl Iterator<Item = (&'a Vec<u8>, &'a Version)> + 'a {
        let owned = (range.0.map(<[u8]>::to_vec), range.1.map(<[u8]>::to_vec));
        self.entries.range::<Vec<u8>, _>(owned)
    }

    /// Every version, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Version)> {
        self.entries.iter()
    }

    /// Bytes of writes taken.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// True if no write was taken.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_version_and_counts_every_write() {
        let mut m = Memtable::new(5);
        m.insert(b"a", 5, Some(b"1"));
        m.insert(b"a", 7, None);
        m.insert(b"a", 6, Some(b"old replay"));
        assert_eq!(m.get(b"a"), Some(&Version { seq: 7, value: None }));
        assert_eq!(m.seq_last, 7);
        assert_eq!(m.bytes(), 3 * ENTRY_OVERHEAD_BYTES + 3 + 1 + 10);
        m.insert(b"b", 8, Some(b"2"));
        let keys: Vec<_> = m.range((Bound::Excluded(b"a"), Bound::Unbounded)).collect();
        assert_eq!(keys.len(), 1);
    }
}
