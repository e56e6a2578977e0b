//! The Hungarian method (Kuhn–Munkres with potentials, O(n²·m)): a minimum-cost assignment
//! of the rows of a cost matrix to distinct columns.

/// The column each row of `cost` (`rows × cols`, row-major, finite, `rows ≤ cols`) is
/// assigned to, every column used at most once, with the least total cost.
///
/// Jonker–Volgenant's shortest augmenting paths with row and column potentials: each row is
/// added in turn and the assignment is repaired along the cheapest alternating path, so the
/// total is O(rows² · cols). Ties go to the lowest column index, so the answer depends only
/// on the matrix.
pub fn min_cost_assignment(cost: &[f64], rows: usize, cols: usize) -> Vec<usize> {
    assert!(rows <= cols, "more rows ({rows}) than columns ({cols}): transpose the matrix");
    assert_eq!(cost.len(), rows * cols, "cost is not {rows} × {cols}");
    // 1-based as in the classical formulation: index 0 is the virtual start.
    let mut row_potential = vec![0.0f64; rows + 1];
    let mut col_potential = vec![0.0f64; cols + 1];
    let mut row_of_col = vec![0usize; cols + 1];
    let mut previous_col = vec![0usize; cols + 1];
    for row in 1..=rows {
        row_of_col[0] = row;
        let mut col = 0usize;
        let mut min_slack = vec![f64::INFINITY; cols + 1];
        let mut used = vec![false; cols + 1];
        loop {
            used[col] = true;
            let current_row = row_of_col[col];
            let mut delta = f64::INFINITY;
            let mut next_col = 0usize;
            for j in 1..=cols {
                if used[j] {
                    continue;
                }
                let slack = cost[(current_row - 1) * cols + (j - 1)] - row_potential[current_row] - col_potential[j];
                if slack < min_slack[j] {
                    min_slack[j] = slack;
                    previous_col[j] = col;
                }
                if min_slack[j] < delta {
                    delta = min_slack[j];
                    next_col = j;
                }
            }
            for j in 0..=cols {
                if used[j] {
                    row_potential[row_of_col[j]] += delta;
                    col_potential[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            col = next_col;
            if row_of_col[col] == 0 {
                break;
            }
        }
        while col != 0 {
            let before = previous_col[col];
            row_of_col[col] = row_of_col[before];
            col = before;
        }
    }
    let mut assignment = vec![0usize; rows];
    for j in 1..=cols {
        if row_of_col[j] != 0 {
            assignment[row_of_col[j] - 1] = j - 1;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn total(cost: &[f64], cols: usize, assignment: &[usize]) -> f64 {
        assignment.iter().enumerate().map(|(r, &c)| cost[r * cols + c]).sum()
    }

    /// The least total over every injective map of rows to columns, by brute force.
    fn brute_force(cost: &[f64], rows: usize, cols: usize) -> f64 {
        fn search(cost: &[f64], row: usize, rows: usize, cols: usize, used: &mut Vec<bool>) -> f64 {
            if row == rows {
                return 0.0;
            }
            let mut best = f64::INFINITY;
            for c in 0..cols {
                if !used[c] {
                    used[c] = true;
                    best = best.min(cost[row * cols + c] + search(cost, row + 1, rows, cols, used));
                    used[c] = false;
                }
            }
            best
        }
        search(cost, 0, rows, cols, &mut vec![false; cols])
    }

    #[test]
    fn a_textbook_matrix_gets_its_known_optimum() {
        // Workers × jobs; the optimum 1 + 2 + 2 = 5 (row 0 → 1, row 1 → 0, row 2 → 2).
        let cost = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        let a = min_cost_assignment(&cost, 3, 3);
        assert_eq!(a, vec![1, 0, 2]);
        assert_eq!(total(&cost, 3, &a), 5.0);
    }

    #[test]
    fn random_matrices_match_brute_force_and_use_each_column_once() {
        let mut rng = Rng::new(7);
        for trial in 0..300 {
            let rows = 1 + trial % 6;
            let cols = rows + (trial / 6) % 3;
            let cost: Vec<f64> = (0..rows * cols).map(|_| (rng.uniform() * 20.0).floor()).collect();
            let a = min_cost_assignment(&cost, rows, cols);
            let mut seen = vec![false; cols];
            for &c in &a {
                assert!(!seen[c], "column {c} used twice in {a:?}");
                seen[c] = true;
            }
            assert_eq!(total(&cost, cols, &a), brute_force(&cost, rows, cols), "trial {trial}: {cost:?} → {a:?}");
        }
    }

    #[test]
    fn permuting_the_columns_permutes_the_answer() {
        let (rows, cols) = (3, 4);
        let cost = [0.3, 5.0, 9.0, 4.0, 4.0, 0.2, 7.0, 3.0, 8.0, 6.0, 0.1, 2.0];
        let a = min_cost_assignment(&cost, rows, cols);
        let order = [2, 0, 3, 1];
        let permuted: Vec<f64> = (0..rows * cols).map(|i| cost[(i / cols) * cols + order[i % cols]]).collect();
        let b = min_cost_assignment(&permuted, rows, cols);
        assert_eq!(a, b.iter().map(|&c| order[c]).collect::<Vec<_>>());
    }
}
