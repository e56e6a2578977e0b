//! K-Means (Lloyd's algorithm) with k-means++ (greedy), random or given initial centres.
//!
//! Each iteration is one backend pass returning per-cluster sums, weights and inertia;
//! new centres are the weighted means. Semantics follow scikit-learn's `KMeans` (lloyd):
//! stop when no label changed (strict convergence) or when the squared centre shift
//! summed over clusters is at most `tol × mean per-feature variance`; empty clusters are
//! re-seeded with the rows farthest from their centres; `inertia` is computed against the
//! final centres. Across `n_init` runs the lowest inertia wins.

mod algorithm;
mod hyperparams;
mod init;
mod minibatch;

pub use algorithm::{
    apply_reseeds, empty_clusters, fit, squared_shift, weighted_means, IterationReport, KMeansFit, Reseed,
};
pub use hyperparams::{Init, KMeansParams, KMeansValidParams, AUTO_PARALLEL_WORK};
pub use init::{extend_kmeans_plus_plus, kmeans_parallel, kmeans_plus_plus, random_rows};
pub use minibatch::fit_minibatch;
