//! The fit stage: the segmenter on the prepared rows (CPU fallback under `auto`), with a
//! progress bar and logs, and what the model records about it.

use std::time::Instant;

use serde_json::{json, Value};

use super::engine::Engine;
use super::request::{CentreUnits, FitRequest, InitCentres};
use super::stage::Stage;
use crate::backend::Centres;
use crate::cluster::kmeans::{Init, KMeansValidParams};
use crate::cluster::{AlgorithmFit, FitOutcome, Progress, Segmenter};
use crate::continuity::warm::{warm_start, SpaceMap};
use crate::continuity::PreviousRun;
use crate::error::{Error, Param, ParamError, Result};
use crate::io::centres::read_centres;
use crate::model::{DensityRecord, GmmRecord, KMeansRecord, SavedSegmenter, WardRecord};
use crate::prep::Prep;

/// A finished fit and how long it took.
pub struct Trained {
    /// The request's segmenter with initial centres, when given, in place.
    pub segmenter: Segmenter,
    pub outcome: FitOutcome,
    /// Mean seconds between iteration reports (one Lloyd pass, mini-batch step or EM step).
    pub seconds_per_iteration: Option<f64>,
}

/// Fits the request's segmenter on `data` (the staged rows, or their training part with
/// `--holdout`); with a `previous` run (and the map of its space into today's), started
/// from its segments.
pub fn train(
    request: &FitRequest,
    engine: &mut Engine,
    stage: &Stage,
    data: &crate::data::Dataset,
    previous: Option<(&PreviousRun, &SpaceMap)>,
) -> Result<Trained> {
    let segmenter = match (&request.init_centres, previous) {
        (Some(init), _) => {
            request.segmenter.with_initial_centres(load_initial_centres(init, &stage.prep, request.segmenter.k())?)?
        }
        // Ward's tree is built from today's rows (no warm start); its ids are still matched.
        (None, Some(_)) if matches!(request.segmenter, Segmenter::Ward(_)) => request.segmenter.clone(),
        (None, Some((previous, map))) => engine.run("the warm start", |backend| {
            warm_start(&request.segmenter, previous, map, backend, data, request.seed)
        })?,
        (None, None) => request.segmenter.clone(),
    };
    let planned = engine.backend.info();
    let k = if segmenter.k() > 0 { format!(" k={}", segmenter.k()) } else { String::new() };
    info!("fitting {}{k} on {} ({})", describe(&segmenter), planned.backend, planned.device);
    let label = match segmenter {
        Segmenter::Gmm(_) => "EM",
        Segmenter::Density(p) => p.name(),
        _ => "K-Means",
    };
    let bar = crate::log::progress((segmenter.max_iter() * segmenter.n_init()) as u64, label);
    let mut ticks: Vec<Instant> = Vec::new();
    let outcome = engine.run("the fit", |backend| {
        bar.reset();
        ticks.clear();
        segmenter.fit(backend, data, &mut |p| {
            ticks.push(Instant::now());
            bar.inc(1);
            bar.set_message(match p {
                Progress::KMeans(r) => format!(
                    "run {} iteration {} inertia {:.6e} changed {}",
                    r.run + 1,
                    r.iteration,
                    r.inertia,
                    r.changed
                ),
                Progress::Gmm(r) => {
                    format!("run {} iteration {} lower bound {:.6}", r.run + 1, r.iteration, r.lower_bound)
                }
            });
        })
    })?;
    bar.finish_and_clear();
    let seconds_per_iteration = match (ticks.first(), ticks.last()) {
        (Some(first), Some(last)) if ticks.len() > 1 => Some((*last - *first).as_secs_f64() / (ticks.len() - 1) as f64),
        _ => None,
    };
    log_outcome(&segmenter, &outcome);
    Ok(Trained { segmenter, outcome, seconds_per_iteration })
}

/// The algorithm as logs name it.
fn describe(segmenter: &Segmenter) -> String {
    match segmenter {
        Segmenter::KMeans(_) | Segmenter::MiniBatchKMeans { .. } => "K-Means".into(),
        Segmenter::Gmm(p) => format!("a Gaussian mixture ({:?} covariances)", p.covariance),
        Segmenter::Density(p) => format!("{} ({p:?})", p.name().to_uppercase()),
        Segmenter::Ward(p) => match p.cut {
            crate::cluster::ward::Cut::K(_) => "Ward linkage".into(),
            crate::cluster::ward::Cut::Distance(d) => format!("Ward linkage (cut at height {d})"),
        },
    }
}

fn log_outcome(segmenter: &Segmenter, outcome: &FitOutcome) {
    let how = if outcome.converged() { "converged" } else { "stopped at the iteration limit" };
    let (iterations, run, runs) = (outcome.iterations(), outcome.best_run() + 1, segmenter.n_init());
    match &outcome.fit {
        AlgorithmFit::KMeans(fit) => {
            info!("{how} after {iterations} iterations (run {run} of {runs}), inertia {:.6e}", fit.inertia);
            if fit.reseeded > 0 {
                warn!("{} empty cluster(s) were re-seeded from the farthest rows", fit.reseeded);
            }
            if let Some(empty) = fit.sizes.iter().position(|&s| s == 0) {
                warn!("segment {empty} is empty: the data may have fewer than k={} distinct rows", segmenter.k());
            }
        }
        AlgorithmFit::Gmm(fit) => {
            info!(
                "{how} after {iterations} iterations (run {run} of {runs}), lower bound {:.6}, BIC {:.6e}",
                fit.lower_bound, fit.bic
            );
            if fit.reinitialised > 0 {
                warn!("{} collapsed component(s) were re-initialised", fit.reinitialised);
            }
        }
        AlgorithmFit::Density(fit) => {
            let s = &fit.seconds;
            info!(
                "{} clusters, {} noise rows ({:.1}%); seconds: tree {:.3}, core distances {:.3}, MST {:.3}, labels {:.3}",
                fit.k,
                fit.noise,
                100.0 * fit.noise as f64 / fit.labels.len().max(1) as f64,
                s.tree,
                s.core_distances,
                s.mst,
                s.labels
            );
        }
        AlgorithmFit::Ward(fit) => {
            let tree = &fit.tree;
            let (leaves, mode) = (tree.linkage.leaves, tree.mode.name());
            info!(
                "Ward tree of {leaves} leaves ({mode} mode) cut into {} segments, inertia {:.6e}",
                fit.k, fit.inertia
            );
        }
    }
}

/// The model's record of the fit. `covariances_original` scales mixture covariances back
/// by each numeric column's scale; `rows` resolves `auto` initialisation for the record.
pub fn record(trained: &Trained, request: &FitRequest, prep: &Prep, rows: usize) -> SavedSegmenter {
    match (&trained.segmenter, &trained.outcome.fit) {
        (Segmenter::Gmm(p), AlgorithmFit::Gmm(fit)) => {
            let d = fit.mixture.dim;
            let scales: Vec<f64> =
                prep.numeric.iter().map(|c| c.scaling.scale).chain(std::iter::repeat(1.0)).take(d).collect();
            let covariances_original = (0..fit.mixture.k)
                .map(|c| {
                    let m = fit.mixture.covariance_matrix(c);
                    (0..d * d).map(|i| m[i] * scales[i / d] * scales[i % d]).collect()
                })
                .collect();
            SavedSegmenter::Gmm {
                gmm: GmmRecord {
                    mixture: fit.mixture.clone(),
                    covariances_original,
                    init: p.init.name().into(),
                    n_init: p.n_init,
                    max_iter: p.max_iter,
                    tol: p.tol,
                    reg_covar: p.reg_covar,
                    seed: p.seed,
                    iterations: fit.iterations,
                    converged: fit.converged,
                    lower_bound: fit.lower_bound,
                    mean_log_likelihood: fit.mean_log_likelihood,
                    bic: fit.bic,
                    aic: fit.aic,
                },
            }
        }
        (Segmenter::KMeans(p), AlgorithmFit::KMeans(fit)) => {
            SavedSegmenter::KMeans { kmeans: kmeans_record(p, fit, init_name(p, request, rows)) }
        }
        (Segmenter::MiniBatchKMeans { params, batch_size }, AlgorithmFit::KMeans(fit)) => {
            let init = format!("{}, mini-batches of {batch_size} rows", init_name(params, request, rows));
            SavedSegmenter::MiniBatchKMeans { kmeans: kmeans_record(params, fit, init) }
        }
        (Segmenter::Density(p), AlgorithmFit::Density(fit)) => {
            let crate::cluster::Segments::Density(segments) = &trained.outcome.segments else {
                unreachable!("a density fit returns density segments")
            };
            let density = DensityRecord {
                sample: fit.sample,
                ..DensityRecord::new(p, fit.noise as u64, segments.assigner.kept.clone())
            };
            match p {
                crate::cluster::density::DensityParams::Hdbscan { .. } => SavedSegmenter::Hdbscan { density },
                crate::cluster::density::DensityParams::Dbscan { .. } => SavedSegmenter::Dbscan { density },
            }
        }
        (Segmenter::Ward(p), AlgorithmFit::Ward(fit)) => SavedSegmenter::Ward { ward: ward_record(p, fit) },
        (segmenter, _) => unreachable!("{} returned another algorithm's fit", segmenter.name()),
    }
}

fn kmeans_record(p: &KMeansValidParams, fit: &crate::cluster::kmeans::KMeansFit, init: String) -> KMeansRecord {
    KMeansRecord {
        init,
        n_init: p.n_init,
        max_iter: p.max_iter,
        tol: p.tol,
        seed: p.seed,
        iterations: fit.iterations,
        converged: fit.converged,
        inertia: fit.inertia,
    }
}

fn ward_record(p: &crate::cluster::ward::WardValidParams, fit: &crate::cluster::ward::WardFit) -> WardRecord {
    let micro = fit.segments.micro.as_ref();
    WardRecord {
        ward_mode: fit.tree.mode.name().into(),
        cut_k: p.cut.k(),
        distance_threshold: match p.cut {
            crate::cluster::ward::Cut::Distance(d) => Some(d),
            crate::cluster::ward::Cut::K(_) => None,
        },
        leaves: fit.tree.linkage.leaves,
        kept_height: fit.kept_height,
        undone_height: fit.undone_height,
        inertia: fit.inertia,
        micro_centres: micro
            .map_or_else(Vec::new, |m| (0..m.centres.k).map(|c| m.centres.centre(c).to_vec()).collect()),
        micro_segments: micro.map_or_else(Vec::new, |m| m.segments.clone()),
        max_iter: p.max_iter,
        seed: p.seed,
        iterations: fit.tree.iterations,
        consolidated: fit.consolidation.map(|(moved, _)| moved),
    }
}

/// How the K-Means start was chosen, as the model records it.
fn init_name(p: &KMeansValidParams, request: &FitRequest, rows: usize) -> String {
    match (p.init.resolve(rows, p.k), &request.init_centres) {
        (Init::Centres(_), Some(init)) => {
            let units = if init.units == CentreUnits::Raw { "raw" } else { "prepared" };
            format!("file:{} ({units} units)", init.path.display())
        }
        (Init::Random, _) => "random".into(),
        (Init::Parallel { rounds, oversampling }, _) => {
            format!("k-means|| ({rounds} rounds, oversampling {oversampling})")
        }
        _ => "k-means++".into(),
    }
}

/// The summary keys of the fit itself.
pub fn summary(trained: &Trained, sizes: &[u64]) -> Value {
    let common = json!({
        "algorithm": trained.segmenter.name(),
        "seconds_per_iteration": trained.seconds_per_iteration,
        "iterations": trained.outcome.iterations(),
        "converged": trained.outcome.converged(),
        "segment_sizes": sizes,
    });
    let specific = match (&trained.segmenter, &trained.outcome.fit) {
        (_, AlgorithmFit::KMeans(fit)) => json!({ "inertia": fit.inertia }),
        (Segmenter::Gmm(p), AlgorithmFit::Gmm(fit)) => json!({
            "covariance": p.covariance,
            "lower_bound": fit.lower_bound,
            "mean_log_likelihood": fit.mean_log_likelihood,
            "bic": fit.bic,
            "aic": fit.aic,
            "weights": fit.mixture.weights,
        }),
        (_, AlgorithmFit::Ward(fit)) => json!({
            "ward_mode": fit.tree.mode.name(),
            "inertia": fit.inertia,
            "leaves": fit.tree.linkage.leaves,
            "micro_clusters": fit.tree.micro_centres.as_ref().map(|c| c.k),
            "cut_height": { "kept": fit.kept_height, "undone": fit.undone_height },
            "consolidated": fit.consolidation.map(|(moved, rounds)| json!({ "moved": moved, "rounds": rounds })),
        }),
        (_, AlgorithmFit::Gmm(_)) => json!({}),
        (Segmenter::Density(p), AlgorithmFit::Density(fit)) => {
            let n = fit.labels.len().max(1) as f64;
            let parameters = match *p {
                crate::cluster::density::DensityParams::Hdbscan { min_cluster_size, selection, .. } => {
                    json!({ "min_cluster_size": min_cluster_size, "cluster_selection": selection.name() })
                }
                crate::cluster::density::DensityParams::Dbscan { eps, .. } => json!({ "eps": eps }),
            };
            super::merge_json(
                json!({
                    "min_samples": p.min_samples(),
                    "noise": fit.noise,
                    "noise_share": fit.noise as f64 / n,
                    "pass_seconds": fit.seconds,
                    "mst_algorithm": fit.mst_algorithm,
                    "mode": if fit.sample.is_some() { "sampled" } else { "exact" },
                    "sample_size": fit.sample,
                }),
                parameters,
            )
        }
        (_, AlgorithmFit::Density(_)) => json!({}),
    };
    super::merge_json(common, specific)
}

/// Reads initial centres and maps them into the prepared space.
fn load_initial_centres(init: &InitCentres, prep: &Prep, k: usize) -> Result<Centres> {
    let names = prep.feature_names();
    let rows = read_centres(&init.path, &names)?;
    if rows.len() != k {
        return Err(ParamError::InitShape {
            expected_k: k,
            expected_dim: names.len(),
            got_k: rows.len(),
            got_dim: names.len(),
        }
        .into());
    }
    let mut values = Vec::with_capacity(k * names.len());
    for (i, row) in rows.iter().enumerate() {
        if row.iter().any(|v| !v.is_finite()) {
            return Err(ParamError::InitNotFinite { centre: i }.into());
        }
        match init.units {
            CentreUnits::Prepared => values.extend(row.iter().map(|&v| v as f32)),
            CentreUnits::Raw => {
                values.extend(prep.from_original_units(row).map_err(|e| {
                    Error::param(Param::InitCentres, format!("{}: centre {i}: {e}", init.path.display()))
                })?)
            }
        }
    }
    Ok(Centres::new(k, names.len(), values))
}

/// Where an output's sizes come from: K-Means reports its final pass's counts, mixtures
/// count the assignment's labels.
pub fn model_sizes(outcome: &FitOutcome, counted: &[u64], total_weight: f64) -> (Vec<u64>, Vec<f64>) {
    match &outcome.fit {
        AlgorithmFit::KMeans(fit) => (fit.sizes.clone(), fit.weights.clone()),
        AlgorithmFit::Gmm(fit) => (counted.to_vec(), fit.mixture.weights.iter().map(|w| w * total_weight).collect()),
        AlgorithmFit::Density(_) => (counted.to_vec(), counted.iter().map(|&c| c as f64).collect()),
        AlgorithmFit::Ward(fit) => (counted.to_vec(), fit.weights.clone()),
    }
}
