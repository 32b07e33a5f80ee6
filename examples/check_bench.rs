//! Times the linearizability checker on a generated history:
//! `cargo run --release --example check_bench -- [OPS] [KEYS] [CLIENTS] [RUNS]`.
//!
//! Prints the median of the runs. Wall-clock time is read here, outside the simulator.

use sim::check::linearizability::{check_history, generate_history, ModelKind};
use std::time::Instant;

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let arg = |i: usize, default: u64| args.get(i).copied().unwrap_or(default);
    let (ops, keys, clients, runs) = (arg(0, 10_000), arg(1, 10), arg(2, 8), arg(3, 5).max(1));
    let mut times_us = Vec::new();
    for run in 0..runs {
        let history = generate_history(ops as usize, keys as usize, clients as usize, run);
        let start = Instant::now();
        let report = check_history(&history, ModelKind::Kv, None);
        times_us.push(start.elapsed().as_micros());
        assert!(report.passed(), "{}", report.detail());
        if run == 0 {
            println!("{}", report.detail());
        }
    }
    times_us.sort_unstable();
    let median_us = times_us[times_us.len() / 2];
    println!("{ops} ops, {keys} keys, {clients} clients: median {median_us}us over {runs} runs");
    println!("all runs (us): {times_us:?}");
}
