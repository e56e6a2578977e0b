//! Exact answers from a backend's f32 density passes ([`DensityPasses`], the GPU kernels).
//! A kernel's f32 squared distance over `dim` features is within a relative
//! [`rounding`]`(dim)` of the exact one (and so is a mutual-reachability distance built from
//! it), so:
//! - core distances: each row's list of the `S + 8` nearest rows is rescored in f64 (the
//!   CPU's arithmetic); when the S-th rescored distance lies below the list's last f32
//!   distance shrunk by the bound, no row outside the list can come before it and the core
//!   distance is exact; otherwise (rare: near-ties at the list's end) the row is searched on
//!   the kd-tree;
//! - Borůvka: each row's nearest other-component row from the kernel gives an exact edge
//!   (rescored in f64; it bounds the component's cheapest edge) and a lower bound on every
//!   edge of the row; the exact kd-tree search then runs only for the rows whose bound does
//!   not exceed their component's best edge ([`super::mst`]).
//!
//! So the tree, and the labels, equal the CPU pipeline's bit for bit.

use rayon::prelude::*;

use super::kdtree::{squared_distance, KdTree};
use crate::backend::density::{DensityPasses, FAR, MAX_NEIGHBOURS};
use crate::error::Result;

/// Extra rows each k-nearest list holds beyond `min_samples` (the certificate's margin).
const LIST_MARGIN: usize = 8;

/// A relative bound on the rounding of a kernel's f32 distance over `dim` features, with a
/// factor 2 to spare.
pub fn rounding(dim: usize) -> f64 {
    2.0 * (dim as f64 + 8.0) * f32::EPSILON as f64
}

/// The length of the k-nearest lists for `min_samples` over `n` rows.
pub fn list_length(min_samples: usize, n: usize) -> usize {
    (min_samples + LIST_MARGIN).min(MAX_NEIGHBOURS).min(n).max(min_samples)
}

/// A backend's passes and what they read: the rows in original order and f32 core
/// distances.
pub struct Device<'a> {
    pub passes: &'a dyn DensityPasses,
    pub rows: &'a [f32],
    pub dim: usize,
}

/// Core distances (by original row) and each row's `min_samples` nearest rows (row-major
/// n × min_samples, original rows), exactly as [`super::core`] computes them, from the
/// device's k-nearest lists; also how many rows needed the kd-tree.
pub fn core_distances_and_neighbours(
    device: &Device,
    tree: &KdTree,
    min_samples: usize,
) -> Result<(Vec<f64>, Vec<usize>, usize)> {
    let (n, dim, rows) = (tree.rows(), device.dim, device.rows);
    let l = list_length(min_samples, n);
    let lists = device.passes.nearest_rows(rows, dim, l)?;
    let shrink = 1.0 - rounding(dim);
    let row = |i: usize| &rows[i * dim..(i + 1) * dim];
    let answers: Vec<(f64, Vec<usize>, bool)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let candidates = &lists.index[i * l..(i + 1) * l];
            let mut rescored: Vec<(f64, usize)> = candidates
                .iter()
                .filter(|&&j| (j as usize) < n)
                .map(|&j| (squared_distance(row(i), row(j as usize)), j as usize))
                .collect();
            rescored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let last = lists.squared[i * l + l - 1];
            let proven = rescored.len() >= min_samples
                && (l == n || (last < FAR && rescored[min_samples - 1].0 < last as f64 * shrink));
            if !proven {
                rescored = tree.nearest(row(i), min_samples);
            }
            rescored.truncate(min_samples);
            let core = rescored.last().map_or(f64::INFINITY, |b| b.0.sqrt());
            (core, rescored.into_iter().map(|b| b.1).collect(), !proven)
        })
        .collect();
    let searched = answers.iter().filter(|a| a.2).count();
    let core = answers.iter().map(|a| a.0).collect();
    let neighbours = answers.into_iter().flat_map(|a| a.1).collect();
    Ok((core, neighbours, searched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::density::CpuDensityPasses;
    use crate::cluster::density::{fit_rows_on, fit_rows_with, HdbscanParams, MstAlgorithm};
    use crate::rng::Rng;

    #[test]
    fn device_passes_give_the_kd_tree_pipelines_fit_with_and_without_ties() {
        let mut rng = Rng::new(4);
        let (n, d) = (900, 3);
        let smooth: Vec<f32> = (0..n * d).map(|i| (rng.normal() + (i % 3 * 6) as f64) as f32).collect();
        // A coarse grid: many equal distances, so some lists end in a tie the certificate
        // cannot clear and those rows are searched on the kd-tree.
        let grid: Vec<f32> = smooth.iter().map(|v| v.round()).collect();
        let params = HdbscanParams { min_samples: Some(5), ..HdbscanParams::new(15) }.check().unwrap();
        for (name, rows) in [("smooth", &smooth), ("grid", &grid)] {
            let tree = KdTree::build(rows, d);
            let device = Device { passes: &CpuDensityPasses, rows, dim: d };
            let (core, _, searched) = core_distances_and_neighbours(&device, &tree, 5).unwrap();
            assert_eq!(core, crate::cluster::density::core::core_distances(&tree, 5), "{name}");
            if name == "grid" {
                assert!(searched > 0, "ties send some rows to the kd-tree");
            }
            let cpu = fit_rows_with(rows, d, &params, MstAlgorithm::Boruvka).unwrap();
            let device = fit_rows_on(Some(&CpuDensityPasses), rows, d, &params, MstAlgorithm::Boruvka).unwrap();
            assert!(device.on_device);
            assert_eq!((&device.mst, &device.labels), (&cpu.mst, &cpu.labels), "{name}");
        }
    }
}
