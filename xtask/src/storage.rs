//! `cargo xtask storage`: the storage engines' figures, measured on the simulated disk, written
//! to `reports/storage/` (pictures, `figures.json`, a README with the table and what the
//! figures say). Deterministic: the workloads are seeded, so the figures change only when an
//! engine does. `cargo xtask bench` prints the same measurements as bench lines, with the
//! engines' operations per wall second beside a well-known embedded store's.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::report::figure::{builder, legend, save, DrawResult, Figure, FONT};
use sim::storage::bitcask::BitcaskConfig;
use sim::storage::experiment::{
    bloom_false_positive_rate, measure, KeyDistribution, Measurement, Workload,
};
use sim::storage::lsm::{CompactionStyle, LsmConfig};
use sim::storage::EngineConfig;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Bits per key the Bloom figure measures.
pub const BLOOM_BITS: std::ops::RangeInclusive<u32> = 4..=16;
/// Keys in the Bloom filter's one table, and absent keys probed.
const BLOOM_KEYS: u32 = 20_000;
const BLOOM_PROBES: u32 = 400_000;

/// One Bloom measurement: bits per key, measured rate, the formula's rate.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct BloomPoint {
    pub bits_per_key: u32,
    pub measured: f64,
    pub formula: f64,
}

/// Measures the Bloom filter's false-positive rate at every bits-per-key setting.
pub fn bloom_points() -> Vec<BloomPoint> {
    BLOOM_BITS
        .map(|bits| {
            let (measured, formula) =
                bloom_false_positive_rate(bits, BLOOM_KEYS, BLOOM_PROBES, u64::from(bits))
                    .expect("a fresh engine on a fault-free disk reads back");
            BloomPoint { bits_per_key: bits, measured, formula }
        })
        .collect()
}

/// The engine setups the amplification figure compares.
pub fn setups() -> Vec<(&'static str, EngineConfig)> {
    let lsm = |compaction| EngineConfig::Lsm(LsmConfig { compaction, ..LsmConfig::default() });
    vec![
        ("lsm leveled", lsm(CompactionStyle::Leveled)),
        ("lsm tiered", lsm(CompactionStyle::Tiered)),
        ("bitcask", EngineConfig::Bitcask(BitcaskConfig::default())),
    ]
}

/// The workloads: the same mix, uniform and Zipf(0.99) keys.
pub fn workloads() -> Vec<Workload> {
    [KeyDistribution::Uniform, KeyDistribution::Zipf { theta_milli: 990 }]
        .into_iter()
        .map(|distribution| Workload { distribution, ..Workload::default() })
        .collect()
}

/// One cell of the amplification figure.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AmplificationPoint {
    pub engine: &'static str,
    pub workload: String,
    pub measurement: Measurement,
}

/// Every setup under every workload.
pub fn amplification_points() -> Vec<AmplificationPoint> {
    let mut points = Vec::new();
    for workload in workloads() {
        for (engine, config) in setups() {
            let measurement = measure(&config, &workload, 1).expect("a fault-free disk reads back");
            points.push(AmplificationPoint {
                engine,
                workload: workload.distribution.label(),
                measurement,
            });
        }
    }
    points
}

struct BloomFigure(Vec<BloomPoint>);

impl Figure for BloomFigure {
    fn size_px(&self) -> (u32, u32) {
        (1000, 600)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let lo = self.0.iter().map(|p| p.measured.min(p.formula)).fold(1.0, f64::min);
        let y_lo = (lo.max(1e-6) / 2.0).log10().floor();
        let x = (*BLOOM_BITS.start() as f64 - 0.5)..(*BLOOM_BITS.end() as f64 + 0.5);
        let title = format!(
            "Bloom filter false positives: {BLOOM_KEYS} keys, {BLOOM_PROBES} absent-key reads"
        );
        let mut chart = builder(root, &title).build_cartesian_2d(x, y_lo..0.0)?;
        chart
            .configure_mesh()
            .x_desc("bits per key")
            .x_labels(BLOOM_BITS.count())
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("false-positive rate")
            .y_label_formatter(&|v| format!("{:.0e}", 10f64.powf(*v)))
            .axis_desc_style((FONT, 16))
            .draw()?;
        let log = |v: f64| v.max(1e-9).log10();
        let formula = self.0.iter().map(|p| (f64::from(p.bits_per_key), log(p.formula)));
        let blue = RGBColor(31, 119, 180);
        chart
            .draw_series(LineSeries::new(formula, blue.stroke_width(2)))?
            .label("(1 - e^(-kn/m))^k")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], blue));
        let orange = RGBColor(255, 127, 14);
        let measured = self
            .0
            .iter()
            .map(|p| Circle::new((f64::from(p.bits_per_key), log(p.measured)), 5, orange.filled()));
        chart
            .draw_series(measured)?
            .label("measured")
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, orange.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    }
}

/// Grouped bars: one panel per amplification, one group per workload, one bar per engine.
struct AmplificationFigure(Vec<AmplificationPoint>);

type Metric = (&'static str, fn(&Measurement) -> f64);

const METRICS: [Metric; 3] = [
    ("write amplification (disk bytes / user bytes)", |m| m.write_amplification),
    ("read: disk bytes per point read", |m| m.read_bytes_per_get),
    ("space amplification (files / live data)", |m| m.space_amplification),
];

impl Figure for AmplificationFigure {
    fn size_px(&self) -> (u32, u32) {
        (1500, 560)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, METRICS.len()));
        let engines: Vec<&str> = setups().into_iter().map(|(name, _)| name).collect();
        let workloads: Vec<String> = workloads().iter().map(|w| w.distribution.label()).collect();
        let colours = [RGBColor(31, 119, 180), RGBColor(255, 127, 14), RGBColor(44, 160, 44)];
        for (panel, (title, metric)) in panels.iter().zip(METRICS) {
            let top = self.0.iter().map(|p| metric(&p.measurement)).fold(0.0, f64::max);
            let groups = workloads.len() as f64;
            let mut chart = builder(panel, title)
                .caption(title, (FONT, 17))
                .build_cartesian_2d(0.0..groups, 0.0..top * 1.2 + 1e-9)?;
            let names = workloads.clone();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(workloads.len() * 2 + 1)
                .x_label_formatter(&|x| {
                    let centre = x - x.floor();
                    if (centre - 0.5).abs() < 1e-6 {
                        names.get(x.floor() as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .axis_desc_style((FONT, 15))
                .draw()?;
            let width = 0.8 / engines.len() as f64;
            for (e, engine) in engines.iter().enumerate() {
                let colour = colours[e % colours.len()];
                let bars = self.0.iter().filter(|p| p.engine == *engine).map(|p| {
                    let g = workloads.iter().position(|w| *w == p.workload).unwrap_or(0) as f64;
                    let x0 = g + 0.1 + width * e as f64;
                    let value = metric(&p.measurement);
                    Rectangle::new([(x0, 0.0), (x0 + width * 0.92, value)], colour.filled())
                });
                chart.draw_series(bars)?.label(*engine).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
                });
            }
            legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        }
        Ok(())
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repo").to_path_buf()
}

/// The README of reports/storage/: the table, and what the figures say.
fn readme(bloom: &[BloomPoint], amp: &[AmplificationPoint]) -> String {
    let mut s = String::from(
        "# Storage engines: measured on the simulated disk\n\n\
         Written by `cargo xtask storage` (do not edit). Every byte is counted where the engine \
         hands it to the node's disk or gets it back; fsyncs complete at once. The workload: \
         10,000 keys of 16 bytes, 100-byte values, 100,000 operations (50% puts, 5% deletes, \
         40% point reads, 5% scans of 20 rows), a group commit every 16 writes; LSM defaults \
         are RocksDB's scaled down (16 KiB memtable, 1 KiB blocks, 10 bits per key, L0 \
         trigger 4, 64 KiB L1, multiplier 10; tiered merges 4 similar runs), Bitcask rolls \
         segments at 64 KiB and merges at 4 closed segments.\n\n\
         ![amplification](amplification.png)\n\n\
         | engine | keys | write amp | disk bytes / read | space amp | I/O bytes / op | \
         fsyncs / write | shape at the end |\n|---|---|---|---|---|---|---|---|\n",
    );
    for p in amp {
        let m = &p.measurement;
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.0} | {:.2} | {:.0} | {:.3} | {} |",
            p.engine,
            p.workload,
            m.write_amplification,
            m.read_bytes_per_get,
            m.space_amplification,
            m.io_bytes_per_op,
            m.fsyncs_per_write,
            m.shape
        );
    }
    s.push_str(&verdict(amp));
    s.push_str(
        "\n![bloom](bloom.png)\n\n| bits per key | measured | (1 - e^(-kn/m))^k |\n|---|---|---|\n",
    );
    for p in bloom {
        let _ = writeln!(s, "| {} | {:.5} | {:.5} |", p.bits_per_key, p.measured, p.formula);
    }
    s
}

/// Which compaction policy wins what, read off the measurements (not written by hand).
fn verdict(amp: &[AmplificationPoint]) -> String {
    let mut s = String::from("\nWhat the figures say:\n");
    for workload in workloads().iter().map(|w| w.distribution.label()) {
        let get = |engine: &str| {
            amp.iter().find(|p| p.engine == engine && p.workload == workload).map(|p| {
                let m = &p.measurement;
                (m.write_amplification, m.read_bytes_per_get, m.space_amplification)
            })
        };
        let (Some(leveled), Some(tiered)) = (get("lsm leveled"), get("lsm tiered")) else {
            continue;
        };
        let better = |a: f64, b: f64, lower: &str, higher: &str| {
            if a < b {
                format!("{lower} ({a:.2} vs {b:.2})")
            } else {
                format!("{higher} ({b:.2} vs {a:.2})")
            }
        };
        let _ = writeln!(
            s,
            "- {workload}: lower write amplification: {}; fewer bytes per read: {}; \
             less space: {}.",
            better(leveled.0, tiered.0, "leveled", "tiered"),
            better(leveled.1, tiered.1, "leveled", "tiered"),
            better(leveled.2, tiered.2, "leveled", "tiered"),
        );
    }
    s
}

/// Runs the command: writes reports/storage/, or with `--check` verifies figures.json.
pub fn run(args: &[String]) -> ExitCode {
    let check = match crate::check_flag("storage", args) {
        Ok(check) => check,
        Err(code) => return code,
    };
    let dir = root().join("reports").join("storage");
    let bloom = bloom_points();
    let amp = amplification_points();
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "bloom": bloom, "amplification": amp,
    }))
    .expect("figures serialise")
        + "\n";
    let figures = dir.join("figures.json");
    if check {
        return crate::check_figures("storage", &dir, &json);
    }
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::write(&figures, &json).map_err(|e| e.to_string()))
        .and_then(|()| {
            std::fs::write(dir.join("README.md"), readme(&bloom, &amp)).map_err(|e| e.to_string())
        })
        .and_then(|()| save(&BloomFigure(bloom), &dir, "bloom").map_err(|e| e.to_string()))
        .and_then(|_| {
            save(&AmplificationFigure(amp), &dir, "amplification").map_err(|e| e.to_string())
        });
    match written {
        Ok(_) => {
            println!("reports/storage: bloom, amplification, figures.json, README.md");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reports/storage: {e}");
            ExitCode::FAILURE
        }
    }
}
