//! `timeline.html`: the client history as an interactive page, after Porcupine's visualizer.
//! One lane per client, each operation a bar from its invocation to its completion coloured by
//! outcome, the fault windows as bands behind the lanes. For a failed linearizability check the
//! operations its detail names are highlighted: the minimal non-linearizable slice, the last
//! operations of the longest partial linearization (numbered in linearization order) and the
//! operation with no valid place (see [`super::focus::named_ops`]).
//!
//! The page is one self-contained file (inline CSS and JavaScript, the run's data as JSON, no
//! network), so it opens from a folder, a CI artifact or an e-mail. The script draws the bars
//! of the time range shown: the whole run at first; the wheel zooms, a drag pans, a filter
//! keeps the operations whose text holds a word (a key, say); `timeline.html#failure` opens
//! zoomed on the operations the failed check names.

use super::focus::named_ops;
use super::windows::{FaultWindow, WindowClass};
use crate::sim::RunReport;
use crate::workload::{History, Outcome};
use serde_json::{json, Value};
use std::io::Write;

/// The check whose failure the page highlights.
pub const LINEARIZABILITY_CHECK: &str = "linearizability";

fn class_name(class: WindowClass) -> &'static str {
    match class {
        WindowClass::Network => "network",
        WindowClass::Crash => "crash",
        WindowClass::Degrade => "degrade",
        WindowClass::Clock => "clock",
        WindowClass::Disk => "disk",
    }
}

/// The page's data: the history (each op as `[id, client, invoke_ns, complete_ns, outcome,
/// text]`, compact for long runs), the faults, the failed check and what it names.
fn data(
    title: &str,
    clients: u32,
    history: &History,
    windows: &[FaultWindow],
    report: &RunReport,
) -> Value {
    let ops: Vec<Value> = (0..history.ops.len())
        .map(|i| {
            let op = &history.ops[i];
            let outcome = match op.outcome {
                Outcome::Ok => 0,
                Outcome::Fail => 1,
                Outcome::Info => 2,
            };
            json!([op.id, op.client, op.invoke_ns, op.complete_ns, outcome, history.describe(i)])
        })
        .collect();
    let faults: Vec<Value> = windows
        .iter()
        .map(|w| json!([w.start_ns, w.end_ns, class_name(w.class), w.label, w.detail]))
        .collect();
    let failed: Vec<Value> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| json!({"name": c.name, "kind": c.kind.name(), "detail": c.detail}))
        .collect();
    let linearizability =
        report.checks.iter().find(|c| c.name == LINEARIZABILITY_CHECK && !c.passed);
    let named = linearizability.map(|c| named_ops(&c.detail)).unwrap_or_default();
    let clients = history.ops.iter().map(|o| o.client + 1).max().unwrap_or(0).max(clients);
    json!({
        "title": title,
        "clients": clients,
        "end_ns": report.virtual_ns,
        "ops": ops,
        "faults": faults,
        "failed": failed,
        "slice": named.slice,
        "partial": named.partial,
        "stuck": named.stuck,
    })
}

/// Writes the page for one run: `clients` lanes at least (one per client of the scenario).
pub fn write_timeline_html(
    out: &mut dyn Write,
    title: &str,
    clients: u32,
    history: &History,
    windows: &[FaultWindow],
    report: &RunReport,
) -> std::io::Result<()> {
    let data = data(title, clients, history, windows, report).to_string();
    // Inside <script>, `</` could end the element early; JSON reads `<\/` as `</`.
    let data = data.replace("</", "<\\/");
    let title = escape_html(title);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}: timeline</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n{BODY}\n<script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const BODY: &str = r##"<p id="summary"></p>
<div id="controls">
  <button id="whole">whole run</button>
  <button id="failure" hidden>zoom to the failure</button>
  <label>only ops containing <input id="filter" placeholder="e.g. k0" size="12"></label>
  <span id="range"></span>
  <span class="hint">wheel: zoom, drag: pan, hover: details</span>
</div>
<div id="legend"></div>
<div id="chart">
  <div id="faultlabels"></div>
  <div id="axis"></div>
  <div id="lanes"></div>
</div>
<div id="tip" hidden></div>
<div id="failed"></div>"##;

const STYLE: &str = r##"body { font: 13px sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 6px 0; }
#controls { margin: 6px 0; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.hint { color: #777; }
#legend { margin: 6px 0; display: flex; gap: 14px; flex-wrap: wrap; }
#legend span { display: inline-flex; align-items: center; gap: 4px; }
#legend i { display: inline-block; width: 18px; height: 10px; }
#chart { position: relative; border: 1px solid #ccc; user-select: none; overflow: hidden; }
#faultlabels { position: relative; height: 42px; margin-left: 80px; }
#axis { position: relative; height: 18px; margin-left: 80px; border-bottom: 1px solid #999; }
.tick { position: absolute; top: 0; font-size: 11px; color: #555; border-left: 1px solid #999;
  padding-left: 2px; height: 18px; white-space: nowrap; }
#lanes { position: relative; }
.lane { position: relative; border-bottom: 1px solid #eee; margin-left: 80px; }
.lane-name { position: absolute; left: -78px; width: 74px; top: 3px; font-size: 12px;
  color: #444; }
.op { position: absolute; height: 14px; border-radius: 2px; box-sizing: border-box;
  min-width: 2px; overflow: hidden; font-size: 10px; line-height: 14px; color: #fff;
  white-space: nowrap; }
.op.ok { background: #2ea043; }
.op.fail { background: #ff8c00; }
.op.info { background: #d62728; opacity: 0.7; }
.op.dim { opacity: 0.25; }
.op.slice { outline: 3px solid #000; z-index: 3; opacity: 1; }
.op.partial { outline: 3px solid #1f5fd0; z-index: 2; opacity: 1; }
.op.stuck { outline: 3px dashed #d62728; z-index: 4; opacity: 1;
  background-image: repeating-linear-gradient(45deg, rgba(255,255,255,0.5) 0 4px,
    transparent 4px 8px); }
.fault { position: absolute; top: 0; bottom: 0; pointer-events: none; }
.fault.network { background: rgba(70,110,200,0.15); }
.fault.crash { background: rgba(120,120,120,0.18); }
.fault.degrade { background: rgba(170,90,190,0.15); }
.fault.clock { border-left: 2px solid rgb(0,139,139); }
.fault.disk { border-left: 2px solid rgb(140,86,75); }
.flabel { position: absolute; font-size: 11px; white-space: nowrap; }
.flabel.network { color: rgb(70,110,200); } .flabel.crash { color: rgb(100,100,100); }
.flabel.degrade { color: rgb(170,90,190); } .flabel.clock { color: rgb(0,139,139); }
.flabel.disk { color: rgb(140,86,75); }
#tip { position: fixed; background: #fffbe6; border: 1px solid #aa9; padding: 4px 6px;
  font-size: 12px; pointer-events: none; z-index: 10; white-space: pre; }
#failed pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
"##;

const SCRIPT: &str = r##""use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const OUTCOMES = ["ok", "fail", "info"];
const LANE_ROW_PX = 17;
const sliceIds = new Set(D.slice), partialOrder = new Map(D.partial.map((id, i) => [id, i + 1]));
const stuckId = D.stuck;
const byClient = [];
for (let c = 0; c < D.clients; c++) byClient.push([]);
for (const op of D.ops) byClient[op[1]].push(op);
// Within a lane, overlapping ops (an open-loop client) go on rows of their own.
const rowOf = new Map();
const rowsOf = byClient.map(ops => {
  const ends = [];
  ops.slice().sort((a, b) => a[2] - b[2] || a[0] - b[0]).forEach(op => {
    let r = ends.findIndex(end => end <= op[2]);
    if (r < 0) { r = ends.length; ends.push(0); }
    ends[r] = op[3];
    rowOf.set(op[0], r);
  });
  return Math.max(1, ends.length);
});
const highlighted = D.ops.filter(op => sliceIds.has(op[0]) || partialOrder.has(op[0]) ||
  op[0] === stuckId);
let view = [0, Math.max(D.end_ns, 1)];
let filter = "";

function fmt(ns) {
  if (ns >= 1e9) return (ns / 1e9).toFixed(6).replace(/0+$/, "").replace(/\.$/, "") + "s";
  return (ns / 1e6).toFixed(3).replace(/0+$/, "").replace(/\.$/, "") + "ms";
}
function width() { return document.getElementById("axis").clientWidth; }
function px(ns) { return (ns - view[0]) / (view[1] - view[0]) * width(); }
function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

function summary() {
  const counts = [0, 0, 0];
  for (const op of D.ops) counts[op[4]]++;
  let text = `${D.ops.length} operations by ${D.clients} clients over ${fmt(D.end_ns)}: ` +
    `${counts[0]} ok, ${counts[1]} fail, ${counts[2]} info; ${D.faults.length} faults.`;
  if (D.failed.length) text += " Failed: " + D.failed.map(c => c.name).join(", ") + ".";
  if (highlighted.length) text += ` Highlighted: ${D.slice.length} ops of the minimal ` +
    `non-linearizable slice, the last ${D.partial.length} of the longest partial ` +
    `linearization` + (stuckId === null ? "." : `, and op #${stuckId}, which has no valid place.`);
  document.getElementById("summary").textContent = text;
}

function legend() {
  const box = document.getElementById("legend");
  const entries = [["ok", "#2ea043"], ["fail", "#ff8c00"], ["info (indeterminate)", "#d62728"]];
  const classes = [["network", "network cut", "rgba(70,110,200,0.4)"],
    ["crash", "node down", "rgba(120,120,120,0.4)"],
    ["degrade", "links degraded", "rgba(170,90,190,0.4)"],
    ["clock", "clock fault", "rgb(0,139,139)"], ["disk", "disk fault", "rgb(140,86,75)"]];
  for (const [cls, name, colour] of classes) {
    const count = D.faults.filter(f => f[2] === cls).length;
    if (count) entries.push([`${name} (${count})`, colour]);
  }
  if (highlighted.length) entries.push(["non-linearizable slice", "#000"],
    ["partial linearization (numbered)", "#1f5fd0"], ["no valid place", "#d62728"]);
  for (const [name, colour] of entries) {
    const s = el("span", "", box);
    el("i", "", s).style.background = colour;
    s.appendChild(document.createTextNode(name));
  }
}

function axis() {
  const box = document.getElementById("axis");
  box.textContent = "";
  const span = view[1] - view[0];
  const rough = span / 8, power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map(m => m * power).find(s => s >= rough);
  for (let t = Math.ceil(view[0] / step) * step; t <= view[1]; t += step) {
    const tick = el("div", "tick", box);
    tick.style.left = px(t) + "px";
    tick.textContent = fmt(t);
  }
  document.getElementById("range").textContent = `showing ${fmt(view[0])} .. ${fmt(view[1])}`;
}

function faults(lanes) {
  const labels = document.getElementById("faultlabels");
  labels.textContent = "";
  const rowEnd = [-1e9, -1e9, -1e9];
  for (const [start, end, cls, label, detail] of D.faults) {
    if (end < view[0] || start > view[1]) continue;
    const x0 = Math.max(px(start), 0), x1 = Math.min(px(end), width());
    const band = el("div", "fault " + cls, lanes);
    band.style.left = (80 + x0) + "px";
    band.style.width = (cls === "clock" || cls === "disk" ? 0 : Math.max(x1 - x0, 1)) + "px";
    band.title = label + (detail ? ": " + detail : "");
    const row = rowEnd.findIndex(e => e + 6 <= x0);
    if (row < 0) continue;
    const text = el("div", "flabel " + cls, labels);
    text.textContent = label;
    text.style.left = x0 + "px";
    text.style.top = (row * 14) + "px";
    rowEnd[row] = x0 + text.offsetWidth;
  }
}

function render() {
  axis();
  const lanes = document.getElementById("lanes");
  lanes.textContent = "";
  faults(lanes);
  const w = width();
  byClient.forEach((ops, c) => {
    const lane = el("div", "lane", lanes);
    lane.dataset.client = c;
    lane.style.height = (rowsOf[c] * LANE_ROW_PX + 3) + "px";
    el("div", "lane-name", lane).textContent = "client " + c;
    for (const op of ops) {
      if (op[3] < view[0] || op[2] > view[1]) continue;
      const [id, , invoke, complete, outcome, text] = op;
      const bar = el("div", "op " + OUTCOMES[outcome], lane);
      const x0 = Math.max(px(invoke), -2), x1 = Math.min(px(complete), w + 2);
      bar.style.left = x0 + "px";
      // A pixel of gap between consecutive ops of a client, once they are wide enough.
      bar.style.width = Math.max(x1 - x0 > 4 ? x1 - x0 - 1 : x1 - x0, 2) + "px";
      bar.style.top = (2 + rowOf.get(id) * LANE_ROW_PX) + "px";
      bar.dataset.id = id;
      let role = "";
      if (sliceIds.has(id)) { bar.classList.add("slice"); role = "slice"; }
      if (partialOrder.has(id)) {
        bar.classList.add("partial");
        role += (role ? " " : "") + "partial";
        bar.textContent = "L" + partialOrder.get(id);
      }
      if (id === stuckId) { bar.classList.add("stuck"); role += (role ? " " : "") + "stuck"; }
      if (role) bar.dataset.role = role;
      if (filter && !text.includes(filter)) bar.classList.add("dim");
      if (!bar.textContent && x1 - x0 > 60) bar.textContent = text;
      bar.dataset.tip = `#${id} client ${c}: ${text}\n${OUTCOMES[outcome]}, ` +
        `${fmt(invoke)} .. ${fmt(complete)} (${fmt(complete - invoke)})` +
        (role ? `\nnamed by the linearizability check: ${role}` : "");
    }
  });
}

function zoomTo(from, to) {
  const end = Math.max(D.end_ns, 1);
  const span = Math.max(to - from, 1000);
  from = Math.max(0, Math.min(from, end - span));
  view = [from, Math.min(end, from + span)];
  render();
}

function failedChecks() {
  const box = document.getElementById("failed");
  for (const c of D.failed) {
    el("h2", "", box).textContent = `failed ${c.kind} check: ${c.name}`;
    el("pre", "", box).textContent = c.detail;
  }
}

summary();
legend();
failedChecks();
render();
document.getElementById("whole").onclick = () => zoomTo(0, D.end_ns);
if (highlighted.length) {
  const button = document.getElementById("failure");
  button.hidden = false;
  button.onclick = () => {
    const from = Math.min(...highlighted.map(op => op[2]));
    const to = Math.max(...highlighted.map(op => op[3]));
    const margin = (to - from) * 0.05 + 1e6;
    zoomTo(from - margin, to + margin);
  };
  // `timeline.html#failure` opens on the failure.
  if (location.hash === "#failure") button.onclick();
}
document.getElementById("filter").oninput = e => { filter = e.target.value; render(); };
const chart = document.getElementById("chart");
chart.addEventListener("wheel", e => {
  e.preventDefault();
  const x = e.clientX - document.getElementById("axis").getBoundingClientRect().left;
  const at = view[0] + x / width() * (view[1] - view[0]);
  const f = e.deltaY > 0 ? 1.25 : 0.8;
  zoomTo(at - (at - view[0]) * f, at + (view[1] - at) * f);
}, { passive: false });
let drag = null;
chart.addEventListener("mousedown", e => { drag = { x: e.clientX, view: view.slice() }; });
window.addEventListener("mouseup", () => { drag = null; });
window.addEventListener("mousemove", e => {
  const tip = document.getElementById("tip");
  if (drag) {
    const dt = (e.clientX - drag.x) / width() * (drag.view[1] - drag.view[0]);
    zoomTo(drag.view[0] - dt, drag.view[1] - dt);
    return;
  }
  const target = e.target.closest ? e.target.closest(".op") : null;
  tip.hidden = !target;
  if (target) {
    tip.textContent = target.dataset.tip;
    tip.style.left = (e.clientX + 12) + "px";
    tip.style.top = (e.clientY + 12) + "px";
  }
});
window.addEventListener("resize", render);
"##;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::workload::{Record, TypedHistory};

    fn history() -> History {
        let op = |id, client, t: (u64, u64), outcome| Record::<KvApi> {
            id,
            client,
            op: Op::Put { key: "k</script>".into(), value: format!("{id}") },
            invoke_ns: t.0,
            complete_ns: t.1,
            outcome,
            result: (outcome == Outcome::Ok).then_some(None),
        };
        History::from_typed(TypedHistory {
            ops: vec![op(0, 0, (10, 30), Outcome::Ok), op(7, 1, (20, 90), Outcome::Info)],
        })
    }

    #[test]
    fn the_page_holds_its_data_and_what_the_linearizability_check_names() {
        let detail = "NOT linearizable\nKey \"k\": x; then op #7 (put) has no valid place.\n\
                      Non-linearizable slice of key \"k\": 2 ops:\n  op\n  #0  client 0\n  #7  c";
        let report: RunReport = serde_json::from_value(json!({
            "scenario": "s", "system": "kv", "seed": 1, "trace_hash": "0", "events": 1,
            "virtual_ns": 100, "wall_ms": 0, "ops": {"ok": 1, "fail": 0, "info": 1, "shed": 0},
            "latency_ms": {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}, "faults": 0,
            "fault_log": [],
            "checks": [{"name": LINEARIZABILITY_CHECK, "passed": false, "detail": detail}],
            "passed": false, "network": crate::world::network::NetworkStats::default(),
            "disk": {}
        }))
        .unwrap();
        let mut out = Vec::new();
        write_timeline_html(&mut out, "s <1>", 3, &history(), &[], &report).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains("<h1>s &lt;1&gt;</h1>"), "the title is escaped");
        assert!(!page.contains("k</script>") && page.contains("k<\\/script>"));
        let json = page.split("id=\"data\">").nth(1).unwrap().split("</script>").next().unwrap();
        let data: Value = serde_json::from_str(json).unwrap();
        assert_eq!(data["clients"], 3, "every client of the scenario has a lane");
        assert_eq!(data["ops"].as_array().unwrap().len(), 2);
        assert_eq!((data["slice"].clone(), data["stuck"].clone()), (json!([0, 7]), json!(7)));
        assert!(!page.contains("http://") && !page.contains("https://"), "no network");
    }
}
