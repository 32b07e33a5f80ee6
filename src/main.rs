//! The `sim` binary: see `sim --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
