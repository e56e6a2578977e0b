//! Through the binary with `--backend <cpu|gpu>`: a fit streamed from the on-disk chunk cache
//! (data over `--memory-budget`) writes the same bytes as an in-memory one (with fewer rows
//! than the prep sample the prep is exact); mini-batch K-Means fits and predict reproduces it.

use arrow::array::{Int64Array, StringArray};
use custseg::backend::Backend;

use super::cli_name;
use crate::common::{arr, custseg, outcome, write_parquet};
use crate::streaming::{customers, files_in, fit};

pub fn a_streamed_fit_writes_the_same_bytes_as_an_in_memory_one(backend: &dyn Backend) {
    let name = cli_name(backend);
    let dir = tempfile::tempdir().unwrap();
    let input = customers(dir.path());
    let cases: [&[&str]; 3] = [
        &["--backend", &name, "--weights", "weight"],
        &["--backend", &name, "--impute", "drop", "--init", "k-means||"],
        &["--backend", &name, "--algorithm", "gmm", "--covariance", "full", "--probabilities"],
    ];
    for (i, extra) in cases.iter().enumerate() {
        let memory = dir.path().join(format!("memory{i}"));
        let streamed = dir.path().join(format!("streamed{i}"));
        let a = fit(&input, &memory, extra);
        let b = fit(&input, &streamed, &[extra, &["--memory-budget", "64KiB"][..]].concat());
        assert_eq!(a["backend"], name.as_str(), "{a}");
        assert!(a["streamed_from_disk"].is_null(), "{a}");
        assert!(b["streamed_from_disk"]["cache_bytes"].as_u64().unwrap() > 0, "{b}");
        assert!(b["streamed_from_disk"]["cache"].is_null(), "not kept");
        assert_eq!(files_in(&memory), files_in(&streamed), "case {i}: no cache left behind");
        for file in ["assignments.parquet", "model.json", "profiles.parquet"] {
            let (x, y) = (std::fs::read(memory.join(file)).unwrap(), std::fs::read(streamed.join(file)).unwrap());
            assert!(x == y, "case {i} ({extra:?}): {file} differs between the in-memory and the streamed fit");
        }
        for key in ["rows_read", "rows_used", "rows_dropped", "metrics", "segments"] {
            assert_eq!(a[key], b[key], "case {i}: {key}");
        }
    }
}

pub fn categorical_only_input_with_impute_drop_streams_like_in_memory(backend: &dyn Backend) {
    // No numeric column: no row can miss a numeric value, so `--impute drop` keeps them all.
    let backend = cli_name(backend);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("channels.parquet");
    let channel: Vec<&str> = (0..3000).map(|i| ["web", "store", "app"][i % 3]).collect();
    write_parquet(
        &input,
        vec![("customer_id", arr(Int64Array::from_iter_values(0..3000))), ("channel", arr(StringArray::from(channel)))],
    );
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["fit", "--input", input.to_str().unwrap(), "--id", "customer_id", "--k", "3"];
        args.extend_from_slice(&["--categorical", "channel", "--impute", "drop", "--backend", &backend]);
        args.extend_from_slice(&["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        let (code, stdout, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 0, "{name}: {stderr}");
        let s: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(s["rows_used"], 3000, "{name}: {s}");
        assert_eq!(s["backend"], backend.as_str(), "{name}: {s}");
        std::fs::read(out.join("assignments.parquet")).unwrap()
    };
    assert!(run("memory", &[]) == run("streamed", &["--memory-budget", "64KiB"]));
}

pub fn minibatch_kmeans_fits_and_predict_reproduces_it(backend: &dyn Backend) {
    use crate::cli::{customers, fit_args, summary};
    let backend = cli_name(backend);
    let dir = tempfile::TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let (code, stdout, stderr) = outcome(&custseg(&fit_args(
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--algorithm", "minibatch-kmeans", "--batch-size", "64", "--features", "spend,visits", "--backend", &backend],
    )));
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    assert_eq!(s["algorithm"], "minibatch-kmeans");
    assert_eq!(s["backend"], backend.as_str(), "{s}");
    assert!(s["segment_sizes"].as_array().unwrap().iter().all(|v| v.as_u64().unwrap() > 0), "{s}");
    let predicted = dir.path().join("pred.parquet");
    let model = out.join("model.json");
    let (code, _, stderr) = outcome(&custseg(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
        "--backend",
        &backend,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read(out.join("assignments.parquet")).unwrap(), std::fs::read(&predicted).unwrap());
}
