//! The x86-64 body of the k-means++ pass in `seeding.rs`, written with intrinsics: [`ROWS`]
//! rows × one 8-lane block of candidates in registers, each lane accumulating
//! `fma(t, t, ·)` over the features in order with t = c_j − x_j.
//!
//! t is the negation of the portable body's x_j − c_j (subtraction rounds symmetrically) and
//! fma(−t, −t, a) = fma(t, t, a), so every kernel gives the same bits. Subtracting the row
//! value from the centres lets AVX-512VL fold the broadcast of x_j into the subtraction
//! (`vsubps ymm, ymm, m32{1to8}`): one operation fewer per row and feature than the AVX2
//! form, 1.5× the rate of the compiler's own vectorisation of the portable body (which
//! spilled its row pointers and checked bounds per feature).

use std::arch::x86_64::*;

use super::seeding::{PackedCandidates, SeedRows, LANES};

/// Rows scored together: 8 independent chains of fused multiply-adds keep both FMA pipes busy.
const ROWS: usize = 8;

/// AVX-512VL form of [`potentials`].
///
/// # Safety
/// The CPU must support AVX-512F, AVX-512VL and FMA.
#[target_feature(enable = "avx2,fma,avx512f,avx512vl")]
pub(super) unsafe fn potentials_avx512vl(
    rows: SeedRows,
    packed: &PackedCandidates,
    kept: Option<&mut [f32]>,
) -> Vec<f64> {
    potentials(rows, packed, kept)
}

/// AVX2 + FMA form of [`potentials`].
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn potentials_avx2(rows: SeedRows, packed: &PackedCandidates, kept: Option<&mut [f32]>) -> Vec<f64> {
    potentials(rows, packed, kept)
}

/// For each candidate, Σ w·min(min_sq, d²) over the rows in row order (f64), and with `kept`
/// each row's min(min_sq, d²) per candidate: what `seeding::potentials_body` computes.
#[inline(always)]
unsafe fn potentials(rows: SeedRows, packed: &PackedCandidates, mut kept: Option<&mut [f32]>) -> Vec<f64> {
    let n = rows.min_sq.len();
    assert_eq!(rows.values.len(), n * packed.dim, "rows of {} features", packed.dim);
    assert!(rows.weights.is_none_or(|w| w.len() == n), "one weight per row");
    assert!(kept.as_deref().is_none_or(|k| k.len() == n * packed.count), "kept: rows × candidates");
    let mut sums = vec![0.0f64; packed.n_blocks * LANES];
    let whole = n - n % ROWS;
    for first in (0..whole).step_by(ROWS) {
        for b in 0..packed.n_blocks {
            let acc = distances::<ROWS>(&rows, packed, first, b);
            fold(&rows, packed, first, b, &acc, &mut sums, kept.as_deref_mut());
        }
    }
    for first in whole..n {
        for b in 0..packed.n_blocks {
            let acc = distances::<1>(&rows, packed, first, b);
            fold(&rows, packed, first, b, &acc, &mut sums, kept.as_deref_mut());
        }
    }
    sums.truncate(packed.count);
    sums
}

/// The squared distances of rows `first..first + R` to the candidates of block `b`.
///
/// # Safety
/// Rows `first..first + R` exist (checked by the caller's assertions and loop bounds).
#[inline(always)]
unsafe fn distances<const R: usize>(rows: &SeedRows, packed: &PackedCandidates, first: usize, b: usize) -> [__m256; R] {
    let dim = packed.dim;
    let block = packed.block(b).as_ptr();
    let x = rows.values.as_ptr().add(first * dim);
    let mut acc = [_mm256_setzero_ps(); R];
    for j in 0..dim {
        let c = _mm256_loadu_ps(block.add(j * LANES));
        for (r, acc) in acc.iter_mut().enumerate() {
            let t = _mm256_sub_ps(c, _mm256_set1_ps(*x.add(r * dim + j)));
            *acc = _mm256_fmadd_ps(t, t, *acc);
        }
    }
    acc
}

/// Folds rows `first..first + R`'s distances to block `b` into the potentials, row by row
/// (w·min in f64, multiply then add, as the portable body), and stores the kept minima.
#[inline(always)]
unsafe fn fold<const R: usize>(
    rows: &SeedRows,
    packed: &PackedCandidates,
    first: usize,
    b: usize,
    acc: &[__m256; R],
    sums: &mut [f64],
    mut kept: Option<&mut [f32]>,
) {
    let (count, lane0) = (packed.count, b * LANES);
    let lanes = LANES.min(count - lane0);
    let mut low = _mm256_loadu_pd(sums.as_ptr().add(lane0));
    let mut high = _mm256_loadu_pd(sums.as_ptr().add(lane0 + 4));
    for (r, &acc) in acc.iter().enumerate() {
        let i = first + r;
        let mins = _mm256_min_ps(_mm256_set1_ps(rows.min_sq[i]), acc);
        let (mut lo, mut hi) =
            (_mm256_cvtps_pd(_mm256_castps256_ps128(mins)), _mm256_cvtps_pd(_mm256_extractf128_ps(mins, 1)));
        if let Some(w) = rows.weights {
            let w = _mm256_set1_pd(w[i] as f64);
            (lo, hi) = (_mm256_mul_pd(w, lo), _mm256_mul_pd(w, hi));
        }
        low = _mm256_add_pd(low, lo);
        high = _mm256_add_pd(high, hi);
        if let Some(kept) = kept.as_deref_mut() {
            let mut row = [0.0f32; LANES];
            _mm256_storeu_ps(row.as_mut_ptr(), mins);
            kept[i * count + lane0..i * count + lane0 + lanes].copy_from_slice(&row[..lanes]);
        }
    }
    _mm256_storeu_pd(sums.as_mut_ptr().add(lane0), low);
    _mm256_storeu_pd(sums.as_mut_ptr().add(lane0 + 4), high);
}
