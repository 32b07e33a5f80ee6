//! The storage API: get, put, delete and range scans on `u32` keys, where every put writes a
//! value no other write wrote, so every read names exactly which write it saw.
//!
//! Keys go to the engine big-endian ([`key_bytes`]), so the engine's byte order is numeric
//! order and a scan's range means what it says. A put's value is a write id
//! (`(client << 40) | n`); the node stores it as the 8-byte id followed by filler bytes derived
//! from the id ([`encode_value`]) and decodes what comes back ([`decode_value`]): bytes that
//! do not decode are reported as [`Stored::Garbled`], a torn or corrupted record the engine
//! failed to catch.

use crate::api::{edn, Api, Draw, EdnOp};
use crate::storage::crc::crc32c;
use serde::Serialize;

/// A key of the storage API.
pub type StorageKey = u32;

/// Most keys a scan's range spans as the workload draws them: completeness is judged key by
/// key over the range, so the range stays short.
pub const SCAN_SPAN_MAX: u32 = 64;
/// Most rows a scan asks for as the workload draws it (the node caps it at its `scan_limit`).
pub const SCAN_LIMIT_DRAWN_MAX: u32 = 32;
/// Write ids are `(client << CLIENT_SHIFT) | n`.
pub const CLIENT_SHIFT: u32 = 40;

/// One operation of the storage API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "f", rename_all = "snake_case")]
pub enum StorageOp {
    /// The current version of `key`.
    Get { key: StorageKey },
    /// Stores the write id `value` under `key`.
    Put { key: StorageKey, value: u64 },
    /// Removes `key`.
    Delete { key: StorageKey },
    /// The current rows with keys in `lo..=hi`, in key order, at most `limit` of them.
    Scan { lo: StorageKey, hi: StorageKey, limit: u32 },
}

impl StorageOp {
    /// True for puts and deletes.
    pub fn is_write(&self) -> bool {
        matches!(self, StorageOp::Put { .. } | StorageOp::Delete { .. })
    }
}

/// What a read got back for one key's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// The value decodes: it is the write id of some put.
    Id(u64),
    /// The bytes do not decode (wrong length, or filler that is not the id's): `len` bytes
    /// whose CRC-32C is `crc`.
    Garbled { len: u32, crc: u32 },
}

/// A key's version as a read saw it: the value and the sequence number of its write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Version {
    /// What the bytes decoded to.
    pub value: Stored,
    /// The engine's sequence number of the write that stored it.
    pub seq: u64,
}

/// The result of an operation that completed `ok`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageResult {
    /// A put or delete is durable; `seq` is the engine's sequence number of it.
    Written { seq: u64 },
    /// A get: the key's version, `None` if it has none.
    Got(Option<Version>),
    /// A scan: the rows found, in the order the node returned them.
    Rows(Vec<(StorageKey, Version)>),
}

/// The key as the engine stores it: big-endian, so byte order is numeric order.
pub fn key_bytes(key: StorageKey) -> [u8; 4] {
    key.to_be_bytes()
}

/// The key an engine's bytes name, `None` if they are not 4 bytes long.
pub fn key_from_bytes(bytes: &[u8]) -> Option<StorageKey> {
    Some(StorageKey::from_be_bytes(bytes.try_into().ok()?))
}

/// SplitMix64's step: the filler stream of an id.
fn mix(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Appends the filler bytes of `id` until `out` is `len` bytes long.
fn fill(out: &mut Vec<u8>, id: u64, len: usize) {
    let mut state = id;
    while out.len() < len {
        state = mix(state);
        let take = (len - out.len()).min(8);
        out.extend_from_slice(&state.to_le_bytes()[..take]);
    }
}

/// The bytes stored for write id `id`: the id (8 bytes, big-endian), then filler derived from
/// it up to `len` bytes (`len` >= 8), so a torn or shifted value does not decode.
pub fn encode_value(id: u64, len: usize) -> Vec<u8> {
    assert!(len >= 8, "a value holds at least its 8-byte id, not {len}");
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&id.to_be_bytes());
    fill(&mut out, id, len);
    debug_assert_eq!(out.len(), len);
    out
}

/// What `bytes` read back decode to, given values are `len` bytes long.
pub fn decode_value(bytes: &[u8], len: usize) -> Stored {
    let garbled = || Stored::Garbled { len: bytes.len() as u32, crc: crc32c(bytes) };
    if bytes.len() != len || len < 8 {
        return garbled();
    }
    let id = u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"));
    // Compare the filler chunk by chunk, without building it.
    let mut state = id;
    for chunk in bytes[8..].chunks(8) {
        state = mix(state);
        if chunk != &state.to_le_bytes()[..chunk.len()] {
            return garbled();
        }
    }
    Stored::Id(id)
}

/// A write id for people: `c{client}-{n}`, the key-value API's spelling.
pub fn id_name(id: u64) -> String {
    format!("c{}-{}", id >> CLIENT_SHIFT, id & ((1 << CLIENT_SHIFT) - 1))
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stored::Id(id) => write!(f, "{}", id_name(*id)),
            Stored::Garbled { len, crc } => write!(f, "garbled({len} bytes, crc {crc:#010x})"),
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.value, self.seq)
    }
}

/// The storage API. See the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StorageApi;

fn version_json(v: &Version) -> serde_json::Value {
    match v.value {
        Stored::Id(id) => serde_json::json!({ "value": id, "seq": v.seq }),
        Stored::Garbled { len, crc } => {
            serde_json::json!({ "garbled": { "len": len, "crc": crc }, "seq": v.seq })
        }
    }
}

impl Api for StorageApi {
    type Op = StorageOp;
    type Res = StorageResult;

    const OPS: &'static [(&'static str, u32)] =
        &[("get", 40), ("put", 35), ("delete", 10), ("scan", 15)];

    fn name(op: &StorageOp) -> &'static str {
        match op {
            StorageOp::Get { .. } => "get",
            StorageOp::Put { .. } => "put",
            StorageOp::Delete { .. } => "delete",
            StorageOp::Scan { .. } => "scan",
        }
    }

    /// Keys uniform in `0..keys`; a put's value is `(client << 40) | n`, unique in the run; a
    /// scan spans up to [`SCAN_SPAN_MAX`] keys and asks for 1 to [`SCAN_LIMIT_DRAWN_MAX`] rows.
    fn generate(weights: &[u32], d: &mut Draw<'_>) -> StorageOp {
        assert!(d.n < 1 << CLIENT_SHIFT, "client {} ran out of write ids", d.client);
        assert!(u64::from(d.client) < 1 << (64 - CLIENT_SHIFT), "client id too large");
        let keys = d.keys.max(1);
        let key = d.rng.below(u64::from(keys)) as StorageKey;
        match d.rng.weighted(weights).expect("validated: some weight is positive") {
            0 => StorageOp::Get { key },
            1 => StorageOp::Put { key, value: (u64::from(d.client) << CLIENT_SHIFT) | d.n },
            2 => StorageOp::Delete { key },
            _ => {
                let span = d.rng.below(u64::from(SCAN_SPAN_MAX.min(keys))) as StorageKey;
                let hi = key.saturating_add(span).min(keys - 1);
                let limit = d.rng.between(1, u64::from(SCAN_LIMIT_DRAWN_MAX)) as u32;
                StorageOp::Scan { lo: key, hi, limit }
            }
        }
    }

    fn describe(op: &StorageOp) -> String {
        match op {
            StorageOp::Get { key } => format!("get {key}"),
            StorageOp::Put { key, value } => format!("put {key}={}", id_name(*value)),
            StorageOp::Delete { key } => format!("delete {key}"),
            StorageOp::Scan { lo, hi, limit } => format!("scan {lo}..={hi} limit {limit}"),
        }
    }

    /// The op's fields, plus `seq` for a write, `read` (`{value, seq}` or null) for a get,
    /// `rows` (`[{key, value, seq}]`) for a scan. A garbled value is `{garbled: {len, crc}}`.
    fn json(
        op: &StorageOp,
        result: Option<&StorageResult>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(op) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => unreachable!("an op serializes to an object"),
        };
        match result {
            Some(StorageResult::Written { seq }) => {
                map.insert("seq".into(), (*seq).into());
            }
            Some(StorageResult::Got(found)) => {
                let read = found.as_ref().map_or(serde_json::Value::Null, version_json);
                map.insert("read".into(), read);
            }
            Some(StorageResult::Rows(rows)) => {
                let rows = rows
                    .iter()
                    .map(|(key, v)| {
                        let mut row = version_json(v);
                        row["key"] = (*key).into();
                        row
                    })
                    .collect();
                map.insert("rows".into(), serde_json::Value::Array(rows));
            }
            None => {}
        }
        map
    }

    /// Jepsen's shapes with independent keys: `[k v]` tuples for get/put/delete, and a scan's
    /// `:value` the rows read as `[[k v] ...]`.
    fn edn(op: &StorageOp, result: Option<&StorageResult>) -> EdnOp {
        let stored = |v: &Version| match v.value {
            Stored::Id(id) => id.to_string(),
            Stored::Garbled { .. } => edn::string(&v.value.to_string()),
        };
        let (invoke, complete) = match (op, result) {
            (StorageOp::Get { key }, Some(StorageResult::Got(found))) => {
                let read = found.as_ref().map_or("nil".to_string(), stored);
                (format!("[{key} nil]"), format!("[{key} {read}]"))
            }
            (StorageOp::Get { key }, _) => (format!("[{key} nil]"), format!("[{key} nil]")),
            (StorageOp::Put { key, value }, _) => {
                (format!("[{key} {value}]"), format!("[{key} {value}]"))
            }
            (StorageOp::Delete { key }, _) => (format!("[{key} nil]"), format!("[{key} nil]")),
            (StorageOp::Scan { lo, hi, .. }, result) => {
                let rows = match result {
                    Some(StorageResult::Rows(rows)) => rows
                        .iter()
                        .map(|(k, v)| format!("[{k} {}]", stored(v)))
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => String::new(),
                };
                (format!("[{lo} {hi}]"), format!("[{rows}]"))
            }
        };
        EdnOp { f: Self::name(op).to_string(), invoke, complete, key: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::SimRng;

    #[test]
    fn values_round_trip_and_any_damage_garbles_them() {
        let id = (3 << CLIENT_SHIFT) | 17;
        let bytes = encode_value(id, 64);
        assert_eq!(bytes.len(), 64);
        assert_eq!(decode_value(&bytes, 64), Stored::Id(id));
        assert_eq!(decode_value(&encode_value(id, 8), 8), Stored::Id(id));
        let mut flipped = bytes.clone();
        flipped[40] ^= 4;
        assert!(matches!(decode_value(&flipped, 64), Stored::Garbled { len: 64, .. }));
        assert!(matches!(decode_value(&bytes[..63], 64), Stored::Garbled { len: 63, .. }));
        let zeros = vec![0u8; 64];
        assert!(matches!(decode_value(&zeros, 64), Stored::Garbled { .. }), "zeros of a hole");
        // Another id's filler does not pass for this id's.
        let mut swapped = encode_value(id + 1, 64);
        swapped[..8].copy_from_slice(&id.to_be_bytes());
        assert!(matches!(decode_value(&swapped, 64), Stored::Garbled { .. }));
    }

    #[test]
    fn keys_order_bytewise_as_numbers() {
        assert!(key_bytes(255) < key_bytes(256));
        assert!(key_bytes(1) < key_bytes(0x0100_0000));
        assert_eq!(key_from_bytes(&key_bytes(77)), Some(77));
        assert_eq!(key_from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn generated_ops_stay_in_bounds_and_values_are_unique() {
        let mut rng = SimRng::new(5, 9);
        let weights: Vec<u32> = StorageApi::OPS.iter().map(|(_, w)| *w).collect();
        let mut values = std::collections::BTreeSet::new();
        let mut seen = [0u32; 4];
        for n in 1..=2000 {
            let mut draw =
                Draw { rng: &mut rng, client: 2, n, keys: 100, value_size: 0, timeout: 0 };
            match StorageApi::generate(&weights, &mut draw) {
                StorageOp::Get { key } | StorageOp::Delete { key } => {
                    assert!(key < 100);
                    seen[0] += 1;
                }
                StorageOp::Put { key, value } => {
                    assert!(key < 100 && values.insert(value) && value >> CLIENT_SHIFT == 2);
                    seen[1] += 1;
                }
                StorageOp::Scan { lo, hi, limit } => {
                    assert!(lo <= hi && hi < 100 && hi - lo < SCAN_SPAN_MAX);
                    assert!((1..=SCAN_LIMIT_DRAWN_MAX).contains(&limit));
                    seen[2] += 1;
                }
            }
        }
        assert!(seen[..3].iter().all(|&c| c > 100), "{seen:?}");
    }

    #[test]
    fn json_names_what_was_read() {
        let op = StorageOp::Get { key: 4 };
        let v = Version { value: Stored::Id(9), seq: 3 };
        let map = StorageApi::json(&op, Some(&StorageResult::Got(Some(v))));
        assert_eq!(map["read"], serde_json::json!({"value": 9, "seq": 3}));
        let scan = StorageOp::Scan { lo: 1, hi: 5, limit: 2 };
        let rows = StorageResult::Rows(vec![(2, v)]);
        let map = StorageApi::json(&scan, Some(&rows));
        assert_eq!(map["rows"][0]["key"], 2);
        assert_eq!(StorageApi::edn(&scan, Some(&rows)).complete, "[[2 9]]");
        assert_eq!(
            StorageApi::describe(&StorageOp::Put { key: 1, value: (1 << 40) | 2 }),
            "put 1=c1-2"
        );
    }
}
