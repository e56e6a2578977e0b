//! Errors of the model fits: bad input rows, or a likelihood that cannot be evaluated at the
//! start. Non-convergence is not an error: the fits report it in `converged`.

use thiserror::Error;

/// Why a BG/NBD or Gamma-Gamma fit could not start.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelError {
    #[error("no customers to fit: pass at least one row with a positive weight")]
    EmptyInput,
    #[error(
        "customer row {index}: frequency {x}, recency {t_x}, age {t} is not a valid RFM triple; \
         need a whole frequency ≥ 0, 0 ≤ recency ≤ age, recency 0 when frequency is 0, all finite"
    )]
    InvalidRfm { index: usize, x: f64, t_x: f64, t: f64 },
    #[error(
        "spend row {index}: frequency {x}, mean spend {mean_spend}; the Gamma-Gamma fit needs \
         frequency ≥ 1 and mean spend > 0 (leave out customers without repeat purchases or with net spend ≤ 0)"
    )]
    InvalidSpend { index: usize, x: f64, mean_spend: f64 },
    #[error("row {index}: weight {weight} must be finite and > 0")]
    InvalidWeight { index: usize, weight: f64 },
    #[error("the log-likelihood is not finite at the start values ({value}); check the input scale")]
    NonFiniteStart { value: f64 },
}
