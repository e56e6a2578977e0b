//! Lloyd statistics of consecutive rows from their labels: per-cluster Σ w·x, Σ w, counts, each row's
//! exact squared distance to its centre, inertia and changed labels.
//!
//! The same code is compiled for AVX-512, AVX2 and the baseline and chosen at run time with
//! the nearest-centre kernel. Rust never fuses a multiply and an add on its own, so every
//! version computes the same bits; the wider ones only take fewer instructions.

use super::nearest::Kernel;
use crate::backend::distance::sq_dist;
use crate::backend::{Centres, LloydStats};

/// Consecutive rows of a chunk with their labels from this pass, the labels of the previous
/// pass and the squared distances to update.
pub(super) struct Rows<'a> {
    pub values: &'a [f32],
    /// Per-row weights, or `None` when every row weighs 1.
    pub weights: Option<&'a [f32]>,
    pub labels: &'a [u32],
    pub previous: &'a mut [u32],
    pub dist2: &'a mut [f32],
}

/// Adds the statistics of `rows` to `stats`; updates `previous` (labels) and `dist2`.
pub(super) fn add_stats(kernel: Kernel, rows: Rows, centres: &Centres, stats: &mut LloydStats) {
    match kernel {
        // SAFETY: `Kernel::detect` chose these only where the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { add_stats_avx512(rows, centres, stats) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { add_stats_avx2(rows, centres, stats) },
        _ => add_stats_body(rows, centres, stats),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn add_stats_avx512(rows: Rows, centres: &Centres, stats: &mut LloydStats) {
    add_stats_body(rows, centres, stats)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_stats_avx2(rows: Rows, centres: &Centres, stats: &mut LloydStats) {
    add_stats_body(rows, centres, stats)
}

#[inline(always)]
fn add_stats_body(rows: Rows, centres: &Centres, stats: &mut LloydStats) {
    let dim = centres.dim;
    let each = rows.values.chunks_exact(dim).zip(rows.labels).zip(rows.previous.iter_mut().zip(rows.dist2.iter_mut()));
    for (i, ((x, &label), (previous, dist2))) in each.enumerate() {
        let c = label as usize;
        if *previous != label {
            stats.changed += 1;
            *previous = label;
        }
        let sums = &mut stats.sums[c * dim..(c + 1) * dim];
        *dist2 = sq_dist(x, centres.centre(c));
        stats.counts[c] += 1;
        match rows.weights {
            // Unweighted rows skip the multiply by 1 (w·v = v exactly).
            None => {
                stats.weights[c] += 1.0;
                for (s, &v) in sums.iter_mut().zip(x) {
                    *s += v as f64;
                }
                stats.inertia += *dist2 as f64;
            }
            Some(weights) => {
                let w = weights[i] as f64;
                stats.weights[c] += w;
                for (s, &v) in sums.iter_mut().zip(x) {
                    *s += w * v as f64;
                }
                stats.inertia += w * *dist2 as f64;
            }
        }
    }
}
