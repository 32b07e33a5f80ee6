//! Injecting faults: the schedule's triggers, conditions, coin flips and bindings; resolving
//! symbolic targets; applying a fault to the world; the nemesis's cycle; and the repair of
//! everything when the quiet period starts.

use super::trace::TraceEvent;
use super::{AppliedFault, Event, Sim, SkippedFault};
use crate::engine::{rng::stream, Nanos, SimRng};
use crate::node::{Fact, NodeId};
use crate::system::System;
use crate::world::fault::{Degrade, Fault, Name, NodeRef, Pick, ScheduledFault, Side};
use crate::world::nemesis::repair_of;
use crate::world::network::HostId;

/// Where a scheduled fault is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Its time (or its `after` fault) has not come.
    Pending,
    /// Due, watching for its `when` fact.
    Armed,
    /// Its trigger came; it applies at the queued time.
    Triggered,
    /// Due, but its target cannot be resolved yet (`missing = "wait"`).
    Waiting,
    /// Applied or skipped.
    Done,
}

/// The scenario's fault schedule as it unfolds in one run: what each fault drew at the start,
/// where it stands, the bindings made, the cuts in force (for `connect`) and the faults
/// skipped.
#[derive(Debug, Default)]
pub(super) struct Schedule {
    /// Per scheduled fault: applies this seed (its `probability` coin).
    coin: Vec<bool>,
    /// Per scheduled fault: its drawn `delay`.
    delay: Vec<Nanos>,
    state: Vec<State>,
    /// Per scheduled fault: the faults whose `after` names it.
    dependents: Vec<Vec<u32>>,
    /// Faults watching for their `when` fact.
    armed: Vec<u32>,
    /// Faults waiting for their target.
    waiting: Vec<u32>,
    /// `bind` names and the nodes they hold.
    bindings: Vec<(Name, NodeId)>,
    /// Per scheduled fault: the node whose fact triggered it (`when`), for `RECORDER`.
    recorder: Vec<Option<NodeId>>,
    /// The scheduled fault being applied now, if any.
    firing: Option<u32>,
    /// Concrete cuts in force since the last heal, for `connect`.
    cuts: Vec<Fault>,
    pub(super) skipped: Vec<SkippedFault>,
}

impl Schedule {
    /// Draws each fault's time, delay and coin (from the schedule's own stream, so a scenario
    /// without ranges or coins draws nothing) and returns the faults to queue now, by time.
    pub(super) fn new(faults: &[ScheduledFault], seed: u64) -> (Schedule, Vec<(Nanos, u32)>) {
        let mut rng = SimRng::new(seed, stream::SCHEDULE);
        let mut schedule = Schedule::default();
        let mut queue = Vec::new();
        let index_of =
            |name: &str| faults.iter().position(|f| f.plan.name.as_deref() == Some(name));
        schedule.dependents = vec![Vec::new(); faults.len()];
        for (i, f) in faults.iter().enumerate() {
            let p = &f.plan;
            let at = match p.at_max {
                Some(max) => rng.between(f.at, max),
                None => f.at,
            };
            let delay = match p.delay {
                Some((a, b)) if b > a => rng.between(a, b),
                Some((a, _)) => a,
                None => 0,
            };
            let coin = match p.probability {
                Some(prob) => rng.below(1_000_000) < u64::from(prob.ppm()),
                None => true,
            };
            schedule.coin.push(coin);
            schedule.delay.push(delay);
            schedule.recorder.push(None);
            schedule.state.push(State::Pending);
            match p.after.as_deref().and_then(index_of) {
                Some(j) => schedule.dependents[j].push(i as u32),
                None => queue.push((at, i as u32)),
            }
        }
        (schedule, queue)
    }
}

impl<S: System> Sim<'_, S> {
    fn up_nodes(&self) -> Vec<NodeId> {
        (0..self.cluster.nodes).filter(|&n| self.nodes[n as usize].node.is_some()).collect()
    }

    /// A scheduled fault (`scenario.faults[index]`) is due: arm it, skip it, wait, or apply it.
    pub(super) fn scheduled_fault(&mut self, index: u32) {
        let i = index as usize;
        let planned = &self.scenario.faults[i];
        let plan = &planned.plan;
        match self.schedule.state[i] {
            State::Done => return,
            State::Pending if plan.when.is_some() => {
                self.schedule.state[i] = State::Armed;
                self.schedule.armed.push(index);
                return;
            }
            _ => {}
        }
        if !self.schedule.coin[i] {
            let p = plan.probability.map_or(0, |p| p.ppm());
            let why = format!("its coin (probability {}) came up no this seed", p as f64 / 1e6);
            return self.skip(index, why);
        }
        if let Some(c) = plan.condition {
            let up = self.up_nodes().len() as u32;
            let leader = self.groups.leader(None).is_some();
            if !c.holds(up, self.cluster.nodes, leader) {
                let lead = if leader { "a leader" } else { "no leader" };
                let why = format!("`if {c}` was false ({up} of {} up, {lead})", self.cluster.nodes);
                return self.skip(index, why);
            }
        }
        let fault = planned.fault.clone();
        self.schedule.firing = Some(index);
        let concrete = self.concretize(fault, false);
        self.schedule.firing = None;
        match concrete {
            Ok((concrete, note)) => {
                self.schedule.state[i] = State::Done;
                let name = plan.name.clone();
                if let (Some(bind), Some(NodeRef::Id(n))) =
                    (plan.bind, crate::scenario::bound_target(&concrete))
                {
                    self.schedule.bindings.retain(|(b, _)| *b != bind);
                    self.schedule.bindings.push((bind, n));
                }
                if self.apply_concrete(concrete, note, name.clone()).is_none() {
                    return self.skip(index, "it had no effect (nothing to do)".into());
                }
                if let Some(name) = &name {
                    self.expectations_on_fault(name);
                }
                for j in std::mem::take(&mut self.schedule.dependents[i]) {
                    let at = self.now + self.schedule.delay[j as usize];
                    self.queue.push(at, Event::Fault { index: j });
                }
            }
            Err(why) if plan.wait => {
                if self.schedule.state[i] != State::Waiting {
                    self.schedule.state[i] = State::Waiting;
                    let fault = planned.fault.describe();
                    self.trace_record(|_| TraceEvent::Fault {
                        fault,
                        detail: format!("waiting: {why}"),
                    });
                }
                self.schedule.waiting.push(index);
            }
            Err(why) => self.skip(index, why),
        }
    }

    /// Records that scheduled fault `index` did not apply, and skips the faults after it.
    fn skip(&mut self, index: u32, why: String) {
        let i = index as usize;
        self.schedule.state[i] = State::Done;
        let planned = &self.scenario.faults[i];
        let fault = planned.fault.describe();
        let name = planned.plan.name.clone();
        self.hash.add(0x5c1b);
        let (f, w) = (fault.clone(), why.clone());
        self.trace_record(|_| TraceEvent::Fault { fault: f, detail: format!("skipped: {w}") });
        self.schedule.skipped.push(SkippedFault {
            at_ns: self.now,
            fault,
            name: name.clone(),
            why,
        });
        for j in std::mem::take(&mut self.schedule.dependents[i]) {
            let why =
                format!("it comes after `{}`, which was skipped", name.as_deref().unwrap_or("?"));
            self.skip(j, why);
        }
    }

    /// A fact was recorded: trigger the faults watching for it, and retry the faults waiting
    /// for a leader. Costs nothing while no fault watches or waits.
    pub(super) fn schedule_on_fact(&mut self, node: NodeId, fact: &Fact) {
        if !self.schedule.armed.is_empty() {
            let name = fact.name();
            let faults = &self.scenario.faults;
            let (fire, keep): (Vec<u32>, Vec<u32>) = self
                .schedule
                .armed
                .iter()
                .partition(|&&i| faults[i as usize].plan.when.as_deref() == Some(name));
            self.schedule.armed = keep;
            for i in fire {
                self.schedule.state[i as usize] = State::Triggered;
                self.schedule.recorder[i as usize] = Some(node);
                let at = self.now + self.schedule.delay[i as usize];
                self.queue.push(at, Event::Fault { index: i });
            }
        }
        if matches!(fact, Fact::Leader { .. }) {
            self.retry_waiting();
        }
    }

    /// Queues the faults waiting for a target again (a leader was elected, a node started).
    pub(super) fn retry_waiting(&mut self) {
        for i in std::mem::take(&mut self.schedule.waiting) {
            self.queue.push(self.now, Event::Fault { index: i });
        }
    }

    /// At the end of the run: the faults that never came, waited in vain, or never triggered.
    pub(super) fn schedule_finish(&mut self) {
        for i in 0..self.scenario.faults.len() {
            let plan = &self.scenario.faults[i].plan;
            let why = match self.schedule.state[i] {
                State::Done | State::Triggered => continue,
                State::Armed => format!(
                    "no `{}` fact was recorded after it came due",
                    plan.when.as_deref().unwrap_or("?")
                ),
                State::Waiting => "its target could not be resolved before the run ended".into(),
                State::Pending => match &plan.after {
                    Some(after) => format!("`{after}`, which it comes after, never applied"),
                    None => continue, // due after the run stopped (at a violation)
                },
            };
            self.skip(i as u32, why);
        }
    }

    /// The node bound to `name`, if a fault bound it.
    pub(super) fn schedule_binding(&self, name: Name) -> Option<NodeId> {
        self.schedule.bindings.iter().find(|(b, _)| *b == name).map(|&(_, n)| n)
    }

    /// Resolves a node reference among `candidates`, or says why it cannot be. A group narrows
    /// the candidates to the nodes known in it (when any are known).
    fn resolve(&mut self, r: NodeRef, candidates: &[NodeId]) -> Result<NodeId, String> {
        let group = match r {
            NodeRef::Id(n) => return Ok(n),
            NodeRef::Bound { name, offset } if name.is_recorder() => {
                let recorder =
                    self.schedule.firing.and_then(|i| self.schedule.recorder[i as usize]);
                return match recorder {
                    Some(n) => Ok((n + offset) % self.cluster.nodes),
                    None => Err("`RECORDER`: no fact triggered this fault".into()),
                };
            }
            NodeRef::Bound { name, offset } => {
                return match self.schedule_binding(name) {
                    Some(n) => Ok((n + offset) % self.cluster.nodes),
                    None => Err(format!("`{name}` is not bound yet (no fault bound it)")),
                };
            }
            NodeRef::Pick(Pick::Leader { group })
            | NodeRef::Pick(Pick::Random { group })
            | NodeRef::Pick(Pick::Follower { group, .. }) => group,
        };
        let of = group.map(|g| format!(" of group {g}")).unwrap_or_default();
        let leader = self.groups.leader(group);
        if let NodeRef::Pick(Pick::Leader { .. }) = r {
            return match leader {
                Some(l) if candidates.contains(&l) => Ok(l),
                Some(l) => Err(format!("the leader{of}, n{l}, is not a candidate for it")),
                None => Err(format!("no leader{of} now")),
            };
        }
        let in_group: Vec<NodeId> = match group {
            Some(g) if self.groups.is_member(g, 0).is_some() => candidates
                .iter()
                .copied()
                .filter(|&n| self.groups.is_member(g, n) == Some(true))
                .collect(),
            _ => candidates.to_vec(),
        };
        match r {
            NodeRef::Pick(Pick::Follower { nth, .. }) => {
                let followers: Vec<NodeId> =
                    in_group.into_iter().filter(|&n| Some(n) != leader).collect();
                match nth {
                    Some(k) => followers.get(k as usize).copied().ok_or_else(|| {
                        format!("no follower:{k}{of}: {} candidate followers", followers.len())
                    }),
                    None => self
                        .resolver
                        .pick(&followers)
                        .copied()
                        .ok_or_else(|| format!("no follower{of} is a candidate")),
                }
            }
            _ => self
                .resolver
                .pick(&in_group)
                .copied()
                .ok_or_else(|| format!("no node{of} is a candidate")),
        }
    }

    /// Turns a possibly symbolic fault into a concrete one, or says why it cannot apply (a
    /// crash when every node is down, no leader now). With `fallback`, a leader pick with no
    /// leader takes a random node instead, and the note says so (the nemesis's way).
    fn concretize(&mut self, fault: Fault, fallback: bool) -> Result<(Fault, String), String> {
        let all: Vec<NodeId> = (0..self.cluster.nodes).collect();
        let up = self.up_nodes();
        let down: Vec<NodeId> =
            all.iter().copied().filter(|&n| self.nodes[n as usize].node.is_none()).collect();
        let mut note = String::new();
        let mut one = |sim: &mut Self, r: NodeRef, among: &[NodeId]| match sim.resolve(r, among) {
            Ok(n) => Ok(NodeRef::Id(n)),
            Err(why) => match r {
                NodeRef::Pick(Pick::Leader { group }) if fallback => {
                    let n = sim.resolve(NodeRef::Pick(Pick::Random { group }), among)?;
                    note = format!("{why}: n{n} at random instead");
                    Ok(NodeRef::Id(n))
                }
                _ => Err(why),
            },
        };
        let concrete = match fault {
            Fault::Partition { groups: None } => {
                let mut nodes = all;
                if nodes.len() < 2 {
                    return Err("one node cannot be split".into());
                }
                self.resolver.shuffle(&mut nodes);
                // A majority and the rest; two nodes split one against one.
                let keep = (nodes.len() / 2 + 1).min(nodes.len() - 1);
                let minority = nodes.split_off(keep);
                let mut groups = vec![nodes, minority];
                groups.iter_mut().for_each(|g| g.sort_unstable());
                Fault::Partition { groups: Some(crate::world::fault::sides(groups)) }
            }
            Fault::Partition { groups: Some(sides) } if sides.iter().all(|s| s.ids().is_some()) => {
                Fault::Partition { groups: Some(sides) }
            }
            Fault::Partition { groups: Some(sides) } => {
                let mut groups: Vec<Option<Vec<NodeId>>> = Vec::with_capacity(sides.len());
                for side in &sides {
                    groups.push(match side {
                        Side::Rest => None,
                        Side::Nodes(refs) => {
                            let mut ids = Vec::with_capacity(refs.len());
                            for r in refs {
                                ids.push(self.resolve(*r, &all)?);
                            }
                            ids.sort_unstable();
                            ids.dedup();
                            Some(ids)
                        }
                    });
                }
                let named: Vec<NodeId> = groups.iter().flatten().flatten().copied().collect();
                let rest: Vec<NodeId> =
                    all.iter().copied().filter(|n| !named.contains(n)).collect();
                let groups: Vec<Vec<NodeId>> =
                    groups.into_iter().map(|g| g.unwrap_or_else(|| rest.clone())).collect();
                if let Some(i) = groups.iter().position(|g| g.is_empty()) {
                    return Err(format!("side {i} of the partition resolved to no node"));
                }
                Fault::Partition { groups: Some(crate::world::fault::sides(groups)) }
            }
            Fault::Bridge { groups: None, .. } | Fault::Bridge { bridge: None, .. } => {
                let mut nodes = all;
                if nodes.len() < 3 {
                    return Err("a bridge needs two halves and the node between them".into());
                }
                self.resolver.shuffle(&mut nodes);
                let bridge = nodes.pop().expect("3 nodes or more");
                let mut b = nodes.split_off(nodes.len() / 2);
                let mut a = nodes;
                a.sort_unstable();
                b.sort_unstable();
                Fault::Bridge { groups: Some([a, b]), bridge: Some(bridge) }
            }
            Fault::Isolate { node } => Fault::Isolate { node: one(self, node, &all)? },
            Fault::Connect { node } => Fault::Connect { node: one(self, node, &all)? },
            Fault::OneWay { from, to } => {
                let NodeRef::Id(from) = one(self, from, &all)? else { unreachable!() };
                let to = to.unwrap_or_else(|| all.iter().copied().filter(|&n| n != from).collect());
                Fault::OneWay { from: NodeRef::Id(from), to: Some(to) }
            }
            Fault::Crash { node } => Fault::Crash { node: one(self, node, &up)? },
            Fault::Restart { node } => Fault::Restart { node: one(self, node, &down)? },
            Fault::ClockJump { node, by } => Fault::ClockJump { node: one(self, node, &all)?, by },
            Fault::ClockDrift { node, ppm } => {
                Fault::ClockDrift { node: one(self, node, &all)?, ppm }
            }
            Fault::DiskCorrupt { node } => Fault::DiskCorrupt { node: one(self, node, &all)? },
            Fault::DiskSectorError { node } => {
                Fault::DiskSectorError { node: one(self, node, &all)? }
            }
            Fault::DiskMisdirect { node } => Fault::DiskMisdirect { node: one(self, node, &all)? },
            other => other,
        };
        Ok((concrete, note))
    }

    /// Resolves, applies and records a fault that is not one of the schedule's (a repair, the
    /// nemesis's, the quiet period's). Returns the concrete fault if it applied.
    pub(super) fn inject(&mut self, fault: Fault, fallback: bool) -> Option<Fault> {
        let (concrete, note) = self.concretize(fault, fallback).ok()?;
        self.apply_concrete(concrete, note, None)
    }

    /// Applies and records a concrete fault; `note` prefixes what it did.
    fn apply_concrete(
        &mut self,
        concrete: Fault,
        note: String,
        name: Option<String>,
    ) -> Option<Fault> {
        let detail = self.apply(&concrete)?;
        let detail = match (note.is_empty(), detail.is_empty()) {
            (true, _) => detail,
            (false, true) => note,
            (false, false) => format!("{note}; {detail}"),
        };
        self.hash.add(0xfa17);
        self.hash.add_bytes(concrete.kind().as_bytes());
        let describe = concrete.describe();
        let event = TraceEvent::Fault { fault: describe, detail: detail.clone() };
        self.trace_record(|_| event);
        self.fault_log.push(AppliedFault {
            at_ns: self.now,
            kind: concrete.kind().to_string(),
            description: concrete.describe(),
            detail,
            fault: concrete.clone(),
            name,
        });
        Some(concrete)
    }

    fn id(r: &NodeRef) -> NodeId {
        match r {
            NodeRef::Id(n) => *n,
            NodeRef::Pick(_) | NodeRef::Bound { .. } => unreachable!("concretized"),
        }
    }

    /// Cuts the links a concrete partition, isolation, bridge or one-way cut names.
    fn cut(&mut self, fault: &Fault) {
        match fault {
            Fault::Partition { groups } => {
                let groups = groups.as_ref().expect("concretized");
                let ids: Vec<Vec<HostId>> =
                    groups.iter().map(|s| s.ids().expect("concretized")).collect();
                self.network.partition(&ids);
            }
            Fault::Isolate { node } => {
                let n = Self::id(node);
                let others: Vec<HostId> = (0..self.cluster.nodes).filter(|&x| x != n).collect();
                self.network.cut_between(&[n], &others);
            }
            Fault::Bridge { groups, .. } => {
                let [a, b] = groups.as_ref().expect("concretized");
                self.network.cut_between(a, b);
            }
            Fault::OneWay { from, to } => {
                self.network.cut_one_way(Self::id(from), to.as_ref().expect("concretized"));
            }
            _ => unreachable!("not a cut: {fault:?}"),
        }
    }

    /// Rejoins node `n`: every cut in force is made again without it.
    fn connect(&mut self, n: NodeId) -> Option<String> {
        let before = std::mem::take(&mut self.schedule.cuts);
        if before.iter().all(|c| without(c.clone(), n).as_ref() == Some(c)) {
            self.schedule.cuts = before;
            return None; // nothing separates it
        }
        self.network.heal();
        for cut in before {
            if let Some(cut) = without(cut, n) {
                self.cut(&cut);
                self.schedule.cuts.push(cut);
            }
        }
        Some(format!("n{n} rejoined; {} cuts stay", self.schedule.cuts.len()))
    }

    /// Applies a concrete fault; returns a note on its effect, or `None` if it did nothing.
    fn apply(&mut self, fault: &Fault) -> Option<String> {
        match fault {
            Fault::Partition { .. }
            | Fault::Isolate { .. }
            | Fault::Bridge { .. }
            | Fault::OneWay { .. } => {
                self.cut(fault);
                self.schedule.cuts.push(fault.clone());
            }
            Fault::Connect { node } => return self.connect(Self::id(node)),
            Fault::Heal => {
                self.network.heal();
                self.schedule.cuts.clear();
            }
            Fault::Crash { node } => return self.crash(Self::id(node)),
            Fault::Restart { node } => {
                let n = Self::id(node);
                if self.nodes[n as usize].node.is_some() {
                    return None;
                }
                self.start_node(n);
            }
            Fault::ClockJump { node, by } => {
                let n = Self::id(node);
                self.nodes[n as usize].clock.jump(self.now, by.0);
                self.reschedule_timers(n);
                let skew = self.nodes[n as usize].clock.skew(self.now);
                return Some(format!("n{n} clock now off by {}ns", skew));
            }
            Fault::ClockDrift { node, ppm } => {
                let n = Self::id(node);
                self.nodes[n as usize].clock.set_drift(self.now, *ppm);
                self.reschedule_timers(n);
            }
            Fault::DiskCorrupt { node } => {
                let n = Self::id(node);
                let (file, offset) = self.nodes[n as usize].disk.corrupt()?;
                return Some(format!("n{n} {file} bit flipped at byte {offset}"));
            }
            Fault::DiskSectorError { node } => {
                let n = Self::id(node);
                let (file, offset) = self.nodes[n as usize].disk.fail_sector()?;
                return Some(format!("n{n} {file} sector at {offset} unreadable"));
            }
            Fault::DiskMisdirect { node } => {
                let n = Self::id(node);
                let nth = self.nodes[n as usize].disk.arm_misdirect();
                return Some(format!("n{n} write {nth} from now lands in the wrong place"));
            }
            Fault::LinkDegrade(d) => {
                // Absent sets mean every host, clients included.
                let link = d.link(self.base_link);
                self.network.set_links_for(d.a.as_deref(), d.b.as_deref(), d.scope(), link);
                self.degrades.push(d.clone());
                // Liveness is then judged over degraded links, and says so.
                self.degraded_in_quiet |= self.now >= self.quiet_start_or_end();
            }
            Fault::LinkRestore => {
                self.network.restore_links();
                self.degrades.clear();
            }
        }
        Some(String::new())
    }

    fn crash(&mut self, n: NodeId) -> Option<String> {
        let slot = &mut self.nodes[n as usize];
        slot.node.take()?;
        slot.timers.clear();
        let lost = slot.disk.unsynced_bytes();
        slot.disk.crash();
        slot.incarnation += 1;
        self.groups.crashed(n);
        self.gauges.crashed(self.now, n);
        for checker in &mut self.fact_checkers {
            checker.checker.on_crash(self.now, n);
        }
        Some(format!("n{n} lost {lost} unsynced bytes"))
    }

    /// After a clock change, queue each pending timer again at its new global time. Entries
    /// that become early are re-queued when they fire; late ones find the timer gone.
    fn reschedule_timers(&mut self, n: NodeId) {
        let slot = &self.nodes[n as usize];
        let pending: Vec<_> = slot.timers.pending().collect();
        for (id, deadline) in pending {
            let at = self.nodes[n as usize].clock.global_at(self.now, deadline);
            self.queue.push(at, Event::Timer { node: n, id });
        }
    }

    pub(super) fn nemesis_strike(&mut self) {
        if self.now >= self.quiet_start_or_end() {
            return;
        }
        let Some(nemesis) = self.nemesis.as_mut() else { return };
        let strike = nemesis.strike();
        if let Some(fault) = self.inject(strike.fault, true) {
            // Strikes never overlap, so a drifted clock returns to its initial drift.
            let before = match &fault {
                Fault::ClockDrift { node, .. } => {
                    self.nodes[Self::id(node) as usize].drift_initial_ppm
                }
                _ => 0,
            };
            if let Some(repair) = repair_of(&fault, before) {
                self.repairs.push(repair);
                let index = (self.repairs.len() - 1) as u32;
                self.queue.push(self.now + strike.lasts, Event::Repair { index });
            }
        }
        let next = self.now + strike.lasts + strike.then_pause;
        self.queue.push(next, Event::Nemesis);
    }

    /// The quiet period starts: repair everything so the system can show it recovers.
    pub(super) fn quiet_start(&mut self) {
        self.trace_record(|_| TraceEvent::QuietStart);
        if self.network.any_cut() {
            self.inject(Fault::Heal, false);
        }
        if self.degrades.iter().any(|d| !d.through_quiet) {
            // The degrades that stand through the quiet period are applied again, in order,
            // after the restore: the log shows both, and replays as it ran.
            let standing: Vec<Degrade> =
                self.degrades.iter().filter(|d| d.through_quiet).cloned().collect();
            self.inject(Fault::LinkRestore, false);
            for d in standing {
                self.inject(Fault::LinkDegrade(d), false);
            }
        }
        self.degraded_in_quiet = !self.degrades.is_empty();
        for n in 0..self.cluster.nodes {
            let slot = &self.nodes[n as usize];
            if slot.clock.drift_ppm() != slot.drift_initial_ppm {
                let ppm = slot.drift_initial_ppm;
                self.inject(Fault::ClockDrift { node: NodeRef::Id(n), ppm }, false);
            }
            if self.nodes[n as usize].node.is_none() {
                self.inject(Fault::Restart { node: NodeRef::Id(n) }, false);
            }
        }
    }
}

/// `cut` without node `n` in it: what stays cut once `n` rejoins (`None`: nothing).
fn without(cut: Fault, n: NodeId) -> Option<Fault> {
    let keep = |g: &Vec<NodeId>| g.iter().copied().filter(|&x| x != n).collect::<Vec<_>>();
    match cut {
        Fault::Partition { groups: Some(sides) } => {
            let groups: Vec<Vec<NodeId>> = sides
                .iter()
                .map(|s| keep(&s.ids().expect("concretized")))
                .filter(|g| !g.is_empty())
                .collect();
            (groups.len() >= 2)
                .then(|| Fault::Partition { groups: Some(crate::world::fault::sides(groups)) })
        }
        Fault::Isolate { node: NodeRef::Id(m) } => (m != n).then_some(cut),
        Fault::Bridge { groups: Some([a, b]), bridge } => {
            let (a, b) = (keep(&a), keep(&b));
            (!a.is_empty() && !b.is_empty())
                .then_some(Fault::Bridge { groups: Some([a, b]), bridge })
        }
        Fault::OneWay { from: NodeRef::Id(from), to: Some(to) } if from != n => {
            let to = keep(&to);
            (!to.is_empty()).then_some(Fault::OneWay { from: NodeRef::Id(from), to: Some(to) })
        }
        _ => None,
    }
}
