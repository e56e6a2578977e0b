//! `demo` and `bench` options.

use std::path::PathBuf;

use clap::Args;

use super::{AlgorithmChoice, CovarianceType, RunArgs};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers to generate (their transaction log has about 20 lines each).
    #[arg(long, short, default_value_t = 200_000)]
    pub n: usize,
    /// Segments to fit.
    #[arg(long, short, default_value_t = 6)]
    pub k: usize,
    /// Output folder for the data and the results.
    #[arg(long, short, default_value = "custseg-demo")]
    pub out: PathBuf,
    /// Random seed for the data and the fit.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Rows for the silhouette (see `fit --silhouette-sample`); 0 skips it.
    #[arg(long, default_value_t = 20_000)]
    pub silhouette_sample: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Rows of generated data.
    #[arg(long, short, default_value_t = 1_000_000)]
    pub n: usize,
    /// Columns of generated data.
    #[arg(long, short, default_value_t = 32)]
    pub d: usize,
    /// Centres.
    #[arg(long, short, default_value_t = 64)]
    pub k: usize,
    /// Timed passes (after one warm-up).
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Time K-Means (Lloyd passes), Gaussian-mixture EM passes, or one HDBSCAN / DBSCAN fit
    /// pass by pass (with the density options; --min-cluster-size defaults to 16).
    #[arg(long, value_enum, default_value_t = AlgorithmChoice::Kmeans)]
    pub algorithm: AlgorithmChoice,
    /// gmm: covariance type of the timed EM passes.
    #[arg(long, value_enum, default_value_t = CovarianceType::Diag)]
    pub covariance: CovarianceType,
    /// Read the rows from a Parquet file (all numeric columns, unscaled) instead of generating them.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Random seed (data and initial centres).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub density: super::DensityArgs,
    #[command(flatten)]
    pub pass: super::bench_pass::BenchPassArgs,
}
