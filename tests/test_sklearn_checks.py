"""scikit-learn's estimator checks on a small, fast ZeroMatchClassifier.

Each expected failure is listed with the reason it cannot pass; every other
check must pass.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from zeromatch_sk import ZeroMatchClassifier

FAST = dict(
    hidden_layer_sizes=(32,),
    kd_epochs=1,
    max_epochs=4,
    steps_per_epoch=10,
    batch_size=16,
    lr=1e-2,
    random_state=0,
)

EXPECTED_FAILED_CHECKS = {
    # Fits with string labels in a plain `str` dtype array. Such an array cannot
    # hold the integer -1 that marks unlabeled rows, so, like scikit-learn's own
    # SelfTrainingClassifier, we raise and ask for an object array instead.
    # (The same check also refits with the labels [-1, 1], where -1 means
    # "unlabeled" here and leaves a single class.)
    "check_classifiers_classes": "str-dtype labels are refused: use object dtype with -1 for unlabeled rows",
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks([ZeroMatchClassifier(**FAST)], expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
