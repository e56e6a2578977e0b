//! `predict` and `evaluate`: a saved model's prep and segments applied to new rows.

use std::path::PathBuf;
use std::time::Instant;

use arrow::datatypes::DataType;
use serde_json::{json, Value};

use super::assign::{write_assignments, AssignmentTarget};
use super::engine::{BackendOptions, Engine};
use super::marketing::{export_targets, remove_stale_outputs, stage_exports};
use super::{merge_json, secs, ASSIGNMENTS_FILE};
use crate::cluster::fitted::Score;
use crate::continuity::drift::{self, Drift, DriftLevel};
use crate::error::{Error, Param, Result};
use crate::eval::metrics;
use crate::io::atomic::remove_stale_temp_files;
use crate::io::export::{Export, ASSIGNMENTS_CSV};
use crate::io::names::display_names;
use crate::io::paths::{assignments_target, ensure_not_fit_output, ensure_not_input, OutputFolder};
use crate::io::reader::{self, ReadSpec};
use crate::model::Model;
use crate::prep::{row_masks, Duplicates, Prepared};

/// Which rows to read.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// Parquet files or folders.
    pub inputs: Vec<PathBuf>,
    /// Id column (default: the model's).
    pub id: Option<String>,
    /// Rows per read batch.
    pub batch_rows: usize,
}

/// A `predict` request.
#[derive(Debug, Clone)]
pub struct PredictRequest {
    pub model: PathBuf,
    pub input: InputSpec,
    pub out: PathBuf,
    /// Mixtures: write every component's probability too.
    pub probabilities: bool,
    pub backend: BackendOptions,
    /// CSV exports beside the assignments.
    pub exports: Vec<Export>,
    /// Fail (exit 6, outputs written) when drift from the training rows reaches this.
    pub fail_on_drift: Option<DriftLevel>,
    /// Also write report.html next to the assignments.
    pub report: bool,
}

/// An `evaluate` request.
#[derive(Debug, Clone)]
pub struct EvaluateRequest {
    pub model: PathBuf,
    pub input: InputSpec,
    /// Rows for the silhouette (exact below, sampled above); 0 skips it.
    pub silhouette_sample: usize,
    pub seed: u64,
    pub backend: BackendOptions,
    /// Fail (exit 6) when drift from the training rows reaches this.
    pub fail_on_drift: Option<DriftLevel>,
}

/// Rows read with the columns a model needs, prepared by its prep.
pub struct ModelInput {
    pub prepared: Prepared,
    pub id_name: String,
    pub id_type: DataType,
    pub files: Vec<String>,
}

/// Reads `input` with the columns `model` needs and applies its prep.
pub fn read_for_model(model: &Model, input: &InputSpec) -> Result<ModelInput> {
    let spec = ReadSpec {
        inputs: input.inputs.clone(),
        id: input.id.clone().or_else(|| model.id_column.clone()),
        features: Some(model.prep.numeric.iter().map(|c| c.name.clone()).collect()),
        categorical: model.prep.categorical.iter().map(|c| c.name.clone()).collect(),
        weights: None,
        batch_rows: input.batch_rows.max(1),
    };
    let (rows, columns) = reader::plan(&spec)?;
    let full = matches!(model.segmenter, crate::model::SavedSegmenter::Gmm { .. });
    crate::resources::ensure_fits(
        format!("predicting {rows} rows × {columns} columns"),
        crate::resources::fit_estimate(rows, columns, model.k as u64, full),
    )?;
    let table = reader::read(&spec)?;
    let id_name = spec.id.clone().unwrap_or_else(|| "row".into());
    let id_type = table.batches[0].ids.data_type().clone();
    let files: Vec<String> = table.files.iter().map(|f| f.path.clone()).collect();
    let masks = row_masks(&table, model.prep.impute, Duplicates::Allow)?;
    let prepared = model.prep.apply(table, &masks)?;
    if prepared.data.rows() == 0 {
        return Err(Error::data(files.join(", "), "no rows left after dropping rows with missing values"));
    }
    Ok(ModelInput { prepared, id_name, id_type, files })
}

/// The score keys of a summary: inertia, or the mixture's likelihood (with BIC and AIC
/// when `criteria`).
fn score_json(score: &Score, criteria: bool) -> Value {
    match score {
        Score::Inertia(inertia) => json!({ "inertia": inertia }),
        Score::Likelihood { .. } => {
            let mut v = json!({ "mean_log_likelihood": score.mean_log_likelihood() });
            if let (true, Some((bic, aic))) = (criteria, score.bic_aic()) {
                v["bic"] = json!(bic);
                v["aic"] = json!(aic);
            }
            v
        }
    }
}

/// Drift of the rows `input` from the model's training rows (None for models written
/// before drift references existed), with each segment's share against its training share.
fn drift_from_training(model: &Model, input: &ModelInput, sizes: &[u64], fail_on: Option<DriftLevel>) -> Option<Drift> {
    let Some(reference) = &model.drift_reference else {
        if fail_on.is_some() {
            warn!("the model has no drift reference (written by an older custseg): no drift check; refit to get one");
        }
        return None;
    };
    let ids = model.ids();
    let pairs = |s: &[u64]| ids.iter().copied().zip(s.iter().copied()).collect::<Vec<_>>();
    let shares = drift::share_pairs(&pairs(&model.segment_sizes), &pairs(sizes));
    let measured = drift::measure(reference, &model.prep, &input.prepared.data, shares, fail_on);
    info!("drift from the training rows: max PSI {:.4} ({:?})", measured.max_psi, measured.level);
    if measured.failed {
        warn!("drift reached {} (the run exits {})", Param::FailOnDrift, drift::DRIFT_EXIT_CODE);
    }
    Some(measured)
}

/// The files `predict` may write into a folder `--out` (besides the id lists).
const PREDICT_OUTPUTS: [&str; 3] = [ASSIGNMENTS_FILE, crate::report::REPORT_FILE, ASSIGNMENTS_CSV];

/// Runs `predict` and returns the JSON summary.
pub fn predict(request: &PredictRequest) -> Result<Value> {
    let started = Instant::now();
    let model = Model::load(&request.model)?;
    let segments = model.segments(&request.model)?;
    let mut engine = Engine::open(&request.backend)?;
    let out = assignments_target(&request.out, ASSIGNMENTS_FILE);
    let mut inputs = request.input.inputs.clone();
    inputs.push(request.model.clone());
    let exports = export_targets(&out, &request.exports);
    let report_path = out.with_file_name(crate::report::REPORT_FILE);
    let fit_outputs = model.output_paths(&request.model);
    let written = std::iter::once(&out).chain(exports.csv.iter()).chain(exports.lists.iter());
    for path in written.chain(request.report.then_some(&report_path)) {
        ensure_not_input(path, &inputs)?;
        ensure_not_fit_output(path, &fit_outputs, &request.model)?;
    }
    let folder = match out.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => Some(OutputFolder::create(dir)?),
        None => None,
    };
    remove_stale_temp_files(&out);
    remove_stale_temp_files(&report_path);
    if request.probabilities && !matches!(segments, crate::cluster::Segments::Mixture { .. }) {
        warn!(
            "{} is for Gaussian-mixture models; this {} model writes distances",
            Param::Probabilities,
            model.algorithm()
        );
    }
    let input = read_for_model(&model, &request.input)?;
    let data = &input.prepared.data;
    info!("assigning {} rows to {} segments on {}", data.rows(), model.k, engine.backend.info().backend);
    // Mixtures score in their own pass (before the assignment, as the CPU fallback reruns
    // both); K-Means takes its inertia from the assignment's distances.
    let mixture_score = match segments {
        crate::cluster::Segments::Mixture { .. } => Some(engine.run("the mixture pass", |b| segments.score(b, data))?),
        crate::cluster::Segments::Centres(_)
        | crate::cluster::Segments::Ward(_)
        | crate::cluster::Segments::Density(_) => None,
    };
    let ids = model.ids();
    let name_of_segment = display_names(&model.segment_names, &ids);
    let target = AssignmentTarget {
        path: &out,
        id_name: &input.id_name,
        id_type: &input.id_type,
        ids: &input.prepared.ids,
        probabilities: request.probabilities,
        segment_ids: Some(&ids),
        segment_names: (!model.segment_names.is_empty()).then_some(&name_of_segment),
        holdout: None,
    };
    let written = write_assignments(&mut engine, &segments, data, &target)?;
    let drift = drift_from_training(&model, &input, &written.sizes, request.fail_on_drift);
    // Density models leave outliers unsegmented: the report describes the segmented rows.
    let clustered = super::noise::clustered_rows(data, &written.labels);
    let (shown, shown_labels) = clustered.as_ref().map_or((data, &written.labels), |c| (&c.data, &c.labels));
    let report = match request.report {
        true => Some(super::predict_report::stage_report(
            &mut engine,
            &model,
            &request.model,
            shown,
            shown_labels,
            drift.as_ref(),
            &report_path,
        )?),
        false => None,
    };
    let exported = stage_exports(&written.file, &request.exports, &name_of_segment)?;
    written.file.commit()?;
    let exported = exported.commit()?;
    if let Some(file) = report {
        file.commit()?;
        info!("wrote {}", report_path.display());
    }
    if let Some(folder) = folder {
        folder.keep();
    }
    let removed = match out != request.out {
        // `--out` names a folder: leave no output of an earlier run there beside this one's.
        true => {
            let mut this_run = vec![out.clone()];
            this_run.extend(exported.iter().cloned());
            this_run.extend(request.report.then(|| report_path.clone()));
            remove_stale_outputs(&request.out, &PREDICT_OUTPUTS, &this_run)
        }
        false => Vec::new(),
    };
    let score = mixture_score.unwrap_or(Score::Inertia(written.inertia.unwrap_or(0.0)));
    let info = engine.backend.info();
    info!("wrote {}", out.display());
    let summary = json!({
        "command": "predict",
        "model": request.model.display().to_string(),
        "rows_read": input.prepared.rows_read,
        "rows_used": data.rows(),
        "rows_dropped": input.prepared.dropped_missing,
        "algorithm": model.algorithm(),
        "k": model.k,
        "backend": info.backend,
        "device": info.device,
        "seconds": { "total": secs(started.elapsed().as_secs_f64()) },
        "segment_sizes": written.sizes,
        "segments": segment_sizes(&written.sizes, &model, &ids),
        "outputs": {
            "assignments": out.display().to_string(),
            "report": request.report.then(|| report_path.display().to_string()),
            "csv": exports.csv.map(|p| p.display().to_string()),
            "lists": exports.lists.map(|p| p.display().to_string()),
        },
        "removed_stale_outputs": removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "segment_ids": ids,
        "drift": drift,
    });
    if !exported.is_empty() {
        info!("wrote {} export file(s) beside {}", exported.len(), out.display());
    }
    if segments.has_noise() {
        let noise = json!({ "segment_sizes": written.sizes, "noise": written.noise });
        return Ok(merge_json(summary, noise));
    }
    Ok(merge_json(summary, score_json(&score, false)))
}

/// Each segment's id, name (when the model names it), rows and share of the rows.
fn segment_sizes(sizes: &[u64], model: &Model, ids: &[u32]) -> Vec<Value> {
    let total = sizes.iter().sum::<u64>().max(1) as f64;
    sizes
        .iter()
        .enumerate()
        .map(|(s, &size)| {
            let id = ids[s];
            let mut v = json!({ "segment": id, "size": size, "share": size as f64 / total });
            if let Some(name) = model.segment_names.get(&id) {
                v["name"] = json!(name);
            }
            v
        })
        .collect()
}

/// Runs `evaluate` and returns the JSON summary (it writes nothing else).
pub fn evaluate(request: &EvaluateRequest) -> Result<Value> {
    let started = Instant::now();
    super::request::check_silhouette_sample(request.silhouette_sample)?;
    let model = Model::load(&request.model)?;
    let segments = model.segments(&request.model)?;
    let mut engine = Engine::open(&request.backend)?;
    let input = read_for_model(&model, &request.input)?;
    let data = &input.prepared.data;
    let (labels, score) = engine.run("the assignment pass", |b| segments.labels_and_score(b, data))?;
    // Density models leave outliers unsegmented: the metrics describe the segmented rows.
    let clustered = super::noise::clustered_rows(data, &labels);
    let (scored, scored_labels) = clustered.as_ref().map_or((data, &labels), |c| (&c.data, &c.labels));
    if scored.rows() == 0 {
        return Err(Error::data(
            request.model.display(),
            "no input row falls within reach of the model's segments (every row is an outlier); nothing to evaluate",
        ));
    }
    let scores = engine.run("the segment metrics", |b| {
        metrics::score(b, scored, scored_labels, model.k, request.silhouette_sample.max(2), request.seed)
    })?;
    let mut sizes = vec![0u64; model.k];
    scored_labels.iter().flatten().for_each(|&l| sizes[l as usize] += 1);
    let noise = (data.rows() as u64) - sizes.iter().sum::<u64>();
    let drift = drift_from_training(&model, &input, &sizes, request.fail_on_drift);
    let info = engine.backend.info();
    let summary = json!({
        "command": "evaluate",
        "model": request.model.display().to_string(),
        "algorithm": model.algorithm(),
        "k": model.k,
        "rows_read": input.prepared.rows_read,
        "rows_used": data.rows(),
        "segment_sizes": sizes,
        "noise": segments.has_noise().then_some(noise),
        "segment_ids": model.ids(),
        "drift": drift,
        "metrics": {
            "calinski_harabasz": scores.calinski_harabasz,
            "davies_bouldin": scores.davies_bouldin,
            "silhouette": (request.silhouette_sample > 0).then_some(&scores.silhouette),
        },
        "backend": info.backend,
        "device": info.device,
        "seconds": { "total": secs(started.elapsed().as_secs_f64()) },
    });
    Ok(merge_json(summary, score_json(&score, true)))
}
