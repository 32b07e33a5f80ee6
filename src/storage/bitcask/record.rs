//! The on-disk record of a segment, and its checksum.
//!
//! ```text
//! crc u32 | header_crc u32 | kind u8 | seq u64 | key_len u32 | value_len u32 | key | value
//! ```
//! (little-endian). The CRC-32C covers the segment's number and the record's offset in the
//! file (neither is stored: the reader knows where it reads), then every byte after the CRC.
//! `header_crc` covers the segment, the offset and the fixed fields after it, so a header is
//! trusted on its own: a tear leaves a strict prefix of what was written (a header cut short,
//! or a whole header whose record runs past the end of the file), while a header that is
//! whole but fails its own checksum was damaged at rest. Recovery tells the two apart by this. A record that a
//! misdirected write put in the wrong place, or a stale one a reader finds where it expected
//! another, fails its checksum. `kind` is 1 (a put) or 2 (a tombstone), with bit
//! [`FLAG_MERGED`] set on records a merge wrote; a zero kind is never valid, so neither is an
//! all-zero header, whatever its checksum.

use crate::storage::crc;
use crate::storage::Seq;

/// Bytes of a record's header.
pub const HEADER_BYTES: usize = 25;
/// Longest key (64 KiB); a longer one is a caller's bug and panics.
pub const KEY_BYTES_MAX: usize = 64 << 10;
/// Longest value (1 MiB); a longer one is a caller's bug and panics.
pub const VALUE_BYTES_MAX: usize = 1 << 20;

const KIND_PUT: u8 = 1;
const KIND_TOMBSTONE: u8 = 2;
/// Set in `kind` on the records a merge copied.
pub const FLAG_MERGED: u8 = 0x10;

/// A record's fields, as found in a buffer; `key` and `value` index that buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub seq: Seq,
    pub tombstone: bool,
    pub merged: bool,
    pub key: std::ops::Range<usize>,
    pub value: std::ops::Range<usize>,
    /// The record's length on disk.
    pub length: u64,
}

/// The bytes a record of this key and value takes.
pub fn record_bytes(key_len: usize, value_len: usize) -> u64 {
    (HEADER_BYTES + key_len + value_len) as u64
}

fn checksum(segment: u32, offset: u64, after_crc: &[u8]) -> u32 {
    let mut place = [0u8; 12];
    place[..4].copy_from_slice(&segment.to_le_bytes());
    place[4..].copy_from_slice(&offset.to_le_bytes());
    crc::extend(crc::extend(0, &place), after_crc)
}

/// The header's own checksum: the place, then the fixed fields after `header_crc`.
fn header_checksum(segment: u32, offset: u64, fields: &[u8]) -> u32 {
    debug_assert_eq!(fields.len(), HEADER_BYTES - 8);
    checksum(segment, offset, fields) ^ 0x4844_5221 // "HDR!": never equal to the record's CRC
}

/// True if the header at `at` of `data` (whole) checks against its place.
fn header_valid(data: &[u8], at: usize, segment: u32, offset: u64) -> bool {
    u32_at(data, at + 4) == header_checksum(segment, offset, &data[at + 8..at + HEADER_BYTES])
}

/// Appends to `out` the record of a put (`tombstone` false) or a delete of `key`, to be
/// written at `offset` of segment `segment`.
#[allow(clippy::too_many_arguments)]
pub fn encode(
    out: &mut Vec<u8>,
    segment: u32,
    offset: u64,
    seq: Seq,
    tombstone: bool,
    merged: bool,
    key: &[u8],
    value: &[u8],
) {
    assert!(key.len() <= KEY_BYTES_MAX, "key of {} bytes over the limit", key.len());
    assert!(value.len() <= VALUE_BYTES_MAX, "value of {} bytes over the limit", value.len());
    assert!(seq > 0 && (!tombstone || value.is_empty()), "seq {seq} or a tombstone's value");
    let start = out.len();
    let kind = if tombstone { KIND_TOMBSTONE } else { KIND_PUT };
    out.extend_from_slice(&[0; 8]);
    out.push(kind | if merged { FLAG_MERGED } else { 0 });
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    let header_crc = header_checksum(segment, offset, &out[start + 8..start + HEADER_BYTES]);
    out[start + 4..start + 8].copy_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    let crc = checksum(segment, offset, &out[start + 4..]);
    out[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}

/// The record at `at` of `data`, where `data[at]` is offset `offset` of segment `segment`;
/// `None` if no valid record starts there. With `verify` false (the `no_checksum` bug) the
/// checksum is not looked at and a value cut short by the end of `data` reads as zeros, the
/// way a reader that trusts the header would see a torn record.
pub fn decode(data: &[u8], at: usize, segment: u32, offset: u64, verify: bool) -> Option<Parsed> {
    if data.len() < at + HEADER_BYTES {
        return None;
    }
    if verify && !header_valid(data, at, segment, offset) {
        return None;
    }
    let kind = data[at + 8];
    let tombstone = match kind & !FLAG_MERGED {
        KIND_PUT => false,
        KIND_TOMBSTONE => true,
        _ => return None,
    };
    let seq = u64_at(data, at + 9);
    let key_len = u32_at(data, at + 17) as usize;
    let value_len = u32_at(data, at + 21) as usize;
    if seq == 0 || key_len > KEY_BYTES_MAX || value_len > VALUE_BYTES_MAX {
        return None;
    }
    if tombstone && value_len != 0 {
        return None;
    }
    let key_start = at + HEADER_BYTES;
    let value_start = key_start + key_len;
    let end = value_start + value_len;
    if verify {
        if data.len() < end {
            return None;
        }
        if u32_at(data, at) != checksum(segment, offset, &data[at + 4..end]) {
            return None;
        }
    } else if data.len() < value_start {
        return None;
    }
    Some(Parsed {
        seq,
        tombstone,
        merged: kind & FLAG_MERGED != 0,
        key: key_start..value_start,
        value: value_start..end.min(data.len()),
        length: (end - at) as u64,
    })
}

/// What the bytes at `at` of `data` (offset `offset` of segment `segment`) look like when no
/// valid record starts there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damaged {
    /// A strict prefix of a record: fewer bytes than a header, or a header that checks whose
    /// record runs past the end of `data`. What a torn write leaves.
    Cut,
    /// A whole header that fails its checksum, or a whole record whose body does: bytes that
    /// changed after they were written.
    Changed,
}

/// Tells a torn record from a damaged one at `at` of `data`, given that no valid record
/// starts there.
pub fn damaged(data: &[u8], at: usize, segment: u32, offset: u64) -> Damaged {
    if data.len() < at + HEADER_BYTES {
        return Damaged::Cut;
    }
    // Zeros where a checksum should be: no record was written here (the engine never writes
    // zeros, and a flipped bit cannot zero four bytes). A misdirected write that landed past
    // the end of the file leaves exactly this: a gap of zeros, then its stray bytes.
    if data[at..at + 4] == [0; 4] {
        return Damaged::Cut;
    }
    if !header_valid(data, at, segment, offset) {
        return Damaged::Changed;
    }
    let key_len = u32_at(data, at + 17) as usize;
    let value_len = u32_at(data, at + 21) as usize;
    if at as u64 + record_bytes(key_len, value_len) > data.len() as u64 {
        Damaged::Cut
    } else {
        Damaged::Changed
    }
}

/// The value a parsed record holds: `value` of `data`, padded with zeros to its length if it
/// was cut short (only a `no_checksum` decode returns such a record).
pub fn value_of(data: &[u8], parsed: &Parsed) -> Vec<u8> {
    let mut value = data[parsed.value.clone()].to_vec();
    let full = parsed.length as usize - HEADER_BYTES - parsed.key.len();
    value.resize(full, 0);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_decodes_only_where_it_was_meant_to_be() {
        let mut out = vec![0u8; 3];
        encode(&mut out, 7, 3, 42, false, false, b"key", b"value");
        let parsed = decode(&out, 3, 7, 3, true).expect("valid");
        assert_eq!((parsed.seq, parsed.tombstone, parsed.length), (42, false, 33));
        assert_eq!(&out[parsed.key.clone()], b"key");
        assert_eq!(value_of(&out, &parsed), b"value");
        assert!(decode(&out, 3, 8, 3, true).is_none(), "another segment");
        assert!(decode(&out, 3, 7, 515, true).is_none(), "another offset");
        for byte in 3..out.len() {
            let mut flipped = out.clone();
            flipped[byte] ^= 0x04;
            assert!(decode(&flipped, 3, 7, 3, true).is_none(), "flip at {byte}");
        }
        assert!(decode(&out[..out.len() - 1], 3, 7, 3, true).is_none(), "cut short");
    }

    #[test]
    fn a_tear_is_told_from_a_changed_header_or_body() {
        let mut out = Vec::new();
        encode(&mut out, 1, 0, 5, false, false, b"key", b"value");
        assert_eq!(damaged(&out[..HEADER_BYTES - 1], 0, 1, 0), Damaged::Cut, "header cut");
        assert_eq!(damaged(&out[..out.len() - 1], 0, 1, 0), Damaged::Cut, "body cut");
        for byte in 0..out.len() {
            let mut flipped = out.clone();
            flipped[byte] ^= 0x10;
            assert_eq!(damaged(&flipped, 0, 1, 0), Damaged::Changed, "flip at {byte}");
        }
        let mut gap = vec![0u8; 40];
        gap.extend_from_slice(&out);
        assert_eq!(damaged(&gap, 0, 1, 0), Damaged::Cut, "zeros then stray bytes");
    }

    #[test]
    fn zeros_are_never_a_record() {
        let zeros = vec![0u8; 64];
        for segment in 0..4 {
            assert!(decode(&zeros, 0, segment, 0, true).is_none());
            assert!(decode(&zeros, 0, segment, 0, false).is_none());
        }
    }

    #[test]
    fn without_checksums_a_torn_record_reads_as_data() {
        let mut out = Vec::new();
        encode(&mut out, 1, 0, 5, false, false, b"k", b"hello");
        let torn = &out[..out.len() - 2];
        assert!(decode(torn, 0, 1, 0, true).is_none());
        let parsed = decode(torn, 0, 1, 0, false).expect("trusted header");
        assert_eq!(value_of(torn, &parsed), b"hel\0\0");
    }
}
