//! `sim schema check OLD NEW [--mode M]`: is schema NEW a compatible next version of OLD?

use super::{bad_input, Failure, EXIT_CHECK_FAILED, EXIT_PASS};
use crate::encoding::{check, Mode, Schema};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum SchemaCommand {
    /// Check that NEW can replace OLD: print each violated rule (message, field, tag, rule)
    /// and exit 1; exit 0 when compatible; exit 2 when a file cannot be read.
    Check(CheckArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The schema in use (TOML, see schemas/example.toml).
    old: PathBuf,
    /// The schema meant to replace it.
    new: PathBuf,
    /// `backward` (new readers read old data), `forward` (old readers read new data) or
    /// `full` (both).
    #[arg(long, default_value = "backward", value_name = "backward|forward|full")]
    mode: String,
}

/// Runs `sim schema ...`.
pub fn schema(command: SchemaCommand) -> Result<u8, Failure> {
    let SchemaCommand::Check(args) = command;
    let mode: Mode = args.mode.parse().map_err(|e| bad_input(format!("--mode {e}")))?;
    let old = Schema::load(&args.old).map_err(|e| bad_input(e.to_string()))?;
    let new = Schema::load(&args.new).map_err(|e| bad_input(e.to_string()))?;
    let violations = check(&old, &new, mode);
    for v in &violations {
        println!("{v}");
    }
    let compared = old.messages.iter().filter(|m| new.message(&m.name).is_some()).count();
    if violations.is_empty() {
        println!(
            "{} -> {}: compatible ({mode}; {compared} message type(s) compared)",
            args.old.display(),
            args.new.display()
        );
        Ok(EXIT_PASS)
    } else {
        println!(
            "{} -> {}: {} violation(s) ({mode})",
            args.old.display(),
            args.new.display(),
            violations.len()
        );
        Ok(EXIT_CHECK_FAILED)
    }
}
