//! The density pipeline, run once for both algorithms: kd-tree → core distances → MST of
//! the mutual-reachability graph → HDBSCAN's condensed tree and selection, or DBSCAN's
//! threshold at eps.

use std::time::Instant;

use super::accelerated::{self, list_length, Device};
use super::dbscan::dbscan_labels;
use super::hierarchy::{condense, single_linkage};
use super::hyperparams::DensityParams;
use super::kdtree::KdTree;
use super::knn::Neighbourhoods;
use super::mst::{mutual_reachability_mst, Edge};
use super::prim::{prim_mst, PRIM_ROWS};
use super::selection::{label_rows, outlier_scores, select};
use super::{core, NOISE};
use crate::backend::density::DensityPasses;
use crate::error::{Param, ParamError, Result};

/// How the minimum spanning tree is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MstAlgorithm {
    /// Prim up to [`PRIM_ROWS`] rows (scikit-learn's tie order), Borůvka beyond.
    Auto,
    /// Prim, O(n²) time ([`super::prim`]).
    Prim,
    /// Borůvka on the kd-tree's cells ([`super::mst`]).
    Boruvka,
}

/// Seconds each pass took.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct PassSeconds {
    pub tree: f64,
    pub core_distances: f64,
    pub mst: f64,
    pub labels: f64,
}

/// A density fit: labels ([`NOISE`] for outliers) and what predict and the checks need.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityFit {
    /// One label per row, `0..k` or [`NOISE`].
    pub labels: Vec<u32>,
    /// Clusters found.
    pub k: usize,
    /// Rows labelled noise.
    pub noise: usize,
    /// HDBSCAN: each row's GLOSH outlier score in [0, 1].
    pub outlier_scores: Option<Vec<f32>>,
    /// The distance to each row's `min_samples`-th neighbour, counting itself.
    pub core_distances: Vec<f64>,
    /// The mutual-reachability MST, sorted by weight.
    pub mst: Vec<Edge>,
    /// Which algorithm built it (Prim or Borůvka).
    pub mst_algorithm: MstAlgorithm,
    /// Per clustered row, how far a new row may be from it and still join its cluster
    /// (DBSCAN: eps; HDBSCAN: the larger of its core distance and the distance at which it
    /// leaves its cluster); 0 for noise.
    pub reach: Vec<f64>,
    pub seconds: PassSeconds,
    /// The sampled mode ([`super::sampled`]): the sample's size. Then `labels`, `noise` and
    /// `outlier_scores` cover every row, the other fields the sample's rows.
    pub sample: Option<usize>,
    /// Whether a backend's density passes (the GPU kernels) did the heavy work.
    pub on_device: bool,
}

/// Fits on row-major `rows` of `dim` features.
pub fn fit_rows(rows: &[f32], dim: usize, params: &DensityParams) -> Result<DensityFit> {
    fit_rows_with(rows, dim, params, MstAlgorithm::Auto)
}

/// [`fit_rows`] with the MST built by `mst_algorithm` (tests check both against references).
pub fn fit_rows_with(
    rows: &[f32],
    dim: usize,
    params: &DensityParams,
    mst_algorithm: MstAlgorithm,
) -> Result<DensityFit> {
    fit_rows_on(None, rows, dim, params, mst_algorithm)
}

/// [`fit_rows_with`] with a backend's density passes (the GPU kernels) doing the
/// k-nearest-rows and Borůvka work where they take the data's shape
/// ([`DensityPasses::supports`]); the fit is the same as without ([`super::accelerated`]).
pub fn fit_rows_on(
    passes: Option<&dyn DensityPasses>,
    rows: &[f32],
    dim: usize,
    params: &DensityParams,
    mst_algorithm: MstAlgorithm,
) -> Result<DensityFit> {
    let n = rows.len() / dim;
    let min_samples = params.min_samples();
    if min_samples > n {
        return Err(ParamError::Invalid {
            param: Param::MinSamples,
            message: format!("is {min_samples} but only {n} rows are left after prep; decrease it or add rows"),
        }
        .into());
    }
    let mut seconds = PassSeconds::default();
    let mut clock = Instant::now();
    let mut lap = |slot: &mut f64| {
        *slot = clock.elapsed().as_secs_f64();
        clock = Instant::now();
    };
    let tree = KdTree::build(rows, dim);
    lap(&mut seconds.tree);
    let mst_algorithm = match mst_algorithm {
        MstAlgorithm::Auto if n <= PRIM_ROWS => MstAlgorithm::Prim,
        MstAlgorithm::Auto => MstAlgorithm::Boruvka,
        chosen => chosen,
    };
    let device =
        passes.filter(|p| p.supports(dim, list_length(min_samples, n))).map(|passes| Device { passes, rows, dim });
    // Borůvka keeps each row's nearest rows to bound its searches (O(n·S) memory).
    let hoods = match &device {
        Some(device) => {
            let (core, neighbours, _) = accelerated::core_distances_and_neighbours(device, &tree, min_samples)?;
            // No row outside a row's list of its S nearest is nearer than its core distance.
            Neighbourhoods { k: min_samples, beyond: core.clone(), core, neighbours }
        }
        None => core::core_distances_and_neighbours(&tree, min_samples),
    };
    lap(&mut seconds.core_distances);
    let mst = match mst_algorithm {
        MstAlgorithm::Prim => prim_mst(rows, dim, &hoods.core),
        _ => mutual_reachability_mst(&tree, &hoods, device.as_ref())?,
    };
    let core_distances = hoods.core;
    lap(&mut seconds.mst);
    let (labels, outlier_scores, reach) = match *params {
        DensityParams::Dbscan { eps, .. } => {
            let labels = dbscan_labels(&tree, &core_distances, &mst, eps);
            let reach = core_distances.iter().map(|&c| if c <= eps { eps } else { 0.0 }).collect();
            (labels, None, reach)
        }
        DensityParams::Hdbscan { min_cluster_size, selection, .. } => {
            let condensed = condense(n, &single_linkage(n, &mst), min_cluster_size);
            let labels = label_rows(&condensed, &select(&condensed, selection));
            let reach = (0..n)
                .map(|i| match labels[i] {
                    NOISE => 0.0,
                    _ => core_distances[i].max(1.0 / condensed.row_lambda[i]),
                })
                .collect();
            (labels, Some(outlier_scores(&condensed)), reach)
        }
    };
    lap(&mut seconds.labels);
    let k = labels.iter().filter(|&&l| l != NOISE).map(|&l| l as usize + 1).max().unwrap_or(0);
    let noise = labels.iter().filter(|&&l| l == NOISE).count();
    let on_device = device.is_some();
    Ok(DensityFit {
        labels,
        k,
        noise,
        outlier_scores,
        core_distances,
        mst,
        mst_algorithm,
        reach,
        seconds,
        sample: None,
        on_device,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::hyperparams::{DbscanParams, HdbscanParams};

    #[test]
    fn too_few_rows_for_min_samples_names_the_parameter() {
        let params = DbscanParams { eps: 1.0, min_samples: 4 }.check().unwrap();
        let err = fit_rows(&[0.0, 1.0, 2.0], 1, &params).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{err}");
        assert!(err.to_string().contains("min_samples"), "{err}");
    }

    #[test]
    fn hdbscan_finds_two_blobs_and_a_stray_and_records_reach() {
        let mut rows: Vec<f32> = (0..20).map(|i| i as f32 * 0.1).collect();
        rows.extend((0..20).map(|i| 10.0 + i as f32 * 0.1));
        rows.push(50.0);
        let fit = fit_rows(&rows, 1, &HdbscanParams::new(5).check().unwrap()).unwrap();
        assert_eq!((fit.k, fit.noise), (2, 1));
        assert_eq!(fit.labels[40], NOISE);
        assert_ne!(fit.labels[0], fit.labels[20]);
        let scores = fit.outlier_scores.as_ref().unwrap();
        assert!(scores[40] > scores[0], "{scores:?}");
        assert!(fit.reach[..40].iter().all(|&r| r > 0.0 && r.is_finite()) && fit.reach[40] == 0.0);
    }
}
