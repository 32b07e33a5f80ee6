//! `cargo xtask encoding [--check]`: the schema encoding's sizes against JSON and postcard
//! (a well-known compact serde format) for the same Raft records and messages, written to
//! `reports/encoding/` (`figures.json` and a README whose table and verdict come from it).
//! Sizes are exact, so `--check` verifies the committed figures; speeds are timings and live
//! in `cargo xtask bench` (`encoding_round_trips`, `encoding_record_round_trips`).

use serde::{Deserialize, Serialize};
use sim::encoding::typed::{decode_message, encode_message};
use sim::node::{Op, RequestId};
use sim::protocols::raft::messages::{Entry, Msg, Payload};
use sim::protocols::raft::storage::{self as raft_storage, Record};
use sim::protocols::raft::wire;
use std::path::Path;
use std::process::ExitCode;

/// A log record as serde sees it: the same fields as the schema's `LogRecord`.
#[derive(Serialize)]
struct RecordSerde {
    index: u64,
    digest: u64,
    entry: EntrySerde,
}

/// Raft's entries and messages as serde sees them: the same fields as the schema's, in
/// serde's default (externally tagged) enums, which every serde format reads back.
#[derive(Clone, Serialize, Deserialize)]
pub struct EntrySerde {
    term: u64,
    payload: PayloadSerde,
}

#[derive(Clone, Serialize, Deserialize)]
enum PayloadSerde {
    Noop,
    Command { client: u32, seq: u64, op: OpSerde },
    Config { voters: Vec<u32> },
}

#[derive(Clone, Serialize, Deserialize)]
enum OpSerde {
    Get { key: String },
    Put { key: String, value: String },
    Cas { key: String, from: Option<String>, to: String },
    Append { key: String, value: String },
}

#[derive(Clone, Serialize, Deserialize)]
pub enum MsgSerde {
    Vote {
        pre: bool,
        term: u64,
        last_index: u64,
        last_term: u64,
    },
    Append {
        term: u64,
        prev_index: u64,
        prev_term: u64,
        entries: Vec<EntrySerde>,
        commit: u64,
        read_round: u64,
    },
    AppendReply {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_index: u64,
        conflict_term: Option<u64>,
        read_round: u64,
    },
}

fn entry_serde(entry: &Entry) -> EntrySerde {
    let payload = match &entry.payload {
        Payload::Noop => PayloadSerde::Noop,
        Payload::Config { voters } => PayloadSerde::Config { voters: voters.clone() },
        Payload::Command { id, op } => {
            let op = match op.clone() {
                Op::Get { key } => OpSerde::Get { key },
                Op::Put { key, value } => OpSerde::Put { key, value },
                Op::Cas { key, from, to } => OpSerde::Cas { key, from, to },
                Op::Append { key, value } => OpSerde::Append { key, value },
            };
            PayloadSerde::Command { client: id.client, seq: id.seq, op }
        }
    };
    EntrySerde { term: entry.term, payload }
}

/// `msg` in its serde form (built once, outside what the bench times).
pub fn serde_form(msg: &Msg) -> MsgSerde {
    match msg {
        Msg::Vote { pre, term, last_index, last_term } => MsgSerde::Vote {
            pre: *pre,
            term: *term,
            last_index: *last_index,
            last_term: *last_term,
        },
        Msg::Append { term, prev_index, prev_term, entries, commit, read_round } => {
            MsgSerde::Append {
                term: *term,
                prev_index: *prev_index,
                prev_term: *prev_term,
                entries: entries.iter().map(entry_serde).collect(),
                commit: *commit,
                read_round: *read_round,
            }
        }
        Msg::AppendReply {
            term,
            success,
            match_index,
            conflict_index,
            conflict_term,
            read_round,
        } => MsgSerde::AppendReply {
            term: *term,
            success: *success,
            match_index: *match_index,
            conflict_index: *conflict_index,
            conflict_term: *conflict_term,
            read_round: *read_round,
        },
        other => unreachable!("no sample of {other:?}"),
    }
}

/// A client write as the log holds it, at index `index`.
pub fn put(index: u64) -> Entry {
    let op = Op::Put { key: format!("key{}", index % 8), value: format!("value-{index}") };
    Entry { term: 3, payload: Payload::Command { id: RequestId { client: 7, seq: index }, op } }
}

/// A sample: its name and how each format encodes it.
pub struct Sample {
    pub name: &'static str,
    pub schema: Vec<u8>,
    pub json: Vec<u8>,
    pub postcard: Vec<u8>,
}

fn record_sample(name: &'static str, record: &Record) -> Sample {
    let mut schema = Vec::new();
    encode_message(raft_storage::schema(1), record, &mut schema).expect("fits the schema");
    let serde = RecordSerde {
        index: record.index,
        digest: record.digest,
        entry: entry_serde(&record.entry),
    };
    Sample {
        name,
        schema,
        json: serde_json::to_vec(&serde).expect("serialises"),
        postcard: postcard::to_allocvec(&serde).expect("serialises"),
    }
}

fn message_sample(name: &'static str, msg: &Msg) -> Sample {
    let serde = serde_form(msg);
    Sample {
        name,
        schema: wire::encode(1, msg).bytes,
        json: serde_json::to_vec(&serde).expect("serialises"),
        postcard: postcard::to_allocvec(&serde).expect("serialises"),
    }
}

/// An `Append` carrying `n` client writes from index 1000 on.
pub fn append(n: u64) -> Msg {
    Msg::Append {
        term: 3,
        prev_index: 999,
        prev_term: 3,
        entries: (1000..1000 + n).map(put).collect(),
        commit: 998,
        read_round: 4242,
    }
}

/// The records and messages measured.
pub fn samples() -> Vec<Sample> {
    let record = Record { index: 1042, digest: 0x9e37_79b9_7f4a_7c15, entry: put(1042) };
    let reply = Msg::AppendReply {
        term: 3,
        success: true,
        match_index: 1007,
        conflict_index: 0,
        conflict_term: None,
        read_round: 4242,
    };
    let vote = Msg::Vote { pre: false, term: 4, last_index: 1007, last_term: 3 };
    vec![
        record_sample("log record (a put)", &record),
        message_sample("heartbeat (Append, no entries)", &append(0)),
        message_sample("Append with 8 puts", &append(8)),
        message_sample("AppendReply", &reply),
        message_sample("Vote", &vote),
    ]
}

/// One encode and one decode of `msg` with the schema encoding (Raft's wire path).
pub fn round_trip_schema(msg: &Msg) -> usize {
    let frame = wire::encode(1, msg);
    let (back, _) = wire::decode(1, &frame).expect("decodes");
    frame.bytes.len() + usize::from(matches!(back, Msg::Append { .. }))
}

/// The same through serde_json, from and into the serde form.
pub fn round_trip_json(msg: &MsgSerde) -> usize {
    let bytes = serde_json::to_vec(msg).expect("serialises");
    let back: MsgSerde = serde_json::from_slice(&bytes).expect("parses");
    bytes.len() + usize::from(matches!(back, MsgSerde::Append { .. }))
}

/// The same through postcard.
pub fn round_trip_postcard(msg: &MsgSerde) -> usize {
    let bytes = postcard::to_allocvec(msg).expect("serialises");
    let back: MsgSerde = postcard::from_bytes(&bytes).expect("decodes");
    bytes.len() + usize::from(matches!(back, MsgSerde::Append { .. }))
}

/// The log record's round trip through the schema's direct path, for the record bench.
pub fn round_trip_record(record: &Record) -> usize {
    let mut bytes = Vec::with_capacity(64);
    encode_message(raft_storage::schema(1), record, &mut bytes).expect("fits");
    let back: Record = decode_message(raft_storage::schema(1), &bytes).expect("decodes");
    bytes.len() + usize::from(back.index > 0)
}

fn figures_json(samples: &[Sample]) -> String {
    let rows: Vec<serde_json::Value> = samples
        .iter()
        .map(|s| {
            serde_json::json!({
                "sample": s.name,
                "schema_bytes": s.schema.len(),
                "json_bytes": s.json.len(),
                "postcard_bytes": s.postcard.len(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "sizes": rows })).expect("json") + "\n"
}

fn readme(samples: &[Sample]) -> String {
    let mut table = String::from(
        "| record | schema encoding | JSON | postcard | JSON / schema | schema / postcard |\n\
         |---|---|---|---|---|---|\n",
    );
    let (mut schema, mut json, mut postcard) = (0, 0, 0);
    for s in samples {
        let (a, b, c) = (s.schema.len(), s.json.len(), s.postcard.len());
        (schema, json, postcard) = (schema + a, json + b, postcard + c);
        table += &format!(
            "| {} | {a} | {b} | {c} | {:.1}x | {:.2}x |\n",
            s.name,
            b as f64 / a as f64,
            a as f64 / c as f64
        );
    }
    let verdict = format!(
        "Over these samples the schema encoding takes {:.1}x fewer bytes than JSON and {:.2}x \
         the bytes of postcard. Postcard is smaller because it writes no field tags (its reader \
         must have the writer's exact types); the tags are what let a reader on another schema \
         version skip fields it does not know and default the ones it lacks.",
        json as f64 / schema as f64,
        schema as f64 / postcard as f64
    );
    format!(
        "# Encoding figures\n\n\
         Generated by `cargo xtask encoding` (`--check` verifies `figures.json`); do not edit.\n\n\
         Encoded sizes in bytes of the same Raft records and messages: the schema encoding \
         (`schemas/raft-v1.toml`, what the simulated disk and wire carry), JSON (serde_json \
         of the same fields) and postcard (serde, varints, no field tags).\n\n{table}\n\
         {verdict}\n\n\
         Speeds are timings, so they live in `cargo xtask bench`: `encoding_round_trips` (an \
         Append with 8 puts encoded and decoded, with JSON's and postcard's rates in its note) \
         and `encoding_record_round_trips` (a log record).\n"
    )
}

/// Runs the command: writes reports/encoding/, or with `--check` verifies figures.json.
pub fn run(args: &[String]) -> ExitCode {
    let check = match crate::check_flag("encoding", args) {
        Ok(check) => check,
        Err(code) => return code,
    };
    let samples = samples();
    let json = figures_json(&samples);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/encoding");
    if check {
        return crate::check_figures("encoding", &dir, &json);
    }
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("figures.json"), &json))
        .and_then(|()| std::fs::write(dir.join("README.md"), readme(&samples)));
    match written {
        Ok(()) => {
            println!("reports/encoding: figures.json, README.md");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reports/encoding: {e}");
            ExitCode::FAILURE
        }
    }
}
