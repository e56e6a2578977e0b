//! Special functions in f64 for the likelihoods and expectations: ln Γ, ψ (digamma) and the
//! Gauss hypergeometric function ₂F₁.
//!
//! Written here rather than taken from a crate so the BG/NBD numbers do not move with a
//! dependency upgrade, and because ₂F₁ needs the transformations for z near 1 that the
//! conditional expectation of long horizons hits.

// Reference values and coefficients are written with all the digits of their source.
#![allow(clippy::excessive_precision)]

use std::f64::consts::PI;

/// Lanczos coefficients for g = 7, n = 9 (Godfrey's set, as in Numerical Recipes 3rd ed.).
const LANCZOS_G: f64 = 7.0;
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_93,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_13,
    -176.615_029_162_140_59,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_571_6e-6,
    1.505_632_735_149_311_6e-7,
];

/// ln Γ(x) for x > 0: Lanczos below 10, Stirling's series with six terms above (relative
/// error ~1e-15 of the result, absolute ~1e-15 near the zeros at 1 and 2).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x >= 10.0 {
        return stirling_ln_gamma(x);
    }
    if x < 0.5 {
        // Reflection keeps the Lanczos sum where it is accurate.
        return (PI / sin_pi(x)).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + LANCZOS_G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Stirling's series for ln Γ(x), x ≥ 10 (truncation error < 1e-16).
fn stirling_ln_gamma(x: f64) -> f64 {
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let series = inv
        * (1.0 / 12.0
            + inv2
                * (-1.0 / 360.0
                    + inv2
                        * (1.0 / 1260.0
                            + inv2 * (-1.0 / 1680.0 + inv2 * (1.0 / 1188.0 + inv2 * (-691.0 / 360_360.0))))));
    (x - 0.5) * x.ln() - x + 0.5 * (2.0 * PI).ln() + series
}

/// ln |Γ(x)| and the sign of Γ(x) for any real x that is not a pole (x = 0, −1, −2, … give
/// `(inf, 0.0)`, so 1/Γ there is 0).
pub fn ln_gamma_signed(x: f64) -> (f64, f64) {
    if x > 0.0 {
        return (ln_gamma(x), 1.0);
    }
    if x == x.floor() {
        return (f64::INFINITY, 0.0);
    }
    // Γ(x) Γ(1 − x) = π / sin(πx)
    let s = sin_pi(x);
    ((PI / s.abs()).ln() - ln_gamma(1.0 - x), s.signum())
}

/// sin(πx) with the argument reduced exactly first, so it stays accurate near the integers
/// (the poles of Γ that the reflection formula and the 1 − z continuation come close to).
fn sin_pi(x: f64) -> f64 {
    let n = x.round();
    let s = (PI * (x - n)).sin();
    if n % 2.0 == 0.0 {
        s
    } else {
        -s
    }
}

/// ψ(x) = d ln Γ(x) / dx for x > 0: recurrence up to x ≥ 10, then the asymptotic series
/// (absolute error ~1e-15).
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv2 = 1.0 / (x * x);
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2 * (1.0 / 252.0 - inv2 * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32_760.0)))));
    shift + x.ln() - 0.5 / x - series
}

/// Most terms a ₂F₁ power series may take; z ≤ 0.9 needs a few hundred for 1e-16.
const SERIES_MAX_TERMS: usize = 100_000;
/// Above this |z| (after the transformations) the 1 − z continuation is used.
const SERIES_LIMIT: f64 = 0.9;
/// c − a − b closer than this to an integer makes the 1 − z continuation cancel; it is then
/// extrapolated from c ± 2e-5, c ± 4e-5 (cancellation error ~1e-11 relative).
const NEAR_INTEGER: f64 = 1e-5;

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for real z ≤ 1.
///
/// Power series for |z| ≤ 0.9; Pfaff's transformation z → z/(z − 1) for z < 0 (so
/// alternating series never cancel); the 1 − z continuation (Abramowitz & Stegun 15.3.6) for
/// 0.9 < z < 1, where c − a − b near an integer is extrapolated from nearby c; Gauss's sum
/// at z = 1 (∞ when c − a − b ≤ 0). Relative accuracy ~1e-13 in general, ~1e-10 in the
/// near-integer case. NaN for z > 1 and for c a non-positive integer (unless the series
/// terminates first).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if [a, b, c, z].iter().any(|v| !v.is_finite()) || z > 1.0 {
        return f64::NAN;
    }
    if a == 0.0 || b == 0.0 || z == 0.0 {
        return 1.0;
    }
    if let Some(n) = terminating_degree(a).or_else(|| terminating_degree(b)) {
        if z.abs() <= 1.0 || n < 64 {
            return power_series(a, b, c, z).unwrap_or(f64::NAN);
        }
    }
    if z < 0.0 {
        // Pfaff: ₂F₁(a,b;c;z) = (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)); the variant whose
        // prefactor exponent is smaller keeps the result representable.
        let w = z / (z - 1.0);
        let ln1mz = (-z).ln_1p();
        return if a.abs() <= b.abs() {
            (-a * ln1mz).exp() * hyp2f1_unit(a, c - b, c, w)
        } else {
            (-b * ln1mz).exp() * hyp2f1_unit(c - a, b, c, w)
        };
    }
    hyp2f1_unit(a, b, c, z)
}

/// ₂F₁ for 0 ≤ z ≤ 1.
fn hyp2f1_unit(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z <= SERIES_LIMIT {
        return power_series(a, b, c, z).unwrap_or(f64::NAN);
    }
    let s = c - a - b;
    if z == 1.0 {
        if s <= 0.0 {
            return f64::INFINITY;
        }
        let (g1, s1) = ln_gamma_signed(c);
        let (g2, s2) = ln_gamma_signed(s);
        let (g3, s3) = ln_gamma_signed(c - a);
        let (g4, s4) = ln_gamma_signed(c - b);
        if s3 == 0.0 || s4 == 0.0 {
            return 0.0;
        }
        return s1 * s2 * s3 * s4 * (g1 + g2 - g3 - g4).exp();
    }
    if (s - s.round()).abs() < NEAR_INTEGER {
        // Symmetric 4-point extrapolation in c (error O(δ⁴)); every point keeps
        // c − a − b at least 1e-5 from the integer.
        let delta = 2.0 * NEAR_INTEGER;
        let at = |d: f64| one_minus_z_continuation(a, b, c + d, z);
        return (4.0 * (at(delta) + at(-delta)) - (at(2.0 * delta) + at(-2.0 * delta))) / 6.0;
    }
    one_minus_z_continuation(a, b, c, z)
}

/// A&S 15.3.6: ₂F₁(a,b;c;z) = Γ(c)Γ(s)/(Γ(c−a)Γ(c−b)) ₂F₁(a, b; 1−s; 1−z)
///   + (1−z)^s Γ(c)Γ(−s)/(Γ(a)Γ(b)) ₂F₁(c−a, c−b; 1+s; 1−z), s = c − a − b not an integer.
fn one_minus_z_continuation(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let s = c - a - b;
    let y = 1.0 - z;
    let coefficient = |num: [f64; 2], den: [f64; 2]| -> f64 {
        let (n1, sn1) = ln_gamma_signed(num[0]);
        let (n2, sn2) = ln_gamma_signed(num[1]);
        let (d1, sd1) = ln_gamma_signed(den[0]);
        let (d2, sd2) = ln_gamma_signed(den[1]);
        if sd1 == 0.0 || sd2 == 0.0 {
            return 0.0; // 1/Γ at a pole
        }
        sn1 * sn2 * sd1 * sd2 * (n1 + n2 - d1 - d2).exp()
    };
    let first = coefficient([c, s], [c - a, c - b]);
    let second = coefficient([c, -s], [a, b]);
    let mut total = 0.0;
    if first != 0.0 {
        total += first * power_series(a, b, 1.0 - s, y).unwrap_or(f64::NAN);
    }
    if second != 0.0 {
        total += second * (s * y.ln()).exp() * power_series(c - a, c - b, 1.0 + s, y).unwrap_or(f64::NAN);
    }
    total
}

/// Degree n when x is the non-positive integer −n (the series then terminates).
fn terminating_degree(x: f64) -> Option<usize> {
    (x <= 0.0 && x == x.floor() && x > -1e6).then(|| (-x) as usize)
}

/// The defining series Σ (a)ₙ(b)ₙ/((c)ₙ n!) zⁿ, summed until a term no longer changes the sum
/// (twice in a row); `None` when it does not settle within the term limit.
fn power_series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut quiet = 0;
    for n in 0..SERIES_MAX_TERMS {
        let n = n as f64;
        let denom = (c + n) * (n + 1.0);
        if denom == 0.0 {
            return None;
        }
        term *= (a + n) * (b + n) / denom * z;
        if term == 0.0 {
            return Some(sum);
        }
        let next = sum + term;
        if !next.is_finite() {
            return Some(next);
        }
        if (term / next).abs() < f64::EPSILON * 0.5 {
            quiet += 1;
            if quiet >= 2 {
                return Some(next);
            }
        } else {
            quiet = 0;
        }
        sum = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(1e-300)
    }

    // References: mpmath 1.4.1 at 40 digits (loggamma, digamma, hyp2f1).
    const LN_GAMMA_DIGAMMA: [(f64, f64, f64); 12] = [
        (1e-6, 13.815509980749431714, -1000000.5772140200139),
        (0.1, 2.252712651734205902, -10.423754940411076232),
        (0.5, 0.57236494292470008707, -1.9635100260214234794),
        (1.0, 0.0, -0.57721566490153286061),
        (1.5, -0.12078223763524522235, 0.036489973978576520559),
        (2.0, 0.0, 0.42278433509846713939),
        (2.5, 0.28468287047291915963, 0.70315664064524318723),
        (3.7, 1.4280723266653881292, 1.1671535393615114409),
        (10.0, 12.801827480081469611, 2.2517525890667211076),
        (30.5, 72.953471184169408324, 3.4012436689616610844),
        (301.243, 1416.2923720860939951, 5.7062565401158011592),
        (1e5, 1051287.7089736568949, 11.512920464961895087),
    ];

    #[test]
    fn ln_gamma_matches_mpmath_to_1e14() {
        for &(x, want, _) in &LN_GAMMA_DIGAMMA {
            let got = ln_gamma(x);
            assert!((got - want).abs() <= 1e-14 * want.abs().max(1.0), "ln_gamma({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn digamma_matches_mpmath_to_1e14() {
        for &(x, _, want) in &LN_GAMMA_DIGAMMA {
            let got = digamma(x);
            assert!((got - want).abs() <= 1e-14 * want.abs().max(1.0), "digamma({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn ln_gamma_signed_reflects_negative_arguments() {
        // Γ(−0.5) = −2√π; Γ(−1.5) = 4√π/3
        let (l, s) = ln_gamma_signed(-0.5);
        assert!(close(s * l.exp(), -2.0 * PI.sqrt(), 1e-14));
        let (l, s) = ln_gamma_signed(-1.5);
        assert!(close(s * l.exp(), 4.0 * PI.sqrt() / 3.0, 1e-14));
        assert_eq!(ln_gamma_signed(-2.0).1, 0.0);
    }

    #[test]
    fn hyp2f1_matches_mpmath() {
        // (a, b, c, z, mpmath 1.4.1 hyp2f1, relative tolerance)
        let cases: [(f64, f64, f64, f64, f64, f64); 18] = [
            (1.0, 1.0, 2.0, 0.5, 1.3862943611198906188, 1e-14),
            (0.5, 0.5, 1.5, 0.25, std::f64::consts::FRAC_PI_3, 1e-14),
            (2.3, -0.207, 3.2, 0.9, 0.78525002688680579304, 1e-13),
            (2.3, -0.207, 3.2, 0.99, 0.72805824131684781073, 1e-13),
            (2.3, -0.207, 3.2, 0.999999, 0.7163437466326575612, 1e-13),
            (0.457, -0.207, 1.219, 0.47, 0.9577306738494339347, 1e-14),
            (2.243, 2.426, 4.219, 0.47, 2.1754662392318436639, 1e-14),
            (302.243, 302.426, 304.219, 0.3, 3.4818879643282105828e+46, 1e-12),
            (1.5, 2.5, 4.0, 0.95, 7.8242263412350159656, 1e-9), // c − a − b = 0
            (1.5, 2.5, 4.0, -0.5, 0.67404024682559335905, 1e-14),
            (1.5, 2.5, 4.0, -3.0, 0.23179909530457550754, 1e-13),
            (1.5, 2.5, 4.0, -100.0, 0.0031085542551176776632, 1e-9),
            (0.3, 0.7, 2.0, 0.97, 1.1997702729541844169, 1e-9), // c − a − b = 1
            (1.0, 2.0, 3.0, 0.96, 4.902074272717448055, 1e-9),  // c − a − b = 0
            (2.0, 3.0, 5.0, 0.98, 20.929221047421297831, 1e-9), // c − a − b = 0
            (1.2, -0.5, 0.7, 0.95, -0.77146783150858594004, 1e-9), // c − a − b = 0
            (0.8, 1.3, -0.4, 0.6, -22.548578394695016324, 1e-13),
            (-3.0, 2.5, 4.0, 0.7, 0.21807812500000002309, 1e-14),
        ];
        for (a, b, c, z, want, tol) in cases {
            let got = hyp2f1(a, b, c, z);
            assert!(
                close(got, want, tol),
                "2F1({a}, {b}; {c}; {z}) = {got:e}, want {want:e} (rel {:e})",
                ((got - want) / want).abs()
            );
        }
    }

    #[test]
    fn hyp2f1_at_one_is_gauss_sum_or_infinite() {
        // Gauss: ₂F₁(a,b;c;1) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)); (1,1,3) gives 2.
        assert!(close(hyp2f1(1.0, 1.0, 3.0, 1.0), 2.0, 1e-14));
        assert_eq!(hyp2f1(1.5, 2.5, 4.0, 1.0), f64::INFINITY);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.5).is_nan());
    }

    #[test]
    fn hyp2f1_is_continuous_across_the_series_limit() {
        let below = hyp2f1(2.3, -0.207, 3.2, SERIES_LIMIT);
        let above = hyp2f1(2.3, -0.207, 3.2, SERIES_LIMIT + 1e-12);
        assert!(close(below, above, 1e-11), "{below} vs {above}");
    }
}
