//! Gaussian mixtures fitted by EM, with scikit-learn's `GaussianMixture` semantics.
//!
//! Each iteration is one backend pass (E-step: responsibilities under the current
//! parameters, reduced in the pass into per-component Σw·r, Σw·r·x and Σw·r·x² or Σw·r·x·xᵀ
//! and Σw·ln p(x)); the M-step runs on the host in f64 (Cholesky factors of the
//! covariances → precision factors). The N×K responsibility matrix is never stored.
//! `reg_covar` is added to the covariance diagonals; the lower bound is the weighted mean
//! log-likelihood, and EM stops when it changes by less than `tol`. Across `n_init` runs the
//! highest lower bound wins.

mod algorithm;
pub mod floor;
mod hyperparams;
mod init;
pub mod mixture;

pub use algorithm::{fit, GmmFit, GmmIteration};
pub use floor::FloorComponent;
pub use hyperparams::{CovarianceType, GmmInit, GmmParams, GmmValidParams, OnDegenerate};
pub use init::{feature_variances, nearest_centre_stats, random_stats};
pub use mixture::Mixture;
