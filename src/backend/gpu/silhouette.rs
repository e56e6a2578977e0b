//! The silhouette's pairwise kernel: for a tile of points at a time, the sum of distances
//! to each label's points, so the m × m distances are never stored.

use super::shaders::{Kernel, Params};
use super::GpuBackend;
use crate::error::{Param, Result};

/// Points per dispatch of the silhouette's pairwise pass.
const PAIR_TILE: usize = 4096;

/// For every point i and label c, Σ ‖x_i − x_j‖ over label c's points j ≠ i, as
/// `sums[i · k + c]`, a tile of points per dispatch.
pub(super) fn pair_sums(gpu: &GpuBackend, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
    let (m, k) = (points.len() / dim, ranges.len());
    let bytes = std::mem::size_of_val(points) as u64;
    if bytes > gpu.ctx.limits.max_storage_buffer_binding_size {
        return Err(gpu.ctx.no_result(
            "the silhouette's pairwise pass",
            format!(
                "its {m} points × {dim} features ({}) exceed one storage binding; lower {}",
                crate::error::human_bytes(bytes),
                Param::SilhouetteSample
            ),
        ));
    }
    let mut sums = vec![0.0f64; m * k];
    gpu.ctx.checked("the silhouette's pairwise pass", || {
        let x = gpu.ctx.storage_init("points", bytemuck::cast_slice(points));
        let flat: Vec<u32> = ranges.iter().flat_map(|&(a, b)| [a as u32, b as u32]).collect();
        let ranges = gpu.ctx.storage_init("ranges", bytemuck::cast_slice(&flat));
        // Tiles of points per dispatch keep each submission short (watchdogs) and the
        // output small.
        for start in (0..m).step_by(PAIR_TILE) {
            let tile = PAIR_TILE.min(m - start);
            let params = Params {
                rows: m as u32,
                dim: dim as u32,
                k: k as u32,
                n_blocks: tile as u32,
                row_offset: start as u32,
                ..Params::default()
            };
            let out = gpu.ctx.storage("pair sums", (tile * k) as u64 * 4);
            let mut encoder = gpu.ctx.encoder();
            gpu.ctx.dispatch(&mut encoder, Kernel::PairSums, params, tile * k, &[&x, &ranges, &out]);
            let values = gpu.ctx.read_back::<f32>(encoder, &[(&out, tile * k)])?.remove(0);
            for c in 0..k {
                for t in 0..tile {
                    sums[(start + t) * k + c] = values[c * tile + t] as f64;
                }
            }
        }
        Ok(())
    })?;
    Ok(sums)
}
