//! Time charts of a run's client history: latency per operation, throughput, latency quantiles.
//! Each shades the run's fault windows.

use super::figure::{
    builder, legend, outcome_colour, shade_faults, DrawResult, Figure, FONT, OUTCOMES,
};
use super::windows::FaultWindow;
use crate::engine::{Nanos, MILLISECOND, SECOND};
use crate::sim::percentiles_ms;
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
        let mut chart = builder(root, &title)
            .build_cartesian_2d(0.0..view.end_s(), (y_lo..y_hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("invoke time (s, virtual)")
            .y_desc("latency (ms, log scale)")
            .axis_desc_style((FONT, 16))
            .draw()?;
        shade_faults(&mut chart, &view.windows, y_lo, y_hi)?;
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
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Operations completed per bucket of completion time, by outcome.
fn completions(view: &RunView<'_>, bucket: Nanos) -> Vec<[u64; 3]> {
    let buckets = view.end_ns.div_ceil(bucket).max(1) as usize;
    let mut counts = vec![[0u64; 3]; buckets];
    for op in &view.history.ops {
        let b = ((op.complete_ns / bucket) as usize).min(buckets - 1);
        let i = OUTCOMES.iter().position(|&o| o == op.outcome).expect("three outcomes");
        counts[b][i] += 1;
    }
    counts
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
        let counts = completions(view, bucket);
        let per_s = |n: u64| n as f64 * 1e9 / bucket as f64;
        let y_hi = counts.iter().flatten().map(|&n| per_s(n)).fold(1.0, f64::max) * 1.15;
        let title = format!(
            "{}: throughput (completed ops/s, {} buckets)",
            view.name,
            crate::engine::format_nanos(bucket)
        );
        let mut chart = builder(root, &title).build_cartesian_2d(0.0..view.end_s(), 0.0..y_hi)?;
        chart
            .configure_mesh()
            .x_desc("completion time (s, virtual)")
            .y_desc("completed operations per second")
            .axis_desc_style((FONT, 16))
            .draw()?;
        shade_faults(&mut chart, &view.windows, 0.0, y_hi)?;
        for (i, outcome) in OUTCOMES.iter().enumerate() {
            let colour = outcome_colour(*outcome);
            let mid = |b: usize| (b as f64 + 0.5) * bucket as f64 / 1e9;
            let line: Vec<(f64, f64)> =
                counts.iter().enumerate().map(|(b, c)| (mid(b), per_s(c[i]))).collect();
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
                .label(outcome.name())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
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
            crate::engine::format_nanos(bucket_ns(view.end_ns))
        );
        let mut chart = builder(root, &title)
            .build_cartesian_2d(0.0..view.end_s(), (y_lo..y_hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("invoke time (s, virtual)")
            .y_desc("latency (ms, log scale)")
            .axis_desc_style((FONT, 16))
            .draw()?;
        shade_faults(&mut chart, &view.windows, y_lo, y_hi)?;
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
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}
