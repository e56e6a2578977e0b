//! BFGS with a strong-Wolfe line search (Nocedal & Wright, *Numerical Optimization*, 2nd
//! ed., algorithms 6.1, 3.5 and 3.6) for the small smooth problems the models pose: three or
//! four log-parameters, an analytic gradient.
//!
//! When it stops at the iteration limit it returns the last point with `converged() == false`,
//! never the start values: a caller can report "did not converge" with the best point found.

use super::errors::ModelError;

/// A smooth function to minimise, with its gradient.
pub trait Objective {
    /// f(x); writes ∇f(x) into `gradient` (same length as `x`). May return a non-finite
    /// value where f is undefined; the line search then steps back.
    fn value_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64;
}

impl<F: Fn(&[f64], &mut [f64]) -> f64> Objective for F {
    fn value_and_gradient(&self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self(x, gradient)
    }
}

/// When BFGS stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BfgsOptions {
    /// Most BFGS steps taken.
    pub max_iterations: usize,
    /// Converged when every gradient component is at most this (in the objective's units).
    pub gradient_tolerance: f64,
    /// Converged when the objective changes by at most this times max(|f|, 1) in two
    /// successive steps (no further progress possible in f64).
    pub relative_tolerance: f64,
    /// Also converged when no step decreases f any more (f64 precision reached) and every
    /// gradient component is at most this.
    pub stall_gradient_tolerance: f64,
}

impl Default for BfgsOptions {
    fn default() -> Self {
        BfgsOptions {
            max_iterations: 500,
            gradient_tolerance: 1e-9,
            relative_tolerance: 1e-15,
            stall_gradient_tolerance: 1e-6,
        }
    }
}

/// Why the minimiser stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The gradient is below `gradient_tolerance`.
    Gradient,
    /// The objective stopped changing (relative to `relative_tolerance`).
    RelativeChange,
    /// `max_iterations` steps were taken without meeting either test.
    MaxIterations,
    /// No step decreases f any more and the gradient is below `stall_gradient_tolerance`:
    /// the optimum to f64 precision.
    Stalled,
    /// No step along the search direction (or the steepest descent) decreased f, with the
    /// gradient still large.
    LineSearchFailed,
}

/// The last point the minimiser reached.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub gradient: Vec<f64>,
    /// BFGS steps taken.
    pub iterations: usize,
    pub stop: StopReason,
}

impl Minimum {
    /// Whether a convergence test was met (not the iteration limit or a failed line search).
    pub fn converged(&self) -> bool {
        matches!(self.stop, StopReason::Gradient | StopReason::RelativeChange | StopReason::Stalled)
    }

    /// Largest absolute gradient component at the last point.
    pub fn gradient_norm(&self) -> f64 {
        max_abs(&self.gradient)
    }
}

/// Minimises `objective` from `start` by BFGS. Errors only when f or ∇f is not finite at the
/// start.
pub fn minimize_bfgs(objective: &impl Objective, start: &[f64], options: &BfgsOptions) -> Result<Minimum, ModelError> {
    let n = start.len();
    let mut x = start.to_vec();
    let mut g = vec![0.0; n];
    let mut f = objective.value_and_gradient(&x, &mut g);
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Err(ModelError::NonFiniteStart { value: f });
    }
    let mut h = identity(n);
    let mut h_is_identity = true;
    let mut first_step = true;
    let mut quiet_steps = 0;
    let mut stop = StopReason::MaxIterations;
    let mut iterations = 0;
    while iterations < options.max_iterations {
        if max_abs(&g) <= options.gradient_tolerance {
            stop = StopReason::Gradient;
            break;
        }
        let mut d: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
        if dot(&d, &g) >= 0.0 {
            h = identity(n);
            h_is_identity = true;
            d = g.iter().map(|v| -v).collect();
        }
        let initial_step = if h_is_identity && first_step { (1.0 / max_abs(&g)).min(1.0) } else { 1.0 };
        let Some(step) = line_search(objective, &x, f, &g, &d, initial_step) else {
            if h_is_identity {
                stop = if max_abs(&g) <= options.stall_gradient_tolerance {
                    StopReason::Stalled
                } else {
                    StopReason::LineSearchFailed
                };
                break;
            }
            h = identity(n);
            h_is_identity = true;
            continue;
        };
        iterations += 1;
        let s: Vec<f64> = step.x.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = step.gradient.iter().zip(&g).map(|(a, b)| a - b).collect();
        let f_old = f;
        x = step.x;
        f = step.value;
        g = step.gradient;
        let sy = dot(&s, &y);
        if sy > 1e-14 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            if first_step || h_is_identity {
                // Nocedal & Wright (6.20): scale the first inverse Hessian.
                let scale = sy / dot(&y, &y);
                h = identity(n);
                h.iter_mut().enumerate().for_each(|(i, row)| row[i] = scale);
            }
            bfgs_update(&mut h, &s, &y, sy);
            h_is_identity = false;
        }
        first_step = false;
        if (f_old - f).abs() <= options.relative_tolerance * f.abs().max(1.0) {
            quiet_steps += 1;
            if quiet_steps >= 2 {
                stop = StopReason::RelativeChange;
                break;
            }
        } else {
            quiet_steps = 0;
        }
    }
    if stop == StopReason::MaxIterations && max_abs(&g) <= options.gradient_tolerance {
        stop = StopReason::Gradient;
    }
    Ok(Minimum { x, value: f, gradient: g, iterations, stop })
}

/// H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1/(sᵀy).
fn bfgs_update(h: &mut [Vec<f64>], s: &[f64], y: &[f64], sy: f64) {
    let n = s.len();
    let rho = 1.0 / sy;
    let hy: Vec<f64> = (0..n).map(|i| dot(&h[i], y)).collect();
    let yhy = dot(y, &hy);
    for i in 0..n {
        for j in 0..n {
            h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
        }
    }
}

struct Step {
    x: Vec<f64>,
    value: f64,
    gradient: Vec<f64>,
}

const ARMIJO: f64 = 1e-4;
const CURVATURE: f64 = 0.9;

/// Strong-Wolfe line search along `d` (Nocedal & Wright algorithm 3.5 with the zoom of 3.6,
/// bisection safeguarding a quadratic interpolation). A non-finite f counts as too far.
/// Returns the best Armijo point when the curvature condition cannot be met, `None` when no
/// step decreases f.
fn line_search(objective: &impl Objective, x: &[f64], f0: f64, g0: &[f64], d: &[f64], initial: f64) -> Option<Step> {
    let dg0 = dot(g0, d);
    let eval = |alpha: f64| -> (f64, f64, Step) {
        let point: Vec<f64> = x.iter().zip(d).map(|(xi, di)| xi + alpha * di).collect();
        let mut gradient = vec![0.0; x.len()];
        let value = objective.value_and_gradient(&point, &mut gradient);
        let value = if gradient.iter().all(|v| v.is_finite()) { value } else { f64::NAN };
        let slope = dot(&gradient, d);
        (value, slope, Step { x: point, value, gradient })
    };
    let sufficient = |alpha: f64, value: f64| value.is_finite() && value <= f0 + ARMIJO * alpha * dg0;
    let mut lo = (0.0, f0, dg0, None::<Step>);
    let mut alpha = initial;
    for i in 0..40 {
        let (value, slope, step) = eval(alpha);
        if !sufficient(alpha, value) || (i > 0 && value >= lo.1) {
            return zoom(&eval, &sufficient, lo, (alpha, value, slope), dg0);
        }
        if slope.abs() <= -CURVATURE * dg0 {
            return Some(step);
        }
        if slope >= 0.0 {
            let hi = (lo.0, lo.1, lo.2);
            return zoom(&eval, &sufficient, (alpha, value, slope, Some(step)), hi, dg0);
        }
        lo = (alpha, value, slope, Some(step));
        alpha *= 2.0;
    }
    lo.3
}

type Bound = (f64, f64, f64);

fn zoom(
    eval: &impl Fn(f64) -> (f64, f64, Step),
    sufficient: &impl Fn(f64, f64) -> bool,
    mut lo: (f64, f64, f64, Option<Step>),
    mut hi: Bound,
    dg0: f64,
) -> Option<Step> {
    for _ in 0..60 {
        let (a_lo, f_lo, d_lo) = (lo.0, lo.1, lo.2);
        let (a_hi, f_hi, _) = hi;
        // Minimiser of the quadratic through (a_lo, f_lo, d_lo) and (a_hi, f_hi), kept in the
        // middle 80 % of the interval; bisection when f_hi is not finite.
        let width = a_hi - a_lo;
        let mut alpha = a_lo + 0.5 * width;
        if f_hi.is_finite() {
            let denom = 2.0 * (f_hi - f_lo - d_lo * width);
            if denom > 0.0 {
                let t = -d_lo * width * width / denom;
                let lo_edge = 0.1 * width.abs();
                let offset = t.clamp(lo_edge.min(0.9 * width), lo_edge.max(0.9 * width));
                alpha = a_lo + offset;
            }
        }
        if (alpha - a_lo).abs() <= 1e-16 * a_lo.abs().max(1e-300) {
            break;
        }
        let (value, slope, step) = eval(alpha);
        if !sufficient(alpha, value) || value >= f_lo {
            hi = (alpha, value, slope);
        } else {
            if slope.abs() <= -CURVATURE * dg0 {
                return Some(step);
            }
            if slope * (a_hi - a_lo) >= 0.0 {
                hi = (a_lo, f_lo, d_lo);
            }
            lo = (alpha, value, slope, Some(step));
        }
    }
    lo.3
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's banana, minimum 0 at (1, 1).
    fn rosenbrock(x: &[f64], g: &mut [f64]) -> f64 {
        let (a, b) = (x[0], x[1]);
        g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        g[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }

    #[test]
    fn bfgs_finds_the_rosenbrock_minimum() {
        let m = minimize_bfgs(&rosenbrock, &[-1.2, 1.0], &BfgsOptions::default()).unwrap();
        assert!(m.converged(), "{m:?}");
        assert!((m.x[0] - 1.0).abs() < 1e-7 && (m.x[1] - 1.0).abs() < 1e-7, "{m:?}");
    }

    #[test]
    fn stopping_at_the_iteration_limit_reports_the_last_point_not_the_start() {
        let options = BfgsOptions { max_iterations: 2, ..BfgsOptions::default() };
        let m = minimize_bfgs(&rosenbrock, &[-1.2, 1.0], &options).unwrap();
        assert!(!m.converged());
        assert_eq!(m.stop, StopReason::MaxIterations);
        assert_eq!(m.iterations, 2);
        assert_ne!(m.x, vec![-1.2, 1.0]);
        assert!(m.value < 24.2, "f must have decreased from the start's 24.2: {}", m.value);
    }

    #[test]
    fn a_non_finite_start_is_an_error() {
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0;
            x[0].ln()
        };
        assert!(matches!(minimize_bfgs(&f, &[-1.0], &BfgsOptions::default()), Err(ModelError::NonFiniteStart { .. })));
    }

    #[test]
    fn the_line_search_steps_back_from_undefined_regions() {
        // f = x − ln x is undefined for x ≤ 0; the first full step from 0.01 overshoots there.
        let f = |x: &[f64], g: &mut [f64]| {
            g[0] = 1.0 - 1.0 / x[0];
            if x[0] > 0.0 {
                x[0] - x[0].ln()
            } else {
                f64::NAN
            }
        };
        let m = minimize_bfgs(&f, &[0.01], &BfgsOptions::default()).unwrap();
        assert!(m.converged() && (m.x[0] - 1.0).abs() < 1e-8, "{m:?}");
    }
}
