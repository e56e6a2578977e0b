//! A structure-aware fuzz suite for model.json: a small fitted model of every algorithm
//! (K-Means, mini-batch K-Means, GMM, Ward, HDBSCAN, DBSCAN) is mutated (arrays deleted, shortened or grown, signs flipped, NaN as null, ±inf and huge
//! values, zero, strings, other integers for k and format_version, objects swapped for
//! arrays) and run through `predict` and `evaluate` in-process. Errors must be invalid data
//! (exit 3); a panic, an internal error or NaN output is a failure; success only when the
//! mutated model still validates.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::array::{Float64Array, Int64Array, StringArray};
use custseg::cluster::density::{ClusterSelection, DbscanParams, HdbscanParams};
use custseg::cluster::gmm::{CovarianceType, GmmParams};
use custseg::cluster::kmeans::KMeansParams;
use custseg::cluster::ward::{Cut, WardParams};
use custseg::cluster::Segmenter;
use custseg::io::reader::ReadSpec;
use custseg::model::Model;
use custseg::pipeline::{self, BackendChoice, BackendOptions, EvaluateRequest, FitRequest, InputSpec, PredictRequest};
use custseg::prep::{Impute, PrepParams, ScaleKind};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::common::{arr, write_parquet};

/// The input, and the fitted K-Means and GMM models as JSON; fitted once per test binary.
struct Fitted {
    _dir: tempfile::TempDir,
    input: PathBuf,
    kmeans: Value,
    gmm: Value,
    /// Ward in two-level mode (micro-cluster centres and segments to damage).
    ward: Value,
    minibatch: Value,
    /// Density models (kept rows, labels, reach, core distances and scores to damage).
    hdbscan: Value,
    dbscan: Value,
}

impl Fitted {
    /// Every fitted model, named by its algorithm.
    fn models(&self) -> [(&'static str, &Value); 6] {
        [
            ("kmeans", &self.kmeans),
            ("gmm", &self.gmm),
            ("ward", &self.ward),
            ("minibatch-kmeans", &self.minibatch),
            ("hdbscan", &self.hdbscan),
            ("dbscan", &self.dbscan),
        ]
    }
}

fn cpu() -> BackendOptions {
    BackendOptions { choice: BackendChoice::Cpu, ..BackendOptions::default() }
}

fn fitted() -> &'static Fitted {
    static FITTED: OnceLock<Fitted> = OnceLock::new();
    FITTED.get_or_init(|| {
        let dir = tempfile::TempDir::new().unwrap();
        let input = dir.path().join("in.parquet");
        let n = 90;
        write_parquet(
            &input,
            vec![
                ("id", arr(Int64Array::from_iter_values(0..n as i64))),
                (
                    "a",
                    arr(Float64Array::from(
                        (0..n)
                            .map(|i| if i % 11 == 0 { None } else { Some((i % 3) as f64 * 10.0 + i as f64 * 0.1) })
                            .collect::<Vec<_>>(),
                    )),
                ),
                ("b", arr(Float64Array::from((0..n).map(|i| ((i * 37) % 13) as f64 + 1.0).collect::<Vec<_>>()))),
                ("c", arr(StringArray::from((0..n).map(|i| ["x", "y", "z"][i % 3]).collect::<Vec<_>>()))),
            ],
        );
        let fit = |name: &str, segmenter: Segmenter| -> Value {
            let out = dir.path().join(name);
            let request = FitRequest {
                read: ReadSpec {
                    inputs: vec![input.clone()],
                    id: Some("id".into()),
                    features: Some(vec!["a".into(), "b".into()]),
                    categorical: vec!["c".into()],
                    weights: None,
                    batch_rows: 1000,
                },
                prep: PrepParams {
                    impute: Impute::Median,
                    scale: ScaleKind::Zscore,
                    log1p: vec!["b".into()],
                    clip: Some(0.01),
                    dedup: false,
                },
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
                out: out.clone(),
                seed: 1,
                backend: cpu(),
                marketing: Default::default(),
                continuity: Default::default(),
            };
            pipeline::fit(&request).unwrap();
            serde_json::from_slice(&std::fs::read(out.join("model.json")).unwrap()).unwrap()
        };
        let kmeans =
            fit("kmeans", Segmenter::KMeans(KMeansParams { seed: 1, ..KMeansParams::new(3) }.check().unwrap()));
        let gmm = fit(
            "gmm",
            Segmenter::Gmm(GmmParams { seed: 1, ..GmmParams::new(3, CovarianceType::Full) }.check().unwrap()),
        );
        let ward_params = WardParams { micro_clusters: Some(12), seed: 1, ..WardParams::new(Cut::K(3)) };
        let ward = fit("ward", Segmenter::Ward(ward_params.check().unwrap()));
        let minibatch_params = KMeansParams { seed: 1, ..KMeansParams::new(3) }.check().unwrap();
        let minibatch = fit("minibatch", Segmenter::minibatch(minibatch_params, 16).unwrap());
        let hdbscan_params =
            HdbscanParams { min_cluster_size: 10, min_samples: Some(5), selection: ClusterSelection::Eom };
        let hdbscan = fit("hdbscan", Segmenter::Density(hdbscan_params.check().unwrap()));
        let dbscan = fit("dbscan", Segmenter::Density(DbscanParams { eps: 0.8, min_samples: 4 }.check().unwrap()));
        Fitted { _dir: dir, input, kmeans, gmm, ward, minibatch, hdbscan, dbscan }
    })
}

/// One edit to one node of the model's JSON tree.
#[derive(Debug, Clone)]
enum Edit {
    /// Delete the node from its array or object.
    Remove,
    /// An array keeps its first half.
    Shorten,
    /// An array gains a copy of its last element.
    Grow,
    FlipSign,
    /// What serde_json writes for NaN.
    Null,
    Number(f64),
    Integer(i64),
    Text,
    /// An object or array becomes an empty array, a scalar an empty object.
    SwapType,
}

fn edits() -> impl Strategy<Value = Edit> {
    prop_oneof![
        2 => Just(Edit::Remove),
        2 => Just(Edit::Shorten),
        1 => Just(Edit::Grow),
        3 => Just(Edit::FlipSign),
        2 => Just(Edit::Null),
        3 => prop::sample::select(vec![0.0, -1.0, 1e39, -1e39, 1e300, 1e-300, 0.5, 2.0]).prop_map(Edit::Number),
        2 => prop::sample::select(vec![0i64, 1, 2, 3, 4, 99, -1]).prop_map(Edit::Integer),
        1 => Just(Edit::Text),
        1 => Just(Edit::SwapType),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    /// Index into `Fitted::models`.
    model: usize,
    /// (which node, as a fraction of the node list; the edit).
    edits: Vec<(f64, Edit)>,
}

fn cases() -> impl Strategy<Value = Case> {
    (0..6usize, prop::collection::vec((0.0..1.0f64, edits()), 1..4)).prop_map(|(model, edits)| Case { model, edits })
}

/// JSON pointers of every node below the root; the parts predict reads (all but profiles
/// and the input fingerprint) are listed twice, so they are edited more often.
fn nodes(value: &Value) -> Vec<String> {
    fn walk(value: &Value, pointer: String, out: &mut Vec<String>) {
        let children: Vec<(String, &Value)> = match value {
            Value::Object(map) => {
                map.iter().map(|(k, v)| (format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), v)).collect()
            }
            Value::Array(items) => items.iter().enumerate().map(|(i, v)| (format!("{pointer}/{i}"), v)).collect(),
            _ => vec![],
        };
        for (child, v) in children {
            out.push(child.clone());
            if !(child.starts_with("/profiles") || child.starts_with("/input")) {
                out.push(child.clone());
            }
            walk(v, child, out);
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn apply(model: &mut Value, pointer: &str, edit: &Edit) {
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer below the root");
    if let Edit::Remove = edit {
        match model.pointer_mut(parent) {
            Some(Value::Array(items)) => {
                if let Ok(i) = last.parse::<usize>() {
                    if i < items.len() {
                        items.remove(i);
                    }
                }
            }
            Some(Value::Object(map)) => {
                map.remove(&last.replace("~1", "/").replace("~0", "~"));
            }
            _ => {}
        }
        return;
    }
    let Some(node) = model.pointer_mut(pointer) else { return };
    match edit {
        Edit::Remove => unreachable!(),
        Edit::Shorten => {
            if let Value::Array(items) = node {
                items.truncate(items.len() / 2);
            }
        }
        Edit::Grow => {
            if let Value::Array(items) = node {
                if let Some(last) = items.last().cloned() {
                    items.push(last);
                }
            }
        }
        Edit::FlipSign => {
            if let Some(v) = node.as_f64() {
                *node = json!(-v);
            }
        }
        Edit::Null => *node = Value::Null,
        Edit::Number(v) => *node = json!(v),
        Edit::Integer(v) => *node = json!(v),
        Edit::Text => *node = json!("x"),
        Edit::SwapType => *node = if node.is_object() || node.is_array() { json!([]) } else { json!({}) },
    }
}

fn exit_code<T>(outcome: &std::thread::Result<custseg::Result<T>>) -> Option<i32> {
    match outcome {
        Err(_) => None,
        Ok(Ok(_)) => Some(0),
        Ok(Err(e)) => Some(e.exit_code()),
    }
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|r| r.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
}

/// The fitted models as written pass (the fuzz cases start from valid models).
#[test]
fn the_fitted_models_validate_and_predict() {
    let fitted = fitted();
    let dir = tempfile::TempDir::new().unwrap();
    for (name, model) in fitted.models() {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(model).unwrap()).unwrap();
        Model::load(&path).unwrap();
        let request = PredictRequest {
            model: path,
            input: InputSpec { inputs: vec![fitted.input.clone()], id: None, batch_rows: 16 },
            out: dir.path().join(format!("{name}.parquet")),
            probabilities: true,
            backend: cpu(),
            exports: vec![],
            fail_on_drift: None,
            report: false,
        };
        pipeline::predict(&request).unwrap();
    }
}

proptest! {
    // CI runs 200 cases; CUSTSEG_FUZZ_CASES=100000 runs it for a while.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("CUSTSEG_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("tests/model-fuzz-regressions.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_models_are_refused_as_invalid_data_never_a_panic_or_nan(case in cases()) {
        let fitted = fitted();
        let mut model = fitted.models()[case.model].1.clone();
        for (at, edit) in &case.edits {
            let nodes = nodes(&model);
            if nodes.is_empty() {
                break;
            }
            let pointer = nodes[((at * nodes.len() as f64) as usize).min(nodes.len() - 1)].clone();
            apply(&mut model, &pointer, edit);
        }
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("model.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&model).unwrap()).unwrap();
        let valid = catch_unwind(|| Model::load(&path));
        prop_assert!(valid.is_ok(), "Model::load panicked on {case:?}");
        let valid = valid.unwrap().is_ok();
        let input = InputSpec { inputs: vec![fitted.input.clone()], id: None, batch_rows: 16 };
        let out_dir = dir.path().join("out");
        let out = out_dir.join("p.parquet");
        let predict = PredictRequest { model: path.clone(), input: input.clone(), out: out.clone(), probabilities: true, backend: cpu(), fail_on_drift: None, report: false, exports: vec![] };
        let evaluate = EvaluateRequest { model: path.clone(), input, silhouette_sample: 40, seed: 1, backend: cpu(), fail_on_drift: None };
        let predicted = catch_unwind(AssertUnwindSafe(|| pipeline::predict(&predict)));
        let evaluated = catch_unwind(AssertUnwindSafe(|| pipeline::evaluate(&evaluate)));
        for (command, code, message) in [
            ("predict", exit_code(&predicted), predicted.as_ref().ok().and_then(|r| r.as_ref().err()).map(|e| e.to_string())),
            ("evaluate", exit_code(&evaluated), evaluated.as_ref().ok().and_then(|r| r.as_ref().err()).map(|e| e.to_string())),
        ] {
            prop_assert!(code.is_some(), "{command} panicked on {case:?}");
            let code = code.unwrap();
            prop_assert!(code == 0 || code == 3, "{command} exited {code} on {case:?}: {message:?}");
            prop_assert!(valid || code == 3, "{command} accepted a model Model::load refuses: {case:?}");
        }
        if exit_code(&predicted) != Some(0) {
            prop_assert!(!out.exists() && leftovers(&out_dir).is_empty(), "predict left {:?} on {case:?}", leftovers(&out_dir));
        }
    }
}
