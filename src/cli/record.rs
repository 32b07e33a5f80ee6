//! Run records: what `sim replay` needs to re-run a seed and verify it. `sim run --out DIR`
//! writes one as DIR/run.json; sweeps write one per failing seed, one per line, to
//! failures.jsonl. Same format for both.

use super::{bad_input, Failure};
use crate::scenario::Scenario;
use crate::sim::RunOutput;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A recorded run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// Path of the scenario file, as given on the command line.
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
    /// `--set` overrides the run used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
}

impl RunRecord {
    /// The record of `output`, a run of `scenario` read from `path`.
    pub fn new(path: &Path, scenario: &Scenario, overrides: &[String], output: &RunOutput) -> Self {
        let failure = output.first_failure();
        RunRecord {
            scenario: path.to_path_buf(),
            scenario_hash: scenario.hash(),
            seed: output.report.seed,
            check: failure.map(|c| c.name.clone()).unwrap_or_default(),
            detail: failure.map(|c| c.detail.clone()).unwrap_or_default(),
            trace_hash: output.report.trace_hash.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            overrides: overrides.to_vec(),
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

    /// The scenario's path: as recorded if it exists, else relative to the record's folder.
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
}
