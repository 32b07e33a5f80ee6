//! Injecting faults: resolving symbolic targets, applying a fault to the world, the nemesis's
//! cycle, and the repair of everything when the quiet period starts.

use super::trace::TraceEvent;
use super::{AppliedFault, Event, Sim};
use crate::node::NodeId;
use crate::system::System;
use crate::world::fault::{Fault, NodeRef, Pick};
use crate::world::nemesis::repair_of;
use crate::world::network::HostId;

impl<S: System> Sim<'_, S> {
    fn up_nodes(&self) -> Vec<NodeId> {
        (0..self.cluster.nodes).filter(|&n| self.nodes[n as usize].node.is_some()).collect()
    }

    /// Resolves a node reference among `candidates`; `None` if there is no candidate. A
    /// group narrows the candidates to the nodes known in it (when any are known).
    fn resolve(&mut self, r: NodeRef, candidates: &[NodeId]) -> Option<NodeId> {
        let (leader, group) = match r {
            NodeRef::Id(n) => return Some(n),
            NodeRef::Pick(Pick::Leader { group }) => (true, group),
            NodeRef::Pick(Pick::Random { group }) => (false, group),
        };
        if leader {
            if let Some(l) = self.groups.leader(group).filter(|l| candidates.contains(l)) {
                return Some(l);
            }
        }
        let in_group: Vec<NodeId> = match group {
            Some(g) if self.groups.is_member(g, 0).is_some() => candidates
                .iter()
                .copied()
                .filter(|&n| self.groups.is_member(g, n) == Some(true))
                .collect(),
            _ => candidates.to_vec(),
        };
        self.resolver.pick(&in_group).copied()
    }

    /// Turns a possibly symbolic fault into a concrete one, or `None` if it cannot apply (for
    /// example a crash when every node is down).
    fn concretize(&mut self, fault: Fault) -> Option<Fault> {
        let all: Vec<NodeId> = (0..self.cluster.nodes).collect();
        let up = self.up_nodes();
        let down: Vec<NodeId> =
            all.iter().copied().filter(|&n| self.nodes[n as usize].node.is_none()).collect();
        let one =
            |sim: &mut Self, r: NodeRef, among: &[NodeId]| sim.resolve(r, among).map(NodeRef::Id);
        Some(match fault {
            Fault::Partition { groups: None } => {
                let mut nodes = all;
                if nodes.len() < 2 {
                    return None; // one node cannot be split
                }
                self.resolver.shuffle(&mut nodes);
                // A majority and the rest; two nodes split one against one.
                let keep = (nodes.len() / 2 + 1).min(nodes.len() - 1);
                let minority = nodes.split_off(keep);
                let mut groups = vec![nodes, minority];
                groups.iter_mut().for_each(|g| g.sort_unstable());
                Fault::Partition { groups: Some(groups) }
            }
            Fault::Bridge { groups: None, .. } | Fault::Bridge { bridge: None, .. } => {
                let mut nodes = all;
                if nodes.len() < 3 {
                    return None; // a bridge needs two halves and the node between them
                }
                self.resolver.shuffle(&mut nodes);
                let bridge = nodes.pop()?;
                let mut b = nodes.split_off(nodes.len() / 2);
                let mut a = nodes;
                a.sort_unstable();
                b.sort_unstable();
                Fault::Bridge { groups: Some([a, b]), bridge: Some(bridge) }
            }
            Fault::Isolate { node } => Fault::Isolate { node: one(self, node, &all)? },
            Fault::OneWay { from, to } => {
                let from = self.resolve(from, &all)?;
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
        })
    }

    /// Resolves, applies and records a fault. Returns the concrete fault if it applied.
    pub(super) fn inject(&mut self, fault: Fault) -> Option<Fault> {
        let concrete = self.concretize(fault)?;
        let detail = self.apply(&concrete)?;
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
        });
        Some(concrete)
    }

    fn id(r: &NodeRef) -> NodeId {
        match r {
            NodeRef::Id(n) => *n,
            NodeRef::Pick(_) => unreachable!("concretized"),
        }
    }

    /// Applies a concrete fault; returns a note on its effect, or `None` if it did nothing.
    fn apply(&mut self, fault: &Fault) -> Option<String> {
        let all: Vec<HostId> = (0..self.cluster.nodes).collect();
        match fault {
            Fault::Partition { groups } => {
                self.network.partition(groups.as_ref().expect("concretized"));
            }
            Fault::Isolate { node } => {
                let n = Self::id(node);
                let others: Vec<HostId> = all.iter().copied().filter(|&x| x != n).collect();
                self.network.cut_between(&[n], &others);
            }
            Fault::Bridge { groups, .. } => {
                let [a, b] = groups.as_ref().expect("concretized");
                self.network.cut_between(a, b);
            }
            Fault::OneWay { from, to } => {
                self.network.cut_one_way(Self::id(from), to.as_ref().expect("concretized"));
            }
            Fault::Heal => self.network.heal(),
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
            Fault::LinkDegrade { a, b, latency, loss } => {
                let mut link = self.base_link;
                link.latency += latency.0.max(0) as u64;
                link.loss_ppm = link.loss_ppm.max(loss.ppm());
                // Absent sets mean every host, clients included.
                self.network.set_links(a.as_deref(), b.as_deref(), link);
                self.links_degraded = true;
            }
            Fault::LinkRestore => {
                self.network.restore_links();
                self.links_degraded = false;
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
        if let Some(fault) = self.inject(strike.fault) {
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
            self.inject(Fault::Heal);
        }
        if self.links_degraded {
            self.inject(Fault::LinkRestore);
        }
        for n in 0..self.cluster.nodes {
            let slot = &self.nodes[n as usize];
            if slot.clock.drift_ppm() != slot.drift_initial_ppm {
                let ppm = slot.drift_initial_ppm;
                self.inject(Fault::ClockDrift { node: NodeRef::Id(n), ppm });
            }
            if self.nodes[n as usize].node.is_none() {
                self.inject(Fault::Restart { node: NodeRef::Id(n) });
            }
        }
    }
}
