//! FIFO order per link, remembered only for links with a message still on the way.
//!
//! A link needs its latest scheduled arrival only while that arrival lies ahead: a message sent
//! later leaves no earlier than now, so it cannot arrive before an arrival already past anyway.
//! The times live in an open-addressing hash table keyed by link. Once the table is past a few
//! kilobytes, entries whose time has passed are dropped whenever it would grow, so its size
//! follows the messages in flight, not the number of links (hosts squared). The hash is fixed
//! and no result depends on the order of the slots: deterministic.

use crate::engine::Nanos;

/// A directed link as a table key: `from` in the high half, `to` in the low half.
pub(super) type LinkKey = u64;

/// The key of the link `from -> to`.
#[inline]
pub(super) fn link_key(from: u32, to: u32) -> LinkKey {
    u64::from(from) << 32 | u64::from(to)
}

/// Marks a free slot; no link has it (host ids stay far below `u32::MAX`).
const FREE: LinkKey = LinkKey::MAX;
/// Smallest table, in slots (a power of two).
const SLOTS_MIN: usize = 64;
/// Below this many slots (16 KiB) a table grows without forgetting anything: a small cluster
/// keeps every link it uses, as a dense table would, instead of forgetting and re-inserting
/// the same few hundred links over and over.
const SLOTS_KEEP_ALL: usize = 1024;
/// Fibonacci hashing: the top bits of `key * 2^64 / phi` spread consecutive keys evenly.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The latest arrival scheduled on each link that has one ahead (or had one recently).
#[derive(Clone, Debug)]
pub(super) struct Fifo {
    slots: Vec<(LinkKey, Nanos)>,
    /// Slots holding a key.
    used: usize,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    shift: u32,
    /// The previous table, kept so that a rebuild reuses memory instead of allocating.
    spare: Vec<(LinkKey, Nanos)>,
}

impl Fifo {
    /// An empty table.
    pub(super) fn new() -> Self {
        Fifo {
            slots: vec![(FREE, 0); SLOTS_MIN],
            used: 0,
            shift: 64 - SLOTS_MIN.trailing_zeros(),
            spare: Vec::new(),
        }
    }

    /// The latest arrival scheduled on `key` (0 if none is remembered), to read and update.
    /// No message is sent before `past` any more: entries at or before it may be forgotten.
    #[inline]
    pub(super) fn last_arrival(&mut self, key: LinkKey, past: Nanos) -> &mut Nanos {
        debug_assert!(key != FREE);
        let mut i = self.find(key);
        if self.slots[i].0 != key {
            // At most half full, so that probe sequences stay short.
            if (self.used + 1) * 2 > self.slots.len() {
                self.rebuild(past);
                i = self.find(key);
            }
            self.slots[i] = (key, 0);
            self.used += 1;
        }
        &mut self.slots[i].1
    }

    /// The slot holding `key`, or the free slot where it belongs.
    #[inline]
    fn find(&self, key: LinkKey) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (key.wrapping_mul(GOLDEN) >> self.shift) as usize;
        loop {
            let k = self.slots[i].0;
            if k == key || k == FREE {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// Keeps only the arrivals after `past` (all of them in a small table), in a table a quarter
    /// full at most: at least a quarter of its slots are inserted before the next rebuild, so
    /// each insert costs O(1) amortised, and the table shrinks again after a burst.
    fn rebuild(&mut self, past: Nanos) {
        // An arrival at 0 constrains nothing: keeping those after 0 keeps everything.
        let past = if self.slots.len() < SLOTS_KEEP_ALL { 0 } else { past };
        let live = self.slots.iter().filter(|s| s.0 != FREE && s.1 > past).count();
        let len = ((live + 1) * 4).next_power_of_two().max(SLOTS_MIN);
        std::mem::swap(&mut self.slots, &mut self.spare);
        self.slots.clear();
        self.slots.resize(len, (FREE, 0));
        self.shift = 64 - len.trailing_zeros();
        self.used = 0;
        for i in 0..self.spare.len() {
            let (key, at) = self.spare[i];
            if key != FREE && at > past {
                let j = self.find(key);
                self.slots[j] = (key, at);
                self.used += 1;
            }
        }
        debug_assert_eq!(self.used, live);
        self.spare.clear();
        if self.spare.capacity() > 4 * len {
            // After a burst: give the memory back rather than keep a large spare.
            self.spare = Vec::new();
        }
    }

    /// Slots in use (including arrivals already past that were not dropped yet).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.used
    }

    /// Bytes of heap memory held.
    pub(super) fn heap_bytes(&self) -> usize {
        (self.slots.capacity() + self.spare.capacity()) * std::mem::size_of::<(LinkKey, Nanos)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_link_and_forgets_the_past_when_it_grows() {
        let mut fifo = Fifo::new();
        for to in 0..1000u32 {
            *fifo.last_arrival(link_key(7, to), 0) = 100 + u64::from(to);
        }
        assert_eq!(fifo.len(), 1000);
        for to in 0..1000u32 {
            assert_eq!(*fifo.last_arrival(link_key(7, to), 0), 100 + u64::from(to));
        }
        // Time passes: 100,000 more links each carry one message, 10 ns in flight. Only the
        // few still ahead are kept, so the table stays small.
        for t in 0..100_000u32 {
            *fifo.last_arrival(link_key(t, 1), u64::from(t) + 2000) = u64::from(t) + 2010;
        }
        assert!(fifo.len() < SLOTS_KEEP_ALL, "{} slots used", fifo.len());
        assert!(fifo.heap_bytes() <= 2 * SLOTS_KEEP_ALL * 16, "{} bytes", fifo.heap_bytes());
        // A forgotten link reads 0: no constraint.
        let now = 99_999 + 2000;
        assert_eq!(*fifo.last_arrival(link_key(7, 3), now), 0);
        assert_eq!(*fifo.last_arrival(link_key(99_999, 1), now), now + 10);
    }

    #[test]
    fn a_rebuild_keeps_the_arrivals_still_ahead() {
        let mut fifo = Fifo::new();
        for i in 0..100_000u32 {
            // Every tenth link has an arrival still ahead of `past` = 50_000.
            let at = if i % 10 == 0 { 1_000_000 } else { u64::from(i % 50_000) };
            *fifo.last_arrival(link_key(i, i), 50_000) = at;
        }
        for i in (0..100_000u32).step_by(10) {
            assert_eq!(*fifo.last_arrival(link_key(i, i), 50_000), 1_000_000, "link {i}");
        }
    }
}
