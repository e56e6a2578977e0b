//! The CPU's nearest-centre kernel: centres packed into blocks of 16 lanes, a cache tile of
//! rows at a time, a register-blocked microkernel (rows × centres of dot products in
//! registers) with AVX-512 or AVX2 + FMA chosen at run time (`nearest_x86.rs`), and a
//! portable path.
//!
//! Every path computes the same bits: the score of centre c for row x starts at ‖c‖² and
//! takes `fma(x_j, −2c_j, score)` for each feature j in order (−2c is exact, so this is
//! ‖c‖² − 2x·c), and the lowest score wins, lowest centre index on exact ties. ‖x‖² is the same for every centre and left out; the caller
//! recomputes the winner's exact distance.

use crate::backend::distance::sq_norm;
use crate::backend::Centres;

/// Centres per block: one AVX-512 register (two AVX2 registers) of scores per row.
pub(super) const LANES: usize = 16;
/// Rows per cache tile: a group of centre blocks is reused for this many rows while in L1.
pub(super) const TILE: usize = 128;

/// Centres as −2c transposed into blocks of [`LANES`] (`[block][dim][LANES]`) with their
/// squared norms; padding lanes have norm +∞ so they are never chosen.
pub(super) struct PackedCentres {
    pub(super) dim: usize,
    pub(super) n_blocks: usize,
    /// −2c, `n_blocks × dim × LANES`.
    pub(super) blocks: Vec<f32>,
    /// ‖c‖², `n_blocks × LANES`.
    pub(super) norms: Vec<f32>,
}

impl PackedCentres {
    pub(super) fn new(centres: &Centres) -> Self {
        let (k, dim) = (centres.k, centres.dim);
        let n_blocks = k.div_ceil(LANES);
        let mut blocks = vec![0.0f32; n_blocks * dim * LANES];
        let mut norms = vec![f32::INFINITY; n_blocks * LANES];
        for (c, norm) in norms.iter_mut().enumerate().take(k) {
            let (b, lane) = (c / LANES, c % LANES);
            let centre = centres.centre(c);
            for (j, &v) in centre.iter().enumerate() {
                blocks[(b * dim + j) * LANES + lane] = -2.0 * v;
            }
            *norm = sq_norm(centre);
        }
        PackedCentres { dim, n_blocks, blocks, norms }
    }
}

/// Which kernel this CPU runs, chosen once per call from its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    Avx512,
    Avx2Fma,
    Portable,
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub(super) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                return Kernel::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Kernel::Avx2Fma;
            }
        }
        Kernel::Portable
    }

    /// Every kernel this CPU can run, the portable one first (tests compare them).
    #[cfg(test)]
    pub(super) fn supported() -> Vec<Kernel> {
        let mut kernels = vec![Kernel::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma") {
                kernels.push(Kernel::Avx512);
            }
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                kernels.push(Kernel::Avx2Fma);
            }
        }
        kernels
    }

    /// For logs: what the kernel uses.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512f",
            Kernel::Avx2Fma => "avx2+fma",
            Kernel::Portable => "portable",
        }
    }
}

/// Nearest centre of every row of `values` (row-major, `packed.dim` columns) into `out`.
pub(super) fn nearest_labels(values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
    nearest_labels_with(Kernel::detect(), values, packed, out);
}

/// [`nearest_labels`] with the given kernel (one the CPU supports: tests compare them).
pub(super) fn nearest_labels_with(kernel: Kernel, values: &[f32], packed: &PackedCentres, out: &mut [u32]) {
    run_kernel::<false>(kernel, values, packed, out, &mut []);
}

/// [`nearest_labels_with`] that also writes each row's second-lowest score (+∞ with one
/// centre) to `second`: the same labels, bit for bit, and the same scores.
pub(super) fn nearest_two_with(
    kernel: Kernel,
    values: &[f32],
    packed: &PackedCentres,
    out: &mut [u32],
    second: &mut [f32],
) {
    run_kernel::<true>(kernel, values, packed, out, second);
}

fn run_kernel<const SECOND: bool>(
    kernel: Kernel,
    values: &[f32],
    packed: &PackedCentres,
    out: &mut [u32],
    second: &mut [f32],
) {
    match kernel {
        // SAFETY: `Kernel::detect` chose these only where the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { super::nearest_x86::nearest_labels_avx512::<SECOND>(values, packed, out, second) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { super::nearest_x86::nearest_labels_avx2::<SECOND>(values, packed, out, second) },
        _ => nearest_labels_portable::<SECOND>(values, packed, out, second),
    }
}

/// Rows `r0..r0 + rows` as `group` rows: a slice of `values`, or (at the end of the data) a
/// copy padded with zero rows in `padded`.
#[inline(always)]
pub(super) fn row_group<'a>(
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
    padded[rows * dim..group * dim].fill(0.0);
    &padded[..group * dim]
}

/// The portable kernel: one row and one block of 16 centres at a time, the same fused
/// multiply-adds in the same order as the SIMD kernels (slow on x86 CPUs without FMA,
/// which emulate it, but the same bits everywhere).
fn nearest_labels_portable<const SECOND: bool>(
    values: &[f32],
    packed: &PackedCentres,
    out: &mut [u32],
    second: &mut [f32],
) {
    let dim = packed.dim;
    for (i, (x, label)) in values.chunks_exact(dim).zip(out.iter_mut()).enumerate() {
        let mut best = f32::INFINITY;
        let mut next = f32::INFINITY;
        *label = 0;
        for b in 0..packed.n_blocks {
            let block = &packed.blocks[b * dim * LANES..(b + 1) * dim * LANES];
            let mut acc: [f32; LANES] = packed.norms[b * LANES..(b + 1) * LANES].try_into().expect("LANES norms");
            for (&xj, c) in x.iter().zip(block.chunks_exact(LANES)) {
                for l in 0..LANES {
                    acc[l] = xj.mul_add(c[l], acc[l]);
                }
            }
            for (l, &score) in acc.iter().enumerate() {
                if score < best {
                    next = best;
                    best = score;
                    *label = (b * LANES + l) as u32;
                } else if score < next {
                    next = score;
                }
            }
        }
        if SECOND {
            second[i] = next;
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
    fn every_kernel_gives_the_same_labels_and_the_naive_argmin_for_awkward_shapes() {
        let shapes = [(1, 1, 1), (5, 3, 17), (130, 7, 33), (257, 1, 5), (64, 40, 16), (300, 32, 64), (129, 16, 80)];
        for &(n, d, k) in &shapes {
            let values = random_rows(n, d, 1);
            let centres = Centres::new(k, d, random_rows(k, d, 2));
            let packed = PackedCentres::new(&centres);
            let mut portable = vec![0u32; n];
            nearest_labels_with(Kernel::Portable, &values, &packed, &mut portable);
            for kernel in Kernel::supported() {
                let mut fast = vec![7u32; n];
                nearest_labels_with(kernel, &values, &packed, &mut fast);
                assert_eq!(fast, portable, "{kernel:?} and the portable kernel disagree (n={n} d={d} k={k})");
            }
            for (i, x) in values.chunks_exact(d).enumerate() {
                let (want, best) = naive_nearest(x, &centres);
                let got = sq_dist(x, centres.centre(portable[i] as usize));
                assert!(
                    portable[i] as usize == want || (got - best).abs() <= 1e-4 * (1.0 + best),
                    "n={n} d={d} k={k} row {i}: got {} ({got}), want {want} ({best})",
                    portable[i]
                );
            }
        }
    }

    #[test]
    fn the_second_score_variant_keeps_the_labels_and_finds_the_second_lowest_score() {
        for &(n, d, k) in &[(5, 3, 1), (130, 7, 33), (300, 32, 64), (129, 16, 80), (40, 2, 16)] {
            let mut values = random_rows(n, d, 3);
            // Duplicated rows and a row on a centre: ties and a zero distance.
            values.copy_within(0..d, d);
            let centres = Centres::new(k, d, random_rows(k, d, 4));
            values[2 * d..3 * d].copy_from_slice(centres.centre(0));
            let packed = PackedCentres::new(&centres);
            let mut plain = vec![0u32; n];
            nearest_labels_with(Kernel::Portable, &values, &packed, &mut plain);
            for kernel in Kernel::supported() {
                let (mut labels, mut second) = (vec![7u32; n], vec![0.0f32; n]);
                nearest_two_with(kernel, &values, &packed, &mut labels, &mut second);
                assert_eq!(labels, plain, "{kernel:?} n={n} d={d} k={k}");
                for (i, x) in values.chunks_exact(d).enumerate() {
                    // The portable kernel's scores, one centre at a time (same fma order).
                    let score = |c: usize| {
                        let norm = sq_norm(centres.centre(c));
                        x.iter().zip(centres.centre(c)).fold(norm, |acc, (&xj, &cj)| xj.mul_add(-2.0 * cj, acc))
                    };
                    let want = (0..k).filter(|&c| c != labels[i] as usize).map(score).fold(f32::INFINITY, f32::min);
                    assert_eq!(second[i].to_bits(), want.to_bits(), "{kernel:?} n={n} d={d} k={k} row {i}");
                }
            }
        }
    }

    #[test]
    fn exact_ties_go_to_the_lowest_centre_index() {
        // Centres 0, 1 and 2 tie for row 0; 17, 33 (same lane) and 40 (another lane) for
        // row 1: every kernel must pick the lowest index.
        let mut values = vec![0.0f32; 41];
        for (c, v) in values.iter_mut().enumerate() {
            *v = 5.0 + c as f32;
        }
        values[0] = 1.0;
        values[1] = -1.0;
        values[2] = 1.0;
        values[17] = -3.0;
        values[33] = -3.0;
        values[40] = -3.0;
        let centres = Centres::new(41, 1, values);
        let packed = PackedCentres::new(&centres);
        for kernel in Kernel::supported() {
            let mut labels = vec![9u32; 2];
            nearest_labels_with(kernel, &[0.0, -3.0], &packed, &mut labels);
            assert_eq!(labels, vec![0, 17], "{kernel:?}");
        }
    }
}
