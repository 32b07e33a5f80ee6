//! `sim shrink`: find a smaller scenario that still fails the same check with the same seed,
//! and write it as a standalone scenario file. The work is done by [`sim::shrink`].

use super::{bad_input, load_scenario, run_seed, Failure, EXIT_INTERNAL, EXIT_PASS};
use crate::registry::Registry;
use crate::scenario::ExpectSettings;
use crate::shrink::{fails_check, ShrinkError, Shrunk, RUNS_MAX_DEFAULT};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file (TOML).
    scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    seed: u64,
    /// Where to write the shrunk scenario (default: shrunk-NAME-seedN.toml).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override one scenario key, e.g. --set network.loss=0.05 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<String>,
    /// Most runs to spend shrinking.
    #[arg(long, default_value_t = RUNS_MAX_DEFAULT)]
    runs_max: u32,
    /// Write the reproducer as a regression: `[expect] fails = [CHECK]`, so that `sim run`
    /// passes while the bug is there and fails, saying so, once it is gone (what
    /// tests/regressions/ keeps). Without it, running the file fails the check (exit 1).
    #[arg(long)]
    as_regression: bool,
}

/// Runs `sim shrink`.
pub fn shrink(reg: Registry<'_>, args: ShrinkArgs) -> Result<u8, Failure> {
    let scenario = load_scenario(reg, &args.scenario, &args.overrides)?;
    let mut progress = |line: &str| eprintln!("shrink    {line}");
    let shrunk = crate::shrink::shrink(
        reg,
        &scenario,
        &args.scenario,
        args.seed,
        args.runs_max,
        &mut progress,
    )
    .map_err(|e| match e {
        ShrinkError::Scenario(e) => Failure::from(e),
        ShrinkError::Passed { .. } => bad_input(format!(
            "{}: {e}; `sim shrink` needs a failing seed (find one with `sim sweep`)",
            args.scenario.display()
        )),
    })?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("shrunk-{}-seed{}.toml", scenario.name, args.seed))
    });
    // The reproducer names its seed (`sim run FILE` needs no --seed); as a regression it also
    // states its lesson, the failing check, so that it passes while the bug is there.
    let mut reproducer = shrunk.scenario.clone();
    let fails = if args.as_regression { vec![shrunk.check.clone()] } else { Vec::new() };
    reproducer.expect = ExpectSettings { fails, seed: Some(args.seed) };
    let text = header(&args, &shrunk, &out) + &reproducer.to_toml();
    std::fs::write(&out, text)
        .map_err(|e| bad_input(format!("{}: cannot write: {e}", out.display())))?;
    let verified = shrunk.verified && fails_on_its_own(reg, &out, args.seed, &shrunk.check)?;
    println!("check     `{}` fails at seed {}", shrunk.check, args.seed);
    println!("before    {}", shrunk.before);
    println!("after     {}", shrunk.after);
    let limit = if shrunk.runs_limit_hit { " (limit hit: shrinking stopped early)" } else { "" };
    println!("runs      {} of at most {}{limit}", shrunk.runs, args.runs_max);
    println!("written   {}", out.display());
    println!("run it    sim run {}   (seed {} is in its [expect])", out.display(), args.seed);
    if !verified {
        return Err(Failure {
            code: EXIT_INTERNAL,
            message: format!(
                "{}: the shrunk scenario does not fail `{}` on its own: a bug in sim's shrinker",
                out.display(),
                shrunk.check
            ),
        });
    }
    Ok(EXIT_PASS)
}

fn header(args: &ShrinkArgs, shrunk: &Shrunk, out: &Path) -> String {
    let sets: String = args.overrides.iter().map(|o| format!(" --set {o}")).collect();
    let mut text = format!(
        "# Shrunk by `sim shrink` from {}{sets} seed {}: check `{}` still fails.\n\
         # before: {}\n# after:  {}\n",
        args.scenario.display(),
        args.seed,
        shrunk.check,
        shrunk.before,
        shrunk.after
    );
    for note in &shrunk.notes {
        text += &format!("#   {note}\n");
    }
    let verdict = if args.as_regression { "exit 0 while it still fails" } else { "exit 1" };
    text + &format!(
        "# Run it: sim run {} (seed {} from [expect]; `{}` fails: {verdict})\n\n",
        out.display(),
        args.seed,
        shrunk.check
    )
}

/// Loads the written file like `sim run` would and checks the seed fails `check` again.
fn fails_on_its_own(
    reg: Registry<'_>,
    file: &Path,
    seed: u64,
    check: &str,
) -> Result<bool, Failure> {
    let scenario = load_scenario(reg, file, &[])?;
    let output = run_seed(reg, &scenario, file, seed, None)?;
    Ok(fails_check(&output, check))
}
