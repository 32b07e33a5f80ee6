//! Raft's messages on the simulated wire: every [`Msg`] is encoded with the schema version
//! the sending node runs (the `RaftMessage` message of `schemas/raft-v*.toml`) and decoded
//! by the receiver with its own version, so the bytes the network carries are real and
//! mixed-version clusters talk through the compatibility rules alone.
//!
//! Versions this build knows ([`SCHEMA_VERSIONS`]): 1, 2 (adds `sender_version`), and 3, an
//! incompatible version that exists only for the bug knob `encoding.skip_compat_check`
//! (`RaftMessage.commit` changes wire type).

use super::messages::{Entry, Msg, SnapshotData};
use crate::encoding::registry::RegisterError;
use crate::encoding::typed::{decode_message, encode_message, Sink, Source};
use crate::encoding::{DecodeError, EncodeError, Message, Mode, Schema, SchemaRegistry};
use crate::node::NodeId;
use crate::protocols::codec::builtin_schema;
use std::sync::{Arc, OnceLock};

/// Schema versions this build embeds.
pub const SCHEMA_VERSIONS: [u32; 3] = [1, 2, 3];

/// Raft's schema, version `version` (one of [`SCHEMA_VERSIONS`]).
pub fn schema(version: u32) -> &'static Arc<Schema> {
    static SCHEMAS: OnceLock<[Arc<Schema>; 3]> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| {
        [
            Arc::new(builtin_schema("raft-v1.toml", include_str!("../../../schemas/raft-v1.toml"))),
            Arc::new(builtin_schema("raft-v2.toml", include_str!("../../../schemas/raft-v2.toml"))),
            Arc::new(builtin_schema("raft-v3.toml", include_str!("../../../schemas/raft-v3.toml"))),
        ]
    });
    match version {
        1..=3 => &all[version as usize - 1],
        other => panic!("no raft schema version {other} (known: {SCHEMA_VERSIONS:?})"),
    }
}

/// The versions one node has installed, oldest first, in a registry that checks each new
/// version against all earlier ones (full compatibility: old and new nodes must read each
/// other) unless the bug knob `encoding.skip_compat_check` is on.
#[derive(Clone, Debug)]
pub struct Versions {
    registry: SchemaRegistry,
    running: u32,
}

impl Versions {
    /// A node running version 1.
    pub fn new(skip_compat_check: bool) -> Self {
        let registry = SchemaRegistry::new(Mode::Full);
        let mut registry = if skip_compat_check { registry.without_checks() } else { registry };
        registry.register(Arc::clone(schema(1))).expect("version 1 registers in an empty registry");
        Versions { registry, running: 1 }
    }

    /// The version the node runs.
    pub fn running(&self) -> u32 {
        self.running
    }

    /// Installs version `version`; refused (nothing changes) if it breaks a compatibility
    /// rule against an installed version, or is not newer than the running one.
    pub fn install(&mut self, version: u32) -> Result<(), String> {
        assert!(SCHEMA_VERSIONS.contains(&version), "checked at scenario load");
        if version <= self.running {
            return Err(format!("version {version} is not newer than {}", self.running));
        }
        match self.registry.register(Arc::clone(schema(version))) {
            Ok(()) => {
                self.running = version;
                Ok(())
            }
            Err(RegisterError::Incompatible(violations)) => {
                let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
                Err(text.join("; "))
            }
            Err(other) => Err(other.to_string()),
        }
    }
}

/// A message as it travels: the bytes and the schema version they were written with (for
/// diagnostics; the reader decodes with its own version). Its `Debug` form, which traces and
/// sequence diagrams show, is the message decoded with the writer's version, then the
/// version and the size: `Append { term: 2, .. } (v1, 38 bytes)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The writer's schema version.
    pub version: u32,
    /// The encoded `RaftMessage`.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (version, size) = (self.version, self.bytes.len());
        match decode(version, self) {
            Ok((msg, _)) => write!(f, "{msg:?} (v{version}, {size} bytes)"),
            Err(e) => write!(f, "Undecodable (v{version}, {size} bytes: {e})"),
        }
    }
}

/// Encodes `msg` with schema `version`; `sender_version` is what version-2 writers add.
pub fn encode(version: u32, msg: &Msg) -> Frame {
    let mut bytes = Vec::with_capacity(64);
    let tagged = Tagged { msg, sender_version: version };
    encode_message(schema(version), &tagged, &mut bytes).expect("Raft messages fit the schema");
    Frame { version, bytes }
}

/// Decodes `frame` with schema `version`: the message and the sender's version as it says
/// (1 if its writer's schema has no `sender_version`).
pub fn decode(version: u32, frame: &Frame) -> Result<(Msg, u32), DecodeError> {
    let decoded: Decoded = decode_message(schema(version), &frame.bytes)?;
    Ok((decoded.msg, decoded.sender_version))
}

/// The message kind a frame carries (an index of [`Msg::NAMES`]), read from the `kind` field
/// (tag 1, a varint) without decoding the rest or allocating; `None` if the bytes do not say.
/// Every schema version keeps `kind` at tag 1 with the same numbers.
pub fn kind(frame: &Frame) -> Option<usize> {
    let bytes = frame.bytes.as_slice();
    let mut at = 0;
    while at < bytes.len() {
        let key = varint(bytes, &mut at)?;
        let (tag, wire_type) = (key >> 3, (key & 7) as u8);
        if tag == 1 && wire_type == WIRE_VARINT {
            let kind = varint(bytes, &mut at)? as usize;
            return (kind < Msg::NAMES.len()).then_some(kind);
        }
        at = match wire_type {
            WIRE_VARINT | WIRE_ZIGZAG => {
                varint(bytes, &mut at)?;
                at
            }
            WIRE_FIXED64 => at + 8,
            WIRE_LEN => {
                let len = usize::try_from(varint(bytes, &mut at)?).ok()?;
                at.checked_add(len)?
            }
            WIRE_FIXED32 => at + 4,
            _ => return None,
        };
    }
    None
}

/// Wire types of the encoding (`encoding/wire.rs`), as [`kind`] skips fields.
const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_ZIGZAG: u8 = 3;
const WIRE_FIXED32: u8 = 5;

/// Reads one LEB128 varint at `*at`, advancing it; `None` if it runs off the end or past 64 bits.
fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Where a decode error is, as numbers a fact can carry: the index of the innermost message
/// type in schema `version` and the tag of its field (0 when the error names none).
pub fn locate(version: u32, e: &DecodeError) -> (u64, u64) {
    let schema = schema(version);
    let (message, field) = e.field().split_once('.').unwrap_or(("RaftMessage", ""));
    let Some(index) = schema.message_index(message) else { return (0, 0) };
    let tag = schema.messages[index].field(field).map_or(0, |f| f.tag);
    (index as u64, u64::from(tag))
}

/// A message type's name and a field's name in schema `version`, from [`locate`]'s numbers.
pub fn names(version: u32, message: u64, tag: u64) -> (String, String) {
    let Some(def) = schema(version).messages.get(message as usize) else {
        return ("?".into(), "?".into());
    };
    let field = u32::try_from(tag).ok().and_then(|t| def.field_by_tag(t));
    (def.name.to_string(), field.map_or_else(|| "?".into(), |f| f.name.to_string()))
}

/// A message with the sender's version, to encode.
struct Tagged<'a> {
    msg: &'a Msg,
    sender_version: u32,
}

/// A message with the sender's version, decoded.
struct Decoded {
    msg: Msg,
    sender_version: u32,
}

const KINDS: [&str; 6] =
    ["vote", "vote_reply", "append", "append_reply", "snapshot", "snapshot_reply"];

impl Message for Tagged<'_> {
    const NAME: &'static str = "RaftMessage";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        write_msg(self.msg, sink)?;
        sink.uint("sender_version", u64::from(self.sender_version))
    }

    fn read<S: Source>(_: &mut S) -> Result<Self, DecodeError> {
        unreachable!("Tagged is only written; Decoded is read")
    }
}

/// The fields in the schema's order (`kind`, `term`, then by tag).
fn write_msg<S: Sink>(msg: &Msg, sink: &mut S) -> Result<(), EncodeError> {
    match msg {
        Msg::Vote { pre, term, last_index, last_term } => {
            sink.variant("kind", KINDS[0])?;
            sink.uint("term", *term)?;
            sink.boolean("pre", *pre)?;
            sink.uint("last_index", *last_index)?;
            sink.uint("last_term", *last_term)
        }
        Msg::VoteReply { pre, term, granted } => {
            sink.variant("kind", KINDS[1])?;
            sink.uint("term", *term)?;
            sink.boolean("pre", *pre)?;
            sink.boolean("granted", *granted)
        }
        Msg::Append { term, prev_index, prev_term, entries, commit, read_round } => {
            sink.variant("kind", KINDS[2])?;
            sink.uint("term", *term)?;
            sink.uint("prev_index", *prev_index)?;
            sink.uint("prev_term", *prev_term)?;
            sink.messages("entries", entries)?;
            sink.uint("commit", *commit)?;
            sink.uint("read_round", *read_round)
        }
        Msg::AppendReply {
            term,
            success,
            match_index,
            conflict_index,
            conflict_term,
            read_round,
        } => {
            sink.variant("kind", KINDS[3])?;
            sink.uint("term", *term)?;
            sink.uint("read_round", *read_round)?;
            sink.boolean("success", *success)?;
            sink.uint("match_index", *match_index)?;
            sink.uint("conflict_index", *conflict_index)?;
            if let Some(conflict_term) = conflict_term {
                sink.uint("conflict_term", *conflict_term)?;
            }
            Ok(())
        }
        Msg::Snapshot { term, snapshot, read_round } => {
            sink.variant("kind", KINDS[4])?;
            sink.uint("term", *term)?;
            sink.uint("read_round", *read_round)?;
            sink.message("snapshot", &**snapshot)
        }
        Msg::SnapshotReply { term, index, read_round } => {
            sink.variant("kind", KINDS[5])?;
            sink.uint("term", *term)?;
            sink.uint("read_round", *read_round)?;
            sink.uint("index", *index)
        }
    }
}

impl Message for Decoded {
    const NAME: &'static str = "RaftMessage";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        write_msg(&self.msg, sink)?;
        sink.uint("sender_version", u64::from(self.sender_version))
    }

    fn read<S: Source>(s: &mut S) -> Result<Self, DecodeError> {
        let kind = s.variant("kind", &KINDS)?;
        let term = s.uint("term")?;
        let uint = |s: &mut S, name| s.get_uint(name).map(Option::unwrap_or_default);
        let flag = |s: &mut S, name| s.get_bool(name).map(Option::unwrap_or_default);
        let msg = match kind {
            0 => Msg::Vote {
                pre: flag(s, "pre")?,
                term,
                last_index: uint(s, "last_index")?,
                last_term: uint(s, "last_term")?,
            },
            1 => Msg::VoteReply { pre: flag(s, "pre")?, term, granted: flag(s, "granted")? },
            2 => Msg::Append {
                term,
                prev_index: uint(s, "prev_index")?,
                prev_term: uint(s, "prev_term")?,
                entries: s.messages::<Entry>("entries")?,
                commit: uint(s, "commit")?,
                read_round: uint(s, "read_round")?,
            },
            3 => Msg::AppendReply {
                term,
                success: flag(s, "success")?,
                match_index: uint(s, "match_index")?,
                conflict_index: uint(s, "conflict_index")?,
                conflict_term: s.get_uint("conflict_term")?,
                read_round: uint(s, "read_round")?,
            },
            4 => Msg::Snapshot {
                term,
                snapshot: Box::new(s.message("snapshot")?),
                read_round: uint(s, "read_round")?,
            },
            _ => Msg::SnapshotReply {
                term,
                index: uint(s, "index")?,
                read_round: uint(s, "read_round")?,
            },
        };
        let sender_version = s.get_uint("sender_version")?.unwrap_or(1);
        let sender_version = u32::try_from(sender_version)
            .map_err(|_| s.missing("sender_version", "a version that fits 32 bits"))?;
        Ok(Decoded { msg, sender_version })
    }
}

/// A snapshot as the `Snapshot` message.
impl Message for SnapshotData {
    const NAME: &'static str = "Snapshot";

    fn write<S: Sink>(&self, sink: &mut S) -> Result<(), EncodeError> {
        sink.uint("index", self.index)?;
        sink.uint("term", self.term)?;
        sink.uint("digest", self.digest)?;
        sink.uints("voters", self.voters.iter().map(|v| u64::from(*v)))?;
        sink.bytes("state", &self.state)
    }

    fn read<S: Source>(s: &mut S) -> Result<Self, DecodeError> {
        let (index, term, digest) = (s.uint("index")?, s.uint("term")?, s.uint("digest")?);
        let voters: Result<Vec<NodeId>, _> =
            s.uints("voters")?.into_iter().map(NodeId::try_from).collect();
        let voters = voters.map_err(|_| s.missing("voters", "node ids (u32)"))?;
        let state = s.get_bytes("state")?.ok_or_else(|| s.missing("state", "bytes"))?;
        Ok(SnapshotData { index, term, digest, voters, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Op, RequestId};
    use crate::protocols::raft::messages::Payload;

    fn messages() -> Vec<Msg> {
        let op = Op::Put { key: "k".into(), value: "v".into() };
        let command = Payload::Command { id: RequestId { client: 1, seq: 2 }, op };
        let snapshot =
            SnapshotData { index: 9, term: 2, digest: 7, voters: vec![0, 1], state: vec![3] };
        vec![
            Msg::Vote { pre: true, term: 3, last_index: 9, last_term: 2 },
            Msg::VoteReply { pre: false, term: 3, granted: true },
            Msg::Append {
                term: 3,
                prev_index: 4,
                prev_term: 2,
                entries: vec![
                    Entry { term: 3, payload: command },
                    Entry { term: 3, payload: Payload::Noop },
                ],
                commit: 4,
                read_round: 11,
            },
            Msg::AppendReply {
                term: 3,
                success: false,
                match_index: 0,
                conflict_index: 3,
                conflict_term: Some(1),
                read_round: 11,
            },
            Msg::Snapshot { term: 3, snapshot: Box::new(snapshot), read_round: 12 },
            Msg::SnapshotReply { term: 3, index: 9, read_round: 12 },
        ]
    }

    #[test]
    fn messages_round_trip_across_compatible_versions() {
        for msg in messages() {
            for (writer, reader) in [(1, 1), (1, 2), (2, 1), (2, 2)] {
                let frame = encode(writer, &msg);
                let (back, sender) = decode(reader, &frame).unwrap();
                assert_eq!(back, msg, "v{writer} -> v{reader}");
                // A version-1 reader does not know `sender_version`; a v2 one reads 1 from a
                // v1 writer (the default) and 2 from a v2 writer.
                assert_eq!(sender, if reader == 1 { 1 } else { writer });
            }
        }
    }

    #[test]
    fn frames_name_their_kind_without_decoding() {
        for msg in messages() {
            for version in SCHEMA_VERSIONS {
                let frame = encode(version, &msg);
                assert_eq!(kind(&frame), Some(msg.kind()), "{msg:?} v{version}");
                assert_eq!(Msg::is_reply(msg.kind()), msg.name().ends_with("Reply"));
                // The name is the Debug form's first word, what the trait's default reads.
                let debug = format!("{frame:?}");
                assert!(debug.starts_with(&format!("{} ", msg.name())), "{debug}");
            }
        }
        assert_eq!(kind(&Frame { version: 1, bytes: vec![0x80] }), None);
        assert_eq!(kind(&Frame { version: 1, bytes: vec![0x08, 9] }), None);
    }

    #[test]
    fn version_three_breaks_decoding_and_the_registry_refuses_it() {
        let heartbeat = Msg::Append {
            term: 1,
            prev_index: 0,
            prev_term: 0,
            entries: vec![],
            commit: 5,
            read_round: 1,
        };
        let e = decode(2, &encode(3, &heartbeat)).unwrap_err();
        assert_eq!(e.field(), "RaftMessage.commit", "{e}");
        let mut checked = Versions::new(false);
        checked.install(2).unwrap();
        let refused = checked.install(3).unwrap_err();
        assert!(refused.contains("RaftMessage.commit (tag 10)"), "{refused}");
        assert_eq!(checked.running(), 2);
        let mut unchecked = Versions::new(true);
        unchecked.install(2).unwrap();
        unchecked.install(3).unwrap();
        assert_eq!(unchecked.running(), 3);
        assert!(unchecked.install(2).is_err(), "no downgrades");
    }
}
