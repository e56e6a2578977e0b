//! The Gaussian-mixture kernels: each row's responsibilities and log-normaliser per
//! sub-range of a device chunk (so they fit one binding), then per-block moments
//! (Σ w·r, Σ w·r·x, Σ w·r·x² or x·xᵀ, Σ w·ln p(x), Σ w) and their fixed-order reduction;
//! the mixture assignment reads the responsibilities back.

use super::dispatch::compensated;
use super::resident::HostChunks;
use super::shaders::{Kernel, Params};
use super::{GpuBackend, PARTIALS_BUDGET};
use crate::backend::mixture::{MixturePass, MixtureStats};
use crate::backend::MixtureSink;
use crate::data::Dataset;
use crate::error::Result;

/// Means, precision factors and log normalisers of a mixture as f32 device buffers.
fn mixture_buffers(gpu: &GpuBackend, mix: &MixturePass) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
    let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    (
        gpu.ctx.storage_init("means", bytemuck::cast_slice(&f32s(&mix.means))),
        gpu.ctx.storage_init("precision factors", bytemuck::cast_slice(&f32s(&mix.prec_chol))),
        gpu.ctx.storage_init("log normalisers", bytemuck::cast_slice(&f32s(&mix.log_norm))),
    )
}

/// Rows per mixture sub-range, so the sub-range's responsibilities fit one binding.
fn sub_rows(gpu: &GpuBackend, rows: usize, k: usize) -> usize {
    let binding = gpu.ctx.limits.max_storage_buffer_binding_size.min(PARTIALS_BUDGET);
    rows.min((binding / (k as u64 * 4)).max(1) as usize).clamp(1, 1 << 18)
}

/// One EM pass: responsibilities per sub-range of each chunk, their moments reduced per
/// block and in fixed order, merged over chunks in order.
pub(super) fn pass(gpu: &GpuBackend, data: &Dataset, mix: &MixturePass) -> Result<MixtureStats> {
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let (k, d) = (mix.k, mix.dim);
    let m = if mix.full { d * (d + 1) / 2 } else { d };
    let width = 1 + d + m;
    let n_acc = k * width + 2;
    let mut total = MixtureStats::zeros(k, d, mix.full);
    gpu.ctx.checked("a mixture pass", || {
        let bufs = mixture_buffers(gpu, mix);
        for (i, chunk) in resident.chunks.iter().enumerate() {
            let (x, w) = gpu.rows_of(data, resident, i);
            let sub = sub_rows(gpu, chunk.rows, k);
            let resp = gpu.ctx.storage("resp", (sub * k) as u64 * 4);
            let lse = gpu.ctx.storage("lse", sub as u64 * 4);
            for start in (0..chunk.rows).step_by(sub) {
                let rows = sub.min(chunk.rows - start);
                let block_rows = gpu.block_rows_for(rows, n_acc);
                let n_blocks = rows.div_ceil(block_rows);
                let params = Params {
                    rows: rows as u32,
                    dim: d as u32,
                    k: k as u32,
                    rows_per_block: block_rows as u32,
                    n_blocks: n_blocks as u32,
                    n_acc: n_acc as u32,
                    full: mix.full as u32,
                    row_offset: start as u32,
                    ..Params::default()
                };
                let mut encoder = gpu.ctx.encoder();
                gpu.ctx.dispatch(
                    &mut encoder,
                    Kernel::MixtureResp,
                    params,
                    rows,
                    &[x, &bufs.0, &bufs.1, &bufs.2, &resp, &lse],
                );
                let partial = gpu.ctx.storage("partials", (n_blocks * n_acc) as u64 * 4);
                gpu.ctx.dispatch(
                    &mut encoder,
                    Kernel::MixturePartials,
                    params,
                    n_blocks * n_acc,
                    &[x, w, &resp, &lse, &partial],
                );
                let reduced = gpu.ctx.storage("reduced", (2 * n_acc) as u64 * 4);
                gpu.ctx.dispatch(&mut encoder, Kernel::Reduce, params, n_acc, &[&partial, &reduced]);
                let values = gpu.ctx.read_back::<f32>(encoder, &[(&reduced, 2 * n_acc)])?.remove(0);
                let acc = |a: usize| compensated(&values[2 * a..]);
                let mut part = MixtureStats::zeros(k, d, mix.full);
                for c in 0..k {
                    part.resp[c] = acc(c * width);
                    for j in 0..d {
                        part.sum_x[c * d + j] = acc(c * width + 1 + j);
                    }
                    let mut t = 0;
                    for s0 in 0..d {
                        for s1 in if mix.full { s0..d } else { s0..s0 + 1 } {
                            let v = acc(c * width + 1 + d + t);
                            if mix.full {
                                part.sum_xx[c * d * d + s0 * d + s1] = v;
                            } else {
                                part.sum_xx[c * d + s0] = v;
                            }
                            t += 1;
                        }
                    }
                }
                part.log_likelihood = acc(k * width);
                part.weight = acc(k * width + 1);
                total.merge(&part);
            }
        }
        Ok(())
    })?;
    if !total.log_likelihood.is_finite()
        || (total.weight - data.total_weight()).abs() > 1e-3 * data.total_weight().max(1.0)
    {
        return Err(gpu.ctx.no_result(
            "a mixture pass",
            format!("weight {} for rows weighing {}", total.weight, data.total_weight()),
        ));
    }
    Ok(total)
}

/// The final soft assignment: responsibilities read back per sub-range into the sink.
pub(super) fn assign(gpu: &GpuBackend, data: &Dataset, mix: &MixturePass, sink: &mut MixtureSink) -> Result<()> {
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let (k, d) = (mix.k, mix.dim);
    let mut out = HostChunks::new(data);
    let bufs = mixture_buffers(gpu, mix);
    for (i, chunk) in resident.chunks.iter().enumerate() {
        let (x, _) = gpu.rows_of(data, resident, i);
        let sub = sub_rows(gpu, chunk.rows, k);
        let resp = gpu.ctx.storage("resp", (sub * k) as u64 * 4);
        let lse = gpu.ctx.storage("lse", sub as u64 * 4);
        for start in (0..chunk.rows).step_by(sub) {
            let rows = sub.min(chunk.rows - start);
            let probs = gpu.ctx.checked("the mixture assignment pass", || {
                gpu.ctx.queue.write_buffer(&resp, 0, bytemuck::cast_slice(&vec![f32::NAN; rows * k]));
                let params = Params {
                    rows: rows as u32,
                    dim: d as u32,
                    k: k as u32,
                    full: mix.full as u32,
                    row_offset: start as u32,
                    ..Params::default()
                };
                let mut encoder = gpu.ctx.encoder();
                gpu.ctx.dispatch(
                    &mut encoder,
                    Kernel::MixtureResp,
                    params,
                    rows,
                    &[x, &bufs.0, &bufs.1, &bufs.2, &resp, &lse],
                );
                Ok(gpu.ctx.read_back::<f32>(encoder, &[(&resp, rows * k)])?.remove(0))
            })?;
            if probs.iter().any(|p| p.is_nan()) {
                return Err(gpu.ctx.no_result("the mixture assignment pass", "NaN probabilities".into()));
            }
            for row in probs.chunks_exact(k) {
                let best = (0..k).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                out.push(best as u32, row, sink)?;
            }
        }
    }
    Ok(())
}
