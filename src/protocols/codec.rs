//! Small binary encoding helpers shared by the protocols' on-disk formats: length-prefixed,
//! checksummed records, so a torn or corrupted record is detected on recovery.

use crate::node::Op;

/// Checksum of a record's payload (FNV-1a, 64 bits). Detects torn writes and bit flips; it is
/// not cryptographic.
pub fn checksum(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// Appends a record `[len: u32][checksum: u64][payload]` to `out`.
pub fn put_record(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Size of a record's header.
pub const RECORD_HEADER_BYTES: usize = 12;

/// Splits `data` into valid records. Returns the payloads and the byte length of the valid
/// prefix; anything after it (a torn or corrupt record) should be truncated by the caller.
pub fn read_records(data: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while data.len() - at >= RECORD_HEADER_BYTES {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        let sum = u64::from_le_bytes(data[at + 4..at + 12].try_into().expect("8 bytes"));
        let start = at + RECORD_HEADER_BYTES;
        if len > data.len() - start {
            break;
        }
        let payload = &data[start..start + len];
        if checksum(payload) != sum {
            break;
        }
        records.push(payload);
        at = start + len;
    }
    (records, at)
}

/// A cursor over a payload for decoding; every read is bounds-checked.
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Some(head)
    }

    /// A little-endian u64.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    /// A byte.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    /// A length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.bytes(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.bytes(len)?.to_vec()).ok()
    }

    /// An optional string (a presence byte, then the string).
    pub fn opt_string(&mut self) -> Option<Option<String>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.string()?)),
            _ => None,
        }
    }

    /// A client operation written by [`put_op`].
    pub fn op(&mut self) -> Option<Op> {
        Some(match self.u8()? {
            0 => Op::Get { key: self.string()? },
            1 => Op::Put { key: self.string()?, value: self.string()? },
            2 => Op::Cas { key: self.string()?, from: self.opt_string()?, to: self.string()? },
            3 => Op::Append { key: self.string()?, value: self.string()? },
            _ => return None,
        })
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Writes a length-prefixed string.
pub fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Writes an optional string.
pub fn put_opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_string(out, s);
        }
    }
}

/// Writes a client operation.
pub fn put_op(out: &mut Vec<u8>, op: &Op) {
    match op {
        Op::Get { key } => {
            out.push(0);
            put_string(out, key);
        }
        Op::Put { key, value } => {
            out.push(1);
            put_string(out, key);
            put_string(out, value);
        }
        Op::Cas { key, from, to } => {
            out.push(2);
            put_string(out, key);
            put_opt_string(out, from.as_deref());
            put_string(out, to);
        }
        Op::Append { key, value } => {
            out.push(3);
            put_string(out, key);
            put_string(out, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_stop_at_damage() {
        let mut data = Vec::new();
        put_record(&mut data, b"first");
        put_record(&mut data, b"second");
        let whole = data.len();
        put_record(&mut data, b"third-torn");
        data.truncate(data.len() - 3); // torn
        let (records, valid) = read_records(&data);
        assert_eq!(records, vec![&b"first"[..], &b"second"[..]]);
        assert_eq!(valid, whole);
        data[RECORD_HEADER_BYTES + 1] ^= 4; // corrupt the first record
        assert_eq!(read_records(&data).0.len(), 0);
    }

    #[test]
    fn ops_round_trip() {
        let ops = [
            Op::Get { key: "k".into() },
            Op::Put { key: "k".into(), value: "v".into() },
            Op::Cas { key: "k".into(), from: None, to: "w".into() },
            Op::Cas { key: "k".into(), from: Some("a".into()), to: "w".into() },
            Op::Append { key: "k".into(), value: "x;".into() },
        ];
        for op in ops {
            let mut out = Vec::new();
            put_op(&mut out, &op);
            let mut r = Reader::new(&out);
            assert_eq!(r.op(), Some(op));
            assert!(r.is_empty());
        }
        assert_eq!(Reader::new(&[9]).op(), None);
    }
}
