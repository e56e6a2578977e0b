//! `fit --previous`: stable segment ids, migration and drift across runs, and the errors
//! of a previous folder that cannot be followed. The cases that run on every backend are in
//! `suite/continuity.rs`; the helpers here build the nights they compare.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, Int64Array, StringArray, UInt32Array, UInt64Array};
use custseg::rng::Rng;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::{arr, custseg, outcome, write_parquet};

/// Four well separated groups of `n` customers (ids from `first_id`), in row `order`, each
/// feature multiplied by (1 + `noise` · N(0, 1)); `extra` more customers far from all four
/// (ids after the base ones). Features: spend, visits, tenure and a channel.
pub fn night(dir: &Path, name: &str, n: usize, noise: f64, shuffle: u64, extra: usize) -> PathBuf {
    let mut rng = Rng::new(11);
    let centres = [[100.0, 5.0, 30.0], [600.0, 25.0, 40.0], [100.0, 30.0, 300.0], [700.0, 4.0, 320.0]];
    let mut rows: Vec<(i64, [f64; 3], &str)> = (0..n)
        .map(|i| {
            let c = centres[i % 4];
            let f = [c[0] + 25.0 * rng.normal(), c[1] + 2.0 * rng.normal(), c[2] + 10.0 * rng.normal()];
            (i as i64, f, ["web", "store"][(i / 4) % 2])
        })
        .collect();
    rows.extend((0..extra).map(|i| {
        let f = [1500.0 + 25.0 * rng.normal(), 60.0 + 2.0 * rng.normal(), 700.0 + 10.0 * rng.normal()];
        ((n + i) as i64, f, "web")
    }));
    let mut perturb = Rng::new(shuffle.wrapping_add(101));
    for row in &mut rows {
        for v in &mut row.1 {
            *v *= 1.0 + noise * perturb.normal();
        }
    }
    if shuffle > 0 {
        let mut order = Rng::new(shuffle);
        for i in (1..rows.len()).rev() {
            rows.swap(i, order.below(i as u64 + 1) as usize);
        }
    }
    let path = dir.join(format!("{name}.parquet"));
    let column = |j: usize| arr(Float64Array::from_iter_values(rows.iter().map(|r| r.1[j])));
    write_parquet(
        &path,
        vec![
            ("customer_id", arr(Int64Array::from_iter_values(rows.iter().map(|r| r.0)))),
            ("spend", column(0)),
            ("visits", column(1)),
            ("tenure", column(2)),
            ("channel", arr(StringArray::from_iter_values(rows.iter().map(|r| r.2)))),
        ],
    );
    path
}

/// Runs `fit` on `input` into `out` with `k` and `extra` flags; its exit code, summary
/// (Null when it printed none) and stderr.
pub fn fit(input: &Path, out: &Path, k: usize, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let k = k.to_string();
    let mut args = vec!["fit", "--input", input.to_str().unwrap(), "--id", "customer_id", "--k", &k];
    args.extend_from_slice(&["--categorical", "channel", "--log1p", "spend", "--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = outcome(&custseg(&args));
    (code, serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null), stderr)
}

/// `fit` that must succeed.
pub fn fit_ok(input: &Path, out: &Path, k: usize, extra: &[&str]) -> serde_json::Value {
    let (code, summary, stderr) = fit(input, out, k, extra);
    assert_eq!(code, 0, "{stderr}");
    summary
}

/// customer_id → segment of an assignments file.
pub fn segments(path: &Path) -> HashMap<i64, u32> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let mut out = HashMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let ids = batch.column_by_name("customer_id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
        let segs = batch.column_by_name("segment").unwrap().as_any().downcast_ref::<UInt32Array>().unwrap().clone();
        out.extend((0..batch.num_rows()).map(|i| (ids.value(i), segs.value(i))));
    }
    out
}

/// The rows of migration.parquet: (from, to) → (customers, share).
pub fn migration(dir: &Path) -> HashMap<(String, String), (u64, f64)> {
    let file = std::fs::File::open(dir.join("migration.parquet")).unwrap();
    let mut out = HashMap::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap() {
        let batch = batch.unwrap();
        let text =
            |name: &str| batch.column_by_name(name).unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let (from, to) = (text("from_segment"), text("to_segment"));
        let customers =
            batch.column_by_name("customers").unwrap().as_any().downcast_ref::<UInt64Array>().unwrap().clone();
        let share = batch.column_by_name("share").unwrap().as_any().downcast_ref::<Float64Array>().unwrap().clone();
        for i in 0..batch.num_rows() {
            out.insert((from.value(i).to_string(), to.value(i).to_string()), (customers.value(i), share.value(i)));
        }
    }
    out
}

/// Share of the customers in both maps whose segment is the same.
pub fn kept_share(before: &HashMap<i64, u32>, after: &HashMap<i64, u32>) -> f64 {
    let both: Vec<_> = before.iter().filter_map(|(id, s)| after.get(id).map(|t| s == t)).collect();
    both.iter().filter(|&&same| same).count() as f64 / both.len() as f64
}

/// A copy of run `from` in `to` whose model lists its segments in `order` (ids, centres,
/// sizes, profiles and the mixture moved together).
pub fn permuted_run(from: &Path, to: &Path, order: &[usize]) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("assignments.parquet"), to.join("assignments.parquet")).unwrap();
    let mut model: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from.join("model.json")).unwrap()).unwrap();
    let permute = |v: &serde_json::Value| serde_json::Value::Array(order.iter().map(|&i| v[i].clone()).collect());
    for key in ["centres", "centres_original", "segment_ids", "segment_sizes", "segment_weights", "profiles"] {
        model[key] = permute(&model[key]);
    }
    if model["algorithm"] == "gmm" {
        let mixture = model["gmm"]["mixture"].clone();
        let d = mixture["dim"].as_u64().unwrap() as usize;
        let blocks = |v: &serde_json::Value, size: usize| {
            let all = v.as_array().unwrap();
            serde_json::Value::Array(order.iter().flat_map(|&i| all[i * size..(i + 1) * size].to_vec()).collect())
        };
        let cov_block = match mixture["covariance"].as_str().unwrap() {
            "full" => d * d,
            "diag" => d,
            "spherical" => 1,
            other => panic!("no permutation written for {other}"),
        };
        model["gmm"]["mixture"]["weights"] = permute(&mixture["weights"]);
        model["gmm"]["mixture"]["means"] = blocks(&mixture["means"], d);
        model["gmm"]["mixture"]["covariances"] = blocks(&mixture["covariances"], cov_block);
        model["gmm"]["covariances_original"] = permute(&model["gmm"]["covariances_original"]);
    }
    std::fs::write(to.join("model.json"), serde_json::to_vec_pretty(&model).unwrap()).unwrap();
}

#[test]
fn a_previous_folder_that_cannot_be_followed_is_exit_3_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let input = night(dir.path(), "base", 400, 0.0, 0, 0);
    let day1 = dir.path().join("day1");
    fit_ok(&input, &day1, 4, &["--backend", "cpu"]);
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let text = std::fs::read_to_string(day1.join("model.json")).unwrap();
    std::fs::write(damaged.join("model.json"), &text[..text.len() / 2]).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let cases: [(&Path, &[&str], &str); 5] = [
        (&damaged, &[], "not a custseg model"),
        (&empty, &[], "has no model.json"),
        (&day1, &["--features", "spend,visits"], "features"),
        (&day1, &["--algorithm", "gmm"], "gmm"),
        (&day1, &["--log1p", "visits"], "log1p"),
    ];
    for (i, (previous, extra, needle)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let mut args = vec!["--backend", "cpu", "--previous", previous.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, summary, stderr) = fit(&input, &out, 4, &args);
        assert_eq!(code, 3, "case {i}: {stderr}");
        assert!(summary.is_null(), "case {i}: {summary}");
        assert!(stderr.contains(needle) && stderr.contains("--previous"), "case {i}: wanted '{needle}' in {stderr}");
        assert!(!out.exists(), "case {i}: {} was written", out.display());
    }
    // Flags that make no sense without --previous, or fight it.
    for (extra, needle) in [
        (vec!["--keep-prep"], "--keep-prep"),
        (vec!["--match-threshold", "-1"], "--match-threshold"),
        (vec!["--previous", day1.to_str().unwrap(), "--init-centroids", input.to_str().unwrap()], "--init-centroids"),
    ] {
        let out = dir.path().join("refused");
        let (code, _, stderr) = fit(&input, &out, 4, &[&["--backend", "cpu"][..], &extra].concat());
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{stderr}");
        assert!(!out.exists());
    }
    let select_k = dir.path().join("select-k");
    let (code, _, stderr) = outcome(&custseg(&[
        "select-k",
        "--input",
        input.to_str().unwrap(),
        "--k",
        "2..3",
        "--out",
        select_k.to_str().unwrap(),
        "--backend",
        "cpu",
        "--previous",
        day1.to_str().unwrap(),
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--previous") && stderr.contains("for fit"), "{stderr}");
    assert!(!select_k.exists());
}

#[test]
fn fewer_segments_retire_an_id_and_predict_writes_the_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 800, 0.0, 0, 0);
    let day1 = dir.path().join("day1");
    fit_ok(&base, &day1, 4, &["--backend", "cpu"]);
    let before = segments(&day1.join("assignments.parquet"));
    // The next night one group has left: three segments, and the one left has no match.
    let three = dir.path().join("three.parquet");
    let ids: Vec<i64> = (0..800).filter(|i| i % 4 != 1).collect();
    let lost = before[&1];
    filter_rows(&base, &three, &ids);
    let day2 = dir.path().join("day2");
    let summary = fit_ok(&three, &day2, 3, &["--backend", "cpu", "--previous", day1.to_str().unwrap(), "--report"]);
    let continuity = &summary["continuity"];
    assert_eq!(continuity["retired"], serde_json::json!([lost]), "{continuity}");
    assert_eq!(continuity["new"], serde_json::json!([]), "{continuity}");
    assert_eq!(continuity["next_segment_id"], 4, "{continuity}");
    let mut kept: Vec<u32> = (0..4).filter(|&s| s != lost).collect();
    kept.sort_unstable();
    assert_eq!(summary["segment_ids"], serde_json::json!(kept), "{summary}");
    let after = segments(&day2.join("assignments.parquet"));
    assert_eq!(kept_share(&before, &after), 1.0);
    let flows = migration(&day2);
    assert_eq!(flows[&(lost.to_string(), "gone".to_string())], (200, 1.0), "{flows:?}");
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(day2.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["segment_ids"], serde_json::json!(kept));
    let profile_ids: Vec<u64> =
        model["profiles"].as_array().unwrap().iter().map(|p| p["segment"].as_u64().unwrap()).collect();
    assert_eq!(profile_ids, kept.iter().map(|&s| s as u64).collect::<Vec<_>>());
    // The report has the "since the last run" section and names segments by id.
    let html = std::fs::read_to_string(day2.join("report.html")).unwrap();
    for needle in [
        "Since the last run: who moved where",
        "id=\"migration\"",
        "id=\"size-changes\"",
        "id=\"drift\"",
        "<th>gone</th>",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }
    for id in &kept {
        assert!(html.contains(&format!("segment {id}")), "the report's legend lacks segment {id}");
    }
    // predict with that model writes the same stable ids, and none other.
    let predicted = dir.path().join("predicted.parquet");
    let (code, summary, stderr) = outcome(&custseg(&[
        "predict",
        "--model",
        day2.join("model.json").to_str().unwrap(),
        "--input",
        three.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
        "--backend",
        "cpu",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(segments(&predicted), after, "{summary}");
}

/// Copies the rows of `from` whose customer_id is in `keep` to `to`.
fn filter_rows(from: &Path, to: &Path, keep: &[i64]) {
    let keep: std::collections::HashSet<i64> = keep.iter().copied().collect();
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(from).unwrap()).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
    let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
    let ids = batch.column_by_name("customer_id").unwrap().as_any().downcast_ref::<Int64Array>().unwrap().clone();
    let mask =
        arrow::array::BooleanArray::from((0..ids.len()).map(|i| keep.contains(&ids.value(i))).collect::<Vec<_>>());
    let filtered = arrow::compute::filter_record_batch(&batch, &mask).unwrap();
    let columns = filtered
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .zip(filtered.columns().to_vec())
        .collect::<Vec<_>>();
    write_parquet(to, columns.iter().map(|(n, c)| (n.as_str(), c.clone())).collect());
}

#[test]
fn drift_at_fail_on_drift_exits_6_with_every_output_written() {
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 1000, 0.0, 0, 0);
    let day1 = dir.path().join("day1");
    fit_ok(&base, &day1, 4, &["--backend", "cpu"]);
    let previous = ["--backend", "cpu", "--previous", day1.to_str().unwrap()];
    // Everyone's spend tripled: significant drift.
    let shifted = night(dir.path(), "shifted", 1000, 0.0, 0, 0);
    let batch = {
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&shifted).unwrap()).unwrap().build().unwrap();
        let batches: Vec<_> = reader.map(|b| b.unwrap()).collect();
        arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
    };
    let spend = batch.column_by_name("spend").unwrap().as_any().downcast_ref::<Float64Array>().unwrap();
    let tripled = arr(Float64Array::from_iter_values(spend.values().iter().map(|v| 3.0 * v)));
    let columns: Vec<(String, arrow::array::ArrayRef)> = batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| (f.name().clone(), if f.name() == "spend" { tripled.clone() } else { c.clone() }))
        .collect();
    write_parquet(&shifted, columns.iter().map(|(n, c)| (n.as_str(), c.clone())).collect());
    let out = dir.path().join("alarm");
    let (code, summary, stderr) = fit(&shifted, &out, 4, &[&previous[..], &["--fail-on-drift", "moderate"]].concat());
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("--fail-on-drift"), "{stderr}");
    let drift = &summary["drift"];
    assert_eq!((drift["level"].as_str(), drift["failed"].as_bool()), (Some("significant"), Some(true)), "{drift}");
    assert!(drift["psi"]["spend"].as_f64().unwrap() >= 0.25, "{drift}");
    assert!(drift["outside_training_range"]["spend"].as_f64().unwrap() > 0.3, "{drift}");
    assert!(drift["psi"]["visits"].as_f64().unwrap() < 0.01, "{drift}");
    for file in ["assignments.parquet", "model.json", "profiles.parquet", "migration.parquet"] {
        assert!(out.join(file).is_file(), "{file} was not written");
    }
    // predict and evaluate measure the same drift from the model's training rows.
    let model = day1.join("model.json");
    let predicted = dir.path().join("predicted.parquet");
    let (code, summary, stderr) = outcome(&custseg(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--input",
        shifted.to_str().unwrap(),
        "--out",
        predicted.to_str().unwrap(),
        "--backend",
        "cpu",
        "--fail-on-drift",
        "significant",
        "--report",
    ]));
    assert_eq!(code, 6, "{stderr}");
    assert!(predicted.is_file(), "predict wrote its assignments");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Since training: drift") && html.contains("id=\"size-changes\""), "predict's report");
    let summary: serde_json::Value = serde_json::from_str(summary.trim()).unwrap();
    assert_eq!(summary["drift"]["level"], "significant", "{summary}");
    assert_eq!(summary["drift"]["psi"]["spend"], drift["psi"]["spend"], "fit and predict measure alike");
    for (input, level) in [(&base, "none"), (&shifted, "significant")] {
        let (code, summary, stderr) = outcome(&custseg(&[
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--backend",
            "cpu",
        ]));
        assert_eq!(code, 0, "{stderr}");
        let summary: serde_json::Value = serde_json::from_str(summary.trim()).unwrap();
        assert_eq!(summary["drift"]["level"], level, "{summary}");
        if level == "none" {
            assert_eq!(summary["drift"]["max_psi"], 0.0, "the training rows themselves: {summary}");
            let changes = summary["drift"]["segment_share_change"].as_array().unwrap();
            assert!(changes.iter().all(|c| c["change"] == 0.0), "{summary}");
        }
    }
    // The same customers again: no alarm.
    let (code, summary, stderr) =
        fit(&base, &dir.path().join("calm"), 4, &[&previous[..], &["--fail-on-drift", "moderate"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((summary["drift"]["max_psi"].as_f64(), summary["drift"]["failed"].as_bool()), (Some(0.0), Some(false)));
}

#[test]
fn keep_prep_reuses_the_previous_prep_in_memory_and_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 1000, 0.0, 0, 0);
    let next = night(dir.path(), "next", 1000, 0.001, 5, 0);
    let day1 = dir.path().join("day1");
    fit_ok(&base, &day1, 4, &["--backend", "cpu"]);
    let prep = |dir: &Path| {
        let model: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("model.json")).unwrap()).unwrap();
        model["prep"].clone()
    };
    for (i, streamed) in [&[][..], &["--memory-budget", "32KiB"][..]].iter().enumerate() {
        let out = dir.path().join(format!("day2-{i}"));
        let summary = fit_ok(
            &next,
            &out,
            4,
            &[&["--backend", "cpu", "--previous", day1.to_str().unwrap(), "--keep-prep"][..], streamed].concat(),
        );
        assert_eq!(summary["continuity"]["prep"], "kept", "{summary}");
        assert_eq!(prep(&out), prep(&day1), "case {i}: the prep was refitted");
        let kept =
            kept_share(&segments(&day1.join("assignments.parquet")), &segments(&out.join("assignments.parquet")));
        assert!(kept >= 0.999, "case {i}: {kept}");
    }
}
