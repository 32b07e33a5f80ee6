//! The manifest: which tables are live at which level, and the numbers recovery needs.
//!
//! `CURRENT` names the live `MANIFEST-NNNNNN`, which is a log of records, each a batch of
//! [`Edit`]s: `crc u32 | len u32 | edits`, the CRC-32C covering the manifest's file number, the
//! record's offset, the length and the edits. A new manifest starts with a snapshot of the whole
//! state. A bad last record is a torn edit and ignored; a bad record followed by a valid one
//! means the manifest itself is damaged, and the store cannot be opened (it would not know which
//! tables hold the data).

use super::codec::{put_bytes, put_u32, put_u64, Reader};
use crate::storage::{crc, Seq};
use std::collections::BTreeMap;

/// What the manifest records about one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableMeta {
    pub number: u64,
    /// Leveled: the level. Tiered: always 0 (runs are ordered by sequence numbers).
    pub level: u32,
    pub size: u64,
    pub entries: u64,
    /// The writes the table covers (every version in it is in this range).
    pub seq_lo: Seq,
    pub seq_hi: Seq,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// One change to the store's shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    AddTable(TableMeta),
    DeleteTable {
        number: u64,
    },
    /// WALs below this number hold nothing the tables lack.
    LogNumber(u64),
    /// The next file number to hand out.
    NextFile(u64),
    /// The newest write the tables hold.
    LastSeq(Seq),
    /// Writes `lo..=hi` were lost to corruption (recovery found them unreadable).
    Damage(Seq, Seq),
}

/// The state the edits build up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub tables: BTreeMap<u64, TableMeta>,
    pub log_number: u64,
    pub next_file: u64,
    pub last_seq: Seq,
    pub damage: Vec<(Seq, Seq)>,
}

/// Most damage ranges kept; beyond it the oldest two merge into one that covers both (a read
/// may then fail that need not, never the other way round).
pub const DAMAGE_RANGES_MAX: usize = 64;

impl State {
    /// Applies one edit.
    pub fn apply(&mut self, edit: &Edit) {
        match edit {
            Edit::AddTable(meta) => {
                self.tables.insert(meta.number, meta.clone());
            }
            Edit::DeleteTable { number } => {
                self.tables.remove(number);
            }
            Edit::LogNumber(n) => self.log_number = self.log_number.max(*n),
            Edit::NextFile(n) => self.next_file = self.next_file.max(*n),
            Edit::LastSeq(s) => self.last_seq = self.last_seq.max(*s),
            Edit::Damage(lo, hi) => add_damage(&mut self.damage, *lo, *hi),
        }
    }

    /// The edits that rebuild this state from nothing (a new manifest's first record).
    pub fn snapshot(&self) -> Vec<Edit> {
        let mut edits = vec![
            Edit::LogNumber(self.log_number),
            Edit::NextFile(self.next_file),
            Edit::LastSeq(self.last_seq),
        ];
        edits.extend(self.damage.iter().map(|&(lo, hi)| Edit::Damage(lo, hi)));
        edits.extend(self.tables.values().cloned().map(Edit::AddTable));
        edits
    }
}

/// Adds damage `lo..=hi` to `ranges` unless already there, merging past the limit.
pub fn add_damage(ranges: &mut Vec<(Seq, Seq)>, lo: Seq, hi: Seq) {
    assert!(lo <= hi, "damage {lo}..={hi}");
    if ranges.iter().any(|&(l, h)| l <= lo && hi <= h) {
        return;
    }
    ranges.push((lo, hi));
    if ranges.len() > DAMAGE_RANGES_MAX {
        let (a, b) = (ranges.remove(0), ranges.remove(0));
        ranges.insert(0, (a.0.min(b.0), a.1.max(b.1)));
    }
}

const TAG_ADD: u8 = 1;
const TAG_DELETE: u8 = 2;
const TAG_LOG: u8 = 3;
const TAG_NEXT_FILE: u8 = 4;
const TAG_LAST_SEQ: u8 = 5;
const TAG_DAMAGE: u8 = 6;

fn encode_edit(out: &mut Vec<u8>, edit: &Edit) {
    match edit {
        Edit::AddTable(m) => {
            out.push(TAG_ADD);
            for v in [m.number, u64::from(m.level), m.size, m.entries, m.seq_lo, m.seq_hi] {
                put_u64(out, v);
            }
            put_bytes(out, &m.smallest);
            put_bytes(out, &m.largest);
        }
        Edit::DeleteTable { number } => {
            out.push(TAG_DELETE);
            put_u64(out, *number);
        }
        Edit::LogNumber(n) | Edit::NextFile(n) | Edit::LastSeq(n) => {
            out.push(match edit {
                Edit::LogNumber(_) => TAG_LOG,
                Edit::NextFile(_) => TAG_NEXT_FILE,
                _ => TAG_LAST_SEQ,
            });
            put_u64(out, *n);
        }
        Edit::Damage(lo, hi) => {
            out.push(TAG_DAMAGE);
            put_u64(out, *lo);
            put_u64(out, *hi);
        }
    }
}

fn decode_edit(r: &mut Reader<'_>) -> Option<Edit> {
    Some(match r.u8()? {
        TAG_ADD => {
            let (number, level, size, entries) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
            let (seq_lo, seq_hi) = (r.u64()?, r.u64()?);
            let smallest = r.bytes()?.to_vec();
            let largest = r.bytes()?.to_vec();
            let level = u32::try_from(level).ok()?;
            Edit::AddTable(TableMeta {
                number,
                level,
                size,
                entries,
                seq_lo,
                seq_hi,
                smallest,
                largest,
            })
        }
        TAG_DELETE => Edit::DeleteTable { number: r.u64()? },
        TAG_LOG => Edit::LogNumber(r.u64()?),
        TAG_NEXT_FILE => Edit::NextFile(r.u64()?),
        TAG_LAST_SEQ => Edit::LastSeq(r.u64()?),
        TAG_DAMAGE => Edit::Damage(r.u64()?, r.u64()?),
        _ => return None,
    })
}

fn record_crc(manifest_number: u64, offset: u64, len: u32, body: &[u8]) -> u32 {
    let mut prefix = Vec::with_capacity(20);
    put_u64(&mut prefix, manifest_number);
    put_u64(&mut prefix, offset);
    put_u32(&mut prefix, len);
    crc::extend(crc::crc32c(&prefix), body)
}

/// The record of `edits` at `offset` of manifest `manifest_number`.
pub fn encode_record(manifest_number: u64, offset: u64, edits: &[Edit]) -> Vec<u8> {
    assert!(!edits.is_empty(), "an empty manifest record");
    let mut body = Vec::new();
    for edit in edits {
        encode_edit(&mut body, edit);
    }
    let mut out = Vec::with_capacity(body.len() + 8);
    put_u32(&mut out, record_crc(manifest_number, offset, body.len() as u32, &body));
    put_u32(&mut out, body.len() as u32);
    out.extend_from_slice(&body);
    out
}

fn parse_at(data: &[u8], manifest_number: u64, offset: usize) -> Option<(Vec<Edit>, usize)> {
    let mut header = Reader::new(data.get(offset..)?);
    let (stored, len) = (header.u32()?, header.u32()?);
    if len == 0 {
        return None;
    }
    let body = header.take(len as usize)?;
    if record_crc(manifest_number, offset as u64, len, body) != stored {
        return None;
    }
    let mut r = Reader::new(body);
    let mut edits = Vec::new();
    while !r.is_done() {
        edits.push(decode_edit(&mut r)?);
    }
    Some((edits, 8 + len as usize))
}

/// The state manifest `manifest_number` holding `data` describes, and where its valid records
/// end; `Err(why)` if a bad record is followed by a valid one.
pub fn replay(manifest_number: u64, data: &[u8]) -> Result<(State, u64), String> {
    let mut state = State::default();
    let mut position = 0usize;
    let mut records = 0usize;
    while position < data.len() {
        match parse_at(data, manifest_number, position) {
            Some((edits, len)) => {
                edits.iter().for_each(|e| state.apply(e));
                position += len;
                records += 1;
            }
            None => {
                let later = (position + 1..data.len())
                    .find(|&p| parse_at(data, manifest_number, p).is_some());
                if let Some(later) = later {
                    return Err(format!(
                        "record {} at offset {position} is corrupt, yet a valid one follows at \
                         offset {later}",
                        records + 1
                    ));
                }
                break; // the torn last edit: never acknowledged, ignored
            }
        }
    }
    if records == 0 {
        return Err("holds no valid record".to_string());
    }
    Ok((state, position as u64))
}

/// `MANIFEST-NNNNNN`.
pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// The contents of `CURRENT` naming manifest `number`: the name, a newline, and the CRC-32C of
/// the name in hex, so a flipped bit is never taken for another manifest's name.
pub fn encode_current(number: u64) -> Vec<u8> {
    let name = manifest_name(number);
    format!("{name}\n{:08x}\n", crc::crc32c(name.as_bytes())).into_bytes()
}

/// The manifest number `CURRENT`'s contents name, if they check.
pub fn decode_current(data: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(data).ok()?;
    let mut lines = text.split('\n');
    let (name, sum) = (lines.next()?, lines.next()?);
    if lines.next() != Some("") || lines.next().is_some() {
        return None;
    }
    if sum != format!("{:08x}", crc::crc32c(name.as_bytes())) {
        return None;
    }
    name.strip_prefix("MANIFEST-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(number: u64) -> TableMeta {
        TableMeta {
            number,
            level: 1,
            size: 100,
            entries: 3,
            seq_lo: 1,
            seq_hi: 9,
            smallest: b"a".to_vec(),
            largest: b"z".to_vec(),
        }
    }

    #[test]
    fn replays_edits_and_ignores_a_torn_last_one() {
        let mut data = encode_record(4, 0, &[Edit::AddTable(table(7)), Edit::LogNumber(3)]);
        let second = encode_record(4, data.len() as u64, &[Edit::DeleteTable { number: 7 }]);
        data.extend_from_slice(&second[..second.len() - 1]);
        let (state, end) = replay(4, &data).unwrap();
        assert_eq!(state.tables.len(), 1, "the torn delete is ignored");
        assert_eq!(state.log_number, 3);
        assert!(end < data.len() as u64);
        data.truncate(end as usize);
        data.extend_from_slice(&second);
        assert!(replay(4, &data).unwrap().0.tables.is_empty());
        assert!(replay(5, &data).is_err(), "records are bound to their manifest");
    }

    #[test]
    fn a_corrupt_record_followed_by_a_valid_one_is_an_error() {
        let mut data = encode_record(4, 0, &[Edit::AddTable(table(7))]);
        let second = encode_record(4, data.len() as u64, &[Edit::LastSeq(5)]);
        data.extend_from_slice(&second);
        data[12] ^= 1;
        let why = replay(4, &data).unwrap_err();
        assert!(why.contains("corrupt"), "{why}");
    }

    #[test]
    fn current_round_trips_and_rejects_a_flipped_bit() {
        let data = encode_current(12);
        assert_eq!(decode_current(&data), Some(12));
        for bit in 0..data.len() * 8 {
            let mut flipped = data.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(decode_current(&flipped), Some(12), "bit {bit}");
        }
    }

    #[test]
    fn damage_ranges_are_bounded() {
        let mut ranges = Vec::new();
        for i in 0..(DAMAGE_RANGES_MAX as u64 + 5) {
            add_damage(&mut ranges, i * 10, i * 10 + 1);
        }
        add_damage(&mut ranges, 1000, 1001);
        add_damage(&mut ranges, 1000, 1001);
        assert!(ranges.len() <= DAMAGE_RANGES_MAX);
        assert_eq!(ranges[0].0, 0, "merged ranges still cover the oldest");
    }
}
