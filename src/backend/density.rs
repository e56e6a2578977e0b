//! The density pipeline's two heavy passes as a backend runs them (WGSL kernels in
//! [`super::gpu`]), in f32 like every kernel: the exact k-nearest rows of every row, and
//! every row's nearest row of another component in the mutual-reachability metric
//! (Borůvka's step). The density fit (`cluster::density`) turns their f32 answers
//! into exact f64 ones: it rescores candidates in f64 and accepts a row only when a bound on
//! f32's rounding proves no other row can beat them, else searches that row exactly on the
//! CPU; so the labels equal the CPU pipeline's exactly. [`CpuDensityPasses`] runs the same
//! passes by brute force on the CPU: the reference the kernels are tested against, and what
//! lets the certificate path be tested without a device.

use rayon::prelude::*;

use crate::error::Result;

/// The k nearest rows of each row: `index[i·k + t]` and `squared[i·k + t]` (f32 squared
/// distance), nearest first, lowest index first among equal distances; `u32::MAX` and
/// [`FAR`] pad lists when there are fewer than k rows.
#[derive(Debug, Clone, PartialEq)]
pub struct NearestRows {
    pub k: usize,
    pub index: Vec<u32>,
    pub squared: Vec<f32>,
}

/// Each row's nearest row of another component: `weight[i]` the f32 mutual-reachability
/// distance max(core_i, core_j, ‖x_i − x_j‖) ([`FAR`] when every row shares the
/// component) and `row[i]` that row j (lowest index among equal weights; `u32::MAX` if none).
#[derive(Debug, Clone, PartialEq)]
pub struct NearestOther {
    pub weight: Vec<f32>,
    pub row: Vec<u32>,
}

/// Backend passes of the density pipeline, over row-major `rows` (`n × dim`).
pub trait DensityPasses: Sync {
    /// Whether the passes take `dim` features and lists of `k` rows.
    fn supports(&self, dim: usize, k: usize) -> bool;

    /// The `k` nearest rows of every row (the row itself among them).
    fn nearest_rows(&self, rows: &[f32], dim: usize, k: usize) -> Result<NearestRows>;

    /// Every row's nearest row of another component, with core distances `core` and
    /// component ids `component` (one per row).
    fn nearest_other_component(
        &self,
        rows: &[f32],
        dim: usize,
        core: &[f32],
        component: &[u32],
    ) -> Result<NearestOther>;
}

/// "No row": the distance of list padding and of a row with no other component (as the
/// kernels write it).
pub const FAR: f32 = 3.0e38;

/// The largest list and the most features the kernels take (their private arrays).
pub const MAX_NEIGHBOURS: usize = 64;
pub const MAX_DENSITY_DIM: usize = 64;

/// f32 squared distance summed in feature order (as the kernels sum it).
fn squared32(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(0.0f32, |s, (&x, &y)| s + (x - y) * (x - y))
}

/// The passes by brute force on the CPU, O(n²·dim), in the kernels' arithmetic.
pub struct CpuDensityPasses;

impl DensityPasses for CpuDensityPasses {
    fn supports(&self, dim: usize, k: usize) -> bool {
        dim <= MAX_DENSITY_DIM && (1..=MAX_NEIGHBOURS).contains(&k)
    }

    fn nearest_rows(&self, rows: &[f32], dim: usize, k: usize) -> Result<NearestRows> {
        let n = rows.len() / dim;
        let lists: Vec<(Vec<u32>, Vec<f32>)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let q = &rows[i * dim..(i + 1) * dim];
                let (mut index, mut squared) = (vec![u32::MAX; k], vec![FAR; k]);
                for (j, row) in rows.chunks_exact(dim).enumerate() {
                    let d2 = squared32(q, row);
                    if d2 < squared[k - 1] {
                        let mut at = k - 1;
                        while at > 0 && squared[at - 1] > d2 {
                            squared[at] = squared[at - 1];
                            index[at] = index[at - 1];
                            at -= 1;
                        }
                        (squared[at], index[at]) = (d2, j as u32);
                    }
                }
                (index, squared)
            })
            .collect();
        let (index, squared) = lists.into_iter().fold((Vec::new(), Vec::new()), |(mut a, mut b), (i, s)| {
            a.extend(i);
            b.extend(s);
            (a, b)
        });
        Ok(NearestRows { k, index, squared })
    }

    fn nearest_other_component(
        &self,
        rows: &[f32],
        dim: usize,
        core: &[f32],
        component: &[u32],
    ) -> Result<NearestOther> {
        let n = rows.len() / dim;
        let best: Vec<(f32, u32)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let q = &rows[i * dim..(i + 1) * dim];
                let mut best = (FAR, u32::MAX);
                for (j, row) in rows.chunks_exact(dim).enumerate() {
                    let floor = core[i].max(core[j]);
                    if component[j] == component[i] || floor >= best.0 {
                        continue;
                    }
                    let w = floor.max(squared32(q, row).sqrt());
                    if w < best.0 {
                        best = (w, j as u32);
                    }
                }
                best
            })
            .collect();
        Ok(NearestOther { weight: best.iter().map(|b| b.0).collect(), row: best.iter().map(|b| b.1).collect() })
    }
}
