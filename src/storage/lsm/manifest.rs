//! The manifest: which tables are live at which level, and the numbers recovery needs.
//!
//! `CURRENT` names the live manifest, a log of records, each a batch of [`Edit`]s:
//! `header_crc u32 | body_crc u32 | len u32 | edits`, the header CRC-32C covering the
//! manifest's number, the record's offset, the body CRC and the length (so a damaged length is
//! seen as damage, never as a record cut short), the body CRC-32C the edits. A new manifest
//! starts with a snapshot of the whole state.
//!
//! As ZFS and btrfs keep "ditto" copies of their metadata, every manifest is kept twice, in
//! two files ([`copy_names`]) written with the same bytes at the same offsets: each edit is
//! appended to both and both are fsynced before it counts as durable, and a new manifest's two
//! copies are installed together. [`replay`] reconciles them record by record, so one bit
//! flip, latent sector error or misdirected write in either copy loses nothing. If `CURRENT`
//! itself cannot be read, recovery opens the newest manifest instead (see `recovery`).

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

/// `header_crc | body_crc | len`.
const HEADER_BYTES: usize = 4 + 4 + 4;

fn header_crc(manifest_number: u64, offset: u64, body_crc: u32, len: u32) -> u32 {
    let mut fields = Vec::with_capacity(24);
    put_u64(&mut fields, manifest_number);
    put_u64(&mut fields, offset);
    put_u32(&mut fields, body_crc);
    put_u32(&mut fields, len);
    crc::crc32c(&fields)
}

/// The record of `edits` at `offset` of manifest `manifest_number` (the same bytes for both
/// copies).
pub fn encode_record(manifest_number: u64, offset: u64, edits: &[Edit]) -> Vec<u8> {
    assert!(!edits.is_empty(), "an empty manifest record");
    let mut body = Vec::new();
    for edit in edits {
        encode_edit(&mut body, edit);
    }
    let (len, body_crc) = (body.len() as u32, crc::crc32c(&body));
    let mut out = Vec::with_capacity(body.len() + HEADER_BYTES);
    put_u32(&mut out, header_crc(manifest_number, offset, body_crc, len));
    put_u32(&mut out, body_crc);
    put_u32(&mut out, len);
    out.extend_from_slice(&body);
    assert_eq!(out.len(), HEADER_BYTES + body.len(), "one record");
    out
}

/// What one copy holds at one offset.
#[derive(Debug, PartialEq, Eq)]
enum Slot {
    /// A valid record: its edits and length.
    Valid(Vec<Edit>, usize),
    /// Cut short by the end of the copy (nothing there at all, part of a header, or a valid
    /// header whose body runs past the end): a write that never completed in this copy.
    Incomplete,
    /// Bytes that were written (or landed) there but do not check.
    Corrupt,
}

fn parse_at(data: &[u8], manifest_number: u64, offset: usize) -> Slot {
    let Some(header) = data.get(offset..offset + HEADER_BYTES) else { return Slot::Incomplete };
    let mut fields = Reader::new(header);
    let (stored, body_crc, len) =
        (fields.u32().expect("4"), fields.u32().expect("4"), fields.u32().expect("4"));
    if header_crc(manifest_number, offset as u64, body_crc, len) != stored || len == 0 {
        return Slot::Corrupt;
    }
    let start = offset + HEADER_BYTES;
    let Some(body) = data.get(start..start + len as usize) else { return Slot::Incomplete };
    if crc::crc32c(body) != body_crc {
        return Slot::Corrupt;
    }
    let mut r = Reader::new(body);
    let mut edits = Vec::new();
    while !r.is_done() {
        match decode_edit(&mut r) {
            Some(edit) => edits.push(edit),
            None => return Slot::Corrupt,
        }
    }
    Slot::Valid(edits, HEADER_BYTES + len as usize)
}

/// The state manifest `manifest_number` describes, read from its two copies (a missing or
/// unreadable copy is passed as what could be read, zeros for unreadable sectors), and where
/// its valid records end; `Err(why)` if a record is lost in both copies.
///
/// The copies hold the same records at the same offsets, so they are reconciled record by
/// record: a record valid in either copy is used. A record bad in both is a torn last edit if
/// nothing valid follows in either copy and it is incomplete in at least one: an edit counts
/// as durable only once both copies are fsynced, so one that never reached the end of a copy
/// was never acknowledged, and is ignored. Otherwise it was written whole to both and is gone,
/// and the store cannot be opened (it would not know which tables hold the data).
pub fn replay(manifest_number: u64, copies: [&[u8]; 2]) -> Result<(State, u64), String> {
    let mut state = State::default();
    let mut position = 0usize;
    let mut records = 0usize;
    let end = copies[0].len().max(copies[1].len());
    while position < end {
        let slots = copies.map(|data| parse_at(data, manifest_number, position));
        if let Some(Slot::Valid(edits, len)) = slots.iter().find(|s| matches!(s, Slot::Valid(..))) {
            edits.iter().for_each(|e| state.apply(e));
            position += len;
            records += 1;
            continue;
        }
        let later = copies.iter().filter_map(|data| {
            (position + 1..data.len())
                .find(|&p| matches!(parse_at(data, manifest_number, p), Slot::Valid(..)))
        });
        if let Some(later) = later.min() {
            return Err(format!(
                "record {} at offset {position} is corrupt in both copies, yet a valid one \
                 follows at offset {later}",
                records + 1
            ));
        }
        if slots.contains(&Slot::Incomplete) {
            break; // the torn last edit: never acknowledged, ignored
        }
        return Err(format!(
            "the last record ({}, at offset {position}) is corrupt in both copies",
            records + 1
        ));
    }
    if records == 0 {
        return Err("holds no valid record in either copy".to_string());
    }
    Ok((state, position as u64))
}

/// `MANIFEST-NNNNNN`, the first copy.
pub fn manifest_name(number: u64) -> String {
    format!("MANIFEST-{number:06}")
}

/// The names of manifest `number`'s two copies: `MANIFEST-NNNNNN` and `MANIFEST-NNNNNN.copy`.
/// Two files, so one latent sector error or one misdirected write never hits both.
pub fn copy_names(number: u64) -> [String; 2] {
    let first = manifest_name(number);
    let second = format!("{first}{COPY_SUFFIX}");
    [first, second]
}

/// The suffix of a manifest's second copy.
pub const COPY_SUFFIX: &str = ".copy";

/// The manifest number in the name of either copy (`None` for a temporary or another file).
pub fn manifest_number_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("MANIFEST-")?;
    let digits = digits.strip_suffix(COPY_SUFFIX).unwrap_or(digits);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())?
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
        let (state, end) = replay(4, [&data, &data]).unwrap();
        assert_eq!(state.tables.len(), 1, "the torn delete is ignored");
        assert_eq!(state.log_number, 3);
        assert!(end < data.len() as u64);
        data.truncate(end as usize);
        data.extend_from_slice(&second);
        assert!(replay(4, [&data, &data]).unwrap().0.tables.is_empty());
        assert!(replay(5, [&data, &data]).is_err(), "records are bound to their manifest");
    }

    /// Three records; the offsets where each starts.
    fn three() -> (Vec<u8>, Vec<usize>) {
        let mut data = encode_record(4, 0, &[Edit::AddTable(table(7)), Edit::LogNumber(3)]);
        let mut starts = vec![0];
        for edits in [vec![Edit::LastSeq(5)], vec![Edit::DeleteTable { number: 7 }]] {
            starts.push(data.len());
            let record = encode_record(4, data.len() as u64, &edits);
            data.extend_from_slice(&record);
        }
        (data, starts)
    }

    fn expected() -> State {
        let (data, _) = three();
        replay(4, [&data, &data]).unwrap().0
    }

    #[test]
    fn a_flip_anywhere_in_one_copy_loses_nothing() {
        let (data, _) = three();
        let want = expected();
        assert!(want.tables.is_empty() && want.last_seq == 5 && want.log_number == 3);
        for bit in 0..data.len() * 8 {
            let mut flipped = data.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            for copies in [[&flipped[..], &data[..]], [&data[..], &flipped[..]]] {
                let (state, end) = replay(4, copies).unwrap_or_else(|e| panic!("bit {bit}: {e}"));
                assert_eq!(state, want, "bit {bit}");
                assert_eq!(end, data.len() as u64, "bit {bit}");
            }
        }
    }

    #[test]
    fn an_unreadable_or_missing_copy_loses_nothing() {
        let (data, _) = three();
        for sector in 0..data.len().div_ceil(32) {
            let mut zeroed = data.clone();
            let range = sector * 32..((sector + 1) * 32).min(data.len());
            zeroed[range].fill(0);
            assert_eq!(replay(4, [&zeroed, &data]).unwrap().0, expected(), "{sector}");
        }
        assert_eq!(replay(4, [&[], &data]).unwrap().0, expected(), "a missing first copy");
        assert_eq!(replay(4, [&data, &[]]).unwrap().0, expected(), "a missing second copy");
    }

    #[test]
    fn a_record_bad_in_both_copies_refuses_unless_it_is_a_torn_tail() {
        let (data, starts) = three();
        for (index, &start) in starts.iter().enumerate() {
            let (mut a, mut b) = (data.clone(), data.clone());
            a[start + 1] ^= 1; // the header
            b[start + HEADER_BYTES] ^= 2; // the body
            let why = replay(4, [&a, &b]).unwrap_err();
            assert!(why.contains("corrupt in both copies"), "record {index}: {why}");
        }
        let last = starts[2];
        let mut corrupt = data.clone();
        corrupt[last + HEADER_BYTES + 1] ^= 8;
        let torn = &data[..data.len() - 3];
        let (state, end) = replay(4, [&corrupt, torn]).unwrap();
        assert_eq!(end, last as u64, "torn in one copy: never durable, ignored");
        assert_eq!(state.tables.len(), 1);
        let short = &data[..last + 5]; // not even a whole header
        assert_eq!(replay(4, [short, torn]).unwrap().1, last as u64);
        let why = replay(4, [&[], &[]]).unwrap_err();
        assert!(why.contains("no valid record"), "{why}");
    }

    #[test]
    fn garbage_past_the_end_of_one_copy_is_no_record() {
        let (data, _) = three();
        let mut landed = data.clone();
        landed.resize(data.len().next_multiple_of(64), 0);
        landed.extend_from_slice(&encode_record(4, 0, &[Edit::LastSeq(99)])); // misdirected
        let (state, end) = replay(4, [&landed, &data]).unwrap();
        assert_eq!((state, end), (expected(), data.len() as u64));
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
