//! The holdout of `fit --holdout FRACTION`: which customers are held out (a seeded hash of
//! their id, so a customer stays on the same side every night whatever the row order), and
//! how well the segments fitted on the other rows carry over to them — prediction strength
//! (Tibshirani & Walther 2005) next to the adjusted Rand index.

use std::collections::HashMap;

use arrow::array::{Array, ArrayRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Error, Result};
use crate::rng::Rng;

/// FNV-1a over the bytes of an id's text: stable across platforms and versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Whether the customer with this id (as text) is held out: a uniform number drawn from
/// the id's hash and `seed` falls below `fraction`.
pub fn is_held_out(id: &str, fraction: f64, seed: u64) -> bool {
    Rng::derive(seed, fnv1a(id.as_bytes())).uniform() < fraction
}

/// For each row of an id column, whether it is held out. Ids are hashed as the text Arrow
/// displays them, so the same id reads the same from Parquet and CSV.
pub fn held_out_rows(ids: &ArrayRef, fraction: f64, seed: u64) -> Result<Vec<bool>> {
    let formatter = ArrayFormatter::try_new(ids.as_ref(), &FormatOptions::default())
        .map_err(|e| Error::Internal(format!("formatting ids for the holdout: {e}")))?;
    Ok((0..ids.len()).map(|i| is_held_out(&formatter.value(i).to_string(), fraction, seed)).collect())
}

/// Prediction strength of `predicted` (the held-out rows' segments under the model fitted
/// on the other rows) against `own` (their segments under a fit on themselves alone):
/// over the segments of `own` with at least two rows, the smallest share of their pairs
/// of rows that `predicted` also puts together (Tibshirani & Walther 2005, eq. 2.1).
/// 1 when every own segment stays together; near 1/k when the structure is not real.
/// None when no own segment has two rows.
pub fn prediction_strength(predicted: &[u32], own: &[u32]) -> Option<f64> {
    let mut sizes: HashMap<u32, u64> = HashMap::new();
    let mut both: HashMap<(u32, u32), u64> = HashMap::new();
    for (&p, &o) in predicted.iter().zip(own) {
        *sizes.entry(o).or_default() += 1;
        *both.entry((o, p)).or_default() += 1;
    }
    let pairs = |n: u64| (n * n.saturating_sub(1) / 2) as f64;
    let mut together: HashMap<u32, f64> = HashMap::new();
    for (&(o, _), &n) in &both {
        *together.entry(o).or_default() += pairs(n);
    }
    sizes.iter().filter(|(_, &n)| n >= 2).map(|(o, &n)| together[o] / pairs(n)).min_by(|a, b| a.total_cmp(b))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{StringArray, UInt64Array};

    use super::*;

    #[test]
    fn the_split_depends_on_the_id_and_seed_only() {
        let ids: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e", "f", "g", "h"]));
        let reversed: ArrayRef = Arc::new(StringArray::from(vec!["h", "g", "f", "e", "d", "c", "b", "a"]));
        let forward = held_out_rows(&ids, 0.5, 7).unwrap();
        let mut backward = held_out_rows(&reversed, 0.5, 7).unwrap();
        backward.reverse();
        assert_eq!(forward, backward);
        let numbers: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..20_000));
        let held = held_out_rows(&numbers, 0.2, 7).unwrap().iter().filter(|&&h| h).count();
        assert!((held as f64 / 20_000.0 - 0.2).abs() < 0.01, "{held}");
        assert_ne!(held_out_rows(&numbers, 0.2, 8).unwrap(), held_out_rows(&numbers, 0.2, 7).unwrap());
    }

    #[test]
    fn prediction_strength_is_the_worst_segments_share_of_pairs_kept_together() {
        // Own segment 0 (4 rows) is split 2 + 2 by the prediction: 2 of its 6 pairs stay
        // together; own segment 1 (3 rows) stays whole.
        let own = [0, 0, 0, 0, 1, 1, 1];
        let predicted = [5, 5, 6, 6, 7, 7, 7];
        assert_eq!(prediction_strength(&predicted, &own), Some(2.0 / 6.0));
        assert_eq!(prediction_strength(&[1, 1, 2], &[0, 0, 0]), Some(1.0 / 3.0));
        assert_eq!(prediction_strength(&[0, 1], &[0, 1]), None);
    }
}
