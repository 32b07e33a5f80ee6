//! The write-ahead log: `DIR/NNNNNN.log`, one record per write, appended in group-commit
//! batches.
//!
//! A record is `crc u32 | body_len u32 | body`, the body `seq u64 | kind u8 | key | value`
//! (the key length-prefixed, the value the rest). The CRC-32C covers the file number and the
//! record's offset as well as the length and body, so a record a misdirected write carried
//! elsewhere, or a stale one, never checks; a body shorter than its fixed fields, kind 0 or
//! sequence number 0 is invalid, so all-zero bytes are never a record.
//!
//! Replay reads the WALs in file order. A bad record with nothing valid after it, in that file
//! or any later one, is a torn tail: it was the one unsynced write, and is cut off. A bad record
//! followed by a valid one is corruption: the sequence numbers between the two valid records
//! around it become a [`crate::storage::Damage`].

use super::codec::{put_bytes, put_u32, put_u64, Reader};
use super::{KEY_BYTES_MAX, VALUE_BYTES_MAX};
use crate::storage::crc;
use crate::storage::Seq;

const HEADER_BYTES: usize = 8;
const BODY_BYTES_MIN: usize = 8 + 1 + 4;
const BODY_BYTES_MAX: usize = BODY_BYTES_MIN + KEY_BYTES_MAX + VALUE_BYTES_MAX;
/// The smallest record: header and fixed body fields.
pub const RECORD_BYTES_MIN: usize = HEADER_BYTES + BODY_BYTES_MIN;
const KIND_PUT: u8 = 1;
const KIND_TOMBSTONE: u8 = 2;

/// One write as the WAL holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: Seq,
    pub key: Vec<u8>,
    /// `None` for a delete.
    pub value: Option<Vec<u8>>,
}

fn record_crc(file_number: u64, offset: u64, body_len: u32, body: &[u8]) -> u32 {
    let mut prefix = Vec::with_capacity(20);
    put_u64(&mut prefix, file_number);
    put_u64(&mut prefix, offset);
    put_u32(&mut prefix, body_len);
    crc::extend(crc::crc32c(&prefix), body)
}

/// Appends the record of write `seq` to `out`, for offset `offset` of WAL `file_number`.
pub fn encode(
    out: &mut Vec<u8>,
    file_number: u64,
    offset: u64,
    seq: Seq,
    key: &[u8],
    value: Option<&[u8]>,
) {
    assert!(seq >= 1 && key.len() <= KEY_BYTES_MAX, "record {seq} of {} key bytes", key.len());
    let mut body = Vec::with_capacity(BODY_BYTES_MIN + key.len() + value.map_or(0, <[u8]>::len));
    put_u64(&mut body, seq);
    body.push(if value.is_some() { KIND_PUT } else { KIND_TOMBSTONE });
    put_bytes(&mut body, key);
    body.extend_from_slice(value.unwrap_or_default());
    let body_len = body.len() as u32;
    put_u32(out, record_crc(file_number, offset, body_len, &body));
    put_u32(out, body_len);
    out.extend_from_slice(&body);
}

/// Parses the record at `offset` of `data`; its length on success. With `no_checksum` (a bug
/// knob) the CRC is not checked and a record cut short by the end of the file is zero-filled,
/// so a torn record becomes data.
fn parse_at(
    data: &[u8],
    file_number: u64,
    offset: usize,
    no_checksum: bool,
) -> Option<(Record, usize)> {
    let mut header = Reader::new(data.get(offset..)?);
    let stored_crc = header.u32()?;
    let body_len = header.u32()? as usize;
    if !(BODY_BYTES_MIN..=BODY_BYTES_MAX).contains(&body_len) {
        return None;
    }
    let start = offset + HEADER_BYTES;
    let padded;
    let body = match data.get(start..start + body_len) {
        Some(body) => body,
        None if no_checksum => {
            let mut owned = data.get(start..)?.to_vec();
            owned.resize(body_len, 0);
            padded = owned;
            &padded
        }
        None => return None,
    };
    if !no_checksum && record_crc(file_number, offset as u64, body_len as u32, body) != stored_crc {
        return None;
    }
    let mut r = Reader::new(body);
    let seq = r.u64()?;
    let kind = r.u8()?;
    let key = r.bytes()?.to_vec();
    let rest = r.take(r.remaining())?;
    let value = match kind {
        KIND_PUT => Some(rest.to_vec()),
        KIND_TOMBSTONE if rest.is_empty() => None,
        _ => return None,
    };
    if seq == 0 || key.len() > KEY_BYTES_MAX {
        return None;
    }
    Some((Record { seq, key, value }, HEADER_BYTES + body_len))
}

/// What replay found in one WAL file.
#[derive(Debug, Default)]
pub struct FileReplay {
    /// Bytes up to the end of the last valid record: the file is cut here if it is longer.
    pub valid_end: u64,
}

/// Replays WAL files in order, carrying across files what it needs to tell a torn tail from
/// corruption.
#[derive(Debug, Default)]
pub struct Replayer {
    /// Every valid record, in file order.
    pub records: Vec<Record>,
    /// Sequence-number ranges lost to corruption (a bad record followed by a valid one).
    pub damage: Vec<(Seq, Seq)>,
    /// Bad records seen (torn tails and corruption).
    pub bad_records: u64,
    /// The newest valid record's sequence number so far.
    last_good_seq: Seq,
    /// A bad record no valid one has followed yet: where it was.
    unresolved_bad: bool,
}

impl Replayer {
    /// Replays file `file_number` holding `data`.
    pub fn replay_file(&mut self, file_number: u64, data: &[u8], no_checksum: bool) -> FileReplay {
        let mut position = 0usize;
        let mut valid_end = 0usize;
        while position < data.len() {
            if let Some((record, len)) = parse_at(data, file_number, position, no_checksum) {
                self.accept(record);
                position += len;
                valid_end = position;
                continue;
            }
            self.bad_records += 1;
            self.unresolved_bad = true;
            // Look for a later valid record: one there means this was not the torn tail. The
            // CRC covers the offset, so only a record written at that very offset checks.
            match (position + 1..data.len())
                .find(|&p| parse_at(data, file_number, p, no_checksum).is_some())
            {
                Some(next) => position = next,
                None => break,
            }
        }
        FileReplay { valid_end: valid_end as u64 }
    }

    /// Records that the file just replayed had unreadable sectors (read as zeros) and that
    /// `lost_bytes` after its last valid record could not be read: the records they held are
    /// lost. Each takes at least [`RECORD_BYTES_MIN`] bytes, which bounds their sequence numbers.
    pub fn unreadable_tail(&mut self, lost_bytes: u64) {
        if lost_bytes == 0 {
            return;
        }
        let records = lost_bytes.div_ceil(RECORD_BYTES_MIN as u64);
        self.damage.push((self.last_good_seq + 1, self.last_good_seq + records));
        self.unresolved_bad = false; // accounted for: a later valid record adds nothing more
    }

    fn accept(&mut self, record: Record) {
        if self.unresolved_bad {
            self.unresolved_bad = false;
            let (lo, hi) = (self.last_good_seq + 1, record.seq.saturating_sub(1));
            if lo <= hi {
                self.damage.push((lo, hi));
            }
        }
        self.last_good_seq = self.last_good_seq.max(record.seq);
        self.records.push(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Write<'a> = (Seq, &'a [u8], Option<&'a [u8]>);

    fn log(records: &[Write<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        for &(seq, key, value) in records {
            let offset = out.len() as u64;
            encode(&mut out, 9, offset, seq, key, value);
        }
        out
    }

    #[test]
    fn round_trips_and_all_zero_bytes_are_no_record() {
        let data = log(&[(1, b"a", Some(b"x")), (2, b"a", None)]);
        let mut replay = Replayer::default();
        let file = replay.replay_file(9, &data, false);
        assert_eq!(file.valid_end, data.len() as u64);
        assert_eq!(replay.records[1], Record { seq: 2, key: b"a".to_vec(), value: None });
        let mut zeros = Replayer::default();
        assert_eq!(zeros.replay_file(9, &[0; 64], false).valid_end, 0);
        assert!(zeros.records.is_empty() && zeros.damage.is_empty());
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_bad_middle_is_damage() {
        let data = log(&[(1, b"a", Some(b"x")), (2, b"b", Some(b"y")), (3, b"c", Some(b"z"))]);
        let first = log(&[(1, b"a", Some(b"x"))]).len();
        let mut torn = Replayer::default();
        let cut = torn.replay_file(9, &data[..data.len() - 2], false);
        assert_eq!(torn.records.len(), 2);
        assert!(torn.damage.is_empty(), "a torn tail is not damage");
        assert!(cut.valid_end < data.len() as u64);
        let mut flipped = data.clone();
        flipped[first + 10] ^= 4; // inside record 2
        let mut damaged = Replayer::default();
        damaged.replay_file(9, &flipped, false);
        assert_eq!(damaged.records.len(), 2);
        assert_eq!(damaged.damage, vec![(2, 2)]);
    }

    #[test]
    fn a_record_is_only_valid_in_its_file_at_its_offset() {
        let data = log(&[(1, b"a", Some(b"x"))]);
        assert!(parse_at(&data, 10, 0, false).is_none(), "another file");
        let mut moved = vec![0; 512];
        moved.extend_from_slice(&data);
        assert!(parse_at(&moved, 9, 512, false).is_none(), "another offset");
        assert!(parse_at(&moved, 9, 512, true).is_some(), "without the checksum it passes");
    }
}
