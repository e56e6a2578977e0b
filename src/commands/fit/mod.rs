//! `custseg fit`: read → prep → K-Means or a Gaussian mixture → assignments.parquet +
//! profiles.parquet + model.json (+ report.html) + summary.
//!
//! `config.rs` validates the request, `stage.rs` reads and prepares the input (in memory
//! or streamed to the on-disk cache), `fit_kmeans.rs` and `fit_gmm.rs` fit and write the
//! assignments; `run` here scores, profiles and writes the rest.

mod config;
mod fit_gmm;
mod fit_kmeans;
mod stage;

pub use config::{FitConfig, GmmOptions};
pub use fit_gmm::write_probabilities;
pub use stage::{read_and_prepare, Stage};

use std::time::Instant;

use serde_json::{json, Value};

use super::{ensure_not_input, secs, select_backend, Engine};
use crate::backend::Centres;
use crate::cli::AlgorithmChoice;
use crate::cluster::gmm::{self, GmmParams};
use crate::cluster::kmeans::KMeansParams;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::atomic::{remove_stale_temp_files, stage_bytes};
use crate::model::{InputFingerprint, Model, FORMAT_VERSION};
use crate::{info, warn};

/// Names the output files take inside `--out`.
pub const ASSIGNMENTS_FILE: &str = "assignments.parquet";
pub const MODEL_FILE: &str = "model.json";
pub const PROFILES_FILE: &str = "profiles.parquet";
pub use crate::report::REPORT_FILE;

/// Above this n·k, `--init auto` uses k-means|| (one pass per round) instead of k-means++
/// (k passes).
pub const AUTO_PARALLEL_WORK: f64 = 5e7;

/// What an algorithm hands back: the staged assignments, the labels (per chunk), the model
/// and its summary keys.
pub(super) struct Fitted {
    pub(super) assignments: crate::io::atomic::Staged,
    pub(super) labels: Vec<Vec<u32>>,
    pub(super) model: Model,
    pub(super) summary: Value,
    pub(super) t_fit: f64,
}

/// Runs a fit and returns the JSON summary.
pub fn run(config: &FitConfig) -> Result<Value> {
    let started = Instant::now();
    let mut engine = select_backend(&config.run)?;
    std::fs::create_dir_all(&config.out).map_err(|e| Error::io(&config.out, e))?;
    let assignments_path = config.out.join(ASSIGNMENTS_FILE);
    let model_path = config.out.join(MODEL_FILE);
    ensure_not_input(&assignments_path, &config.read.inputs)?;
    let profiles_path = config.out.join(PROFILES_FILE);
    let report_path = config.out.join(REPORT_FILE);
    ensure_not_input(&model_path, &config.read.inputs)?;
    ensure_not_input(&profiles_path, &config.read.inputs)?;
    ensure_not_input(&report_path, &config.read.inputs)?;
    let stale = remove_stale_temp_files(&assignments_path)
        + remove_stale_temp_files(&model_path)
        + remove_stale_temp_files(&profiles_path)
        + remove_stale_temp_files(&report_path);
    if stale > 0 {
        warn!("removed {stale} temporary file(s) left in {} by an earlier run that was killed", config.out.display());
    }
    let mut stage = read_and_prepare(config, started)?;

    let mut fitted = match config.algorithm {
        AlgorithmChoice::Kmeans | AlgorithmChoice::MinibatchKmeans => {
            fit_kmeans::run(config, &mut engine, &stage, &assignments_path)?
        }
        AlgorithmChoice::Gmm => fit_gmm::run(config, &mut engine, &stage, &assignments_path)?,
    };
    let metrics_start = Instant::now();
    let scores = engine.run("the segment metrics", |b| {
        crate::eval::metrics::score(
            b,
            &stage.prepared.data,
            &fitted.labels,
            config.k,
            config.silhouette_sample.max(2),
            config.seed,
        )
    })?;
    let silhouette = (config.silhouette_sample > 0).then_some(&scores.silhouette);
    info!(
        "Calinski-Harabasz {:.4}, Davies-Bouldin {:.4}{}",
        scores.calinski_harabasz,
        scores.davies_bouldin,
        silhouette.map_or(String::new(), |s| format!(
            ", silhouette {:.4}{}",
            s.mean,
            s.standard_error.map_or(" (exact)".into(), |e| format!(" ± {e:.4} ({} sampled rows)", s.rows))
        ))
    );
    let stability = if config.stability > 0 {
        let flat: Vec<u32> = fitted.labels.concat();
        let data = &stage.prepared.data;
        info!("stability: {} bootstrap refits", config.stability);
        let result = crate::eval::stability::bootstrap(
            data,
            &flat,
            config.k,
            config.stability,
            config.seed,
            &mut |sample, seed| refit_labels(config, &mut engine, sample, data, seed),
        )?;
        info!(
            "stability: mean ARI {:.3}; per-segment Jaccard {}",
            result.mean_ari,
            result.per_segment_jaccard.iter().map(|j| format!("{j:.2}")).collect::<Vec<_>>().join(" ")
        );
        Some(result)
    } else {
        None
    };
    let profiles = crate::report::profiles::profile(&stage.prep, &stage.prepared.data, &fitted.labels, config.k);
    for p in &profiles {
        info!("segment {}: {} rows ({:.1}%), {}", p.segment, p.size, 100.0 * p.share, p.descriptor);
    }
    fitted.model.profiles = profiles.clone();
    let t_metrics = metrics_start.elapsed().as_secs_f64();
    let write_start = Instant::now();
    let report_html = if config.report {
        let mut facts = vec![
            ("algorithm".to_string(), config.algorithm.name().to_string()),
            ("segments (k)".into(), config.k.to_string()),
            ("rows".into(), stage.prepared.data.rows().to_string()),
            ("features".into(), fitted.model.features.join(", ")),
            ("Calinski-Harabasz (higher is better)".into(), format!("{:.4}", scores.calinski_harabasz)),
            ("Davies-Bouldin (lower is better)".into(), format!("{:.4}", scores.davies_bouldin)),
        ];
        if let Some(s) = silhouette {
            let how = s.standard_error.map_or("exact".into(), |e| format!("± {e:.4}, {} sampled rows", s.rows));
            facts.push(("silhouette (−1 to 1)".into(), format!("{:.4} ({how})", s.mean)));
        }
        for key in ["inertia", "bic", "aic", "mean_log_likelihood"] {
            if let Some(v) = fitted.summary.get(key).and_then(Value::as_f64) {
                facts.push((key.replace('_', " "), format!("{v:.6e}")));
            }
        }
        if let Some(s) = &stability {
            facts.push(("stability (mean bootstrap ARI)".into(), format!("{:.3}", s.mean_ari)));
        }
        facts.push(("seed".into(), config.seed.to_string()));
        let report = crate::report::FitReport {
            title: format!("custseg: {} customer segment{}", config.k, if config.k == 1 { "" } else { "s" }),
            facts,
            profiles: &profiles,
            data: &stage.prepared.data,
            labels: &fitted.labels,
            seed: config.seed,
        };
        Some(engine.run("the report's covariance pass", |b| crate::report::fit_report(b, &report))?)
    } else {
        None
    };
    let profiles_file = crate::report::profiles::write_parquet(&profiles_path, &profiles)?;
    let model_file = stage_bytes(&model_path, &fitted.model.to_json())?;
    let report_file = report_html.map(|html| stage_bytes(&report_path, html.as_bytes())).transpose()?;
    fitted.assignments.commit()?;
    profiles_file.commit()?;
    model_file.commit()?;
    if let Some(file) = report_file {
        file.commit()?;
        info!("wrote {}", report_path.display());
    }
    info!("wrote {}, {} and {}", assignments_path.display(), profiles_path.display(), model_path.display());
    let t_write = write_start.elapsed().as_secs_f64();
    let streamed = match stage.cache.take() {
        Some(cache) => {
            let bytes = cache.bytes();
            let kept = if config.keep_cache { Some(cache.keep()?) } else { None };
            if let Some(path) = &kept {
                info!("kept the chunk cache: {}", path.display());
            }
            json!({ "cache_bytes": bytes, "cache": kept.map(|p| p.display().to_string()) })
        }
        None => {
            if config.keep_cache {
                warn!("--keep-cache: the data fit the memory budget, so no chunk cache was written");
            }
            Value::Null
        }
    };

    let prepared = &stage.prepared;
    let info = engine.backend.info();
    let mut summary = json!({
        "command": "fit",
        "rows_read": prepared.rows_read,
        "rows_used": prepared.data.rows(),
        "rows_dropped": prepared.dropped_missing + prepared.dropped_duplicate,
        "rows_dropped_missing": prepared.dropped_missing,
        "rows_dropped_duplicate_id": prepared.dropped_duplicate,
        "features": fitted.model.features,
        "dropped_columns": stage.prep.dropped,
        "k": config.k,
        "seed": config.seed,
        "backend": info.backend,
        "device": info.device,
        "seconds": {
            "read": secs(stage.t_read),
            "prep": secs(stage.t_prep),
            "fit": secs(fitted.t_fit),
            "metrics": secs(t_metrics),
            "write": secs(t_write),
            "total": secs(started.elapsed().as_secs_f64()),
        },
        "outputs": {
            "assignments": assignments_path.display().to_string(),
            "model": model_path.display().to_string(),
            "profiles": profiles_path.display().to_string(),
            "report": config.report.then(|| report_path.display().to_string()),
        },
        "stability": stability,
        "streamed_from_disk": streamed,
        "segments": profiles
            .iter()
            .map(|p| json!({ "segment": p.segment, "size": p.size, "share": p.share, "descriptor": p.descriptor }))
            .collect::<Vec<_>>(),
        "metrics": {
            "calinski_harabasz": scores.calinski_harabasz,
            "davies_bouldin": scores.davies_bouldin,
            "silhouette": silhouette,
        },
    });
    if let (Some(all), Some(extra)) = (summary.as_object_mut(), fitted.summary.as_object()) {
        all.extend(extra.clone());
    }
    Ok(summary)
}

/// Fits `config`'s algorithm on `sample` (seeded with `seed`) and labels every row of `data`.
fn refit_labels(
    config: &FitConfig,
    engine: &mut Engine,
    sample: &Dataset,
    data: &Dataset,
    seed: u64,
) -> Result<Vec<u32>> {
    let labels = match config.algorithm {
        AlgorithmChoice::Kmeans | AlgorithmChoice::MinibatchKmeans => {
            let params = KMeansParams { seed, ..config.kmeans_params(config.kmeans_init(sample.rows())) };
            let fit = engine.run("a bootstrap fit", |b| config.fit_kmeans(b, sample, &params, &mut |_| {}))?;
            crate::commands::hard_labels(engine, data, &fit.centres)?
        }
        AlgorithmChoice::Gmm => {
            let params = GmmParams { seed, ..config.gmm_params(config.gmm_init()) };
            let fit = engine.run("a bootstrap fit", |b| gmm::fit(b, sample, &params, &mut |_| {}))?;
            let pass = config.mixture_pass(&fit.mixture)?;
            crate::commands::mixture_labels(engine, data, &pass)?
        }
    };
    Ok(labels.concat())
}

/// The parts of a model both algorithms share.
pub(super) fn base_model(
    config: &FitConfig,
    stage: &Stage,
    algorithm: &str,
    centres: &Centres,
    sizes: Vec<u64>,
    weights: Vec<f64>,
) -> Model {
    let centres: Vec<Vec<f32>> = (0..centres.k).map(|c| centres.centre(c).to_vec()).collect();
    let centres_original = centres.iter().map(|c| stage.prep.to_original_units(c)).collect();
    Model {
        format_version: FORMAT_VERSION,
        custseg_version: env!("CARGO_PKG_VERSION").to_string(),
        algorithm: algorithm.into(),
        id_column: config.read.id.clone(),
        weights_column: config.read.weights.clone(),
        features: stage.prep.feature_names(),
        prep: stage.prep.clone(),
        k: centres.len(),
        centres,
        centres_original,
        segment_sizes: sizes,
        segment_weights: weights,
        kmeans: None,
        gmm: None,
        profiles: Vec::new(),
        input: InputFingerprint {
            files: stage.files.clone(),
            rows_read: stage.prepared.rows_read as u64,
            rows_used: stage.prepared.data.rows() as u64,
            schema: stage.schema.clone(),
        },
    }
}
