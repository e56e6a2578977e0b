//! `bench --pass`: which pass `custseg bench` times.

use clap::{Args, ValueEnum};

/// The pass `custseg bench` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchPass {
    /// The --algorithm's passes (Lloyd passes and a fit, EM passes, or a density fit).
    Algorithm,
    /// The silhouette, exact, on the --n rows labelled by their nearest of --k centres.
    Silhouette,
}

/// Options of `custseg bench` beyond the algorithm's.
#[derive(Debug, Args, Clone)]
pub struct BenchPassArgs {
    /// What to time: the --algorithm's passes, or the silhouette's pairwise pass (exact on
    /// all --n rows, as `fit` computes it up to --silhouette-sample rows).
    #[arg(long, value_enum, default_value_t = BenchPass::Algorithm)]
    pub pass: BenchPass,
}
