//! The best two-level subtree of a node, found exactly over binned thresholds: where greedy
//! Gini would spend its last two levels isolating one segment at a time, a joint search
//! finds the pair of splits that keeps the most rows in their own segment.
//!
//! Each feature's values at the node are cut at up to `bins − 1` quantile thresholds (the
//! shortest decimals between neighbouring values, as every threshold of the tree). One pass
//! counts rows per (feature, bin, feature, bin, segment); sums over that table give, for
//! every first split, the segment counts of every second split on each side.

use rayon::prelude::*;

use super::tree::{nice_threshold, Node};

/// Most table cells (feature × bin × feature × bin × segment) the search allocates.
const MAX_CELLS: usize = 4_000_000;
/// Most and fewest bins per feature.
const MAX_BINS: usize = 64;
const MIN_BINS: usize = 8;

/// A feature's thresholds at a node and each row's bin (rows with value ≤ thresholds[b]
/// and > thresholds[b − 1] are in bin b; the last bin holds the rest).
struct Binned {
    thresholds: Vec<f64>,
    bins: Vec<u16>,
}

fn bin_feature(column: &[f64], rows: &[usize], max_bins: usize) -> Binned {
    let mut sorted: Vec<f64> = rows.iter().map(|&r| column[r]).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let mut thresholds = Vec::new();
    for q in 1..max_bins {
        let at = q * sorted.len() / max_bins;
        if at == 0 || at >= sorted.len() {
            continue;
        }
        let t = nice_threshold(sorted[at - 1], sorted[at]);
        if thresholds.last().is_none_or(|&last| t > last) {
            thresholds.push(t);
        }
    }
    let bins = rows.iter().map(|&r| thresholds.partition_point(|&t| t < column[r]) as u16).collect();
    Binned { thresholds, bins }
}

/// The counts table[f][bf][g][bg][s] (flattened with per-feature offsets, as `cell` in
/// [`best_two_levels`] indexes it): rows in bin bf of feature f, bin bg of feature g and
/// segment s. Each feature's slab (its bins × every feature's bins × segments) is filled on
/// its own thread: the row-by-row increments are random accesses into a table of up to
/// [`MAX_CELLS`] cells, most of the tree's time; the counts do not depend on the threads.
fn count_table(binned: &[Binned], offset: &[usize], labels: &[u32], rows: &[usize], k: usize) -> Vec<u32> {
    let total_bins: usize = binned.iter().map(|b| b.thresholds.len() + 1).sum();
    let mut table = vec![0u32; total_bins * total_bins * k];
    let mut slabs = Vec::with_capacity(binned.len());
    let mut rest = table.as_mut_slice();
    for b in binned {
        let (slab, tail) = rest.split_at_mut((b.thresholds.len() + 1) * total_bins * k);
        slabs.push(slab);
        rest = tail;
    }
    // The table is symmetric (cell f, bf, g, bg counts what cell g, bg, f, bf does): count
    // g ≥ f, then copy the rest across.
    slabs.into_par_iter().enumerate().for_each(|(f, slab)| {
        for (i, &r) in rows.iter().enumerate() {
            let s = labels[r] as usize;
            let row = binned[f].bins[i] as usize * total_bins;
            for (g, &o) in offset.iter().enumerate().skip(f) {
                slab[(row + o + binned[g].bins[i] as usize) * k + s] += 1;
            }
        }
    });
    let width = |f: usize| binned[f].thresholds.len() + 1;
    let cell = |f: usize, bf: usize, g: usize, bg: usize| ((offset[f] + bf) * total_bins + offset[g] + bg) * k;
    for f in 1..binned.len() {
        for bf in 0..width(f) {
            for g in 0..f {
                for bg in 0..width(g) {
                    let (to, from) = (cell(f, bf, g, bg), cell(g, bg, f, bf));
                    table.copy_within(from..from + k, to);
                }
            }
        }
    }
    table
}

/// A split found by the search: feature, bin (left: bins ≤ it), and the rows it keeps in
/// their segment.
#[derive(Clone, Copy)]
struct Found {
    feature: usize,
    bin: usize,
    right_rows: u64,
}

/// The best depth-2 subtree of the node holding `rows`, as a tree, and the rows it keeps
/// in their segment; None when the table would be too large or no split is allowed.
pub fn best_two_levels(
    columns: &[Vec<f64>],
    labels: &[u32],
    k: usize,
    rows: &[usize],
    min_leaf: usize,
) -> Option<(Node, u64)> {
    let p = columns.len();
    let bins = ((MAX_CELLS as f64 / (p * p * k).max(1) as f64).sqrt() as usize).min(MAX_BINS);
    if bins < MIN_BINS || rows.len() < 2 * min_leaf {
        return None;
    }
    let binned: Vec<Binned> = columns.iter().map(|c| bin_feature(c, rows, bins)).collect();
    let width: Vec<usize> = binned.iter().map(|b| b.thresholds.len() + 1).collect();
    // table[f][bf][g][bg][s], flattened with per-feature offsets.
    let offset: Vec<usize> = width.iter().scan(0, |acc, w| Some(std::mem::replace(acc, *acc + w))).collect();
    let total_bins: usize = width.iter().sum();
    let cell = |f: usize, bf: usize, g: usize, bg: usize| ((offset[f] + bf) * total_bins + offset[g] + bg) * k;
    let table = count_table(&binned, &offset, labels, rows, k);
    // marginal[g][bg][s]: every row counted once per g (through f = g's diagonal).
    let marginal: Vec<u64> = (0..total_bins * k)
        .map(|i| {
            let (gb, s) = (i / k, i % k);
            let g = offset.iter().rposition(|&o| o <= gb).unwrap();
            table[cell(g, gb - offset[g], g, gb - offset[g]) + s] as u64
        })
        .collect();
    let mut best: Option<(u64, Found, Option<Found>, Option<Found>)> = None;
    let mut left = vec![0u64; total_bins * k];
    for f in 0..p {
        left.iter_mut().for_each(|v| *v = 0);
        for bf in 0..width[f] - 1 {
            for (g, &o) in offset.iter().enumerate() {
                for bg in 0..width[g] {
                    let at = cell(f, bf, g, bg);
                    for s in 0..k {
                        left[(o + bg) * k + s] += table[at + s] as u64;
                    }
                }
            }
            let right: Vec<u64> = marginal.iter().zip(&left).map(|(m, l)| m - l).collect();
            let (n_left, n_right) = (side_rows(&left, &width, k), side_rows(&right, &width, k));
            if n_left < min_leaf as u64 || n_right < min_leaf as u64 {
                continue;
            }
            let (kept_left, split_left) = best_one_level(&left, &width, &offset, k, min_leaf);
            let (kept_right, split_right) = best_one_level(&right, &width, &offset, k, min_leaf);
            let kept = kept_left + kept_right;
            if best.as_ref().is_none_or(|(b, ..)| kept > *b) {
                best = Some((kept, Found { feature: f, bin: bf, right_rows: n_right }, split_left, split_right));
            }
        }
    }
    let (kept, root, left_split, right_split) = best?;
    let threshold = |f: Found| binned[f.feature].thresholds[f.bin];
    let t = threshold(root);
    debug_assert!(root.right_rows > 0);
    let (left_rows, right_rows): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&r| columns[root.feature][r] <= t);
    let child = |rows: &[usize], split: Option<Found>| match split {
        None => leaf(labels, rows, k),
        Some(s) => {
            let ts = threshold(s);
            let (l, r): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| columns[s.feature][i] <= ts);
            Node::Split {
                column: s.feature,
                threshold: ts,
                left: Box::new(leaf(labels, &l, k)),
                right: Box::new(leaf(labels, &r, k)),
            }
        }
    };
    let node = Node::Split {
        column: root.feature,
        threshold: t,
        left: Box::new(child(&left_rows, left_split)),
        right: Box::new(child(&right_rows, right_split)),
    };
    Some((node, kept))
}

/// A leaf of `rows`: their segment counts and the most common segment (lowest on ties).
pub fn leaf(labels: &[u32], rows: &[usize], k: usize) -> Node {
    let mut counts = vec![0u64; k];
    rows.iter().for_each(|&r| counts[labels[r] as usize] += 1);
    let segment = (0..k).fold(0, |best, s| if counts[s] > counts[best] { s } else { best }) as u32;
    Node::Leaf { segment, counts }
}

/// Rows on one side (counted through the first feature's bins).
fn side_rows(counts: &[u64], width: &[usize], k: usize) -> u64 {
    counts[..width[0] * k].iter().sum()
}

/// The rows kept by the best single split (or none) of a node whose per-(feature, bin,
/// segment) counts are `counts`, and that split.
fn best_one_level(
    counts: &[u64],
    width: &[usize],
    offset: &[usize],
    k: usize,
    min_leaf: usize,
) -> (u64, Option<Found>) {
    let totals: Vec<u64> = (0..k).map(|s| (0..width[0]).map(|b| counts[b * k + s]).sum()).collect();
    let n: u64 = totals.iter().sum();
    let mut best = (totals.iter().copied().max().unwrap_or(0), None);
    let mut left = vec![0u64; k];
    for (g, &o) in offset.iter().enumerate() {
        left.iter_mut().for_each(|v| *v = 0);
        let mut n_left = 0u64;
        for bg in 0..width[g] - 1 {
            for s in 0..k {
                left[s] += counts[(o + bg) * k + s];
                n_left += counts[(o + bg) * k + s];
            }
            if n_left < min_leaf as u64 || n - n_left < min_leaf as u64 {
                continue;
            }
            let kept = left.iter().max().unwrap() + (0..k).map(|s| totals[s] - left[s]).max().unwrap();
            if kept > best.0 {
                best = (kept, Some(Found { feature: g, bin: bg, right_rows: n - n_left }));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::rules::tree::predict;

    #[test]
    fn the_counts_table_counts_every_pair_of_bins_whatever_the_threads() {
        let mut rng = crate::rng::Rng::new(7);
        let (n, p, k) = (3000, 4, 3);
        let columns: Vec<Vec<f64>> = (0..p).map(|_| (0..n).map(|_| (rng.normal() * 4.0).round()).collect()).collect();
        let labels: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
        let rows: Vec<usize> = (0..n).filter(|i| i % 5 != 0).collect();
        let binned: Vec<Binned> = columns.iter().map(|c| bin_feature(c, &rows, 8)).collect();
        let width: Vec<usize> = binned.iter().map(|b| b.thresholds.len() + 1).collect();
        let offset: Vec<usize> = width.iter().scan(0, |acc, w| Some(std::mem::replace(acc, *acc + w))).collect();
        let total: usize = width.iter().sum();
        let mut naive = vec![0u32; total * total * k];
        for (i, &r) in rows.iter().enumerate() {
            for f in 0..p {
                for g in 0..p {
                    let (bf, bg) = (binned[f].bins[i] as usize, binned[g].bins[i] as usize);
                    naive[((offset[f] + bf) * total + offset[g] + bg) * k + labels[r] as usize] += 1;
                }
            }
        }
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let table = pool.install(|| count_table(&binned, &offset, &labels, &rows, k));
            assert_eq!(table, naive, "{threads} threads");
        }
    }

    #[test]
    fn two_levels_are_chosen_together_where_greedy_gini_isolates_one_segment_first() {
        // Along x: segments 2 | 0 | 1 | 3 with 2 and 3 large; y splits the middle pair.
        // The best pair of splits is x ≤ 20 then x ≤ 10 / (y or x) — all four kept.
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for i in 0..400 {
            let v = i as f64 / 10.0;
            x.push(v);
            labels.push(if v < 10.0 {
                2
            } else if v < 15.0 {
                0
            } else if v < 20.0 {
                1
            } else {
                3
            });
        }
        let rows: Vec<usize> = (0..x.len()).collect();
        let (tree, kept) = best_two_levels(std::slice::from_ref(&x), &labels, 4, &rows, 1).unwrap();
        assert_eq!(kept, 400, "{tree:?}");
        assert!((0..400).all(|i| predict(&tree, &|_| x[i]) == labels[i]));
    }
}
