//! The CPU backend: rayon over chunks, the register-blocked nearest-centre kernel
//! (`nearest.rs`) within a chunk, the mixture E-step as block matrix products (`estep.rs`).
//!
//! Each chunk's statistics are computed independently and merged in chunk order in f64,
//! so the output is bit-identical for any number of threads. The kernel never uses fused
//! multiply-add and keeps every sum in a fixed order, so the AVX2 path (chosen at run time)
//! and the portable path give bit-identical labels too.

pub mod estep;
mod nearest;

use rayon::prelude::*;

use self::nearest::{nearest_labels, PackedCentres};
use super::distance::{keep_farthest, sq_dist};
use super::mixture::{log_sum_exp, LogDensity, MixturePass, MixtureStats};
use super::{AssignSink, Backend, BackendInfo, Centres, LloydState, LloydStats, MixtureSink};
use crate::data::{Chunk, Dataset};
use crate::error::Result;

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
}

/// The CPU's part of a [`LloydState`]: per chunk, every row's label and its squared
/// distance to that centre after the last Lloyd pass.
struct HostRows {
    labels: Vec<Vec<u32>>,
    dist2: Vec<Vec<f32>>,
}

/// Labels and statistics of one chunk; `previous` (labels) and `dist2` are updated in place.
fn lloyd_chunk(
    chunk: &Chunk,
    centres: &Centres,
    packed: &PackedCentres,
    previous: &mut [u32],
    dist2: &mut [f32],
) -> LloydStats {
    let dim = centres.dim;
    let rows = chunk.rows(dim);
    let mut labels = vec![0u32; rows];
    nearest_labels(&chunk.values, packed, &mut labels);
    let mut stats = LloydStats::zeros(centres.k, dim);
    for (i, (x, &label)) in chunk.values.chunks_exact(dim).zip(&labels).enumerate() {
        let c = label as usize;
        let w = chunk.weight(i) as f64;
        if previous[i] != label {
            stats.changed += 1;
            previous[i] = label;
        }
        stats.weights[c] += w;
        stats.counts[c] += 1;
        for (s, &v) in stats.sums[c * dim..(c + 1) * dim].iter_mut().zip(x) {
            *s += w * v as f64;
        }
        dist2[i] = sq_dist(x, centres.centre(c));
        stats.inertia += w * dist2[i] as f64;
    }
    stats
}

impl Backend for CpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            backend: "cpu".into(),
            device: format!("{} threads ({})", rayon::current_num_threads(), cpu_features()),
        }
    }

    fn new_state(&self, data: &Dataset) -> Result<LloydState> {
        let rows = |c: &Chunk| c.rows(data.dim());
        let labels = data.chunks().iter().map(|c| vec![u32::MAX; rows(c)]).collect();
        let dist2 = data.chunks().iter().map(|c| vec![0.0; rows(c)]).collect();
        Ok(LloydState::new(data, HostRows { labels, dist2 }))
    }

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats> {
        let rows: &mut HostRows = state.held_mut(data)?;
        let packed = PackedCentres::new(centres);
        let mut total = LloydStats::zeros(centres.k, centres.dim);
        // Windows of chunks bound the statistics held at once (k × dim f64 each).
        let windows = data
            .chunks()
            .chunks(STATS_WINDOW)
            .zip(rows.labels.chunks_mut(STATS_WINDOW))
            .zip(rows.dist2.chunks_mut(STATS_WINDOW));
        for ((chunks, previous), dist2) in windows {
            let parts: Vec<LloydStats> = chunks
                .par_iter()
                .zip(previous.par_iter_mut())
                .zip(dist2.par_iter_mut())
                .map(|((chunk, previous), dist2)| {
                    let stats = lloyd_chunk(chunk, centres, &packed, previous, dist2);
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
        let dim = data.dim();
        state.held::<HostRows>(data)?;
        data.chunks().par_iter().zip(state.min_sq_mut().par_iter_mut()).for_each(|(chunk, mins)| {
            for (x, m) in chunk.values.chunks_exact(dim).zip(mins.iter_mut()) {
                *m = m.min(sq_dist(x, centre));
            }
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
        let dim = data.dim();
        state.held::<HostRows>(data)?;
        let parts: Vec<Vec<f64>> = data
            .chunks()
            .par_iter()
            .zip(state.min_sq().par_iter())
            .map(|(chunk, mins)| {
                let mut pot = vec![0.0f64; candidates.k];
                for (i, (x, &m)) in chunk.values.chunks_exact(dim).zip(mins).enumerate() {
                    let w = chunk.weight(i) as f64;
                    for (l, p) in pot.iter_mut().enumerate() {
                        *p += w * m.min(sq_dist(x, candidates.centre(l))) as f64;
                    }
                }
                chunk.values.release();
                pot
            })
            .collect();
        let mut total = vec![0.0f64; candidates.k];
        for part in &parts {
            for (t, p) in total.iter_mut().zip(part) {
                *t += p;
            }
        }
        Ok(total)
    }

    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
        Ok(super::pairwise::pair_sums(points, dim, ranges))
    }
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

fn cpu_features() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return "x86_64 avx2";
    }
    std::env::consts::ARCH
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
