//! The CPU's k-means++ passes: every row's exact squared distance to a handful of
//! candidates at once, candidates packed in blocks of 8 lanes (`[block][dim][lane]`, one AVX2
//! register; k-means++ draws 2 + ⌊ln k⌋ ≤ 8 candidates up to k ≈ 400), and the potentials
//! Σ w·min(min_sq, d²) summed in f64.
//!
//! A distance accumulates `fma(t, t, ·)` with t = x_j − c_j for each feature j in order, the
//! same bits whichever candidate lane it sits in, so the distance that chose a candidate and
//! the one folded into the minimum distances afterwards are equal. One row's distances are a
//! chain of `dim` dependent fused multiply-adds, so [`ROWS`] rows are scored together: their
//! chains are independent and fill the pipeline (one row at a time, the pass waited on the
//! FMA latency: ≈ 4 cycles × `dim` a row). The potentials still add the rows in row order.
//! On x86-64 the body is written with intrinsics (`seeding_x86.rs`, AVX-512VL or AVX2 +
//! FMA, chosen at run time, as the Lloyd pass is); elsewhere it is the portable body below,
//! with the same bits.

use super::nearest::Kernel;
use crate::backend::Centres;

/// Candidates per block: one AVX2 register (half an AVX-512 one; on AMD's Zen 4 both run at
/// the same rate) of distances per row.
pub(super) const LANES: usize = 8;
/// Rows scored together, each with its own chain of fused multiply-adds per block.
const ROWS: usize = 8;

/// Candidates transposed into blocks of [`LANES`]; padding lanes are zero (their distances
/// are computed and ignored).
pub(super) struct PackedCandidates {
    pub(super) dim: usize,
    /// Real candidates.
    pub(super) count: usize,
    pub(super) n_blocks: usize,
    lanes: Vec<f32>,
}

impl PackedCandidates {
    pub(super) fn new(candidates: &Centres) -> Self {
        let (count, dim) = (candidates.k, candidates.dim);
        let n_blocks = count.div_ceil(LANES);
        let mut lanes = vec![0.0f32; n_blocks * dim * LANES];
        for c in 0..count {
            let (b, lane) = (c / LANES, c % LANES);
            for (j, &v) in candidates.centre(c).iter().enumerate() {
                lanes[(b * dim + j) * LANES + lane] = v;
            }
        }
        PackedCandidates { dim, count, n_blocks, lanes }
    }

    /// Block `b`: `dim × LANES` values.
    pub(super) fn block(&self, b: usize) -> &[f32] {
        &self.lanes[b * self.dim * LANES..(b + 1) * self.dim * LANES]
    }
}

/// One chunk's rows for a seeding pass.
pub(super) struct SeedRows<'a> {
    pub values: &'a [f32],
    /// Per-row weights, or `None` when every row weighs 1.
    pub weights: Option<&'a [f32]>,
    /// Squared distance of each row to its nearest chosen centre so far.
    pub min_sq: &'a [f32],
}

/// For each candidate, Σ w·min(min_sq, ‖x − candidate‖²) over the rows (f64, row order).
/// With `kept` (`rows × count`), also stores each row's min(min_sq, d²) per candidate, so
/// the winner's distances need no second pass over the data.
pub(super) fn potentials(
    kernel: Kernel,
    rows: SeedRows,
    packed: &PackedCandidates,
    kept: Option<&mut [f32]>,
) -> Vec<f64> {
    match kernel {
        // SAFETY: `Kernel::detect` chose these only where the CPU has the features (AVX-512F
        // CPUs have AVX2 and FMA; AVX-512VL is checked here).
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if std::arch::is_x86_feature_detected!("avx512vl") => unsafe {
            super::seeding_x86::potentials_avx512vl(rows, packed, kept)
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 | Kernel::Avx2Fma => unsafe { super::seeding_x86::potentials_avx2(rows, packed, kept) },
        _ => potentials_body(rows, packed, kept),
    }
}

/// `min_sq[i] = min(min_sq[i], ‖x_i − centre‖²)` for every row of `values`, with the
/// distances of [`potentials`] (bit for bit).
pub(super) fn fold_min_sq(kernel: Kernel, values: &[f32], centre: &[f32], min_sq: &mut [f32]) {
    let packed = PackedCandidates::new(&Centres::new(1, centre.len(), centre.to_vec()));
    let rows = SeedRows { values, weights: None, min_sq };
    let mut kept = vec![0.0f32; min_sq.len()];
    potentials(kernel, rows, &packed, Some(&mut kept));
    min_sq.copy_from_slice(&kept);
}

#[inline(always)]
fn potentials_body(rows: SeedRows, packed: &PackedCandidates, mut kept: Option<&mut [f32]>) -> Vec<f64> {
    let dim = packed.dim;
    let mut sums = vec![0.0f64; packed.n_blocks * LANES];
    let n = rows.min_sq.len();
    let whole = n - n % ROWS;
    for first in (0..whole).step_by(ROWS) {
        let x = &rows.values[first * dim..(first + ROWS) * dim];
        for b in 0..packed.n_blocks {
            let acc = distances::<ROWS>(x, packed.block(b));
            fold(&rows, packed, first, b, &acc, &mut sums, kept.as_deref_mut());
        }
    }
    for first in whole..n {
        let x = &rows.values[first * dim..(first + 1) * dim];
        for b in 0..packed.n_blocks {
            let acc = distances::<1>(x, packed.block(b));
            fold(&rows, packed, first, b, &acc, &mut sums, kept.as_deref_mut());
        }
    }
    sums.truncate(packed.count);
    sums
}

/// `‖x_r − c_l‖²` for `R` rows `x` (row-major) and one block of candidates: per row and
/// lane, `fma(t, t, ·)` with t = x_j − c_j in feature order.
#[inline(always)]
fn distances<const R: usize>(x: &[f32], block: &[f32]) -> [[f32; LANES]; R] {
    let dim = x.len() / R;
    let x: [&[f32]; R] = std::array::from_fn(|r| &x[r * dim..(r + 1) * dim]);
    let mut acc = [[0.0f32; LANES]; R];
    for (j, c) in block[..dim * LANES].chunks_exact(LANES).enumerate() {
        for r in 0..R {
            let xj = x[r][j];
            for l in 0..LANES {
                let t = xj - c[l];
                acc[r][l] = t.mul_add(t, acc[r][l]);
            }
        }
    }
    acc
}

/// Folds the distances of rows `first..first + R` to block `b` into the potentials (in row
/// order) and, with `kept`, stores each row's min(min_sq, d²) per real candidate.
#[inline(always)]
fn fold<const R: usize>(
    rows: &SeedRows,
    packed: &PackedCandidates,
    first: usize,
    b: usize,
    acc: &[[f32; LANES]; R],
    sums: &mut [f64],
    mut kept: Option<&mut [f32]>,
) {
    let (count, lane0) = (packed.count, b * LANES);
    let lanes = LANES.min(count - lane0);
    let mut block_sums: [f64; LANES] = sums[lane0..lane0 + LANES].try_into().expect("a block of lanes");
    for (r, acc) in acc.iter().enumerate() {
        let i = first + r;
        let (m, w) = (rows.min_sq[i], rows.weights.map_or(1.0, |w| w[i] as f64));
        let mut mins = [0.0f32; LANES];
        for l in 0..LANES {
            mins[l] = m.min(acc[l]);
            block_sums[l] += w * mins[l] as f64;
        }
        if let Some(kept) = kept.as_deref_mut() {
            let row = &mut kept[i * count + lane0..i * count + lane0 + lanes];
            for (k, &v) in row.iter_mut().zip(&mins) {
                *k = v;
            }
        }
    }
    sums[lane0..lane0 + LANES].copy_from_slice(&block_sums);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::distance::sq_dist;
    use crate::rng::Rng;

    #[test]
    fn potentials_match_exact_distances_and_every_kernel_agrees() {
        let (n, d, count) = (37, 7, 19);
        let mut rng = Rng::new(3);
        let values: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
        let cand: Vec<f32> = (0..count * d).map(|_| rng.normal() as f32).collect();
        let weights: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
        let min_sq: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let candidates = Centres::new(count, d, cand);
        let packed = PackedCandidates::new(&candidates);
        let rows = || SeedRows { values: &values, weights: Some(&weights), min_sq: &min_sq };
        let mut kept = vec![0.0f32; n * count];
        let portable = potentials(Kernel::Portable, rows(), &packed, Some(&mut kept));
        for (c, &p) in portable.iter().enumerate() {
            let want: f64 = (0..n)
                .map(|i| {
                    weights[i] as f64 * min_sq[i].min(sq_dist(&values[i * d..(i + 1) * d], candidates.centre(c))) as f64
                })
                .sum();
            assert!((p - want).abs() <= 1e-5 * want, "candidate {c}: {p} vs {want}");
        }
        // Bit for bit: one fused multiply-add chain per row and candidate, rows added in order.
        for (c, &p) in portable.iter().enumerate() {
            let centre = candidates.centre(c);
            let mut sum = 0.0f64;
            for i in 0..n {
                let x = &values[i * d..(i + 1) * d];
                let d2 = x.iter().zip(centre).fold(0.0f32, |acc, (&xj, &cj)| (xj - cj).mul_add(xj - cj, acc));
                sum += weights[i] as f64 * min_sq[i].min(d2) as f64;
                assert_eq!(kept[i * count + c], min_sq[i].min(d2), "row {i}, candidate {c}");
            }
            assert_eq!(p, sum, "candidate {c}");
        }
        for kernel in Kernel::supported() {
            let mut fast_kept = vec![0.0f32; n * count];
            let fast = potentials(kernel, rows(), &packed, Some(&mut fast_kept));
            assert_eq!(fast, portable, "{kernel:?} and the portable kernel disagree");
            assert_eq!(fast_kept, kept, "{kernel:?} kept other distances");
            assert_eq!(potentials(kernel, rows(), &packed, None), portable, "{kernel:?} without kept");
        }
        // The kept minimum of candidate 5 is what folding candidate 5 in gives.
        let mut folded = min_sq.clone();
        fold_min_sq(Kernel::detect(), &values, candidates.centre(5), &mut folded);
        let column: Vec<f32> = (0..n).map(|i| kept[i * count + 5]).collect();
        assert_eq!(folded, column);
    }
}
