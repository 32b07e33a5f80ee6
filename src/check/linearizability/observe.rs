//! Which indeterminate writes some result could have observed.
//!
//! An indeterminate write (`info` put, compare-and-set or append) that nothing observed can be
//! dropped before the search: in any linearization that contains it, the values from it up to
//! the next reset (put or compare-and-set) carry its mark, and no read returned and no
//! compare-and-set expected such a value, so nothing depends on those values and the write can
//! be left out. Keeping such writes would make the search consider every subset of them.
//!
//! On a key, every value is a *base* (the initial value, the empty string, or what a put or
//! compare-and-set wrote) followed by appended strings. So an observed value `o` is explained
//! by a base that is a prefix of `o` and a sequence of append arguments that spells the rest;
//! a write is observed if it takes part in some explanation of some observed value. A dynamic
//! program over each observed value finds every part of every explanation. Without appends
//! this is plain equality.
// The hash tables here are lookup-only and use a fixed hasher (`FixedState`), never the
// process-random `RandomState`: their behaviour is the same on every run and machine, which is
// what the determinism ban in clippy.toml protects. Hashing is what makes the memo fast.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use super::search::FixedState;
use crate::api::kv::History;
use crate::api::kv::Op;
use crate::workload::Outcome;
use std::collections::{BTreeSet, HashSet}; // determinism-ok: fixed hasher, lookups only

/// A set used for lookups only, never iterated, with a fixed hasher: deterministic.
type LookupSet<'h> = HashSet<&'h [u8], FixedState>;

/// Work (bytes times distinct append lengths) spent on one key before giving up and keeping
/// every indeterminate write, which is always sound.
const WORK_MAX: usize = 64 << 20;

/// What the search makes of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// It enters the search as it is.
    Search,
    /// A completed write nothing observed: it enters the search, but writes a value no read
    /// matches (orders of such writes then lead to one state, not one each).
    Unobserved,
    /// An indeterminate write nothing observed: left out.
    Drop,
}

/// The role of each of `sources` (indices into the history's `ops`, all on one key, `ok` or
/// `info`).
pub(super) fn roles(history: &History, sources: &[usize], initial: Option<&str>) -> Vec<Role> {
    let ops = || sources.iter().map(|&source| &history.ops[source]);
    let mut observed: Vec<&[u8]> = Vec::new();
    let mut bases = LookupSet::default();
    let mut pieces = LookupSet::default();
    let mut piece_lens = BTreeSet::new();
    bases.insert(b"".as_slice());
    bases.extend(initial.map(str::as_bytes));
    for op in ops() {
        match &op.op {
            Op::Get { .. } => observed.extend(op.value.as_deref().map(str::as_bytes)),
            Op::Put { value, .. } => {
                bases.insert(value.as_bytes());
            }
            Op::Cas { from, to, .. } => {
                observed.extend(from.as_deref().map(str::as_bytes));
                bases.insert(to.as_bytes());
            }
            Op::Append { value, .. } => {
                pieces.insert(value.as_bytes());
                piece_lens.insert(value.len());
            }
        }
    }
    observed.sort_unstable();
    observed.dedup();
    let mut base_lens: Vec<usize> = ops()
        .filter_map(|op| match &op.op {
            Op::Put { value, .. } | Op::Cas { to: value, .. } => Some(value.len()),
            _ => None,
        })
        .chain(initial.map(str::len))
        .chain([0])
        .collect();
    base_lens.sort_unstable();
    base_lens.dedup();
    let piece_lens: Vec<usize> = piece_lens.into_iter().collect();
    let work: usize = observed.iter().map(|o| (o.len() + 1) * (piece_lens.len() + 1)).sum();
    let mut explained = Explained::default();
    if work <= WORK_MAX {
        let grammar = Grammar { bases: &bases, base_lens: &base_lens, pieces: &pieces, piece_lens };
        for value in &observed {
            grammar.explain(value, &mut explained);
        }
    }
    ops()
        .map(|op| {
            let observed = match &op.op {
                _ if work > WORK_MAX => true,
                Op::Get { .. } => true,
                Op::Put { value, .. } | Op::Cas { to: value, .. } => {
                    explained.bases.contains(value.as_bytes())
                }
                Op::Append { value, .. } => explained.pieces.contains(value.as_bytes()),
            };
            match (observed, op.outcome) {
                (true, _) => Role::Search,
                (false, Outcome::Info) => Role::Drop,
                (false, _) => Role::Unobserved,
            }
        })
        .collect()
}

/// The bases and append arguments used in some explanation of some observed value.
#[derive(Default)]
struct Explained<'h> {
    bases: LookupSet<'h>,
    pieces: LookupSet<'h>,
}

/// Values of one key: a base, then append arguments.
struct Grammar<'a, 'h> {
    bases: &'a LookupSet<'h>,
    base_lens: &'a [usize],
    pieces: &'a LookupSet<'h>,
    piece_lens: Vec<usize>,
}

impl<'h> Grammar<'_, 'h> {
    /// Adds to `explained` every base and piece of every explanation of `value`.
    fn explain(&self, value: &'h [u8], explained: &mut Explained<'h>) {
        let len = value.len();
        // ends[i]: value[i..] is a sequence of pieces.
        let mut ends = vec![false; len + 1];
        ends[len] = true;
        for i in (0..len).rev() {
            ends[i] = self
                .piece_lens
                .iter()
                .any(|&l| i + l <= len && ends[i + l] && self.pieces.contains(&value[i..i + l]));
        }
        // starts[i]: value[..i] is a base followed by pieces, and value[i..] can follow.
        let mut starts = vec![false; len + 1];
        for &l in self.base_lens.iter().take_while(|&&l| l <= len) {
            if ends[l] && self.bases.contains(&value[..l]) {
                starts[l] = true;
                explained.bases.insert(&value[..l]);
            }
        }
        for i in 0..len {
            if !starts[i] {
                continue;
            }
            for &l in &self.piece_lens {
                if i + l <= len && ends[i + l] && self.pieces.contains(&value[i..i + l]) {
                    starts[i + l] = true;
                    explained.pieces.insert(&value[i..i + l]);
                }
            }
        }
    }
}

/// True if `value` is one of `bases` followed by some of `pieces` (each any number of times).
pub(super) fn explains(value: &str, bases: &[&str], pieces: &[&str]) -> bool {
    let value = value.as_bytes();
    // ends[i]: value[i..] is a sequence of pieces.
    let mut ends = vec![false; value.len() + 1];
    ends[value.len()] = true;
    for i in (0..value.len()).rev() {
        ends[i] = pieces.iter().any(|piece| {
            !piece.is_empty() && value[i..].starts_with(piece.as_bytes()) && ends[i + piece.len()]
        });
    }
    bases.iter().any(|base| value.starts_with(base.as_bytes()) && ends[base.len()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::HistoryOp;

    fn history(ops: &[(Op, Outcome, Option<&str>)]) -> History {
        let ops = ops
            .iter()
            .enumerate()
            .map(|(i, (op, outcome, read))| HistoryOp {
                id: i as u64,
                client: 0,
                op: op.clone(),
                invoke_ns: i as u64,
                complete_ns: i as u64,
                outcome: *outcome,
                value: read.map(str::to_string),
            })
            .collect();
        History { ops }
    }

    fn put(value: &str) -> Op {
        Op::Put { key: "k".into(), value: value.into() }
    }

    fn append(value: &str) -> Op {
        Op::Append { key: "k".into(), value: value.into() }
    }

    #[test]
    fn explains_values_by_a_base_and_pieces() {
        assert!(explains("v12", &["v12"], &[]));
        assert!(!explains("v12", &["v1"], &[]));
        assert!(explains("v12", &["v1"], &["2"]));
        assert!(explains("abab", &[""], &["ab"]));
        assert!(!explains("aba", &[""], &["ab"]));
        assert!(!explains("x", &[], &["x"]));
    }

    #[test]
    fn completed_writes_nobody_saw_are_unobserved_not_dropped() {
        let get = Op::Get { key: "k".into() };
        let h = history(&[
            (put("a"), Outcome::Ok, None),
            (append("b"), Outcome::Ok, None),
            (put("c"), Outcome::Ok, None),
            (get, Outcome::Ok, Some("c")),
        ]);
        let sources: Vec<usize> = (0..h.ops.len()).collect();
        let (s, u) = (Role::Search, Role::Unobserved);
        assert_eq!(roles(&h, &sources, None), vec![u, u, s, s]);
    }

    #[test]
    fn a_prefix_is_not_an_observation_without_the_right_appends() {
        let get = Op::Get { key: "k".into() };
        let h = history(&[
            (put("v1"), Outcome::Info, None),
            (put("v12"), Outcome::Ok, None),
            (append("x"), Outcome::Info, None),
            (append("3"), Outcome::Info, None),
            (get.clone(), Outcome::Ok, Some("v12")),
            (get, Outcome::Ok, Some("v123")),
        ]);
        let sources: Vec<usize> = (0..h.ops.len()).collect();
        // v1 + "2"? no piece "2"; v12 + "3": yes; "x" explains nothing.
        let (s, d) = (Role::Search, Role::Drop);
        assert_eq!(roles(&h, &sources, None), vec![d, s, d, s, s, s]);
    }

    #[test]
    fn appends_on_nothing_and_cas_expectations_count() {
        let h = history(&[
            (append("a"), Outcome::Info, None),
            (append("b"), Outcome::Info, None),
            (
                Op::Cas { key: "k".into(), from: Some("ab".into()), to: "c".into() },
                Outcome::Info,
                None,
            ),
            (put("c"), Outcome::Info, None),
        ]);
        let sources: Vec<usize> = (0..h.ops.len()).collect();
        // "ab" is expected by the cas: both appends explain it. Nobody saw "c".
        let (s, d) = (Role::Search, Role::Drop);
        assert_eq!(roles(&h, &sources, None), vec![s, s, d, d]);
        // With the initial value "a", "ab" is also "a" + "b".
        assert_eq!(roles(&h, &sources, Some("a")), vec![s, s, d, d]);
    }
}
