//! select-k's table rows from replicated fits, and the recommendation with the reasons its
//! evidence is weak.
//!
//! Each k is fitted `replicates` times (each with its own seed, `n_init` starts and
//! silhouette sample). A row reports the best replicate's objective (lowest inertia or BIC)
//! and its Calinski-Harabasz, Davies-Bouldin and collapsed components, and the replicates'
//! mean silhouette with its spread. Rules: with `--algorithm gmm`, the lowest BIC; else the
//! highest mean silhouette. The evidence is weak when
//! - the best silhouette is below 0.25 (Kaufman & Rousseeuw's "no substantial structure");
//! - the runner-up is within the margin: two standard errors of the sampled silhouette
//!   (0.01 when exact) combined with twice the run-to-run spread, or, for BIC, 10 (Kass &
//!   Raftery's "very strong");
//! - the replicates on their own would recommend different ks;
//! - a mixture's recommended k has components at the `--reg-covar` floor.

use serde::Serialize;

use crate::cluster::gmm::FloorComponent;

/// One fit of one k, scored.
#[derive(Debug, Clone, Default)]
pub struct Replicate {
    pub inertia: Option<f64>,
    pub bic: Option<f64>,
    pub aic: Option<f64>,
    pub mean_log_likelihood: Option<f64>,
    pub silhouette: Option<f64>,
    pub silhouette_standard_error: Option<f64>,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
    /// Mixtures: components whose variance sits at the `--reg-covar` floor.
    pub at_floor: Vec<FloorComponent>,
    pub seconds: f64,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub k: usize,
    pub inertia: Option<f64>,
    pub bic: Option<f64>,
    pub aic: Option<f64>,
    pub mean_log_likelihood: Option<f64>,
    /// Mean over the replicates.
    pub silhouette: Option<f64>,
    /// Standard error of that mean from the silhouette samples (None when exact).
    pub silhouette_standard_error: Option<f64>,
    pub calinski_harabasz: f64,
    pub davies_bouldin: f64,
    pub seconds: f64,
    /// Standard deviation of the silhouette across replicates (None with one).
    pub silhouette_spread: Option<f64>,
    /// Mixtures: how many components of the best replicate sit at the `--reg-covar` floor.
    pub components_at_floor: Option<usize>,
    #[serde(skip)]
    pub at_floor: Vec<FloorComponent>,
}

impl Row {
    /// The row of k from its replicates (at least one).
    pub fn from_replicates(k: usize, replicates: &[Replicate], gmm: bool) -> Row {
        let objective = |r: &Replicate| if gmm { r.bic } else { r.inertia }.unwrap_or(f64::INFINITY);
        let best = replicates.iter().min_by(|a, b| objective(a).total_cmp(&objective(b))).expect("one replicate");
        let n = replicates.len() as f64;
        let silhouettes: Option<Vec<f64>> = replicates.iter().map(|r| r.silhouette).collect();
        let mean = silhouettes.as_ref().map(|s| s.iter().sum::<f64>() / n);
        let spread = match (&silhouettes, mean) {
            (Some(s), Some(m)) if s.len() > 1 => {
                Some((s.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
            }
            _ => None,
        };
        let errors: Option<Vec<f64>> = replicates.iter().map(|r| r.silhouette_standard_error).collect();
        Row {
            k,
            inertia: best.inertia,
            bic: best.bic,
            aic: best.aic,
            mean_log_likelihood: best.mean_log_likelihood,
            silhouette: mean,
            silhouette_standard_error: errors.map(|e| e.iter().map(|s| s * s).sum::<f64>().sqrt() / n),
            calinski_harabasz: best.calinski_harabasz,
            davies_bouldin: best.davies_bouldin,
            seconds: replicates.iter().map(|r| r.seconds).sum(),
            silhouette_spread: spread,
            components_at_floor: gmm.then_some(best.at_floor.len()),
            at_floor: best.at_floor.clone(),
        }
    }
}

/// The recommended k, the rule, and why the evidence is weak (empty when it is clear).
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    pub k: usize,
    pub rule: &'static str,
    pub weak_reasons: Vec<String>,
}

impl Recommendation {
    pub fn weak(&self) -> bool {
        !self.weak_reasons.is_empty()
    }
}

/// The recommendation from the table; `by_replicate` holds what each replicate alone
/// recommends (empty or one entry: no run-to-run check).
pub fn recommend(rows: &[Row], gmm: bool, by_replicate: &[usize]) -> Recommendation {
    let mut rec = recommend_one(rows, gmm);
    let mut distinct = by_replicate.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() > 1 {
        rec.weak_reasons.push(format!(
            "the {} replicates (independent fits with other seeds) recommend different ks: {by_replicate:?}",
            by_replicate.len()
        ));
    }
    if let Some(row) = rows.iter().find(|r| r.k == rec.k).filter(|r| !r.at_floor.is_empty()) {
        rec.weak_reasons.push(format!(
            "{} of its {} components sit at the --reg-covar floor on some feature (collapsed onto single values)",
            row.at_floor.len(),
            row.k
        ));
    }
    rec
}

/// The recommendation from one table, without the run-to-run and floor checks.
fn recommend_one(rows: &[Row], gmm: bool) -> Recommendation {
    let best_by = |key: &dyn Fn(&Row) -> Option<f64>, higher: bool| {
        let mut scored: Vec<(f64, &Row)> = rows.iter().filter_map(|r| key(r).map(|v| (v, r))).collect();
        scored.sort_by(|a, b| if higher { b.0.total_cmp(&a.0) } else { a.0.total_cmp(&b.0) });
        scored
    };
    if gmm {
        let scored = best_by(&|r| r.bic, false);
        let mut reasons = Vec::new();
        if let (Some(best), Some(next)) = (scored.first(), scored.get(1)) {
            if next.0 - best.0 < 10.0 {
                reasons.push(format!("k = {}'s BIC is within 10 of it ({:.1})", next.1.k, next.0 - best.0));
            }
        }
        return Recommendation {
            k: scored.first().map_or(rows[0].k, |s| s.1.k),
            rule: "lowest BIC",
            weak_reasons: reasons,
        };
    }
    let scored = best_by(&|r| r.silhouette, true);
    let Some(&(best, row)) = scored.first() else {
        return Recommendation {
            k: rows[0].k,
            rule: "no silhouette (a single k or --silhouette-sample 0): smallest k",
            weak_reasons: vec!["no silhouette to compare the ks by".into()],
        };
    };
    let mut reasons = Vec::new();
    if best < 0.25 {
        reasons.push(format!("the best silhouette, {best:.3}, is below 0.25 (no substantial structure)"));
    }
    if let Some(&(next, next_row)) = scored.get(1) {
        let sampling = row.silhouette_standard_error.map_or(0.01, |se| 2.0 * se);
        let spread = row.silhouette_spread.unwrap_or(0.0).max(next_row.silhouette_spread.unwrap_or(0.0));
        let margin = sampling.hypot(2.0 * spread);
        if best - next <= margin {
            reasons.push(format!(
                "k = {}'s silhouette is within {margin:.4} of it (sampling error and run-to-run spread)",
                next_row.k
            ));
        }
    }
    Recommendation { k: row.k, rule: "highest silhouette", weak_reasons: reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replicate(silhouette: f64, inertia: f64) -> Replicate {
        Replicate { silhouette: Some(silhouette), inertia: Some(inertia), ..Replicate::default() }
    }

    #[test]
    fn a_row_takes_the_best_objective_and_the_mean_silhouette_with_its_spread() {
        let row = Row::from_replicates(4, &[replicate(0.5, 10.0), replicate(0.7, 8.0), replicate(0.6, 9.0)], false);
        assert_eq!(row.inertia, Some(8.0));
        assert!((row.silhouette.unwrap() - 0.6).abs() < 1e-12);
        assert!((row.silhouette_spread.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(Row::from_replicates(4, &[replicate(0.5, 1.0)], false).silhouette_spread, None);
    }

    #[test]
    fn a_clear_winner_is_clear_and_spread_or_disagreement_makes_it_weak() {
        let rows = |spread: f64| {
            [(3, 0.60), (4, 0.66), (5, 0.61)]
                .map(|(k, s)| Row {
                    silhouette_spread: Some(spread),
                    ..Row::from_replicates(k, &[replicate(s, 1.0)], false)
                })
                .to_vec()
        };
        let clear = recommend(&rows(0.001), false, &[4, 4, 4]);
        assert_eq!((clear.k, clear.weak()), (4, false), "{clear:?}");
        let spread = recommend(&rows(0.03), false, &[4, 4, 4]);
        assert_eq!((spread.k, spread.weak()), (4, true));
        let disagree = recommend(&rows(0.001), false, &[4, 5, 4]);
        assert!(disagree.weak_reasons[0].contains("different ks"), "{disagree:?}");
    }

    #[test]
    fn a_mixture_with_components_at_the_floor_is_weak_evidence() {
        let mut rows: Vec<Row> = [(2, -100.0), (3, -300.0)]
            .map(|(k, bic)| Row::from_replicates(k, &[Replicate { bic: Some(bic), ..Replicate::default() }], true))
            .to_vec();
        assert!(!recommend(&rows, true, &[3]).weak());
        rows[1].at_floor = vec![FloorComponent { component: 1, features: vec![0] }];
        let rec = recommend(&rows, true, &[3]);
        assert_eq!(rec.k, 3);
        assert!(rec.weak_reasons[0].contains("--reg-covar floor"), "{rec:?}");
    }
}
