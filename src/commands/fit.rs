//! `custseg fit`: read → prep → K-Means or a Gaussian mixture → assignments.parquet +
//! model.json + summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::datatypes::DataType;
use serde_json::{json, Value};

use super::{ensure_not_input, secs, select_backend, Engine};
use crate::backend::Centres;
use crate::cli::{AlgorithmChoice, FitArgs, InitChoice, InitSpace, RunArgs};
use crate::cluster::gmm::{self, CovarianceType, GmmInit, GmmParams, OnDegenerate};
use crate::cluster::kmeans::{self, Init, KMeansError, KMeansParams};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::atomic::{remove_stale_temp_files, stage_bytes};
use crate::io::centres::read_centres;
use crate::io::reader::{self, InputFile, ReadSpec};
use crate::io::writer::AssignmentWriter;
use crate::model::{GmmRecord, InputFingerprint, KMeansRecord, Model, FORMAT_VERSION};
use crate::prep::{row_masks, Duplicates, Prep, PrepParams, Prepared};
use crate::{info, warn};

/// Names the output files take inside `--out`.
pub const ASSIGNMENTS_FILE: &str = "assignments.parquet";
pub const MODEL_FILE: &str = "model.json";
pub const PROFILES_FILE: &str = "profiles.parquet";
pub use crate::report::REPORT_FILE;

/// Above this n·k, `--init auto` uses k-means|| (one pass per round) instead of k-means++
/// (k passes).
pub const AUTO_PARALLEL_WORK: f64 = 5e7;

/// Gaussian-mixture options (used when the algorithm is `gmm`).
#[derive(Debug, Clone, PartialEq)]
pub struct GmmOptions {
    pub covariance: CovarianceType,
    pub reg_covar: f64,
    pub on_degenerate: OnDegenerate,
    /// Write p_0 … p_{k-1} too.
    pub probabilities: bool,
}

impl Default for GmmOptions {
    fn default() -> Self {
        GmmOptions {
            covariance: CovarianceType::Full,
            reg_covar: 1e-6,
            on_degenerate: OnDegenerate::Error,
            probabilities: false,
        }
    }
}

/// A validated `fit` request.
#[derive(Debug, Clone)]
pub struct FitConfig {
    pub read: ReadSpec,
    pub prep: PrepParams,
    pub algorithm: AlgorithmChoice,
    pub k: usize,
    pub init: InitChoice,
    pub init_centroids: Option<(PathBuf, InitSpace)>,
    pub n_init: usize,
    pub max_iter: usize,
    pub tol: f64,
    pub seed: u64,
    /// minibatch-kmeans: rows per batch.
    pub batch_size: usize,
    /// k-means|| rounds and oversampling factor.
    pub init_rounds: usize,
    pub oversampling: f64,
    pub gmm: GmmOptions,
    /// Rows for the silhouette (exact below, sampled above); 0 skips it.
    pub silhouette_sample: usize,
    /// Bootstrap refits for the stability report (0: off).
    pub stability: usize,
    /// Write report.html.
    pub report: bool,
    /// Stream the data from an on-disk cache past this many bytes (None: half of the
    /// available memory).
    pub memory_budget: Option<u64>,
    pub cache_dir: Option<PathBuf>,
    pub keep_cache: bool,
    pub out: PathBuf,
    pub run: RunArgs,
}

impl FitConfig {
    /// Validates what can be checked before reading any data.
    pub fn from_args(args: FitArgs) -> Result<Self> {
        if args.k.first != args.k.last {
            return Err(Error::param("k", "fit takes one k; use `custseg select-k` for a range"));
        }
        Self::from_args_with_k(args)
    }

    /// Like [`FitConfig::from_args`], with `k` set to the range's first value.
    pub fn from_args_with_k(args: FitArgs) -> Result<Self> {
        let gmm = args.algorithm == AlgorithmChoice::Gmm;
        let init = args.init.unwrap_or(if gmm { InitChoice::Kmeans } else { InitChoice::KMeansPlusPlus });
        if init == InitChoice::Kmeans && !gmm {
            return Err(Error::param(
                "init",
                "`kmeans` initialises Gaussian mixtures; K-Means takes k-means++ or random",
            ));
        }
        if gmm && args.init_centroids.is_some() {
            return Err(Error::param("init-centroids", "is for K-Means; a Gaussian mixture starts from --init"));
        }
        let n_init = args.n_init.unwrap_or(if init == InitChoice::Random && !gmm { 10 } else { 1 });
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
            algorithm: args.algorithm,
            k: args.k.first,
            init,
            n_init: if args.init_centroids.is_some() { 1 } else { n_init },
            init_centroids: args.init_centroids.map(|p| (p, args.init_space)),
            max_iter: args.max_iter.unwrap_or(if args.algorithm == AlgorithmChoice::Kmeans { 300 } else { 100 }),
            tol: args.tol.unwrap_or(if gmm { 1e-3 } else { 1e-4 }),
            seed: args.seed,
            batch_size: args.batch_size,
            init_rounds: args.init_rounds,
            oversampling: args.oversampling,
            gmm: GmmOptions {
                covariance: args.covariance,
                reg_covar: args.reg_covar,
                on_degenerate: args.on_degenerate,
                probabilities: args.probabilities,
            },
            silhouette_sample: args.silhouette_sample,
            stability: args.stability,
            report: args.report,
            memory_budget: args.memory_budget,
            cache_dir: args.cache_dir,
            keep_cache: args.keep_cache,
            out: args.out,
            run: args.run,
        };
        // Data-independent checks first, so a bad parameter never costs a read.
        if gmm {
            config.gmm_params(GmmInit::KMeans).validate(usize::MAX)?;
        } else {
            config.kmeans_params(Init::KMeansPlusPlus).validate(usize::MAX, 1)?;
        }
        if let Some(q) = config.prep.clip {
            if !(0.0..0.5).contains(&q) {
                return Err(Error::param("clip", format!("{q} is not a quantile in [0, 0.5); try 0.01")));
            }
        }
        if let Some(id) = &config.read.id {
            if ["segment", "distance", "probability"].contains(&id.as_str()) || id.starts_with("p_") {
                return Err(Error::param(
                    "id",
                    format!("an id column named '{id}' clashes with an output column; rename it"),
                ));
            }
        }
        Ok(config)
    }

    /// The K-Means initialisation for `rows` rows (resolving `auto`; not for --init-centroids).
    pub fn kmeans_init(&self, rows: usize) -> Init {
        let parallel = Init::Parallel { rounds: self.init_rounds, oversampling: self.oversampling };
        match self.init {
            InitChoice::Random => Init::Random,
            InitChoice::KMeansParallel => parallel,
            InitChoice::Auto if (rows as f64) * (self.k as f64) > AUTO_PARALLEL_WORK => parallel,
            _ => Init::KMeansPlusPlus,
        }
    }

    /// The Gaussian-mixture initialisation of this request.
    pub fn gmm_init(&self) -> GmmInit {
        match self.init {
            InitChoice::Kmeans => GmmInit::KMeans,
            InitChoice::Random => GmmInit::Random,
            _ => GmmInit::KMeansPlusPlus,
        }
    }

    /// K-Means parameters of this request.
    pub fn kmeans_params(&self, init: Init) -> KMeansParams {
        KMeansParams { k: self.k, init, n_init: self.n_init, max_iter: self.max_iter, tol: self.tol, seed: self.seed }
    }

    /// Gaussian-mixture parameters of this request.
    pub fn gmm_params(&self, init: GmmInit) -> GmmParams {
        GmmParams {
            k: self.k,
            covariance: self.gmm.covariance,
            reg_covar: self.gmm.reg_covar,
            init,
            n_init: self.n_init,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            on_degenerate: self.gmm.on_degenerate,
        }
    }
}

/// What read + prep produced, shared by both algorithms.
pub struct Stage {
    pub prep: Prep,
    pub prepared: Prepared,
    files: Vec<InputFile>,
    schema: Vec<(String, String)>,
    id_name: String,
    id_type: DataType,
    t_read: f64,
    t_prep: f64,
    /// The on-disk chunk cache the data stream from, when they exceed the memory budget.
    cache: Option<crate::io::cache::CacheFile>,
}

/// What an algorithm hands back: the staged assignments, the labels (per chunk), the model
/// and its summary keys.
struct Fitted {
    assignments: crate::io::atomic::Staged,
    labels: Vec<Vec<u32>>,
    model: Model,
    summary: Value,
    t_fit: f64,
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
            fit_kmeans(config, &mut engine, &stage, &assignments_path)?
        }
        AlgorithmChoice::Gmm => fit_gmm(config, &mut engine, &stage, &assignments_path)?,
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
            title: format!("custseg: {} customer segments", config.k),
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
        None => Value::Null,
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

/// Reads and prepares the input of `config` (shared by `fit` and `select-k`).
pub fn read_and_prepare(config: &FitConfig, started: Instant) -> Result<Stage> {
    let (rows, columns) = reader::plan(&config.read)?;
    let full = config.algorithm == AlgorithmChoice::Gmm
        && matches!(config.gmm.covariance, CovarianceType::Full | CovarianceType::Tied);
    let in_memory = crate::resources::fit_estimate(rows, columns, config.k as u64, full);
    let budget = config.memory_budget.unwrap_or_else(crate::resources::default_memory_budget);
    if in_memory > budget {
        return read_and_prepare_streamed(config, started, (rows, columns), in_memory, budget);
    }
    crate::resources::ensure_fits(format!("fitting k={} on {rows} rows × {columns} columns", config.k), in_memory)?;
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
    let id_name = table.id.clone().unwrap_or_else(|| "row".to_string());
    let id_type = table.batches.first().map_or(DataType::UInt64, |b| b.ids.data_type().clone());
    let files = table.files.clone();
    let schema = table.schema.clone();
    let prepared = prep.apply(table, &masks)?;
    if prepared.dropped_duplicate > 0 {
        info!("--dedup dropped {} rows with a repeated id", prepared.dropped_duplicate);
    }
    if prepared.dropped_missing > 0 {
        info!("--impute drop dropped {} rows with missing values", prepared.dropped_missing);
    }
    let t_prep = started.elapsed().as_secs_f64() - t_read;
    info!("prepared {} rows × {} features in {:.2}s", prepared.data.rows(), prepared.data.dim(), t_prep);
    Ok(Stage { prep, prepared, files, schema, id_name, id_type, t_read, t_prep, cache: None })
}

/// [`read_and_prepare`] for data over the memory budget: the prepared rows go to an
/// on-disk chunk cache that every pass streams from.
fn read_and_prepare_streamed(
    config: &FitConfig,
    started: Instant,
    (rows, columns): (u64, u64),
    in_memory: u64,
    budget: u64,
) -> Result<Stage> {
    use crate::resources::human;
    let over = format!("the data need about {} in memory, over the budget of {}", human(in_memory), human(budget));
    if config.prep.dedup {
        return Err(Error::param(
            "dedup",
            format!("{over}, and --dedup needs every id in memory; raise --memory-budget or deduplicate upstream"),
        ));
    }
    if config.stability > 0 {
        return Err(Error::param(
            "stability",
            format!(
                "{over}, and bootstrap samples are as large as the data; raise --memory-budget or drop --stability"
            ),
        ));
    }
    let dir = config.cache_dir.clone().unwrap_or_else(|| config.out.clone());
    if !dir.is_dir() {
        return Err(Error::param("cache-dir", format!("{} is not a folder; create it or pick another", dir.display())));
    }
    crate::resources::ensure_fits(
        format!("streaming k={} on {rows} rows × {columns} columns from disk", config.k),
        crate::resources::streamed_fit_estimate(rows, columns, config.k as u64),
    )?;
    info!(
        "{over} (--memory-budget): streaming them from an on-disk cache in {}; ids are not checked for duplicates",
        dir.display()
    );
    let spilled = crate::prep::spill::prepare_to_cache(
        &config.read,
        &config.prep,
        (rows, crate::prep::spill::PREP_SAMPLE_ROWS),
        config.seed,
        &dir,
        &mut |w| warn!("{w}"),
    )?;
    let prepared = spilled.prepared;
    info!(
        "prepared {} rows × {} features into a {} cache in {:.2}s",
        prepared.data.rows(),
        prepared.data.dim(),
        human(spilled.cache.bytes()),
        started.elapsed().as_secs_f64()
    );
    if prepared.dropped_missing > 0 {
        info!("--impute drop dropped {} rows with missing values", prepared.dropped_missing);
    }
    Ok(Stage {
        prep: spilled.prep,
        id_name: spilled.table.id.clone().unwrap_or_else(|| "row".to_string()),
        id_type: prepared.ids.first().map_or(DataType::UInt64, |ids| ids.data_type().clone()),
        files: spilled.table.files,
        schema: spilled.table.schema,
        prepared,
        t_read: spilled.t_sample,
        t_prep: spilled.t_prep,
        cache: Some(spilled.cache),
    })
}

fn fit_kmeans(config: &FitConfig, engine: &mut Engine, stage: &Stage, target: &Path) -> Result<Fitted> {
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
        if minibatch {
            kmeans::fit_minibatch(backend, data, &params, config.batch_size, report)
        } else {
            kmeans::fit(backend, data, &params, report)
        }
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
    let algorithm = if minibatch { "minibatch-kmeans" } else { "kmeans" };
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

fn fit_gmm(config: &FitConfig, engine: &mut Engine, stage: &Stage, target: &Path) -> Result<Fitted> {
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
    let pass = fit.mixture.to_pass().map_err(|(c, reason)| {
        Error::Gmm(gmm::GmmError::Degenerate { component: c, reason, reg_covar: config.gmm.reg_covar })
    })?;
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
            let fit = engine.run("a bootstrap fit", |b| {
                if config.algorithm == AlgorithmChoice::MinibatchKmeans {
                    kmeans::fit_minibatch(b, sample, &params, config.batch_size, &mut |_| {})
                } else {
                    kmeans::fit(b, sample, &params, &mut |_| {})
                }
            })?;
            super::hard_labels(engine, data, &fit.centres)?
        }
        AlgorithmChoice::Gmm => {
            let params = GmmParams { seed, ..config.gmm_params(config.gmm_init()) };
            let fit = engine.run("a bootstrap fit", |b| gmm::fit(b, sample, &params, &mut |_| {}))?;
            let pass = fit.mixture.to_pass().map_err(|(component, reason)| {
                Error::Gmm(gmm::GmmError::Degenerate { component, reason, reg_covar: params.reg_covar })
            })?;
            super::mixture_labels(engine, data, &pass)?
        }
    };
    Ok(labels.concat())
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

/// The parts of a model both algorithms share.
fn base_model(
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
