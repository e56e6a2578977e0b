//! K-Means parameters and their validation.

use super::KMeansError;
use crate::backend::Centres;

/// How the first centres are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    /// Greedy k-means++ (scikit-learn's: 2 + ⌊ln k⌋ candidates per step, best potential wins).
    KMeansPlusPlus,
    /// k-means|| with `rounds` oversampling passes of `oversampling` × k expected rows each.
    Parallel { rounds: usize, oversampling: f64 },
    /// k distinct rows drawn uniformly.
    Random,
    /// Given centres in the prepared space.
    Centres(Centres),
}

/// Everything a K-Means fit needs besides the data.
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

impl KMeansParams {
    /// Defaults as scikit-learn's `KMeans(n_clusters=k)`: k-means++, one run, 300 iterations, tol 1e-4.
    pub fn new(k: usize) -> Self {
        KMeansParams { k, init: Init::KMeansPlusPlus, n_init: 1, max_iter: 300, tol: 1e-4, seed: 0 }
    }

    /// Checks the parameters against data of `rows × dim`.
    pub fn validate(&self, rows: usize, dim: usize) -> Result<(), KMeansError> {
        if self.k == 0 {
            return Err(KMeansError::KZero);
        }
        if self.k > rows {
            return Err(KMeansError::KTooLarge { k: self.k, rows });
        }
        if self.max_iter == 0 {
            return Err(KMeansError::MaxIterZero);
        }
        if self.n_init == 0 {
            return Err(KMeansError::NInitZero);
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(KMeansError::InvalidTol { tol: self.tol });
        }
        if let Init::Centres(c) = &self.init {
            if c.k != self.k || c.dim != dim {
                return Err(KMeansError::InitShape {
                    expected_k: self.k,
                    expected_dim: dim,
                    got_k: c.k,
                    got_dim: c.dim,
                });
            }
            if let Some(bad) = (0..c.k).find(|&i| c.centre(i).iter().any(|v| !v.is_finite())) {
                return Err(KMeansError::InitNotFinite { centre: bad });
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
        let err = KMeansParams::new(10).validate(3, 2).unwrap_err();
        assert_eq!(err, KMeansError::KTooLarge { k: 10, rows: 3 });
        assert!(err.to_string().contains("decrease k"));
    }

    #[test]
    fn negative_or_nan_tol_is_refused() {
        for tol in [-1.0, f64::NAN, f64::INFINITY] {
            let p = KMeansParams { tol, ..KMeansParams::new(2) };
            assert!(matches!(p.validate(5, 1), Err(KMeansError::InvalidTol { .. })));
        }
    }

    #[test]
    fn given_centres_must_match_k_and_dim() {
        let p = KMeansParams { init: Init::Centres(Centres::new(2, 3, vec![0.0; 6])), ..KMeansParams::new(2) };
        assert!(p.validate(5, 3).is_ok());
        assert!(matches!(p.validate(5, 2), Err(KMeansError::InitShape { .. })));
    }
}
