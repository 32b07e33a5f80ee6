//! Lowe's just-in-time linearizability search (Wing & Gong's, with memoization), over the
//! operations of one key.
//!
//! Completed operations become call and return entries in a doubly linked list ordered by time
//! (calls before returns at equal times, so touching operations count as concurrent). The
//! search walks the list from its head: at a call it tries to linearize that operation now (the
//! model must accept it, and the configuration must be new); at a return it has found an
//! operation that had to take effect by then and did not. Before backtracking there, it tries
//! the indeterminate operations invoked so far, which live in a list of their own: they may be
//! linearized any time after their call, or never, so they are tried only when needed. The
//! search succeeds when every completed operation is linearized.
//!
//! A configuration is (completed operations linearized, indeterminate operations linearized,
//! model state). It is skipped if one with the same completed set and state, and a subset of
//! its indeterminate operations, was seen: having used fewer optional operations leaves at least
//! the same futures. (If that configuration is still on the search path, the path between used
//! only indeterminate operations, taken after every completed one was tried and failed there,
//! so everything reachable from the new configuration is reachable from the old one's pending
//! alternatives.) With exact matching only, indeterminate operations that never took effect
//! would multiply the configurations by the subsets of themselves.
//!
//! Model states are interned strings (`StateId`), so a step and a cache lookup compare integers.
// The hash tables here are lookup-only and use a fixed hasher (`FixedState`), never the
// process-random `RandomState`: their behaviour is the same on every run and machine, which is
// what the determinism ban in clippy.toml protects. Hashing is what makes the memo fast.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use crate::engine::Nanos;
use std::collections::HashMap; // determinism-ok: fixed hasher, lookups only
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

/// An interned model state: the register's value, `0` being "no value".
pub(super) type StateId = u32;

/// The interned "no value" state.
pub(super) const STATE_NONE: StateId = 0;

/// The state after a write that nothing observed: no read or compare-and-set can succeed on it
/// and appends keep it, until a reset.
pub(super) const STATE_UNOBSERVED: StateId = 1;

/// A fast hasher with a fixed seed (the multiply-rotate of rustc's FxHash): deterministic, for
/// maps used for lookups only and never iterated.
#[derive(Clone, Copy, Default)]
pub(super) struct FixedHasher {
    hash: u64,
}

impl FixedHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail) ^ (bytes.len() as u64) << 56);
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

/// Builds [`FixedHasher`]s.
pub(super) type FixedState = BuildHasherDefault<FixedHasher>;

/// Interned register values of one key, and the results of appends already computed.
pub(super) struct States {
    values: Vec<Option<Rc<str>>>,
    ids: HashMap<Rc<str>, StateId, FixedState>,
    appends: HashMap<(StateId, StateId), StateId, FixedState>,
    bytes: usize,
}

/// Interned strings take at most this many bytes; appends beyond it exhaust the search.
const STATE_BYTES_MAX: usize = 256 << 20;

impl States {
    pub(super) fn new() -> Self {
        States {
            // STATE_UNOBSERVED's text is never looked up: `ids` does not map to it.
            values: vec![None, Some(Rc::from("<unobserved>"))],
            ids: HashMap::default(),
            appends: HashMap::default(),
            bytes: 0,
        }
    }

    /// The id of `value` (interning it if new).
    pub(super) fn intern(&mut self, value: Option<&str>) -> StateId {
        let Some(text) = value else { return STATE_NONE };
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = StateId::try_from(self.values.len()).expect("fewer than 2^32 states");
        let shared: Rc<str> = Rc::from(text);
        self.values.push(Some(Rc::clone(&shared)));
        self.ids.insert(shared, id);
        self.bytes += text.len();
        id
    }

    /// Number of states interned.
    fn len(&self) -> usize {
        self.values.len()
    }

    /// The value a state stands for.
    pub(super) fn value(&self, id: StateId) -> Option<&str> {
        self.values[id as usize].as_deref()
    }

    fn over_limit(&self) -> bool {
        self.bytes > STATE_BYTES_MAX
    }

    fn append(&mut self, state: StateId, suffix: StateId) -> StateId {
        if let Some(&next) = self.appends.get(&(state, suffix)) {
            return next;
        }
        let mut text = self.value(state).unwrap_or_default().to_string();
        text.push_str(self.value(suffix).unwrap_or_default());
        let next = self.intern(Some(&text));
        self.appends.insert((state, suffix), next);
        next
    }
}

/// What an operation does to the register, with its observed result folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// A read that returned this state.
    Read(StateId),
    /// An overwrite.
    Write(StateId),
    /// A compare-and-set that took effect (or, for an indeterminate one, would have).
    Cas { from: StateId, to: StateId },
    /// Appends the interned string to the current value.
    Append(StateId),
}

impl Step {
    /// The value a read or compare-and-set needs the register to hold.
    fn expects(self) -> Option<StateId> {
        match self {
            Step::Read(value) | Step::Cas { from: value, .. } => Some(value),
            Step::Write(_) | Step::Append(_) => None,
        }
    }

    /// The value a put or compare-and-set leaves, whatever came before.
    fn reset_value(self) -> Option<StateId> {
        match self {
            Step::Write(value) | Step::Cas { to: value, .. } => Some(value),
            Step::Read(_) | Step::Append(_) => None,
        }
    }

    /// The state after this step from `state`, or `None` if the step cannot happen there.
    fn apply(self, state: StateId, states: &mut States) -> Option<StateId> {
        match self {
            Step::Read(seen) => (seen == state).then_some(state),
            Step::Write(value) => Some(value),
            Step::Cas { from, to } => (from == state).then_some(to),
            Step::Append(_) if state == STATE_UNOBSERVED => Some(STATE_UNOBSERVED),
            Step::Append(suffix) => Some(states.append(state, suffix)),
        }
    }
}

/// One operation of a key, as the search sees it.
#[derive(Clone, Debug)]
pub(super) struct KeyOp {
    /// Index of the operation in the history's `ops`.
    pub source: usize,
    /// When it was invoked.
    pub call_ns: Nanos,
    /// When it completed; `None` for an indeterminate operation.
    pub return_ns: Option<Nanos>,
    /// Its effect.
    pub step: Step,
}

/// Bounds on one search.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Steps (list entries visited) before giving up.
    pub steps_max: u64,
    /// Words of linearized-set bitsets the cache may hold before giving up.
    pub cache_words_max: usize,
}

/// How far a failed search got: its deepest dead end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Progress {
    /// Completed operations linearized at the deepest dead end.
    pub linearized_ok_max: usize,
    /// Completed operations in the search.
    pub ok_total: usize,
    /// The operation (index into the key's ops) whose completion ended the deepest attempt.
    pub stuck: Option<usize>,
    /// The model state at that point.
    pub state: StateId,
    /// The last operations of that partial linearization, oldest first (indices into the ops).
    pub tail: Vec<usize>,
    /// `tail` while searching: (indeterminate?, entry).
    tail_raw: Vec<(bool, u32)>,
}

/// Operations shown at the end of the deepest partial linearization.
const PROGRESS_TAIL_MAX: usize = 6;

/// The result of a search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum SearchOutcome {
    Linearizable,
    NotLinearizable(Progress),
    Exhausted,
}

const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

/// A doubly linked list of entries; index 0 is the head sentinel.
struct List {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// For a call, its return entry (`NIL` if none); unused for returns.
    partner: Vec<u32>,
    /// The operation (position in the subset) of each entry.
    op: Vec<u32>,
    is_return: Vec<bool>,
    time_ns: Vec<Nanos>,
}

impl List {
    /// The list of `events`: (time, 0 for a call or 1 for a return, position), sorted.
    fn new(events: &[(Nanos, u8, u32)], positions: usize) -> Self {
        let count = events.len() + 1;
        let mut list = List {
            next: (1..=count as u32).collect(),
            prev: (0..count as u32).map(|i| i.wrapping_sub(1)).collect(),
            partner: vec![NIL; count],
            op: vec![NIL; count],
            is_return: vec![false; count],
            time_ns: vec![0; count],
        };
        list.next[count - 1] = NIL;
        let mut call_entry = vec![NIL; positions];
        for (i, &(time_ns, kind, position)) in events.iter().enumerate() {
            let entry = i + 1;
            list.op[entry] = position;
            list.time_ns[entry] = time_ns;
            if kind == 0 {
                call_entry[position as usize] = entry as u32;
            } else {
                let call = call_entry[position as usize];
                assert!(call != NIL, "return sorted before its call");
                list.partner[call as usize] = entry as u32;
                list.is_return[entry] = true;
            }
        }
        list
    }

    fn first(&self) -> u32 {
        self.next[HEAD as usize]
    }

    fn unlink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = next;
        if next != NIL {
            self.prev[next as usize] = prev;
        }
    }

    fn relink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = entry;
        if next != NIL {
            self.prev[next as usize] = entry;
        }
    }

    /// Removes a call and its return from the list (dancing links: `restore` undoes it).
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.partner[call as usize];
        if ret != NIL {
            self.unlink(ret);
        }
    }

    fn restore(&mut self, call: u32) {
        let ret = self.partner[call as usize];
        if ret != NIL {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// A set of operations numbered in invocation order, kept in a canonical compressed form:
/// `top` is one past the highest member, `gaps` the non-members below it, ascending. The gaps
/// are the operations still pending behind the frontier: about as many as there are concurrent
/// clients, however long the history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct LinearizedSet {
    top: u32,
    gaps: Vec<u32>,
}

impl LinearizedSet {
    fn insert(&mut self, member: u32) {
        if member < self.top {
            let at = self.gaps.binary_search(&member).expect("inserting a member twice");
            self.gaps.remove(at);
        } else {
            self.gaps.extend(self.top..member);
            self.top = member + 1;
        }
    }

    fn remove(&mut self, member: u32) {
        assert!(member < self.top, "removing a non-member");
        if member + 1 == self.top {
            self.top = member;
            while self.top > 0 && self.gaps.last() == Some(&(self.top - 1)) {
                self.gaps.pop();
                self.top -= 1;
            }
        } else {
            let at = self.gaps.binary_search(&member).expect_err("removing a non-member");
            self.gaps.insert(at, member);
        }
    }
}

/// True if the set (`top`, `gaps`) is a subset of `other`.
fn is_subset(top: u32, gaps: &[u32], other: &LinearizedSet) -> bool {
    if top > other.top {
        return false;
    }
    // Every gap of `other` below `top` must be a gap here too.
    let mut mine = gaps.iter().peekable();
    for &gap in other.gaps.iter().take_while(|&&gap| gap < top) {
        while mine.next_if(|&&g| g < gap).is_some() {}
        if mine.next_if_eq(&&gap).is_none() {
            return false;
        }
    }
    true
}

/// Configurations already seen, grouped by (completed set, state); sets' gaps in an arena.
struct Cache {
    /// Hash of (completed set, state) -> first entry in its chain.
    index: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    entries: Vec<CacheEntry>,
    gaps: Vec<u32>,
}

struct CacheEntry {
    next: u32,
    state: StateId,
    ok_top: u32,
    ok_gaps: (usize, u32),
    info_top: u32,
    info_gaps: (usize, u32),
}

impl Cache {
    fn new() -> Self {
        Cache { index: HashMap::default(), entries: Vec::new(), gaps: Vec::new() }
    }

    fn slice(&self, (start, len): (usize, u32)) -> &[u32] {
        &self.gaps[start..start + len as usize]
    }

    /// Records the configuration; false if it, or one that dominates it, was already seen.
    fn admit(&mut self, ok: &LinearizedSet, info: &LinearizedSet, state: StateId) -> bool {
        let mut hash = mix(0x9e37_79b9_7f4a_7c15, u64::from(state));
        hash = mix(hash, u64::from(ok.top));
        for &gap in &ok.gaps {
            hash = mix(hash, u64::from(gap));
        }
        let first = self.index.get(&hash).copied().unwrap_or(NIL);
        let mut cursor = first;
        while cursor != NIL {
            let entry = &self.entries[cursor as usize];
            if entry.state == state
                && entry.ok_top == ok.top
                && self.slice(entry.ok_gaps) == ok.gaps
                && is_subset(entry.info_top, self.slice(entry.info_gaps), info)
            {
                return false;
            }
            cursor = entry.next;
        }
        let id = u32::try_from(self.entries.len()).expect("cache below 2^32 entries");
        let ok_gaps = (self.gaps.len(), ok.gaps.len() as u32);
        self.gaps.extend_from_slice(&ok.gaps);
        let info_gaps = (self.gaps.len(), info.gaps.len() as u32);
        self.gaps.extend_from_slice(&info.gaps);
        self.entries.push(CacheEntry {
            next: first,
            state,
            ok_top: ok.top,
            ok_gaps,
            info_top: info.top,
            info_gaps,
        });
        self.index.insert(hash, id);
        true
    }

    /// Memory held, in 4-byte words.
    fn words(&self) -> usize {
        self.gaps.len() + self.entries.len() * 10
    }
}

fn mix(hash: u64, word: u64) -> u64 {
    let h = (hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    h ^ (h >> 29)
}

/// Hashes a `u64` key to itself: the keys are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

/// What the walk over the lists is looking for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A completed read of the current value. Linearizing it at once loses nothing: it can move
    /// to the front of any linearization from here (nothing pending had to precede it in real
    /// time, and it changes no state). So it is the only choice tried, and if it fails the
    /// configuration fails. This removes most branching between concurrent reads and writes.
    Reads,
    /// The other completed operations, in list order.
    Writes,
    /// Indeterminate operations invoked no later than the return `blocking`, which ended the
    /// walk over completed operations.
    Info,
}

/// A choice on the search path: the entry linearized, and what to restore when undoing it.
struct Frame {
    entry: u32,
    phase: Phase,
    state: StateId,
    blocking: u32,
}

/// Searches for a linearization of the operations `subset` (indices into `ops`) from the state
/// `initial`. Adds the steps taken to `steps`.
pub(super) fn search(
    ops: &[KeyOp],
    subset: &[usize],
    initial: StateId,
    states: &mut States,
    limits: Limits,
    steps: &mut u64,
) -> SearchOutcome {
    match Search::new(ops, subset, initial, states) {
        Some(mut search) => search.run(limits, steps),
        None => SearchOutcome::Linearizable,
    }
}

/// What trying the entry under the cursor did.
enum Tried {
    /// Linearized it; the walk restarts from the head.
    Linearized,
    /// Not applicable here; the walk moves on.
    Skipped,
    /// This configuration has no way forward.
    DeadEnd,
}

/// The state of one search.
struct Search<'a> {
    ops: &'a [KeyOp],
    subset: &'a [usize],
    states: &'a mut States,
    /// Each position's number among the completed or among the indeterminate operations.
    class_index: Vec<u32>,
    main: List,
    info: List,
    ok_set: LinearizedSet,
    info_set: LinearizedSet,
    cache: Cache,
    stack: Vec<Frame>,
    progress: Progress,
    state: StateId,
    ok_left: usize,
    cursor: u32,
    phase: Phase,
    blocking: u32,
    has_appends: bool,
    /// Without appends: per state, pending completed reads and compare-and-sets expecting it.
    expecting: Vec<u32>,
    /// Without appends: per state, operations not yet linearized that may write it.
    writers: Vec<u32>,
}

impl<'a> Search<'a> {
    /// `None` if there is nothing to linearize.
    fn new(
        ops: &'a [KeyOp],
        subset: &'a [usize],
        initial: StateId,
        states: &'a mut States,
    ) -> Option<Self> {
        let mut class_index = Vec::with_capacity(subset.len());
        let (mut main_events, mut info_events) = (Vec::new(), Vec::new());
        for (position, &index) in subset.iter().enumerate() {
            let op = &ops[index];
            let position = u32::try_from(position).expect("subset below 2^32 ops");
            if let Some(return_ns) = op.return_ns {
                assert!(return_ns >= op.call_ns, "op returns before its call");
                class_index.push(main_events.len() as u32 / 2);
                main_events.push((op.call_ns, 0, position));
                main_events.push((return_ns, 1, position));
            } else {
                class_index.push(info_events.len() as u32);
                info_events.push((op.call_ns, 0, position));
            }
        }
        let ok_total = main_events.len() / 2;
        if ok_total == 0 {
            return None;
        }
        main_events.sort_unstable();
        info_events.sort_unstable();
        let main = List::new(&main_events, subset.len());
        let has_appends = subset.iter().any(|&i| matches!(ops[i].step, Step::Append(_)));
        let (mut expecting, mut writers) = (Vec::new(), Vec::new());
        if !has_appends {
            // No new state can appear during the search: every value is interned already.
            expecting = vec![0; states.len()];
            writers = vec![0; states.len()];
            for &index in subset {
                let op = &ops[index];
                if let (Some(value), Some(_)) = (op.step.expects(), op.return_ns) {
                    expecting[value as usize] += 1;
                }
                if let Some(value) = op.step.reset_value() {
                    writers[value as usize] += 1;
                }
            }
        }
        Some(Search {
            ops,
            subset,
            states,
            class_index,
            cursor: main.first(),
            main,
            info: List::new(&info_events, subset.len()),
            ok_set: LinearizedSet::default(),
            info_set: LinearizedSet::default(),
            cache: Cache::new(),
            stack: Vec::with_capacity(subset.len()),
            progress: Progress { ok_total, ..Progress::default() },
            state: initial,
            ok_left: ok_total,
            phase: Phase::Reads,
            blocking: NIL,
            has_appends,
            expecting,
            writers,
        })
    }

    fn run(&mut self, limits: Limits, steps: &mut u64) -> SearchOutcome {
        let steps_start = *steps;
        loop {
            *steps += 1;
            if *steps - steps_start > limits.steps_max
                || self.cache.words() > limits.cache_words_max
                || self.states.over_limit()
            {
                return SearchOutcome::Exhausted;
            }
            let dead_end = if self.callable() {
                match self.try_cursor() {
                    Tried::Linearized if self.ok_left == 0 => return SearchOutcome::Linearizable,
                    Tried::Linearized => match self.doomed() {
                        Some(entry) => {
                            self.blocking = entry;
                            self.record_progress();
                            true
                        }
                        None => false,
                    },
                    Tried::Skipped => {
                        self.cursor = self.list().next[self.cursor as usize];
                        false
                    }
                    Tried::DeadEnd => true,
                }
            } else {
                self.end_of_phase()
            };
            if dead_end && !self.backtrack() {
                let mut progress = std::mem::take(&mut self.progress);
                progress.resolve(self.subset, &self.main, &self.info);
                return SearchOutcome::NotLinearizable(progress);
            }
        }
    }

    fn list(&self) -> &List {
        if self.phase == Phase::Info {
            &self.info
        } else {
            &self.main
        }
    }

    /// True if the cursor is on a call that may be linearized now.
    fn callable(&self) -> bool {
        let cursor = self.cursor as usize;
        self.cursor != NIL
            && !self.list().is_return[cursor]
            && (self.phase != Phase::Info
                || self.info.time_ns[cursor] <= self.main.time_ns[self.blocking as usize])
    }

    fn try_cursor(&mut self) -> Tried {
        let position = self.list().op[self.cursor as usize] as usize;
        let op = &self.ops[self.subset[position]];
        let step = op.step;
        let is_read = matches!(op.step, Step::Read(_));
        let wanted = match self.phase {
            Phase::Reads => is_read,
            Phase::Writes => !is_read,
            Phase::Info => true,
        };
        let Some(next_state) = op.step.apply(self.state, self.states).filter(|_| wanted) else {
            return Tried::Skipped;
        };
        let info = self.phase == Phase::Info;
        let member = self.class_index[position];
        let set = if info { &mut self.info_set } else { &mut self.ok_set };
        set.insert(member);
        if !self.cache.admit(&self.ok_set, &self.info_set, next_state) {
            let set = if info { &mut self.info_set } else { &mut self.ok_set };
            set.remove(member);
            // A read of the current value is the only choice; seen before: so was this.
            return if self.phase == Phase::Reads { Tried::DeadEnd } else { Tried::Skipped };
        }
        let (entry, phase, blocking) = (self.cursor, self.phase, self.blocking);
        self.stack.push(Frame { entry, phase, state: self.state, blocking });
        self.count(step, !info, false);
        self.state = next_state;
        if info {
            self.info.lift(entry);
        } else {
            self.main.lift(entry);
            self.ok_left -= 1;
        }
        (self.cursor, self.phase) = (self.main.first(), Phase::Reads);
        Tried::Linearized
    }

    /// Keeps `expecting` and `writers` up to date as `step` is linearized or `undone`.
    fn count(&mut self, step: Step, completed: bool, undone: bool) {
        if self.has_appends {
            return;
        }
        let adjust = |counts: &mut Vec<u32>, value: StateId| {
            let count = &mut counts[value as usize];
            *count = if undone { *count + 1 } else { *count - 1 };
        };
        if let (Some(value), true) = (step.expects(), completed) {
            adjust(&mut self.expecting, value);
        }
        if let Some(value) = step.reset_value() {
            adjust(&mut self.writers, value);
        }
    }

    /// The main-list entry of a pending operation that the configuration just reached can no
    /// longer satisfy, found by a cheap look ahead; `None` if none is found.
    ///
    /// Without appends: the state moved away from the previous one, so a pending read or
    /// compare-and-set still expecting that value needs an operation that may write it again.
    /// With appends: see [`reads_reachable`] (after a read, nothing it depends on changed but
    /// the window, so it is skipped).
    fn doomed(&self) -> Option<u32> {
        let frame = self.stack.last()?;
        if frame.phase == Phase::Reads || frame.state == self.state {
            return None;
        }
        if !self.has_appends {
            let left = frame.state;
            if self.expecting[left as usize] == 0 || self.writers[left as usize] > 0 {
                return None;
            }
            // Find the operation, walking to its return (done only on dead ends).
            let mut cursor = self.main.first();
            while cursor != NIL {
                let step = self.ops[self.subset[self.main.op[cursor as usize] as usize]].step;
                if self.main.is_return[cursor as usize] && step.expects() == Some(left) {
                    return Some(cursor);
                }
                cursor = self.main.next[cursor as usize];
            }
            unreachable!("a pending completed operation expects the value");
        }
        reads_reachable(self.ops, self.subset, &self.main, &self.info, self.state, self.states)
    }

    /// Moves to the next phase at the end of one; true if the configuration is a dead end.
    fn end_of_phase(&mut self) -> bool {
        match self.phase {
            Phase::Reads => {
                (self.cursor, self.phase) = (self.main.first(), Phase::Writes);
                false
            }
            Phase::Writes => {
                // A return: an operation that had to be linearized by now was not.
                assert!(self.cursor != NIL, "the list ran out with completed operations left");
                (self.blocking, self.cursor) = (self.cursor, self.info.first());
                self.phase = Phase::Info;
                false
            }
            Phase::Info => {
                self.record_progress();
                true
            }
        }
    }

    /// Undoes choices until one has alternatives left (forced reads have none). False if none
    /// has: the search failed.
    fn backtrack(&mut self) -> bool {
        while let Some(frame) = self.stack.pop() {
            let info = frame.phase == Phase::Info;
            let list = if info { &mut self.info } else { &mut self.main };
            let member = self.class_index[list.op[frame.entry as usize] as usize];
            list.restore(frame.entry);
            let next = list.next[frame.entry as usize];
            let step = self.ops[self.subset[list.op[frame.entry as usize] as usize]].step;
            self.count(step, !info, true);
            if info {
                self.info_set.remove(member);
            } else {
                self.ok_set.remove(member);
                self.ok_left += 1;
            }
            self.state = frame.state;
            if frame.phase != Phase::Reads {
                (self.cursor, self.phase, self.blocking) = (next, frame.phase, frame.blocking);
                return true;
            }
        }
        false
    }

    /// Notes a dead end if it is the deepest so far. Entries are kept raw (list, entry) until
    /// the search ends, then resolved to operations.
    fn record_progress(&mut self) {
        let progress = &mut self.progress;
        let linearized_ok = progress.ok_total - self.ok_left;
        if linearized_ok > progress.linearized_ok_max || progress.stuck.is_none() {
            progress.linearized_ok_max = linearized_ok;
            progress.stuck = Some(self.blocking as usize);
            progress.state = self.state;
            let tail_start = self.stack.len().saturating_sub(PROGRESS_TAIL_MAX);
            progress.tail_raw = self.stack[tail_start..]
                .iter()
                .map(|frame| (frame.phase == Phase::Info, frame.entry))
                .collect();
        }
    }
}

/// Entries [`reads_reachable`] looks at, from the head of the list.
const READS_LOOKAHEAD_ENTRIES_MAX: usize = 64;
/// Reset values [`reads_reachable`] keeps track of before it stops.
const READS_LOOKAHEAD_BASES_MAX: usize = 32;

/// On a key with appends: the return entry of a pending completed read (or compare-and-set)
/// that can no longer see the value it expects, if one is found.
///
/// Appends only extend a value, so a read must see the value left by the last reset (a put or a
/// compare-and-set) linearized before it, or the current value if none, followed by appends:
/// its value starts with one of those bases. Resets that can come before the read are the
/// pending ones invoked before it returned. Only the first entries of the list are examined.
fn reads_reachable(
    ops: &[KeyOp],
    subset: &[usize],
    main: &List,
    info: &List,
    state: StateId,
    states: &States,
) -> Option<u32> {
    let mut bases = Bases::new(state, states);
    let mut info_cursor = info.first();
    let mut cursor = main.first();
    for _ in 0..READS_LOOKAHEAD_ENTRIES_MAX {
        if cursor == NIL || bases.len > READS_LOOKAHEAD_BASES_MAX {
            break;
        }
        let time_ns = main.time_ns[cursor as usize];
        while info_cursor != NIL && info.time_ns[info_cursor as usize] <= time_ns {
            let step = ops[subset[info.op[info_cursor as usize] as usize]].step;
            if let Some(value) = step.reset_value() {
                bases.add(value, states);
            }
            info_cursor = info.next[info_cursor as usize];
        }
        let op = &ops[subset[main.op[cursor as usize] as usize]];
        if !main.is_return[cursor as usize] {
            if let Some(value) = op.step.reset_value() {
                bases.add(value, states);
            }
        } else if let Some(seen) = op.step.expects() {
            if bases.len > READS_LOOKAHEAD_BASES_MAX {
                break; // Too many possible bases were dropped to judge.
            }
            if !bases.reach(seen, states) {
                return Some(cursor);
            }
        }
        cursor = main.next[cursor as usize];
    }
    None
}

/// The values a read may start from: the current one and those of pending resets.
struct Bases<'s> {
    texts: [&'s str; READS_LOOKAHEAD_BASES_MAX],
    /// May exceed the capacity: then the caller stops looking.
    len: usize,
    /// A base is "no value": appends on it can make anything, so every read is reachable.
    anything: bool,
}

impl<'s> Bases<'s> {
    fn new(state: StateId, states: &'s States) -> Self {
        let mut bases = Bases { texts: [""; READS_LOOKAHEAD_BASES_MAX], len: 0, anything: false };
        bases.add(state, states);
        bases
    }

    /// Adds the value a reset writes (nothing can start from an unobserved value).
    fn add(&mut self, value: StateId, states: &'s States) {
        if value == STATE_UNOBSERVED {
            return;
        }
        match states.value(value) {
            None => self.anything = true,
            Some(text) => {
                if let Some(slot) = self.texts.get_mut(self.len) {
                    *slot = text;
                }
                self.len += 1;
            }
        }
    }

    /// True if some base followed by appends can be `seen`. All bases must be kept.
    fn reach(&self, seen: StateId, states: &States) -> bool {
        assert!(self.len <= READS_LOOKAHEAD_BASES_MAX, "bases were dropped");
        if self.anything {
            return true;
        }
        let Some(seen) = states.value(seen) else { return false };
        self.texts[..self.len].iter().any(|base| seen.starts_with(base))
    }
}

impl Progress {
    /// Turns recorded entries into indices of operations.
    fn resolve(&mut self, subset: &[usize], main: &List, info: &List) {
        self.stuck = self.stuck.map(|entry| subset[main.op[entry] as usize]);
        self.tail = self
            .tail_raw
            .drain(..)
            .map(|(is_info, entry)| {
                let list = if is_info { info } else { main };
                subset[list.op[entry as usize] as usize]
            })
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { steps_max: 1_000_000, cache_words_max: 1 << 20 };

    fn op(source: usize, call_ns: Nanos, return_ns: Option<Nanos>, step: Step) -> KeyOp {
        KeyOp { source, call_ns, return_ns, step }
    }

    fn run(ops: &[KeyOp], states: &mut States) -> SearchOutcome {
        let subset: Vec<usize> = (0..ops.len()).collect();
        let mut steps = 0;
        search(ops, &subset, STATE_NONE, states, LIMITS, &mut steps)
    }

    #[test]
    fn sequential_write_then_read() {
        let mut states = States::new();
        let one = states.intern(Some("1"));
        let two = states.intern(Some("2"));
        let good = [op(0, 0, Some(1), Step::Write(one)), op(1, 2, Some(3), Step::Read(one))];
        assert_eq!(run(&good, &mut states), SearchOutcome::Linearizable);
        let stale = [op(0, 0, Some(1), Step::Write(one)), op(1, 2, Some(3), Step::Read(two))];
        let SearchOutcome::NotLinearizable(progress) = run(&stale, &mut states) else {
            panic!("stale read accepted");
        };
        assert_eq!(progress.linearized_ok_max, 1);
        assert_eq!(progress.stuck, Some(1));
        assert_eq!(progress.state, one);
    }

    #[test]
    fn concurrent_ops_may_reorder_and_info_may_never_happen() {
        let mut states = States::new();
        let one = states.intern(Some("1"));
        let two = states.intern(Some("2"));
        // The write of 2 overlaps the read of 1 that follows the write of 1.
        let ops = [
            op(0, 0, Some(10), Step::Write(two)),
            op(1, 1, Some(2), Step::Write(one)),
            op(2, 3, Some(4), Step::Read(one)),
            op(3, 5, Some(6), Step::Read(two)),
        ];
        assert_eq!(run(&ops, &mut states), SearchOutcome::Linearizable);
        let ops = [op(0, 0, None, Step::Write(two)), op(1, 1, Some(2), Step::Read(STATE_NONE))];
        assert_eq!(run(&ops, &mut states), SearchOutcome::Linearizable);
    }

    #[test]
    fn appends_compose_and_cas_checks_its_expectation() {
        let mut states = States::new();
        let a = states.intern(Some("a"));
        let b = states.intern(Some("b"));
        let ab = states.intern(Some("ab"));
        let ops = [
            op(0, 0, Some(1), Step::Append(a)),
            op(1, 2, Some(3), Step::Append(b)),
            op(2, 4, Some(5), Step::Read(ab)),
            op(3, 6, Some(7), Step::Cas { from: ab, to: a }),
            op(4, 8, Some(9), Step::Read(a)),
        ];
        assert_eq!(run(&ops, &mut states), SearchOutcome::Linearizable);
        let bad =
            [op(0, 0, Some(1), Step::Write(b)), op(1, 2, Some(3), Step::Cas { from: a, to: b })];
        assert!(matches!(run(&bad, &mut states), SearchOutcome::NotLinearizable(_)));
    }

    #[test]
    fn budget_exhaustion_is_reported() {
        let mut states = States::new();
        let values: Vec<StateId> = (0..12).map(|i| states.intern(Some(&i.to_string()))).collect();
        // Twelve concurrent writes and an impossible read: the search must try many orders.
        let mut ops: Vec<KeyOp> =
            values.iter().enumerate().map(|(i, &v)| op(i, 0, Some(100), Step::Write(v))).collect();
        let never = states.intern(Some("never"));
        ops.push(op(12, 0, Some(100), Step::Read(never)));
        let subset: Vec<usize> = (0..ops.len()).collect();
        let mut steps = 0;
        let tight = Limits { steps_max: 50, cache_words_max: 1 << 20 };
        let outcome = search(&ops, &subset, STATE_NONE, &mut states, tight, &mut steps);
        assert_eq!(outcome, SearchOutcome::Exhausted);
        assert!(steps > 50);
    }

    #[test]
    fn linearized_set_is_canonical_whatever_the_order() {
        let mut a = LinearizedSet::default();
        for member in [0, 1, 2, 5, 3] {
            a.insert(member);
        }
        assert_eq!((a.top, a.gaps.as_slice()), (6, &[4][..]));
        let mut b = LinearizedSet::default();
        for member in [5, 9, 3, 0, 2, 1] {
            b.insert(member);
        }
        b.remove(9);
        assert_eq!(b, a);
        a.remove(5);
        assert_eq!((a.top, a.gaps.as_slice()), (4, &[][..]));
        a.remove(1);
        assert_eq!((a.top, a.gaps.as_slice()), (4, &[1][..]));
        for member in [3, 2, 0] {
            a.remove(member);
        }
        assert_eq!(a, LinearizedSet::default());
    }

    #[test]
    fn subset_test_on_compressed_sets() {
        let set = |members: &[u32]| {
            let mut set = LinearizedSet::default();
            for &m in members {
                set.insert(m);
            }
            set
        };
        let cases: [(&[u32], &[u32], bool); 6] = [
            (&[], &[], true),
            (&[], &[3], true),
            (&[0, 2], &[0, 1, 2], true),
            (&[0, 1, 2], &[0, 2], false),
            (&[5], &[0, 1, 2, 3, 4], false),
            (&[1, 4], &[0, 1, 3, 4, 7], true),
        ];
        for (small, big, expected) in cases {
            let small_set = set(small);
            let subset = is_subset(small_set.top, &small_set.gaps, &set(big));
            assert_eq!(subset, expected, "{small:?} in {big:?}");
        }
    }
}
