//! The result of a run: the summary people and scripts read (`--json` prints it), plus the
//! history and the fault log that checkers, shrinking and reports use.

use crate::check::CheckResult;
use crate::engine::{Nanos, TraceHash};
use crate::scenario::Scenario;
use crate::workload::client::{ClientCounts, ClientLoad};
use crate::workload::{History, Outcome};
use crate::world::disk::DiskStats;
use crate::world::fault::Fault;
use crate::world::network::NetworkStats;
use serde::{Deserialize, Serialize};

/// A fault as it was applied, with symbolic targets resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedFault {
    /// When it was applied (global time).
    pub at_ns: Nanos,
    /// Its kind (`partition`, `crash`, ...).
    pub kind: String,
    /// One line for people.
    pub description: String,
    /// What it did, where that is worth saying (bytes lost in a crash, bit flipped).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The concrete fault, replayable as a scheduled fault.
    pub fault: Fault,
    /// The scheduled fault's `name`, if it had one (expectations and `after` refer to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A scheduled fault that did not apply, and why: its coin came up no, its condition was
/// false, its target could not be resolved, or its trigger never came.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFault {
    /// When it was due (the end of the run for a fault that never came due).
    pub at_ns: Nanos,
    /// The fault as the scenario wrote it.
    pub fault: String,
    /// Its `name`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Why it did not apply.
    pub why: String,
}

/// An operator action as it was delivered (`[[controls]]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedControl {
    /// When it was delivered (global time).
    pub at_ns: Nanos,
    /// The action, as the system's control type prints it.
    pub action: String,
}

/// Operation counts by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Open-loop arrivals dropped because every client was busy.
    pub shed: u64,
}

/// Latency of successful operations, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The summary of one run (the `--json` object).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    /// The system run.
    pub system: String,
    /// The seed.
    pub seed: u64,
    /// Determinism fingerprint: equal for equal scenario, seed and code.
    pub trace_hash: String,
    /// Events processed.
    pub events: u64,
    /// Virtual time simulated.
    pub virtual_ns: Nanos,
    /// Wall-clock time the run took (measured by the caller; 0 inside the library).
    pub wall_ms: u64,
    /// Operations by outcome.
    pub ops: OpCounts,
    /// What the clients sent: attempts, retries, and what their reliability policies
    /// rejected or delayed.
    #[serde(default)]
    pub clients: ClientCounts,
    /// Latency of `ok` operations.
    pub latency_ms: LatencySummary,
    /// The protocol settings the scenario's `[vary]` drew for this seed (`protocol.KEY=VALUE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub varied: Vec<String>,
    /// Number of faults applied (repairs included).
    pub faults: usize,
    /// The faults applied, in order.
    pub fault_log: Vec<AppliedFault>,
    /// The scheduled faults that did not apply, in order, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults_skipped: Vec<SkippedFault>,
    /// The operator actions delivered, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controls: Vec<AppliedControl>,
    /// Every check's verdict.
    pub checks: Vec<CheckResult>,
    /// The checks the scenario expects to fail (`[expect] fails`): the lesson it shows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected_failures: Vec<String>,
    /// True if every check held, except those expected to fail, which failed.
    pub passed: bool,
    /// Network counters.
    pub network: NetworkStats,
    /// Bytes sent in each second of virtual time (empty if the protocol's messages have no
    /// encoded size).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wire_bytes_per_second: Vec<u64>,
    /// Disk counters summed over nodes.
    pub disk: DiskStats,
}

/// A run's report with the material behind it.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The summary.
    pub report: RunReport,
    /// The client history.
    pub history: History,
    /// The levels nodes reported over time (`Context::gauge`), for plots.
    pub gauges: super::gauges::Gauges,
    /// What the clients sent per bucket of time, for plots.
    pub load: ClientLoad,
}

impl RunOutput {
    /// The first check that went against the run: one that failed unexpectedly, or the
    /// `expect` check when an expected failure did not show.
    pub fn first_failure(&self) -> Option<&CheckResult> {
        self.report.first_failure()
    }
}

/// The check that fails when a failure the scenario expects (`[expect] fails`) does not show.
pub const EXPECT_CHECK: &str = "expect";

impl RunReport {
    /// See [`RunOutput::first_failure`].
    pub fn first_failure(&self) -> Option<&CheckResult> {
        self.checks.iter().find(|c| !c.passed && !self.expected_failures.contains(&c.name))
    }

    /// True if some check judged something (a run that judged nothing proves nothing).
    pub fn judged(&self) -> bool {
        self.checks.iter().any(|c| c.judged)
    }
}

pub(super) struct Parts<'a> {
    pub scenario: &'a Scenario,
    pub system: &'static str,
    pub seed: u64,
    pub hash: TraceHash,
    pub events: u64,
    pub virtual_ns: Nanos,
    pub history: History,
    pub shed: u64,
    pub clients: ClientCounts,
    pub load: ClientLoad,
    pub checks: Vec<CheckResult>,
    pub fault_log: Vec<AppliedFault>,
    pub faults_skipped: Vec<SkippedFault>,
    pub controls: Vec<AppliedControl>,
    pub network: NetworkStats,
    pub wire_bytes_per_second: Vec<u64>,
    pub disks: Vec<DiskStats>,
    pub trace_error: Option<std::io::Error>,
    pub gauges: super::gauges::Gauges,
}

pub(super) fn build(parts: Parts<'_>) -> RunOutput {
    let (ok, fail, info) = parts.history.counts();
    let latencies: Vec<Nanos> = parts
        .history
        .ops
        .iter()
        .filter(|o| o.outcome == Outcome::Ok)
        .map(|o| o.latency_ns())
        .collect();
    let mut checks = parts.checks;
    if let Some(e) = parts.trace_error {
        checks.push(CheckResult::fail("trace_written", format!("writing the trace failed: {e}")));
    }
    let disk = parts.disks.iter().fold(DiskStats::default(), |mut sum, d| {
        sum += *d;
        sum
    });
    let expected = &parts.scenario.expect.fails;
    let missing: Vec<&String> =
        expected.iter().filter(|e| !checks.iter().any(|c| c.name == **e && !c.passed)).collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
        checks.push(CheckResult::fail(
            EXPECT_CHECK,
            format!(
                "the scenario expects {} to fail, but it held: the failure it exists to show \
                 did not happen",
                names.join(", ")
            ),
        ));
    }
    let passed = checks.iter().all(|c| c.passed || expected.contains(&c.name));
    let report = RunReport {
        scenario: parts.scenario.name.clone(),
        system: parts.system.to_string(),
        seed: parts.seed,
        trace_hash: parts.hash.to_string(),
        events: parts.events,
        virtual_ns: parts.virtual_ns,
        wall_ms: 0,
        ops: OpCounts { ok, fail, info, shed: parts.shed },
        clients: parts.clients,
        latency_ms: percentiles_ms(latencies),
        varied: parts.scenario.varied(parts.seed),
        faults: parts.fault_log.len(),
        fault_log: parts.fault_log,
        faults_skipped: parts.faults_skipped,
        controls: parts.controls,
        checks,
        expected_failures: expected.clone(),
        passed,
        network: parts.network,
        wire_bytes_per_second: parts.wire_bytes_per_second,
        disk,
    };
    RunOutput { report, history: parts.history, gauges: parts.gauges, load: parts.load }
}

/// p50, p90, p99 and max of `latencies` (nearest-rank), in milliseconds with microsecond
/// precision. Zeros when empty.
pub fn percentiles_ms(mut latencies: Vec<Nanos>) -> LatencySummary {
    if latencies.is_empty() {
        return LatencySummary::default();
    }
    latencies.sort_unstable();
    let rank = |p: u64| {
        let n = latencies.len() as u64;
        let i = (p * n).div_ceil(100).clamp(1, n) - 1;
        ms(latencies[i as usize])
    };
    LatencySummary {
        p50: rank(50),
        p90: rank(90),
        p99: rank(99),
        max: ms(latencies[latencies.len() - 1]),
    }
}

fn ms(ns: Nanos) -> f64 {
    (ns / 1_000) as f64 / 1_000.0
}
