//! Run records: what `sim replay` needs to re-run a seed and verify it. `sim run --out DIR`
//! writes one as DIR/run.json; sweeps write one per failing seed, one per line, to
//! failures.jsonl. Same format for both.
//!
//! A record is self-contained: it carries the scenario as run (the resolved TOML, overrides
//! applied), the seed, the verdict, the trace hash, and the sim version and git commit that ran
//! it. Replay runs the embedded scenario, so it works from any folder, after the scenario file
//! was moved, edited or deleted. Records written before scenarios were embedded still replay
//! from the scenario file.

use super::{bad_input, Failure};
use crate::scenario::Scenario;
use crate::sim::RunOutput;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The sim version that writes records.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit sim was built from (`-dirty` with uncommitted changes), if the build knew it.
pub const COMMIT: Option<&str> = option_env!("SIM_GIT_COMMIT");

/// A recorded run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Path of the scenario file, made absolute (older records: as given on the command line).
    pub scenario: PathBuf,
    /// Fingerprint of the scenario as run (after overrides).
    pub scenario_hash: String,
    /// The seed.
    pub seed: u64,
    /// The first failed check (`""` when every check passed).
    pub check: String,
    /// Its evidence.
    pub detail: String,
    /// The run's trace hash.
    pub trace_hash: String,
    /// The sim version that ran it.
    pub version: String,
    /// The git commit of the sim that ran it (`-dirty`: with uncommitted changes), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// `--set` overrides the run used (already applied in `scenario_text`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// The scenario as run: the resolved TOML, overrides applied (empty in old records).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scenario_text: String,
}

impl RunRecord {
    /// The record of `output`, a run of `scenario` read from `path`.
    pub fn new(path: &Path, scenario: &Scenario, overrides: &[String], output: &RunOutput) -> Self {
        let failure = output.first_failure();
        RunRecord {
            scenario: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            scenario_hash: scenario.hash(),
            seed: output.report.seed,
            check: failure.map(|c| c.name.clone()).unwrap_or_default(),
            detail: failure.map(|c| c.detail.clone()).unwrap_or_default(),
            trace_hash: output.report.trace_hash.clone(),
            version: VERSION.to_string(),
            commit: COMMIT.map(str::to_string),
            overrides: overrides.to_vec(),
            scenario_text: scenario.to_toml(),
        }
    }

    /// Reads record `index` of a JSON Lines file (a single JSON object counts as one line).
    pub fn read(file: &Path, index: usize) -> Result<RunRecord, Failure> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| bad_input(format!("{}: cannot read: {e}", file.display())))?;
        if let Ok(one) = serde_json::from_str::<RunRecord>(&text) {
            return if index == 0 {
                Ok(one)
            } else {
                Err(bad_input(format!("{}: holds one record; --index {index}", file.display())))
            };
        }
        let lines: Vec<(usize, &str)> =
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
        let &(number, line) = lines.get(index).ok_or_else(|| {
            bad_input(format!(
                "{}: no record at index {index} ({} records)",
                file.display(),
                lines.len()
            ))
        })?;
        serde_json::from_str(line).map_err(|e| {
            bad_input(format!("{}:{}: not a run record: {e}", file.display(), number + 1))
        })
    }

    /// The scenario file's path: as recorded if it exists, else relative to the record's
    /// folder (where a record that travelled with its scenario finds it).
    pub fn scenario_path(&self, record_file: &Path) -> PathBuf {
        if self.scenario.exists() || self.scenario.is_absolute() {
            return self.scenario.clone();
        }
        let beside = record_file.parent().unwrap_or(Path::new(".")).join(&self.scenario);
        if beside.exists() {
            beside
        } else {
            self.scenario.clone()
        }
    }

    /// True if this record was made by this very build: same version and the same known,
    /// clean commit. Only then can a different trace of the same scenario be blamed on sim.
    pub fn same_build(&self) -> bool {
        let clean = |c: &str| !c.ends_with("-dirty");
        self.version == VERSION
            && matches!((self.commit.as_deref(), COMMIT), (Some(a), Some(b)) if a == b && clean(a))
    }

    /// The build that made the record, for messages: `0.1.0 (commit abc123)`.
    pub fn build(&self) -> String {
        describe_build(&self.version, self.commit.as_deref())
    }
}

/// A version and commit for messages.
pub fn describe_build(version: &str, commit: Option<&str>) -> String {
    match commit {
        Some(commit) => format!("{version} (commit {commit})"),
        None => format!("{version} (commit unknown)"),
    }
}
