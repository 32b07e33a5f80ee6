//! Time charts of a run: latency per operation, throughput, latency quantiles (from the client
//! history) and bytes on the wire per second. Each shades the run's fault windows.

use super::figure::{
    fault_legend, legend, outcome_colour, shade_faults, time_builder, time_chart_areas, DrawResult,
    Figure, FONT, OUTCOMES,
};
use super::windows::FaultWindow;
use crate::engine::{format_nanos, Nanos, MILLISECOND, SECOND};
use crate::sim::gauges::GaugeSeries;
use crate::sim::percentiles_ms;
use crate::workload::client::ClientLoad;
use crate::workload::{History, Outcome};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Most operations the latency chart draws; above it, every k-th operation is drawn.
pub const LATENCY_POINTS_MAX: usize = 20_000;

/// What the time charts of one run share.
pub struct RunView<'a> {
    /// `scenario (system, seed N)`, for titles.
    pub name: String,
    /// The client history.
    pub history: &'a History,
    /// The fault windows.
    pub windows: Vec<FaultWindow>,
    /// Virtual time the run lasted.
    pub end_ns: Nanos,
}

impl RunView<'_> {
    fn end_s(&self) -> f64 {
        (self.end_ns.max(MILLISECOND)) as f64 / 1e9
    }
}

/// Width of a time bucket for throughput and quantiles: one second for runs of 20 s or more,
/// else a twentieth of the run (at least 1 ms).
pub fn bucket_ns(end_ns: Nanos) -> Nanos {
    if end_ns >= 20 * SECOND {
        SECOND
    } else {
        (end_ns / 20).max(MILLISECOND)
    }
}

fn latency_ms(ns: Nanos) -> f64 {
    ns as f64 / 1e6
}

/// Latency of every operation against its invoke time, by outcome (log-scale latency).
pub struct LatencyChart<'a>(pub &'a RunView<'a>);

impl Figure for LatencyChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let view = self.0;
        root.fill(&WHITE)?;
        let ops = &view.history.ops;
        let stride = ops.len().div_ceil(LATENCY_POINTS_MAX).max(1);
        let floor_ms = 0.001;
        let max_ms = ops.iter().map(|o| latency_ms(o.latency_ns())).fold(1.0, f64::max);
        let min_ms = ops.iter().map(|o| latency_ms(o.latency_ns())).fold(max_ms, f64::min);
        let (y_lo, y_hi) = ((min_ms / 2.0).max(floor_ms), max_ms * 2.0);
        let shown = if stride > 1 { format!(", every {stride}th op") } else { String::new() };
        let title = format!("{}: latency per operation{shown}", view.name);
        let (strip, area) = time_chart_areas(root, &title)?;
        let mut chart =
            time_builder(&area).build_cartesian_2d(0.0..view.end_s(), (y_lo..y_hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("invoke time (s, virtual)")
            .y_desc("latency (ms, log scale)")
            .axis_desc_style((FONT, 16))
            .draw()?;
        let left_out = shade_faults(&strip, &mut chart, &view.windows, y_lo, y_hi)?;
        for outcome in OUTCOMES {
            let colour = outcome_colour(outcome);
            let points = ops
                .iter()
                .step_by(stride)
                .filter(|o| o.outcome == outcome)
                .map(|o| (o.invoke_ns as f64 / 1e9, latency_ms(o.latency_ns()).max(y_lo)));
            let count = ops.iter().filter(|o| o.outcome == outcome).count();
            chart
                .draw_series(points.map(|p| Circle::new(p, 2, colour.filled())))?
                .label(format!("{} ({count})", outcome.name()))
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
        fault_legend(&mut chart, &view.windows, left_out)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Operations completed per bucket of completion time, by outcome, with the virtual time
/// each bucket covers.
#[derive(Clone, Debug, PartialEq)]
struct Throughput {
    /// `(counts by outcome, bucket width)` per bucket, from time 0.
    buckets: Vec<([u64; 3], Nanos)>,
    /// True when buckets after the clients' last invocation were left out.
    clipped: bool,
}

/// A last bucket shorter than this fraction of a full one is left out: normalising a few
/// completions by a sliver of time would draw a spike.
const PARTIAL_BUCKET_MIN_FRACTION: u64 = 2;

/// Throughput per bucket. A last, partial bucket (the run ended inside it) is normalised by its
/// real width, or left out when shorter than half a bucket; buckets that begin after the last
/// invocation are left out: the workload stopped there (it issues nothing in its last
/// deadline), and the fall of completions after it is not an outage.
fn completions(view: &RunView<'_>, bucket: Nanos) -> Throughput {
    let end_ns = view.end_ns.max(1);
    let mut buckets: Vec<([u64; 3], Nanos)> =
        (0..end_ns.div_ceil(bucket)).map(|b| ([0; 3], (end_ns - b * bucket).min(bucket))).collect();
    for op in &view.history.ops {
        let b = ((op.complete_ns / bucket) as usize).min(buckets.len() - 1);
        let i = OUTCOMES.iter().position(|&o| o == op.outcome).expect("three outcomes");
        buckets[b].0[i] += 1;
    }
    let issued_until = view.history.ops.iter().map(|o| o.invoke_ns).max();
    let kept = issued_until.map_or(buckets.len(), |t| (t / bucket) as usize + 1);
    let clipped = kept < buckets.len();
    buckets.truncate(kept);
    if buckets.len() > 1
        && buckets.last().is_some_and(|b| b.1 < bucket / PARTIAL_BUCKET_MIN_FRACTION)
    {
        buckets.pop();
    }
    debug_assert!(buckets.iter().all(|b| b.1 > 0 && b.1 <= bucket));
    Throughput { buckets, clipped }
}

/// Completed operations per virtual second, one line per outcome.
pub struct ThroughputChart<'a>(pub &'a RunView<'a>);

impl Figure for ThroughputChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let view = self.0;
        root.fill(&WHITE)?;
        let bucket = bucket_ns(view.end_ns);
        let throughput = completions(view, bucket);
        let per_s = |n: u64, width: Nanos| n as f64 * 1e9 / width as f64;
        let clipped = if throughput.clipped {
            let t = view.history.ops.iter().map(|o| o.invoke_ns).max().unwrap_or(0);
            format!("; ends where clients stopped issuing, {}", format_nanos(t))
        } else {
            String::new()
        };
        let title = format!(
            "{}: throughput (completed ops/s, {} buckets{clipped})",
            view.name,
            format_nanos(bucket)
        );
        // Each point sits in the middle of the time its bucket covers.
        let mid = |b: usize, w: Nanos| (b as u64 * bucket + w / 2) as f64 / 1e9;
        let lines = OUTCOMES.iter().enumerate().map(|(i, outcome)| {
            let line = throughput
                .buckets
                .iter()
                .enumerate()
                .map(|(b, (c, w))| (mid(b, *w), per_s(c[i], *w)))
                .collect();
            (outcome.name().to_string(), line, outcome_colour(*outcome))
        });
        let axes = ("completion time (s, virtual)", "completed operations per second");
        line_chart(root, view, &title, axes, lines.collect())
    }
}

/// One line of a [`line_chart`]: its label, its points `(seconds, value)` and its colour.
type Line = (String, Vec<(f64, f64)>, RGBColor);

/// Lines over time on the run's fault windows, from 0 up, labelled at the upper right: what
/// the throughput and load charts share.
fn line_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    view: &RunView<'_>,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    lines: Vec<Line>,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let y_hi = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1)).fold(1.0, f64::max) * 1.15;
    let (strip, area) = time_chart_areas(root, title)?;
    let mut chart = time_builder(&area).build_cartesian_2d(0.0..view.end_s(), 0.0..y_hi)?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).axis_desc_style((FONT, 16)).draw()?;
    let left_out = shade_faults(&strip, &mut chart, &view.windows, 0.0, y_hi)?;
    for (label, line, colour) in lines {
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    fault_legend(&mut chart, &view.windows, left_out)?;
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Bytes the nodes sent each second of virtual time (`RunReport::wire_bytes_per_second`), in
/// KiB/s, over the fault windows: what a partition or a catch-up burst does to the traffic.
pub struct WireChart<'a>(pub &'a RunView<'a>, pub &'a [u64]);

impl Figure for WireChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (view, per_second) = (self.0, self.1);
        root.fill(&WHITE)?;
        let kib = |b: u64| b as f64 / 1024.0;
        let y_hi = per_second.iter().map(|b| kib(*b)).fold(1.0, f64::max) * 1.15;
        let total: u64 = per_second.iter().sum();
        let title = format!(
            "{}: bytes on the wire (KiB sent per second; {:.1} KiB in all)",
            view.name,
            kib(total)
        );
        let (strip, area) = time_chart_areas(root, &title)?;
        let mut chart = time_builder(&area).build_cartesian_2d(0.0..view.end_s(), 0.0..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("send time (s, virtual)")
            .y_desc("KiB sent per second")
            .axis_desc_style((FONT, 16))
            .draw()?;
        let left_out = shade_faults(&strip, &mut chart, &view.windows, 0.0, y_hi)?;
        let colour = RGBColor(31, 119, 180);
        let line: Vec<(f64, f64)> =
            per_second.iter().enumerate().map(|(s, b)| (s as f64 + 0.5, kib(*b))).collect();
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label("all nodes")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        fault_legend(&mut chart, &view.windows, left_out)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// p50, p90, p99 and max latency of `ok` operations per bucket of invoke time.
pub struct QuantileChart<'a>(pub &'a RunView<'a>);

impl QuantileChart<'_> {
    /// (bucket midpoint in s, [p50, p90, p99, max] in ms) for every non-empty bucket.
    fn series(&self) -> Vec<(f64, [f64; 4])> {
        let view = self.0;
        let bucket = bucket_ns(view.end_ns);
        let mut latencies: Vec<Vec<Nanos>> =
            vec![Vec::new(); view.end_ns.div_ceil(bucket).max(1) as usize];
        for op in view.history.ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            let b = ((op.invoke_ns / bucket) as usize).min(latencies.len() - 1);
            latencies[b].push(op.latency_ns());
        }
        let mid = |b: usize| (b as f64 + 0.5) * bucket as f64 / 1e9;
        let points = latencies.into_iter().enumerate().filter(|(_, l)| !l.is_empty());
        points
            .map(|(b, l)| {
                let q = percentiles_ms(l);
                (mid(b), [q.p50, q.p90, q.p99, q.max])
            })
            .collect()
    }
}

impl Figure for QuantileChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let view = self.0;
        root.fill(&WHITE)?;
        let series = self.series();
        let all = series.iter().flat_map(|(_, q)| q.iter().copied());
        let y_hi = all.clone().fold(1.0, f64::max) * 2.0;
        let y_lo = (all.fold(y_hi, f64::min) / 2.0).max(0.001);
        let title = format!(
            "{}: latency quantiles of ok ops ({} buckets)",
            view.name,
            format_nanos(bucket_ns(view.end_ns))
        );
        let (strip, area) = time_chart_areas(root, &title)?;
        let mut chart =
            time_builder(&area).build_cartesian_2d(0.0..view.end_s(), (y_lo..y_hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("invoke time (s, virtual)")
            .y_desc("latency (ms, log scale)")
            .axis_desc_style((FONT, 16))
            .draw()?;
        let left_out = shade_faults(&strip, &mut chart, &view.windows, y_lo, y_hi)?;
        let names = ["p50", "p90", "p99", "max"];
        let colours = [BLUE, RGBColor(0, 150, 0), RGBColor(255, 140, 0), RED];
        for (i, (name, colour)) in names.iter().zip(colours).enumerate() {
            let line: Vec<(f64, f64)> = series.iter().map(|(x, q)| (*x, q[i])).collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)).point_size(2))?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        fault_legend(&mut chart, &view.windows, left_out)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// What the clients sent per second against what succeeded: offered load (operations issued),
/// attempts sent, retries, attempts the client's own policies rejected, and goodput (`ok`
/// completions). A retry storm is the gap between the attempts and the goodput lines.
pub struct LoadChart<'a>(pub &'a RunView<'a>, pub &'a ClientLoad);

impl LoadChart<'_> {
    /// Width of a bucket: a fifth of the throughput chart's, in whole load buckets.
    fn bucket(&self) -> Nanos {
        let unit = self.1.bucket_ns.max(1);
        ((bucket_ns(self.0.end_ns) / 5) / unit).max(1) * unit
    }
}

impl Figure for LoadChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (view, load) = (self.0, self.1);
        root.fill(&WHITE)?;
        let bucket = self.bucket();
        let per = (bucket / load.bucket_ns.max(1)) as usize;
        let issued_until = view.history.ops.iter().map(|o| o.invoke_ns).max().unwrap_or(0);
        let buckets =
            ((issued_until / bucket) as usize + 1).min(view.end_ns.div_ceil(bucket) as usize);
        let rebucket = |series: &[u32]| -> Vec<f64> {
            (0..buckets)
                .map(|b| {
                    let from = (b * per).min(series.len());
                    let to = ((b + 1) * per).min(series.len());
                    series[from..to].iter().map(|&n| f64::from(n)).sum::<f64>() * 1e9
                        / bucket as f64
                })
                .collect()
        };
        let mut ok = vec![0u32; buckets * per];
        for o in view.history.ops.iter().filter(|o| o.outcome == Outcome::Ok) {
            if let Some(slot) = ok.get_mut((o.complete_ns / load.bucket_ns.max(1)) as usize) {
                *slot += 1;
            }
        }
        let lines = [
            ("offered (operations issued)", &load.issued[..], NODE_COLOURS[0]),
            ("attempts sent", &load.sent[..], NODE_COLOURS[7]),
            ("retries sent", &load.retries[..], NODE_COLOURS[1]),
            ("rejected by the client's policies", &load.rejected[..], NODE_COLOURS[4]),
            ("goodput (ok completions)", &ok[..], NODE_COLOURS[2]),
        ];
        let mid = |b: usize| (b as u64 * bucket + bucket / 2) as f64 / 1e9;
        let lines = lines.map(|(label, series, colour)| {
            let line = rebucket(series).into_iter().enumerate().map(|(b, v)| (mid(b), v));
            (label.to_string(), line.collect(), colour)
        });
        let title = format!(
            "{}: offered load, retries and goodput (per second, {} buckets)",
            view.name,
            format_nanos(bucket)
        );
        line_chart(root, view, &title, ("time (s, virtual)", "per second"), lines.into())
    }
}

/// Colours of the lines of a gauge chart, one per node (cycled past ten nodes).
const NODE_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Most nodes a gauge chart draws a line for (the rest are named in the title).
pub const GAUGE_NODES_MAX: usize = 16;

/// One gauge (`Context::gauge`) over time: a step line per node that reported it, over the
/// fault windows: what a crash or a partition does to locks held, transactions in doubt, lag.
pub struct GaugeChart<'a>(pub &'a RunView<'a>, pub &'a str, pub &'a [GaugeSeries]);

impl Figure for GaugeChart<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (view, name, series) = (self.0, self.1, self.2);
        root.fill(&WHITE)?;
        let values = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
        let y_hi = values().fold(1, i64::max) as f64 * 1.15;
        let y_lo = values().fold(0, i64::min) as f64 * 1.15;
        let shown = series.len().min(GAUGE_NODES_MAX);
        let more = if series.len() > shown {
            format!("; {} more nodes not drawn", series.len() - shown)
        } else {
            String::new()
        };
        let whose = if series.iter().all(|s| s.node == crate::sim::gauges::CLIENTS) {
            if name == crate::workload::client::BREAKER_GAUGE {
                " of the clients (0 closed, 1 open, 2 half-open)"
            } else {
                " of the clients"
            }
        } else {
            " per node"
        };
        let title = format!("{}: gauge `{name}`{whose}{more}", view.name);
        let (strip, area) = time_chart_areas(root, &title)?;
        let mut chart = time_builder(&area).build_cartesian_2d(0.0..view.end_s(), y_lo..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("time (s, virtual)")
            .y_desc(name)
            .axis_desc_style((FONT, 16))
            .draw()?;
        let left_out = shade_faults(&strip, &mut chart, &view.windows, y_lo, y_hi)?;
        let end = view.end_s();
        for (i, s) in series.iter().take(shown).enumerate() {
            let colour = NODE_COLOURS[i % NODE_COLOURS.len()];
            // A step line: each level holds until the next change, the last until the end.
            let mut line: Vec<(f64, f64)> = Vec::with_capacity(2 * s.points.len() + 1);
            for (t, v) in &s.points {
                let x = *t as f64 / 1e9;
                if let Some(&(_, prev)) = line.last() {
                    line.push((x, prev));
                }
                line.push((x, *v as f64));
            }
            if let Some(&(_, last)) = line.last() {
                line.push((end, last));
            }
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
                .label(if s.node == crate::sim::gauges::CLIENTS {
                    "clients".to_string()
                } else {
                    format!("n{}", s.node)
                })
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        fault_legend(&mut chart, &view.windows, left_out)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::kv::{KvApi, Op};
    use crate::report::figure::save;
    use crate::report::windows::WindowClass;
    use crate::workload::{Record, TypedHistory};

    /// One `ok` op a millisecond long invoked at each time.
    fn history(invokes: &[Nanos]) -> History {
        let op = |(id, &t): (usize, &Nanos)| Record::<KvApi> {
            id: id as u64,
            client: 0,
            op: Op::Put { key: "k".into(), value: "v".into() },
            invoke_ns: t,
            complete_ns: t + MILLISECOND,
            outcome: Outcome::Ok,
            result: Some(None),
        };
        History::from_typed(TypedHistory { ops: invokes.iter().enumerate().map(op).collect() })
    }

    fn view(history: &History, end_ns: Nanos, windows: Vec<FaultWindow>) -> RunView<'_> {
        RunView { name: "t".into(), history, windows, end_ns }
    }

    #[test]
    fn the_last_partial_bucket_counts_its_real_width() {
        // 25.6 s: 1 s buckets, the last one 0.6 s wide; one op per 100 ms throughout.
        let invokes: Vec<Nanos> = (0..256).map(|i| i * 100 * MILLISECOND).collect();
        let history = history(&invokes);
        let t = completions(&view(&history, 25_600 * MILLISECOND, vec![]), SECOND);
        assert_eq!(t.buckets.len(), 26);
        let (counts, width) = t.buckets[25];
        assert_eq!((counts[0], width), (6, 600 * MILLISECOND));
        // Normalised, the last bucket is as busy as the others (10/s), not 6/s.
        let rate = |(c, w): ([u64; 3], Nanos)| c[0] as f64 * 1e9 / w as f64;
        assert!((rate(t.buckets[25]) - rate(t.buckets[10])).abs() < 1e-9);
        assert!(!t.clipped);
        // A sliver of a last bucket (under half a bucket) is left out rather than drawn.
        let t = completions(&view(&history, 25_300 * MILLISECOND, vec![]), SECOND);
        assert_eq!(t.buckets.len(), 25);
    }

    #[test]
    fn throughput_ends_where_the_clients_stopped_issuing() {
        // Ops until 58 s of a 60 s run (the workload stops a deadline before the end).
        let invokes: Vec<Nanos> = (0..580).map(|i| i * 100 * MILLISECOND).collect();
        let history = history(&invokes);
        let t = completions(&view(&history, 60 * SECOND, vec![]), SECOND);
        assert_eq!(t.buckets.len(), 58, "buckets 58 s and 59 s are not an outage");
        assert!(t.clipped);
        assert!(t.buckets.iter().all(|(c, _)| c[0] == 10), "{:?}", t.buckets);
    }

    #[test]
    fn every_class_of_fault_window_has_a_legend_entry() {
        let window = |start_ns, end_ns, class, label: &str| FaultWindow {
            start_ns,
            end_ns,
            class,
            label: label.into(),
            detail: String::new(),
            node: None,
        };
        let windows = vec![
            window(SECOND, 2 * SECOND, WindowClass::Network, "partition"),
            window(3 * SECOND, 4 * SECOND, WindowClass::Crash, "crash n1"),
            window(5 * SECOND, 5 * SECOND, WindowClass::Clock, "clock-jump n0 by 5ms"),
            window(6 * SECOND, 6 * SECOND, WindowClass::Clock, "clock-jump n1 by 5ms"),
        ];
        let history = history(&[0, SECOND, 7 * SECOND]);
        let dir = std::env::temp_dir().join(format!("sim-legend-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let view = view(&history, 8 * SECOND, windows);
        for (name, svg) in [
            ("latency", save(&LatencyChart(&view), &dir, "latency").unwrap()),
            ("throughput", save(&ThroughputChart(&view), &dir, "throughput").unwrap()),
            ("quantiles", save(&QuantileChart(&view), &dir, "quantiles").unwrap()),
        ] {
            let text = std::fs::read_to_string(&svg[0]).unwrap();
            for entry in ["network cut (1)", "node down (1)", "clock fault (2)"] {
                assert!(text.contains(entry), "{name}: no legend entry `{entry}`");
            }
            assert!(!text.contains("links degraded"), "{name}: only classes the run had");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
