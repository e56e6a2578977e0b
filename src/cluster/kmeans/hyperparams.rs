//! K-Means parameters as given ([`KMeansParams`], scikit-learn's constructor arguments) and
//! as checked ([`KMeansValidParams`], private fields): the fits take only checked ones.

use crate::backend::Centres;
use crate::error::{Param, ParamError};

/// Above this n·k, [`Init::Auto`] uses k-means|| (one pass per round) instead of k-means++
/// (k passes).
pub const AUTO_PARALLEL_WORK: f64 = 5e7;

/// How the first centres are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// k-means++ up to n·k = [`AUTO_PARALLEL_WORK`], k-means|| with these settings beyond.
    Auto { rounds: usize, oversampling: f64 },
    /// Greedy k-means++ (scikit-learn's: 2 + ⌊ln k⌋ candidates per step, best potential wins).
    KMeansPlusPlus,
    /// k-means|| with `rounds` oversampling passes of `oversampling` × k expected rows each.
    Parallel { rounds: usize, oversampling: f64 },
    /// k distinct rows drawn uniformly.
    Random,
    /// Given centres in the prepared space.
    Centres(Centres),
}

/// K-Means parameters as given; [`KMeansParams::check`] turns them into
/// [`KMeansValidParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    pub k: usize,
    pub init: Init,
    /// Independent runs; the lowest inertia wins.
    pub n_init: usize,
    pub max_iter: usize,
    /// Relative tolerance on the squared centre shift (scikit-learn's `tol`).
    pub tol: f64,
    pub seed: u64,
}

/// Checked K-Means parameters: everything a fit needs besides the data. They read as the
/// [`KMeansParams`] they were checked from, and cannot be changed without checking again.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansValidParams(KMeansParams);

impl std::ops::Deref for KMeansValidParams {
    type Target = KMeansParams;

    fn deref(&self) -> &KMeansParams {
        &self.0
    }
}

impl Init {
    /// The initialisation used on `rows` rows for `k` centres ([`Init::Auto`] resolved).
    pub fn resolve(&self, rows: usize, k: usize) -> Init {
        match self {
            Init::Auto { rounds, oversampling } if (rows as f64) * (k as f64) > AUTO_PARALLEL_WORK => {
                Init::Parallel { rounds: *rounds, oversampling: *oversampling }
            }
            Init::Auto { .. } => Init::KMeansPlusPlus,
            other => other.clone(),
        }
    }
}

impl KMeansParams {
    /// Defaults as scikit-learn's `KMeans(n_clusters=k)`: k-means++, one run, 300 iterations, tol 1e-4.
    pub fn new(k: usize) -> Self {
        KMeansParams { k, init: Init::KMeansPlusPlus, n_init: 1, max_iter: 300, tol: 1e-4, seed: 0 }
    }

    /// Checks what can be checked without the data.
    pub fn check(&self) -> Result<KMeansValidParams, ParamError> {
        ParamError::at_least(Param::K, self.k, 1)?;
        ParamError::at_least(Param::MaxIter, self.max_iter, 1)?;
        ParamError::at_least(Param::NInit, self.n_init, 1)?;
        ParamError::finite_non_negative(Param::Tol, self.tol)?;
        match &self.init {
            Init::Centres(c) => {
                if c.k != self.k {
                    return Err(ParamError::InitShape {
                        expected_k: self.k,
                        expected_dim: c.dim,
                        got_k: c.k,
                        got_dim: c.dim,
                    });
                }
                if let Some(bad) = (0..c.k).find(|&i| c.centre(i).iter().any(|v| !v.is_finite())) {
                    return Err(ParamError::InitNotFinite { centre: bad });
                }
            }
            Init::Parallel { rounds, oversampling } | Init::Auto { rounds, oversampling } => {
                ParamError::at_least(Param::InitRounds, *rounds, 1)?;
                if !(oversampling.is_finite() && *oversampling > 0.0) {
                    return Err(ParamError::Invalid {
                        param: Param::Oversampling,
                        message: format!("{oversampling} is not a positive finite number"),
                    });
                }
            }
            Init::KMeansPlusPlus | Init::Random => {}
        }
        Ok(KMeansValidParams(self.clone()))
    }
}

impl KMeansValidParams {
    /// The same parameters with another seed (every seed is valid).
    pub fn with_seed(&self, seed: u64) -> Self {
        KMeansValidParams(KMeansParams { seed, ..self.0.clone() })
    }

    /// The parameters as given, to change and check again.
    pub fn to_params(&self) -> KMeansParams {
        self.0.clone()
    }

    /// Checks the parameters against data of `rows × dim`.
    pub fn check_data(&self, rows: usize, dim: usize) -> Result<(), ParamError> {
        if self.k > rows {
            return Err(ParamError::KTooLarge { k: self.k, rows });
        }
        if let Init::Centres(c) = &self.init {
            if c.dim != dim {
                return Err(ParamError::InitShape {
                    expected_k: self.k,
                    expected_dim: dim,
                    got_k: c.k,
                    got_dim: c.dim,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_larger_than_rows_is_refused_with_both_numbers() {
        let err = KMeansParams::new(10).check().unwrap().check_data(3, 2).unwrap_err();
        assert_eq!(err, ParamError::KTooLarge { k: 10, rows: 3 });
        assert!(err.to_string().contains("decrease k"));
    }

    #[test]
    fn negative_or_nan_tol_is_refused() {
        for tol in [-1.0, f64::NAN, f64::INFINITY] {
            let p = KMeansParams { tol, ..KMeansParams::new(2) };
            assert!(matches!(p.check(), Err(ParamError::NotFiniteNonNegative { param: Param::Tol, .. })));
        }
    }

    #[test]
    fn zero_k_iterations_or_runs_name_their_parameter() {
        for (p, param) in [
            (KMeansParams::new(0), Param::K),
            (KMeansParams { max_iter: 0, ..KMeansParams::new(2) }, Param::MaxIter),
            (KMeansParams { n_init: 0, ..KMeansParams::new(2) }, Param::NInit),
        ] {
            let err = p.check().unwrap_err();
            assert_eq!(err.param(), param);
            // The library names its parameters (the binary renders them as flags).
            assert!(err.to_string().contains(param.name()), "{err}");
        }
    }

    #[test]
    fn given_centres_must_match_k_and_dim() {
        let p = KMeansParams { init: Init::Centres(Centres::new(2, 3, vec![0.0; 6])), ..KMeansParams::new(2) };
        let valid = p.check().unwrap();
        assert!(valid.check_data(5, 3).is_ok());
        assert!(matches!(valid.check_data(5, 2), Err(ParamError::InitShape { .. })));
        let wrong_k = KMeansParams { k: 3, ..p };
        assert!(matches!(wrong_k.check(), Err(ParamError::InitShape { .. })));
    }
}
