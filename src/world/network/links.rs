//! How each link behaves: one default for every link, and overrides for the links a fault
//! degraded between two sets of hosts.
//!
//! A degrade of every link changes the default; a degrade between sets `a` and `b` is one
//! override holding the two sets (a bit per host), not one entry per pair: sets of 1,000 hosts
//! would be a million pairs. An override may cover one direction (`a` to `b`) or one class of
//! message (requests or replies) only. The newest override that covers a message's link,
//! direction and class wins, as if each degrade had set its links one by one: a later degrade
//! of the same links and messages replaces an earlier one, and one of fewer messages (replies
//! only) leaves the rest as they were. Restoring drops the overrides: O(overrides).
//!
//! Limit: one override per degrade since the last restore or degrade of every link, fewer when
//! a newer one hides an older one entirely; a scenario's fault limit bounds them.

use super::{HostId, LinkConfig, MessageClass, Scope};

/// A set of hosts, one bit each.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HostSet {
    words: Vec<u64>,
}

impl HostSet {
    fn empty(hosts: usize) -> Self {
        HostSet { words: vec![0; hosts.div_ceil(64)] }
    }

    fn all(hosts: usize) -> Self {
        let mut set = HostSet::empty(hosts);
        (0..hosts as HostId).for_each(|h| set.insert(h));
        set
    }

    fn of(members: &[HostId], hosts: usize) -> Self {
        let mut set = HostSet::empty(hosts);
        members.iter().for_each(|&h| set.insert(h));
        set
    }

    fn insert(&mut self, h: HostId) {
        assert!((h as usize) < self.words.len() * 64, "host {h} is not on the network");
        self.words[h as usize / 64] |= 1 << (h % 64);
    }

    #[inline]
    fn contains(&self, h: HostId) -> bool {
        self.words.get(h as usize / 64).is_some_and(|w| w >> (h % 64) & 1 == 1)
    }

    fn is_subset(&self, other: &HostSet) -> bool {
        self.words.iter().zip(&other.words).all(|(a, b)| a & !b == 0)
    }
}

/// The links between `a` and `b` (both ways, or from `a` to `b` only), for the messages of
/// `scope`, behave as `link`.
#[derive(Clone, Debug)]
struct Override {
    a: HostSet,
    b: HostSet,
    scope: Scope,
    link: LinkConfig,
}

impl Override {
    #[inline]
    fn covers(&self, from: HostId, to: HostId, class: MessageClass) -> bool {
        self.scope.class.is_none_or(|c| c == class)
            && ((self.a.contains(from) && self.b.contains(to))
                || (!self.scope.one_way && self.b.contains(from) && self.a.contains(to)))
    }

    /// Every message `self` covers, `other` covers too.
    fn within(&self, other: &Override) -> bool {
        let class = other.scope.class.is_none_or(|c| self.scope.class == Some(c));
        // Each of `self`'s directions, carried by one of `other`'s.
        let straight = self.a.is_subset(&other.a) && self.b.is_subset(&other.b);
        let crossed = self.a.is_subset(&other.b) && self.b.is_subset(&other.a);
        let a_to_b = straight || (!other.scope.one_way && crossed);
        let b_to_a = crossed || (!other.scope.one_way && straight);
        class && a_to_b && (self.scope.one_way || b_to_a)
    }
}

/// How every link of a network behaves.
#[derive(Clone, Debug)]
pub(super) struct Links {
    hosts: usize,
    /// The scenario's settings: what a restore returns to, and what a host's link to itself
    /// always keeps (degrades cover links between two different hosts only).
    base: LinkConfig,
    /// Links no override covers.
    default: LinkConfig,
    /// Oldest first; the newest that covers a link decides it.
    overrides: Vec<Override>,
    /// Every link behaves as `base`: the common case, one branch on the send path.
    uniform: bool,
}

impl Links {
    /// `hosts` hosts whose links all behave as `base`.
    pub(super) fn new(hosts: usize, base: LinkConfig) -> Self {
        Links { hosts, base, default: base, overrides: Vec::new(), uniform: true }
    }

    /// How `from -> to` behaves for a message of `class`.
    #[inline]
    pub(super) fn get(&self, from: HostId, to: HostId, class: MessageClass) -> LinkConfig {
        if self.uniform {
            return self.base;
        }
        self.get_degraded(from, to, class)
    }

    fn get_degraded(&self, from: HostId, to: HostId, class: MessageClass) -> LinkConfig {
        if from == to {
            return self.base;
        }
        let covering = self.overrides.iter().rev().find(|o| o.covers(from, to, class));
        covering.map_or(self.default, |o| o.link)
    }

    /// Links between a host of `a` and a host of `b` (every host if `None`), both ways or from
    /// `a` to `b`, behave as `link` from now on for the messages of `scope`.
    pub(super) fn set_between(
        &mut self,
        a: Option<&[HostId]>,
        b: Option<&[HostId]>,
        scope: Scope,
        link: LinkConfig,
    ) {
        if a.is_none() && b.is_none() && scope == Scope::default() {
            // Every link: the default changes and no older override survives.
            self.default = link;
            self.overrides.clear();
        } else {
            let hosts = self.hosts;
            let set = |s: Option<&[HostId]>| {
                s.map_or_else(|| HostSet::all(hosts), |s| HostSet::of(s, hosts))
            };
            let new = Override { a: set(a), b: set(b), scope, link };
            // An override the new one hides entirely can never decide a link again.
            self.overrides.retain(|o| !o.within(&new));
            self.overrides.push(new);
        }
        self.uniform = self.default == self.base && self.overrides.is_empty();
    }

    /// Every link behaves as the scenario says again.
    pub(super) fn restore(&mut self) {
        self.default = self.base;
        self.overrides.clear();
        self.uniform = true;
    }

    /// Overrides in force.
    #[cfg(test)]
    pub(super) fn overrides(&self) -> usize {
        self.overrides.len()
    }

    /// Bytes of heap memory held.
    pub(super) fn heap_bytes(&self) -> usize {
        let set = |s: &HostSet| s.words.capacity() * 8;
        let sets: usize = self.overrides.iter().map(|o| set(&o.a) + set(&o.b)).sum();
        sets + self.overrides.capacity() * std::mem::size_of::<Override>()
    }
}
