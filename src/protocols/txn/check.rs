//! The txn system's checks.
//!
//! - `txn_atomic` (facts): two-phase commit's safety. The coordinator decides commit only
//!   once every shard of the transaction voted yes; a shard applies a commit only when the
//!   coordinator decided commit, never applies an abort of a transaction decided commit after
//!   voting yes, never loses a yes vote (told to commit what it has no record of), and no
//!   transaction is decided both ways. A shard's unlogged no vote dies with it in a crash
//!   (presumed abort): it may run the transaction again and vote yes.
//! - `txn_isolation` (history): the client history judged by the Elle-class checker
//!   (`crate::check::elle`) against the consistency model the scenario declares; each
//!   workload (list-append, rw-register) is judged on its own.

use super::facts;
use crate::check::{CheckResult, FactChecker, Violation};
use crate::node::{format_nanos, Fact, Group, Nanos, NodeId};
use std::collections::BTreeMap;

/// The name of the atomic-commit check.
pub const ATOMIC: &str = "txn_atomic";
/// The name of the isolation check.
pub const ISOLATION: &str = "txn_isolation";

#[derive(Debug, Default)]
struct Seen {
    /// The decision and when: commit (true) or abort.
    decided: Option<(bool, Nanos)>,
    /// The shards a commit decision named.
    shards: Vec<NodeId>,
    /// Each shard's vote.
    votes: BTreeMap<NodeId, bool>,
    /// Each shard's applied outcome.
    applied: BTreeMap<NodeId, bool>,
}

/// The `txn_atomic` check. See the module documentation.
#[derive(Debug, Default)]
pub struct TxnAtomic {
    txns: BTreeMap<u64, Seen>,
    commits: u64,
    aborts: u64,
    applied: u64,
    failure: Option<String>,
}

fn txn_name(txn: u64) -> String {
    format!("t{}.{}", txn >> 32, txn & 0xffff_ffff)
}

impl TxnAtomic {
    fn judge(&mut self, at: Nanos, node: NodeId, name: &str, values: &[u64]) -> Result<(), String> {
        let Some(&txn) = values.first() else { return Ok(()) };
        let t = self.txns.entry(txn).or_default();
        let when = format_nanos(at);
        let tn = txn_name(txn);
        match (name, values.get(1).copied()) {
            (facts::DECIDE, Some(c)) => {
                let commit = c == 1;
                if let Some((before, then)) = t.decided {
                    if before != commit {
                        return Err(format!(
                            "{tn} decided {} at {when} after being decided {} at {}",
                            verb(commit),
                            verb(before),
                            format_nanos(then)
                        ));
                    }
                    return Ok(());
                }
                t.decided = Some((commit, at));
                if !commit {
                    self.aborts += 1;
                    return match t.applied.iter().find(|(_, c)| **c) {
                        Some((shard, _)) => Err(format!(
                            "{tn} decided abort at {when}, but shard n{shard} had applied its commit"
                        )),
                        None => Ok(()),
                    };
                }
                self.commits += 1;
                t.shards = values[2..].iter().map(|s| *s as NodeId).collect();
                for shard in &t.shards {
                    match t.votes.get(shard) {
                        Some(true) => {}
                        Some(false) => {
                            return Err(format!(
                                "{tn} decided commit at {when}, but shard n{shard} voted no"
                            ))
                        }
                        None => {
                            return Err(format!(
                                "{tn} decided commit at {when} before shard n{shard} voted: \
                                 a commit needs every shard's yes"
                            ))
                        }
                    }
                }
                match t.applied.iter().find(|(_, c)| !**c) {
                    Some((shard, _)) => Err(format!(
                        "{tn} decided commit at {when}, but shard n{shard} had already aborted it"
                    )),
                    None => Ok(()),
                }
            }
            (facts::VOTE, Some(yes)) => {
                t.votes.insert(node, yes == 1);
                Ok(())
            }
            (facts::APPLIED, Some(c)) => {
                let commit = c == 1;
                self.applied += 1;
                if let Some(before) = t.applied.insert(node, commit) {
                    if before != commit {
                        return Err(format!(
                            "shard n{node} applied {} of {tn} at {when} after applying {}",
                            verb(commit),
                            verb(before)
                        ));
                    }
                }
                match (commit, t.decided) {
                    (true, Some((true, _))) => Ok(()),
                    (true, _) => Err(format!(
                        "shard n{node} applied {tn}'s commit at {when} without a commit decision"
                    )),
                    (false, Some((true, then))) if t.votes.get(&node) == Some(&true) => {
                        Err(format!(
                            "shard n{node} voted yes for {tn}, which was decided commit at {}, \
                             and then aborted it at {when}",
                            format_nanos(then)
                        ))
                    }
                    (false, Some((true, then))) => Err(format!(
                        "shard n{node} aborted {tn} at {when}, which was decided commit at {} \
                         without its yes",
                        format_nanos(then)
                    )),
                    (false, _) => Ok(()),
                }
            }
            (facts::MISSING, _) => Err(format!(
                "shard n{node} was told at {when} to commit {tn}, which it voted yes for, and \
                 has no record of it: the prepared state was lost"
            )),
            (facts::REFUSED, _) => Err(format!(
                "shard n{node} was told at {when} to commit {tn}, which it had aborted"
            )),
            _ => Ok(()),
        }
    }
}

fn verb(commit: bool) -> &'static str {
    if commit {
        "commit"
    } else {
        "abort"
    }
}

impl FactChecker for TxnAtomic {
    fn names(&self) -> Vec<&'static str> {
        vec![ATOMIC]
    }

    fn on_fact(&mut self, at: Nanos, node: NodeId, _: Group, fact: &Fact) -> Result<(), Violation> {
        let Fact::Custom { name, values, .. } = fact else { return Ok(()) };
        if !name.starts_with("txn_") {
            return Ok(());
        }
        self.judge(at, node, name, values).map_err(|detail| {
            self.failure = Some(detail.clone());
            Violation { check: ATOMIC.into(), detail }
        })
    }

    /// A shard logs nothing when it aborts (presumed abort), so after a crash it no longer
    /// knows it did and may run an undecided transaction again, from scratch, and vote yes.
    /// Its earlier no is void: had the coordinator heard it, the transaction would be decided
    /// abort already. A yes vote is durable and stands.
    fn on_crash(&mut self, _at: Nanos, node: NodeId) {
        for t in self.txns.values_mut().filter(|t| t.decided.is_none()) {
            if t.votes.get(&node) == Some(&false) {
                t.votes.remove(&node);
            }
            if t.applied.get(&node) == Some(&false) {
                t.applied.remove(&node);
            }
        }
    }

    fn results(&self) -> Vec<CheckResult> {
        let result = match &self.failure {
            Some(detail) => CheckResult::fail(ATOMIC, detail.clone()),
            None if self.commits + self.aborts == 0 => {
                CheckResult::not_judged(ATOMIC, "no transaction was decided")
            }
            None => CheckResult::pass(
                ATOMIC,
                format!(
                    "{} commits and {} aborts decided; {} outcomes applied on shards, each as \
                     decided",
                    self.commits, self.aborts, self.applied
                ),
            ),
        };
        vec![result]
    }
}
