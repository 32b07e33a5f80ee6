//! Partitions as labels. A cut labels some hosts, and whether it blocks a link is read from the
//! labels of the link's two ends: one label per host, never one flag per pair of hosts (two
//! halves of 1,000 nodes are a million pairs).
//!
//! - A partition labels each node with its group; hosts with different labels cannot talk, and
//!   unlabelled hosts (clients, nodes in no group, a bridge) talk to everyone.
//! - A one-way cut labels a sender and its receivers; only sender -> receiver is blocked.
//!
//! Cuts stack until a heal (a partition, then an isolation), and a link is cut while any cut
//! in force blocks it. A message in flight is lost on arrival, when the scenario says so, if a
//! cut made after it left blocks its link: each cut takes the next generation number, each
//! message carries the generation it left in, and a message whose generation is still current
//! skips the check. A healed cut is kept until every message sent before it has arrived.
//!
//! Limit: one cut per fault applied since the last heal (a repeat of a cut in force adds none),
//! so a scenario's fault limit bounds both the memory and the per-send check.

use super::HostId;
use crate::engine::Nanos;

/// No label: the host talks to everyone.
const UNLABELLED: u32 = 0;
/// A one-way cut's sender.
const SENDER: u32 = 1;
/// A one-way cut's receivers.
const RECEIVER: u32 = 2;

/// How a cut's labels read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Two labelled hosts with different labels cannot talk, either way.
    Groups,
    /// The `SENDER` cannot reach the `RECEIVER`s; everything else flows.
    OneWay,
}

/// One partition or one-way cut.
#[derive(Clone, Debug)]
struct Cut {
    generation: u32,
    shape: Shape,
    /// By host; hosts past the end are unlabelled (clients come after the nodes).
    labels: Vec<u32>,
    /// Every message sent before the cut arrives by then.
    arrivals_until: Nanos,
}

impl Cut {
    #[inline]
    fn label(&self, h: HostId) -> u32 {
        self.labels.get(h as usize).copied().unwrap_or(UNLABELLED)
    }

    #[inline]
    fn blocks(&self, from: HostId, to: HostId) -> bool {
        let (a, b) = (self.label(from), self.label(to));
        match self.shape {
            Shape::Groups => a != UNLABELLED && b != UNLABELLED && a != b,
            Shape::OneWay => a == SENDER && b == RECEIVER,
        }
    }

    /// True if the cut blocks at least one link.
    fn blocks_some(&self) -> bool {
        match self.shape {
            Shape::Groups => {
                let mut labelled = self.labels.iter().filter(|&&l| l != UNLABELLED);
                labelled.next().is_some_and(|&first| labelled.any(|&l| l != first))
            }
            Shape::OneWay => self.labels.contains(&RECEIVER),
        }
    }
}

/// Labels for a partition into `groups`.
fn group_labels<G: AsRef<[HostId]>>(groups: &[G]) -> Vec<u32> {
    let members = groups.iter().flat_map(|g| g.as_ref());
    let len = members.map(|&h| h as usize + 1).max().unwrap_or(0);
    let mut labels = vec![UNLABELLED; len];
    let groups_len = u32::try_from(groups.len()).expect("fewer than 2^32 groups");
    // A host listed in two groups is cut from every other member of both, as cutting each pair
    // of groups would do: it gets a label of its own, above the groups' labels.
    let mut own = groups_len;
    for (i, group) in groups.iter().enumerate() {
        let label = i as u32 + 1;
        for &h in group.as_ref() {
            let l = &mut labels[h as usize];
            if *l == UNLABELLED {
                *l = label;
            } else if *l != label && *l <= groups_len {
                own += 1;
                *l = own;
            }
        }
    }
    labels
}

/// Labels for cutting `from -> to` for each `to` but `from` itself.
fn one_way_labels(from: HostId, to: &[HostId]) -> Vec<u32> {
    let len = to.iter().chain([&from]).map(|&h| h as usize + 1).max().unwrap_or(0);
    let mut labels = vec![UNLABELLED; len];
    to.iter().for_each(|&t| labels[t as usize] = RECEIVER);
    labels[from as usize] = SENDER;
    labels
}

/// Every cut in force, and the healed ones a message in flight may still have crossed.
#[derive(Clone, Debug, Default)]
pub(super) struct Cuts {
    /// Oldest (lowest generation) first. `list[active..]` are in force; those before were
    /// healed and are kept while a message sent before them may still be in flight.
    list: Vec<Cut>,
    active: usize,
    /// The generation of the latest cut; messages sent now carry it.
    generation: u32,
}

impl Cuts {
    /// Adds a partition into `groups`.
    pub(super) fn partition<G: AsRef<[HostId]>>(&mut self, groups: &[G], arrivals_until: Nanos) {
        self.add(Shape::Groups, group_labels(groups), arrivals_until);
    }

    /// Adds a one-way cut from `from` to each of `to`.
    pub(super) fn one_way(&mut self, from: HostId, to: &[HostId], arrivals_until: Nanos) {
        self.add(Shape::OneWay, one_way_labels(from, to), arrivals_until);
    }

    fn add(&mut self, shape: Shape, labels: Vec<u32>, arrivals_until: Nanos) {
        let mut cut = Cut { generation: 0, shape, labels, arrivals_until };
        // A cut that blocks nothing, or one already in force, changes no link: as with cutting
        // links one by one, it starts no new generation and drops nothing in flight.
        let in_force = |c: &Cut| c.shape == shape && c.labels == cut.labels;
        if !cut.blocks_some() || self.list[self.active..].iter().any(in_force) {
            return;
        }
        self.generation = self.generation.wrapping_add(1);
        cut.generation = self.generation;
        self.list.push(cut);
    }

    /// Lifts every cut. Messages in flight are judged by the cuts they crossed all the same.
    pub(super) fn heal(&mut self) {
        self.active = self.list.len();
    }

    /// Forgets the healed cuts that no message in flight can have crossed: those whose
    /// `arrivals_until` satisfies `passed` (oldest first, as they were made).
    pub(super) fn forget_healed(&mut self, passed: impl Fn(Nanos) -> bool) {
        let done = self.list[..self.active].iter().take_while(|c| passed(c.arrivals_until));
        let done = done.count();
        self.list.drain(..done);
        self.active -= done;
    }

    /// True if any cut is in force (at least one link is cut). O(1).
    #[inline]
    pub(super) fn any(&self) -> bool {
        self.active < self.list.len()
    }

    /// True if a cut in force blocks `from -> to`.
    #[inline]
    pub(super) fn blocks(&self, from: HostId, to: HostId) -> bool {
        self.list[self.active..].iter().any(|c| c.blocks(from, to))
    }

    /// True if a cut made after generation `epoch` (healed since or not) blocks `from -> to`.
    pub(super) fn blocked_since(&self, epoch: u32, from: HostId, to: HostId) -> bool {
        // Generations wrap: compare distances back from the current one.
        let age = self.generation.wrapping_sub(epoch);
        let after = |c: &&Cut| {
            let d = c.generation.wrapping_sub(epoch);
            d != 0 && d <= age
        };
        self.list.iter().rev().take_while(after).any(|c| c.blocks(from, to))
    }

    /// The generation messages sent now carry.
    #[inline]
    pub(super) fn generation(&self) -> u32 {
        self.generation
    }

    /// Cuts remembered, in force or healed.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.list.len()
    }

    /// Bytes of heap memory held.
    pub(super) fn heap_bytes(&self) -> usize {
        let labels: usize = self.list.iter().map(|c| c.labels.capacity() * 4).sum();
        labels + self.list.capacity() * std::mem::size_of::<Cut>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_in_two_groups_gets_a_label_of_its_own() {
        let labels = group_labels(&[vec![0, 1, 2], vec![2, 3], vec![4, 4]]);
        assert_eq!(labels, [1, 1, 4, 2, 3]);
        let labels = group_labels(&[vec![5], vec![5], vec![5, 6]]);
        assert_eq!(labels[5..], [4, 3]);
    }

    #[test]
    fn cuts_that_block_nothing_or_are_in_force_start_no_generation() {
        let mut cuts = Cuts::default();
        cuts.partition(&[vec![0, 1, 2]], 0);
        cuts.partition(&[vec![1], vec![1]], 0);
        cuts.one_way(3, &[3], 0);
        assert!(!cuts.any());
        assert_eq!(cuts.generation(), 0);
        cuts.partition(&[vec![0], vec![1]], 0);
        cuts.partition(&[vec![0], vec![1]], 0);
        assert_eq!((cuts.generation(), cuts.len()), (1, 1));
    }
}
