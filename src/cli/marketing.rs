//! Options for what a marketer reads: CRM exports, segment names, rules.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// An export beside the assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// assignments.csv: id, segment, segment_name and the distance or probability.
    Csv,
    /// lists/segment=<id>.csv: one file of ids per segment.
    Lists,
}

/// `--export`, shared by `fit` and `predict`.
#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    /// Also write assignments.csv (`csv`) and/or one file of ids per segment,
    /// lists/segment=<id>.csv (`lists`), for spreadsheets and CRM imports; repeatable or
    /// comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORMAT")]
    pub export: Vec<ExportFormat>,
}

/// `fit`'s options for exports, names and rules.
#[derive(Debug, Args, Clone)]
pub struct MarketingArgs {
    #[command(flatten)]
    pub export: ExportArgs,
    /// Segment names: a CSV file with a header `segment,name` and one line per named
    /// segment; names go into model.json, profiles, the report and a `segment_name` column.
    #[arg(long, value_name = "FILE")]
    pub names: Option<PathBuf>,
    /// Depth of the decision tree whose plain rules reproduce the segments (0: no rules).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub rules_depth: usize,
}
