//! The training rows' distribution per feature, stored in the model so later runs can
//! measure drift against it (the continuity module computes and compares it).

use serde::{Deserialize, Serialize};

use crate::prep::Prep;

/// The training rows' distribution, feature by feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReference {
    pub rows: u64,
    pub numeric: Vec<NumericReference>,
    pub categorical: Vec<CategoricalReference>,
}

/// A numeric feature in original units: bin `i` holds values with `i` edges ≤ them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericReference {
    pub feature: String,
    pub min: f64,
    pub max: f64,
    /// Increasing decile edges (tied deciles merged).
    pub edges: Vec<f64>,
    /// Share of the training rows per bin (`edges.len() + 1`).
    pub shares: Vec<f64>,
}

/// A categorical feature: each level's share, then the share of rows with no level seen
/// in training (`unseen`, 0 for the training rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalReference {
    pub feature: String,
    pub levels: Vec<String>,
    /// `levels.len() + 1` shares.
    pub shares: Vec<f64>,
}

impl DriftReference {
    /// Checks the reference against the model's prep: `Err((field, problem))`.
    pub fn validate(&self, prep: &Prep) -> Result<(), (String, String)> {
        let fail = |field: String, problem: &str| Err((field, problem.to_string()));
        if self.numeric.len() != prep.numeric.len()
            || self.numeric.iter().zip(&prep.numeric).any(|(r, c)| r.feature != c.name)
        {
            return fail("numeric".into(), "does not list the prep's numeric features");
        }
        if self.categorical.len() != prep.categorical.len()
            || self.categorical.iter().zip(&prep.categorical).any(|(r, c)| r.feature != c.name || r.levels != c.levels)
        {
            return fail("categorical".into(), "does not list the prep's categorical features and levels");
        }
        let check_shares = |field: String, shares: &[f64], want: usize| {
            if shares.len() != want {
                return fail(field, "has the wrong number of bins");
            }
            if shares.iter().any(|s| !(s.is_finite() && (0.0..=1.0).contains(s))) {
                return fail(field, "holds a share outside [0, 1]");
            }
            let sum: f64 = shares.iter().sum();
            if self.rows > 0 && (sum - 1.0).abs() > 1e-6 {
                return fail(field, "does not sum to 1");
            }
            Ok(())
        };
        for (i, r) in self.numeric.iter().enumerate() {
            if !(r.min.is_finite() && r.max.is_finite() && r.min <= r.max) {
                return fail(format!("numeric[{i}].min"), "and max are not a finite range");
            }
            if r.edges.iter().any(|e| !e.is_finite()) || r.edges.windows(2).any(|w| w[0] >= w[1]) {
                return fail(format!("numeric[{i}].edges"), "are not finite and increasing");
            }
            check_shares(format!("numeric[{i}].shares"), &r.shares, r.edges.len() + 1)?;
        }
        for (i, r) in self.categorical.iter().enumerate() {
            check_shares(format!("categorical[{i}].shares"), &r.shares, r.levels.len() + 1)?;
        }
        Ok(())
    }
}
