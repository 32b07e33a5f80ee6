//! Small binary encoding helpers shared by the protocols' on-disk formats: length-prefixed,
//! checksummed records, so a torn or corrupted record is detected on recovery.

use crate::encoding::typed::{Sink, Source};
use crate::encoding::{DecodeError, EncodeError, Message, Schema};
use crate::node::{Op, RequestId};

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

/// A client operation as the `Op` message of `schemas/raft-v1.toml` and
/// `schemas/register-v1.toml`.
impl Message for Op {
    const NAME: &'static str = "Op";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        let (kind, value, from) = match self {
            Op::Get { .. } => ("get", None, None),
            Op::Put { value, .. } => ("put", Some(value), None),
            Op::Cas { from, to, .. } => ("cas", Some(to), from.as_ref()),
            Op::Append { value, .. } => ("append", Some(value), None),
        };
        sink.variant("kind", kind)?;
        sink.string("key", self.key())?;
        if let Some(value) = value {
            sink.string("value", value)?;
        }
        if let Some(from) = from {
            sink.string("from", from)?;
        }
        Ok(())
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        let kind = source.variant("kind", &["get", "put", "cas", "append"])?;
        let key = source.string("key")?;
        Ok(match kind {
            0 => Op::Get { key },
            1 => Op::Put { key, value: source.string("value")? },
            2 => Op::Cas { key, from: source.get_string("from")?, to: source.string("value")? },
            _ => Op::Append { key, value: source.string("value")? },
        })
    }
}

/// A request id as the `RequestId` message.
impl Message for RequestId {
    const NAME: &'static str = "RequestId";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.uint("client", u64::from(self.client))?;
        sink.uint("seq", self.seq)
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(RequestId { client: source.uint32("client")?, seq: source.uint("seq")? })
    }
}

/// Parses a schema compiled into the binary; a schema that does not parse is a bug of this
/// build (the unit tests parse every one).
pub fn builtin_schema(file: &str, text: &str) -> Schema {
    Schema::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"))
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
    fn ops_round_trip_through_the_schema() {
        let schema = builtin_schema("raft-v1", include_str!("../../schemas/raft-v1.toml"));
        let ops = [
            Op::Get { key: "k".into() },
            Op::Put { key: "k".into(), value: "v".into() },
            Op::Cas { key: "k".into(), from: None, to: "w".into() },
            Op::Cas { key: "k".into(), from: Some("a".into()), to: "w".into() },
            Op::Append { key: "k".into(), value: "x;".into() },
        ];
        for op in ops {
            let mut out = Vec::new();
            crate::encoding::typed::encode_message(&schema, &op, &mut out).unwrap();
            assert_eq!(crate::encoding::typed::decode_message::<Op>(&schema, &out), Ok(op));
        }
        let put_without_value = [0x08, 1, 0x12, 1, b'k'];
        let e = crate::encoding::typed::decode_message::<Op>(&schema, &put_without_value);
        assert_eq!(e.unwrap_err().to_string(), "Op.value: missing (want string)");
    }
}
