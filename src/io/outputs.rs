//! The names of the files a fit writes into its output folder (the report's is
//! `report::REPORT_FILE`, the dendrogram's `io::dendrogram::DENDROGRAM_FILE`).

/// One row per customer: id, segment, distance or probability.
pub const ASSIGNMENTS_FILE: &str = "assignments.parquet";
/// The saved model.
pub const MODEL_FILE: &str = "model.json";
/// One row per segment: sizes, means and medians in original units.
pub const PROFILES_FILE: &str = "profiles.parquet";
