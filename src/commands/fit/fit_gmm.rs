//! Gaussian mixtures for `fit`: fit, write the soft assignments, build the model.

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::{base_model, FitConfig, Fitted, Stage};
use crate::backend::Centres;
use crate::cli::InitChoice;
use crate::cluster::gmm;
use crate::commands::Engine;
use crate::error::Result;
use crate::io::writer::AssignmentWriter;
use crate::model::GmmRecord;
use crate::{info, warn};

/// Fits the mixture (CPU fallback under `--backend auto`), writes the soft assignments to
/// `target` under a temporary name and returns them with the labels, model and summary keys.
pub(super) fn run(config: &FitConfig, engine: &mut Engine, stage: &Stage, target: &Path) -> Result<Fitted> {
    let data = &stage.prepared.data;
    let params = config.gmm_params(config.gmm_init());
    info!(
        "fitting a Gaussian mixture k={} ({:?} covariances) on {}",
        config.k,
        config.gmm.covariance,
        engine.backend.info().backend
    );
    let bar = crate::log::progress((config.max_iter * config.n_init) as u64, "EM");
    let fit_start = Instant::now();
    let fit = engine.run("the mixture fit", |backend| {
        bar.reset();
        gmm::fit(backend, data, &params, &mut |r| {
            bar.inc(1);
            bar.set_message(format!("run {} iteration {} lower bound {:.6}", r.run + 1, r.iteration, r.lower_bound));
        })
    })?;
    bar.finish_and_clear();
    info!(
        "{} after {} iterations (run {} of {}), lower bound {:.6}, BIC {:.6e}",
        if fit.converged { "converged" } else { "stopped at --max-iter" },
        fit.iterations,
        fit.best_run + 1,
        config.n_init,
        fit.lower_bound,
        fit.bic
    );
    let k = config.k;
    let pass = config.mixture_pass(&fit.mixture)?;
    let mut sizes = vec![0u64; k];
    let mut columns = vec!["probability".to_string()];
    if config.gmm.probabilities {
        columns.extend((0..k).map(|c| format!("p_{c}")));
    }
    let mut all_labels = Vec::new();
    let assignments = engine.run("the assignment pass", |backend| {
        sizes.fill(0);
        all_labels.clear();
        let mut writer = AssignmentWriter::create(target, &stage.id_name, &stage.id_type, &columns)?;
        backend.mixture_assign(data, &pass, &mut |chunk, labels, probs| {
            labels.iter().for_each(|&l| sizes[l as usize] += 1);
            all_labels.push(labels.to_vec());
            write_probabilities(&mut writer, &stage.prepared.ids[chunk], labels, probs, k, config.gmm.probabilities)
        })?;
        writer.finish()
    })?;
    let t_fit = fit_start.elapsed().as_secs_f64();
    let means = Centres::new(k, data.dim(), fit.mixture.means.iter().map(|&v| v as f32).collect());
    let weights = fit.mixture.weights.iter().map(|w| w * data.total_weight()).collect();
    let mut model = base_model(config, stage, "gmm", &means, sizes.clone(), weights);
    let scales: Vec<f64> =
        stage.prep.numeric.iter().map(|c| c.scaling.scale).chain(std::iter::repeat(1.0)).take(data.dim()).collect();
    let covariances_original = (0..k)
        .map(|c| {
            let m = fit.mixture.covariance_matrix(c);
            let d = data.dim();
            (0..d * d).map(|i| m[i] * scales[i / d] * scales[i % d]).collect()
        })
        .collect();
    let init_name = match config.init {
        InitChoice::Kmeans => "kmeans",
        InitChoice::Random => "random",
        _ => "k-means++",
    };
    model.gmm = Some(GmmRecord {
        mixture: fit.mixture.clone(),
        covariances_original,
        init: init_name.into(),
        n_init: params.n_init,
        max_iter: params.max_iter,
        tol: params.tol,
        reg_covar: params.reg_covar,
        seed: params.seed,
        iterations: fit.iterations,
        converged: fit.converged,
        lower_bound: fit.lower_bound,
        mean_log_likelihood: fit.mean_log_likelihood,
        bic: fit.bic,
        aic: fit.aic,
    });
    if fit.reinitialised > 0 {
        warn!("{} collapsed component(s) were re-initialised", fit.reinitialised);
    }
    let summary = json!({
        "algorithm": "gmm",
        "covariance": config.gmm.covariance,
        "iterations": fit.iterations,
        "converged": fit.converged,
        "lower_bound": fit.lower_bound,
        "mean_log_likelihood": fit.mean_log_likelihood,
        "bic": fit.bic,
        "aic": fit.aic,
        "weights": fit.mixture.weights,
        "segment_sizes": sizes,
    });
    Ok(Fitted { assignments, labels: all_labels, model, summary, t_fit })
}

/// Writes one chunk of soft assignments: the winning segment's probability, and every
/// segment's when `all` (probabilities row-major `rows × k`).
pub fn write_probabilities(
    writer: &mut AssignmentWriter,
    ids: &arrow::array::ArrayRef,
    labels: &[u32],
    probs: &[f32],
    k: usize,
    all: bool,
) -> Result<()> {
    let best: Vec<f32> = labels.iter().enumerate().map(|(i, &l)| probs[i * k + l as usize]).collect();
    let mut columns: Vec<Vec<f32>> = vec![best];
    if all {
        columns.extend((0..k).map(|c| probs.iter().skip(c).step_by(k).copied().collect()));
    }
    let slices: Vec<&[f32]> = columns.iter().map(|c| c.as_slice()).collect();
    writer.write(ids, labels, &slices)
}
