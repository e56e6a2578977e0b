//! Ward's hierarchical clustering against SciPy and scikit-learn (reference linkages in
//! tests/fixtures/ward/, made by make_reference.py with scipy 1.17.1, scikit-learn 1.9.1,
//! numpy noted in each file), Fränti's Birch1 in two-level mode, and `fit`/`predict`/
//! `select-k --algorithm ward` end to end.

use std::path::{Path, PathBuf};

use arrow::array::{Float64Array, Int64Array};
use custseg::backend::cpu::CpuBackend;
use custseg::backend::Backend;
use custseg::cluster::ward::{self, Cut, WardFit, WardMode, WardParams};
use custseg::data::Dataset;
use custseg::eval::adjusted_rand_index;
use serde_json::Value;
use tempfile::TempDir;

use crate::cli::{customers, fit_args, summary};
use crate::common::{arr, custseg, data_dir, outcome, read_table, write_parquet};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ward").join(name)
}

pub fn reference(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{name}.json"))).unwrap()).unwrap()
}

pub fn numbers<T: serde::de::DeserializeOwned>(v: &Value) -> Vec<T> {
    serde_json::from_value(v.clone()).unwrap()
}

/// The generated blobs (600 × 3, float32) stored beside their reference.
pub fn blobs() -> Dataset {
    let text = std::fs::read_to_string(fixture("blobs.csv")).unwrap();
    let values: Vec<f32> = text
        .lines()
        .skip(1)
        .flat_map(|l| l.split(',').map(|t| t.parse::<f32>().unwrap()).collect::<Vec<_>>())
        .collect();
    Dataset::from_rows(&values, 3, None, 128)
}

fn fit(data: &Dataset, params: WardParams) -> WardFit {
    ward::fit(&CpuBackend, data, &params.check().unwrap(), &mut |_| {}).unwrap()
}

/// Whether two labelings are the same partition (a bijection between their labels).
pub fn same_partition(a: &[u32], b: &[u32]) -> bool {
    let mut forward = std::collections::HashMap::new();
    let mut backward = std::collections::HashMap::new();
    a.iter().zip(b).all(|(x, y)| *forward.entry(x).or_insert(y) == y && *backward.entry(y).or_insert(x) == x)
}

/// The tree equals SciPy's (same merges, heights to 1e-9 relative, sizes) and the cuts at k
/// and at the threshold equal scikit-learn's partitions.
fn matches_reference(name: &str, data: &Dataset) {
    let r = reference(name);
    assert_eq!(data.rows() as u64, r["rows"].as_u64().unwrap());
    let k = r["k"].as_u64().unwrap() as usize;
    let fitted = fit(data, WardParams::new(Cut::K(k)));
    assert_eq!(fitted.tree.mode, WardMode::Exact);
    let merges = &fitted.tree.linkage.merges;
    let (left, right): (Vec<usize>, Vec<usize>) = (numbers(&r["left"]), numbers(&r["right"]));
    let (height, size): (Vec<f64>, Vec<u64>) = (numbers(&r["height"]), numbers(&r["size"]));
    assert_eq!(merges.len(), height.len());
    let mut worst = 0.0f64;
    for (i, m) in merges.iter().enumerate() {
        assert_eq!((m.left, m.right, m.size), (left[i], right[i], size[i]), "{name}: merge {i}");
        let relative = (m.height - height[i]).abs() / height[i].abs().max(f64::MIN_POSITIVE);
        assert!(m.height == height[i] || relative <= 1e-9, "{name}: merge {i} height {} vs {}", m.height, height[i]);
        worst = worst.max(if m.height == height[i] { 0.0 } else { relative });
    }
    eprintln!("{name}: {} merges equal SciPy's, worst relative height difference {worst:.2e}", merges.len());
    let labels = fitted.segments.fitted.as_ref().unwrap().labels.concat();
    assert!(same_partition(&labels, &numbers::<u32>(&r["labels"])), "{name}: labels at k = {k}");
    let threshold = r["distance_threshold"].as_f64().unwrap();
    let by_height = fit(data, WardParams::new(Cut::Distance(threshold)));
    assert_eq!(by_height.k as u64, r["threshold_clusters"].as_u64().unwrap(), "{name}: k at {threshold}");
    let labels = by_height.segments.fitted.as_ref().unwrap().labels.concat();
    assert!(same_partition(&labels, &numbers::<u32>(&r["threshold_labels"])), "{name}: labels at {threshold}");
}

#[test]
fn exact_ward_equals_scipy_and_scikit_learn_on_generated_blobs() {
    matches_reference("blobs", &blobs());
}

#[test]
fn exact_ward_equals_scipy_and_scikit_learn_on_iris() {
    let Some(dir) = data_dir("ward::iris") else { return };
    let text = std::fs::read_to_string(dir.join("uci/sklearn/iris.csv")).unwrap();
    let values: Vec<f32> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| l.split(',').take(4).map(|t| t.trim().parse::<f32>().unwrap()).collect::<Vec<_>>())
        .collect();
    matches_reference("iris", &Dataset::from_rows(&values, 4, None, 64));
}

#[test]
fn exact_ward_equals_scipy_and_scikit_learn_on_franti_s1() {
    let Some(dir) = data_dir("ward::s1") else { return };
    let rows = read_table(&dir.join("franti/s1.txt"));
    let values: Vec<f32> = rows.iter().step_by(4).flatten().map(|&v| v as f32).collect();
    matches_reference("s1_every_4th", &Dataset::from_rows(&values, 2, None, 500));
}

#[test]
fn two_level_ward_with_every_row_its_own_micro_cluster_is_the_exact_tree_bit_for_bit() {
    let data = blobs();
    // With and without consolidating the cut (two-level mode's default is to consolidate).
    for consolidate in [false, true] {
        let params = WardParams { consolidate: Some(consolidate), ..WardParams::new(Cut::K(5)) };
        let exact = fit(&data, params.clone());
        let two = fit(&data, WardParams { micro_clusters: Some(data.rows()), ..params });
        assert_eq!(two.tree.mode, WardMode::TwoLevel);
        let bits = |f: &WardFit| f.tree.linkage.heights().iter().map(|h| h.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&two), bits(&exact));
        assert_eq!(two.inertia.to_bits(), exact.inertia.to_bits(), "consolidate {consolidate}");
        assert_eq!(two.consolidation, exact.consolidation);
        // Micro-clusters are numbered by their first row: leaf i is row i in both trees.
        assert_eq!(two.tree.linkage, exact.tree.linkage);
        assert_eq!(two.leaf_segments, exact.leaf_segments);
        let labels = |f: &WardFit| {
            custseg::cluster::Segments::Ward(f.segments.clone()).labels(&CpuBackend, &data).unwrap().concat()
        };
        assert_eq!(labels(&two), labels(&exact), "consolidate {consolidate}");
    }
}

#[test]
fn two_level_ward_recovers_birch1() {
    // The default: 100,000 rows > 50,000, so two-level mode with a tenth of the rows as
    // micro-clusters (seeded from all rows: 10,000 × 32 > 100,000), and the cut consolidated.
    birch1(None, 10_000, 0.95);
}

#[test]
fn two_level_ward_seeded_from_a_sample_does_as_well_on_birch1_as_seeded_from_every_row() {
    // 1,000 micro-clusters seed from a sample of 32,000 of the 100,000 rows. Ten leaves a
    // cluster are too coarse for 0.95 whatever the seeding: seeded from every row (the build
    // before sampled seeding, same CLI fit), M = 1,000 scored 0.8943, 2,000 0.9180, 3,000
    // 0.9312; from the sample 0.8933, 0.9131, 0.9283.
    const { assert!(1_000 * ward::SAMPLE_ROWS_PER_MICRO_CLUSTER < 100_000) };
    birch1(Some(1_000), 1_000, 0.8943 - 0.01);
}

/// Two-level Ward on Fränti's Birch1 (100 clusters) with `micro_clusters` (None: the
/// default, expected to be `leaves`): ARI ≥ `min_ari` against the truth, and above the
/// tree's own cut before consolidation.
fn birch1(micro_clusters: Option<usize>, leaves: usize, min_ari: f64) {
    let Some(dir) = data_dir("ward::birch1") else { return };
    let franti = dir.join("franti");
    let values: Vec<f32> = read_table(&franti.join("birch1.txt")).iter().flatten().map(|&v| v as f32).collect();
    let truth: Vec<u32> = read_table(&franti.join("birch1.labels0.gz")).iter().map(|r| r[0] as u32).collect();
    let data = Dataset::from_rows(&values, 2, None, 8192);
    let started = std::time::Instant::now();
    let fitted = fit(&data, WardParams { micro_clusters, ..WardParams::new(Cut::K(100)) });
    assert_eq!((fitted.tree.mode, fitted.tree.linkage.leaves), (WardMode::TwoLevel, leaves));
    let (moved, rounds) = fitted.consolidation.expect("two-level mode consolidates by default");
    // Every row takes the segment of its micro-cluster.
    let segments = custseg::cluster::Segments::Ward(fitted.segments.clone());
    let labels = segments.labels(&CpuBackend, &data).unwrap().concat();
    let ari = adjusted_rand_index(&labels, &truth);
    // The tree's own cut, before consolidation: Ward's bias at the borders (exact Ward on
    // samples of 5,000 and 20,000 rows scores 0.83 and 0.84 with SciPy 1.17.1).
    let tree_cut = ward::cut(&fitted.tree.linkage, 100);
    let micro = fitted.segments.micro.as_ref().unwrap();
    let mut nearest_micro = Vec::new();
    CpuBackend
        .assign(&data, &micro.centres, &mut |_, l, _| {
            nearest_micro.extend_from_slice(l);
            Ok(())
        })
        .unwrap();
    let cut_labels: Vec<u32> = nearest_micro.iter().map(|&m| tree_cut[m as usize]).collect();
    let cut_ari = adjusted_rand_index(&cut_labels, &truth);
    eprintln!(
        "birch1 two-level ({leaves} micro-clusters): ARI {ari:.4} by micro-cluster ({moved} moved by consolidation in {rounds} rounds; {cut_ari:.4} by the tree's cut alone), {:.1}s",
        started.elapsed().as_secs_f64()
    );
    assert!(ari >= min_ari, "ARI {ari} < {min_ari}");
    assert!(cut_ari < ari, "consolidation raises the ARI: {cut_ari} → {ari}");
}

fn run_json(args: &[&str]) -> Value {
    let (code, stdout, stderr) = outcome(&custseg(args));
    assert_eq!(code, 0, "{stderr}");
    summary(&stdout)
}

#[test]
fn fit_ward_writes_the_dendrogram_and_a_model_predict_reproduces() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let (input, out) = (input.to_str().unwrap(), dir.path().join("out"));
    let s = run_json(&fit_args(input, out.to_str().unwrap(), &["--algorithm", "ward", "--backend", "cpu"]));
    assert_eq!(
        (s["algorithm"].as_str(), s["ward_mode"].as_str(), s["k"].as_u64()),
        (Some("ward"), Some("exact"), Some(3))
    );
    assert_eq!(s["leaves"].as_u64(), Some(600));
    assert!(s["consolidated"].is_null(), "exact mode keeps scikit-learn's cut: {}", s["consolidated"]);
    let dendrogram = out.join("dendrogram.parquet");
    assert_eq!(s["outputs"]["dendrogram"].as_str(), Some(dendrogram.to_str().unwrap()));
    let file = std::fs::File::open(&dendrogram).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    let schema = batches[0].schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["left", "right", "height", "size"]);
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 599);
    let model: Value = serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!((model["algorithm"].as_str(), model["ward"]["ward_mode"].as_str()), (Some("ward"), Some("exact")));
    // Three well-separated groups: predicting the training rows gives the fitted segments.
    let predicted = dir.path().join("predicted.parquet");
    run_json(&[
        "predict",
        "--model",
        out.join("model.json").to_str().unwrap(),
        "--input",
        input,
        "--out",
        predicted.to_str().unwrap(),
    ]);
    let segments = |p: &Path| {
        let file = std::fs::File::open(p).unwrap();
        let reader =
            parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        reader
            .flat_map(|b| {
                let b = b.unwrap();
                let c = b
                    .column_by_name("segment")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<arrow::array::UInt32Array>()
                    .unwrap()
                    .clone();
                c.values().to_vec()
            })
            .collect::<Vec<u32>>()
    };
    assert_eq!(segments(&predicted), segments(&out.join("assignments.parquet")));
}

#[test]
fn fit_ward_two_level_records_micro_clusters_and_select_k_cuts_one_tree() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let (input, out) = (input.to_str().unwrap(), dir.path().join("out"));
    let extra = ["--algorithm", "ward", "--micro-clusters", "40", "--backend", "cpu", "--report"];
    let s = run_json(&fit_args(input, out.to_str().unwrap(), &extra));
    assert_eq!((s["ward_mode"].as_str(), s["micro_clusters"].as_u64()), (Some("two-level"), Some(40)));
    let moved = s["consolidated"]["moved"].as_u64().expect("two-level mode consolidates by default");
    assert!(s["consolidated"]["rounds"].is_u64());
    let model: Value = serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["ward"]["micro_centres"].as_array().unwrap().len(), 40);
    assert_eq!(model["ward"]["consolidated"].as_u64(), Some(moved));
    // The report draws the last 29 merges over 30 sized leaves, and the cut.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let figure = &html[html.find("<figure id=\"dendrogram\"><svg").expect("a dendrogram figure")..];
    let figure = &figure[..figure.find("</figure>").unwrap()];
    assert!(figure.contains("The last 29 merges of the Ward tree over 40 leaves"), "{figure}");
    assert!(figure.contains("cut into 3 segments"), "{figure}");
    assert!(figure.matches("&gt;").count() == 0 && figure.matches('(').count() >= 30, "sized leaves: {figure}");
    let select = dir.path().join("select");
    let s = run_json(&[
        "select-k",
        "--input",
        input,
        "--id",
        "customer_id",
        "--k",
        "2..5",
        "--algorithm",
        "ward",
        "--out",
        select.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert_eq!((s["algorithm"].as_str(), s["recommended_k"].as_u64()), (Some("ward"), Some(3)));
    let inertia: Vec<f64> = s["table"].as_array().unwrap().iter().map(|r| r["inertia"].as_f64().unwrap()).collect();
    assert!(inertia.windows(2).all(|w| w[1] <= w[0]), "cuts of one tree: inertia falls with k: {inertia:?}");
}

#[test]
fn a_ward_cut_by_height_finds_k_and_bad_cuts_are_usage_errors_with_nothing_written() {
    let dir = TempDir::new().unwrap();
    let input = customers(dir.path());
    let input = input.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let base = ["fit", "--input", input, "--id", "customer_id", "--out", out, "--backend", "cpu"];
    let with = |extra: &[&'static str]| [&base[..], extra].concat();
    let s = run_json(&with(&["--algorithm", "ward", "--distance-threshold", "20"]));
    assert_eq!(s["k"].as_u64(), Some(3), "{s}");
    assert!(s["cut_height"]["kept"].as_f64().unwrap() < 20.0 && s["cut_height"]["undone"].as_f64().unwrap() >= 20.0);
    std::fs::remove_dir_all(out).unwrap();
    for (extra, needle) in [
        (&["--algorithm", "ward"][..], "is required with --algorithm ward"),
        (&["--algorithm", "ward", "--k", "3", "--distance-threshold", "2"][..], "give one of them"),
        (&["--algorithm", "ward", "--distance-threshold", "-1"][..], "--distance-threshold"),
        (&["--algorithm", "kmeans", "--k", "3", "--distance-threshold", "2"][..], "is for --algorithm ward"),
        (&["--algorithm", "ward", "--k", "3", "--micro-clusters", "0"][..], "--micro-clusters"),
        (&["--algorithm", "kmeans", "--k", "3", "--consolidate", "true"][..], "is for --algorithm ward"),
        (&["--algorithm", "ward", "--k", "601"][..], "decrease k"),
    ] {
        let (code, _, stderr) = outcome(&custseg(&with(extra)));
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: wanted '{needle}' in {stderr}");
        assert!(!Path::new(out).join("model.json").exists() && !Path::new(out).join("dendrogram.parquet").exists());
    }
}

#[test]
fn exact_ward_refuses_rows_of_weight_zero_naming_the_column() {
    let dir = TempDir::new().unwrap();
    let input = dir.path().join("in.parquet");
    let n = 20;
    write_parquet(
        &input,
        vec![
            ("id", arr(Int64Array::from_iter_values(0..n))),
            ("x", arr(Float64Array::from_iter_values((0..n).map(|i| i as f64)))),
            ("w", arr(Float64Array::from_iter_values((0..n).map(|i| if i == 7 { 0.0 } else { 1.0 })))),
        ],
    );
    let out = dir.path().join("out");
    let (code, _, stderr) = outcome(&custseg(&[
        "fit",
        "--input",
        input.to_str().unwrap(),
        "--id",
        "id",
        "--weights",
        "w",
        "--algorithm",
        "ward",
        "--k",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("--weights") && stderr.contains("row 7 weighs 0"), "{stderr}");
    assert!(!out.join("model.json").exists());
}

#[test]
fn two_level_ward_streamed_past_the_memory_budget_writes_the_same_bytes_as_in_memory() {
    let dir = TempDir::new().unwrap();
    let input = crate::streaming::customers(dir.path());
    let ward = ["--algorithm", "ward", "--micro-clusters", "60", "--backend", "cpu"];
    let in_memory = crate::streaming::fit(&input, &dir.path().join("memory"), &ward);
    let streamed = crate::streaming::fit(
        &input,
        &dir.path().join("streamed"),
        &[&ward[..], &["--memory-budget", "64KiB"]].concat(),
    );
    assert!(in_memory["streamed_from_disk"].is_null() && streamed["streamed_from_disk"].is_object());
    assert_eq!(streamed["ward_mode"].as_str(), Some("two-level"));
    for file in ["assignments.parquet", "dendrogram.parquet", "model.json"] {
        let read = |run: &str| std::fs::read(dir.path().join(run).join(file)).unwrap();
        assert!(read("memory") == read("streamed"), "{file} differs when streamed");
    }
}

/// `dendrogram.parquet` as (left, right, height, size) rows.
fn read_dendrogram(path: &Path) -> Vec<(u64, u64, f64, u64)> {
    use arrow::array::{AsArray, RecordBatch};
    use arrow::datatypes::{Float64Type, UInt64Type};
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let mut rows = Vec::new();
    for b in &batches {
        let u = |name: &str| b.column_by_name(name).unwrap().as_primitive::<UInt64Type>().values().to_vec();
        let heights = b.column_by_name("height").unwrap().as_primitive::<Float64Type>().values().to_vec();
        let (left, right, size) = (u("left"), u("right"), u("size"));
        rows.extend((0..b.num_rows()).map(|i| (left[i], right[i], heights[i], size[i])));
    }
    rows
}

#[test]
fn two_level_ward_builds_the_same_tree_on_cpu_and_gpu() {
    if crate::common::gpu_backend("ward::two_level_ward_builds_the_same_tree_on_cpu_and_gpu").is_none() {
        return;
    }
    let dir = TempDir::new().unwrap();
    let input = crate::streaming::customers(dir.path());
    let run = |backend: &str| {
        let extra = ["--algorithm", "ward", "--micro-clusters", "60", "--backend", backend];
        crate::streaming::fit(&input, &dir.path().join(backend), &extra)
    };
    let (cpu, gpu) = (run("cpu"), run("gpu"));
    assert_eq!((cpu["backend"].as_str(), gpu["backend"].as_str()), (Some("cpu"), Some("gpu")));
    assert_eq!(cpu["segment_sizes"], gpu["segment_sizes"]);
    let (a, b) = (
        read_dendrogram(&dir.path().join("cpu/dendrogram.parquet")),
        read_dendrogram(&dir.path().join("gpu/dendrogram.parquet")),
    );
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!((x.0, x.1, x.3, x.2.to_bits()), (y.0, y.1, y.3, y.2.to_bits()), "merge {i}");
    }
    let segments = |backend: &str| read_segments(&dir.path().join(backend).join("assignments.parquet"));
    assert_eq!(segments("cpu"), segments("gpu"), "every row's segment");
    eprintln!("two-level Ward on cpu and gpu: the same {} merges bit for bit, the same labels", a.len());
}

/// The `segment` column of an assignments file.
fn read_segments(path: &Path) -> Vec<u32> {
    use arrow::array::AsArray;
    use arrow::datatypes::UInt32Type;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    reader
        .flat_map(|b| b.unwrap().column_by_name("segment").unwrap().as_primitive::<UInt32Type>().values().to_vec())
        .collect()
}

#[test]
fn ward_with_previous_keeps_each_customers_segment_id_across_nights() {
    use crate::continuity::{fit_ok, kept_share, night, segments};
    let dir = TempDir::new().unwrap();
    // Night two: the same four groups, noisier and in another row order, so Ward (which
    // numbers segments by their first row) numbers them otherwise by itself.
    let (monday, tuesday) =
        (night(dir.path(), "monday", 400, 0.0, 0, 0), night(dir.path(), "tuesday", 400, 0.02, 7, 0));
    let (first, alone, followed) = (dir.path().join("first"), dir.path().join("alone"), dir.path().join("followed"));
    for micro in [None, Some("40")] {
        let mut ward = vec!["--algorithm", "ward", "--backend", "cpu"];
        ward.extend(micro.iter().flat_map(|m| ["--micro-clusters", *m]));
        fit_ok(&monday, &first, 4, &ward);
        fit_ok(&tuesday, &alone, 4, &ward);
        let s = fit_ok(&tuesday, &followed, 4, &[&ward[..], &["--previous", first.to_str().unwrap()]].concat());
        let monday_ids = segments(&first.join("assignments.parquet"));
        assert!(
            kept_share(&monday_ids, &segments(&alone.join("assignments.parquet"))) < 1.0,
            "{micro:?}: renumbered alone"
        );
        assert_eq!(kept_share(&monday_ids, &segments(&followed.join("assignments.parquet"))), 1.0, "{micro:?}: {s}");
        assert!(s["continuity"].is_object(), "{s}");
        for out in [&first, &alone, &followed] {
            std::fs::remove_dir_all(out).unwrap();
        }
    }
}
