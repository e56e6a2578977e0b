//! The CPU backend: rayon over chunks, a register-blocked distance kernel within a chunk.
//!
//! Each chunk's statistics are computed independently and merged in chunk order in f64,
//! so the output is bit-identical for any number of threads. The kernel never uses fused
//! multiply-add and keeps every sum in a fixed order, so the AVX2 path (chosen at run time)
//! and the portable path give bit-identical labels too.

use rayon::prelude::*;

use super::mixture::{log_sum_exp, LogDensity, MixturePass, MixtureStats};
use super::{AssignSink, Backend, BackendInfo, Centres, Labels, LloydStats, MixtureSink, RowValues};
use crate::data::{Chunk, Dataset};
use crate::error::Result;

/// Centres per register block: the kernel computes 16 dot products per row at once.
const LANES: usize = 16;
/// Rows per cache tile: a block of centres is reused for this many rows while in L1.
const TILE: usize = 128;
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

/// Centres transposed into blocks of [`LANES`] (`[dim][LANES]` each) with their squared
/// norms; padding lanes have norm +∞ so they are never chosen.
struct PackedCentres {
    dim: usize,
    blocks: Vec<Vec<f32>>,
    norms: Vec<[f32; LANES]>,
}

impl PackedCentres {
    fn new(centres: &Centres) -> Self {
        let (k, dim) = (centres.k, centres.dim);
        let n_blocks = k.div_ceil(LANES);
        let mut blocks = vec![vec![0.0f32; dim * LANES]; n_blocks];
        let mut norms = vec![[f32::INFINITY; LANES]; n_blocks];
        for c in 0..k {
            let (b, lane) = (c / LANES, c % LANES);
            let centre = centres.centre(c);
            for (j, &v) in centre.iter().enumerate() {
                blocks[b][j * LANES + lane] = v;
            }
            norms[b][lane] = sq_norm(centre);
        }
        PackedCentres { dim, blocks, norms }
    }
}

/// ‖a‖² with a fixed summation order (eight partial sums, then a fixed tree).
fn sq_norm(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = a.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] += c[l] * c[l];
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        acc[l] += v * v;
    }
    tree_sum8(acc)
}

/// ‖a − b‖², exact (no norm expansion), with a fixed summation order.
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    for (l, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        let t = x - y;
        acc[l] += t * t;
    }
    tree_sum8(acc)
}

fn tree_sum8(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// Nearest centre of every row of `values` (row-major, `packed.dim` columns) into `out`.
fn nearest_labels(values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { nearest_labels_avx2(values, packed, out) };
        return;
    }
    nearest_labels_blocked::<2>(values, packed, out);
}

/// AVX2 version of [`nearest_labels_blocked`] with explicit intrinsics: 4 rows × 16 centres
/// accumulate in 8 ymm registers. Multiply and add stay separate instructions (no FMA),
/// in the same order as the portable kernel, so both give bit-identical scores.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nearest_labels_avx2(values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
    use std::arch::x86_64::*;
    const R: usize = 4;
    let dim = packed.dim;
    let n = values.len() / dim;
    let mut best = [f32::INFINITY; TILE];
    let mut padded = vec![0.0f32; R * dim];
    let mut scores = [[0.0f32; LANES]; R];
    for tile_start in (0..n).step_by(TILE) {
        let tile_end = (tile_start + TILE).min(n);
        best.fill(f32::INFINITY);
        out[tile_start..tile_end].fill(0);
        for (b, (block, norms)) in packed.blocks.iter().zip(&packed.norms).enumerate() {
            debug_assert_eq!(block.len(), dim * LANES);
            let norm_lo = _mm256_loadu_ps(norms.as_ptr());
            let norm_hi = _mm256_loadu_ps(norms.as_ptr().add(8));
            let two = _mm256_set1_ps(2.0);
            let mut r0 = tile_start;
            while r0 < tile_end {
                let rows_here = R.min(tile_end - r0);
                let xs = row_group(values, &mut padded, r0, rows_here, R, dim);
                let x = xs.as_ptr();
                let c = block.as_ptr();
                let mut acc = [[_mm256_setzero_ps(); 2]; R];
                for j in 0..dim {
                    // SAFETY: j < dim, block holds dim × LANES values and xs holds R × dim.
                    let c_lo = _mm256_loadu_ps(c.add(j * LANES));
                    let c_hi = _mm256_loadu_ps(c.add(j * LANES + 8));
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let xv = _mm256_set1_ps(*x.add(r * dim + j));
                        acc_r[0] = _mm256_add_ps(acc_r[0], _mm256_mul_ps(xv, c_lo));
                        acc_r[1] = _mm256_add_ps(acc_r[1], _mm256_mul_ps(xv, c_hi));
                    }
                }
                for (r, acc_r) in acc.iter().enumerate() {
                    let lo = _mm256_sub_ps(norm_lo, _mm256_mul_ps(two, acc_r[0]));
                    let hi = _mm256_sub_ps(norm_hi, _mm256_mul_ps(two, acc_r[1]));
                    _mm256_storeu_ps(scores[r].as_mut_ptr(), lo);
                    _mm256_storeu_ps(scores[r].as_mut_ptr().add(8), hi);
                }
                for (r, score_r) in scores.iter().enumerate().take(rows_here) {
                    let slot = r0 - tile_start + r;
                    for (l, &score) in score_r.iter().enumerate() {
                        if score < best[slot] {
                            best[slot] = score;
                            out[r0 + r] = (b * LANES + l) as u32;
                        }
                    }
                }
                r0 += R;
            }
        }
    }
}

/// Rows `r0..r0 + rows` as `group` rows: a slice of `values`, or (at the end of the data) a
/// copy padded with zero rows in `padded`.
#[inline(always)]
fn row_group<'a>(
    values: &'a [f32],
    padded: &'a mut [f32],
    r0: usize,
    rows: usize,
    group: usize,
    dim: usize,
) -> &'a [f32] {
    if rows == group {
        return &values[r0 * dim..(r0 + group) * dim];
    }
    padded[..rows * dim].copy_from_slice(&values[r0 * dim..(r0 + rows) * dim]);
    padded[rows * dim..].fill(0.0);
    padded
}

/// The blocked kernel: for a tile of rows and each block of 16 centres, `R` rows at a time
/// accumulate `R × 16` dot products in registers; the score ‖c‖² − 2x·c ranks the centres
/// (‖x‖² is the same for all of them). Lowest centre index wins exact ties.
#[inline(always)]
fn nearest_labels_blocked<const R: usize>(values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
    let dim = packed.dim;
    let n = values.len() / dim;
    let mut best = [f32::INFINITY; TILE];
    let mut padded = vec![0.0f32; R * dim];
    for tile_start in (0..n).step_by(TILE) {
        let tile_end = (tile_start + TILE).min(n);
        best.fill(f32::INFINITY);
        out[tile_start..tile_end].fill(0);
        for (b, (block, norms)) in packed.blocks.iter().zip(&packed.norms).enumerate() {
            let mut r0 = tile_start;
            while r0 < tile_end {
                let rows_here = R.min(tile_end - r0);
                let xs = row_group(values, &mut padded, r0, rows_here, R, dim);
                let rows: [&[f32]; R] = std::array::from_fn(|r| &xs[r * dim..(r + 1) * dim]);
                let mut acc = [[0.0f32; LANES]; R];
                for (j, c) in block.chunks_exact(LANES).enumerate() {
                    let c: &[f32; LANES] = c.try_into().expect("block rows hold LANES values");
                    for r in 0..R {
                        let x = rows[r][j];
                        for l in 0..LANES {
                            acc[r][l] += x * c[l];
                        }
                    }
                }
                for (r, acc_r) in acc.iter().enumerate().take(rows_here) {
                    let slot = r0 - tile_start + r;
                    for l in 0..LANES {
                        let score = norms[l] - 2.0 * acc_r[l];
                        if score < best[slot] {
                            best[slot] = score;
                            out[r0 + r] = (b * LANES + l) as u32;
                        }
                    }
                }
                r0 += R;
            }
        }
    }
}

/// Labels and statistics of one chunk; `previous` is updated in place.
fn lloyd_chunk(chunk: &Chunk, centres: &Centres, packed: &PackedCentres, previous: &mut [u32]) -> LloydStats {
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
        stats.inertia += w * sq_dist(x, centres.centre(c)) as f64;
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

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, labels: &mut Labels) -> Result<LloydStats> {
        let packed = PackedCentres::new(centres);
        let mut total = LloydStats::zeros(centres.k, centres.dim);
        // Windows of chunks bound the statistics held at once (k × dim f64 each).
        for (chunks, previous) in data.chunks().chunks(STATS_WINDOW).zip(labels.per_chunk.chunks_mut(STATS_WINDOW)) {
            let parts: Vec<LloydStats> = chunks
                .par_iter()
                .zip(previous.par_iter_mut())
                .map(|(chunk, previous)| {
                    let stats = lloyd_chunk(chunk, centres, &packed, previous);
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

    fn farthest_rows(&self, data: &Dataset, centres: &Centres, labels: &Labels, m: usize) -> Result<Vec<(usize, u32)>> {
        let dim = data.dim();
        let mut candidates: Vec<(f32, usize, u32)> = data
            .chunks()
            .par_iter()
            .enumerate()
            .flat_map_iter(|(c, chunk)| {
                let offset = data.chunk_offset(c);
                let mut local: Vec<(f32, usize, u32)> = chunk
                    .values
                    .chunks_exact(dim)
                    .zip(&labels.per_chunk[c])
                    .enumerate()
                    .map(|(i, (x, &l))| (sq_dist(x, centres.centre(l as usize)), offset + i, l))
                    .collect();
                keep_farthest(&mut local, m);
                chunk.values.release();
                local.into_iter()
            })
            .collect();
        keep_farthest(&mut candidates, m);
        Ok(candidates.into_iter().map(|(_, row, label)| (row, label)).collect())
    }

    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], min_sq: &mut RowValues) -> Result<()> {
        let dim = data.dim();
        data.chunks().par_iter().zip(min_sq.par_iter_mut()).for_each(|(chunk, mins)| {
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
                    let stats = super::estep::block_stats(&chunk.values, chunk.weights.as_deref(), mix);
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

    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, min_sq: &RowValues) -> Result<Vec<f64>> {
        let dim = data.dim();
        let parts: Vec<Vec<f64>> = data
            .chunks()
            .par_iter()
            .zip(min_sq.par_iter())
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
        let (m, k) = (points.len() / dim, ranges.len());
        let mut label = vec![0u32; m];
        for (c, &(start, end)) in ranges.iter().enumerate() {
            label[start..end].fill(c as u32);
        }
        // The points transposed into blocks of LANES (`[block][feature][lane]`) so the
        // distance of one point to a whole block is computed lane-parallel.
        const LANES: usize = 8;
        let blocks = m.div_ceil(LANES);
        let mut packed = vec![0.0f32; blocks * dim * LANES];
        for (p, point) in points.chunks_exact(dim).enumerate() {
            let (b, lane) = (p / LANES, p % LANES);
            for (j, &v) in point.iter().enumerate() {
                packed[(b * dim + j) * LANES + lane] = v;
            }
        }
        let per_point: Vec<Vec<f64>> = (0..m)
            .into_par_iter()
            .map(|i| {
                let x = &points[i * dim..(i + 1) * dim];
                let mut sums = vec![0.0f64; k];
                for b in 0..blocks {
                    let block = &packed[b * dim * LANES..(b + 1) * dim * LANES];
                    let mut acc = [0.0f32; LANES];
                    for (j, lanes) in block.chunks_exact(LANES).enumerate() {
                        for l in 0..LANES {
                            let t = x[j] - lanes[l];
                            acc[l] += t * t;
                        }
                    }
                    for (l, &a) in acc.iter().enumerate() {
                        let p = b * LANES + l;
                        if p < m && p != i {
                            sums[label[p] as usize] += (a as f64).sqrt();
                        }
                    }
                }
                sums
            })
            .collect();
        Ok(per_point.concat())
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

/// Keeps the `m` entries `(squared distance, row, label)` with the largest distance (lowest
/// row on ties), sorted that way.
pub fn keep_farthest(entries: &mut Vec<(f32, usize, u32)>, m: usize) {
    let order = |a: &(f32, usize, u32), b: &(f32, usize, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if entries.len() > m && m > 0 {
        entries.select_nth_unstable_by(m - 1, order);
    }
    entries.truncate(m);
    entries.sort_unstable_by(order);
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
    use crate::rng::Rng;

    fn random_rows(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n * d).map(|_| rng.normal() as f32).collect()
    }

    fn naive_nearest(x: &[f32], centres: &Centres) -> (usize, f32) {
        (0..centres.k).map(|c| (c, sq_dist(x, centres.centre(c)))).fold((0, f32::INFINITY), |best, cur| {
            if cur.1 < best.1 {
                cur
            } else {
                best
            }
        })
    }

    #[test]
    fn blocked_kernel_matches_naive_argmin_for_awkward_shapes() {
        for &(n, d, k) in &[(1, 1, 1), (5, 3, 17), (130, 7, 33), (257, 1, 5), (64, 40, 16)] {
            let values = random_rows(n, d, 1);
            let centres = Centres::new(k, d, random_rows(k, d, 2));
            let packed = PackedCentres::new(&centres);
            let mut fast = vec![0u32; n];
            nearest_labels(&values, &packed, &mut fast);
            let mut portable = vec![0u32; n];
            nearest_labels_blocked::<2>(&values, &packed, &mut portable);
            assert_eq!(fast, portable, "AVX2 and portable paths disagree");
            for (i, x) in values.chunks_exact(d).enumerate() {
                let (want, best) = naive_nearest(x, &centres);
                let got = sq_dist(x, centres.centre(fast[i] as usize));
                assert!(
                    fast[i] as usize == want || (got - best).abs() <= 1e-4 * (1.0 + best),
                    "n={n} d={d} k={k} row {i}: got {} ({got}), want {want} ({best})",
                    fast[i]
                );
            }
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_centre_index() {
        let centres = Centres::new(3, 1, vec![1.0, -1.0, 1.0]);
        let packed = PackedCentres::new(&centres);
        let mut labels = vec![9u32; 1];
        nearest_labels(&[0.0], &packed, &mut labels);
        assert_eq!(labels, vec![0]);
    }

    #[test]
    fn lloyd_pass_counts_changes_and_sums_weights() {
        let data = Dataset::from_rows(&[0.0, 1.0, 10.0, 11.0], 1, Some(&[1.0, 3.0, 2.0, 2.0]), 3);
        let centres = Centres::new(2, 1, vec![0.0, 10.0]);
        let mut labels = Labels::unassigned(&data);
        let stats = CpuBackend.lloyd_pass(&data, &centres, &mut labels).unwrap();
        assert_eq!(stats.counts, vec![2, 2]);
        assert_eq!(stats.weights, vec![4.0, 4.0]);
        assert_eq!(stats.sums, vec![3.0, 42.0]);
        assert_eq!(stats.inertia, 3.0 + 2.0);
        assert_eq!(stats.changed, 4);
        let again = CpuBackend.lloyd_pass(&data, &centres, &mut labels).unwrap();
        assert_eq!(again.changed, 0);
    }

    #[test]
    fn farthest_rows_prefers_larger_distance_then_lower_row() {
        let data = Dataset::from_rows(&[0.0, 3.0, -3.0, 1.0], 1, None, 2);
        let centres = Centres::new(1, 1, vec![0.0]);
        let mut labels = Labels::unassigned(&data);
        CpuBackend.lloyd_pass(&data, &centres, &mut labels).unwrap();
        assert_eq!(CpuBackend.farthest_rows(&data, &centres, &labels, 2).unwrap(), vec![(1, 0), (2, 0)]);
    }
}
