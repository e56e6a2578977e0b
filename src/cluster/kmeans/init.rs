//! Initial centres: greedy k-means++ and uniform random rows.

use std::collections::HashSet;

use crate::backend::{sample_backend, Backend, Centres, LloydState, RowValues};
use crate::data::Dataset;
use crate::error::Result;
use crate::rng::Rng;

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, scikit-learn's variant): the first centre
/// is a row drawn with probability ∝ weight; each next one is the best, by total potential
/// Σ w·min‖x − c‖², of `2 + ⌊ln k⌋` rows drawn with probability ∝ w·D(x)².
pub fn kmeans_plus_plus(backend: &dyn Backend, data: &Dataset, k: usize, rng: &mut Rng) -> Result<Centres> {
    let first = weighted_row(data, rng.uniform() * data.total_weight());
    let trials = 2 + (k as f64).ln().floor() as usize;
    extend_kmeans_plus_plus(backend, data, Centres::new(1, data.dim(), data.row(first).to_vec()), k, trials, rng)
}

/// Greedy k-means++ continued from `given` centres (at least one) up to `k`: each next
/// centre is the best of `trials` rows drawn ∝ w·D(x)², as in [`kmeans_plus_plus`], against
/// the distance to the nearest centre so far. Warm starts seed the segments a previous run
/// did not have this way.
pub fn extend_kmeans_plus_plus(
    backend: &dyn Backend,
    data: &Dataset,
    given: Centres,
    k: usize,
    trials: usize,
    rng: &mut Rng,
) -> Result<Centres> {
    let dim = data.dim();
    let mut values = Vec::with_capacity(k * dim);
    values.extend_from_slice(&given.values);
    let mut state = backend.new_state(data)?;
    for c in 0..given.k {
        backend.update_min_sq_dist(data, given.centre(c), &mut state)?;
    }
    let mut potential = total_potential(data, state.min_sq());

    for _ in given.k..k {
        let mut targets: Vec<f64> = (0..trials).map(|_| rng.uniform() * potential).collect();
        let rows = search_cumulative(data, state.min_sq(), &mut targets);
        let mut cand = Vec::with_capacity(trials * dim);
        for &r in &rows {
            cand.extend_from_slice(data.row(r));
        }
        let candidates = Centres::new(trials, dim, cand);
        let (best, best_potential) = backend.choose_candidate(data, &candidates, &mut state)?;
        potential = best_potential;
        values.extend_from_slice(candidates.centre(best));
    }
    Ok(Centres::new(k, dim, values))
}

/// k-means|| (Bahmani et al. 2012): a first row drawn ∝ weight, then `rounds` passes that
/// each keep every row independently with probability min(1, ℓ·w·D(x)²/φ) (ℓ = `oversampling`
/// × k, φ the current potential); the candidates are weighted by the rows nearest to them and
/// reduced to k centres by weighted k-means++ and Lloyd on the candidates alone. Each round
/// is one pass over the data instead of k-means++'s k passes. Rows are sampled with one
/// generator per chunk, seeded from `rng`, so the result does not depend on threads.
pub fn kmeans_parallel(
    backend: &dyn Backend,
    data: &Dataset,
    k: usize,
    rounds: usize,
    oversampling: f64,
    rng: &mut Rng,
) -> Result<Centres> {
    let dim = data.dim();
    let first = weighted_row(data, rng.uniform() * data.total_weight());
    let mut candidates: Vec<f32> = data.row(first).to_vec();
    let mut state = backend.new_state(data)?;
    let mut fresh = Centres::new(1, dim, candidates.clone());
    for _ in 0..rounds {
        nearest_sq_update(backend, data, &fresh, &mut state)?;
        let potential = total_potential(data, state.min_sq());
        if potential <= 0.0 {
            break;
        }
        let l = oversampling * k as f64;
        let round_seed = rng.next_u64();
        let mut picked = Vec::new();
        // Streamed (`data.stream()`): a chunk read from the on-disk cache is handed back
        // once sampled, so the round's resident memory is one chunk, not the data.
        for (c, (chunk, mins)) in data.stream().zip(state.min_sq()).enumerate() {
            let mut chunk_rng = Rng::derive(round_seed, c as u64);
            for (i, &m) in mins.iter().enumerate() {
                let p = l * chunk.weight(i) as f64 * m as f64 / potential;
                if chunk_rng.uniform() < p {
                    picked.extend_from_slice(&chunk.values[i * dim..(i + 1) * dim]);
                }
            }
        }
        if picked.is_empty() {
            continue;
        }
        fresh = Centres::new(picked.len() / dim, dim, picked.clone());
        candidates.extend(picked);
    }
    drop(state); // free its buffers before the passes below allocate their own
    let all = Centres::new(candidates.len() / dim, dim, candidates);
    if all.k <= k {
        // Too few candidates (tiny or duplicated data): top up with k-means++.
        return kmeans_plus_plus(backend, data, k, rng);
    }
    // Weight each candidate by the rows nearest to it, then reduce the candidates to k.
    let stats = backend.lloyd_pass(data, &all, &mut backend.new_state(data)?)?;
    let weights: Vec<f32> = stats.weights.iter().map(|&w| w as f32).collect();
    let small = Dataset::from_rows(&all.values, dim, Some(&weights), 4096);
    let seeds = kmeans_plus_plus(sample_backend(), &small, k, rng)?;
    let params =
        super::KMeansParams { k, init: super::Init::Centres(seeds), max_iter: 30, ..super::KMeansParams::new(k) }
            .check()?;
    Ok(super::fit(sample_backend(), &small, &params, &mut |_| {})?.centres)
}

/// `state`'s `min_sq = min(min_sq, distance² to the nearest of `centres`)` in one pass.
fn nearest_sq_update(backend: &dyn Backend, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<()> {
    if centres.k == 1 {
        return backend.update_min_sq_dist(data, centres.centre(0), state);
    }
    let min_sq = state.min_sq_mut();
    backend.assign(data, centres, &mut |c, _, distances| {
        for (m, &d) in min_sq[c].iter_mut().zip(distances) {
            *m = m.min(d * d);
        }
        Ok(())
    })
}

/// k distinct rows chosen uniformly (Floyd's sampling), in the order drawn.
pub fn random_rows(data: &Dataset, k: usize, rng: &mut Rng) -> Centres {
    let n = data.rows() as u64;
    let mut chosen = HashSet::with_capacity(k);
    let mut order = Vec::with_capacity(k);
    for j in n - k as u64..n {
        let t = rng.below(j + 1);
        let pick = if chosen.contains(&t) { j } else { t };
        chosen.insert(pick);
        order.push(pick as usize);
    }
    let mut values = Vec::with_capacity(k * data.dim());
    for r in order {
        values.extend_from_slice(data.row(r));
    }
    Centres::new(k, data.dim(), values)
}

/// Σ w·min_sq in chunk order (f64).
fn total_potential(data: &Dataset, min_sq: &RowValues) -> f64 {
    data.chunks()
        .iter()
        .zip(min_sq)
        .map(|(chunk, mins)| mins.iter().enumerate().map(|(i, &m)| chunk.weight(i) as f64 * m as f64).sum::<f64>())
        .sum()
}

/// The first row with positive weight whose running Σ w reaches `target`.
fn weighted_row(data: &Dataset, target: f64) -> usize {
    let mut acc = 0.0;
    for (c, chunk) in data.chunks().iter().enumerate() {
        for i in 0..chunk.rows(data.dim()) {
            let w = chunk.weight(i);
            acc += w as f64;
            if acc >= target && w > 0.0 {
                return data.chunk_offset(c) + i;
            }
        }
    }
    data.rows() - 1
}

/// For each target, the first row where the running sum of w·value reaches it
/// (numpy's `searchsorted(cumsum, t)`, clipped to the last row). One scan for all targets.
fn search_cumulative(data: &Dataset, values: &RowValues, targets: &mut [f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
    let mut found = vec![data.rows().saturating_sub(1); targets.len()];
    let mut next = 0;
    let mut acc = 0.0f64;
    'scan: for (c, (chunk, vals)) in data.chunks().iter().zip(values).enumerate() {
        for (i, &v) in vals.iter().enumerate() {
            acc += chunk.weight(i) as f64 * v as f64;
            while acc >= targets[order[next]] {
                found[order[next]] = data.chunk_offset(c) + i;
                next += 1;
                if next == order.len() {
                    break 'scan;
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;

    #[test]
    fn kmeans_plus_plus_picks_one_centre_per_well_separated_group() {
        let mut rows = Vec::new();
        for g in 0..4 {
            for i in 0..25 {
                rows.push(g as f32 * 100.0 + (i % 5) as f32 * 0.1);
                rows.push(-(g as f32) * 100.0);
            }
        }
        let data = Dataset::from_rows(&rows, 2, None, 16);
        let centres = kmeans_plus_plus(&CpuBackend, &data, 4, &mut Rng::new(5)).unwrap();
        let mut groups: Vec<i32> = (0..4).map(|c| (centres.centre(c)[0] / 100.0).round() as i32).collect();
        groups.sort();
        assert_eq!(groups, vec![0, 1, 2, 3]);
    }

    #[test]
    fn kmeans_parallel_finds_every_well_separated_group_in_few_passes() {
        let mut rows = Vec::new();
        let mut rng = Rng::new(2);
        for i in 0..4000 {
            let g = (i % 8) as f32;
            rows.push(g * 50.0 + rng.normal() as f32);
            rows.push((g % 3.0) * 40.0 + rng.normal() as f32);
        }
        let data = Dataset::from_rows(&rows, 2, None, 512);
        let centres = kmeans_parallel(&CpuBackend, &data, 8, 2, 2.0, &mut Rng::new(5)).unwrap();
        let mut groups: Vec<i32> = (0..8).map(|c| (centres.centre(c)[0] / 50.0).round() as i32).collect();
        groups.sort();
        assert_eq!(groups, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn random_rows_are_distinct() {
        let rows: Vec<f32> = (0..50).map(|x| x as f32).collect();
        let data = Dataset::from_rows(&rows, 1, None, 7);
        let c = random_rows(&data, 50, &mut Rng::new(9));
        let mut v = c.values.clone();
        v.sort_by(f32::total_cmp);
        v.dedup();
        assert_eq!(v.len(), 50);
    }

    #[test]
    fn cumulative_search_matches_numpy_searchsorted() {
        let data = Dataset::from_rows(&[0.0; 4], 1, None, 3);
        let vals: RowValues = vec![vec![1.0, 0.0, 2.0], vec![1.0]];
        // cumsum = [1, 1, 3, 4]
        let mut targets = [0.5, 1.0, 3.5, 2.0, 9.0];
        assert_eq!(search_cumulative(&data, &vals, &mut targets), vec![0, 0, 3, 2, 3]);
    }
}
