//! Gaussian-mixture parameters and their validation.

use serde::{Deserialize, Serialize};

use super::{GmmError, Mixture};

/// Shape of the component covariances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CovarianceType {
    /// A full matrix per component.
    Full,
    /// A diagonal per component.
    Diag,
    /// One variance per component.
    Spherical,
    /// One full matrix shared by all components.
    Tied,
}

/// How the first parameters are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum GmmInit {
    /// Responsibilities from a K-Means fit's labels (scikit-learn's default).
    KMeans,
    /// Responsibilities from k-means++ seeds' nearest rows.
    KMeansPlusPlus,
    /// Random responsibilities, normalised per row.
    Random,
    /// Given parameters.
    Given(Mixture),
}

/// What to do with a component that collapses (covariance not positive definite, or no weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnDegenerate {
    /// Stop with an error naming the component.
    Error,
    /// Re-initialise the component on a random row with the data's variance.
    Reinit,
}

/// Everything a mixture fit needs besides the data.
#[derive(Debug, Clone, PartialEq)]
pub struct GmmParams {
    pub k: usize,
    pub covariance: CovarianceType,
    pub reg_covar: f64,
    pub init: GmmInit,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub on_degenerate: OnDegenerate,
}

impl GmmParams {
    /// scikit-learn's defaults: full covariances, reg_covar 1e-6, K-Means init, 100 iterations, tol 1e-3.
    pub fn new(k: usize, covariance: CovarianceType) -> Self {
        GmmParams {
            k,
            covariance,
            reg_covar: 1e-6,
            init: GmmInit::KMeans,
            n_init: 1,
            max_iter: 100,
            tol: 1e-3,
            seed: 0,
            on_degenerate: OnDegenerate::Error,
        }
    }

    /// Checks the parameters against `rows` rows.
    pub fn validate(&self, rows: usize) -> Result<(), GmmError> {
        if self.k == 0 {
            return Err(GmmError::KZero);
        }
        if self.k > rows {
            return Err(GmmError::KTooLarge { k: self.k, rows });
        }
        if !(self.reg_covar.is_finite() && self.reg_covar >= 0.0) {
            return Err(GmmError::RegCovar { value: self.reg_covar });
        }
        if self.max_iter == 0 {
            return Err(GmmError::MaxIterZero);
        }
        if self.n_init == 0 {
            return Err(GmmError::NInitZero);
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(GmmError::InvalidTol { tol: self.tol });
        }
        Ok(())
    }
}
