//! Judging `[[expectations]]` as the run goes (see `scenario::expect` for what each kind
//! means). Each expectation opens its window at its time or when its `after` fault applies,
//! watches facts, sends and disks while open, and is judged when the window closes (its
//! `within` deadline, its `until` fault, or the end of the run). Safety kinds stop the run at
//! the first violation, with the evidence; liveness kinds and budgets are judged at the close.
//!
//! While no expectation is open, none of this costs anything on the hot paths: the simulator
//! asks [`Expectations::counts_sends`] and friends before doing any work for them.

use super::{Event, Sim};
use crate::check::{CheckKind, CheckResult, Violation};
use crate::engine::{format_nanos, Nanos};
use crate::node::{Fact, Group, NodeId};
use crate::scenario::expect::{Count, ExpectKind, Expectation, Per};
use crate::system::System;
use crate::world::fault::NodeRef;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Window {
    /// Not open yet.
    Waiting,
    /// Open since `start`.
    Open { start: Nanos },
    /// Judged.
    Closed,
}

/// What one expectation has seen in its window.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// `leader`: the first leader that reached a majority, and when.
    leader: Option<(NodeId, Nanos)>,
    /// `no-commit`, `bytes-per-commit`: the highest commit index when the window opened.
    commit_start: u64,
    /// `applied`: client operations issued before the window opened.
    issued_start: usize,
    /// `applied`: the entry (index, the leader that appended it (none for a given `index`),
    /// when), the nodes that applied it, and the command each applied (none: it learned the
    /// entry through a snapshot).
    entry: Option<(u64, Option<NodeId>, Nanos)>,
    applied_on: Vec<(NodeId, Option<u64>)>,
    applied_at: Option<Nanos>,
    /// `messages`: counts in the current election or span (one per node with `per_node`),
    /// the span's start, and the worst count seen with its evidence.
    counts: Vec<u64>,
    span_start: Nanos,
    worst: Option<(u64, String)>,
    /// `messages`: every message kind sent in the window (to say so when none matched).
    kinds_sent: Vec<String>,
    /// `bytes-per-commit`: peer bytes sent in the window.
    bytes: u64,
    /// `persisted-bytes`: the largest durable size seen per node.
    disk_peak: Vec<(NodeId, u64, Nanos)>,
}

struct Live {
    name: String,
    window: Window,
    /// The nodes whose facts count, resolved when the window opens (`None`: all).
    nodes: Option<Vec<NodeId>>,
    seen: Seen,
    result: Option<CheckResult>,
}

/// The expectations of one run.
#[derive(Default)]
pub(super) struct Expectations {
    live: Vec<Live>,
    /// Open windows by kind, so hot paths can ask cheaply.
    open_sends: u32,
    open_disk: u32,
    open_facts: u32,
    /// Highest commit index any node reported, and per node its latest (index, digest).
    commit_max: u64,
    last_commit: Vec<(u64, u64)>,
    /// Per node, the highest index it applied or took a snapshot of.
    applied_max: Vec<u64>,
}

impl Expectations {
    /// True if some open window counts sends.
    #[inline]
    pub(super) fn counts_sends(&self) -> bool {
        self.open_sends > 0
    }

    /// True if some open window samples disks.
    #[inline]
    pub(super) fn samples_disks(&self) -> bool {
        self.open_disk > 0
    }

    fn track(&mut self, kind: ExpectKind, by: i32) {
        let add = |n: &mut u32| *n = n.wrapping_add_signed(by);
        match kind {
            ExpectKind::Messages | ExpectKind::BytesPerCommit => add(&mut self.open_sends),
            ExpectKind::PersistedBytes => add(&mut self.open_disk),
            _ => {}
        }
        add(&mut self.open_facts);
    }
}

fn t(ns: Nanos) -> String {
    format_nanos(ns)
}

fn kind_of(kind: ExpectKind) -> CheckKind {
    if kind.is_liveness() {
        CheckKind::Liveness
    } else if kind.is_budget() {
        CheckKind::Budget
    } else {
        CheckKind::Safety
    }
}

impl<S: System> Sim<'_, S> {
    fn spec(&self, i: usize) -> &Expectation {
        &self.scenario.expectations[i]
    }

    /// Sets the expectations up: names, and the windows that open at a time.
    pub(super) fn expectations_boot(&mut self) {
        let names = crate::scenario::expect::names(&self.scenario.expectations);
        self.expect.last_commit = vec![(0, 0); self.cluster.nodes as usize];
        self.expect.applied_max = vec![0; self.cluster.nodes as usize];
        for (i, name) in names.into_iter().enumerate() {
            let e = &self.scenario.expectations[i];
            self.expect.live.push(Live {
                name,
                window: Window::Waiting,
                nodes: None,
                seen: Seen::default(),
                result: None,
            });
            if e.after.is_none() {
                let at = e.at.map_or(0, |d| d.0);
                self.queue.push(at, Event::Expect { index: i as u32 });
            }
        }
    }

    /// An expectation's time came: open its window, or close it at its deadline.
    pub(super) fn expectation_due(&mut self, index: u32) {
        let i = index as usize;
        match self.expect.live[i].window {
            Window::Waiting => self.open_window(i),
            Window::Open { .. } => self.close_window(i),
            Window::Closed => {}
        }
    }

    /// A named scheduled fault applied: open the windows after it, close those until it.
    pub(super) fn expectations_on_fault(&mut self, name: &str) {
        for i in 0..self.expect.live.len() {
            let e = self.spec(i);
            let window = self.expect.live[i].window;
            if window == Window::Waiting && e.after.as_deref() == Some(name) {
                self.open_window(i);
            } else if matches!(window, Window::Open { .. }) && e.until.as_deref() == Some(name) {
                self.close_window(i);
            }
        }
    }

    fn open_window(&mut self, i: usize) {
        let e = self.spec(i).clone();
        let now = self.now;
        let nodes = (!e.nodes.is_empty()).then(|| {
            e.nodes
                .iter()
                .filter_map(|r| match *r {
                    NodeRef::Id(n) => Some(n),
                    NodeRef::Bound { name, offset } => {
                        self.schedule_binding(name).map(|n| (n + offset) % self.cluster.nodes)
                    }
                    NodeRef::Pick(_) => None,
                })
                .collect::<Vec<_>>()
        });
        let width = if e.per_node { self.cluster.nodes as usize } else { 1 };
        let seen = Seen {
            commit_start: self.expect.commit_max,
            issued_start: self.workload.issued(),
            counts: vec![0; width],
            span_start: now,
            ..Seen::default()
        };
        let mut seen = seen;
        if let Some(index) = e.index {
            // Nodes that applied it before the window count; their commands are not known.
            seen.entry = Some((index, None, now));
            seen.applied_on = (0..self.cluster.nodes)
                .filter(|&n| self.expect.applied_max[n as usize] >= index)
                .map(|n| (n, None))
                .collect();
            let need = e.count.unwrap_or(Count::Majority).of(self.cluster.nodes);
            if seen.applied_on.len() as u32 >= need {
                seen.applied_at = Some(now);
            }
        }
        let live = &mut self.expect.live[i];
        live.window = Window::Open { start: now };
        live.nodes = nodes;
        live.seen = seen;
        self.expect.track(e.kind, 1);
        if e.kind == ExpectKind::Leader {
            if let Some(l) = self.groups.leader(e.group) {
                if self.reaches_majority(l) {
                    self.expect.live[i].seen.leader = Some((l, now));
                }
            }
        }
        if let Some(within) = e.within {
            self.queue.push(now + within.0, Event::Expect { index: i as u32 });
        }
    }

    fn counts_node(&self, i: usize, node: NodeId) -> bool {
        self.expect.live[i].nodes.as_ref().is_none_or(|n| n.contains(&node))
    }

    /// True if `n` is up and can exchange messages, both ways, with a majority of the cluster
    /// (itself included) of nodes that are up.
    pub(super) fn reaches_majority(&self, n: NodeId) -> bool {
        if self.nodes[n as usize].node.is_none() {
            return false;
        }
        let nodes = self.cluster.nodes;
        let reach = (0..nodes)
            .filter(|&m| {
                m == n
                    || (self.nodes[m as usize].node.is_some()
                        && !self.network.is_cut(n, m)
                        && !self.network.is_cut(m, n))
            })
            .count() as u32;
        reach > nodes / 2
    }

    /// A fact was recorded. Returns the first safety expectation it violates.
    pub(super) fn expectations_on_fact(
        &mut self,
        node: NodeId,
        group: Group,
        fact: &Fact,
    ) -> Option<Violation> {
        match *fact {
            Fact::Commit { index, digest, .. } | Fact::LogCompact { index, digest, .. } => {
                self.expect.commit_max = self.expect.commit_max.max(index);
                let last = &mut self.expect.last_commit[node as usize];
                if index >= last.0 {
                    *last = (index, digest);
                }
            }
            _ => {}
        }
        if let Fact::Apply { index, .. } | Fact::LogCompact { index, .. } = *fact {
            let max = &mut self.expect.applied_max[node as usize];
            *max = (*max).max(index);
        }
        if self.expect.open_facts == 0 {
            return None;
        }
        let now = self.now;
        for i in 0..self.expect.live.len() {
            let Window::Open { start } = self.expect.live[i].window else { continue };
            let e = self.spec(i);
            let (kind, want_group, per) = (e.kind, e.group, e.per);
            if want_group.is_some_and(|g| g != group) || !self.counts_node(i, node) {
                continue;
            }
            let name = self.expect.live[i].name.clone();
            let window = format!("the window opened at {}", t(start));
            match (kind, fact) {
                (ExpectKind::Leader, Fact::Leader { .. })
                    if self.expect.live[i].seen.leader.is_none() && self.reaches_majority(node) =>
                {
                    self.expect.live[i].seen.leader = Some((node, now));
                }
                (ExpectKind::NoLeader, Fact::Leader { term }) => {
                    let detail = format!(
                        "n{node} became leader of term {term} at {}, inside {window}",
                        t(now)
                    );
                    return Some(self.violated(i, name, detail));
                }
                (ExpectKind::NoMinorityLeader, Fact::Leader { term })
                    if !self.reaches_majority(node) =>
                {
                    let detail = format!(
                        "n{node} became leader of term {term} at {} while it reached fewer than \
                         a majority of the {} nodes (up, not cut off either way)",
                        t(now),
                        self.cluster.nodes
                    );
                    return Some(self.violated(i, name, detail));
                }
                (ExpectKind::NoCommit, Fact::Commit { index, term, .. }) => {
                    let high = self.expect.live[i].seen.commit_start;
                    if *index > high {
                        let detail = format!(
                            "n{node} learned index {index} (term {term}) committed at {}, \
                             inside {window}, when the highest committed index had been {high}",
                            t(now)
                        );
                        return Some(self.violated(i, name, detail));
                    }
                }
                (ExpectKind::Applied, Fact::LogAppend { index, .. }) => {
                    let seen = &mut self.expect.live[i].seen;
                    if seen.entry.is_none() && self.groups.leader(want_group) == Some(node) {
                        seen.entry = Some((*index, Some(node), now));
                    }
                }
                (ExpectKind::Applied, Fact::Apply { index, .. })
                | (ExpectKind::Applied, Fact::LogCompact { index, .. }) => {
                    let need = e.count.unwrap_or(Count::Majority).of(self.cluster.nodes);
                    let seen = &mut self.expect.live[i].seen;
                    if let Some((entry, ..)) = seen.entry {
                        let (covers, command) = match *fact {
                            Fact::Apply { command, .. } => (*index == entry, Some(command)),
                            _ => (*index >= entry, None),
                        };
                        let first = seen.applied_on.iter().find_map(|(_, c)| *c);
                        if covers && command.is_some() && first.is_some() && command != first {
                            let detail = format!(
                                "n{node} applied command {:#x} at index {entry} at {}, others                                  applied {:#x} there",
                                command.unwrap_or(0),
                                t(now),
                                first.unwrap_or(0)
                            );
                            return Some(self.violated(i, name, detail));
                        }
                        if covers && !seen.applied_on.iter().any(|(n, _)| *n == node) {
                            seen.applied_on.push((node, command));
                        }
                        if seen.applied_on.len() as u32 >= need && seen.applied_at.is_none() {
                            seen.applied_at = Some(now);
                        }
                    }
                }
                (ExpectKind::Messages, Fact::Leader { term }) if per == Some(Per::Election) => {
                    self.end_count(i, &format!("before n{node} won term {term} at {}", t(now)));
                }
                _ => {}
            }
        }
        None
    }

    fn violated(&mut self, i: usize, name: String, detail: String) -> Violation {
        let kind = self.spec(i).kind;
        self.expect.live[i].result =
            Some(CheckResult::fail(name.clone(), detail.clone()).of_kind(kind_of(kind)));
        self.expect.live[i].window = Window::Closed;
        self.expect.track(kind, -1);
        Violation { check: name, detail }
    }

    /// A message left `from` (a node): count it for the open budgets. `name` is computed only
    /// when [`Expectations::counts_sends`] says a window counts.
    pub(super) fn expectations_on_send(&mut self, from: NodeId, name: &str, bytes: u64) {
        let now = self.now;
        for i in 0..self.expect.live.len() {
            if !matches!(self.expect.live[i].window, Window::Open { .. }) {
                continue;
            }
            let e = self.spec(i);
            let (kind, per, per_node) = (e.kind, e.per, e.per_node);
            match kind {
                ExpectKind::BytesPerCommit => self.expect.live[i].seen.bytes += bytes,
                ExpectKind::Messages => {
                    let counted = e.messages.iter().any(|m| m == name);
                    if let Some(Per::Span(span)) = per {
                        let start = self.expect.live[i].seen.span_start;
                        if now >= start + span {
                            let label = format!("in {}..{}", t(start), t(start + span));
                            self.end_count(i, &label);
                            let spans = (now - start) / span;
                            self.expect.live[i].seen.span_start = start + spans * span;
                        }
                    }
                    if !self.counts_node(i, from) {
                        continue;
                    }
                    let seen = &mut self.expect.live[i].seen;
                    if seen.kinds_sent.len() < 32 && !seen.kinds_sent.iter().any(|k| k == name) {
                        seen.kinds_sent.push(name.to_string());
                    }
                    if counted {
                        seen.counts[if per_node { from as usize } else { 0 }] += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// A message budget's election or span ends (`when` says which): keep the worst count.
    fn end_count(&mut self, i: usize, when: &str) {
        let max = self.spec(i).max.unwrap_or(0);
        let seen = &mut self.expect.live[i].seen;
        let (who, count) = seen
            .counts
            .iter()
            .enumerate()
            .max_by_key(|(n, c)| (**c, std::cmp::Reverse(*n)))
            .map(|(n, c)| (n, *c))
            .unwrap_or((0, 0));
        if seen.worst.as_ref().is_none_or(|(w, _)| count > *w) {
            let by = if seen.counts.len() > 1 { format!(" by n{who}") } else { String::new() };
            let over = if count > max { " (over budget)" } else { "" };
            seen.worst = Some((count, format!("{count} sent{by} {when}{over}")));
        }
        seen.counts.iter_mut().for_each(|c| *c = 0);
    }

    /// An fsync completed on `node`: sample its durable bytes for the open disk budgets.
    pub(super) fn expectations_on_disk(&mut self, node: NodeId) {
        let bytes = self.nodes[node as usize].disk.durable_bytes();
        let now = self.now;
        for i in 0..self.expect.live.len() {
            if self.spec(i).kind != ExpectKind::PersistedBytes
                || !matches!(self.expect.live[i].window, Window::Open { .. })
                || !self.counts_node(i, node)
            {
                continue;
            }
            let peaks = &mut self.expect.live[i].seen.disk_peak;
            match peaks.iter_mut().find(|(n, ..)| *n == node) {
                Some(p) if bytes > p.1 => *p = (node, bytes, now),
                Some(_) => {}
                None => peaks.push((node, bytes, now)),
            }
        }
    }

    /// Judges an open window now.
    fn close_window(&mut self, i: usize) {
        let Window::Open { start } = self.expect.live[i].window else { return };
        let e = self.spec(i).clone();
        self.expect.live[i].window = Window::Closed;
        self.expect.track(e.kind, -1);
        let name = self.expect.live[i].name.clone();
        let now = self.now;
        let span = format!("{}..{}", t(start), t(now));
        let max = e.max.unwrap_or(0);
        let result = match e.kind {
            ExpectKind::Leader => match self.expect.live[i].seen.leader {
                Some((n, at)) => {
                    CheckResult::pass(&name, format!("n{n} led with a majority at {}", t(at)))
                }
                None => CheckResult::fail(
                    &name,
                    format!(
                        "no node led while reaching a majority in {span}{}",
                        match self.groups.leader(e.group) {
                            Some(l) => format!(" (n{l} claims to lead, cut off from a majority)"),
                            None => String::new(),
                        }
                    ),
                ),
            },
            ExpectKind::NoLeader | ExpectKind::NoMinorityLeader | ExpectKind::NoCommit => {
                CheckResult::pass(&name, format!("held over {span}"))
            }
            ExpectKind::Applied => {
                let seen = &self.expect.live[i].seen;
                let need = e.count.unwrap_or(Count::Majority).of(self.cluster.nodes);
                let on = seen.applied_on.iter().map(|(n, _)| format!("n{n}")).collect::<Vec<_>>();
                let entry = |index: u64, by: Option<NodeId>, at: Nanos| match by {
                    Some(by) => format!("index {index} (appended by n{by} at {})", t(at)),
                    None => format!("index {index}"),
                };
                match (seen.entry, seen.applied_at) {
                    (None, _) if self.workload.issued() == seen.issued_start => {
                        CheckResult::not_judged(
                            &name,
                            format!("no client issued an operation in {span}: nothing to apply"),
                        )
                    }
                    (None, _) => CheckResult::fail(
                        &name,
                        format!("no leader appended an entry in {span}: nothing could apply"),
                    ),
                    (Some((index, by, at)), Some(done)) => CheckResult::pass(
                        &name,
                        format!("{} applied on {need} nodes by {}", entry(index, by, at), t(done)),
                    ),
                    (Some((index, by, at)), None) => CheckResult::fail(
                        &name,
                        format!(
                            "{} was applied on {} of the {need} nodes needed by {} ({})",
                            entry(index, by, at),
                            on.len(),
                            t(now),
                            if on.is_empty() { "none".into() } else { on.join(", ") }
                        ),
                    ),
                }
            }
            ExpectKind::Converged => {
                let nodes: Vec<NodeId> = (0..self.cluster.nodes)
                    .filter(|&n| self.nodes[n as usize].node.is_some() && self.counts_node(i, n))
                    .collect();
                let states: Vec<(NodeId, (u64, u64))> =
                    nodes.iter().map(|&n| (n, self.expect.last_commit[n as usize])).collect();
                let top = states.iter().map(|(_, s)| *s).max().unwrap_or((0, 0));
                let behind: Vec<String> = states
                    .iter()
                    .filter(|(_, s)| *s != top)
                    .map(|(n, (index, _))| format!("n{n} at {index}"))
                    .collect();
                if top.0 == 0 {
                    CheckResult::not_judged(&name, format!("nothing was committed by {}", t(now)))
                } else if behind.is_empty() {
                    CheckResult::pass(
                        &name,
                        format!(
                            "{} nodes up agree on the log up to index {} at {}",
                            nodes.len(),
                            top.0,
                            t(now)
                        ),
                    )
                } else {
                    CheckResult::fail(
                        &name,
                        format!(
                            "at {} the nodes up had not converged: the highest commit is index \
                             {}, but {}",
                            t(now),
                            top.0,
                            behind.join(", ")
                        ),
                    )
                }
            }
            ExpectKind::Messages => {
                self.end_count(i, &format!("in {span}"));
                let seen = &self.expect.live[i].seen;
                let none = !e.messages.iter().any(|m| seen.kinds_sent.contains(m));
                match &seen.worst {
                    _ if none && !seen.kinds_sent.is_empty() => CheckResult::not_judged(
                        &name,
                        format!(
                            "no message of {} was sent in {span}; kinds sent: {}",
                            e.messages.join(", "),
                            seen.kinds_sent.join(", ")
                        ),
                    ),
                    Some((worst, text)) if *worst > max => {
                        CheckResult::fail(&name, format!("{text}; the budget is {max}"))
                    }
                    Some((_, text)) => {
                        CheckResult::pass(&name, format!("at most {max}: the most was {text}"))
                    }
                    None => CheckResult::pass(&name, format!("nothing counted in {span}")),
                }
            }
            ExpectKind::BytesPerCommit => {
                let seen = &self.expect.live[i].seen;
                let commits = self.expect.commit_max.saturating_sub(seen.commit_start);
                if let Some(per) = seen.bytes.checked_div(commits) {
                    let text = format!(
                        "{} bytes on the wire for {commits} entries committed in {span}: {per} \
                         per entry (budget {max})",
                        seen.bytes
                    );
                    if per > max {
                        CheckResult::fail(&name, text)
                    } else {
                        CheckResult::pass(&name, text)
                    }
                } else {
                    CheckResult::not_judged(&name, format!("no entry was committed in {span}"))
                }
            }
            ExpectKind::PersistedBytes => {
                let peaks = &self.expect.live[i].seen.disk_peak;
                match peaks.iter().max_by_key(|p| (p.1, std::cmp::Reverse(p.0))) {
                    None => CheckResult::not_judged(&name, format!("no fsync completed in {span}")),
                    Some(&(n, bytes, at)) => {
                        let text = format!(
                            "the most durable bytes on one node was {bytes} (n{n} at {}; budget {max})",
                            t(at)
                        );
                        if bytes > max {
                            CheckResult::fail(&name, text)
                        } else {
                            CheckResult::pass(&name, text)
                        }
                    }
                }
            }
        };
        self.expect.live[i].result = Some(result.of_kind(kind_of(e.kind)));
    }

    /// The end of the run: close the windows still open, and say which never opened.
    pub(super) fn expectations_finish(&mut self) -> Vec<CheckResult> {
        let stopped = self.violation.is_some();
        for i in 0..self.expect.live.len() {
            let kind = self.spec(i).kind;
            match self.expect.live[i].window {
                Window::Open { .. } if stopped && kind.is_liveness() => {
                    let name = self.expect.live[i].name.clone();
                    let why = "not judged: the run stopped at a safety violation";
                    self.expect.live[i].result =
                        Some(CheckResult::not_judged(name, why).of_kind(kind_of(kind)));
                }
                Window::Open { .. } => self.close_window(i),
                Window::Waiting => {
                    let e = self.spec(i);
                    let why = match &e.after {
                        Some(after) => format!("not judged: the fault `{after}` never applied"),
                        None => "not judged: the run ended before the window opened".into(),
                    };
                    let name = self.expect.live[i].name.clone();
                    self.expect.live[i].result =
                        Some(CheckResult::not_judged(name, why).of_kind(kind_of(kind)));
                }
                Window::Closed => {}
            }
        }
        self.expect.live.iter_mut().filter_map(|l| l.result.take()).collect()
    }
}
