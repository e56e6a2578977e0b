//! What each segment is worth: its share of a money column's total (`--value`), and the
//! mean CLV and churn probability when the fit's features include the columns `custseg
//! customers` writes. Computed from the profiles' per-segment means in original units
//! (after the prep's clipping and imputation), so totals are mean × customers.

use std::fmt::Write;

use serde::Serialize;

use super::html::escape;
use crate::explain::profiles::SegmentProfile;

/// The columns of `customers.parquet` whose segment means a marketer reads first.
const CLV_COLUMN: &str = "clv";
const CHURN_COLUMN: &str = "churn_probability";

/// One segment's value figures; absent where the column is not a feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentValue {
    pub segment: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_total: Option<f64>,
    /// The segment's share of the value column's total over all segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_share: Option<f64>,
    /// Mean value per customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_clv: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_churn_probability: Option<f64>,
}

/// The mean of numeric feature `name` in each segment (None when it is not a feature).
fn means(profiles: &[SegmentProfile], name: &str) -> Option<Vec<Option<f64>>> {
    let j = profiles.first()?.features.iter().position(|f| f.feature == name)?;
    Some(profiles.iter().map(|p| p.features[j].mean).collect())
}

/// Value figures per segment, or None when there is nothing to show. `value` names the
/// money column, which must be one of the numeric features (the caller checks).
pub fn segment_values(profiles: &[SegmentProfile], value: Option<&str>) -> Option<Vec<SegmentValue>> {
    let totals: Option<Vec<f64>> = value
        .and_then(|v| means(profiles, v))
        .map(|m| m.iter().zip(profiles).map(|(mean, p)| mean.unwrap_or(0.0) * p.size as f64).collect());
    let clv = means(profiles, CLV_COLUMN);
    let churn = means(profiles, CHURN_COLUMN);
    if totals.is_none() && clv.is_none() && churn.is_none() {
        return None;
    }
    let grand: f64 = totals.as_ref().map_or(0.0, |t| t.iter().sum());
    Some(
        profiles
            .iter()
            .enumerate()
            .map(|(c, p)| {
                let total = totals.as_ref().map(|t| t[c]);
                SegmentValue {
                    segment: p.segment,
                    value_total: total,
                    value_share: total.filter(|_| grand != 0.0).map(|t| t / grand),
                    value_mean: total.filter(|_| p.size > 0).map(|t| t / p.size as f64),
                    mean_clv: clv.as_ref().and_then(|m| m[c]),
                    mean_churn_probability: churn.as_ref().and_then(|m| m[c]),
                }
            })
            .collect(),
    )
}

/// A column of the value table: heading, the figure it shows, whether it is a share.
type ValueColumn = (String, fn(&SegmentValue) -> Option<f64>, bool);

/// One row per segment with the figures present.
pub fn value_table(values: &[SegmentValue], value: Option<&str>) -> String {
    let has = |f: fn(&SegmentValue) -> Option<f64>| values.iter().any(|v| f(v).is_some());
    let mut columns: Vec<ValueColumn> = Vec::new();
    if let Some(name) = value.filter(|_| has(|v| v.value_total)) {
        columns.push((format!("{name}: total"), |v| v.value_total, false));
        columns.push((format!("{name}: share"), |v| v.value_share, true));
        columns.push((format!("{name}: per customer"), |v| v.value_mean, false));
    }
    if has(|v| v.mean_clv) {
        columns.push(("mean CLV".into(), |v| v.mean_clv, false));
    }
    if has(|v| v.mean_churn_probability) {
        columns.push(("churn probability".into(), |v| v.mean_churn_probability, true));
    }
    let mut html = String::from("<table id=\"value\"><tr><th>segment</th>");
    for (name, _, _) in &columns {
        let _ = write!(html, "<th>{}</th>", escape(name));
    }
    html.push_str("</tr>");
    for v in values {
        let _ = write!(html, "<tr><td class=\"num\">{}</td>", v.segment);
        for (_, get, percent) in &columns {
            let cell = match get(v) {
                Some(x) if *percent => format!("{:.1}%", 100.0 * x),
                Some(x) if x.abs() >= 1000.0 => crate::explain::labels::with_thousands(&format!("{x:.0}")),
                Some(x) => crate::explain::labels::number(x),
                None => "–".into(),
            };
            let _ = write!(html, "<td class=\"num\">{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</table>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::profiles::FeatureProfile;

    fn profile(segment: u32, size: u64, spend: f64, clv: f64) -> SegmentProfile {
        let feature = |name: &str, mean: f64| FeatureProfile {
            feature: name.into(),
            mean: Some(mean),
            median: Some(mean),
            z: 0.0,
            base_mean: None,
            base_median: None,
        };
        SegmentProfile {
            segment,
            name: None,
            size,
            share: 0.0,
            descriptor: String::new(),
            top_features: vec![],
            features: vec![feature("spend", spend), feature("clv", clv)],
            category_shares: vec![],
            over_represented: vec![],
        }
    }

    #[test]
    fn shares_are_totals_over_the_grand_total() {
        let profiles = [profile(0, 10, 5.0, 1.0), profile(1, 30, 5.0, 3.0)];
        let values = segment_values(&profiles, Some("spend")).unwrap();
        assert_eq!(values[0].value_total, Some(50.0));
        assert_eq!(values[1].value_share, Some(0.75));
        assert_eq!(values[1].value_mean, Some(5.0));
        assert_eq!(values[1].mean_clv, Some(3.0));
        assert_eq!(values[0].mean_churn_probability, None);
        assert!(value_table(&values, Some("spend")).contains("75.0%"));
        assert!(segment_values(&[profile(0, 1, 1.0, 1.0)], None).is_some(), "clv alone is shown");
    }
}
