//! Tests of the network: link behaviour, partitions, cuts in flight, memory.

use super::*;

fn net(hosts: usize, link: LinkConfig) -> Network {
    Network::new(hosts, link, InFlight::Drop, SimRng::new(42, 1))
}

#[test]
fn loss_rate_within_tolerance() {
    let mut n = net(2, LinkConfig { loss_ppm: 50_000, ..LinkConfig::default() });
    let lost = (0..200_000)
        .filter(|&t| matches!(n.send(t, 0, 1), Transit::Dropped(DropReason::Loss)))
        .count();
    // 5% of 200k = 10k; binomial sd ~97; allow 5 sd.
    assert!((9_500..=10_500).contains(&lost), "lost {lost}");
    assert_eq!(n.stats().lost, lost as u64);
}

#[test]
fn duplication_rate_within_tolerance() {
    let mut n = net(2, LinkConfig { duplicate_ppm: 100_000, ..LinkConfig::default() });
    let dups = (0..100_000)
        .filter(|&t| matches!(n.send(t, 0, 1), Transit::Arrives { duplicate: Some(_), .. }))
        .count();
    assert!((9_500..=10_500).contains(&dups), "dups {dups}");
}

#[test]
fn latency_within_bounds_and_fifo_without_reordering() {
    let link = LinkConfig { latency: 1000, jitter: 500, ..LinkConfig::default() };
    let mut n = net(2, link);
    let mut last = 0;
    for t in 0..10_000 {
        match n.send(t, 0, 1) {
            Transit::Arrives { first, duplicate: None, .. } => {
                assert!(first >= t + 1000);
                assert!(first >= last, "FIFO");
                last = first;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn exponential_jitter_has_the_right_mean_and_a_tail() {
    let link = LinkConfig {
        latency: 0,
        jitter: 10_000,
        jitter_shape: Jitter::Exponential,
        ..LinkConfig::default()
    };
    let mut n = net(2, link);
    // Sends a millisecond apart never queue behind each other (FIFO does not clamp).
    let mut draws: Vec<u64> = (0..100_000u64)
        .map(|t| match n.send(t * 1_000_000, 0, 1) {
            Transit::Arrives { first, .. } => first - t * 1_000_000,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let mean = draws.iter().sum::<u64>() / draws.len() as u64;
    assert!((9_700..10_300).contains(&mean), "mean {mean}");
    draws.sort_unstable();
    let median = draws[draws.len() / 2];
    assert!((6_500..7_500).contains(&median), "median {median} (ln 2 of the mean)");
    assert!(draws[draws.len() - 1] > 50_000, "a tail");
}

#[test]
fn reordering_breaks_fifo_sometimes() {
    let link =
        LinkConfig { latency: 1000, jitter: 0, reorder_ppm: 200_000, ..LinkConfig::default() };
    let mut n = net(2, link);
    let arrivals: Vec<Nanos> = (0..1000)
        .map(|t| match n.send(t * 10, 0, 1) {
            Transit::Arrives { first, .. } => first,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "some message overtaken");
}

#[test]
fn partitions_block_exactly_the_cut_links_and_heal_restores_them() {
    let mut n = net(5, LinkConfig::default());
    n.cut_between(&[0, 1], &[2, 3, 4]);
    for a in 0..5u32 {
        for b in 0..5u32 {
            if a == b {
                continue;
            }
            let crosses = (a < 2) != (b < 2);
            let blocked = matches!(n.send(0, a, b), Transit::Dropped(DropReason::Partition));
            assert_eq!(blocked, crosses, "{a}->{b}");
        }
    }
    assert!(n.any_cut());
    n.heal();
    assert!(!n.any_cut());
    assert!(matches!(n.send(0, 0, 4), Transit::Arrives { .. }));
}

#[test]
fn one_way_cut_is_asymmetric() {
    let mut n = net(2, LinkConfig::default());
    n.cut(0, 1);
    assert!(matches!(n.send(0, 0, 1), Transit::Dropped(DropReason::Partition)));
    assert!(matches!(n.send(0, 1, 0), Transit::Arrives { .. }));
}

#[test]
fn in_flight_messages_follow_the_setting() {
    for (mode, expect) in [(InFlight::Drop, false), (InFlight::Deliver, true)] {
        let mut n = Network::new(2, LinkConfig::default(), mode, SimRng::new(1, 1));
        let Transit::Arrives { epoch, .. } = n.send(0, 0, 1) else { panic!() };
        n.cut(0, 1);
        n.heal();
        assert_eq!(n.arrives(1_000_000, 0, 1, epoch), expect);
    }
}

/// Hosts `0..nodes` are nodes, the rest clients, as the simulator numbers them.
fn talks(n: &mut Network, from: HostId, to: HostId) -> bool {
    !matches!(n.send(0, from, to), Transit::Dropped(DropReason::Partition))
}

/// Every pair `(from, to)` of `0..hosts` that `n` blocks, as `blocked` says it should.
fn assert_cuts(n: &mut Network, hosts: u32, blocked: impl Fn(u32, u32) -> bool) {
    for a in 0..hosts {
        for b in 0..hosts {
            assert_eq!(!talks(n, a, b), a != b && blocked(a, b), "{a} -> {b}");
            assert_eq!(n.is_cut(a, b), a != b && blocked(a, b), "is_cut {a} -> {b}");
        }
    }
}

#[test]
fn partition_labels_cut_between_groups_only() {
    // Nodes 0..6, clients 6..8. Node 5 is in no group: it talks to everyone, as clients do.
    let mut n = net(8, LinkConfig::default());
    n.partition(&[vec![0, 1], vec![2, 3], vec![4]]);
    let group =
        |h: u32| [Some(0), Some(0), Some(1), Some(1), Some(2), None, None, None][h as usize];
    assert_cuts(&mut n, 8, |a, b| matches!((group(a), group(b)), (Some(x), Some(y)) if x != y));
    assert!(n.any_cut());
    n.heal();
    assert!(!n.any_cut());
    assert_cuts(&mut n, 8, |_, _| false);
}

#[test]
fn a_node_in_two_groups_is_cut_from_both_as_pairwise_cuts_would() {
    let mut n = net(5, LinkConfig::default());
    n.partition(&[vec![0, 1, 2], vec![2, 3]]);
    // 2 is listed twice: cut from 0, 1 and 3; 4 is in no group.
    assert_cuts(&mut n, 5, |a, b| {
        let g = |h| match h {
            0 | 1 => 1,
            2 => 2,
            3 => 3,
            _ => 0,
        };
        g(a) != 0 && g(b) != 0 && !(a < 2 && b < 2)
    });
}

#[test]
fn bridge_talks_to_both_halves_that_cannot_talk() {
    let mut n = net(9, LinkConfig::default());
    // Nodes 0..7: halves {0,1,2} and {3,4,5}, bridge 6; clients 7, 8.
    n.cut_between(&[0, 1, 2], &[3, 4, 5]);
    assert_cuts(&mut n, 9, |a, b| (a < 3 && (3..6).contains(&b)) || (b < 3 && (3..6).contains(&a)));
}

#[test]
fn isolate_cuts_one_node_from_nodes_not_from_clients() {
    let mut n = net(6, LinkConfig::default());
    // Nodes 0..4, clients 4, 5: isolating node 2 is a partition {2} | {0, 1, 3}.
    n.cut_between(&[2], &[0, 1, 3]);
    assert_cuts(&mut n, 6, |a, b| (a == 2 && b < 4) || (b == 2 && a < 4));
}

#[test]
fn one_way_cuts_block_one_direction_and_stack_with_partitions() {
    let mut n = net(6, LinkConfig::default());
    n.cut_one_way(1, &[0, 1, 2, 3]);
    assert_cuts(&mut n, 6, |a, b| a == 1 && b < 4);
    n.cut_between(&[4], &[5]);
    assert_cuts(&mut n, 6, |a, b| (a == 1 && b < 4) || (a + b == 9));
    n.heal();
    assert_cuts(&mut n, 6, |_, _| false);
}

#[test]
fn a_message_in_flight_is_judged_by_the_cuts_it_crossed() {
    let link = LinkConfig { latency: 1000, jitter: 0, ..LinkConfig::default() };
    for mode in [InFlight::Drop, InFlight::Deliver] {
        let mut n = Network::new(6, link, mode, SimRng::new(1, 1));
        let epoch = |t: Transit| match t {
            Transit::Arrives { epoch, .. } => epoch,
            other => panic!("unexpected {other:?}"),
        };
        // In flight at 0: 0 -> 1 (will be cut), 0 -> 4 (a client: never cut by an isolation),
        // 2 -> 3 (cut one way only 3 -> 2), 3 -> 2 (cut).
        let across = epoch(n.send(0, 0, 1));
        let client = epoch(n.send(0, 0, 4));
        let with = epoch(n.send(0, 2, 3));
        let against = epoch(n.send(0, 3, 2));
        n.cut_between(&[0], &[1, 2, 3]);
        n.cut_one_way(3, &[2]);
        n.heal();
        // Sent after the cuts were healed: arrives whatever the mode.
        let after = epoch(n.send(500, 0, 1));
        let drop = mode == InFlight::Drop;
        assert_eq!(n.arrives(1000, 0, 1, across), !drop);
        assert!(n.arrives(1000, 0, 4, client));
        assert!(n.arrives(1000, 2, 3, with));
        assert_eq!(n.arrives(1000, 3, 2, against), !drop);
        assert!(n.arrives(1500, 0, 1, after));
        assert_eq!(n.stats().cut_in_flight, if drop { 2 } else { 0 });
    }
}

#[test]
fn healed_cuts_are_forgotten_once_nothing_in_flight_crossed_them() {
    let link = LinkConfig { latency: 1000, jitter: 0, ..LinkConfig::default() };
    let mut n = Network::new(4, link, InFlight::Drop, SimRng::new(1, 1));
    for round in 0..1000u64 {
        let t = round * 10_000;
        let Transit::Arrives { epoch, first, .. } = n.send(t, 0, 1) else { panic!() };
        n.cut_between(&[0], &[1]);
        n.heal();
        assert!(!n.arrives(first, 0, 1, epoch), "round {round}");
    }
    assert!(n.cuts.len() <= 2, "{} cuts remembered", n.cuts.len());
}

#[test]
fn degrading_every_link_changes_the_default_and_restore_brings_it_back() {
    let base = LinkConfig::default();
    let slow = LinkConfig { latency: 9_000_000, loss_ppm: 100_000, ..base };
    let mut n = net(2_100, base);
    n.set_links(None, None, slow);
    assert_eq!(n.link(0, 2_099), slow);
    assert_eq!(n.link(2_099, 7), slow);
    assert_eq!(n.link(5, 5), base, "a host's link to itself is never degraded");
    assert_eq!(n.links.overrides(), 0);
    n.restore_links();
    assert_eq!(n.link(0, 2_099), base);
}

#[test]
fn degrading_between_sets_overrides_those_links_and_the_newest_wins() {
    let base = LinkConfig::default();
    let slow = LinkConfig { latency: 9_000_000, ..base };
    let lossy = LinkConfig { loss_ppm: 500_000, ..base };
    let mut n = net(6, base);
    n.set_links(Some(&[0, 1]), Some(&[2, 3]), slow);
    assert_eq!((n.link(0, 2), n.link(3, 1)), (slow, slow));
    assert_eq!((n.link(0, 1), n.link(2, 3), n.link(0, 4)), (base, base, base));
    // `b` absent: every host, clients included.
    n.set_links(Some(&[1]), None, lossy);
    assert_eq!((n.link(1, 2), n.link(5, 1), n.link(0, 2)), (lossy, lossy, slow));
    assert_eq!(n.link(1, 1), base);
    // This one hides the first entirely: it is dropped, the second stays.
    n.set_links(Some(&[0, 1, 2, 3]), Some(&[0, 1, 2, 3]), slow);
    assert_eq!(n.links.overrides(), 2);
    assert_eq!((n.link(1, 5), n.link(1, 2)), (lossy, slow));
    n.restore_links();
    assert_eq!(n.links.overrides(), 0);
    assert_eq!((n.link(1, 2), n.link(0, 2)), (base, base));
}

/// The old network, one flag and one epoch per directed link: the reference the sparse one
/// must agree with, cut by cut and message by message.
struct Dense {
    hosts: usize,
    cut: Vec<bool>,
    epoch: Vec<u32>,
}

impl Dense {
    fn cut(&mut self, a: u32, b: u32) {
        let i = a as usize * self.hosts + b as usize;
        if a != b && !self.cut[i] {
            self.cut[i] = true;
            self.epoch[i] += 1;
        }
    }
}

#[test]
fn cuts_agree_with_a_dense_model_of_every_link() {
    let (nodes, hosts) = (7u32, 10usize);
    let link = LinkConfig { latency: 1000, jitter: 3000, ..LinkConfig::default() };
    let mut dropped_in_flight = 0;
    for seed in 0..20 {
        let mut rng = SimRng::new(seed, 99);
        let mut n = Network::new(hosts, link, InFlight::Drop, SimRng::new(seed, 1));
        let mut dense =
            Dense { hosts, cut: vec![false; hosts * hosts], epoch: vec![0; hosts * hosts] };
        // (arrival, from, to, epoch, dense epoch)
        let mut in_flight: Vec<(Nanos, u32, u32, u32, u32)> = Vec::new();
        let mut now = 0;
        for _ in 0..400 {
            now += rng.below(1500);
            in_flight.sort_unstable();
            while in_flight.first().is_some_and(|m| m.0 <= now) {
                let (at, from, to, epoch, old) = in_flight.remove(0);
                let expect = dense.epoch[from as usize * hosts + to as usize] == old;
                assert_eq!(n.arrives(at, from, to, epoch), expect, "seed {seed} {from}->{to}");
            }
            let node = |rng: &mut SimRng| rng.below(u64::from(nodes)) as u32;
            match rng.below(10) {
                0 => {
                    let groups: Vec<Vec<u32>> = (0..1 + rng.below(3))
                        .map(|_| (0..rng.below(4)).map(|_| node(&mut rng)).collect())
                        .collect();
                    for (i, a) in groups.iter().enumerate() {
                        for b in &groups[i + 1..] {
                            for (&x, &y) in a.iter().flat_map(|x| b.iter().map(move |y| (x, y))) {
                                dense.cut(x, y);
                                dense.cut(y, x);
                            }
                        }
                    }
                    n.partition(&groups);
                }
                1 => {
                    let from = node(&mut rng);
                    let to: Vec<u32> = (0..rng.below(4)).map(|_| node(&mut rng)).collect();
                    to.iter().for_each(|&t| dense.cut(from, t));
                    n.cut_one_way(from, &to);
                }
                2 => {
                    dense.cut.iter_mut().for_each(|c| *c = false);
                    n.heal();
                }
                _ => {
                    let from = rng.below(hosts as u64) as u32;
                    let to = rng.below(hosts as u64) as u32;
                    let i = from as usize * hosts + to as usize;
                    match n.send(now, from, to) {
                        Transit::Dropped(DropReason::Partition) => assert!(dense.cut[i]),
                        Transit::Dropped(other) => panic!("unexpected {other:?}"),
                        Transit::Arrives { first, epoch, .. } => {
                            assert!(!dense.cut[i], "seed {seed} {from}->{to} should be cut");
                            in_flight.push((first, from, to, epoch, dense.epoch[i]));
                        }
                    }
                }
            }
            assert_eq!(n.any_cut(), dense.cut.contains(&true));
        }
        dropped_in_flight += n.stats().cut_in_flight;
    }
    assert!(dropped_in_flight > 20, "the cases that matter happen: {dropped_in_flight}");
}

#[test]
fn two_thousand_nodes_fit_in_kilobytes() {
    // The old network kept ~45 bytes per pair of hosts: 3,072 hosts were 420 MB.
    assert!(std::mem::size_of::<Network>() <= 1024, "{}", std::mem::size_of::<Network>());
    let (nodes, hosts) = (2_048u32, 3_072usize);
    let mut n = net(hosts, LinkConfig::default());
    assert!(n.heap_bytes() <= 4096, "empty: {} bytes", n.heap_bytes());
    let half: Vec<u32> = (0..nodes / 2).collect();
    let other: Vec<u32> = (nodes / 2..nodes - 1).collect();
    n.cut_between(&half, &other); // a bridge: node 2047 in neither half
    n.cut_one_way(7, &half);
    n.set_links(
        Some(&half),
        Some(&other),
        LinkConfig { latency: 5_000_000, ..LinkConfig::default() },
    );
    // Labels for 2,048 nodes and for 1,024, two bit sets: about 15 KB.
    assert!(n.heap_bytes() <= 64 << 10, "faults in force: {} bytes", n.heap_bytes());
    assert!(n.is_cut(0, 1500) && !n.is_cut(0, 2047) && !n.is_cut(2047, 1500));
    // A gossip round a millisecond: every node sends to a random peer. FIFO state follows the
    // messages in flight (about 2,000), not the links used (millions by the end).
    let mut rng = SimRng::new(5, 5);
    let mut in_flight: std::collections::VecDeque<(Nanos, u32, u32, u32)> = Default::default();
    for round in 0..1000u64 {
        let now = round * 1_000_000;
        while in_flight.front().is_some_and(|m| m.0 <= now) {
            let (at, from, to, epoch) = in_flight.pop_front().unwrap();
            n.arrives(at, from, to, epoch);
        }
        for from in 0..nodes {
            let to = rng.below(u64::from(nodes)) as u32;
            if let Transit::Arrives { first, epoch, .. } = n.send(now, from, to) {
                in_flight.push_back((first, from, to, epoch));
            }
        }
        in_flight.make_contiguous().sort_unstable();
    }
    assert!(n.heap_bytes() <= 512 << 10, "after 2M messages: {} bytes", n.heap_bytes());
}

#[test]
fn bandwidth_queues_a_senders_messages_and_counts_their_bytes() {
    let fixed = LinkConfig { latency: 1_000_000, jitter: 0, ..LinkConfig::default() };
    let arrivals = |bandwidth: u64| {
        let mut n = net(3, fixed);
        n.set_bandwidth(bandwidth);
        // Host 0 sends ten 1,000-byte messages at t = 0; host 1 one at t = 0.
        let mut at: Vec<Nanos> = (0..10)
            .map(|_| match n.send_bytes(0, 0, 2, 1_000) {
                Transit::Arrives { first, .. } => first,
                Transit::Dropped(why) => panic!("dropped: {why:?}"),
            })
            .collect();
        let other = match n.send_bytes(0, 1, 2, 1_000) {
            Transit::Arrives { first, .. } => first,
            Transit::Dropped(why) => panic!("dropped: {why:?}"),
        };
        at.push(other);
        (at, n.stats())
    };
    let (unlimited, stats) = arrivals(0);
    assert!(unlimited.iter().all(|t| *t == 1_000_000), "{unlimited:?}");
    assert_eq!((stats.bytes_sent, stats.sized_sent, stats.bandwidth_delay_ns), (11_000, 11, 0));
    // 1 MB/s: each 1,000-byte message takes 1 ms to leave, behind the ones before it.
    let (limited, stats) = arrivals(1_000_000);
    let want: Vec<Nanos> = (1..=10).map(|k| k * 1_000_000 + 1_000_000).collect();
    assert_eq!(&limited[..10], &want[..]);
    assert_eq!(limited[10], 2_000_000, "another host's link is its own");
    assert_eq!(stats.bandwidth_delay_ns, (1..=10).sum::<u64>() * 1_000_000 + 1_000_000);
    // A message of unknown size (0 bytes) neither waits nor is counted.
    let mut n = net(2, fixed);
    n.set_bandwidth(1);
    assert!(matches!(n.send(5, 0, 1), Transit::Arrives { first: 1_000_005, .. }));
    assert_eq!(n.stats().bytes_sent, 0);
    assert_eq!(n.bytes_per_second().0, Vec::<u64>::new());
}

#[test]
fn bytes_are_counted_by_the_second_they_were_sent() {
    let mut n = net(2, LinkConfig::default());
    n.send_bytes(10, 0, 1, 5);
    n.send_bytes(999_999_999, 0, 1, 7);
    n.send_bytes(2_500_000_000, 1, 0, 100);
    assert_eq!(n.bytes_per_second().0, vec![12, 0, 100]);
}

/// The one-way delay of a message sent at `t`, or `None` if it was lost.
fn delay(n: &mut Network, t: Nanos, from: HostId, to: HostId, class: MessageClass) -> Option<u64> {
    match n.send_message(t, from, to, 0, class) {
        Transit::Arrives { first, .. } => Some(first - t),
        Transit::Dropped(_) => None,
    }
}

#[test]
fn a_one_way_degrade_slows_only_the_links_from_a_to_b() {
    let base = LinkConfig { latency: 1_000, jitter: 0, ..LinkConfig::default() };
    let slow = LinkConfig { latency: 50_000, ..base };
    let mut n = net(4, base);
    let scope = Scope { one_way: true, class: None };
    n.set_links_for(Some(&[0, 1]), Some(&[2]), scope, slow);
    let request = MessageClass::Request;
    for t in 0..100 {
        let t = t * 1_000_000;
        assert_eq!(delay(&mut n, t, 0, 2, request), Some(50_000), "a -> b is degraded");
        assert_eq!(delay(&mut n, t, 1, 2, MessageClass::Reply), Some(50_000));
        assert_eq!(delay(&mut n, t, 2, 0, request), Some(1_000), "b -> a is not");
        assert_eq!(delay(&mut n, t, 0, 1, request), Some(1_000), "inside a is not");
        assert_eq!(delay(&mut n, t, 3, 2, request), Some(1_000), "outside a is not");
    }
}

#[test]
fn a_replies_only_degrade_leaves_requests_alone() {
    let base = LinkConfig { latency: 1_000, jitter: 0, ..LinkConfig::default() };
    let lossy = LinkConfig { latency: 9_000, loss_ppm: 1_000_000, ..base };
    let mut n = net(3, base);
    let replies = Scope { one_way: false, class: Some(MessageClass::Reply) };
    n.set_links_for(None, None, replies, lossy);
    assert_eq!(n.links.overrides(), 1, "a degrade of some messages is an override");
    for t in 0..1000 {
        let t = t * 100_000;
        assert_eq!(delay(&mut n, t, 0, 1, MessageClass::Request), Some(1_000));
        assert_eq!(delay(&mut n, t, 2, 0, MessageClass::Request), Some(1_000));
        assert_eq!(delay(&mut n, t, 1, 0, MessageClass::Reply), None, "every reply lost");
    }
    assert_eq!(n.stats().lost, 1000);
    // A later degrade of every message of the same links hides it; one of requests only
    // does not, and leaves the replies as they were.
    let slow = LinkConfig { latency: 5_000, ..base };
    let requests = Scope { one_way: false, class: Some(MessageClass::Request) };
    n.set_links_for(None, None, requests, slow);
    assert_eq!(n.links.overrides(), 2);
    assert_eq!(n.link_for(0, 1, MessageClass::Reply), lossy);
    assert_eq!(n.link_for(0, 1, MessageClass::Request), slow);
    n.set_links(None, None, slow);
    assert_eq!(n.links.overrides(), 0);
    assert_eq!(n.link_for(0, 1, MessageClass::Reply), slow);
    n.restore_links();
    assert_eq!(n.link_for(0, 1, MessageClass::Reply), base);
}

#[test]
fn a_newer_degrade_hides_only_what_it_covers() {
    let base = LinkConfig::default();
    let (x, y) = (LinkConfig { latency: 7, ..base }, LinkConfig { latency: 9, ..base });
    let mut n = net(4, base);
    let one_way = Scope { one_way: true, class: None };
    n.set_links_for(Some(&[0]), Some(&[1]), Scope::default(), x);
    // One way over both ways: the other direction still stands.
    n.set_links_for(Some(&[0]), Some(&[1]), one_way, y);
    assert_eq!(n.links.overrides(), 2);
    assert_eq!((n.link(0, 1), n.link(1, 0)), (y, x));
    // Both ways over one way (the sets crossed): it hides both.
    n.set_links_for(Some(&[1]), Some(&[0]), Scope::default(), x);
    assert_eq!(n.links.overrides(), 1);
    assert_eq!((n.link(0, 1), n.link(1, 0)), (x, x));
}

#[test]
fn a_degrades_jitter_reorders_where_the_networks_keeps_fifo_order() {
    let base = LinkConfig { latency: 1_000, jitter: 10_000, ..LinkConfig::default() };
    let arrivals = |n: &mut Network| -> Vec<Nanos> {
        (0..2000)
            .map(|t| match n.send(t * 100, 0, 1) {
                Transit::Arrives { first, .. } => first,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    };
    let mut plain = net(2, base);
    assert!(arrivals(&mut plain).windows(2).all(|w| w[0] <= w[1]), "FIFO");
    let mut degraded = net(2, base);
    degraded.set_links(None, None, LinkConfig { jitter_unordered: 10_000, ..base });
    let got = arrivals(&mut degraded);
    let overtaken = got.windows(2).filter(|w| w[1] < w[0]).count();
    assert!(overtaken > 200, "{overtaken} of 2000 overtaken");
    assert_eq!(degraded.stats().reordered, 0, "not the reorder mode's counter");
}

#[test]
fn a_degrades_reorder_holds_messages_back_so_later_ones_overtake() {
    let base = LinkConfig { latency: 1_000, jitter: 0, ..LinkConfig::default() };
    let mut n = net(2, base);
    n.set_links(None, None, LinkConfig { reorder_ppm: 100_000, ..base });
    let got: Vec<Nanos> = (0..10_000)
        .map(|t| match n.send(t * 10, 0, 1) {
            Transit::Arrives { first, .. } => first - t * 10,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let arrivals: Vec<Nanos> = got.iter().zip(0..).map(|(d, t)| d + t * 10).collect();
    assert!(arrivals.windows(2).any(|w| w[1] < w[0]), "a held message is overtaken");
    let held = n.stats().reordered;
    assert!((900..=1_100).contains(&held), "{held} held back of 10,000 at 10%");
    // Held back at most three times latency plus jitter; the others keep FIFO order.
    assert!(got.iter().all(|&d| (1_000..=4_000).contains(&d)));
}

#[test]
fn a_long_delay_holds_back_the_configured_fraction() {
    let base = LinkConfig { latency: 1_000_000, jitter: 0, ..LinkConfig::default() };
    let long = LinkConfig {
        long_delay_ppm: 100_000,
        long_delay_min: 200_000_000,
        long_delay_max: 2_000_000_000,
        ..base
    };
    let mut n = net(3, base);
    n.set_links(Some(&[0]), Some(&[1]), long);
    let delays: Vec<u64> =
        (0..20_000).filter_map(|t| delay(&mut n, t * 1000, 0, 1, MessageClass::Request)).collect();
    let held: Vec<u64> = delays.iter().copied().filter(|&d| d > 1_000_000).collect();
    // 10% of 20,000 = 2,000; sd ~42; allow 5 sd.
    assert!((1_790..=2_210).contains(&held.len()), "{} held", held.len());
    assert_eq!(n.stats().long_delayed, held.len() as u64);
    assert!(held.iter().all(|&d| (201_000_000..=2_001_000_000).contains(&d)));
    let mean = held.iter().sum::<u64>() / held.len() as u64;
    assert!((1_000_000_000..1_200_000_000).contains(&mean), "uniform: mean {mean}");
    // The others are not held behind them: the link still delivers in about its latency.
    assert_eq!(delays.iter().filter(|&&d| d == 1_000_000).count(), delays.len() - held.len());
    assert_eq!(delay(&mut n, 0, 0, 2, MessageClass::Request), Some(1_000_000), "other links");
}

#[test]
fn a_degrades_duplicate_duplicates_on_its_links_only() {
    let base = LinkConfig::default();
    let mut n = net(3, base);
    n.set_links(Some(&[0]), Some(&[1]), LinkConfig { duplicate_ppm: 200_000, ..base });
    let dups = |n: &mut Network, to| {
        (0..10_000)
            .filter(|&t| matches!(n.send(t, 0, to), Transit::Arrives { duplicate: Some(_), .. }))
            .count()
    };
    let degraded = dups(&mut n, 1);
    assert!((1_800..=2_200).contains(&degraded), "{degraded} duplicated");
    assert_eq!(dups(&mut n, 2), 0);
}

#[test]
fn new_modes_unused_draw_nothing_more() {
    // A link without jitter_unordered or long delays must draw from the network's stream
    // exactly as before they existed, so existing scenarios keep their traces: a degrade of
    // latency alone draws what the scenario's link draws, fate for fate.
    let base = LinkConfig { loss_ppm: 10_000, reorder_ppm: 10_000, ..LinkConfig::default() };
    let slow = LinkConfig { latency: 3_000_000, ..base };
    let mut a = net(2, base);
    let mut b = net(2, base);
    b.set_links(None, None, slow);
    for t in 0..1000 {
        let (x, y) = (a.send(t * 10, 0, 1), b.send(t * 10, 0, 1));
        match (x, y) {
            (Transit::Arrives { .. }, Transit::Arrives { .. }) => {}
            (Transit::Dropped(p), Transit::Dropped(q)) => assert_eq!(p, q),
            other => panic!("the same draws give the same fates: {other:?}"),
        }
    }
    assert_eq!(a.rng.below(u64::MAX), b.rng.below(u64::MAX), "same number of draws");
}
