//! The CLI's commands from Python: `custseg.fit_parquet` and `custseg.customers` build the
//! argument list the binary would get, and this runs it through the same parser and
//! command code, so both paths share one pipeline and one set of defaults.

use clap::Parser;
use custseg::cli::{Cli, Command};
use custseg::commands;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Runs `custseg <args…>` (`fit`, `customers`, `predict`, `evaluate` or `select-k`) and
/// returns its JSON summary as text.
#[pyfunction]
pub fn run_cli(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let cli = Cli::try_parse_from(std::iter::once("custseg".to_string()).chain(args))
        .map_err(|e| PyValueError::new_err(e.render().to_string()))?;
    let summary = py.detach(|| match &cli.command {
        Command::Fit(a) => commands::fit::run(a),
        Command::Customers(a) => commands::customers::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Evaluate(a) => commands::evaluate::run(a),
        Command::SelectK(a) => commands::select_k::run(a),
        _ => {
            Err(custseg::Error::Internal("only fit, customers, predict, evaluate and select-k run from Python".into()))
        }
    });
    summary.map(|s| s.to_string()).map_err(crate::errors::to_py)
}
