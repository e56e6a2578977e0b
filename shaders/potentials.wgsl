// k-means++ seeding: thread (block b, candidate l) sums Σ w·min(min_sq, ‖x − cand_l‖²)
// over the block's rows (Kahan) into partial[b · k + l]; reduce.wgsl sums the blocks.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> candidates: array<f32>;  // k × dim
@group(0) @binding(4) var<storage, read> min_sq: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = linear_id(gid, p);
    if (id >= p.n_blocks * p.k) {
        return;
    }
    let b = id / p.k;
    let l = id % p.k;
    let start = b * p.rows_per_block;
    let end = min(p.rows, start + p.rows_per_block);
    var s = 0.0;
    var comp = 0.0;
    for (var r = start; r < end; r = r + 1u) {
        var d2 = 0.0;
        for (var j = 0u; j < p.dim; j = j + 1u) {
            let t = x[r * p.dim + j] - candidates[l * p.dim + j];
            d2 = d2 + t * t;
        }
        kahan_add(&s, &comp, w[r] * min(min_sq[r], d2));
    }
    partial[id] = s;
}
