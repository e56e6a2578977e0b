//! The CPU E-step on blocks of rows, shaped as matrix products (ndarray's GEMM, which is
//! matrixmultiply with AVX/FMA kernels picked at run time), as scikit-learn does with BLAS:
//!
//! - diagonal: ln N(x | c) needs Σ_j (x_j − μ_cj)²·p_cj = x²·p_c − 2 x·(μ∘p)_c + μ_c²·p_c,
//!   so a block's log densities are one product `[X | X²]·[Q; P]` (B × k, Q = −2 μ∘p,
//!   P = p) plus a constant per component;
//! - full: y = (x − μ_c)·U_c with U_c the precision's upper Cholesky factor, so a block's
//!   `Y = X U_c − μ_c U_c` is one product per component;
//! - the statistics are products too: [Σr·x | Σr·x²] = Rᵀ [X | X²] (diagonal) or, per
//!   component, Σr·x·xᵀ = (X ∘ r_c)ᵀ X (full; upper triangle kept, as the M-step reads it).
//!
//! Everything is f64, every block in row order, so a chunk's statistics do not depend on
//! the thread count.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2};

use crate::backend::mixture::{MixturePass, MixtureStats};

/// ln of the smallest normal f64 (e^−708 ≈ 3·10⁻³⁰⁸).
const SUBNORMAL_EXPONENT: f64 = -708.0;

/// Rows per block: the B × k log densities and the B × d rows stay in L2.
const BLOCK: usize = 256;

/// Per-pass constants in product form.
struct Factors {
    /// Diagonal: [Q; P] (2d × k) with Q_jc = −2 μ_cj p_cj and P_jc = p_cj = 1/σ²_cj, so
    /// that [X | X²] [Q; P] is the quadratic part of a block in one product.
    qp: Array2<f64>,
    /// ln π_c + ln det U_c − (d/2) ln 2π − ½ μ_c²·p_c (diagonal) per component.
    offset: Vec<f64>,
    /// Full: U_c (d × d) and μ_c U_c per component.
    u: Vec<Array2<f64>>,
    mu_u: Vec<Vec<f64>>,
}

impl Factors {
    fn new(mix: &MixturePass) -> Self {
        let (k, d) = (mix.k, mix.dim);
        if mix.full {
            let u: Vec<Array2<f64>> = (0..k)
                .map(|c| Array2::from_shape_vec((d, d), mix.prec_chol[c * d * d..(c + 1) * d * d].to_vec()).unwrap())
                .collect();
            let mu_u = (0..k)
                .map(|c| {
                    let mean = &mix.means[c * d..(c + 1) * d];
                    (0..d).map(|j| (0..=j).map(|i| mean[i] * u[c][[i, j]]).sum()).collect()
                })
                .collect();
            return Factors { qp: Array2::zeros((0, 0)), offset: mix.log_norm.clone(), u, mu_u };
        }
        let mut qp = Array2::zeros((2 * d, k));
        let mut offset = mix.log_norm.clone();
        for c in 0..k {
            for j in 0..d {
                let prec = mix.prec_chol[c * d + j].powi(2);
                let mean = mix.means[c * d + j];
                qp[[j, c]] = -2.0 * mean * prec;
                qp[[d + j, c]] = prec;
                offset[c] -= 0.5 * mean * mean * prec;
            }
        }
        Factors { qp, offset, u: Vec::new(), mu_u: Vec::new() }
    }
}

/// e^x for x ≤ 0, as a loop the compiler vectorises (libm's exp is a call per value):
/// x = n ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 split in two for the reduction), e^r by its
/// Taylor series to r¹² (truncation < 2·10⁻¹⁶ relative), 2ⁿ put in the exponent bits.
/// Below −708 (where e^x would be subnormal) it gives 0.
#[inline(always)]
fn exp_nonpositive(values: &mut [f64]) {
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding and subtracting 1.5·2⁵² rounds to the nearest integer without a libm call.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    for v in values.iter_mut() {
        let x = v.max(SUBNORMAL_EXPONENT);
        let n = (x * std::f64::consts::LOG2_E + ROUND) - ROUND;
        let r = (x - n * LN2_HI) - n * LN2_LO;
        let mut p = 1.0 / 479_001_600.0; // 1/12!
        for divisor in [39_916_800.0, 3_628_800.0, 362_880.0, 40_320.0, 5_040.0, 720.0, 120.0, 24.0, 6.0, 2.0, 1.0, 1.0]
        {
            p = p * r + 1.0 / divisor;
        }
        let scale = f64::from_bits(((n as i64 + 1023) as u64) << 52);
        *v = if *v < SUBNORMAL_EXPONENT { 0.0 } else { p * scale };
    }
}

/// E-step statistics of `rows` (row-major, `mix.dim` columns) with optional weights. The
/// element-wise loops are compiled for AVX2 and FMA too, and that build is used when the
/// CPU has them.
pub fn block_stats(rows: &[f32], weights: Option<&[f32]>, mix: &MixturePass) -> MixtureStats {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports AVX2 and FMA, checked just above.
        return unsafe { block_stats_avx2(rows, weights, mix) };
    }
    block_stats_portable(rows, weights, mix)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn block_stats_avx2(rows: &[f32], weights: Option<&[f32]>, mix: &MixturePass) -> MixtureStats {
    block_stats_portable(rows, weights, mix)
}

#[inline(always)]
fn block_stats_portable(rows: &[f32], weights: Option<&[f32]>, mix: &MixturePass) -> MixtureStats {
    let (k, d) = (mix.k, mix.dim);
    let factors = Factors::new(mix);
    let mut stats = MixtureStats::zeros(k, d, mix.full);
    let n = rows.len() / d;
    // [X | X²] for the block: X alone is its first d columns.
    let mut z = Array2::<f64>::zeros((BLOCK, 2 * d));
    let mut logp = Array2::<f64>::zeros((BLOCK, k));
    let mut y = Array2::<f64>::zeros((BLOCK, d));
    // Rᵀ [X | X²]: Σr·x then Σr·x² (the latter unused when full).
    let mut sums = Array2::<f64>::zeros((k, 2 * d));
    let mut outer = Array2::<f64>::zeros((d, d));
    let mut scaled = Array2::<f64>::zeros((BLOCK, d));
    for start in (0..n).step_by(BLOCK) {
        let b = BLOCK.min(n - start);
        for (mut dst, src) in z.outer_iter_mut().zip(rows[start * d..(start + b) * d].chunks_exact(d)) {
            for (j, &v) in src.iter().enumerate() {
                let v = v as f64;
                dst[j] = v;
                dst[d + j] = v * v;
            }
        }
        let zb = z.slice(s![..b, ..]);
        let xb = z.slice(s![..b, ..d]);
        let mut lb = logp.slice_mut(s![..b, ..]);
        // −2 × the log density's quadratic part, without the constant.
        if mix.full {
            for c in 0..k {
                let mut yb = y.slice_mut(s![..b, ..]);
                general_mat_mul(1.0, &xb, &factors.u[c], 0.0, &mut yb);
                for (r, row) in yb.outer_iter().enumerate() {
                    lb[[r, c]] = row.iter().zip(&factors.mu_u[c]).map(|(v, m)| (v - m) * (v - m)).sum();
                }
            }
        } else {
            general_mat_mul(1.0, &zb, &factors.qp, 0.0, &mut lb);
        }
        // Responsibilities (times the row weight), in place of the log densities.
        let flat = logp.as_slice_mut().expect("standard layout");
        for (r, row) in flat[..b * k].chunks_exact_mut(k).enumerate() {
            let w = weights.map_or(1.0, |w| w[start + r] as f64);
            for (l, &o) in row.iter_mut().zip(&factors.offset) {
                *l = o - 0.5 * *l;
            }
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            row.iter_mut().for_each(|l| *l -= max);
            // Below e^−708 exp is subnormal, and subnormals make every product that touches
            // them ~100× slower; such a responsibility is 0 to f64 anyway.
            exp_nonpositive(row);
            let total: f64 = row.iter().sum();
            stats.log_likelihood += w * (max + total.ln());
            stats.weight += w;
            let scale = w / total;
            for (e, sum) in row.iter_mut().zip(stats.resp.iter_mut()) {
                *e *= scale;
                *sum += *e;
            }
        }
        let rb: ArrayView2<f64> = logp.slice(s![..b, ..]);
        if mix.full {
            general_mat_mul(1.0, &rb.t(), &xb, 1.0, &mut sums.slice_mut(s![.., ..d]));
            for c in 0..k {
                let mut sb = scaled.slice_mut(s![..b, ..]);
                for ((mut dst, src), &r) in sb.outer_iter_mut().zip(xb.outer_iter()).zip(rb.column(c)) {
                    dst.zip_mut_with(&src, |o, &v| *o = v * r);
                }
                general_mat_mul(1.0, &scaled.slice(s![..b, ..]).t(), &xb, 0.0, &mut outer);
                let target = &mut stats.sum_xx[c * d * d..(c + 1) * d * d];
                for a in 0..d {
                    for (t, &v) in target[a * d + a..(a + 1) * d].iter_mut().zip(outer.row(a).iter().skip(a)) {
                        *t += v;
                    }
                }
            }
        } else {
            general_mat_mul(1.0, &rb.t(), &zb, 1.0, &mut sums);
        }
    }
    for c in 0..k {
        stats.sum_x[c * d..(c + 1) * d].iter_mut().zip(sums.slice(s![c, ..d])).for_each(|(t, &v)| *t = v);
        if !mix.full {
            stats.sum_xx[c * d..(c + 1) * d].iter_mut().zip(sums.slice(s![c, d..])).for_each(|(t, &v)| *t = v);
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_to_a_few_ulps() {
        let xs: Vec<f64> = (0..=200_000).map(|i| -707.9 * i as f64 / 200_000.0).collect();
        let mut ours = xs.clone();
        exp_nonpositive(&mut ours);
        for (x, e) in xs.iter().zip(&ours) {
            let want = x.exp();
            assert!((e - want).abs() <= 4e-16 * want, "exp({x}) = {e}, libm {want}");
        }
        let mut tail = vec![-708.5, -1000.0, f64::NEG_INFINITY, 0.0];
        exp_nonpositive(&mut tail);
        assert_eq!(tail, vec![0.0, 0.0, 0.0, 1.0]);
    }
}
