//! The x86-64 microkernels of `nearest.rs`: a group of rows × a group of 16-centre blocks
//! of dot products held in registers, fed by broadcast row values and centre loads from L1,
//! with fused multiply-adds; then a vector argmin. AVX-512 keeps 6–8 rows × up to 64
//! centres in 32 zmm registers; AVX2 + FMA keeps 6 rows × 16 centres in 12 ymm registers.
//! Both give the bits of the portable kernel (see `nearest.rs`). With `SECOND`, each row's
//! second-lowest score is kept too (for the Lloyd pass's bounds); the labels stay the same.

use std::arch::x86_64::*;

use super::nearest::{row_group, PackedCentres, LANES, TILE};

/// AVX-512 kernel: for each tile of rows, the centre blocks in groups of up to 4; with
/// `SECOND`, each row's second-lowest score goes to `second`.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn nearest_labels_avx512<const SECOND: bool>(
    values: &[f32],
    packed: &PackedCentres,
    out: &mut [u32],
    second: &mut [f32],
) {
    let dim = packed.dim;
    let n = values.len() / dim;
    let mut best = Best { score: [f32::INFINITY; TILE], second: [f32::INFINITY; TILE] };
    let mut padded = vec![0.0f32; 8 * dim];
    for tile_start in (0..n).step_by(TILE) {
        let tile_end = (tile_start + TILE).min(n);
        best.score.fill(f32::INFINITY);
        best.second.fill(f32::INFINITY);
        out[tile_start..tile_end].fill(0);
        let mut b0 = 0;
        while b0 < packed.n_blocks {
            let blocks = (packed.n_blocks - b0).min(4);
            let run = Run { values, packed, b0, tile_start, tile_end };
            match blocks {
                4 => group_avx512::<6, 4, SECOND>(&run, &mut padded, &mut best, out),
                3 => group_avx512::<6, 3, SECOND>(&run, &mut padded, &mut best, out),
                2 => group_avx512::<8, 2, SECOND>(&run, &mut padded, &mut best, out),
                _ => group_avx512::<8, 1, SECOND>(&run, &mut padded, &mut best, out),
            }
            b0 += blocks;
        }
        if SECOND {
            second[tile_start..tile_end].copy_from_slice(&best.second[..tile_end - tile_start]);
        }
    }
}

/// Per row of a tile: the lowest score so far and (when asked) the second lowest.
struct Best {
    score: [f32; TILE],
    second: [f32; TILE],
}

/// One microkernel call's inputs: the rows `tile_start..tile_end` against the blocks from `b0`.
struct Run<'a> {
    values: &'a [f32],
    packed: &'a PackedCentres,
    b0: usize,
    tile_start: usize,
    tile_end: usize,
}

/// `R` rows × `B` blocks at a time over the tile; updates `best` (per tile slot) and `out`.
// Indexed loops over the register arrays keep the microkernel's shape plain to read.
#[allow(clippy::needless_range_loop)]
#[target_feature(enable = "avx512f")]
unsafe fn group_avx512<const R: usize, const B: usize, const SECOND: bool>(
    run: &Run,
    padded: &mut [f32],
    best: &mut Best,
    out: &mut [u32],
) {
    let packed = run.packed;
    let dim = packed.dim;
    let c = packed.blocks.as_ptr().add(run.b0 * dim * LANES);
    let mut norms = [_mm512_setzero_ps(); B];
    let mut index = [_mm512_setzero_si512(); B];
    let iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for b in 0..B {
        norms[b] = _mm512_loadu_ps(packed.norms.as_ptr().add((run.b0 + b) * LANES));
        index[b] = _mm512_add_epi32(iota, _mm512_set1_epi32(((run.b0 + b) * LANES) as i32));
    }
    let mut r0 = run.tile_start;
    while r0 < run.tile_end {
        let rows_here = R.min(run.tile_end - r0);
        let xs = row_group(run.values, padded, r0, rows_here, R, dim);
        let x = xs.as_ptr();
        let mut acc = [norms; R];
        for j in 0..dim {
            // SAFETY: j < dim; the group's B blocks hold dim × LANES values each, xs R × dim.
            let mut cj = [_mm512_setzero_ps(); B];
            for b in 0..B {
                cj[b] = _mm512_loadu_ps(c.add((b * dim + j) * LANES));
            }
            for r in 0..R {
                let xv = _mm512_set1_ps(*x.add(r * dim + j));
                for b in 0..B {
                    acc[r][b] = _mm512_fmadd_ps(xv, cj[b], acc[r][b]);
                }
            }
        }
        for (r, acc_r) in acc.iter().enumerate().take(rows_here) {
            let mut low = acc_r[0];
            let mut low_index = index[0];
            // Per lane, the second-lowest score of the group's blocks.
            let mut low2 = _mm512_set1_ps(f32::INFINITY);
            for b in 1..B {
                let score = acc_r[b];
                if SECOND {
                    low2 = _mm512_min_ps(low2, _mm512_max_ps(low, score));
                }
                let lower = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(score, low);
                low = _mm512_mask_blend_ps(lower, low, score);
                low_index = _mm512_mask_blend_epi32(lower, low_index, index[b]);
            }
            let slot = r0 - run.tile_start + r;
            let v = _mm512_reduce_min_ps(low);
            if SECOND {
                // The group's second lowest: every other lane's lowest, the winning lane's second.
                let at_min = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(low, _mm512_set1_ps(v));
                let winner: __mmask16 = 1 << at_min.trailing_zeros().min(15);
                let group_second = _mm512_reduce_min_ps(_mm512_mask_blend_ps(winner, low, low2));
                best.second[slot] =
                    if v < best.score[slot] { best.score[slot].min(group_second) } else { best.second[slot].min(v) };
            }
            if v < best.score[slot] {
                let at_min = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(low, _mm512_set1_ps(v));
                best.score[slot] = v;
                out[r0 + r] = _mm512_mask_reduce_min_epi32(at_min, low_index) as u32;
            }
        }
        r0 += R;
    }
}

/// AVX2 + FMA kernel: 6 rows × one block of 16 centres (two ymm registers) at a time; with
/// `SECOND`, each row's second-lowest score goes to `second`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn nearest_labels_avx2<const SECOND: bool>(
    values: &[f32],
    packed: &PackedCentres,
    out: &mut [u32],
    second: &mut [f32],
) {
    const R: usize = 6;
    let dim = packed.dim;
    let n = values.len() / dim;
    let mut best = [f32::INFINITY; TILE];
    let mut padded = vec![0.0f32; R * dim];
    let mut scores = [0.0f32; LANES];
    for tile_start in (0..n).step_by(TILE) {
        let tile_end = (tile_start + TILE).min(n);
        best.fill(f32::INFINITY);
        out[tile_start..tile_end].fill(0);
        if SECOND {
            second[tile_start..tile_end].fill(f32::INFINITY);
        }
        for b in 0..packed.n_blocks {
            let c = packed.blocks.as_ptr().add(b * dim * LANES);
            let norm_lo = _mm256_loadu_ps(packed.norms.as_ptr().add(b * LANES));
            let norm_hi = _mm256_loadu_ps(packed.norms.as_ptr().add(b * LANES + 8));
            let mut r0 = tile_start;
            while r0 < tile_end {
                let rows_here = R.min(tile_end - r0);
                let xs = row_group(values, &mut padded, r0, rows_here, R, dim);
                let x = xs.as_ptr();
                let mut acc = [[norm_lo, norm_hi]; R];
                for j in 0..dim {
                    // SAFETY: j < dim; the block holds dim × LANES values, xs R × dim.
                    let c_lo = _mm256_loadu_ps(c.add(j * LANES));
                    let c_hi = _mm256_loadu_ps(c.add(j * LANES + 8));
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let xv = _mm256_set1_ps(*x.add(r * dim + j));
                        acc_r[0] = _mm256_fmadd_ps(xv, c_lo, acc_r[0]);
                        acc_r[1] = _mm256_fmadd_ps(xv, c_hi, acc_r[1]);
                    }
                }
                for (r, acc_r) in acc.iter().enumerate().take(rows_here) {
                    _mm256_storeu_ps(scores.as_mut_ptr(), acc_r[0]);
                    _mm256_storeu_ps(scores.as_mut_ptr().add(8), acc_r[1]);
                    let slot = r0 - tile_start + r;
                    for (l, &score) in scores.iter().enumerate() {
                        if score < best[slot] {
                            if SECOND {
                                second[r0 + r] = best[slot];
                            }
                            best[slot] = score;
                            out[r0 + r] = (b * LANES + l) as u32;
                        } else if SECOND && score < second[r0 + r] {
                            second[r0 + r] = score;
                        }
                    }
                }
                r0 += R;
            }
        }
    }
}
