//! `[vary]`: protocol settings drawn per seed, so a sweep covers a protocol's options as well
//! as its faults. Options such as PreVote and CheckQuorum hide whole classes of bugs when they
//! are always on; a sweep that draws them meets the protocol in every configuration.
//!
//! ```toml
//! [vary.protocol]
//! prevote = [true, false]
//! snapshot_entries = [16, 1000]
//! ```
//!
//! Each seed picks one value of every list from its own random stream (`stream::VARY`), in
//! the file's order, and runs with `[protocol]` plus those values. A replay of the seed draws
//! the same; `--set protocol.KEY=V` pins a varied key (the others draw as before); `sim run`
//! prints what was drawn.

use crate::engine::rng::{stream, SimRng};

/// The table `vary` may hold, the settings that can vary (the system's own).
const VARIES: &str = "protocol";

/// Checks the shape of `[vary]`: only `protocol` settings, each a non-empty list of values.
pub(super) fn validate(vary: &toml::Table) -> Result<(), (String, String)> {
    for (key, value) in vary {
        if key != VARIES {
            let reason = format!(
                "only `{VARIES}` settings vary per seed (`[vary.{VARIES}]`); `{key}` cannot"
            );
            return Err((format!("vary.{key}"), reason));
        }
        let toml::Value::Table(table) = value else {
            return Err((format!("vary.{key}"), "expected a table of settings".into()));
        };
        for (path, values) in leaves(table, &format!("vary.{key}")) {
            match values {
                toml::Value::Array(a) if !a.is_empty() => {}
                _ => return Err((path, "expected a non-empty list of values to draw from".into())),
            }
        }
    }
    Ok(())
}

/// Every (dotted key, value) under `table`, a nested table descending a level.
fn leaves<'a>(table: &'a toml::Table, prefix: &str) -> Vec<(String, &'a toml::Value)> {
    let mut out = Vec::new();
    for (key, value) in table {
        let path = format!("{prefix}.{key}");
        match value {
            toml::Value::Table(inner) => out.extend(leaves(inner, &path)),
            other => out.push((path, other)),
        }
    }
    out
}

/// The varied settings as (dotted key, `protocol.prevote`; alternatives), in the file's order.
fn choices(vary: &toml::Table) -> Vec<(String, &[toml::Value])> {
    let Some(toml::Value::Table(protocol)) = vary.get(VARIES) else {
        return Vec::new();
    };
    leaves(protocol, VARIES)
        .into_iter()
        .filter_map(|(path, values)| values.as_array().map(|a| (path, a.as_slice())))
        .collect()
}

/// What `seed` draws: each varied setting's dotted key (`protocol.prevote`) and value.
pub fn draw(vary: &toml::Table, seed: u64) -> Vec<(String, toml::Value)> {
    let mut rng = SimRng::new(seed, stream::VARY);
    choices(vary)
        .into_iter()
        .map(|(key, values)| {
            let i = rng.below(values.len() as u64) as usize;
            (key, values[i].clone())
        })
        .collect()
}

/// `protocol` with the values of `drawn` (from [`draw`]) set in it.
pub fn apply(protocol: &toml::Table, drawn: &[(String, toml::Value)]) -> toml::Table {
    let mut table = protocol.clone();
    for (key, value) in drawn {
        let keys: Vec<&str> = key.split('.').skip(1).collect();
        set(&mut table, &keys, value.clone());
    }
    table
}

fn set(table: &mut toml::Table, keys: &[&str], value: toml::Value) {
    match keys {
        [] => {}
        [last] => {
            table.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry((*first).to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set(inner, rest, value);
            }
        }
    }
}

/// Every combination of the varied values, each as a [`draw`] would give it, up to `limit`
/// combinations (then one per alternative of each setting, the others at their first value),
/// so a scenario's validation can try each configuration a seed could run.
pub fn combinations(vary: &toml::Table, limit: usize) -> Vec<Vec<(String, toml::Value)>> {
    let named = choices(vary);
    let total = named.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
    let mut out = Vec::new();
    if total.is_some_and(|t| t <= limit) {
        let mut index = vec![0usize; named.len()];
        loop {
            out.push(
                named.iter().zip(&index).map(|((k, v), i)| (k.clone(), v[*i].clone())).collect(),
            );
            let Some(pos) = (0..named.len()).find(|&p| index[p] + 1 < named[p].1.len()) else {
                break;
            };
            index[pos] += 1;
            index[..pos].iter_mut().for_each(|i| *i = 0);
        }
    } else {
        for (n, (_, values)) in named.iter().enumerate() {
            for i in 0..values.len() {
                out.push(
                    named
                        .iter()
                        .enumerate()
                        .map(|(m, (k, v))| (k.clone(), v[if m == n { i } else { 0 }].clone()))
                        .collect(),
                );
            }
        }
    }
    out
}

/// Pins the settings `--set` gave (`protocol.KEY=...`): their list becomes the one value set in
/// `protocol`. The list stays in place, so the other settings draw what they drew before.
pub(super) fn pin(vary: &mut toml::Table, protocol: &toml::Table, pinned: &[&str]) {
    for key in pinned {
        let mut keys = key.split('.');
        if keys.next() != Some(VARIES) {
            continue;
        }
        let keys: Vec<&str> = keys.collect();
        let (Some(value), Some(toml::Value::Table(varied))) =
            (lookup(protocol, &keys), vary.get_mut(VARIES))
        else {
            continue;
        };
        if lookup(varied, &keys).is_some() {
            set(varied, &keys, toml::Value::Array(vec![value.clone()]));
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, keys: &[&str]) -> Option<&'a toml::Value> {
    match keys {
        [] => None,
        [last] => table.get(*last),
        [first, rest @ ..] => lookup(table.get(*first)?.as_table()?, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vary(text: &str) -> toml::Table {
        let t: toml::Table = toml::from_str(text).unwrap();
        t["vary"].as_table().unwrap().clone()
    }

    #[test]
    fn draws_are_per_seed_reproducible_and_cover_every_value() {
        let v = vary("[vary.protocol]\nprevote = [true, false]\nsnap = [1, 2, 3]\n");
        assert_eq!(draw(&v, 7), draw(&v, 7));
        let prevotes: std::collections::BTreeSet<String> =
            (0..64).map(|s| draw(&v, s)[0].1.to_string()).collect();
        assert_eq!(prevotes.len(), 2);
        let drawn = draw(&v, 3);
        assert_eq!(drawn[0].0, "protocol.prevote");
        let base: toml::Table = toml::from_str("prevote = true\nother = 1").unwrap();
        let applied = apply(&base, &drawn);
        assert_eq!(applied["snap"], drawn[1].1);
        assert_eq!(applied["other"].as_integer(), Some(1));
        assert_eq!(combinations(&v, 100).len(), 6);
        assert_eq!(combinations(&v, 4).len(), 5);
    }

    #[test]
    fn refuses_what_cannot_vary_and_pins_what_was_set() {
        let err = |text: &str| validate(&vary(text)).unwrap_err();
        assert_eq!(err("[vary.network]\nloss = [0.1]").0, "vary.network");
        assert_eq!(err("[vary.protocol]\nprevote = true").0, "vary.protocol.prevote");
        assert_eq!(err("[vary.protocol]\nprevote = []").0, "vary.protocol.prevote");
        let mut v = vary("[vary.protocol]\nprevote = [true, false]\nsnap = [1, 2, 3, 4]\n");
        assert!(validate(&v).is_ok());
        let before: Vec<_> = (0..16).map(|seed| draw(&v, seed)[1].clone()).collect();
        let protocol: toml::Table = toml::from_str("prevote = false").unwrap();
        pin(&mut v, &protocol, &["protocol.prevote", "clients.count"]);
        for seed in 0..16 {
            let drawn = draw(&v, seed);
            assert_eq!(drawn[0].1, toml::Value::Boolean(false));
            assert_eq!(drawn[1], before[seed as usize], "pinning one keeps the others' draws");
        }
    }
}
