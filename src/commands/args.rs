//! Parsed arguments → the library's plain values, and the library's parameters → flags.

use crate::cli::{self, AlgorithmChoice, ClusterSelectionChoice, FitArgs, InitChoice, InitSpace, InputArgs, RunArgs};
use crate::cluster::density::{ClusterSelection, DbscanParams, HdbscanParams, Sample};
use crate::cluster::gmm::{self, GmmInit, GmmParams};
use crate::cluster::kmeans::{Init, KMeansParams};
use crate::cluster::{ward, Segmenter};
use crate::continuity::drift::DriftLevel;
use crate::continuity::ContinuityOptions;
use crate::error::{Error, Param, Result};
use crate::io::export::Export;
use crate::io::reader::ReadSpec;
use crate::pipeline::{
    BackendChoice, BackendOptions, CentreUnits, FitRequest, InitCentres, InputSpec, MarketingOptions,
};
use crate::prep::{Impute, PrepParams, ScaleKind};
use crate::warn;

use super::flag_scope::{
    refuse_ignored_flags, DEFAULT_BATCH_SIZE, DEFAULT_INIT_ROUNDS, DEFAULT_OVERSAMPLING, DEFAULT_REG_COVAR,
};

/// The flag that sets each library parameter (messages name flags on the command line).
pub fn flag(param: Param) -> &'static str {
    match param {
        Param::K => "--k",
        Param::Init => "--init",
        Param::InitCentres => "--init-centroids",
        Param::NInit => "--n-init",
        Param::MaxIter => "--max-iter",
        Param::Tol => "--tol",
        Param::BatchSize => "--batch-size",
        Param::InitRounds => "--init-rounds",
        Param::Oversampling => "--oversampling",
        Param::RegCovar => "--reg-covar",
        Param::OnDegenerate => "--on-degenerate",
        Param::Clip => "--clip",
        Param::Log1p => "--log1p",
        Param::Impute => "--impute",
        Param::Scale => "--scale",
        Param::Dedup => "--dedup",
        Param::Id => "--id",
        Param::Features => "--features",
        Param::Categorical => "--categorical",
        Param::Weights => "--weights",
        Param::Input => "--input",
        Param::Out => "--out",
        Param::CacheDir => "--cache-dir",
        Param::KeepCache => "--keep-cache",
        Param::MemoryBudget => "--memory-budget",
        Param::Stability => "--stability",
        Param::SilhouetteSample => "--silhouette-sample",
        Param::Probabilities => "--probabilities",
        Param::Threads => "--threads",
        Param::Backend => "--backend",
        Param::GpuIndex => "--gpu-index",
        Param::GpuMemory => "--gpu-memory",
        Param::Covariance => "--covariance",
        Param::InitSpace => "--init-space",
        Param::Rows => "--n",
        Param::Dim => "--d",
        Param::Iters => "--iters",
        Param::Horizon => "--horizon",
        Param::DiscountRate => "--discount-rate",
        Param::AsOf => "--as-of",
        Param::HoldoutEnd => "--holdout-end",
        Param::CustomerId => "--customer-id",
        Param::Time => "--time",
        Param::Amount => "--amount",
        Param::Value => "--value",
        Param::RulesDepth => "--rules-depth",
        Param::Names => "--names",
        Param::Export => "--export",
        Param::MinClusterSize => "--min-cluster-size",
        Param::MinSamples => "--min-samples",
        Param::ClusterSelection => "--cluster-selection",
        Param::Eps => "--eps",
        Param::Previous => "--previous",
        Param::KeepPrep => "--keep-prep",
        Param::MatchThreshold => "--match-threshold",
        Param::FailOnDrift => "--fail-on-drift",
        Param::DistanceThreshold => "--distance-threshold",
        Param::MicroClusters => "--micro-clusters",
        Param::Holdout => "--holdout",
        Param::Consolidate => "--consolidate",
        Param::Sample => "--sample",
        Param::Replicates => "--replicates",
    }
}

/// The library's exports for `--export`'s values (each once, in the order given).
pub fn exports(args: &cli::ExportArgs) -> Vec<Export> {
    let mut out = Vec::new();
    for format in &args.export {
        let export = match format {
            cli::ExportFormat::Csv => Export::Csv,
            cli::ExportFormat::Lists => Export::Lists,
        };
        if !out.contains(&export) {
            out.push(export);
        }
    }
    out
}

/// Exports, names and rules.
fn marketing_options(args: &cli::MarketingArgs) -> MarketingOptions {
    MarketingOptions { names: args.names.clone(), exports: exports(&args.export), rules_depth: args.rules_depth }
}

/// Where to compute.
pub fn backend_options(run: &RunArgs) -> BackendOptions {
    BackendOptions {
        choice: match run.backend {
            cli::BackendChoice::Auto => BackendChoice::Auto,
            cli::BackendChoice::Cpu => BackendChoice::Cpu,
            cli::BackendChoice::Gpu => BackendChoice::Gpu,
        },
        gpu_index: run.gpu_index,
        gpu_memory: run.gpu_memory,
    }
}

/// The library's drift band for `--fail-on-drift`.
pub fn fail_on_drift(drift: &cli::continuity::DriftArgs) -> Option<DriftLevel> {
    drift.fail_on_drift.map(|level| match level {
        cli::continuity::FailOnDrift::Moderate => DriftLevel::Moderate,
        cli::continuity::FailOnDrift::Significant => DriftLevel::Significant,
    })
}

/// `--previous` and what goes with it, and `--holdout`.
fn continuity_options(
    args: &cli::continuity::ContinuityArgs,
    holdout: &cli::holdout::HoldoutArgs,
) -> ContinuityOptions {
    ContinuityOptions {
        previous: args.previous.clone(),
        keep_prep: args.keep_prep,
        match_threshold: args.match_threshold,
        fail_on_drift: fail_on_drift(&args.drift),
        holdout: holdout.holdout,
    }
}

/// Which rows `predict` and `evaluate` read.
pub fn input_spec(input: &InputArgs) -> InputSpec {
    InputSpec { inputs: input.input.clone(), id: input.id.clone(), batch_rows: input.batch_rows.max(1) }
}

fn impute(i: cli::Impute) -> Impute {
    match i {
        cli::Impute::Mean => Impute::Mean,
        cli::Impute::Median => Impute::Median,
        cli::Impute::Drop => Impute::Drop,
    }
}

fn scale(s: cli::ScaleKind) -> ScaleKind {
    match s {
        cli::ScaleKind::Zscore => ScaleKind::Zscore,
        cli::ScaleKind::Minmax => ScaleKind::Minmax,
        cli::ScaleKind::Robust => ScaleKind::Robust,
        cli::ScaleKind::None => ScaleKind::None,
    }
}

/// The library's covariance type for the flag's value.
pub fn covariance(c: cli::CovarianceType) -> gmm::CovarianceType {
    match c {
        cli::CovarianceType::Full => gmm::CovarianceType::Full,
        cli::CovarianceType::Diag => gmm::CovarianceType::Diag,
        cli::CovarianceType::Spherical => gmm::CovarianceType::Spherical,
        cli::CovarianceType::Tied => gmm::CovarianceType::Tied,
    }
}

fn on_degenerate(o: cli::OnDegenerate) -> gmm::OnDegenerate {
    match o {
        cli::OnDegenerate::Error => gmm::OnDegenerate::Error,
        cli::OnDegenerate::Reinit => gmm::OnDegenerate::Reinit,
    }
}

/// The density segmenter `fit`'s arguments ask for (None for the other algorithms, which
/// refuse the density flags).
fn density_segmenter(args: &FitArgs) -> Result<Option<Segmenter>> {
    let d = &args.density;
    let misplaced = |param: Param, given: bool, owners: &str| -> Result<()> {
        if given {
            return Err(Error::param(param, format!("is for --algorithm {owners}, not {}", args.algorithm.name())));
        }
        Ok(())
    };
    let params = match args.algorithm {
        AlgorithmChoice::Hdbscan => {
            misplaced(Param::Eps, d.eps.is_some(), "dbscan")?;
            let min_cluster_size = d.min_cluster_size.ok_or_else(|| {
                Error::param(Param::MinClusterSize, "is required with --algorithm hdbscan: the fewest customers a segment may have, such as --min-cluster-size 50")
            })?;
            let selection = match d.cluster_selection {
                ClusterSelectionChoice::Eom => ClusterSelection::Eom,
                ClusterSelectionChoice::Leaf => ClusterSelection::Leaf,
            };
            HdbscanParams { min_cluster_size, min_samples: d.min_samples, selection }.check()?
        }
        AlgorithmChoice::Dbscan => {
            misplaced(Param::MinClusterSize, d.min_cluster_size.is_some(), "hdbscan")?;
            misplaced(Param::ClusterSelection, d.cluster_selection != ClusterSelectionChoice::Eom, "hdbscan")?;
            let eps = d.eps.ok_or_else(|| {
                Error::param(Param::Eps, "is required with --algorithm dbscan: the neighbourhood radius in the scaled space, such as --eps 0.5")
            })?;
            let min_samples = d.min_samples.ok_or_else(|| {
                Error::param(Param::MinSamples, "is required with --algorithm dbscan: neighbours within --eps, counting the customer, that make it core, such as --min-samples 10")
            })?;
            DbscanParams { eps, min_samples }.check()?
        }
        _ => {
            misplaced(Param::MinClusterSize, d.min_cluster_size.is_some(), "hdbscan")?;
            misplaced(Param::MinSamples, d.min_samples.is_some(), "hdbscan or dbscan")?;
            misplaced(Param::ClusterSelection, d.cluster_selection != ClusterSelectionChoice::Eom, "hdbscan")?;
            misplaced(Param::Eps, d.eps.is_some(), "dbscan")?;
            misplaced(Param::Sample, d.sample.is_some(), "hdbscan or dbscan")?;
            return Ok(None);
        }
    };
    let sample = d.sample.map(|size| Sample { size, seed: args.seed });
    Ok(Some(Segmenter::Density(params.sampled(sample)?)))
}

/// The segmenter `fit`'s arguments ask for, with `k` segments.
fn segmenter(args: &FitArgs, k: usize) -> Result<Segmenter> {
    refuse_ignored_flags(args)?;
    if args.algorithm == AlgorithmChoice::Ward {
        return ward_segmenter(args, k);
    }
    for (given, param) in [
        (args.ward.distance_threshold.is_some(), Param::DistanceThreshold),
        (args.ward.micro_clusters.is_some(), Param::MicroClusters),
        (args.ward.consolidate.is_some(), Param::Consolidate),
    ] {
        if given {
            return Err(Error::param(param, "is for --algorithm ward"));
        }
    }
    if let Some(density) = density_segmenter(args)? {
        return Ok(density);
    }
    let gmm = args.algorithm == AlgorithmChoice::Gmm;
    // The documented default for K-Means: auto (k-means++ up to n·k = 5·10⁷, k-means|| beyond).
    let init = args.init.unwrap_or(if gmm { InitChoice::Kmeans } else { InitChoice::Auto });
    let n_init = args.n_init.unwrap_or(if init == InitChoice::Random && !gmm { 10 } else { 1 });
    let max_iter = args.max_iter.unwrap_or(if args.algorithm == AlgorithmChoice::Kmeans { 300 } else { 100 });
    let init_rounds = args.init_rounds.unwrap_or(DEFAULT_INIT_ROUNDS);
    let oversampling = args.oversampling.unwrap_or(DEFAULT_OVERSAMPLING);
    if init_rounds == 0 {
        return Err(Error::param(Param::InitRounds, "must be at least 1"));
    }
    if !(oversampling.is_finite() && oversampling > 0.0) {
        return Err(Error::param(Param::Oversampling, format!("{oversampling} is not a positive finite number")));
    }
    if gmm {
        let init = match init {
            InitChoice::Kmeans => GmmInit::KMeans,
            InitChoice::Random => GmmInit::Random,
            InitChoice::KMeansPlusPlus => GmmInit::KMeansPlusPlus,
            InitChoice::Auto | InitChoice::KMeansParallel => {
                return Err(Error::param(
                    Param::Init,
                    "a Gaussian mixture starts from kmeans (the default), k-means++ or random; auto and k-means|| are K-Means seedings",
                ))
            }
        };
        let params = GmmParams {
            k,
            covariance: covariance(args.covariance.unwrap_or(cli::CovarianceType::Full)),
            reg_covar: args.reg_covar.unwrap_or(DEFAULT_REG_COVAR),
            init,
            n_init,
            max_iter,
            tol: args.tol.unwrap_or(1e-3),
            seed: args.seed,
            on_degenerate: on_degenerate(args.on_degenerate.unwrap_or(cli::OnDegenerate::Error)),
        };
        return Ok(Segmenter::Gmm(params.check()?));
    }
    let init = match init {
        InitChoice::Kmeans => {
            return Err(Error::param(
                Param::Init,
                "`kmeans` initialises Gaussian mixtures; K-Means takes k-means++ or random",
            ))
        }
        InitChoice::Random => Init::Random,
        InitChoice::KMeansParallel => Init::Parallel { rounds: init_rounds, oversampling },
        InitChoice::Auto => Init::Auto { rounds: init_rounds, oversampling },
        InitChoice::KMeansPlusPlus => Init::KMeansPlusPlus,
    };
    let n_init = if args.init_centroids.is_some() {
        if n_init > 1 {
            warn!("--n-init {n_init} with --init-centroids: every run would start from the same centres; running once");
        }
        1
    } else {
        n_init
    };
    let params = KMeansParams { k, init, n_init, max_iter, tol: args.tol.unwrap_or(1e-4), seed: args.seed }.check()?;
    match args.algorithm {
        AlgorithmChoice::MinibatchKmeans => {
            Ok(Segmenter::minibatch(params, args.batch_size.unwrap_or(DEFAULT_BATCH_SIZE))?)
        }
        _ => Ok(Segmenter::KMeans(params)),
    }
}

/// Ward with `--k` (`k`) or `--distance-threshold`; its micro-clustering K-Means runs
/// `--max-iter` Lloyd iterations (20 by default).
fn ward_segmenter(args: &FitArgs, k: usize) -> Result<Segmenter> {
    if args.init_centroids.is_some() {
        return Err(Error::param(Param::InitCentres, "is for K-Means; Ward's tree starts from the rows"));
    }
    let cut = match args.ward.distance_threshold {
        Some(d) => ward::Cut::Distance(d),
        None => ward::Cut::K(k),
    };
    let params = ward::WardParams {
        micro_clusters: args.ward.micro_clusters,
        max_iter: args.max_iter.unwrap_or(20),
        seed: args.seed,
        consolidate: args.ward.consolidate,
        ..ward::WardParams::new(cut)
    };
    Ok(Segmenter::Ward(params.check()?))
}

/// The fit request `fit`'s (or `select-k`'s) arguments describe, with `k` segments.
pub fn fit_request(args: &FitArgs, k: usize) -> Result<FitRequest> {
    if args.algorithm == AlgorithmChoice::Gmm && args.init_centroids.is_some() {
        return Err(Error::param(Param::InitCentres, "is for K-Means; a Gaussian mixture starts from --init"));
    }
    if args.algorithm != AlgorithmChoice::Gmm && args.probabilities {
        return Err(Error::param(
            Param::Probabilities,
            "is for Gaussian mixtures (--algorithm gmm); K-Means writes each row's distance to its centre",
        ));
    }
    crate::pipeline::check_silhouette_sample(args.silhouette_sample)?;
    let request = FitRequest {
        read: ReadSpec {
            inputs: args.input.input.clone(),
            id: args.input.id.clone(),
            features: args.features.clone(),
            categorical: args.categorical.clone(),
            weights: args.weights.clone(),
            batch_rows: args.input.batch_rows.max(1),
        },
        prep: PrepParams {
            impute: impute(args.impute),
            scale: scale(args.scale),
            log1p: args.log1p.clone(),
            clip: args.clip,
            dedup: args.dedup,
        },
        segmenter: segmenter(args, k)?,
        init_centres: args.init_centroids.clone().map(|path| InitCentres {
            path,
            units: match args.init_space.unwrap_or(InitSpace::Raw) {
                InitSpace::Raw => CentreUnits::Raw,
                InitSpace::Prepared => CentreUnits::Prepared,
            },
        }),
        probabilities: args.probabilities,
        value: args.value.clone(),
        silhouette_sample: args.silhouette_sample,
        stability: args.stability,
        report: args.report,
        memory_budget: args.memory_budget,
        cache_dir: args.cache_dir.clone(),
        keep_cache: args.keep_cache,
        out: args.out.clone(),
        seed: args.seed,
        backend: backend_options(&args.run),
        marketing: marketing_options(&args.marketing),
        continuity: continuity_options(&args.continuity, &args.holdout),
    };
    request.check()?;
    Ok(request)
}
