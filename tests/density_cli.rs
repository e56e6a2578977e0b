//! `fit --algorithm hdbscan|dbscan` through the binary: noise as segment −1 in a signed
//! column, GLOSH outlier scores, the summary and report, predict and evaluate with the saved
//! model, and the refusals (exit 2, nothing written) and damaged models (exit 3).

use std::path::{Path, PathBuf};

use arrow::array::{Array, Float32Array, Float64Array, Int32Array, Int64Array, RecordBatch};
use arrow::datatypes::DataType;

use crate::common::{arr, custseg, outcome, write_parquet};

/// Three tight blobs of 60 rows and four far outliers (the last four ids), as Parquet.
fn blobs_with_outliers(dir: &Path) -> PathBuf {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
        for i in 0..60 {
            let angle = i as f64 * 0.7;
            let radius = 0.2 + 0.8 * ((i * 37) % 60) as f64 / 60.0;
            x.push(cx + radius * angle.cos());
            y.push(cy + radius * angle.sin());
        }
    }
    for (ox, oy) in [(30.0, 30.0), (-25.0, 20.0), (20.0, -30.0), (5.0, 40.0)] {
        x.push(ox);
        y.push(oy);
    }
    let ids: Vec<i64> = (0..x.len() as i64).collect();
    let path = dir.join("points.parquet");
    write_parquet(
        &path,
        vec![("id", arr(Int64Array::from(ids))), ("x", arr(Float64Array::from(x))), ("y", arr(Float64Array::from(y)))],
    );
    path
}

fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

fn segments(batch: &RecordBatch) -> Vec<i32> {
    let column = batch.column_by_name("segment").unwrap();
    assert_eq!(column.data_type(), &DataType::Int32, "density fits write a signed segment");
    column.as_any().downcast_ref::<Int32Array>().unwrap().values().to_vec()
}

/// Runs the binary; returns the exit code, the parsed summary (Null on failure) and stderr.
fn run(args: &[&str]) -> (i32, serde_json::Value, String) {
    let (code, stdout, stderr) = outcome(&custseg(args));
    (code, serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null), stderr)
}

#[test]
fn hdbscan_fit_marks_the_outliers_minus_one_scores_them_highest_and_predict_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let input = blobs_with_outliers(tmp.path());
    let out = tmp.path().join("out");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let args =
        ["fit", "--input", i, "--id", "id", "--algorithm", "hdbscan", "--min-cluster-size", "10", "--min-samples", "5"];
    let (code, summary, stderr) = run(&[&args[..], &["--scale", "none", "--report", "--out", o]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((summary["k"].as_u64(), summary["noise"].as_u64()), (Some(3), Some(4)), "{summary}");
    assert_eq!(summary["algorithm"], "hdbscan");
    let batch = read(&out.join("assignments.parquet"));
    let labels = segments(&batch);
    assert_eq!(labels[180..], [-1, -1, -1, -1]);
    assert!(labels[..180].iter().all(|&l| l >= 0));
    assert!(labels[0] != labels[60] && labels[60] != labels[120] && labels[0] != labels[120]);
    let scores = batch.column_by_name("outlier_score").unwrap().as_any().downcast_ref::<Float32Array>().unwrap();
    let scores = scores.values();
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    let inner_max = scores[..180].iter().copied().fold(0.0f32, f32::max);
    assert!(
        scores[180..].iter().all(|&s| s > inner_max),
        "outliers score highest: {:?} vs {inner_max}",
        &scores[180..]
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("outliers / unsegmented"), "the report names the outliers");

    let predicted = tmp.path().join("predicted.parquet");
    let model = out.join("model.json");
    let predict = ["predict", "--model", model.to_str().unwrap(), "--input", i, "--id", "id"];
    let (code, summary, stderr) = run(&[&predict[..], &["--out", predicted.to_str().unwrap(), "--report"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(tmp.path().join("report.html").exists(), "predict --report describes the segmented rows");
    assert_eq!(summary["noise"], 4, "{summary}");
    assert_eq!(segments(&read(&predicted)), labels, "the training rows are assigned as the fit labelled them");
    let (code, summary, stderr) = run(&["evaluate", "--model", model.to_str().unwrap(), "--input", i, "--id", "id"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["noise"], 4, "{summary}");
}

#[test]
fn dbscan_fit_equals_the_library_and_refuses_misplaced_or_missing_parameters() {
    let tmp = tempfile::tempdir().unwrap();
    let input = blobs_with_outliers(tmp.path());
    let i = input.to_str().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let fit = ["fit", "--input", i, "--id", "id", "--scale", "none", "--out", o];
    let (code, summary, stderr) =
        run(&[&fit[..], &["--algorithm", "dbscan", "--eps", "1.5", "--min-samples", "5"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((summary["k"].as_u64(), summary["noise"].as_u64()), (Some(3), Some(4)), "{summary}");
    let labels = segments(&read(&out.join("assignments.parquet")));
    assert_eq!(labels[180..], [-1, -1, -1, -1]);
    assert!(read(&out.join("assignments.parquet")).column_by_name("outlier_score").is_none());

    let model = out.join("model.json");
    let previous = ["--algorithm", "hdbscan", "--min-cluster-size", "10", "--previous", model.to_str().unwrap()];
    let refused: [(&[&str], &str); 9] = [
        (&previous, "--previous"),
        (&["--algorithm", "hdbscan"], "--min-cluster-size"),
        (&["--algorithm", "hdbscan", "--min-cluster-size", "10", "--k", "3"], "--k"),
        (&["--algorithm", "dbscan", "--eps", "1.5"], "--min-samples"),
        (&["--algorithm", "dbscan", "--eps", "-1", "--min-samples", "5"], "--eps"),
        (&["--algorithm", "kmeans", "--k", "3", "--eps", "1.5"], "--eps"),
        (&["--algorithm", "dbscan", "--eps", "0.001", "--min-samples", "5"], "--eps"),
        (&["--algorithm", "hdbscan", "--min-cluster-size", "10", "--stability", "5"], "--stability"),
        (&["--algorithm", "hdbscan", "--min-cluster-size", "10", "--min-samples", "1000"], "--min-samples"),
    ];
    for (args, flag) in refused {
        let fresh = tmp.path().join("refused");
        let fit = ["fit", "--input", i, "--id", "id", "--scale", "none", "--out", fresh.to_str().unwrap()];
        let (code, _, stderr) = run(&[&fit[..], args].concat());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?} must name {flag}: {stderr}");
        let written: Vec<_> =
            std::fs::read_dir(&fresh).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
        assert!(written.is_empty(), "{args:?} left {written:?}");
    }
}

#[test]
fn a_damaged_density_model_is_refused_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let input = blobs_with_outliers(tmp.path());
    let i = input.to_str().unwrap();
    let out = tmp.path().join("out");
    let fit = ["fit", "--input", i, "--id", "id", "--algorithm", "dbscan", "--eps", "0.3", "--min-samples", "5"];
    let (code, _, stderr) = run(&[&fit[..], &["--out", out.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{stderr}");
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    type Damaging = fn(&mut serde_json::Value);
    let cases: [(&str, Damaging); 7] = [
        ("density.kept.labels[0]", |m| m["density"]["kept"]["labels"][0] = 99.into()),
        // DBSCAN's reach is eps (core rows) or 0: any other radius would assign silently.
        ("density.kept.reach[0]", |m| m["density"]["kept"]["reach"][0] = 10.0.into()),
        ("density.eps", |m| m["density"]["eps"] = 0.6.into()),
        ("density.kept.rows[0][1]", |m| m["density"]["kept"]["rows"][0][1] = 1e30.into()),
        ("density.kept.reach[2]", |m| m["density"]["kept"]["reach"][2] = (-1.0).into()),
        ("density.eps", |m| m["density"]["eps"] = 0.0.into()),
        ("centres[0][0]", |m| m["centres"][0][0] = 50.0.into()),
    ];
    for (field, damage) in cases {
        let mut damaged = model.clone();
        damage(&mut damaged);
        let path = tmp.path().join("damaged.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&damaged).unwrap()).unwrap();
        let predicted = tmp.path().join("p.parquet");
        let args = [
            "predict",
            "--model",
            path.to_str().unwrap(),
            "--input",
            i,
            "--id",
            "id",
            "--out",
            predicted.to_str().unwrap(),
        ];
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 3, "{field}: {stderr}");
        assert!(stderr.contains(field), "{field}: {stderr}");
        assert!(!predicted.exists());
    }
}

#[test]
fn bench_times_the_density_passes() {
    let (code, summary, stderr) =
        run(&["bench", "--algorithm", "hdbscan", "--n", "3000", "--d", "3", "--k", "4", "--min-cluster-size", "20"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((summary["algorithm"].as_str(), summary["mst_algorithm"].as_str()), (Some("hdbscan"), Some("prim")));
    for pass in ["tree", "core_distances", "mst", "labels"] {
        assert!(summary["pass_seconds"][pass].as_f64().is_some_and(|s| s >= 0.0), "{summary}");
    }
    assert!(summary["clusters"].as_u64().is_some_and(|k| k >= 1), "{summary}");
    let (code, _, stderr) = run(&["bench", "--algorithm", "dbscan", "--n", "300", "--d", "2", "--k", "2"]);
    assert_eq!(code, 2, "dbscan needs --eps: {stderr}");
    assert!(stderr.contains("--eps"), "{stderr}");
    // A density bench takes no k: fewer rows than the default k (64) is no error.
    let (code, summary, stderr) =
        run(&["bench", "--algorithm", "dbscan", "--n", "40", "--d", "2", "--eps", "1", "--min-samples", "3"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["n"].as_u64(), Some(40), "{summary}");
}

#[test]
fn exports_of_a_density_fit_keep_outliers_out_of_every_list() {
    let tmp = tempfile::tempdir().unwrap();
    let input = blobs_with_outliers(tmp.path());
    let out = tmp.path().join("out");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let args = ["fit", "--input", i, "--id", "id", "--algorithm", "dbscan", "--eps", "1.5", "--min-samples", "5"];
    let (code, summary, stderr) = run(&[&args[..], &["--scale", "none", "--export", "csv,lists", "--out", o]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["noise"].as_u64(), Some(4), "{summary}");
    let csv = std::fs::read_to_string(out.join("assignments.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 184, "one row per customer");
    assert_eq!(csv.lines().filter(|l| l.split(',').nth(1) == Some("-1")).count(), 4, "{csv}");
    let listed: usize = (0..3)
        .map(|s| std::fs::read_to_string(out.join(format!("lists/segment={s}.csv"))).unwrap().lines().count() - 1)
        .sum();
    assert_eq!(listed, 180, "the outliers are in no list");
}

#[test]
fn sampled_hdbscan_labels_every_row_from_the_sample_and_predict_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let input = blobs_with_outliers(tmp.path());
    let (i, out) = (input.to_str().unwrap(), tmp.path().join("out"));
    let fit =
        ["fit", "--input", i, "--id", "id", "--scale", "none", "--algorithm", "hdbscan", "--min-cluster-size", "10"];
    let sampled = [&fit[..], &["--min-samples", "5", "--sample", "120", "--seed", "3", "--out", out.to_str().unwrap()]];
    let (code, summary, stderr) = run(&sampled.concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((summary["mode"].as_str(), summary["sample_size"].as_u64()), (Some("sampled"), Some(120)), "{summary}");
    assert_eq!((summary["k"].as_u64(), summary["noise"].as_u64()), (Some(3), Some(4)), "{summary}");
    let labels = segments(&read(&out.join("assignments.parquet")));
    assert_eq!(labels.len(), 184);
    assert_eq!(labels[180..], [-1, -1, -1, -1], "the far rows are outliers");
    assert!((0..3).all(|b| labels[b * 60..(b + 1) * 60].iter().all(|&l| l == labels[b * 60] && l >= 0)));
    let model_path = out.join("model.json");
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(&model_path).unwrap()).unwrap();
    assert_eq!(model["density"]["sample"], 120);
    let kept = model["density"]["kept"]["rows"].as_array().unwrap().len();
    assert!(kept <= 120 && kept == model["density"]["kept"]["core_distances"].as_array().unwrap().len());

    let predicted = tmp.path().join("predicted.parquet");
    let predict = ["predict", "--model", model_path.to_str().unwrap(), "--input", i, "--id", "id"];
    let (code, _, stderr) = run(&[&predict[..], &["--out", predicted.to_str().unwrap()]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(segments(&read(&predicted)), labels, "predict assigns as the sampled fit did");

    type Damaging = fn(&mut serde_json::Value);
    let cases: [(&str, Damaging); 3] = [
        ("density.kept.core_distances", |m| m["density"]["kept"]["core_distances"] = serde_json::Value::Null),
        ("density.kept.core_distances[1]", |m| m["density"]["kept"]["core_distances"][1] = (-1.0).into()),
        ("density.sample", |m| m["density"]["sample"] = 1.into()),
    ];
    for (field, damage) in cases {
        let mut damaged = model.clone();
        damage(&mut damaged);
        let path = tmp.path().join("damaged.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&damaged).unwrap()).unwrap();
        let p = tmp.path().join("p.parquet");
        let args =
            ["predict", "--model", path.to_str().unwrap(), "--input", i, "--id", "id", "--out", p.to_str().unwrap()];
        let (code, _, stderr) = run(&args);
        assert_eq!(code, 3, "{field}: {stderr}");
        assert!(stderr.contains(field) && !p.exists(), "{field}: {stderr}");
    }
    for args in [&["--min-samples", "5", "--sample", "3"][..], &["--sample", "0"]] {
        let fresh = tmp.path().join("refused");
        let (code, _, stderr) = run(&[&fit[..], args, &["--out", fresh.to_str().unwrap()]].concat());
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains("--sample") && !fresh.exists(), "{args:?}: {stderr}");
    }
    let unused = tmp.path().join("unused");
    let kmeans = ["fit", "--input", i, "--id", "id", "--k", "3", "--sample", "50", "--out", unused.to_str().unwrap()];
    let (code, _, stderr) = run(&kmeans);
    assert!(code == 2 && stderr.contains("--sample"), "{stderr}");
}
