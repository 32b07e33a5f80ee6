//! `sim sweep`: run many seeds of a scenario in parallel; `sim merge`: combine the result
//! folders of sharded sweeps.
//!
//! Results never depend on the number of jobs: each seed is an independent, single-threaded run;
//! threads only decide which seed runs when, and results are sorted by seed before anything is
//! written. With `--stop-on-first` seeds are handed out in ascending order and every seed below
//! the lowest failure found is still run, so the reported failure is the lowest failing seed.

use super::record::RunRecord;
use super::{bad_input, create_dir, load_scenario, run_seed, wall_clock_ms, Failure};
use super::{EXIT_CHECK_FAILED, EXIT_PASS};
use crate::registry::Registry;
use crate::report::SweepPoint;
use crate::scenario::Scenario;
use crate::sim::RunOutput;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Most seeds one sweep may run (a limit on memory for per-seed results).
const SEEDS_MAX: u64 = 100_000_000;
/// Most jobs (threads).
const JOBS_MAX: usize = 1024;

#[derive(clap::Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The seeds to run: A..B (B excluded) or A..=B.
    #[arg(long)]
    seeds: String,
    /// Threads running seeds (default: available cores). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Result folder: summary.json, seeds.jsonl, failures.jsonl (default: sweep-NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Stop scheduling seeds after a failure; report the lowest failing seed.
    #[arg(long)]
    stop_on_first: bool,
    /// Print the summary as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Run only shard K of N: the seeds whose index in the range is K modulo N.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Override one scenario key, e.g. --set network.loss=0.05 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Result folders of `sim sweep` (shards of one sweep).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged result folder.
    #[arg(long)]
    out: PathBuf,
    /// Print the merged summary as JSON.
    #[arg(long)]
    json: bool,
}

/// One seed's result: a line of seeds.jsonl.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedResult {
    pub seed: u64,
    pub passed: bool,
    /// The first failed check (`""` if none).
    #[serde(default)]
    pub check: String,
    /// Its kind, `safety` or `liveness` (`""` if none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub check_kind: String,
    pub trace_hash: String,
    pub events: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub virtual_ns: u64,
}

impl SeedResult {
    /// The point the sweep plots draw for this seed.
    fn point(&self) -> SweepPoint {
        SweepPoint {
            seed: self.seed,
            passed: self.passed,
            failed_check: (!self.check.is_empty()).then(|| self.check.clone()),
            ops_ok: self.ops_ok,
            ops_fail: self.ops_fail,
            ops_info: self.ops_info,
            virtual_ns: self.virtual_ns,
            p99_ms: self.p99_ms,
        }
    }

    fn of(output: &RunOutput) -> Self {
        let r = &output.report;
        SeedResult {
            seed: r.seed,
            passed: r.passed,
            check: output.first_failure().map(|c| c.name.clone()).unwrap_or_default(),
            check_kind: output
                .first_failure()
                .map(|c| c.kind.name().to_string())
                .unwrap_or_default(),
            trace_hash: r.trace_hash.clone(),
            events: r.events,
            ops_ok: r.ops.ok,
            ops_fail: r.ops.fail,
            ops_info: r.ops.info,
            p50_ms: r.latency_ms.p50,
            p99_ms: r.latency_ms.p99,
            virtual_ns: r.virtual_ns,
        }
    }
}

/// summary.json of a sweep (or of a merge of sweeps).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SweepSummary {
    pub scenario: PathBuf,
    pub scenario_name: String,
    pub scenario_hash: String,
    pub system: String,
    /// The seed range as given (`0..100`).
    pub seeds: String,
    /// `K/N` when this is one shard.
    pub shard: Option<String>,
    pub jobs: usize,
    pub seeds_run: u64,
    pub passes: u64,
    pub failures: u64,
    pub failures_by_check: BTreeMap<String, u64>,
    /// Failed seeds by the kind of their first failed check: `safety`, `liveness`.
    #[serde(default)]
    pub failures_by_kind: BTreeMap<String, u64>,
    /// Seeds that passed although no operation succeeded (their checks judged a cluster that
    /// did nothing).
    #[serde(default)]
    pub passed_without_progress: u64,
    pub first_failure: Option<u64>,
    /// True if `--stop-on-first` left seeds unrun.
    pub stopped_early: bool,
    pub wall_ms: u64,
    pub seeds_per_s: f64,
    pub version: String,
    #[serde(default)]
    pub overrides: Vec<String>,
    /// The folders merged into this one (empty for a sweep).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<PathBuf>,
}

impl SweepSummary {
    /// Counts passes and failures of `results` into the summary.
    fn count(&mut self, results: &[SeedResult]) {
        self.seeds_run = results.len() as u64;
        self.passes = results.iter().filter(|r| r.passed).count() as u64;
        self.failures = self.seeds_run - self.passes;
        self.passed_without_progress =
            results.iter().filter(|r| r.passed && r.ops_ok == 0).count() as u64;
        self.failures_by_check.clear();
        self.failures_by_kind.clear();
        for r in results.iter().filter(|r| !r.passed) {
            *self.failures_by_check.entry(r.check.clone()).or_default() += 1;
            let kind = if r.check_kind.is_empty() { "safety" } else { r.check_kind.as_str() };
            *self.failures_by_kind.entry(kind.to_string()).or_default() += 1;
        }
        self.first_failure = results.iter().find(|r| !r.passed).map(|r| r.seed);
        self.seeds_per_s = per_second(self.seeds_run, self.wall_ms);
    }
}

fn per_second(count: u64, wall_ms: u64) -> f64 {
    let rate = count as f64 * 1000.0 / wall_ms.max(1) as f64;
    (rate * 10.0).round() / 10.0
}

/// Parses `A..B` or `A..=B` into a non-empty range.
pub fn parse_seeds(text: &str) -> Result<Range<u64>, String> {
    let bad = || format!("--seeds `{text}`: expected A..B (B excluded) or A..=B, e.g. 0..100");
    let (a, b, inclusive) = match text.split_once("..=") {
        Some((a, b)) => (a, b, true),
        None => text.split_once("..").map(|(a, b)| (a, b, false)).ok_or_else(bad)?,
    };
    let a: u64 = a.trim().parse().map_err(|_| bad())?;
    let b: u64 = b.trim().parse().map_err(|_| bad())?;
    let end = if inclusive { b.checked_add(1).ok_or_else(bad)? } else { b };
    if end <= a {
        return Err(format!("--seeds `{text}` is empty"));
    }
    if end - a > SEEDS_MAX {
        return Err(format!("--seeds `{text}`: at most {SEEDS_MAX} seeds per sweep"));
    }
    Ok(a..end)
}

/// Parses `K/N` with `K < N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard `{text}`: expected K/N with 0 <= K < N, e.g. 0/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// One seed's run, as a worker hands it back.
struct Outcome {
    result: SeedResult,
    failure: Option<RunRecord>,
}

/// What every worker shares.
struct Plan<'a> {
    reg: Registry<'a>,
    scenario: &'a Scenario,
    path: &'a Path,
    overrides: &'a [String],
    seeds: Vec<u64>,
    stop_on_first: bool,
}

/// Runs `sim sweep`.
pub fn sweep(reg: Registry<'_>, args: SweepArgs) -> Result<u8, Failure> {
    let range = parse_seeds(&args.seeds).map_err(bad_input)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose().map_err(bad_input)?;
    let jobs = match args.jobs {
        Some(0) => return Err(bad_input("--jobs must be at least 1")),
        Some(j) => j.min(JOBS_MAX),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let scenario = load_scenario(reg, &args.scenario, &args.overrides)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("sweep-{}", scenario.name)));
    create_dir(&out)?;
    let seeds: Vec<u64> = range
        .clone()
        .filter(|seed| shard.is_none_or(|(k, n)| (seed - range.start) % n == k))
        .collect();
    let planned = seeds.len() as u64;
    let plan = Plan {
        reg,
        scenario: &scenario,
        path: &args.scenario,
        overrides: &args.overrides,
        seeds,
        stop_on_first: args.stop_on_first,
    };
    let (outcomes, wall_ms) = wall_clock_ms(|| run_parallel(&plan, jobs));
    let outcomes = outcomes?;
    let mut summary = SweepSummary {
        scenario: args.scenario.clone(),
        scenario_name: scenario.name.clone(),
        scenario_hash: scenario.hash(),
        system: scenario.system.clone(),
        seeds: args.seeds.clone(),
        shard: args.shard.clone(),
        jobs,
        seeds_run: 0,
        passes: 0,
        failures: 0,
        failures_by_check: BTreeMap::new(),
        failures_by_kind: BTreeMap::new(),
        passed_without_progress: 0,
        first_failure: None,
        stopped_early: false,
        wall_ms,
        seeds_per_s: 0.0,
        version: env!("CARGO_PKG_VERSION").to_string(),
        overrides: args.overrides.clone(),
        merged_from: Vec::new(),
    };
    let results: Vec<SeedResult> = outcomes.iter().map(|o| o.result.clone()).collect();
    let failures: Vec<RunRecord> = outcomes.into_iter().filter_map(|o| o.failure).collect();
    summary.count(&results);
    summary.stopped_early = summary.seeds_run < planned;
    write_results(&out, &summary, &results, &failures)?;
    report(&out, &summary, args.json);
    Ok(if summary.failures == 0 { EXIT_PASS } else { EXIT_CHECK_FAILED })
}

/// Runs the plan's seeds on `jobs` threads; returns the outcomes sorted by seed (cut after the
/// lowest failure with `stop_on_first`).
#[allow(clippy::disallowed_methods)] // threads run independent seeds; each run is single-threaded
fn run_parallel(plan: &Plan<'_>, jobs: usize) -> Result<Vec<Outcome>, Failure> {
    let jobs = jobs.min(plan.seeds.len()).max(1);
    let next = AtomicUsize::new(0);
    let lowest_failure = AtomicU64::new(u64::MAX);
    let bar = progress_bar(plan.seeds.len() as u64);
    let (sender, receiver) = std::sync::mpsc::channel::<Result<Outcome, Failure>>();
    let mut outcomes = Vec::with_capacity(plan.seeds.len());
    let mut error = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let sender = sender.clone();
            let (next, lowest_failure) = (&next, &lowest_failure);
            scope.spawn(move || worker(plan, next, lowest_failure, &sender));
        }
        drop(sender);
        let mut failed = 0u64;
        for outcome in receiver {
            match outcome {
                Ok(o) => {
                    failed += u64::from(!o.result.passed);
                    outcomes.push(o);
                }
                Err(e) => error = Some(e),
            }
            bar.set_message(format!("{failed} failed"));
            bar.inc(1);
        }
    });
    bar.finish_and_clear();
    if let Some(e) = error {
        return Err(e);
    }
    outcomes.sort_by_key(|o| o.result.seed);
    if plan.stop_on_first {
        if let Some(lowest) = outcomes.iter().position(|o| !o.result.passed) {
            outcomes.truncate(lowest + 1);
        }
    }
    Ok(outcomes)
}

fn worker(
    plan: &Plan<'_>,
    next: &AtomicUsize,
    lowest_failure: &AtomicU64,
    sender: &std::sync::mpsc::Sender<Result<Outcome, Failure>>,
) {
    loop {
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some(&seed) = plan.seeds.get(i) else { return };
        // Seeds go out in ascending order, so every seed below a failure was already taken.
        if plan.stop_on_first && seed > lowest_failure.load(Ordering::SeqCst) {
            return;
        }
        let outcome = run_seed(plan.reg, plan.scenario, plan.path, seed, None).map(|output| {
            let failure = (!output.report.passed)
                .then(|| RunRecord::new(plan.path, plan.scenario, plan.overrides, &output));
            Outcome { result: SeedResult::of(&output), failure }
        });
        if plan.stop_on_first && matches!(&outcome, Ok(o) if !o.result.passed) {
            lowest_failure.fetch_min(seed, Ordering::SeqCst);
        }
        if sender.send(outcome).is_err() {
            return;
        }
    }
}

/// A progress bar on stderr, hidden unless both stdout and stderr are terminals.
fn progress_bar(len: u64) -> ProgressBar {
    if !(std::io::stderr().is_terminal() && std::io::stdout().is_terminal()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let template = "{bar:30} {pos}/{len} seeds  {msg}  {rate}  ETA {eta}";
    let style = ProgressStyle::with_template(template).expect("the template parses").with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.1} seeds/s", state.per_sec());
        },
    );
    bar.set_style(style);
    bar.set_message("0 failed");
    bar
}

/// Writes summary.json, seeds.jsonl and failures.jsonl into `dir`.
fn write_results(
    dir: &Path,
    summary: &SweepSummary,
    results: &[SeedResult],
    failures: &[RunRecord],
) -> Result<(), Failure> {
    let write = |file: &str, text: String| {
        std::fs::write(dir.join(file), text)
            .map_err(|e| bad_input(format!("{}: cannot write: {e}", dir.join(file).display())))
    };
    write("seeds.jsonl", jsonl(results))?;
    write("failures.jsonl", jsonl(failures))?;
    write(
        "summary.json",
        serde_json::to_string_pretty(summary).expect("summary serialises") + "\n",
    )?;
    let points: Vec<SweepPoint> = results.iter().map(SeedResult::point).collect();
    crate::report::write_sweep(dir, &points)
        .map_err(|e| bad_input(format!("{}: sweep plots: {e}", dir.display())))?;
    Ok(())
}

/// One JSON object per line.
fn jsonl<T: Serialize>(items: &[T]) -> String {
    items.iter().map(|i| serde_json::to_string(i).expect("records serialise") + "\n").collect()
}

fn report(out: &Path, summary: &SweepSummary, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(summary).expect("summary serialises"));
        return;
    }
    let shard = summary.shard.as_ref().map(|s| format!(" shard {s}")).unwrap_or_default();
    println!(
        "sweep     {} seeds {}{shard}: {} run on {} jobs in {} ms ({} seeds/s){}",
        summary.scenario_name,
        summary.seeds,
        summary.seeds_run,
        summary.jobs,
        summary.wall_ms,
        summary.seeds_per_s,
        if summary.stopped_early { ", stopped at the first failure" } else { "" }
    );
    for (check, count) in &summary.failures_by_check {
        println!("failed    {count} seed(s) failed `{check}`");
    }
    if summary.failures > 0 {
        let kinds: Vec<String> =
            summary.failures_by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let note = if summary.failures_by_kind.iter().any(|(k, _)| k.as_str() == "liveness") {
            " (a liveness failure: no progress after repair, not a safety bug)"
        } else {
            ""
        };
        println!("kinds     {}{note}", kinds.join(", "));
    }
    if summary.passed_without_progress > 0 {
        println!(
            "note      {} seed(s) passed although no operation succeeded: their checks judged \
             a cluster that did nothing",
            summary.passed_without_progress
        );
    }
    if let Some(seed) = summary.first_failure {
        // The replay first: it is exact from any folder (the record holds the scenario as
        // run); `sim run` reads the scenario file as it is now, from this folder.
        let failures = out.join("failures.jsonl");
        let failures = std::path::absolute(&failures).unwrap_or(failures);
        let failures = super::output::shell_word(&failures.display().to_string());
        println!("replay    sim replay {failures} --index 0");
        let rerun = super::output::rerun_command(&summary.scenario, seed, &summary.overrides);
        println!("first     seed {seed}: {rerun}");
    }
    let verdict = if summary.failures == 0 { "PASSED" } else { "FAILED" };
    println!("result    {verdict}: {} passed, {} failed", summary.passes, summary.failures);
    println!("written   {}/{{summary.json,seeds.jsonl,failures.jsonl}}", out.display());
}

/// Runs `sim merge`: the folders must be the shards of one sweep (same scenario, same seed
/// range, same shard count), each shard exactly once; anything else is refused (exit 2), since
/// a merge with a shard missing would report seeds it never ran as passed.
pub fn merge(args: MergeArgs) -> Result<u8, Failure> {
    let mut summaries = Vec::new();
    let mut results: Vec<SeedResult> = Vec::new();
    let mut failures: Vec<RunRecord> = Vec::new();
    for dir in &args.dirs {
        let summary: SweepSummary = read_json(&dir.join("summary.json"))?;
        if let Some(first) = summaries.first().map(|s: &SweepSummary| &s.scenario_hash) {
            if *first != summary.scenario_hash {
                return Err(bad_input(format!(
                    "{}: scenario hash {} differs from {} of {}: not shards of one sweep",
                    dir.display(),
                    summary.scenario_hash,
                    first,
                    args.dirs[0].display()
                )));
            }
        }
        results.extend(read_lines::<SeedResult>(&dir.join("seeds.jsonl"))?);
        failures.extend(read_lines::<RunRecord>(&dir.join("failures.jsonl"))?);
        summaries.push(summary);
    }
    check_shards(&args.dirs, &summaries)?;
    results.sort_by_key(|r| r.seed);
    failures.sort_by_key(|r| r.seed);
    for pair in results.windows(2).filter(|w| w[0].seed == w[1].seed) {
        if pair[0] != pair[1] {
            return Err(bad_input(format!("seed {} has two different results", pair[0].seed)));
        }
    }
    results.dedup_by_key(|r| r.seed);
    failures.dedup_by_key(|r| r.seed);
    let mut summary = summaries[0].clone();
    summary.shard = None;
    summary.jobs = summaries.iter().map(|s| s.jobs).sum();
    summary.wall_ms = summaries.iter().map(|s| s.wall_ms).max().unwrap_or(0);
    summary.stopped_early = summaries.iter().any(|s| s.stopped_early);
    summary.merged_from = args.dirs.clone();
    summary.count(&results);
    create_dir(&args.out)?;
    write_results(&args.out, &summary, &results, &failures)?;
    report(&args.out, &summary, args.json);
    Ok(if summary.failures == 0 { EXIT_PASS } else { EXIT_CHECK_FAILED })
}

/// Most seeds a merge error lists.
const SEEDS_LISTED_MAX: usize = 8;

/// Checks that `summaries` (read from `dirs`) are every shard of one seed range, once each. An
/// unsharded sweep is the one shard `0/1`.
fn check_shards(dirs: &[PathBuf], summaries: &[SweepSummary]) -> Result<(), Failure> {
    let seeds = &summaries[0].seeds;
    let range = parse_seeds(seeds).map_err(|e| {
        bad_input(format!("{}: summary.json: {e}", dirs[0].join("summary.json").display()))
    })?;
    let mut shards: Vec<(u64, u64)> = Vec::with_capacity(summaries.len());
    for (dir, summary) in dirs.iter().zip(summaries) {
        let file = dir.join("summary.json");
        if summary.seeds != *seeds {
            return Err(bad_input(format!(
                "{}: `seeds` is {}, but {} swept {seeds}: not shards of one sweep",
                file.display(),
                summary.seeds,
                dirs[0].display()
            )));
        }
        let shard = match &summary.shard {
            Some(text) => parse_shard(text)
                .map_err(|e| bad_input(format!("{}: `shard`: {e}", file.display())))?,
            None => (0, 1),
        };
        shards.push(shard);
    }
    let count = shards[0].1;
    if let Some(i) = shards.iter().position(|s| s.1 != count) {
        return Err(bad_input(format!(
            "{} is shard {}/{}, but {} is shard {}/{count}: not shards of one sweep",
            dirs[i].display(),
            shards[i].0,
            shards[i].1,
            dirs[0].display(),
            shards[0].0
        )));
    }
    let mut given: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (dir, (k, _)) in dirs.iter().zip(&shards) {
        given.entry(*k).or_default().push(dir.display().to_string());
    }
    let mut problems = Vec::new();
    // Bounded by the shards given plus the few missing ones listed, whatever `count` is.
    let missing_total = count - given.len() as u64;
    for k in (0..count).filter(|k| !given.contains_key(k)).take(SEEDS_LISTED_MAX) {
        let seeds = shard_seeds(&range, k, count);
        problems.push(format!("shard {k}/{count} is missing (seeds {seeds})"));
    }
    if missing_total > SEEDS_LISTED_MAX as u64 {
        problems.push(format!("{missing_total} shards are missing in all"));
    }
    for (k, holders) in given.iter().filter(|(_, h)| h.len() > 1) {
        problems.push(format!(
            "shard {k}/{count} is given {} times ({}; seeds {})",
            holders.len(),
            holders.join(", "),
            shard_seeds(&range, *k, count)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(bad_input(format!(
        "merge refused: every shard of the sweep of seeds {seeds} must be given exactly once: {}",
        problems.join("; ")
    )))
}

/// The seeds of shard `k` of `n` of `range`, for messages: the first few and how many.
fn shard_seeds(range: &Range<u64>, k: u64, n: u64) -> String {
    let total = (range.end - range.start).saturating_sub(k).div_ceil(n);
    let mut listed: Vec<String> = (range.start + k..range.end)
        .step_by(n as usize)
        .take(SEEDS_LISTED_MAX)
        .map(|s| s.to_string())
        .collect();
    if total > SEEDS_LISTED_MAX as u64 {
        listed.push(format!("... {total} in all"));
    }
    listed.join(", ")
}

fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", file.display())))?;
    serde_json::from_str(&text).map_err(|e| bad_input(format!("{}: {e}", file.display())))
}

fn read_lines<T: serde::de::DeserializeOwned>(file: &Path) -> Result<Vec<T>, Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", file.display())))?;
    let parse = |(i, line): (usize, &str)| {
        serde_json::from_str(line)
            .map_err(|e| bad_input(format!("{}:{}: {e}", file.display(), i + 1)))
    };
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seeds("0..60"), Ok(0..60));
        assert_eq!(parse_seeds("5..=7"), Ok(5..8));
        assert!(parse_seeds("7..7").is_err());
        assert!(parse_seeds("9..3").is_err());
        assert!(parse_seeds("a..3").is_err());
        assert!(parse_seeds("10").is_err());
    }

    #[test]
    fn shard_seeds_are_listed_briefly() {
        assert_eq!(shard_seeds(&(0..30), 2, 3), "2, 5, 8, 11, 14, 17, 20, 23, ... 10 in all");
        assert_eq!(shard_seeds(&(10..14), 1, 3), "11");
        assert_eq!(shard_seeds(&(0..3), 0, 1), "0, 1, 2");
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("x").is_err());
    }
}
