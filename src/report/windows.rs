//! Fault windows: the stretches of virtual time a fault lasted, as the plots shade them.
//!
//! A cut of the network (partition, isolate, bridge, one-way) lasts until the next `heal`; a
//! crash lasts until the restart of that node; a link degradation until `link-restore`. Faults
//! with no duration of their own (clock jumps and drifts, disk faults) are instants, drawn as
//! vertical markers. A window still open when the run ends closes there.

use crate::engine::Nanos;
use crate::sim::AppliedFault;
use crate::world::fault::{Fault, NodeRef};

/// What a window is, which decides its colour and its legend entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowClass {
    /// Links cut: partition, isolate, bridge, one-way.
    Network,
    /// A node down.
    Crash,
    /// Links slow and lossy.
    Degrade,
    /// An instant: a clock jump or drift.
    Clock,
    /// An instant: a disk fault (corruption, sector error, misdirected write).
    Disk,
}

impl WindowClass {
    /// Every class, in legend order.
    pub const ALL: [WindowClass; 5] = [
        WindowClass::Network,
        WindowClass::Crash,
        WindowClass::Degrade,
        WindowClass::Clock,
        WindowClass::Disk,
    ];

    /// True for faults without a duration, drawn as a line rather than a band.
    pub fn is_instant(self) -> bool {
        matches!(self, WindowClass::Clock | WindowClass::Disk)
    }

    /// The legend's name of the class.
    pub fn legend(self) -> &'static str {
        match self {
            WindowClass::Network => "network cut",
            WindowClass::Crash => "node down",
            WindowClass::Degrade => "links degraded",
            WindowClass::Clock => "clock fault",
            WindowClass::Disk => "disk fault",
        }
    }
}

/// One fault, from when it was applied to when it was repaired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultWindow {
    /// When the fault was applied.
    pub start_ns: Nanos,
    /// When it was repaired (or the run ended); equal to `start_ns` for a marker.
    pub end_ns: Nanos,
    /// What kind of window.
    pub class: WindowClass,
    /// Short label for the plot, e.g. `crash n1`.
    pub label: String,
    /// What the fault did, as the fault log says (e.g. `n1 lost 0 unsynced bytes`).
    pub detail: String,
    /// The node a crash took down, or a clock or disk fault hit (`None` for other windows).
    pub node: Option<u32>,
}

impl FaultWindow {
    /// True if the window overlaps `[from_ns, to_ns]`.
    pub fn overlaps(&self, from_ns: Nanos, to_ns: Nanos) -> bool {
        self.start_ns <= to_ns && self.end_ns >= from_ns
    }
}

fn node_id(r: &NodeRef) -> Option<u32> {
    match r {
        NodeRef::Id(n) => Some(*n),
        NodeRef::Pick(_) | NodeRef::Bound { .. } => None,
    }
}

/// The fault windows of a run's fault log, in order of their start; `run_end_ns` closes the
/// windows never repaired.
pub fn fault_windows(log: &[AppliedFault], run_end_ns: Nanos) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    // Indices into `windows` of windows not yet closed.
    let mut open: Vec<usize> = Vec::new();
    for applied in log {
        let at = applied.at_ns;
        let closes = |w: &FaultWindow| match &applied.fault {
            Fault::Heal => w.class == WindowClass::Network,
            Fault::LinkRestore => w.class == WindowClass::Degrade,
            Fault::Restart { node } => w.class == WindowClass::Crash && w.node == node_id(node),
            // Rejoining one node ends its isolation, not the other cuts.
            Fault::Connect { node } => w.class == WindowClass::Network && w.node == node_id(node),
            _ => false,
        };
        open.retain(|&i| {
            let close = closes(&windows[i]);
            if close {
                windows[i].end_ns = at;
            }
            !close
        });
        let (class, node) = match &applied.fault {
            Fault::Isolate { node } => (WindowClass::Network, node_id(node)),
            Fault::Partition { .. } | Fault::Bridge { .. } | Fault::OneWay { .. } => {
                (WindowClass::Network, None)
            }
            Fault::Crash { node } => (WindowClass::Crash, node_id(node)),
            Fault::LinkDegrade(_) => (WindowClass::Degrade, None),
            Fault::ClockJump { node, .. } | Fault::ClockDrift { node, .. } => {
                (WindowClass::Clock, node_id(node))
            }
            Fault::DiskCorrupt { node }
            | Fault::DiskSectorError { node }
            | Fault::DiskMisdirect { node } => (WindowClass::Disk, node_id(node)),
            Fault::Heal | Fault::Restart { .. } | Fault::Connect { .. } | Fault::LinkRestore => {
                continue
            }
        };
        if !class.is_instant() {
            open.push(windows.len());
        }
        let (label, detail) = (applied.description.clone(), applied.detail.clone());
        windows.push(FaultWindow { start_ns: at, end_ns: at, class, label, detail, node });
    }
    for i in open {
        windows[i].end_ns = run_end_ns.max(windows[i].start_ns);
    }
    debug_assert!(windows.iter().all(|w| w.end_ns >= w.start_ns));
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::fault::{sides, SignedDuration};

    fn applied(at_ns: Nanos, fault: Fault) -> AppliedFault {
        AppliedFault {
            at_ns,
            kind: fault.kind().into(),
            description: fault.describe(),
            detail: String::new(),
            fault,
            name: None,
        }
    }

    #[test]
    fn crashes_pair_with_the_restart_of_the_same_node() {
        let log = vec![
            applied(10, Fault::Crash { node: NodeRef::Id(1) }),
            applied(20, Fault::Crash { node: NodeRef::Id(2) }),
            applied(30, Fault::Restart { node: NodeRef::Id(2) }),
            applied(40, Fault::Restart { node: NodeRef::Id(1) }),
        ];
        let w = fault_windows(&log, 100);
        assert_eq!(w.len(), 2);
        assert_eq!((w[0].start_ns, w[0].end_ns, w[0].node), (10, 40, Some(1)));
        assert_eq!((w[1].start_ns, w[1].end_ns, w[1].node), (20, 30, Some(2)));
        assert_eq!(w[0].label, "crash n1");
    }

    #[test]
    fn cuts_last_until_heal_and_open_windows_close_at_the_end() {
        let log = vec![
            applied(5, Fault::Partition { groups: Some(sides(vec![vec![0], vec![1, 2]])) }),
            applied(7, Fault::Isolate { node: NodeRef::Id(2) }),
            applied(9, Fault::ClockJump { node: NodeRef::Id(0), by: SignedDuration(5) }),
            applied(15, Fault::Heal),
            applied(20, Fault::LinkDegrade(Default::default())),
            applied(25, Fault::Crash { node: NodeRef::Id(0) }),
        ];
        let w = fault_windows(&log, 50);
        let spans: Vec<_> = w.iter().map(|w| (w.class, w.start_ns, w.end_ns)).collect();
        assert_eq!(
            spans,
            vec![
                (WindowClass::Network, 5, 15),
                (WindowClass::Network, 7, 15),
                (WindowClass::Clock, 9, 9),
                (WindowClass::Degrade, 20, 50),
                (WindowClass::Crash, 25, 50),
            ]
        );
        assert!(w[0].overlaps(14, 30) && !w[0].overlaps(16, 30));
        assert_eq!(w[2].node, Some(0), "a clock fault names its node");
        assert!(w[2].class.is_instant() && !w[0].class.is_instant());
    }

    #[test]
    fn disk_faults_are_instants_of_their_own_class() {
        let log = vec![applied(3, Fault::DiskCorrupt { node: NodeRef::Id(1) })];
        let w = fault_windows(&log, 10);
        assert_eq!(
            (w[0].class, w[0].start_ns, w[0].end_ns, w[0].node),
            (WindowClass::Disk, 3, 3, Some(1))
        );
    }
}
