//! Timing helper shared by the bench commands.

use std::time::Instant;

use crate::error::Result;

/// Wall times of repeated calls of one pass.
pub(super) struct Timing {
    pub median: f64,
    pub min: f64,
}

/// Times `iters` (at least one) calls of `pass`.
pub(super) fn timed(iters: usize, mut pass: impl FnMut() -> Result<()>) -> Result<Timing> {
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters.max(1) {
        let t = Instant::now();
        pass()?;
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(Timing { median: times[times.len() / 2], min: times[0] })
}
