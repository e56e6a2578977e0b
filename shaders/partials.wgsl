// Per-block Lloyd statistics without float atomics. Thread (block b, accumulator a) sums,
// in row order with Kahan compensation, one quantity over the block's rows:
//   a = c·(dim+3) + j   j < dim: Σ w·x_j of cluster c;  j = dim: Σ w;
//                       j = dim+1: Σ w·‖x − c‖²;         j = dim+2: row count;
//   a = k·(dim+3):      rows whose label changed.
// Output: partial[b · n_acc + a]. `reduce.wgsl` then sums the blocks in a fixed order.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<u32>;
@group(0) @binding(4) var<storage, read> dist2: array<f32>;
@group(0) @binding(5) var<storage, read> changed: array<u32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

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
    let width = p.dim + 3u;
    var s = 0.0;
    var comp = 0.0;
    if (a == p.k * width) {
        for (var r = start; r < end; r = r + 1u) {
            s = s + f32(changed[r]);
        }
    } else {
        let c = a / width;
        let j = a % width;
        for (var r = start; r < end; r = r + 1u) {
            if (labels[r] == c) {
                var v: f32;
                if (j < p.dim) {
                    v = w[r] * x[r * p.dim + j];
                } else if (j == p.dim) {
                    v = w[r];
                } else if (j == p.dim + 1u) {
                    v = w[r] * dist2[r];
                } else {
                    v = 1.0;
                }
                kahan_add(&s, &comp, v);
            }
        }
    }
    partial[id] = s;
}
