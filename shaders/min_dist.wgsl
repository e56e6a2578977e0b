// k-means++ seeding: min_sq[row] = min(min_sq[row], ‖x − centre‖²).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> centre: array<f32>;   // dim
@group(0) @binding(3) var<storage, read_write> min_sq: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = linear_id(gid, p);
    if (row >= p.rows) {
        return;
    }
    var d2 = 0.0;
    for (var j = 0u; j < p.dim; j = j + 1u) {
        let t = x[row * p.dim + j] - centre[j];
        d2 = d2 + t * t;
    }
    min_sq[row] = min(min_sq[row], d2);
}
