//! Judging segments: internal validity metrics, and agreement with known labels.

pub mod holdout;
pub mod metrics;
pub mod stability;

use std::collections::HashMap;

/// Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same rows:
/// 1 for identical partitions (up to renaming), about 0 for independent ones.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    assert_eq!(a.len(), b.len(), "labelings must cover the same rows");
    let n = a.len() as f64;
    let pairs = |x: f64| x * (x - 1.0) / 2.0;
    let mut joint: HashMap<(u32, u32), u64> = HashMap::new();
    let mut rows: HashMap<u32, u64> = HashMap::new();
    let mut cols: HashMap<u32, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1;
        *rows.entry(x).or_default() += 1;
        *cols.entry(y).or_default() += 1;
    }
    let index: f64 = joint.values().map(|&c| pairs(c as f64)).sum();
    let sum_a: f64 = rows.values().map(|&c| pairs(c as f64)).sum();
    let sum_b: f64 = cols.values().map(|&c| pairs(c as f64)).sum();
    let expected = sum_a * sum_b / pairs(n);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_partitions_score_one_whatever_the_names() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1, 2], &[5, 5, 3, 3, 9]), 1.0);
    }

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        // sklearn.metrics.adjusted_rand_score([0, 0, 1, 2], [0, 0, 1, 1]) == 0.5714285714285714
        // (scikit-learn 1.9.1)
        let ari = adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]);
        assert!((ari - 0.5714285714285715).abs() < 1e-12, "{ari}");
    }
}
