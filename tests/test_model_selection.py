"""Tests for zeromatch_sk.model_selection: SemiSupervisedKFold and labeled_scorer."""

import copy
import pickle

import numpy as np
import pytest
import sklearn
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, get_scorer, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    RandomizedSearchCV,
    StratifiedGroupKFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from threadpoolctl import threadpool_limits

from zeromatch_sk import Defences
from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer

N_LABELED_PER_CLASS = 12


# --------------------------------------------------------------------------- data & helpers


def _make_data(n_samples=240, n_classes=3, n_labeled_per_class=N_LABELED_PER_CLASS, seed=0):
    """Easy 3-class data where most rows are unlabeled (y == -1)."""
    X, y_true = make_classification(
        n_samples=n_samples,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=seed,
    )
    rng = np.random.RandomState(seed)
    y = np.full_like(y_true, -1)
    for c in range(n_classes):
        keep = rng.choice(np.flatnonzero(y_true == c), n_labeled_per_class, replace=False)
        y[keep] = c
    return X, y, y_true


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """These fits are tiny: BLAS threads only add overhead (and fight parallel test runs for cores)."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def data():
    return _make_data()


@pytest.fixture
def routing():
    """Enable metadata routing for one test, and always restore the previous setting."""
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _self_training():
    return SelfTrainingClassifier(LogisticRegression(max_iter=200))


def _label_spreading():
    return make_pipeline(StandardScaler(), LabelSpreading(kernel="knn", n_neighbors=7))


def _check_semi_supervised_folds(cv, X, y, groups=None):
    """The folds promise: labeled-only test folds that partition the labeled rows."""
    y_arr = np.empty(len(y), dtype=object)
    y_arr[:] = list(y)
    unlabeled = np.array([not isinstance(v, str) and v == -1 for v in y_arr])
    labeled_idx = np.flatnonzero(~unlabeled)
    folds = list(cv.split(X, y, groups))
    assert len(folds) == cv.get_n_splits(X, y, groups)
    all_test = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(all_test), labeled_idx)  # a partition of the labeled rows
    for train, test in folds:
        assert len(test) > 0
        assert not unlabeled[test].any()  # no unlabeled row in any test fold
        assert np.intersect1d(train, test).size == 0
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
        if groups is None:
            # every unlabeled row in every training fold; every other labeled row too
            np.testing.assert_array_equal(train, np.setdiff1d(np.arange(len(y)), test))
    return folds


# --------------------------------------------------------------------------- splitter


def test_splitter_folds_hold_labeled_rows_only(data):
    X, y, _ = data
    cv = SemiSupervisedKFold(n_splits=4)
    folds = _check_semi_supervised_folds(cv, X, y)
    assert cv.get_n_splits() == 4
    for _, test in folds:
        # stratified: 12 labeled rows per class over 4 folds -> 3 of each class per fold
        np.testing.assert_array_equal(np.bincount(y[test], minlength=3), [3, 3, 3])


def test_splitter_repr_and_params():
    cv = SemiSupervisedKFold(n_splits=3, shuffle=True, random_state=0)
    assert " ".join(repr(cv).split()) == (
        "SemiSupervisedKFold(n_splits=3, random_state=0, shuffle=True, stratify=True, unlabeled_value=-1)"
    )
    assert isinstance(cv, sklearn.model_selection.BaseCrossValidator)
    assert cv.get_n_splits(np.zeros((10, 1)), np.zeros(10)) == 3


@pytest.mark.parametrize("stratify, reference", [(True, StratifiedKFold), (False, KFold)])
@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0), (True, 7)])
def test_splitter_matches_stock_splitter_on_labeled_rows(data, stratify, reference, shuffle, random_state):
    """Test folds are exactly what StratifiedKFold/KFold build from the labeled rows alone."""
    X, y, _ = data
    cv = SemiSupervisedKFold(n_splits=3, stratify=stratify, shuffle=shuffle, random_state=random_state)
    labeled_idx = np.flatnonzero(y != -1)
    ref = reference(n_splits=3, shuffle=shuffle, random_state=random_state)
    expected = [labeled_idx[test] for _, test in ref.split(X[labeled_idx], y[labeled_idx])]
    got = [test for _, test in _check_semi_supervised_folds(cv, X, y)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(np.sort(e), g)


def test_splitter_shuffle_is_reproducible(data):
    X, y, _ = data

    def tests(cv):
        return [test.tolist() for _, test in cv.split(X, y)]

    assert tests(SemiSupervisedKFold(3, shuffle=True, random_state=0)) == tests(
        SemiSupervisedKFold(3, shuffle=True, random_state=0)
    )
    assert tests(SemiSupervisedKFold(3, shuffle=True, random_state=0)) != tests(
        SemiSupervisedKFold(3, shuffle=True, random_state=1)
    )
    assert tests(SemiSupervisedKFold(3)) != tests(SemiSupervisedKFold(3, shuffle=True, random_state=0))


def test_splitter_string_labels():
    """Object arrays mixing class names with the integer -1, lists and pandas Series."""
    pd = pytest.importorskip("pandas")
    names = np.array(["cat", "dog", "bird"], dtype=object)
    _, y_int, _ = _make_data()
    y = np.where(y_int == -1, -1, names[np.clip(y_int, 0, None)]).astype(object)
    assert set(y[y_int == -1]) == {-1}
    X = np.zeros((len(y), 2))
    expected = [test for _, test in SemiSupervisedKFold(3).split(X, y_int)]
    for y_variant in (y, list(y), pd.Series(y), pd.Series(y, dtype="category")):
        got = _check_semi_supervised_folds(SemiSupervisedKFold(3), X, y_variant)
        for e, (_, g) in zip(expected, got):
            np.testing.assert_array_equal(e, g)  # relabelling the classes does not change the folds


def test_splitter_pandas_inputs(data):
    pd = pytest.importorskip("pandas")
    X, y, _ = data
    df = pd.DataFrame(X, index=np.arange(len(y)) * 10)  # a non-default index must not matter
    ys = pd.Series(y, index=df.index)
    got = [test for _, test in SemiSupervisedKFold(3).split(df, ys)]
    expected = [test for _, test in SemiSupervisedKFold(3).split(X, y)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_splitter_string_minus_one_is_a_class_not_the_marker():
    # "-1" (a string) is a class name; only the integer -1 marks unlabeled rows.
    y = np.array(["-1", "a", -1, "-1", "a", -1], dtype=object)
    folds = list(SemiSupervisedKFold(n_splits=2).split(np.zeros(6), y))
    tested = np.sort(np.concatenate([test for _, test in folds]))
    np.testing.assert_array_equal(tested, [0, 1, 3, 4])


def test_splitter_float_labels_and_custom_marker():
    y = np.array([0.0, 1.0, -1.0, 0.0, 1.0, -1.0])
    tested = np.sort(np.concatenate([t for _, t in SemiSupervisedKFold(2).split(np.zeros(6), y)]))
    np.testing.assert_array_equal(tested, [0, 1, 3, 4])

    y = np.array(["a", "b", "?", "a", "b", "?"])
    cv = SemiSupervisedKFold(2, unlabeled_value="?")
    tested = np.sort(np.concatenate([t for _, t in cv.split(np.zeros(6), y)]))
    np.testing.assert_array_equal(tested, [0, 1, 3, 4])

    y = np.array([0.0, 1.0, np.nan, 0.0, 1.0, np.nan])
    cv = SemiSupervisedKFold(2, unlabeled_value=np.nan)
    tested = np.sort(np.concatenate([t for _, t in cv.split(np.zeros(6), y)]))
    np.testing.assert_array_equal(tested, [0, 1, 3, 4])


def test_splitter_without_unlabeled_rows_is_plain_stratified_kfold(data):
    X, _, y_true = data
    got = [test for _, test in SemiSupervisedKFold(5).split(X, y_true)]
    expected = [test for _, test in StratifiedKFold(5).split(X, y_true)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_splitter_stratify_false_accepts_continuous_targets():
    y = np.array([0.5, 1.7, -1, 2.2, 3.1, -1, 0.1])
    folds = _check_semi_supervised_folds(SemiSupervisedKFold(2, stratify=False), np.zeros(7), y)
    assert len(folds) == 2
    with pytest.raises(ValueError, match="stratify=False"):
        list(SemiSupervisedKFold(2).split(np.zeros(7), y))


# --------------------------------------------------------------------------- splitter errors


def test_error_when_no_labeled_rows():
    y = np.full(20, -1)
    with pytest.raises(ValueError, match=r"no labeled rows: all 20 rows have y == -1.*Label some rows"):
        list(SemiSupervisedKFold(5).split(np.zeros((20, 2)), y))


def test_error_when_a_class_has_fewer_labeled_rows_than_folds():
    y = np.array([0] * 10 + [1] * 3 + [-1] * 30)
    with pytest.raises(ValueError) as exc:
        list(SemiSupervisedKFold(5).split(np.zeros(len(y)), y))
    message = str(exc.value)
    assert "needs at least 5 labeled rows of every class" in message
    assert "1: 3" in message
    assert "Use n_splits=3 or fewer" in message
    assert "stratify=False" in message
    assert "label more rows" in message
    # the advice works
    assert len(list(SemiSupervisedKFold(3).split(np.zeros(len(y)), y))) == 3
    assert len(list(SemiSupervisedKFold(5, stratify=False).split(np.zeros(len(y)), y))) == 5


def test_error_names_string_classes_and_single_row_class():
    y = np.array(["cat"] * 6 + ["dog"] + [-1] * 5, dtype=object)
    with pytest.raises(ValueError, match=r"'dog': 1\).*Pass stratify=False"):
        list(SemiSupervisedKFold(3).split(np.zeros(len(y)), y))


def test_error_when_fewer_labeled_rows_than_folds():
    y = np.array([0, 1, 0] + [-1] * 20)
    with pytest.raises(ValueError, match=r"needs at least 5 labeled rows.*only 3.*Use n_splits=3 or fewer"):
        list(SemiSupervisedKFold(5, stratify=False).split(np.zeros(len(y)), y))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_splits": 1}, ValueError, "at least 2 folds"),
        ({"n_splits": 2.0}, TypeError, "n_splits must be an integer"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"stratify": None}, TypeError, "stratify must be True or False"),
        ({"random_state": 0}, ValueError, "set shuffle=True"),
        ({"unlabeled_value": [-1]}, TypeError, "unlabeled_value must be a scalar"),
    ],
)
def test_invalid_constructor_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SemiSupervisedKFold(**kwargs)


def test_error_when_y_is_missing_or_2d():
    with pytest.raises(ValueError, match="needs y"):
        list(SemiSupervisedKFold(2).split(np.zeros((4, 1))))
    with pytest.raises(ValueError, match="must be 1-D"):
        list(SemiSupervisedKFold(2).split(np.zeros((4, 1)), np.zeros((4, 2))))


# --------------------------------------------------------------------------- groups


def _grouped_data():
    X, y, _ = _make_data()
    groups = np.arange(len(y)) % 16  # 16 groups, each with labeled and unlabeled rows
    groups[np.flatnonzero(y == -1)[:20]] = 99  # a group made of unlabeled rows only
    return X, y, groups


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 0)])
def test_groups_never_straddle_train_and_test(stratify, shuffle, random_state):
    X, y, groups = _grouped_data()
    cv = SemiSupervisedKFold(4, stratify=stratify, shuffle=shuffle, random_state=random_state)
    folds = _check_semi_supervised_folds(cv, X, y, groups)
    unlabeled = y == -1
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        # unlabeled rows of groups not under test are all used for training
        test_groups = np.unique(groups[test])
        expected_unlabeled = np.flatnonzero(unlabeled & ~np.isin(groups, test_groups))
        np.testing.assert_array_equal(np.intersect1d(train, np.flatnonzero(unlabeled)), expected_unlabeled)
        assert np.isin(np.flatnonzero(groups == 99), train).all()  # unlabeled-only group: always trained on


@pytest.mark.parametrize("stratify, reference", [(True, StratifiedGroupKFold), (False, GroupKFold)])
@pytest.mark.parametrize("shuffle, random_state", [(False, None), (True, 3)])
def test_groups_match_stock_group_splitter_on_labeled_rows(stratify, reference, shuffle, random_state):
    X, y, groups = _grouped_data()
    labeled_idx = np.flatnonzero(y != -1)
    ref = reference(4, shuffle=shuffle, random_state=random_state)
    expected = [
        np.sort(labeled_idx[test])
        for _, test in ref.split(X[labeled_idx], y[labeled_idx], groups[labeled_idx])
    ]
    cv = SemiSupervisedKFold(4, stratify=stratify, shuffle=shuffle, random_state=random_state)
    got = [test for _, test in cv.split(X, y, groups)]
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


def test_error_when_too_few_labeled_groups():
    y = np.array([0, 1, 0, 1, -1, -1, -1, -1])
    groups = np.array([0, 0, 1, 1, 2, 3, 4, 5])  # 6 groups, but labeled rows are in 2 only
    with pytest.raises(ValueError, match=r"only 2 distinct group\(s\).*Use n_splits=2 or fewer"):
        list(SemiSupervisedKFold(3, stratify=False).split(np.zeros(8), y, groups))


def test_groups_through_cross_validate_and_grid_search():
    X, y, groups = _grouped_data()
    cv = SemiSupervisedKFold(4)
    res = cross_validate(
        _self_training(), X, y, groups=groups, cv=cv, scoring=labeled_scorer(), return_indices=True
    )
    for train, test in zip(res["indices"]["train"], res["indices"]["test"]):
        assert not set(groups[train]) & set(groups[test])
    gs = GridSearchCV(_self_training(), {"threshold": [0.7, 0.9]}, cv=cv, scoring=labeled_scorer())
    gs.fit(X, y, groups=groups)
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()


def test_groups_are_routed_by_default(routing):
    X, y, groups = _grouped_data()
    assert SemiSupervisedKFold().get_metadata_routing().split.requests == {"groups": True}
    res = cross_validate(
        _self_training(),
        X,
        y,
        cv=SemiSupervisedKFold(4),
        scoring=labeled_scorer(),
        params={"groups": groups},
        return_indices=True,
    )
    for train, test in zip(res["indices"]["train"], res["indices"]["test"]):
        assert not set(groups[train]) & set(groups[test])


# --------------------------------------------------------------------------- labeled_scorer


@pytest.fixture(scope="module")
def fitted(data):
    X, y, y_true = data
    return _self_training().fit(X, y), X, y, y_true


def test_scorer_scores_labeled_rows_only(fitted):
    clf, X, y, y_true = fitted
    labeled = y != -1
    expected = accuracy_score(y[labeled], clf.predict(X[labeled]))
    assert labeled_scorer("accuracy")(clf, X, y) == pytest.approx(expected)
    assert labeled_scorer()(clf, X, y) == pytest.approx(expected)
    # mostly-unlabeled y with the stock scorer: every -1 row counts as an error
    assert get_scorer("accuracy")(clf, X, y) == pytest.approx(expected * labeled.mean())
    # fully-labeled y: the same as the stock scorer
    assert labeled_scorer("accuracy")(clf, X, y_true) == pytest.approx(get_scorer("accuracy")(clf, X, y_true))


@pytest.mark.parametrize("name", ["f1_macro", "balanced_accuracy", "neg_log_loss", "roc_auc_ovr"])
def test_scorer_accepts_any_metric_name(fitted, name):
    clf, X, y, _ = fitted
    labeled = y != -1
    expected = get_scorer(name)(clf, X[labeled], y[labeled])
    assert labeled_scorer(name)(clf, X, y) == pytest.approx(expected)


def test_scorer_accepts_scorer_objects_and_none(fitted):
    clf, X, y, _ = fitted
    labeled = y != -1
    f1 = make_scorer(f1_score, average="macro")
    assert labeled_scorer(f1)(clf, X, y) == pytest.approx(
        f1_score(y[labeled], clf.predict(X[labeled]), average="macro")
    )
    assert labeled_scorer(None)(clf, X, y) == pytest.approx(clf.score(X[labeled], y[labeled]))

    def my_scorer(estimator, X, y):
        assert -1 not in np.asarray(y)
        return 42.0

    assert labeled_scorer(my_scorer)(clf, X, y) == 42.0


def test_scorer_input_types(fitted):
    pd = pytest.importorskip("pandas")
    clf, X, y, _ = fitted
    expected = labeled_scorer()(clf, X, y)
    df = pd.DataFrame(X, index=np.arange(len(y))[::-1])  # shuffled index: row positions must be used
    assert labeled_scorer()(clf, df, pd.Series(y, index=df.index)) == pytest.approx(expected)
    assert labeled_scorer()(clf, X, list(y)) == pytest.approx(expected)

    sparse_clf = _self_training().fit(sparse.csr_matrix(X), y)
    assert labeled_scorer()(sparse_clf, sparse.csr_matrix(X), y) == pytest.approx(
        accuracy_score(y[y != -1], sparse_clf.predict(X[y != -1]))
    )


class _TextLengthClassifier(ClassifierMixin, BaseEstimator):
    """Classifies a list of texts by their length; labeled rows only."""

    def fit(self, X, y):
        y = np.asarray(y, dtype=object)
        keep = np.array([v != -1 for v in y])
        lengths = np.array([len(t) for t in X])[keep]
        self.classes_ = np.unique(y[keep].astype(str))
        self.threshold_ = lengths.mean()
        return self

    def predict(self, X):
        assert isinstance(X, list)
        return np.where(np.array([len(t) for t in X]) > self.threshold_, self.classes_[1], self.classes_[0])


def test_scorer_and_splitter_with_text_rows_and_string_labels():
    texts = ["ok", "fine", "a much longer review text", "another long piece of writing", "short", "hmm"] * 6
    y = np.array(["neg", "neg", "pos", "pos", -1, -1] * 6, dtype=object)
    res = cross_validate(
        _TextLengthClassifier(), texts, y, cv=SemiSupervisedKFold(3), scoring=labeled_scorer()
    )
    np.testing.assert_allclose(res["test_score"], 1.0)


def test_scorer_error_when_no_labeled_rows(fitted):
    clf, X, _, _ = fitted
    with pytest.raises(ValueError, match=r"nothing to score: all 5 rows .* y == -1.*SemiSupervisedKFold"):
        labeled_scorer()(clf, X[:5], np.full(5, -1))


def test_scorer_error_surfaces_through_cross_validate_with_stock_splitter(data):
    X, y, _ = data
    unlabeled, labeled = np.flatnonzero(y == -1), np.flatnonzero(y != -1)
    cv = [(np.concatenate([labeled, unlabeled[:50]]), unlabeled[50:])]  # a test fold without labels
    with pytest.raises(ValueError, match="SemiSupervisedKFold"):
        cross_validate(_self_training(), X, y, cv=cv, scoring=labeled_scorer(), error_score="raise")
    # with scikit-learn's default error_score=nan: a warning that carries the advice, and a NaN
    with pytest.warns(UserWarning, match="SemiSupervisedKFold"):
        res = cross_validate(_self_training(), X, y, cv=cv, scoring=labeled_scorer())
    assert np.isnan(res["test_score"]).all()


def test_scorer_repr_and_validation():
    assert repr(labeled_scorer()) == "labeled_scorer('accuracy')"
    assert (
        repr(labeled_scorer("f1_macro", unlabeled_value="?"))
        == "labeled_scorer('f1_macro', unlabeled_value='?')"
    )
    assert repr(labeled_scorer(None)) == "labeled_scorer(None)"
    with pytest.raises(ValueError, match="not a valid scoring value"):
        labeled_scorer("no_such_metric")
    with pytest.raises(ValueError, match="make_scorer"):
        labeled_scorer(accuracy_score)  # a metric function, not a scorer
    with pytest.raises(TypeError, match=r"several metrics pass a dict"):
        labeled_scorer(["accuracy", "f1_macro"])
    with pytest.raises(TypeError, match="scoring must be"):
        labeled_scorer(3)


def test_scorer_is_picklable(fitted):
    clf, X, y, _ = fitted
    scorer = labeled_scorer("f1_macro")
    restored = pickle.loads(pickle.dumps(scorer))
    assert repr(restored) == repr(scorer)
    assert restored(clf, X, y) == pytest.approx(scorer(clf, X, y))


# --------------------------------------------------------------------------- with scikit-learn tools


def test_stock_tools_get_a_wrong_number(data):
    """Why this module exists: StratifiedKFold + "accuracy" mis-measures semi-supervised data."""
    X, y, y_true = data
    labeled_fraction = np.mean(y != -1)
    stock = cross_val_score(_self_training(), X, y, cv=StratifiedKFold(5), scoring="accuracy")
    ours = cross_val_score(_self_training(), X, y, cv=SemiSupervisedKFold(5), scoring=labeled_scorer())
    # stock: -1 is a "class", so unlabeled rows are in every test fold and all count as errors
    assert stock.mean() <= labeled_fraction + 0.02
    assert ours.mean() > 0.8
    assert ours.mean() - stock.mean() > 0.5
    # ours estimates the accuracy on the labeled distribution: close to a held-out truth
    held_out = _self_training().fit(X[:120], y[:120]).score(X[120:], y_true[120:])
    assert abs(ours.mean() - held_out) < 0.15


@pytest.mark.parametrize(
    "make_estimator", [_self_training, _label_spreading], ids=["self_training", "label_spreading"]
)
def test_cross_validate_with_dict_of_scorers(data, make_estimator):
    X, y, _ = data
    scoring = {
        "accuracy": labeled_scorer("accuracy"),
        "f1": labeled_scorer("f1_macro"),
        "stock_accuracy": "accuracy",
    }
    res = cross_validate(
        make_estimator(), X, y, cv=SemiSupervisedKFold(4), scoring=scoring, return_train_score=True
    )
    assert res["test_accuracy"].mean() > 0.8
    assert (res["test_f1"] > 0.5).all()
    # the test folds are labeled-only, so the stock scorer agrees on them...
    np.testing.assert_allclose(res["test_stock_accuracy"], res["test_accuracy"])
    # ...but not on training folds, full of unlabeled rows
    assert (res["train_stock_accuracy"] < 0.5 * res["train_accuracy"]).all()


def test_cross_validate_in_parallel(data):
    X, y, _ = data
    kwargs = {
        "cv": SemiSupervisedKFold(2, shuffle=True, random_state=0),
        "scoring": labeled_scorer("f1_macro"),
    }
    serial = cross_validate(_self_training(), X, y, n_jobs=1, **kwargs)
    parallel = cross_validate(_self_training(), X, y, n_jobs=2, **kwargs)
    np.testing.assert_allclose(serial["test_score"], parallel["test_score"])


def test_grid_search_with_self_training(data):
    X, y, y_true = data
    gs = GridSearchCV(
        _self_training(),
        {"threshold": [0.6, 0.9], "estimator__C": [0.1, 1.0]},
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        scoring=labeled_scorer("accuracy"),
        error_score="raise",
    ).fit(X, y)
    assert gs.best_score_ > 0.8
    assert gs.score(X, y) == pytest.approx(accuracy_score(y[y != -1], gs.predict(X[y != -1])))
    assert gs.score(X, y_true) > 0.8


def test_grid_search_multimetric_with_label_spreading(data):
    X, y, _ = data
    gs = GridSearchCV(
        _label_spreading(),
        {"labelspreading__n_neighbors": [5, 9]},
        cv=SemiSupervisedKFold(3),
        scoring={"acc": labeled_scorer("accuracy"), "f1": labeled_scorer("f1_macro")},
        refit="f1",
        error_score="raise",
    ).fit(X, y)
    assert gs.best_score_ == pytest.approx(max(gs.cv_results_["mean_test_f1"]))
    assert np.isfinite(gs.cv_results_["mean_test_acc"]).all()


def test_randomized_search(data):
    X, y, _ = data
    rs = RandomizedSearchCV(
        _self_training(),
        {"threshold": [0.5, 0.6, 0.7, 0.8, 0.9], "estimator__C": [0.01, 0.1, 1.0, 10.0]},
        n_iter=3,
        random_state=0,
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        scoring=labeled_scorer("balanced_accuracy"),
        error_score="raise",
    ).fit(X, y)
    assert len(rs.cv_results_["params"]) == 3
    assert rs.best_score_ > 0.8


def test_string_labels_with_self_training(data):
    X, y_int, _ = data
    names = np.array(["cat", "dog", "bird"], dtype=object)
    y = np.where(y_int == -1, -1, names[np.clip(y_int, 0, None)]).astype(object)
    gs = GridSearchCV(
        _self_training(),
        {"threshold": [0.7, 0.9]},
        cv=SemiSupervisedKFold(3),
        scoring=labeled_scorer("f1_macro"),
        error_score="raise",
    ).fit(X, y)
    assert set(gs.classes_) == {"bird", "cat", "dog"}
    assert gs.best_score_ > 0.8


# --------------------------------------------------------------------------- metadata routing


class _PseudoLabelClassifier(ClassifierMixin, BaseEstimator):
    """Nearest-centroid classifier whose ``fit`` takes sample-aligned ``pseudo_labels``.

    Column 0 of ``X`` holds each row's position in the full data set, and
    ``pseudo_labels`` is built to equal it, so ``fit`` can check that the
    metadata was sliced to the training rows of the fold, row for row.
    """

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y, pseudo_labels=None):
        X = np.asarray(X)
        assert pseudo_labels is not None, "pseudo_labels were not routed to fit"
        pseudo_labels = np.asarray(pseudo_labels)
        assert pseudo_labels.shape[0] == X.shape[0]
        np.testing.assert_array_equal(pseudo_labels, X[:, 0])  # sliced to exactly these rows
        self.fit_rows_ = X[:, 0].astype(int)
        labeled = np.asarray(y) != -1
        self.classes_ = np.unique(np.asarray(y)[labeled])
        feats = X[labeled, 1:]
        self.centroids_ = np.stack([feats[np.asarray(y)[labeled] == c].mean(axis=0) for c in self.classes_])
        self.centroids_ *= 1.0 - self.shrink
        return self

    def predict(self, X):
        X = np.asarray(X)
        dist = ((X[:, None, 1:] - self.centroids_[None]) ** 2).sum(-1)
        return self.classes_[dist.argmin(1)]


def _with_row_ids(X):
    return np.column_stack([np.arange(len(X)), X]).astype(float)


def test_routed_pseudo_labels_are_sliced_per_fold(data, routing):
    X, y, _ = data
    Xr = _with_row_ids(X)
    P = np.arange(len(y), dtype=float)
    est = _PseudoLabelClassifier().set_fit_request(pseudo_labels=True)
    cv = SemiSupervisedKFold(4, shuffle=True, random_state=0)
    res = cross_validate(
        est,
        Xr,
        y,
        cv=cv,
        scoring=labeled_scorer(),
        params={"pseudo_labels": P},
        return_estimator=True,
        return_indices=True,
    )
    for fitted_est, train in zip(res["estimator"], res["indices"]["train"]):
        np.testing.assert_array_equal(fitted_est.fit_rows_, train)
        assert np.isin(np.flatnonzero(y == -1), fitted_est.fit_rows_).all()
    assert res["test_score"].mean() > 0.8

    gs = GridSearchCV(est, {"shrink": [0.0, 0.5]}, cv=cv, scoring=labeled_scorer(), error_score="raise")
    gs.fit(Xr, y, pseudo_labels=P)
    np.testing.assert_array_equal(gs.best_estimator_.fit_rows_, np.arange(len(y)))  # refit: all rows

    rs = RandomizedSearchCV(
        est,
        {"shrink": [0.0, 0.1, 0.5]},
        n_iter=2,
        random_state=0,
        cv=cv,
        scoring=labeled_scorer(),
        error_score="raise",
    )
    rs.fit(Xr, y, pseudo_labels=P)
    assert np.isfinite(rs.cv_results_["mean_test_score"]).all()


def test_routing_unset_request_raises_clearly(data, routing):
    X, y, _ = data
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="pseudo_labels"):
        cross_validate(
            _PseudoLabelClassifier(),
            _with_row_ids(X),
            y,
            cv=SemiSupervisedKFold(3),
            scoring=labeled_scorer(),
            params={"pseudo_labels": np.arange(len(y))},
        )


def test_pseudo_labels_sliced_without_routing(data):
    """Legacy path (routing disabled): cross_validate(params=...) slices fit params too."""
    X, y, _ = data
    assert not sklearn.get_config()["enable_metadata_routing"]
    res = cross_validate(
        _PseudoLabelClassifier(),
        _with_row_ids(X),
        y,
        cv=SemiSupervisedKFold(3),
        scoring=labeled_scorer(),
        params={"pseudo_labels": np.arange(len(y), dtype=float)},
        return_estimator=True,
        return_indices=True,
    )
    for fitted_est, train in zip(res["estimator"], res["indices"]["train"]):
        np.testing.assert_array_equal(fitted_est.fit_rows_, train)


def test_scorer_metadata_is_routed_and_subset(data, routing):
    """A wrapped scorer that requests sample_weight gets it, cut to the labeled test rows."""
    X, y, _ = data
    Xr = _with_row_ids(X)
    rng = np.random.RandomState(0)
    w = rng.uniform(0.1, 1.0, len(y))
    weighted = get_scorer("accuracy").set_score_request(sample_weight=True)
    scorer = labeled_scorer(weighted)
    routing_info = scorer.get_metadata_routing()
    assert "sample_weight" in routing_info.consumes("score", ["sample_weight", "pseudo_labels"])
    est = _PseudoLabelClassifier().set_fit_request(pseudo_labels=True)
    res = cross_validate(
        est,
        Xr,
        y,
        cv=SemiSupervisedKFold(3),
        scoring={
            "weighted": scorer,
            "plain": labeled_scorer(get_scorer("accuracy").set_score_request(sample_weight=False)),
        },
        params={"pseudo_labels": np.arange(len(y), dtype=float), "sample_weight": w},
        return_estimator=True,
        return_indices=True,
    )
    for k, (fitted_est, test) in enumerate(zip(res["estimator"], res["indices"]["test"])):
        pred = fitted_est.predict(Xr[test])
        assert res["test_weighted"][k] == pytest.approx(accuracy_score(y[test], pred, sample_weight=w[test]))
        assert res["test_plain"][k] == pytest.approx(accuracy_score(y[test], pred))

    # directly: weights of unlabeled rows are dropped together with the rows
    fitted_est = res["estimator"][0]
    labeled = y != -1
    expected = accuracy_score(y[labeled], fitted_est.predict(Xr[labeled]), sample_weight=w[labeled])
    assert scorer(fitted_est, Xr, y, sample_weight=w) == pytest.approx(expected)


def test_scorer_with_unset_request_fails_before_fitting(data, routing):
    """As without the wrapper: metadata a wrapped scorer has not been told about is an error."""
    X, y, _ = data
    est = _PseudoLabelClassifier().set_fit_request(pseudo_labels=True)
    with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError, match="sample_weight"):
        cross_validate(
            est,
            _with_row_ids(X),
            y,
            cv=SemiSupervisedKFold(3),
            scoring=labeled_scorer("accuracy"),
            params={"pseudo_labels": np.arange(len(y), dtype=float), "sample_weight": np.ones(len(y))},
        )


def test_cross_validate_with_routing_enabled_and_semi_supervised_estimators(data, routing):
    X, y, _ = data
    for est in (_self_training(), _label_spreading()):
        res = cross_validate(
            est, X, y, cv=SemiSupervisedKFold(3), scoring={"acc": labeled_scorer()}, params={}
        )
        assert res["test_acc"].mean() > 0.8


def test_routing_fixture_restores_config():
    assert not sklearn.get_config()["enable_metadata_routing"]


# --------------------------------------------------------------------------- ZeroMatchClassifier


def _zeromatch_or_skip():
    """ZeroMatchClassifier, or skip when the estimator in the checkout is not usable yet."""
    zeromatch_sk = pytest.importorskip("zeromatch_sk")
    cls = getattr(zeromatch_sk, "ZeroMatchClassifier", None)
    if cls is None or "fit" not in vars(cls) or not hasattr(cls, "set_fit_request"):
        pytest.skip("zeromatch_sk.ZeroMatchClassifier has no fit(X, y, pseudo_labels=...) yet")
    params = cls().get_params()
    missing = {"lambda_kd", "max_epochs", "kd_epochs", "hidden_layer_sizes", "random_state"} - set(params)
    if missing:
        pytest.skip(f"ZeroMatchClassifier lacks the parameters {sorted(missing)} these tests tune")
    return cls


def _tiny_zeromatch(cls, **kwargs):
    params = {"hidden_layer_sizes": (8,), "kd_epochs": 1, "max_epochs": 2, "random_state": 0}
    fast = {"steps_per_epoch": 2, "batch_size": 16}  # keep each fit well under a second
    params.update({k: v for k, v in fast.items() if k in cls().get_params()})
    params.update(kwargs)
    return cls(**params)


@pytest.fixture
def one_torch_thread():
    """Tiny networks train fastest on one thread (and do not fight parallel test runs for cores)."""
    torch = pytest.importorskip("torch")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def zm_data():
    X, y, y_true = _make_data(n_samples=150, n_labeled_per_class=6, seed=1)
    teacher = np.eye(3)[y_true]  # a perfect teacher, as an (n, n_classes) probability matrix
    return X, y, y_true, teacher


def test_zeromatch_grid_search_with_routed_pseudo_labels(zm_data, routing, one_torch_thread):
    cls = _zeromatch_or_skip()
    X, y, _, teacher = zm_data
    est = _tiny_zeromatch(cls).set_fit_request(pseudo_labels=True)
    gs = GridSearchCV(
        est,
        {"lambda_kd": [0.5, 1.0], "max_epochs": [1, 2]},
        cv=SemiSupervisedKFold(3, shuffle=True, random_state=0),
        scoring=labeled_scorer("accuracy"),
        error_score="raise",
    )
    gs.fit(X, y, pseudo_labels=teacher)
    assert len(gs.cv_results_["params"]) == 4
    assert np.isfinite(gs.cv_results_["mean_test_score"]).all()
    assert set(gs.best_estimator_.classes_) == {0, 1, 2}
    labeled = y != -1
    assert gs.score(X, y) == pytest.approx(accuracy_score(y[labeled], gs.predict(X[labeled])))


@pytest.mark.parametrize("string_labels", [False, True], ids=["int_labels", "str_labels"])
def test_zeromatch_cross_validate_with_hard_pseudo_labels(zm_data, routing, one_torch_thread, string_labels):
    cls = _zeromatch_or_skip()
    X, y, y_true, _ = zm_data
    if string_labels:
        names = np.array(["cat", "dog", "bird"], dtype=object)
        y = np.where(y == -1, -1, names[np.clip(y, 0, None)]).astype(object)
        y_true = names[y_true]
    est = _tiny_zeromatch(cls).set_fit_request(pseudo_labels=True)
    res = cross_validate(
        est,
        X,
        y,
        cv=SemiSupervisedKFold(3),
        scoring={"acc": labeled_scorer("accuracy"), "f1": labeled_scorer("f1_macro")},
        params={"pseudo_labels": y_true},  # (n,) label array; the estimator rejects a wrong length
        return_indices=True,
        return_estimator=True,
        error_score="raise",
    )
    assert np.all((res["test_acc"] >= 0) & (res["test_acc"] <= 1))
    for test, fitted_est in zip(res["indices"]["test"], res["estimator"]):
        assert all(v != -1 or isinstance(v, str) for v in y[test])
        assert set(fitted_est.classes_) == set(y_true)


def test_zeromatch_cross_validate_without_routing(zm_data, one_torch_thread):
    cls = _zeromatch_or_skip()
    X, y, _, teacher = zm_data
    scores = cross_val_score(
        _tiny_zeromatch(cls),
        X,
        y,
        cv=SemiSupervisedKFold(3),
        scoring=labeled_scorer(),
        params={"pseudo_labels": teacher},
    )
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_splitter_survives_deepcopy_and_pickle(data):
    X, y, _ = data
    cv = SemiSupervisedKFold(3, shuffle=True, random_state=0)
    for copied in (copy.deepcopy(cv), pickle.loads(pickle.dumps(cv))):
        assert repr(copied) == repr(cv)
        for (a_train, a_test), (b_train, b_test) in zip(copied.split(X, y), cv.split(X, y)):
            np.testing.assert_array_equal(a_test, b_test)


# --------------------------------------------------------------------------- safe_search
def _safe_data():
    X, y_true = make_blobs(n_samples=300, centers=[[0, 0], [6, 6]], random_state=0)
    y = np.full(300, -1)
    y[:20] = y_true[:20]
    return X, y, y_true


def _small_zeromatch(**params):
    from zeromatch_sk import ZeroMatchClassifier

    return ZeroMatchClassifier(hidden_layer_sizes=(16,), kd_epochs=3, max_epochs=3, steps_per_epoch=10, lr=1e-2,
                               random_state=0, **params)  # fmt: skip


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_safe_search_keeps_zeromatch_on_ties_and_refits_it():
    from zeromatch_sk.model_selection import SAFE_CANDIDATES, safe_search

    X, y, y_true = _safe_data()
    search = safe_search(_small_zeromatch(), n_splits=2).fit(X, y, pseudo_labels=np.eye(2)[y_true])
    assert len(search.cv_results_["params"]) == len(SAFE_CANDIDATES) == 3
    # Separated blobs and a perfect teacher: ZeroMatch is as good as any candidate, and ties keep it.
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == scores.max() > 0.9
    assert search.best_params_ == {}
    assert search.best_estimator_.max_epochs > 0
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_safe_search_falls_back_from_a_harmful_teacher():
    from zeromatch_sk.model_selection import safe_search

    X, y, y_true = _safe_data()
    wrong = np.eye(2)[1 - y_true]  # always wrong, kept, and distilled into the main head at full weight
    harmed = _small_zeromatch(defences=Defences(gate="never"), aux_head=False, kd_schedule="constant")
    search = safe_search(harmed, n_splits=2).fit(X, y, pseudo_labels=wrong)
    scores = search.cv_results_["mean_test_score"]
    assert scores[2] > scores[0]  # the supervised-only fit beats ZeroMatch on the held-out labels
    assert search.best_params_ == {"kd_epochs": 0, "lambda_kd": 0.0, "lambda_u": 0.0}
    assert (search.predict(X) == y_true).mean() > 0.9
