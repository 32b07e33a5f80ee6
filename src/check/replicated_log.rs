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
//! - `state_machine_safety`: no two nodes apply different commands at one index, no two nodes
//!   reach different states by applying it (where `Apply` facts carry a state digest: a replica
//!   that applied a retried write twice, or lost its client sessions across a snapshot restore,
//!   applied the same commands and still diverged), and no two nodes learn different committed
//!   entries at one index;
//! - `commit_quorum`: when a leader reports an entry committed, a majority of its voters (its
//!   latest `Membership` fact, else the initial members) hold that entry (same index, same
//!   prefix digest) in their mirrors. Judged for leaders' commits only: a follower learns a
//!   commit from its leader, whose own commit was judged. To rather miss a bug than raise a
//!   false alarm, a mirror compacted past the index counts as holding it (a snapshot covers
//!   only committed entries), and so does a mirror whose facts skipped an index (unknown);
//! - `apply_order`: each node applies indexes one after another, from 1 or from its latest
//!   snapshot (`LogCompact`): never a gap, never back. A crash, or a truncation below the
//!   applied point (a node's recovery announces its log afresh with `LogTruncate { index: 1 }`),
//!   rewinds where the next apply may start.
//! - `vote_safety`: no node grants its vote to two candidates in one term (`Vote` facts), across
//!   crashes too: a vote lost on restart is how two leaders of one term come about, and this
//!   sees it even when the second candidate then loses;
//! - `stale_leader`: a leader that received a message of a newer term (`TermSeen`) does not go
//!   on acting in its old term: no append, no commit, no election won in an older term.
//!
//! Invariant: knows facts, never a protocol.

use super::{CheckResult, FactChecker, Violation};
use crate::node::{Fact, Group, Nanos, NodeId};
use std::collections::BTreeMap;

/// Names of the checks, as reported.
pub const CHECKS: [&str; 8] = [
    "election_safety",
    "log_matching",
    "leader_completeness",
    "state_machine_safety",
    "commit_quorum",
    "apply_order",
    "vote_safety",
    "stale_leader",
];

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
    /// The voters this node last reported (`Membership`), if it did.
    members: Option<Vec<NodeId>>,
    /// The highest index applied (or covered by a snapshot) since the node last started.
    applied: u64,
    /// The newest term this node received a binding message of since it last started, and
    /// when.
    seen_term: Option<(u64, Nanos)>,
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
            let (leading, members, applied) = (self.leading, self.members.take(), self.applied);
            *self = Mirror { leading, members, applied, ..Mirror::default() };
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

    /// True if the mirror holds entry `index` with prefix `digest`, or may (compacted past
    /// it, or incomplete): only a mirror known to lack it or to differ there says no.
    fn may_hold(&self, index: u64, digest: u64) -> bool {
        self.incomplete || index <= self.base_index || self.digest(index) == Some(digest)
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
    /// Index -> the first apply of it: command digest, state digest (0: none), node, time.
    applied: BTreeMap<u64, (u64, u64, NodeId, Nanos)>,
    failures: BTreeMap<&'static str, String>,
    facts: u64,
    /// The voters before any `Membership` fact (empty: every node the checker has heard of).
    initial_members: Vec<NodeId>,
    /// Leaders' commits judged by `commit_quorum`, and applies judged by `apply_order`.
    quorum_checked: u64,
    applies_checked: u64,
    /// (node, term) -> the candidate it voted for, and when.
    votes: BTreeMap<(NodeId, u64), (u32, Nanos)>,
    /// Leader actions (appends, commits, elections) judged by `stale_leader`.
    leader_acts_checked: u64,
}

fn time(at: Nanos) -> String {
    format!("t={}.{:06}s", at / 1_000_000_000, at % 1_000_000_000 / 1_000)
}

impl ReplicatedLogChecker {
    /// A checker that has seen nothing; `commit_quorum` counts a majority of every node it
    /// has heard of until a node reports its membership.
    pub fn new() -> Self {
        Self::default()
    }

    /// A checker of a cluster whose voters start as `members` (until `Membership` facts).
    pub fn with_members(members: Vec<NodeId>) -> Self {
        ReplicatedLogChecker { initial_members: members, ..Self::default() }
    }

    /// `commit_quorum`: leader `node` reported `c` committed.
    fn check_quorum(&mut self, at: Nanos, node: NodeId, c: Committed) -> Result<(), Violation> {
        let Some(mirror) = self.nodes.get(&node) else { return Ok(()) };
        let Some(term) = mirror.leading else { return Ok(()) };
        let voters: Vec<NodeId> = match (&mirror.members, self.initial_members.is_empty()) {
            (Some(members), _) => members.clone(),
            (None, false) => self.initial_members.clone(),
            (None, true) => self.nodes.keys().copied().collect(),
        };
        if voters.is_empty() {
            return Ok(());
        }
        self.quorum_checked += 1;
        let (holding, lacking): (Vec<NodeId>, Vec<NodeId>) = voters
            .iter()
            .partition(|v| self.nodes.get(v).is_some_and(|m| m.may_hold(c.index, c.digest)));
        if holding.len() > voters.len() / 2 {
            return Ok(());
        }
        let names = |ns: &[NodeId]| {
            if ns.is_empty() {
                "none".to_string()
            } else {
                ns.iter().map(|n| format!("n{n}")).collect::<Vec<_>>().join(", ")
            }
        };
        let detail = format!(
            "{}: leader n{node} (term {term}) committed index {} (term {}, digest {:#x}), held \
             by {} of its {} voters: {}; lacking or different: {}",
            time(at),
            c.index,
            c.term,
            c.digest,
            holding.len(),
            voters.len(),
            names(&holding),
            names(&lacking)
        );
        self.fail("commit_quorum", detail)
    }

    /// `apply_order`: `node` applied `index`.
    fn check_apply_order(&mut self, at: Nanos, node: NodeId, index: u64) -> Result<(), Violation> {
        let mirror = self.nodes.entry(node).or_default();
        let expected = mirror.applied + 1;
        mirror.applied = mirror.applied.max(index);
        self.applies_checked += 1;
        if index == expected {
            return Ok(());
        }
        let what = if index < expected { "again or out of order" } else { "skipping" };
        let detail = format!(
            "{}: n{node} applied index {index} {what}: the next index to apply was {expected}",
            time(at)
        );
        self.fail("apply_order", detail)
    }

    fn fail(&mut self, check: &'static str, detail: String) -> Result<(), Violation> {
        self.failures.entry(check).or_insert_with(|| detail.clone());
        Err(Violation { check: check.to_string(), detail })
    }

    fn on_vote(
        &mut self,
        at: Nanos,
        node: NodeId,
        term: u64,
        candidate: u32,
    ) -> Result<(), Violation> {
        match self.votes.get(&(node, term)) {
            Some(&(first, when)) if first != candidate => {
                let detail = format!(
                    "{}: node {node} voted for node {candidate} in term {term}, but it had voted \
                     for node {first} in that term ({}): a vote was forgotten (not durable \
                     before the grant left, or lost in recovery)",
                    time(at),
                    time(when)
                );
                self.fail("vote_safety", detail)
            }
            Some(_) => Ok(()),
            None => {
                self.votes.insert((node, term), (candidate, at));
                Ok(())
            }
        }
    }

    /// `node` acts as leader of `term` (`what` it did): it must not have seen a newer term.
    fn check_not_stale(
        &mut self,
        at: Nanos,
        node: NodeId,
        term: u64,
        what: &str,
    ) -> Result<(), Violation> {
        self.leader_acts_checked += 1;
        let seen = self.nodes.get(&node).and_then(|m| m.seen_term);
        match seen {
            Some((newer, when)) if newer > term => {
                let detail = format!(
                    "{}: node {node} {what} as leader of term {term} after it had received a \
                     message of term {newer} ({}): it should have followed the newer term",
                    time(at),
                    time(when)
                );
                self.fail("stale_leader", detail)
            }
            _ => Ok(()),
        }
    }

    fn on_leader(&mut self, at: Nanos, node: NodeId, term: u64) -> Result<(), Violation> {
        self.check_not_stale(at, node, term, "was elected")?;
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
        (command, state): (u64, u64),
    ) -> Result<(), Violation> {
        match self.applied.get_mut(&index) {
            Some(&mut (c, _, other, when)) if c != command => {
                let detail = format!(
                    "{}: node {node} applied command {command:#x} at index {index}, node {other} \
                     applied {c:#x} there ({})",
                    time(at),
                    time(when)
                );
                self.fail("state_machine_safety", detail)
            }
            Some(&mut (_, s, other, when)) if s != 0 && state != 0 && s != state => {
                let detail = format!(
                    "{}: node {node} applied index {index} (command {command:#x}) and reached \
                     state {state:#x}; node {other} applied the same command there and reached \
                     {s:#x} ({}): the replicas diverged although they applied the same commands \
                     (a write applied twice, or state lost across a snapshot)",
                    time(at),
                    time(when)
                );
                self.fail("state_machine_safety", detail)
            }
            Some(first) => {
                if first.1 == 0 && state != 0 {
                    *first = (command, state, node, at); // the first digest stands for the index
                }
                Ok(())
            }
            None => {
                self.applied.insert(index, (command, state, node, at));
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
                if self.nodes.get(&node).is_some_and(|m| m.leading == Some(term)) {
                    self.check_not_stale(at, node, term, &format!("appended index {index}"))?;
                }
                self.nodes.entry(node).or_default().append(index, term, digest);
                self.match_digest(at, node, (index, term, digest))
            }
            Fact::LogTruncate { index } => {
                let mirror = self.nodes.entry(node).or_default();
                mirror.truncate(index);
                mirror.applied = mirror.applied.min(index.saturating_sub(1));
                if index <= 1 {
                    mirror.incomplete = false;
                }
                Ok(())
            }
            Fact::LogCompact { index, term, digest } => {
                let mirror = self.nodes.entry(node).or_default();
                mirror.compact(index, digest);
                mirror.applied = mirror.applied.max(index);
                self.match_digest(at, node, (index, term, digest))
            }
            Fact::Commit { index, term, digest } => {
                let c = Committed { index, term, digest, node, at };
                if let Some(leading) = self.nodes.get(&node).and_then(|m| m.leading) {
                    self.check_not_stale(at, node, leading, &format!("committed index {index}"))?;
                }
                self.on_commit(at, node, c)?;
                self.check_quorum(at, node, c)
            }
            Fact::Apply { index, command, state } => {
                self.on_apply(at, node, index, (command, state))?;
                self.check_apply_order(at, node, index)
            }
            Fact::Vote { term, candidate } => self.on_vote(at, node, term, candidate),
            Fact::TermSeen { term } => {
                let mirror = self.nodes.entry(node).or_default();
                if mirror.seen_term.is_none_or(|(t, _)| term > t) {
                    mirror.seen_term = Some((term, at));
                }
                Ok(())
            }
            Fact::Membership { ref members } => {
                self.nodes.entry(node).or_default().members = Some(members.clone());
                Ok(())
            }
            Fact::Custom { .. } => Ok(()),
        }
    }

    fn on_crash(&mut self, _at: Nanos, node: NodeId) {
        let mirror = self.nodes.entry(node).or_default();
        mirror.leading = None;
        mirror.seen_term = None;
        mirror.applied = 0; // the restarted node applies again from its snapshot or from 1
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
                        "commit_quorum" => format!(
                            "{} leader commits held by a majority of voters",
                            self.quorum_checked
                        ),
                        "apply_order" => {
                            format!("{} applies in order without gaps", self.applies_checked)
                        }
                        "vote_safety" if self.votes.is_empty() => {
                            return CheckResult::not_judged(
                                *name,
                                "not judged: no node recorded a vote",
                            );
                        }
                        "vote_safety" => {
                            format!("{} (node, term) votes, one candidate each", self.votes.len())
                        }
                        "stale_leader" => format!(
                            "{} leader actions, none after a newer term was seen",
                            self.leader_acts_checked
                        ),
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
            (0, Fact::Apply { index: 1, command: 5, state: 0 }),
            (1, Fact::Apply { index: 1, command: 5, state: 0 }),
            (0, Fact::SteppedDown { term: 1 }),
            (1, Fact::Leader { term: 2 }),
            (1, Fact::LogCompact { index: 1, term: 1, digest: 11 }),
            (1, Fact::Leader { term: 3 }),
        ]);
        assert!(violations.is_empty(), "{violations:?}");
        let results = checker.results();
        assert_eq!(results.len(), CHECKS.len());
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
            (0, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
            (1, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
            (0, Fact::Apply { index: 3, command: 1, state: 0 }),
            (1, Fact::Apply { index: 3, command: 2, state: 0 }),
        ]);
        assert_eq!(v[0].check, "state_machine_safety");
        assert!(v[0].detail.contains("index 3"));
        assert!(!checker.results()[3].passed);
    }

    #[test]
    fn same_commands_different_states() {
        let base = [
            (0, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
            (1, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
            (2, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
        ];
        let apply = |node, state| (node, Fact::Apply { index: 3, command: 7, state });
        // A node without a digest (0) judges nothing; the first digest stands for the index.
        let (_, v) = feed(&[&base[..], &[apply(0, 0), apply(1, 40), apply(2, 40)]].concat());
        assert!(v.is_empty(), "{v:?}");
        let (checker, v) = feed(&[&base[..], &[apply(0, 0), apply(1, 40), apply(2, 41)]].concat());
        assert_eq!(v[0].check, "state_machine_safety");
        assert!(v[0].detail.contains("diverged") && v[0].detail.contains("node 1"), "{v:?}");
        assert!(!result(&checker, "state_machine_safety").passed);
    }

    fn result(checker: &ReplicatedLogChecker, name: &str) -> CheckResult {
        checker.results().into_iter().find(|r| r.name == name).expect("a result per check")
    }

    fn members(nodes: &[NodeId]) -> Fact {
        Fact::Membership { members: nodes.to_vec() }
    }

    #[test]
    fn a_leader_commit_held_by_a_majority_passes() {
        let (checker, v) = feed(&[
            (0, members(&[0, 1, 2])),
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (1, append(1, 1, 11)),
            (0, Fact::Commit { index: 1, term: 1, digest: 11 }),
            // A follower learning the commit is not judged, even alone with the entry.
            (2, Fact::Commit { index: 1, term: 1, digest: 11 }),
        ]);
        assert!(v.is_empty(), "{v:?}");
        let r = result(&checker, "commit_quorum");
        assert!(r.passed && r.detail.starts_with("1 leader commits"), "{r:?}");
    }

    #[test]
    fn a_leader_commit_without_a_majority_fails() {
        let (checker, v) = feed(&[
            (0, members(&[0, 1, 2])),
            (1, members(&[0, 1, 2])),
            (2, members(&[0, 1, 2])),
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (1, append(1, 2, 99)), // a different entry at index 1
            (0, Fact::Commit { index: 1, term: 1, digest: 11 }),
        ]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].check, "commit_quorum");
        assert!(v[0].detail.contains("held by 1 of its 3 voters: n0"), "{}", v[0].detail);
        assert!(!result(&checker, "commit_quorum").passed);
        // The leader's own membership decides: with voters {0, 3, 4} and only n0 holding the
        // entry, a majority of the initial members would not do.
        let (_, v) = feed(&[
            (0, members(&[0, 1, 2, 3, 4])),
            (1, append(1, 1, 11)),
            (2, append(1, 1, 11)),
            (0, members(&[0, 3, 4])),
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (0, Fact::Commit { index: 1, term: 1, digest: 11 }),
        ]);
        assert_eq!(v[0].check, "commit_quorum");
    }

    #[test]
    fn compacted_and_restarted_mirrors_do_not_raise_false_alarms() {
        let (_, v) = feed(&[
            (0, members(&[0, 1, 2])),
            (0, Fact::Leader { term: 1 }),
            (0, append(1, 1, 11)),
            (0, append(2, 1, 12)),
            // n1 installed a snapshot covering index 2 (it never saw the entries).
            (1, Fact::LogCompact { index: 2, term: 1, digest: 12 }),
            (0, Fact::Commit { index: 2, term: 1, digest: 12 }),
            // n2 restarts and announces its durable log afresh.
            (2, Fact::LogTruncate { index: 1 }),
            (2, append(1, 1, 11)),
            (2, append(2, 1, 12)),
            (0, append(3, 1, 13)),
            (2, append(3, 1, 13)),
            (0, Fact::Commit { index: 3, term: 1, digest: 13 }),
        ]);
        assert!(v.is_empty(), "{v:?}");
    }

    #[test]
    fn applies_in_order_from_the_start_a_snapshot_or_a_restart_pass() {
        let apply = |index| Fact::Apply { index, command: index * 10, state: 0 };
        let (checker, v) = feed(&[
            (0, apply(1)),
            (0, apply(2)),
            (1, Fact::LogCompact { index: 5, term: 1, digest: 15 }),
            (1, apply(6)),
            // A local snapshot below the applied point changes nothing.
            (0, Fact::LogCompact { index: 1, term: 1, digest: 11 }),
            (0, apply(3)),
            // Recovery: the log is announced afresh, the snapshot first, then applies go on.
            (1, Fact::LogTruncate { index: 1 }),
            (1, Fact::LogCompact { index: 4, term: 1, digest: 14 }),
            (1, apply(5)),
            (1, apply(6)),
        ]);
        assert!(v.is_empty(), "{v:?}");
        let mut checker = checker;
        checker.on_crash(99, 0);
        assert!(checker.on_fact(100, 0, 0, &apply(1)).is_ok(), "a crash rewinds to 1");
        assert!(result(&checker, "apply_order").passed);
    }

    #[test]
    fn a_gap_or_a_repeat_in_applies_fails() {
        let apply = |index| Fact::Apply { index, command: index * 10, state: 0 };
        let (checker, v) = feed(&[(0, apply(1)), (0, apply(3))]);
        assert_eq!(v[0].check, "apply_order");
        assert!(v[0].detail.contains("index 3 skipping: the next index to apply was 2"));
        assert!(!result(&checker, "apply_order").passed);
        let (_, v) = feed(&[(0, apply(1)), (0, apply(2)), (0, apply(2))]);
        assert_eq!(v[0].check, "apply_order");
        assert!(v[0].detail.contains("again or out of order"), "{}", v[0].detail);
    }

    #[test]
    fn a_vote_forgotten_across_a_crash() {
        let vote = |candidate| Fact::Vote { term: 4, candidate };
        let (checker, v) = feed(&[(0, vote(1)), (0, vote(1)), (2, vote(3))]);
        assert!(v.is_empty(), "{v:?}");
        assert!(result(&checker, "vote_safety").judged);
        let mut checker = ReplicatedLogChecker::new();
        checker.on_fact(0, 0, 0, &vote(1)).unwrap();
        checker.on_crash(1, 0);
        let v = checker.on_fact(2, 0, 0, &vote(2)).unwrap_err();
        assert_eq!(v.check, "vote_safety");
        assert!(v.detail.contains("voted for node 2 in term 4"), "{}", v.detail);
        let (checker, _) = feed(&[]);
        assert!(!result(&checker, "vote_safety").judged);
    }

    #[test]
    fn a_leader_acting_after_it_saw_a_newer_term() {
        let base = [(0, Fact::Leader { term: 2 }), (0, append(1, 2, 21))];
        let (_, v) = feed(&[&base[..], &[(0, Fact::TermSeen { term: 2 })]].concat());
        assert!(v.is_empty(), "{v:?}");
        let seen = (0, Fact::TermSeen { term: 3 });
        let (_, v) = feed(&[&base[..], &[seen.clone(), (0, append(2, 2, 22))]].concat());
        assert_eq!(v[0].check, "stale_leader");
        assert!(v[0].detail.contains("appended index 2 as leader of term 2"), "{}", v[0].detail);
        let commit = (0, Fact::Commit { index: 1, term: 2, digest: 21 });
        let (_, v) = feed(&[&base[..], &[seen.clone(), commit]].concat());
        assert_eq!(v[0].check, "stale_leader");
        // Stepping down first is right; so is following the newer term's leader.
        let down = (0, Fact::SteppedDown { term: 3 });
        let (_, v) = feed(&[&base[..], &[seen.clone(), down, (0, append(2, 3, 32))]].concat());
        assert!(v.is_empty(), "{v:?}");
        let (_, v) = feed(&[seen, (0, Fact::Leader { term: 2 })]);
        assert_eq!(v[0].check, "stale_leader");
    }
}
