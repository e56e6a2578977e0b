//! The lines ordered by customer: a stable counting sort on the customer number (dense, in
//! order of first appearance), run in parallel and still deterministic.
//!
//! The lines are cut into a few contiguous parts, one per thread. Each part counts its lines
//! per customer; the counts give every (customer, part) pair its own run of slots, the
//! parts of a customer in order; then each part places its lines into its runs. A customer's
//! lines keep their input order whatever the thread count, and no two threads write the
//! same slot.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::line::{GroupedLine, Line, NO_INVOICE};

/// Lines per customer a part must have on average to be worth its own count table (the
/// table costs a pass over every customer).
const LINES_PER_CUSTOMER_PER_PART: usize = 2;

/// How many customers the lines of `chunks` number (the largest number + 1), and whether any
/// line has an invoice.
pub fn scan(chunks: &[Vec<Line>]) -> (usize, bool) {
    chunks
        .par_iter()
        .map(|c| {
            c.iter().fold((0, false), |(n, invoices), l| {
                (n.max(l.customer as usize + 1), invoices || l.invoice != NO_INVOICE)
            })
        })
        .reduce(|| (0, false), |a, b| (a.0.max(b.0), a.1 || b.1))
}

/// The lines of `chunks`, whose customer numbers are below `customers` ([`scan`]), ordered
/// by customer, stably, as `T`; and where each customer's lines start (customers + 1
/// entries).
pub fn by_customer<T: GroupedLine>(chunks: Vec<Vec<Line>>, customers: usize) -> (Vec<T>, Vec<usize>) {
    let total: usize = chunks.iter().map(Vec::len).sum();
    let parts = (total / (customers * LINES_PER_CUSTOMER_PER_PART).max(1)).clamp(1, rayon::current_num_threads());
    let parts = split(&chunks, parts);
    let mut next: Vec<Vec<usize>> = parts
        .par_iter()
        .map(|part| {
            let mut counts = vec![0usize; customers];
            for l in part.iter().flat_map(|s| s.iter()) {
                counts[l.customer as usize] += 1;
            }
            counts
        })
        .collect();
    let mut start = Vec::with_capacity(customers + 1);
    let mut slot = 0;
    for c in 0..customers {
        start.push(slot);
        for part in next.iter_mut() {
            (part[c], slot) = (slot, slot + part[c]);
        }
    }
    start.push(slot);

    let mut sorted: Vec<T> = Vec::with_capacity(total);
    let slots = Slots(sorted.spare_capacity_mut().as_mut_ptr());
    parts.into_par_iter().zip(next).for_each(|(part, mut next)| {
        for l in part.iter().flat_map(|s| s.iter()) {
            let slot = &mut next[l.customer as usize];
            // SAFETY: the runs of (customer, part) pairs are disjoint and tile 0..total, and
            // this part alone writes its runs, each slot once.
            unsafe { slots.write(*slot, T::from_line(l)) };
            *slot += 1;
        }
    });
    // SAFETY: every slot of 0..total was written above (the counts add up to total).
    unsafe { sorted.set_len(total) };
    // The lines as they came are freed by the pool while the caller goes on.
    rayon::spawn(move || drop(chunks));
    (sorted, start)
}

/// The sorted copy's slots, written from several threads, each to its own.
struct Slots<T>(*mut MaybeUninit<T>);

// SAFETY: threads write disjoint slots only (see `by_customer`), and lines may be sent.
unsafe impl<T: Send> Sync for Slots<T> {}

impl<T> Slots<T> {
    /// # Safety
    /// `slot` is inside the allocation and no other thread writes it.
    unsafe fn write(&self, slot: usize, line: T) {
        unsafe { (*self.0.add(slot)).write(line) };
    }
}

/// `chunks` cut into `parts` contiguous runs of about the same number of lines.
fn split(chunks: &[Vec<Line>], parts: usize) -> Vec<Vec<&[Line]>> {
    let total: usize = chunks.iter().map(Vec::len).sum();
    let per_part = total.div_ceil(parts).max(1);
    let mut out: Vec<Vec<&[Line]>> = vec![Vec::new()];
    let mut room = per_part;
    for chunk in chunks {
        let mut rest = chunk.as_slice();
        while !rest.is_empty() {
            if room == 0 {
                out.push(Vec::new());
                room = per_part;
            }
            let (head, tail) = rest.split_at(room.min(rest.len()));
            out.last_mut().expect("one part at least").push(head);
            room -= head.len();
            rest = tail;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::line::DayValue;
    use super::*;

    #[test]
    fn parts_keep_each_customers_lines_in_input_order() {
        // 3 customers, lines numbered by their invoice in input order, spread over chunks of
        // uneven sizes; sorted with 1 and with several parts.
        let lines: Vec<Line> =
            (0..1000u64).map(|i| Line::new(((i * 7) % 3) as u32, (i % 50) as i32, 1.0, true, i)).collect();
        let chunks = || vec![lines[..3].to_vec(), lines[3..400].to_vec(), Vec::new(), lines[400..].to_vec()];
        assert_eq!(scan(&chunks()), (3, true));
        let (sorted, start) = by_customer::<Line>(chunks(), 3);
        assert_eq!(start, vec![0, 334, 667, 1000]);
        for w in sorted.windows(2) {
            assert!((w[0].customer, w[0].invoice) < (w[1].customer, w[1].invoice), "{w:?}");
        }
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        assert_eq!(pool.install(|| by_customer::<Line>(chunks(), 3)), (sorted.clone(), start.clone()));
        let (compact, compact_start) = by_customer::<DayValue>(chunks(), 3);
        assert_eq!(compact_start, start);
        assert!(compact.iter().zip(&sorted).all(|(c, l)| (c.day, c.value) == (l.day, l.value)));
    }

    #[test]
    fn split_cuts_runs_of_equal_size_across_chunks() {
        let line = Line::new(0, 0, 1.0, true, 0);
        let chunks = vec![vec![line; 5], vec![line; 2], vec![line; 4]];
        let sizes: Vec<Vec<usize>> = split(&chunks, 3).iter().map(|p| p.iter().map(|s| s.len()).collect()).collect();
        assert_eq!(sizes, vec![vec![4], vec![1, 2, 1], vec![3]]);
    }
}
