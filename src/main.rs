//! The `credshim` binary: harden the process, run, exit with the code ([`credshim::run`]).

use std::process::ExitCode;

fn main() -> ExitCode {
    credshim::run::harden();
    ExitCode::from(credshim::run::run(std::env::args_os().collect()))
}
