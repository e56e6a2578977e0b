//! `custseg evaluate`: score a saved model's segments on a dataset (metrics, and for
//! mixtures the log-likelihood, BIC and AIC), writing nothing but the JSON summary.

use std::time::Instant;

use serde_json::json;

use super::predict::read_for_model;
use super::{secs, select_backend};
use crate::cli::EvaluateArgs;
use crate::error::{Error, Result};
use crate::eval::metrics;
use crate::model::Model;

/// Runs `evaluate` and returns the JSON summary.
pub fn run(args: &EvaluateArgs) -> Result<serde_json::Value> {
    let started = Instant::now();
    let model = Model::load(&args.model)?;
    let mut engine = select_backend(&args.run)?;
    let (prepared, _, _, files) = read_for_model(&model, &args.input)?;
    let data = &prepared.data;
    if data.rows() == 0 {
        return Err(Error::data(files.join(", "), "no rows left after dropping rows with missing values"));
    }
    let mut labels: Vec<Vec<u32>> = Vec::new();
    let mut extra = json!({});
    match &model.gmm {
        None => {
            let centres = model.centres()?;
            let mut inertia = 0.0f64;
            engine.run("the assignment pass", |b| {
                labels.clear();
                inertia = 0.0;
                b.assign(data, &centres, &mut |_, l, d| {
                    labels.push(l.to_vec());
                    inertia += d.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>();
                    Ok(())
                })
            })?;
            extra["inertia"] = json!(inertia);
        }
        Some(gmm) => {
            let pass = super::stored_mixture_pass(&args.model, &gmm.mixture)?;
            let stats = engine.run("the mixture pass", |b| b.mixture_pass(data, &pass))?;
            labels = super::mixture_labels(&mut engine, data, &pass)?;
            let p = gmm.mixture.n_parameters() as f64;
            let n = stats.weight;
            extra = json!({
                "mean_log_likelihood": stats.log_likelihood / stats.weight,
                "bic": -2.0 * stats.log_likelihood + p * n.ln(),
                "aic": -2.0 * stats.log_likelihood + 2.0 * p,
            });
        }
    }
    let scores = engine.run("the segment metrics", |b| {
        metrics::score(b, data, &labels, model.k, args.silhouette_sample.max(2), args.seed)
    })?;
    let mut sizes = vec![0u64; model.k];
    labels.iter().flatten().for_each(|&l| sizes[l as usize] += 1);
    let info = engine.backend.info();
    let mut summary = json!({
        "command": "evaluate",
        "model": args.model.display().to_string(),
        "algorithm": model.algorithm,
        "k": model.k,
        "rows_read": prepared.rows_read,
        "rows_used": data.rows(),
        "segment_sizes": sizes,
        "metrics": {
            "calinski_harabasz": scores.calinski_harabasz,
            "davies_bouldin": scores.davies_bouldin,
            "silhouette": (args.silhouette_sample > 0).then_some(&scores.silhouette),
        },
        "backend": info.backend,
        "device": info.device,
        "seconds": { "total": secs(started.elapsed().as_secs_f64()) },
    });
    if let (Some(all), Some(more)) = (summary.as_object_mut(), extra.as_object()) {
        all.extend(more.clone());
    }
    Ok(summary)
}
