//! A service with bounded capacity: `workers` virtual servers take requests FIFO from a queue
//! of at most `queue_capacity`; each request occupies a worker for `service_time * work`
//! (times the slowdown factor when it starts inside a slowdown window), counted out with a
//! timer. A request that finds the queue full is shed at once (`Fail "overloaded"`: it did
//! not run). With `deadline_propagation`, a request whose budget ran out while it waited (what
//! is left of it no longer covers the work) is dropped when it reaches the head (`Fail
//! "expired"`, costing `reject_cost` of worker time);
//! without it the worker does the work anyway, and a reply after the budget ran out is
//! counted as wasted: its client had already given up on that attempt.
//!
//! Gauges: `queue` (requests waiting), `busy` (workers busy), and the running counts `served`,
//! `wasted`, `shed` and `expired`.

use super::api::{Served, ServiceApi, ServiceOp};
use super::config::ServiceConfig;
use crate::node::{ClientId, Context, Nanos, Node, NodeId, Reply, Request, RequestId};
use std::collections::VecDeque;

/// A request waiting for, or held by, a worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Job {
    client: ClientId,
    id: RequestId,
    work: u32,
    arrived: Nanos,
    /// Local time the client's budget runs out (`Nanos::MAX`: no budget).
    deadline: Nanos,
    /// When a worker took it.
    started: Nanos,
    /// The worker only drops it (deadline propagation): the reply was already sent.
    dropping: bool,
}

/// The timer of a worker's current job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// The worker whose job ends.
    pub worker: u32,
}

/// What one node has done since it started (memory: a crash resets it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests served (`ok` replies), wasted ones included.
    pub served: u64,
    /// Requests served after their budget ran out.
    pub wasted: u64,
    /// Requests shed because the queue was full.
    pub shed: u64,
    /// Requests dropped at the head of the queue because their budget ran out.
    pub expired: u64,
}

/// One service node. See the module documentation.
#[derive(Debug)]
pub struct ServiceNode {
    config: ServiceConfig,
    id: NodeId,
    queue: VecDeque<Job>,
    workers: Vec<Option<Job>>,
    busy: u32,
    counts: Counts,
}

impl ServiceNode {
    /// A node `id` with `config`, its queue empty and its workers idle.
    pub fn new(config: ServiceConfig, id: NodeId) -> Self {
        let workers = vec![None; config.workers as usize];
        let queue = VecDeque::with_capacity(config.queue_capacity as usize);
        ServiceNode { config, id, queue, workers, busy: 0, counts: Counts::default() }
    }

    /// What the node has done since it started.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Requests waiting for a worker.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Workers busy.
    pub fn busy(&self) -> u32 {
        self.busy
    }

    fn gauges(&self, ctx: &mut Context<'_, Self>) {
        ctx.gauge("queue", self.queue.len() as i64);
        ctx.gauge("busy", i64::from(self.busy));
    }

    /// Gives idle workers the jobs at the head of the queue.
    fn dispatch(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        while self.busy < self.config.workers {
            let Some(mut job) = self.queue.pop_front() else { break };
            let worker = self.workers.iter().position(Option::is_none).expect("an idle worker");
            job.started = now;
            let factor = u64::from(self.config.factor(self.id, now));
            let work = self.config.service_time_ns.saturating_mul(u64::from(job.work)) * factor;
            // The budget left cannot cover the work: its client will have given up first.
            let cost =
                if self.config.deadline_propagation && now.saturating_add(work) > job.deadline {
                    self.counts.expired += 1;
                    ctx.gauge("expired", self.counts.expired as i64);
                    ctx.reply(job.client, job.id, Reply::Fail { reason: "expired" });
                    job.dropping = true;
                    self.config.reject_cost_ns
                } else {
                    work
                };
            if cost == 0 {
                continue; // dropped for free: the worker stays idle
            }
            self.workers[worker] = Some(job);
            self.busy += 1;
            ctx.set_timer(cost, Done { worker: worker as u32 });
        }
        self.gauges(ctx);
    }
}

impl Node for ServiceNode {
    type Msg = ();
    type Timer = Done;
    type Api = ServiceApi;
    type Control = crate::node::NoControl;

    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        self.gauges(ctx);
    }

    fn on_message(&mut self, _: &mut Context<'_, Self>, _: NodeId, _: ()) {}

    fn on_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        client: ClientId,
        request: Request<ServiceOp>,
    ) {
        let ServiceOp::Call { work, budget_ns } = request.op;
        if self.queue.len() >= self.config.queue_capacity as usize
            && self.busy == self.config.workers
        {
            self.counts.shed += 1;
            ctx.gauge("shed", self.counts.shed as i64);
            ctx.reply(client, request.id, Reply::Fail { reason: "overloaded" });
            return;
        }
        let now = ctx.now();
        let deadline = if budget_ns == 0 { Nanos::MAX } else { now.saturating_add(budget_ns) };
        let job = Job {
            client,
            id: request.id,
            work: work.max(1),
            arrived: now,
            deadline,
            started: now,
            dropping: false,
        };
        self.queue.push_back(job);
        self.dispatch(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, done: Done) {
        let Some(job) = self.workers.get_mut(done.worker as usize).and_then(Option::take) else {
            return;
        };
        self.busy -= 1;
        if !job.dropping {
            let now = ctx.now();
            self.counts.served += 1;
            ctx.gauge("served", self.counts.served as i64);
            if now > job.deadline {
                self.counts.wasted += 1;
                ctx.gauge("wasted", self.counts.wasted as i64);
            }
            let value = Served { node: self.id, wait_ns: job.started - job.arrived };
            ctx.reply(job.client, job.id, Reply::Ok { value });
        }
        self.dispatch(ctx);
    }
}
