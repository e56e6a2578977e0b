//! `predict` and `evaluate` options.

use std::path::PathBuf;

use clap::Args;

use super::{InputArgs, RunArgs};

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// model.json written by `custseg fit`.
    #[arg(long, short)]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output Parquet file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Gaussian-mixture models: also write p_0 … p_{k-1}.
    #[arg(long)]
    pub probabilities: bool,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub drift: super::continuity::DriftArgs,
    #[command(flatten)]
    pub report: super::continuity::PredictReportArgs,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// model.json written by `custseg fit`.
    #[arg(long, short)]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows for the silhouette (exact below, sampled above); 0 skips it.
    #[arg(long, default_value_t = 50_000)]
    pub silhouette_sample: usize,
    /// Seed of the silhouette sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub drift: super::continuity::DriftArgs,
}
