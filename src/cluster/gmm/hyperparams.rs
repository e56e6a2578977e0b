//! Gaussian-mixture parameters as given ([`GmmParams`], scikit-learn's constructor
//! arguments) and as checked ([`GmmValidParams`], private fields): fits take checked ones.

use serde::{Deserialize, Serialize};

use super::Mixture;
use crate::error::{Param, ParamError};

/// Shape of the component covariances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

impl GmmInit {
    /// The name recorded in the model.
    pub fn name(&self) -> &'static str {
        match self {
            GmmInit::KMeans => "kmeans",
            GmmInit::KMeansPlusPlus => "k-means++",
            GmmInit::Random => "random",
            GmmInit::Given(_) => "given",
        }
    }
}

/// What to do with a component that collapses (covariance not positive definite, or no weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDegenerate {
    /// Stop with an error naming the component.
    Error,
    /// Re-initialise the component on a random row with the data's variance.
    Reinit,
}

/// Mixture parameters as given; [`GmmParams::check`] turns them into [`GmmValidParams`].
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

/// Checked mixture parameters: everything a fit needs besides the data. They read as the
/// [`GmmParams`] they were checked from, and cannot be changed without checking again.
#[derive(Debug, Clone, PartialEq)]
pub struct GmmValidParams(GmmParams);

impl std::ops::Deref for GmmValidParams {
    type Target = GmmParams;

    fn deref(&self) -> &GmmParams {
        &self.0
    }
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

    /// Checks what can be checked without the data.
    pub fn check(&self) -> Result<GmmValidParams, ParamError> {
        ParamError::at_least(Param::K, self.k, 1)?;
        ParamError::finite_non_negative(Param::RegCovar, self.reg_covar)?;
        ParamError::at_least(Param::MaxIter, self.max_iter, 1)?;
        ParamError::at_least(Param::NInit, self.n_init, 1)?;
        ParamError::finite_non_negative(Param::Tol, self.tol)?;
        if let GmmInit::Given(m) = &self.init {
            if m.k != self.k || m.covariance != self.covariance {
                return Err(ParamError::Invalid {
                    param: Param::Init,
                    message: format!(
                        "the given mixture has {} {:?} components; expected {} {:?}",
                        m.k, m.covariance, self.k, self.covariance
                    ),
                });
            }
        }
        Ok(GmmValidParams(self.clone()))
    }
}

impl GmmValidParams {
    /// The same parameters with another seed (every seed is valid).
    pub fn with_seed(&self, seed: u64) -> Self {
        GmmValidParams(GmmParams { seed, ..self.0.clone() })
    }

    /// The parameters as given, to change and check again.
    pub fn to_params(&self) -> GmmParams {
        self.0.clone()
    }

    /// Checks the parameters against `rows` rows of `dim` features.
    pub fn check_data(&self, rows: usize, dim: usize) -> Result<(), ParamError> {
        if self.k > rows {
            return Err(ParamError::KTooLarge { k: self.k, rows });
        }
        if let GmmInit::Given(m) = &self.init {
            if m.dim != dim {
                return Err(ParamError::Invalid {
                    param: Param::Init,
                    message: format!("the given mixture has {} features; the data have {dim}", m.dim),
                });
            }
        }
        Ok(())
    }
}
