//! Shrinking a failing run: find a smaller scenario that, with the same seed, still fails the
//! same check, so a person can read the run whole.
//!
//! The steps, each candidate kept only if it fails the target check again:
//! 1. make the faults explicit (the nemesis off, the faults it applied written down);
//! 2. delta-debug the fault list (ddmin: drop chunks, then single faults);
//! 3. shorten the run to just past the failure (and drop the quiet period unless the target is
//!    liveness, which is judged there);
//! 4. fewer clients, fewer operations, fewer keys;
//! 5. fewer nodes, down to the system's minimum (faults naming removed nodes go with them).
//!
//! Every candidate is one full run; the total is bounded (`runs_max`).

use crate::check::liveness;
use crate::engine::{format_nanos, Nanos, MILLISECOND};
use crate::registry::Registry;
use crate::scenario::{Duration, Scenario, ScenarioError};
use crate::sim::{explicit_schedule, RunOptions, RunOutput};
use crate::world::fault::{Fault, NodeRef, ScheduledFault};
use std::fmt;
use std::path::Path;

/// Default bound on the runs one shrink may spend.
pub const RUNS_MAX_DEFAULT: u32 = 2000;
/// How far past a safety violation a shortened run still goes.
const MARGIN_NS: Nanos = 100 * MILLISECOND;
/// Bisection on the duration stops when the window is this narrow.
const RESOLUTION_NS: Nanos = 10 * MILLISECOND;

/// How big a run is: what shrinking makes smaller.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunSize {
    /// Node slots.
    pub nodes: u32,
    /// Clients.
    pub clients: u32,
    /// Faults applied during the run (repairs included).
    pub faults: usize,
    /// Events processed.
    pub events: u64,
    /// Client operations in the history.
    pub ops: u64,
    /// Virtual time simulated.
    pub virtual_ns: Nanos,
}

impl RunSize {
    /// The size of `output`, a run of `scenario`.
    pub fn of(scenario: &Scenario, output: &RunOutput) -> Self {
        RunSize {
            nodes: scenario.nodes,
            clients: scenario.clients.count,
            faults: output.report.fault_log.len(),
            events: output.report.events,
            ops: output.history.ops.len() as u64,
            virtual_ns: output.report.virtual_ns,
        }
    }
}

impl fmt::Display for RunSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} nodes, {} clients, {} faults, {} events, {} ops, {} virtual",
            self.nodes,
            self.clients,
            self.faults,
            self.events,
            self.ops,
            format_nanos(self.virtual_ns)
        )
    }
}

/// Why a shrink could not start or finish.
#[derive(Debug)]
pub enum ShrinkError {
    /// The scenario does not load or names an unknown system.
    Scenario(ScenarioError),
    /// The seed passes: there is nothing to shrink.
    Passed {
        /// The seed that passed.
        seed: u64,
    },
}

impl fmt::Display for ShrinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShrinkError::Scenario(e) => write!(f, "{e}"),
            ShrinkError::Passed { seed } => {
                write!(f, "seed {seed} passes every check: there is no failure to shrink")
            }
        }
    }
}

impl std::error::Error for ShrinkError {}

impl From<ScenarioError> for ShrinkError {
    fn from(e: ScenarioError) -> Self {
        ShrinkError::Scenario(e)
    }
}

/// The result of a shrink.
pub struct Shrunk {
    /// The smallest failing scenario found (run it with `seed`).
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// The target: the name of the check that failed first in the original run.
    pub check: String,
    /// The original run's size.
    pub before: RunSize,
    /// The shrunk run's size.
    pub after: RunSize,
    /// The shrunk run itself.
    pub output: RunOutput,
    /// Runs spent.
    pub runs: u32,
    /// True if shrinking stopped because it spent `runs_max` runs.
    pub runs_limit_hit: bool,
    /// True if the shrunk scenario, written as TOML and read back, fails the check again (a
    /// note says so if its trace differs from the in-memory run's).
    pub verified: bool,
    /// What each step did or why it did nothing, for people.
    pub notes: Vec<String>,
}

/// Shrinks the failing run of `scenario` with `seed`, spending at most `runs_max` runs; `file`
/// names the scenario in errors. `progress` receives a line per step as it happens.
pub fn shrink(
    registry: Registry<'_>,
    scenario: &Scenario,
    file: &Path,
    seed: u64,
    runs_max: u32,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk, ShrinkError> {
    registry.validate(scenario, file)?;
    let output = registry.run(scenario, file, seed, RunOptions::default())?;
    let check = match output.first_failure() {
        Some(c) => c.name.clone(),
        None => return Err(ShrinkError::Passed { seed }),
    };
    let before = RunSize::of(scenario, &output);
    let mut s = Shrinker {
        registry,
        file,
        seed,
        check,
        runs: 1,
        runs_max,
        runs_limit_hit: false,
        best: scenario.clone(),
        output,
        notes: Vec::new(),
        progress,
    };
    s.pin_varied();
    s.explicit_faults();
    // Cut the run at the failure first: faults after it go for free, and every later candidate
    // run is shorter.
    s.shorten();
    s.ddmin_faults();
    if s.output.report.virtual_ns < s.best.duration.0 {
        s.shorten(); // fewer faults can make the failure come sooner
    }
    s.reduce_workload();
    s.reduce_nodes();
    if s.best.faults.len() > 1 {
        s.ddmin_faults(); // fewer nodes can make more faults redundant
    }
    let verified = s.verify();
    if s.runs_limit_hit {
        s.note(format!("stopped early: the limit of {runs_max} runs was hit"));
    }
    Ok(Shrunk {
        after: RunSize::of(&s.best, &s.output),
        scenario: s.best,
        seed,
        check: s.check,
        before,
        output: s.output,
        runs: s.runs,
        runs_limit_hit: s.runs_limit_hit,
        verified,
        notes: s.notes,
    })
}

/// True if `output` failed the check named `check`.
pub fn fails_check(output: &RunOutput, check: &str) -> bool {
    output.report.checks.iter().any(|c| !c.passed && c.name == check)
}

struct Shrinker<'a> {
    registry: Registry<'a>,
    file: &'a Path,
    seed: u64,
    check: String,
    runs: u32,
    runs_max: u32,
    runs_limit_hit: bool,
    /// The smallest scenario known to fail the check, and its run.
    best: Scenario,
    output: RunOutput,
    notes: Vec<String>,
    progress: &'a mut dyn FnMut(&str),
}

impl Shrinker<'_> {
    fn note(&mut self, line: String) {
        (self.progress)(&line);
        self.notes.push(line);
    }

    /// Runs `candidate`; keeps it as the best if it fails the target check. Invalid candidates
    /// cost no run.
    fn attempt(&mut self, candidate: Scenario) -> bool {
        if self.runs >= self.runs_max {
            self.runs_limit_hit = true;
            return false;
        }
        if candidate.validate().is_err() || self.registry.validate(&candidate, self.file).is_err() {
            return false;
        }
        let Ok(output) = self.registry.run(&candidate, self.file, self.seed, RunOptions::default())
        else {
            return false;
        };
        self.runs += 1;
        if fails_check(&output, &self.check) {
            self.best = candidate;
            self.output = output;
            return true;
        }
        false
    }

    /// Writes what `[vary]` drew for the seed into `[protocol]`: the reproducer then names its
    /// configuration instead of a list to draw from.
    fn pin_varied(&mut self) {
        if self.best.vary.is_empty() {
            return;
        }
        let mut candidate = self.best.clone();
        candidate.protocol = self.best.protocol_for(self.seed).into_owned();
        candidate.vary = toml::Table::new();
        let drawn = self.best.varied(self.seed).join(", ");
        if self.attempt(candidate) {
            self.note(format!("[vary] pinned to what seed {} drew: {drawn}", self.seed));
        } else {
            self.note(format!("[vary] left as is: pinning {drawn} no longer fails the check"));
        }
    }

    fn explicit_faults(&mut self) {
        let mut candidate = self.best.clone();
        candidate.nemesis = None;
        candidate.faults = explicit_schedule(&self.output.report.fault_log);
        let count = candidate.faults.len();
        if self.attempt(candidate) {
            self.note(format!("faults made explicit: {count} faults, nemesis off"));
        } else {
            self.note(
                "faults made explicit no longer fail the check (nemesis targets can depend on \
                 runtime state); continuing from the original scenario"
                    .into(),
            );
        }
    }

    /// Delta debugging over the fault list: drop chunks, halving their size down to one fault.
    fn ddmin_faults(&mut self) {
        let start = self.best.faults.len();
        if start == 0 || !self.attempt(self.with_faults(Vec::new())) {
            let mut chunks = 2usize;
            while self.best.faults.len() >= 2 && !self.runs_limit_hit {
                let faults = self.best.faults.clone();
                let size = faults.len().div_ceil(chunks);
                let reduced = (0..faults.len()).step_by(size).any(|from| {
                    let mut rest = faults.clone();
                    rest.drain(from..(from + size).min(faults.len()));
                    self.attempt(self.with_faults(rest))
                });
                if reduced {
                    chunks = (chunks - 1).max(2);
                } else if chunks >= faults.len() {
                    break;
                } else {
                    chunks = (chunks * 2).min(faults.len());
                }
            }
        }
        let end = self.best.faults.len();
        self.note(format!("fault list: {start} -> {end} faults (ddmin)"));
    }

    fn with_faults(&self, faults: Vec<ScheduledFault>) -> Scenario {
        Scenario { faults, ..self.best.clone() }
    }

    /// Shortens the run: drops the quiet period if the target is not liveness, then bisects the
    /// duration down towards the failure.
    fn shorten(&mut self) {
        let before = self.best.duration.0;
        let liveness_target = self.check == liveness::NAME;
        if !liveness_target && self.best.quiet.0 > 0 {
            let candidate = Scenario { quiet: Duration(0), ..self.best.clone() };
            if self.attempt(candidate) {
                self.note("quiet period dropped (the target is not liveness)".into());
            }
        }
        let stopped_at = self.output.report.virtual_ns;
        // A safety violation stops the run: nothing after it matters.
        let mut lo = self.best.quiet.0.max(if stopped_at < before { stopped_at } else { 0 });
        let mut hi = before;
        let just_past = stopped_at + MARGIN_NS;
        if stopped_at < before
            && just_past < hi
            && !liveness_target
            && self.attempt(self.with_duration(just_past))
        {
            hi = just_past;
        }
        while hi - lo > RESOLUTION_NS && !self.runs_limit_hit {
            // Whole milliseconds keep the written scenario readable.
            let mid = (lo + (hi - lo) / 2) / MILLISECOND * MILLISECOND;
            if mid <= lo {
                break;
            }
            if self.attempt(self.with_duration(mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        let after = self.best.duration.0;
        self.note(format!("duration: {} -> {}", format_nanos(before), format_nanos(after)));
    }

    fn with_duration(&self, duration: Nanos) -> Scenario {
        let mut candidate = self.best.clone();
        candidate.duration = Duration(duration);
        candidate.faults.retain(|f| f.at <= duration);
        candidate
    }

    fn reduce_workload(&mut self) {
        let count = u64::from(self.best.clients.count);
        let clients = self.minimize(count, 0, |s, v| s.clients.count = v as u32);
        let ops = self.output.history.ops.len() as u64;
        let ops_max = match self.best.clients.ops_max {
            0 => ops,
            n => u64::from(n).min(ops),
        };
        // Capping operations would starve the quiet period: a different, trivial liveness
        // failure, not a smaller instance of the original one.
        let ops_max = if ops_max > 0 && self.check != liveness::NAME {
            self.minimize(ops_max, 1, |s, v| s.clients.ops_max = v as u32)
        } else {
            u64::from(self.best.clients.ops_max)
        };
        let keys = u64::from(self.best.clients.keys);
        let keys = self.minimize(keys, 1, |s, v| s.clients.keys = v as u32);
        self.note(format!("workload: {clients} clients, ops_max {ops_max}, {keys} keys"));
    }

    fn reduce_nodes(&mut self) {
        let nodes = u64::from(self.best.nodes);
        let floor = u64::from(self.registry.nodes_min(&self.best));
        let kept = self.minimize(nodes, floor, |s, v| {
            let n = v as u32;
            s.nodes = n;
            s.initial_members = s.initial_members.map(|m| m.min(n));
            s.faults.retain(|f| fault_nodes(&f.fault).iter().all(|id| *id < n));
        });
        self.note(format!("nodes: {nodes} -> {kept}"));
    }

    /// The smallest value in `floor..=current` for which the scenario `set` makes still fails,
    /// by binary search (the first try is `floor` itself). Returns the value kept.
    fn minimize(&mut self, current: u64, floor: u64, set: impl Fn(&mut Scenario, u64)) -> u64 {
        let make = |best: &Scenario, v: u64| {
            let mut candidate = best.clone();
            set(&mut candidate, v);
            candidate
        };
        if current <= floor {
            return current;
        }
        if self.attempt(make(&self.best, floor)) {
            return floor;
        }
        let (mut lo, mut hi) = (floor, current); // lo passes (or is invalid), hi fails
        while hi - lo > 1 && !self.runs_limit_hit {
            let mid = lo + (hi - lo) / 2;
            if self.attempt(make(&self.best, mid)) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// Writes the best scenario as TOML, reads it back and runs it: it must fail the check.
    fn verify(&mut self) -> bool {
        let text = self.best.to_toml();
        let Ok(back) = Scenario::parse(&text, self.file, &[]) else {
            self.note("verification: the shrunk scenario does not read back".into());
            return false;
        };
        let Ok(output) = self.registry.run(&back, self.file, self.seed, RunOptions::default())
        else {
            return false;
        };
        self.runs += 1;
        if output.report.trace_hash != self.output.report.trace_hash {
            // Not fatal if it still fails, but the file is not exactly what was shrunk.
            self.note("verification: the written scenario runs differently from memory".into());
        }
        fails_check(&output, &self.check)
    }
}

/// The node ids a fault names explicitly (symbolic targets name none).
pub fn fault_nodes(fault: &Fault) -> Vec<u32> {
    let id = |r: &NodeRef| match r {
        NodeRef::Id(n) => vec![*n],
        NodeRef::Pick(_) | NodeRef::Bound { .. } => Vec::new(),
    };
    match fault {
        Fault::Partition { groups } => {
            groups.iter().flatten().filter_map(|s| s.ids()).flatten().collect()
        }
        Fault::Bridge { groups, bridge } => {
            groups.iter().flatten().flatten().chain(bridge.iter()).copied().collect()
        }
        Fault::OneWay { from, to } => {
            id(from).into_iter().chain(to.iter().flatten().copied()).collect()
        }
        Fault::LinkDegrade(d) => d.a.iter().chain(d.b.iter()).flatten().copied().collect(),
        single => crate::scenario::bound_target(single).map_or(Vec::new(), |n| id(&n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_nodes_lists_explicit_ids_only() {
        let groups = crate::world::fault::sides(vec![vec![0, 1], vec![4]]);
        let partition = Fault::Partition { groups: Some(groups) };
        assert_eq!(fault_nodes(&partition), vec![0, 1, 4]);
        let leader = Fault::Crash { node: NodeRef::Pick(crate::world::fault::Pick::LEADER) };
        assert!(fault_nodes(&leader).is_empty());
        assert!(fault_nodes(&Fault::Heal).is_empty());
    }
}
