// Borůvka's step of the density pipeline: thread id finds, for query row
// row_offset + id (n_blocks queries per dispatch), the nearest row j of another component
// in the mutual-reachability distance max(core_i, core_j, ‖x_i − x_j‖) (f32; lowest index
// first among equal weights), scanning the data a shared tile of rows at a time. A row j
// whose core distances alone reach the best so far is skipped without its distance.
// p.rows: rows of the data, p.dim ≤ 64.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;           // rows × dim
@group(0) @binding(2) var<storage, read> core: array<f32>;        // rows
@group(0) @binding(3) var<storage, read> component: array<u32>;   // rows
@group(0) @binding(4) var<storage, read_write> out_weight: array<f32>; // n_blocks
@group(0) @binding(5) var<storage, read_write> out_row: array<u32>;    // n_blocks

const FAR: f32 = 3.0e38; // FAR in src/backend/density.rs
const TILE_FLOATS: u32 = 4096u;
var<workgroup> tile: array<f32, 4096>;
var<workgroup> tile_core: array<f32, 256>;
var<workgroup> tile_component: array<u32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let id = linear_id(gid, p);
    let live = id < p.n_blocks;
    let i = p.row_offset + min(id, p.n_blocks - 1u);
    var q: array<f32, 64>;
    for (var f = 0u; f < p.dim; f = f + 1u) {
        q[f] = x[i * p.dim + f];
    }
    let own = component[i];
    let core_i = core[i];
    var best = FAR;
    var best_row = 0xffffffffu;
    let per_tile = min(TILE_FLOATS / p.dim, WG);
    for (var start = 0u; start < p.rows; start = start + per_tile) {
        let count = min(per_tile, p.rows - start);
        workgroupBarrier();
        for (var f = lid; f < count * p.dim; f = f + WG) {
            tile[f] = x[start * p.dim + f];
        }
        if (lid < count) {
            tile_core[lid] = core[start + lid];
            tile_component[lid] = component[start + lid];
        }
        workgroupBarrier();
        if (live) {
            for (var r = 0u; r < count; r = r + 1u) {
                let least = max(core_i, tile_core[r]);
                if (tile_component[r] == own || least >= best) {
                    continue;
                }
                var d2 = 0.0;
                for (var f = 0u; f < p.dim; f = f + 1u) {
                    let t = q[f] - tile[r * p.dim + f];
                    d2 = d2 + t * t;
                }
                let w = max(least, sqrt(d2));
                if (w < best) {
                    best = w;
                    best_row = start + r;
                }
            }
        }
    }
    if (live) {
        out_weight[id] = best;
        out_row[id] = best_row;
    }
}
