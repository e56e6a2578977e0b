// Shared by every custseg kernel (prepended by src/backend/gpu/shaders.rs).
// Rows are row-major f32 (`rows × dim`); ids above `rows` are padding threads.

struct Params {
    rows: u32,            // rows in this chunk
    dim: u32,             // features per row
    k: u32,               // centres (or candidates)
    rows_per_block: u32,  // rows reduced by one statistics thread
    n_blocks: u32,        // ceil(rows / rows_per_block)
    stride: u32,          // threads per dispatch row: id = gid.x + gid.y * stride
    n_acc: u32,           // accumulators per block
    full: u32,            // mixtures: 1 = full precision Cholesky factors, 0 = diagonal
    row_offset: u32,      // mixtures: first row of this sub-range within the chunk
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const WG: u32 = 256u;

fn linear_id(gid: vec3<u32>, p: Params) -> u32 {
    return gid.x + gid.y * p.stride;
}

// One step of Kahan compensated summation: *sum += v, with the lost low bits kept in *comp.
fn kahan_add(sum: ptr<function, f32>, comp: ptr<function, f32>, v: f32) {
    let y = v - *comp;
    let t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}
