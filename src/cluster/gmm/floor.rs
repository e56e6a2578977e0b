//! Components collapsed onto single values: a component whose rows all share (almost) one
//! value of a feature has an empirical variance of about 0 there, so its fitted variance is
//! the `reg_covar` floor and its density there is huge. Such components win the likelihood
//! (and the BIC) without describing a segment, as on small integer features (a purchase
//! count of 1, 2, 3 …); select-k flags them and calls its evidence weak.

use serde::Serialize;

use super::{CovarianceType, Mixture};

/// A fitted variance counts as at the floor when it is at most this many times
/// `reg_covar`: the data's own variance there is no larger than the floor itself.
pub const FLOOR_RATIO: f64 = 2.0;

/// A component whose variance sits at the `reg_covar` floor on some features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FloorComponent {
    pub component: usize,
    /// The features (prepared columns) it collapsed on, in order.
    pub features: Vec<usize>,
}

impl Mixture {
    /// The variance of component `c` on feature `j` (the covariance's diagonal).
    pub fn variance(&self, c: usize, j: usize) -> f64 {
        let d = self.dim;
        match self.covariance {
            CovarianceType::Full => self.covariances[c * d * d + j * d + j],
            CovarianceType::Diag => self.covariances[c * d + j],
            CovarianceType::Spherical => self.covariances[c],
            CovarianceType::Tied => self.covariances[j * d + j],
        }
    }

    /// The components (with weight) whose variance sits at the `reg_covar` floor on some
    /// feature, with those features. Tied covariances are shared, so a floor there flags
    /// every component.
    pub fn components_at_floor(&self, reg_covar: f64) -> Vec<FloorComponent> {
        let limit = FLOOR_RATIO * reg_covar;
        (0..self.k)
            .filter(|&c| self.weights[c] > 0.0)
            .filter_map(|c| {
                let features: Vec<usize> = (0..self.dim).filter(|&j| self.variance(c, j) <= limit).collect();
                (!features.is_empty()).then_some(FloorComponent { component: c, features })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mixture(covariance: CovarianceType, covariances: Vec<f64>) -> Mixture {
        Mixture { covariance, k: 2, dim: 2, weights: vec![0.5, 0.5], means: vec![0.0; 4], covariances }
    }

    #[test]
    fn a_component_at_the_floor_on_one_feature_is_flagged_with_that_feature() {
        let diag = mixture(CovarianceType::Diag, vec![1.0, 0.3, 1e-6, 0.8]);
        assert_eq!(diag.components_at_floor(1e-6), vec![FloorComponent { component: 1, features: vec![0] }]);
        let full = mixture(CovarianceType::Full, vec![1.0, 0.0, 0.0, 1.5e-6, 2.0, 0.1, 0.1, 2.0]);
        assert_eq!(full.components_at_floor(1e-6), vec![FloorComponent { component: 0, features: vec![1] }]);
    }

    #[test]
    fn spread_components_and_empty_ones_are_not_flagged() {
        assert!(mixture(CovarianceType::Diag, vec![1.0, 0.3, 3e-6, 0.8]).components_at_floor(1e-6).is_empty());
        let mut empty = mixture(CovarianceType::Spherical, vec![1.0, 1e-6]);
        empty.weights = vec![1.0, 0.0];
        assert!(empty.components_at_floor(1e-6).is_empty());
    }

    #[test]
    fn a_tied_floor_flags_every_component() {
        let tied = mixture(CovarianceType::Tied, vec![1e-6, 0.0, 0.0, 1.0]);
        assert_eq!(tied.components_at_floor(1e-6).len(), 2);
    }
}
