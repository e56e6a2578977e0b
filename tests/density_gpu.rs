//! The density kernels (`density_knn`, `density_boruvka`) against their CPU counterparts
//! (`CpuDensityPasses`, the same f32 arithmetic by brute force), and HDBSCAN/DBSCAN fitted
//! with them on the GPU against the CPU pipeline: labels, core distances and MST exactly
//! equal. Without an adapter these tests say SKIPPED; with CUSTSEG_REQUIRE_GPU=1 (lavapipe in
//! CI) a missing adapter fails them.

use custseg::backend::density::{CpuDensityPasses, DensityPasses, FAR};
use custseg::cluster::density::{self, DbscanParams, HdbscanParams, MstAlgorithm};
use custseg::rng::Rng;
use custseg::synth::blobs;

/// Blobs with a coarse grid's ties (values rounded to 1/4) and uniform strays.
fn rows_with_ties(n: usize, d: usize) -> Vec<f32> {
    let mut rows: Vec<f32> = blobs(n - n / 20, d, 4, 5).iter().map(|v| (v * 4.0).round() / 4.0).collect();
    let mut rng = Rng::new(8);
    rows.extend((0..n / 20 * d).map(|_| (rng.uniform() * 30.0 - 15.0) as f32));
    rows
}

fn relative(a: f32, b: f32) -> f32 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-30)
}

#[test]
fn density_kernels_agree_with_their_cpu_counterparts() {
    let Some(gpu) = crate::common::gpu_backend("density_kernels_agree_with_their_cpu_counterparts") else { return };
    let (n, d, k) = (1300, 5, 12);
    let rows = rows_with_ties(n, d);
    let (ours, theirs) = (gpu.nearest_rows(&rows, d, k).unwrap(), CpuDensityPasses.nearest_rows(&rows, d, k).unwrap());
    assert_eq!(ours.index.len(), n * k);
    for i in 0..n {
        for t in 0..k {
            let (a, b) = (ours.squared[i * k + t], theirs.squared[i * k + t]);
            assert!(relative(a, b) <= 1e-5, "row {i}, neighbour {t}: gpu {a} cpu {b}");
        }
        assert_eq!(ours.index[i * k], i as u32, "row {i} is its own nearest");
    }
    let core: Vec<f32> = (0..n).map(|i| theirs.squared[i * k + 4].sqrt()).collect();
    let component: Vec<u32> = (0..n as u32).map(|i| i % 7).collect();
    let ours = gpu.nearest_other_component(&rows, d, &core, &component).unwrap();
    let theirs = CpuDensityPasses.nearest_other_component(&rows, d, &core, &component).unwrap();
    for i in 0..n {
        assert!(ours.weight[i] < FAR && relative(ours.weight[i], theirs.weight[i]) <= 1e-5, "row {i}");
        assert_ne!(component[ours.row[i] as usize], component[i], "row {i}: another component");
    }
    let one = vec![0u32; n];
    let alone = gpu.nearest_other_component(&rows, d, &core, &one).unwrap();
    assert!(alone.weight.iter().all(|&w| w >= FAR) && alone.row.iter().all(|&r| r == u32::MAX));
}

#[test]
fn hdbscan_and_dbscan_on_the_gpu_equal_the_cpu_pipeline_exactly() {
    let Some(gpu) = crate::common::gpu_backend("hdbscan_and_dbscan_on_the_gpu_equal_the_cpu_pipeline_exactly") else {
        return;
    };
    let (n, d) = (2400, 4);
    let rows = rows_with_ties(n, d);
    let hdbscan = HdbscanParams { min_samples: Some(6), ..HdbscanParams::new(20) }.check().unwrap();
    let dbscan = DbscanParams { eps: 0.6, min_samples: 6 }.check().unwrap();
    for params in [hdbscan, dbscan] {
        for algorithm in [MstAlgorithm::Boruvka, MstAlgorithm::Prim] {
            let cpu = density::fit_rows_with(&rows, d, &params, algorithm).unwrap();
            let on_gpu = density::fit_rows_on(Some(&gpu), &rows, d, &params, algorithm).unwrap();
            assert!(on_gpu.on_device && !cpu.on_device);
            let case = format!("{} {algorithm:?}", params.name());
            assert_eq!(on_gpu.core_distances, cpu.core_distances, "{case}: core distances");
            assert_eq!(on_gpu.mst, cpu.mst, "{case}: MST");
            assert_eq!(on_gpu.labels, cpu.labels, "{case}: labels");
            assert_eq!(on_gpu.outlier_scores, cpu.outlier_scores, "{case}: outlier scores");
            assert!(cpu.k >= 2 && cpu.noise > 0, "{case}: a fit with clusters and noise ({}, {})", cpu.k, cpu.noise);
        }
    }
}
