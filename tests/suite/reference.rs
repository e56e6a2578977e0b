//! K-Means against straightforward reference computations, thread-count independence,
//! seeding, and property tests of Lloyd's invariants.

use custseg::backend::{Backend, Centres};
use custseg::cluster::kmeans::{fit, KMeansFit, KMeansParams};
use custseg::data::Dataset;
use custseg::rng::Rng;
use custseg::synth::blobs;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

use super::labels;

/// Nearest centre and Σ w·d² computed the obvious way, in f64.
fn naive_assign(data: &Dataset, centres: &Centres) -> (Vec<usize>, f64) {
    let mut labels = Vec::new();
    let mut inertia = 0.0;
    for i in 0..data.rows() {
        let x = data.row(i);
        let d2 =
            |c: usize| -> f64 { x.iter().zip(centres.centre(c)).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum() };
        let best = (0..centres.k).min_by(|&a, &b| d2(a).total_cmp(&d2(b))).unwrap();
        inertia += data.weight(i) as f64 * d2(best);
        labels.push(best);
    }
    (labels, inertia)
}

fn fit_quiet(backend: &dyn Backend, data: &Dataset, params: &KMeansParams) -> KMeansFit {
    fit(backend, data, &params.check().unwrap(), &mut |_| {}).unwrap()
}

pub fn inertia_matches_a_naive_reference_on_random_data(backend: &dyn Backend) {
    let values = blobs(20_000, 12, 10, 3);
    let mut rng = Rng::new(4);
    let weights: Vec<f32> = (0..20_000).map(|_| rng.uniform() as f32 * 2.0).collect();
    let data = Dataset::from_rows(&values, 12, Some(&weights), 3_000);
    let result = fit_quiet(backend, &data, &KMeansParams { k: 10, seed: 9, ..KMeansParams::new(10) });
    let (_, naive) = naive_assign(&data, &result.centres);
    assert!((result.inertia - naive).abs() <= 1e-4 * naive, "inertia {} vs naive {naive}", result.inertia);
}

pub fn output_is_identical_for_one_and_many_threads(backend: &dyn Backend) {
    let values = blobs(30_000, 8, 16, 5);
    let data = Dataset::from_rows(&values, 8, None, 1_000);
    let params = KMeansParams { k: 16, seed: 21, n_init: 2, ..KMeansParams::new(16) };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let result = fit_quiet(backend, &data, &params);
            let mut labels = Vec::new();
            backend
                .assign(&data, &result.centres, &mut |_, l, d| {
                    labels.extend(l.iter().copied().zip(d.iter().map(|x| x.to_bits())));
                    Ok(())
                })
                .unwrap();
            (result, labels)
        })
    };
    let (one, labels_one) = run(1);
    let (many, labels_many) = run(4);
    assert_eq!(one.centres.values, many.centres.values);
    assert_eq!(one.inertia.to_bits(), many.inertia.to_bits());
    assert_eq!(one.iterations, many.iterations);
    assert_eq!(labels_one, labels_many);
}

pub fn same_seed_same_result_other_seed_other_start(backend: &dyn Backend) {
    let values = blobs(5_000, 4, 8, 7);
    let data = Dataset::from_rows(&values, 4, None, 512);
    let a = fit_quiet(backend, &data, &KMeansParams { k: 8, seed: 1, max_iter: 1, ..KMeansParams::new(8) });
    let b = fit_quiet(backend, &data, &KMeansParams { k: 8, seed: 1, max_iter: 1, ..KMeansParams::new(8) });
    let c = fit_quiet(backend, &data, &KMeansParams { k: 8, seed: 2, max_iter: 1, ..KMeansParams::new(8) });
    assert_eq!(a, b);
    assert_ne!(a.centres, c.centres);
}

fn small_dataset() -> impl Strategy<Value = (Vec<f32>, usize, usize, u64)> {
    (1usize..50, 1usize..4).prop_flat_map(|(n, d)| {
        (prop::collection::vec(-100i32..100, n * d), Just(d), 1..=n.min(6), any::<u64>())
            .prop_map(|(v, d, k, seed)| (v.into_iter().map(|x| x as f32 / 4.0).collect(), d, k, seed))
    })
}

pub fn every_label_is_the_argmin_and_inertia_never_rises(backend: &dyn Backend) {
    // 64 generated cases on every backend (about 0.5 s on lavapipe).
    let mut runner = TestRunner::new(ProptestConfig::with_cases(64));
    let outcome = runner.run(&small_dataset(), |(values, d, k, seed)| {
        let data = Dataset::from_rows(&values, d, None, 7);
        let mut history = Vec::new();
        let params = KMeansParams { k, seed, ..KMeansParams::new(k) };
        let result = fit(backend, &data, &params.check().unwrap(), &mut |r| history.push(r.inertia)).unwrap();
        prop_assert!(result.centres.values.iter().all(|v| v.is_finite()), "NaN centre");
        for w in history.windows(2) {
            prop_assert!(w[1] <= w[0] * (1.0 + 1e-6) + 1e-9, "inertia rose: {history:?}");
        }
        let (naive_labels, naive_inertia) = naive_assign(&data, &result.centres);
        prop_assert!((result.inertia - naive_inertia).abs() <= 1e-5 * (1.0 + naive_inertia));
        let got = labels(backend, &data, &result.centres);
        for (i, (&g, &want)) in got.iter().zip(&naive_labels).enumerate() {
            let x = data.row(i);
            let dist = |c: usize| -> f64 {
                x.iter().zip(result.centres.centre(c)).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum()
            };
            prop_assert!(
                g as usize == want || (dist(g as usize) - dist(want)).abs() <= 1e-4 * (1.0 + dist(want)),
                "row {i}: label {g} is not the nearest ({want})"
            );
        }
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
