//! `custseg predict`: arguments → [`crate::pipeline::predict`].

use super::args::{backend_options, input_spec};
use crate::cli::PredictArgs;
use crate::error::Result;
use crate::pipeline::PredictRequest;

/// Runs `predict` and returns the JSON summary.
pub fn run(args: &PredictArgs) -> Result<serde_json::Value> {
    crate::pipeline::predict(&PredictRequest {
        model: args.model.clone(),
        input: input_spec(&args.input),
        out: args.out.clone(),
        probabilities: args.probabilities,
        backend: backend_options(&args.run),
        fail_on_drift: super::args::fail_on_drift(&args.drift),
        report: args.report.report,
    })
}
