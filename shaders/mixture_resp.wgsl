// Gaussian-mixture E-step, part 1: for each row of a sub-range of the chunk, the component
// log densities from the precision Cholesky factors (diagonal or upper-triangular full),
// a stable log-sum-exp, and the responsibilities. resp and lse cover the sub-range only,
// so the N×K responsibility matrix never exists for all rows.

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> means: array<f32>;      // k × dim
@group(0) @binding(3) var<storage, read> prec: array<f32>;       // k × dim (diag) or k × dim × dim (full)
@group(0) @binding(4) var<storage, read> log_norm: array<f32>;   // k
@group(0) @binding(5) var<storage, read_write> resp: array<f32>; // rows × k
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;  // rows

fn log_density(row: u32, c: u32) -> f32 {
    let d = p.dim;
    let base = (p.row_offset + row) * d;
    var q = 0.0;
    if (p.full == 1u) {
        let pc = c * d * d;
        for (var j = 0u; j < d; j = j + 1u) {
            var y = 0.0;
            for (var i = 0u; i <= j; i = i + 1u) {
                y = y + (x[base + i] - means[c * d + i]) * prec[pc + i * d + j];
            }
            q = q + y * y;
        }
    } else {
        for (var j = 0u; j < d; j = j + 1u) {
            let y = (x[base + j] - means[c * d + j]) * prec[c * d + j];
            q = q + y * y;
        }
    }
    return log_norm[c] - 0.5 * q;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let row = linear_id(gid, p);
    if (row >= p.rows) {
        return;
    }
    let k = p.k;
    var best = -3.4028235e38;
    for (var c = 0u; c < k; c = c + 1u) {
        let l = log_density(row, c);
        resp[row * k + c] = l;
        best = max(best, l);
    }
    var total = 0.0;
    for (var c = 0u; c < k; c = c + 1u) {
        total = total + exp(resp[row * k + c] - best);
    }
    let norm = best + log(total);
    lse[row] = norm;
    for (var c = 0u; c < k; c = c + 1u) {
        resp[row * k + c] = exp(resp[row * k + c] - norm);
    }
}
