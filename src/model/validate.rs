//! Checks a loaded model field by field, so a damaged model.json is refused when it is read
//! (exit 3, naming the JSON path of the bad field) and never reaches `predict` or `evaluate`
//! as a panic, a NaN or a silently wrong label.
//!
//! What is checked: the format version; k and every per-segment list against it; the feature
//! list against the prep's output columns; every prep column (finite statistics, scale > 0,
//! clip bounds in order, distinct levels); centres finite and within [`magnitude_limit`] (the
//! bound the prep puts on prepared data, so squared distances fit f32); centres in original
//! units equal to the prep's inverse of the centres (this catches a flipped `log1p`, scale or
//! centre); the algorithm's record (K-Means inertia; mixture shapes by covariance type,
//! weights on the simplex, covariances positive definite, an E-step form that fits f32); and
//! profiles against k and the prep.

use std::collections::HashSet;
use std::fmt::Display;

use super::{GmmRecord, InputFingerprint, KMeansRecord, Model, SavedSegmenter, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
use crate::explain::profiles::SegmentProfile;
use crate::prep::{magnitude_limit, CategoricalColumn, NumericColumn, Prep};

/// Mixture weights must sum to 1 within this (they are refused, never renormalised).
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-6;
/// Relative tolerance for values the model stores twice (centres in original units against
/// the prep's inverse of the centres, mixture means against the centres).
const COPY_TOLERANCE: f64 = 1e-6;

/// A damaged field: its JSON path and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// JSON path, e.g. `gmm.mixture.weights[0]`.
    pub field: String,
    /// What is wrong, e.g. `is -1; weights must be ≥ 0 and sum to 1`.
    pub problem: String,
}

impl Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

type Checked = std::result::Result<(), Damage>;

fn damage(field: impl Display, problem: impl Display) -> Damage {
    Damage { field: field.to_string(), problem: problem.to_string() }
}

/// A number as a reader wants it: plain when moderate, scientific when huge or tiny.
fn num(v: f64) -> String {
    if v != 0.0 && v.is_finite() && !(1e-4..1e9).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn finite(field: impl Display, v: f64) -> Checked {
    if v.is_finite() {
        Ok(())
    } else {
        Err(damage(field, format!("is {}; it must be a finite number", num(v))))
    }
}

fn non_negative(field: impl Display, v: f64) -> Checked {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(damage(field, format!("is {}; it must be a finite number ≥ 0", num(v))))
    }
}

fn length(field: impl Display, got: usize, want: usize, why: impl Display) -> Checked {
    if got == want {
        Ok(())
    } else {
        Err(damage(field, format!("has {got} entries but {why} needs {want}")))
    }
}

/// |a − b| within `COPY_TOLERANCE` of the larger (or of 1).
fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= COPY_TOLERANCE * a.abs().max(b.abs()).max(1.0)
}

/// Checks every field of `model` that `predict`, `evaluate` or the report read.
pub fn validate(model: &Model) -> Checked {
    let version = model.format_version;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(damage(
            "format_version",
            format!("is {version}; this custseg reads formats {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}"),
        ));
    }
    let k = model.k;
    if k == 0 {
        return Err(damage("k", "is 0; a model has at least one segment"));
    }
    prep(&model.prep)?;
    features(model)?;
    let dim = model.features.len();
    let limit = magnitude_limit(dim) as f64;
    length("centres", model.centres.len(), k, format!("k = {k}"))?;
    for (c, centre) in model.centres.iter().enumerate() {
        length(format!("centres[{c}]"), centre.len(), dim, format!("{dim} features"))?;
        for (j, &v) in centre.iter().enumerate() {
            let v = v as f64;
            if !(v.is_finite() && v.abs() <= limit) {
                return Err(damage(
                    format!("centres[{c}][{j}]"),
                    format!("is {}; prepared values are finite and within ±{}", num(v), num(limit)),
                ));
            }
        }
    }
    length("centres_original", model.centres_original.len(), k, format!("k = {k}"))?;
    for (c, (original, centre)) in model.centres_original.iter().zip(&model.centres).enumerate() {
        length(format!("centres_original[{c}]"), original.len(), dim, format!("{dim} features"))?;
        let expected = model.prep.to_original_units(centre);
        for (j, (&v, &e)) in original.iter().zip(&expected).enumerate() {
            finite(format!("centres_original[{c}][{j}]"), v)?;
            if !same(v, e) {
                return Err(damage(
                    format!("centres_original[{c}][{j}]"),
                    format!(
                        "is {} but the prep maps centres[{c}][{j}] to {}; the prep or the centres were altered",
                        num(v),
                        num(e)
                    ),
                ));
            }
        }
    }
    segment_ids(model)?;
    length("segment_sizes", model.segment_sizes.len(), k, format!("k = {k}"))?;
    length("segment_weights", model.segment_weights.len(), k, format!("k = {k}"))?;
    for (c, &w) in model.segment_weights.iter().enumerate() {
        non_negative(format!("segment_weights[{c}]"), w)?;
    }
    match &model.segmenter {
        SavedSegmenter::KMeans { kmeans } | SavedSegmenter::MiniBatchKMeans { kmeans } => kmeans_record(kmeans)?,
        SavedSegmenter::Gmm { gmm } => gmm_record(gmm, model)?,
        SavedSegmenter::Hdbscan { density } | SavedSegmenter::Dbscan { density } => {
            density::density_record(density, model.algorithm(), model)?
        }
        SavedSegmenter::Ward { ward } => ward.validate(k, dim)?,
    }
    profiles(&model.profiles, model)?;
    segment_names(model)?;
    input(&model.input)
}

fn features(model: &Model) -> Checked {
    let expected = model.prep.feature_names();
    if model.features.is_empty() {
        return Err(damage("features", "is empty; a model has at least one feature"));
    }
    let mut seen = HashSet::new();
    if let Some(j) = model.features.iter().position(|f| !seen.insert(f)) {
        return Err(damage(
            format!("features[{j}]"),
            format!("repeats '{}'; feature names are distinct", model.features[j]),
        ));
    }
    if model.features.len() != expected.len() {
        let (n_num, n_hot) = (model.prep.numeric.len(), expected.len() - model.prep.numeric.len());
        return Err(damage(
            "features",
            format!(
                "has {} entries but the prep makes {} columns ({n_num} from prep.numeric, {n_hot} one-hot from prep.categorical)",
                model.features.len(),
                expected.len()
            ),
        ));
    }
    if let Some(j) = (0..expected.len()).find(|&j| model.features[j] != expected[j]) {
        return Err(damage(
            format!("features[{j}]"),
            format!("is '{}' but the prep's column {j} is '{}'", model.features[j], expected[j]),
        ));
    }
    Ok(())
}

fn prep(prep: &Prep) -> Checked {
    if prep.numeric.is_empty() && prep.categorical.is_empty() {
        return Err(damage("prep", "has no numeric and no categorical columns; a model has at least one"));
    }
    let mut names = HashSet::new();
    for (j, col) in prep.numeric.iter().enumerate() {
        let field = format!("prep.numeric[{j}]");
        if !names.insert(col.name.as_str()) {
            return Err(damage(format!("{field}.name"), format!("repeats '{}'; columns are distinct", col.name)));
        }
        numeric_column(&field, col)?;
    }
    for (j, col) in prep.categorical.iter().enumerate() {
        let field = format!("prep.categorical[{j}]");
        if !names.insert(col.name.as_str()) {
            return Err(damage(format!("{field}.name"), format!("repeats '{}'; columns are distinct", col.name)));
        }
        categorical_column(&field, col)?;
    }
    Ok(())
}

fn numeric_column(field: &str, col: &NumericColumn) -> Checked {
    if col.name.is_empty() {
        return Err(damage(format!("{field}.name"), "is empty"));
    }
    if let Some([lo, hi]) = col.clip {
        finite(format!("{field}.clip[0]"), lo)?;
        finite(format!("{field}.clip[1]"), hi)?;
        if lo > hi {
            return Err(damage(
                format!("{field}.clip"),
                format!("is [{}, {}]; the lower bound exceeds the upper", num(lo), num(hi)),
            ));
        }
    }
    finite(format!("{field}.fill"), col.fill)?;
    finite(format!("{field}.scaling.center"), col.scaling.center)?;
    let scale = col.scaling.scale;
    if !(scale.is_finite() && scale > 0.0) {
        return Err(damage(format!("{field}.scaling.scale"), format!("is {}; a scale is finite and > 0", num(scale))));
    }
    for (name, v) in [("mean", col.mean), ("min", col.min), ("max", col.max)] {
        finite(format!("{field}.{name}"), v)?;
    }
    non_negative(format!("{field}.std"), col.std)?;
    if col.min > col.max {
        return Err(damage(format!("{field}.min"), format!("is {} but max is {}", num(col.min), num(col.max))));
    }
    Ok(())
}

fn categorical_column(field: &str, col: &CategoricalColumn) -> Checked {
    if col.name.is_empty() {
        return Err(damage(format!("{field}.name"), "is empty"));
    }
    if col.levels.is_empty() {
        return Err(damage(format!("{field}.levels"), "is empty; a categorical column has at least one level"));
    }
    let mut seen = HashSet::new();
    if let Some(l) = col.levels.iter().position(|level| !seen.insert(level)) {
        return Err(damage(
            format!("{field}.levels[{l}]"),
            format!("repeats '{}'; levels are distinct", col.levels[l]),
        ));
    }
    length(format!("{field}.counts"), col.counts.len(), col.levels.len(), format!("{field}.levels"))
}

fn kmeans_record(record: &KMeansRecord) -> Checked {
    non_negative("kmeans.tol", record.tol)?;
    non_negative("kmeans.inertia", record.inertia)
}

fn gmm_record(record: &GmmRecord, model: &Model) -> Checked {
    let (k, dim) = (model.k, model.features.len());
    mixture::mixture(&record.mixture, k, dim, &model.centres)?;
    non_negative("gmm.tol", record.tol)?;
    non_negative("gmm.reg_covar", record.reg_covar)?;
    for (name, v) in [
        ("lower_bound", record.lower_bound),
        ("mean_log_likelihood", record.mean_log_likelihood),
        ("bic", record.bic),
        ("aic", record.aic),
    ] {
        finite(format!("gmm.{name}"), v)?;
    }
    length("gmm.covariances_original", record.covariances_original.len(), k, format!("k = {k}"))?;
    // Stored twice: in original units, each covariance is the mixture's scaled back by the
    // numeric columns' scales (one-hot columns are unscaled).
    let scales: Vec<f64> =
        model.prep.numeric.iter().map(|c| c.scaling.scale).chain(std::iter::repeat(1.0)).take(dim).collect();
    for (c, cov) in record.covariances_original.iter().enumerate() {
        let field = format!("gmm.covariances_original[{c}]");
        length(&field, cov.len(), dim * dim, format!("{dim} × {dim} features"))?;
        let matrix = record.mixture.covariance_matrix(c);
        for (i, &v) in cov.iter().enumerate() {
            finite(format!("{field}[{i}]"), v)?;
            let expected = matrix[i] * scales[i / dim] * scales[i % dim];
            if !same(v, expected) {
                return Err(damage(
                    format!("{field}[{i}]"),
                    format!(
                        "is {} but gmm.mixture's covariance scaled to original units is {}; the mixture or this copy was altered",
                        num(v),
                        num(expected)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Segment ids: none (0..k) or one per segment, distinct, below `next_segment_id` when set;
/// the drift reference, when present, describes every prep column.
fn segment_ids(model: &Model) -> Checked {
    let k = model.k;
    if !model.segment_ids.is_empty() {
        length("segment_ids", model.segment_ids.len(), k, format!("k = {k}"))?;
        let mut seen = HashSet::new();
        for (c, &id) in model.segment_ids.iter().enumerate() {
            if !seen.insert(id) {
                return Err(damage(format!("segment_ids[{c}]"), format!("is {id}, an id another segment has")));
            }
            if model.next_segment_id != 0 && id >= model.next_segment_id {
                return Err(damage(
                    format!("segment_ids[{c}]"),
                    format!("is {id}, not below next_segment_id ({})", model.next_segment_id),
                ));
            }
        }
    }
    if let Some(reference) = &model.drift_reference {
        reference
            .validate(&model.prep)
            .map_err(|(field, problem)| damage(format!("drift_reference.{field}"), problem))?;
    }
    Ok(())
}

fn profiles(profiles: &[SegmentProfile], model: &Model) -> Checked {
    if profiles.is_empty() {
        return Ok(());
    }
    let k = model.k;
    length("profiles", profiles.len(), k, format!("k = {k}"))?;
    let n_hot = model.features.len() - model.prep.numeric.len();
    let ids = model.ids();
    for (c, p) in profiles.iter().enumerate() {
        let field = format!("profiles[{c}]");
        if p.segment != ids[c] {
            return Err(damage(
                format!("{field}.segment"),
                format!("is {} but profiles are in segment order (segment {c} has id {})", p.segment, ids[c]),
            ));
        }
        if !(p.share.is_finite() && (0.0..=1.0).contains(&p.share)) {
            return Err(damage(format!("{field}.share"), format!("is {}; a share is in [0, 1]", num(p.share))));
        }
        length(format!("{field}.features"), p.features.len(), model.prep.numeric.len(), "prep.numeric")?;
        for (j, (f, col)) in p.features.iter().zip(&model.prep.numeric).enumerate() {
            let ff = format!("{field}.features[{j}]");
            if f.feature != col.name {
                return Err(damage(
                    format!("{ff}.feature"),
                    format!("is '{}' but prep.numeric[{j}] is '{}'", f.feature, col.name),
                ));
            }
            for (name, v) in [("mean", f.mean), ("median", f.median), ("z", Some(f.z))] {
                if let Some(v) = v {
                    finite(format!("{ff}.{name}"), v)?;
                }
            }
        }
        length(format!("{field}.category_shares"), p.category_shares.len(), n_hot, "the one-hot columns")?;
        for (j, (_, share)) in p.category_shares.iter().enumerate() {
            if !(share.is_finite() && (0.0..=1.0).contains(share)) {
                return Err(damage(
                    format!("{field}.category_shares[{j}]"),
                    format!("is {}; a share is in [0, 1]", num(*share)),
                ));
            }
        }
        for (j, lift) in p.over_represented.iter().enumerate() {
            let lf = format!("{field}.over_represented[{j}]");
            for (name, v) in [("share", lift.share), ("base_share", lift.base_share), ("lift", lift.lift)] {
                non_negative(format!("{lf}.{name}"), v)?;
            }
        }
    }
    Ok(())
}

/// Names belong to segments that exist and are not empty.
fn segment_names(model: &Model) -> Checked {
    for (segment, name) in &model.segment_names {
        if !model.ids().contains(segment) {
            return Err(damage(format!("segment_names.{segment}"), "names a segment the model does not have"));
        }
        if name.trim().is_empty() {
            return Err(damage(format!("segment_names.{segment}"), "is empty"));
        }
    }
    Ok(())
}

fn input(input: &InputFingerprint) -> Checked {
    if input.rows_used > input.rows_read {
        return Err(damage(
            "input.rows_used",
            format!("is {} but input.rows_read is {}", input.rows_used, input.rows_read),
        ));
    }
    Ok(())
}

mod density;
mod mixture;
#[cfg(test)]
mod tests;
