//! The silhouette's pairwise pass on the CPU as blocked dot products: for every point i and
//! label c, Σ ‖x_i − x_j‖ over label c's points j ≠ i, from ‖x‖² + ‖y‖² − 2x·y (clamped at
//! 0), its square root, and one running sum per point and label.
//!
//! Layout. Each label's points, minus that label's centre, are packed into blocks of
//! [`LANES`] points (`[feature][lane]`), padding lanes weighted 0. A parallel task takes
//! [`TILE_ROWS`] points i; for each label it shifts them by the same centre and walks the
//! label's blocks [`CHUNK_BLOCKS`] at a time (a chunk stays in L1 while every row group of
//! the tile uses it); a row group of [`ROWS`] points × one block of [`LANES`] is the
//! register block.
//!
//! Precision. Shifting both sides by the centre of y's label keeps the norms close to the
//! distances, so the expansion loses little to cancellation. Pairs whose expanded d² is
//! below [`NEAR`] × (‖x‖² + ‖y‖²) — duplicates, the point itself, near neighbours — are
//! recomputed exactly from the differences in f64, so they are never noise. Sums are kept
//! in f64.
//!
//! Determinism. Every point's sums are computed in a fixed order whatever the threads; the
//! AVX2 path fuses multiply and add (chosen at run time where the CPU has AVX2 and FMA), the
//! portable path does not, so results are "same CPU kind, same bytes".

#[cfg(target_arch = "x86_64")]
mod x86;

use std::ops::Range;

use rayon::prelude::*;

/// Points of a label per packed block: two ymm registers of f32 with AVX2.
const LANES: usize = 16;
/// Points i per register block.
const ROWS: usize = 4;
/// Points i per parallel task (a cache tile).
const TILE_ROWS: usize = 64;
/// Blocks of a label walked by every row group of a tile before the next ones.
const CHUNK_BLOCKS: usize = 32;
/// Pairs whose expanded d² is below this fraction of ‖x‖² + ‖y‖² are recomputed exactly.
const NEAR: f32 = 1e-2;

/// For every point i and label c, Σ ‖x_i − x_j‖ over label c's points j ≠ i, as
/// `sums[i · k + c]`; `points` is row-major `m × dim`, grouped by label (label c's points
/// are `ranges[c].0..ranges[c].1`).
pub fn pair_sums(points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Vec<f64> {
    let k = ranges.len();
    let m = points.len().checked_div(dim).unwrap_or(0);
    let mut sums = vec![0.0f64; m * k];
    if m == 0 || k == 0 {
        return sums;
    }
    let packed = Packed::new(points, dim, ranges);
    let isa = Isa::detect();
    sums.par_chunks_mut(TILE_ROWS * k).enumerate().for_each(|(t, out)| {
        tile_sums(isa, points, &packed, t * TILE_ROWS, out);
    });
    sums
}

/// Every label's points minus the label's centre, in blocks of [`LANES`].
struct Packed {
    dim: usize,
    /// Per label: its centre (f64, `dim` values) and its blocks' range.
    centres: Vec<f64>,
    blocks: Vec<(usize, usize)>,
    /// `blocks × dim` rows of lanes: feature f of block b is `values[b · dim + f]`.
    values: Vec<[f32; LANES]>,
    /// Per block: ‖y‖² of each lane (0 in padding), its weight (1, or 0 in padding), and
    /// the lane's point index (for the exact recomputation).
    norms: Vec<[f32; LANES]>,
    weights: Vec<[f32; LANES]>,
    index: Vec<[usize; LANES]>,
}

impl Packed {
    fn new(points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Packed {
        let n_blocks: usize = ranges.iter().map(|&(a, b)| (b - a).div_ceil(LANES)).sum();
        let mut packed = Packed {
            dim,
            centres: Vec::with_capacity(ranges.len() * dim),
            blocks: Vec::with_capacity(ranges.len()),
            values: vec![[0.0; LANES]; n_blocks * dim],
            norms: vec![[0.0; LANES]; n_blocks],
            weights: vec![[0.0; LANES]; n_blocks],
            index: vec![[usize::MAX; LANES]; n_blocks],
        };
        let mut block = 0;
        let mut shifted = vec![0.0f32; dim];
        for &(start, end) in ranges {
            let centre = centre(&points[start * dim..end * dim], dim);
            let first = block;
            for (p, j) in (start..end).enumerate() {
                let (b, lane) = (first + p / LANES, p % LANES);
                shift(&points[j * dim..(j + 1) * dim], &centre, &mut shifted);
                for (f, &v) in shifted.iter().enumerate() {
                    packed.values[b * dim + f][lane] = v;
                }
                packed.norms[b][lane] = sq_norm(&shifted);
                packed.weights[b][lane] = 1.0;
                packed.index[b][lane] = j;
            }
            block += (end - start).div_ceil(LANES);
            packed.blocks.push((first, block));
            packed.centres.extend(centre);
        }
        packed
    }
}

/// Mean of row-major `dim`-column rows, in f64 (zeros when there are none).
fn centre(rows: &[f32], dim: usize) -> Vec<f64> {
    let mut sum = vec![0.0f64; dim];
    for row in rows.chunks_exact(dim) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += v as f64;
        }
    }
    let n = (rows.len() / dim).max(1) as f64;
    sum.iter().map(|s| s / n).collect()
}

/// `out = x − centre`, each difference taken in f64 and rounded once.
fn shift(x: &[f32], centre: &[f64], out: &mut [f32]) {
    for ((o, &v), &c) in out.iter_mut().zip(x).zip(centre) {
        *o = (v as f64 - c) as f32;
    }
}

/// ‖x‖² in f32, in feature order.
fn sq_norm(x: &[f32]) -> f32 {
    x.iter().map(|v| v * v).sum()
}

/// ‖a − b‖ in f64 from the differences: the exact path for near pairs.
fn exact_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum::<f64>().sqrt()
}

/// The sums of points `first..first + out.len() / k` into `out` (`rows × k`).
fn tile_sums(isa: Isa, points: &[f32], packed: &Packed, first: usize, out: &mut [f64]) {
    let (dim, k) = (packed.dim, packed.blocks.len());
    let m = points.len() / dim;
    let rows = out.len() / k;
    let groups = rows.div_ceil(ROWS);
    // Row group g's shifted points, transposed: feature f of its rows is `xs[g · dim + f]`.
    let mut xs = vec![[0.0f32; ROWS]; groups * dim];
    let mut norms = vec![[0.0f32; ROWS]; groups];
    let mut acc = vec![[[0.0f64; LANES]; ROWS]; groups];
    let mut shifted = vec![0.0f32; dim];
    for (c, &(b0, b1)) in packed.blocks.iter().enumerate() {
        let centre = &packed.centres[c * dim..(c + 1) * dim];
        for r in 0..groups * ROWS {
            let (g, lane) = (r / ROWS, r % ROWS);
            if r < rows {
                let i = first + r;
                shift(&points[i * dim..(i + 1) * dim], centre, &mut shifted);
            } else {
                shifted.fill(0.0);
            }
            for (f, &v) in shifted.iter().enumerate() {
                xs[g * dim + f][lane] = v;
            }
            norms[g][lane] = sq_norm(&shifted);
        }
        acc.iter_mut().for_each(|a| *a = [[0.0; LANES]; ROWS]);
        for chunk in (b0..b1).step_by(CHUNK_BLOCKS) {
            let blocks = chunk..(chunk + CHUNK_BLOCKS).min(b1);
            for g in 0..groups {
                let group = Group {
                    xs: &xs[g * dim..(g + 1) * dim],
                    norms: &norms[g],
                    // Padding rows (past the tile's end) take no exact path.
                    rows: std::array::from_fn(
                        |r| if first + g * ROWS + r < m { first + g * ROWS + r } else { usize::MAX },
                    ),
                    points,
                };
                isa.run(&group, packed, blocks.clone(), &mut acc[g]);
            }
        }
        for r in 0..rows {
            out[r * k + c] = acc[r / ROWS][r % ROWS].iter().sum();
        }
    }
}

/// One register block's points i: shifted and transposed, their norms, their indices.
struct Group<'a> {
    xs: &'a [[f32; ROWS]],
    norms: &'a [f32; ROWS],
    rows: [usize; ROWS],
    points: &'a [f32],
}

impl Group<'_> {
    /// ‖x_r − y_j‖ from the original points (0 for the point itself).
    fn exact(&self, r: usize, j: usize, dim: usize) -> f64 {
        let i = self.rows[r];
        if i == usize::MAX || i == j {
            return 0.0;
        }
        exact_distance(&self.points[i * dim..(i + 1) * dim], &self.points[j * dim..(j + 1) * dim])
    }
}

/// The instruction set the kernel runs with, detected once per pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Isa {
    fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                return Isa::Avx2Fma;
            }
        }
        Isa::Portable
    }

    fn run(self, group: &Group, packed: &Packed, blocks: Range<usize>, acc: &mut [[f64; LANES]; ROWS]) {
        match self {
            Isa::Portable => group_blocks(group, packed, blocks, acc),
            // SAFETY: `detect` chose these only where the CPU has the features.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { x86::group_blocks_avx2(group, packed, blocks, acc) },
        }
    }
}

/// The register block, portable: [`ROWS`] points × each block of `blocks`, distances
/// added to `acc` (no fused multiply-add).
fn group_blocks(group: &Group, packed: &Packed, blocks: Range<usize>, acc: &mut [[f64; LANES]; ROWS]) {
    let dim = packed.dim;
    for b in blocks {
        let ys = &packed.values[b * dim..(b + 1) * dim];
        let mut dot = [[0.0f32; LANES]; ROWS];
        for (x, y) in group.xs.iter().zip(ys) {
            for r in 0..ROWS {
                for l in 0..LANES {
                    dot[r][l] += x[r] * y[l];
                }
            }
        }
        for r in 0..ROWS {
            let d2: [f32; LANES] =
                std::array::from_fn(|l| (group.norms[r] + packed.norms[b][l] - 2.0 * dot[r][l]).max(0.0));
            add_distances(group, packed, b, r, &d2, &mut acc[r]);
        }
    }
}

/// Adds row r's distances to block b's points, from their expanded d² (clamped), to
/// `acc`: near pairs (d² < [`NEAR`] × (‖x‖² + ‖y‖²)) exactly, padding lanes not at all.
fn add_distances(group: &Group, packed: &Packed, b: usize, r: usize, d2: &[f32; LANES], acc: &mut [f64; LANES]) {
    for l in 0..LANES {
        if packed.weights[b][l] == 0.0 {
            continue;
        }
        acc[l] += if d2[l] < NEAR * (group.norms[r] + packed.norms[b][l]) {
            group.exact(r, packed.index[b][l], packed.dim)
        } else {
            d2[l].sqrt() as f64
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Σ ‖x_i − x_j‖ over label c's j ≠ i, directly in f64.
    fn reference(points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Vec<f64> {
        let m = points.len() / dim;
        let mut sums = vec![0.0; m * ranges.len()];
        for i in 0..m {
            for (c, &(a, b)) in ranges.iter().enumerate() {
                sums[i * ranges.len() + c] = (a..b)
                    .filter(|&j| j != i)
                    .map(|j| exact_distance(&points[i * dim..(i + 1) * dim], &points[j * dim..(j + 1) * dim]))
                    .sum();
            }
        }
        sums
    }

    /// Labels of sizes `sizes`: gaussian clusters far from the origin, with some exact
    /// duplicates and small integer features, so cancellation and ties are exercised.
    fn clustered(sizes: &[usize], dim: usize, seed: u64) -> (Vec<f32>, Vec<(usize, usize)>) {
        let mut rng = Rng::new(seed);
        let mut points = Vec::new();
        let mut ranges = Vec::new();
        for (c, &size) in sizes.iter().enumerate() {
            let start = points.len() / dim;
            let centre: Vec<f32> = (0..dim).map(|f| 1000.0 + 10.0 * (c * dim + f) as f32).collect();
            for p in 0..size {
                if p % 7 == 3 {
                    let previous = points[points.len() - dim..].to_vec();
                    points.extend(previous);
                    continue;
                }
                for (f, &ctr) in centre.iter().enumerate() {
                    let v = if f == 0 { (rng.below(4)) as f32 } else { ctr + rng.normal() as f32 };
                    points.push(v);
                }
            }
            ranges.push((start, start + size));
        }
        (points, ranges)
    }

    fn assert_close(got: &[f64], want: &[f64], tolerance: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tolerance * w.abs().max(1e-12), "sum {i}: {g} against {w}");
        }
    }

    #[test]
    fn blocked_sums_match_the_direct_sums_in_f64() {
        for (sizes, dim) in [(vec![1, 2, 17, 40], 3), (vec![70, 5, 33], 8), (vec![130, 1], 1), (vec![50, 50], 21)] {
            let (points, ranges) = clustered(&sizes, dim, 7);
            assert_close(&pair_sums(&points, dim, &ranges), &reference(&points, dim, &ranges), 1e-6);
        }
    }

    /// The instruction sets this CPU can run.
    fn available() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut isas = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                isas.push(Isa::Avx2Fma);
            }
        }
        isas
    }

    fn sums_with(isa: Isa, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Vec<f64> {
        let packed = Packed::new(points, dim, ranges);
        let mut got = vec![0.0; points.len() / dim * ranges.len()];
        got.chunks_mut(TILE_ROWS * ranges.len())
            .enumerate()
            .for_each(|(t, out)| tile_sums(isa, points, &packed, t * TILE_ROWS, out));
        got
    }

    #[test]
    fn every_instruction_set_gives_the_direct_sums() {
        let (points, ranges) = clustered(&[90, 41, 3], 6, 11);
        let want = reference(&points, 6, &ranges);
        let isas = available();
        eprintln!("pairwise kernels tested: {isas:?}");
        for isa in isas {
            assert_close(&sums_with(isa, &points, 6, &ranges), &want, 1e-6);
        }
    }

    #[test]
    fn duplicates_and_the_point_itself_add_exactly_zero() {
        let points = vec![3.0f32, 4.0, 3.0, 4.0, 3.0, 4.0, 0.0, 0.0];
        let sums = pair_sums(&points, 2, &[(0, 3), (3, 4)]);
        assert_eq!(&sums[..2], &[0.0, 5.0]);
        assert_eq!(&sums[6..], &[15.0, 0.0]);
    }

    #[test]
    fn empty_inputs_give_empty_sums() {
        assert!(pair_sums(&[], 3, &[(0, 0)]).is_empty());
        assert!(pair_sums(&[1.0, 2.0], 2, &[]).is_empty());
    }
}
