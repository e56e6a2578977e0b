//! K-Means (and mini-batch K-Means) for `fit`: fit, write the assignments, build the model.

use std::path::Path;
use std::time::Instant;

use serde_json::json;

use super::{base_model, FitConfig, Fitted, Stage};
use crate::backend::Centres;
use crate::cli::{AlgorithmChoice, InitSpace};
use crate::cluster::kmeans::{self, Init, KMeansError};
use crate::commands::Engine;
use crate::error::{Error, Result};
use crate::io::centres::read_centres;
use crate::io::writer::AssignmentWriter;
use crate::model::KMeansRecord;
use crate::prep::Prep;
use crate::{info, warn};

/// Fits K-Means or mini-batch K-Means (CPU fallback under `--backend auto`), writes the
/// assignments to `target` under a temporary name and returns them with the labels, model
/// and summary keys.
pub(super) fn run(config: &FitConfig, engine: &mut Engine, stage: &Stage, target: &Path) -> Result<Fitted> {
    let data = &stage.prepared.data;
    let init = match &config.init_centroids {
        Some((path, space)) => Init::Centres(load_initial_centres(path, *space, &stage.prep, config.k)?),
        None => config.kmeans_init(data.rows()),
    };
    let params = config.kmeans_params(init);
    let planned = engine.backend.info();
    info!("fitting K-Means k={} on {} ({})", config.k, planned.backend, planned.device);
    let bar = crate::log::progress((config.max_iter * config.n_init) as u64, "K-Means");
    let fit_start = Instant::now();
    let minibatch = config.algorithm == AlgorithmChoice::MinibatchKmeans;
    let mut ticks: Vec<Instant> = Vec::new();
    let fit = engine.run("the K-Means fit", |backend| {
        bar.reset();
        ticks.clear();
        let report = &mut |r: &kmeans::IterationReport| {
            ticks.push(Instant::now());
            bar.inc(1);
            bar.set_message(format!(
                "run {} iteration {} inertia {:.6e} changed {}",
                r.run + 1,
                r.iteration,
                r.inertia,
                r.changed
            ));
        };
        config.fit_kmeans(backend, data, &params, report)
    })?;
    bar.finish_and_clear();
    // Mean time between iteration reports: one Lloyd pass (or mini-batch epoch) each.
    let per_iteration = match (ticks.first(), ticks.last()) {
        (Some(first), Some(last)) if ticks.len() > 1 => Some((*last - *first).as_secs_f64() / (ticks.len() - 1) as f64),
        _ => None,
    };
    info!(
        "{} after {} iterations (run {} of {}), inertia {:.6e}",
        if fit.converged { "converged" } else { "stopped at --max-iter" },
        fit.iterations,
        fit.best_run + 1,
        config.n_init,
        fit.inertia
    );
    if fit.reseeded > 0 {
        warn!("{} empty cluster(s) were re-seeded from the farthest rows", fit.reseeded);
    }
    if let Some(empty) = fit.sizes.iter().position(|&s| s == 0) {
        warn!("segment {empty} is empty: the data may have fewer than k={} distinct rows", config.k);
    }
    let mut all_labels = Vec::new();
    let assignments = engine.run("the assignment pass", |backend| {
        all_labels.clear();
        let mut writer = AssignmentWriter::create(target, &stage.id_name, &stage.id_type, &["distance".into()])?;
        backend.assign(data, &fit.centres, &mut |chunk, labels, distances| {
            all_labels.push(labels.to_vec());
            writer.write(&stage.prepared.ids[chunk], labels, &[distances])
        })?;
        writer.finish()
    })?;
    let t_fit = fit_start.elapsed().as_secs_f64();
    let init = match (&params.init, config.init_centroids.as_ref()) {
        (Init::Centres(_), Some((p, space))) => {
            let units = if *space == InitSpace::Raw { "raw" } else { "prepared" };
            format!("file:{} ({units} units)", p.display())
        }
        (Init::Random, _) => "random".into(),
        (Init::Parallel { rounds, oversampling }, _) => {
            format!("k-means|| ({rounds} rounds, oversampling {oversampling})")
        }
        _ => "k-means++".into(),
    };
    let init = if minibatch { format!("{init}, mini-batches of {} rows", config.batch_size) } else { init };
    let algorithm = config.algorithm.name();
    let mut model = base_model(config, stage, algorithm, &fit.centres, fit.sizes.clone(), fit.weights.clone());
    model.kmeans = Some(KMeansRecord {
        init,
        n_init: params.n_init,
        max_iter: params.max_iter,
        tol: params.tol,
        seed: params.seed,
        iterations: fit.iterations,
        converged: fit.converged,
        inertia: fit.inertia,
    });
    let summary = json!({
        "algorithm": algorithm,
        "seconds_per_iteration": per_iteration,
        "iterations": fit.iterations,
        "converged": fit.converged,
        "inertia": fit.inertia,
        "segment_sizes": fit.sizes,
    });
    Ok(Fitted { assignments, labels: all_labels, model, summary, t_fit })
}

/// Reads `--init-centroids` and maps it into the prepared space.
fn load_initial_centres(path: &Path, space: InitSpace, prep: &Prep, k: usize) -> Result<Centres> {
    let names = prep.feature_names();
    let rows = read_centres(path, &names)?;
    if rows.len() != k {
        return Err(KMeansError::InitShape {
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
            return Err(KMeansError::InitNotFinite { centre: i }.into());
        }
        match space {
            InitSpace::Prepared => values.extend(row.iter().map(|&v| v as f32)),
            InitSpace::Raw => values.extend(
                prep.from_original_units(row)
                    .map_err(|e| Error::param("init-centroids", format!("{}: centre {i}: {e}", path.display())))?,
            ),
        }
    }
    Ok(Centres::new(k, names.len(), values))
}
