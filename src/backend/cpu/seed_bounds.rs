//! Exact triangle-inequality pruning for the CPU's k-means++ steps (Raff 2021, "Exact
//! acceleration of k-means++ and k-means||"; Elkan 2003, lemma 1).
//!
//! Every row keeps the index a(x) of its nearest chosen centre besides D²(x), its
//! `min_sq`. If ‖c − c_a(x)‖ ≥ 2·D(x) then ‖x − c‖ ≥ ‖c − c_a(x)‖ − D(x) ≥ D(x), so the row's
//! min(D², d²) for candidate c is D² and its values need not be read. A step compares each
//! row's D² with the smallest candidate distance of its centre (8 bytes a row instead of
//! the row's features) and computes distances only for rows that no candidate prunes.
//!
//! ## Why the pruned answers are the unpruned ones, bit for bit
//!
//! The kernel computes a squared distance in f32 as t_j = fl(x_j − c_j), then
//! acc ← fma(t_j, t_j, acc) for each of the d features: d + 1 roundings of relative error
//! ≤ u = 2⁻²⁴ on top of the exact E = Σ (x_j − c_j)², so the computed value lies within
//! E·(1 ± γ), γ = (d + 2)·u / (1 − (d + 2)·u) ≤ 2(d + 2)·u, plus an absolute d·2⁻¹⁴⁹ where
//! a result falls among the subnormals. The centre-to-candidate distances s² are summed
//! in f64 from the f32 coordinates (relative error below (d + 2)·2⁻⁵³, no underflow).
//!
//! A row is pruned only if its m = D²(x) (the computed value) is 0, or m ≥ 2⁻¹⁰⁰ and
//! s² ≥ 4·(1 + μ)·m with μ = 8(d + 2)·u. For m = 0 the kernel's min(0, d²) is 0 whatever
//! d² is. Otherwise the true D is at most √(m·B), B = (1 + d·2⁻⁴⁹)/(1 − γ) (the absolute
//! term is below m·d·2⁻⁴⁹ there), the true ‖c − c_a‖ is at least 2√(m·A),
//! A = (1 + μ)/(1 + (d + 2)·2⁻⁵³), and the true ‖x − c‖ ≥ 2√(mA) − √(mB) ≥ √(mB) because
//! A ≥ B. The computed d² is then ≥ (1 − γ)·m·B − d·2⁻¹⁴⁹ ≥ m, so min(m, d²) = m: the
//! potentials, the kept minimum distances and the random stream are those of the unpruned
//! pass. Unit tests compare the two on generated data with duplicates and ties.

use crate::backend::Centres;

/// The smallest nonzero D² that may be pruned: far above the subnormals' absolute error.
const TINY: f32 = 7.888_609e-31; // 2⁻¹⁰⁰

#[cfg(test)]
std::thread_local! {
    /// Set by tests comparing with the unpruned passes (read on the calling thread).
    pub(super) static PRUNING_OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The chosen centres so far and each row's nearest one, kept beside the state's `min_sq`
/// for as long as only the CPU's seeding passes have lowered it.
#[derive(Debug, Default)]
pub(super) struct SeedBounds {
    /// The chosen centres in the order folded in, `dim` values each.
    centres: Vec<f32>,
    /// Per chunk, each row's index in `centres` of its nearest (`u32::MAX`: none yet).
    pub(super) nearest: Vec<Vec<u32>>,
    /// The state's `min_sq` generation these indices belong to; another means stale.
    pub(super) generation: u64,
}

impl SeedBounds {
    /// Bounds for rows with no centre yet (chunk lengths `rows`).
    pub(super) fn new(rows: impl Iterator<Item = usize>, generation: u64) -> Self {
        SeedBounds { centres: Vec::new(), nearest: rows.map(|r| vec![u32::MAX; r]).collect(), generation }
    }

    /// Appends a chosen centre and returns its index.
    pub(super) fn push_centre(&mut self, centre: &[f32]) -> u32 {
        let index = self.centres.len() / centre.len().max(1);
        self.centres.extend_from_slice(centre);
        index as u32
    }

    /// This step's pruning table for `candidates`.
    pub(super) fn table(&self, candidates: &Centres) -> PruneTable {
        let dim = candidates.dim;
        let nearest_candidate = self
            .centres
            .chunks_exact(dim.max(1))
            .map(|centre| {
                (0..candidates.k).map(|c| sq_dist_f64(centre, candidates.centre(c))).fold(f64::INFINITY, f64::min)
            })
            .collect();
        let mu = 8.0 * (dim as f64 + 2.0) * f64::powi(2.0, -24);
        PruneTable { nearest_candidate, four_one_plus_mu: 4.0 * (1.0 + mu) }
    }
}

/// One step's test: per chosen centre, the smallest squared distance (f64) to a candidate.
pub(super) struct PruneTable {
    nearest_candidate: Vec<f64>,
    four_one_plus_mu: f64,
}

impl PruneTable {
    /// Whether every candidate leaves a row with nearest centre `nearest` and computed
    /// squared distance `min_sq` at `min_sq` (see the module's argument).
    #[inline(always)]
    pub(super) fn prunes(&self, nearest: u32, min_sq: f32) -> bool {
        match self.nearest_candidate.get(nearest as usize) {
            Some(&s2) => min_sq == 0.0 || (min_sq >= TINY && self.four_one_plus_mu * min_sq as f64 <= s2),
            None => false,
        }
    }
}

fn sq_dist_f64(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64) * (x as f64 - y as f64)).sum()
}

#[cfg(test)]
mod tests {
    use super::super::{CpuBackend, HostRows};
    use super::*;
    use crate::backend::Backend;
    use crate::cluster::kmeans::{extend_kmeans_plus_plus, kmeans_plus_plus};
    use crate::data::Dataset;
    use crate::rng::Rng;

    fn unpruned<T>(run: impl FnOnce() -> T) -> T {
        PRUNING_OFF.with(|off| off.set(true));
        let result = run();
        PRUNING_OFF.with(|off| off.set(false));
        result
    }

    /// Generated data sets: blobs, duplicated rows (ties, zero distances), small integers
    /// with zero weights, plain noise, and blobs scaled into the subnormals.
    fn datasets() -> Vec<Dataset> {
        let mut rng = Rng::new(11);
        let blobs = |rng: &mut Rng, n: usize, d: usize, groups: usize, scale: f32| -> Vec<f32> {
            let centres: Vec<f32> = (0..groups * d).map(|_| 6.0 * rng.normal() as f32).collect();
            (0..n)
                .flat_map(|i| (0..d).map(move |j| (i % groups) * d + j).collect::<Vec<_>>())
                .map(|at| (centres[at] + rng.normal() as f32) * scale)
                .collect()
        };
        let blobs_8 = blobs(&mut rng, 3000, 8, 12, 1.0);
        let distinct: Vec<f32> = (0..20 * 3).map(|_| rng.below(5) as f32).collect();
        let duplicates: Vec<f32> = (0..2000).flat_map(|i| distinct[(i * 7 % 20) * 3..][..3].to_vec()).collect();
        let integers: Vec<f32> = (0..1500 * 4).map(|_| rng.below(4) as f32).collect();
        let weights: Vec<f32> = (0..1500).map(|i| (i % 4) as f32).collect();
        let noise: Vec<f32> = (0..1000 * 16).map(|_| rng.normal() as f32).collect();
        let tiny = blobs(&mut rng, 1000, 4, 6, 1e-21);
        vec![
            Dataset::from_rows(&blobs_8, 8, None, 256),
            Dataset::from_rows(&duplicates, 3, None, 300),
            Dataset::from_rows(&integers, 4, Some(&weights), 200),
            Dataset::from_rows(&noise, 16, None, 128),
            Dataset::from_rows(&tiny, 4, None, 100),
        ]
    }

    #[test]
    fn pruned_steps_give_the_unpruned_potentials_and_distances_bit_for_bit() {
        let mut pruned_somewhere = false;
        for (set, data) in datasets().iter().enumerate() {
            let mut pruned = CpuBackend.new_state(data).unwrap();
            let mut plain = unpruned(|| CpuBackend.new_state(data).unwrap());
            CpuBackend.update_min_sq_dist(data, data.row(0), &mut pruned).unwrap();
            unpruned(|| CpuBackend.update_min_sq_dist(data, data.row(0), &mut plain).unwrap());
            let mut rng = Rng::new(set as u64);
            for step in 0..25 {
                let rows: Vec<f32> =
                    (0..5).flat_map(|_| data.row(rng.below(data.rows() as u64) as usize).to_vec()).collect();
                let candidates = Centres::new(5, data.dim(), rows);
                let scored = CpuBackend.candidate_potentials(data, &candidates, &pruned).unwrap();
                let want = unpruned(|| CpuBackend.candidate_potentials(data, &candidates, &plain).unwrap());
                assert_eq!(bits(&scored), bits(&want), "set {set}, step {step}: potentials");
                let chosen = CpuBackend.choose_candidate(data, &candidates, &mut pruned).unwrap();
                let want = unpruned(|| CpuBackend.choose_candidate(data, &candidates, &mut plain).unwrap());
                assert_eq!((chosen.0, chosen.1.to_bits()), (want.0, want.1.to_bits()), "set {set}, step {step}");
                assert_eq!(pruned.min_sq(), plain.min_sq(), "set {set}, step {step}: minimum distances");
                let computed: usize = pruned.held::<HostRows>(data).unwrap().seeding.iter().map(|k| k.rows.len()).sum();
                pruned_somewhere |= computed < data.rows();
            }
        }
        assert!(pruned_somewhere, "no row was ever pruned: the comparison proves nothing");
    }

    #[test]
    fn pruned_kmeans_plus_plus_chooses_the_unpruned_centres() {
        for (set, data) in datasets().iter().enumerate() {
            for k in [3, 17, 40] {
                let got = kmeans_plus_plus(&CpuBackend, data, k, &mut Rng::new(k as u64)).unwrap();
                let want = unpruned(|| kmeans_plus_plus(&CpuBackend, data, k, &mut Rng::new(k as u64)).unwrap());
                assert_eq!(bits32(&got.values), bits32(&want.values), "set {set}, k = {k}");
            }
            // Warm start: given centres folded in first.
            let given = Centres::new(2, data.dim(), [data.row(1), data.row(2)].concat());
            let got = extend_kmeans_plus_plus(&CpuBackend, data, given.clone(), 9, 4, &mut Rng::new(1)).unwrap();
            let want = unpruned(|| extend_kmeans_plus_plus(&CpuBackend, data, given, 9, 4, &mut Rng::new(1)).unwrap());
            assert_eq!(bits32(&got.values), bits32(&want.values), "set {set}, warm start");
        }
    }

    #[test]
    fn bounds_are_dropped_once_the_minimum_distances_are_lowered_elsewhere() {
        let data = &datasets()[0];
        let mut state = CpuBackend.new_state(data).unwrap();
        CpuBackend.update_min_sq_dist(data, data.row(0), &mut state).unwrap();
        assert!(state.held::<HostRows>(data).unwrap().bounds.is_some());
        state.min_sq_mut()[0][5] = 0.0;
        let candidates = Centres::new(1, data.dim(), data.row(9).to_vec());
        CpuBackend.choose_candidate(data, &candidates, &mut state).unwrap();
        assert!(state.held::<HostRows>(data).unwrap().bounds.is_none());
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn bits32(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn a_row_is_pruned_only_beyond_twice_its_distance_with_the_margin() {
        let mut bounds = SeedBounds::new([3].into_iter(), 0);
        assert_eq!(bounds.push_centre(&[0.0, 0.0]), 0);
        let table = bounds.table(&Centres::new(2, 2, vec![4.0, 0.0, 0.0, 6.0]));
        assert!(table.prunes(0, 3.9));
        assert!(!table.prunes(0, 4.0), "‖c − c_a‖ = 2·D exactly: inside the margin");
        assert!(table.prunes(0, 0.0));
        assert!(!table.prunes(0, 1e-35), "tiny distances are never pruned");
        assert!(!table.prunes(0, f32::INFINITY));
        assert!(!table.prunes(0, f32::NAN));
        assert!(!table.prunes(u32::MAX, 1.0), "a row with no centre yet");
    }
}
