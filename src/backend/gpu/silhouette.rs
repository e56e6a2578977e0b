//! The silhouette's pairwise kernel: for a tile of points at a time, the sum of distances
//! to each label's points, so the m × m distances are never stored.

use super::dispatch::TiledQueries;
use super::shaders::{Kernel, Params};
use super::GpuBackend;
use crate::error::{Param, Result};

/// Points per dispatch of the silhouette's pairwise pass.
const PAIR_TILE: usize = 4096;

/// For every point i and label c, Σ ‖x_i − x_j‖ over label c's points j ≠ i, as
/// `sums[i · k + c]`, a tile of points per dispatch.
pub(super) fn pair_sums(gpu: &GpuBackend, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
    let what = "the silhouette's pairwise pass";
    let (m, k) = (points.len() / dim, ranges.len());
    let mut sums = vec![0.0f64; m * k];
    let advice = format!("lower {}", Param::SilhouetteSample);
    gpu.ctx.checked(what, || {
        let x = gpu.ctx.storage_rows(what, points, &advice)?;
        let flat: Vec<u32> = ranges.iter().flat_map(|&(a, b)| [a as u32, b as u32]).collect();
        let ranges = gpu.ctx.storage_init("ranges", bytemuck::cast_slice(&flat));
        let pass = TiledQueries {
            kernel: Kernel::PairSums,
            params: Params { rows: m as u32, dim: dim as u32, k: k as u32, ..Params::default() },
            queries: m,
            tile: PAIR_TILE,
            threads_per_query: k,
            inputs: &[&x, &ranges],
            outputs: &[("pair sums", k)],
        };
        // The kernel writes a tile's sums label-major: values[c · tile + t].
        gpu.ctx.tiled_queries(&pass, |start, tile, back| {
            for c in 0..k {
                for t in 0..tile {
                    sums[(start + t) * k + c] = f32::from_bits(back[0][c * tile + t]) as f64;
                }
            }
        })
    })?;
    Ok(sums)
}
