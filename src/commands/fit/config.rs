//! The validated `fit` request and the algorithm parameters it implies.

use std::path::PathBuf;

use super::AUTO_PARALLEL_WORK;
use crate::backend::mixture::MixturePass;
use crate::backend::Backend;
use crate::cli::{AlgorithmChoice, FitArgs, InitChoice, InitSpace, RunArgs};
use crate::cluster::gmm::{CovarianceType, GmmError, GmmInit, GmmParams, Mixture, OnDegenerate};
use crate::cluster::kmeans::{self, Init, IterationReport, KMeansFit, KMeansParams};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::reader::ReadSpec;
use crate::prep::PrepParams;
use crate::warn;

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

    /// Runs the configured K-Means variant (Lloyd, or mini-batch with `batch_size`) on `data`.
    pub fn fit_kmeans(
        &self,
        backend: &dyn Backend,
        data: &Dataset,
        params: &KMeansParams,
        report: &mut dyn FnMut(&IterationReport),
    ) -> Result<KMeansFit> {
        if self.algorithm == AlgorithmChoice::MinibatchKmeans {
            kmeans::fit_minibatch(backend, data, params, self.batch_size, report)
        } else {
            kmeans::fit(backend, data, params, report)
        }
    }

    /// A fitted mixture in E-step form; a component that cannot be used is the error that
    /// names it and suggests a larger `--reg-covar`.
    pub fn mixture_pass(&self, mixture: &Mixture) -> Result<MixturePass> {
        mixture.to_pass().map_err(|(component, reason)| {
            Error::Gmm(GmmError::Degenerate { component, reason, reg_covar: self.gmm.reg_covar })
        })
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
