//! The statistics of the micro-clusters two-level mode builds its tree on: count, weight and
//! sum of each micro-cluster's rows. The backend's assignment pass finds each row's nearest
//! micro-cluster centre (an integer, the same on every backend); the sums are accumulated
//! here in f64, in row order, so the leaves and therefore the tree do not depend on how a
//! backend accumulates (the GPU sums in f32): same partition of the rows, same tree, bit
//! for bit. Each micro-cluster's first row is kept too, so the leaves can be numbered by it
//! (with every row its own micro-cluster, leaf i is then row i, as in exact mode).

use crate::backend::{Backend, Centres};
use crate::data::Dataset;
use crate::error::Result;

/// Per micro-cluster: rows, Σ w, Σ w·x (`m × dim`), the index of its first row
/// (`usize::MAX` when it has none), and Σ w·‖x − centre‖² over all rows.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroStats {
    pub counts: Vec<u64>,
    pub first_rows: Vec<usize>,
    pub weights: Vec<f64>,
    pub sums: Vec<f64>,
    pub inertia: f64,
}

/// One assignment pass of `data` to `centres` on `backend`, accumulated on the host.
pub fn micro_statistics(backend: &dyn Backend, data: &Dataset, centres: &Centres) -> Result<MicroStats> {
    let (m, dim) = (centres.k, data.dim());
    let mut stats = MicroStats {
        counts: vec![0; m],
        first_rows: vec![usize::MAX; m],
        weights: vec![0.0; m],
        sums: vec![0.0; m * dim],
        inertia: 0.0,
    };
    backend.assign(data, centres, &mut |c, nearest, _| {
        let (chunk, offset) = (&data.chunks()[c], data.chunk_offset(c));
        for (i, (row, &micro)) in chunk.values.chunks_exact(dim).zip(nearest).enumerate() {
            let (micro, w) = (micro as usize, chunk.weight(i) as f64);
            stats.first_rows[micro] = stats.first_rows[micro].min(offset + i);
            stats.counts[micro] += 1;
            stats.weights[micro] += w;
            let centre = centres.centre(micro);
            let mut squared = 0.0f64;
            for ((sum, &x), &c) in stats.sums[micro * dim..(micro + 1) * dim].iter_mut().zip(row).zip(centre) {
                *sum += w * x as f64;
                squared += (x as f64 - c as f64).powi(2);
            }
            stats.inertia += w * squared;
        }
        chunk.values.release();
        Ok(())
    })?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::CpuBackend;

    #[test]
    fn rows_are_summed_into_their_nearest_centre_with_their_weights() {
        let data = Dataset::from_rows(&[0.0, 1.0, 10.0, 12.0], 1, Some(&[1.0, 3.0, 2.0, 2.0]), 3);
        let centres = Centres::new(2, 1, vec![0.5, 11.0]);
        let s = micro_statistics(&CpuBackend, &data, &centres).unwrap();
        assert_eq!((s.counts, s.weights, s.sums), (vec![2, 2], vec![4.0, 4.0], vec![3.0, 44.0]));
        assert_eq!(s.first_rows, vec![0, 2]);
        assert_eq!(s.inertia, 1.0 * 0.25 + 3.0 * 0.25 + 2.0 + 2.0);
    }
}
