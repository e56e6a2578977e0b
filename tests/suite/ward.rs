//! Ward's two-level mode on each backend: with every row its own micro-cluster (K-Means
//! with k = n on the backend, its statistics pass, and the assignment through the
//! micro-cluster centres) the tree is SciPy's and the cut scikit-learn's, so every backend
//! builds the same tree.

use custseg::backend::Backend;
use custseg::cluster::ward::{self, Cut, WardMode, WardParams};
use custseg::cluster::Segments;

use crate::ward::{blobs, numbers, reference, same_partition};

pub fn ward_two_level_with_singleton_micro_clusters_equals_scipy(backend: &dyn Backend) {
    let data = blobs();
    let r = reference("blobs");
    let params =
        WardParams { micro_clusters: Some(data.rows()), consolidate: Some(false), ..WardParams::new(Cut::K(5)) }
            .check()
            .unwrap();
    let fit = ward::fit(backend, &data, &params, &mut |_| {}).unwrap();
    assert_eq!((fit.tree.mode, fit.tree.linkage.leaves), (WardMode::TwoLevel, data.rows()));
    let expected: Vec<f64> = numbers(&r["height"]);
    for (i, (h, e)) in fit.tree.linkage.heights().iter().zip(&expected).enumerate() {
        assert!((h - e).abs() <= 1e-9 * e.abs(), "merge {i}: height {h} vs SciPy's {e}");
    }
    let labels = Segments::Ward(fit.segments.clone()).labels(backend, &data).unwrap().concat();
    assert!(same_partition(&labels, &numbers::<u32>(&r["labels"])), "labels at k = 5 differ from scikit-learn's");
}
