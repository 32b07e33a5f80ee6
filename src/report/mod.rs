//! Reports: pictures and exports of runs and sweeps, written only when asked for (`--out`).
//!
//! A run's report ([`write_run`]) is four pictures, each as SVG and PNG, a page and exports:
//!
//! - `latency`: every client operation, latency against invoke time, by outcome, over the
//!   shaded fault windows (Jepsen's latency-raw plot);
//! - `throughput`: completed operations per second by outcome;
//! - `quantiles`: p50, p90, p99 and max latency of `ok` operations per time bucket;
//! - `load` (when the clients retried, or their reliability policies acted): offered load,
//!   attempts, retries, attempts rejected by the client's own policies, and goodput per second;
//! - `wire` (when the protocol reports message sizes): bytes sent per second of virtual time;
//! - `gauge-NAME` (one per gauge the nodes reported, `Context::gauge`): the level per node
//!   over time (locks held, transactions in doubt), over the fault windows; `gauge-breaker`
//!   is the clients' circuit breaker (0 closed, 1 open, 2 half-open);
//! - `sequence`: the message sequence diagram of a short window, read from the trace: around
//!   what the failed check names, for a failed run (see [`focus`]);
//! - `timeline.html`: the history, one lane per client, faults as bands, and for a
//!   linearizability failure the operations the checker names highlighted (self-contained);
//! - `chrome-trace.json`: the trace as Chrome trace events (open it in Perfetto): messages as
//!   flow arrows from send to receipt, crashes and network cuts as spans;
//! - `history.edn`: the client history as a Jepsen EDN history (for Knossos or Elle), and for
//!   a history of gets and appends only, `history-elle.edn` in Elle's list-append form;
//! - `trace-window.jsonl` (with [`TraceExport::Window`]): the records of the sequence window
//!   and the run's faults, instead of the whole trace.
//!
//! A sweep's report ([`write_sweep`]) shows outcomes, throughput and p99 across seeds.
//! [`gallery`] keeps the committed `reports/` folder (`cargo xtask reports`).
//!
//! Invariant: reports read what a run produced (its [`RunOutput`] and trace file); they never
//! run anything inside a simulation, so a run without `--out` pays nothing for them.

mod export;
/// The house style of every picture (fonts, SVG+PNG output, chart builders, legends), public
/// so that `cargo xtask` and a user's own figures look the same.
#[cfg(feature = "plots")]
pub mod figure;
pub mod focus;
#[cfg(feature = "plots")]
pub mod gallery;
mod results;
#[cfg(feature = "plots")]
mod sequence;
#[cfg(feature = "plots")]
mod sweep;
#[cfg(feature = "plots")]
mod timeline;
mod timeline_html;
mod trace;
mod windows;

pub use export::{
    is_list_append, write_chrome_trace, write_edn_history, write_elle_history, write_trace_window,
};
pub use results::results_edn;
#[cfg(feature = "plots")]
pub use sequence::{parse_window, SEQUENCE_MESSAGES_MAX, SEQUENCE_WINDOW_NS, WINDOW_ENV};
#[cfg(feature = "plots")]
pub use sweep::{write_sweep, SweepPoint};
pub use timeline_html::write_timeline_html;
pub use windows::{fault_windows, FaultWindow, WindowClass};

use crate::engine::Nanos;
#[cfg(feature = "plots")]
use crate::scenario::Scenario;
#[cfg(feature = "plots")]
use crate::sim::RunOutput;
#[cfg(feature = "plots")]
use figure::save;
use std::fmt;
use std::path::{Path, PathBuf};
#[cfg(feature = "plots")]
use timeline::{
    GaugeChart, LatencyChart, LoadChart, QuantileChart, RunView, ThroughputChart, WireChart,
};

/// A report file that could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong.
    pub reason: String,
}

impl ReportError {
    fn new(file: &Path, reason: impl Into<String>) -> Self {
        ReportError { file: file.to_path_buf(), reason: reason.into() }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

impl std::error::Error for ReportError {}

/// Choices for a run's report.
#[derive(Clone, Debug, Default)]
pub struct ReportOptions {
    /// The sequence diagram's window `(from_ns, to_ns)`. `None`: the `SIM_REPORT_WINDOW`
    /// environment variable (`3s..3.05s`) if set, else for a failed run the span from the
    /// earliest time its failed check names to the failure, with margins
    /// ([`focus::Focus::window`]), else 50 ms after its first fault.
    pub sequence_window: Option<(Nanos, Nanos)>,
    /// How much of the trace the report exports.
    pub trace: TraceExport,
}

/// How much of a run's trace its report exports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TraceExport {
    /// The trace given is the run's to keep: `chrome-trace.json` holds all of it.
    #[default]
    Full,
    /// The trace given is scratch (the caller removes it): the report writes
    /// [`TRACE_WINDOW_FILE`], the records of the sequence window plus the run's boots,
    /// faults and controls, and `chrome-trace.json` holds those (and every client operation).
    /// A 60-second run's full trace is tens of megabytes; this is what the pictures need.
    Window,
}

/// The trace records of the sequence window, written with [`TraceExport::Window`].
pub const TRACE_WINDOW_FILE: &str = "trace-window.jsonl";

#[cfg(feature = "plots")]
/// Writes the report of one run into `dir` (which must exist): the pictures and exports listed
/// in the module docs. `trace` is the run's `trace.jsonl`, if it wrote one; without it the
/// sequence diagram is skipped and the Chrome trace holds the client operations and faults
/// only. Returns the files written.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    output: &RunOutput,
    trace: Option<&Path>,
) -> Result<Vec<PathBuf>, ReportError> {
    write_run_with(dir, scenario, output, trace, &ReportOptions::default())
}

#[cfg(feature = "plots")]
/// [`write_run`] with options.
pub fn write_run_with(
    dir: &Path,
    scenario: &Scenario,
    output: &RunOutput,
    trace: Option<&Path>,
    options: &ReportOptions,
) -> Result<Vec<PathBuf>, ReportError> {
    let r = &output.report;
    let view = RunView {
        name: format!("{} ({}, seed {})", r.scenario, r.system, r.seed),
        history: &output.history,
        windows: fault_windows(&r.fault_log, r.virtual_ns),
        end_ns: r.virtual_ns,
    };
    let focus = focus::Focus::of(r, &output.history);
    let mut files = save(&LatencyChart(&view), dir, "latency")?;
    files.extend(save(&ThroughputChart(&view), dir, "throughput")?);
    files.extend(save(&QuantileChart(&view), dir, "quantiles")?);
    if r.clients.retries > 0 || r.clients.policies != Default::default() {
        files.extend(save(&LoadChart(&view, &output.load), dir, "load")?);
    }
    if !r.wire_bytes_per_second.is_empty() {
        files.extend(save(&WireChart(&view, &r.wire_bytes_per_second), dir, "wire")?);
    }
    for (name, series) in output.gauges.iter() {
        files.extend(save(&GaugeChart(&view, name, series), dir, &format!("gauge-{name}"))?);
    }
    let window = sequence_window(options, focus.as_ref(), &view.windows)?;
    let kept = match (trace, options.trace) {
        (None, _) => None,
        (Some(trace), TraceExport::Full) => Some(trace.to_path_buf()),
        (Some(trace), TraceExport::Window) => {
            let path = dir.join(TRACE_WINDOW_FILE);
            let mut out = create(&path)?;
            write_trace_window(&mut out, trace, window)?;
            finish(out, &path)?;
            files.push(path.clone());
            Some(path)
        }
    };
    if let Some(trace) = &kept {
        let nodes = scenario.nodes;
        let diagram = sequence::SequenceDiagram::read(
            &view.name,
            trace,
            nodes,
            window,
            &view.windows,
            focus.as_ref(),
        )?;
        files.extend(save(&diagram, dir, "sequence")?);
    }
    let path = dir.join("chrome-trace.json");
    let mut out = create(&path)?;
    let title = match options.trace {
        TraceExport::Full => view.name.clone(),
        TraceExport::Window => format!(
            "{}: messages of {}..{} only (`sim run --trace` exports all)",
            view.name,
            crate::engine::format_nanos(window.0),
            crate::engine::format_nanos(window.1)
        ),
    };
    let nodes = scenario.nodes;
    write_chrome_trace(&mut out, &title, nodes, &output.history, &view.windows, kept.as_deref())?;
    finish(out, &path)?;
    files.push(path);
    let path = dir.join("history.edn");
    let mut out = create(&path)?;
    write_edn_history(&mut out, &output.history)
        .map_err(|e| ReportError::new(&path, e.to_string()))?;
    finish(out, &path)?;
    files.push(path);
    if is_list_append(&output.history) {
        let path = dir.join("history-elle.edn");
        let mut out = create(&path)?;
        write_elle_history(&mut out, &output.history)
            .map_err(|e| ReportError::new(&path, e.to_string()))?;
        finish(out, &path)?;
        files.push(path);
    }
    let path = dir.join("timeline.html");
    let mut out = create(&path)?;
    let clients = scenario.clients.count;
    write_timeline_html(&mut out, &view.name, clients, &output.history, &view.windows, r)
        .map_err(|e| ReportError::new(&path, e.to_string()))?;
    finish(out, &path)?;
    files.push(path);
    Ok(files)
}

#[cfg(feature = "plots")]
fn sequence_window(
    options: &ReportOptions,
    focus: Option<&focus::Focus>,
    windows: &[FaultWindow],
) -> Result<(Nanos, Nanos), ReportError> {
    if let Some(window) = options.sequence_window {
        return Ok(window);
    }
    if let Ok(text) = std::env::var(WINDOW_ENV) {
        return parse_window(&text).map_err(|e| ReportError::new(Path::new(WINDOW_ENV), e));
    }
    Ok(match focus {
        Some(focus) => focus.window(),
        None => sequence::default_window(windows),
    })
}

#[cfg(feature = "plots")]
fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, ReportError> {
    let file = std::fs::File::create(path).map_err(|e| ReportError::new(path, e.to_string()))?;
    Ok(std::io::BufWriter::new(file))
}

#[cfg(feature = "plots")]
fn finish(out: std::io::BufWriter<std::fs::File>, path: &Path) -> Result<(), ReportError> {
    use std::io::Write;
    let mut out = out;
    out.flush().map_err(|e| ReportError::new(path, e.to_string()))
}
