//! A fuzz suite that runs in CI: mutated Parquet files and random parameter sets go through
//! read → prep → fit → write. Errors are fine; panics are not.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use custseg::cluster::gmm::{CovarianceType, GmmParams};
use custseg::cluster::kmeans::KMeansParams;
use custseg::cluster::Segmenter;
use custseg::io::reader::ReadSpec;
use custseg::pipeline::{self, BackendChoice, BackendOptions, FitRequest};
use custseg::prep::{Impute, PrepParams, ScaleKind};
use parquet::arrow::ArrowWriter;
use proptest::prelude::*;

/// A small valid Parquet file with ids, nullable features, a categorical and weights.
fn base_file() -> Vec<u8> {
    let n = 64;
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        (
            "a",
            Arc::new(Float64Array::from(
                (0..n).map(|i| if i % 7 == 0 { None } else { Some(i as f64) }).collect::<Vec<_>>(),
            )),
        ),
        ("b", Arc::new(Float64Array::from((0..n).map(|i| ((i * 37) % 11) as f64 - 3.0).collect::<Vec<_>>()))),
        ("c", Arc::new(StringArray::from((0..n).map(|i| ["x", "y", "z"][i % 3]).collect::<Vec<_>>()))),
        ("w", Arc::new(Float64Array::from((0..n).map(|i| (i % 4) as f64).collect::<Vec<_>>()))),
    ];
    let batch = RecordBatch::try_from_iter(columns.into_iter().map(|(n, a)| (n.to_string(), a))).unwrap();
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    bytes
}

#[derive(Debug, Clone)]
struct Case {
    /// (position as a fraction of the file, new byte); positions near the footer are likelier.
    mutations: Vec<(f64, bool, u8)>,
    truncate: Option<f64>,
    k: usize,
    impute: Impute,
    scale: ScaleKind,
    clip: Option<f64>,
    weights: bool,
    categorical: bool,
    batch_rows: usize,
    max_iter: usize,
    gmm: bool,
    covariance: CovarianceType,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop_oneof![Just(vec![]), prop::collection::vec((0.0..1.0f64, any::<bool>(), any::<u8>()), 1..6)],
        prop::option::weighted(0.2, 0.0..1.0f64),
        0usize..8,
        prop::sample::select(vec![Impute::Mean, Impute::Median, Impute::Drop]),
        prop::sample::select(vec![ScaleKind::Zscore, ScaleKind::Minmax, ScaleKind::Robust, ScaleKind::None]),
        prop::option::of(0.0..0.6f64),
        any::<bool>(),
        any::<bool>(),
        (1usize..80, 0usize..5, any::<bool>()),
        prop::sample::select(vec![
            CovarianceType::Full,
            CovarianceType::Diag,
            CovarianceType::Spherical,
            CovarianceType::Tied,
        ]),
    )
        .prop_map(
            |(
                mutations,
                truncate,
                k,
                impute,
                scale,
                clip,
                weights,
                categorical,
                (batch_rows, max_iter, gmm),
                covariance,
            )| {
                Case {
                    mutations,
                    truncate,
                    k,
                    impute,
                    scale,
                    clip,
                    weights,
                    categorical,
                    batch_rows,
                    max_iter,
                    gmm,
                    covariance,
                }
            },
        )
}

/// The fit request of `case`; parameters the library refuses are an error (exit 2), fine.
fn config(input: std::path::PathBuf, out: std::path::PathBuf, case: &Case) -> custseg::Result<FitRequest> {
    let segmenter = if case.gmm {
        let params = GmmParams { max_iter: case.max_iter, seed: 1, ..GmmParams::new(case.k, case.covariance) };
        Segmenter::Gmm(params.check()?)
    } else {
        Segmenter::KMeans(KMeansParams { max_iter: case.max_iter, seed: 1, ..KMeansParams::new(case.k) }.check()?)
    };
    Ok(FitRequest {
        read: ReadSpec {
            inputs: vec![input],
            id: Some("id".into()),
            features: Some(vec!["a".into(), "b".into()]),
            categorical: if case.categorical { vec!["c".into()] } else { vec![] },
            weights: case.weights.then(|| "w".to_string()),
            batch_rows: case.batch_rows,
        },
        prep: PrepParams { impute: case.impute, scale: case.scale, log1p: vec![], clip: case.clip, dedup: true },
        segmenter,
        init_centres: None,
        probabilities: false,
        value: None,
        silhouette_sample: 50,
        stability: 0,
        report: false,
        memory_budget: None,
        cache_dir: None,
        keep_cache: false,
        out,
        seed: 1,
        backend: BackendOptions { choice: BackendChoice::Cpu, ..BackendOptions::default() },
        continuity: Default::default(),
    })
}

/// Found by this suite: parquet 60.1 panics ("Decoder for dict should have been set") on
/// this corruption of a dictionary page; it must be an invalid-data error naming the file.
#[test]
fn corrupt_dictionary_page_is_an_error_not_a_panic() {
    let dir = tempfile::TempDir::new().unwrap();
    let mut bytes = base_file();
    let n = bytes.len();
    bytes[0] = 0;
    bytes[(0.6489311071363583 * n as f64) as usize] = 147;
    let input = dir.path().join("in.parquet");
    std::fs::write(&input, &bytes).unwrap();
    let case = Case {
        mutations: vec![],
        truncate: None,
        k: 2,
        impute: Impute::Mean,
        scale: ScaleKind::Zscore,
        clip: None,
        weights: false,
        categorical: false,
        batch_rows: 1,
        max_iter: 10,
        gmm: false,
        covariance: CovarianceType::Full,
    };
    let err = config(input, dir.path().join("out"), &case).and_then(|c| pipeline::fit(&c)).unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    assert!(err.to_string().contains("in.parquet"), "{err}");
}

proptest! {
    // CI runs 500 cases; CUSTSEG_FUZZ_CASES=100000 runs it for a while.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("CUSTSEG_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500),
        // Crashers found so far replay first from this file.
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("tests/fuzz-regressions.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_files_and_parameters_never_panic(case in cases()) {
        let dir = tempfile::TempDir::new().unwrap();
        let mut bytes = base_file();
        let n = bytes.len();
        for &(at, near_footer, value) in &case.mutations {
            let pos = if near_footer { n - 1 - ((at * 300.0) as usize).min(n - 1) } else { (at * n as f64) as usize % n };
            bytes[pos] = value;
        }
        if let Some(t) = case.truncate {
            bytes.truncate((t * n as f64) as usize);
        }
        let input = dir.path().join("in.parquet");
        std::fs::write(&input, &bytes).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| config(input, dir.path().join("out"), &case).and_then(|c| pipeline::fit(&c))));
        prop_assert!(outcome.is_ok(), "panicked on {case:?}");
        if let Ok(Err(e)) = &outcome {
            prop_assert!((1..=5).contains(&e.exit_code()));
            prop_assert!(e.exit_code() != 1, "internal error on {case:?}: {e}");
        }
    }
}
