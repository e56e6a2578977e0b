//! What a fit tells about itself: the metrics log line, the report's facts table and the
//! summary's per-segment entries.

use serde_json::{json, Value};

use super::merge_json;
use super::request::FitRequest;
use crate::eval::metrics::Scores;
use crate::eval::stability::Stability;
use crate::explain::profiles::SegmentProfile;
use crate::model::Model;
use crate::report::value::SegmentValue;

/// Logs the metrics (the silhouette when it was computed).
pub(super) fn log_scores(scores: &Scores, with_silhouette: bool) {
    let s = &scores.silhouette;
    info!(
        "Calinski-Harabasz {:.4}, Davies-Bouldin {:.4}{}",
        scores.calinski_harabasz,
        scores.davies_bouldin,
        if with_silhouette {
            format!(
                ", silhouette {:.4}{}",
                s.mean,
                s.standard_error.map_or(" (exact)".into(), |e| format!(" ± {e:.4} ({} sampled rows)", s.rows))
            )
        } else {
            String::new()
        }
    );
}

/// The facts table of the report.
pub(super) fn report_facts(
    request: &FitRequest,
    model: &Model,
    scores: &Scores,
    fit_summary: &Value,
    stability: Option<&Stability>,
    rows: usize,
) -> Vec<(String, String)> {
    let mut facts = vec![
        ("algorithm".to_string(), model.algorithm().to_string()),
        ("segments (k)".into(), model.k.to_string()),
        ("rows".into(), rows.to_string()),
        ("features".into(), model.features.join(", ")),
        ("Calinski-Harabasz (higher is better)".into(), format!("{:.4}", scores.calinski_harabasz)),
        ("Davies-Bouldin (lower is better)".into(), format!("{:.4}", scores.davies_bouldin)),
    ];
    if request.silhouette_sample > 0 {
        let s = &scores.silhouette;
        let how = s.standard_error.map_or("exact".into(), |e| format!("± {e:.4}, {} sampled rows", s.rows));
        facts.push(("silhouette (−1 to 1)".into(), format!("{:.4} ({how})", s.mean)));
    }
    for key in ["inertia", "bic", "aic", "mean_log_likelihood"] {
        if let Some(v) = fit_summary.get(key).and_then(Value::as_f64) {
            facts.push((key.replace('_', " "), format!("{v:.6e}")));
        }
    }
    if let Some(s) = stability {
        facts.push(("stability (mean bootstrap ARI)".into(), format!("{:.3}", s.mean_ari)));
    }
    if let (Some(noise), Some(share)) =
        (fit_summary.get("noise"), fit_summary.get("noise_share").and_then(Value::as_f64))
    {
        facts.push(("outliers / unsegmented".into(), format!("{noise} rows ({:.1}%), segment −1", 100.0 * share)));
        facts.push(("metrics and profiles".into(), "on the segmented rows (outliers left out)".into()));
    }
    facts.push(("seed".into(), request.seed.to_string()));
    facts
}

/// Each segment's size, share and descriptor, with its value figures when there are any.
pub(super) fn segment_summary(profiles: &[SegmentProfile], values: Option<&[SegmentValue]>) -> Vec<Value> {
    profiles
        .iter()
        .enumerate()
        .map(|(c, p)| {
            let mut base =
                json!({ "segment": p.segment, "size": p.size, "share": p.share, "descriptor": p.descriptor });
            if let Some(name) = &p.name {
                base["name"] = json!(name);
            }
            match values.map(|v| serde_json::to_value(&v[c])) {
                Some(Ok(mut extra)) => {
                    if let Some(fields) = extra.as_object_mut() {
                        fields.remove("segment");
                    }
                    merge_json(base, extra)
                }
                _ => base,
            }
        })
        .collect()
}
