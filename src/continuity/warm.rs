//! Warm starts: the previous run's segments mapped into today's prepared space, as the first
//! centres (K-Means, mini-batch) or the first mixture of today's fit.
//!
//! Numeric columns map affinely (the previous prep's scaling undone, today's applied: the
//! same point in original units); one-hot columns map by `column=level`, a level the
//! previous run did not have starting at 0. With a different `k`, the previous segments that
//! carried the most weight are kept (fewer) or k-means++ seeds the rest from them (more).

use super::PreviousRun;
use crate::backend::{Backend, Centres};
use crate::cluster::gmm::{feature_variances, CovarianceType, Mixture};
use crate::cluster::kmeans::extend_kmeans_plus_plus;
use crate::cluster::Segmenter;
use crate::data::Dataset;
use crate::error::Result;
use crate::model::SavedSegmenter;
use crate::prep::Prep;
use crate::rng::Rng;

/// Stream of the seed that picks the extra centres of a warm start ("warm").
const WARM_STREAM: u64 = 0x7761_726d;
/// Candidate rows per extra centre of a warm start. More than k-means++'s 2 + ln k: the
/// few segments a previous run lacked are usually a small group far from the others, and
/// each miss costs a segment; a trial costs one distance per row in the same pass.
const WARM_TRIALS: usize = 16;

/// How a point of the previous run's prepared space maps into today's: per today's feature,
/// the previous feature it comes from (None: a one-hot level that is new today) and
/// `today = previous × scale + shift`.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceMap {
    source: Vec<Option<usize>>,
    scale: Vec<f64>,
    shift: Vec<f64>,
}

impl SpaceMap {
    /// The map from `previous`'s prepared space to `today`'s (their numeric columns are the
    /// same set with the same log1p, as [`PreviousRun::check_prep`] ensures).
    pub fn between(previous: &Prep, today: &Prep) -> SpaceMap {
        let previous_names = previous.feature_names();
        let mut map = SpaceMap { source: Vec::new(), scale: Vec::new(), shift: Vec::new() };
        for col in &today.numeric {
            let found = previous.numeric.iter().position(|p| p.name == col.name);
            let (scale, shift) = found.map_or((1.0, 0.0), |i| {
                let (p, t) = (&previous.numeric[i].scaling, &col.scaling);
                (p.scale / t.scale, (p.center - t.center) / t.scale)
            });
            map.source.push(found);
            map.scale.push(scale);
            map.shift.push(shift);
        }
        for name in today.feature_names().into_iter().skip(today.numeric.len()) {
            map.source.push(previous_names.iter().position(|p| *p == name));
            map.scale.push(1.0);
            map.shift.push(0.0);
        }
        map
    }

    /// Today's dimension.
    pub fn dim(&self) -> usize {
        self.source.len()
    }

    /// A previous point in today's space.
    pub fn point(&self, previous: &[f64]) -> Vec<f64> {
        (0..self.dim()).map(|j| self.source[j].map_or(0.0, |i| previous[i] * self.scale[j] + self.shift[j])).collect()
    }

    /// A previous full `d × d` covariance (of `previous_dim` features) in today's space; a
    /// feature new today gets `fill[j]` as its variance and no covariance.
    pub fn covariance(&self, previous: &[f64], previous_dim: usize, fill: &[f64]) -> Vec<f64> {
        let d = self.dim();
        let mut out = vec![0.0; d * d];
        for a in 0..d {
            for b in 0..d {
                out[a * d + b] = match (self.source[a], self.source[b]) {
                    (Some(i), Some(j)) => previous[i * previous_dim + j] * self.scale[a] * self.scale[b],
                    _ if a == b => fill[a],
                    _ => 0.0,
                };
            }
        }
        out
    }
}

/// `segmenter` started from the previous run's segments, mapped by `map` onto `data`.
pub fn warm_start(
    segmenter: &Segmenter,
    previous: &PreviousRun,
    map: &SpaceMap,
    backend: &dyn Backend,
    data: &Dataset,
    seed: u64,
) -> Result<Segmenter> {
    let model = &previous.model;
    let k = segmenter.k();
    let kept = heaviest(&model.segment_weights, k);
    let mapped: Vec<f32> = kept
        .iter()
        .flat_map(|&c| map.point(&model.centres[c].iter().map(|&v| v as f64).collect::<Vec<_>>()))
        .map(|v| v as f32)
        .collect();
    let given = Centres::new(kept.len(), map.dim(), mapped);
    let mut rng = Rng::derive(seed, WARM_STREAM);
    let centres =
        if kept.len() < k { extend_kmeans_plus_plus(backend, data, given, k, WARM_TRIALS, &mut rng)? } else { given };
    match (segmenter, &model.segmenter) {
        (Segmenter::Gmm(params), SavedSegmenter::Gmm { gmm }) => {
            let mixture = warm_mixture(&gmm.mixture, &kept, &centres, map, params.covariance, data);
            Ok(segmenter.with_initial_mixture(mixture)?)
        }
        _ => Ok(segmenter.with_initial_centres(centres)?),
    }
}

/// The `k` segments with the most weight (all when there are fewer), in their own order.
fn heaviest(weights: &[f64], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]).then(a.cmp(&b)));
    order.truncate(k);
    order.sort_unstable();
    order
}

/// The first mixture of today's fit: the `kept` previous components mapped by `map`, then
/// one component per extra centre (the data's variances, weight 1/k), weights renormalised,
/// covariances reduced to today's `covariance` type.
fn warm_mixture(
    previous: &Mixture,
    kept: &[usize],
    centres: &Centres,
    map: &SpaceMap,
    covariance: CovarianceType,
    data: &Dataset,
) -> Mixture {
    let (k, d) = (centres.k, map.dim());
    let variances = feature_variances(data);
    let mut weights = Vec::with_capacity(k);
    let mut full = Vec::with_capacity(k);
    for &c in kept {
        weights.push(previous.weights[c]);
        full.push(map.covariance(&previous.covariance_matrix(c), previous.dim, &variances));
    }
    for _ in kept.len()..k {
        weights.push(1.0 / k as f64);
        full.push((0..d * d).map(|i| if i / d == i % d { variances[i / d] } else { 0.0 }).collect());
    }
    let total: f64 = weights.iter().sum();
    weights.iter_mut().for_each(|w| *w /= total);
    let covariances = match covariance {
        CovarianceType::Full => full.concat(),
        CovarianceType::Diag => full.iter().flat_map(|m| (0..d).map(move |j| m[j * d + j])).collect(),
        CovarianceType::Spherical => {
            full.iter().map(|m| (0..d).map(|j| m[j * d + j]).sum::<f64>() / d as f64).collect()
        }
        CovarianceType::Tied => (0..d * d).map(|i| full.iter().zip(&weights).map(|(m, w)| w * m[i]).sum()).collect(),
    };
    Mixture { covariance, k, dim: d, weights, means: centres.values.iter().map(|&v| v as f64).collect(), covariances }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::{Impute, NumericColumn, ScaleKind, Scaling};

    fn column(name: &str, center: f64, scale: f64) -> NumericColumn {
        NumericColumn {
            name: name.into(),
            log1p: false,
            clip: None,
            fill: center,
            scaling: Scaling { kind: ScaleKind::Zscore, center, scale },
            mean: center,
            std: scale,
            min: center - 3.0 * scale,
            max: center + 3.0 * scale,
            missing: 0,
        }
    }

    fn prep(columns: Vec<NumericColumn>) -> Prep {
        Prep { impute: Impute::Mean, numeric: columns, categorical: vec![], dropped: vec![] }
    }

    #[test]
    fn a_previous_centre_maps_to_the_same_point_in_original_units() {
        let previous = prep(vec![column("spend", 100.0, 20.0), column("visits", 5.0, 2.0)]);
        let today = prep(vec![column("visits", 6.0, 3.0), column("spend", 90.0, 25.0)]);
        let map = SpaceMap::between(&previous, &today);
        let centre = [0.5f32, -1.0];
        let mapped: Vec<f32> = map.point(&[0.5, -1.0]).iter().map(|&v| v as f32).collect();
        let (a, b) = (previous.to_original_units(&centre), today.to_original_units(&mapped));
        assert!((a[0] - b[1]).abs() < 1e-4 && (a[1] - b[0]).abs() < 1e-4, "{a:?} vs {b:?}");
        let cov = map.covariance(&[4.0, 1.0, 1.0, 9.0], 2, &[7.0, 7.0]);
        // visits' variance 9 × (2/3)², spend's 4 × (20/25)², their covariance scaled by both.
        let expected = [9.0 * 4.0 / 9.0, 1.0 * (2.0 / 3.0) * 0.8, 1.0 * (2.0 / 3.0) * 0.8, 4.0 * 0.64];
        for (x, e) in cov.iter().zip(expected) {
            assert!((x - e).abs() < 1e-12, "{cov:?}");
        }
    }

    #[test]
    fn the_heaviest_segments_are_kept_in_their_own_order() {
        assert_eq!(heaviest(&[5.0, 1.0, 9.0, 3.0], 2), vec![0, 2]);
        assert_eq!(heaviest(&[5.0, 1.0], 4), vec![0, 1]);
    }
}
