//! numpy's portable `argsort` (introsort: median-of-three quicksort, insertion sort below 16
//! rows, heapsort past a depth limit), step for step as numpy's `npysort/quicksort.cpp`
//! (`aquicksort_`, `aheapsort_`). scikit-learn's HDBSCAN sorts its Prim tree's edges with
//! `np.argsort`, an unstable sort: which of several equal-weight merges comes first decides
//! which cluster a small group falls out of, so HDBSCAN's labels depend on it. This order is
//! numpy's on a build without SIMD sorting (`NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4
//! AVX512_ICL"`); numpy's AVX2/AVX-512 sorts order ties differently again (see
//! tests/fixtures/density/make_fixtures.py). Pure, deterministic and O(n log n).

/// Below this many rows (`pr - pl`) a partition is finished by insertion sort.
const SMALL_QUICKSORT: usize = 15;

/// The permutation numpy's portable `np.argsort(values)` returns (no NaN in `values`).
pub fn argsort(values: &[f64]) -> Vec<usize> {
    let mut a: Vec<usize> = (0..values.len()).collect();
    if a.len() < 2 {
        return a;
    }
    let less = |x: usize, y: usize| values[x] < values[y];
    let (mut pl, mut pr) = (0usize, a.len() - 1);
    let mut stack: Vec<(usize, usize, i64)> = Vec::new();
    let mut depth = 2 * (usize::BITS - 1 - a.len().leading_zeros()) as i64;
    loop {
        if depth < 0 {
            heapsort(values, &mut a[pl..=pr]);
        } else {
            while pr - pl > SMALL_QUICKSORT {
                let pm = pl + ((pr - pl) >> 1);
                if less(a[pm], a[pl]) {
                    a.swap(pm, pl);
                }
                if less(a[pr], a[pm]) {
                    a.swap(pr, pm);
                }
                if less(a[pm], a[pl]) {
                    a.swap(pm, pl);
                }
                let pivot = values[a[pm]];
                let (mut pi, mut pj) = (pl, pr - 1);
                a.swap(pm, pj);
                loop {
                    pi += 1;
                    while values[a[pi]] < pivot {
                        pi += 1;
                    }
                    pj -= 1;
                    while pivot < values[a[pj]] {
                        pj -= 1;
                    }
                    if pi >= pj {
                        break;
                    }
                    a.swap(pi, pj);
                }
                a.swap(pi, pr - 1);
                depth -= 1;
                // The larger side waits on the stack; the loop goes on with the smaller.
                if pi - pl < pr - pi {
                    stack.push((pi + 1, pr, depth));
                    pr = pi - 1;
                } else {
                    stack.push((pl, pi - 1, depth));
                    pl = pi + 1;
                }
            }
            for pi in pl + 1..=pr {
                let (vi, key) = (a[pi], values[a[pi]]);
                let mut pj = pi;
                while pj > pl && key < values[a[pj - 1]] {
                    a[pj] = a[pj - 1];
                    pj -= 1;
                }
                a[pj] = vi;
            }
        }
        match stack.pop() {
            Some((l, r, d)) => (pl, pr, depth) = (l, r, d),
            None => return a,
        }
    }
}

/// numpy's `aheapsort_` on the indices `a` (1-based heap as numpy's).
fn heapsort(values: &[f64], a: &mut [usize]) {
    let mut n = a.len();
    let at = |i: usize| i - 1;
    let sift = |a: &mut [usize], mut i: usize, n: usize, tmp: usize| {
        let mut j = i << 1;
        while j <= n {
            if j < n && values[a[at(j)]] < values[a[at(j + 1)]] {
                j += 1;
            }
            if values[tmp] < values[a[at(j)]] {
                a[at(i)] = a[at(j)];
                i = j;
                j += j;
            } else {
                break;
            }
        }
        a[at(i)] = tmp;
    };
    for l in (1..=n >> 1).rev() {
        let tmp = a[at(l)];
        sift(a, l, n, tmp);
    }
    while n > 1 {
        let tmp = a[at(n)];
        a[at(n)] = a[at(1)];
        n -= 1;
        sift(a, 1, n, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_ties_as_numpys_portable_argsort() {
        // np.argsort (numpy 2.4.6, NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL") of
        // [i % 3 for i in range(40)] + [1.5, 0.0, 2.0]:
        let values: Vec<f64> = (0..40).map(|i| (i % 3) as f64).chain([1.5, 0.0, 2.0]).collect();
        let numpy = [
            0, 39, 36, 33, 30, 27, 24, 41, 18, 15, 12, 21, 3, 9, 6, 10, 28, 34, 25, 22, 4, 7, 19, 1, 16, 13, 37, 31,
            40, 2, 38, 35, 5, 29, 11, 26, 23, 20, 8, 17, 14, 32, 42,
        ];
        assert_eq!(argsort(&values), numpy);
    }

    /// A median-of-three killer sequence (quicksort goes deep) with pairs of equal values.
    fn killer_halved(n: usize) -> Vec<f64> {
        let (k, mut a) = (n / 2, vec![0usize; n]);
        for i in 1..=k {
            if i % 2 == 1 {
                a[i - 1] = i;
                a[i] = k + i;
            }
            a[k + i - 1] = 2 * i;
        }
        a.iter().map(|&x| (x / 2) as f64).collect()
    }

    #[test]
    fn orders_ties_as_numpy_where_the_depth_limit_falls_back_to_heapsort() {
        // numpy 2.4.6 (portable sort) on this input falls back to heapsort 14 times;
        // Σ (position + 1) × index of its argsort:
        let values = killer_halved(2000);
        let order = argsort(&values);
        assert!(order.windows(2).all(|w| values[w[0]] <= values[w[1]]));
        let checksum: usize = order.iter().enumerate().map(|(p, &i)| (p + 1) * i).sum();
        assert_eq!(checksum, 2_251_317_987);
    }
}
