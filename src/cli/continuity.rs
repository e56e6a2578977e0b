//! `fit --previous` options, and the drift alarm `fit`, `predict` and `evaluate` share.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Following an earlier run (`fit`).
#[derive(Debug, Args, Clone)]
pub struct ContinuityArgs {
    /// An earlier run's output folder: start from its segments, keep the ids of the segments
    /// that continue, write migration.parquet (who moved where) and check drift against it.
    #[arg(long, value_name = "DIR")]
    pub previous: Option<PathBuf>,
    /// With --previous: reuse its prep (scaling, levels) instead of refitting it on today's rows.
    #[arg(long)]
    pub keep_prep: bool,
    /// With --previous: a segment keeps its id when its centre moved at most this many
    /// spreads (root mean squared distance of a customer to its segment's centre).
    #[arg(long, value_name = "SPREADS", default_value_t = crate::continuity::DEFAULT_MATCH_THRESHOLD, allow_negative_numbers = true)]
    pub match_threshold: f64,
    #[command(flatten)]
    pub drift: DriftArgs,
}

/// The drift alarm.
#[derive(Debug, Args, Clone)]
pub struct DriftArgs {
    /// Exit with code 6 (outputs still written) when the largest feature PSI reaches this
    /// band: moderate (≥ 0.1) or significant (≥ 0.25).
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on_drift: Option<FailOnDrift>,
}

/// `predict`'s report.
#[derive(Debug, Args, Clone)]
pub struct PredictReportArgs {
    /// Also write report.html next to the assignments: the predicted segments' sizes,
    /// profiles and figures, and the drift since training.
    #[arg(long)]
    pub report: bool,
}

/// Drift bands `--fail-on-drift` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnDrift {
    Moderate,
    Significant,
}
