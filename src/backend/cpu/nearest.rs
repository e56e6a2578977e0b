//! The CPU's nearest-centre kernel: centres packed into register blocks, a cache tile of
//! rows at a time, with an AVX2 path chosen at run time and a portable path that give
//! bit-identical labels (no fused multiply-add, every sum in a fixed order).

use crate::backend::distance::sq_norm;
use crate::backend::Centres;

/// Centres per register block: the kernel computes 16 dot products per row at once.
const LANES: usize = 16;
/// Rows per cache tile: a block of centres is reused for this many rows while in L1.
const TILE: usize = 128;
/// Centres transposed into blocks of [`LANES`] (`[dim][LANES]` each) with their squared
/// norms; padding lanes have norm +∞ so they are never chosen.
pub(super) struct PackedCentres {
    dim: usize,
    blocks: Vec<Vec<f32>>,
    norms: Vec<[f32; LANES]>,
}

impl PackedCentres {
    pub(super) fn new(centres: &Centres) -> Self {
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

/// Nearest centre of every row of `values` (row-major, `packed.dim` columns) into `out`.
pub(super) fn nearest_labels(values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::distance::sq_dist;
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
}
