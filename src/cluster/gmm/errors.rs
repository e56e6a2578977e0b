//! Invalid Gaussian-mixture requests and degenerate fits, each with what to do.

/// Why a Gaussian-mixture fit cannot run or went degenerate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GmmError {
    #[error("invalid parameter --k: k must be at least 1")]
    KZero,
    #[error("invalid parameter --k: k = {k} but only {rows} rows are left after prep; decrease k or add rows")]
    KTooLarge { k: usize, rows: usize },
    #[error("invalid parameter --reg-covar: {value} is not a finite number ≥ 0")]
    RegCovar { value: f64 },
    #[error("invalid parameter --max-iter: must be at least 1")]
    MaxIterZero,
    #[error("invalid parameter --n-init: must be at least 1")]
    NInitZero,
    #[error("invalid parameter --tol: {tol} is not a finite number ≥ 0")]
    InvalidTol { tol: f64 },
    #[error(
        "component {component} collapsed ({reason}); increase --reg-covar (now {reg_covar:e}), decrease k, or pass --on-degenerate reinit"
    )]
    Degenerate { component: usize, reason: String, reg_covar: f64 },
}
