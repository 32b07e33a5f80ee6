//! Reading a run's trace (`trace.jsonl`, one JSON object per line) back, one record at a time.

use super::ReportError;
use crate::engine::Nanos;
use serde::Deserialize;
use std::io::BufRead;
use std::path::Path;

/// One trace record; the fields present depend on `ev` (see `src/sim/mod.rs`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TraceRecord {
    /// Global time of the record.
    pub t: Nanos,
    /// `send`, `recv`, `drop`, `fact`, `fault`, `boot`, `client_send`, `quiet_start`, `start`.
    pub ev: String,
    /// Sending host (`send`, `recv`, `drop`).
    #[serde(default)]
    pub from: Option<u32>,
    /// Receiving host (`send`, `recv`, `drop`, `client_send`).
    #[serde(default)]
    pub to: Option<u32>,
    /// The message, as debug text.
    #[serde(default)]
    pub msg: Option<String>,
    /// When a sent message arrives (`None`: dropped on sending).
    #[serde(default)]
    pub arrive: Option<Nanos>,
    /// Why a message was dropped on sending.
    #[serde(default)]
    pub drop: Option<String>,
    /// Why a message was dropped in flight (`drop` records).
    #[serde(default)]
    pub why: Option<String>,
    /// The node of `fact` and `boot` records.
    #[serde(default)]
    pub node: Option<u32>,
    /// The fault's description (`fault` records).
    #[serde(default)]
    pub fault: Option<String>,
    /// What a fault did (`fault` records).
    #[serde(default)]
    pub detail: Option<String>,
    /// The fact (`fact` records).
    #[serde(default)]
    pub fact: Option<serde_json::Value>,
}

impl TraceRecord {
    /// The fact's name (`leader`, ...) of a `fact` record.
    pub fn fact_name(&self) -> Option<&str> {
        self.fact.as_ref()?.get("fact")?.as_str()
    }
}

/// The first word of a message's debug text: `Replicate { .. }` gives `Replicate`.
pub fn message_name(msg: &str) -> &str {
    let msg = msg
        .strip_prefix("RequestId { ")
        .map_or(msg, |rest| rest.split_once("} ").map_or(rest, |(_, after)| after));
    let end = msg.find([' ', '{', '(']).unwrap_or(msg.len());
    &msg[..end]
}

/// Calls `each` with every record of the trace at `path`, in file order.
pub fn for_each_record(path: &Path, mut each: impl FnMut(TraceRecord)) -> Result<(), ReportError> {
    let file = std::fs::File::open(path).map_err(|e| ReportError::new(path, e.to_string()))?;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ReportError::new(path, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(&line)
            .map_err(|e| ReportError::new(path, format!("line {}: {e}", i + 1)))?;
        each(record);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_skip_request_ids() {
        assert_eq!(message_name("Replicate { first: 1, entries: [] }"), "Replicate");
        assert_eq!(message_name("RequestId { client: 0, seq: 1 } cas k0 nil->c0-1"), "cas");
        assert_eq!(message_name("RequestId { client: 0, seq: 1 } Ok { value: None }"), "Ok");
        assert_eq!(message_name("Ack"), "Ack");
    }
}
