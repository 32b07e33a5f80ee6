//! The trace of a run: one typed record per thing that happened, written as JSON Lines
//! (`trace.jsonl`) by the simulator and read back by reports through the same types.

use crate::engine::Nanos;
use crate::node::{Fact, Group, NodeId};
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::Path;

/// One line of the trace: when, and what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Global (true) time.
    pub t: Nanos,
    /// What happened.
    #[serde(flatten)]
    pub event: TraceEvent,
}

/// Everything the trace records. Hosts are nodes (`0..nodes`) then clients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum TraceEvent {
    /// The run began.
    Start { seed: u64, scenario: String, system: String },
    /// A node booted (first boot or restart).
    Boot { node: NodeId },
    /// A message left `from`: `name` is its kind (`Append`, `get`, `Ok`), `msg` the whole of
    /// it; it arrives at `arrive`, or was dropped on sending for reason `drop`.
    Send {
        from: u32,
        to: u32,
        name: String,
        msg: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arrive: Option<Nanos>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        drop: Option<String>,
    },
    /// A message reached `to` and was handed to it.
    Recv { from: u32, to: u32, name: String, msg: String },
    /// A message in flight was lost: `cut_in_flight` (its link was cut) or `node_down` (it
    /// reached a crashed node).
    Drop { from: u32, to: u32, name: String, why: String },
    /// A node's timer fired at local time `local`.
    Timer { node: NodeId, timer: String, local: Nanos },
    /// A node's fsync completed.
    FsyncDone { node: NodeId },
    /// A node's asynchronous read completed.
    ReadDone { node: NodeId },
    /// A client sent (or resent) its operation.
    ClientSend { client: u32, to: NodeId, op: String, seq: u64 },
    /// A client's attempt timed out.
    ClientTimeout { client: u32, attempt: u32 },
    /// A node recorded a fact about `group`.
    Fact { node: NodeId, group: Group, fact: Fact },
    /// A fault was applied: its description and what it did.
    Fault { fault: String, detail: String },
    /// The quiet period began (every fault repaired).
    QuietStart,
    /// An operator action was delivered to the nodes.
    Control { action: String },
}

/// Why a trace could not be read: the line and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceReadError(pub String);

/// Calls `each` with every record of the trace at `path`, in file order.
pub fn for_each_record(
    path: &Path,
    mut each: impl FnMut(TraceRecord),
) -> Result<(), TraceReadError> {
    let file = std::fs::File::open(path).map_err(|e| TraceReadError(e.to_string()))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| TraceReadError(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(&line)
            .map_err(|e| TraceReadError(format!("line {}: {e}", i + 1)))?;
        each(record);
    }
    Ok(())
}

/// The first word of a value's debug text: `Replicate { .. }` gives `Replicate`.
pub fn debug_name(text: &str) -> &str {
    let end = text.find([' ', '{', '(']).unwrap_or(text.len());
    &text[..end]
}

/// A trace sink a test can read back: clone it into [`RunOptions::with_trace`], run, then
/// read [`TraceBuffer::bytes`].
#[derive(Clone, Default)]
pub struct TraceBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl TraceBuffer {
    /// Run options that write the full trace into this buffer.
    pub fn options(&self) -> crate::sim::RunOptions {
        crate::sim::RunOptions::with_trace(crate::engine::TraceWriter::new(Box::new(self.clone())))
    }

    /// What was written so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl std::io::Write for TraceBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_as_one_flat_json_object() {
        let records = [
            TraceRecord {
                t: 5,
                event: TraceEvent::Send {
                    from: 0,
                    to: 1,
                    name: "Ping".into(),
                    msg: "Ping { n: 1 }".into(),
                    arrive: Some(900),
                    drop: None,
                },
            },
            TraceRecord { t: 7, event: TraceEvent::QuietStart },
            TraceRecord {
                t: 9,
                event: TraceEvent::Fact { node: 2, group: 0, fact: Fact::Leader { term: 3 } },
            },
        ];
        for r in records {
            let line = serde_json::to_string(&r).unwrap();
            assert!(line.starts_with("{\"t\":"), "{line}");
            assert_eq!(serde_json::from_str::<TraceRecord>(&line).unwrap(), r, "{line}");
        }
        assert_eq!(debug_name("Replicate { first: 1 }"), "Replicate");
        assert_eq!(debug_name("Ack"), "Ack");
    }
}
