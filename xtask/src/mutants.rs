//! `cargo xtask mutants [--seeds N] [--only NAME[,NAME]] [--scenarios A.toml,B.toml]
//! [--no-shrink]`: which of the hand-written Raft mutations of `tests/mutants/` the shipped
//! scenarios kill (issue 22).
//!
//! 1. Baseline: the tracked files (`git ls-files`, as they are in the working copy) are copied
//!    to `target/mutants/tree/`, `sim` is built there and every scenario swept; a failing seed
//!    stops the run (exit 1): a kill would mean nothing.
//! 2. Each patch, in name order, is applied to that copy (`git apply`), `sim` rebuilt (one
//!    target dir for all, `target/mutants/target`, so only the sim crate recompiles) and the
//!    scenarios swept in order with `--stop-on-first`: the first failing seed kills the
//!    mutant. The files the patch touched are restored afterwards.
//! 3. Each kill is shrunk (`sim shrink`), the shrunk scenario run, and its record replayed.
//! 4. `reports/mutants/results.json` and its `README.md` say what killed what.
//!
//! Every sweep runs with `protocol.bugs=[]` (`raft-figure8.toml` switches a bug knob on): the
//! mutation is the only bug. Progress goes to stderr; the committed files hold no wall times.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::Instant;

/// The shipped scenarios and the seeds each sweeps: 1,000 in all (issue 22's goal), the
/// scenarios that reach the narrow states first (options drawn per seed, crashes of
/// microseconds, back-to-back membership changes), then the flagship and the classics.
const BUDGET: [(&str, u64); 6] = [
    ("scenarios/raft-options.toml", 200),
    ("scenarios/raft-crash-after-vote.toml", 150),
    ("scenarios/raft-membership-storm.toml", 150),
    ("scenarios/partition.toml", 250),
    ("scenarios/raft-figure8.toml", 200),
    ("scenarios/raft-membership.toml", 50),
];
/// Seeds a scenario given with `--scenarios` sweeps when it has no budget above.
const SEEDS_DEFAULT: u64 = 300;
/// Overrides of every sweep, shrink and run: no bug knob besides the mutation.
const OVERRIDES: [&str; 1] = ["protocol.bugs=[]"];
/// Threads per sweep (the machine's two cores).
const JOBS: &str = "2";
/// Most runs one shrink may spend (`sim shrink` defaults to 2000: too slow for 16 mutants).
const SHRINK_RUNS_MAX: &str = "500";
/// The goal for a shrunk reproducer.
const SHRUNK_FAULTS_GOAL: usize = 5;
/// Build settings of the mutants' `sim` only (dependencies keep the release profile, so they
/// are reused): incremental, many codegen units and no debug info make a rebuild after a
/// one-line change take a fraction of a clean release build.
const BUILD_CONFIG: [&str; 3] = [
    "profile.release.incremental=true",
    "profile.release.package.sim.codegen-units=256",
    "profile.release.package.sim.debug=0",
];

const USAGE: &str = "usage: cargo xtask mutants [--seeds N] [--only NAME[,NAME]] \
                     [--scenarios A.toml,B.toml] [--no-shrink]";

/// What the command was asked to do.
#[derive(Debug)]
struct Options {
    /// Seeds per scenario, overriding the budget.
    seeds: Option<u64>,
    /// Only these mutants (all if empty).
    only: Vec<String>,
    /// Scenarios to sweep, in order, with their seeds.
    scenarios: Vec<(String, u64)>,
    shrink: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options { seeds: None, only: Vec::new(), scenarios: Vec::new(), shrink: true };
    let mut scenarios: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seeds" => {
                let v = value()?;
                let n: u64 = v.parse().map_err(|_| format!("--seeds `{v}`: not a number"))?;
                if n == 0 {
                    return Err("--seeds must be at least 1".into());
                }
                o.seeds = Some(n);
            }
            "--only" => o.only = value()?.split(',').map(str::to_string).collect(),
            "--scenarios" => scenarios = Some(value()?.split(',').map(str::to_string).collect()),
            "--no-shrink" => o.shrink = false,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let chosen = scenarios.unwrap_or_else(|| BUDGET.iter().map(|(s, _)| s.to_string()).collect());
    for s in chosen {
        let budget = BUDGET.iter().find(|(b, _)| *b == s).map_or(SEEDS_DEFAULT, |(_, n)| *n);
        o.scenarios.push((s, o.seeds.unwrap_or(budget)));
    }
    Ok(o)
}

/// A patch of `tests/mutants/`.
#[derive(Clone, Debug)]
struct Patch {
    name: String,
    file: PathBuf,
    description: String,
    /// The header's lines after the first: the narrow state the bug needs.
    needs: String,
    /// Files the diff touches, relative to the repository root.
    touches: Vec<String>,
}

fn read_patch(file: &Path) -> Result<Patch, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let description = first
        .strip_prefix("# ")
        .and_then(|l| l.strip_prefix(name.as_str()))
        .and_then(|l| l.strip_prefix(": "))
        .ok_or(format!("{}: the first line must be `# {name}: what the bug is`", file.display()))?
        .to_string();
    let needs: Vec<&str> = lines.clone().take_while(|l| !l.starts_with("diff --git ")).collect();
    let touches: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("diff --git a/"))
        .filter_map(|l| l.split(" b/").next())
        .map(str::to_string)
        .collect();
    if touches.is_empty() {
        return Err(format!("{}: no `diff --git` in it", file.display()));
    }
    Ok(Patch { name, file: file.to_path_buf(), description, needs: needs.join(" "), touches })
}

/// The outcome of one sweep of one scenario.
enum Swept {
    Passed {
        seeds: u64,
    },
    /// A seed failed a check (`kind`: safety, liveness), or sim exited 3 (`check` = `panic`).
    Failed {
        seeds: u64,
        seed: Option<u64>,
        check: String,
        kind: String,
    },
}

/// One mutant's line of `results.json`.
#[derive(Clone, Debug, Default, Serialize)]
struct MutantResult {
    name: String,
    description: String,
    /// What narrow state the bug needs to show (the patch's header).
    needs: String,
    /// `killed`, `survived`, `unviable` (does not build) or `does-not-apply`.
    outcome: String,
    scenario: Option<String>,
    seed: Option<u64>,
    check: Option<String>,
    /// `safety` or `liveness` (`panic`: sim itself exited 3).
    kind: Option<String>,
    /// Faults in the shrunk scenario (the goal: at most 5).
    shrunk_faults: Option<usize>,
    /// `sim run` of the shrunk scenario at the seed failed the same check.
    shrunk_fails: Option<bool>,
    /// `sim replay` of that run reproduced it (same trace hash, same failed check).
    replayed: Option<bool>,
    /// Seeds swept per scenario, in sweep order (up to and including the killing seed).
    seeds_swept: BTreeMap<String, u64>,
}

/// `results.json`.
#[derive(Debug, Serialize)]
struct Results {
    command: String,
    /// Seeds per scenario, in sweep order.
    budget: Vec<(String, u64)>,
    overrides: Vec<String>,
    killed: usize,
    /// Mutants that built and were swept (killed + survived).
    judged: usize,
    /// Mutants the run set out to measure (more than `mutants` while it runs).
    planned: usize,
    mutants: Vec<MutantResult>,
}

impl Results {
    fn count(&mut self) {
        let is = |r: &&MutantResult, o: &str| r.outcome == o;
        self.killed = self.mutants.iter().filter(|r| is(r, "killed")).count();
        self.judged = self.killed + self.mutants.iter().filter(|r| is(r, "survived")).count();
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repo").to_path_buf()
}

/// The scratch tree, its target dir and the runs' folders.
struct Work {
    root: PathBuf,
    dir: PathBuf,
    tree: PathBuf,
    target: PathBuf,
    runs: PathBuf,
}

impl Work {
    fn new(root: PathBuf) -> Self {
        let dir = root.join("target").join("mutants");
        Work {
            tree: dir.join("tree"),
            target: dir.join("target"),
            runs: dir.join("runs"),
            dir,
            root,
        }
    }

    fn sim(&self) -> PathBuf {
        self.target.join("release").join("sim")
    }

    /// Git with the scratch tree's parents hidden, so that `git apply` there patches the copy
    /// (in a subfolder of a repository it would patch paths of the repository instead).
    fn git_in_tree(&self) -> Command {
        let mut git = Command::new("git");
        git.current_dir(&self.tree).env("GIT_CEILING_DIRECTORIES", &self.dir);
        git
    }

    /// Copies every tracked file into the tree, writing only those that differ (unchanged
    /// files keep their times, so cargo need not rebuild for them).
    fn sync_tree(&self) -> Result<usize, String> {
        let out = Command::new("git")
            .args(["ls-files", "-z"])
            .current_dir(&self.root)
            .output()
            .map_err(|e| format!("git ls-files: {e}"))?;
        if !out.status.success() {
            return Err(format!("git ls-files: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let mut written = 0;
        for file in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
            let file = String::from_utf8_lossy(file).to_string();
            if self.copy_into_tree(&file)? {
                written += 1;
            }
        }
        Ok(written)
    }

    /// Copies `file` (relative to the root) into the tree if it differs; true if written.
    fn copy_into_tree(&self, file: &str) -> Result<bool, String> {
        let from = self.root.join(file);
        let Ok(bytes) = std::fs::read(&from) else { return Ok(false) }; // deleted, not staged
        let to = self.tree.join(file);
        if std::fs::read(&to).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&to, bytes).map_err(|e| format!("{}: {e}", to.display()))?;
        Ok(true)
    }

    /// Builds `sim` in the tree; on failure, the end of cargo's output.
    fn build(&self) -> Result<(), String> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--release", "--bin", "sim"]);
        for config in BUILD_CONFIG {
            build.args(["--config", config]);
        }
        let out = build
            .current_dir(&self.tree)
            .env("CARGO_TARGET_DIR", &self.target)
            // build.rs then finds no git commit: a mutant's record claims no clean commit.
            .env("GIT_CEILING_DIRECTORIES", &self.dir)
            .stdout(Stdio::null())
            .output()
            .map_err(|e| format!("cargo: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        Err(lines[lines.len().saturating_sub(15)..].join("\n"))
    }

    /// Runs the built `sim` from the repository root (scenario paths as in the repo).
    fn run_sim(&self, args: &[String]) -> Result<Output, String> {
        Command::new(self.sim())
            .args(args)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", self.sim().display()))
    }

    /// Sweeps `scenario` over seeds `0..seeds` into `out`, stopping at the first failure.
    fn sweep(&self, scenario: &str, seeds: u64, out: &Path) -> Result<Swept, String> {
        let _ = std::fs::remove_dir_all(out);
        let mut args: Vec<String> = vec!["sweep".into(), scenario.into()];
        args.extend(["--seeds".into(), format!("0..{seeds}"), "--stop-on-first".into()]);
        args.extend(["--json".into(), "--jobs".into(), JOBS.into()]);
        args.extend(["--out".into(), out.display().to_string()]);
        args.extend(overrides());
        let started = Instant::now();
        let output = self.run_sim(&args)?;
        let wall_s = started.elapsed().as_secs_f64();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(0 | 1) => {}
            Some(3) => {
                eprintln!("mutants:   sim exited 3 (sim itself failed): {}", last_line(&stderr));
                return Ok(Swept::Failed {
                    seeds: 0,
                    seed: seed_named(&stderr),
                    check: "panic".into(),
                    kind: "panic".into(),
                });
            }
            code => return Err(format!("sim sweep {scenario}: exit {code:?}: {stderr}")),
        }
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("sim sweep {scenario}: its --json output: {e}"))?;
        let run = summary["seeds_run"].as_u64().unwrap_or(0);
        eprintln!(
            "mutants:   {scenario}: {run} seeds in {wall_s:.1}s ({:.1} seeds/s)",
            run as f64 / wall_s.max(1e-9)
        );
        let Some(seed) = summary["first_failure"].as_u64() else {
            return Ok(Swept::Passed { seeds: run });
        };
        // The failing seed's line of seeds.jsonl names its first failed check and its kind.
        let lines = std::fs::read_to_string(out.join("seeds.jsonl")).unwrap_or_default();
        let line = lines
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["seed"].as_u64() == Some(seed));
        let field = |k: &str| line.as_ref().and_then(|v| v[k].as_str()).unwrap_or("").to_string();
        let (check, kind) = (field("check"), field("check_kind"));
        let kind = if kind.is_empty() { "safety".into() } else { kind };
        Ok(Swept::Failed { seeds: run, seed: Some(seed), check, kind })
    }

    /// Shrinks a kill, runs the shrunk scenario and replays that run; fills the result's
    /// `shrunk_faults`, `shrunk_fails` and `replayed`.
    fn shrink(&self, r: &mut MutantResult) -> Result<(), String> {
        let (Some(scenario), Some(seed)) = (r.scenario.clone(), r.seed) else { return Ok(()) };
        let dir = self.runs.join(&r.name);
        let shrunk = dir.join("shrunk.toml");
        let mut args: Vec<String> = vec!["shrink".into(), scenario, "--seed".into()];
        args.extend([seed.to_string(), "--out".into(), shrunk.display().to_string()]);
        args.extend(["--runs-max".into(), SHRINK_RUNS_MAX.into()]);
        args.extend(overrides());
        let out = self.run_sim(&args)?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        // `after     3 nodes, 2 clients, 4 faults, ...`
        r.shrunk_faults = stdout
            .lines()
            .find_map(|l| l.strip_prefix("after"))
            .and_then(|l| l.split(", ").find_map(|part| part.strip_suffix(" faults")))
            .and_then(|n| n.trim().parse().ok());
        if !shrunk.exists() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!("sim shrink wrote nothing: {}", last_line(&stderr)));
        }
        let run_dir = dir.join("shrunk-run");
        let _ = std::fs::remove_dir_all(&run_dir);
        let args: Vec<String> = vec![
            "run".into(),
            shrunk.display().to_string(),
            "--seed".into(),
            seed.to_string(),
            "--out".into(),
            run_dir.display().to_string(),
            "--json".into(),
        ];
        let out = self.run_sim(&args)?;
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let failed: Vec<&str> = report["checks"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter(|c| c["passed"] == false)
                    .filter_map(|c| c["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        r.shrunk_fails = Some(out.status.code() == Some(1) && failed.contains(&check_of(r)));
        let record = run_dir.join("run.json");
        let out = self.run_sim(&["replay".into(), record.display().to_string()])?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        r.replayed = Some(out.status.code() == Some(1) && stdout.contains("replay: reproduced:"));
        Ok(())
    }
}

fn check_of(r: &MutantResult) -> &str {
    r.check.as_deref().unwrap_or("")
}

fn overrides() -> Vec<String> {
    OVERRIDES.iter().flat_map(|o| ["--set".to_string(), o.to_string()]).collect()
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("")
}

/// The seed in sim's `seed N: running FILE` line, if any.
fn seed_named(stderr: &str) -> Option<u64> {
    stderr.lines().find_map(|l| l.strip_prefix("seed ")?.split(':').next()?.parse().ok())
}

/// Sweeps every scenario with the `sim` built now; the first failure ends it.
fn sweep_all(
    work: &Work,
    options: &Options,
    label: &str,
    r: &mut MutantResult,
) -> Result<(), String> {
    for (scenario, seeds) in &options.scenarios {
        let stem = Path::new(scenario).file_stem().and_then(|s| s.to_str()).unwrap_or("scenario");
        let out = work.runs.join(label).join(stem);
        match work.sweep(scenario, *seeds, &out)? {
            Swept::Passed { seeds } => {
                r.seeds_swept.insert(scenario.clone(), seeds);
            }
            Swept::Failed { seeds, seed, check, kind } => {
                r.seeds_swept.insert(scenario.clone(), seeds);
                r.outcome = "killed".into();
                r.scenario = Some(scenario.clone());
                (r.seed, r.check, r.kind) = (seed, Some(check), Some(kind));
                return Ok(());
            }
        }
    }
    r.outcome = "survived".into();
    Ok(())
}

/// One mutant: apply, build, sweep, restore.
fn mutant(work: &Work, options: &Options, patch: &Patch) -> Result<MutantResult, String> {
    let mut r = MutantResult {
        name: patch.name.clone(),
        description: patch.description.clone(),
        needs: patch.needs.clone(),
        ..MutantResult::default()
    };
    let applied = work.git_in_tree().arg("apply").arg(&patch.file).output();
    let applied = applied.map_err(|e| format!("git apply: {e}"))?;
    if !applied.status.success() {
        eprintln!("mutants:   git apply: {}", last_line(&String::from_utf8_lossy(&applied.stderr)));
        r.outcome = "does-not-apply".into();
        return Ok(r);
    }
    let started = Instant::now();
    let built = work.build();
    eprintln!("mutants:   build: {:.0}s", started.elapsed().as_secs_f64());
    let swept = match built {
        Err(e) => {
            eprintln!("mutants:   build failed:\n{e}");
            r.outcome = "unviable".into();
            Ok(())
        }
        Ok(()) => sweep_all(work, options, &patch.name, &mut r),
    };
    if swept.is_ok() && r.outcome == "killed" && options.shrink {
        let started = Instant::now();
        if let Err(e) = work.shrink(&mut r) {
            eprintln!("mutants:   shrink: {e}");
        }
        eprintln!("mutants:   shrink, run, replay: {:.0}s", started.elapsed().as_secs_f64());
    }
    for file in &patch.touches {
        work.copy_into_tree(file)?;
    }
    swept.map(|()| r)
}

fn line(r: &MutantResult) -> String {
    match r.outcome.as_str() {
        "killed" => {
            let seed = r.seed.map_or("?".into(), |s| s.to_string());
            let scenario = r.scenario.as_deref().unwrap_or("?");
            let panic = if check_of(r) == "panic" { " (sim exited 3)" } else { "" };
            format!("{} killed {scenario} {seed} {}{panic}", r.name, check_of(r))
        }
        other => format!("{} {other}", r.name),
    }
}

fn percent(k: usize, n: usize) -> String {
    if n == 0 {
        return "-".into();
    }
    format!("{:.0}%", k as f64 * 100.0 / n as f64)
}

fn readme(results: &Results) -> String {
    let mut s = String::from(
        "# Mutation testing: do the shipped scenarios catch realistic Raft bugs?\n\n\
         Generated by `cargo xtask mutants` from `results.json`; do not edit. Each mutant is \
         one patch of `tests/mutants/` (a small bug of `src/protocols/raft/`, described in the \
         patch's header); it is killed by the first seed of a sweep that fails a check. \
         Scenarios are swept in order, each over seeds `0..N`, with `",
    );
    s += &results.overrides.join(" ");
    s += "` (the mutation is the only bug):";
    for (scenario, seeds) in &results.budget {
        let _ = write!(s, " `{scenario}` {seeds},");
    }
    s.pop();
    let _ = write!(
        s,
        ".\n\n**Kill rate: {}/{} ({})**{}.\n\n",
        results.killed,
        results.judged,
        percent(results.killed, results.judged),
        if results.judged < results.mutants.len() {
            " (of the mutants that applied and built)"
        } else {
            ""
        }
    );
    if results.mutants.len() < results.planned {
        let _ = write!(
            s,
            "**Partial: {} of the {} mutants measured so far.**\n\n",
            results.mutants.len(),
            results.planned
        );
    }
    s += "| mutant | outcome | scenario | seed | check | kind | shrunk faults | replayed |\n\
          |---|---|---|---|---|---|---|---|\n";
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    for r in &results.mutants {
        let faults = r.shrunk_faults.map(|f| {
            let over = if f > SHRUNK_FAULTS_GOAL { " (over 5)" } else { "" };
            format!("{f}{over}")
        });
        let replayed = r.replayed.map(|ok| if ok { "yes" } else { "no" }.to_string());
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            r.name,
            r.outcome,
            opt(r.scenario.clone().map(|p| format!("`{p}`"))),
            opt(r.seed.map(|v| v.to_string())),
            opt(r.check.clone().map(|c| format!("`{c}`"))),
            opt(r.kind.clone()),
            opt(faults),
            opt(replayed),
        );
    }
    s += "\nThe bugs, and the narrow state each needs to show:\n\n";
    for r in &results.mutants {
        let _ = writeln!(s, "- `{}`: {}. {}", r.name, r.description, r.needs);
    }
    let _ = write!(s, "\nProduced by `{}`.\n", results.command);
    s
}

/// Runs the command.
pub fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match parse_args(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("xtask mutants: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run_with(&options, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask mutants: {e}");
            ExitCode::from(3)
        }
    }
}

fn patches(root: &Path, only: &[String]) -> Result<Vec<Patch>, String> {
    let dir = root.join("tests").join("mutants");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .collect();
    files.sort();
    let mut all = files.iter().map(|f| read_patch(f)).collect::<Result<Vec<_>, _>>()?;
    if let Some(unknown) = only.iter().find(|n| !all.iter().any(|p| &p.name == *n)) {
        return Err(format!("--only: no tests/mutants/{unknown}.patch"));
    }
    if !only.is_empty() {
        all.retain(|p| only.contains(&p.name));
    }
    Ok(all)
}

fn run_with(options: &Options, args: &[String]) -> Result<ExitCode, String> {
    let work = Work::new(root());
    let patches = patches(&work.root, &options.only)?;
    let written = work.sync_tree()?;
    eprintln!(
        "mutants: {} patches; tree at {} ({written} files written)",
        patches.len(),
        work.tree.display()
    );
    let started = Instant::now();
    eprintln!("mutants: baseline: building the unmutated sim");
    work.build().map_err(|e| format!("the unmutated sim does not build:\n{e}"))?;
    eprintln!("mutants:   build: {:.0}s", started.elapsed().as_secs_f64());
    let mut baseline = MutantResult { name: "baseline".into(), ..MutantResult::default() };
    sweep_all(&work, options, "baseline", &mut baseline)?;
    if baseline.outcome == "killed" {
        eprintln!(
            "xtask mutants: the baseline fails {} seed {} (`{}`): kills would mean nothing",
            baseline.scenario.as_deref().unwrap_or("?"),
            baseline.seed.map_or("?".into(), |s| s.to_string()),
            check_of(&baseline)
        );
        return Ok(ExitCode::FAILURE);
    }
    let command = std::iter::once("cargo xtask mutants".to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut results = Results {
        command,
        budget: options.scenarios.clone(),
        overrides: OVERRIDES.iter().map(|o| format!("--set {o}")).collect(),
        killed: 0,
        judged: 0,
        planned: patches.len(),
        mutants: Vec::new(),
    };
    for (i, patch) in patches.iter().enumerate() {
        eprintln!("mutants: [{}/{}] {}", i + 1, patches.len(), patch.name);
        let r = mutant(&work, options, patch)?;
        println!("{}", line(&r));
        results.mutants.push(r);
        // Written after every mutant: a run cut short still leaves what it measured.
        results.count();
        write_reports(&work.root, &results)?;
    }
    println!(
        "kill rate: {}/{} ({})",
        results.killed,
        results.judged,
        percent(results.killed, results.judged)
    );
    eprintln!("mutants: wrote reports/mutants/results.json, README.md");
    let broken = results.mutants.iter().any(|r| r.outcome == "does-not-apply");
    Ok(if broken { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

fn write_reports(root: &Path, results: &Results) -> Result<(), String> {
    let dir = root.join("reports").join("mutants");
    let json = serde_json::to_string_pretty(results).expect("results serialise") + "\n";
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join("results.json"), json))
        .and_then(|()| std::fs::write(dir.join("README.md"), readme(results)))
        .map_err(|e| format!("{}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.scenarios.len(), BUDGET.len());
        assert_eq!(o.scenarios.iter().map(|(_, n)| n).sum::<u64>(), 1000);
        assert_eq!(o.scenarios[5], ("scenarios/raft-membership.toml".into(), 50));
        let args: Vec<String> =
            ["--seeds", "5", "--scenarios", "a.toml", "--no-shrink"].map(String::from).into();
        let o = parse_args(&args).unwrap();
        assert_eq!(o.scenarios, vec![("a.toml".to_string(), 5)]);
        assert!(!o.shrink);
        assert!(parse_args(&["--seeds".into()]).is_err());
        assert!(parse_args(&["--bogus".into()]).is_err());
    }

    #[test]
    fn shipped_patches_parse() {
        let all = patches(&root(), &[]).unwrap();
        assert!(all.len() >= 12, "{} patches", all.len());
        for p in &all {
            assert!(!p.description.is_empty() && !p.needs.is_empty(), "{}", p.name);
            assert!(p.touches.iter().all(|f| f.starts_with("src/protocols/raft/")), "{}", p.name);
        }
    }
}
