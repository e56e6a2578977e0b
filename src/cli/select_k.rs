//! `select-k` options beyond fit's: how many independent fits judge each k.

use clap::Args;

/// Replicated fits per k, so the recommendation accounts for run-to-run spread.
#[derive(Debug, Args, Clone)]
pub struct SelectKRobustArgs {
    /// Independent fits per k, each with --n-init starts, its own seed and its own
    /// silhouette sample. The table gives their mean silhouette and its spread; the
    /// evidence is weak when the replicates pick different ks or the spread covers the
    /// margin. 1 runs once, as `fit` would (Ward's tree is cut once whatever this says).
    #[arg(long, default_value_t = 3)]
    pub replicates: usize,
}
