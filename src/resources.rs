//! Work that cannot fit in memory is refused up front, with the figures, instead of the
//! process being killed by the kernel halfway through a nightly run.

use crate::error::{Error, Result};

/// Bytes of memory available to new allocations (Linux `MemAvailable`); `None` elsewhere.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Fails with [`Error::TooLarge`] when `needed` bytes exceed the available memory.
pub fn ensure_fits(what: String, needed: u64) -> Result<()> {
    match available_memory() {
        Some(available) if needed > available => Err(Error::TooLarge { what, needed, available }),
        _ => Ok(()),
    }
}

/// Rough peak memory of a fit: raw and prepared rows, ids and labels, plus the per-chunk
/// statistics of one parallel window (k × columns, or k × columns² for full-covariance
/// mixtures).
pub fn fit_estimate(rows: u64, columns: u64, k: u64, full_second_moments: bool) -> u64 {
    let per_row = columns * 8 + 24;
    let per_component = if full_second_moments { columns.saturating_mul(columns) + columns + 3 } else { columns + 3 };
    let stats =
        (crate::backend::cpu::STATS_WINDOW as u64).saturating_mul(k).saturating_mul(per_component).saturating_mul(8);
    rows.saturating_mul(per_row).saturating_add(stats).saturating_add(k.saturating_mul(columns) * 4)
}

/// Rough peak memory of a fit whose rows stream from the on-disk cache: per row the id,
/// labels and one value of scratch (k-means++ distances), the prep sample, a window of
/// batches in flight, and the statistics.
pub fn streamed_fit_estimate(rows: u64, columns: u64, k: u64) -> u64 {
    let sample = crate::prep::spill::PREP_SAMPLE_ROWS.min(rows).saturating_mul(columns * 8 + 24);
    rows.saturating_mul(24).saturating_add(sample).saturating_add(fit_estimate(0, columns, k, true))
}

/// The default `--memory-budget`: half the available memory (8 GiB when unknown).
pub fn default_memory_budget() -> u64 {
    available_memory().map_or(8 << 30, |m| m / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_beyond_memory_is_refused_with_both_figures() {
        if available_memory().is_none() {
            return; // not Linux: nothing to compare with
        }
        let err = ensure_fits("a test".into(), u64::MAX).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("a test") && text.contains("available"), "{text}");
        assert_eq!(err.exit_code(), 2);
        assert!(ensure_fits("small".into(), 1).is_ok());
    }
}
