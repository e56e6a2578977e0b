// The silhouette's pairwise pass. The points are sorted by label, so label c's points are
// ranges[2c]..ranges[2c + 1]. Thread (c, i) — label-major, so a warp's threads read the same
// point j at once — sums ‖x_i − x_j‖ over the points j of label c (j ≠ i), Kahan, for the
// points i = row_offset .. row_offset + n_blocks of this tile, into out[c · n_blocks + i].
// O(points² · dim) work, never a points × points matrix.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;        // points × dim
@group(0) @binding(2) var<storage, read> ranges: array<u32>;   // k × (start, end)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // k × tile points

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let id = linear_id(gid, p);
    if (id >= p.n_blocks * p.k) {
        return;
    }
    let c = id / p.n_blocks;
    let i = p.row_offset + id % p.n_blocks;
    var s = 0.0;
    var comp = 0.0;
    for (var j = ranges[2u * c]; j < ranges[2u * c + 1u]; j = j + 1u) {
        if (j == i) {
            continue;
        }
        var d2 = 0.0;
        for (var f = 0u; f < p.dim; f = f + 1u) {
            let t = x[i * p.dim + f] - x[j * p.dim + f];
            d2 = d2 + t * t;
        }
        kahan_add(&s, &comp, sqrt(d2));
    }
    out[id] = s;
}
