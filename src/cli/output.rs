//! What `sim run` prints and writes.

use super::record::RunRecord;
use super::{bad_input, Failure};
use crate::engine::format_nanos;
use crate::report::{ReportOptions, TraceExport};
use crate::scenario::Scenario;
use crate::sim::RunOutput;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints the human summary of one run; `rerun` is the command that runs it again, printed
/// when a check failed.
pub fn print_human(scenario: &Scenario, output: &RunOutput, rerun: &str) {
    let r = &output.report;
    println!("scenario  {} ({}, {} nodes) seed {}", r.scenario, r.system, scenario.nodes, r.seed);
    println!(
        "events    {} in {} virtual, {} ms wall",
        r.events,
        format_nanos(r.virtual_ns),
        r.wall_ms
    );
    println!(
        "ops       ok {}  fail {}  info {}{}   latency ms p50 {}  p99 {}  max {}",
        r.ops.ok,
        r.ops.fail,
        r.ops.info,
        if r.ops.shed > 0 { format!("  shed {}", r.ops.shed) } else { String::new() },
        r.latency_ms.p50,
        r.latency_ms.p99,
        r.latency_ms.max
    );
    let n = &r.network;
    let long = if n.long_delayed > 0 {
        format!(", {} held back by a long delay", n.long_delayed)
    } else {
        String::new()
    };
    println!(
        "network   {} sent, {} delivered, {} lost, {} blocked by partitions, {} cut in \
         flight{long}",
        n.sent, n.delivered, n.lost, n.blocked_by_partition, n.cut_in_flight
    );
    if n.bytes_sent > 0 {
        let seconds = r.virtual_ns as f64 / 1e9;
        let per_second = if seconds > 0.0 { n.bytes_sent as f64 / seconds } else { 0.0 };
        let peak = r.wire_bytes_per_second.iter().max().copied().unwrap_or(0);
        let delay = if n.bandwidth_delay_ns > 0 {
            let mean = n.bandwidth_delay_ns / n.sized_sent.max(1);
            format!(", {} mean wait for the sender's link", format_nanos(mean))
        } else {
            String::new()
        };
        println!(
            "wire      {} in {} messages ({} bytes each on average), {}/s mean, {}/s in the \
             busiest second{delay}",
            format_bytes(n.bytes_sent as f64),
            n.sized_sent,
            n.bytes_sent / n.sized_sent.max(1),
            format_bytes(per_second),
            format_bytes(peak as f64),
        );
    }
    let c = &r.clients;
    let p = &c.policies;
    let mut clients = vec![format!("{} attempts sent ({} retries)", c.sent, c.retries)];
    for (count, what) in [
        (p.breaker_rejected, "attempts the breaker rejected"),
        (p.limiter_rejected, "rejected by the rate limiter"),
        (p.limiter_delayed, "delayed by the rate limiter"),
        (p.budget_refused, "retries the budget refused"),
        (p.attempts_used, "operations out of attempts"),
        (p.hedges, "hedges"),
    ] {
        if count > 0 {
            clients.push(format!("{count} {what}"));
        }
    }
    if p.breaker_opened > 0 {
        let times = if p.breaker_opened == 1 { "once" } else { "times" };
        let n =
            if p.breaker_opened == 1 { String::new() } else { format!("{} ", p.breaker_opened) };
        clients.insert(1, format!("the breaker opened {n}{times}"));
    }
    println!("clients   {}", clients.join(", "));
    for (name, series) in output.gauges.iter() {
        if let Some((node, at, peak)) = output.gauges.peak(name) {
            let at = format_nanos(at);
            if node == crate::sim::gauges::CLIENTS {
                println!("gauge     {name}: peak {peak} on the clients at {at}");
            } else {
                let nodes = series.len();
                println!(
                    "gauge     {name}: peak {peak} on n{node} at {at} ({nodes} nodes reported it)"
                );
            }
        }
    }
    if !r.varied.is_empty() {
        println!("varied    {} (drawn by [vary] for this seed)", r.varied.join(", "));
    }
    print_faults(output);
    if !r.controls.is_empty() {
        let listed: Vec<String> =
            r.controls.iter().map(|c| format!("{} {}", format_nanos(c.at_ns), c.action)).collect();
        println!("controls  {} delivered: {}", r.controls.len(), listed.join(", "));
    }
    for c in &r.checks {
        let expected = r.expected_failures.contains(&c.name);
        let verdict = match (c.verdict(), expected) {
            ("FAIL", true) => "FAIL (expected)",
            (v, _) => v,
        };
        let kind = c.kind.name();
        println!("check     {verdict:<15} {:<22} {kind:<8} {}", c.name, first_line(&c.detail));
        if !c.passed {
            for line in c.detail.lines().skip(1) {
                println!("               {line}");
            }
        }
    }
    println!("trace     {}", r.trace_hash);
    if r.passed && !r.expected_failures.is_empty() {
        let names: Vec<String> = r.expected_failures.iter().map(|n| format!("`{n}`")).collect();
        println!(
            "result    PASSED: the expected failure of {} showed at seed {}",
            names.join(", "),
            r.seed
        );
    } else if r.passed && !r.judged() {
        println!(
            "result    NOT JUDGED: no check had anything to judge ({} operations): this run \
             proves nothing",
            r.ops.ok + r.ops.fail + r.ops.info
        );
    } else if r.passed && r.ops.ok == 0 {
        println!(
            "result    PASSED, but no operation succeeded ({} failed, {} indeterminate): the \
             checks held for a cluster that did nothing",
            r.ops.fail, r.ops.info
        );
    } else if r.passed {
        println!("result    PASSED");
    } else {
        let failed = output.first_failure().expect("a failed run has a failed check");
        let kind = failed.kind.name();
        println!("result    FAILED: {kind} check `{}` failed at seed {}", failed.name, r.seed);
        println!("replay    {rerun}");
    }
}

/// The exact command that runs this scenario and seed again: `sim run FILE --seed N --set ...`,
/// with words a shell would split or expand quoted.
pub fn rerun_command(path: &Path, seed: u64, overrides: &[String]) -> String {
    let sets: String = overrides.iter().map(|o| format!(" --set {}", shell_word(o))).collect();
    format!("sim run {} --seed {seed}{sets}", shell_word(&path.display().to_string()))
}

/// `word`, single-quoted if a shell would change it.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', "'\\''"))
}

fn print_faults(output: &RunOutput) {
    const SHOWN: usize = 8;
    let shown = |items: Vec<String>| {
        let more = match items.len().checked_sub(SHOWN) {
            Some(n) if n > 0 => format!(", +{n} more"),
            _ => String::new(),
        };
        format!("{}{more}", items.into_iter().take(SHOWN).collect::<Vec<_>>().join(", "))
    };
    let log = &output.report.fault_log;
    let skipped = &output.report.faults_skipped;
    if log.is_empty() && skipped.is_empty() {
        println!("faults    none");
    } else if log.is_empty() {
        println!("faults    none applied");
    } else {
        let listed = log.iter().map(|f| format!("{} {}", format_nanos(f.at_ns), f.description));
        println!("faults    {} applied: {}", log.len(), shown(listed.collect()));
    }
    if !skipped.is_empty() {
        let listed =
            skipped.iter().map(|f| format!("{} {} ({})", format_nanos(f.at_ns), f.fault, f.why));
        println!("          {} skipped: {}", skipped.len(), shown(listed.collect()));
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Where `sim run --out DIR` records the trace: `DIR/trace.jsonl` with `--trace` (`full`),
/// else a scratch file that [`write_run_dir`] cuts down to the sequence diagram's window
/// (`trace-window.jsonl`) and removes. A 60-second run's full trace is tens of megabytes.
pub fn trace_file(dir: &Path, full: bool) -> PathBuf {
    dir.join(if full { TRACE_FILE } else { TRACE_SCRATCH_FILE })
}

/// The full trace.
const TRACE_FILE: &str = "trace.jsonl";
/// The trace of a run without `--trace`, while the report is written.
const TRACE_SCRATCH_FILE: &str = ".trace-scratch.jsonl";

/// Writes summary.json, history.jsonl, run.json and the run's report (pictures, exports; see
/// `sim::report`) into `dir`. The trace is the one [`trace_file`] named: a full
/// `dir/trace.jsonl` is kept and exported whole (`chrome-trace.json`); a scratch trace is cut
/// to `trace-window.jsonl` and removed, and so is a `trace.jsonl` an earlier run left in `dir`
/// (it would not be this run's).
pub fn write_run_dir(
    dir: &Path,
    scenario: &Scenario,
    output: &RunOutput,
    record: &RunRecord,
) -> Result<(), Failure> {
    let io = |file: &str, e: std::io::Error| {
        bad_input(format!("{}: cannot write: {e}", dir.join(file).display()))
    };
    let summary = serde_json::to_string_pretty(&output.report).expect("report serialises");
    std::fs::write(dir.join("summary.json"), summary + "\n").map_err(|e| io("summary.json", e))?;
    let run = serde_json::to_string_pretty(record).expect("record serialises");
    std::fs::write(dir.join("run.json"), run + "\n").map_err(|e| io("run.json", e))?;
    let results = crate::report::results_edn(&output.report);
    std::fs::write(dir.join("results.edn"), results).map_err(|e| io("results.edn", e))?;
    let mut history = std::io::BufWriter::new(
        std::fs::File::create(dir.join("history.jsonl")).map_err(|e| io("history.jsonl", e))?,
    );
    history
        .write_all(output.history.to_json_lines().as_bytes())
        .map_err(|e| io("history.jsonl", e))?;
    history.flush().map_err(|e| io("history.jsonl", e))?;
    let (scratch, full) = (trace_file(dir, false), trace_file(dir, true));
    let (trace, export) = if scratch.exists() {
        if full.exists() {
            std::fs::remove_file(&full).map_err(|e| io(TRACE_FILE, e))?;
        }
        (Some(scratch.as_path()), TraceExport::Window)
    } else {
        (Some(full.as_path()).filter(|t| t.exists()), TraceExport::Full)
    };
    let options = ReportOptions { trace: export, ..ReportOptions::default() };
    let written = crate::report::write_run_with(dir, scenario, output, trace, &options);
    if export == TraceExport::Window {
        std::fs::remove_file(&scratch).map_err(|e| io(TRACE_SCRATCH_FILE, e))?;
    }
    written.map_err(|e| bad_input(format!("writing the report: {e}")))?;
    Ok(())
}

/// `n` bytes for people: `812 B`, `14.2 KiB`, `3.1 MiB`.
fn format_bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[0])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
