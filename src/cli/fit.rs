//! `fit` and `select-k` options.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{parse_k, parse_size, Impute, InputArgs, KRange, RunArgs, ScaleKind, WardArgs};

#[derive(Debug, Args)]
pub struct FitArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Numeric feature columns (default: every numeric column but the id and weights).
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Columns to one-hot encode (string, dictionary, integer or boolean).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Sample-weight column (finite, ≥ 0).
    #[arg(long)]
    pub weights: Option<String>,
    /// A money column among the numeric features (e.g. monetary_total): the summary and
    /// report give each segment's total, share of it and mean per customer.
    #[arg(long, value_name = "COL")]
    pub value: Option<String>,
    /// Missing (null/NaN) numeric values.
    #[arg(long, value_enum, default_value_t = Impute::Mean)]
    pub impute: Impute,
    /// Scaling of numeric columns.
    #[arg(long, value_enum, default_value_t = ScaleKind::Zscore)]
    pub scale: ScaleKind,
    /// Columns to transform with ln(1 + x) before scaling (skewed money columns).
    #[arg(long, value_delimiter = ',')]
    pub log1p: Vec<String>,
    /// Winsorise numeric columns at the [Q, 1 − Q] quantiles.
    #[arg(long, value_name = "Q")]
    pub clip: Option<f64>,
    /// Keep the first row of each duplicate id (otherwise duplicates are an error).
    #[arg(long)]
    pub dedup: bool,
    /// Number of segments (`select-k`: a range such as 2..20, both ends included). Required
    /// by every algorithm that is told how many segments to find.
    #[arg(long, short, value_parser = parse_k)]
    pub k: Option<KRange>,
    /// K-Means (hard segments), a Gaussian mixture (soft segments with probabilities), Ward's
    /// hierarchical clustering (a tree, cut at --k or --distance-threshold), or HDBSCAN /
    /// DBSCAN (density segments of any shape, outliers left unsegmented).
    #[arg(long, value_enum, default_value_t = AlgorithmChoice::Kmeans)]
    pub algorithm: AlgorithmChoice,
    /// Initialisation (default: auto for kmeans; a K-Means fit for gmm).
    #[arg(long, value_enum)]
    pub init: Option<InitChoice>,
    /// k-means|| (and auto): oversampling rounds (default 5; Spark uses 2; 5 measured
    /// better, see BENCHMARKS.md).
    #[arg(long)]
    pub init_rounds: Option<usize>,
    /// k-means|| (and auto): expected rows kept per round, as a multiple of k (default 2).
    #[arg(long)]
    pub oversampling: Option<f64>,
    /// Initial centres from a CSV or Parquet file (one row per centre, columns named
    /// like the prepared features); overrides --init.
    #[arg(long, value_name = "PATH")]
    pub init_centroids: Option<PathBuf>,
    /// Units of --init-centroids: `raw` (original units, transformed by the fitted prep)
    /// or `prepared` (already scaled). Default: raw.
    #[arg(long, value_enum)]
    pub init_space: Option<InitSpace>,
    /// Independent runs, best inertia wins (default: 1, or 10 with --init random).
    #[arg(long)]
    pub n_init: Option<usize>,
    /// Most iterations per run (default: 300 for kmeans, 100 for gmm; minibatch-kmeans:
    /// epochs, 100).
    #[arg(long)]
    pub max_iter: Option<usize>,
    /// kmeans: stop when the squared centre shift ≤ tol × mean feature variance (1e-4);
    /// gmm: stop when the mean log-likelihood lower bound changes by less than tol (1e-3).
    #[arg(long, allow_negative_numbers = true)]
    pub tol: Option<f64>,
    /// minibatch-kmeans: rows per batch (default 1024).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// gmm: shape of the component covariances. Default: full.
    #[arg(long, value_enum)]
    pub covariance: Option<CovarianceType>,
    /// gmm: added to the covariance diagonals (scikit-learn's reg_covar; default 1e-6).
    #[arg(long, allow_negative_numbers = true)]
    pub reg_covar: Option<f64>,
    /// gmm: a component that collapses is an error, or is re-initialised. Default: error.
    #[arg(long, value_enum)]
    pub on_degenerate: Option<OnDegenerate>,
    /// gmm: also write p_0 … p_{k-1}, every segment's probability, to assignments.parquet.
    #[arg(long)]
    pub probabilities: bool,
    /// Silhouette: exact up to this many rows, else estimated on a seeded sample of this
    /// size (with its standard error); 0 skips it.
    #[arg(long, default_value_t = 50_000)]
    pub silhouette_sample: usize,
    /// Refit on this many seeded bootstrap samples and report the mean adjusted Rand index
    /// against the full fit and each segment's Jaccard stability (0: off).
    #[arg(long, value_name = "B", default_value_t = 0)]
    pub stability: usize,
    /// When the data would need more memory than this (e.g. `512MiB`, `8GiB`), stream them
    /// from an on-disk chunk cache instead of holding them (default: half the available
    /// memory).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub memory_budget: Option<u64>,
    /// Folder for the on-disk chunk cache (default: the output folder).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Keep the chunk cache (custseg-cache.f32: raw f32 rows, 64 KiB-aligned chunks) after
    /// the run.
    #[arg(long)]
    pub keep_cache: bool,
    /// Also write report.html: a self-contained page with segment sizes, a z-score heat
    /// map, a PCA scatter, a dendrogram of the segments (fit) or the curves over k (select-k).
    #[arg(long)]
    pub report: bool,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    #[command(flatten)]
    pub marketing: super::MarketingArgs,
    #[command(flatten)]
    pub ward: WardArgs,
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub density: super::density::DensityArgs,
    #[command(flatten)]
    pub continuity: super::continuity::ContinuityArgs,
    #[command(flatten)]
    pub holdout: super::holdout::HoldoutArgs,
}

/// Shape of the mixture components' covariances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CovarianceType {
    /// A full matrix per component.
    Full,
    /// A diagonal per component.
    Diag,
    /// One variance per component.
    Spherical,
    /// One full matrix shared by all components.
    Tied,
}

/// What to do with a mixture component that collapses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDegenerate {
    /// Stop with an error naming the component.
    Error,
    /// Re-initialise the component on a random row with the data's variance.
    Reinit,
}

/// Segmentation algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmChoice {
    Kmeans,
    /// K-Means on seeded mini-batches (`--batch-size`), for very large n.
    #[value(name = "minibatch-kmeans")]
    MinibatchKmeans,
    Gmm,
    /// HDBSCAN (`--min-cluster-size`): finds the segments and leaves outliers unsegmented (−1).
    Hdbscan,
    /// DBSCAN (`--eps`, `--min-samples`): segments of dense regions; outliers unsegmented (−1).
    Dbscan,
    /// Ward's hierarchical clustering (`--k` or `--distance-threshold`); writes dendrogram.parquet.
    Ward,
}

impl AlgorithmChoice {
    /// The name on the command line, in summaries and in the model.
    pub fn name(self) -> &'static str {
        match self {
            AlgorithmChoice::Kmeans => "kmeans",
            AlgorithmChoice::MinibatchKmeans => "minibatch-kmeans",
            AlgorithmChoice::Gmm => "gmm",
            AlgorithmChoice::Hdbscan => "hdbscan",
            AlgorithmChoice::Dbscan => "dbscan",
            AlgorithmChoice::Ward => "ward",
        }
    }

    /// Whether the algorithm finds the number of segments itself (no `--k`).
    pub fn is_density(self) -> bool {
        matches!(self, AlgorithmChoice::Hdbscan | AlgorithmChoice::Dbscan)
    }
}

/// Initialisation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitChoice {
    /// kmeans: k-means++ up to n·k = 5·10⁷, k-means|| beyond (k-means++ needs k passes).
    Auto,
    #[value(name = "k-means++")]
    KMeansPlusPlus,
    /// kmeans only: k-means|| (Bahmani et al.), `--init-rounds` passes.
    #[value(name = "k-means||")]
    KMeansParallel,
    /// kmeans: k random rows; gmm: random responsibilities (weak: starts at a saddle).
    Random,
    /// gmm only: responsibilities from a K-Means fit.
    Kmeans,
}

/// Units of an initial-centres file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitSpace {
    Raw,
    Prepared,
}

/// `select-k` takes every `fit` option, with `--k` as a range.
#[derive(Debug, Args)]
pub struct SelectKArgs {
    #[command(flatten)]
    pub fit: FitArgs,
    #[command(flatten)]
    pub robust: super::select_k::SelectKRobustArgs,
}

impl FitArgs {
    /// `--k`, which the algorithm asked for needs.
    pub fn k_range(&self) -> crate::error::Result<KRange> {
        if self.algorithm == AlgorithmChoice::Ward {
            return self.ward.k_range(self.k);
        }
        self.k.ok_or_else(|| {
            crate::error::Error::param(
                crate::error::Param::K,
                format!(
                    "is required with --algorithm {}: give a number of segments such as --k 6",
                    self.algorithm.name()
                ),
            )
        })
    }
}
