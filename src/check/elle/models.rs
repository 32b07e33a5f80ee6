//! Consistency models and the anomalies each rules out, as Elle relates them
//! (`elle.consistency-model`, after Adya, Bailis et al., Cerone et al., Daudjee and Salem).
//!
//! Three tables, written down as data: which models imply which weaker ones, which anomalies
//! imply which others (a G0 is also a G1c, a G1c is also a G1, ...), and which anomalies a model
//! forbids directly (besides what the weaker models it implies forbid). From them: the anomalies
//! a set of models prohibits ([`prohibited_anomalies`]) and the weakest models a set of found
//! anomalies rules out ([`boundary`], Elle's `:not` and `:also-not`).

use std::collections::BTreeSet;

/// Friendly names of models and the canonical (Adya) names they stand for.
const CANONICAL: &[(&str, &str)] = &[
    ("consistent-view", "PL-2+"),
    ("conflict-serializable", "PL-3"),
    ("cursor-stability", "PL-CS"),
    ("forward-consistent-view", "PL-FCV"),
    ("monotonic-snapshot-read", "PL-MSR"),
    ("monotonic-view", "PL-2L"),
    ("read-committed", "PL-2"),
    ("read-uncommitted", "PL-1"),
    ("repeatable-read", "PL-2.99"),
    ("serializable", "PL-3"),
    ("snapshot-isolation", "PL-SI"),
    ("strict-serializable", "PL-SS"),
    ("strong-serializable", "PL-SS"),
    ("update-serializable", "PL-3U"),
    ("strong-session-read-uncommitted", "strong-session-PL-1"),
    ("strong-session-read-committed", "strong-session-PL-2"),
    ("strong-read-uncommitted", "strong-PL-1"),
    ("strong-read-committed", "strong-PL-2"),
];

/// `model` -> the weaker models it implies (names friendly or canonical, as in Elle's source).
const IMPLIES: &[(&str, &[&str])] = &[
    ("causal-cerone", &["read-atomic"]),
    ("consistent-view", &["cursor-stability", "monotonic-view"]),
    ("conflict-serializable", &["view-serializable"]),
    ("cursor-stability", &["read-committed", "PL-2"]),
    ("forward-consistent-view", &["consistent-view"]),
    ("PL-2", &["PL-1"]),
    ("PL-3", &["repeatable-read", "update-serializable"]),
    ("update-serializable", &["forward-consistent-view"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("monotonic-view", &["PL-2"]),
    ("monotonic-snapshot-read", &["PL-2"]),
    ("parallel-snapshot-isolation", &["causal-cerone", "update-atomic"]),
    ("prefix", &["causal-cerone"]),
    ("read-atomic", &["monotonic-atomic-view"]),
    ("read-committed", &["read-uncommitted"]),
    ("repeatable-read", &["cursor-stability", "monotonic-atomic-view"]),
    ("update-atomic", &["read-atomic"]),
    ("serializable", &["repeatable-read", "snapshot-isolation", "view-serializable"]),
    ("session-serializable", &["1SR"]),
    (
        "snapshot-isolation",
        &[
            "forward-consistent-view",
            "monotonic-atomic-view",
            "monotonic-snapshot-read",
            "parallel-snapshot-isolation",
            "prefix",
        ],
    ),
    (
        "strict-serializable",
        &[
            "PL-3",
            "serializable",
            "linearizable",
            "snapshot-isolation",
            "strong-snapshot-isolation",
            "strong-session-serializable",
        ],
    ),
    ("strong-session-PL-1", &["PL-1"]),
    ("strong-session-PL-2", &["PL-2", "strong-session-PL-1"]),
    ("strong-PL-1", &["strong-session-PL-1"]),
    ("strong-PL-2", &["strong-session-PL-2", "strong-PL-1"]),
    ("strong-session-serializable", &["serializable", "strong-session-snapshot-isolation"]),
    ("strong-session-snapshot-isolation", &["snapshot-isolation", "strong-session-PL-2"]),
    ("strong-serializable", &["session-serializable"]),
    ("strong-snapshot-isolation", &["strong-session-snapshot-isolation", "strong-PL-2"]),
    ("linearizable", &["sequential"]),
    ("sequential", &["causal"]),
    ("causal", &["writes-follow-reads", "PRAM"]),
    ("PRAM", &["monotonic-reads", "monotonic-writes", "read-your-writes"]),
];

/// `anomaly` -> the anomalies it is also an instance of.
const ANOMALY_IMPLIES: &[(&str, &[&str])] = &[
    ("G0", &["G1c", "G0-process"]),
    ("G0-process", &["G1c-process", "G0-realtime"]),
    ("G0-realtime", &["G1c-realtime"]),
    ("G1a", &["G1"]),
    ("G1b", &["G1"]),
    ("G1c", &["G1", "G1c-process"]),
    ("G1c-process", &["G1c-realtime", "G1-process"]),
    ("G1c-realtime", &["G1-realtime"]),
    ("G1", &["G1-process"]),
    ("G1-process", &["G1-realtime"]),
    ("G-single-item", &["G-single", "G-single-item-process", "G-nonadjacent-item"]),
    (
        "G-single-item-process",
        &["G-single-process", "G-single-item-realtime", "G-nonadjacent-item-process"],
    ),
    ("G-single-item-realtime", &["G-single-realtime", "G-nonadjacent-item-realtime"]),
    ("G-single", &["G-nonadjacent", "GSIb", "G-single-process"]),
    ("G-single-process", &["G-nonadjacent-process", "G-single-realtime"]),
    ("G-single-realtime", &["G-nonadjacent-realtime"]),
    ("G-nonadjacent-item", &["G-nonadjacent", "G2-item", "G-nonadjacent-item-process"]),
    (
        "G-nonadjacent-item-process",
        &["G-nonadjacent-process", "G2-item-process", "G-nonadjacent-item-realtime"],
    ),
    ("G-nonadjacent-item-realtime", &["G2-item-realtime", "G-nonadjacent-realtime"]),
    ("G-nonadjacent", &["G2", "G-nonadjacent-process"]),
    ("G-nonadjacent-process", &["G2-process", "G-nonadjacent-realtime"]),
    ("G-nonadjacent-realtime", &["G2-realtime"]),
    ("G2", &["G2-process"]),
    ("G2-item", &["G2", "G2-item-process"]),
    ("G2-item-process", &["G2-process", "G2-item-realtime"]),
    ("G2-item-realtime", &["G2-realtime"]),
    ("G2-process", &["G2-realtime"]),
    ("GSIa", &["GSI"]),
    ("GSIb", &["GSI"]),
    ("incompatible-order", &["G1a"]),
    ("future-read", &["G1c"]),
    ("dirty-update", &["G1a"]),
    ("lost-update", &["write-skew", "G2-item"]),
    ("write-skew", &["G2"]),
];

/// `model` -> the anomalies it forbids directly. `garbage-read` (a read of a value nobody
/// wrote) is ours: Elle's tables do not name it; like duplicate elements and cyclic versions it
/// means the data is nonsense, so the weakest model, read uncommitted, forbids it.
const PROSCRIBES: &[(&str, &[&str])] = &[
    ("causal-cerone", &["internal", "G1a"]),
    ("cursor-stability", &["G1", "G-cursor", "lost-update"]),
    ("monotonic-view", &["G1", "G-monotonic"]),
    ("monotonic-snapshot-read", &["G1", "G-MSR"]),
    ("consistent-view", &["G1", "G-single"]),
    ("forward-consistent-view", &["G1", "G-SIb"]),
    ("parallel-snapshot-isolation", &["internal", "G1a"]),
    ("PL-3", &["G1", "G2"]),
    ("PL-2", &["G1"]),
    ("PL-1", &["G0", "duplicate-elements", "cyclic-versions", "garbage-read"]),
    ("prefix", &["internal", "G1a"]),
    ("serializable", &["internal"]),
    ("snapshot-isolation", &["internal", "G1", "G-SI", "G-nonadjacent"]),
    ("read-atomic", &["internal", "G1a", "future-read"]),
    ("repeatable-read", &["G1", "G2-item", "lost-update"]),
    ("update-atomic", &["lost-update"]),
    ("strict-serializable", &["G1", "G1c-realtime", "G2-realtime"]),
    ("strong-session-PL-1", &["G0-process"]),
    ("strong-session-PL-2", &["G1c-process"]),
    ("strong-PL-1", &["G0-realtime"]),
    ("strong-PL-2", &["G1c-realtime"]),
    ("strong-session-snapshot-isolation", &["internal", "G1-process", "G-nonadjacent-process"]),
    ("strong-snapshot-isolation", &["internal", "G1-realtime", "G-nonadjacent-realtime"]),
    ("strong-session-serializable", &["G1-process", "G2-process"]),
    ("update-serializable", &["G1", "G-update"]),
];

/// Anomalies that make a verdict unknown rather than false: they say the analysis could not
/// judge, not that the history is wrong.
pub const UNKNOWN_ANOMALIES: &[&str] = &["empty-transaction-graph", "cycle-search-timeout"];

/// The canonical name of a model (`serializable` -> `PL-3`); other names are their own.
pub fn canonical(model: &str) -> &str {
    CANONICAL.iter().find(|(friendly, _)| *friendly == model).map_or(model, |(_, c)| c)
}

/// The friendly name of a canonical model name (`PL-2` -> `read-committed`).
pub fn friendly(model: &str) -> &str {
    match model {
        "PL-3" => "serializable",
        "PL-SS" => "strict-serializable",
        _ => CANONICAL.iter().find(|(_, c)| *c == model).map_or(model, |(f, _)| f),
    }
}

/// Every model name we know (friendly and canonical), sorted.
pub fn all_models() -> BTreeSet<&'static str> {
    let mut all = BTreeSet::new();
    for (model, implied) in IMPLIES {
        all.insert(*model);
        all.extend(implied.iter().copied());
    }
    for (f, c) in CANONICAL {
        all.insert(*f);
        all.insert(*c);
    }
    all
}

/// Every anomaly name we know, sorted.
pub fn all_anomalies() -> BTreeSet<&'static str> {
    let mut all: BTreeSet<&'static str> = UNKNOWN_ANOMALIES.iter().copied().collect();
    for (anomaly, implied) in ANOMALY_IMPLIES {
        all.insert(anomaly);
        all.extend(implied.iter().copied());
    }
    for (_, proscribed) in PROSCRIBES {
        all.extend(proscribed.iter().copied());
    }
    all.insert("internal");
    all
}

/// The edges of `table` after canonicalising model names on both sides.
fn canonical_edges(table: &[(&'static str, &[&'static str])]) -> Vec<(String, String)> {
    let mut edges = Vec::new();
    for (from, tos) in table {
        for to in *tos {
            edges.push((canonical(from).to_string(), canonical(to).to_string()));
        }
    }
    edges
}

/// Everything reachable from `start` along `edges` (forward if `forward`), start included.
fn reach(edges: &[(String, String)], start: &[String], forward: bool) -> BTreeSet<String> {
    let mut seen: BTreeSet<String> = start.iter().cloned().collect();
    let mut todo: Vec<String> = start.to_vec();
    while let Some(at) = todo.pop() {
        for (a, b) in edges {
            let (here, next) = if forward { (a, b) } else { (b, a) };
            if *here == at && seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

fn anomaly_edges() -> Vec<(String, String)> {
    ANOMALY_IMPLIES
        .iter()
        .flat_map(|(a, bs)| bs.iter().map(move |b| (a.to_string(), b.to_string())))
        .collect()
}

/// The anomalies that must be absent if every one of `models` holds, plus `extra` and every
/// anomaly that implies one of those (Elle's `prohibited-anomaly-types`).
pub fn prohibited_anomalies(models: &[&str], extra: &[String]) -> BTreeSet<String> {
    let canonical_models: Vec<String> = models.iter().map(|m| canonical(m).to_string()).collect();
    let implied = reach(&canonical_edges(IMPLIES), &canonical_models, true);
    let proscribes = canonical_edges(PROSCRIBES);
    let mut direct: Vec<String> = proscribes
        .iter()
        .filter(|(model, _)| implied.contains(model))
        .map(|(_, anomaly)| anomaly.clone())
        .collect();
    direct.extend(extra.iter().cloned());
    reach(&anomaly_edges(), &direct, false)
}

/// The weakest models the `found` anomalies rule out (`not`) and the other, stronger models
/// they rule out too (`also_not`), by friendly name, sorted (Elle's `friendly-boundary`).
pub fn boundary(found: &[String]) -> (Vec<String>, Vec<String>) {
    if found.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let implied = reach(&anomaly_edges(), found, true);
    let proscribes = canonical_edges(PROSCRIBES);
    let direct: Vec<String> = proscribes
        .iter()
        .filter(|(_, anomaly)| implied.contains(anomaly))
        .map(|(model, _)| model.clone())
        .collect();
    let models = canonical_edges(IMPLIES);
    let impossible = reach(&models, &direct, false);
    let weakest = |m: &String| {
        !reach(&models, std::slice::from_ref(m), true)
            .iter()
            .any(|other| other != m && impossible.contains(other))
    };
    let mut not = BTreeSet::new();
    let mut also_not = BTreeSet::new();
    for model in &impossible {
        let name = friendly(model).to_string();
        if weakest(model) {
            not.insert(name);
        } else {
            also_not.insert(name);
        }
    }
    let also_not = also_not.difference(&not).cloned().collect();
    (not.into_iter().collect(), also_not)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_weakest_models_ruled_out_match_elles() {
        assert_eq!(boundary(&names(&["G1c"])).0, names(&["read-committed"]));
        assert_eq!(boundary(&names(&["G0"])).0, names(&["read-uncommitted"]));
        assert_eq!(boundary(&names(&["G2-item"])).0, names(&["repeatable-read"]));
        let (not, also) = boundary(&names(&["G-single-item"]));
        assert_eq!(not, names(&["consistent-view", "repeatable-read"]));
        assert!(also.contains(&"serializable".to_string()), "{also:?}");
        assert!(also.contains(&"snapshot-isolation".to_string()), "{also:?}");
        assert_eq!(boundary(&names(&["G0-realtime"])).0, names(&["strong-read-uncommitted"]));
        assert!(boundary(&[]).0.is_empty());
    }

    #[test]
    fn models_prohibit_what_elle_says() {
        let ss = prohibited_anomalies(&["strict-serializable"], &[]);
        for a in ["G0", "G1a", "G1c", "G-single-item", "G2-item", "G2-item-realtime", "internal"] {
            assert!(ss.contains(a), "{a}");
        }
        let rc = prohibited_anomalies(&["read-committed"], &[]);
        assert!(rc.contains("G1c") && rc.contains("G0") && rc.contains("G1a"));
        assert!(!rc.contains("G2-item") && !rc.contains("G-single-item"));
        let si = prohibited_anomalies(&["snapshot-isolation"], &[]);
        assert!(si.contains("G-single-item") && si.contains("G-nonadjacent-item"));
        assert!(!si.contains("G2-item"), "write skew is allowed under SI");
        let ser = prohibited_anomalies(&["serializable"], &[]);
        assert!(ser.contains("G2-item") && !ser.contains("G2-item-realtime"));
        let sss = prohibited_anomalies(&["strong-session-serializable"], &[]);
        assert!(sss.contains("G2-item-process") && !sss.contains("G0-realtime"));
        let only = prohibited_anomalies(&[], &names(&["G1c"]));
        assert!(only.contains("G0") && only.contains("G1c") && !only.contains("G1a"));
    }

    #[test]
    fn names_are_known() {
        assert!(all_models().contains("strong-session-snapshot-isolation"));
        assert!(all_anomalies().contains("G-single-item-realtime"));
        assert!(all_anomalies().contains("garbage-read"));
        assert!(!all_anomalies().contains("G3"));
        assert_eq!(canonical("strong-serializable"), "PL-SS");
        assert_eq!(friendly("PL-2.99"), "repeatable-read");
    }
}
