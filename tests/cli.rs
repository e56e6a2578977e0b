//! The binary end to end: fit, predict, demo, and every bad input we promise to catch,
//! each with its exit code, a message naming the culprit, and no output left behind.

use std::path::{Path, PathBuf};

use arrow::array::{Float64Array, Int64Array, StringArray};
use custseg::rng::Rng;
use tempfile::TempDir;

use crate::common::{arr, custseg, custseg_without_gpu, outcome, write_parquet};

/// 600 customers in three well-separated groups, with a region and a weight column.
pub(crate) fn customers(dir: &Path) -> PathBuf {
    let path = dir.join("customers.parquet");
    let mut rng = Rng::new(1);
    let n = 600;
    let group = |i: usize| (i % 3) as f64;
    let spend: Vec<f64> = (0..n).map(|i| 100.0 + 400.0 * group(i) + 10.0 * rng.normal()).collect();
    let visits: Vec<Option<f64>> =
        (0..n).map(|i| if i == 4 { None } else { Some(5.0 + 20.0 * group(i) + rng.normal()) }).collect();
    let region: Vec<&str> = (0..n).map(|i| if i % 3 == 0 { "north" } else { "south" }).collect();
    write_parquet(
        &path,
        vec![
            ("customer_id", arr(Int64Array::from_iter_values((0..n as i64).map(|i| 1000 + i)))),
            ("spend", arr(Float64Array::from(spend))),
            ("visits", arr(Float64Array::from(visits))),
            ("region", arr(StringArray::from(region))),
            ("weight", arr(Float64Array::from(vec![1.0; n]))),
        ],
    );
    path
}

pub(crate) fn fit_args<'a>(input: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["fit", "--input", input, "--id", "customer_id", "--k", "3", "--out", out];
    args.extend_from_slice(extra);
    args
}

pub(crate) fn summary(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {stdout}"))
}

#[test]
fn fit_writes_assignments_model_and_a_summary_with_the_promised_keys() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let o = custseg(&fit_args(
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--categorical", "region", "--weights", "weight", "--features", "spend,visits"],
    ));
    let (code, stdout, stderr) = outcome(&o);
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    for key in [
        "rows_read",
        "rows_used",
        "rows_dropped",
        "k",
        "iterations",
        "converged",
        "inertia",
        "backend",
        "device",
        "seconds",
        "outputs",
    ] {
        assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
    }
    assert_eq!(s["rows_read"], 600);
    assert_eq!(
        s["segment_sizes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect::<Vec<_>>()
            .iter()
            .sum::<u64>(),
        600
    );
    let segments = custseg::commands::demo::read_segments(&out.join("assignments.parquet")).unwrap();
    assert_eq!(segments.len(), 600);
    // The three groups are recovered: rows i and i+3 always share a segment.
    let mismatched: Vec<usize> = (0..597).filter(|&i| segments[i] != segments[i + 3]).collect();
    assert!(mismatched.is_empty(), "rows not grouped: {mismatched:?} {:?}", &segments[..12]);
    let model = custseg::model::Model::load(&out.join("model.json")).unwrap();
    assert_eq!(model.features, vec!["spend", "visits", "region=north", "region=south"]);
    assert_eq!(model.input.rows_read, 600);
    // Only the two outputs: no temporary files left behind.
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, vec!["assignments.parquet", "model.json", "profiles.parquet"]);
}

#[test]
fn predict_on_the_training_file_reproduces_fit() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let (code, _, stderr) = outcome(&custseg(&fit_args(
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--log1p", "spend", "--clip", "0.01"],
    )));
    assert_eq!(code, 0, "{stderr}");
    let predicted = dir.path().join("pred.parquet");
    let model = out.join("model.json");
    let o = custseg(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
    ]);
    let (code, stdout, stderr) = outcome(&o);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary(&stdout)["rows_used"], 600);
    let fitted = std::fs::read(out.join("assignments.parquet")).unwrap();
    let again = std::fs::read(&predicted).unwrap();
    assert_eq!(fitted, again, "predict must reproduce fit's assignments byte for byte");
}

#[test]
fn a_model_written_in_format_1_still_predicts_the_same_rows() {
    // Format 1 (custseg before the tagged model) held an `algorithm` string beside a
    // `kmeans` and a `gmm` record, one of them null.
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    for algorithm in ["kmeans", "gmm"] {
        let out = dir.path().join(algorithm);
        let (code, _, stderr) = outcome(&custseg(&fit_args(
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--algorithm", algorithm, "--backend", "cpu"],
        )));
        assert_eq!(code, 0, "{stderr}");
        let mut model: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
        assert_eq!(model["format_version"], 2);
        model["format_version"] = 1.into();
        let other = if algorithm == "gmm" { "kmeans" } else { "gmm" };
        assert!(model.get(other).is_none(), "format 2 holds one record: {model}");
        model[other] = serde_json::Value::Null;
        let old = dir.path().join(format!("{algorithm}-format-1.json"));
        std::fs::write(&old, serde_json::to_vec_pretty(&model).unwrap()).unwrap();
        let predicted = dir.path().join(format!("{algorithm}-pred.parquet"));
        let (code, _, stderr) = outcome(&custseg(&[
            "predict",
            "--model",
            old.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--out",
            predicted.to_str().unwrap(),
            "--backend",
            "cpu",
        ]));
        assert_eq!(code, 0, "{algorithm}: {stderr}");
        assert_eq!(
            std::fs::read(out.join("assignments.parquet")).unwrap(),
            std::fs::read(&predicted).unwrap(),
            "{algorithm}"
        );
    }
}

#[test]
fn same_seed_gives_byte_identical_outputs() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        let (code, _, stderr) = outcome(&custseg(&fit_args(
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--seed", "7", "--threads", threads, "--batch-rows", "100"],
        )));
        assert_eq!(code, 0, "{stderr}");
        (std::fs::read(out.join("assignments.parquet")).unwrap(), std::fs::read(out.join("model.json")).unwrap())
    };
    assert_eq!(run("a", "1"), run("b", "2"));
}

#[test]
fn demo_runs_small_and_recovers_its_segments() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("demo");
    let (code, stdout, stderr) = outcome(&custseg(&["demo", "--n", "20000", "--out", out.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    assert!(s["demo"]["adjusted_rand_index"].as_f64().unwrap() > 0.9, "{s}");
    assert!(out.join("model.json").exists() && out.join("report.html").exists());
    // The whole pipeline ran: the log, the customers step and its models, the value columns.
    assert!(out.join("data/transactions.parquet").exists());
    assert_eq!(s["customers"]["customers"], 20_000, "{s}");
    assert!(s["customers"]["bgnbd"]["converged"].as_bool().unwrap(), "{s}");
    assert_eq!(s["value_column"], "monetary_total", "{s}");
    let shares: f64 = s["segments"].as_array().unwrap().iter().map(|g| g["value_share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9, "revenue shares add up: {s}");
}

#[test]
fn quiet_prints_nothing_on_stdout() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let (code, stdout, _) = outcome(&custseg(&fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &["--quiet"])));
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn constant_column_is_dropped_with_a_warning() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("c.parquet");
    write_parquet(
        &input,
        vec![
            ("a", arr(Float64Array::from((0..50).map(|i| i as f64).collect::<Vec<_>>()))),
            ("flat", arr(Float64Array::from(vec![3.0; 50]))),
        ],
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) =
        outcome(&custseg(&["fit", "--input", input.to_str().unwrap(), "--k", "2", "--out", out.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("'flat' dropped"), "{stderr}");
    assert_eq!(summary(&stdout)["features"], serde_json::json!(["a"]));
}

#[test]
fn dedup_drops_repeated_ids_and_reports_them() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("d.parquet");
    write_parquet(
        &input,
        vec![
            ("id", arr(StringArray::from(vec!["a", "b", "a", "c", "d"]))),
            ("x", arr(Float64Array::from(vec![1.0, 2.0, 3.0, 10.0, 11.0]))),
        ],
    );
    let out = dir.path().join("out");
    let args = ["fit", "--input", input.to_str().unwrap(), "--id", "id", "--k", "2", "--out", out.to_str().unwrap()];
    let (code, _, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("duplicate value 'a'") && stderr.contains("--dedup"), "{stderr}");
    let mut with_dedup = args.to_vec();
    with_dedup.push("--dedup");
    let (code, stdout, stderr) = outcome(&custseg(&with_dedup));
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    assert_eq!((s["rows_used"].as_u64(), s["rows_dropped_duplicate_id"].as_u64()), (Some(4), Some(1)));
}

#[test]
fn init_centroids_in_raw_units_are_used() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("i.parquet");
    write_parquet(&input, vec![("x", arr(Float64Array::from(vec![0.0, 1.0, 9.0, 10.0])))]);
    let centres = dir.path().join("init.csv");
    std::fs::write(&centres, "x\n0.5\n9.5\n").unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = outcome(&custseg(&[
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--k",
        "2",
        "--init-centroids",
        centres.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    assert_eq!(s["iterations"], 1, "{s}");
    let model = custseg::model::Model::load(&out.join("model.json")).unwrap();
    assert!((model.centres_original[0][0] - 0.5).abs() < 1e-5 && (model.centres_original[1][0] - 9.5).abs() < 1e-5);
}

/// Bad input: (what, files to create, arguments, exit code, text the message must contain).
mod bad_input {
    use super::*;

    fn expect_failure(dir: &TempDir, args: &[&str], code: i32, needle: &str) {
        let o = custseg(args);
        let (got, stdout, stderr) = outcome(&o);
        assert_eq!(got, code, "args {args:?}\nstderr: {stderr}");
        assert!(stderr.contains(needle), "args {args:?}: message lacks '{needle}': {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stdout.is_empty(), "no summary on failure: {stdout}");
        let out = dir.path().join("out");
        let leftovers: Vec<_> =
            std::fs::read_dir(&out).map(|r| r.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        assert!(leftovers.is_empty(), "outputs left behind: {leftovers:?}");
    }

    fn one_column(dir: &TempDir, name: &str, values: Vec<Option<f64>>) -> String {
        let p = dir.path().join(format!("{name}.parquet"));
        write_parquet(&p, vec![(name, arr(Float64Array::from(values)))]);
        p.to_str().unwrap().to_string()
    }

    fn out(dir: &TempDir) -> String {
        dir.path().join("out").to_str().unwrap().to_string()
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let dir = TempDir::new().unwrap();
        expect_failure(
            &dir,
            &["fit", "--input", "/no/such.parquet", "--k", "2", "--out", &out(&dir)],
            4,
            "/no/such.parquet",
        );
    }

    #[test]
    fn folder_without_parquet_files() {
        let dir = TempDir::new().unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        expect_failure(
            &dir,
            &["fit", "--input", empty.to_str().unwrap(), "--k", "2", "--out", &out(&dir)],
            3,
            "no .parquet or .csv files",
        );
    }

    #[test]
    fn not_a_parquet_file_and_a_truncated_one() {
        let dir = TempDir::new().unwrap();
        let text = dir.path().join("x.parquet");
        std::fs::write(&text, "id,x\n1,2\n").unwrap();
        expect_failure(
            &dir,
            &["fit", "--input", text.to_str().unwrap(), "--k", "1", "--out", &out(&dir)],
            3,
            "cannot read as Parquet",
        );
        let good = one_column(&dir, "x", (0..100).map(|i| Some(i as f64)).collect());
        let bytes = std::fs::read(&good).unwrap();
        std::fs::write(&good, &bytes[..bytes.len() / 2]).unwrap();
        expect_failure(&dir, &["fit", "--input", &good, "--k", "1", "--out", &out(&dir)], 3, "cannot read as Parquet");
    }

    #[test]
    fn zero_rows() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![]);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--out", &out(&dir)], 3, "no rows");
    }

    #[test]
    fn missing_id_or_feature_column() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0)]);
        expect_failure(
            &dir,
            &["fit", "--input", &p, "--id", "cid", "--k", "1", "--out", &out(&dir)],
            3,
            "id column 'cid' not found",
        );
        expect_failure(
            &dir,
            &["fit", "--input", &p, "--features", "x,y", "--k", "1", "--out", &out(&dir)],
            3,
            "feature column 'y' not found",
        );
    }

    #[test]
    fn string_feature_not_declared_categorical() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("s.parquet");
        write_parquet(
            &p,
            vec![("x", arr(Float64Array::from(vec![1.0, 2.0]))), ("city", arr(StringArray::from(vec!["a", "b"])))],
        );
        expect_failure(
            &dir,
            &["fit", "--input", p.to_str().unwrap(), "--features", "x,city", "--k", "1", "--out", &out(&dir)],
            3,
            "--categorical city",
        );
    }

    #[test]
    fn all_null_column() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![None, None, None]);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--out", &out(&dir)], 3, "column 'x' has no values");
    }

    #[test]
    fn impute_drop_leaving_no_rows() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("n.parquet");
        write_parquet(
            &p,
            vec![
                ("a", arr(Float64Array::from(vec![Some(1.0), None, Some(3.0)]))),
                ("b", arr(Float64Array::from(vec![None, Some(2.0), None]))),
            ],
        );
        expect_failure(
            &dir,
            &["fit", "--input", p.to_str().unwrap(), "--impute", "drop", "--k", "1", "--out", &out(&dir)],
            3,
            "no rows left",
        );
    }

    #[test]
    fn infinite_value_names_column_and_row() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "spend", vec![Some(1.0), Some(2.0), Some(f64::INFINITY)]);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--out", &out(&dir)], 3, "column 'spend', row 2");
        let p = one_column(&dir, "huge", vec![Some(1.0), Some(1e300)]);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--out", &out(&dir)], 3, "beyond f32");
    }

    #[test]
    fn values_whose_squares_overflow_are_refused_unscaled() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1e38), Some(-1e38), Some(0.0)]);
        expect_failure(
            &dir,
            &["fit", "--input", &p, "--scale", "none", "--k", "1", "--out", &out(&dir)],
            3,
            "too large",
        );
        // With scaling the same values are fine.
        let (code, _, stderr) = outcome(&custseg(&["fit", "--input", &p, "--k", "1", "--out", &out(&dir), "--quiet"]));
        assert_eq!(code, 0, "{stderr}");
    }

    #[test]
    fn schemas_that_disagree_across_files() {
        let dir = TempDir::new().unwrap();
        let folder = dir.path().join("parts");
        std::fs::create_dir(&folder).unwrap();
        write_parquet(&folder.join("a.parquet"), vec![("x", arr(Float64Array::from(vec![1.0, 2.0])))]);
        write_parquet(&folder.join("b.parquet"), vec![("x", arr(StringArray::from(vec!["1", "2"])))]);
        expect_failure(
            &dir,
            &["fit", "--input", folder.to_str().unwrap(), "--k", "1", "--out", &out(&dir)],
            3,
            "must share a schema",
        );
    }

    #[test]
    fn bad_parameters_exit_with_code_two() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0), Some(3.0)]);
        let o = out(&dir);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "0", "--out", &o], 2, "--k");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "4", "--out", &o], 2, "decrease k");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--max-iter", "0", "--out", &o], 2, "--max-iter");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--tol=-1", "--out", &o], 2, "--tol");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--backend", "tpu", "--out", &o], 2, "tpu");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--clip", "0.7", "--out", &o], 2, "--clip");
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--log1p", "y", "--out", &o], 2, "--log1p");
    }

    #[test]
    fn gpu_backend_unavailable_exits_with_code_five_and_auto_falls_back() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0)]);
        let o = out(&dir);
        let (code, stdout, stderr) =
            outcome(&custseg_without_gpu(&["fit", "--input", &p, "--k", "1", "--backend", "gpu", "--out", &o]));
        assert_eq!(code, 5, "{stderr}");
        assert!(stderr.contains("mesa-vulkan-drivers") && stderr.contains("--backend cpu"), "{stderr}");
        assert!(stdout.is_empty() && !dir.path().join("out").exists());
        let (code, stdout, stderr) = outcome(&custseg_without_gpu(&["fit", "--input", &p, "--k", "1", "--out", &o]));
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("backend auto: using the CPU"), "{stderr}");
        assert_eq!(summary(&stdout)["backend"], "cpu");
    }

    #[test]
    fn negative_or_nan_weights() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("w.parquet");
        write_parquet(
            &p,
            vec![("x", arr(Float64Array::from(vec![1.0, 2.0]))), ("w", arr(Float64Array::from(vec![1.0, -2.0])))],
        );
        expect_failure(
            &dir,
            &["fit", "--input", p.to_str().unwrap(), "--weights", "w", "--k", "1", "--out", &out(&dir)],
            3,
            "column 'w', row 1",
        );
        write_parquet(
            &p,
            vec![("x", arr(Float64Array::from(vec![1.0, 2.0]))), ("w", arr(Float64Array::from(vec![f64::NAN, 1.0])))],
        );
        expect_failure(
            &dir,
            &["fit", "--input", p.to_str().unwrap(), "--weights", "w", "--k", "1", "--out", &out(&dir)],
            3,
            "column 'w', row 0",
        );
    }

    #[test]
    fn output_that_would_overwrite_or_join_an_input() {
        let dir = TempDir::new().unwrap();
        let parts = dir.path().join("parts");
        std::fs::create_dir(&parts).unwrap();
        let input = parts.join("x.parquet");
        write_parquet(&input, vec![("x", arr(Float64Array::from(vec![1.0, 2.0])))]);
        let (code, _, stderr) = outcome(&custseg(&[
            "fit",
            "--input",
            parts.to_str().unwrap(),
            "--k",
            "1",
            "--out",
            parts.to_str().unwrap(),
        ]));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("--out"), "{stderr}");
        assert!(!parts.join("model.json").exists());
        let model_dir = dir.path().join("m");
        let (code, _, stderr) = outcome(&custseg(&[
            "fit",
            "--input",
            input.to_str().unwrap(),
            "--k",
            "1",
            "--out",
            model_dir.to_str().unwrap(),
        ]));
        assert_eq!(code, 0, "{stderr}");
        let before = std::fs::read(&input).unwrap();
        let model = model_dir.join("model.json");
        let (code, _, stderr) = outcome(&custseg(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--out",
            input.to_str().unwrap(),
        ]));
        assert_eq!(code, 2, "{stderr}");
        assert_eq!(std::fs::read(&input).unwrap(), before, "the input must be untouched");
    }

    #[test]
    fn init_centroids_with_the_wrong_shape() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0), Some(3.0)]);
        let c = dir.path().join("c.csv");
        std::fs::write(&c, "x\n1\n2\n3\n").unwrap();
        expect_failure(
            &dir,
            &["fit", "--input", &p, "--k", "2", "--init-centroids", c.to_str().unwrap(), "--out", &out(&dir)],
            2,
            "expected 2 centres",
        );
        std::fs::write(&c, "y\n1\n2\n").unwrap();
        expect_failure(
            &dir,
            &["fit", "--input", &p, "--k", "2", "--init-centroids", c.to_str().unwrap(), "--out", &out(&dir)],
            2,
            "no column 'x'",
        );
    }

    #[test]
    fn predict_with_a_newer_model_or_missing_features() {
        let dir = TempDir::new().unwrap();
        let input = customers(dir.path());
        let fitted = dir.path().join("fitted");
        let (code, _, stderr) = outcome(&custseg(&fit_args(input.to_str().unwrap(), fitted.to_str().unwrap(), &[])));
        assert_eq!(code, 0, "{stderr}");
        let model_path = fitted.join("model.json");
        let other = one_column(&dir, "spend", vec![Some(1.0), Some(2.0)]);
        let pred_out = dir.path().join("out").join("p.parquet");
        let pred = pred_out.to_str().unwrap();
        expect_failure(
            &dir,
            &["predict", "--model", model_path.to_str().unwrap(), "--input", &other, "--out", pred],
            3,
            "not found",
        );
        let mut model: serde_json::Value = serde_json::from_slice(&std::fs::read(&model_path).unwrap()).unwrap();
        model["format_version"] = serde_json::json!(99);
        let newer = dir.path().join("newer.json");
        std::fs::write(&newer, serde_json::to_vec(&model).unwrap()).unwrap();
        expect_failure(
            &dir,
            &["predict", "--model", newer.to_str().unwrap(), "--input", input.to_str().unwrap(), "--out", pred],
            3,
            "upgrade custseg",
        );
    }

    #[test]
    fn corrupt_footer_is_invalid_data_not_a_panic() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", (0..1000).map(|i| Some(i as f64)).collect());
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 40..n - 8].iter_mut().for_each(|b| *b = 0xFF);
        std::fs::write(&p, &bytes).unwrap();
        expect_failure(&dir, &["fit", "--input", &p, "--k", "1", "--out", &out(&dir)], 3, "cannot read as Parquet");
    }

    #[test]
    fn unwritable_output_is_an_io_error() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0)]);
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, b"").unwrap();
        let target = blocker.join("out");
        let (code, stdout, stderr) =
            outcome(&custseg(&["fit", "--input", &p, "--k", "1", "--out", target.to_str().unwrap()]));
        assert_eq!(code, 4, "{stderr}");
        assert!(stderr.contains("a-file") && stdout.is_empty(), "{stderr}");
    }

    #[test]
    fn a_k_that_cannot_fit_in_memory_is_refused_up_front() {
        let dir = TempDir::new().unwrap();
        let p = one_column(&dir, "x", vec![Some(1.0), Some(2.0)]);
        expect_failure(&dir, &["fit", "--input", &p, "--k", "3000000000", "--out", &out(&dir)], 2, "of memory");
    }

    #[test]
    fn k_above_the_distinct_rows_warns_and_never_makes_nan() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("dup.parquet");
        write_parquet(
            &p,
            vec![
                ("a", arr(Float64Array::from(vec![0.0, 0.0, 1.0, 1.0, 0.0]))),
                ("b", arr(Float64Array::from(vec![0.0, 0.0, 1.0, 1.0, 0.0]))),
            ],
        );
        let o = dir.path().join("out");
        let (code, stdout, stderr) =
            outcome(&custseg(&["fit", "--input", p.to_str().unwrap(), "--k", "3", "--out", o.to_str().unwrap()]));
        assert_eq!(code, 0, "{stderr}");
        assert!(stderr.contains("fewer than k=3 distinct rows"), "{stderr}");
        let model = custseg::model::Model::load(&o.join("model.json")).unwrap();
        assert!(model.centres.iter().flatten().all(|v| v.is_finite()), "{:?}", model.centres);
        assert_eq!(summary(&stdout)["inertia"], 0.0);
    }
}

mod gmm {
    use super::*;

    #[test]
    fn gmm_fit_writes_probabilities_and_predict_reproduces_it() {
        let dir = TempDir::new().unwrap();
        let input = customers(dir.path());
        let out = dir.path().join("out");
        let args = fit_args(
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--algorithm", "gmm", "--covariance", "diag", "--probabilities", "--features", "spend,visits"],
        );
        let (code, stdout, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 0, "{stderr}");
        let s = summary(&stdout);
        for key in ["mean_log_likelihood", "lower_bound", "converged", "iterations", "bic", "aic", "backend", "device"]
        {
            assert!(s.get(key).is_some(), "summary lacks {key}: {s}");
        }
        assert_eq!(s["algorithm"], "gmm");
        let file = std::fs::File::open(out.join("assignments.parquet")).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        let names: Vec<String> = reader.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["customer_id", "segment", "probability", "p_0", "p_1", "p_2"]);
        let segments = custseg::commands::demo::read_segments(&out.join("assignments.parquet")).unwrap();
        let mismatched = (0..597).filter(|&i| segments[i] != segments[i + 3]).count();
        assert_eq!(mismatched, 0, "the three groups are recovered");

        let predicted = dir.path().join("pred.parquet");
        let model = out.join("model.json");
        let (code, stdout, stderr) = outcome(&custseg(&[
            "predict",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--out",
            predicted.to_str().unwrap(),
            "--probabilities",
        ]));
        assert_eq!(code, 0, "{stderr}");
        assert!(summary(&stdout)["mean_log_likelihood"].as_f64().is_some());
        assert_eq!(std::fs::read(out.join("assignments.parquet")).unwrap(), std::fs::read(&predicted).unwrap());
    }

    #[test]
    fn gmm_parameters_are_checked_before_reading() {
        let dir = TempDir::new().unwrap();
        let o = dir.path().join("out");
        let o = o.to_str().unwrap();
        let cases: [(&[&str], &str); 4] = [
            (&["--algorithm", "gmm", "--reg-covar", "-1"], "--reg-covar"),
            (&["--init", "kmeans"], "--init"),
            (&["--algorithm", "gmm", "--init-centroids", "c.csv"], "--init-centroids"),
            (&["--algorithm", "gmm", "--tol=-2"], "--tol"),
        ];
        for (extra, needle) in cases {
            let mut args = vec!["fit", "--input", "/no/such.parquet", "--k", "2", "--out", o];
            args.extend_from_slice(extra);
            let (code, _, stderr) = outcome(&custseg(&args));
            assert_eq!(code, 2, "{extra:?}: {stderr}");
            assert!(stderr.contains(needle), "{extra:?}: {stderr}");
        }
    }
}

#[test]
fn select_k_recovers_the_demo_segments_and_writes_its_table() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("customers.parquet");
    custseg::synth::write_customers(&data, 100_000, 42).unwrap();
    let out = dir.path().join("select");
    let (code, stdout, stderr) = outcome(&custseg(&[
        "select-k",
        "--input",
        data.to_str().unwrap(),
        "--id",
        "customer_id",
        "--features",
        "recency_days,frequency,monetary,tenure_days,online_share,basket_size",
        "--log1p",
        "recency_days,frequency,monetary,basket_size",
        "--k",
        "2..9",
        "--silhouette-sample",
        "5000",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let s = summary(&stdout);
    assert_eq!(s["recommended_k"], 6, "{s}");
    assert_eq!(s["table"].as_array().unwrap().len(), 8);
    assert!(s["table"][0]["silhouette_standard_error"].as_f64().is_some(), "sampled silhouettes carry their error");
    let (code, _, stderr) =
        outcome(&custseg(&["fit", "--input", data.to_str().unwrap(), "--k", "2..9", "--out", out.to_str().unwrap()]));
    assert_eq!(code, 2, "fit refuses a range: {stderr}");
}

#[test]
fn evaluate_on_the_training_file_reproduces_fit_metrics() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    for algorithm in ["kmeans", "gmm"] {
        let out = dir.path().join(algorithm);
        let (code, stdout, stderr) =
            outcome(&custseg(&fit_args(input.to_str().unwrap(), out.to_str().unwrap(), &["--algorithm", algorithm])));
        assert_eq!(code, 0, "{stderr}");
        let fitted = summary(&stdout);
        let model = out.join("model.json");
        let (code, stdout, stderr) =
            outcome(&custseg(&["evaluate", "--model", model.to_str().unwrap(), "--input", input.to_str().unwrap()]));
        assert_eq!(code, 0, "{stderr}");
        let evaluated = summary(&stdout);
        assert_eq!(evaluated["metrics"], fitted["metrics"], "{algorithm}");
        assert_eq!(evaluated["segment_sizes"], fitted["segment_sizes"], "{algorithm}");
        if algorithm == "gmm" {
            let (a, b) = (evaluated["bic"].as_f64().unwrap(), fitted["bic"].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-9 * b.abs(), "bic {a} vs {b}");
        }
    }
}

#[test]
fn profiles_equal_a_straightforward_recomputation() {
    use arrow::array::AsArray;
    use arrow::datatypes::Float64Type;
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let out = dir.path().join("out");
    let (code, stdout, stderr) = outcome(&custseg(&fit_args(
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        &["--categorical", "region", "--features", "spend,visits"],
    )));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary(&stdout)["segments"].as_array().unwrap().len(), 3);
    let read = |path: &Path| {
        let file = std::fs::File::open(path).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let schema = arrow::array::RecordBatchReader::schema(&reader);
        arrow::compute::concat_batches(&schema, &reader.map(|b| b.unwrap()).collect::<Vec<_>>()).unwrap()
    };
    let data = read(&input);
    let spend: Vec<f64> = data.column_by_name("spend").unwrap().as_primitive::<Float64Type>().values().to_vec();
    let region = data.column_by_name("region").unwrap().as_string::<i32>().clone();
    let segments = custseg::commands::demo::read_segments(&out.join("assignments.parquet")).unwrap();
    let profiles = read(&out.join("profiles.parquet"));
    let column = |name: &str| profiles.column_by_name(name).unwrap().as_primitive::<Float64Type>().values().to_vec();
    let (means, medians, north) = (column("spend_mean"), column("spend_median"), column("region=north_share"));
    for c in 0..3u32 {
        let mut values: Vec<f64> = spend.iter().zip(&segments).filter(|(_, &s)| s == c).map(|(v, _)| *v).collect();
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let median = if values.len() % 2 == 1 {
            values[values.len() / 2]
        } else {
            (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0
        };
        let share = (0..spend.len()).filter(|&i| segments[i] == c && region.value(i) == "north").count() as f64
            / values.len() as f64;
        // Prepared values are f32: original units come back within f32 rounding.
        assert!(
            (means[c as usize] - mean).abs() <= 1e-4 * mean.abs(),
            "segment {c}: mean {} vs {mean}",
            means[c as usize]
        );
        assert!(
            (medians[c as usize] - median).abs() <= 1e-4 * median.abs(),
            "segment {c}: median {} vs {median}",
            medians[c as usize]
        );
        assert!(
            (north[c as usize] - share).abs() <= 1e-12,
            "segment {c}: north share {} vs {share}",
            north[c as usize]
        );
    }
}

#[test]
fn integer_decimal_boolean_and_dictionary_columns_are_read() {
    use arrow::array::{BooleanArray, Decimal128Array, DictionaryArray, Int8Array, UInt64Array};
    use arrow::datatypes::Int32Type;
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("types.parquet");
    let n = 40;
    let dict: DictionaryArray<Int32Type> = (0..n).map(|i| ["a", "b"][i % 2]).collect();
    write_parquet(
        &input,
        vec![
            ("id", arr(UInt64Array::from_iter_values((0..n as u64).map(|i| u64::MAX - i)))),
            ("small", arr(Int8Array::from_iter_values((0..n).map(|i| (i % 7) as i8 - 3)))),
            (
                "price",
                arr(Decimal128Array::from_iter_values((0..n).map(|i| 1000 + 250 * i as i128))
                    .with_precision_and_scale(10, 2)
                    .unwrap()),
            ),
            ("member", arr(BooleanArray::from((0..n).map(|i| i % 3 == 0).collect::<Vec<_>>()))),
            ("channel", arr(dict)),
        ],
    );
    let out = dir.path().join("out");
    let (code, stdout, stderr) = outcome(&custseg(&[
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--id",
        "id",
        "--categorical",
        "channel",
        "--k",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary(&stdout)["features"], serde_json::json!(["small", "price", "member", "channel=a", "channel=b"]));
    let model = custseg::model::Model::load(&out.join("model.json")).unwrap();
    let price = model.prep.numeric.iter().find(|c| c.name == "price").unwrap();
    assert!((price.mean - (10.0 + 2.5 * 19.5)).abs() < 1e-4, "decimal(10,2) read as units: mean {}", price.mean);
}

#[test]
fn stability_separates_real_segments_from_artefacts() {
    let dir = TempDir::new().unwrap();
    let real = customers(dir.path());
    let noise = dir.path().join("noise.parquet");
    let mut rng = Rng::new(12);
    let (xs, ys): (Vec<f64>, Vec<f64>) = (0..600).map(|_| (rng.uniform(), rng.uniform())).unzip();
    write_parquet(&noise, vec![("x", arr(Float64Array::from(xs))), ("y", arr(Float64Array::from(ys)))]);
    let run = |input: &Path, k: &str, name: &str| {
        let out = dir.path().join(name);
        let (code, stdout, stderr) = outcome(&custseg(&[
            "fit",
            "--input",
            input.to_str().unwrap(),
            "--k",
            k,
            "--stability",
            "8",
            "--features",
            if name == "real" { "spend,visits" } else { "x,y" },
            "--out",
            out.to_str().unwrap(),
        ]));
        assert_eq!(code, 0, "{stderr}");
        summary(&stdout)["stability"].clone()
    };
    let real = run(&real, "3", "real");
    let noise = run(&noise, "6", "noise");
    assert_eq!(real["bootstraps"], 8);
    assert!(real["mean_ari"].as_f64().unwrap() > 0.95, "{real}");
    assert!(real["per_segment_jaccard"].as_array().unwrap().iter().all(|j| j.as_f64().unwrap() > 0.9), "{real}");
    assert!(noise["mean_ari"].as_f64().unwrap() < real["mean_ari"].as_f64().unwrap() - 0.1, "{noise} vs {real}");
    let worst =
        noise["per_segment_jaccard"].as_array().unwrap().iter().map(|j| j.as_f64().unwrap()).fold(1.0, f64::min);
    assert!(worst < 0.85, "noise segments look stable: {noise}");
}

/// A damaged model.json (shapes, signs, NaN, huge values, versions): `predict` and
/// `evaluate` refuse it with exit 3, naming the file and the field, write nothing, never panic.
mod damaged_model {
    use super::*;
    use serde_json::{json, Value};

    type Damage = fn(&mut Value);

    /// Fits `algorithm` on the customers and returns the input and the model as JSON.
    fn fitted(dir: &TempDir, algorithm: &str) -> (PathBuf, Value) {
        let input = customers(dir.path());
        let out = dir.path().join(format!("fit-{algorithm}"));
        let (code, _, stderr) = outcome(&custseg(&fit_args(
            input.to_str().unwrap(),
            out.to_str().unwrap(),
            &["--algorithm", algorithm, "--backend", "cpu"],
        )));
        assert_eq!(code, 0, "{stderr}");
        (input, serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap())
    }

    fn refused_by_predict_and_evaluate(dir: &TempDir, input: &Path, model: &Value, damage: Damage, needle: &str) {
        let mut damaged = model.clone();
        damage(&mut damaged);
        let path = dir.path().join("damaged.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&damaged).unwrap()).unwrap();
        let out_dir = dir.path().join("out");
        let pred = out_dir.join("p.parquet");
        let (model_arg, input_arg) = (path.to_str().unwrap(), input.to_str().unwrap());
        for args in [
            vec!["predict", "--model", model_arg, "--input", input_arg, "--out", pred.to_str().unwrap()],
            vec!["evaluate", "--model", model_arg, "--input", input_arg],
        ] {
            let args: Vec<&str> = args.into_iter().chain(["--backend", "cpu"]).collect();
            let (code, stdout, stderr) = outcome(&custseg(&args));
            assert_eq!(code, 3, "{needle}: {args:?}\n{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
            assert!(stderr.contains("damaged.json"), "the file is named: {stderr}");
            assert!(stderr.contains(needle), "the field is named ('{needle}'): {stderr}");
            assert!(stderr.contains("the model is damaged, refit it"), "{stderr}");
            assert!(stdout.is_empty(), "{stdout}");
            assert!(!pred.exists(), "{needle}: {} was written", pred.display());
            let left: Vec<_> =
                std::fs::read_dir(&out_dir).map(|r| r.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
            assert!(left.is_empty(), "{needle}: left behind {left:?}");
        }
    }

    #[test]
    fn kmeans_models_with_bad_shapes_signs_values_or_versions_are_refused() {
        let dir = TempDir::new().unwrap();
        let (input, model) = fitted(&dir, "kmeans");
        let cases: Vec<(Damage, &str)> = vec![
            (
                |m| {
                    m["k"] = json!(0);
                    for list in ["centres", "centres_original", "segment_sizes", "segment_weights", "profiles"] {
                        m[list] = json!([]);
                    }
                },
                "k is 0",
            ),
            (|m| m["k"] = json!(4), "centres has 3 entries but k = 4 needs 4"),
            (
                |m| {
                    m["prep"]["numeric"].as_array_mut().unwrap().pop();
                },
                "features has",
            ),
            (|m| m["prep"]["numeric"][0]["scaling"]["scale"] = json!(-1.5), "prep.numeric[0].scaling.scale is -1.5"),
            (|m| m["prep"]["numeric"][0]["scaling"]["center"] = json!(1e6), "centres_original[0][0]"),
            (|m| m["prep"]["numeric"][0]["clip"] = json!([5.0, 1.0]), "prep.numeric[0].clip"),
            (|m| m["centres"][0][0] = json!(1e39), "centres[0][0]"),
            (|m| m["centres"][1][1] = json!(1e30), "centres[1][1]"),
            (|m| m["centres"][2][0] = Value::Null, "centres[2][0] is unreadable"),
            (
                |m| {
                    m["centres"][1].as_array_mut().unwrap().pop();
                },
                "centres[1] has",
            ),
            (|m| m["features"][0] = m["features"][1].clone(), "features[1] repeats"),
            (|m| m["kmeans"]["inertia"] = json!(-3.0), "kmeans.inertia"),
            (|m| m["format_version"] = json!(0), "format_version 0"),
            (|m| m["algorithm"] = json!("forest"), "algorithm is 'forest'"),
        ];
        for (damage, needle) in cases {
            refused_by_predict_and_evaluate(&dir, &input, &model, damage, needle);
        }
    }

    fn pop(m: &mut Value, key: &str) {
        m["gmm"]["mixture"][key].as_array_mut().unwrap().pop();
    }

    #[test]
    fn gmm_models_with_short_arrays_bad_weights_or_indefinite_covariances_are_refused() {
        let dir = TempDir::new().unwrap();
        let (input, model) = fitted(&dir, "gmm");
        let cases: Vec<(Damage, &str)> = vec![
            (|m| pop(m, "covariances"), "gmm.mixture.covariances has"),
            (|m| pop(m, "means"), "gmm.mixture.means has"),
            (|m| pop(m, "weights"), "gmm.mixture.weights has"),
            (
                |m| m["gmm"]["mixture"]["weights"] = json!([-1.0, 1.0, 1.0]),
                "gmm.mixture.weights[0] is -1; weights must be ≥ 0 and sum to 1",
            ),
            (|m| m["gmm"]["mixture"]["weights"] = json!([0.5, 0.5, 0.5]), "gmm.mixture.weights sum to 1.5"),
            (|m| m["gmm"]["mixture"]["weights"][1] = Value::Null, "gmm.mixture.weights[1] is unreadable"),
            (
                |m| {
                    let covariances = m["gmm"]["mixture"]["covariances"].as_array_mut().unwrap();
                    covariances.iter_mut().for_each(|v| *v = json!(-v.as_f64().unwrap()));
                },
                "not positive definite",
            ),
            (|m| m["gmm"]["mixture"]["k"] = json!(4), "gmm.mixture.k is 4"),
            (|m| m["gmm"]["mixture"]["means"][0] = json!(1e300), "gmm.mixture.means[0]"),
            (|m| m["gmm"]["bic"] = json!("NaN"), "gmm.bic is unreadable"),
        ];
        for (damage, needle) in cases {
            refused_by_predict_and_evaluate(&dir, &input, &model, damage, needle);
        }
    }
}
