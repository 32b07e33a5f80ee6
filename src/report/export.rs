//! Exports for other tools: the trace as Chrome trace events (opens as a timeline in Perfetto or
//! chrome://tracing), and the client history as a Jepsen EDN history (for Knossos and Elle).

use super::trace::{for_each_record, TraceEvent, TraceRecord};
use super::windows::{FaultWindow, WindowClass};
use super::ReportError;
use crate::engine::Nanos;
use crate::workload::{History, Outcome};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::Path;

/// Chrome trace timestamps are microseconds; fractions keep the nanoseconds.
fn micros(ns: Nanos) -> f64 {
    ns as f64 / 1e3
}

/// Writes `{"traceEvents": [...]}`: one track (thread) per node and per client (thread id =
/// host id), then a `network` track (and a `links` track when links were degraded).
///
/// - Each client operation is a complete event (`X`) on its client's track.
/// - A message is an instant where it was sent and one where it was received (or lost), named
///   by its kind, joined by a flow (`s` at the send, `f` with `bp: e` at the receipt) that
///   Perfetto draws as an arrow; its `id` is the message's number in the trace.
/// - A crash is a span on the node's track from the crash to the restart; a network cut
///   (partition, isolate, bridge, one-way) a span on the `network` track until the heal;
///   degraded links a span on `links`; clock and disk faults are instants on the node's track.
/// - Facts, boots, controls and the quiet period's start are instants.
///
/// Timestamps are microseconds with the nanoseconds as fractions.
pub fn write_chrome_trace(
    out: &mut dyn Write,
    title: &str,
    nodes: u32,
    history: &History,
    windows: &[FaultWindow],
    trace: Option<&Path>,
) -> Result<(), ReportError> {
    let clients = history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0);
    let tracks = Tracks { nodes, network: nodes + clients, links: nodes + clients + 1 };
    let mut events: Vec<Value> = vec![json!({"ph": "M", "ts": 0, "name": "process_name", "pid": 1,
        "tid": 0, "args": {"name": title}})];
    let degraded = windows.iter().any(|w| w.class == WindowClass::Degrade);
    let hosts = (0..nodes + clients).map(|h| {
        let name = if h < nodes { format!("n{h}") } else { format!("client {}", h - nodes) };
        (h, name)
    });
    let shared = [(tracks.network, "network".to_string())];
    let links = degraded.then(|| (tracks.links, "links".to_string()));
    for (tid, name) in hosts.chain(shared).chain(links) {
        events.push(json!({"ph": "M", "ts": 0, "name": "thread_name", "pid": 1, "tid": tid,
            "args": {"name": name}}));
        events.push(json!({"ph": "M", "ts": 0, "name": "thread_sort_index", "pid": 1, "tid": tid,
            "args": {"sort_index": tid}}));
    }
    events.extend((0..history.ops.len()).map(|i| op_event(history, i, nodes)));
    events.extend(windows.iter().map(|w| window_event(w, &tracks)));
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
        let mut flows = Flows::default();
        for_each_record(trace, |r| {
            for event in record_events(&r, &mut flows) {
                emit(&event, out);
            }
        })?;
    }
    if let Some(e) = failed {
        return Err(io(e));
    }
    out.write_all(b"\n], \"displayTimeUnit\": \"ms\"}\n").map_err(io)
}

/// Thread ids of the tracks that are not hosts.
struct Tracks {
    nodes: u32,
    network: u32,
    links: u32,
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

/// A fault window as a span on its track, or an instant.
fn window_event(w: &FaultWindow, tracks: &Tracks) -> Value {
    let args = json!({"detail": w.detail, "until_ns": w.end_ns});
    let node_track = w.node.filter(|&n| n < tracks.nodes);
    let tid = match (w.class, node_track) {
        (WindowClass::Degrade, _) => tracks.links,
        (WindowClass::Network, _) | (_, None) => tracks.network,
        (_, Some(n)) => n,
    };
    if w.class.is_instant() {
        return json!({"ph": "i", "s": "t", "name": w.label, "cat": "fault", "pid": 1,
            "tid": tid, "ts": micros(w.start_ns), "args": args});
    }
    json!({"ph": "X", "name": w.label, "cat": "fault", "pid": 1, "tid": tid,
        "ts": micros(w.start_ns), "dur": micros(w.end_ns - w.start_ns), "cname": "grey",
        "args": args})
}

/// Messages in flight, to join each receipt to its send: `(from, to, arrival) -> flow ids`
/// (a queue: two messages may share all three).
#[derive(Default)]
struct Flows {
    next: u64,
    in_flight: BTreeMap<(u32, u32, Nanos), VecDeque<u64>>,
}

impl Flows {
    fn start(&mut self, from: u32, to: u32, arrive: Nanos) -> u64 {
        self.next += 1;
        self.in_flight.entry((from, to, arrive)).or_default().push_back(self.next);
        self.next
    }

    fn end(&mut self, from: u32, to: u32, at: Nanos) -> Option<u64> {
        let queue = self.in_flight.get_mut(&(from, to, at))?;
        let id = queue.pop_front();
        if queue.is_empty() {
            self.in_flight.remove(&(from, to, at));
        }
        id
    }
}

/// A flow event joining a message's instants: `s` at the send, `f` at the receipt. Perfetto
/// binds each to the slice enclosing it on its track, the instant written just before.
fn flow_event(ph: &str, id: u64, tid: u32, t: Nanos) -> Value {
    let mut event = json!({"ph": ph, "id": id, "name": "message", "cat": "msg", "pid": 1,
        "tid": tid, "ts": micros(t)});
    if ph == "f" {
        event["bp"] = json!("e");
    }
    event
}

/// The Chrome events of one trace record (none for records without one; faults are written
/// from the fault windows).
fn record_events(r: &TraceRecord, flows: &mut Flows) -> Vec<Value> {
    let (tid, cat, name, args) = match &r.event {
        TraceEvent::Send { from, to, name, msg, arrive, drop } => {
            let flow = arrive.map(|a| flow_event("s", flows.start(*from, *to, a), *from, r.t));
            let mut args = json!({"to": to, "msg": msg});
            match (arrive, drop) {
                (Some(a), _) => args["arrive_ns"] = json!(a),
                (None, Some(why)) => args["dropped"] = json!(why),
                (None, None) => {}
            }
            let send = instant(*from, "send", name.clone(), args, r.t);
            return std::iter::once(send).chain(flow).collect();
        }
        TraceEvent::Recv { from, to, name, .. } => {
            // The message's text is on its send, which the flow's arrow leads to.
            let flow = flows.end(*from, *to, r.t).map(|id| flow_event("f", id, *to, r.t));
            let recv = instant(*to, "recv", name.clone(), json!({"from": from}), r.t);
            return std::iter::once(recv).chain(flow).collect();
        }
        TraceEvent::Drop { from, to, name, why } => {
            let flow = flows.end(*from, *to, r.t).map(|id| flow_event("f", id, *to, r.t));
            let args = json!({"from": from, "why": why});
            let lost = instant(*to, "drop", format!("lost {name}"), args, r.t);
            return std::iter::once(lost).chain(flow).collect();
        }
        TraceEvent::Fact { node, group, fact } => {
            (*node, "fact", format!("fact {}", fact.name()), json!({"group": group, "fact": fact}))
        }
        TraceEvent::Boot { node } => (*node, "boot", "boot".to_string(), json!({})),
        TraceEvent::QuietStart => return vec![global(r.t, "quiet period", json!({}))],
        TraceEvent::Control { action } => {
            return vec![global(r.t, &format!("control {action}"), json!({}))];
        }
        _ => return Vec::new(),
    };
    vec![instant(tid, cat, name, args, r.t)]
}

fn instant(tid: u32, cat: &str, name: String, args: Value, t: Nanos) -> Value {
    json!({"ph": "i", "s": "t", "name": name, "cat": cat, "pid": 1, "tid": tid,
        "ts": micros(t), "args": args})
}

fn global(t: Nanos, name: &str, args: Value) -> Value {
    json!({"ph": "i", "s": "g", "name": name, "cat": "run", "pid": 1, "tid": 0,
        "ts": micros(t), "args": args})
}

/// Writes the records of `trace` that a report of the window `[from_ns, to_ns]` needs: every
/// record inside it, and the run's start, boots, faults, controls and quiet start wherever
/// they are (a few lines), as JSON Lines like the trace itself.
pub fn write_trace_window(
    out: &mut dyn Write,
    trace: &Path,
    (from_ns, to_ns): (Nanos, Nanos),
) -> Result<(), ReportError> {
    let mut failed: Option<std::io::Error> = None;
    for_each_record(trace, |r| {
        let run_wide = matches!(
            r.event,
            TraceEvent::Start { .. }
                | TraceEvent::Boot { .. }
                | TraceEvent::Fault { .. }
                | TraceEvent::Control { .. }
                | TraceEvent::QuietStart
        );
        if failed.is_some() || !(run_wide || (from_ns <= r.t && r.t <= to_ns)) {
            return;
        }
        let line = serde_json::to_string(&r).expect("a trace record serialises");
        if let Err(e) = writeln!(out, "{line}") {
            failed = Some(e);
        }
    })?;
    match failed {
        Some(e) => Err(ReportError::new(Path::new("trace-window.jsonl"), e.to_string())),
        None => Ok(()),
    }
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
    write_edn_ops(out, history, |i| history.edn(i))
}

/// True if the history is one Elle's list-append checker reads: key-value `get`s and
/// `append`s only (each append adds one `;`-terminated element).
pub fn is_list_append(history: &History) -> bool {
    !history.ops.is_empty() && history.ops.iter().all(|o| o.f == "get" || o.f == "append")
}

/// Writes a key-value history of gets and appends (see [`is_list_append`]) as Elle's
/// list-append workload writes it: `:f :txn` with one micro-operation, `[:append k v]` or
/// `[:r k [v1 v2 ...]]`, the list read back from the appended elements.
pub fn write_elle_history(out: &mut dyn Write, history: &History) -> std::io::Result<()> {
    use crate::api::edn::string;
    writeln!(out, "; Elle list-append: each key's value is the list of its appended elements")?;
    write_edn_ops(out, history, |i| {
        let json = history.json(i);
        let field = |name: &str| json.get(name).and_then(|v| v.as_str());
        let key = string(field("key").unwrap_or(""));
        let element = |e: &str| string(e.trim_end_matches(';'));
        let (invoke, complete) = if history.ops[i].f == "append" {
            let op = format!("[[:append {key} {}]]", element(field("value").unwrap_or("")));
            (op.clone(), op)
        } else {
            let read = field("read").map(|v| {
                let items: Vec<String> =
                    v.split(';').filter(|e| !e.is_empty()).map(element).collect();
                format!("[{}]", items.join(" "))
            });
            let list = read.unwrap_or_else(|| "nil".into());
            (format!("[[:r {key} nil]]"), format!("[[:r {key} {list}]]"))
        };
        crate::api::EdnOp { f: "txn".into(), invoke, complete, key: None }
    })
}

/// The operations of `history` as EDN lines, `edn` giving each one's `:f` and values.
fn write_edn_ops(
    out: &mut dyn Write,
    history: &History,
    edn: impl Fn(usize) -> crate::api::EdnOp,
) -> std::io::Result<()> {
    let clients = u64::from(history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0));
    let mut retired = vec![0u64; clients as usize];
    // (time, completion first, op id, line without its index)
    let mut lines: Vec<(Nanos, u8, u64, String)> = Vec::with_capacity(history.ops.len() * 2);
    for (i, op) in history.ops.iter().enumerate() {
        let process = u64::from(op.client) + clients * retired[op.client as usize];
        let edn = edn(i);
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
mod elle_tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::workload::{Record, TypedHistory};

    #[test]
    fn get_append_histories_read_as_elle_list_append() {
        let rec = |id, op, result| Record::<KvApi> {
            id,
            client: id as u32,
            op,
            invoke_ns: id * 10,
            complete_ns: id * 10 + 5,
            outcome: Outcome::Ok,
            result: Some(result),
        };
        let k = || "k0".to_string();
        let typed = TypedHistory {
            ops: vec![
                rec(0, Op::Append { key: k(), value: "c0-1;".into() }, None),
                rec(1, Op::Append { key: k(), value: "c1-1;".into() }, None),
                rec(2, Op::Get { key: k() }, Some("c0-1;c1-1;".into())),
            ],
        };
        let history = History::from_typed(typed);
        assert!(is_list_append(&history));
        let mut out = Vec::new();
        write_elle_history(&mut out, &history).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(":f :txn, :value [[:append \"k0\" \"c0-1\"]]"), "{text}");
        assert!(
            text.contains(":type :ok, :f :txn, :value [[:r \"k0\" [\"c0-1\" \"c1-1\"]]]"),
            "{text}"
        );
        assert!(text.contains(":type :invoke, :f :txn, :value [[:r \"k0\" nil]]"), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::sim::AppliedFault;
    use crate::workload::{Record, TypedHistory};
    use crate::world::fault::{Fault, NodeRef, SignedDuration};
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

    fn fault(at_ns: Nanos, fault: Fault) -> AppliedFault {
        let (kind, description) = (fault.kind().to_string(), fault.describe());
        AppliedFault { at_ns, kind, description, detail: "did it".into(), fault, name: None }
    }

    /// Writes the trace of `lines` with `faults` and reads back the Chrome trace events.
    fn chrome_events(lines: &[&str], faults: &[AppliedFault]) -> Vec<Value> {
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("sim-chrome-{}-{call}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let trace = dir.join("trace.jsonl");
        std::fs::write(&trace, lines.join("\n")).unwrap();
        let windows = super::super::fault_windows(faults, 5000);
        let mut out = Vec::new();
        write_chrome_trace(&mut out, "test", 2, &history(), &windows, Some(&trace)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        value["traceEvents"].as_array().unwrap().clone()
    }

    const LINES: [&str; 7] = [
        r#"{"t":0,"ev":"start","seed":1,"scenario":"s","system":"x"}"#,
        r#"{"t":5,"ev":"send","from":0,"to":1,"name":"Ping","msg":"Ping { n: 1 }","arrive":900}"#,
        r#"{"t":6,"ev":"send","from":1,"to":0,"name":"Pong","msg":"Pong","arrive":950}"#,
        r#"{"t":7,"ev":"send","from":1,"to":0,"name":"Pong","msg":"Pong","drop":"Loss"}"#,
        r#"{"t":900,"ev":"recv","from":0,"to":1,"name":"Ping","msg":"Ping { n: 1 }"}"#,
        r#"{"t":950,"ev":"drop","from":1,"to":0,"name":"Pong","why":"node_down"}"#,
        r#"{"t":1000,"ev":"fault","fault":"crash n1","detail":""}"#,
    ];

    #[test]
    fn chrome_trace_has_threads_ops_and_named_messages() {
        let events = chrome_events(&LINES, &[]);
        for e in &events {
            assert!(e["ph"].is_string() && e["pid"].is_number() && e["name"].is_string(), "{e}");
            assert!(e["ph"] == "M" || e["ts"].is_number(), "{e}");
        }
        let ops: Vec<&Value> = events.iter().filter(|e| e["cat"] == "op").collect();
        assert_eq!(ops.len(), 5);
        assert_eq!((ops[1]["tid"].as_u64(), ops[1]["ts"].as_f64()), (Some(3), Some(0.02)));
        // Message names are the typed kinds, not debug text.
        let send = events.iter().find(|e| e["cat"] == "send").unwrap();
        assert_eq!((send["name"].as_str(), send["tid"].as_u64()), (Some("Ping"), Some(0)));
        let names = events.iter().filter(|e| e["name"] == "thread_name").count();
        assert_eq!(names, 2 + 2 + 1, "two nodes, two clients and the network track");
    }

    #[test]
    fn messages_are_flows_from_their_send_to_their_receipt_or_loss() {
        let events = chrome_events(&LINES, &[]);
        let flows: Vec<&Value> =
            events.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f").collect();
        // Ping (received) and the first Pong (lost at a crashed node); the Pong dropped on
        // sending has no flow.
        assert_eq!(flows.len(), 4, "{flows:?}");
        for (i, flow) in flows.iter().enumerate() {
            // Perfetto binds a flow to the slice enclosing it: the instant just before it,
            // on the same track at the same time.
            let at = events.iter().position(|e| std::ptr::eq(e, *flow)).unwrap();
            let slice = &events[at - 1];
            assert_eq!(
                (slice["ph"].as_str(), &slice["tid"], &slice["ts"]),
                (Some("i"), &flow["tid"], &flow["ts"]),
                "{i}"
            );
            if flow["ph"] == "f" {
                assert_eq!(flow["bp"], "e");
                let start = flows.iter().find(|s| s["ph"] == "s" && s["id"] == flow["id"]).unwrap();
                assert_eq!((&start["cat"], &start["name"]), (&flow["cat"], &flow["name"]));
            }
        }
        let ends: Vec<(u64, f64)> = flows
            .iter()
            .filter(|f| f["ph"] == "f")
            .map(|f| (f["tid"].as_u64().unwrap(), f["ts"].as_f64().unwrap()))
            .collect();
        assert_eq!(ends, vec![(1, 0.9), (0, 0.95)]);
    }

    #[test]
    fn crashes_and_partitions_are_spans_on_their_tracks() {
        let faults = [
            fault(
                100,
                Fault::Partition {
                    groups: Some(crate::world::fault::sides(vec![vec![0], vec![1]])),
                },
            ),
            fault(300, Fault::Heal),
            fault(1000, Fault::Crash { node: NodeRef::Id(1) }),
            fault(4000, Fault::Restart { node: NodeRef::Id(1) }),
            fault(4500, Fault::ClockJump { node: NodeRef::Id(0), by: SignedDuration(5) }),
        ];
        let events = chrome_events(&LINES, &faults);
        let spans: Vec<(&str, u64, f64, f64)> = events
            .iter()
            .filter(|e| e["cat"] == "fault" && e["ph"] == "X")
            .map(|e| {
                let (tid, ts, dur) = (&e["tid"], &e["ts"], &e["dur"]);
                (
                    e["name"].as_str().unwrap(),
                    tid.as_u64().unwrap(),
                    ts.as_f64().unwrap(),
                    dur.as_f64().unwrap(),
                )
            })
            .collect();
        // The network track is the one after the hosts (2 nodes, 2 clients).
        assert_eq!(spans, vec![("partition n0 | n1", 4, 0.1, 0.2), ("crash n1", 1, 1.0, 3.0)]);
        let network = events.iter().find(|e| e["name"] == "thread_name" && e["tid"] == 4).unwrap();
        assert_eq!(network["args"]["name"], "network");
        let jump = events.iter().find(|e| e["name"] == "clock-jump n0 by 5ns").unwrap();
        assert_eq!((jump["ph"].as_str(), jump["tid"].as_u64()), (Some("i"), Some(0)));
        // A fault is written once, from the fault log, not again from the trace.
        assert_eq!(events.iter().filter(|e| e["name"] == "crash n1").count(), 1);
    }

    #[test]
    fn a_trace_window_keeps_its_records_and_the_run_wide_ones() {
        let dir = std::env::temp_dir().join(format!("sim-window-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let trace = dir.join("trace.jsonl");
        std::fs::write(&trace, LINES.join("\n")).unwrap();
        let mut out = Vec::new();
        write_trace_window(&mut out, &trace, (6, 900)).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let kept: Vec<TraceRecord> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let times: Vec<Nanos> = kept.iter().map(|r| r.t).collect();
        assert_eq!(times, vec![0, 6, 7, 900, 1000], "the start and the fault stay");
    }
}
