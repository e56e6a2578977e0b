//! Ward parameters as given ([`WardParams`]) and as checked ([`WardValidParams`]).

use crate::error::{Param, ParamError};

/// Exact mode up to this many rows; above it, two-level mode.
pub const EXACT_ROW_LIMIT: usize = 50_000;
/// Fewest micro-clusters two-level mode chooses by itself.
pub const MIN_DEFAULT_MICRO_CLUSTERS: usize = 2_000;
/// Most micro-clusters two-level mode chooses by itself.
pub const MAX_DEFAULT_MICRO_CLUSTERS: usize = 20_000;

/// Where the tree is cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cut {
    /// Into this many segments (the last k − 1 merges are undone).
    K(usize),
    /// Every merge at or above this height is undone (scikit-learn's `distance_threshold`):
    /// k = 1 + the number of merges whose height is ≥ it.
    Distance(f64),
}

impl Cut {
    /// The k asked for, if the cut is by k.
    pub fn k(&self) -> Option<usize> {
        match *self {
            Cut::K(k) => Some(k),
            Cut::Distance(_) => None,
        }
    }
}

/// Ward parameters as given; [`WardParams::check`] turns them into [`WardValidParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct WardParams {
    pub cut: Cut,
    /// Two-level mode with this many micro-clusters at any n (None: exact mode up to
    /// `exact_row_limit` rows, then [`default_micro_clusters`]).
    pub micro_clusters: Option<usize>,
    /// Exact mode up to this many rows.
    pub exact_row_limit: usize,
    /// Lloyd iterations of the micro-clustering K-Means.
    pub max_iter: usize,
    /// Seed of the micro-clustering K-Means (exact mode draws nothing).
    pub seed: u64,
    /// Consolidate the cut (move every leaf to its nearest segment centroid until none
    /// moves, see `consolidate`); `None`: in two-level mode only, so exact mode stays
    /// scikit-learn's cut.
    pub consolidate: Option<bool>,
}

/// Checked Ward parameters; they read as the [`WardParams`] they were checked from.
#[derive(Debug, Clone, PartialEq)]
pub struct WardValidParams(WardParams);

impl std::ops::Deref for WardValidParams {
    type Target = WardParams;

    fn deref(&self) -> &WardParams {
        &self.0
    }
}

/// The micro-clusters two-level mode makes of `rows` rows when not told: a tenth of the
/// rows, within 2,000–20,000 (and never more than the rows).
pub fn default_micro_clusters(rows: usize) -> usize {
    (rows / 10).clamp(MIN_DEFAULT_MICRO_CLUSTERS, MAX_DEFAULT_MICRO_CLUSTERS).min(rows)
}

impl WardParams {
    /// Exact mode up to [`EXACT_ROW_LIMIT`] rows, 20 micro-clustering iterations, seed 0,
    /// consolidation in two-level mode only.
    pub fn new(cut: Cut) -> Self {
        WardParams {
            cut,
            micro_clusters: None,
            exact_row_limit: EXACT_ROW_LIMIT,
            max_iter: 20,
            seed: 0,
            consolidate: None,
        }
    }

    /// Checks what can be checked without the data.
    pub fn check(&self) -> Result<WardValidParams, ParamError> {
        match self.cut {
            Cut::K(k) => ParamError::at_least(Param::K, k, 1)?,
            Cut::Distance(d) => ParamError::finite_non_negative(Param::DistanceThreshold, d)?,
        }
        if let Some(m) = self.micro_clusters {
            ParamError::at_least(Param::MicroClusters, m, 1)?;
        }
        ParamError::at_least(Param::MaxIter, self.max_iter, 1)?;
        Ok(WardValidParams(self.clone()))
    }
}

impl WardValidParams {
    /// The parameters as given, to change and check again.
    pub fn to_params(&self) -> WardParams {
        self.0.clone()
    }

    /// The same parameters with another seed.
    pub fn with_seed(&self, seed: u64) -> Self {
        WardValidParams(WardParams { seed, ..self.0.clone() })
    }

    /// Whether a tree built in `mode` has its cuts consolidated.
    pub fn consolidates(&self, mode: super::WardMode) -> bool {
        self.consolidate.unwrap_or(mode == super::WardMode::TwoLevel)
    }

    /// Micro-clusters for `rows` rows, or `None` for exact mode.
    pub fn micro_clusters_for(&self, rows: usize) -> Option<usize> {
        match self.micro_clusters {
            Some(m) => Some(m.min(rows)),
            None if rows > self.exact_row_limit => Some(default_micro_clusters(rows)),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_cuts_and_micro_cluster_counts_name_their_parameter() {
        assert_eq!(WardParams::new(Cut::K(0)).check().unwrap_err().param(), Param::K);
        for d in [-1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(WardParams::new(Cut::Distance(d)).check().unwrap_err().param(), Param::DistanceThreshold);
        }
        let zero = WardParams { micro_clusters: Some(0), ..WardParams::new(Cut::K(2)) };
        assert_eq!(zero.check().unwrap_err().param(), Param::MicroClusters);
    }

    #[test]
    fn two_level_mode_starts_past_the_limit_or_when_asked() {
        let p = WardParams::new(Cut::K(3)).check().unwrap();
        assert_eq!(p.micro_clusters_for(EXACT_ROW_LIMIT), None);
        assert_eq!(p.micro_clusters_for(EXACT_ROW_LIMIT + 1), Some(5_000));
        assert_eq!(p.micro_clusters_for(10_000_000), Some(MAX_DEFAULT_MICRO_CLUSTERS));
        let asked = WardParams { micro_clusters: Some(500), ..WardParams::new(Cut::K(3)) }.check().unwrap();
        assert_eq!((asked.micro_clusters_for(100), asked.micro_clusters_for(1000)), (Some(100), Some(500)));
        assert_eq!(default_micro_clusters(60_000), 6_000);
    }
}
