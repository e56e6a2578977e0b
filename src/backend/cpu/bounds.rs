//! Hamerly's bounds for the CPU Lloyd pass, made exact under the kernel's f32 rounding.
//!
//! Each row keeps an upper bound `U` on its true (real-number) distance to its centre, a
//! lower bound `L` on its distance to every other centre, and `‖x‖`. When the centres move
//! by `δ`, `U` grows by its centre's `δ` and `L` shrinks by the largest other `δ` (triangle
//! inequality); when the test below fails on the drifted `U`, `U` is tightened to the exact
//! distance and the test is tried again. A row keeps its label without the kernel only when
//! `U² + 2E < L²`, where `E` bounds the kernel's rounding error on any score
//! `‖c‖² − 2x·c` (see [`Drift::score_error`]): then the kernel's own score of the row's
//! centre is strictly below every other score, so the kernel would pick it too. Every f64
//! step rounds towards the safe side (`UP`, `DOWN`), so the bounds hold as real numbers.

use crate::backend::distance::sq_dist;
use crate::backend::Centres;

/// f32 unit roundoff.
const U32: f64 = 1.0 / (1u64 << 24) as f64;
/// Factors that move an f64 result of a few operations past its rounding error.
const UP: f64 = 1.0 + 1.0 / (1u64 << 48) as f64;
const DOWN: f64 = 1.0 - 1.0 / (1u64 << 48) as f64;
/// Above this `‖x‖ + max ‖c‖`, scores could overflow f32: no row is skipped.
const LARGEST_NORM: f64 = 1e18;
/// Bounds an f32 underflow's absolute error per operation (half the smallest subnormal, doubled).
const TINY: f64 = 1.5e-45;

/// Higham's γ(n) = n·u / (1 − n·u) for f32.
fn gamma(n: usize) -> f64 {
    let nu = n as f64 * U32;
    nu / (1.0 - nu)
}

/// Per chunk: each row's upper bound on its distance to its centre, lower bound on its
/// distance to the other centres, and norm.
#[derive(Debug, Default, Clone)]
pub(super) struct RowBounds {
    pub upper: Vec<f32>,
    pub lower: Vec<f32>,
    pub norm: Vec<f32>,
}

impl RowBounds {
    pub fn new(rows: usize) -> Self {
        RowBounds { upper: vec![0.0; rows], lower: vec![0.0; rows], norm: vec![0.0; rows] }
    }

    /// Sets row `i`'s upper bound from its f32 `sq_dist` to its centre.
    pub fn set_upper(&mut self, i: usize, dist2: f32, drift: &Drift) {
        self.upper[i] = up_f32(drift.upper_from(dist2));
    }

    /// Sets row `i`'s bounds after the kernel scored it: `second` is its second-lowest score
    /// (+∞ with one centre) against the centres `drift` describes.
    pub fn reset(&mut self, i: usize, x: &[f32], second: f32, drift: &Drift) {
        let norm2 = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() * drift.norm_down;
        self.norm[i] = up_f32(norm2.sqrt() * UP);
        self.lower[i] = if drift.k == 1 {
            f32::INFINITY
        } else if !second.is_finite() {
            0.0
        } else {
            // min over other centres of ‖x − c‖² ≥ ‖x‖² + second − E.
            let e = drift.score_error(self.norm[i] as f64);
            let lower2 = (norm2 + second as f64 - e) * DOWN;
            if lower2 > 0.0 {
                down_f32(lower2.sqrt() * DOWN)
            } else {
                0.0
            }
        };
    }
}

/// How far the centres moved since the previous pass, and the error model of the kernel's
/// scores against the new centres.
pub(super) struct Drift {
    k: usize,
    /// ‖c_new − c_old‖ per centre, rounded up.
    delta: Vec<f64>,
    /// The largest δ and its centre, and the second largest.
    largest: (f64, usize),
    second_largest: f64,
    /// max ‖c‖ over the new centres, rounded up.
    centre_norm: f64,
    /// `1 − ε` under the f64 error of ‖x‖² summed over `dim` terms.
    norm_down: f64,
    /// γ(2·dim + 4) and the underflow allowance of a score ([`Drift::score_error`]).
    score_gamma: f64,
    score_tiny: f64,
    /// 1 + 2γ(dim + 3) and the underflow allowance of an f32 `sq_dist` ([`Drift::upper_from`]).
    dist_factor: f64,
    dist_tiny: f64,
}

impl Drift {
    /// The drift from `old` to `new` (the same k and dim); with `old == new`, δ = 0.
    pub fn new(old: &Centres, new: &Centres) -> Self {
        let (k, dim) = (new.k, new.dim);
        let f64_error = 1.0 + (dim as f64 + 8.0) / (1u64 << 52) as f64;
        let delta: Vec<f64> = (0..k)
            .map(|c| {
                let d2: f64 =
                    old.centre(c).iter().zip(new.centre(c)).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
                d2.sqrt() * f64_error
            })
            .collect();
        let largest = delta.iter().enumerate().fold((0.0, 0), |best, (c, &d)| if d > best.0 { (d, c) } else { best });
        let second_largest =
            delta.iter().enumerate().filter(|&(c, _)| c != largest.1).fold(0.0f64, |m, (_, &d)| m.max(d));
        let centre_norm = (0..k)
            .map(|c| new.centre(c).iter().map(|&v| v as f64 * v as f64).sum::<f64>().sqrt() * f64_error)
            .fold(0.0, f64::max);
        Drift {
            k,
            delta,
            largest,
            second_largest,
            centre_norm,
            norm_down: 1.0 / f64_error,
            score_gamma: gamma(2 * dim + 4),
            score_tiny: (4 * dim + 8) as f64 * TINY,
            dist_factor: 1.0 + 2.0 * gamma(dim + 3),
            dist_tiny: (2 * dim + 4) as f64 * TINY,
        }
    }

    /// Bounds |kernel score − (‖c‖² − 2x·c)| for any centre and a row of norm ≤ `x_norm`:
    /// the f32 ‖c‖² and the `dim` fused multiply-adds give at most γ(2·dim + 1)·(‖c‖² +
    /// 2‖x‖‖c‖) (Higham, ch. 3), plus underflow; +∞ where scores could overflow.
    fn score_error(&self, x_norm: f64) -> f64 {
        let c = self.centre_norm;
        if x_norm + c > LARGEST_NORM || !(x_norm + c).is_finite() {
            return f64::INFINITY;
        }
        (self.score_gamma * (c * c + 2.0 * x_norm * c) + self.score_tiny) * UP
    }

    /// An upper bound on the true ‖x − c‖ from the f32 `sq_dist` `dist2` (error ≤ γ(dim + 3)).
    fn upper_from(&self, dist2: f32) -> f64 {
        ((dist2 as f64 * self.dist_factor + self.dist_tiny) * UP).sqrt() * UP
    }

    /// Whether row `i` (values `x`, label `label` after the previous pass) provably keeps its
    /// label under the kernel; moves its bounds to the new centres either way.
    pub fn keeps(&self, x: &[f32], label: u32, bounds: &mut RowBounds, i: usize, centres: &Centres) -> bool {
        let a = label as usize;
        let other = if a == self.largest.1 { self.second_largest } else { self.largest.0 };
        let lower = bounds.lower[i] as f64;
        let lower = if lower.is_infinite() { lower } else { ((lower - other) * DOWN).max(0.0) };
        bounds.lower[i] = down_f32(lower);
        let upper = (bounds.upper[i] as f64 + self.delta[a]) * UP;
        bounds.upper[i] = up_f32(upper);
        if lower == 0.0 {
            return false;
        }
        let e2 = 2.0 * self.score_error(bounds.norm[i] as f64);
        let passes = |upper: f64| (upper * upper + e2) * UP < lower * lower * DOWN;
        if passes(upper) {
            return true;
        }
        // Tightened to the exact distance to the moved centre.
        let upper = self.upper_from(sq_dist(x, centres.centre(a)));
        bounds.upper[i] = up_f32(upper);
        passes(upper)
    }
}

/// The largest f32 not above `v` (v ≥ 0).
fn down_f32(v: f64) -> f32 {
    let f = v as f32;
    if f as f64 > v && f > 0.0 {
        f32::from_bits(f.to_bits() - 1)
    } else {
        f
    }
}

/// The smallest f32 not below `v` (v ≥ 0).
fn up_f32(v: f64) -> f32 {
    let f = v as f32;
    if (f as f64) < v {
        f32::from_bits(f.to_bits() + 1)
    } else {
        f
    }
}

/// Whether the Lloyd pass keeps bounds for `k` centres of `dim` features by default: where
/// the kernel's k·dim work per row outweighs the bounds' own cost per row (BENCHMARKS.md).
pub(super) fn pays(k: usize, dim: usize) -> bool {
    k.saturating_mul(dim) >= MIN_WORK
}

/// The least k·dim for which the bounds pay by default (measured on 2 cores with AVX-512:
/// 1M × 32, k = 64 gains 17 % CPU; k·dim = 1024 and below lose; BENCHMARKS.md, #19).
pub const MIN_WORK: usize = 2048;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directed_f32_rounding_stays_on_its_side() {
        for v in [0.0, 1e-40, 0.1, 1.0 / 3.0, 12345.678, 1e30] {
            assert!(down_f32(v) as f64 <= v && up_f32(v) as f64 >= v, "{v}");
        }
    }

    #[test]
    fn a_row_keeps_its_label_only_with_a_margin() {
        let old = Centres::new(2, 1, vec![0.0, 10.0]);
        let new = Centres::new(2, 1, vec![0.5, 10.0]);
        let drift = Drift::new(&old, &old);
        let mut bounds = RowBounds::new(2);
        // Row 0 at 1 (second score: 100 − 20 = 80 for centre 1); row 1 at 5.25, which ties
        // between the moved centres 0.5 and 10 (second score 100 − 105 = −5).
        bounds.reset(0, &[1.0], 80.0, &drift);
        bounds.reset(1, &[5.25], -5.0, &drift);
        assert!(bounds.lower[0] <= 9.0 && bounds.lower[0] > 8.99);
        assert!(bounds.lower[1] <= 4.75 && bounds.lower[1] > 4.74);
        bounds.set_upper(0, 1.0, &drift);
        bounds.set_upper(1, 27.5625, &drift);
        let moved = Drift::new(&old, &new);
        assert!(moved.keeps(&[1.0], 0, &mut bounds, 0, &new));
        assert!(!moved.keeps(&[5.25], 0, &mut bounds, 1, &new));
        assert!(bounds.upper[0] >= 1.5 && bounds.upper[1] >= 4.75);
    }
}
