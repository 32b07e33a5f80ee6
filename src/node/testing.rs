//! Drive one node by hand, without a simulator: feed it events, inspect the effects.
//!
//! ```
//! use sim::node::testing::Harness;
//! use sim::node::{Context, Effect, Node, NodeId, ClientId, Request};
//!
//! struct Echo;
//! impl Node for Echo {
//!     type Msg = u64;
//!     type Timer = ();
//!     type Api = sim::node::KvApi;
//!     type Control = sim::node::NoControl;
//!     fn on_start(&mut self, ctx: &mut Context<'_, Self>) { ctx.set_timer(1_000, ()); }
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: u64) {
//!         ctx.send(from, msg + 1);
//!     }
//!     fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<sim::node::Op>) {}
//!     fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
//! }
//!
//! let mut h = Harness::new(0, Echo);
//! h.start();
//! assert_eq!(h.message(3, 41), vec![Effect::Send { to: 3, msg: 42 }]);
//! ```

use super::{
    ClientId, Context, Effect, FsyncId, Node, NodeId, OpOf, ReadId, Request, ResOf, Timers,
};
use crate::engine::{Nanos, SimRng};

/// What one handler call produced.
pub type Effects<N> = Vec<Effect<<N as Node>::Msg, ResOf<N>>>;

/// One node, its disk, clock and timers, driven by hand.
pub struct Harness<N: Node> {
    /// The node under test.
    pub node: N,
    id: NodeId,
    now: Nanos,
    rng: SimRng,
    disk: crate::world::disk::Disk,
    timers: Timers<N::Timer>,
    effects: Effects<N>,
}

impl<N: Node> Harness<N> {
    /// A harness for `node` with id `id`, an empty disk and the local clock at zero.
    pub fn new(id: NodeId, node: N) -> Self {
        Harness {
            node,
            id,
            now: 0,
            rng: SimRng::new(0, u64::from(id)),
            disk: crate::world::disk::Disk::new(DiskConfig::default(), SimRng::new(0, 1 << 40)),
            timers: Timers::new(),
            effects: Vec::new(),
        }
    }

    fn run(&mut self, f: impl FnOnce(&mut N, &mut Context<'_, N>)) -> Effects<N> {
        let mut ctx = Context::new(
            self.id,
            self.now,
            &mut self.rng,
            &mut self.disk,
            &mut self.timers,
            &mut self.effects,
        );
        f(&mut self.node, &mut ctx);
        std::mem::take(&mut self.effects)
    }

    /// Calls `on_start`.
    pub fn start(&mut self) -> Effects<N> {
        self.run(|n, ctx| n.on_start(ctx))
    }

    /// Delivers `msg` from `from`.
    pub fn message(&mut self, from: NodeId, msg: N::Msg) -> Effects<N> {
        self.run(|n, ctx| n.on_message(ctx, from, msg))
    }

    /// Delivers a client request.
    pub fn request(&mut self, client: ClientId, request: Request<OpOf<N>>) -> Effects<N> {
        self.run(|n, ctx| n.on_request(ctx, client, request))
    }

    /// Delivers an operator action (a membership change).
    pub fn control(&mut self, action: N::Control) -> Effects<N> {
        self.run(|n, ctx| n.on_control(ctx, action))
    }

    /// Advances the local clock to the earliest pending timer and fires it. `None` if no timer
    /// is pending.
    pub fn fire_next_timer(&mut self) -> Option<Effects<N>> {
        let (id, deadline) = self.timers.pending().min_by_key(|&(id, deadline)| (deadline, id))?;
        self.now = self.now.max(deadline);
        let timer = self.timers.fire(id).expect("pending timer");
        Some(self.run(|n, ctx| n.on_timer(ctx, timer)))
    }

    /// Completes an fsync: its writes become durable, and `on_fsync` is called.
    pub fn complete_fsync(&mut self, id: FsyncId) -> Effects<N> {
        assert!(self.disk.complete_fsync(id), "fsync {id:?} is not pending");
        self.run(|n, ctx| n.on_fsync(ctx, id))
    }

    /// Completes an asynchronous read: `on_read` gets the data as the disk holds it now.
    pub fn complete_read(&mut self, id: ReadId) -> Effects<N> {
        let data = self.disk.complete_read(id).expect("read is pending");
        self.run(|n, ctx| n.on_read(ctx, id, data))
    }

    /// Crashes the node and boots `fresh` in its place on the same disk; returns the effects of
    /// its `on_start`.
    pub fn crash_and_restart(&mut self, fresh: N) -> Effects<N> {
        self.disk.crash();
        self.timers.clear();
        self.node = fresh;
        self.start()
    }

    /// Moves the local clock forward by `delta`.
    pub fn advance(&mut self, delta: Nanos) {
        self.now += delta;
    }

    /// The local clock.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// The node's disk.
    pub fn disk(&mut self) -> &mut crate::world::disk::Disk {
        &mut self.disk
    }
}

/// A disk driven by hand, for testing a storage engine alone: the engine acts on it through
/// [`super::DiskIo`]; the test decides when fsyncs complete and when the machine crashes, and
/// injects the disk's faults.
///
/// ```
/// use sim::node::testing::DiskHarness;
/// use sim::node::DiskIo;
///
/// let mut h = DiskHarness::new(7);
/// h.disk().write("log", 0, b"hello");
/// h.fsync("log");
/// h.disk().write("log", 5, b" world");
/// assert_eq!(h.complete_fsyncs().len(), 1);
/// h.crash(); // the unsynced " world" is lost
/// assert_eq!(h.disk().read_all("log").unwrap(), b"hello");
/// ```
pub struct DiskHarness {
    disk: crate::world::disk::Disk,
    pending: Vec<FsyncId>,
}

pub use crate::world::disk::{DiskConfig, DiskStats};

impl DiskHarness {
    /// An empty disk with the default configuration, its randomness drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_config(DiskConfig::default(), seed)
    }

    /// An empty disk configured by `config` (torn writes, read corruption, lost name
    /// operations).
    pub fn with_config(config: DiskConfig, seed: u64) -> Self {
        let rng = SimRng::new(seed, crate::engine::rng::stream::DISK);
        DiskHarness { disk: crate::world::disk::Disk::new(config, rng), pending: Vec::new() }
    }

    /// Fsyncs started and not yet completed, oldest first.
    pub fn pending_fsyncs(&self) -> &[FsyncId] {
        &self.pending
    }

    /// Completes the oldest pending fsync (a disk completes them in order); `None` if none.
    pub fn complete_next_fsync(&mut self) -> Option<FsyncId> {
        if self.pending.is_empty() {
            return None;
        }
        let id = self.pending.remove(0);
        assert!(self.disk.complete_fsync(id), "fsync {id:?} was pending");
        Some(id)
    }

    /// Completes every pending fsync, oldest first; returns their ids.
    pub fn complete_fsyncs(&mut self) -> Vec<FsyncId> {
        let ids = std::mem::take(&mut self.pending);
        for &id in &ids {
            assert!(self.disk.complete_fsync(id), "fsync {id:?} was pending");
        }
        ids
    }

    /// A crash: the page cache and pending fsyncs are lost (writes may tear, name operations
    /// no directory fsync covered may be undone, as the configuration says).
    pub fn crash(&mut self) {
        self.pending.clear();
        self.disk.crash();
    }

    /// Flips one bit of durable data in a random file; returns the file and offset hit.
    pub fn corrupt(&mut self) -> Option<(String, u64)> {
        self.disk.corrupt()
    }

    /// Makes a random sector holding data unreadable; returns the file and offset.
    pub fn fail_sector(&mut self) -> Option<(String, u64)> {
        self.disk.fail_sector()
    }

    /// Arms a misdirected write: one of the next few writes lands in the wrong place.
    pub fn arm_misdirect(&mut self) -> u32 {
        self.disk.arm_misdirect()
    }

    /// The disk's counters.
    pub fn stats(&self) -> DiskStats {
        self.disk.stats()
    }
}

impl super::DiskIo for DiskHarness {
    fn disk(&mut self) -> super::Disk<'_> {
        super::Disk::new(&mut self.disk)
    }
    fn fsync(&mut self, file: &str) -> FsyncId {
        let id = self.disk.begin_fsync(file);
        self.pending.push(id);
        id
    }
    fn fsync_dir(&mut self, dir: &str) -> FsyncId {
        let id = self.disk.begin_fsync_dir(dir);
        self.pending.push(id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{DiskError, ReadId};

    /// Recovers by reading its state file asynchronously, then answers `ping` with what it read.
    struct Reader {
        state: Option<Vec<u8>>,
    }

    impl Node for Reader {
        type Msg = Vec<u8>;
        type Timer = ();
        type Api = crate::node::KvApi;
        type Control = crate::node::NoControl;
        fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
            ctx.read("state", 0, 16);
        }
        fn on_read(
            &mut self,
            _: &mut Context<'_, Self>,
            _: ReadId,
            data: Result<Vec<u8>, DiskError>,
        ) {
            self.state = Some(data.unwrap_or_default());
        }
        fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, _: Vec<u8>) {
            ctx.send(from, self.state.clone().unwrap_or_default());
        }
        fn on_request(
            &mut self,
            _: &mut Context<'_, Self>,
            _: ClientId,
            _: Request<crate::node::Op>,
        ) {
        }
        fn on_timer(&mut self, _: &mut Context<'_, Self>, _: ()) {}
    }

    #[test]
    fn async_reads_deliver_data_through_on_read() {
        let mut h = Harness::new(0, Reader { state: None });
        h.disk().write("state", 0, b"hello");
        let effects = h.start();
        let Some(Effect::Read { id, latency }) = effects.first().cloned() else {
            panic!("a read effect: {effects:?}")
        };
        assert!(latency > 0, "reads take time");
        assert!(h.node.state.is_none(), "not before completion");
        h.complete_read(id);
        assert_eq!(h.message(1, vec![]), vec![Effect::Send { to: 1, msg: b"hello".to_vec() }]);
    }
}
