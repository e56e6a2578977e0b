//! `fit`: read → prep → fit → assignments → metrics, stability, profiles, report →
//! assignments.parquet, profiles.parquet, model.json (+ report.html) and the summary.

use std::path::PathBuf;
use std::time::Instant;

use serde_json::{json, Value};

use super::assign::{write_assignments, AssignmentTarget};
use super::continuity;
use super::engine::Engine;
use super::fit_summary::{log_scores, report_facts, segment_summary};
use super::marketing::{export_targets, relative_names, remove_stale_outputs, stage_exports};
use super::request::FitRequest;
use super::stage::{read_and_prepare_with, Stage};
use super::train::{self, Trained};
use super::{merge_json, secs, ASSIGNMENTS_FILE, MODEL_FILE, PROFILES_FILE};
use crate::backend::Centres;
use crate::cluster::AlgorithmFit;
use crate::continuity::migration::MIGRATION_FILE;
use crate::continuity::warm::SpaceMap;
use crate::data::Dataset;
use crate::error::{Error, Param, Result};
use crate::eval::stability::Stability;
use crate::explain::rules::{RuleSet, SegmentLabels};
use crate::io::atomic::{remove_stale_temp_files, stage_bytes};
use crate::io::dendrogram::{write_dendrogram, DENDROGRAM_FILE};
use crate::io::export::{list_file, ASSIGNMENTS_CSV};
use crate::io::names::{check_known, display_names, given_names};
use crate::io::paths::{ensure_not_input, OutputFolder};
use crate::model::{InputFingerprint, Model, FORMAT_VERSION};
use crate::prep::Prep;
use crate::report::value::segment_values;
use crate::report::REPORT_FILE;

/// The output files of a fit.
struct Outputs {
    folder: OutputFolder,
    assignments: PathBuf,
    model: PathBuf,
    profiles: PathBuf,
    report: PathBuf,
    /// Ward: the tree (dendrogram.parquet).
    dendrogram: PathBuf,
    migration: PathBuf,
}

/// Every file a fit may write into its folder (besides the id lists): an earlier run's
/// copy that this run does not write is removed.
const FIT_OUTPUTS: [&str; 7] =
    [ASSIGNMENTS_FILE, PROFILES_FILE, MODEL_FILE, REPORT_FILE, ASSIGNMENTS_CSV, MIGRATION_FILE, DENDROGRAM_FILE];

impl Outputs {
    /// Refuses outputs that are inputs, creates `out`, removes temporary files of killed runs.
    fn prepare(request: &FitRequest) -> Result<Self> {
        let out = &request.out;
        let (assignments, model, profiles, report) =
            (out.join(ASSIGNMENTS_FILE), out.join(MODEL_FILE), out.join(PROFILES_FILE), out.join(REPORT_FILE));
        let exports = export_targets(&assignments, &request.marketing.exports);
        let dendrogram = out.join(DENDROGRAM_FILE);
        let migration = out.join(MIGRATION_FILE);
        let all = [&assignments, &model, &profiles, &report, &dendrogram, &migration];
        let inputs = request.inputs_read();
        for path in all.into_iter().chain(exports.csv.iter()).chain(exports.lists.iter()) {
            ensure_not_input(path, &inputs)?;
        }
        let folder = OutputFolder::create(out)?;
        let stale: usize = all.iter().map(|p| remove_stale_temp_files(p)).sum();
        if stale > 0 {
            warn!("removed {stale} temporary file(s) left in {} by an earlier run that was killed", out.display());
        }
        Ok(Outputs { folder, assignments, model, profiles, report, dendrogram, migration })
    }
}

/// Runs a fit and returns the JSON summary.
pub fn fit(request: &FitRequest) -> Result<Value> {
    let started = Instant::now();
    request.check()?;
    let names = request.marketing.read_names()?;
    let previous = continuity::load_previous(request)?;
    let followed = previous.as_ref().map(|p| continuity::reading_previous_columns(request, p));
    let request = followed.as_ref().unwrap_or(request);
    let mut engine = Engine::open(&request.backend)?;
    let outputs = Outputs::prepare(request)?;
    let kept_prep = previous.as_ref().filter(|_| request.continuity.keep_prep).map(|p| &p.model.prep);
    let mut stage = read_and_prepare_with(request, started, kept_prep)?;
    ensure_value_is_a_feature(request, &stage)?;
    let data = &stage.prepared.data;
    if let Some(p) = &previous {
        p.check_prep(&stage.prep)?;
    }
    let map = previous.as_ref().map(|p| SpaceMap::between(&p.model.prep, &stage.prep));
    let previous_and_map = previous.as_ref().zip(map.as_ref());
    let split = request
        .continuity
        .holdout
        .map(|f| super::holdout::split(&stage, f, request.seed, request.segmenter.k()))
        .transpose()?;
    // With --holdout the segments, model, metrics and profiles come from the training rows;
    // the assignments and the follow-up of a previous run cover every row.
    let fit_data = split.as_ref().map_or(data, |s| &s.train);

    let fit_start = Instant::now();
    let trained = train::train(request, &mut engine, &stage, fit_data, previous_and_map)?;
    let k = trained.outcome.segments.k();
    if k == 0 {
        return Err(every_row_is_noise(request));
    }
    let (trained, lineage) =
        continuity::assign_ids(trained, previous_and_map, request.continuity.match_threshold, fit_data.total_weight())?;
    if let Some(path) = &request.marketing.names {
        check_known(path, &names, &lineage.ids)?;
    }
    // Without --names, `--previous`'s names stay with the ids that continue.
    let names = match (&request.marketing.names, &previous) {
        (None, Some(p)) => p
            .model
            .segment_names
            .iter()
            .filter(|(id, _)| lineage.ids.contains(id))
            .map(|(&id, n)| (id, n.clone()))
            .collect(),
        _ => names,
    };
    let name_of_segment = display_names(&names, &lineage.ids);
    let target = AssignmentTarget {
        path: &outputs.assignments,
        id_name: &stage.id_name,
        id_type: &stage.id_type,
        ids: &stage.prepared.ids,
        probabilities: request.probabilities,
        segment_ids: Some(&lineage.ids),
        segment_names: (!names.is_empty()).then_some(&name_of_segment),
        holdout: split.as_ref().map(|s| s.masks.as_slice()),
    };
    let written = write_assignments(&mut engine, &trained.outcome.segments, data, &target)?;
    let t_fit = fit_start.elapsed().as_secs_f64();
    let training_labels = split.as_ref().map(|s| s.training_labels(&written.labels));
    let fit_labels: &[Vec<u32>] = training_labels.as_deref().unwrap_or(&written.labels);
    let mut counted = vec![0u64; k];
    for &l in fit_labels.iter().flatten() {
        if let Some(size) = counted.get_mut(l as usize) {
            *size += 1; // density fits' outliers count in no segment
        }
    }
    let (sizes, weights) = train::model_sizes(&trained.outcome, &counted, fit_data.total_weight());
    let mut model = build_model(request, &stage, &trained, sizes.clone(), weights);
    model.segment_ids = lineage.ids.clone();
    model.next_segment_id = lineage.next_segment_id;
    let reference_start = Instant::now();
    model.drift_reference = Some(crate::continuity::drift::reference(&stage.prep, fit_data));
    let t_reference = reference_start.elapsed().as_secs_f64();

    let metrics_start = Instant::now();
    // Density fits leave outliers unsegmented: metrics, profiles and the report describe
    // the segmented rows.
    let clustered = super::noise::clustered_rows(fit_data, fit_labels);
    let (scored, scored_labels) = clustered.as_ref().map_or((fit_data, fit_labels), |c| (&c.data, &c.labels[..]));
    let scores = engine.run("the segment metrics", |b| {
        crate::eval::metrics::score(b, scored, scored_labels, k, request.silhouette_sample.max(2), request.seed)
    })?;
    log_scores(&scores, request.silhouette_sample > 0);
    let stability = bootstrap(request, &mut engine, fit_data, fit_labels, k)?;
    let holdout = match &split {
        Some(s) => {
            Some(super::holdout::evaluate(&mut engine, request, &trained.outcome.segments, s, &scores, &stage.id_name)?)
        }
        None => None,
    };
    let mut profiles = crate::explain::profiles::profile(&stage.prep, scored, scored_labels, k);
    for (p, &id) in profiles.iter_mut().zip(&lineage.ids) {
        p.segment = id;
        p.name = names.get(&id).cloned();
    }
    for p in &profiles {
        info!("segment {}: {} rows ({:.1}%), {}", p.segment, p.size, 100.0 * p.share, p.descriptor);
    }
    let segment_labels = SegmentLabels { ids: lineage.ids.clone(), names: given_names(&names, &lineage.ids) };
    // Density fits' outliers are no segment: the rules describe the segmented rows.
    let rules = explain_segments(request, &stage.prep, scored, scored_labels, &segment_labels);
    model.profiles = profiles.clone();
    model.segment_names = names.clone();
    model.rules = rules.clone();
    let values = segment_values(&profiles, request.value.as_deref());
    let t_metrics = metrics_start.elapsed().as_secs_f64();

    let mut follow_up = match &previous {
        Some(p) => Some(continuity::follow_up(
            request,
            p,
            &lineage,
            &stage.prep,
            data,
            (&stage.id_name, &stage.prepared.ids),
            &written.labels,
            &written.sizes,
            &outputs.migration,
        )?),
        None => None,
    };
    let write_start = Instant::now();
    let fit_summary = train::summary(&trained, &sizes);
    let report_html = if request.report {
        let report = crate::report::FitReport {
            title: format!("custseg: {k} customer segment{}", if k == 1 { "" } else { "s" }),
            facts: [
                report_facts(request, &model, &scores, &fit_summary, stability.as_ref(), fit_data.rows()),
                holdout.as_ref().map_or_else(Vec::new, super::holdout::report_facts),
            ]
            .concat(),
            profiles: &profiles,
            data: scored,
            labels: scored_labels,
            seed: request.seed,
            values: values.as_deref().map(|v| (v, request.value.as_deref())),
            rules: rules.as_ref(),
            tree: match &trained.outcome.fit {
                AlgorithmFit::Ward(fit) => Some((&fit.tree.linkage, fit.cut_height())),
                _ => None,
            },
            since_last_run: follow_up.as_ref().map_or_else(Vec::new, |f| {
                crate::report::since::tables("the last run", f.flows.as_ref(), f.drift.as_ref())
            }),
        };
        Some(engine.run("the report's covariance pass", |b| crate::report::fit_report(b, &report))?)
    } else {
        None
    };
    let profiles_file = crate::explain::profiles::write_parquet(&outputs.profiles, &profiles)?;
    let exported = stage_exports(&written.file, &request.marketing.exports, &name_of_segment)?;
    let dendrogram_file = match &trained.outcome.fit {
        AlgorithmFit::Ward(fit) => Some(write_dendrogram(&outputs.dendrogram, &fit.tree.linkage)?),
        _ => None,
    };
    let report_file = report_html.map(|html| stage_bytes(&outputs.report, html.as_bytes())).transpose()?;
    let mut this_run: Vec<PathBuf> = vec![outputs.assignments.clone(), outputs.profiles.clone(), outputs.model.clone()];
    this_run.extend(report_file.as_ref().map(|_| outputs.report.clone()));
    this_run.extend(dendrogram_file.as_ref().map(|_| outputs.dendrogram.clone()));
    this_run.extend(follow_up.as_ref().and_then(|f| f.migration.as_ref()).map(|_| outputs.migration.clone()));
    let export_targets = export_targets(&outputs.assignments, &request.marketing.exports);
    this_run.extend(export_targets.csv.clone());
    if let Some(lists) = &export_targets.lists {
        this_run.extend(lineage.ids.iter().map(|&s| lists.join(list_file(s))));
    }
    model.outputs = relative_names(&request.out, &this_run);
    let model_file = stage_bytes(&outputs.model, &model.to_json())?;
    written.file.commit()?;
    profiles_file.commit()?;
    model_file.commit()?;
    let wrote_dendrogram = dendrogram_file.map(|file| file.commit()).transpose()?.is_some();
    if let Some(file) = follow_up.as_mut().and_then(|f| f.migration.take()) {
        file.commit()?;
    }
    if let Some(file) = report_file {
        file.commit()?;
        info!("wrote {}", outputs.report.display());
    }
    exported.commit()?;
    info!("wrote {}, {} and {}", outputs.assignments.display(), outputs.profiles.display(), outputs.model.display());
    let removed = remove_stale_outputs(&request.out, &FIT_OUTPUTS, &this_run);
    let Outputs {
        folder,
        assignments,
        model: model_path,
        profiles: profiles_path,
        report: report_path,
        dendrogram,
        ..
    } = outputs;
    folder.keep();
    let t_write = write_start.elapsed().as_secs_f64();
    let streamed = keep_or_drop_cache(request, &mut stage)?;

    let prepared = &stage.prepared;
    let info = engine.backend.info();
    let summary = json!({
        "command": "fit",
        "rows_read": prepared.rows_read,
        "rows_used": prepared.data.rows(),
        "rows_dropped": prepared.dropped_missing + prepared.dropped_duplicate,
        "rows_dropped_missing": prepared.dropped_missing,
        "rows_dropped_duplicate_id": prepared.dropped_duplicate,
        "features": model.features,
        "dropped_columns": stage.prep.dropped,
        "k": k,
        "seed": request.seed,
        "backend": info.backend,
        "device": info.device,
        "seconds": {
            "read": secs(stage.t_read),
            "prep": secs(stage.t_prep),
            "fit": secs(t_fit),
            "drift_reference": secs(t_reference),
            "metrics": secs(t_metrics),
            "write": secs(t_write),
            "total": secs(started.elapsed().as_secs_f64()),
        },
        "outputs": {
            "assignments": assignments.display().to_string(),
            "model": model_path.display().to_string(),
            "profiles": profiles_path.display().to_string(),
            "report": request.report.then(|| report_path.display().to_string()),
            "csv": export_targets.csv.map(|p| p.display().to_string()),
            "lists": export_targets.lists.map(|p| p.display().to_string()),
            "dendrogram": wrote_dendrogram.then(|| dendrogram.display().to_string()),
        },
        "removed_stale_outputs": removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "rules": rules,
        "stability": stability,
        "streamed_from_disk": streamed,
        "segments": segment_summary(&profiles, values.as_deref()),
        "value_column": request.value,
        "segment_ids": lineage.ids,
        "continuity": follow_up.as_ref().map(|f| &f.continuity),
        "drift": follow_up.as_ref().and_then(|f| f.drift.as_ref()),
        "holdout": holdout,
        "metrics": {
            "calinski_harabasz": scores.calinski_harabasz,
            "davies_bouldin": scores.davies_bouldin,
            "silhouette": (request.silhouette_sample > 0).then_some(&scores.silhouette),
        },
    });
    Ok(merge_json(summary, fit_summary))
}

/// The model: prep, fitted segments and their record, sizes, and what it was fitted on.
fn build_model(request: &FitRequest, stage: &Stage, trained: &Trained, sizes: Vec<u64>, weights: Vec<f64>) -> Model {
    let centres: Centres = trained.outcome.segments.centres();
    let centres: Vec<Vec<f32>> = (0..centres.k).map(|c| centres.centre(c).to_vec()).collect();
    let centres_original = centres.iter().map(|c| stage.prep.to_original_units(c)).collect();
    let rows = stage.prepared.data.rows();
    Model {
        format_version: FORMAT_VERSION,
        custseg_version: env!("CARGO_PKG_VERSION").to_string(),
        segmenter: train::record(trained, request, &stage.prep, rows),
        id_column: request.read.id.clone(),
        weights_column: request.read.weights.clone(),
        features: stage.prep.feature_names(),
        prep: stage.prep.clone(),
        k: centres.len(),
        centres,
        centres_original,
        segment_sizes: sizes,
        segment_weights: weights,
        profiles: Vec::new(),
        input: InputFingerprint {
            files: stage.files.clone(),
            rows_read: stage.prepared.rows_read as u64,
            rows_used: rows as u64,
            schema: stage.schema.clone(),
        },
        segment_names: Default::default(),
        rules: None,
        outputs: Vec::new(),
        segment_ids: Vec::new(),
        next_segment_id: 0,
        drift_reference: None,
    }
}

/// The rules that reproduce the segments (None with a rules depth of 0), logged.
fn explain_segments(
    request: &FitRequest,
    prep: &Prep,
    data: &Dataset,
    labels: &[Vec<u32>],
    segments: &SegmentLabels,
) -> Option<RuleSet> {
    let depth = request.marketing.rules_depth;
    if depth == 0 {
        return None;
    }
    let rules = crate::explain::rules::explain(prep, data, labels, segments, depth, request.seed);
    info!(
        "rules (a depth-{depth} tree on {} rows) reproduce {:.1}% of the segments",
        rules.rows,
        100.0 * rules.fidelity
    );
    for rule in &rules.rules {
        info!("  {}", rule.text);
    }
    Some(rules)
}

/// Bootstrap stability when asked: the segmenter refitted on seeded samples.
fn bootstrap(
    request: &FitRequest,
    engine: &mut Engine,
    data: &Dataset,
    labels: &[Vec<u32>],
    k: usize,
) -> Result<Option<Stability>> {
    if request.stability == 0 {
        return Ok(None);
    }
    let flat: Vec<u32> = labels.concat();
    info!("stability: {} bootstrap refits", request.stability);
    // Refits cut at the fitted k (a Ward tree cut by height may find another k on a sample).
    let refit = request.segmenter.with_k(k)?;
    let result =
        crate::eval::stability::bootstrap(data, &flat, k, request.stability, request.seed, &mut |sample, seed| {
            let segmenter = refit.with_seed(seed);
            let fit = engine.run("a bootstrap fit", |b| segmenter.fit(b, sample, &mut |_| {}))?;
            Ok(engine.run("the assignment pass", |b| fit.segments.labels(b, data))?.concat())
        })?;
    info!(
        "stability: mean ARI {:.3}; per-segment Jaccard {}",
        result.mean_ari,
        result.per_segment_jaccard.iter().map(|j| format!("{j:.2}")).collect::<Vec<_>>().join(" ")
    );
    Ok(Some(result))
}

/// A density fit that left every row unsegmented: nothing to profile; the parameters that
/// would find segments.
fn every_row_is_noise(request: &FitRequest) -> Error {
    let (param, advice) = match &request.segmenter {
        crate::cluster::Segmenter::Density(crate::cluster::density::DensityParams::Dbscan { .. }) => {
            (Param::Eps, format!("raise {} or lower {}", Param::Eps, Param::MinSamples))
        }
        _ => (Param::MinClusterSize, format!("lower {} or {}", Param::MinClusterSize, Param::MinSamples)),
    };
    Error::param(param, format!("every row is an outlier, so no segment was found; {advice}"))
}

/// `value` must name a numeric feature the prep kept (its segment means give the totals).
fn ensure_value_is_a_feature(request: &FitRequest, stage: &Stage) -> Result<()> {
    let Some(value) = &request.value else { return Ok(()) };
    if stage.prep.numeric.iter().any(|c| &c.name == value) {
        return Ok(());
    }
    let numeric: Vec<&str> = stage.prep.numeric.iter().map(|c| c.name.as_str()).collect();
    Err(Error::param(
        Param::Value,
        format!(
            "'{value}' is not one of the numeric features ({}); add it to {} or name another column",
            numeric.join(", "),
            Param::Features
        ),
    ))
}

/// Keeps the on-disk chunk cache when asked (else it is removed with the stage); the
/// summary's `streamed_from_disk`.
fn keep_or_drop_cache(request: &FitRequest, stage: &mut Stage) -> Result<Value> {
    Ok(match stage.cache.take() {
        Some(cache) => {
            let bytes = cache.bytes();
            let kept = if request.keep_cache { Some(cache.keep()?) } else { None };
            if let Some(path) = &kept {
                info!("kept the chunk cache: {}", path.display());
            }
            json!({ "cache_bytes": bytes, "cache": kept.map(|p| p.display().to_string()) })
        }
        None => {
            if request.keep_cache {
                warn!("{}: the data fit the memory budget, so no chunk cache was written", Param::KeepCache);
            }
            Value::Null
        }
    })
}
