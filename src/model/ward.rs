//! The Ward record of model.json: the cut, and what `predict` needs (exact mode: the
//! segment centroids, stored as the model's `centres`; two-level mode: the micro-cluster
//! centres with their segment), checked field by field when a model is read.

use serde::{Deserialize, Serialize};

use super::validate::Damage;
use crate::backend::Centres;
use crate::cluster::ward::{MicroClusters, WardSegments};
use crate::prep::magnitude_limit;

/// Ward fit as recorded in the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WardRecord {
    /// `exact` (rows are the leaves) or `two-level` (micro-clusters are).
    pub ward_mode: String,
    /// The cut asked for: a number of segments or a height (exactly one is set).
    pub cut_k: Option<usize>,
    pub distance_threshold: Option<f64>,
    /// Leaves of the tree (rows, or micro-clusters).
    pub leaves: usize,
    /// Height of the highest merge kept and of the lowest merge undone by the cut.
    pub kept_height: Option<f64>,
    pub undone_height: Option<f64>,
    /// Σ w·‖x − segment centroid‖², prepared space.
    pub inertia: f64,
    /// Two-level mode: micro-cluster centres in the prepared space (empty in exact mode).
    #[serde(default)]
    pub micro_centres: Vec<Vec<f32>>,
    /// Two-level mode: the segment of each micro-cluster.
    #[serde(default)]
    pub micro_segments: Vec<u32>,
    /// Micro-clustering K-Means: iteration limit, seed and iterations run (0 in exact mode).
    pub max_iter: usize,
    pub seed: u64,
    pub iterations: usize,
    /// Leaves that consolidation moved from the tree's cut (absent: not consolidated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consolidated: Option<usize>,
}

fn damage(field: impl std::fmt::Display, problem: impl std::fmt::Display) -> Damage {
    Damage { field: field.to_string(), problem: problem.to_string() }
}

impl WardRecord {
    /// Checks the record against `k` segments of `dim` features.
    pub fn validate(&self, k: usize, dim: usize) -> Result<(), Damage> {
        let finite_non_negative = |field: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(damage(format!("ward.{field}"), format!("is {v}; it must be a finite number ≥ 0")))
            }
        };
        match (self.cut_k, self.distance_threshold) {
            (Some(cut), None) if cut != k => {
                return Err(damage("ward.cut_k", format!("is {cut} but the model has k = {k} segments")))
            }
            (Some(_), None) => {}
            (None, Some(d)) => finite_non_negative("distance_threshold", d)?,
            _ => return Err(damage("ward.cut_k", "and ward.distance_threshold: exactly one of them is set")),
        }
        finite_non_negative("inertia", self.inertia)?;
        for (field, v) in [("kept_height", self.kept_height), ("undone_height", self.undone_height)] {
            if let Some(v) = v {
                finite_non_negative(field, v)?;
            }
        }
        if k > self.leaves {
            return Err(damage(
                "ward.leaves",
                format!("is {} but the tree was cut into k = {k} segments", self.leaves),
            ));
        }
        match self.ward_mode.as_str() {
            "exact" if self.micro_centres.is_empty() && self.micro_segments.is_empty() => Ok(()),
            "exact" => Err(damage("ward.micro_centres", "must be empty in exact mode")),
            "two-level" => self.validate_micro(k, dim),
            other => Err(damage("ward.ward_mode", format!("is '{other}'; it is exact or two-level"))),
        }
    }

    fn validate_micro(&self, k: usize, dim: usize) -> Result<(), Damage> {
        let m = self.micro_centres.len();
        if m == 0 || m != self.leaves {
            return Err(damage("ward.micro_centres", format!("has {m} entries but ward.leaves is {}", self.leaves)));
        }
        if self.micro_segments.len() != m {
            return Err(damage(
                "ward.micro_segments",
                format!("has {} entries but there are {m} micro-clusters", self.micro_segments.len()),
            ));
        }
        let limit = magnitude_limit(dim);
        for (i, centre) in self.micro_centres.iter().enumerate() {
            if centre.len() != dim {
                return Err(damage(
                    format!("ward.micro_centres[{i}]"),
                    format!("has {} entries but {dim} features", centre.len()),
                ));
            }
            if let Some(j) = centre.iter().position(|v| !(v.is_finite() && v.abs() <= limit)) {
                return Err(damage(
                    format!("ward.micro_centres[{i}][{j}]"),
                    format!("is {}; prepared values are finite and within ±{limit}", centre[j]),
                ));
            }
        }
        let mut used = vec![false; k];
        for (i, &s) in self.micro_segments.iter().enumerate() {
            let Some(slot) = used.get_mut(s as usize) else {
                return Err(damage(format!("ward.micro_segments[{i}]"), format!("is {s}; segments are 0..{k}")));
            };
            *slot = true;
        }
        match used.iter().position(|u| !u) {
            Some(s) => Err(damage("ward.micro_segments", format!("name no micro-cluster of segment {s}"))),
            None => Ok(()),
        }
    }

    /// The segments `predict` assigns with: nearest segment centroid (exact mode) or nearest
    /// micro-cluster (two-level mode). Call after [`WardRecord::validate`].
    pub fn segments(&self, centroids: Centres) -> WardSegments {
        let dim = centroids.dim;
        let micro = (self.ward_mode == "two-level").then(|| MicroClusters {
            centres: Centres::new(self.micro_centres.len(), dim, self.micro_centres.concat()),
            segments: self.micro_segments.clone(),
        });
        WardSegments { centroids, micro, fitted: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_level() -> WardRecord {
        WardRecord {
            ward_mode: "two-level".into(),
            cut_k: Some(2),
            distance_threshold: None,
            leaves: 3,
            kept_height: Some(1.0),
            undone_height: Some(4.0),
            inertia: 2.5,
            micro_centres: vec![vec![0.0], vec![0.5], vec![3.0]],
            micro_segments: vec![0, 0, 1],
            max_iter: 20,
            seed: 0,
            iterations: 2,
            consolidated: Some(0),
        }
    }

    #[test]
    fn a_sound_record_validates_and_assigns_through_its_micro_clusters() {
        let record = two_level();
        record.validate(2, 1).unwrap();
        let segments = record.segments(Centres::new(2, 1, vec![0.25, 3.0]));
        assert_eq!(segments.micro.unwrap().segments, vec![0, 0, 1]);
        let exact =
            WardRecord { ward_mode: "exact".into(), micro_centres: vec![], micro_segments: vec![], ..two_level() };
        exact.validate(2, 1).unwrap();
        assert!(exact.segments(Centres::new(2, 1, vec![0.25, 3.0])).micro.is_none());
    }

    #[test]
    fn every_damaged_field_is_named() {
        type Damaging = fn(&mut WardRecord);
        let cases: [(&str, Damaging); 10] = [
            ("ward.cut_k", |r| r.cut_k = Some(3)),
            ("ward.cut_k", |r| r.distance_threshold = Some(1.0)),
            ("ward.distance_threshold", |r| (r.cut_k, r.distance_threshold) = (None, Some(-1.0))),
            ("ward.inertia", |r| r.inertia = f64::NAN),
            ("ward.undone_height", |r| r.undone_height = Some(f64::INFINITY)),
            ("ward.ward_mode", |r| r.ward_mode = "fast".into()),
            ("ward.micro_centres", |r| r.micro_centres.pop().map(drop).unwrap_or(())),
            ("ward.micro_segments[2]", |r| r.micro_segments[2] = 7),
            ("ward.micro_segments", |r| r.micro_segments[2] = 0),
            ("ward.micro_centres[1][0]", |r| r.micro_centres[1][0] = f32::NAN),
        ];
        for (field, damage_it) in cases {
            let mut record = two_level();
            damage_it(&mut record);
            let damage = record.validate(2, 1).unwrap_err();
            assert_eq!(damage.field, field, "{damage}");
        }
        let exact_with_micro = WardRecord { ward_mode: "exact".into(), ..two_level() };
        assert_eq!(exact_with_micro.validate(2, 1).unwrap_err().field, "ward.micro_centres");
    }
}
