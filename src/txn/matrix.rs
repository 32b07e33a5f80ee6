//! The anomaly matrix: every script of a folder (`scenarios/txn/`) run at every level, each
//! judged by its own `[anomaly]` condition, beside Hermitage's published PostgreSQL results
//! for the three levels that are the same (read committed; snapshot isolation, which
//! PostgreSQL calls "repeatable read"; serializable, SSI). `cargo xtask txn` writes it to
//! `reports/txn/`.

use super::script::{run, Script, ScriptError, Verdict};
use super::{Bugs, Level, Store, Target};
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

/// Versions a store keeps under a stream of one-row updates (read committed, round robin over
/// the keys), measured with [`Store::versions_alive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GcFigures {
    pub keys: i64,
    pub updates: usize,
    /// Never collected: one version per update, plus the initial rows.
    pub without_gc: usize,
    /// Collected after every commit, at most this many at once.
    pub gc_every_commit_max: usize,
    /// Collected after every commit while a snapshot isolation reader that read once keeps
    /// its snapshot open for the first half: at most this many at once...
    pub old_snapshot_max: usize,
    /// ...and this many after it commits and the next collection runs.
    pub after_reader_ends: usize,
}

/// Measures [`GcFigures`].
pub fn gc_figures() -> GcFigures {
    const KEYS: i64 = 10;
    const UPDATES: usize = 1000;
    let stream = |gc: bool, reader_for: usize| {
        let mut store: Store<i64> = Store::new(Bugs::default());
        store.load((0..KEYS).map(|k| (k, 0)));
        let reader = store.begin(Level::SnapshotIsolation);
        assert!(store.read(reader, 0).done().is_some(), "a read never waits here");
        let mut max = 0;
        for i in 0..UPDATES {
            if i == reader_for {
                assert!(store.commit(reader).done().is_some(), "a read-only commit");
            }
            let t = store.begin(Level::ReadCommitted);
            let key = i as i64 % KEYS;
            let changed = store.update(t, &Target::Key(key), &|v| v + 1).done();
            assert_eq!(changed, Some(vec![key]), "nothing else runs");
            assert!(store.commit(t).done().is_some());
            if gc {
                store.gc();
            }
            max = max.max(store.versions_alive());
        }
        (max, store.versions_alive())
    };
    let (without_gc, _) = stream(false, 0);
    let (gc_every_commit_max, _) = stream(true, 0);
    let (old_snapshot_max, after_reader_ends) = stream(true, UPDATES / 2);
    GcFigures {
        keys: KEYS,
        updates: UPDATES,
        without_gc,
        gc_every_commit_max,
        old_snapshot_max,
        after_reader_ends,
    }
}

/// The matrix and the GC figures as `figures.json`.
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
    let gc = gc_figures();
    let doc = json!({
        "levels": levels,
        "anomalies": anomalies,
        "gc": {
            "keys": gc.keys,
            "updates": gc.updates,
            "versions_alive_without_gc": gc.without_gc,
            "versions_alive_max_gc_every_commit": gc.gc_every_commit_max,
            "versions_alive_max_old_snapshot_open": gc.old_snapshot_max,
            "versions_alive_after_reader_ends": gc.after_reader_ends,
        },
    });
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
            ## Garbage collection\n\n\
            {gc}\n\
            Run one yourself: `sim txn-script scenarios/txn/09-g2-item-write-skew.toml \
            --level snapshot_isolation` (add `--json` for the report as JSON).\n";
    out.replace("{gc}", &gc_text(&gc_figures()))
}

fn gc_text(gc: &GcFigures) -> String {
    format!(
        "{} one-row updates at read committed, round robin over {} keys, measured with \
         `Store::versions_alive()`: {} versions without collection (every update leaves one); \
         at most {} when `gc()` runs after every commit; at most {} while a \
         snapshot_isolation reader keeps its snapshot open for the first {} updates (every \
         version it might read stays), and {} once it has committed.\n",
        gc.updates,
        gc.keys,
        gc.without_gc,
        gc.gc_every_commit_max,
        gc.old_snapshot_max,
        gc.updates / 2,
        gc.after_reader_ends
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gc_keeps_only_what_snapshots_need() {
        let gc = gc_figures();
        assert_eq!(gc.without_gc, 10 + 1000);
        assert_eq!(gc.gc_every_commit_max, 10);
        // The reader's snapshot keeps every key's version it sees plus all 500 newer ones.
        assert_eq!(gc.old_snapshot_max, 10 + 500);
        assert_eq!(gc.after_reader_ends, 10);
    }

    #[test]
    fn hermitage_lookups() {
        assert_eq!(hermitage_prevents("G2-item", Level::SnapshotIsolation), Some(false));
        assert_eq!(hermitage_prevents("G2-item", Level::Serializable), Some(true));
        assert_eq!(hermitage_prevents("P4", Level::ReadCommitted), Some(false));
        assert_eq!(hermitage_prevents("P4", Level::RepeatableRead), None, "not PostgreSQL's");
        assert_eq!(hermitage_prevents("read-only", Level::Serializable), None, "no test");
    }
}
