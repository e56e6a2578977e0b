//! The CPU backend: rayon over chunks, the register-blocked nearest-centre kernel
//! (`nearest.rs`) within a chunk, the mixture E-step as block matrix products (`estep.rs`).
//!
//! Each chunk's statistics are computed independently and merged in chunk order in f64,
//! so the output is bit-identical for any number of threads. The kernel's paths (AVX-512,
//! AVX2 + FMA, chosen at run time, and portable) all use fused multiply-adds in the same
//! order, so they give bit-identical labels too.

mod bounds;
pub mod estep;
mod lloyd;
mod nearest;
#[cfg(target_arch = "x86_64")]
mod nearest_x86;
mod seeding;
#[cfg(target_arch = "x86_64")]
mod seeding_x86;
mod stats;
mod with_bounds;

use rayon::prelude::*;

pub use self::bounds::MIN_WORK as BOUNDS_MIN_WORK;
use self::bounds::{Drift, RowBounds};
pub use self::lloyd::Bounds;
use self::lloyd::{lloyd_chunk, ChunkState, Mode};
use self::nearest::{nearest_labels, Kernel, PackedCentres};
use self::seeding::PackedCandidates;
pub use self::with_bounds::CpuBackendWith;
use super::distance::{keep_farthest, sq_dist};
use super::mixture::{log_sum_exp, LogDensity, MixturePass, MixtureStats};
use super::{
    lowest_potential, AssignSink, Backend, BackendInfo, Centres, LloydState, LloydStats, MixtureSink, RowValues,
};
use crate::data::{Chunk, Dataset};
use crate::error::Result;

/// The most memory a k-means++ step keeps for its candidates' distances (4 bytes per row
/// and candidate); past it, or when the rows stream from the on-disk cache (where they are
/// over the memory budget), the winner's distances are computed again in a second pass.
const SEED_KEEP_BYTES: usize = 1 << 30;
/// Chunks finished per window of [`CpuBackend::assign`]: bounds the labels held at once.
const ASSIGN_WINDOW: usize = 16;
/// Chunks whose statistics are computed in parallel before being merged (in chunk order):
/// bounds the per-chunk statistics held at once.
pub const STATS_WINDOW: usize = 32;

/// Rayon-parallel implementation of every pass.
#[derive(Debug, Default, Clone)]
pub struct CpuBackend;

impl CpuBackend {
    /// The CPU backend on rayon's global pool (`--threads` sizes that pool).
    pub fn new() -> Self {
        CpuBackend
    }

    /// A Lloyd state whose passes keep bounds as `bounds` says ([`Backend::new_state`]: `Auto`).
    pub fn new_state_with(&self, data: &Dataset, bounds: Bounds) -> Result<LloydState> {
        let rows = |c: &Chunk| c.rows(data.dim());
        let labels = data.chunks().iter().map(|c| vec![u32::MAX; rows(c)]).collect();
        let dist2 = data.chunks().iter().map(|c| vec![0.0; rows(c)]).collect();
        let row_bounds = data.chunks().iter().map(|_| RowBounds::default()).collect();
        let held = HostRows { labels, dist2, seeding: Vec::new(), policy: bounds, bounds: row_bounds, bounded: None };
        Ok(LloydState::new(data, held))
    }
}

/// The CPU's part of a [`LloydState`]: per chunk, every row's label and its squared
/// distance to that centre after the last Lloyd pass.
struct HostRows {
    labels: Vec<Vec<u32>>,
    dist2: Vec<Vec<f32>>,
    /// k-means++: per chunk, each row's min(min_sq, d²) for each candidate of the current
    /// step (`rows × candidates`), reused from step to step; empty past [`SEED_KEEP_BYTES`].
    seeding: Vec<Vec<f32>>,
    /// Whether Lloyd passes keep bounds, and per chunk the bounds (empty until a pass sets them).
    policy: Bounds,
    bounds: Vec<RowBounds>,
    /// The centres the bounds were last set or moved against; `None` when they are not set.
    bounded: Option<Centres>,
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            backend: "cpu".into(),
            device: format!("{} threads ({})", rayon::current_num_threads(), cpu_features()),
        }
    }

    fn new_state(&self, data: &Dataset) -> Result<LloydState> {
        self.new_state_with(data, Bounds::Auto)
    }

    fn new_full_state(&self, data: &Dataset) -> Result<LloydState> {
        self.new_state_with(data, Bounds::Never)
    }

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats> {
        let rows: &mut HostRows = state.held_mut(data)?;
        let packed = PackedCentres::new(centres);
        let mut total = LloydStats::zeros(centres.k, centres.dim);
        // Bounds from the previous pass move with the centres; otherwise they are set afresh.
        let with_bounds = rows.policy.applies(centres.k, centres.dim);
        let drift = with_bounds.then(|| match &rows.bounded {
            Some(old) if (old.k, old.dim) == (centres.k, centres.dim) => (Drift::new(old, centres), true),
            _ => (Drift::new(centres, centres), false),
        });
        let mode = match &drift {
            None => Mode::Plain,
            Some((drift, true)) => Mode::Skip(drift),
            Some((drift, false)) => Mode::Start(drift),
        };
        if with_bounds {
            for (b, labels) in rows.bounds.iter_mut().zip(&rows.labels) {
                if b.lower.len() != labels.len() {
                    *b = RowBounds::new(labels.len());
                }
            }
        }
        rows.bounded = None;
        // Windows of chunks bound the statistics held at once (k × dim f64 each).
        let windows = data
            .chunks()
            .chunks(STATS_WINDOW)
            .zip(rows.labels.chunks_mut(STATS_WINDOW))
            .zip(rows.dist2.chunks_mut(STATS_WINDOW))
            .zip(rows.bounds.chunks_mut(STATS_WINDOW));
        for (((chunks, previous), dist2), bounds) in windows {
            let parts: Vec<LloydStats> = chunks
                .par_iter()
                .zip(previous.par_iter_mut())
                .zip(dist2.par_iter_mut())
                .zip(bounds.par_iter_mut())
                .map(|(((chunk, previous), dist2), bounds)| {
                    let state = ChunkState { previous, dist2, bounds };
                    let stats = lloyd_chunk(chunk, centres, &packed, &mode, state);
                    chunk.values.release();
                    stats
                })
                .collect();
            for part in &parts {
                total.merge(part);
            }
        }
        rows.bounded = with_bounds.then(|| centres.clone());
        Ok(total)
    }

    fn assign(&self, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()> {
        let packed = PackedCentres::new(centres);
        let dim = data.dim();
        in_windows(
            data,
            |chunk| {
                let mut labels = vec![0u32; chunk.rows(dim)];
                nearest_labels(&chunk.values, &packed, &mut labels);
                let distances = chunk
                    .values
                    .chunks_exact(dim)
                    .zip(&labels)
                    .map(|(x, &c)| sq_dist(x, centres.centre(c as usize)).sqrt())
                    .collect();
                (labels, distances)
            },
            sink,
        )
    }

    fn labels(&self, data: &Dataset, state: &LloydState) -> Result<Vec<u32>> {
        Ok(state.held::<HostRows>(data)?.labels.concat())
    }

    fn farthest_rows(&self, data: &Dataset, state: &LloydState, m: usize) -> Result<Vec<(usize, u32)>> {
        let rows: &HostRows = state.held(data)?;
        let mut candidates: Vec<(f32, usize, u32)> = rows
            .labels
            .par_iter()
            .zip(&rows.dist2)
            .enumerate()
            .flat_map_iter(|(c, (labels, dist2))| {
                let offset = data.chunk_offset(c);
                let mut local: Vec<(f32, usize, u32)> =
                    dist2.iter().zip(labels).enumerate().map(|(i, (&d, &l))| (d, offset + i, l)).collect();
                keep_farthest(&mut local, m);
                local.into_iter()
            })
            .collect();
        keep_farthest(&mut candidates, m);
        Ok(candidates.into_iter().map(|(_, row, label)| (row, label)).collect())
    }

    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], state: &mut LloydState) -> Result<()> {
        state.held::<HostRows>(data)?;
        let kernel = Kernel::detect();
        data.chunks().par_iter().zip(state.min_sq_mut().par_iter_mut()).for_each(|(chunk, mins)| {
            seeding::fold_min_sq(kernel, &chunk.values, centre, mins);
            chunk.values.release();
        });
        Ok(())
    }

    fn mixture_pass(&self, data: &Dataset, mix: &MixturePass) -> Result<MixtureStats> {
        let mut total = MixtureStats::zeros(mix.k, mix.dim, mix.full);
        for window in data.chunks().chunks(STATS_WINDOW) {
            let parts: Vec<MixtureStats> = window
                .par_iter()
                .map(|chunk| {
                    let stats = estep::block_stats(&chunk.values, chunk.weights.as_deref(), mix);
                    chunk.values.release();
                    stats
                })
                .collect();
            for part in &parts {
                total.merge(part);
            }
        }
        Ok(total)
    }

    fn mixture_assign(&self, data: &Dataset, mix: &MixturePass, sink: &mut MixtureSink) -> Result<()> {
        let (k, dim) = (mix.k, mix.dim);
        in_windows(
            data,
            |chunk| {
                let rows = chunk.rows(dim);
                let mut labels = Vec::with_capacity(rows);
                let mut probs = Vec::with_capacity(rows * k);
                let mut density = LogDensity::new(mix);
                let mut logp = vec![0.0f64; k];
                for x in chunk.values.chunks_exact(dim) {
                    density.log_probs(x, &mut logp);
                    let lse = log_sum_exp(&logp);
                    let best = (0..k).fold(0, |b, c| if logp[c] > logp[b] { c } else { b });
                    labels.push(best as u32);
                    probs.extend(logp.iter().map(|&l| (l - lse).exp() as f32));
                }
                (labels, probs)
            },
            sink,
        )
    }

    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, state: &LloydState) -> Result<Vec<f64>> {
        state.held::<HostRows>(data)?;
        Ok(seeding_pass(data, candidates, state.min_sq(), None))
    }

    fn choose_candidate(&self, data: &Dataset, candidates: &Centres, state: &mut LloydState) -> Result<(usize, f64)> {
        let keep = !data.is_on_disk() && data.rows().saturating_mul(candidates.k).saturating_mul(4) <= SEED_KEEP_BYTES;
        if !keep {
            let potentials = self.candidate_potentials(data, candidates, state)?;
            let best = lowest_potential(&potentials);
            self.update_min_sq_dist(data, candidates.centre(best), state)?;
            return Ok((best, potentials[best]));
        }
        // One pass scores every candidate and keeps its distances; the winner's are copied.
        let mut kept = std::mem::take(&mut state.held_mut::<HostRows>(data)?.seeding);
        kept.resize_with(data.chunks().len(), Vec::new);
        for (k, mins) in kept.iter_mut().zip(state.min_sq()) {
            k.resize(mins.len() * candidates.k, 0.0);
        }
        let potentials = seeding_pass(data, candidates, state.min_sq(), Some(&mut kept));
        let best = lowest_potential(&potentials);
        state.min_sq_mut().par_iter_mut().zip(&kept).for_each(|(mins, kept)| {
            for (i, m) in mins.iter_mut().enumerate() {
                *m = kept[i * candidates.k + best];
            }
        });
        state.held_mut::<HostRows>(data)?.seeding = kept;
        Ok((best, potentials[best]))
    }

    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
        Ok(super::pairwise::pair_sums(points, dim, ranges))
    }
}

/// The k-means++ potential of each candidate, summed per chunk in parallel and merged in
/// chunk order; with `kept`, each row's min(min_sq, d²) per candidate too (see
/// [`seeding::potentials`]).
fn seeding_pass(
    data: &Dataset,
    candidates: &Centres,
    min_sq: &RowValues,
    kept: Option<&mut Vec<Vec<f32>>>,
) -> Vec<f64> {
    let packed = PackedCandidates::new(candidates);
    let kernel = Kernel::detect();
    let per_chunk = |chunk: &Chunk, mins: &Vec<f32>, kept: Option<&mut [f32]>| {
        let rows = seeding::SeedRows { values: &chunk.values, weights: chunk.weights.as_deref(), min_sq: mins };
        let potentials = seeding::potentials(kernel, rows, &packed, kept);
        chunk.values.release();
        potentials
    };
    let chunks = data.chunks().par_iter().zip(min_sq.par_iter());
    let parts: Vec<Vec<f64>> = match kept {
        Some(kept) => chunks.zip(kept.par_iter_mut()).map(|((c, m), k)| per_chunk(c, m, Some(k))).collect(),
        None => chunks.map(|(c, m)| per_chunk(c, m, None)).collect(),
    };
    let mut total = vec![0.0f64; candidates.k];
    for part in &parts {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
    total
}

/// Computes `per_chunk` for windows of [`ASSIGN_WINDOW`] chunks in parallel and hands the
/// results to `sink` in chunk order: bounds what is held at once, keeps the order fixed.
fn in_windows(
    data: &Dataset,
    per_chunk: impl Fn(&Chunk) -> (Vec<u32>, Vec<f32>) + Sync,
    sink: &mut AssignSink,
) -> Result<()> {
    let chunks = data.chunks();
    for window_start in (0..chunks.len()).step_by(ASSIGN_WINDOW) {
        let window_end = (window_start + ASSIGN_WINDOW).min(chunks.len());
        let results: Vec<(Vec<u32>, Vec<f32>)> = chunks[window_start..window_end]
            .par_iter()
            .map(|chunk| {
                let result = per_chunk(chunk);
                chunk.values.release();
                result
            })
            .collect();
        for (offset, (labels, values)) in results.iter().enumerate() {
            sink(window_start + offset, labels, values)?;
        }
    }
    Ok(())
}

fn cpu_features() -> String {
    format!("{} {}", std::env::consts::ARCH, nearest::Kernel::detect().name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lloyd_pass_counts_changes_and_sums_weights() {
        let data = Dataset::from_rows(&[0.0, 1.0, 10.0, 11.0], 1, Some(&[1.0, 3.0, 2.0, 2.0]), 3);
        let centres = Centres::new(2, 1, vec![0.0, 10.0]);
        let mut state = CpuBackend.new_state(&data).unwrap();
        let stats = CpuBackend.lloyd_pass(&data, &centres, &mut state).unwrap();
        assert_eq!(stats.counts, vec![2, 2]);
        assert_eq!(stats.weights, vec![4.0, 4.0]);
        assert_eq!(stats.sums, vec![3.0, 42.0]);
        assert_eq!(stats.inertia, 3.0 + 2.0);
        assert_eq!(stats.changed, 4);
        let again = CpuBackend.lloyd_pass(&data, &centres, &mut state).unwrap();
        assert_eq!(again.changed, 0);
    }

    #[test]
    fn bounds_are_on_by_default_only_where_they_pay() {
        assert!(Bounds::Auto.applies(64, 32));
        assert!(!Bounds::Auto.applies(16, 16) && !Bounds::Auto.applies(100, 2));
        assert!(Bounds::Always.applies(1, 1) && !Bounds::Never.applies(1024, 64));
    }

    #[test]
    fn a_full_state_scores_every_row_where_the_default_one_skips() {
        let (n, d, k) = (4096, 32, 64);
        let data = Dataset::from_rows(&crate::synth::blobs(n, d, k, 3), d, None, 1024);
        let centres = crate::cluster::kmeans::random_rows(&data, k, &mut crate::rng::Rng::new(1));
        let skipped = |mut state: LloydState| {
            CpuBackend.lloyd_pass(&data, &centres, &mut state).unwrap();
            CpuBackend.lloyd_pass(&data, &centres, &mut state).unwrap().skipped
        };
        assert_eq!(skipped(CpuBackend.new_full_state(&data).unwrap()), 0);
        assert!(skipped(CpuBackend.new_state(&data).unwrap()) > 0, "k·dim = {} keeps bounds by default", k * d);
    }

    #[test]
    fn farthest_rows_prefers_larger_distance_then_lower_row() {
        let data = Dataset::from_rows(&[0.0, 3.0, -3.0, 1.0], 1, None, 2);
        let centres = Centres::new(1, 1, vec![0.0]);
        let mut state = CpuBackend.new_state(&data).unwrap();
        CpuBackend.lloyd_pass(&data, &centres, &mut state).unwrap();
        assert_eq!(CpuBackend.farthest_rows(&data, &state, 2).unwrap(), vec![(1, 0), (2, 0)]);
    }

    #[test]
    fn a_state_is_refused_with_a_dataset_it_was_not_made_for() {
        let data = Dataset::from_rows(&[0.0, 1.0], 1, None, 2);
        let other = Dataset::from_rows(&[0.0, 1.0], 1, None, 2);
        let mut state = CpuBackend.new_state(&data).unwrap();
        let centres = Centres::new(1, 1, vec![0.0]);
        assert!(CpuBackend.lloyd_pass(&other, &centres, &mut state).is_err());
        assert!(CpuBackend.farthest_rows(&other, &state, 1).is_err());
    }
}
