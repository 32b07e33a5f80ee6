//! `cargo xtask storm [--check]`: where the service becomes metastable. Every client policy of
//! `scenarios/retry-storm-cured.toml`, taken apart, under every offered load and slowdown
//! length, over several seeds; a cell is the fraction of seeds whose goodput recovered
//! (`goodput_recovery`). Written to `reports/storm/`: `phase.png` (one panel per policy:
//! load across, trigger length up, colour = recovered), `figures.json`, and a README whose
//! table and verdict are computed from the figures. Runs are deterministic, so `--check`
//! verifies `figures.json`.

use plotters::coord::Shift;
use plotters::prelude::*;
use sim::protocols::service::ServiceSystem;
use sim::report::figure::{save, DrawResult, Figure, FONT};
use sim::scenario::Scenario;
use sim::testing::load_with;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Offered load in calls per second (the server does 500 a second at full speed).
const LOADS: [u32; 18] =
    [50, 75, 100, 125, 150, 175, 200, 225, 250, 275, 300, 325, 350, 375, 400, 425, 450, 475];
/// The server's capacity at full speed: one worker, 2ms a call.
const CAPACITY_PER_S: u32 = 500;
/// Slowdown lengths in milliseconds (the slowdown starts at 2s, tenfold).
const TRIGGERS_MS: [u64; 9] = [100, 200, 300, 500, 750, 1000, 1500, 2000, 3000];
/// Seeds per cell.
const SEEDS: u64 = 5;

/// The client policies compared: a name and how to turn the cured scenario into it.
/// Turns the cured scenario into one policy's.
type Shape = fn(&mut Scenario);

const POLICIES: [(&str, Shape); 5] = [
    ("naive: immediate retries", |s| {
        s.clients.retry = None;
        s.clients.breaker = None;
    }),
    ("backoff + full jitter", |s| {
        s.clients.breaker = None;
        s.clients.retry.as_mut().expect("the cured scenario retries").budget = None;
    }),
    ("backoff + retry budget", |s| s.clients.breaker = None),
    ("circuit breaker only", |s| s.clients.retry = None),
    ("all (retry-storm-cured)", |_| {}),
];

/// One cell: a policy at a load and a trigger length.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Cell {
    pub policy: &'static str,
    pub rate_per_s: u32,
    pub trigger_ms: u64,
    /// Seeds (of `SEEDS`) whose goodput recovered within the bound.
    pub recovered: u64,
    /// Seeds the check could not judge (none expected; kept so a gap is visible).
    pub not_judged: u64,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repo").to_path_buf()
}

/// Every cell of every policy.
pub fn cells() -> Vec<Cell> {
    let cured = load_with(root().join("scenarios/retry-storm-cured.toml"), &[]);
    let mut cells = Vec::new();
    for (policy, shape) in POLICIES {
        for trigger_ms in TRIGGERS_MS {
            for rate_per_s in LOADS {
                let mut s = cured.clone();
                shape(&mut s);
                s.clients.rate_per_s = rate_per_s;
                set_trigger(&mut s, trigger_ms);
                let (mut recovered, mut not_judged) = (0, 0);
                for seed in 0..SEEDS {
                    let out = sim::testing::run::<ServiceSystem>(&s, seed);
                    let check = out.report.checks.iter().find(|c| c.name == "goodput_recovery");
                    let check = check.expect("the service judges goodput recovery");
                    recovered += u64::from(check.judged && check.passed);
                    not_judged += u64::from(!check.judged);
                }
                cells.push(Cell { policy, rate_per_s, trigger_ms, recovered, not_judged });
            }
        }
    }
    cells
}

/// Sets the length of the scenario's one slowdown.
fn set_trigger(s: &mut Scenario, ms: u64) {
    let slowdowns = s.protocol.get_mut("slowdowns").and_then(|v| v.as_array_mut());
    let first = slowdowns.and_then(|a| a.first_mut()).and_then(|v| v.as_table_mut());
    let first = first.expect("retry-storm-cured.toml has a slowdown");
    first.insert("duration".into(), toml::Value::String(format!("{ms}ms")));
}

/// Red (no seed recovered) to green (every seed did).
fn shade(recovered: u64) -> RGBColor {
    let f = recovered as f64 / SEEDS as f64;
    let mix = |red: f64, green: f64| (red * (1.0 - f) + green * f).round() as u8;
    RGBColor(mix(214.0, 44.0), mix(39.0, 160.0), mix(40.0, 44.0))
}

fn percent(rate: u32) -> u32 {
    rate * 100 / CAPACITY_PER_S
}

struct PhaseFigure<'a>(&'a [Cell]);

impl Figure for PhaseFigure<'_> {
    fn size_px(&self) -> (u32, u32) {
        (1800, 1000)
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        root.fill(&WHITE)?;
        let title = format!(
            "Where the service becomes metastable: a tenfold slowdown at 2s, {SEEDS} seeds a \
             cell; green: goodput recovered within 2s of its end on every seed, red: on none"
        );
        let (top, body) = root.split_vertically(50);
        top.draw(&Text::new(title, (20, 15), (FONT, 20)))?;
        let panels = body.split_evenly((2, 3));
        let (nx, ny) = (LOADS.len() as f64, TRIGGERS_MS.len() as f64);
        for (panel, (policy, _)) in panels.iter().zip(POLICIES) {
            let mut chart = ChartBuilder::on(panel)
                .caption(policy, (FONT, 18))
                .margin(10)
                .x_label_area_size(44)
                .y_label_area_size(64)
                .build_cartesian_2d(0.0..nx, 0.0..ny)?;
            // Labels at the cells' centres only (ticks fall on every half cell).
            let centre = |v: f64| ((v - v.floor()) - 0.5).abs() < 1e-6;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(LOADS.len() * 2 + 1)
                .x_label_formatter(&|x| match LOADS.get(x.floor() as usize) {
                    Some(r) if centre(*x) && (x.floor() as usize) & 1 == 0 => {
                        format!("{}%", percent(*r))
                    }
                    _ => String::new(),
                })
                .y_labels(TRIGGERS_MS.len() * 2 + 1)
                .y_label_formatter(&|y| match TRIGGERS_MS.get(y.floor() as usize) {
                    Some(t) if centre(*y) => format!("{t}ms"),
                    _ => String::new(),
                })
                .x_desc("offered load (% of capacity)")
                .y_desc("slowdown length")
                .axis_desc_style((FONT, 14))
                .draw()?;
            let cells = self.0.iter().filter(|c| c.policy == policy).map(|c| {
                let x = LOADS.iter().position(|r| *r == c.rate_per_s).unwrap_or(0) as f64;
                let y = TRIGGERS_MS.iter().position(|t| *t == c.trigger_ms).unwrap_or(0) as f64;
                let colour = shade(c.recovered);
                Rectangle::new([(x + 0.04, y + 0.04), (x + 0.96, y + 0.96)], colour.filled())
            });
            chart.draw_series(cells)?;
        }
        // The key, in the sixth panel.
        let key = &panels[POLICIES.len()];
        key.draw(&Text::new("seeds recovered, of the cell's runs", (40, 40), (FONT, 18)))?;
        for k in 0..=SEEDS {
            let y = 80 + 36 * (SEEDS - k) as i32;
            key.draw(&Rectangle::new([(40, y), (90, y + 28)], shade(k).filled()))?;
            let text = format!("{k} of {SEEDS}");
            key.draw(&Text::new(text, (104, y + 6), (FONT, 16)))?;
        }
        Ok(())
    }
}

/// For one policy and trigger: the highest load at which every seed recovered, with every
/// lower load recovering too (the stable region's edge), if any.
fn edge(cells: &[Cell], policy: &str, trigger_ms: u64) -> Option<u32> {
    let mut best = None;
    for rate in LOADS {
        let cell = cells
            .iter()
            .find(|c| c.policy == policy && c.trigger_ms == trigger_ms && c.rate_per_s == rate)?;
        if cell.recovered < SEEDS {
            break;
        }
        best = Some(rate);
    }
    best
}

fn readme(cells: &[Cell]) -> String {
    let mut s = String::from(
        "# Where the retry storm becomes metastable\n\n\
         Generated by `cargo xtask storm` (`--check` verifies `figures.json`); do not edit.\n\n\
         The service of `scenarios/retry-storm-cured.toml` (one worker, 2 ms a call: 500 calls/s, \
         a queue of 200; clients time out after 20 ms) is slowed tenfold at 2 s. Each policy is \
         a piece of that scenario's clients: the naive client (immediate retries until the \
         operation's 2 s deadline), backoff with full jitter (20 ms base, 500 ms cap, 4 \
         attempts), the same plus a retry budget (10% of calls + 10/s), the circuit breaker \
         alone (50% failures over 50 calls, 200 ms open, 10 trial calls), and all of them. A \
         cell is the share of ",
    );
    let _ = write!(
        s,
        "{SEEDS} seeds whose goodput came back to 90% of its baseline within 2 s of the \
         slowdown's end (`goodput_recovery`).\n\n![phase diagram](phase.png)\n\n"
    );
    s += "The highest offered load (as % of capacity) at which every seed recovered, every lower \
          load too, per slowdown length (`-`: not even the lowest load):\n\n| policy |";
    for t in TRIGGERS_MS {
        let _ = write!(s, " {t}ms |");
    }
    s += "\n|---|";
    s += &"---|".repeat(TRIGGERS_MS.len());
    s += "\n";
    for (policy, _) in POLICIES {
        let _ = write!(s, "| {policy} |");
        for t in TRIGGERS_MS {
            match edge(cells, policy, t) {
                Some(rate) => {
                    let _ = write!(s, " {}% |", percent(rate));
                }
                None => s += " - |",
            }
        }
        s += "\n";
    }
    let stable =
        |policy: &str| cells.iter().filter(|c| c.policy == policy && c.recovered == SEEDS).count();
    let total = LOADS.len() * TRIGGERS_MS.len();
    let _ = write!(s, "\nCells where every seed recovered, of {total}:");
    for (policy, _) in POLICIES {
        let _ = write!(s, " {policy} {};", stable(policy));
    }
    s.pop();
    s += ".\n";
    let not_judged: u64 = cells.iter().map(|c| c.not_judged).sum();
    if not_judged > 0 {
        let _ = write!(s, "\n{not_judged} runs could not be judged (counted as not recovered).\n");
    }
    s
}

/// Runs the command: writes reports/storm/, or with `--check` verifies figures.json.
pub fn run(args: &[String]) -> ExitCode {
    let check = match crate::check_flag("storm", args) {
        Ok(check) => check,
        Err(code) => return code,
    };
    let dir = root().join("reports").join("storm");
    let cells = cells();
    let json = serde_json::to_string_pretty(&cells).expect("figures serialise") + "\n";
    if check {
        return crate::check_figures("storm", &dir, &json);
    }
    let written = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| std::fs::write(dir.join("figures.json"), &json).map_err(|e| e.to_string()))
        .and_then(|()| {
            std::fs::write(dir.join("README.md"), readme(&cells)).map_err(|e| e.to_string())
        })
        .and_then(|()| save(&PhaseFigure(&cells), &dir, "phase").map_err(|e| e.to_string()));
    match written {
        Ok(_) => {
            println!("reports/storm: phase, figures.json, README.md ({} cells)", cells.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reports/storm: {e}");
            ExitCode::FAILURE
        }
    }
}
