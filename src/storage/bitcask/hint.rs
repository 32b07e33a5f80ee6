//! Hint files: beside a merged segment, the directory of what it holds, so recovery reads a
//! few bytes per key instead of the whole segment (Bitcask's `.hint` files).
//!
//! ```text
//! magic u32 | segment u32 | segment_bytes u64 | entries u32
//! entries × (seq u64 | offset u64 | length u32 | tombstone u8 | key_len u32 | key | crc u32)
//! crc u32                                                              (little-endian)
//! ```
//! Each entry's CRC-32C covers the segment number and the entry; the last CRC covers the whole
//! file before it. A hint that fails either is ignored and its segment scanned instead.

use crate::storage::crc;
use crate::storage::Seq;

const MAGIC: u32 = 0x4843_4231; // "1BCH"
const HEADER_BYTES: usize = 20;
const ENTRY_FIXED_BYTES: usize = 29;

/// One record of a merged segment, as its hint file describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HintEntry {
    pub key: Vec<u8>,
    pub seq: Seq,
    pub offset: u64,
    pub length: u32,
    pub tombstone: bool,
}

/// The hint file of segment `segment`, `segment_bytes` long, holding `entries`.
pub fn encode(segment: u32, segment_bytes: u64, entries: &[HintEntry]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_BYTES + entries.len() * (ENTRY_FIXED_BYTES + 16));
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&segment.to_le_bytes());
    out.extend_from_slice(&segment_bytes.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for entry in entries {
        let start = out.len();
        out.extend_from_slice(&entry.seq.to_le_bytes());
        out.extend_from_slice(&entry.offset.to_le_bytes());
        out.extend_from_slice(&entry.length.to_le_bytes());
        out.push(u8::from(entry.tombstone));
        out.extend_from_slice(&(entry.key.len() as u32).to_le_bytes());
        out.extend_from_slice(&entry.key);
        let crc = crc::extend(crc::extend(0, &segment.to_le_bytes()), &out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    let whole = crc::crc32c(&out);
    out.extend_from_slice(&whole.to_le_bytes());
    out
}

fn u32_at(data: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(data: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(data[at..at + 8].try_into().expect("8 bytes"))
}

/// The entries of a hint file for segment `segment` and the segment's length when it was
/// written; `None` if the file is not a valid hint for that segment.
pub fn decode(data: &[u8], segment: u32) -> Option<(u64, Vec<HintEntry>)> {
    if data.len() < HEADER_BYTES + 4 {
        return None;
    }
    let body = &data[..data.len() - 4];
    if u32_at(data, data.len() - 4) != crc::crc32c(body) {
        return None;
    }
    if u32_at(body, 0) != MAGIC || u32_at(body, 4) != segment {
        return None;
    }
    let segment_bytes = u64_at(body, 8);
    let count = u32_at(body, 16) as usize;
    let mut entries = Vec::with_capacity(count.min(body.len() / ENTRY_FIXED_BYTES));
    let mut at = HEADER_BYTES;
    for _ in 0..count {
        if body.len() < at + ENTRY_FIXED_BYTES {
            return None;
        }
        let key_len = u32_at(body, at + 21) as usize;
        let key_end = at + 25 + key_len;
        if body.len() < key_end + 4 {
            return None;
        }
        let crc = crc::extend(crc::extend(0, &segment.to_le_bytes()), &body[at..key_end]);
        if u32_at(body, key_end) != crc || body[at + 20] > 1 {
            return None;
        }
        entries.push(HintEntry {
            key: body[at + 25..key_end].to_vec(),
            seq: u64_at(body, at),
            offset: u64_at(body, at + 8),
            length: u32_at(body, at + 16),
            tombstone: body[at + 20] == 1,
        });
        at = key_end + 4;
    }
    (at == body.len()).then_some((segment_bytes, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<HintEntry> {
        vec![
            HintEntry { key: b"a".to_vec(), seq: 3, offset: 0, length: 30, tombstone: false },
            HintEntry { key: b"bc".to_vec(), seq: 9, offset: 30, length: 23, tombstone: true },
        ]
    }

    #[test]
    fn a_hint_round_trips_for_its_own_segment_only() {
        let data = encode(5, 53, &entries());
        assert_eq!(decode(&data, 5), Some((53, entries())));
        assert_eq!(decode(&data, 6), None, "another segment's hint");
        for byte in 0..data.len() {
            let mut flipped = data.clone();
            flipped[byte] ^= 1;
            assert_eq!(decode(&flipped, 5), None, "flip at {byte}");
        }
        assert_eq!(decode(&data[..data.len() - 1], 5), None);
        assert_eq!(decode(&[], 5), None);
    }
}
