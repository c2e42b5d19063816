//! The `svchop` binary: parse arguments, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    svchop::cli::main()
}
