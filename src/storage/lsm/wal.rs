//! The write-ahead log: `DIR/NNNNNN.log`, one record per write, appended in group-commit
//! batches.
//!
//! A record is `header_crc u32 | body_crc u32 | seq u64 | body_len u32 | body`, the body
//! `kind u8 | key | value` (the key length-prefixed, the value the rest). The header CRC-32C
//! covers the file number and the record's offset as well as the header fields after it, so a
//! record a misdirected write carried elsewhere, or a stale one, never checks, and a damaged
//! header (a length or sequence number that cannot be trusted) is recognised as such; the body
//! CRC-32C, bound to the place by the header, covers the body. A body shorter than its fixed
//! fields, kind 0 or sequence number 0 is invalid, so all-zero bytes are never a record.
//!
//! Replay reads the WALs in file order. A crash tears only the last write, leaving a strict
//! prefix of it, so a *torn tail* is a record cut short by the end of the file: fewer bytes
//! than a header (or a header of zeros: nothing was written there), or a valid header whose
//! body runs past the end. It was never synced, and is cut off. Anything else that does not
//! check is *corruption*, and the sequence numbers it may have held become a
//! [`crate::storage::Damage`]: a bad record followed by a valid one loses the numbers between
//! the two valid records around it; a bad last record whose whole length is present loses its
//! own (its header names it); a damaged last header loses as many numbers as the bytes after
//! it could hold records.
//!
//! Sequence numbers run on without a gap across the WALs, except over numbers recorded as
//! damage. A valid record after a *missing* number is past the end of the log: a rotation
//! leaves the old memtable's unwritten records to its flush, so a crash before the flush is
//! done can keep a later WAL's records without those. The missing write was never durable,
//! so neither was anything after it (a disk completes fsyncs in issue order, and every write
//! is reported durable only with every earlier one): replay ends there, and recovery cuts
//! the rest of the log off, so the missing write never reappears behind a later one and its
//! number can be given to a new write.

use super::codec::{put_bytes, put_u32, put_u64, Reader};
use super::{KEY_BYTES_MAX, VALUE_BYTES_MAX};
use crate::storage::crc;
use crate::storage::Seq;

/// `header_crc | body_crc | seq | body_len`.
const HEADER_BYTES: usize = 4 + 4 + 8 + 4;
const BODY_BYTES_MIN: usize = 1 + 4;
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

fn header_crc(file_number: u64, offset: u64, body_crc: u32, seq: Seq, body_len: u32) -> u32 {
    let mut fields = Vec::with_capacity(32);
    put_u64(&mut fields, file_number);
    put_u64(&mut fields, offset);
    put_u32(&mut fields, body_crc);
    put_u64(&mut fields, seq);
    put_u32(&mut fields, body_len);
    crc::crc32c(&fields)
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
    let start = out.len();
    let mut body = Vec::with_capacity(BODY_BYTES_MIN + key.len() + value.map_or(0, <[u8]>::len));
    body.push(if value.is_some() { KIND_PUT } else { KIND_TOMBSTONE });
    put_bytes(&mut body, key);
    body.extend_from_slice(value.unwrap_or_default());
    let body_len = body.len() as u32;
    let body_crc = crc::crc32c(&body);
    put_u32(out, header_crc(file_number, offset, body_crc, seq, body_len));
    put_u32(out, body_crc);
    put_u64(out, seq);
    put_u32(out, body_len);
    out.extend_from_slice(&body);
    assert_eq!(out.len() - start, HEADER_BYTES + body.len(), "one record appended");
}

/// What the bytes at one offset of a WAL are.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// A valid record, and its length.
    Record(Record, usize),
    /// A torn tail: fewer bytes than a header, a header of zeros (nothing was written), or a
    /// valid header whose body is cut short by the end of the file.
    Torn,
    /// The header does not check: its fields cannot be trusted.
    BadHeader,
    /// The header checks (it names write `seq`) and the whole body is present, but the body
    /// does not check.
    BadBody { seq: Seq },
}

/// Parses the record at `offset` of `data`. With `no_checksum` (a bug knob) neither CRC is
/// checked and a record cut short by the end of the file is zero-filled, so a torn record
/// becomes data.
fn parse_at(data: &[u8], file_number: u64, offset: usize, no_checksum: bool) -> Parsed {
    let Some(header) = data.get(offset..offset + HEADER_BYTES) else { return Parsed::Torn };
    if header.iter().all(|&b| b == 0) {
        return Parsed::Torn;
    }
    let mut fields = Reader::new(header);
    let (stored_header_crc, body_crc) = (fields.u32().expect("4"), fields.u32().expect("4"));
    let (seq, body_len) = (fields.u64().expect("8"), fields.u32().expect("4"));
    let checks = header_crc(file_number, offset as u64, body_crc, seq, body_len);
    let body_len = body_len as usize;
    if !no_checksum && checks != stored_header_crc {
        return Parsed::BadHeader;
    }
    if !(BODY_BYTES_MIN..=BODY_BYTES_MAX).contains(&body_len) || seq == 0 {
        return Parsed::BadHeader; // only with the checksum off: a valid header never says so
    }
    let start = offset + HEADER_BYTES;
    let padded;
    let body = match data.get(start..start + body_len) {
        Some(body) => body,
        None if no_checksum => {
            let mut owned = data[start..].to_vec();
            owned.resize(body_len, 0);
            padded = owned;
            &padded
        }
        None => return Parsed::Torn,
    };
    if !no_checksum && crc::crc32c(body) != body_crc {
        return Parsed::BadBody { seq };
    }
    match decode_body(body, seq) {
        Some(record) => Parsed::Record(record, HEADER_BYTES + body_len),
        None => Parsed::BadBody { seq },
    }
}

fn decode_body(body: &[u8], seq: Seq) -> Option<Record> {
    let mut r = Reader::new(body);
    let kind = r.u8()?;
    let key = r.bytes()?.to_vec();
    let rest = r.take(r.remaining())?;
    let value = match kind {
        KIND_PUT => Some(rest.to_vec()),
        KIND_TOMBSTONE if rest.is_empty() => None,
        _ => return None,
    };
    (key.len() <= KEY_BYTES_MAX).then_some(Record { seq, key, value })
}

/// What replay found in one WAL file.
#[derive(Debug, Default)]
pub struct FileReplay {
    /// Bytes up to the end of the last valid record (replayed: up to the gap, if one ended
    /// the log).
    pub valid_end: u64,
    /// True if the log ended in this file at `valid_end`: the record there follows a missing
    /// write (see the module doc), so it and everything after it is to be cut off.
    pub gap: bool,
    /// True if what follows `valid_end` is a corrupt last record rather than a torn tail: it
    /// is damage, and the file must not be cut (the damage is found again at the next open
    /// until a flush retires the WAL, so a crash before the new manifest records it loses
    /// nothing).
    pub tail_damaged: bool,
}

/// Replays WAL files in order, carrying across files what it needs to tell a torn tail from
/// corruption.
#[derive(Debug, Default)]
pub struct Replayer {
    /// Every valid record, in file order.
    pub records: Vec<Record>,
    /// Sequence-number ranges lost to corruption.
    pub damage: Vec<(Seq, Seq)>,
    /// Bad records seen (torn tails and corruption).
    pub bad_records: u64,
    /// The newest valid record's sequence number so far (or the newest the tables hold).
    last_good_seq: Seq,
    /// A bad record no valid one has followed yet.
    unresolved_bad: bool,
    /// Damage recorded before this replay (in the manifest): numbers a gap may skip.
    known_damage: Vec<(Seq, Seq)>,
    /// A gap ended the log: later files hold nothing to replay.
    pub ended: bool,
}

impl Replayer {
    /// A replayer for WALs whose records all follow write `flushed_seq` (the newest write the
    /// tables hold), so damage is never reported below it.
    pub fn after(flushed_seq: Seq) -> Self {
        Replayer { last_good_seq: flushed_seq, ..Replayer::default() }
    }

    /// The same, knowing that writes in `damage` (ranges recorded earlier) are lost: the log
    /// may skip their numbers.
    pub fn with_known_damage(mut self, damage: &[(Seq, Seq)]) -> Self {
        self.known_damage = damage.to_vec();
        self
    }

    /// True if write `seq` follows a missing write: a number after the newest valid record
    /// that no damage accounts for. After a bad record the numbers between are damage instead
    /// (see [`Replayer::accept`]).
    fn follows_gap(&self, seq: Seq) -> bool {
        if self.unresolved_bad {
            return false;
        }
        let ranges = || self.known_damage.iter().chain(&self.damage);
        let mut covered = self.last_good_seq;
        while let Some(&(_, hi)) = ranges().find(|&&(lo, hi)| lo <= covered + 1 && hi > covered) {
            covered = hi;
        }
        seq > covered + 1
    }

    /// Replays file `file_number` holding `data`.
    pub fn replay_file(&mut self, file_number: u64, data: &[u8], no_checksum: bool) -> FileReplay {
        assert!(!self.ended, "replay past the end of the log");
        let mut position = 0usize;
        let mut valid_end = 0usize;
        while position < data.len() {
            let parsed = parse_at(data, file_number, position, no_checksum);
            if let Parsed::Record(record, len) = parsed {
                if self.follows_gap(record.seq) {
                    self.ended = true;
                    return FileReplay {
                        valid_end: position as u64,
                        tail_damaged: false,
                        gap: true,
                    };
                }
                self.accept(record);
                position += len;
                valid_end = position;
                continue;
            }
            self.bad_records += 1;
            self.unresolved_bad = true;
            // Look for a later valid record: one there means this was not the tail. The header
            // CRC covers the offset, so only a record written at that very offset checks.
            let later = (position + 1..data.len()).find(|&p| {
                matches!(parse_at(data, file_number, p, no_checksum), Parsed::Record(..))
            });
            match later {
                Some(next) => position = next,
                None => {
                    let tail_damaged = self.bad_tail(&parsed, data.len() - position);
                    return FileReplay { valid_end: valid_end as u64, tail_damaged, gap: false };
                }
            }
        }
        FileReplay { valid_end: valid_end as u64, tail_damaged: false, gap: false }
    }

    /// The last record of a file did not check and nothing valid follows it: a torn tail
    /// (false) or damage to a record that was written whole (true, recorded).
    fn bad_tail(&mut self, parsed: &Parsed, tail_bytes: usize) -> bool {
        let lo = self.last_good_seq + 1;
        let hi = match *parsed {
            Parsed::Torn => {
                // Cut off, never synced: not corruption, so a record in a later file must
                // follow on from the last valid one (or it is past the end of the log).
                self.unresolved_bad = false;
                return false;
            }
            Parsed::BadBody { seq } => seq.max(lo),
            Parsed::BadHeader => self.last_good_seq + tail_bytes.div_ceil(RECORD_BYTES_MIN) as u64,
            Parsed::Record(..) => unreachable!("a valid record is not a bad tail"),
        };
        assert!(lo <= hi, "tail damage {lo}..={hi}");
        self.damage.push((lo, hi));
        self.unresolved_bad = false; // accounted for: a later valid record adds nothing more
        true
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
        assert_eq!(parse_at(&data, 10, 0, false), Parsed::BadHeader, "another file");
        let mut moved = vec![0; 512];
        moved.extend_from_slice(&data);
        assert_eq!(parse_at(&moved, 9, 512, false), Parsed::BadHeader, "another offset");
        let passes = matches!(parse_at(&moved, 9, 512, true), Parsed::Record(..));
        assert!(passes, "without the checksum it passes");
    }

    fn three() -> (Vec<u8>, usize) {
        let data = log(&[(1, b"a", Some(b"x")), (2, b"b", Some(b"y")), (3, b"c", Some(b"zzzz"))]);
        let last = log(&[(1, b"a", Some(b"x")), (2, b"b", Some(b"y"))]).len();
        (data, last)
    }

    #[test]
    fn every_tear_of_the_last_record_is_cut_and_is_not_damage() {
        let (data, last) = three();
        for cut in last + 1..data.len() {
            let mut replay = Replayer::default();
            let file = replay.replay_file(9, &data[..cut], false);
            assert_eq!(replay.records.len(), 2, "cut at {cut}");
            assert!(replay.damage.is_empty() && !file.tail_damaged, "cut at {cut}: a tear");
            assert_eq!(file.valid_end, last as u64);
        }
    }

    #[test]
    fn a_corrupt_last_record_is_damage_not_a_tear() {
        let (data, last) = three();
        for byte in last..data.len() {
            for bit in [0, 5] {
                let mut flipped = data.clone();
                flipped[byte] ^= 1 << bit;
                let mut replay = Replayer::after(0);
                let file = replay.replay_file(9, &flipped, false);
                assert_eq!(replay.records.len(), 2, "byte {byte}");
                assert!(file.tail_damaged, "byte {byte} bit {bit}: damage, not a tear");
                let (lo, hi) = replay.damage[0];
                assert!(lo == 3 && hi >= 3, "byte {byte}: {:?}", replay.damage);
                if byte >= last + HEADER_BYTES {
                    assert_eq!(replay.damage, vec![(3, 3)], "the header names the lost write");
                }
            }
        }
    }

    #[test]
    fn a_missing_write_ends_the_log_unless_damage_accounts_for_it() {
        let first = log(&[(1, b"a", Some(b"x")), (2, b"b", Some(b"y"))]);
        let mut second = Vec::new();
        encode(&mut second, 10, 0, 4, b"c", None); // write 3 was never written
        let mut replay = Replayer::after(0);
        assert!(!replay.replay_file(9, &first, false).gap);
        let file = replay.replay_file(10, &second, false);
        assert!(file.gap && file.valid_end == 0 && replay.ended, "{file:?}");
        assert_eq!(replay.records.len(), 2);
        assert!(replay.damage.is_empty(), "an unwritten write is no damage");
        let mut known = Replayer::after(0).with_known_damage(&[(3, 3)]);
        known.replay_file(9, &first, false);
        assert!(!known.replay_file(10, &second, false).gap, "write 3 is known lost");
        assert_eq!(known.records.len(), 3);
    }

    #[test]
    fn damage_never_reaches_below_what_the_tables_hold() {
        let data = log(&[(11, b"a", Some(b"x")), (12, b"b", Some(b"y"))]);
        let mut flipped = data.clone();
        flipped[3] ^= 1; // the first record's header
        let mut replay = Replayer::after(10);
        replay.replay_file(9, &flipped, false);
        assert_eq!(replay.damage, vec![(11, 11)]);
    }
}
