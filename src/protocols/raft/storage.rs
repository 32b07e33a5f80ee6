//! The on-disk format. Pure encoding and decoding over the node's [`Disk`]; when to write and
//! fsync is the node's business (`persist.rs`).
//!
//! Files:
//! - `meta`: two fixed 64-byte slots at offsets 0 and 64, each `version, term, vote, log_gen,
//!   checksum` (little-endian u64s). Recovery takes the valid slot with the highest version.
//!   A node writes only the slot that does *not* hold its latest durable record, and has at
//!   most one meta write in flight, so a torn write never destroys the durable state.
//! - `log.0` / `log.1` (the one named by `log_gen % 2`): append-only records
//!   `len: u32, checksum: u64, LogRecord` (the `LogRecord` message of `schemas/raft-v1.toml`,
//!   in the schema encoding of `crate::encoding`); the checksum covers the length and the
//!   payload. A record that passes its checksum but does not decode counts as corruption.
//!   Conflicting suffixes are cut with `truncate`. Records at or below the snapshot index
//!   are stale and skipped; the file is rewritten into the other name (and `log_gen` bumped
//!   in `meta`) when the stale prefix dominates.
//! - `snapshot.0` / `snapshot.1`: one record each, `len: u32, checksum: u64, index, term,
//!   digest, voters, state`; written alternately, recovery takes the valid one with the
//!   highest index.
//!
//! Recovery distinguishes a torn tail (the last record runs past the end of the file: cut it
//! off) from corruption in the middle (a bad record followed by more data): the log is cut at
//! the bad record too, but the node is marked untrusted (see `persist.rs`).

use super::checksum;
use super::messages::{Entry, SnapshotData};
use crate::encoding::typed::{decode_message, encode_message, Sink, Source};
use crate::encoding::{DecodeError, EncodeError, Message, Schema};
use crate::node::{Disk, DiskError, NodeId};

/// The log's schema, version `version` (one of [`super::wire::SCHEMA_VERSIONS`]). Log
/// records are written with version 1 on every node: `LogRecord` is the same in every version
/// so far, so a node reads its own log after an upgrade.
pub fn schema(version: u32) -> &'static Schema {
    super::wire::schema(version)
}

/// The file holding the schema version the node runs (4 bytes, little-endian, then their
/// checksum), written before an upgrade restarts the node, so a crash after it does not bring
/// the old version back.
pub const VERSION_FILE: &str = "schema_version";

/// The version file's contents for `version`.
pub fn encode_version(version: u32) -> Vec<u8> {
    let mut out = version.to_le_bytes().to_vec();
    out.extend_from_slice(&checksum(&version.to_le_bytes()).to_le_bytes());
    out
}

/// The version in a version file, if it is whole and intact.
pub fn decode_version(data: &[u8]) -> Option<u32> {
    let bytes: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let sum = u64::from_le_bytes(data.get(4..12)?.try_into().ok()?);
    (checksum(&bytes) == sum).then(|| u32::from_le_bytes(bytes))
}

/// The file holding term, vote and the log generation.
pub const META_FILE: &str = "meta";
/// Bytes per meta slot.
pub const META_SLOT_BYTES: u64 = 64;
/// Largest log or snapshot record accepted; a longer length field means corruption.
pub const RECORD_BYTES_MAX: u64 = 64 << 20;
const HEADER_BYTES: u64 = 12;
const NO_VOTE: u64 = u64::MAX;

/// The log file of generation `generation`.
pub fn log_file(generation: u64) -> String {
    format!("log.{}", generation % 2)
}

/// The snapshot file of slot `slot` (0 or 1).
pub fn snapshot_file(slot: u64) -> String {
    format!("snapshot.{}", slot % 2)
}

/// The durable part of a node's state besides its log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Increases with every write; the higher valid slot wins.
    pub version: u64,
    /// Current term.
    pub term: u64,
    /// Vote in `term`.
    pub vote: Option<NodeId>,
    /// Which log file is live.
    pub log_gen: u64,
}

/// Encodes a meta slot.
pub fn encode_meta(meta: &Meta) -> Vec<u8> {
    let mut out = Vec::with_capacity(META_SLOT_BYTES as usize);
    for word in [meta.version, meta.term, meta.vote.map_or(NO_VOTE, u64::from), meta.log_gen] {
        out.extend_from_slice(&word.to_le_bytes());
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out.resize(META_SLOT_BYTES as usize, 0);
    out
}

fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes a meta slot; `None` if torn or corrupt.
pub fn decode_meta(bytes: &[u8]) -> Option<Meta> {
    if bytes.len() < 40 || word(bytes, 32) != checksum(&bytes[..32]) {
        return None;
    }
    let vote = word(bytes, 16);
    Some(Meta {
        version: word(bytes, 0),
        term: word(bytes, 8),
        vote: if vote == NO_VOTE { None } else { Some(vote as NodeId) },
        log_gen: word(bytes, 24),
    })
}

/// What recovery found in `meta`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaRead {
    /// The newest valid record and its slot.
    pub meta: Option<(Meta, u64)>,
    /// True if the file has data but no valid slot.
    pub corrupt: bool,
}

/// Reads both meta slots.
pub fn read_meta(disk: &mut Disk<'_>) -> MetaRead {
    if disk.len(META_FILE) == 0 {
        return MetaRead::default();
    }
    let mut best: Option<(Meta, u64)> = None;
    for slot in 0..2 {
        let Ok(bytes) = disk.read(META_FILE, slot * META_SLOT_BYTES, META_SLOT_BYTES) else {
            continue;
        };
        if let Some(meta) = decode_meta(&bytes) {
            if best.is_none_or(|(b, _)| meta.version > b.version) {
                best = Some((meta, slot));
            }
        }
    }
    MetaRead { corrupt: best.is_none(), meta: best }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut summed = len.to_le_bytes().to_vec();
    summed.extend_from_slice(payload);
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(&checksum(&summed).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of one frame starting at `offset`, or why there is none.
enum Framed<'a> {
    Good(&'a [u8]),
    /// Runs past the end of the data: a torn tail.
    Torn,
    /// Fits in the data but fails its checksum.
    Corrupt,
}

fn unframe(data: &[u8], offset: usize) -> Framed<'_> {
    let header_end = offset + HEADER_BYTES as usize;
    if header_end > data.len() {
        return Framed::Torn;
    }
    let len = u32::from_le_bytes(data[offset..offset + 4].try_into().expect("4")) as usize;
    if len as u64 > RECORD_BYTES_MAX {
        return Framed::Corrupt;
    }
    if header_end + len > data.len() {
        return Framed::Torn;
    }
    let mut summed = data[offset..offset + 4].to_vec();
    summed.extend_from_slice(&data[header_end..header_end + len]);
    if checksum(&summed) != word(data, offset + 4) {
        // A bad record that ends exactly at the end of the file is the torn last write.
        return if header_end + len == data.len() { Framed::Torn } else { Framed::Corrupt };
    }
    Framed::Good(&data[header_end..header_end + len])
}

/// One log record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Log index of the entry.
    pub index: u64,
    /// Chained digest of the prefix ending with it.
    pub digest: u64,
    /// The entry.
    pub entry: Entry,
}

/// A log record as the `LogRecord` message.
impl Message for Record {
    const NAME: &'static str = "LogRecord";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.uint("index", self.index)?;
        sink.uint("digest", self.digest)?;
        sink.message("entry", &self.entry)
    }

    fn read<S: Source>(source: &mut S) -> Result<Self, DecodeError> {
        Ok(Record {
            index: source.uint("index")?,
            digest: source.uint("digest")?,
            entry: source.message("entry")?,
        })
    }
}

/// Encodes a log record, framed.
pub fn encode_record(record: &Record) -> Vec<u8> {
    let mut payload = Vec::with_capacity(64);
    encode_message(schema(1), record, &mut payload).expect("log records fit the schema");
    frame(&payload)
}

/// What recovery found in a log file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRead {
    /// Valid records in file order, with the offset each starts at.
    pub records: Vec<(u64, Record)>,
    /// Offset just past the last valid record.
    pub end: u64,
    /// A torn tail was cut.
    pub torn: bool,
    /// A bad record (or unreadable sector) was followed by more data.
    pub corrupt: bool,
}

/// Reads the records of `file` up to the first bad one.
pub fn read_log(disk: &mut Disk<'_>, file: &str) -> LogRead {
    let mut corrupt = false;
    let data = match disk.read_all(file) {
        Ok(data) => data,
        Err(DiskError::NotFound) => return LogRead::default(),
        Err(DiskError::Unreadable { offset }) => {
            corrupt = true;
            disk.read(file, 0, offset).unwrap_or_default()
        }
    };
    let mut out = LogRead { corrupt, ..LogRead::default() };
    let mut offset = 0usize;
    while offset < data.len() {
        match unframe(&data, offset) {
            Framed::Good(payload) => match decode_message::<Record>(schema(1), payload) {
                Ok(record) => {
                    out.records.push((offset as u64, record));
                    offset += HEADER_BYTES as usize + payload.len();
                }
                Err(_) => {
                    out.corrupt = true;
                    break;
                }
            },
            Framed::Torn => {
                out.torn = true;
                break;
            }
            Framed::Corrupt => {
                out.corrupt = true;
                break;
            }
        }
    }
    out.end = offset as u64;
    out
}

/// Encodes a snapshot record.
pub fn encode_snapshot(snapshot: &SnapshotData) -> Vec<u8> {
    let mut body = Vec::new();
    for w in [snapshot.index, snapshot.term, snapshot.digest, snapshot.voters.len() as u64] {
        body.extend_from_slice(&w.to_le_bytes());
    }
    for voter in &snapshot.voters {
        body.extend_from_slice(&u64::from(*voter).to_le_bytes());
    }
    body.extend_from_slice(&snapshot.state);
    frame(&body)
}

/// Decodes a snapshot record; `None` if torn or corrupt.
pub fn decode_snapshot(data: &[u8]) -> Option<SnapshotData> {
    let Framed::Good(body) = unframe(data, 0) else { return None };
    if body.len() < 32 {
        return None;
    }
    let voters_len = word(body, 24) as usize;
    let state_at = 32 + 8 * voters_len;
    if voters_len > 1 << 16 || state_at > body.len() {
        return None;
    }
    Some(SnapshotData {
        index: word(body, 0),
        term: word(body, 8),
        digest: word(body, 16),
        voters: (0..voters_len).map(|i| word(body, 32 + 8 * i) as NodeId).collect(),
        state: body[state_at..].to_vec(),
    })
}

/// Reads both snapshot slots: the valid one with the highest index, and its slot.
pub fn read_snapshot(disk: &mut Disk<'_>) -> Option<(SnapshotData, u64)> {
    let mut best: Option<(SnapshotData, u64)> = None;
    for slot in 0..2 {
        let Ok(data) = disk.read_all(&snapshot_file(slot)) else { continue };
        if let Some(snapshot) = decode_snapshot(&data) {
            if best.as_ref().is_none_or(|(b, _)| snapshot.index > b.index) {
                best = Some((snapshot, slot));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::raft::messages::Payload;

    fn record(index: u64) -> Record {
        Record { index, digest: index * 7, entry: Entry { term: 1, payload: Payload::Noop } }
    }

    #[test]
    fn meta_roundtrip_and_torn_slot() {
        let meta = Meta { version: 3, term: 9, vote: Some(2), log_gen: 1 };
        let bytes = encode_meta(&meta);
        assert_eq!(decode_meta(&bytes), Some(meta));
        assert_eq!(decode_meta(&bytes[..20]), None);
        let mut flipped = bytes.clone();
        flipped[9] ^= 4;
        assert_eq!(decode_meta(&flipped), None);
    }

    #[test]
    fn log_torn_tail_versus_corruption_in_the_middle() {
        let mut data = Vec::new();
        for i in 1..=3 {
            data.extend(encode_record(&record(i)));
        }
        let whole = data.len();
        let mut disk = crate::node::testing::Harness::new(0, NullNode).disk().clone();
        disk.write("log.0", 0, &data[..whole - 5]);
        let read = read_log(&mut Disk::new(&mut disk), "log.0");
        assert_eq!((read.records.len(), read.torn, read.corrupt), (2, true, false));
        disk.write("log.0", 0, &data);
        disk.write("log.0", 20, &[0xff]);
        let read = read_log(&mut Disk::new(&mut disk), "log.0");
        assert_eq!((read.records.len(), read.torn, read.corrupt), (0, false, true));
    }

    #[test]
    fn records_round_trip_and_are_far_smaller_than_their_json() {
        let op = crate::node::Op::Put { key: "k1".into(), value: "v12".into() };
        let id = crate::node::RequestId { client: 2, seq: 45 };
        let entry = Entry { term: 3, payload: Payload::Command { id, op } };
        let record = Record { index: 123, digest: 0x9e37_79b9_7f4a_7c15, entry: entry.clone() };
        let framed = encode_record(&record);
        let binary = &framed[HEADER_BYTES as usize..];
        assert_eq!(decode_message::<Record>(schema(1), binary), Ok(record.clone()));
        let json = serde_json::json!({"index": 123, "digest": record.digest, "entry": entry});
        let json_bytes = serde_json::to_vec(&json).unwrap().len();
        eprintln!("log record: {} bytes encoded, {json_bytes} bytes as JSON", binary.len());
        assert!(binary.len() * 3 < json_bytes, "{} vs {json_bytes}", binary.len());
    }

    #[test]
    fn snapshot_roundtrip() {
        let s = SnapshotData { index: 5, term: 2, digest: 77, voters: vec![0, 2], state: vec![1] };
        assert_eq!(decode_snapshot(&encode_snapshot(&s)), Some(s.clone()));
        assert_eq!(decode_snapshot(&encode_snapshot(&s)[..10]), None);
    }

    struct NullNode;
    impl crate::node::Node for NullNode {
        type Msg = ();
        type Timer = ();
        type Api = crate::node::KvApi;
        type Control = crate::node::NoControl;
        fn on_start(&mut self, _: &mut crate::node::Context<'_, Self>) {}
        fn on_message(&mut self, _: &mut crate::node::Context<'_, Self>, _: u32, _: ()) {}
        fn on_request(
            &mut self,
            _: &mut crate::node::Context<'_, Self>,
            _: u32,
            _: crate::node::Request<crate::node::Op>,
        ) {
        }
        fn on_timer(&mut self, _: &mut crate::node::Context<'_, Self>, _: ()) {}
    }
}

#[cfg(test)]
mod both_paths {
    //! The direct typed path and the dynamic `Value` path must agree byte for byte.
    use super::*;
    use crate::encoding::typed::{decode_message_dynamic, encode_message_dynamic};
    use crate::node::{Op, RequestId};
    use crate::protocols::raft::messages::Payload;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = Op> {
        let text = "[a-z0-9;]{0,200}";
        prop_oneof![
            text.prop_map(|key| Op::Get { key }),
            (text, text).prop_map(|(key, value)| Op::Put { key, value }),
            (text, proptest::option::of(text), text).prop_map(|(key, from, to)| Op::Cas {
                key,
                from,
                to
            }),
            (text, text).prop_map(|(key, value)| Op::Append { key, value }),
        ]
    }

    fn payload() -> impl Strategy<Value = Payload> {
        prop_oneof![
            Just(Payload::Noop),
            (any::<u32>(), any::<u64>(), op()).prop_map(|(client, seq, op)| Payload::Command {
                id: RequestId { client, seq },
                op
            }),
            proptest::collection::vec(any::<u32>(), 0..40)
                .prop_map(|voters| Payload::Config { voters }),
        ]
    }

    proptest! {
        #![proptest_config(crate::property::proptest_config(256))]

        #[test]
        fn direct_and_dynamic_paths_give_the_same_bytes(
            index in any::<u64>(),
            digest in any::<u64>(),
            term in any::<u64>(),
            payload in payload(),
        ) {
            let record = Record { index, digest, entry: Entry { term, payload } };
            let (mut direct, mut dynamic) = (Vec::new(), Vec::new());
            encode_message(schema(1), &record, &mut direct).unwrap();
            encode_message_dynamic(schema(1), &record, &mut dynamic).unwrap();
            prop_assert_eq!(&direct, &dynamic);
            prop_assert_eq!(decode_message::<Record>(schema(1), &direct), Ok(record.clone()));
            prop_assert_eq!(decode_message_dynamic::<Record>(schema(1), &direct), Ok(record));
            // Damage: both paths accept or refuse a truncated record alike (never a panic).
            for cut in 0..direct.len() {
                let fast = decode_message::<Record>(schema(1), &direct[..cut]).is_ok();
                let slow = decode_message_dynamic::<Record>(schema(1), &direct[..cut]).is_ok();
                prop_assert_eq!(fast, slow, "cut at {}", cut);
            }
        }
    }

    #[test]
    fn errors_name_the_field_on_both_paths() {
        let put_without_value = [0x08, 1, 0x12, 1, b'k'];
        let schema = schema(1);
        let fast = decode_message::<Op>(schema, &put_without_value).unwrap_err();
        let slow = decode_message_dynamic::<Op>(schema, &put_without_value).unwrap_err();
        assert_eq!(fast.to_string(), "Op.value: missing (want string)");
        assert_eq!(slow.to_string(), fast.to_string());
        // A required field left out by the writer, and a mistyped one.
        let no_term = [0x12, 0x02, 0x08, 0x00]; // Entry with only a payload
        let e = decode_message::<Entry>(schema, &no_term).unwrap_err();
        assert_eq!(e.to_string(), "Entry.term: required field (tag 1) is missing");
        let term_as_string = [0x0a, 0x01, b'x', 0x12, 0x02, 0x08, 0x00];
        let e = decode_message::<Entry>(schema, &term_as_string).unwrap_err();
        assert!(e.to_string().starts_with("Entry.term: wire type 2"), "{e}");
        let long = Op::Put { key: "k".repeat(300), value: "v".into() };
        let mut out = Vec::new();
        encode_message(schema, &long, &mut out).unwrap();
        assert_eq!(decode_message::<Op>(schema, &out), Ok(long), "a 2-byte length prefix");
    }
}
