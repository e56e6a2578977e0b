// Nearest centre for each row. Centres are staged through workgroup memory one tile at a
// time; the score ‖c‖² − 2x·c ranks them (‖x‖² is the same for every centre), the lowest
// index wins ties, and the exact ‖x − c‖² of the winner is written for the statistics.
// `changed[row]` is 1 when the label differs from the one stored by the previous pass.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> centres: array<f32>;   // k × dim
@group(0) @binding(3) var<storage, read> norms: array<f32>;     // k
@group(0) @binding(4) var<storage, read_write> labels: array<u32>;
@group(0) @binding(5) var<storage, read_write> dist2: array<f32>;
@group(0) @binding(6) var<storage, read_write> changed: array<u32>;

const TILE_FLOATS: u32 = 4096u;  // 16 KiB of the 16 KiB WebGPU guarantees
var<workgroup> tile: array<f32, 4096>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = linear_id(gid, p);
    let in_range = row < p.rows;
    let dim = p.dim;
    let base = row * dim;
    let tile_k = max(1u, TILE_FLOATS / dim);
    var best = 3.4028235e38;
    var best_c = 0u;
    var seen_any = false;
    for (var c0 = 0u; c0 < p.k; c0 = c0 + tile_k) {
        let count = min(tile_k, p.k - c0);
        workgroupBarrier();
        for (var i = lid; i < count * dim; i = i + WG) {
            tile[i] = centres[c0 * dim + i];
        }
        workgroupBarrier();
        if (in_range) {
            for (var c = 0u; c < count; c = c + 1u) {
                var dot = 0.0;
                for (var j = 0u; j < dim; j = j + 1u) {
                    dot = dot + x[base + j] * tile[c * dim + j];
                }
                let score = norms[c0 + c] - 2.0 * dot;
                if (!seen_any || score < best) {
                    best = score;
                    best_c = c0 + c;
                    seen_any = true;
                }
            }
        }
    }
    if (in_range) {
        var d2 = 0.0;
        for (var j = 0u; j < dim; j = j + 1u) {
            let t = x[base + j] - centres[best_c * dim + j];
            d2 = d2 + t * t;
        }
        changed[row] = select(0u, 1u, labels[row] != best_c);
        labels[row] = best_c;
        dist2[row] = d2;
    }
}
