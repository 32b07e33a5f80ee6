//! What a protocol sees: the [`Node`] trait, its [`Context`], and the effects it produces.
//!
//! A node is a sans-IO state machine. The simulator calls one handler per event (start, message,
//! client request, timer, fsync completion, control action) and the handler acts only through
//! the context: it reads the node's *local* clock, draws from the node's own random stream,
//! reads and writes the node's disk, and emits effects (send, set or cancel a timer, fsync,
//! reply to a client, record a fact). Effects are plain data, so a protocol can be unit-tested by
//! feeding it events by hand (see [`testing::Harness`]) and asserting on what comes out.
//!
//! Invariant: a protocol imports this module and its own types, nothing else of sim.

mod disk;
mod fact;
pub mod testing;

pub use crate::api::kv::{apply_op, Key, KvApi, Op, Value};
pub use crate::api::{Api, Reply, Request, RequestId};
pub use crate::engine::{
    duration_ns, format_nanos, parse_duration, Nanos, SimRng, MICROSECOND, MILLISECOND, SECOND,
};
pub use crate::world::disk::{DiskError, FsyncId, NameError, ReadId};
pub use disk::{Disk, DiskIo};
pub use fact::Fact;

use std::fmt::Debug;

/// The operation type of node type `N`'s API.
pub type OpOf<N> = <<N as Node>::Api as Api>::Op;
/// The result type of node type `N`'s API.
pub type ResOf<N> = <<N as Node>::Api as Api>::Res;
/// A group of nodes a fact belongs to (a shard, a replica set); 0 for a system of one group.
pub type Group = u32;

/// Index of a node in the cluster, `0..nodes`.
pub type NodeId = u32;
/// Index of a client, `0..clients`.
pub type ClientId = u32;

/// A protocol running on one node.
///
/// The simulator builds a fresh value of the type when the node first boots and again each time
/// it restarts after a crash: whatever the node keeps in memory is lost in a crash, whatever it
/// made durable on its disk is not. [`Node::on_start`] runs after each build and is where a node
/// recovers from its disk.
pub trait Node: 'static {
    /// Messages nodes of this protocol send each other.
    type Msg: Clone + Debug;
    /// What a timer carries back to the node when it fires.
    type Timer: Copy + Debug;
    /// The client API the node serves: its operations and results ([`KvApi`] for key-value).
    type Api: Api;
    /// Operator actions a scenario can schedule (`[[controls]]`), read from the scenario with
    /// serde; [`NoControl`] for a system without any.
    type Control: Clone + Debug + serde::de::DeserializeOwned + 'static;

    /// How many bytes `msg` takes on the wire: the network counts them (bytes sent, per
    /// second) and charges them against `[network] bandwidth`. 0, the default, says the
    /// protocol's messages have no encoded form: they cost no bandwidth and are not counted.
    fn wire_bytes(msg: &Self::Msg) -> u64 {
        let _ = msg;
        0
    }

    /// The kind of `msg` (`"Append"`, `"Vote"`), as scenarios name it: message budgets
    /// (`kind = "messages"` expectations) count sends by it. The default reads the first word
    /// of `msg`'s `Debug` form, which allocates; a protocol whose messages are large or
    /// encoded overrides it. Called only when a scenario counts messages.
    fn message_name(msg: &Self::Msg) -> std::borrow::Cow<'static, str> {
        let text = format!("{msg:?}");
        let end = text.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(text.len());
        std::borrow::Cow::Owned(text[..end].to_string())
    }

    /// True if `msg` answers another message (an RPC's reply), for link degrades that slow
    /// only `messages = "requests"` or `"replies"`. The default, false, makes every peer
    /// message a request. Client requests and replies are classified by the simulator.
    fn is_reply(msg: &Self::Msg) -> bool {
        let _ = msg;
        false
    }

    /// The node boots (first boot, or restart after a crash: read the disk to recover).
    fn on_start(&mut self, ctx: &mut Context<'_, Self>)
    where
        Self: Sized;

    /// A message from node `from` arrived.
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg)
    where
        Self: Sized;

    /// A client sent a request. Answer with [`Context::reply`], now or later.
    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<OpOf<Self>>,
    ) where
        Self: Sized;

    /// A timer set with [`Context::set_timer`] fired.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer)
    where
        Self: Sized;

    /// An fsync started with [`Context::fsync`] completed: the writes it covers are durable.
    fn on_fsync(&mut self, _ctx: &mut Context<'_, Self>, _fsync: FsyncId)
    where
        Self: Sized,
    {
    }

    /// An asynchronous read started with [`Context::read`] completed with `data`.
    fn on_read(
        &mut self,
        _ctx: &mut Context<'_, Self>,
        _read: ReadId,
        _data: Result<Vec<u8>, DiskError>,
    ) where
        Self: Sized,
    {
    }

    /// An operator action from the scenario, delivered to every node that is up. Ignore what
    /// does not apply.
    fn on_control(&mut self, _ctx: &mut Context<'_, Self>, _action: Self::Control)
    where
        Self: Sized,
    {
    }
}

/// The control type of a system without operator actions: a scenario with `[[controls]]`
/// is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoControl {}

impl<'de> serde::Deserialize<'de> for NoControl {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("this system has no operator actions"))
    }
}

/// Identifies a pending timer; pass it to [`Context::cancel_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId {
    // Two u32s rather than one u64: the scheduler's queue entries stay small (4-byte aligned).
    generation: u32,
    slot: u32,
}

impl TimerId {
    pub(crate) fn new(slot: u32, generation: u32) -> Self {
        TimerId { generation, slot }
    }
    pub(crate) fn slot(self) -> u32 {
        self.slot
    }
    pub(crate) fn generation(self) -> u32 {
        self.generation
    }
}

/// Something a handler asked for. The simulator carries effects out after the handler returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect<M, R> {
    /// Send `msg` to node `to`.
    Send { to: NodeId, msg: M },
    /// Answer a client's request.
    Reply { client: ClientId, request: RequestId, reply: Reply<R> },
    /// A timer that fires when the node's local clock reads `deadline`.
    SetTimer { id: TimerId, deadline: Nanos },
    /// A timer was cancelled.
    CancelTimer { id: TimerId },
    /// An fsync of a file or a directory was started (the disk knows which; no allocation on
    /// this path).
    Fsync { id: FsyncId },
    /// An asynchronous read was started; it completes `latency` nanoseconds later.
    Read { id: ReadId, latency: Nanos },
    /// A fact for the checkers, about `group`.
    Fact { group: Group, fact: Fact },
    /// The level of gauge `name` on this node is `value` from now on (for plots).
    Gauge { name: &'static str, value: i64 },
}

/// A node's pending timers: slots reused through a free list, each with a generation so a
/// cancelled or fired timer's id never matches a later timer in the same slot.
#[derive(Clone, Debug)]
pub(crate) struct Timers<T> {
    slots: Vec<TimerSlot<T>>,
    free: Vec<u32>,
}

#[derive(Clone, Debug)]
struct TimerSlot<T> {
    generation: u32,
    deadline: Nanos,
    timer: Option<T>,
}

/// Most timers one node may have pending at once; more is a protocol leak.
pub const TIMERS_PER_NODE_MAX: usize = 1 << 16;

impl<T: Copy> Timers<T> {
    pub(crate) fn new() -> Self {
        Timers { slots: Vec::new(), free: Vec::new() }
    }

    fn insert(&mut self, deadline: Nanos, timer: T) -> TimerId {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                assert!(self.slots.len() < TIMERS_PER_NODE_MAX, "node has too many timers");
                self.slots.push(TimerSlot { generation: 0, deadline: 0, timer: None });
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[slot as usize];
        debug_assert!(s.timer.is_none());
        s.deadline = deadline;
        s.timer = Some(timer);
        TimerId::new(slot, s.generation)
    }

    fn remove(&mut self, id: TimerId) -> Option<T> {
        let s = self.slots.get_mut(id.slot() as usize)?;
        if s.generation != id.generation() {
            return None;
        }
        let timer = s.timer.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.free.push(id.slot());
        Some(timer)
    }

    /// The local deadline of timer `id`, if it is still pending.
    #[inline]
    pub(crate) fn deadline(&self, id: TimerId) -> Option<Nanos> {
        let s = self.slots.get(id.slot() as usize)?;
        (s.generation == id.generation() && s.timer.is_some()).then_some(s.deadline)
    }

    /// Takes the timer `id` if it is still pending (it fires).
    #[inline]
    pub(crate) fn fire(&mut self, id: TimerId) -> Option<T> {
        self.remove(id)
    }

    /// Pending timers with their local deadlines.
    pub(crate) fn pending(&self) -> impl Iterator<Item = (TimerId, Nanos)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.timer.is_some())
            .map(|(i, s)| (TimerId::new(i as u32, s.generation), s.deadline))
    }

    /// Drops every pending timer (a crash).
    pub(crate) fn clear(&mut self) {
        for (i, s) in self.slots.iter_mut().enumerate() {
            if s.timer.take().is_some() {
                s.generation = s.generation.wrapping_add(1);
                self.free.push(i as u32);
            }
        }
    }
}

/// The handle a handler acts through. Built by the simulator (or a [`testing::Harness`]) for
/// one event and dropped after it.
pub struct Context<'a, N: Node> {
    id: NodeId,
    now: Nanos,
    rng: &'a mut SimRng,
    disk: &'a mut crate::world::disk::Disk,
    timers: &'a mut Timers<N::Timer>,
    effects: &'a mut Vec<Effect<N::Msg, ResOf<N>>>,
}

impl<'a, N: Node> Context<'a, N> {
    pub(crate) fn new(
        id: NodeId,
        now: Nanos,
        rng: &'a mut SimRng,
        disk: &'a mut crate::world::disk::Disk,
        timers: &'a mut Timers<N::Timer>,
        effects: &'a mut Vec<Effect<N::Msg, ResOf<N>>>,
    ) -> Self {
        Context { id, now, rng, disk, timers, effects }
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The node's local clock, in nanoseconds. It may be offset, drift, or jump: it is not the
    /// simulation's true time, which no node can see.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// The node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// The node's disk. Reads and writes act on it at once; see [`Context::fsync`] for
    /// durability.
    pub fn disk(&mut self) -> Disk<'_> {
        Disk::new(self.disk)
    }

    /// Sends `msg` to node `to`. The network may delay, lose, duplicate or reorder it.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Answers request `request` of `client`.
    pub fn reply(&mut self, client: ClientId, request: RequestId, reply: Reply<ResOf<N>>) {
        self.effects.push(Effect::Reply { client, request, reply });
    }

    /// Sets a timer that fires after `delay` nanoseconds of the node's local clock.
    pub fn set_timer(&mut self, delay: Nanos, timer: N::Timer) -> TimerId {
        let deadline = self.now.saturating_add(delay);
        let id = self.timers.insert(deadline, timer);
        self.effects.push(Effect::SetTimer { id, deadline });
        id
    }

    /// Cancels a pending timer. Cancelling a timer that fired or was cancelled does nothing.
    pub fn cancel_timer(&mut self, id: TimerId) {
        if self.timers.remove(id).is_some() {
            self.effects.push(Effect::CancelTimer { id });
        }
    }

    /// Starts an fsync of `file`: when [`Node::on_fsync`] is called with the returned id, every
    /// write to `file` issued before this call is durable.
    pub fn fsync(&mut self, file: &str) -> FsyncId {
        let id = self.disk.begin_fsync(file);
        self.effects.push(Effect::Fsync { id });
        id
    }

    /// Starts an fsync of directory `dir` (`""` is the root): when [`Node::on_fsync`] is called
    /// with the returned id, every create, delete and rename in `dir` issued before this call is
    /// durable. File data needs [`Context::fsync`] of the file; a file's name needs this.
    pub fn fsync_dir(&mut self, dir: &str) -> FsyncId {
        let id = self.disk.begin_fsync_dir(dir);
        self.effects.push(Effect::Fsync { id });
        id
    }

    /// Starts reading `len` bytes at `offset` of `file` from the disk, with the disk's read
    /// latency: [`Node::on_read`] gets the data. ([`Context::disk`] also reads at once, as from
    /// the page cache; this is the read that takes time, as from the platter.)
    pub fn read(&mut self, file: &str, offset: u64, len: u64) -> ReadId {
        let (id, latency) = self.disk.begin_read(file, offset, len);
        self.effects.push(Effect::Read { id, latency });
        id
    }

    /// Records a fact for the checkers (about group 0: a system of one group).
    pub fn fact(&mut self, fact: Fact) {
        self.fact_in(0, fact);
    }

    /// Records a fact about `group` (a shard, a replica set): checkers keep groups apart, and
    /// fault targets such as `leader@G` resolve within the group.
    pub fn fact_in(&mut self, group: Group, fact: Fact) {
        self.effects.push(Effect::Fact { group, fact });
    }

    /// Reports a level of this node that changes over time (locks held, transactions in
    /// doubt, replication lag): the run keeps each change and `sim run --out` plots one line
    /// per node (`gauge-NAME.png`). Report it when it changes; a crash drops it to 0 until the
    /// node reports again. Gauges never change a run (they are not part of its trace hash).
    pub fn gauge(&mut self, name: &'static str, value: i64) {
        self.effects.push(Effect::Gauge { name, value });
    }
}
