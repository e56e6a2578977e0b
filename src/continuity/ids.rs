//! Stable segment ids: today's segments matched to the previous run's by a minimum-cost
//! assignment on centre distance, then put in id order.
//!
//! Cost of a pair: the distance between the centres (today's prepared space), capped at
//! the gate `match_threshold × spread`, where spread is the root mean squared distance of a
//! row to its own segment's centre today (K-Means: √(inertia / weight); mixtures:
//! √(Σ weight·trace(covariance))). The Hungarian method finds the assignment with the least
//! total capped cost; pairs at or over the gate are not matches. A matched segment keeps
//! its previous id; the others get ids from `next_segment_id` on (largest first), and the
//! previous segments left over are retired. Only distances decide, so listing yesterday's
//! segments in another order never changes today's ids.

use serde::Serialize;

use super::hungarian::min_cost_assignment;
use crate::backend::Centres;
use crate::cluster::gmm::Mixture;
use crate::cluster::{AlgorithmFit, FitOutcome, Segments};
use crate::error::Result;

/// A previous segment that continues today.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matched {
    pub id: u32,
    /// How far its centre moved (today's prepared units).
    pub shift: f64,
    /// The same in spreads (what `match_threshold` gates).
    pub shift_in_spreads: f64,
}

/// How today's segments were matched to the previous run's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// Today's segments' ids, in the order the fit returned them.
    #[serde(skip)]
    pub ids: Vec<u32>,
    pub matches: Vec<Matched>,
    /// Ids given to segments that match none of the previous run's.
    pub new: Vec<u32>,
    /// Previous ids no segment of today's continues.
    pub retired: Vec<u32>,
    pub next_segment_id: u32,
    pub spread: f64,
    pub match_threshold: f64,
}

/// Matches `today`'s centres (weights `today_weights`) to the `previous` centres (already in
/// today's space) whose ids are `previous_ids`; new ids start at `next_id`.
pub fn match_segments(
    today: &Centres,
    today_weights: &[f64],
    previous: &Centres,
    previous_ids: &[u32],
    next_id: u32,
    spread: f64,
    threshold: f64,
) -> Matching {
    let gate = threshold * spread;
    let (kt, kp) = (today.k, previous.k);
    let distance: Vec<f64> = (0..kt * kp).map(|i| euclidean(today.centre(i / kp), previous.centre(i % kp))).collect();
    let capped = |t: usize, p: usize| distance[t * kp + p].min(gate);
    // The Hungarian method wants no more rows than columns: rows are the smaller side.
    let pairs: Vec<(usize, usize)> = if kt <= kp {
        let cost: Vec<f64> = (0..kt * kp).map(|i| capped(i / kp, i % kp)).collect();
        min_cost_assignment(&cost, kt, kp).into_iter().enumerate().collect()
    } else {
        let cost: Vec<f64> = (0..kp * kt).map(|i| capped(i % kt, i / kt)).collect();
        min_cost_assignment(&cost, kp, kt).into_iter().enumerate().map(|(p, t)| (t, p)).collect()
    };
    let mut ids: Vec<Option<u32>> = vec![None; kt];
    let mut continued = vec![false; kp];
    let mut matches = Vec::new();
    for (t, p) in pairs {
        let d = distance[t * kp + p];
        if d < gate || (gate == 0.0 && d == 0.0) {
            ids[t] = Some(previous_ids[p]);
            continued[p] = true;
            matches.push(Matched {
                id: previous_ids[p],
                shift: d,
                shift_in_spreads: d / spread.max(f64::MIN_POSITIVE),
            });
        }
    }
    matches.sort_by_key(|m| m.id);
    // New segments: largest first, then by centre, so the order the fit returned them in
    // (which follows the previous run's order) never decides.
    let mut unmatched: Vec<usize> = (0..kt).filter(|&t| ids[t].is_none()).collect();
    unmatched.sort_by(|&a, &b| {
        today_weights[b].total_cmp(&today_weights[a]).then_with(|| {
            today
                .centre(a)
                .iter()
                .zip(today.centre(b))
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(a.cmp(&b))
        })
    });
    let mut new = Vec::new();
    let mut next = next_id;
    for t in unmatched {
        ids[t] = Some(next);
        new.push(next);
        next += 1;
    }
    let mut retired: Vec<u32> = (0..kp).filter(|&p| !continued[p]).map(|p| previous_ids[p]).collect();
    retired.sort_unstable();
    Matching {
        ids: ids.into_iter().map(|id| id.expect("every segment has an id")).collect(),
        matches,
        new,
        retired,
        next_segment_id: next,
        spread,
        match_threshold: threshold,
    }
}

fn euclidean(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>().sqrt()
}

/// Root mean squared distance of a row to its own segment's centre (see the module docs).
pub fn spread(outcome: &FitOutcome, total_weight: f64) -> f64 {
    match &outcome.fit {
        AlgorithmFit::KMeans(fit) => (fit.inertia / total_weight.max(f64::MIN_POSITIVE)).max(0.0).sqrt(),
        AlgorithmFit::Ward(fit) => (fit.inertia / total_weight.max(f64::MIN_POSITIVE)).max(0.0).sqrt(),
        AlgorithmFit::Gmm(fit) => {
            let m = &fit.mixture;
            let trace = |c: usize| {
                let cov = m.covariance_matrix(c);
                (0..m.dim).map(|j| cov[j * m.dim + j]).sum::<f64>()
            };
            (0..m.k).map(|c| m.weights[c] * trace(c)).sum::<f64>().max(0.0).sqrt()
        }
        // Density fits refuse --previous (each run finds its own segments): no spread.
        AlgorithmFit::Density(_) => 0.0,
    }
}

/// The order that sorts segments by `ids` (segment `order[i]` becomes segment `i`).
pub fn id_order(ids: &[u32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i]);
    order
}

/// `outcome` with its segments in `order` (every per-segment value moved with them).
pub fn reorder(outcome: FitOutcome, order: &[usize], reg_covar: f64) -> Result<FitOutcome> {
    let centres =
        |c: &Centres| Centres::new(c.k, c.dim, order.iter().flat_map(|&i| c.centre(i).iter().copied()).collect());
    let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<_>>();
    Ok(match outcome.fit {
        AlgorithmFit::KMeans(mut fit) => {
            fit.centres = centres(&fit.centres);
            fit.sizes = order.iter().map(|&i| fit.sizes[i]).collect();
            fit.weights = pick(&fit.weights);
            FitOutcome { segments: Segments::Centres(fit.centres.clone()), fit: AlgorithmFit::KMeans(fit) }
        }
        AlgorithmFit::Gmm(mut fit) => {
            fit.mixture = reorder_mixture(&fit.mixture, order);
            let segments = Segments::from_fitted_mixture(fit.mixture.clone(), reg_covar)?;
            FitOutcome { segments, fit: AlgorithmFit::Gmm(fit) }
        }
        AlgorithmFit::Density(_) => {
            return Err(crate::error::Error::Internal("density fits take no previous segments to reorder by".into()))
        }
        AlgorithmFit::Ward(fit) => FitOutcome::from_ward(fit.reordered(order)),
    })
}

/// A mixture with its components in `order`.
pub fn reorder_mixture(m: &Mixture, order: &[usize]) -> Mixture {
    let d = m.dim;
    let block = match m.covariance {
        crate::cluster::gmm::CovarianceType::Full => d * d,
        crate::cluster::gmm::CovarianceType::Diag => d,
        crate::cluster::gmm::CovarianceType::Spherical => 1,
        crate::cluster::gmm::CovarianceType::Tied => 0,
    };
    let covariances = if block == 0 {
        m.covariances.clone()
    } else {
        order.iter().flat_map(|&i| m.covariances[i * block..(i + 1) * block].iter().copied()).collect()
    };
    Mixture {
        covariance: m.covariance,
        k: m.k,
        dim: d,
        weights: order.iter().map(|&i| m.weights[i]).collect(),
        means: order.iter().flat_map(|&i| m.means[i * d..(i + 1) * d].iter().copied()).collect(),
        covariances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centres(points: &[[f32; 2]]) -> Centres {
        Centres::new(points.len(), 2, points.iter().flatten().copied().collect())
    }

    #[test]
    fn matched_segments_keep_their_ids_and_a_new_one_gets_the_next_unused_id() {
        let previous = centres(&[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]);
        let today = centres(&[[0.1, 10.0], [10.2, 0.1], [20.0, 20.0], [0.0, -0.1]]);
        let m = match_segments(&today, &[1.0; 4], &previous, &[3, 5, 8], 9, 1.0, 1.0);
        assert_eq!(m.ids, vec![8, 5, 9, 3]);
        assert_eq!(m.new, vec![9]);
        assert!(m.retired.is_empty());
        assert_eq!(m.next_segment_id, 10);
        assert_eq!(m.matches.iter().map(|x| x.id).collect::<Vec<_>>(), vec![3, 5, 8]);
        assert!((m.matches[1].shift - (0.2f64 * 0.2 + 0.1 * 0.1).sqrt()).abs() < 1e-6);
    }

    #[test]
    fn a_segment_that_moved_past_the_gate_is_retired_and_replaced_by_a_new_id() {
        let previous = centres(&[[0.0, 0.0], [10.0, 0.0]]);
        let today = centres(&[[0.0, 0.5], [13.0, 0.0]]);
        let m = match_segments(&today, &[1.0; 2], &previous, &[0, 1], 2, 2.0, 1.0);
        assert_eq!(m.ids, vec![0, 2]);
        assert_eq!((m.new.clone(), m.retired.clone()), (vec![2], vec![1]));
        // A wider gate lets it continue.
        assert_eq!(match_segments(&today, &[1.0; 2], &previous, &[0, 1], 2, 2.0, 2.0).ids, vec![0, 1]);
    }

    #[test]
    fn permuting_the_previous_segments_never_changes_todays_ids() {
        let previous = [[0.0, 0.0], [5.0, 0.0], [0.0, 5.0], [5.0, 5.0], [9.0, 9.0]];
        let previous_ids = [0u32, 1, 2, 3, 4];
        let today = centres(&[[5.1, 5.0], [0.2, 0.0], [2.5, 2.5], [0.0, 5.3]]);
        let base = match_segments(&today, &[1.0; 4], &centres(&previous), &previous_ids, 7, 1.0, 1.5).ids;
        for order in [[4, 3, 2, 1, 0], [2, 0, 4, 1, 3], [1, 2, 3, 4, 0]] {
            let p: Vec<[f32; 2]> = order.iter().map(|&i| previous[i]).collect();
            let ids: Vec<u32> = order.iter().map(|&i| previous_ids[i]).collect();
            assert_eq!(match_segments(&today, &[1.0; 4], &centres(&p), &ids, 7, 1.0, 1.5).ids, base, "{order:?}");
        }
    }

    #[test]
    fn fewer_segments_today_retire_the_unmatched_ones() {
        let previous = centres(&[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]);
        let today = centres(&[[0.0, 9.9], [0.1, 0.0]]);
        let m = match_segments(&today, &[1.0; 2], &previous, &[0, 1, 2], 3, 1.0, 1.0);
        assert_eq!((m.ids, m.retired, m.new), (vec![2, 0], vec![1], vec![]));
    }

    #[test]
    fn segments_are_put_in_id_order_with_everything_they_carry() {
        assert_eq!(id_order(&[8, 5, 9, 3]), vec![3, 1, 0, 2]);
        let m = Mixture {
            covariance: crate::cluster::gmm::CovarianceType::Diag,
            k: 2,
            dim: 1,
            weights: vec![0.25, 0.75],
            means: vec![1.0, 2.0],
            covariances: vec![0.5, 0.7],
        };
        let r = reorder_mixture(&m, &[1, 0]);
        assert_eq!((r.weights, r.means, r.covariances), (vec![0.75, 0.25], vec![2.0, 1.0], vec![0.7, 0.5]));
    }
}
