//! Scenario files: what to run, on how many nodes, under which network, clocks, disks, clients
//! and faults. TOML, validated strictly: an unknown key or an out-of-range value is an error that
//! names the file, the key and the reason.

pub mod expect;
mod overrides;
pub mod vary;

use crate::engine::{parse_duration, Nanos, TraceHash, SECOND};
use crate::reliability::{BreakerConfig, HedgeConfig, LimiterConfig, PolicyConfig, RetryConfig};
use crate::world::fault::{Degrade, Direction, Fault, NodeRef, Probability, ScheduledFault, Side};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

pub use overrides::apply_override;

/// Most nodes a scenario may have: a gossip cluster of 2,000 fits (the network keeps nothing
/// per pair of hosts).
pub const NODES_MAX: u32 = 2048;
/// Most clients a scenario may have.
pub const CLIENTS_MAX: u32 = 4096;
/// Most keys a workload may use.
pub const KEYS_MAX: u32 = 100_000;
/// Longest run, in virtual time.
pub const DURATION_MAX: Nanos = 24 * 3600 * SECOND;
/// Most faults a scenario may list.
pub const FAULTS_MAX: usize = 100_000;

/// A bad scenario: which file, which key (if known), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The scenario file.
    pub file: PathBuf,
    /// The offending key, dotted (`network.loss`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: `{key}`: {}", self.file.display(), self.reason),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

impl std::error::Error for ScenarioError {}

/// A span of virtual time, written for people (`"250ms"`, `"1.5s"`); written back exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub Nanos);

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::engine::format_nanos_exact(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text).map(Duration).map_err(serde::de::Error::custom)
    }
}

/// A link speed, written for people (`"10MB/s"`, `"1Gbit/s"`, `"512KiB/s"`) or
/// `"unlimited"`; held in bytes per second (0: unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bandwidth(pub u64);

impl Bandwidth {
    /// Parses `text`: a number, then B/s, KB/s, MB/s, GB/s (powers of 1000), KiB/s, MiB/s,
    /// GiB/s (powers of 1024) or kbit/s, Mbit/s, Gbit/s; or `unlimited`.
    pub fn parse(text: &str) -> Result<Bandwidth, String> {
        let text = text.trim();
        if text == "unlimited" {
            return Ok(Bandwidth(0));
        }
        let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let scale: f64 = match unit.trim() {
            "B/s" => 1.0,
            "KB/s" | "kB/s" => 1e3,
            "MB/s" => 1e6,
            "GB/s" => 1e9,
            "KiB/s" => 1024.0,
            "MiB/s" => 1024.0 * 1024.0,
            "GiB/s" => 1024.0 * 1024.0 * 1024.0,
            "kbit/s" => 1e3 / 8.0,
            "Mbit/s" => 1e6 / 8.0,
            "Gbit/s" => 1e9 / 8.0,
            "" => return Err(format!("`{text}` has no unit (write e.g. `10MB/s`, `1Gbit/s`)")),
            other => {
                return Err(format!(
                    "unknown bandwidth unit `{other}` (use B/s, KB/s, MB/s, GB/s, KiB/s, \
                     MiB/s, GiB/s, kbit/s, Mbit/s, Gbit/s, or write `unlimited`)"
                ))
            }
        };
        let n: f64 = number.parse().map_err(|_| format!("`{text}` has no number"))?;
        let bytes = (n * scale).round();
        if !(1.0..=1e15).contains(&bytes) {
            return Err(format!("`{text}` is out of range (1 B/s to 1000 TB/s, or `unlimited`)"));
        }
        Ok(Bandwidth(bytes as u64))
    }
}

impl Serialize for Bandwidth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            0 => s.serialize_str("unlimited"),
            n => s.serialize_str(&format!("{n}B/s")),
        }
    }
}

impl<'de> Deserialize<'de> for Bandwidth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Bandwidth::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports (defaults to the file's stem).
    #[serde(default)]
    pub name: String,
    /// What the scenario shows, in a sentence or two.
    #[serde(default)]
    pub description: String,
    /// The system to run (`sim systems` lists them).
    pub system: String,
    /// Node slots, `0..nodes`.
    pub nodes: u32,
    /// How many of the nodes (`0..initial_members`) form the cluster at the start; the others
    /// boot empty, waiting to be added. Defaults to all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_members: Option<u32>,
    /// Total virtual time of the run.
    pub duration: Duration,
    /// The final stretch of the run in which no new fault starts: at its start every fault is
    /// repaired (links healed and restored, crashed nodes restarted) and liveness is judged.
    #[serde(default)]
    pub quiet: Duration,
    /// Network links.
    #[serde(default)]
    pub network: NetworkSettings,
    /// Node clocks.
    #[serde(default)]
    pub clock: ClockSettings,
    /// Node disks.
    #[serde(default)]
    pub disk: DiskSettings,
    /// Simulated clients and their workload.
    #[serde(default)]
    pub clients: ClientSettings,
    /// Faults at fixed times, in any order.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "fault_list")]
    pub faults: Vec<ScheduledFault>,
    /// The random fault generator (off unless present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisSettings>,
    /// Which checks run and their bounds.
    #[serde(default)]
    pub checks: CheckSettings,
    /// The failure the scenario exists to show, if any: the run passes when exactly these
    /// checks fail.
    #[serde(default, skip_serializing_if = "ExpectSettings::is_empty")]
    pub expect: ExpectSettings,
    /// What must hold while faults stand (`[[expectations]]`), judged at its time as named
    /// checks (see [`expect`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<expect::Expectation>,
    /// Operator actions at fixed times (`[[controls]]`: `at` plus the system's own keys, e.g.
    /// `kind = "add-member"`), checked against the system's control type.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "control_list")]
    pub controls: Vec<ScheduledControl>,
    /// Settings of the system itself (see `sim systems`).
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub protocol: toml::Table,
    /// Protocol settings drawn per seed (`[vary.protocol]`, each a list of values): see
    /// [`vary`] and [`Scenario::protocol_for`].
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub vary: toml::Table,
}

/// Network settings: every link starts like this.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    /// Fixed one-way latency.
    pub latency: Duration,
    /// Extra latency: uniform in `0..=jitter`, or exponential with mean `jitter`.
    pub jitter: Duration,
    /// `"uniform"` (default) or `"exponential"` (most messages fast, a tail of slow ones).
    pub jitter_distribution: JitterDistribution,
    /// Probability a message is lost.
    pub loss: Probability,
    /// Probability a message is delivered twice.
    pub duplicate: Probability,
    /// Probability a message leaves FIFO order.
    pub reorder: Probability,
    /// `"drop"` or `"deliver"`: the fate of messages in flight on a link when it is cut.
    pub in_flight_on_cut: InFlightSetting,
    /// Each host's outgoing link speed (`"10MB/s"`; default `"unlimited"`): messages queue
    /// behind each other and take their size over it to leave. Only messages whose protocol
    /// reports their encoded size (`Node::wire_bytes`, as Raft does) are charged.
    pub bandwidth: Bandwidth,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        NetworkSettings {
            latency: Duration(500_000),
            jitter: Duration(500_000),
            jitter_distribution: JitterDistribution::Uniform,
            loss: Probability(0),
            duplicate: Probability(0),
            reorder: Probability(0),
            in_flight_on_cut: InFlightSetting::Drop,
            bandwidth: Bandwidth(0),
        }
    }
}

/// The shape of the extra latency of links.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JitterDistribution {
    /// Uniform in `0..=jitter`.
    #[default]
    Uniform,
    /// Exponential with mean `jitter`.
    Exponential,
}

/// What happens to messages in flight on a link that is cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InFlightSetting {
    /// Lost.
    #[default]
    Drop,
    /// Delivered anyway.
    Deliver,
}

/// Clock settings: each node's offset and drift are drawn from these ranges at the start.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockSettings {
    /// Initial offsets are drawn uniformly from `0..=offset_max`.
    pub offset_max: Duration,
    /// Drifts are drawn uniformly from `-drift_ppm_max..=drift_ppm_max` parts per million.
    pub drift_ppm_max: u32,
}

/// Disk settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiskSettings {
    /// Fastest fsync.
    pub fsync_min: Duration,
    /// Slowest fsync.
    pub fsync_max: Duration,
    /// Probability that a crash tears the last unsynced write of a file.
    pub torn_write: Probability,
    /// Probability that a read returns a flipped bit.
    pub read_corruption: Probability,
    /// Fastest asynchronous read.
    pub read_min: Duration,
    /// Slowest asynchronous read.
    pub read_max: Duration,
    /// Probability that a crash undoes a create, delete or rename no directory fsync covered
    /// (given the ones before it survived). 1, the default, always undoes them.
    pub dir_op_lost: Probability,
}

impl Default for DiskSettings {
    fn default() -> Self {
        DiskSettings {
            fsync_min: Duration(500_000),
            fsync_max: Duration(2_000_000),
            torn_write: Probability(0),
            read_corruption: Probability(0),
            read_min: Duration(50_000),
            read_max: Duration(200_000),
            dir_op_lost: Probability(1_000_000),
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// How clients generate load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientMode {
    /// Each client issues an operation, waits for it to end, thinks, and repeats.
    #[default]
    Closed,
    /// Operations arrive at `rate_per_s` in total, each taken by an idle client; an arrival that
    /// finds every client busy is counted as shed.
    Open,
}

/// Clients and their workload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSettings {
    /// Number of clients.
    pub count: u32,
    /// `"closed"` or `"open"`.
    pub mode: ClientMode,
    /// Closed loop: pause between one operation's end and the next one's start.
    pub think: Duration,
    /// Open loop: operations per second, over all clients.
    pub rate_per_s: u32,
    /// How long a client waits for one attempt's reply before trying another node.
    pub timeout: Duration,
    /// How long a client keeps retrying one operation before giving up (outcome `info` or
    /// `fail`).
    pub deadline: Duration,
    /// Keys are `k0..k{keys-1}`.
    pub keys: u32,
    /// Pad each written value to at least this many bytes (0: values stay short, `c3-17`), so
    /// budgets such as bytes on the wire per committed entry measure a realistic payload.
    #[serde(skip_serializing_if = "is_zero")]
    pub value_size: u32,
    /// Relative weights of the system's operations by name (`get = 40`, `txn = 1`). Empty:
    /// the system's defaults; otherwise operations not named weigh 0.
    #[serde(skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub mix: indexmap::IndexMap<String, u32>,
    /// Stop issuing operations after this many (0: no limit).
    pub ops_max: u32,
    /// `[clients.retry]`: exponential backoff with jitter, attempts per operation, and an
    /// optional `[clients.retry.budget]`. Absent: the naive client, which retries a timeout at
    /// once (and an `unknown` reply after 10ms) until the operation's deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
    /// `[clients.breaker]`: a circuit breaker shared by all clients, in resilience4j's terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<BreakerConfig>,
    /// `[clients.limiter]`: a client-side rate limiter shared by all clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limiter: Option<LimiterConfig>,
    /// `[clients.hedge]`: hedged requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hedge: Option<HedgeConfig>,
    /// Bug knobs of the client policies (`reliability.breaker_never_half_opens`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bugs: Vec<String>,
}

impl ClientSettings {
    /// The reliability policies these settings name.
    pub fn policies(&self) -> PolicyConfig {
        PolicyConfig {
            retry: self.retry,
            breaker: self.breaker,
            limiter: self.limiter,
            hedge: self.hedge,
            bugs: self.bugs.clone(),
        }
    }
}

impl Default for ClientSettings {
    fn default() -> Self {
        ClientSettings {
            count: 3,
            mode: ClientMode::Closed,
            think: Duration(10_000_000),
            rate_per_s: 100,
            timeout: Duration(100_000_000),
            deadline: Duration(1_000_000_000),
            keys: 3,
            value_size: 0,
            mix: indexmap::IndexMap::new(),
            ops_max: 0,
            retry: None,
            breaker: None,
            limiter: None,
            hedge: None,
            bugs: Vec::new(),
        }
    }
}

/// The random fault generator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSettings {
    /// Relative weights of fault kinds (`partition`, `isolate`, `isolate-leader`, `bridge`,
    /// `one-way`, `crash`, `crash-leader`, `clock-jump`, `clock-drift`, `disk-corrupt`,
    /// `disk-sector-error`, `disk-misdirect`, `link-degrade`).
    pub kinds: indexmap::IndexMap<String, u32>,
    /// No fault before this time.
    #[serde(default)]
    pub start: Duration,
    /// Mean pause between the end of one fault and the start of the next (drawn from
    /// half to one and a half times this).
    pub interval: Duration,
    /// Mean time a fault lasts before it is repaired (drawn likewise).
    pub duration: Duration,
    /// Largest clock jump (either way), for `clock-jump`.
    #[serde(default = "default_clock_jump")]
    pub clock_jump_max: Duration,
    /// How long a crashed node stays down (`crash`, `crash-leader`), as a range drawn
    /// log-uniformly: `["20us", "2s"]` gives as many restarts within an election round (the
    /// ones that expose a vote or an append acknowledged before it was durable) as seconds-long
    /// outages. Without it a crash lasts `duration` like any fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_downtime: Option<[Duration; 2]>,
}

fn default_clock_jump() -> Duration {
    Duration(SECOND)
}

/// Nemesis fault kinds, with what each does.
pub const NEMESIS_KINDS: &[(&str, &str)] = &[
    ("partition", "random majority/minority split, healed after"),
    ("isolate", "a random node cut off from the others, healed after"),
    ("isolate-leader", "the current leader cut off, healed after"),
    ("bridge", "two halves joined by one node, healed after"),
    ("one-way", "a random node cannot send to the others, healed after"),
    ("crash", "a random node crashes, restarted after"),
    ("crash-leader", "the current leader crashes, restarted after"),
    ("clock-jump", "a random node's clock jumps, and back after"),
    ("clock-drift", "a random node's clock drifts fast or slow, restored after"),
    ("disk-corrupt", "a bit flips at rest on a random node's disk"),
    ("disk-sector-error", "a sector of a random node's disk becomes unreadable"),
    ("disk-misdirect", "one of a random node's next few disk writes lands in the wrong place"),
    ("link-degrade", "all links get slow and lossy, restored after"),
];

/// Which checks run: `[checks]` switches the system's checks by name (`linearizability =
/// false`); a check not named keeps the system's default. The system validates the names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckSettings {
    /// After the quiet period starts (everything repaired), some operation must succeed within
    /// this bound, and operations must keep succeeding; 0 turns the check off.
    pub liveness_bound: Duration,
    /// The `progress` check: at least this many operations must succeed over the run (default
    /// 1; 0 turns it off).
    pub ops_ok_min: u64,
    /// Checks switched on or off by name, in the file's order.
    pub switches: indexmap::IndexMap<String, bool>,
}

impl Default for CheckSettings {
    fn default() -> Self {
        CheckSettings {
            liveness_bound: Duration(5 * SECOND),
            ops_ok_min: 1,
            switches: Default::default(),
        }
    }
}

impl CheckSettings {
    /// Whether check `name` runs, given its default.
    pub fn enabled(&self, name: &str, default: bool) -> bool {
        self.switches.get(name).copied().unwrap_or(default)
    }
}

impl Serialize for CheckSettings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let len = self.switches.len() + 1 + usize::from(self.ops_ok_min != 1);
        let mut map = s.serialize_map(Some(len))?;
        for (name, on) in &self.switches {
            map.serialize_entry(name, on)?;
        }
        map.serialize_entry("liveness_bound", &self.liveness_bound)?;
        // Written only when set, so the hashes of scenarios from before the key stay the same.
        if self.ops_ok_min != 1 {
            map.serialize_entry("ops_ok_min", &self.ops_ok_min)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for CheckSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let table = toml::Table::deserialize(d)?;
        let mut settings = CheckSettings::default();
        for (key, value) in table {
            if key == "liveness_bound" {
                settings.liveness_bound = Duration::deserialize(value)
                    .map_err(|e| D::Error::custom(format!("checks.liveness_bound: {e}")))?;
                continue;
            }
            if key == "ops_ok_min" {
                let n = value.as_integer().filter(|n| *n >= 0).ok_or_else(|| {
                    D::Error::custom(format!(
                        "checks.ops_ok_min: expected a count of operations (0 or more), got {value}"
                    ))
                })?;
                settings.ops_ok_min = n as u64;
                continue;
            }
            let toml::Value::Boolean(on) = value else {
                return Err(D::Error::custom(format!(
                    "checks.{key}: expected true or false (switches the check `{key}`)"
                )));
            };
            settings.switches.insert(key, on);
        }
        Ok(settings)
    }
}

/// `[expect]`: the failure a scenario exists to show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpectSettings {
    /// Checks that must fail (every other must hold): `fails = ["linearizability"]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fails: Vec<String>,
    /// The seed `sim run` uses when none is given: the seed the failure shows at (shrunk
    /// reproducers name theirs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl ExpectSettings {
    /// True when the scenario expects every check to hold.
    pub fn is_empty(&self) -> bool {
        self.fails.is_empty() && self.seed.is_none()
    }
}

/// An operator action at a point in virtual time, as the scenario wrote it; the system's
/// control type reads `action` (see `System::Control`).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledControl {
    /// When it happens (global time).
    pub at: Nanos,
    /// The action's keys, `at` removed.
    pub action: toml::Table,
}

mod control_list {
    //! `[[controls]]` entries: `at = "5s"` plus the system's own keys.
    use super::{Duration, ScheduledControl};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        controls: &[ScheduledControl],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let tables: Vec<toml::Table> = controls
            .iter()
            .map(|c| {
                let mut t = toml::Table::new();
                let at = toml::Value::try_from(Duration(c.at)).expect("a duration serializes");
                t.insert("at".into(), at);
                t.extend(c.action.clone());
                t
            })
            .collect();
        tables.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ScheduledControl>, D::Error> {
        let tables = Vec::<toml::Table>::deserialize(d)?;
        let mut controls = Vec::with_capacity(tables.len());
        for (i, mut action) in tables.into_iter().enumerate() {
            let at = action.remove("at").ok_or_else(|| {
                serde::de::Error::custom(format!("controls[{i}]: missing `at` (e.g. at = \"5s\")"))
            })?;
            let at = Duration::deserialize(at)
                .map_err(|e| serde::de::Error::custom(format!("controls[{i}].at: {e}")))?;
            controls.push(ScheduledControl { at: at.0, action });
        }
        Ok(controls)
    }
}

pub use crate::engine::time::{format_span, parse_span};

mod fault_list {
    //! `[[faults]]` entries: `at = "5s"` (or `"1s..2s"`), the plan's keys (`name`, `after`,
    //! `delay`, `when`, `if`, `probability`, `bind`, `missing`), then the fault's own keys.
    use super::{format_span, parse_span};
    use crate::world::fault::{Condition, Degrade, Fault, Name, Plan, Probability, ScheduledFault};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(faults: &[ScheduledFault], s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut tables = Vec::with_capacity(faults.len());
        for f in faults {
            let p = &f.plan;
            let mut t = toml::Table::new();
            let s = |x: String| toml::Value::String(x);
            t.insert("at".into(), s(format_span((f.at, p.at_max.unwrap_or(f.at)))));
            if let Some(name) = &p.name {
                t.insert("name".into(), s(name.clone()));
            }
            if let Some(after) = &p.after {
                t.insert("after".into(), s(after.clone()));
            }
            if let Some(delay) = p.delay {
                t.insert("delay".into(), s(format_span(delay)));
            }
            if let Some(when) = &p.when {
                t.insert("when".into(), s(when.clone()));
            }
            if let Some(c) = &p.condition {
                t.insert("if".into(), s(c.to_string()));
            }
            if let Some(prob) = p.probability {
                t.insert("probability".into(), toml::Value::Float(f64::from(prob.ppm()) / 1e6));
            }
            if let Some(bind) = &p.bind {
                t.insert("bind".into(), s(bind.to_string()));
            }
            if p.wait {
                t.insert("missing".into(), s("wait".into()));
            }
            match toml::Value::try_from(&f.fault).map_err(S::Error::custom)? {
                toml::Value::Table(fault) => t.extend(fault),
                _ => return Err(S::Error::custom("a fault serialises as a table")),
            }
            tables.push(t);
        }
        tables.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ScheduledFault>, D::Error> {
        use serde::de::Error;
        let tables = Vec::<toml::Table>::deserialize(d)?;
        let mut faults = Vec::with_capacity(tables.len());
        for (i, mut table) in tables.into_iter().enumerate() {
            let err = |key: &str, e: String| D::Error::custom(format!("faults[{i}].{key}: {e}"));
            let text = |table: &mut toml::Table, key: &str| -> Result<Option<String>, D::Error> {
                match table.remove(key) {
                    None => Ok(None),
                    Some(toml::Value::String(s)) => Ok(Some(s)),
                    Some(other) => Err(err(key, format!("expected a string, not {other}"))),
                }
            };
            let mut plan = Plan::default();
            let at = text(&mut table, "at")?;
            plan.name = text(&mut table, "name")?;
            plan.after = text(&mut table, "after")?;
            plan.when = text(&mut table, "when")?;
            if let Some(delay) = text(&mut table, "delay")? {
                plan.delay = Some(parse_span(&delay).map_err(|e| err("delay", e))?);
            }
            if let Some(c) = text(&mut table, "if")? {
                plan.condition = Some(Condition::parse(&c).map_err(|e| err("if", e))?);
            }
            if let Some(p) = table.remove("probability") {
                let p = Probability::deserialize(p)
                    .map_err(|e| err("probability", e.message().into()))?;
                plan.probability = Some(p);
            }
            if let Some(bind) = text(&mut table, "bind")? {
                plan.bind = Some(Name::new(&bind).map_err(|e| err("bind", e))?);
            }
            match text(&mut table, "missing")?.as_deref() {
                None | Some("skip") => {}
                Some("wait") => plan.wait = true,
                Some(other) => {
                    return Err(err("missing", format!("`{other}`: expected \"skip\" or \"wait\"")))
                }
            }
            let (at, at_max) = match at {
                Some(at) => parse_span(&at).map_err(|e| err("at", e))?,
                None if plan.after.is_some() || plan.when.is_some() => (0, 0),
                None => {
                    return Err(D::Error::custom(format!(
                        "faults[{i}]: missing `at` (e.g. at = \"5s\"; or `after` another fault, \
                         or `when` a fact is recorded)"
                    )))
                }
            };
            plan.at_max = (at_max > at).then_some(at_max);
            if table.get("kind").and_then(|k| k.as_str()) == Some("link-degrade") {
                // So that a bad value names its key, which serde's derive does not.
                Degrade::check_keys(&table).map_err(|(key, e)| err(key, e))?;
            }
            // The trait's, which checks every key; `Fault::deserialize` is serde's derive.
            let fault = <Fault as Deserialize>::deserialize(toml::Value::Table(table))
                .map_err(|e| D::Error::custom(format!("faults[{i}]: {e}")))?;
            faults.push(ScheduledFault { at, fault, plan });
        }
        Ok(faults)
    }
}

impl Scenario {
    /// Reads, overrides (`key.path=value` each) and validates the scenario file at `path`.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let error = |key: Option<String>, reason: String| ScenarioError {
            file: path.to_path_buf(),
            key,
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| error(None, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| error(None, "not a text file (invalid UTF-8); expected TOML".into()))?;
        Scenario::parse(&text, path, overrides)
    }

    /// Parses and validates scenario text; `path` names it in errors and gives the default name.
    pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let error = |key: Option<String>, reason: String| ScenarioError {
            file: path.to_path_buf(),
            key,
            reason,
        };
        if text.trim().is_empty() {
            return Err(error(
                None,
                "the file is empty; a scenario needs at least `system`, \
                `nodes` and `duration` (see scenarios/quickstart.toml)"
                    .into(),
            ));
        }
        let from_text = |e: toml::de::Error| {
            let (key, reason) = toml_error(text, &e);
            error(key, reason)
        };
        let mut scenario: Scenario = if overrides.is_empty() {
            toml::from_str(text).map_err(from_text)?
        } else {
            let mut table: toml::Table = toml::from_str(text).map_err(from_text)?;
            for o in overrides {
                apply_override(&mut table, o).map_err(|(key, reason)| error(key, reason))?;
            }
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| error(None, clean_toml_error(&e.to_string())))?
        };
        if scenario.name.is_empty() {
            scenario.name =
                path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        }
        if overrides.iter().any(|o| overrides::key(o) == Some("duration")) {
            // `--set duration=` shortens the run: it ends before its later faults, as a shrunk
            // scenario does. A file's own fault after its own end is still an error.
            let end = scenario.duration.0;
            scenario.faults.retain(|f| f.at <= end);
            scenario.controls.retain(|c| c.at <= end);
        }
        let pinned: Vec<&str> = overrides.iter().filter_map(|o| overrides::key(o)).collect();
        vary::pin(&mut scenario.vary, &scenario.protocol, &pinned);
        // Validated before sorting, so `faults[i]` in an error is the file's i-th fault.
        scenario.validate().map_err(|(key, reason)| error(Some(key), reason))?;
        scenario.faults.sort_by_key(|f| f.at);
        scenario.controls.sort_by_key(|c| c.at);
        Ok(scenario)
    }

    /// Checks ranges and cross-references; returns the offending key and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, reason: String| Err((key.to_string(), reason));
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return bad("nodes", format!("{} is out of range (1 to {NODES_MAX})", self.nodes));
        }
        if let Some(m) = self.initial_members {
            if m == 0 || m > self.nodes {
                return bad("initial_members", format!("{m} is out of range (1 to nodes)"));
            }
        }
        if self.duration.0 == 0 || self.duration.0 > DURATION_MAX {
            return bad("duration", "must be more than 0 and at most 24h".into());
        }
        if self.quiet.0 >= self.duration.0 {
            return bad("quiet", "must be shorter than `duration`".into());
        }
        let n = &self.network;
        if n.latency.0 == 0 && n.jitter.0 == 0 {
            return bad("network.latency", "links need some latency (at least 1ns)".into());
        }
        if n.latency.0 > 60 * SECOND || n.jitter.0 > 60 * SECOND {
            return bad("network.latency", "latency and jitter must be at most 60s".into());
        }
        if self.clock.drift_ppm_max > 500_000 {
            return bad("clock.drift_ppm_max", "must be at most 500000 (50%)".into());
        }
        let d = &self.disk;
        if d.fsync_min.0 > d.fsync_max.0 {
            return bad("disk.fsync_min", "must not exceed `disk.fsync_max`".into());
        }
        if d.read_min.0 > d.read_max.0 {
            return bad("disk.read_min", "must not exceed `disk.read_max`".into());
        }
        if d.fsync_max.0 > 60 * SECOND || d.read_max.0 > 60 * SECOND {
            return bad("disk.fsync_max", "disk latencies must be at most 60s".into());
        }
        self.validate_clients()?;
        if self.faults.len() > FAULTS_MAX {
            return bad("faults", format!("at most {FAULTS_MAX} faults"));
        }
        for (i, f) in self.faults.iter().enumerate() {
            if f.at > self.duration.0 {
                return bad(&format!("faults[{i}].at"), "is after the end of the run".into());
            }
            check_fault(&f.fault, self.nodes)
                .map_err(|(key, reason)| (format!("faults[{i}].{key}"), reason))?;
        }
        self.validate_plans()?;
        for (i, c) in self.controls.iter().enumerate() {
            if c.at > self.duration.0 {
                return bad(&format!("controls[{i}].at"), "is after the end of the run".into());
            }
        }
        if let Some(nemesis) = &self.nemesis {
            validate_nemesis(nemesis)?;
        }
        vary::validate(&self.vary)?;
        Ok(())
    }

    /// The faults' names, triggers and bindings: every name a fault or an expectation refers
    /// to exists, `after` chains end, and bound targets are bound by some fault.
    fn validate_plans(&self) -> Result<(), (String, String)> {
        let mut names: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut binds = std::collections::BTreeSet::new();
        for (i, f) in self.faults.iter().enumerate() {
            if let Some(name) = &f.plan.name {
                if name.is_empty() {
                    return Err((format!("faults[{i}].name"), "must not be empty".into()));
                }
                if let Some(first) = names.insert(name, i) {
                    return Err((
                        format!("faults[{i}].name"),
                        format!("`{name}` already names faults[{first}]"),
                    ));
                }
            }
            if let Some(b) = f.plan.bind {
                binds.insert(b);
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            let key = |k: &str| format!("faults[{i}].{k}");
            let p = &f.plan;
            if let Some(after) = &p.after {
                if f.at != 0 || p.at_max.is_some() {
                    let why = "give `after` or `at`, not both (`delay` is the time after)";
                    return Err((key("at"), why.into()));
                }
                // Follow the chain: it must reach a fault without `after`.
                let mut seen = vec![i];
                let mut next = after;
                loop {
                    let Some(&j) = names.get(next.as_str()) else {
                        let known: Vec<&str> = names.keys().copied().collect();
                        let why = format!(
                            "no fault is named `{next}` (named faults: {})",
                            if known.is_empty() { "none".into() } else { known.join(", ") }
                        );
                        return Err((key("after"), why));
                    };
                    if seen.contains(&j) {
                        let why = format!("`after` goes round in a circle through `{next}`");
                        return Err((key("after"), why));
                    }
                    seen.push(j);
                    match &self.faults[j].plan.after {
                        Some(a) => next = a,
                        None => break,
                    }
                }
            }
            if p.delay.is_some() && p.after.is_none() && p.when.is_none() {
                let why = "`delay` counts from `after` or `when`: give one (or use `at`)";
                return Err((key("delay"), why.into()));
            }
            if p.when.as_deref() == Some("") {
                return Err((key("when"), "name a fact (`leader`, `commit`, ...)".into()));
            }
            if p.bind.is_some() && bound_target(&f.fault).is_none() {
                let why = format!(
                    "a `{}` fault targets no single node to bind (bind a crash, isolate, \
                     restart, connect, clock or disk fault, or a one-way cut's `from`)",
                    f.fault.kind()
                );
                return Err((key("bind"), why));
            }
            for r in fault_refs(&f.fault) {
                if let NodeRef::Bound { name, .. } = r {
                    if name.is_recorder() && p.when.is_none() {
                        let why = "`RECORDER` is the node whose `when` fact triggered the \
                                   fault: this fault has no `when`";
                        return Err((key(target_key(&f.fault)), why.into()));
                    }
                    if !name.is_recorder() && !binds.contains(&name) {
                        let why = format!("no fault binds `{name}` (add `bind = \"{name}\"`)");
                        return Err((key(target_key(&f.fault)), why));
                    }
                }
            }
        }
        self.validate_expectations(&names, &binds)
    }

    fn validate_clients(&self) -> Result<(), (String, String)> {
        let c = &self.clients;
        let bad = |key: &str, reason: &str| Err((format!("clients.{key}"), reason.to_string()));
        if c.count > CLIENTS_MAX {
            return bad("count", &format!("at most {CLIENTS_MAX} clients"));
        }
        if c.keys == 0 || c.keys > KEYS_MAX {
            return bad("keys", "must be 1 to 100000");
        }
        if c.timeout.0 == 0 {
            return bad("timeout", "must be more than 0");
        }
        if c.deadline.0 < c.timeout.0 {
            return bad("deadline", "must be at least `clients.timeout`");
        }
        if c.mode == ClientMode::Open && (c.rate_per_s == 0 || c.rate_per_s > 1_000_000) {
            return bad("rate_per_s", "must be 1 to 1000000 in open mode");
        }
        if let Some((name, w)) = c.mix.iter().find(|(_, w)| **w > 1_000_000) {
            return Err((format!("clients.mix.{name}"), format!("weight {w} is above 1000000")));
        }
        if !c.mix.is_empty() && c.mix.values().all(|w| *w == 0) {
            return bad("mix", "at least one operation needs a weight above 0");
        }
        c.policies().validate().map_err(|(key, why)| (format!("clients.{key}"), why))?;
        Ok(())
    }

    /// Node ids of the initial members.
    pub fn initial_member_ids(&self) -> Vec<u32> {
        (0..self.initial_members.unwrap_or(self.nodes)).collect()
    }

    /// When the quiet period starts (global time).
    pub fn quiet_start(&self) -> Nanos {
        self.duration.0 - self.quiet.0
    }

    /// A fingerprint of the scenario as resolved (after overrides): sweeps record it so a replay
    /// can tell whether the scenario changed.
    pub fn hash(&self) -> String {
        let text = toml::to_string(self).unwrap_or_default();
        let mut h = TraceHash::default();
        h.add_bytes(text.as_bytes());
        h.to_string()
    }

    /// The `[protocol]` settings seed `seed` runs with: the file's, plus what `[vary]` draws.
    pub fn protocol_for(&self, seed: u64) -> std::borrow::Cow<'_, toml::Table> {
        if self.vary.is_empty() {
            return std::borrow::Cow::Borrowed(&self.protocol);
        }
        std::borrow::Cow::Owned(vary::apply(&self.protocol, &vary::draw(&self.vary, seed)))
    }

    /// What `[vary]` draws for seed `seed`, as `protocol.KEY=VALUE` (empty without `[vary]`).
    pub fn varied(&self, seed: u64) -> Vec<String> {
        vary::draw(&self.vary, seed).into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// The scenario as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a validated scenario serialises")
    }
}

fn validate_nemesis(nemesis: &NemesisSettings) -> Result<(), (String, String)> {
    for (kind, weight) in &nemesis.kinds {
        if !NEMESIS_KINDS.iter().any(|(k, _)| k == kind) {
            let known: Vec<&str> = NEMESIS_KINDS.iter().map(|(k, _)| *k).collect();
            return Err((
                format!("nemesis.kinds.{kind}"),
                format!("unknown fault kind; known: {}", known.join(", ")),
            ));
        }
        if *weight > 1_000_000 {
            return Err((format!("nemesis.kinds.{kind}"), "weight at most 1000000".into()));
        }
    }
    if nemesis.kinds.values().all(|w| *w == 0) {
        return Err(("nemesis.kinds".into(), "at least one kind needs a weight above 0".into()));
    }
    if nemesis.interval.0 == 0 || nemesis.duration.0 == 0 {
        return Err(("nemesis.interval".into(), "interval and duration must be above 0".into()));
    }
    if let Some([low, high]) = nemesis.crash_downtime {
        if low.0 == 0 || low.0 > high.0 {
            let reason = "expected [LOW, HIGH] with 0 < LOW <= HIGH, e.g. [\"20us\", \"2s\"]";
            return Err(("nemesis.crash_downtime".into(), reason.into()));
        }
    }
    Ok(())
}

/// Checks a fault's targets against the cluster; an error names the fault's key at fault
/// (`groups`, `node`, ...) and the reason.
fn check_fault(fault: &Fault, nodes: u32) -> Result<(), (&'static str, String)> {
    let node_ok = |key, r: &NodeRef| match r {
        NodeRef::Id(n) if *n >= nodes => {
            Err((key, format!("node {n} does not exist (nodes = {nodes})")))
        }
        _ => Ok(()),
    };
    let ids_ok = |key, ids: &[u32]| match ids.iter().find(|n| **n >= nodes) {
        Some(n) => Err((key, format!("node {n} does not exist (nodes = {nodes})"))),
        None => Ok(()),
    };
    match fault {
        Fault::Partition { groups: Some(sides) } => {
            for side in sides {
                if let Side::Nodes(nodes) = side {
                    nodes.iter().try_for_each(|n| node_ok("groups", n))?;
                }
            }
            if sides.iter().filter(|s| **s == Side::Rest).count() > 1 {
                return Err(("groups", "\"rest\" may be one side only".into()));
            }
            let ids: Option<Vec<Vec<u32>>> = sides.iter().map(Side::ids).collect();
            match ids {
                Some(groups) => {
                    check_groups(&groups, "a partition").map_err(|reason| ("groups", reason))
                }
                // Symbolic sides are checked once resolved (an empty side then cuts nothing).
                None if sides.len() < 2 => Err((
                    "groups",
                    "a partition needs at least two sides (one side cuts nothing)".into(),
                )),
                None => Ok(()),
            }
        }
        Fault::Bridge { groups: Some(groups), bridge: Some(bridge) } => {
            groups.iter().try_for_each(|g| ids_ok("groups", g))?;
            ids_ok("bridge", &[*bridge])?;
            check_groups(groups, "a bridge").map_err(|reason| ("groups", reason))?;
            match groups.iter().position(|g| g.contains(bridge)) {
                Some(i) => Err((
                    "bridge",
                    format!(
                        "node {bridge} is in group {i}: the bridge is the one node outside both \
                         groups, talking to each"
                    ),
                )),
                None => Ok(()),
            }
        }
        Fault::Bridge { groups: Some(_), bridge: None } => {
            Err(("bridge", "missing: `groups` needs a `bridge` node (or give neither)".into()))
        }
        Fault::Bridge { groups: None, bridge: Some(_) } => {
            Err(("groups", "missing: `bridge` needs two `groups` (or give neither)".into()))
        }
        Fault::OneWay { from, to } => {
            node_ok("from", from)?;
            ids_ok("to", to.as_deref().unwrap_or(&[]))
        }
        Fault::Isolate { node }
        | Fault::Connect { node }
        | Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::ClockJump { node, .. }
        | Fault::DiskCorrupt { node }
        | Fault::DiskSectorError { node }
        | Fault::DiskMisdirect { node } => node_ok("node", node),
        Fault::ClockDrift { node, ppm } => {
            if ppm.abs() > 500_000 {
                let reason = format!("drift {ppm} ppm is out of range (-500000 to 500000)");
                return Err(("ppm", reason));
            }
            node_ok("node", node)
        }
        Fault::LinkDegrade(d) => {
            check_degrade(d)?;
            ids_ok("a", d.a.as_deref().unwrap_or(&[]))?;
            ids_ok("b", d.b.as_deref().unwrap_or(&[]))
        }
        Fault::Partition { groups: None }
        | Fault::Bridge { groups: None, bridge: None }
        | Fault::Heal
        | Fault::LinkRestore => Ok(()),
    }
}

/// A degrade's keys against each other: durations not negative and at most a minute,
/// `a-to-b` between two given sets, a long delay with its fraction.
fn check_degrade(d: &Degrade) -> Result<(), (&'static str, String)> {
    for (key, value) in [("latency", d.latency), ("jitter", d.jitter)] {
        if value.0 < 0 {
            return Err((key, "must not be negative".into()));
        }
        if value.0 > 60 * SECOND as i64 {
            return Err((key, "must be at most 60s".into()));
        }
    }
    if d.direction == Direction::AToB && (d.a.is_none() || d.b.is_none()) {
        let why = "\"a-to-b\" degrades the links from `a` to `b`: give both sets";
        return Err(("direction", why.into()));
    }
    match (d.long_delay_fraction.ppm(), d.long_delay) {
        (0, Some(_)) => {
            let why = "missing: `long_delay` needs the fraction of messages it delays";
            Err(("long_delay_fraction", why.into()))
        }
        (f, None) if f > 0 => {
            let why = "missing: `long_delay_fraction` needs a `long_delay` span (\"200ms..2s\")";
            Err(("long_delay", why.into()))
        }
        (_, Some(span)) if span.max > 60 * SECOND => {
            Err(("long_delay", "must be at most 60s".into()))
        }
        _ => Ok(()),
    }
}

/// The single node a fault targets, which `bind` captures.
pub fn bound_target(fault: &Fault) -> Option<NodeRef> {
    match fault {
        Fault::Isolate { node }
        | Fault::Connect { node }
        | Fault::Crash { node }
        | Fault::Restart { node }
        | Fault::ClockJump { node, .. }
        | Fault::ClockDrift { node, .. }
        | Fault::DiskCorrupt { node }
        | Fault::DiskSectorError { node }
        | Fault::DiskMisdirect { node } => Some(*node),
        Fault::OneWay { from, .. } => Some(*from),
        _ => None,
    }
}

/// Every node reference a fault holds.
fn fault_refs(fault: &Fault) -> Vec<NodeRef> {
    match fault {
        Fault::Partition { groups: Some(sides) } => sides
            .iter()
            .flat_map(|s| match s {
                Side::Nodes(n) => n.clone(),
                Side::Rest => Vec::new(),
            })
            .collect(),
        other => bound_target(other).into_iter().collect(),
    }
}

/// The key that holds a fault's node references, for errors.
fn target_key(fault: &Fault) -> &'static str {
    match fault {
        Fault::Partition { .. } => "groups",
        Fault::OneWay { .. } => "from",
        _ => "node",
    }
}

/// The groups of a partition or bridge (`what`): at least two, none empty, and no node in two
/// places, since a node on both sides of a cut is on neither.
fn check_groups(groups: &[Vec<u32>], what: &str) -> Result<(), String> {
    if let Some(i) = groups.iter().position(|g| g.is_empty()) {
        return Err(format!("group {i} is empty: {what} needs at least two non-empty groups"));
    }
    if groups.len() < 2 {
        return Err(format!(
            "{} group given: {what} needs at least two non-empty groups (one group cuts nothing)",
            groups.len()
        ));
    }
    let mut seen: std::collections::BTreeMap<u32, usize> = std::collections::BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        for &node in group {
            match seen.insert(node, i) {
                Some(first) if first == i => {
                    return Err(format!("node {node} is listed twice in group {i}"));
                }
                Some(first) => {
                    return Err(format!(
                        "node {node} is in group {first} and in group {i}: groups must not \
                         overlap (a node cannot be on both sides of a cut)"
                    ));
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// The toml crate's messages carry a code snippet; keep them, but on one logical block.
fn clean_toml_error(message: &str) -> String {
    message.trim_end().replace("TOML parse error", "invalid scenario")
}

/// The key and reason of an error reading `text`: when the error points at a `key = value`
/// line (under a `[table]` header or none) and its message does not name the key, the dotted
/// key and the message with its line; otherwise no key and the message with its snippet.
fn toml_error(text: &str, e: &toml::de::Error) -> (Option<String>, String) {
    let message = e.message().trim_end();
    if let Some((key, reason)) = keyed_message(message) {
        // A list entry's own deserializer (`faults`) names the entry and key it refuses.
        let start = e.span().map_or(0, |span| span.start.min(text.len()));
        let line = text[..start].matches('\n').count() + 1;
        return (Some(key.to_string()), format!("{reason} (line {line})"));
    }
    let Some(start) = e.span().map(|span| span.start.min(text.len())) else {
        return (None, clean_toml_error(&e.to_string()));
    };
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split_once('=').map(|(key, _)| key.trim().trim_matches('"'));
    let plain = |key: &&str| !key.is_empty() && !key.contains(char::is_whitespace);
    let Some(key) = key.filter(plain).filter(|key| !message.contains(&format!("`{key}`"))) else {
        return (None, clean_toml_error(&e.to_string()));
    };
    let header = text[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    let dotted = match header {
        None => key.to_string(),
        Some(h) if h.starts_with("[[") => return (None, clean_toml_error(&e.to_string())),
        Some(h) => {
            let table = h.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            format!("{table}.{key}")
        }
    };
    let number = text[..line_start].lines().count() + 1;
    (Some(dotted), format!("{message} (line {number})"))
}

/// `faults[3].at: reason` as (`faults[3].at`, `reason`).
fn keyed_message(message: &str) -> Option<(&str, &str)> {
    let (key, reason) = message.split_once(": ")?;
    let (list, rest) = key.split_once('[')?;
    let (index, field) = rest.split_once(']')?;
    let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    let field_ok = field.is_empty() || field.strip_prefix('.').is_some_and(word);
    let index_ok = !index.is_empty() && index.chars().all(|c| c.is_ascii_digit());
    (word(list) && index_ok && field_ok).then_some((key, reason))
}

#[cfg(test)]
mod tests;
