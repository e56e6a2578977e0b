"""scikit-learn's estimator checks. Only the checks scikit-learn marks as expected failures
for its own KMeans are allowed to fail (scikit-learn 1.9): a seeded initialisation draws
differently from repeated rows than from weighted ones. GaussianMixture takes a
sample_weight too (scikit-learn's does not), so the same two checks apply to it."""

import pytest
from sklearn.utils.estimator_checks import check_estimator

import custseg

# scikit-learn's own expected failures for KMeans and MiniBatchKMeans
# (sklearn/utils/_test_common/instance_generator.py, PER_ESTIMATOR_XFAIL_CHECKS).
KMEANS_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": "sample_weight is not equivalent to removing/repeating samples.",
    "check_sample_weight_equivalence_on_sparse_data": "sample_weight is not equivalent to removing/repeating samples.",
}


@pytest.mark.parametrize(
    "estimator",
    [
        custseg.KMeans(n_clusters=3, max_iter=5, n_init=2),
        custseg.MiniBatchKMeans(n_clusters=3, batch_size=10, max_iter=5, n_init=2),
        custseg.GaussianMixture(n_components=2, max_iter=5, n_init=2),
    ],
    ids=lambda e: type(e).__name__,
)
def test_passes_scikit_learn_checks(estimator):
    check_estimator(estimator, expected_failed_checks=KMEANS_XFAIL)
