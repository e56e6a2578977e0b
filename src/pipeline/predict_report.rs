//! `predict --report`: the fit report's figures for the predicted rows, with the segment
//! sizes and drift since training.

use std::path::Path;

use super::engine::Engine;
use crate::continuity::drift::Drift;
use crate::data::Dataset;
use crate::error::Result;
use crate::explain::profiles;
use crate::io::atomic::{stage_bytes, Staged};
use crate::model::Model;
use crate::report::{fit_report, since, FitReport};

/// Renders the report of `labels` (per chunk) on `data` under `model` and stages it at
/// `target`.
pub fn stage_report(
    engine: &mut Engine,
    model: &Model,
    model_path: &Path,
    data: &Dataset,
    labels: &[Vec<u32>],
    drift: Option<&Drift>,
    target: &Path,
) -> Result<Staged> {
    let mut profiles = profiles::profile(&model.prep, data, labels, model.k);
    for (p, id) in profiles.iter_mut().zip(model.ids()) {
        p.segment = id;
    }
    let mut facts = vec![
        ("model".to_string(), model_path.display().to_string()),
        ("algorithm".into(), model.algorithm().to_string()),
        ("segments (k)".into(), model.k.to_string()),
        ("rows".into(), data.rows().to_string()),
        ("features".into(), model.features.join(", ")),
    ];
    if let Some(d) = drift {
        facts.push(("drift since training (largest PSI)".into(), format!("{:.4} ({:?})", d.max_psi, d.level)));
    }
    let report = FitReport {
        title: format!("custseg predict: {} rows in {} segments", data.rows(), model.k),
        facts,
        profiles: &profiles,
        data,
        labels,
        seed: 0,
        values: None,
        rules: None,
        tree: None,
        since_last_run: since::tables("training", None, drift),
    };
    let html = engine.run("the report's covariance pass", |b| fit_report(b, &report))?;
    stage_bytes(target, html.as_bytes())
}
