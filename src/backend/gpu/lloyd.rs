//! The Lloyd kernels: assign (nearest centre, label, squared distance, change flag), then
//! per-block partial sums and their fixed-order Kahan reduction into one chunk's k×(dim+3)+1
//! statistics; the final assignment, which reads labels and distances back; and the
//! farthest rows a run's state holds, for re-seeding empty clusters.

use super::dispatch::compensated;
use super::resident::HostChunks;
use super::shaders::{Kernel, Params};
use super::state::{DeviceState, LloydBuffers};
use super::GpuBackend;
use crate::backend::distance::{centre_norms, keep_farthest};
use crate::backend::{AssignSink, Centres, LloydState, LloydStats};
use crate::data::Dataset;
use crate::error::Result;

/// The centres and their squared norms as device buffers.
fn centre_buffers(gpu: &GpuBackend, centres: &Centres) -> (wgpu::Buffer, wgpu::Buffer) {
    (
        gpu.ctx.storage_init("centres", bytemuck::cast_slice(&centres.values)),
        gpu.ctx.storage_init("norms", bytemuck::cast_slice(&centre_norms(centres))),
    )
}

/// Encodes assign for one chunk of `rows` rows, writing into `out`.
fn encode_assign(
    gpu: &GpuBackend,
    encoder: &mut wgpu::CommandEncoder,
    params: Params,
    x: &wgpu::Buffer,
    (centres, norms): &(wgpu::Buffer, wgpu::Buffer),
    out: &LloydBuffers,
) {
    let buffers = [x, centres, norms, &out.labels, &out.dist2, &out.changed];
    gpu.ctx.dispatch(encoder, Kernel::Assign, params, params.rows as usize, &buffers);
}

/// Encodes assign + partials + reduce for one chunk of `rows` rows; returns the reduced
/// buffer and its number of accumulators.
fn encode_lloyd(
    gpu: &GpuBackend,
    encoder: &mut wgpu::CommandEncoder,
    rows: usize,
    (x, w): (&wgpu::Buffer, &wgpu::Buffer),
    centres: &Centres,
    centre_bufs: &(wgpu::Buffer, wgpu::Buffer),
    out: &LloydBuffers,
) -> (wgpu::Buffer, usize) {
    let (dim, k) = (centres.dim, centres.k);
    let n_acc = k * (dim + 3) + 1;
    let block_rows = gpu.block_rows_for(rows, n_acc);
    let n_blocks = rows.div_ceil(block_rows);
    let params = Params {
        rows: rows as u32,
        dim: dim as u32,
        k: k as u32,
        rows_per_block: block_rows as u32,
        n_blocks: n_blocks as u32,
        stride: 0,
        n_acc: n_acc as u32,
        ..Params::default()
    };
    encode_assign(gpu, encoder, params, x, centre_bufs, out);
    let partial = gpu.ctx.storage("partials", (n_blocks * n_acc) as u64 * 4);
    gpu.ctx.dispatch(
        encoder,
        Kernel::Partials,
        params,
        n_blocks * n_acc,
        &[x, w, &out.labels, &out.dist2, &out.changed, &partial],
    );
    let reduced = gpu.ctx.storage("reduced", (2 * n_acc) as u64 * 4);
    gpu.ctx.dispatch(encoder, Kernel::Reduce, params, n_acc, &[&partial, &reduced]);
    (reduced, n_acc)
}

/// Submits `encoder` and reads the first `rows` labels and squared distances of `bufs`.
fn read_labels_and_dist2(
    gpu: &GpuBackend,
    encoder: wgpu::CommandEncoder,
    bufs: &LloydBuffers,
    rows: usize,
) -> Result<(Vec<u32>, Vec<f32>)> {
    let mut out = gpu.ctx.read_back::<u32>(encoder, &[(&bufs.labels, rows), (&bufs.dist2, rows)])?;
    let dist2: Vec<f32> = bytemuck::cast_slice(&out.pop().expect("two buffers")).to_vec();
    Ok((out.pop().expect("two buffers"), dist2))
}

/// One Lloyd pass; labels, distances and change flags stay in `state`'s device buffers.
pub(super) fn pass(gpu: &GpuBackend, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats> {
    let device_state: &DeviceState = state.held(data)?;
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let chunk_states = device_state.chunks(resident)?;
    let (k, dim) = (centres.k, centres.dim);
    let width = dim + 3;
    let mut total = LloydStats::zeros(k, dim);
    gpu.ctx.checked("a Lloyd pass", || {
        let bufs = centre_buffers(gpu, centres);
        for (i, (chunk, chunk_state)) in resident.chunks.iter().zip(chunk_states).enumerate() {
            let rows = gpu.rows_of(data, resident, i);
            let mut encoder = gpu.ctx.encoder();
            let (reduced, n_acc) =
                encode_lloyd(gpu, &mut encoder, chunk.rows, rows, centres, &bufs, &chunk_state.lloyd);
            let values = gpu.ctx.read_back::<f32>(encoder, &[(&reduced, 2 * n_acc)])?.remove(0);
            let mut part = LloydStats::zeros(k, dim);
            for c in 0..k {
                let acc = |j: usize| compensated(&values[2 * (c * width + j)..]);
                for j in 0..dim {
                    part.sums[c * dim + j] = acc(j);
                }
                part.weights[c] = acc(dim);
                part.inertia += acc(dim + 1);
                part.counts[c] = acc(dim + 2).round() as u64;
            }
            part.changed = compensated(&values[2 * k * width..]).round() as u64;
            if part.counts.iter().sum::<u64>() != chunk.rows as u64 {
                return Err(gpu.ctx.no_result(
                    "a Lloyd pass",
                    format!("counts for {} of {} rows", part.counts.iter().sum::<u64>(), chunk.rows),
                ));
            }
            total.merge(&part);
        }
        Ok(())
    })?;
    Ok(total)
}

/// The final assignment: labels and exact distances, read back chunk by chunk into the sink.
pub(super) fn assign(gpu: &GpuBackend, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()> {
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let dim = data.dim();
    let mut out = HostChunks::new(data);
    let bufs = centre_buffers(gpu, centres);
    // Scratch for the kernel's outputs, sized for the largest chunk: a run's state is untouched.
    let scratch = LloydBuffers::new(&gpu.ctx, resident.chunks.iter().map(|c| c.rows).max().unwrap_or(1));
    for (i, chunk) in resident.chunks.iter().enumerate() {
        let (x, _) = gpu.rows_of(data, resident, i);
        let (labels, dist2) = gpu.ctx.checked("the assignment pass", || {
            // NaN sentinels: a kernel that did not run cannot pass for a result.
            gpu.ctx.queue.write_buffer(&scratch.dist2, 0, bytemuck::cast_slice(&vec![f32::NAN; chunk.rows]));
            let mut encoder = gpu.ctx.encoder();
            let params = Params { rows: chunk.rows as u32, dim: dim as u32, k: centres.k as u32, ..Params::default() };
            encode_assign(gpu, &mut encoder, params, x, &bufs, &scratch);
            read_labels_and_dist2(gpu, encoder, &scratch, chunk.rows)
        })?;
        if labels.iter().any(|&l| l as usize >= centres.k) || dist2.iter().any(|d| d.is_nan()) {
            return Err(gpu.ctx.no_result("the assignment pass", "labels out of range or NaN distances".into()));
        }
        for (l, d) in labels.into_iter().zip(dist2) {
            out.push(l, &[d.max(0.0).sqrt()], sink)?;
        }
    }
    Ok(())
}

/// Reads back the labels and squared distances `state` holds, one device chunk at a time,
/// and hands each to `per_chunk` with the chunk's first global row.
fn for_each_held_chunk(
    gpu: &GpuBackend,
    data: &Dataset,
    state: &LloydState,
    mut per_chunk: impl FnMut(usize, Vec<u32>, Vec<f32>),
) -> Result<()> {
    let device_state: &DeviceState = state.held(data)?;
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    for (chunk, chunk_state) in resident.chunks.iter().zip(device_state.chunks(resident)?) {
        let (labels, dist2) = gpu.ctx.checked("reading a run's labels and distances", || {
            read_labels_and_dist2(gpu, gpu.ctx.encoder(), &chunk_state.lloyd, chunk.rows)
        })?;
        per_chunk(chunk.start, labels, dist2);
    }
    Ok(())
}

/// The labels the last pass left in `state`, in row order.
pub(super) fn labels(gpu: &GpuBackend, data: &Dataset, state: &LloydState) -> Result<Vec<u32>> {
    let mut all = Vec::with_capacity(data.rows());
    for_each_held_chunk(gpu, data, state, |_, labels, _| all.extend(labels))?;
    Ok(all)
}

/// The `m` rows farthest from their centres after the last pass, as `state` holds them.
pub(super) fn farthest_rows(
    gpu: &GpuBackend,
    data: &Dataset,
    state: &LloydState,
    m: usize,
) -> Result<Vec<(usize, u32)>> {
    let mut candidates = Vec::new();
    for_each_held_chunk(gpu, data, state, |start, labels, dist2| {
        let mut local: Vec<(f32, usize, u32)> =
            dist2.into_iter().zip(labels).enumerate().map(|(i, (d, l))| (d, start + i, l)).collect();
        keep_farthest(&mut local, m);
        candidates.extend(local);
    })?;
    keep_farthest(&mut candidates, m);
    Ok(candidates.into_iter().map(|(_, row, label)| (row, label)).collect())
}
