//! Exports for other tools: the trace as Chrome trace events (opens as a timeline in Perfetto or
//! chrome://tracing), and the client history as a Jepsen EDN history (for Knossos and Elle).

use super::trace::{for_each_record, message_name, TraceRecord};
use super::ReportError;
use crate::engine::Nanos;
use crate::node::Op;
use crate::workload::{History, HistoryOp, Outcome};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// Chrome trace timestamps are microseconds; fractions keep the nanoseconds.
fn micros(ns: Nanos) -> f64 {
    ns as f64 / 1e3
}

/// Writes `{"traceEvents": [...]}`: one thread per node and per client (thread id = host id),
/// instant events for messages sent, received and lost, facts, boots and faults (faults are
/// global), and a complete event (`X`) per client operation on its client's thread.
pub fn write_chrome_trace(
    out: &mut dyn Write,
    title: &str,
    nodes: u32,
    history: &History,
    trace: Option<&Path>,
) -> Result<(), ReportError> {
    let mut events: Vec<Value> = vec![json!({"ph": "M", "name": "process_name", "pid": 1,
        "tid": 0, "args": {"name": title}})];
    let clients = history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0);
    for host in 0..nodes + clients {
        let name =
            if host < nodes { format!("n{host}") } else { format!("client {}", host - nodes) };
        events.push(json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": host,
            "args": {"name": name}}));
        events.push(json!({"ph": "M", "name": "thread_sort_index", "pid": 1, "tid": host,
            "args": {"sort_index": host}}));
    }
    events.extend(history.ops.iter().map(|op| op_event(op, nodes)));
    let io = |e: std::io::Error| ReportError::new(Path::new("chrome-trace.json"), e.to_string());
    out.write_all(b"{\"traceEvents\": [\n").map_err(io)?;
    let mut first = true;
    let mut failed: Option<std::io::Error> = None;
    let mut emit = |event: &Value, out: &mut dyn Write| {
        let sep: &[u8] = if first { b"" } else { b",\n" };
        first = false;
        let written = out
            .write_all(sep)
            .and_then(|()| serde_json::to_writer(&mut *out, event).map_err(std::io::Error::other));
        if let Err(e) = written {
            failed.get_or_insert(e);
        }
    };
    for event in &events {
        emit(event, out);
    }
    if let Some(trace) = trace {
        for_each_record(trace, |r| {
            if let Some(event) = record_event(&r) {
                emit(&event, out);
            }
        })?;
    }
    if let Some(e) = failed {
        return Err(io(e));
    }
    out.write_all(b"\n], \"displayTimeUnit\": \"ms\"}\n").map_err(io)
}

fn op_event(op: &HistoryOp, nodes: u32) -> Value {
    let colour = match op.outcome {
        Outcome::Ok => "good",
        Outcome::Fail => "yellow",
        Outcome::Info => "terrible",
    };
    json!({"ph": "X", "name": op.op.to_string(), "cat": "op", "pid": 1, "tid": nodes + op.client,
        "ts": micros(op.invoke_ns), "dur": micros(op.latency_ns()), "cname": colour,
        "args": {"outcome": op.outcome.name(), "id": op.id, "value": op.value}})
}

/// The Chrome event of one trace record (`None` for records without one).
fn record_event(r: &TraceRecord) -> Option<Value> {
    let name = |prefix: &str| format!("{prefix} {}", message_name(r.msg.as_deref().unwrap_or("")));
    let (tid, name, args) = match r.ev.as_str() {
        "send" => (
            r.from?,
            name("send"),
            json!({"to": r.to, "msg": r.msg,
            "arrive_ns": r.arrive, "drop": r.drop}),
        ),
        "recv" => (r.to?, name("recv"), json!({"from": r.from, "msg": r.msg})),
        "drop" => (r.to?, "lost in flight".to_string(), json!({"from": r.from, "why": r.why})),
        "fact" => (r.node?, format!("fact {}", r.fact_name().unwrap_or("?")), json!(r.fact)),
        "boot" => (r.node?, "boot".to_string(), json!({})),
        "fault" | "quiet_start" => {
            let name = r.fault.clone().unwrap_or_else(|| "quiet period".into());
            return Some(json!({"ph": "i", "s": "g", "name": name, "cat": "fault", "pid": 1,
                "tid": 0, "ts": micros(r.t), "args": {"detail": r.detail}}));
        }
        _ => return None,
    };
    Some(json!({"ph": "i", "s": "t", "name": name, "cat": r.ev, "pid": 1, "tid": tid,
        "ts": micros(r.t), "args": args}))
}

/// An EDN string literal.
fn edn_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn edn_option(v: Option<&str>) -> String {
    v.map_or_else(|| "nil".to_string(), edn_string)
}

/// Jepsen's `:f` and the `:value` of an invocation.
fn edn_f_value(op: &Op) -> (&'static str, String) {
    match op {
        Op::Get { .. } => (":read", "nil".into()),
        Op::Put { value, .. } => (":write", edn_string(value)),
        Op::Cas { from, to, .. } => {
            (":cas", format!("[{} {}]", edn_option(from.as_deref()), edn_string(to)))
        }
        Op::Append { value, .. } => (":append", edn_string(value)),
    }
}

/// Writes the history as Jepsen EDN, one operation map per line: each operation's `:invoke`,
/// then its `:ok`, `:fail` or `:info` completion, all ordered by time (completions first on
/// ties). Jepsen retires a process after an `:info` (its operation may still be pending), so
/// each `:info` moves its client to a fresh process number, `client + clients * retired`.
pub fn write_edn_history(out: &mut dyn Write, history: &History) -> std::io::Result<()> {
    let clients = u64::from(history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0));
    let mut retired = vec![0u64; clients as usize];
    // (time, completion first, op id, line)
    let mut lines: Vec<(Nanos, u8, u64, String)> = Vec::with_capacity(history.ops.len() * 2);
    for op in &history.ops {
        let process = u64::from(op.client) + clients * retired[op.client as usize];
        let (f, value) = edn_f_value(&op.op);
        let key = edn_string(op.op.key());
        let line = |kind: &str, value: &str, time: Nanos| {
            format!("{{:process {process}, :type {kind}, :f {f}, :key {key}, :value {value}, :time {time}}}")
        };
        lines.push((op.invoke_ns, 1, op.id, line(":invoke", &value, op.invoke_ns)));
        let done_value = match (&op.op, op.outcome) {
            (Op::Get { .. }, Outcome::Ok) => edn_option(op.value.as_deref()),
            _ => value.clone(),
        };
        let kind = format!(":{}", op.outcome.name());
        lines.push((op.complete_ns, 0, op.id, line(&kind, &done_value, op.complete_ns)));
        if op.outcome == Outcome::Info {
            retired[op.client as usize] += 1;
        }
    }
    lines.sort_by_key(|l| (l.0, l.1, l.2));
    for (.., line) in lines {
        writeln!(out, "{line}")?;
    }
    Ok(())
}
