//! Data over `--memory-budget`: the prepared rows stream from an on-disk chunk cache; the
//! cache must never outlive the run unless kept. (Streamed = in-memory, byte for byte, runs
//! on every backend in `suite/streaming.rs`.)

use std::path::{Path, PathBuf};

use arrow::array::{Float64Array, Int64Array, StringArray};
use custseg::io::reader::ReadSpec;
use custseg::prep::spill::prepare_to_cache;
use custseg::prep::{Impute, Prep, PrepParams, ScaleKind};
use custseg::rng::Rng;

use crate::common::{arr, custseg, outcome, write_parquet};

/// 3000 customers in three groups, a few missing values, weights, a region.
pub(crate) fn customers(dir: &Path) -> PathBuf {
    let path = dir.join("customers.parquet");
    let mut rng = Rng::new(5);
    let n = 3000;
    let group = |i: usize| (i % 3) as f64;
    let spend: Vec<f64> = (0..n).map(|i| 100.0 + 400.0 * group(i) + 30.0 * rng.normal()).collect();
    let visits: Vec<Option<f64>> =
        (0..n).map(|i| if i % 97 == 0 { None } else { Some(5.0 + 20.0 * group(i) + 3.0 * rng.normal()) }).collect();
    let region: Vec<&str> = (0..n).map(|i| ["north", "south", "east"][(i / 3) % 3]).collect();
    let weight: Vec<f64> = (0..n).map(|i| 1.0 + (i % 4) as f64).collect();
    write_parquet(
        &path,
        vec![
            ("customer_id", arr(Int64Array::from_iter_values((0..n as i64).map(|i| 7000 + i)))),
            ("spend", arr(Float64Array::from(spend))),
            ("visits", arr(Float64Array::from(visits))),
            ("region", arr(StringArray::from(region))),
            ("weight", arr(Float64Array::from(weight))),
        ],
    );
    path
}

pub(crate) fn fit(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["fit", "--input", input.to_str().unwrap(), "--id", "customer_id", "--k", "3"];
    args.extend_from_slice(&["--categorical", "region", "--batch-rows", "256", "--out", out.to_str().unwrap()]);
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = outcome(&custseg(&args));
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

pub(crate) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn gpu_passes_stream_the_cache_too() {
    let dir = tempfile::tempdir().unwrap();
    let input = customers(dir.path());
    if crate::common::gpu_backend("gpu_passes_stream_the_cache_too").is_none() {
        return;
    }
    let cpu = fit(&input, &dir.path().join("cpu"), &["--backend", "cpu", "--memory-budget", "64KiB"]);
    let gpu = fit(&input, &dir.path().join("gpu"), &["--backend", "gpu", "--memory-budget", "64KiB"]);
    assert_eq!(gpu["backend"], "gpu");
    assert!(gpu["streamed_from_disk"].is_object());
    assert_eq!(cpu["segment_sizes"], gpu["segment_sizes"]);
    let (a, b) = (cpu["inertia"].as_f64().unwrap(), gpu["inertia"].as_f64().unwrap());
    assert!((a - b).abs() <= 1e-5 * a, "inertia cpu {a} vs gpu {b}");
}

#[test]
fn keep_cache_and_cache_dir() {
    let dir = tempfile::tempdir().unwrap();
    let input = customers(dir.path());
    let cache_dir = dir.path().join("cache");
    std::fs::create_dir(&cache_dir).unwrap();
    let out = dir.path().join("out");
    let s = fit(
        &input,
        &out,
        &["--memory-budget", "64KiB", "--cache-dir", cache_dir.to_str().unwrap(), "--keep-cache", "--backend", "cpu"],
    );
    let kept = cache_dir.join("custseg-cache.f32");
    assert_eq!(s["streamed_from_disk"]["cache"], kept.display().to_string());
    assert_eq!(files_in(&cache_dir), vec!["custseg-cache.f32"]);
    // 3000 rows × 5 features (spend, visits, 3 regions) in 64 KiB-aligned chunks of 256 rows.
    let bytes = std::fs::metadata(&kept).unwrap().len();
    assert_eq!(bytes, s["streamed_from_disk"]["cache_bytes"].as_u64().unwrap());
    assert_eq!(bytes, 3000usize.div_ceil(256) as u64 * 64 * 1024);
    assert!(!files_in(&out).iter().any(|f| f.contains("cache")), "the cache went to --cache-dir, not --out");
}

#[test]
fn what_cannot_stream_is_refused_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = customers(dir.path());
    let input = input.to_str().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    for (extra, name) in [
        (vec!["--dedup"], "dedup"),
        (vec!["--stability", "3"], "stability"),
        (vec!["--cache-dir", "/nonexistent/cache"], "cache-dir"),
    ] {
        let mut args = vec!["fit", "--input", input, "--id", "customer_id", "--k", "3", "--out", out_s];
        args.extend_from_slice(&["--memory-budget", "64KiB"]);
        args.extend_from_slice(&extra);
        let (code, _, stderr) = outcome(&custseg(&args));
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        // Nothing written: the output folder the run created is removed again.
        assert!(!out.exists() || files_in(&out).is_empty(), "{name}: nothing written");
    }
}

#[test]
fn a_sampled_prep_is_close_to_the_exact_one() {
    let dir = tempfile::tempdir().unwrap();
    let input = customers(dir.path());
    let spec = ReadSpec {
        inputs: vec![input],
        id: Some("customer_id".into()),
        features: Some(vec!["spend".into(), "visits".into()]),
        categorical: vec!["region".into()],
        weights: None,
        batch_rows: 500,
    };
    let params =
        PrepParams { impute: Impute::Median, scale: ScaleKind::Zscore, log1p: vec![], clip: None, dedup: false };
    let exact = |p: &Prep| p.numeric.iter().map(|c| (c.scaling.center, c.scaling.scale)).collect::<Vec<_>>();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let all = prepare_to_cache(&spec, &params, (3000, 3000), 1, &cache, None, &mut |_| {}).unwrap();
    let sampled = prepare_to_cache(&spec, &params, (3000, 600), 1, &cache, None, &mut |_| {}).unwrap();
    let again = prepare_to_cache(&spec, &params, (3000, 600), 1, &cache, None, &mut |_| {}).unwrap();
    assert_eq!(exact(&sampled.prep), exact(&again.prep), "the sample is seeded");
    assert_ne!(exact(&all.prep), exact(&sampled.prep), "a sample of 600 differs from all 3000 rows");
    for ((m, s), (sm, ss)) in exact(&all.prep).into_iter().zip(exact(&sampled.prep)) {
        // The sample mean is within a few standard errors (σ/√600 ≈ 0.04σ).
        assert!((m - sm).abs() < 0.2 * s, "centre {m} vs sampled {sm} (scale {s})");
        assert!((s - ss).abs() < 0.1 * s, "scale {s} vs sampled {ss}");
    }
    assert_eq!(sampled.prepared.data.rows(), 3000, "every row is prepared, whatever the sample");
    assert_eq!(all.prepared.data.chunks().len(), 6);
}

/// Writes rows `start..start + n` as a file of row groups of `group` rows.
fn write_groups(path: &Path, start: i64, n: usize, group: usize) {
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    let ids: Vec<i64> = (start..start + n as i64).collect();
    let x: Vec<f64> = ids.iter().map(|&i| (i % 4) as f64 * 10.0 + (i % 7) as f64 * 0.1).collect();
    let level: Vec<&str> = ids.iter().map(|&i| ["b", "a", "c"][(i % 3) as usize]).collect();
    let batch = arrow::array::RecordBatch::try_from_iter([
        ("id", arr(Int64Array::from(ids))),
        ("x", arr(Float64Array::from(x))),
        ("level", arr(StringArray::from(level))),
    ])
    .unwrap();
    let props = WriterProperties::builder().set_max_row_group_row_count(Some(group)).build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

#[test]
fn many_files_and_row_groups_decode_in_parallel_and_keep_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("parts");
    std::fs::create_dir(&input).unwrap();
    // Three files (read in name order), 7 row groups in all, of uneven sizes.
    write_groups(&input.join("part-0.parquet"), 0, 1000, 300);
    write_groups(&input.join("part-1.parquet"), 1000, 500, 500);
    write_groups(&input.join("part-2.parquet"), 1500, 700, 250);
    let run = |out: &str, threads: &str| {
        let out = dir.path().join(out);
        let args = ["fit", "--input", input.to_str().unwrap(), "--id", "id", "--categorical", "level", "--k", "4"];
        let (code, stdout, stderr) = outcome(&custseg(
            &[&args[..], &["--threads", threads, "--backend", "cpu", "-o", out.to_str().unwrap()]].concat(),
        ));
        assert_eq!(code, 0, "{stderr}");
        let s: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        (s, std::fs::read(out.join("assignments.parquet")).unwrap(), std::fs::read(out.join("model.json")).unwrap())
    };
    let (s, assignments, model) = run("one", "1");
    assert_eq!(s["rows_read"], 2200);
    let (_, assignments2, model2) = run("two", "2");
    assert!(assignments == assignments2 && model == model2, "the thread count changed the output");
    // Assignments follow the input order across files and row groups.
    let file = std::fs::File::open(dir.path().join("two/assignments.parquet")).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let ids: Vec<i64> = reader
        .flat_map(|b| {
            use arrow::array::AsArray;
            b.unwrap().column_by_name("id").unwrap().as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
        })
        .collect();
    assert_eq!(ids, (0..2200).collect::<Vec<i64>>());
    // Levels are sorted in the model whatever the order they were first seen in.
    let model: serde_json::Value = serde_json::from_slice(&model).unwrap();
    let features: Vec<&str> = model["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(features, vec!["x", "level=a", "level=b", "level=c"]);
}
