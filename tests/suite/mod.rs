//! One algorithm-level test suite, instantiated once per backend (as cubecl's `testgen`
//! macros do): `backend_suite!(open_cpu)` in `mod cpu` (tests.rs) and
//! `backend_suite!(open_gpu)` in `mod gpu` (tests/gpu.rs, next to the pass-by-pass agreement
//! tests) expand every case listed in the macro into `cpu::<case>` and `gpu::<case>`, so the
//! pairs read side by side in `cargo test -- --list`.
//!
//! A case is a plain function of the backend (`fn case(backend: &dyn Backend)`); CLI-level
//! cases pass `--backend` from [`cli_name`]. Every instance checks the same published
//! expectation (scikit-learn's numbers, ground-truth labels), not merely the other backend.
//! Where the GPU's f32 reductions need a wider tolerance, the case widens it for the GPU
//! instance only and says so; the CPU keeps its exact asserts. Pass-by-pass CPU/GPU
//! agreement stays in `tests/gpu.rs`.

pub mod continuity;
pub mod franti;
pub mod gmm;
pub mod reference;
pub mod silhouette;
pub mod sklearn_kmeans;
pub mod streaming;
pub mod ward;

use custseg::backend::cpu::CpuBackend;
use custseg::backend::{Backend, Centres};
use custseg::data::Dataset;

/// The CPU backend (always there).
pub fn open_cpu(_test: &str) -> Option<Box<dyn Backend>> {
    Some(Box::new(CpuBackend))
}

/// A GPU backend of its own for this test, or `None` after `SKIPPED <test>: no GPU adapter`
/// (a failure instead with CUSTSEG_REQUIRE_GPU=1).
pub fn open_gpu(test: &str) -> Option<Box<dyn Backend>> {
    crate::common::gpu_backend(test).map(|g| Box::new(g) as Box<dyn Backend>)
}

/// Whether `backend` is the GPU one: where a case widens a tolerance for f32 reductions.
pub fn on_gpu(backend: &dyn Backend) -> bool {
    backend.info().backend == "gpu"
}

/// The `--backend` value that runs the binary on the same kind of backend.
pub fn cli_name(backend: &dyn Backend) -> String {
    backend.info().backend
}

/// The nearest-centre label of every row, from the backend's final assignment.
pub fn labels(backend: &dyn Backend, data: &Dataset, centres: &Centres) -> Vec<u32> {
    let mut out = Vec::new();
    backend
        .assign(data, centres, &mut |_, l, _| {
            out.extend_from_slice(l);
            Ok(())
        })
        .unwrap();
    out
}

/// Instantiates every case of the suite as `#[test] fn <case>()` in the module it is invoked
/// in, on the backend `$open(test name)` returns (the case is skipped when it returns `None`).
/// Add a case here once; it then runs on every backend.
macro_rules! backend_suite {
    (@cases $open:path; $($family:ident::{$($case:ident),* $(,)?}),* $(,)?) => {
        $($(
            #[test]
            fn $case() {
                let name = concat!(module_path!(), "::", stringify!($case));
                if let Some(backend) = $open(name.strip_prefix("tests::").unwrap_or(name)) {
                    crate::suite::$family::$case(backend.as_ref());
                }
            }
        )*)*
    };
    ($open:path) => {
        backend_suite!(@cases $open;
            sklearn_kmeans::{
                sklearn_weighted_four_points,
                sklearn_empty_cluster_is_relocated,
                sklearn_one_cluster_is_the_weighted_mean,
            },
            reference::{
                inertia_matches_a_naive_reference_on_random_data,
                output_is_identical_for_one_and_many_threads,
                same_seed_same_result_other_seed_other_start,
                every_label_is_the_argmin_and_inertia_never_rises,
            },
            gmm::{
                gmm_diag_matches_scikit_learn,
                gmm_full_matches_scikit_learn,
                gmm_spherical_matches_scikit_learn,
                gmm_tied_matches_scikit_learn,
                known_mixture_is_recovered_from_every_initialisation,
                duplicate_points_and_a_constant_feature_collapse_with_a_clear_error_or_reinit,
            },
            franti::{
                franti_s1_clusters_are_recovered,
                franti_a1_clusters_are_recovered,
                franti_dim032_clusters_are_recovered,
                iris_matches_scikit_learn,
                gaussian_mixture_recovers_s1_and_g2,
                metrics_match_scikit_learn_on_iris_species,
            },
            continuity::{
                same_customers_shuffled_with_noise_keep_their_ids,
                a_new_group_in_an_empty_region_gets_the_next_unused_id,
                a_permutation_of_yesterdays_segments_never_changes_todays_ids,
            },
            streaming::{
                a_streamed_fit_writes_the_same_bytes_as_an_in_memory_one,
                categorical_only_input_with_impute_drop_streams_like_in_memory,
                minibatch_kmeans_fits_and_predict_reproduces_it,
            },
            ward::{
                ward_two_level_with_singleton_micro_clusters_equals_scipy,
            },
            silhouette::{
                silhouette_matches_scikit_learn_and_a_direct_reference,
            },
        );
    };
}
