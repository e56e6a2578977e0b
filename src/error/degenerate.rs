//! A mixture component that cannot be used, and why.

use super::param::Param;

/// Why a mixture component cannot be used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DegenerateCause {
    /// No row has any responsibility for it.
    NoResponsibility,
    /// Its covariance (or the tied covariance) is not positive definite.
    NotPositiveDefinite,
    /// Its variance on a feature is zero, negative or not finite.
    BadVariance { feature: usize, value: f64 },
    /// Its weight is not a positive finite number.
    BadWeight { weight: f64 },
}

impl std::fmt::Display for DegenerateCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DegenerateCause::NoResponsibility => f.write_str("no row has any responsibility for it"),
            DegenerateCause::NotPositiveDefinite => f.write_str("its covariance is not positive definite"),
            DegenerateCause::BadVariance { feature, value } => {
                write!(f, "its variance on feature {feature} is {value}")
            }
            DegenerateCause::BadWeight { weight } => write!(f, "its weight is {weight:e}"),
        }
    }
}

/// Component `component` of a mixture cannot be used, because of `cause`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Collapsed {
    pub component: usize,
    pub cause: DegenerateCause,
}

/// A component collapsed during a fit, with the regularisation in use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "component {component} collapsed ({cause}); increase {} (now {reg_covar:e}), decrease {}, or set {} to reinit",
    Param::RegCovar,
    Param::K,
    Param::OnDegenerate
)]
pub struct DegenerateError {
    pub component: usize,
    pub cause: DegenerateCause,
    pub reg_covar: f64,
}
