//! `fit` and `select-k` options of `--algorithm ward`.

use clap::Args;

use super::KRange;
use crate::error::{Error, Param, Result};

/// Ward's cut by height and its two-level mode.
#[derive(Debug, Args)]
pub struct WardArgs {
    /// ward: cut the tree where merges reach this height (√(2Δ), as SciPy reports Ward)
    /// instead of at --k; every merge at or above it is undone.
    #[arg(long, value_name = "D", allow_negative_numbers = true)]
    pub distance_threshold: Option<f64>,
    /// ward: build the tree on this many K-Means micro-clusters (two-level mode) at any n.
    /// Without it, exact mode up to 50,000 rows, then two-level with a tenth of the rows
    /// within 2,000–20,000 micro-clusters.
    #[arg(long, value_name = "M")]
    pub micro_clusters: Option<usize>,
    /// ward: after the cut, move every leaf (row, or micro-cluster) to its nearest segment
    /// centroid until none moves (K-Means started from the cut, as FactoMineR's HCPC);
    /// the dendrogram is unchanged. Default: true in two-level mode (it undoes Ward's bias
    /// at segment borders), false in exact mode (whose cut then equals scikit-learn's).
    #[arg(long, value_name = "BOOL")]
    pub consolidate: Option<bool>,
}

impl WardArgs {
    /// `--k` with Ward: exactly one of `--k` and `--distance-threshold`. A cut by height
    /// gives the placeholder range 1..1 (the fit finds k).
    pub fn k_range(&self, k: Option<KRange>) -> Result<KRange> {
        match (k, self.distance_threshold) {
            (Some(k), None) => Ok(k),
            (None, Some(_)) => Ok(KRange { first: 1, last: 1 }),
            (Some(_), Some(_)) => Err(Error::param(
                Param::DistanceThreshold,
                format!("and {} both say where to cut the tree; give one of them", Param::K),
            )),
            (None, None) => Err(Error::param(
                Param::K,
                format!(
                    "is required with --algorithm ward, or {0}: give a number of segments such as --k 6, or a cut height such as {0} 10",
                    Param::DistanceThreshold
                ),
            )),
        }
    }
}
