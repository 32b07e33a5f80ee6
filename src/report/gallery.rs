//! The committed gallery of reports: `reports/<scenario>/` for every scenario in `scenarios/`
//! at one fixed seed, with `reports/README.md` as its index. `cargo xtask reports` writes it;
//! `cargo xtask reports --check` (and `tests/reports.rs`) verify it is up to date by re-running
//! each scenario and comparing trace hashes.

use super::{write_run_with, ReportError, ReportOptions, TraceExport};
use crate::engine::TraceWriter;
use crate::registry::Registry;
use crate::scenario::Scenario;
use crate::sim::{RunOptions, RunOutput, RunReport};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The seed of every gallery run.
pub const GALLERY_SEED: u64 = 1;
/// Files larger than this are left out of the gallery (traces, mostly), to keep it small.
pub const GALLERY_FILE_BYTES_MAX: u64 = 1_000_000;
/// The pictures of a run, in the order the index shows them.
pub const PICTURES: [&str; 4] = ["latency", "throughput", "quantiles", "sequence"];

/// One scenario's entry of the gallery.
#[derive(Clone, Debug)]
pub struct GalleryEntry {
    /// Scenario file, relative to the scenarios folder.
    pub file: String,
    /// The scenario's description.
    pub description: String,
    /// The run's summary.
    pub report: RunReport,
    /// Files written but left out for their size.
    pub left_out: Vec<String>,
}

/// The scenario files (`*.toml`) of `scenarios_dir`, sorted by name.
pub fn scenario_files(scenarios_dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let err = |e: std::io::Error| ReportError::new(scenarios_dir, e.to_string());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(scenarios_dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn run(
    registry: Registry<'_>,
    path: &Path,
    seed: u64,
    trace: Option<&Path>,
) -> Result<(Scenario, RunOutput), ReportError> {
    let scenario = Scenario::load(path, &[]).map_err(|e| ReportError::new(path, e.to_string()))?;
    registry.validate(&scenario, path).map_err(|e| ReportError::new(path, e.to_string()))?;
    let options = match trace {
        None => RunOptions::default(),
        Some(file) => {
            let f =
                std::fs::File::create(file).map_err(|e| ReportError::new(file, e.to_string()))?;
            RunOptions::with_trace(TraceWriter::new(Box::new(std::io::BufWriter::new(f))))
        }
    };
    let output = registry
        .run(&scenario, path, seed, options)
        .map_err(|e| ReportError::new(path, e.to_string()))?;
    Ok((scenario, output))
}

/// Writes `reports_dir/<name>/` for the scenario at `path`: the run's pictures, exports and
/// `summary.json` (wall time zeroed, so that equal runs write equal files); files over
/// [`GALLERY_FILE_BYTES_MAX`] are removed, except pictures (the index links them).
pub fn generate_one(
    registry: Registry<'_>,
    path: &Path,
    reports_dir: &Path,
    seed: u64,
) -> Result<GalleryEntry, ReportError> {
    let name = Scenario::load(path, &[]).map_err(|e| ReportError::new(path, e.to_string()))?.name;
    let dir = reports_dir.join(&name);
    let io = |p: &Path, e: std::io::Error| ReportError::new(p, e.to_string());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    // The full trace is scratch: the gallery keeps the sequence window of it, as `sim run
    // --out` does without `--trace`.
    let trace = dir.join(".trace-scratch.jsonl");
    let (scenario, mut output) = run(registry, path, seed, Some(&trace))?;
    output.report.wall_ms = 0;
    let options = ReportOptions { trace: TraceExport::Window, ..ReportOptions::default() };
    let written = write_run_with(&dir, &scenario, &output, Some(&trace), &options);
    std::fs::remove_file(&trace).map_err(|e| io(&trace, e))?;
    let mut files = written?;
    let summary = dir.join("summary.json");
    let text = serde_json::to_string_pretty(&output.report).expect("report serialises") + "\n";
    std::fs::write(&summary, text).map_err(|e| io(&summary, e))?;
    files.push(summary);
    let mut left_out = Vec::new();
    for file in files {
        let bytes = std::fs::metadata(&file).map_err(|e| io(&file, e))?.len();
        // The index links every picture, so pictures stay whatever their size.
        let picture = file.extension().is_some_and(|x| x == "png" || x == "svg");
        if bytes > GALLERY_FILE_BYTES_MAX && !picture {
            std::fs::remove_file(&file).map_err(|e| io(&file, e))?;
            left_out.push(file.file_name().unwrap_or_default().to_string_lossy().into_owned());
        }
    }
    let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    Ok(GalleryEntry { file, description: scenario.description, report: output.report, left_out })
}

/// Bug-knob scenarios are shown failing: the first of this many seeds that exposes the bug.
pub const SHOWCASE_SEEDS_MAX: u64 = 1000;

/// The seed the gallery shows for the scenario at `path`: `seed`, except for a scenario with a
/// bug knob on (`[protocol] bugs = [...]`), where it is the first seed that exposes the bug, so
/// the pictures show the failure (the sequence diagram ends at it). Deterministic: a search over
/// `0..SHOWCASE_SEEDS_MAX`, falling back to `seed` if none fails.
pub fn showcase_seed(registry: Registry<'_>, path: &Path, seed: u64) -> Result<u64, ReportError> {
    let scenario = Scenario::load(path, &[]).map_err(|e| ReportError::new(path, e.to_string()))?;
    let has_bugs = scenario
        .protocol
        .get("bugs")
        .and_then(|b| b.as_array())
        .is_some_and(|bugs| !bugs.is_empty());
    if !has_bugs {
        return Ok(seed);
    }
    for candidate in 0..SHOWCASE_SEEDS_MAX {
        let output = registry
            .run(&scenario, path, candidate, RunOptions::default())
            .map_err(|e| ReportError::new(path, e.to_string()))?;
        if !output.report.passed {
            return Ok(candidate);
        }
    }
    Ok(seed)
}

/// Regenerates the whole gallery: every scenario of `scenarios_dir`, then the index.
pub fn generate(
    registry: Registry<'_>,
    scenarios_dir: &Path,
    reports_dir: &Path,
    seed: u64,
) -> Result<Vec<GalleryEntry>, ReportError> {
    let mut entries = Vec::new();
    for path in scenario_files(scenarios_dir)? {
        let shown = showcase_seed(registry, &path, seed)?;
        entries.push(generate_one(registry, &path, reports_dir, shown)?);
    }
    let readme = reports_dir.join("README.md");
    std::fs::write(&readme, index(&entries, seed))
        .map_err(|e| ReportError::new(&readme, e.to_string()))?;
    Ok(entries)
}

/// Checks that `reports_dir` holds an up-to-date report of the scenario at `path`: re-runs it
/// (without a trace) and compares the trace hash with the one its `summary.json` records.
/// The error says what is stale and how to fix it.
pub fn check_one(
    registry: Registry<'_>,
    path: &Path,
    reports_dir: &Path,
    seed: u64,
) -> Result<(), String> {
    let (scenario, output) = run(registry, path, seed, None).map_err(|e| e.to_string())?;
    let summary = reports_dir.join(&scenario.name).join("summary.json");
    let fix = "run `cargo xtask reports` and commit reports/";
    let text = std::fs::read_to_string(&summary)
        .map_err(|e| format!("{}: missing ({e}); {fix}", summary.display()))?;
    let recorded: RunReport = serde_json::from_str(&text)
        .map_err(|e| format!("{}: unreadable ({e}); {fix}", summary.display()))?;
    if recorded.trace_hash != output.report.trace_hash || recorded.seed != seed {
        return Err(format!(
            "{}: stale: trace hash {} (seed {}) recorded, {} (seed {seed}) now; {fix}",
            summary.display(),
            recorded.trace_hash,
            recorded.seed,
            output.report.trace_hash
        ));
    }
    Ok(())
}

/// Checks every scenario of `scenarios_dir` and the index; returns the problems found.
pub fn check(
    registry: Registry<'_>,
    scenarios_dir: &Path,
    reports_dir: &Path,
    seed: u64,
) -> Vec<String> {
    let files = match scenario_files(scenarios_dir) {
        Ok(files) => files,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems: Vec<String> = files
        .iter()
        .filter_map(|p| {
            let shown = showcase_seed(registry, p, seed).map_err(|e| e.to_string()).ok()?;
            check_one(registry, p, reports_dir, shown).err()
        })
        .collect();
    if !reports_dir.join("README.md").exists() {
        problems.push(format!("{}: missing README.md", reports_dir.display()));
    }
    problems
}

/// The index: a table of every scenario with its key figures and thumbnails.
pub fn index(entries: &[GalleryEntry], seed: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Reports\n");
    let _ = writeln!(
        out,
        "One run of every scenario in `scenarios/` at seed {seed} (a bug-knob scenario at the \
         first seed that exposes its bug, so its pictures show the failure), written by `cargo \
         xtask reports`; `cargo xtask reports --check` verifies they match the code (trace hashes). \
         Do not edit by hand. Each folder holds the run's pictures (SVG and PNG), its \
         `summary.json`, and when small enough `timeline.html` (the history, interactive; open \
         it in a browser), `history.edn` (Jepsen), `chrome-trace.json` (Perfetto) and \
         `trace-window.jsonl` (the trace records of the sequence diagram's window). Latency, \
         throughput and quantile charts shade fault windows; the sequence diagram shows 50 ms \
         of messages after the first fault, or, for a failed run, the span from the earliest \
         time the failed check names to the violation.\n"
    );
    let _ = writeln!(
        out,
        "| scenario | what it shows | seed | ops ok / fail / info | latency p50 / p99 (ms) \
         | faults | checks | trace hash | pictures |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for e in entries {
        let _ = writeln!(out, "{}", index_row(e));
    }
    for e in entries.iter().filter(|e| !e.left_out.is_empty()) {
        let _ = writeln!(
            out,
            "\n`{}`: left out for size (over 1 MB): {}; `sim run scenarios/{} --seed {} --out \
             DIR` writes them.",
            e.report.scenario,
            e.left_out.join(", "),
            e.file,
            e.report.seed
        );
    }
    out
}

fn index_row(e: &GalleryEntry) -> String {
    let r = &e.report;
    let passed = r.checks.iter().filter(|c| c.passed).count();
    let verdict = if r.passed { "" } else { " FAILED" };
    let seed = r.seed;
    let mut pictures: Vec<String> = PICTURES
        .iter()
        .map(|p| format!("[![{p}]({0}/{p}.png)]({0}/{p}.svg)", r.scenario))
        .collect();
    if !r.wire_bytes_per_second.is_empty() {
        pictures.push(format!("[![wire]({0}/wire.png)]({0}/wire.svg)", r.scenario));
    }
    if !e.left_out.iter().any(|f| f == "timeline.html") {
        pictures.push(format!("[timeline]({}/timeline.html)", r.scenario));
    }
    format!(
        "| [{0}]({0}/) | {1} | {seed} | {2} / {3} / {4} | {5} / {6} | {7} \
         | {passed}/{8} passed{verdict} | `{9}` | {10} |",
        r.scenario,
        e.description.replace('|', "\\|"),
        r.ops.ok,
        r.ops.fail,
        r.ops.info,
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.faults,
        r.checks.len(),
        r.trace_hash,
        pictures.join(" ")
    )
}
