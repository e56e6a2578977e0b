//! Command-line definitions (clap derive) only; `commands/` validates them into configs.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Segment a customer base: a transaction log or customer table (Parquet or CSV) in;
/// customer value, segments (K-Means, mini-batch K-Means, Gaussian mixtures), a reusable
/// model and a JSON summary out. Logs go to stderr, the summary to stdout.
#[derive(Debug, Parser)]
#[command(name = "custseg", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fit segments on Parquet files and write assignments.parquet + model.json.
    Fit(FitArgs),
    /// Assign new rows to the segments of a saved model.
    Predict(PredictArgs),
    /// Generate a synthetic customer base and segment it (no data needed).
    Demo(DemoArgs),
    /// Score a saved model's segments on a dataset (metrics; mixtures: BIC, AIC).
    Evaluate(EvaluateArgs),
    /// Fit every k of a range on data read and prepared once; table + recommended k.
    SelectK(SelectKArgs),
    /// Time K-Means passes on generated data or a Parquet file.
    Bench(BenchArgs),
    /// List the GPU adapters wgpu finds (name, backend, type, limits) as JSON.
    Devices,
    /// Turn a transaction log into one row per customer: RFM, tenure, and predicted
    /// purchases, churn risk and lifetime value (BG/NBD + Gamma-Gamma).
    Customers(CustomersArgs),
}

/// Options shared by every command that computes.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Compute backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,
    /// GPU adapter to use with --backend gpu (its index in `custseg devices`).
    #[arg(long)]
    pub gpu_index: Option<usize>,
    /// Device memory the GPU may use for the rows (e.g. 512MiB, 8GiB); beyond it rows are
    /// streamed through the GPU each pass. Default: keep them resident, streaming only if
    /// the device runs out of memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub gpu_memory: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Print no JSON summary on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What to do with a missing (null or NaN) numeric value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Impute {
    Mean,
    Median,
    Drop,
}

/// How numeric columns are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScaleKind {
    /// (x − mean) / standard deviation.
    Zscore,
    /// (x − min) / (max − min).
    Minmax,
    /// (x − median) / interquartile range (1 when the range is 0, as scikit-learn).
    Robust,
    /// Unchanged.
    None,
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

/// Which compute backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// A hardware GPU when wgpu finds one (not a software rasteriser), else the CPU.
    Auto,
    Cpu,
    Gpu,
}

/// How to read the input table.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Parquet or CSV file, or a folder of .parquet or .csv files (repeatable; one format per run).
    #[arg(long, short, required = true)]
    pub input: Vec<PathBuf>,
    /// Id column (integer or string), copied to the outputs. Default: row numbers.
    #[arg(long)]
    pub id: Option<String>,
    /// Rows per record batch and data chunk.
    #[arg(long, default_value_t = 65_536, hide = true)]
    pub batch_rows: usize,
}

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
    /// Number of segments (`select-k`: a range such as 2..20, both ends included).
    #[arg(long, short, value_parser = parse_k)]
    pub k: KRange,
    /// K-Means (hard segments) or a Gaussian mixture (soft segments with probabilities).
    #[arg(long, value_enum, default_value_t = AlgorithmChoice::Kmeans)]
    pub algorithm: AlgorithmChoice,
    /// Initialisation (default: auto for kmeans; a K-Means fit for gmm).
    #[arg(long, value_enum)]
    pub init: Option<InitChoice>,
    /// k-means||: oversampling rounds (Spark uses 2; 5 measured better, see BENCHMARKS.md).
    #[arg(long, default_value_t = 5)]
    pub init_rounds: usize,
    /// k-means||: expected rows kept per round, as a multiple of k.
    #[arg(long, default_value_t = 2.0)]
    pub oversampling: f64,
    /// Initial centres from a CSV or Parquet file (one row per centre, columns named
    /// like the prepared features); overrides --init.
    #[arg(long, value_name = "PATH")]
    pub init_centroids: Option<PathBuf>,
    /// Units of --init-centroids: `raw` (original units, transformed by the fitted prep)
    /// or `prepared` (already scaled).
    #[arg(long, value_enum, default_value_t = InitSpace::Raw)]
    pub init_space: InitSpace,
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
    /// minibatch-kmeans: rows per batch.
    #[arg(long, default_value_t = 1024)]
    pub batch_size: usize,
    /// gmm: shape of the component covariances.
    #[arg(long, value_enum, default_value_t = CovarianceType::Full)]
    pub covariance: CovarianceType,
    /// gmm: added to the covariance diagonals (scikit-learn's reg_covar).
    #[arg(long, default_value_t = 1e-6, allow_negative_numbers = true)]
    pub reg_covar: f64,
    /// gmm: a component that collapses is an error, or is re-initialised.
    #[arg(long, value_enum, default_value_t = OnDegenerate::Error)]
    pub on_degenerate: OnDegenerate,
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
    pub run: RunArgs,
}

/// Segmentation algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmChoice {
    Kmeans,
    /// K-Means on seeded mini-batches (`--batch-size`), for very large n.
    #[value(name = "minibatch-kmeans")]
    MinibatchKmeans,
    Gmm,
}

impl AlgorithmChoice {
    /// The name on the command line, in summaries and in the model.
    pub fn name(self) -> &'static str {
        match self {
            AlgorithmChoice::Kmeans => "kmeans",
            AlgorithmChoice::MinibatchKmeans => "minibatch-kmeans",
            AlgorithmChoice::Gmm => "gmm",
        }
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
}

/// A number of segments or an inclusive range of them (`6`, `2..20`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KRange {
    pub first: usize,
    pub last: usize,
}

/// Parses `--k`: `N` or `A..B` (inclusive).
pub fn parse_k(text: &str) -> Result<KRange, String> {
    let number =
        |t: &str| t.trim().parse::<usize>().map_err(|_| format!("'{text}' is not a k like 6 or a range like 2..20"));
    match text.split_once("..") {
        Some((a, b)) => {
            let (first, last) = (number(a)?, number(b.trim_start_matches('='))?);
            if first > last {
                return Err(format!("'{text}': the range is empty"));
            }
            Ok(KRange { first, last })
        }
        None => number(text).map(|k| KRange { first: k, last: k }),
    }
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// model.json written by `custseg fit`.
    #[arg(long, short)]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output Parquet file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Gaussian-mixture models: also write p_0 … p_{k-1}.
    #[arg(long)]
    pub probabilities: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// model.json written by `custseg fit`.
    #[arg(long, short)]
    pub model: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Rows for the silhouette (exact below, sampled above); 0 skips it.
    #[arg(long, default_value_t = 50_000)]
    pub silhouette_sample: usize,
    /// Seed of the silhouette sample.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Customers to generate.
    #[arg(long, short, default_value_t = 1_000_000)]
    pub n: usize,
    /// Segments to fit.
    #[arg(long, short, default_value_t = 6)]
    pub k: usize,
    /// Output folder for the data and the results.
    #[arg(long, short, default_value = "custseg-demo")]
    pub out: PathBuf,
    /// Random seed for the data and the fit.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Rows for the silhouette (see `fit --silhouette-sample`); 0 skips it.
    #[arg(long, default_value_t = 50_000)]
    pub silhouette_sample: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Rows of generated data.
    #[arg(long, short, default_value_t = 1_000_000)]
    pub n: usize,
    /// Columns of generated data.
    #[arg(long, short, default_value_t = 32)]
    pub d: usize,
    /// Centres.
    #[arg(long, short, default_value_t = 64)]
    pub k: usize,
    /// Timed passes (after one warm-up).
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Time K-Means (Lloyd passes) or Gaussian-mixture EM passes.
    #[arg(long, value_enum, default_value_t = AlgorithmChoice::Kmeans)]
    pub algorithm: AlgorithmChoice,
    /// gmm: covariance type of the timed EM passes.
    #[arg(long, value_enum, default_value_t = CovarianceType::Diag)]
    pub covariance: CovarianceType,
    /// Read the rows from a Parquet file (all numeric columns, unscaled) instead of generating them.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Random seed (data and initial centres).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct CustomersArgs {
    /// Transaction log: Parquet or CSV file, or a folder of them (repeatable).
    #[arg(long, short, required = true)]
    pub input: Vec<PathBuf>,
    /// Customer id column (integer, text, or float with whole values).
    #[arg(long)]
    pub customer_id: String,
    /// Time column: timestamp, date, ISO text (2011-12-09[ 08:26]) or YYYYMMDD integers.
    #[arg(long)]
    pub time: String,
    /// Money value of each line (negative: a return). Or give --quantity and --price.
    #[arg(long, conflicts_with_all = ["quantity", "price"], required_unless_present_all = ["quantity", "price"])]
    pub amount: Option<String>,
    /// Quantity of each line (negative: a return); value = quantity × price.
    #[arg(long, requires = "price")]
    pub quantity: Option<String>,
    /// Unit price of each line (lines with a price ≤ 0 are dropped).
    #[arg(long, requires = "quantity")]
    pub price: Option<String>,
    /// Invoice (order) number: orders are counted by it; a number starting with C is a cancellation.
    #[arg(long)]
    pub invoice: Option<String>,
    /// Last day of the calibration period, YYYY-MM-DD (default: the last day in the log).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Last day of a holdout period after --as-of: its purchases are counted per customer
    /// and compared with the prediction.
    #[arg(long, value_name = "DATE")]
    pub holdout_end: Option<String>,
    /// Unit of recency, T and --horizon.
    #[arg(long, value_enum, default_value_t = TimeUnitArg::Days)]
    pub time_unit: TimeUnitArg,
    /// Periods (in --time-unit) that expected purchases and CLV look ahead (default: one year).
    #[arg(long)]
    pub horizon: Option<f64>,
    /// Yearly discount rate of the CLV.
    #[arg(long, default_value_t = 0.1)]
    pub discount_rate: f64,
    /// Output folder (customers.parquet).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Rows per record batch.
    #[arg(long, default_value_t = 65_536, hide = true)]
    pub batch_rows: usize,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Unit of recency, T and the horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeUnitArg {
    Days,
    Weeks,
}

/// Parses a byte size: a number with an optional unit B, KB/KiB, MB/MiB, GB/GiB, TB/TiB
/// (decimal units are powers of 1000, binary ones of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| format!("'{text}' is not a size like 512MiB or 8GiB"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "kib" | "k" => 1024.0,
        "mb" => 1e6,
        "mib" | "m" => 1024.0 * 1024.0,
        "gb" => 1e9,
        "gib" | "g" => 1024.0 * 1024.0 * 1024.0,
        "tb" => 1e12,
        "tib" | "t" => 1024f64.powi(4),
        other => return Err(format!("unknown unit '{other}' in '{text}'; use B, KiB, MiB, GiB or TiB")),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("'{text}' is larger than any machine's memory; give a size like 512MiB or 8GiB"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("1.5 GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("99999999999999999999TiB").is_err());
    }
}
