//! The service node driven by hand, and `goodput_recovery` on hand-built histories.

use super::api::{Served, ServiceApi, ServiceOp};
use super::check::GoodputRecovery;
use super::config::{ServiceConfig, Slowdown};
use super::node::ServiceNode;
use crate::api::history::{Outcome, Record, TypedHistory};
use crate::node::testing::{Effects, Harness};
use crate::node::{Effect, Nanos, Reply, Request, RequestId, MILLISECOND, SECOND};

fn config() -> ServiceConfig {
    ServiceConfig { queue_capacity: 2, ..ServiceConfig::default() }
}

fn harness(config: ServiceConfig) -> Harness<ServiceNode> {
    let mut h = Harness::new(0, ServiceNode::new(config, 0));
    h.start();
    h
}

fn call(h: &mut Harness<ServiceNode>, client: u32, budget_ns: Nanos) -> Effects<ServiceNode> {
    let request =
        Request { id: RequestId { client, seq: 1 }, op: ServiceOp::Call { work: 1, budget_ns } };
    h.request(client, request)
}

/// The replies among `effects`: (client, reply).
fn replies(effects: &Effects<ServiceNode>) -> Vec<(u32, Reply<Served>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Reply { client, reply, .. } => Some((*client, reply.clone())),
            _ => None,
        })
        .collect()
}

/// Fires timers until none is pending; the replies in order, with the local time of each.
fn drain(h: &mut Harness<ServiceNode>) -> Vec<(Nanos, u32, Reply<Served>)> {
    let mut out = Vec::new();
    while let Some(effects) = h.fire_next_timer() {
        let now = h.now();
        out.extend(replies(&effects).into_iter().map(|(c, r)| (now, c, r)));
    }
    out
}

fn ok(wait_ns: Nanos) -> Reply<Served> {
    Reply::Ok { value: Served { node: 0, wait_ns } }
}

#[test]
fn calls_are_served_fifo_one_service_time_each() {
    let mut h = harness(config());
    for client in 0..3 {
        assert!(replies(&call(&mut h, client, 0)).is_empty(), "queued, not answered");
    }
    assert_eq!((h.node.busy(), h.node.queue_len()), (1, 2));
    let ms = MILLISECOND;
    let served = drain(&mut h);
    assert_eq!(served, vec![(2 * ms, 0, ok(0)), (4 * ms, 1, ok(2 * ms)), (6 * ms, 2, ok(4 * ms))]);
    let counts = h.node.counts();
    assert_eq!((counts.served, counts.wasted, counts.shed, counts.expired), (3, 0, 0, 0));
}

#[test]
fn a_full_queue_sheds_at_once() {
    let mut h = harness(config());
    for client in 0..3 {
        call(&mut h, client, 0);
    }
    let shed = call(&mut h, 3, 0);
    assert_eq!(replies(&shed), vec![(3, Reply::Fail { reason: "overloaded" })]);
    assert!(shed.contains(&Effect::Gauge { name: "shed", value: 1 }));
    assert_eq!(h.node.counts().shed, 1);
    assert_eq!(drain(&mut h).len(), 3, "the queued calls are still served");
}

#[test]
fn without_deadline_propagation_expired_work_is_done_and_counted_wasted() {
    let mut h = harness(config());
    call(&mut h, 0, 0);
    call(&mut h, 1, 3 * MILLISECOND); // starts at 2ms, done at 4ms: past its 3ms budget
    let served = drain(&mut h);
    assert_eq!(served[1], (4 * MILLISECOND, 1, ok(2 * MILLISECOND)));
    assert_eq!((h.node.counts().served, h.node.counts().wasted), (2, 1));
}

#[test]
fn deadline_propagation_drops_a_call_whose_budget_cannot_cover_the_work() {
    let mut h = harness(ServiceConfig { deadline_propagation: true, ..config() });
    call(&mut h, 0, 0);
    call(&mut h, 1, 3 * MILLISECOND); // at the head at 2ms, 1ms left for 2ms of work
    call(&mut h, 2, 10 * MILLISECOND);
    let served = drain(&mut h);
    let ms = MILLISECOND;
    assert_eq!(
        served,
        vec![
            (2 * ms, 0, ok(0)),
            (2 * ms, 1, Reply::Fail { reason: "expired" }),
            (4 * ms, 2, ok(2 * ms)),
        ],
        "the dropped call costs no worker time"
    );
    let counts = h.node.counts();
    assert_eq!((counts.served, counts.wasted, counts.expired), (2, 0, 1));

    // With a reject cost, dropping takes worker time.
    let mut h = harness(ServiceConfig {
        deadline_propagation: true,
        reject_cost_ns: MILLISECOND / 2,
        ..config()
    });
    call(&mut h, 0, 0);
    call(&mut h, 1, 3 * MILLISECOND);
    call(&mut h, 2, 10 * MILLISECOND);
    let served = drain(&mut h);
    assert_eq!(served[2], (4 * ms + ms / 2, 2, ok(2 * ms + ms / 2)));
}

#[test]
fn a_slowdown_multiplies_service_time_in_its_window_only() {
    let slow = Slowdown {
        at_ns: 10 * MILLISECOND,
        duration_ns: 10 * MILLISECOND,
        factor: 5,
        nodes: vec![],
    };
    let mut h = harness(ServiceConfig { slowdowns: vec![slow], ..config() });
    call(&mut h, 0, 0);
    assert_eq!(drain(&mut h)[0].0, 2 * MILLISECOND, "before the window: 2ms");
    h.advance(10 * MILLISECOND - h.now());
    call(&mut h, 1, 0);
    assert_eq!(drain(&mut h)[0].0, 20 * MILLISECOND, "in the window: 5 x 2ms");
    call(&mut h, 2, 0); // at 20ms: the window has closed
    assert_eq!(drain(&mut h)[0].0, 22 * MILLISECOND, "after it: 2ms again");

    // A slowdown of another node leaves this one alone.
    let other = Slowdown { at_ns: 0, duration_ns: SECOND, factor: 5, nodes: vec![1] };
    let mut h = harness(ServiceConfig { slowdowns: vec![other], ..config() });
    call(&mut h, 0, 0);
    assert_eq!(drain(&mut h)[0].0, 2 * MILLISECOND);
}

#[test]
fn workers_serve_in_parallel_and_report_gauges() {
    let mut h = harness(ServiceConfig { workers: 2, ..config() });
    call(&mut h, 0, 0);
    let second = call(&mut h, 1, 0);
    assert!(second.contains(&Effect::Gauge { name: "busy", value: 2 }));
    assert!(second.contains(&Effect::Gauge { name: "queue", value: 0 }));
    let served = drain(&mut h);
    assert_eq!(served.iter().map(|s| s.0).collect::<Vec<_>>(), vec![2 * MILLISECOND; 2]);
}

/// A history with `per_bucket[i]` calls completing ok in 100ms bucket `i`, and one more call
/// invoked at `last_invoke`.
fn history(per_bucket: &[u64], last_invoke: Nanos) -> TypedHistory<ServiceApi> {
    let op = ServiceOp::Call { work: 1, budget_ns: 20 * MILLISECOND };
    let mut ops = Vec::new();
    for (i, &n) in per_bucket.iter().enumerate() {
        for k in 0..n {
            let at = i as Nanos * 100 * MILLISECOND + k * MILLISECOND;
            let result = Some(Served { node: 0, wait_ns: 0 });
            let id = ops.len() as u64;
            ops.push(Record {
                id,
                client: 0,
                op,
                invoke_ns: at,
                complete_ns: at,
                outcome: Outcome::Ok,
                result,
            });
        }
    }
    let id = ops.len() as u64;
    ops.push(Record {
        id,
        client: 1,
        op,
        invoke_ns: last_invoke,
        complete_ns: last_invoke,
        outcome: Outcome::Fail,
        result: None,
    });
    TypedHistory { ops }
}

fn checker(slowdown: Option<(Nanos, Nanos)>) -> GoodputRecovery {
    GoodputRecovery {
        slowdown,
        bucket_ns: 100 * MILLISECOND,
        fraction: 0.9,
        sustain: 3,
        bound_ns: SECOND,
    }
}

#[test]
fn goodput_recovery_passes_when_goodput_comes_back_within_the_bound() {
    // Baseline 10 per bucket; slowdown 0.5s to 1s; back at 1.3s.
    let mut buckets = vec![10; 5];
    buckets.extend([1, 1, 1, 1, 1, 2, 3, 5, 9, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    let c = checker(Some((500 * MILLISECOND, SECOND)));
    let r = c.judge(&history(&buckets, 2500 * MILLISECOND), 3 * SECOND);
    assert!(r.passed && r.judged, "{}", r.detail);
    assert!(r.detail.starts_with("recovered at 1.3s, 300ms after"), "{}", r.detail);
}

#[test]
fn goodput_recovery_fails_when_goodput_stays_low_or_comes_back_late() {
    let mut buckets = vec![10; 5];
    buckets.extend([0; 25]);
    let c = checker(Some((500 * MILLISECOND, SECOND)));
    let r = c.judge(&history(&buckets, 3 * SECOND), 3 * SECOND);
    assert!(!r.passed && r.judged, "{}", r.detail);
    assert!(
        r.detail.contains("never recovered") && r.detail.contains("baseline 10.0"),
        "{}",
        r.detail
    );

    let mut late = vec![10; 5];
    late.extend([0; 20]);
    late.extend([10; 6]);
    let r = c.judge(&history(&late, 3100 * MILLISECOND), 4 * SECOND);
    assert!(!r.passed, "{}", r.detail);
    assert!(r.detail.starts_with("goodput recovered only at 2.5s, 1.5s after"), "{}", r.detail);
}

#[test]
fn goodput_recovery_says_when_it_cannot_judge() {
    let buckets = vec![10; 30];
    let r = checker(None).judge(&history(&buckets, 3 * SECOND), 3 * SECOND);
    assert!(r.passed && !r.judged && r.detail.contains("no slowdown"), "{}", r.detail);
    let r = checker(Some((200 * MILLISECOND, SECOND)))
        .judge(&history(&buckets, 3 * SECOND), 3 * SECOND);
    assert!(!r.judged && r.detail.contains("baseline"), "{}", r.detail);
    let r = checker(Some((500 * MILLISECOND, SECOND)))
        .judge(&history(&[0; 30], 3 * SECOND), 3 * SECOND);
    assert!(!r.judged && r.detail.contains("no call succeeded"), "{}", r.detail);
    // Clients stopped issuing before recovery was due, and goodput had not recovered.
    let mut short = vec![10; 5];
    short.extend([0; 10]);
    let r = checker(Some((500 * MILLISECOND, SECOND)))
        .judge(&history(&short, 1500 * MILLISECOND), 3 * SECOND);
    assert!(!r.judged && r.detail.contains("stopped issuing"), "{}", r.detail);
}
