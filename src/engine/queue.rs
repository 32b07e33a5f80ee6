//! The event queue: a min-heap ordered by (time, insertion sequence).
//!
//! Ties in time are broken by the order of insertion, so two events scheduled for the same
//! nanosecond always run in the order they were scheduled. Entries are small and `Copy`; large
//! payloads (messages) live in a side table and the entry carries their index.

use super::time::Nanos;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug)]
struct Entry<E> {
    /// `time << 64 | seq`: one comparison orders by time, then by insertion.
    key: u128,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the earliest key is on top.
        other.key.cmp(&self.key)
    }
}

/// A deterministic priority queue of events.
#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    seq: u64,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::with_capacity(1024)
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue with room for `capacity` pending events.
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue { heap: BinaryHeap::with_capacity(capacity), seq: 0 }
    }

    /// Schedules `event` at `time`.
    #[inline]
    pub fn push(&mut self, time: Nanos, event: E) {
        let key = (u128::from(time) << 64) | u128::from(self.seq);
        self.seq += 1;
        self.heap.push(Entry { key, event });
    }

    /// Removes and returns the earliest event with its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(Nanos, E)> {
        self.heap.pop().map(|e| ((e.key >> 64) as Nanos, e.event))
    }

    /// The time of the earliest event, if any.
    pub fn peek_time(&self) -> Option<Nanos> {
        self.heap.peek().map(|e| (e.key >> 64) as Nanos)
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// True when no event is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Total number of events ever scheduled.
    pub fn scheduled(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::with_capacity(4);
        q.push(5, 'a');
        q.push(3, 'b');
        q.push(5, 'c');
        q.push(3, 'd');
        q.push(0, 'e');
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![(0, 'e'), (3, 'b'), (3, 'd'), (5, 'a'), (5, 'c')]);
        assert!(q.is_empty());
        assert_eq!(q.scheduled(), 5);
    }

    #[test]
    fn matches_a_sorted_reference_under_random_interleaving() {
        let mut rng = crate::engine::SimRng::new(5, 5);
        let mut q = EventQueue::with_capacity(8);
        let mut reference: Vec<(u64, u64)> = Vec::new(); // (time, insertion number)
        let mut inserted = 0u64;
        let mut now = 0;
        for _ in 0..20_000 {
            if rng.below(3) > 0 || reference.is_empty() {
                let t = now + rng.below(50);
                q.push(t, inserted);
                reference.push((t, inserted));
                inserted += 1;
            } else {
                reference.sort_unstable();
                let expected = reference.remove(0);
                let (t, id) = q.pop().unwrap();
                assert_eq!((t, id), expected);
                now = t;
            }
        }
        assert_eq!(q.len(), reference.len());
    }

    #[test]
    fn same_time_events_keep_insertion_order_at_scale() {
        let mut q = EventQueue::with_capacity(16);
        for i in 0..1000u32 {
            q.push(u64::from(i % 7), i);
        }
        let mut last = (0u64, 0u32);
        let mut first = true;
        while let Some((t, i)) = q.pop() {
            if !first {
                assert!(t > last.0 || (t == last.0 && i > last.1));
            }
            first = false;
            last = (t, i);
        }
    }
}
