//! Link degrades in a whole run: replies told from requests at send time, one direction only,
//! and degrades that stand through the quiet period (tests/degrade.rs judges liveness then).

use super::*;
use crate::node::{KvApi, NoControl, Op};
use crate::sim::trace::TraceBuffer;
use crate::sim::trace::TraceEvent;
use std::ops::Range;

const MS: Nanos = 1_000_000;

/// Node 0 pings every other node each millisecond; they answer with a pong, a reply.
struct Pinger {
    nodes: u32,
}

#[derive(Clone, Debug)]
enum Msg {
    Ping,
    Pong,
}

impl Node for Pinger {
    type Msg = Msg;
    type Timer = ();
    type Api = KvApi;
    type Control = NoControl;
    fn is_reply(msg: &Msg) -> bool {
        matches!(msg, Msg::Pong)
    }
    fn on_start(&mut self, ctx: &mut Context<'_, Self>) {
        if ctx.id() == 0 {
            ctx.set_timer(1_000_000, ());
        }
    }
    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _: ()) {
        for to in 1..self.nodes {
            ctx.send(to, Msg::Ping);
        }
        ctx.set_timer(1_000_000, ());
    }
    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        if let Msg::Ping = msg {
            ctx.send(from, Msg::Pong);
        }
    }
    fn on_request(&mut self, _: &mut Context<'_, Self>, _: ClientId, _: Request<Op>) {}
}

struct Pings;

impl System for Pings {
    const NAME: &'static str = "pings";
    const ABOUT: &'static str = "test";
    type Node = Pinger;
    type Config = ();
    fn node(_: &(), _: NodeId, cluster: &Cluster) -> Pinger {
        Pinger { nodes: cluster.nodes }
    }
    fn checks(_: &(), _: &Cluster) -> Checks<KvApi> {
        Checks::new()
    }
}

/// One message sent: when, its kind, its link, and how long it took (`None`: lost).
struct Sent {
    t: Nanos,
    name: String,
    from: u32,
    to: u32,
    delay: Option<Nanos>,
}

/// Runs 3 pinging nodes for 1s (quiet from 500ms) on 1ms links without jitter, with `faults`
/// (`[[faults]]` tables); the messages sent and the fault log's descriptions.
fn run(faults: &str, seed: u64) -> (Vec<Sent>, Vec<String>) {
    let text = format!(
        "system = \"pings\"\nnodes = 3\nduration = \"1s\"\nquiet = \"500ms\"\n[clients]\n\
         count = 0\n[network]\nlatency = \"1ms\"\njitter = \"0ms\"\n{faults}"
    );
    let scenario = Scenario::parse(&text, "p.toml".as_ref(), &[]).unwrap();
    let buffer = TraceBuffer::default();
    let options = buffer.options();
    let out = Sim::<Pings>::new(&scenario, (), seed, options).run();
    let bytes = buffer.bytes();
    let sent = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let record: TraceRecord = serde_json::from_str(line).unwrap();
            match record.event {
                TraceEvent::Send { from, to, name, arrive, .. } => {
                    Some(Sent { t: record.t, name, from, to, delay: arrive.map(|a| a - record.t) })
                }
                _ => None,
            }
        })
        .collect();
    (sent, out.report.fault_log.iter().map(|f| f.description.clone()).collect())
}

/// The delays of the `name` messages on `from -> to` sent in `range` (ns).
fn delays(sent: &[Sent], name: &str, link: (u32, u32), range: Range<Nanos>) -> Vec<Option<u64>> {
    let on = |s: &&Sent| s.name == name && (s.from, s.to) == link && range.contains(&s.t);
    sent.iter().filter(on).map(|s| s.delay).collect()
}

fn all(delays: &[Option<u64>], ms: u64) -> bool {
    !delays.is_empty() && delays.iter().all(|d| *d == Some(ms * 1_000_000))
}

#[test]
fn a_replies_only_degrade_slows_the_replies_the_node_names() {
    let (sent, log) = run(
        "[[faults]]\nat = \"100ms\"\nkind = \"link-degrade\"\nlatency = \"50ms\"\n\
         messages = \"replies\"\n",
        1,
    );
    assert_eq!(log, ["link-degrade: latency +50ms, replies only", "link-restore"]);
    let during = 100 * MS..500 * MS;
    assert!(all(&delays(&sent, "Ping", (0, 1), during.clone()), 1), "requests alone");
    assert!(all(&delays(&sent, "Pong", (1, 0), during.clone()), 51), "replies slowed");
    assert!(all(&delays(&sent, "Pong", (2, 0), during), 51));
    assert!(all(&delays(&sent, "Pong", (1, 0), 0..100 * MS), 1), "not before");
    // Once the replies held in the degrade's FIFO order have arrived.
    assert!(all(&delays(&sent, "Pong", (1, 0), 560 * MS..1000 * MS), 1), "restored at quiet");
}

#[test]
fn a_one_way_degrade_slows_a_to_b_only() {
    let (sent, log) = run(
        "[[faults]]\nat = \"100ms\"\nkind = \"link-degrade\"\na = [1]\nb = [0]\n\
         direction = \"a-to-b\"\nlatency = \"50ms\"\nloss = 0.5\n",
        1,
    );
    assert_eq!(log[0], "link-degrade n1 -> n0: latency +50ms, loss 0.5");
    let during = 100 * MS..500 * MS;
    let from_1 = delays(&sent, "Pong", (1, 0), during.clone());
    let lost = from_1.iter().filter(|d| d.is_none()).count();
    assert!((100..300).contains(&lost), "{lost} of {} lost", from_1.len());
    assert!(from_1.iter().flatten().all(|&d| d == 51 * MS));
    assert!(all(&delays(&sent, "Ping", (0, 1), during.clone()), 1), "b -> a untouched");
    assert!(all(&delays(&sent, "Pong", (2, 0), during), 1), "other links untouched");
}

#[test]
fn a_through_quiet_degrade_outlasts_the_fault_phase() {
    let standing = "[[faults]]\nat = \"100ms\"\nkind = \"link-degrade\"\na = [0]\nb = [1]\n\
                    latency = \"20ms\"\nthrough_quiet = true\n";
    let passing = "[[faults]]\nat = \"200ms\"\nkind = \"link-degrade\"\na = [0]\nb = [2]\n\
                   latency = \"30ms\"\n";
    let (sent, log) = run(&format!("{standing}{passing}"), 1);
    let described = "link-degrade n0 <-> n1: latency +20ms, through quiet";
    assert_eq!(
        log,
        [described, "link-degrade n0 <-> n2: latency +30ms", "link-restore", described],
        "the quiet period restores every link, then applies the standing degrade again"
    );
    let (fault_phase, quiet) = (200 * MS..500 * MS, 501 * MS..1000 * MS);
    assert!(all(&delays(&sent, "Ping", (0, 1), fault_phase.clone()), 21));
    assert!(all(&delays(&sent, "Ping", (0, 2), fault_phase), 31));
    assert!(all(&delays(&sent, "Ping", (0, 1), quiet.clone()), 21), "still degraded");
    assert!(all(&delays(&sent, "Pong", (1, 0), quiet.clone()), 21), "both ways");
    let drained = 540 * MS..1000 * MS;
    assert!(all(&delays(&sent, "Ping", (0, 2), drained), 1), "the other one undone");
    // Alone, it is simply left in force: nothing to restore.
    let (sent, log) = run(standing, 1);
    assert_eq!(log, [described]);
    assert!(all(&delays(&sent, "Ping", (0, 1), 100 * MS..1000 * MS), 21));
}

#[test]
fn jitter_and_long_delays_reorder_a_link_and_replay_the_same() {
    let faults = "[[faults]]\nat = \"100ms\"\nkind = \"link-degrade\"\njitter = \"5ms\"\n\
                  jitter_distribution = \"exponential\"\nreorder = 0.1\nduplicate = 0.1\n\
                  long_delay_fraction = 0.05\nlong_delay = \"200ms..2s\"\n";
    let (sent, _) = run(faults, 3);
    let pings: Vec<&Sent> = sent.iter().filter(|s| s.name == "Ping" && s.to == 1).collect();
    let arrivals: Vec<Nanos> = pings.iter().filter_map(|s| s.delay.map(|d| s.t + d)).collect();
    assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "messages overtake each other");
    let long = pings.iter().filter(|s| s.delay.is_some_and(|d| d >= 200 * MS)).count();
    assert!((5..=40).contains(&long), "{long} of ~400 held back long");
    let (again, _) = run(faults, 3);
    let key = |s: &[Sent]| s.iter().map(|s| (s.t, s.from, s.to, s.delay)).collect::<Vec<_>>();
    assert_eq!(key(&sent), key(&again), "same seed, same run");
    let (other, _) = run(faults, 4);
    assert_ne!(key(&sent), key(&other));
}
