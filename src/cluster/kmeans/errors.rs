//! Invalid K-Means requests, each with what to do about it.

/// Why a K-Means request cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum KMeansError {
    #[error("invalid parameter --k: k must be at least 1")]
    KZero,
    #[error("invalid parameter --k: k = {k} but only {rows} rows are left after prep; decrease k or add rows")]
    KTooLarge { k: usize, rows: usize },
    #[error("invalid parameter --max-iter: must be at least 1")]
    MaxIterZero,
    #[error("invalid parameter --n-init: must be at least 1")]
    NInitZero,
    #[error("invalid parameter --tol: {tol} is not a finite number ≥ 0")]
    InvalidTol { tol: f64 },
    #[error(
        "invalid parameter --init-centroids: expected {expected_k} centres of {expected_dim} features, got {got_k} × {got_dim}"
    )]
    InitShape { expected_k: usize, expected_dim: usize, got_k: usize, got_dim: usize },
    #[error("invalid parameter --init-centroids: centre {centre} has a missing or non-finite value; give every feature a finite value")]
    InitNotFinite { centre: usize },
}
