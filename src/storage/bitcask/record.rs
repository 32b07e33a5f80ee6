//! The on-disk record of a segment, and its checksum.
//!
//! ```text
//! crc u32 | kind u8 | seq u64 | key_len u32 | value_len u32 | key | value     (little-endian)
//! ```
//! The CRC-32C covers the segment's number and the record's offset in the file (neither is
//! stored: the reader knows where it reads), then every byte after the CRC. A record that a
//! misdirected write put in the wrong place, or a stale one a reader finds where it expected
//! another, fails its checksum. `kind` is 1 (a put) or 2 (a tombstone), with bit
//! [`FLAG_MERGED`] set on records a merge wrote; a zero kind is never valid, so neither is an
//! all-zero header, whatever its checksum.

use crate::storage::crc;
use crate::storage::Seq;

/// Bytes of a record's header.
pub const HEADER_BYTES: usize = 21;
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
    out.extend_from_slice(&[0; 4]);
    out.push(kind | if merged { FLAG_MERGED } else { 0 });
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
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
    let kind = data[at + 4];
    let tombstone = match kind & !FLAG_MERGED {
        KIND_PUT => false,
        KIND_TOMBSTONE => true,
        _ => return None,
    };
    let seq = u64_at(data, at + 5);
    let key_len = u32_at(data, at + 13) as usize;
    let value_len = u32_at(data, at + 17) as usize;
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

/// The length a well-formed header at `at` of `data` declares, its checksum unchecked;
/// `None` if no header could start there.
pub fn declared_length(data: &[u8], at: usize) -> Option<u64> {
    if data.len() < at + HEADER_BYTES || !matches!(data[at + 4] & !FLAG_MERGED, 1 | 2) {
        return None;
    }
    let key_len = u32_at(data, at + 13) as usize;
    let value_len = u32_at(data, at + 17) as usize;
    if u64_at(data, at + 5) == 0 || key_len > KEY_BYTES_MAX || value_len > VALUE_BYTES_MAX {
        return None;
    }
    Some(record_bytes(key_len, value_len))
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
        assert_eq!((parsed.seq, parsed.tombstone, parsed.length), (42, false, 29));
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
