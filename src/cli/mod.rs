//! Command-line definitions (clap derive) only; `commands/` validates them into configs.
//! One file per command family; options shared by several commands live here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod apply;
pub mod bench_pass;
pub mod continuity;
mod customers;
mod density;
mod fit;
pub mod holdout;
mod marketing;
pub mod select_k;
mod tools;
mod ward;

pub use apply::{EvaluateArgs, PredictArgs};
pub use customers::{CustomersArgs, TimeUnitArg};
pub use density::{ClusterSelectionChoice, DensityArgs};
pub use fit::{AlgorithmChoice, CovarianceType, FitArgs, InitChoice, InitSpace, OnDegenerate, SelectKArgs};
pub use marketing::{ExportArgs, ExportFormat, MarketingArgs};
pub use tools::{BenchArgs, DemoArgs};
pub use ward::WardArgs;

/// Segment a customer base: a transaction log or customer table (Parquet or CSV) in;
/// customer value, segments (K-Means, mini-batch K-Means, Gaussian mixtures, Ward), a reusable
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
