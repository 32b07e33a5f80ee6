//! The anomaly matrix: every script of a folder (`scenarios/txn/`) run at every level, each
//! judged by its own `[anomaly]` condition, beside Hermitage's published PostgreSQL results
//! for the three levels that are the same (read committed; snapshot isolation, which
//! PostgreSQL calls "repeatable read"; serializable, SSI). `cargo xtask txn` writes it to
//! `reports/txn/`.

use super::script::{run, Script, ScriptError, Verdict};
use super::{Bugs, Level};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Hermitage's PostgreSQL results (github.com/ept/hermitage, README's table, PostgreSQL
/// 9.3.5): for each anomaly, whether "read committed", "repeatable read" and "serializable"
/// prevent it (`true`) or let it happen.
pub const HERMITAGE_POSTGRES: &[(&str, [bool; 3])] = &[
    ("G0", [true, true, true]),
    ("G1a", [true, true, true]),
    ("G1b", [true, true, true]),
    ("G1c", [true, true, true]),
    ("OTV", [true, true, true]),
    ("PMP", [false, true, true]),
    ("P4", [false, true, true]),
    ("G-single", [false, true, true]),
    ("G2-item", [false, false, true]),
    ("G2", [false, false, true]),
];

/// Our levels that are PostgreSQL's, in [`HERMITAGE_POSTGRES`]'s column order, with
/// PostgreSQL's names for them.
pub const POSTGRES_LEVELS: [(Level, &str); 3] = [
    (Level::ReadCommitted, "read committed"),
    (Level::SnapshotIsolation, "repeatable read"),
    (Level::Serializable, "serializable"),
];

/// Whether Hermitage found PostgreSQL's equivalent of `level` prevents anomaly `id`
/// (`None`: Hermitage has no such test, or PostgreSQL no such level).
pub fn hermitage_prevents(id: &str, level: Level) -> Option<bool> {
    let column = POSTGRES_LEVELS.iter().position(|(l, _)| *l == level)?;
    HERMITAGE_POSTGRES.iter().find(|(a, _)| *a == id).map(|(_, cols)| cols[column])
}

/// One script's row of the matrix.
#[derive(Clone, Debug)]
pub struct Row {
    /// The script's file name.
    pub file: String,
    pub id: String,
    pub name: String,
    /// One verdict per level of [`Level::ALL`].
    pub verdicts: Vec<Verdict>,
}

/// The scripts (`*.toml`) of `dir`, sorted by name.
pub fn script_files(dir: &Path) -> Result<Vec<PathBuf>, ScriptError> {
    let err = |e: std::io::Error| ScriptError {
        file: dir.to_path_buf(),
        step: None,
        field: None,
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs every script of `dir` at every level. A script without `[anomaly]` is an error: the
/// matrix could not judge it.
pub fn matrix(dir: &Path) -> Result<Vec<Row>, ScriptError> {
    let mut rows = Vec::new();
    for path in script_files(dir)? {
        let script = Script::load(&path)?;
        let Some(anomaly) = &script.anomaly else {
            return Err(ScriptError {
                file: path,
                step: None,
                field: Some("anomaly".into()),
                reason: "missing: the matrix needs the script's [anomaly] condition".into(),
            });
        };
        let verdicts = Level::ALL
            .iter()
            .map(|&level| anomaly.verdict(&run(&script, level, Bugs::default())))
            .collect();
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        rows.push(Row { file, id: anomaly.id.clone(), name: anomaly.name.clone(), verdicts });
    }
    Ok(rows)
}

/// The matrix as `figures.json`.
pub fn figures_json(rows: &[Row]) -> String {
    let anomalies: Vec<_> = rows
        .iter()
        .map(|row| {
            let ours: serde_json::Map<String, serde_json::Value> = Level::ALL
                .iter()
                .zip(&row.verdicts)
                .map(|(level, v)| (level.name().to_string(), json!(v.to_string())))
                .collect();
            let postgres: serde_json::Map<String, serde_json::Value> = POSTGRES_LEVELS
                .iter()
                .filter_map(|(level, pg)| {
                    let prevents = hermitage_prevents(&row.id, *level)?;
                    Some((pg.to_string(), json!(if prevents { "prevented" } else { "possible" })))
                })
                .collect();
            json!({
                "script": row.file,
                "id": row.id,
                "name": row.name,
                "levels": ours,
                "hermitage_postgres": postgres,
            })
        })
        .collect();
    let levels: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
    let doc = json!({ "levels": levels, "anomalies": anomalies });
    serde_json::to_string_pretty(&doc).expect("figures serialise") + "\n"
}

/// The matrix as `README.md`.
pub fn readme(rows: &[Row]) -> String {
    let mut out = String::from(
        "# Transactions: which isolation level prevents which anomaly\n\n\
         Every script of `scenarios/txn/` run by `sim txn-script` at each of the store's six \
         levels (`src/txn/`), judged by the script's own `[anomaly]` condition; written by \
         `cargo xtask txn` (`--check` verifies it matches the code). Do not edit by hand.\n\n\
         A cell says whether the anomaly happened (**possible**) or not (**prevented**), and \
         what the run did instead: a statement failed with `serialization_failure` or \
         `deadlock` (its transaction aborted), or one `blocks` (waited for a lock). The last \
         three columns are Hermitage's published results for PostgreSQL at the levels that \
         are the same: its \"read committed\" is our read_committed, its \"repeatable read\" \
         is snapshot isolation, its \"serializable\" is SSI (our serializable). \
         `tests/txn.rs` checks that ours agree.\n\n",
    );
    out += "| anomaly | script |";
    for level in Level::ALL {
        out += &format!(" {level} |");
    }
    for (_, pg) in POSTGRES_LEVELS {
        out += &format!(" PostgreSQL {pg} (Hermitage) |");
    }
    out += "\n|---|---|";
    out += &"---|".repeat(Level::ALL.len() + POSTGRES_LEVELS.len());
    out += "\n";
    for row in rows {
        out += &format!(
            "| {} ({}) | [{}](../../scenarios/txn/{}) |",
            row.id, row.name, row.file, row.file
        );
        for verdict in &row.verdicts {
            out += &format!(" {verdict} |");
        }
        for (level, _) in POSTGRES_LEVELS {
            let cell = match hermitage_prevents(&row.id, level) {
                Some(true) => "prevented",
                Some(false) => "possible",
                None => "(no test)",
            };
            out += &format!(" {cell} |");
        }
        out += "\n";
    }
    out += "\nThe mechanisms, in one line each (the module documentation of `src/txn/` has \
            the details):\n\n\
            - read_uncommitted: reads see the newest version, committed or not; writes take \
            long write locks.\n\
            - read_committed: a fresh snapshot per statement; a write waits for the row's \
            writer, then re-checks the row's newest committed version (PostgreSQL's \
            EvalPlanQual).\n\
            - repeatable_read: Adya's PL-2.99, lock-based: long item read and write locks, \
            predicate locks only for the statement.\n\
            - snapshot_isolation: one snapshot from the first statement; first updater wins.\n\
            - serializable: SSI: snapshot isolation plus SIREAD marks and rw-antidependencies; \
            a dangerous structure aborts the pivot.\n\
            - serializable_2pl: strict two-phase locking with predicate locks; deadlocks pick \
            a victim.\n\n\
            Run one yourself: `sim txn-script scenarios/txn/09-g2-item-write-skew.toml \
            --level snapshot_isolation` (add `--json` for the report as JSON).\n";
    out
}
