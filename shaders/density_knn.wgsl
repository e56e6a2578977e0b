// The density pipeline's k-nearest-rows pass. Thread id answers query row
// row_offset + id (n_blocks queries per dispatch): it scans every row j of the data, a
// shared tile of rows at a time (the workgroup loads each tile once), and keeps its k
// nearest (f32 squared distance, lowest index first among equal ones) in a private
// insertion-sorted list: O(k) memory per row, never the rows × rows distances.
// p.rows: rows of the data, p.dim ≤ 64, p.k ≤ 64 (list length).

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;             // rows × dim
@group(0) @binding(2) var<storage, read_write> nn_index: array<u32>; // n_blocks × k
@group(0) @binding(3) var<storage, read_write> nn_sq: array<f32>;    // n_blocks × k

const MAX_LIST: u32 = 64u;
const MAX_FEATURES: u32 = 64u;
const TILE_FLOATS: u32 = 4096u;
const FAR: f32 = 3.0e38; // FAR in src/backend/density.rs
var<workgroup> tile: array<f32, 4096>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = linear_id(gid, p);
    let live = id < p.n_blocks;
    let i = p.row_offset + min(id, p.n_blocks - 1u);
    var q: array<f32, 64>;
    for (var f = 0u; f < p.dim; f = f + 1u) {
        q[f] = x[i * p.dim + f];
    }
    var best_d: array<f32, 64>;
    var best_i: array<u32, 64>;
    for (var t = 0u; t < p.k; t = t + 1u) {
        best_d[t] = FAR;
        best_i[t] = 0xffffffffu;
    }
    let per_tile = TILE_FLOATS / p.dim;
    for (var start = 0u; start < p.rows; start = start + per_tile) {
        let count = min(per_tile, p.rows - start);
        workgroupBarrier();
        for (var f = lid; f < count * p.dim; f = f + WG) {
            tile[f] = x[start * p.dim + f];
        }
        workgroupBarrier();
        if (live) {
            for (var r = 0u; r < count; r = r + 1u) {
                var d2 = 0.0;
                for (var f = 0u; f < p.dim; f = f + 1u) {
                    let t = q[f] - tile[r * p.dim + f];
                    d2 = d2 + t * t;
                }
                if (d2 < best_d[p.k - 1u]) {
                    var at = p.k - 1u;
                    while (at > 0u && best_d[at - 1u] > d2) {
                        best_d[at] = best_d[at - 1u];
                        best_i[at] = best_i[at - 1u];
                        at = at - 1u;
                    }
                    best_d[at] = d2;
                    best_i[at] = start + r;
                }
            }
        }
    }
    if (live) {
        for (var t = 0u; t < p.k; t = t + 1u) {
            nn_index[id * p.k + t] = best_i[t];
            nn_sq[id * p.k + t] = best_d[t];
        }
    }
}
