//! The `custseg` binary: parse arguments, run a command, print its JSON summary on stdout,
//! map errors to exit codes (0 ok · 2 usage · 3 bad data · 4 I/O · 5 no backend · 1 bug).

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use custseg::cli::{Cli, Command, RunArgs};
use custseg::commands::{self, bench, customers, demo, devices, evaluate, fit, predict, select_k};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    custseg::error::name_parameters_as(commands::args::flag);
    custseg::log::start_clock();
    custseg::signals::install();
    custseg::io::reader::install_panic_hook();
    let (quiet, result) = match cli.command {
        Command::Fit(args) => (args.run.quiet, threads(&args.run).and_then(|_| fit::run(&args))),
        Command::Predict(args) => (args.run.quiet, threads(&args.run).and_then(|_| predict::run(&args))),
        Command::Demo(args) => (args.run.quiet, threads(&args.run).and_then(|_| demo::run(&args))),
        Command::Devices => (false, devices::run()),
        Command::Evaluate(args) => (args.run.quiet, threads(&args.run).and_then(|_| evaluate::run(&args))),
        Command::SelectK(args) => (args.fit.run.quiet, threads(&args.fit.run).and_then(|_| select_k::run(&args))),
        Command::Customers(args) => (args.run.quiet, threads(&args.run).and_then(|_| customers::run(&args))),
        Command::Bench(args) => (args.run.quiet, threads(&args.run).and_then(|_| bench::run(&args))),
    };
    match result {
        Ok(summary) => {
            if !quiet {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{summary}");
            }
            // A run whose drift reached --fail-on-drift wrote its outputs and says so.
            ExitCode::from(custseg::continuity::drift::exit_code(&summary))
        }
        Err(e) => {
            // Error messages carry their cause (file, column, parameter) and what to do.
            eprintln!("custseg: error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// Sizes the worker pool as `--threads` asks.
fn threads(run: &RunArgs) -> custseg::Result<()> {
    custseg::pipeline::configure_threads(run.threads)
}
