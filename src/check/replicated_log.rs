//! Online safety checks for replicated logs (Raft and kin), judged from facts alone.
//!
//! The checker keeps a mirror of every node's log (entry terms and prefix digests) from the
//! `LogAppend`, `LogTruncate` and `LogCompact` facts, and checks:
//! - `election_safety`: at most one leader per term;
//! - `log_matching`: two entries with the same index and term have the same prefix digest;
//! - `leader_completeness`: a new leader of term T holds every entry that a leader committed
//!   in a term before T (only leaders' `Commit` facts are attributed to a term: a leader of
//!   term T may legitimately lack an entry committed later in real time by a leader of a
//!   higher term, whose commit it could not have prevented);
//! - `state_machine_safety`: no two nodes apply different commands at one index, and no two
//!   nodes learn different committed entries at one index.
//!
//! Invariant: knows facts, never a protocol.

use super::{CheckResult, FactChecker, Violation};
use crate::node::{Fact, Group, Nanos, NodeId};
use std::collections::BTreeMap;

/// Names of the checks, as reported.
pub const CHECKS: [&str; 4] =
    ["election_safety", "log_matching", "leader_completeness", "state_machine_safety"];

#[derive(Clone, Debug, Default)]
struct Mirror {
    base_index: u64,
    base_digest: u64,
    /// (term, digest) of entries `base_index + 1 ..`.
    entries: Vec<(u64, u64)>,
    /// The facts skipped an index: comparisons with this mirror are not exact until a reset.
    incomplete: bool,
    /// Term this node currently leads, if any.
    leading: Option<u64>,
}

impl Mirror {
    fn last_index(&self) -> u64 {
        self.base_index + self.entries.len() as u64
    }

    fn digest(&self, index: u64) -> Option<u64> {
        if index == self.base_index {
            return Some(self.base_digest);
        }
        if index < self.base_index {
            return None;
        }
        self.entries.get((index - self.base_index - 1) as usize).map(|e| e.1)
    }

    fn truncate(&mut self, index: u64) {
        if index <= self.base_index {
            *self = Mirror { leading: self.leading, ..Mirror::default() };
        } else {
            self.entries.truncate((index - self.base_index - 1) as usize);
        }
    }

    fn append(&mut self, index: u64, term: u64, digest: u64) {
        if index <= self.base_index {
            return;
        }
        self.truncate(index);
        if self.last_index() + 1 != index {
            self.incomplete = true;
            return;
        }
        self.entries.push((term, digest));
    }

    fn compact(&mut self, index: u64, digest: u64) {
        if index <= self.base_index {
            return;
        }
        let keep = if index <= self.last_index() && self.digest(index) == Some(digest) {
            self.entries.split_off((index - self.base_index) as usize)
        } else {
            Vec::new()
        };
        self.base_index = index;
        self.base_digest = digest;
        self.entries = keep;
    }
}

/// A committed entry and who said so.
#[derive(Clone, Copy, Debug)]
struct Committed {
    index: u64,
    term: u64,
    digest: u64,
    node: NodeId,
    at: Nanos,
}

/// The replicated-log checker. See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct ReplicatedLogChecker {
    nodes: BTreeMap<NodeId, Mirror>,
    leaders: BTreeMap<u64, (NodeId, Nanos)>,
    digests: BTreeMap<(u64, u64), (u64, NodeId, Nanos)>,
    committed: BTreeMap<u64, Committed>,
    /// Commit term -> the highest entry a leader of that term committed.
    committed_by_term: BTreeMap<u64, Committed>,
    applied: BTreeMap<u64, (u64, NodeId, Nanos)>,
    failures: BTreeMap<&'static str, String>,
    facts: u64,
}

fn time(at: Nanos) -> String {
    format!("t={}.{:06}s", at / 1_000_000_000, at % 1_000_000_000 / 1_000)
}

impl ReplicatedLogChecker {
    /// A checker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn fail(&mut self, check: &'static str, detail: String) -> Result<(), Violation> {
        self.failures.entry(check).or_insert_with(|| detail.clone());
        Err(Violation { check: check.to_string(), detail })
    }

    fn on_leader(&mut self, at: Nanos, node: NodeId, term: u64) -> Result<(), Violation> {
        self.nodes.entry(node).or_default().leading = Some(term);
        if let Some(&(other, when)) = self.leaders.get(&term) {
            if other != node {
                let detail = format!(
                    "{}: node {node} became leader of term {term}, but node {other} already \
                     was ({})",
                    time(at),
                    time(when)
                );
                return self.fail("election_safety", detail);
            }
        }
        self.leaders.insert(term, (node, at));
        let required =
            self.committed_by_term.range(..term).map(|(_, c)| *c).max_by_key(|c| c.index);
        let Some(c) = required else { return Ok(()) };
        let mirror = &self.nodes[&node];
        if mirror.incomplete {
            return Ok(());
        }
        let held = match mirror.digest(c.index) {
            Some(d) => Some(d),
            None if c.index < mirror.base_index => return Ok(()), // compacted: not comparable
            None => None,
        };
        if held == Some(c.digest) {
            return Ok(());
        }
        let detail = format!(
            "{}: node {node} became leader of term {term} with a log ending at index {} but \
             lacks entry {} (term {}, digest {:#x}) committed by node {} at {}; its digest \
             there is {}",
            time(at),
            mirror.last_index(),
            c.index,
            c.term,
            c.digest,
            c.node,
            time(c.at),
            held.map_or("absent".to_string(), |d| format!("{d:#x}"))
        );
        self.fail("leader_completeness", detail)
    }

    fn match_digest(
        &mut self,
        at: Nanos,
        node: NodeId,
        (index, term, digest): (u64, u64, u64),
    ) -> Result<(), Violation> {
        match self.digests.get(&(index, term)) {
            Some(&(d, other, when)) if d != digest => {
                let detail = format!(
                    "{}: node {node} holds index {index} term {term} with prefix digest \
                     {digest:#x}, node {other} held it with {d:#x} ({})",
                    time(at),
                    time(when)
                );
                self.fail("log_matching", detail)
            }
            Some(_) => Ok(()),
            None => {
                self.digests.insert((index, term), (digest, node, at));
                Ok(())
            }
        }
    }

    fn on_commit(&mut self, at: Nanos, node: NodeId, c: Committed) -> Result<(), Violation> {
        self.match_digest(at, node, (c.index, c.term, c.digest))?;
        if let Some(leading) = self.nodes.get(&node).and_then(|m| m.leading) {
            let best = self.committed_by_term.entry(leading).or_insert(c);
            if c.index > best.index {
                *best = c;
            }
        }
        match self.committed.get(&c.index) {
            Some(first) if first.digest != c.digest => {
                let detail = format!(
                    "{}: node {node} committed index {} (term {}, digest {:#x}) but node {} \
                     committed it as term {} digest {:#x} at {}",
                    time(at),
                    c.index,
                    c.term,
                    c.digest,
                    first.node,
                    first.term,
                    first.digest,
                    time(first.at)
                );
                self.fail("state_machine_safety", detail)
            }
            Some(_) => Ok(()),
            None => {
                self.committed.insert(c.index, c);
                Ok(())
            }
        }
    }

    fn on_apply(
        &mut self,
        at: Nanos,
        node: NodeId,
        index: u64,
        command: u64,
    ) -> Result<(), Violation> {
        match self.applied.get(&index) {
            Some(&(c, other, when)) if c != command => {
                let detail = format!(
                    "{}: node {node} applied command {command:#x} at index {index}, node {other} \
                     applied {c:#x} there ({})",
                    time(at),
                    time(when)
                );
                self.fail("state_machine_safety", detail)
            }
            Some(_) => Ok(()),
            None => {
                self.applied.insert(index, (command, node, at));
                Ok(())
            }
        }
    }
}

impl FactChecker for ReplicatedLogChecker {
    fn names(&self) -> Vec<&'static str> {
        CHECKS.to_vec()
    }

    fn on_fact(
        &mut self,
        at: Nanos,
        node: NodeId,
        _group: Group,
        fact: &Fact,
    ) -> Result<(), Violation> {
        self.facts += 1;
        match *fact {
            Fact::Leader { term } => self.on_leader(at, node, term),
            Fact::SteppedDown { .. } => {
                self.nodes.entry(node).or_default().leading = None;
                Ok(())
            }
            Fact::LogAppend { index, term, digest } => {
                self.nodes.entry(node).or_default().append(index, term, digest);
                self.match_digest(at, node, (index, term, digest))
            }
            Fact::LogTruncate { index } => {
                let mirror = self.nodes.entry(node).or_default();
                mirror.truncate(index);
                if index <= 1 {
                    mirror.incomplete = false;
                }
                Ok(())
            }
            Fact::LogCompact { index, term, digest } => {
                self.nodes.entry(node).or_default().compact(index, digest);
                self.match_digest(at, node, (index, term, digest))
            }
            Fact::Commit { index, term, digest } => {
                self.on_commit(at, node, Committed { index, term, digest, node, at })
            }
            Fact::Apply { index, command } => self.on_apply(at, node, index, command),
            Fact::Membership { .. } | Fact::Custom { .. } => Ok(()),
        }
    }

    fn on_crash(&mut self, _at: Nanos, node: NodeId) {
        self.nodes.entry(node).or_default().leading = None;
    }

    fn results(&self) -> Vec<CheckResult> {
        CHECKS
            .iter()
            .map(|name| match self.failures.get(name) {
                Some(detail) => CheckResult::fail(*name, detail.clone()),
                None => {
                    let summary = match *name {
                        "election_safety" => format!("{} terms had a leader", self.leaders.len()),
                        "log_matching" => {
                            format!("{} (index, term) pairs agreed", self.digests.len())
                        }
                        "leader_completeness" => format!("{} leaders checked", self.leaders.len()),
                        _ => format!("{} indexes applied consistently", self.applied.len()),
                    };
                    CheckResult::pass(*name, summary)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(facts: &[(NodeId, Fact)]) -> (ReplicatedLogChecker, Vec<Violation>) {
        let mut checker = ReplicatedLogChecker::new();
        let mut violations = Vec::new();
        for (i, (node, fact)) in facts.iter().enumerate() {
            if let Err(v) = checker.on_fact(i as u64 * 1_000_000, *node, 0, fact) {
                violations.push(v);
            }
        }
        (checker, violations)
    }

    fn append(index: u64, term: u64, digest: u64) -> Fact {
        Fact::LogAppend { index, term, digest }
    }

    #[test]
    fn a_healthy_history_passes() {
        let (checker, violations) = feed(&[
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (1, append(1, 1, 11)),
            (0, Fact::Commit { index: 1, term: 1, digest: 11 }),
            (0, Fact::Apply { index: 1, command: 5 }),
            (1, Fact::Apply { index: 1, command: 5 }),
            (0, Fact::SteppedDown { term: 1 }),
            (1, Fact::Leader { term: 2 }),
            (1, Fact::LogCompact { index: 1, term: 1, digest: 11 }),
            (1, Fact::Leader { term: 3 }),
        ]);
        assert!(violations.is_empty(), "{violations:?}");
        let results = checker.results();
        assert_eq!(results.len(), 4);
        assert!(results.iter().all(|r| r.passed));
    }

    #[test]
    fn two_leaders_in_one_term() {
        let (_, v) = feed(&[(0, Fact::Leader { term: 1 }), (1, Fact::Leader { term: 1 })]);
        assert_eq!(v[0].check, "election_safety");
        assert!(v[0].detail.contains("node 1") && v[0].detail.contains("node 0"));
    }

    #[test]
    fn same_index_and_term_with_different_prefixes() {
        let (_, v) = feed(&[(0, append(1, 1, 11)), (1, append(1, 1, 12))]);
        assert_eq!(v[0].check, "log_matching");
    }

    #[test]
    fn a_leader_missing_a_committed_entry() {
        let (checker, v) = feed(&[
            (0, Fact::Leader { term: 2 }),
            (0, append(1, 2, 21)),
            (1, append(1, 2, 21)),
            (0, Fact::Commit { index: 1, term: 2, digest: 21 }),
            (2, append(1, 1, 31)),
            (2, Fact::Leader { term: 3 }),
        ]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].check, "leader_completeness");
        assert!(!checker.results()[2].passed);
        // A leader whose log was truncated away from the entry fails too.
        let (_, v) = feed(&[
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (0, Fact::Commit { index: 1, term: 1, digest: 11 }),
            (0, Fact::LogTruncate { index: 1 }),
            (0, Fact::Leader { term: 2 }),
        ]);
        assert_eq!(v[0].check, "leader_completeness");
    }

    #[test]
    fn commits_of_later_terms_are_not_required() {
        let (_, v) = feed(&[
            (0, Fact::Leader { term: 5 }),
            (0, append(1, 5, 51)),
            (0, Fact::Commit { index: 1, term: 5, digest: 51 }),
            (2, Fact::Leader { term: 4 }),
        ]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn different_commands_applied_at_one_index() {
        let (checker, v) = feed(&[
            (0, Fact::Apply { index: 3, command: 1 }),
            (1, Fact::Apply { index: 3, command: 2 }),
        ]);
        assert_eq!(v[0].check, "state_machine_safety");
        assert!(v[0].detail.contains("index 3"));
        assert!(!checker.results()[3].passed);
    }
}
