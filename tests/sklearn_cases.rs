//! scikit-learn's own K-Means test cases, reproduced exactly
//! (sklearn/cluster/tests/test_k_means.py, scikit-learn 1.9.1).

use custseg::backend::cpu::CpuBackend;
use custseg::backend::{Backend, Centres};
use custseg::cluster::kmeans::{fit, Init, KMeansParams};
use custseg::data::Dataset;

fn labels_of(data: &Dataset, centres: &Centres) -> Vec<u32> {
    let mut state = CpuBackend.new_state(data).unwrap();
    CpuBackend.lloyd_pass(data, centres, &mut state).unwrap();
    CpuBackend.labels(data, &state).unwrap()
}

#[test]
fn weighted_four_point_case_matches_test_kmeans_results() {
    // X = [[0, 0], [0.5, 0], [0.5, 1], [1, 1]], sample_weight = [3, 1, 1, 3],
    // init = [[0, 0], [1, 1]] → labels [0, 0, 1, 1], inertia 0.375,
    // centres [[0.125, 0], [0.875, 1]], n_iter 2.
    let data = Dataset::from_rows(&[0.0, 0.0, 0.5, 0.0, 0.5, 1.0, 1.0, 1.0], 2, Some(&[3.0, 1.0, 1.0, 3.0]), 3);
    let init = Centres::new(2, 2, vec![0.0, 0.0, 1.0, 1.0]);
    let params = KMeansParams { init: Init::Centres(init), ..KMeansParams::new(2) };
    let result = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
    assert_eq!(labels_of(&data, &result.centres), vec![0, 0, 1, 1]);
    assert!((result.inertia - 0.375).abs() < 1e-12, "inertia {}", result.inertia);
    assert_eq!(result.centres.values, vec![0.125, 0.0, 0.875, 1.0]);
    assert_eq!(result.iterations, 2);
    assert!(result.converged);
}

#[test]
fn empty_cluster_is_relocated_as_in_test_kmeans_relocated_clusters() {
    // X = [[0, 0], [0.5, 0], [0.5, 1], [1, 1]], init = [[0.5, 0.5], [3, 3]]: the second
    // centre is empty at the first iteration → inertia 0.25, n_iter 3, and one of the two
    // accepted outcomes (ties broken by lowest row here): labels [1, 1, 0, 0],
    // centres [[0.75, 1], [0.25, 0]].
    let data = Dataset::from_rows(&[0.0, 0.0, 0.5, 0.0, 0.5, 1.0, 1.0, 1.0], 2, None, 4);
    let init = Centres::new(2, 2, vec![0.5, 0.5, 3.0, 3.0]);
    let params = KMeansParams { init: Init::Centres(init), ..KMeansParams::new(2) };
    let result = fit(&CpuBackend, &data, &params, &mut |_| {}).unwrap();
    assert!((result.inertia - 0.25).abs() < 1e-12, "inertia {}", result.inertia);
    assert_eq!(result.iterations, 3);
    assert_eq!(labels_of(&data, &result.centres), vec![1, 1, 0, 0]);
    assert_eq!(result.centres.values, vec![0.75, 1.0, 0.25, 0.0]);
    assert_eq!(result.reseeded, 1);
}

#[test]
fn one_cluster_is_the_weighted_mean() {
    // KMeans(n_clusters=1) puts its centre at the (weighted) mean: test_kmeans_single_cluster-like.
    let data = Dataset::from_rows(&[1.0, 2.0, 3.0, 10.0], 1, Some(&[1.0, 1.0, 1.0, 0.0]), 2);
    let result = fit(&CpuBackend, &data, &KMeansParams::new(1), &mut |_| {}).unwrap();
    assert_eq!(result.centres.values, vec![2.0]);
    assert!((result.inertia - 2.0).abs() < 1e-12);
}
