//! Distance helpers both backends share: exact squared distances and norms with a fixed
//! summation order (so every caller gets the same bits), and the farthest-row selection
//! that re-seeds empty clusters.

use super::Centres;

/// ‖a − b‖², exact (no norm expansion), with a fixed summation order.
#[inline(always)]
pub fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    for (l, (x, y)) in ca.remainder().iter().zip(cb.remainder()).enumerate() {
        let t = x - y;
        acc[l] += t * t;
    }
    tree_sum8(acc)
}

/// ‖a‖² in the same summation order as [`sq_dist`] (`sq_norm(a) == sq_dist(a, 0)`, bit for bit).
#[inline]
pub fn sq_norm(a: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let mut chunks = a.chunks_exact(8);
    for c in &mut chunks {
        for l in 0..8 {
            acc[l] += c[l] * c[l];
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        acc[l] += v * v;
    }
    tree_sum8(acc)
}

/// ‖c‖² of every centre, in centre order: the constant of the score ‖c‖² − 2x·c that ranks
/// centres in the nearest-centre kernels.
pub fn centre_norms(centres: &Centres) -> Vec<f32> {
    (0..centres.k).map(|c| sq_norm(centres.centre(c))).collect()
}

#[inline(always)]
fn tree_sum8(a: [f32; 8]) -> f32 {
    ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]))
}

/// Keeps the `m` entries `(squared distance, row, label)` with the largest distance (lowest
/// row on ties), sorted that way.
pub fn keep_farthest(entries: &mut Vec<(f32, usize, u32)>, m: usize) {
    let order = |a: &(f32, usize, u32), b: &(f32, usize, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if entries.len() > m && m > 0 {
        entries.select_nth_unstable_by(m - 1, order);
    }
    entries.truncate(m);
    entries.sort_unstable_by(order);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norm_is_the_distance_to_the_origin_bit_for_bit() {
        let a: Vec<f32> = (0..19).map(|i| (i as f32 * 0.37).sin() * 1e3).collect();
        assert_eq!(sq_norm(&a).to_bits(), sq_dist(&a, &vec![0.0; a.len()]).to_bits());
    }

    #[test]
    fn farthest_entries_come_first_then_the_lowest_row() {
        let mut entries = vec![(1.0, 0, 0), (9.0, 3, 1), (9.0, 1, 2), (4.0, 2, 0)];
        keep_farthest(&mut entries, 3);
        assert_eq!(entries, vec![(9.0, 1, 2), (9.0, 3, 1), (4.0, 2, 0)]);
    }
}
