//! The record of a density fit (HDBSCAN or DBSCAN) in model.json: its parameters, the noise
//! it found, and the kept rows that assign new customers.

use serde::{Deserialize, Serialize};

use crate::cluster::density::{ClusterSelection, DensityParams, DensityRows};

/// HDBSCAN or DBSCAN as recorded in the model (under the `density` key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DensityRecord {
    /// HDBSCAN: the fewest rows of a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_cluster_size: Option<usize>,
    /// The core distance's neighbour count, counting the row itself.
    pub min_samples: usize,
    /// HDBSCAN: excess of mass (`eom`) or `leaf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_selection: Option<ClusterSelection>,
    /// DBSCAN: the neighbourhood radius in the prepared space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// Training rows left unsegmented (segment −1).
    pub noise: u64,
    /// Clustered training rows kept (capped) to assign new rows.
    pub kept: DensityRows,
    /// The sampled mode: the sample's size (the kept rows are its clustered rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<usize>,
}

impl DensityRecord {
    /// The record of a fit with `params` that left `noise` rows unsegmented.
    pub fn new(params: &DensityParams, noise: u64, kept: DensityRows) -> Self {
        let (min_cluster_size, cluster_selection, eps) = match *params {
            DensityParams::Hdbscan { min_cluster_size, selection, .. } => {
                (Some(min_cluster_size), Some(selection), None)
            }
            DensityParams::Dbscan { eps, .. } => (None, None, Some(eps)),
        };
        DensityRecord {
            min_cluster_size,
            min_samples: params.min_samples(),
            cluster_selection,
            eps,
            noise,
            kept,
            sample: None,
        }
    }
}
