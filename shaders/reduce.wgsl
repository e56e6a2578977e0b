// Sums per-block partials over the blocks, in block order, with Kahan compensation:
// out[2a] = sum, out[2a + 1] = compensation (the host adds them in f64).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let a = linear_id(gid, p);
    if (a >= p.n_acc) {
        return;
    }
    var s = 0.0;
    var comp = 0.0;
    for (var b = 0u; b < p.n_blocks; b = b + 1u) {
        kahan_add(&s, &comp, partial[b * p.n_acc + a]);
    }
    out[2u * a] = s;
    out[2u * a + 1u] = comp;
}
