//! Density parameters as given ([`HdbscanParams`], [`DbscanParams`], scikit-learn's
//! constructor arguments) and checked ([`DensityParams`]): the fits take only checked ones.

use crate::error::{Param, ParamError};

/// How HDBSCAN picks flat clusters from the condensed tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterSelection {
    /// Excess of mass: the set of clusters with the largest total stability (the default).
    Eom,
    /// The leaves of the condensed tree: many small, homogeneous clusters.
    Leaf,
}

impl ClusterSelection {
    /// The name on the command line and in the model.
    pub fn name(self) -> &'static str {
        match self {
            ClusterSelection::Eom => "eom",
            ClusterSelection::Leaf => "leaf",
        }
    }
}

/// HDBSCAN's parameters as given (scikit-learn's `HDBSCAN(min_cluster_size, min_samples,
/// cluster_selection_method)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HdbscanParams {
    /// The fewest rows a cluster may have (at least 2).
    pub min_cluster_size: usize,
    /// The core distance is the distance to the `min_samples`-th nearest row, counting the
    /// row itself; `None` takes `min_cluster_size`, as scikit-learn does.
    pub min_samples: Option<usize>,
    pub selection: ClusterSelection,
}

/// DBSCAN's parameters as given (scikit-learn's `DBSCAN(eps, min_samples)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbscanParams {
    /// The neighbourhood radius (Euclidean, in the prepared space).
    pub eps: f64,
    /// Rows within `eps`, counting the row itself, that make a row core.
    pub min_samples: usize,
}

/// The sampled mode: the tree is fitted on `size` rows drawn with `seed`, then every row is
/// assigned by the sample's clustered rows ([`super::sampled`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub size: usize,
    pub seed: u64,
}

/// Checked density parameters: what a fit needs besides the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DensityParams {
    Hdbscan { min_cluster_size: usize, min_samples: usize, selection: ClusterSelection, sample: Option<Sample> },
    Dbscan { eps: f64, min_samples: usize, sample: Option<Sample> },
}

impl HdbscanParams {
    /// HDBSCAN with `min_cluster_size`, `min_samples` = `min_cluster_size` and excess of mass.
    pub fn new(min_cluster_size: usize) -> Self {
        HdbscanParams { min_cluster_size, min_samples: None, selection: ClusterSelection::Eom }
    }

    /// Checks the parameters.
    pub fn check(self) -> Result<DensityParams, ParamError> {
        ParamError::at_least(Param::MinClusterSize, self.min_cluster_size, 2)?;
        let min_samples = self.min_samples.unwrap_or(self.min_cluster_size);
        ParamError::at_least(Param::MinSamples, min_samples, 1)?;
        Ok(DensityParams::Hdbscan {
            min_cluster_size: self.min_cluster_size,
            min_samples,
            selection: self.selection,
            sample: None,
        })
    }
}

impl DbscanParams {
    /// Checks the parameters: `eps` finite and > 0, `min_samples` ≥ 1.
    pub fn check(self) -> Result<DensityParams, ParamError> {
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(ParamError::Invalid {
                param: Param::Eps,
                message: format!("{} is not a finite number > 0; give the neighbourhood radius", self.eps),
            });
        }
        ParamError::at_least(Param::MinSamples, self.min_samples, 1)?;
        Ok(DensityParams::Dbscan { eps: self.eps, min_samples: self.min_samples, sample: None })
    }
}

impl DensityParams {
    /// The algorithm's name on the command line, in summaries and in the model.
    pub fn name(&self) -> &'static str {
        match self {
            DensityParams::Hdbscan { .. } => "hdbscan",
            DensityParams::Dbscan { .. } => "dbscan",
        }
    }

    /// The same parameters in the sampled mode (`None`: exact); a sample needs at least
    /// `min_samples` rows and 2.
    pub fn sampled(self, sample: Option<Sample>) -> Result<Self, ParamError> {
        if let Some(s) = sample {
            ParamError::at_least(Param::Sample, s.size, self.min_samples().max(2))?;
        }
        Ok(match self {
            DensityParams::Hdbscan { min_cluster_size, min_samples, selection, .. } => {
                DensityParams::Hdbscan { min_cluster_size, min_samples, selection, sample }
            }
            DensityParams::Dbscan { eps, min_samples, .. } => DensityParams::Dbscan { eps, min_samples, sample },
        })
    }

    /// The sampled mode's sample, if the fit is sampled.
    pub fn sample(&self) -> Option<Sample> {
        match *self {
            DensityParams::Hdbscan { sample, .. } | DensityParams::Dbscan { sample, .. } => sample,
        }
    }

    /// The neighbour count of the core distance (counting the row itself).
    pub fn min_samples(&self) -> usize {
        match *self {
            DensityParams::Hdbscan { min_samples, .. } | DensityParams::Dbscan { min_samples, .. } => min_samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_samples_defaults_to_min_cluster_size_and_bad_values_name_their_parameter() {
        let p = HdbscanParams::new(5).check().unwrap();
        assert_eq!(p.min_samples(), 5);
        assert_eq!(HdbscanParams::new(1).check().unwrap_err().param(), Param::MinClusterSize);
        let zero = HdbscanParams { min_samples: Some(0), ..HdbscanParams::new(5) };
        assert_eq!(zero.check().unwrap_err().param(), Param::MinSamples);
        for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(DbscanParams { eps, min_samples: 3 }.check().unwrap_err().param(), Param::Eps);
        }
        assert_eq!(DbscanParams { eps: 0.5, min_samples: 0 }.check().unwrap_err().param(), Param::MinSamples);
        let sample = |size| Some(Sample { size, seed: 1 });
        assert_eq!(p.sampled(sample(4)).unwrap_err().param(), Param::Sample, "fewer rows than min_samples");
        assert_eq!(p.sampled(sample(5)).unwrap().sample(), sample(5));
    }
}
