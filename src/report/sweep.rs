//! A sweep's report: what happened across many seeds of one scenario.

use super::figure::{builder, legend, save, DrawResult, Figure, FONT};
use super::ReportError;
use crate::engine::Nanos;
use crate::sim::RunReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One seed of a sweep, as its report needs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The seed.
    pub seed: u64,
    /// True if every check passed.
    pub passed: bool,
    /// The first check that failed.
    #[serde(default)]
    pub failed_check: Option<String>,
    /// Operations that succeeded.
    pub ops_ok: u64,
    /// Operations that failed.
    #[serde(default)]
    pub ops_fail: u64,
    /// Operations with an unknown outcome.
    #[serde(default)]
    pub ops_info: u64,
    /// Virtual time the run lasted.
    pub virtual_ns: Nanos,
    /// p99 latency of `ok` operations.
    pub p99_ms: f64,
}

impl SweepPoint {
    /// The point of one run's report.
    pub fn from_report(r: &RunReport) -> Self {
        SweepPoint {
            seed: r.seed,
            passed: r.passed,
            failed_check: r.checks.iter().find(|c| !c.passed).map(|c| c.name.clone()),
            ops_ok: r.ops.ok,
            ops_fail: r.ops.fail,
            ops_info: r.ops.info,
            virtual_ns: r.virtual_ns,
            p99_ms: r.latency_ms.p99,
        }
    }

    /// Successful operations per virtual second.
    pub fn throughput_ok_per_s(&self) -> f64 {
        self.ops_ok as f64 * 1e9 / self.virtual_ns.max(1) as f64
    }
}

/// Writes the pictures of a sweep into `dir` (which must exist), each as SVG and PNG:
/// `sweep-outcomes` (pass, or the failed check, per seed), `sweep-throughput` and `sweep-p99`
/// (histograms across seeds, passed and failed seeds stacked). Returns the files written; none
/// for an empty sweep.
pub fn write_sweep(dir: &Path, points: &[SweepPoint]) -> Result<Vec<PathBuf>, ReportError> {
    if points.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = save(&Outcomes(points), dir, "sweep-outcomes")?;
    let throughput = Histogram {
        title: "throughput across seeds",
        x_desc: "ok operations per virtual second",
        values: points.iter().map(|p| (p.throughput_ok_per_s(), p.passed)).collect(),
    };
    files.extend(save(&throughput, dir, "sweep-throughput")?);
    let p99 = Histogram {
        title: "p99 latency across seeds",
        x_desc: "p99 latency of ok operations (ms)",
        values: points.iter().map(|p| (p.p99_ms, p.passed)).collect(),
    };
    files.extend(save(&p99, dir, "sweep-p99")?);
    Ok(files)
}

/// One row per verdict (`passed`, then each failed check), a dot per seed.
struct Outcomes<'a>(&'a [SweepPoint]);

impl Outcomes<'_> {
    fn rows(&self) -> Vec<String> {
        let mut rows = vec!["passed".to_string()];
        for p in self.0 {
            let check = p.failed_check.clone().unwrap_or_else(|| "failed".into());
            if !p.passed && !rows.contains(&check) {
                rows.push(check);
            }
        }
        rows
    }

    fn row_of(&self, rows: &[String], p: &SweepPoint) -> usize {
        if p.passed {
            return 0;
        }
        let check = p.failed_check.as_deref().unwrap_or("failed");
        rows.iter().position(|r| r == check).expect("every check has a row")
    }
}

impl Figure for Outcomes<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let rows = self.rows();
        let failed = self.0.iter().filter(|p| !p.passed).count();
        let seeds = self.0.iter().map(|p| p.seed as f64);
        let (lo, hi) = (seeds.clone().fold(f64::MAX, f64::min), seeds.fold(f64::MIN, f64::max));
        let pad = ((hi - lo) * 0.03).max(1.0);
        let title = format!("sweep: {} seeds, {failed} failed", self.0.len());
        let mut chart = builder(root, &title)
            .y_label_area_size(160)
            .build_cartesian_2d(lo - pad..hi + pad, (0..rows.len() as i32).into_segmented())?;
        let names = rows.clone();
        chart
            .configure_mesh()
            .x_desc("seed")
            .y_desc("verdict (failed check)")
            .y_labels(rows.len())
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .axis_desc_style((FONT, 16))
            .draw()?;
        let dots = self.0.iter().map(|p| {
            let row = self.row_of(&rows, p);
            let colour = if p.passed { RGBColor(46, 160, 67) } else { RGBColor(214, 39, 40) };
            Circle::new((p.seed as f64, SegmentValue::CenterOf(row as i32)), 4, colour.filled())
        });
        chart.draw_series(dots)?;
        Ok(())
    }
}

/// A histogram of one figure across seeds, passed and failed seeds stacked.
struct Histogram {
    title: &'static str,
    x_desc: &'static str,
    /// (value, passed) per seed.
    values: Vec<(f64, bool)>,
}

impl Histogram {
    /// Bin edges `(lo, width)` and counts `[passed, failed]` per bin.
    fn bins(&self) -> (f64, f64, Vec<[u32; 2]>) {
        let n = self.values.len();
        let bins = ((n as f64).sqrt().ceil() as usize).clamp(1, 30);
        let lo = self.values.iter().map(|v| v.0).fold(f64::MAX, f64::min);
        let hi = self.values.iter().map(|v| v.0).fold(f64::MIN, f64::max);
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) };
        let width = (hi - lo) / bins as f64;
        let mut counts = vec![[0u32; 2]; bins];
        for &(v, passed) in &self.values {
            let b = (((v - lo) / width) as usize).min(bins - 1);
            counts[b][usize::from(!passed)] += 1;
        }
        (lo, width, counts)
    }
}

impl Figure for Histogram {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let (lo, width, counts) = self.bins();
        let y_hi = counts.iter().map(|c| c[0] + c[1]).max().unwrap_or(1) as f64 * 1.15 + 0.5;
        let x_hi = lo + width * counts.len() as f64;
        let title = format!("sweep: {} ({} seeds)", self.title, self.values.len());
        let mut chart = builder(root, &title).build_cartesian_2d(lo..x_hi, 0.0..y_hi)?;
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc("seeds")
            .axis_desc_style((FONT, 16))
            .draw()?;
        let kinds = [("passed", RGBColor(46, 160, 67)), ("failed", RGBColor(214, 39, 40))];
        for (k, (name, colour)) in kinds.into_iter().enumerate() {
            let bars = counts.iter().enumerate().map(|(b, c)| {
                let x0 = lo + width * b as f64;
                let base = if k == 0 { 0 } else { c[0] };
                let top = base + c[k];
                Rectangle::new(
                    [(x0, base as f64), (x0 + width * 0.95, top as f64)],
                    colour.filled(),
                )
            });
            chart.draw_series(bars)?.label(name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
            });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(seed: u64, failed_check: Option<&str>) -> SweepPoint {
        SweepPoint {
            seed,
            passed: failed_check.is_none(),
            failed_check: failed_check.map(str::to_string),
            ops_ok: 1000 + seed * 37 % 400,
            ops_fail: 3,
            ops_info: 1,
            virtual_ns: 10_000_000_000,
            p99_ms: 5.0 + (seed % 7) as f64,
        }
    }

    #[test]
    fn a_sweep_report_has_three_pictures() {
        let points: Vec<SweepPoint> = (1..=60)
            .map(|s| match s % 10 {
                3 => point(s, Some("linearizability")),
                7 => point(s, Some("liveness")),
                _ => point(s, None),
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("sim-sweep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_sweep(&dir, &points).unwrap();
        assert_eq!(files.len(), 6);
        let outcomes = std::fs::read_to_string(dir.join("sweep-outcomes.svg")).unwrap();
        assert!(outcomes.contains("linearizability") && outcomes.contains("12 failed"));
        let p99 = std::fs::read_to_string(dir.join("sweep-p99.svg")).unwrap();
        assert!(p99.contains("p99 latency across seeds (60 seeds)"));
        let png = std::fs::read(dir.join("sweep-throughput.png")).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        assert!(write_sweep(&dir, &[]).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn histogram_bins_hold_every_seed() {
        let h = Histogram { title: "t", x_desc: "x", values: vec![(1.0, true), (1.0, false)] };
        let (_, _, counts) = h.bins();
        let total: u32 = counts.iter().map(|c| c[0] + c[1]).sum();
        assert_eq!(total, 2);
    }
}
