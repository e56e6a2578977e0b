//! The stages a run goes through, callable with plain Rust values: the CLI's commands
//! and the bindings build a request, call one function here, and print what it returns.
//!
//! - [`fit`]: read → prep → fit → assignments, profiles, model (+ report) → summary;
//! - [`select_k`]: read and prep once, fit and score every k of a range;
//! - [`predict`] and [`evaluate`]: a saved model applied to new rows;
//! - [`customers`]: the transaction log → one row per customer with predicted value.

mod apply;
mod assign;
mod continuity;
mod customers;
mod engine;
mod fit;
mod fit_summary;
mod holdout;
mod marketing;
mod noise;
mod predict_report;
mod request;
mod select_k;
mod select_k_evidence;
mod stage;
mod train;

pub use apply::{evaluate, predict, read_for_model, EvaluateRequest, InputSpec, ModelInput, PredictRequest};
pub use assign::{write_assignments, AssignmentTarget, Written};
pub use customers::{customers, CustomersRequest, TimeUnit};
pub use engine::{configure_threads, BackendChoice, BackendOptions, Engine};
pub use fit::fit;
pub use marketing::{export_targets, MarketingOptions};
pub use request::{check_silhouette_sample, CentreUnits, FitRequest, InitCentres};
pub use select_k::{recommend, select_k, KRangeSearch, Recommendation, Replicate, Row};
pub use stage::{read_and_prepare, Stage};

use serde_json::Value;

/// Names the output files take inside the output folder.
pub use crate::io::outputs::{ASSIGNMENTS_FILE, MODEL_FILE, PROFILES_FILE};
pub use crate::report::REPORT_FILE;

/// Rounds seconds for the summary.
pub fn secs(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}

/// `base` with the keys of `extra` added (extra wins).
pub fn merge_json(mut base: Value, extra: Value) -> Value {
    if let (Some(all), Value::Object(more)) = (base.as_object_mut(), extra) {
        all.extend(more);
    }
    base
}
