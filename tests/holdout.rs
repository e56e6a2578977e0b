//! `fit --holdout FRACTION`: a stable split by customer id, the held-out rows' metrics (the
//! same as `evaluate` on exactly those rows), their agreement with a fit on them alone, the
//! same numbers in memory and streamed, and bad fractions refused.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use arrow::array::{Array, BooleanArray, Float64Array, Int64Array};
use arrow::compute::filter_record_batch;
use custseg::rng::Rng;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use serde_json::Value;

use crate::common::{arr, custseg, outcome, write_parquet};
use crate::continuity::{fit, fit_ok, night};

/// The customer ids assignments.parquet flags as held out, and the number of rows.
fn held_ids(out: &Path) -> (HashSet<i64>, usize) {
    let file = std::fs::File::open(out.join("assignments.parquet")).unwrap();
    let (mut held, mut rows) = (HashSet::new(), 0);
    for batch in ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap() {
        let batch = batch.unwrap();
        let ids = batch.column_by_name("customer_id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
        let flag = batch.column_by_name("holdout").unwrap().as_any().downcast_ref::<BooleanArray>().unwrap().clone();
        held.extend((0..batch.num_rows()).filter(|&i| flag.value(i)).map(|i| ids.value(i)));
        rows += batch.num_rows();
    }
    (held, rows)
}

/// The rows of `input` whose customer_id is in `ids`, written to `path` in input order.
fn write_rows(input: &Path, ids: &HashSet<i64>, path: &Path) {
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(input).unwrap()).unwrap().build().unwrap();
    let mut writer: Option<ArrowWriter<std::fs::File>> = None;
    for batch in reader {
        let batch = batch.unwrap();
        let column = batch.column_by_name("customer_id").unwrap();
        let id = column.as_any().downcast_ref::<Int64Array>().unwrap();
        let keep = BooleanArray::from((0..batch.num_rows()).map(|i| ids.contains(&id.value(i))).collect::<Vec<_>>());
        let kept = filter_record_batch(&batch, &keep).unwrap();
        let w = writer.get_or_insert_with(|| {
            ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap()
        });
        w.write(&kept).unwrap();
    }
    writer.unwrap().close().unwrap();
}

/// `n` customers of Gaussian noise in 8 dimensions: no segments to find.
fn structureless(dir: &Path, n: usize) -> PathBuf {
    let mut rng = Rng::new(3);
    let values: Vec<[f64; 8]> = (0..n).map(|_| std::array::from_fn(|_| rng.normal())).collect();
    let path = dir.join("noise.parquet");
    let names = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"];
    let mut columns = vec![("customer_id", arr(Int64Array::from_iter_values(0..n as i64)))];
    columns.extend(
        names
            .iter()
            .enumerate()
            .map(|(j, &name)| (name, arr(Float64Array::from_iter_values(values.iter().map(|v| v[j]))))),
    );
    write_parquet(&path, columns);
    path
}

fn close(a: &Value, b: &Value, what: &str) {
    let (a, b) =
        (a.as_f64().unwrap_or_else(|| panic!("{what}: {a}")), b.as_f64().unwrap_or_else(|| panic!("{what}: {b}")));
    assert!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0), "{what}: {a} vs {b}");
}

#[test]
fn the_split_is_stable_across_runs_and_row_orders_and_respects_the_fraction() {
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 4000, 0.0, 0, 0);
    let shuffled = night(dir.path(), "shuffled", 4000, 0.0, 9, 0);
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    let first = fit_ok(&base, &a, 4, &["--backend", "cpu", "--holdout", "0.2"]);
    let again = fit_ok(&base, &b, 4, &["--backend", "cpu", "--holdout", "0.2"]);
    fit_ok(&shuffled, &c, 4, &["--backend", "cpu", "--holdout", "0.2"]);
    assert_eq!(first["holdout"], again["holdout"]);
    let (held, rows) = held_ids(&a);
    assert_eq!(rows, 4000, "every row is assigned, held out or not");
    assert_eq!(held, held_ids(&c).0, "the same customers are held out after shuffling the rows");
    let share = held.len() as f64 / 4000.0;
    assert!((share - 0.2).abs() < 0.03, "{share}");
    assert_eq!(first["holdout"]["rows"], held.len());
    assert_eq!(first["holdout"]["training_rows"], 4000 - held.len());
    assert_eq!(first["holdout"]["split_by"], "customer_id");
    assert_eq!(first["holdout"]["fraction"], 0.2);
    let model: Value = serde_json::from_slice(&std::fs::read(a.join("model.json")).unwrap()).unwrap();
    assert_eq!(
        model["segment_sizes"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).sum::<u64>(),
        4000 - held.len() as u64,
        "the model is fitted on the training rows"
    );
    let other_seed = dir.path().join("d");
    fit_ok(&base, &other_seed, 4, &["--backend", "cpu", "--holdout", "0.2", "--seed", "1"]);
    assert_ne!(held, held_ids(&other_seed).0, "the seed chooses the split");
}

#[test]
fn held_out_metrics_match_evaluate_on_exactly_those_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 2000, 0.0, 0, 0);
    for algorithm in ["kmeans", "gmm"] {
        let out = dir.path().join(algorithm);
        let summary = fit_ok(&input, &out, 4, &["--backend", "cpu", "--holdout", "0.25", "--algorithm", algorithm]);
        let holdout = &summary["holdout"];
        let held_path = dir.path().join(format!("held-{algorithm}.parquet"));
        write_rows(&input, &held_ids(&out).0, &held_path);
        let model = out.join("model.json");
        let args = ["evaluate", "--model", model.to_str().unwrap(), "--input", held_path.to_str().unwrap()];
        let (code, stdout, stderr) = outcome(&custseg(&[&args[..], &["--backend", "cpu"]].concat()));
        assert_eq!(code, 0, "{stderr}");
        let evaluated: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(evaluated["rows_used"], holdout["rows"]);
        let metrics = &holdout["metrics"];
        for key in ["calinski_harabasz", "davies_bouldin"] {
            close(&metrics[key], &evaluated["metrics"][key], key);
        }
        close(&metrics["silhouette"], &evaluated["metrics"]["silhouette"]["mean"], "silhouette");
        match algorithm {
            "kmeans" => {
                let per_row = evaluated["inertia"].as_f64().unwrap() / evaluated["rows_used"].as_f64().unwrap();
                close(&metrics["inertia_per_row"], &per_row.into(), "inertia per row");
            }
            _ => close(&metrics["mean_log_likelihood"], &evaluated["mean_log_likelihood"], "mean log-likelihood"),
        }
        let training = &holdout["training_metrics"];
        close(&training["calinski_harabasz"], &summary["metrics"]["calinski_harabasz"], "training metrics");
    }
}

#[test]
fn agreement_is_high_on_separated_groups_and_low_on_structureless_data() {
    let dir = tempfile::tempdir().unwrap();
    let groups = night(dir.path(), "base", 2000, 0.0, 0, 0);
    let summary = fit_ok(&groups, &dir.path().join("groups"), 4, &["--backend", "cpu", "--holdout", "0.3"]);
    let (ari, strength) = (
        summary["holdout"]["adjusted_rand_index"].as_f64().unwrap(),
        summary["holdout"]["prediction_strength"].as_f64().unwrap(),
    );
    assert!(ari > 0.99 && strength > 0.99, "groups: ARI {ari}, prediction strength {strength}");

    let noise = structureless(dir.path(), 2000);
    let out = dir.path().join("noise");
    let args =
        ["fit", "--input", noise.to_str().unwrap(), "--id", "customer_id", "--k", "6", "--out", out.to_str().unwrap()];
    let (code, stdout, stderr) = outcome(&custseg(&[&args[..], &["--backend", "cpu", "--holdout", "0.3"]].concat()));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    let (noise_ari, noise_strength) = (
        summary["holdout"]["adjusted_rand_index"].as_f64().unwrap(),
        summary["holdout"]["prediction_strength"].as_f64().unwrap(),
    );
    // Tibshirani & Walther (2005) read a prediction strength under 0.8 as no real structure.
    assert!(
        noise_ari < ari - 0.2 && noise_strength < 0.8,
        "noise: ARI {noise_ari}, prediction strength {noise_strength}"
    );
}

#[test]
fn in_memory_and_streamed_give_the_same_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 3000, 0.0, 4, 0);
    let (memory, streamed) = (dir.path().join("memory"), dir.path().join("streamed"));
    let a = fit_ok(&input, &memory, 4, &["--backend", "cpu", "--holdout", "0.2"]);
    let b = fit_ok(&input, &streamed, 4, &["--backend", "cpu", "--holdout", "0.2", "--memory-budget", "32KiB"]);
    assert!(a["streamed_from_disk"].is_null() && b["streamed_from_disk"].is_object(), "{b}");
    assert_eq!(held_ids(&memory).0, held_ids(&streamed).0);
    let (a, b) = (&a["holdout"], &b["holdout"]);
    for key in ["rows", "training_rows", "fraction"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    for key in ["adjusted_rand_index", "prediction_strength"] {
        close(&a[key], &b[key], key);
    }
    for side in ["metrics", "training_metrics"] {
        for key in ["inertia_per_row", "calinski_harabasz", "davies_bouldin", "silhouette"] {
            let (x, y) = (a[side][key].as_f64().unwrap(), b[side][key].as_f64().unwrap());
            assert!((x - y).abs() <= 1e-6 * x.abs().max(1.0), "{side}.{key}: {x} vs {y}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&streamed).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(leftovers.iter().all(|f| !f.to_string_lossy().contains("cache")), "{leftovers:?}");
}

#[test]
fn without_an_id_the_row_number_chooses() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 1000, 0.0, 0, 0);
    let out = dir.path().join("out");
    let args = ["fit", "--input", input.to_str().unwrap(), "--k", "4", "--features", "spend,visits,tenure"];
    let (code, stdout, stderr) = outcome(&custseg(
        &[&args[..], &["--out", out.to_str().unwrap(), "--backend", "cpu", "--holdout", "0.2"]].concat(),
    ));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["holdout"]["split_by"], "row number");
    assert!(stderr.contains("row number"), "{stderr}");
}

#[test]
fn a_fraction_outside_zero_to_one_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 400, 0.0, 0, 0);
    for bad in ["0", "1", "1.5", "-0.2", "nan"] {
        let out = dir.path().join(format!("out-{bad}"));
        let (code, summary, stderr) = fit(&input, &out, 4, &["--backend", "cpu", "--holdout", bad]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--holdout") && summary.is_null(), "{bad}: {stderr}");
        assert!(!out.exists(), "{bad}: wrote {}", out.display());
    }
    let out = dir.path().join("tiny");
    let (code, _, stderr) = fit(&input, &out, 4, &["--backend", "cpu", "--holdout", "0.001"]);
    assert_eq!(code, 2, "too few held-out rows: {stderr}");
    assert!(stderr.contains("--holdout") && !out.exists(), "{stderr}");
    let out = dir.path().join("density");
    let args = ["fit", "--input", input.to_str().unwrap(), "--algorithm", "hdbscan", "--min-cluster-size", "20"];
    let more = ["--out", out.to_str().unwrap(), "--backend", "cpu", "--holdout", "0.2"];
    let (code, _, stderr) = outcome(&custseg(&[&args[..], &more[..]].concat()));
    assert_eq!(code, 2, "density fits have no same-k fit to compare with: {stderr}");
    assert!(stderr.contains("--holdout") && !out.exists(), "{stderr}");
    let select = dir.path().join("select");
    let args = ["select-k", "--input", input.to_str().unwrap(), "--k", "2..4", "--out", select.to_str().unwrap()];
    let (code, _, stderr) = outcome(&custseg(&[&args[..], &["--holdout", "0.2"]].concat()));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--holdout"), "{stderr}");
}

#[test]
fn the_gpu_gives_the_cpus_holdout_and_the_report_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    if crate::common::gpu_backend("the_gpu_gives_the_cpus_holdout_and_the_report_shows_it").is_none() {
        return;
    }
    let input = night(dir.path(), "base", 2000, 0.0, 0, 0);
    let (cpu_out, gpu_out) = (dir.path().join("cpu"), dir.path().join("gpu"));
    let cpu = fit_ok(&input, &cpu_out, 4, &["--backend", "cpu", "--holdout", "0.2"]);
    let gpu = fit_ok(&input, &gpu_out, 4, &["--backend", "gpu", "--holdout", "0.2", "--report"]);
    assert_eq!(gpu["backend"], "gpu");
    assert_eq!(held_ids(&cpu_out).0, held_ids(&gpu_out).0);
    let (a, b) = (&cpu["holdout"], &gpu["holdout"]);
    assert_eq!((&a["rows"], &a["adjusted_rand_index"]), (&b["rows"], &b["adjusted_rand_index"]));
    for key in ["inertia_per_row", "calinski_harabasz", "davies_bouldin", "silhouette"] {
        let (x, y) = (a["metrics"][key].as_f64().unwrap(), b["metrics"][key].as_f64().unwrap());
        assert!((x - y).abs() <= 1e-4 * x.abs().max(1.0), "{key}: cpu {x} vs gpu {y}");
    }
    let html = std::fs::read_to_string(gpu_out.join("report.html")).unwrap();
    assert!(html.contains("held-out customers") && html.contains("prediction strength"), "no holdout in the report");
}

#[test]
fn a_ward_tree_cut_by_height_compares_with_a_fit_of_the_same_k() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 1200, 0.0, 0, 0);
    let by_k =
        fit_ok(&input, &dir.path().join("k"), 4, &["--backend", "cpu", "--algorithm", "ward", "--holdout", "0.3"]);
    let (kept, undone) = (by_k["cut_height"]["kept"].as_f64().unwrap(), by_k["cut_height"]["undone"].as_f64().unwrap());
    let threshold = ((kept + undone) / 2.0).to_string();
    let out = dir.path().join("height");
    let args = ["fit", "--input", input.to_str().unwrap(), "--id", "customer_id", "--categorical", "channel"];
    let more = ["--log1p", "spend", "--algorithm", "ward", "--distance-threshold", &threshold, "--holdout", "0.3"];
    let (code, stdout, stderr) =
        outcome(&custseg(&[&args[..], &more[..], &["--backend", "cpu", "--out", out.to_str().unwrap()]].concat()));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["k"], 4, "{summary}");
    let holdout = &summary["holdout"];
    assert!(holdout["adjusted_rand_index"].as_f64().unwrap() > 0.99, "{holdout}");
    assert_eq!(holdout["metrics"], by_k["holdout"]["metrics"]);
}
