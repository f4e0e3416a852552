"""Property-based tests (hypothesis) of the classifier, the teacher checks, the robust maths and the splitter.

Tiny nets and few examples keep the whole file to a few seconds; every
property states something that holds for *all* inputs of its strategy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._labels import check_labels, unlabeled_mask
from zeromatch_sk._robust import (
    apply_teacher_bias,
    estimate_prior_em,
    fit_teacher_bias,
    fit_teacher_calibration,
    logit_adjust,
)
from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer
from zeromatch_sk.providers import TeacherError, check_teacher_proba
from zeromatch_sk.providers._base import PROBA_SUM_TOLERANCE

TINY = dict(hidden_layer_sizes=(8,), kd_epochs=1, max_epochs=2, steps_per_epoch=2, batch_size=8)
FITS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MATHS = settings(max_examples=40, deadline=None)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "no unlabeled rows", weak-teacher warnings
        yield


# --------------------------------------------------------------------------- strategies


@st.composite
def semi_supervised(draw, *, max_abs=1e3):
    """``(X, y, teacher_idx, k)``: finite features, 2-3 classes each with >= 2 labeled rows, some -1 rows."""
    k = draw(st.integers(2, 3))
    n = draw(st.integers(4 * k, 24))
    d = draw(st.integers(1, 4))
    X = draw(arrays(np.float64, (n, d), elements=st.floats(-max_abs, max_abs, allow_nan=False, width=64)))
    base = np.arange(2 * k) % k  # two labeled rows of every class
    rest = draw(arrays(np.int64, n - 2 * k, elements=st.integers(-1, k - 1)))
    y = np.concatenate([base, rest])
    teacher = draw(arrays(np.int64, n, elements=st.integers(0, k - 1)))
    return X, y, teacher, k


def _fit(X, y, teacher, seed=0, **params):
    return ZeroMatchClassifier(**TINY, random_state=seed, **params).fit(X, y, pseudo_labels=teacher)


def _probability_rows(proba, k):
    assert proba.shape[1] == k
    assert np.isfinite(proba).all()
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


# --------------------------------------------------------------------------- classifier


@FITS
@given(semi_supervised())
def test_probabilities_are_distributions_and_predict_is_in_classes(case):
    X, y, teacher, k = case
    clf = _fit(X, y, teacher)
    proba = clf.predict_proba(X)
    _probability_rows(proba, k)
    pred = clf.predict(X)
    assert set(pred.tolist()) <= set(clf.classes_.tolist())
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])


@FITS
@given(semi_supervised(max_abs=1e38), st.floats(-1e38, 1e38, allow_nan=False))
def test_any_finite_input_gives_distributions_or_a_clear_error(case, test_value):
    """Huge features (up to 1e38) may be refused, but never answered with NaN."""
    X, y, teacher, k = case
    X_test = np.vstack([X[:3], np.full((1, X.shape[1]), test_value)])
    try:
        proba = _fit(X, y, teacher).predict_proba(X_test)
    except (ValueError, ArithmeticError) as exc:
        assert "X" in str(exc) or "lr" in str(exc)
        return
    _probability_rows(proba, k)


@FITS
@given(semi_supervised())
def test_integer_and_string_labels_give_identical_probabilities(case):
    X, y, teacher, k = case
    names = np.array([f"class-{c}" for c in range(k)], dtype=object)  # sorts like 0..k-1
    y_str = np.where(y == -1, -1, names[np.maximum(y, 0)]).astype(object)
    ints = _fit(X, y, teacher)
    strs = _fit(X, y_str, names[teacher])
    np.testing.assert_array_equal(strs.predict_proba(X), ints.predict_proba(X))
    np.testing.assert_array_equal(strs.predict(X), names[ints.predict(X)])


@FITS
@given(semi_supervised(), st.integers(0, 2**31 - 1))
def test_same_seed_gives_identical_results(case, seed):
    X, y, teacher, _ = case
    a = _fit(X, y, teacher, seed=seed).predict_proba(X)
    b = _fit(X, y, teacher, seed=seed).predict_proba(X)
    np.testing.assert_array_equal(a, b)


@FITS
@given(semi_supervised())
def test_score_is_accuracy_on_labeled_rows_only(case):
    X, y, teacher, _ = case
    clf = _fit(X, y, teacher)
    labeled = y != -1
    expected = np.mean(clf.predict(X)[labeled] == y[labeled])
    assert clf.score(X, y) == pytest.approx(expected)
    assert labeled_scorer()(clf, X, y) == pytest.approx(expected)


# --------------------------------------------------------------------------- labels


label_values = st.one_of(
    st.sampled_from(["cat", "dog", "-1 cat", "bird"]),
    st.sampled_from([-1, -1.0, np.int64(-1)]),
)


@MATHS
@given(st.lists(label_values, min_size=1, max_size=20))
def test_classifier_and_model_selection_agree_on_unlabeled_rows(values):
    y = np.empty(len(values), dtype=object)
    y[:] = values
    labeled_y, unlabeled = check_labels(y)
    np.testing.assert_array_equal(unlabeled, unlabeled_mask(y))
    np.testing.assert_array_equal(unlabeled, [not isinstance(v, str) for v in values])
    assert labeled_y.tolist() == [v for v in values if isinstance(v, str)]


# --------------------------------------------------------------------------- teacher output


@MATHS
@given(
    st.integers(1, 5),
    st.integers(2, 4),
    st.data(),
)
def test_check_teacher_proba_accepts_exactly_the_valid_matrices(n, k, data):
    entries = st.one_of(
        st.floats(0, 1, width=64),
        st.sampled_from([0.0, 1.0, -0.1, np.nan, np.inf, 1.5]),
        st.floats(-2, 2),
    )
    P = data.draw(arrays(np.float64, (n, k), elements=entries))
    if data.draw(st.booleans()):  # half the draws are made into distributions, which must be accepted
        P = np.abs(np.nan_to_num(P, nan=0.5, posinf=1.0, neginf=1.0)) + 1e-3
        P = P / P.sum(axis=1, keepdims=True)
    valid = (
        np.isfinite(P).all() and (P >= 0).all() and (np.abs(P.sum(axis=1) - 1) <= PROBA_SUM_TOLERANCE).all()
    )
    try:
        out = check_teacher_proba(P, n, k)
    except TeacherError:
        assert not valid
    else:
        assert valid
        np.testing.assert_allclose(out.sum(axis=1), 1.0)
        np.testing.assert_allclose(out, P, atol=PROBA_SUM_TOLERANCE)
    with pytest.raises(TeacherError, match="shape"):
        check_teacher_proba(P, n + 1, k)


# --------------------------------------------------------------------------- robust maths


@st.composite
def positive_proba(draw, *, min_rows=1, max_rows=12):
    k = draw(st.integers(2, 4))
    n = draw(st.integers(min_rows, max_rows))
    A = draw(arrays(np.float64, (n, k), elements=st.floats(0.01, 1.0)))
    return A / A.sum(axis=1, keepdims=True)


priors = st.integers(2, 4).flatmap(
    lambda k: arrays(np.float64, k, elements=st.floats(0.05, 1.0)).map(lambda p: p / p.sum())
)


@MATHS
@given(positive_proba())
def test_em_prior_fixed_point_and_invariances(P):
    """The mean posterior is EM's fixed point; the estimate is a distribution, permutation-equivariant and
    unchanged by repeating the rows."""
    mean = P.mean(axis=0)
    np.testing.assert_allclose(estimate_prior_em(P, train_prior=mean), mean, atol=1e-6)
    prior = estimate_prior_em(P)
    assert (prior >= 0).all() and prior.sum() == pytest.approx(1.0)
    perm = np.roll(np.arange(P.shape[1]), 1)
    np.testing.assert_allclose(estimate_prior_em(P[:, perm]), prior[perm], atol=1e-6)
    np.testing.assert_allclose(estimate_prior_em(np.vstack([P, P])), prior, atol=1e-9)


@MATHS
@given(
    priors.flatmap(lambda a: st.tuples(st.just(a), positive_proba().filter(lambda P: P.shape[1] == len(a))))
)
def test_logit_adjust_round_trips(case):
    a, P = case
    b = np.roll(a, 1)
    there = logit_adjust(P, a, b)
    _probability_rows(there, P.shape[1])
    np.testing.assert_allclose(logit_adjust(there, b, a), P, atol=1e-9)
    np.testing.assert_allclose(logit_adjust(P, a, a), P, atol=1e-12)


@MATHS
@given(positive_proba(min_rows=2), st.data())
def test_teacher_bias_sums_to_zero_and_is_shift_invariant(P, data):
    """At the optimum the penalty pins the free common offset: the biases sum to 0. Adding a constant to
    every bias does not change the calibrated teacher."""
    k = P.shape[1]
    y = data.draw(arrays(np.int64, len(P), elements=st.integers(0, k - 1)))
    reg = data.draw(st.sampled_from([0.125, 0.5, 4.0]))
    bias = fit_teacher_bias(P, y, reg=reg)
    assert abs(bias.sum()) < 1e-6
    shift = data.draw(st.floats(-5, 5))
    np.testing.assert_allclose(apply_teacher_bias(P, bias + shift), apply_teacher_bias(P, bias), atol=1e-12)
    np.testing.assert_allclose(apply_teacher_bias(P, np.zeros(k)), P, atol=1e-9)  # zero bias: no change


@MATHS
@given(positive_proba(min_rows=1, max_rows=6).filter(lambda P: P.shape[1] == 2), st.data())
def test_calibration_of_a_class_symmetric_sample_has_no_bias(P, data):
    """Data that is unchanged by swapping the two classes (rows and labels mirrored) has a symmetric, hence
    zero, optimal bias: a fixed point of both calibrations."""
    y = data.draw(arrays(np.int64, len(P), elements=st.integers(0, 1)))
    P2, y2 = np.vstack([P, P[:, ::-1]]), np.concatenate([y, 1 - y])
    np.testing.assert_allclose(fit_teacher_bias(P2, y2), 0.0, atol=1e-7)
    bias, scale = fit_teacher_calibration(P2, y2)
    np.testing.assert_allclose(bias, 0.0, atol=1e-7)
    assert np.isfinite(scale)


# --------------------------------------------------------------------------- splitter


@MATHS
@given(
    st.integers(2, 4),
    st.integers(2, 3),
    st.integers(0, 15),
    st.booleans(),
    st.integers(0, 100),
)
def test_semi_supervised_kfold_tests_every_labeled_row_once_and_no_unlabeled_row(
    n_splits, k, n_unlabeled, stratify, seed
):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n_splits + rng.integers(0, 3))
    y = rng.permutation(np.concatenate([labels, np.full(n_unlabeled, -1)]))
    X = np.zeros((len(y), 1))
    cv = SemiSupervisedKFold(n_splits, stratify=stratify, shuffle=True, random_state=seed)
    tested = np.zeros(len(y), dtype=int)
    for train, test in cv.split(X, y):
        assert not np.intersect1d(train, test).size
        assert (y[test] != -1).all()
        assert set(np.flatnonzero(y == -1)) <= set(train.tolist())
        tested[test] += 1
    np.testing.assert_array_equal(tested, (y != -1).astype(int))
