"""The defences as one object: the parameter, the decision it returns, and the published method."""

import dataclasses
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

from zeromatch_sk import REFERENCE, Defences, ZeroMatchClassifier
from zeromatch_sk.defences import DefenceDecision, resolve_defences
from zeromatch_sk.model_selection import SemiSupervisedKFold, labeled_scorer

FAST = dict(
    hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=2, steps_per_epoch=5, batch_size=16, random_state=0
)


@pytest.fixture(scope="module")
def blobs():
    X, y_true = make_blobs(n_samples=300, centers=[[0, 0], [3, 3], [0, 3]], random_state=0)
    y = np.full_like(y_true, -1)
    for c in range(3):
        y[np.flatnonzero(y_true == c)[:8]] = c
    P = np.full((len(y_true), 3), 0.15)
    P[np.arange(len(y_true)), y_true] = 0.7
    return X, y, y_true, P


def _quiet_fit(est, X, y, P):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y, pseudo_labels=P)


def test_the_constructor_has_at_most_28_parameters_and_one_for_the_defences():
    params = ZeroMatchClassifier().get_params(deep=False)
    assert len(params) <= 28
    assert params["defences"] == "auto"
    for flat in ("teacher_gate", "label_sampling", "da_target", "min_class_labels", "max_prior_drift"):
        assert flat not in params


def test_resolve_defences():
    assert resolve_defences("auto").get_params() == Defences().get_params()
    assert resolve_defences("off").get_params() == Defences.off().get_params()
    mine = Defences(gate="labels")
    assert resolve_defences(mine) is mine


def test_auto_is_defences_and_off_is_the_published_method(blobs):
    X, y, _, P = blobs
    auto = _quiet_fit(ZeroMatchClassifier(**FAST), X, y, P)
    explicit = _quiet_fit(ZeroMatchClassifier(**FAST, defences=Defences()), X, y, P)
    np.testing.assert_array_equal(auto.predict_proba(X), explicit.predict_proba(X))
    off = _quiet_fit(ZeroMatchClassifier(**{**FAST, **REFERENCE}), X, y, P)
    assert off.defences_.gate_stats is None or not off.teacher_gated_
    assert off.label_sampling_ == "random" and off.teacher_calibration_ == "none"
    assert off.defences_.alignment_target is None and off.defences_.sup_logit_offset is None
    assert off.strong_augment_ == "scarf"
    # Balanced labels: the defaults estimate the prior and align towards it; the published method does not.
    assert auto.label_sampling_ == "balanced" and auto.defences_.alignment_target is not None


def test_the_decision_is_frozen_and_matches_the_fitted_attributes(blobs):
    X, y, _, P = blobs
    clf = _quiet_fit(ZeroMatchClassifier(**FAST), X, y, P)
    decision = clf.defences_
    assert isinstance(decision, DefenceDecision)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.gated = True
    np.testing.assert_array_equal(clf.class_prior_, decision.class_prior)
    assert clf.class_prior_.sum() == pytest.approx(1.0)
    assert decision.class_prior_source == "teacher-em"
    assert clf.teacher_proba_ is decision.teacher and clf.teacher_proba_raw_ is decision.teacher_raw
    assert clf.lambda_u_ == decision.lambda_u


def test_defences_are_grid_searchable_by_name(blobs):
    X, y, _y_true, P = blobs
    est = ZeroMatchClassifier(**FAST, defences=Defences())
    grid = GridSearchCV(
        est,
        {"defences__gate": ["chance", "never"], "defences__min_class_labels": [0, 10]},
        cv=SemiSupervisedKFold(n_splits=2),
        scoring=labeled_scorer("accuracy"),
    )
    _quiet_fit(grid, X, y, P)
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_estimator_.defences.gate in ("chance", "never")
    # clone copies the Defences object rather than sharing it.
    twin = clone(est)
    assert twin.defences is not est.defences and twin.defences.get_params() == est.defences.get_params()


def test_a_constant_teacher_warns_whatever_the_gate(blobs):
    X, y, _, _ = blobs
    constant = np.tile([0.8, 0.1, 0.1], (len(X), 1))
    for defences in ("auto", "off", Defences(gate="never")):
        with pytest.warns(
            UserWarning, match=r"puts 100% of the 300 training rows in class 0.*nearly\) constant"
        ):
            ZeroMatchClassifier(**FAST, defences=defences).fit(X, y, pseudo_labels=constant)


def test_a_given_class_prior_is_reported_as_given(blobs):
    X, y, _, P = blobs
    clf = _quiet_fit(ZeroMatchClassifier(**FAST, class_prior=[2, 1, 1]), X, y, P)
    assert clf.defences_.class_prior_source == "given"
    np.testing.assert_allclose(clf.class_prior_, [0.5, 0.25, 0.25])
    uniform = _quiet_fit(ZeroMatchClassifier(**FAST, class_prior="uniform"), X, y, P)
    assert uniform.defences_.class_prior_source == "uniform"


# --------------------------------------------------------------------------- the prior estimate
def _skewed_with_a_biased_teacher(seed=0):
    """9:1 blobs, 10 labels per class, a teacher that puts 40 % of the majority class in the rare one."""
    rng = np.random.default_rng(seed)
    X, y_true = make_blobs(n_samples=[900, 100], centers=[[0, 0], [4, 4]], random_state=seed)
    y = np.full_like(y_true, -1)
    for c in range(2):
        y[rng.choice(np.flatnonzero(y_true == c), 10, replace=False)] = c
    says_rare = (y_true == 1) | (rng.random(len(y_true)) < 0.4)
    P = np.where(says_rare[:, None], [0.3, 0.7], [0.8, 0.2])
    return X, y, y_true, P


def test_teacher_plus_labels_prior_holds_when_the_teacher_is_biased():
    X, y, y_true, P = _skewed_with_a_biased_teacher()
    unlabeled = y < 0
    truth = np.bincount(y_true[unlabeled]) / unlabeled.sum()
    errors = {}
    for method in ("teacher", "teacher+labels", "labels"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = Defences(prior_estimate=method).decide(X, y, unlabeled, P, classes=np.array([0, 1]))
        errors[method] = np.abs(d.class_prior - truth).sum()
        expected = {"teacher": "teacher-em", "teacher+labels": "teacher-em+labels-cc", "labels": "labels"}
        assert d.class_prior_source == expected[method]
    # The labels' classifier separates the blobs, so averaging it in removes much of the teacher's error.
    assert errors["teacher"] > 0.03
    assert errors["teacher+labels"] < 0.75 * errors["teacher"]
    assert errors["labels"] > 0.7  # balanced labels say nothing about a 9:1 prior


def test_auto_prior_estimate_follows_the_label_sampling(blobs):
    X, y, _, P = blobs
    unlabeled = y < 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        balanced = Defences().decide(X, y, unlabeled, P, classes=np.arange(3))
        random = Defences(label_sampling="random").decide(X, y, unlabeled, P, classes=np.arange(3))
        no_teacher = Defences(prior_estimate="teacher").decide(X, y, unlabeled, None, classes=np.arange(3))
    assert balanced.class_prior_source == "teacher-em"
    assert random.class_prior_source == "labels"
    assert no_teacher.class_prior_source == "labels"  # nothing to run EM on: the documented fallback


def test_prior_estimate_is_validated(blobs):
    X, y, _, P = blobs
    with pytest.raises(ValueError, match="prior_estimate"):
        Defences(prior_estimate="median").decide(X, y, y < 0, P, classes=np.arange(3))
