//! Exports for other tools: the trace as Chrome trace events (opens as a timeline in Perfetto or
//! chrome://tracing), and the client history as a Jepsen EDN history (for Knossos and Elle).

use super::trace::{for_each_record, TraceEvent, TraceRecord};
use super::ReportError;
use crate::engine::Nanos;
use crate::workload::{History, Outcome};
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
    let mut events: Vec<Value> = vec![json!({"ph": "M", "ts": 0, "name": "process_name", "pid": 1,
        "tid": 0, "args": {"name": title}})];
    let clients = history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0);
    for host in 0..nodes + clients {
        let name =
            if host < nodes { format!("n{host}") } else { format!("client {}", host - nodes) };
        events.push(json!({"ph": "M", "ts": 0, "name": "thread_name", "pid": 1, "tid": host,
            "args": {"name": name}}));
        events.push(json!({"ph": "M", "ts": 0, "name": "thread_sort_index", "pid": 1, "tid": host,
            "args": {"sort_index": host}}));
    }
    events.extend((0..history.ops.len()).map(|i| op_event(history, i, nodes)));
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

fn op_event(history: &History, i: usize, nodes: u32) -> Value {
    let op = &history.ops[i];
    let colour = match op.outcome {
        Outcome::Ok => "good",
        Outcome::Fail => "yellow",
        Outcome::Info => "terrible",
    };
    json!({"ph": "X", "name": history.describe(i), "cat": "op", "pid": 1,
        "tid": nodes + op.client, "ts": micros(op.invoke_ns), "dur": micros(op.latency_ns()),
        "cname": colour, "args": {"outcome": op.outcome.name(), "id": op.id,
        "op": history.json(i)}})
}

/// The Chrome event of one trace record (`None` for records without one).
fn record_event(r: &TraceRecord) -> Option<Value> {
    let (tid, cat, name, args) = match &r.event {
        TraceEvent::Send { from, to, name, msg, arrive, drop } => (
            *from,
            "send",
            format!("send {name}"),
            json!({"to": to, "msg": msg, "arrive_ns": arrive, "drop": drop}),
        ),
        TraceEvent::Recv { from, to, name, msg } => {
            (*to, "recv", format!("recv {name}"), json!({"from": from, "msg": msg}))
        }
        TraceEvent::Drop { from, to, name, why } => {
            (*to, "drop", format!("lost {name}"), json!({"from": from, "why": why}))
        }
        TraceEvent::Fact { node, group, fact } => {
            (*node, "fact", format!("fact {}", fact.name()), json!({"group": group, "fact": fact}))
        }
        TraceEvent::Boot { node } => (*node, "boot", "boot".to_string(), json!({})),
        TraceEvent::Fault { fault, detail } => {
            return Some(json!({"ph": "i", "s": "g", "name": fault, "cat": "fault", "pid": 1,
                "tid": 0, "ts": micros(r.t), "args": {"detail": detail}}));
        }
        TraceEvent::QuietStart => {
            return Some(json!({"ph": "i", "s": "g", "name": "quiet period", "cat": "fault",
                "pid": 1, "tid": 0, "ts": micros(r.t), "args": {}}));
        }
        _ => return None,
    };
    Some(json!({"ph": "i", "s": "t", "name": name, "cat": cat, "pid": 1, "tid": tid,
        "ts": micros(r.t), "args": args}))
}

/// Writes the history as Jepsen writes it (`history.edn`), one operation map per line: each
/// operation's `:invoke`, then its `:ok`, `:fail` or `:info` completion, ordered by time
/// (completions first on ties), each with its `:index` in the file. `:f` and `:value` are the
/// system's API's (for key-value, `[k v]` tuples as `jepsen.independent` writes them). Jepsen
/// retires a process after an `:info` (its operation may still be pending), so each `:info`
/// moves its client to a fresh process number, `client + clients * retired`.
///
/// The first line, `; nil-reads: absent ...`, tells `sim check` that a read of `nil` here read
/// no value (a stale read of an empty key is a bug sim must still see); Knossos skips the comment
/// and reads `nil` as an unknown value, as it always does.
pub fn write_edn_history(out: &mut dyn Write, history: &History) -> std::io::Result<()> {
    // `sim::check::history_file::NIL_READS_COMMENT` (report/ does not depend on check/).
    writeln!(
        out,
        "; nil-reads: absent (written by sim: a read of nil read no value; Knossos reads nil as \
         unknown)"
    )?;
    let clients = u64::from(history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0));
    let mut retired = vec![0u64; clients as usize];
    // (time, completion first, op id, line without its index)
    let mut lines: Vec<(Nanos, u8, u64, String)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        let process = u64::from(op.client) + clients * retired[op.client as usize];
        let edn = history.edn(i);
        let key = edn.key.as_ref().map(|k| format!(", :key {k}")).unwrap_or_default();
        let line = |kind: &str, value: &str, time: Nanos| {
            format!(
                ":process {process}, :type {kind}, :f :{}{key}, :value {value}, :time {time}",
                edn.f
            )
        };
        lines.push((op.invoke_ns, 1, op.id, line(":invoke", &edn.invoke, op.invoke_ns)));
        let done = if op.outcome == Outcome::Ok { &edn.complete } else { &edn.invoke };
        let kind = format!(":{}", op.outcome.name());
        lines.push((op.complete_ns, 0, op.id, line(&kind, done, op.complete_ns)));
        if op.outcome == Outcome::Info {
            retired[op.client as usize] += 1;
        }
    }
    lines.sort_by_key(|l| (l.0, l.1, l.2));
    for (index, (.., line)) in lines.into_iter().enumerate() {
        writeln!(out, "{{:index {index}, {line}}}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::workload::{Record, TypedHistory};
    use std::collections::BTreeMap;

    fn op(id: u64, client: u32, op: Op, t: (Nanos, Nanos), outcome: Outcome) -> Record<KvApi> {
        let read = if op.is_read() { Some("v\"1".to_string()) } else { None };
        let result = (outcome == Outcome::Ok).then_some(read);
        Record { id, client, op, invoke_ns: t.0, complete_ns: t.1, outcome, result }
    }

    fn history() -> History {
        let key = || "k1".to_string();
        History::from_typed(TypedHistory {
            ops: vec![
                op(0, 0, Op::Put { key: key(), value: "3".into() }, (10, 30), Outcome::Ok),
                op(1, 1, Op::Get { key: key() }, (20, 25), Outcome::Ok),
                op(
                    2,
                    1,
                    Op::Cas { key: key(), from: None, to: "4".into() },
                    (25, 90),
                    Outcome::Info,
                ),
                op(3, 0, Op::Append { key: key(), value: "x".into() }, (30, 40), Outcome::Fail),
                op(4, 1, Op::Get { key: key() }, (95, 99), Outcome::Ok),
            ],
        })
    }

    /// A reader for the EDN this module writes: maps of keywords to ints, strings, keywords,
    /// nil and vectors of those.
    fn read_edn(line: &str) -> BTreeMap<String, String> {
        let inner = line.trim().strip_prefix('{').and_then(|l| l.strip_suffix('}')).unwrap();
        let (mut map, mut chars) = (BTreeMap::new(), inner.chars().peekable());
        loop {
            let key: String =
                chars.by_ref().skip_while(|c| *c != ':').take_while(|c| *c != ' ').collect();
            if key.is_empty() {
                return map;
            }
            let (mut value, mut in_string, mut depth) = (String::new(), false, 0);
            while let Some(c) = chars.next() {
                match c {
                    '\\' if in_string => value.push(chars.next().unwrap()),
                    '"' => in_string = !in_string,
                    '[' if !in_string => depth += 1,
                    ']' if !in_string => depth -= 1,
                    ',' if !in_string && depth == 0 => break,
                    c => value.push(c),
                }
            }
            map.insert(key, value.trim().to_string());
        }
    }

    #[test]
    fn edn_history_pairs_invocations_with_completions_in_time_order() {
        let mut out = Vec::new();
        write_edn_history(&mut out, &history()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let (declaration, text) = text.split_once('\n').unwrap();
        assert!(declaration.starts_with("; nil-reads: absent "), "{declaration}");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10);
        assert_eq!(
            lines[0],
            "{:index 0, :process 0, :type :invoke, :f :write, :value [\"k1\" \"3\"], :time 10}"
        );
        let maps: Vec<_> = lines.iter().map(|l| read_edn(l)).collect();
        let times: Vec<u64> = maps.iter().map(|m| m[":time"].parse().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        // The read's completion carries the value read, escaped and read back.
        let read = maps.iter().find(|m| m[":f"] == ":read" && m[":type"] == ":ok").unwrap();
        assert_eq!(read[":value"], "k1 v\"1");
        let indices: Vec<usize> = maps.iter().map(|m| m[":index"].parse().unwrap()).collect();
        assert_eq!(indices, (0..10).collect::<Vec<_>>());
        // A completion at 25 precedes the invocation at 25.
        let at_25: Vec<&str> =
            maps.iter().filter(|m| m[":time"] == "25").map(|m| &*m[":type"]).collect();
        assert_eq!(at_25, [":ok", ":invoke"]);
        assert_eq!((maps[3][":f"].as_str(), maps[3][":value"].as_str()), (":cas", "k1 nil 4"));
        // After its :info, client 1 continues as a fresh process (1 + 2 clients).
        let last = maps.last().unwrap();
        assert_eq!((last[":process"].as_str(), last[":type"].as_str()), ("3", ":ok"));
        let fail = maps.iter().find(|m| m[":f"] == ":append" && m[":type"] != ":invoke").unwrap();
        assert_eq!(fail[":type"], ":fail");
    }

    #[test]
    fn chrome_trace_has_threads_ops_and_trace_events() {
        let dir = std::env::temp_dir().join(format!("sim-chrome-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let trace = dir.join("trace.jsonl");
        let lines = [
            r#"{"t":0,"ev":"start","seed":1,"scenario":"s","system":"x"}"#,
            r#"{"t":5,"ev":"send","from":0,"to":1,"name":"Ping","msg":"Ping { n: 1 }","arrive":900}"#,
            r#"{"t":900,"ev":"recv","from":0,"to":1,"name":"Ping","msg":"Ping { n: 1 }"}"#,
            r#"{"t":1000,"ev":"fault","fault":"crash n1","detail":""}"#,
        ];
        std::fs::write(&trace, lines.join("\n")).unwrap();
        let mut out = Vec::new();
        write_chrome_trace(&mut out, "test", 2, &history(), Some(&trace)).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        let events = value["traceEvents"].as_array().unwrap();
        for e in events {
            assert!(e["ph"].is_string() && e["pid"].is_number() && e["name"].is_string(), "{e}");
            assert!(e["ph"] == "M" || e["ts"].is_number(), "{e}");
        }
        let ops: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(ops.len(), 5);
        assert_eq!((ops[1]["tid"].as_u64(), ops[1]["ts"].as_f64()), (Some(3), Some(0.02)));
        let send = events.iter().find(|e| e["name"] == "send Ping").unwrap();
        assert_eq!((send["tid"].as_u64(), send["ph"].as_str()), (Some(0), Some("i")));
        let fault = events.iter().find(|e| e["name"] == "crash n1").unwrap();
        assert_eq!(fault["s"], "g");
        let names = events.iter().filter(|e| e["name"] == "thread_name").count();
        assert_eq!(names, 4);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
