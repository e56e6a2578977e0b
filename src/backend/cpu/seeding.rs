//! The CPU's k-means++ passes: every row's exact squared distance to a handful of
//! candidates at once, candidates packed in blocks of 16 lanes (`[block][dim][lane]`) so one
//! row meets all of them in one read, and the potentials Σ w·min(min_sq, d²) summed in f64.
//!
//! A distance accumulates `fma(t, t, ·)` with t = x_j − c_j for each feature j in order, the
//! same bits whichever candidate lane it sits in, so the distance that chose a candidate and
//! the one folded into the minimum distances afterwards are equal. Four rows are computed
//! together (independent chains of multiply-adds: one row's chain is latency-bound), and
//! rows that the step's pruning table settles (`seed_bounds.rs`) are not read at all: they
//! add min_sq for every candidate, in row order like the others. The body is compiled for
//! AVX-512, AVX2 + FMA and the baseline and chosen at run time, as the Lloyd pass is.

use super::nearest::{Kernel, LANES};
use super::seed_bounds::PruneTable;
use crate::backend::Centres;

/// Candidates transposed into blocks of [`LANES`]; padding lanes are zero (their distances
/// are computed and ignored).
pub(super) struct PackedCandidates {
    dim: usize,
    /// Real candidates.
    pub(super) count: usize,
    n_blocks: usize,
    lanes: Vec<f32>,
}

impl PackedCandidates {
    pub(super) fn new(candidates: &Centres) -> Self {
        let (count, dim) = (candidates.k, candidates.dim);
        let n_blocks = count.div_ceil(LANES);
        let mut lanes = vec![0.0f32; n_blocks * dim * LANES];
        for c in 0..count {
            let (b, lane) = (c / LANES, c % LANES);
            for (j, &v) in candidates.centre(c).iter().enumerate() {
                lanes[(b * dim + j) * LANES + lane] = v;
            }
        }
        PackedCandidates { dim, count, n_blocks, lanes }
    }
}

/// One chunk's rows for a seeding pass.
pub(super) struct SeedRows<'a> {
    pub values: &'a [f32],
    /// Per-row weights, or `None` when every row weighs 1.
    pub weights: Option<&'a [f32]>,
    /// Squared distance of each row to its nearest chosen centre so far.
    pub min_sq: &'a [f32],
    /// This step's pruning table and each row's nearest chosen centre: rows it prunes keep
    /// `min_sq` for every candidate without their values being read.
    pub prune: Option<(&'a PruneTable, &'a [u32])>,
}

/// The rows of one chunk whose distances a seeding pass computed (the others were pruned:
/// their min(min_sq, d²) is min_sq for every candidate) and their min(min_sq, d²) per
/// candidate (`rows.len() × count`).
#[derive(Debug, Default)]
pub(super) struct KeptRows {
    pub rows: Vec<u32>,
    pub mins: Vec<f32>,
}

impl KeptRows {
    /// `min_sq[row] = kept min(min_sq, d²)` of candidate `which` for the kept rows; where it
    /// is lower, `nearest[row] = index`.
    pub fn fold(&self, count: usize, which: usize, min_sq: &mut [f32], nearest: Option<(&mut [u32], u32)>) {
        let mins = self.mins.chunks_exact(count).map(|m| m[which]);
        match nearest {
            Some((nearest, index)) => {
                for (&r, m) in self.rows.iter().zip(mins) {
                    if m < min_sq[r as usize] {
                        nearest[r as usize] = index;
                    }
                    min_sq[r as usize] = m;
                }
            }
            None => self.rows.iter().zip(mins).for_each(|(&r, m)| min_sq[r as usize] = m),
        }
    }
}

/// For each candidate, Σ w·min(min_sq, ‖x − candidate‖²) over the rows (f64, row order).
/// With `kept` (emptied first), also stores the computed rows' min(min_sq, d²) per
/// candidate, so the winner's distances need no second pass over the data.
pub(super) fn potentials(
    kernel: Kernel,
    rows: SeedRows,
    packed: &PackedCandidates,
    mut kept: Option<&mut KeptRows>,
) -> Vec<f64> {
    if let Some(kept) = kept.as_deref_mut() {
        kept.rows.clear();
        kept.mins.clear();
    }
    match kernel {
        // SAFETY: `Kernel::detect` chose these only where the CPU has the features.
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => unsafe { potentials_avx512(rows, packed, kept) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma => unsafe { potentials_avx2(rows, packed, kept) },
        _ => potentials_body(rows, packed, kept),
    }
}

/// `min_sq[i] = min(min_sq[i], ‖x_i − centre‖²)` for every row of `values`, with the
/// distances of [`potentials`] (bit for bit); with `nearest`, `nearest[i] = index` where
/// the centre is strictly nearer.
pub(super) fn fold_min_sq(
    kernel: Kernel,
    values: &[f32],
    centre: &[f32],
    min_sq: &mut [f32],
    nearest: Option<(&mut [u32], u32)>,
) {
    let packed = PackedCandidates::new(&Centres::new(1, centre.len(), centre.to_vec()));
    let rows = SeedRows { values, weights: None, min_sq, prune: None };
    let mut kept = KeptRows::default();
    potentials(kernel, rows, &packed, Some(&mut kept));
    kept.fold(1, 0, min_sq, nearest);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn potentials_avx512(rows: SeedRows, packed: &PackedCandidates, kept: Option<&mut KeptRows>) -> Vec<f64> {
    potentials_body(rows, packed, kept)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn potentials_avx2(rows: SeedRows, packed: &PackedCandidates, kept: Option<&mut KeptRows>) -> Vec<f64> {
    potentials_body(rows, packed, kept)
}

/// Rows a seeding pass takes at a time: first which need distances, then their distances
/// (into a buffer of 64 KiB at most per block of candidates), then the sums in row order.
const ROW_BLOCK: usize = 256;
/// Rows whose distances are computed together: independent chains of fused multiply-adds,
/// so one row's chain does not wait for the last one's latency.
const ROW_GROUP: usize = 4;

#[inline(always)]
fn potentials_body(rows: SeedRows, packed: &PackedCandidates, mut kept: Option<&mut KeptRows>) -> Vec<f64> {
    let (dim, count, stride) = (packed.dim, packed.count, packed.n_blocks * LANES);
    let mut sums = vec![0.0f64; stride];
    let mut computed = [false; ROW_BLOCK];
    let mut todo = [0usize; ROW_BLOCK];
    let mut mins = vec![0.0f32; ROW_BLOCK * stride];
    for start in (0..rows.min_sq.len()).step_by(ROW_BLOCK) {
        let end = (start + ROW_BLOCK).min(rows.min_sq.len());
        // 1. The rows no pruning settles (all of them without a table).
        let mut n_todo = 0;
        for i in start..end {
            let pruned = rows.prune.is_some_and(|(table, nearest)| table.prunes(nearest[i], rows.min_sq[i]));
            computed[i - start] = !pruned;
            todo[n_todo] = i;
            n_todo += usize::from(!pruned);
        }
        // 2. Their min(min_sq, d²) per candidate lane, `ROW_GROUP` rows at a time.
        let mut t = 0;
        while t < n_todo {
            let group = ROW_GROUP.min(n_todo - t);
            for b in 0..packed.n_blocks {
                let block = &packed.lanes[b * dim * LANES..(b + 1) * dim * LANES];
                // Rows past the group's end repeat its last row; their lanes are not kept.
                let rows_at = |r: usize| todo[t + r.min(group - 1)];
                let acc = group_distances(rows.values, dim, block, std::array::from_fn(rows_at));
                for (r, acc) in acc.iter().enumerate().take(group) {
                    let m = rows.min_sq[rows_at(r)];
                    let out = &mut mins[(t + r) * stride + b * LANES..][..LANES];
                    for l in 0..LANES {
                        out[l] = m.min(acc[l]);
                    }
                }
            }
            t += group;
        }
        // 3. The potentials in row order; pruned rows add min_sq for every candidate.
        let mut t = 0;
        for i in start..end {
            let w = rows.weights.map_or(1.0, |w| w[i] as f64);
            if computed[i - start] {
                let row_mins = &mins[t * stride..(t + 1) * stride];
                for (s, &v) in sums.iter_mut().zip(row_mins) {
                    *s += w * v as f64;
                }
                if let Some(kept) = kept.as_deref_mut() {
                    kept.rows.push(i as u32);
                    kept.mins.extend_from_slice(&row_mins[..count]);
                }
                t += 1;
            } else {
                let m = rows.min_sq[i] as f64;
                for s in &mut sums[..count] {
                    *s += w * m;
                }
            }
        }
    }
    sums.truncate(count);
    sums
}

/// ‖x − c‖² for [`ROW_GROUP`] rows (`row` indices into `values`) and one block of
/// [`LANES`] candidates: `fma(t, t, acc)` with t = x_j − c_j in feature order per lane, the
/// rows' chains interleaved.
#[inline(always)]
fn group_distances(values: &[f32], dim: usize, block: &[f32], row: [usize; ROW_GROUP]) -> [[f32; LANES]; ROW_GROUP] {
    let xs = row.map(|r| &values[r * dim..(r + 1) * dim]);
    let mut acc = [[0.0f32; LANES]; ROW_GROUP];
    for (j, c) in block.chunks_exact(LANES).enumerate() {
        for r in 0..ROW_GROUP {
            let xj = xs[r][j];
            for l in 0..LANES {
                let t = xj - c[l];
                acc[r][l] = t.mul_add(t, acc[r][l]);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::distance::sq_dist;
    use crate::rng::Rng;

    #[test]
    fn potentials_match_exact_distances_and_every_kernel_agrees() {
        let (n, d, count) = (37, 7, 19);
        let mut rng = Rng::new(3);
        let values: Vec<f32> = (0..n * d).map(|_| rng.normal() as f32).collect();
        let cand: Vec<f32> = (0..count * d).map(|_| rng.normal() as f32).collect();
        let weights: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
        let min_sq: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let candidates = Centres::new(count, d, cand);
        let packed = PackedCandidates::new(&candidates);
        let rows = || SeedRows { values: &values, weights: Some(&weights), min_sq: &min_sq, prune: None };
        let mut kept = KeptRows::default();
        let portable = potentials(Kernel::Portable, rows(), &packed, Some(&mut kept));
        for (c, &p) in portable.iter().enumerate() {
            let want: f64 = (0..n)
                .map(|i| {
                    weights[i] as f64 * min_sq[i].min(sq_dist(&values[i * d..(i + 1) * d], candidates.centre(c))) as f64
                })
                .sum();
            assert!((p - want).abs() <= 1e-5 * want, "candidate {c}: {p} vs {want}");
        }
        let fast = potentials(Kernel::detect(), rows(), &packed, None);
        assert_eq!(fast, portable, "{:?} and the portable kernel disagree", Kernel::detect());
        // The kept minimum of candidate 5 is what folding candidate 5 in gives.
        let mut folded = min_sq.clone();
        fold_min_sq(Kernel::detect(), &values, candidates.centre(5), &mut folded, None);
        assert_eq!(kept.rows, (0..n as u32).collect::<Vec<_>>());
        let column: Vec<f32> = (0..n).map(|i| kept.mins[i * count + 5]).collect();
        assert_eq!(folded, column);
    }
}
