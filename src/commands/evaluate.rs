//! `custseg evaluate`: arguments → [`crate::pipeline::evaluate`].

use super::args::{backend_options, input_spec};
use crate::cli::EvaluateArgs;
use crate::error::Result;
use crate::pipeline::EvaluateRequest;

/// Runs `evaluate` and returns the JSON summary.
pub fn run(args: &EvaluateArgs) -> Result<serde_json::Value> {
    crate::pipeline::evaluate(&EvaluateRequest {
        model: args.model.clone(),
        input: input_spec(&args.input),
        silhouette_sample: args.silhouette_sample,
        seed: args.seed,
        backend: backend_options(&args.run),
        fail_on_drift: super::args::fail_on_drift(&args.drift),
    })
}
