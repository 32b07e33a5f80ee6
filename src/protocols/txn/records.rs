//! The durable records of the coordinator's and the shards' logs, stored as values of a
//! storage engine (`crate::storage`, whose write-ahead log and checksums make each record
//! atomic): a flat list of little-endian `i64` words.
//!
//! - coordinator: `epoch` → `[epoch]`; `d/{txn}` → the commit decision
//!   `[client, seq, shards.., -1, reads..]` (a read: position, kind, length or value);
//! - shard: `p/{txn}` → the prepared transaction (its writes, the keys it read, and what it
//!   read); `c/{n}` → the n-th
//!   commit applied, `[txn, writes..]`, replayed in order at recovery.

use super::api::ReadValue;
use super::messages::TxnId;

/// A row's new value in a write set: `None` deletes the row.
pub type Write = (i64, Option<Vec<i64>>);

/// Builds a record.
#[derive(Default)]
pub struct Words(Vec<u8>);

impl Words {
    /// An empty record.
    pub fn new() -> Self {
        Words(Vec::new())
    }
    /// Appends one word.
    pub fn push(&mut self, w: i64) -> &mut Self {
        self.0.extend_from_slice(&w.to_le_bytes());
        self
    }
    /// Appends a length-prefixed list.
    pub fn list(&mut self, items: &[i64]) -> &mut Self {
        self.push(items.len() as i64);
        for i in items {
            self.push(*i);
        }
        self
    }
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads a record; every getter fails (`None`) on a short or malformed record.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }
    /// The next word.
    pub fn word(&mut self) -> Option<i64> {
        let (head, rest) = self.bytes.split_first_chunk::<8>()?;
        self.bytes = rest;
        Some(i64::from_le_bytes(*head))
    }
    /// A count: a non-negative word no larger than what is left.
    pub fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.word()?).ok()?;
        (n <= self.bytes.len() / 8 + 1).then_some(n)
    }
    /// A length-prefixed list.
    pub fn list(&mut self) -> Option<Vec<i64>> {
        let n = self.count()?;
        (0..n).map(|_| self.word()).collect()
    }
    /// True when everything was read.
    pub fn done(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// Writes a write set.
pub fn put_writes(w: &mut Words, writes: &[Write]) {
    w.push(writes.len() as i64);
    for (key, value) in writes {
        w.push(*key);
        match value {
            Some(list) => w.push(1).list(list),
            None => w.push(0),
        };
    }
}

/// Reads a write set.
pub fn get_writes(r: &mut Reader<'_>) -> Option<Vec<Write>> {
    let n = r.count()?;
    (0..n)
        .map(|_| {
            let key = r.word()?;
            match r.word()? {
                1 => Some((key, Some(r.list()?))),
                0 => Some((key, None)),
                _ => None,
            }
        })
        .collect()
}

/// Writes reads by position.
pub fn put_reads(w: &mut Words, reads: &[(u16, ReadValue)]) {
    w.push(reads.len() as i64);
    for (pos, read) in reads {
        w.push(i64::from(*pos));
        match read {
            ReadValue::List(list) => w.push(0).list(list),
            ReadValue::Register(None) => w.push(1),
            ReadValue::Register(Some(v)) => w.push(2).push(*v),
        };
    }
}

/// Reads reads by position.
pub fn get_reads(r: &mut Reader<'_>) -> Option<Vec<(u16, ReadValue)>> {
    let n = r.count()?;
    (0..n)
        .map(|_| {
            let pos = u16::try_from(r.word()?).ok()?;
            let read = match r.word()? {
                0 => ReadValue::List(r.list()?),
                1 => ReadValue::Register(None),
                2 => ReadValue::Register(Some(r.word()?)),
                _ => return None,
            };
            Some((pos, read))
        })
        .collect()
}

/// A shard's prepared transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    pub writes: Vec<Write>,
    /// The store keys it read, so recovery takes their locks (or SIREAD marks) again.
    pub read_keys: Vec<i64>,
    pub reads: Vec<(u16, ReadValue)>,
}

impl Prepared {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Words::new();
        put_writes(&mut w, &self.writes);
        w.list(&self.read_keys);
        put_reads(&mut w, &self.reads);
        w.0
    }
    /// The record from its bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let p = Prepared {
            writes: get_writes(&mut r)?,
            read_keys: r.list()?,
            reads: get_reads(&mut r)?,
        };
        r.done().then_some(p)
    }
}

/// A commit a shard applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub txn: TxnId,
    pub writes: Vec<Write>,
}

impl Applied {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Words::new();
        w.push(self.txn as i64);
        put_writes(&mut w, &self.writes);
        w.0
    }
    /// The record from its bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let a = Applied { txn: r.word()? as TxnId, writes: get_writes(&mut r)? };
        r.done().then_some(a)
    }
}

/// The coordinator's commit decision: whom it asked, for whom, and what the reads returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub client: u32,
    pub seq: u64,
    pub shards: Vec<u32>,
    pub reads: Vec<(u16, ReadValue)>,
}

impl Decision {
    /// The record's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Words::new();
        w.push(i64::from(self.client)).push(self.seq as i64);
        let shards: Vec<i64> = self.shards.iter().map(|s| i64::from(*s)).collect();
        w.list(&shards);
        put_reads(&mut w, &self.reads);
        w.0
    }
    /// The record from its bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let client = u32::try_from(r.word()?).ok()?;
        let seq = u64::try_from(r.word()?).ok()?;
        let shards = r.list()?.into_iter().map(|s| u32::try_from(s).ok()).collect::<Option<_>>()?;
        let d = Decision { client, seq, shards, reads: get_reads(&mut r)? };
        r.done().then_some(d)
    }
}

/// The engine key of a record: a prefix and a big-endian number, so keys sort numerically.
pub fn key(prefix: u8, n: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[0] = prefix;
    k[1] = b'/';
    k[2..].copy_from_slice(&n.to_be_bytes());
    k
}

/// The number a record key names, if it has `prefix`.
pub fn key_number(prefix: u8, k: &[u8]) -> Option<u64> {
    match k {
        [p, b'/', rest @ ..] if *p == prefix => Some(u64::from_be_bytes(rest.try_into().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_refused() {
        let p = Prepared {
            writes: vec![(3, Some(vec![1, 2])), (4, None)],
            read_keys: vec![3, 9],
            reads: vec![(0, ReadValue::List(vec![7])), (2, ReadValue::Register(None))],
        };
        assert_eq!(Prepared::decode(&p.encode()), Some(p.clone()));
        let bytes = p.encode();
        assert_eq!(Prepared::decode(&bytes[..bytes.len() - 8]), None);
        let a = Applied { txn: 1 << 33 | 5, writes: p.writes.clone() };
        assert_eq!(Applied::decode(&a.encode()), Some(a));
        let d = Decision {
            client: 3,
            seq: 9,
            shards: vec![1, 2],
            reads: vec![(1, ReadValue::Register(Some(-4)))],
        };
        assert_eq!(Decision::decode(&d.encode()), Some(d));
        assert_eq!(key_number(b'p', &key(b'p', 77)), Some(77));
        assert_eq!(key_number(b'c', &key(b'p', 77)), None);
        assert!(key(b'c', 2) < key(b'c', 256));
    }
}
