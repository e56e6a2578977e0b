//! The cleaned lines, held in memory up to the memory budget and hash-partitioned by
//! customer onto disk past it, so a log larger than memory is summarised one partition at a
//! time.
//!
//! While the lines fit, they stay in one vector. When the next batch would pass the budget,
//! the store opens [`PARTITIONS`] files in the spill folder and from then on writes every
//! line (those held so far first, in order) to the file of `customer % PARTITIONS`. A
//! customer's lines all land in one partition, in input order, so summarising partition by
//! partition and ordering the rows by customer gives exactly the in-memory result. Spill
//! files are temporary files: removed when the store is dropped, on SIGINT/SIGTERM, and (left
//! by a killed run) at the start of the next run that spills into the same folder.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use bytemuck::Zeroable;
use rayon::prelude::*;

use super::line::Line;
use super::rfm::{summarise, CustomerSummary, PeriodCounts, Periods};
use crate::error::{Error, Result};
use crate::info;
use crate::io::atomic::{remove_stale_temp_files, TempPath};

/// Partitions of a spilled log: each holds about 1/256 of the lines, so a log of 10⁹ lines
/// (24 GB) is summarised 94 MB at a time.
pub const PARTITIONS: u32 = 256;

/// Bytes a held line costs while it is summarised (the line, and its copy in the sort).
const BYTES_PER_LINE: u64 = 2 * std::mem::size_of::<Line>() as u64;

/// One partition's spill file.
struct Partition {
    path: TempPath,
    writer: BufWriter<File>,
}

/// The cleaned lines of a log, in memory or spilled.
pub struct LineStore {
    /// The batches held in memory, as they came.
    held: Vec<Vec<Line>>,
    held_lines: u64,
    /// Lines held in memory before spilling.
    limit: u64,
    folder: PathBuf,
    partitions: Vec<Partition>,
    count: u64,
    last_day: Option<i64>,
}

impl LineStore {
    /// A store that holds lines in memory up to `budget` bytes and spills the rest to
    /// `folder`.
    pub fn new(budget: u64, folder: &Path) -> Self {
        LineStore {
            held: Vec::new(),
            held_lines: 0,
            limit: (budget / BYTES_PER_LINE).max(1),
            folder: folder.to_path_buf(),
            partitions: Vec::new(),
            count: 0,
            last_day: None,
        }
    }

    /// Adds a batch of lines, spilling when they pass the budget.
    pub fn extend(&mut self, lines: Vec<Line>) -> Result<()> {
        let added = lines.len() as u64;
        if self.partitions.is_empty() && self.held_lines + added > self.limit {
            self.start_spilling()?;
        }
        self.count += added;
        self.last_day = self.last_day.max(lines.iter().map(|l| i64::from(l.day)).max());
        if self.partitions.is_empty() {
            self.held_lines += added;
            self.held.push(lines);
            return Ok(());
        }
        lines.iter().try_for_each(|line| self.write(line))
    }

    /// Opens the partition files and moves the held lines into them.
    fn start_spilling(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.folder).map_err(|e| Error::io(&self.folder, e))?;
        for p in 0..PARTITIONS {
            let target = self.folder.join(format!("custseg-lines-{p:03}.bin"));
            remove_stale_temp_files(&target);
            let (path, file) = TempPath::create(&target)?;
            self.partitions.push(Partition { path, writer: BufWriter::with_capacity(1 << 16, file) });
        }
        info!(
            "the transaction lines pass the memory budget ({} lines held): spilling them to {} partitions in {}",
            self.held_lines,
            PARTITIONS,
            self.folder.display()
        );
        for batch in std::mem::take(&mut self.held) {
            batch.iter().try_for_each(|line| self.write(line))?;
        }
        self.held_lines = 0;
        Ok(())
    }

    fn write(&mut self, line: &Line) -> Result<()> {
        let part = &mut self.partitions[(line.customer % PARTITIONS) as usize];
        part.writer.write_all(bytemuck::bytes_of(line)).map_err(|e| Error::io(part.path.temp(), e))
    }

    /// Lines kept after cleaning.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The latest day of any line.
    pub fn last_day(&self) -> Option<i64> {
        self.last_day
    }

    /// Partition files the lines were spilled to (0: held in memory).
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Summarises every customer, ordered by customer number, partition by partition when
    /// spilled.
    pub fn summarise(mut self, periods: Periods) -> Result<(Vec<CustomerSummary>, PeriodCounts)> {
        if self.partitions.is_empty() {
            return Ok(summarise(std::mem::take(&mut self.held), periods));
        }
        let mut rows = Vec::new();
        let mut counts = PeriodCounts::default();
        for (p, partition) in std::mem::take(&mut self.partitions).into_iter().enumerate() {
            let mut lines = read_partition(partition)?;
            // Customer numbers c ≡ p (mod PARTITIONS) become dense as c / PARTITIONS.
            lines.par_iter_mut().for_each(|l| l.customer /= PARTITIONS);
            let (part_rows, part_counts) = summarise(vec![lines], periods);
            rows.extend(
                part_rows.into_iter().map(|r| CustomerSummary { customer: r.customer * PARTITIONS + p as u32, ..r }),
            );
            counts.lines_after_as_of += part_counts.lines_after_as_of;
            counts.lines_after_holdout += part_counts.lines_after_holdout;
            counts.customers_without_purchase += part_counts.customers_without_purchase;
        }
        rows.par_sort_unstable_by_key(|r| r.customer);
        Ok((rows, counts))
    }
}

/// A partition's lines, read back; its file is removed when this returns.
fn read_partition(partition: Partition) -> Result<Vec<Line>> {
    let Partition { path, writer } = partition;
    let mut file = writer.into_inner().map_err(|e| Error::io(path.temp(), e.into_error()))?;
    let bytes = file.seek(SeekFrom::End(0)).map_err(|e| Error::io(path.temp(), e))?;
    let mut reader = File::open(path.temp()).map_err(|e| Error::io(path.temp(), e))?;
    let mut lines = vec![Line::zeroed(); (bytes / std::mem::size_of::<Line>() as u64) as usize];
    reader.read_exact(bytemuck::cast_slice_mut(&mut lines)).map_err(|e| Error::io(path.temp(), e))?;
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn lines(n: usize, customers: u64, seed: u64) -> Vec<Line> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|i| {
                let value = rng.uniform() * 100.0 - 10.0;
                let (customer, day) = (rng.below(customers) as u32, 100 + rng.below(400) as i32);
                Line::new(customer, day, value, value >= 0.0, (i / 3) as u64)
            })
            .collect()
    }

    #[test]
    fn spilled_lines_summarise_exactly_as_held_ones() {
        let dir = tempfile::tempdir().unwrap();
        let all = lines(50_000, 3_000, 7);
        let periods = Periods { as_of: 400, holdout_end: Some(450) };
        let summarised = |budget: u64| {
            let mut store = LineStore::new(budget, dir.path());
            for batch in all.chunks(4096) {
                store.extend(batch.to_vec()).unwrap();
            }
            assert_eq!(store.len(), all.len() as u64);
            assert_eq!(store.last_day(), all.iter().map(|l| i64::from(l.day)).max());
            let spilled = store.partitions() > 0;
            (store.summarise(periods).unwrap(), spilled)
        };
        let (held, spilled) = summarised(1 << 30);
        assert!(!spilled);
        let (streamed, spilled) = summarised(10_000 * BYTES_PER_LINE);
        assert!(spilled, "a budget of 10,000 lines spills 50,000");
        assert_eq!(held, streamed);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "spill files are removed: {left:?}");
    }
}
