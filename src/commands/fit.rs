//! `custseg fit`: read → prep → K-Means → assignments.parquet + model.json + summary.

use std::path::PathBuf;
use std::time::Instant;

use arrow::datatypes::DataType;
use serde_json::json;

use super::{ensure_not_input, secs, select_backend};
use crate::backend::Centres;
use crate::cli::{FitArgs, InitChoice, InitSpace, RunArgs};
use crate::cluster::kmeans::{self, Init, KMeansError, KMeansParams};
use crate::error::{Error, Result};
use crate::io::atomic::{remove_stale_temp_files, stage_bytes};
use crate::io::centres::read_centres;
use crate::io::reader::{self, ReadSpec};
use crate::io::writer::AssignmentWriter;
use crate::model::{InputFingerprint, KMeansRecord, Model, FORMAT_VERSION};
use crate::prep::{row_masks, Duplicates, Prep, PrepParams, Prepared};
use crate::{info, warn};

/// Names the output files take inside `--out`.
pub const ASSIGNMENTS_FILE: &str = "assignments.parquet";
pub const MODEL_FILE: &str = "model.json";

/// A validated `fit` request.
#[derive(Debug, Clone)]
pub struct FitConfig {
    pub read: ReadSpec,
    pub prep: PrepParams,
    pub k: usize,
    pub init: InitChoice,
    pub init_centroids: Option<(PathBuf, InitSpace)>,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    pub out: PathBuf,
    pub run: RunArgs,
}

impl FitConfig {
    /// Validates what can be checked before reading any data.
    pub fn from_args(args: FitArgs) -> Result<Self> {
        let n_init = args.n_init.unwrap_or(match (args.init, &args.init_centroids) {
            (InitChoice::Random, None) => 10,
            _ => 1,
        });
        if args.init_centroids.is_some() && n_init > 1 {
            warn!("--n-init {n_init} with --init-centroids: every run would start from the same centres; running once");
        }
        let config = FitConfig {
            read: ReadSpec {
                inputs: args.input.input,
                id: args.input.id,
                features: args.features,
                categorical: args.categorical,
                weights: args.weights,
                batch_rows: args.input.batch_rows.max(1),
            },
            prep: PrepParams {
                impute: args.impute,
                scale: args.scale,
                log1p: args.log1p,
                clip: args.clip,
                dedup: args.dedup,
            },
            k: args.k,
            init: args.init,
            n_init: if args.init_centroids.is_some() { 1 } else { n_init },
            init_centroids: args.init_centroids.map(|p| (p, args.init_space)),
            max_iter: args.max_iter,
            tol: args.tol,
            seed: args.seed,
            out: args.out,
            run: args.run,
        };
        // Data-independent checks first, so a bad parameter never costs a read.
        let probe = KMeansParams {
            k: config.k,
            init: Init::KMeansPlusPlus,
            n_init: config.n_init,
            max_iter: config.max_iter,
            tol: config.tol,
            seed: config.seed,
        };
        probe.validate(usize::MAX, 1)?;
        if let Some(q) = config.prep.clip {
            if !(0.0..0.5).contains(&q) {
                return Err(Error::param("clip", format!("{q} is not a quantile in [0, 0.5); try 0.01")));
            }
        }
        if let Some(id) = &config.read.id {
            if id == "segment" || id == "distance" {
                return Err(Error::param(
                    "id",
                    format!("an id column named '{id}' clashes with an output column; rename it"),
                ));
            }
        }
        Ok(config)
    }
}

/// Runs a fit and returns the JSON summary.
pub fn run(config: &FitConfig) -> Result<serde_json::Value> {
    let started = Instant::now();
    let mut engine = select_backend(&config.run)?;
    std::fs::create_dir_all(&config.out).map_err(|e| Error::io(&config.out, e))?;
    let assignments_path = config.out.join(ASSIGNMENTS_FILE);
    let model_path = config.out.join(MODEL_FILE);
    ensure_not_input(&assignments_path, &config.read.inputs)?;
    ensure_not_input(&model_path, &config.read.inputs)?;
    let stale = remove_stale_temp_files(&assignments_path) + remove_stale_temp_files(&model_path);
    if stale > 0 {
        warn!("removed {stale} temporary file(s) left in {} by an earlier run that was killed", config.out.display());
    }

    let (rows, columns) = reader::plan(&config.read)?;
    crate::resources::ensure_fits(
        format!("fitting k={} on {rows} rows × {columns} columns", config.k),
        crate::resources::fit_estimate(rows, columns, config.k as u64),
    )?;
    info!("reading {}", config.read.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    let table = reader::read(&config.read)?;
    let t_read = started.elapsed().as_secs_f64();
    info!("read {} rows from {} file(s) in {:.2}s", table.rows(), table.files.len(), t_read);

    let duplicates = if config.prep.dedup { Duplicates::KeepFirst } else { Duplicates::Refuse };
    let masks = row_masks(&table, config.prep.impute, duplicates)?;
    if masks.keep.iter().all(|k| !k.contains(&true)) {
        return Err(Error::data(
            table.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", "),
            "no rows left after dropping rows with missing values; use --impute mean or median",
        ));
    }
    let prep = Prep::fit(&table, &config.prep, &masks, &mut |w| warn!("{w}"))?;
    let (id_name, id_type) = id_column(&table);
    let files = table.files.clone();
    let schema = table.schema.clone();
    let prepared = prep.apply(table, &masks)?;
    let data = &prepared.data;
    if data.rows() == 0 {
        return Err(Error::data(
            files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", "),
            "no rows left after dropping rows with missing values; use --impute mean or median",
        ));
    }
    if prepared.dropped_duplicate > 0 {
        info!("--dedup dropped {} rows with a repeated id", prepared.dropped_duplicate);
    }
    if prepared.dropped_missing > 0 {
        info!("--impute drop dropped {} rows with missing values", prepared.dropped_missing);
    }
    let t_prep = started.elapsed().as_secs_f64() - t_read;
    info!("prepared {} rows × {} features in {:.2}s", data.rows(), data.dim(), t_prep);

    let init = match &config.init_centroids {
        Some((path, space)) => Init::Centres(load_initial_centres(path, *space, &prep, config.k)?),
        None => match config.init {
            InitChoice::KMeansPlusPlus => Init::KMeansPlusPlus,
            InitChoice::Random => Init::Random,
        },
    };
    let params = KMeansParams {
        k: config.k,
        init,
        n_init: config.n_init,
        max_iter: config.max_iter,
        tol: config.tol,
        seed: config.seed,
    };
    let planned = engine.backend.info();
    info!("fitting K-Means k={} on {} ({})", config.k, planned.backend, planned.device);
    let bar = crate::log::progress((config.max_iter * config.n_init) as u64, "K-Means");
    let fit_start = Instant::now();
    let fit = engine.run("the K-Means fit", |backend| {
        bar.reset();
        kmeans::fit(backend, data, &params, &mut |r| {
            bar.inc(1);
            bar.set_message(format!(
                "run {} iteration {} inertia {:.6e} changed {}",
                r.run + 1,
                r.iteration,
                r.inertia,
                r.changed
            ));
        })
    })?;
    bar.finish_and_clear();
    let t_fit = fit_start.elapsed().as_secs_f64();
    info!(
        "{} after {} iterations (run {} of {}), inertia {:.6e}, in {:.2}s",
        if fit.converged { "converged" } else { "stopped at --max-iter" },
        fit.iterations,
        fit.best_run + 1,
        config.n_init,
        fit.inertia,
        t_fit
    );
    if fit.reseeded > 0 {
        warn!("{} empty cluster(s) were re-seeded from the farthest rows", fit.reseeded);
    }
    if let Some(empty) = fit.sizes.iter().position(|&s| s == 0) {
        warn!("segment {empty} is empty: the data may have fewer than k={} distinct rows", config.k);
    }

    let write_start = Instant::now();
    let assignments = engine.run("the assignment pass", |backend| {
        let mut writer = AssignmentWriter::create(&assignments_path, &id_name, &id_type)?;
        backend.assign(data, &fit.centres, &mut |chunk, labels, distances| {
            writer.write(&prepared.ids[chunk], labels, distances)
        })?;
        writer.finish()
    })?;
    let info = engine.backend.info();
    let model = build_model(config, &prep, &prepared, &fit, files, schema, &params);
    let model_file = stage_bytes(&model_path, &model.to_json())?;
    assignments.commit()?;
    model_file.commit()?;
    let t_write = write_start.elapsed().as_secs_f64();
    info!("wrote {} and {}", assignments_path.display(), model_path.display());

    let dropped = prepared.dropped_missing + prepared.dropped_duplicate;
    Ok(json!({
        "command": "fit",
        "rows_read": prepared.rows_read,
        "rows_used": data.rows(),
        "rows_dropped": dropped,
        "rows_dropped_missing": prepared.dropped_missing,
        "rows_dropped_duplicate_id": prepared.dropped_duplicate,
        "features": model.features,
        "dropped_columns": prep.dropped,
        "algorithm": "kmeans",
        "k": config.k,
        "iterations": fit.iterations,
        "converged": fit.converged,
        "inertia": fit.inertia,
        "segment_sizes": fit.sizes,
        "seed": config.seed,
        "backend": info.backend,
        "device": info.device,
        "seconds": {
            "read": secs(t_read),
            "prep": secs(t_prep),
            "fit": secs(t_fit),
            "write": secs(t_write),
            "total": secs(started.elapsed().as_secs_f64()),
        },
        "outputs": {
            "assignments": assignments_path.display().to_string(),
            "model": model_path.display().to_string(),
        },
    }))
}

/// The id column's output name and type (row numbers when no `--id`).
fn id_column(table: &reader::RawTable) -> (String, DataType) {
    let name = table.id.clone().unwrap_or_else(|| "row".to_string());
    let dtype = table.batches.first().map_or(DataType::UInt64, |b| b.ids.data_type().clone());
    (name, dtype)
}

/// Reads `--init-centroids` and maps it into the prepared space.
fn load_initial_centres(path: &std::path::Path, space: InitSpace, prep: &Prep, k: usize) -> Result<Centres> {
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

fn build_model(
    config: &FitConfig,
    prep: &Prep,
    prepared: &Prepared,
    fit: &kmeans::KMeansFit,
    files: Vec<reader::InputFile>,
    schema: Vec<(String, String)>,
    params: &KMeansParams,
) -> Model {
    let centres: Vec<Vec<f32>> = (0..fit.centres.k).map(|c| fit.centres.centre(c).to_vec()).collect();
    let centres_original = centres.iter().map(|c| prep.to_original_units(c)).collect();
    let init = match (&params.init, config.init_centroids.as_ref()) {
        (Init::Centres(_), Some((p, space))) => {
            let units = if *space == InitSpace::Raw { "raw" } else { "prepared" };
            format!("file:{} ({units} units)", p.display())
        }
        (Init::Random, _) => "random".into(),
        _ => "k-means++".into(),
    };
    Model {
        format_version: FORMAT_VERSION,
        custseg_version: env!("CARGO_PKG_VERSION").to_string(),
        algorithm: "kmeans".into(),
        id_column: config.read.id.clone(),
        weights_column: config.read.weights.clone(),
        features: prep.feature_names(),
        prep: prep.clone(),
        k: fit.centres.k,
        centres,
        centres_original,
        segment_sizes: fit.sizes.clone(),
        segment_weights: fit.weights.clone(),
        kmeans: KMeansRecord {
            init,
            n_init: params.n_init,
            max_iter: params.max_iter,
            tol: params.tol,
            seed: params.seed,
            iterations: fit.iterations,
            converged: fit.converged,
            inertia: fit.inertia,
        },
        input: InputFingerprint {
            files,
            rows_read: prepared.rows_read as u64,
            rows_used: prepared.data.rows() as u64,
            schema,
        },
    }
}
