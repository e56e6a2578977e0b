// Gaussian-mixture E-step, part 2: per-block sufficient statistics without float atomics.
// Thread (block b, accumulator a) sums over the block's rows, in row order with Kahan
// compensation, with m = dim (diag) or dim·(dim+1)/2 (full, upper triangle row by row):
//   a = c·(1 + dim + m) + j   j = 0: Σ w·r;  1 ≤ j ≤ dim: Σ w·r·x_{j−1};
//                             j > dim: Σ w·r·x_s·x_t (diag: s = t);
//   a = k·(1 + dim + m):      Σ w·lse (log-likelihood);   a + 1: Σ w.
// reduce.wgsl then sums the blocks in a fixed order.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> resp: array<f32>;   // rows × k (sub-range)
@group(0) @binding(4) var<storage, read> lse: array<f32>;    // rows (sub-range)
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = linear_id(gid, p);
    if (id >= p.n_blocks * p.n_acc) {
        return;
    }
    let b = id / p.n_acc;
    let a = id % p.n_acc;
    let start = b * p.rows_per_block;
    let end = min(p.rows, start + p.rows_per_block);
    let d = p.dim;
    let k = p.k;
    var m = d;
    if (p.full == 1u) {
        m = d * (d + 1u) / 2u;
    }
    let width = 1u + d + m;
    var s = 0.0;
    var comp = 0.0;
    if (a >= k * width) {
        let is_lse = a == k * width;
        for (var r = start; r < end; r = r + 1u) {
            var v = w[p.row_offset + r];
            if (is_lse) {
                v = v * lse[r];
            }
            kahan_add(&s, &comp, v);
        }
        partial[id] = s;
        return;
    }
    let c = a / width;
    let j = a % width;
    // Which feature(s) this accumulator multiplies in.
    var f0 = 0u;
    var f1 = 0u;
    if (j >= 1u + d) {
        let t = j - 1u - d;
        if (p.full == 1u) {
            var row_start = 0u;
            var s0 = 0u;
            loop {
                let len = d - s0;
                if (t < row_start + len) {
                    break;
                }
                row_start = row_start + len;
                s0 = s0 + 1u;
            }
            f0 = s0;
            f1 = s0 + (t - row_start);
        } else {
            f0 = t;
            f1 = t;
        }
    }
    for (var r = start; r < end; r = r + 1u) {
        let base = (p.row_offset + r) * d;
        var v = w[p.row_offset + r] * resp[r * k + c];
        if (j >= 1u && j <= d) {
            v = v * x[base + j - 1u];
        } else if (j > d) {
            v = v * x[base + f0] * x[base + f1];
        }
        kahan_add(&s, &comp, v);
    }
    partial[id] = s;
}
