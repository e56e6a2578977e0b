//! Checks of a density record: parameters, and the kept rows that assign new customers
//! (shapes, finite values within the prepared bound, labels below k with every cluster
//! present, reach ≥ 0, outlier scores in [0, 1] for HDBSCAN), and the centres against the
//! kept rows' means they were computed as.

use super::{damage, finite, length, non_negative, num, same, Checked};
use crate::model::{DensityRecord, Model};
use crate::prep::magnitude_limit;

/// Checks `record` (of `algorithm`, hdbscan or dbscan) against `model`.
pub(super) fn density_record(record: &DensityRecord, algorithm: &str, model: &Model) -> Checked {
    if record.min_samples == 0 {
        return Err(damage("density.min_samples", "is 0; it must be at least 1"));
    }
    if algorithm == "hdbscan" {
        if record.min_cluster_size.is_none_or(|m| m < 2) {
            return Err(damage("density.min_cluster_size", "is missing or below 2; HDBSCAN records it"));
        }
        if record.cluster_selection.is_none() {
            return Err(damage("density.cluster_selection", "is missing; HDBSCAN records eom or leaf"));
        }
    } else if record.eps.is_none_or(|e| !(e.is_finite() && e > 0.0)) {
        return Err(damage("density.eps", "is missing or not a finite number > 0; DBSCAN records it"));
    }
    let kept = &record.kept;
    let (k, dim, n) = (model.k, model.features.len(), kept.rows.len());
    let limit = magnitude_limit(dim) as f64;
    length("density.kept.labels", kept.labels.len(), n, format!("{n} kept rows"))?;
    length("density.kept.reach", kept.reach.len(), n, format!("{n} kept rows"))?;
    match (&kept.outlier_scores, algorithm) {
        (Some(scores), "hdbscan") => {
            length("density.kept.outlier_scores", scores.len(), n, format!("{n} kept rows"))?;
            if let Some(i) = scores.iter().position(|s| !(0.0..=1.0).contains(s)) {
                return Err(damage(
                    format!("density.kept.outlier_scores[{i}]"),
                    format!("is {}; scores lie in [0, 1]", scores[i]),
                ));
            }
        }
        (None, "hdbscan") => return Err(damage("density.kept.outlier_scores", "is missing; HDBSCAN records them")),
        _ => {}
    }
    kept_core_distances(record, n)?;
    let mut present = vec![false; k];
    for (i, row) in kept.rows.iter().enumerate() {
        length(format!("density.kept.rows[{i}]"), row.len(), dim, format!("{dim} features"))?;
        if let Some(j) = row.iter().position(|&v| !(v.is_finite() && (v as f64).abs() <= limit)) {
            return Err(damage(
                format!("density.kept.rows[{i}][{j}]"),
                format!("is {}; prepared values are finite and within ±{}", num(row[j] as f64), num(limit)),
            ));
        }
        let label = kept.labels[i] as usize;
        if label >= k {
            return Err(damage(format!("density.kept.labels[{i}]"), format!("is {label}; labels are below k = {k}")));
        }
        present[label] = true;
        finite(format!("density.kept.reach[{i}]"), kept.reach[i])?;
        non_negative(format!("density.kept.reach[{i}]"), kept.reach[i])?;
    }
    if let (Some(eps), "dbscan") = (record.eps, algorithm) {
        dbscan_reach(record, eps)?;
    }
    if let Some(c) = present.iter().position(|p| !p) {
        return Err(damage("density.kept.labels", format!("has no row of segment {c}; every segment keeps one")));
    }
    let means = kept.centres(k, dim);
    for (c, centre) in model.centres.iter().enumerate() {
        for (j, (&v, &m)) in centre.iter().zip(means.centre(c)).enumerate() {
            if !same(v as f64, m as f64) {
                return Err(damage(
                    format!("centres[{c}][{j}]"),
                    format!(
                        "is {} but the kept rows of segment {c} average {}; the rows or centres were altered",
                        num(v as f64),
                        num(m as f64)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The kept rows' core distances (required in the sampled mode): one per row, finite, ≥ 0
/// and at most the row's reach unless the row reaches none (a DBSCAN border row); and a
/// sample at least as large as its kept rows.
fn kept_core_distances(record: &DensityRecord, n: usize) -> Checked {
    let kept = &record.kept;
    let Some(core) = &kept.core_distances else {
        if record.sample.is_some() {
            return Err(damage("density.kept.core_distances", "is missing; the sampled mode records them"));
        }
        return Ok(());
    };
    length("density.kept.core_distances", core.len(), n, format!("{n} kept rows"))?;
    for (i, (&c, &reach)) in core.iter().zip(&kept.reach).enumerate() {
        finite(format!("density.kept.core_distances[{i}]"), c)?;
        non_negative(format!("density.kept.core_distances[{i}]"), c)?;
        if reach > 0.0 && c > reach {
            return Err(damage(
                format!("density.kept.core_distances[{i}]"),
                format!(
                    "is {} but the row's reach is {}; a row reaches at least its core distance",
                    num(c),
                    num(reach)
                ),
            ));
        }
    }
    if let Some(size) = record.sample.filter(|&s| s < n.max(2)) {
        return Err(damage(
            "density.sample",
            format!("is {size} but {n} sample rows are kept; it is at least that and 2"),
        ));
    }
    Ok(())
}

/// DBSCAN's reach is all or nothing: `eps` for a core row (core distance ≤ eps), 0 for a
/// border row; any other value would assign new rows by a radius the fit never used.
fn dbscan_reach(record: &DensityRecord, eps: f64) -> Checked {
    let kept = &record.kept;
    for (i, &reach) in kept.reach.iter().enumerate() {
        if reach != 0.0 && !same(reach, eps) {
            return Err(damage(
                format!("density.kept.reach[{i}]"),
                format!("is {}; a DBSCAN row reaches density.eps ({}) when core, else 0", num(reach), num(eps)),
            ));
        }
        let core = kept.core_distances.as_ref().map(|c| c[i]);
        if let Some(core) = core.filter(|&c| (c <= eps) != (reach > 0.0)) {
            return Err(damage(
                format!("density.kept.reach[{i}]"),
                format!(
                    "is {} but the row's core distance is {} against density.eps {}; a row reaches eps exactly when it is core",
                    num(reach),
                    num(core),
                    num(eps)
                ),
            ));
        }
    }
    Ok(())
}
