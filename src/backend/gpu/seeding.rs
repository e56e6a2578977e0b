//! The k-means++ kernels: lowering every row's minimum squared distance by one new centre,
//! and each candidate centre's potential Σ w·min(min_sq, ‖x − candidate‖²), reduced per
//! block and in fixed order like the Lloyd statistics.

use super::dispatch::compensated;
use super::shaders::{Kernel, Params};
use super::state::DeviceState;
use super::GpuBackend;
use crate::backend::{Centres, LloydState};
use crate::data::Dataset;
use crate::error::Result;

/// `min_sq = min(min_sq, ‖x − centre‖²)` in `state`: its host values go up, are lowered on
/// the device and come back.
pub(super) fn update_min_sq_dist(
    gpu: &GpuBackend,
    data: &Dataset,
    centre: &[f32],
    state: &mut LloydState,
) -> Result<()> {
    let flat: Vec<f32> = state.min_sq().concat();
    let device_state: &DeviceState = state.held(data)?;
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let chunk_states = device_state.chunks(resident)?;
    let mut updated = Vec::with_capacity(flat.len());
    gpu.ctx.checked("the k-means++ distance pass", || {
        let centre_buf = gpu.ctx.storage_init("centre", bytemuck::cast_slice(centre));
        for (i, (chunk, chunk_state)) in resident.chunks.iter().zip(chunk_states).enumerate() {
            let (x, _) = gpu.rows_of(data, resident, i);
            let min_sq = &chunk_state.min_sq;
            gpu.ctx.queue.write_buffer(min_sq, 0, bytemuck::cast_slice(&flat[chunk.start..chunk.start + chunk.rows]));
            let mut encoder = gpu.ctx.encoder();
            let params = Params { rows: chunk.rows as u32, dim: data.dim() as u32, ..Params::default() };
            gpu.ctx.dispatch(&mut encoder, Kernel::MinDist, params, chunk.rows, &[x, &centre_buf, min_sq]);
            updated.extend(gpu.ctx.read_back::<f32>(encoder, &[(min_sq, chunk.rows)])?.remove(0));
        }
        Ok(())
    })?;
    let mut offset = 0;
    for values in state.min_sq_mut().iter_mut() {
        let len = values.len();
        values.copy_from_slice(&updated[offset..offset + len]);
        offset += len;
    }
    Ok(())
}

/// For each candidate, Σ w·min(min_sq, ‖x − candidate‖²) with `state`'s minimum distances.
pub(super) fn candidate_potentials(
    gpu: &GpuBackend,
    data: &Dataset,
    candidates: &Centres,
    state: &LloydState,
) -> Result<Vec<f64>> {
    let device_state: &DeviceState = state.held(data)?;
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let chunk_states = device_state.chunks(resident)?;
    let flat: Vec<f32> = state.min_sq().concat();
    let l = candidates.k;
    let mut total = vec![0.0f64; l];
    gpu.ctx.checked("the k-means++ potential pass", || {
        let cand = gpu.ctx.storage_init("candidates", bytemuck::cast_slice(&candidates.values));
        for (i, (chunk, chunk_state)) in resident.chunks.iter().zip(chunk_states).enumerate() {
            let (x, w) = gpu.rows_of(data, resident, i);
            let min_sq = &chunk_state.min_sq;
            gpu.ctx.queue.write_buffer(min_sq, 0, bytemuck::cast_slice(&flat[chunk.start..chunk.start + chunk.rows]));
            let block_rows = gpu.block_rows_for(chunk.rows, l);
            let n_blocks = chunk.rows.div_ceil(block_rows);
            let params = Params {
                rows: chunk.rows as u32,
                dim: data.dim() as u32,
                k: l as u32,
                rows_per_block: block_rows as u32,
                n_blocks: n_blocks as u32,
                stride: 0,
                n_acc: l as u32,
                ..Params::default()
            };
            let partial = gpu.ctx.storage("partials", (n_blocks * l) as u64 * 4);
            let reduced = gpu.ctx.storage("reduced", (2 * l) as u64 * 4);
            let mut encoder = gpu.ctx.encoder();
            gpu.ctx.dispatch(&mut encoder, Kernel::Potentials, params, n_blocks * l, &[x, w, &cand, min_sq, &partial]);
            gpu.ctx.dispatch(&mut encoder, Kernel::Reduce, params, l, &[&partial, &reduced]);
            let values = gpu.ctx.read_back::<f32>(encoder, &[(&reduced, 2 * l)])?.remove(0);
            for (i, t) in total.iter_mut().enumerate() {
                *t += compensated(&values[2 * i..]);
            }
        }
        Ok(())
    })?;
    Ok(total)
}
