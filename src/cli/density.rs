//! `fit` options of the density algorithms (`--algorithm hdbscan` and `dbscan`).

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct DensityArgs {
    /// hdbscan: the fewest customers a segment may have (required with --algorithm hdbscan).
    #[arg(long, value_name = "M")]
    pub min_cluster_size: Option<usize>,
    /// hdbscan, dbscan: neighbours within reach, counting the customer itself, that make a
    /// customer core (required with dbscan; hdbscan default: --min-cluster-size).
    #[arg(long, value_name = "S")]
    pub min_samples: Option<usize>,
    /// hdbscan: how segments are picked from the cluster tree: excess of mass (eom) or its
    /// leaves (many small, homogeneous segments).
    #[arg(long, value_enum, default_value_t = ClusterSelectionChoice::Eom)]
    pub cluster_selection: ClusterSelectionChoice,
    /// dbscan: the neighbourhood radius, Euclidean in the prepared (scaled) space (required
    /// with --algorithm dbscan).
    #[arg(long, value_name = "E", allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// hdbscan, dbscan: the sampled mode, for customer bases past about a million rows: fit
    /// the tree on N customers drawn with --seed, then give every customer the segment of
    /// the nearest clustered sample customer that reaches it, else -1 (outlier).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
}

/// HDBSCAN's cluster selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterSelectionChoice {
    Eom,
    Leaf,
}
