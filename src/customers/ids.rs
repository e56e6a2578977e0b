//! Numbers for integer customer ids, in order of first appearance. Ids are usually dense
//! (a range not much wider than their count: CDNOW's 1…23,570, a warehouse's sequence), and
//! then a direct table replaces the hash map: no hashing and no probing per line, which is
//! what numbering ten million lines costs. Ids spread too thinly for a table go to a hash map.

use rustc_hash::FxHashMap;

/// A table may span at most this many slots per id it holds (plus its slack).
const DENSE_FACTOR: i128 = 8;
/// Slots a batch's table may always span, whatever its count (256 KiB).
pub const BATCH_SLACK: usize = 1 << 16;
/// Slots the whole log's table may always span (16 MiB): a log's ids are numbered one
/// batch at a time, and the first batches hold few of them.
pub const LOG_SLACK: usize = 1 << 22;
/// An empty slot.
const EMPTY: u32 = u32::MAX;

/// Integer id → number.
pub enum IntIndex {
    /// `slots[id − base]` is the id's number, or [`EMPTY`]; `slack` as in [`IntIndex::new`].
    Dense {
        base: i64,
        slots: Vec<u32>,
        count: usize,
        slack: usize,
    },
    Sparse(FxHashMap<i64, u32>),
}

impl Default for IntIndex {
    fn default() -> Self {
        IntIndex::new(BATCH_SLACK)
    }
}

impl IntIndex {
    /// An empty index whose table may span up to `DENSE_FACTOR` slots per id plus `slack`.
    pub fn new(slack: usize) -> Self {
        IntIndex::Dense { base: 0, slots: Vec::new(), count: 0, slack }
    }

    /// Makes room for up to `more` new ids in `lo..=hi` (e.g. a batch's), so they are
    /// numbered without widening the table one id at a time.
    pub fn prepare(&mut self, lo: i64, hi: i64, more: usize) {
        if !self.widen(lo, hi, more) {
            self.make_sparse(more);
        }
    }

    /// The number of `id`: the one it has, or `next` (recorded) when it is new. Returns the
    /// number and whether the id is new.
    pub fn number(&mut self, id: i64, next: u32) -> (u32, bool) {
        if let IntIndex::Dense { base, slots, count, .. } = self {
            let offset = id as i128 - *base as i128;
            if offset >= 0 && offset < slots.len() as i128 {
                let slot = &mut slots[offset as usize];
                if *slot == EMPTY {
                    *slot = next;
                    *count += 1;
                    return (next, true);
                }
                return (*slot, false);
            }
            self.prepare(id, id, 1);
            return self.number(id, next);
        }
        let IntIndex::Sparse(map) = self else { unreachable!("the dense case returned") };
        let slot = map.entry(id).or_insert(next);
        (*slot, *slot == next)
    }

    /// Numbers `ids` in order, as [`IntIndex::number`] one by one would, the first new one
    /// `next`: calls `set(i, number)` for every `ids[i]` and `new(id)` for every id seen for
    /// the first time. A dense table is read a block of ids at a time, all of the block's
    /// slots loaded before any is used, so the loads (cache misses, mostly) overlap.
    pub fn number_all(
        &mut self,
        ids: &[i64],
        mut next: u32,
        mut set: impl FnMut(usize, u32),
        mut new: impl FnMut(i64),
    ) {
        const BLOCK: usize = 64;
        let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) else { return };
        self.prepare(lo, hi, ids.len());
        let IntIndex::Dense { base, slots, count, .. } = self else {
            for (i, &id) in ids.iter().enumerate() {
                let (number, is_new) = self.number(id, next);
                if is_new {
                    next += 1;
                    new(id);
                }
                set(i, number);
            }
            return;
        };
        // `prepare` made the table cover lo..=hi, so every offset is in range.
        let offset = |id: i64| (id as i128 - *base as i128) as usize;
        let mut loaded = [EMPTY; BLOCK];
        for (b, block) in ids.chunks(BLOCK).enumerate() {
            for (slot, &id) in loaded.iter_mut().zip(block) {
                *slot = slots[offset(id)];
            }
            for (k, &id) in block.iter().enumerate() {
                let mut number = loaded[k];
                if number == EMPTY {
                    // New before this block, or numbered by an earlier id of the block.
                    let slot = &mut slots[offset(id)];
                    if *slot == EMPTY {
                        *slot = next;
                        *count += 1;
                        next += 1;
                        new(id);
                    }
                    number = *slot;
                }
                set(b * BLOCK + k, number);
            }
        }
    }

    /// Widens a dense table to cover `lo..=hi` (with room to grow by half its span on the
    /// side it grows, so ids arriving in order widen it O(log n) times); false when the
    /// table, with `more` ids added, would be too sparse (or is a hash map already).
    fn widen(&mut self, lo: i64, hi: i64, more: usize) -> bool {
        let IntIndex::Dense { base, slots, count, slack } = self else { return false };
        let (lo, hi) = (lo as i128, hi as i128);
        let (old_lo, old_hi) = (*base as i128, *base as i128 + slots.len() as i128 - 1);
        if !slots.is_empty() && lo >= old_lo && hi <= old_hi {
            return true;
        }
        let (mut new_lo, mut new_hi) = if slots.is_empty() { (lo, hi) } else { (lo.min(old_lo), hi.max(old_hi)) };
        let margin = (new_hi - new_lo + 1) / 2;
        if !slots.is_empty() && new_lo < old_lo {
            new_lo = (new_lo - margin).max(i64::MIN as i128);
        }
        if slots.is_empty() || new_hi > old_hi {
            new_hi = (new_hi + margin).min(i64::MAX as i128);
        }
        let span = new_hi - new_lo + 1;
        if span > DENSE_FACTOR * (*count + more) as i128 + *slack as i128 {
            return false;
        }
        let mut widened = vec![EMPTY; span as usize];
        if !slots.is_empty() {
            let shift = (old_lo - new_lo) as usize;
            widened[shift..shift + slots.len()].copy_from_slice(slots);
        }
        *base = new_lo as i64;
        *slots = widened;
        true
    }

    /// Turns a dense table into a hash map with room for `more` ids.
    fn make_sparse(&mut self, more: usize) {
        if let IntIndex::Dense { base, slots, count, .. } = self {
            let mut map = FxHashMap::with_capacity_and_hasher(*count + more, Default::default());
            map.extend(
                slots
                    .iter()
                    .enumerate()
                    .filter(|(_, &n)| n != EMPTY)
                    .map(|(offset, &n)| ((*base as i128 + offset as i128) as i64, n)),
            );
            *self = IntIndex::Sparse(map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers `ids` in order of first appearance, as a hash map would.
    fn reference(ids: &[i64]) -> Vec<u32> {
        let mut map = FxHashMap::default();
        ids.iter()
            .map(|&id| {
                let next = map.len() as u32;
                *map.entry(id).or_insert(next)
            })
            .collect()
    }

    fn numbered(ids: &[i64]) -> (Vec<u32>, bool) {
        let mut index = IntIndex::new(LOG_SLACK);
        let mut next = 0;
        let numbers = ids
            .iter()
            .map(|&id| {
                let (n, new) = index.number(id, next);
                next += new as u32;
                n
            })
            .collect();
        (numbers, matches!(index, IntIndex::Dense { .. }))
    }

    #[test]
    fn dense_ids_in_any_order_are_numbered_by_first_appearance_in_a_table() {
        let mut rng = crate::rng::Rng::new(5);
        let ids: Vec<i64> = (0..200_000).map(|_| 1_000_000 - rng.below(100_000) as i64).collect();
        let (numbers, dense) = numbered(&ids);
        assert!(dense);
        assert_eq!(numbers, reference(&ids));
        let descending: Vec<i64> = (0..100_000).rev().chain(0..5).collect();
        assert_eq!(numbered(&descending), (reference(&descending), true));
    }

    #[test]
    fn a_prepared_range_is_numbered_without_widening() {
        let mut index = IntIndex::default();
        index.prepare(-50, 1000, 1051);
        let IntIndex::Dense { base, slots, .. } = &index else { panic!("dense") };
        let (base, span) = (*base, slots.len());
        assert!(base <= -50 && base + span as i64 > 1000);
        for (next, id) in (-50..=1000).rev().enumerate() {
            assert_eq!(index.number(id, next as u32), (next as u32, true));
        }
        assert!(matches!(&index, IntIndex::Dense { slots, .. } if slots.len() == span));
        index.prepare(0, 1 << 40, 10);
        assert!(matches!(index, IntIndex::Sparse(_)));
        assert_eq!(index.number(-50, 99), (1050, false));
    }

    #[test]
    fn numbering_a_whole_batch_matches_numbering_id_by_id() {
        let mut rng = crate::rng::Rng::new(9);
        for (span, extreme) in [(50_000u64, false), (3_000, false), (50_000, true)] {
            let mut index = IntIndex::new(LOG_SLACK);
            let (mut all, mut numbers, mut new_ids) = (Vec::new(), Vec::new(), Vec::new());
            for batch in 0..5 {
                let mut ids: Vec<i64> = (0..20_000).map(|_| 7_000 + rng.below(span) as i64).collect();
                if extreme && batch == 3 {
                    ids.extend([i64::MAX, i64::MIN, 7_000]);
                }
                let first = numbers.len();
                numbers.resize(first + ids.len(), u32::MAX);
                index.number_all(&ids, new_ids.len() as u32, |i, n| numbers[first + i] = n, |id| new_ids.push(id));
                all.extend(ids);
            }
            assert_eq!(numbers, reference(&all));
            let mut seen = std::collections::HashSet::new();
            let distinct: Vec<i64> = all.iter().copied().filter(|id| seen.insert(*id)).collect();
            assert_eq!(new_ids, distinct);
            assert_eq!(matches!(index, IntIndex::Sparse(_)), extreme);
        }
    }

    #[test]
    fn sparse_and_extreme_ids_fall_back_to_a_hash_map() {
        let ids: Vec<i64> = vec![5, i64::MAX, i64::MIN, 5, 7, 1 << 40, i64::MAX, -3];
        let (numbers, dense) = numbered(&ids);
        assert!(!dense);
        assert_eq!(numbers, reference(&ids));
    }
}
