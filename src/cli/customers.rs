//! `customers` options.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::RunArgs;

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
    /// Memory the cleaned transaction lines may take (e.g. `512MiB`, `8GiB`; 64 bytes a
    /// line); past it they are hash-partitioned by customer into spill files and summarised
    /// one partition at a time (default: half the available memory).
    #[arg(long, value_name = "SIZE", value_parser = super::parse_size)]
    pub memory_budget: Option<u64>,
    /// Folder for the spill files (default: the output folder).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
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
