"""The robustness defences of ZeroMatchClassifier: label sampling, teacher calibration, class prior, gate.

Behaviour only: what a user can observe through parameters, fitted
attributes, warnings and predictions. The pure functions underneath are
tested in ``test_robust.py``.
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs

from zeromatch_sk import REFERENCE, Defences, ZeroMatchClassifier

FAST = dict(
    hidden_layer_sizes=(32,),
    kd_epochs=2,
    max_epochs=3,
    steps_per_epoch=10,
    batch_size=16,
    lr=1e-2,
    random_state=0,
)


def _soft(labels, k, confidence=0.7):
    """A soft teacher: ``confidence`` on its label, the rest spread evenly."""
    P = np.full((len(labels), k), (1 - confidence) / (k - 1))
    P[np.arange(len(labels)), labels] = confidence
    return P


@pytest.fixture(scope="module")
def imbalanced():
    """Overlapping binary blobs at 9:1; 10 labels per class (class-balanced draw); a soft teacher right ~90 %."""
    rng = np.random.default_rng(0)
    X, y_true = make_blobs(
        n_samples=[900, 100], centers=[[0, 0], [2.0, 2.0]], cluster_std=1.0, random_state=0
    )
    y = np.full_like(y_true, -1)
    for c in (0, 1):
        y[rng.choice(np.flatnonzero(y_true == c), 10, replace=False)] = c
    teacher = np.where(rng.random(len(y_true)) < 0.9, y_true, 1 - y_true)
    return X, y, y_true, _soft(teacher, 2, confidence=0.9)


DEFENCE_KNOBS = set(Defences().get_params())


def _estimator(**params):
    """``ZeroMatchClassifier(**FAST, **params)``, where defence settings given flat become one ``Defences``."""
    knobs = {k: params.pop(k) for k in list(params) if k in DEFENCE_KNOBS}
    if knobs:
        params["defences"] = Defences(**knobs)
    return ZeroMatchClassifier(**{**FAST, **params})


def _wide(X, width=128):
    """``X`` padded with constant columns to an embedding-like width (the views' choice reads the width)."""
    return np.hstack([X, np.zeros((len(X), width - X.shape[1]))])


def _fit(X, y, P, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _estimator(**params).fit(X, y, pseudo_labels=P)


def test_balanced_labels_are_detected_and_the_prior_estimated(imbalanced):
    X, y, _y_true, P = imbalanced
    clf = _fit(X, y, P)
    assert clf.label_sampling_ == "balanced"
    assert clf.teacher_calibration_ == "bias"
    np.testing.assert_allclose(clf.labeled_prior_, [0.5, 0.5])
    assert clf.class_prior_.sum() == pytest.approx(1.0)
    # The truth is 0.9 / 0.1: the estimate must move well away from the labels' 0.5 / 0.5.
    assert clf.class_prior_[0] > 0.7
    assert clf.teacher_proba_.shape == clf.teacher_proba_raw_.shape == P.shape
    assert not np.allclose(clf.teacher_proba_, P)  # calibrated and moved to the prior
    assert {"teacher", "teacher_calibrated", "labels", "reference"} <= set(clf.teacher_gate_stats_)
    assert 0.0 <= clf.teacher_accuracy_calibrated_ <= 1.0


def test_reference_params_train_on_the_raw_teacher_and_label_prior(imbalanced):
    X, y, _y_true, P = imbalanced
    clf = _fit(X, y, P, **REFERENCE)
    assert clf.label_sampling_ == "random" and clf.teacher_calibration_ == "none"
    np.testing.assert_allclose(clf.teacher_proba_, P)
    np.testing.assert_allclose(clf.class_prior_, clf.labeled_prior_)
    assert clf.teacher_gated_ is False


def test_prior_correction_beats_the_reference_on_imbalanced_blobs(imbalanced):
    X, y, y_true, P = imbalanced
    params = dict(hidden_layer_sizes=(32,), kd_epochs=5, max_epochs=10, steps_per_epoch=20)
    unl = y == -1
    defended = _fit(X, y, P, **params)
    reference = _fit(X, y, P, **params, **REFERENCE)
    known_prior = _fit(X, y, P, **params, class_prior=[0.9, 0.1])
    # Balanced labels tilt the reference towards the 10 % class (about 40 % of its predictions on this
    # data); the defaults, and a given prior even more reliably, undo that.
    acc = {name: clf.score(X[unl], y_true[unl]) for name, clf in
           [("defended", defended), ("reference", reference), ("known", known_prior)]}  # fmt: skip
    assert acc["defended"] > acc["reference"] + 0.1
    assert acc["known"] > acc["reference"] + 0.1
    assert np.mean(reference.predict(X[unl]) == 1) > 0.2 > np.mean(known_prior.predict(X[unl]) == 1)


def test_random_labels_leave_the_teacher_uncalibrated():
    X, y_true = make_blobs(n_samples=300, centers=3, random_state=1)
    y = np.full_like(y_true, -1)
    lab = np.r_[
        np.flatnonzero(y_true == 0)[:12], np.flatnonzero(y_true == 1)[:6], np.flatnonzero(y_true == 2)[:3]
    ]
    y[lab] = y_true[lab]  # 12 / 6 / 3: not a class-balanced draw
    clf = _fit(X, y, _soft(y_true, 3))
    counts = np.bincount(y[y >= 0], minlength=3)
    assert counts.max() - counts.min() > 1
    assert clf.label_sampling_ == "random" and clf.teacher_calibration_ == "none"
    np.testing.assert_allclose(clf.class_prior_, clf.labeled_prior_)


def test_one_hot_teacher_is_not_calibrated(imbalanced):
    X, y, _y_true, P = imbalanced
    clf = _fit(X, y, P.argmax(axis=1))
    assert clf.teacher_calibration_ == "none"
    np.testing.assert_array_equal(clf.teacher_bias_, [0.0, 0.0])


def test_useless_teacher_is_gated_with_a_warning():
    X, y_true = make_blobs(n_samples=300, centers=[[0, 0], [6, 6]], random_state=0)
    y = np.full_like(y_true, -1)
    for c in (0, 1):
        y[np.flatnonzero(y_true == c)[:10]] = c
    wrong = _soft(1 - y_true, 2, confidence=0.9)  # always wrong
    with pytest.warns(
        UserWarning, match=r"no better than guessing \(50%\)\. It was switched off \(defences gate='chance'\)"
    ):
        clf = ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=wrong)
    assert clf.teacher_gated_ and clf.teacher_proba_ is None
    assert clf.teacher_gate_stats_["teacher"] == 0.0
    assert clf.score(X, y_true) > 0.9  # AdaMatch on the labels alone separates the blobs

    with pytest.warns(
        UserWarning, match=r"no better than guessing \(50%\)\. It is still used \(defences gate='never'\)"
    ):
        kept = _estimator(gate="never").fit(X, y, pseudo_labels=wrong)
    assert not kept.teacher_gated_ and kept.teacher_proba_ is not None

    with pytest.warns(UserWarning, match="max_epochs=0"):
        kd_only = ZeroMatchClassifier(**{**FAST, "max_epochs": 0}).fit(X, y, pseudo_labels=wrong)
    assert kd_only.teacher_proba_ is not None  # nothing else to learn from without stage 2


def test_teacher_below_the_majority_rate_is_kept_with_a_warning_unless_gate_is_majority():
    """An informative teacher that is less accurate than predicting the majority class: 'chance' (the
    default) keeps it and warns, 'majority' drops it."""
    rng = np.random.default_rng(0)
    X, y_true = make_blobs(n_samples=[450, 50], centers=[[0, 0], [3, 3]], random_state=0)
    y = np.full_like(y_true, -1)
    y[np.flatnonzero(y_true == 0)[:18]] = 0
    y[np.flatnonzero(y_true == 1)[:2]] = 1  # 18 : 2, read as a random draw: the majority rate is 90 %
    teacher = np.where(rng.random(len(y_true)) < 0.8, y_true, 1 - y_true)
    P = _soft(teacher, 2, confidence=0.9)
    majority_rows = np.flatnonzero(y == 0)
    P[majority_rows[:4]] = [0.01, 0.99]  # confidently wrong on 4 of the 18 majority labels
    P[majority_rows[4:]] = [0.9, 0.1]
    P[y == 1] = [0.45, 0.55]  # right, but hesitant, on the two minority labels

    with pytest.warns(
        UserWarning, match=r"majority class \(90%\)\. It is still used \(defences gate='chance'\)"
    ):
        kept = ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=P)
    stats = kept.teacher_gate_stats_
    assert stats["chance"] == 0.5 and stats["reference"] == 0.9
    assert 0.5 <= stats["teacher_calibrated"] < 0.9
    assert not kept.teacher_gated_ and kept.teacher_proba_ is not None

    with pytest.warns(UserWarning, match=r"switched off \(defences gate='majority'\)"):
        dropped = _estimator(gate="majority").fit(X, y, pseudo_labels=P)
    assert dropped.teacher_gated_ and dropped.teacher_proba_ is None


def test_posthoc_correction_shifts_probabilities(imbalanced):
    X, y, _y_true, P = imbalanced
    none = _fit(X, y, P, prior_correction="none")
    post = clone(none).set_params(defences__prior_correction="posthoc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post.fit(X, y, pseudo_labels=P)
    proba = post.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Same training (the post-hoc shift does not touch it), then a shift towards class 0's larger prior.
    assert (proba[:, 0] >= none.predict_proba(X)[:, 0] - 1e-9).all()


def test_given_class_prior_is_used_and_checked(imbalanced):
    X, y, _y_true, P = imbalanced
    clf = _fit(X, y, P, class_prior=[9, 1])
    np.testing.assert_allclose(clf.class_prior_, [0.9, 0.1])
    with pytest.raises(
        ValueError, match=r"class_prior must be a class prior with one positive entry per class"
    ):
        _fit(X, y, P, class_prior=[1.0, 0.0])
    with pytest.raises(ValueError, match=r"Defences\(alignment_target=\.\.\.\) must be"):
        _fit(X, y, P, alignment_target=[1.0, 2.0, 3.0])


def test_uniform_class_prior_is_the_uniform_array(imbalanced):
    # Balanced labels on 9:1 data: 'auto' estimates a skewed prior, 'uniform' overrides it exactly as an array would.
    X, y, _y_true, P = imbalanced
    auto = _fit(X, y, P, max_epochs=0)
    uniform = _fit(X, y, P, class_prior="uniform", max_epochs=0)
    array = _fit(X, y, P, class_prior=[1.0, 1.0], max_epochs=0)
    assert auto.class_prior_[0] > 0.7
    np.testing.assert_allclose(uniform.class_prior_, [0.5, 0.5])
    np.testing.assert_allclose(uniform.predict_proba(X), array.predict_proba(X))
    with pytest.raises(ValueError, match="class_prior"):
        _fit(X, y, P, class_prior="balanced")


def test_calibration_reg_auto_picks_the_penalty_from_the_labels(imbalanced):
    X, y, _y_true, P = imbalanced
    fixed = _fit(X, y, P, calibration_reg=2.0, max_epochs=0)
    assert fixed.calibration_reg_ == 2.0
    # A teacher shifted by 3 nats towards class 1 needs moving: 'auto' picks a small penalty and a larger
    # correction than the fixed default's.
    shifted = np.exp(np.log(P) + [0.0, 3.0])
    shifted /= shifted.sum(1, keepdims=True)
    auto, default = (_fit(X, y, shifted, calibration_reg=r, max_epochs=0) for r in ("auto", 0.5))
    assert auto.calibration_reg_ < 0.5
    assert auto.teacher_bias_[0] - auto.teacher_bias_[1] > default.teacher_bias_[0] - default.teacher_bias_[1]


def test_defence_parameters_are_validated(imbalanced):
    X, y, _y_true, P = imbalanced
    for name, bad in [("label_sampling", "stratified"), ("gate", "sometimes"),
                      ("prior_correction", "both"), ("calibration", "platt"),
                      ("calibration_reg", "loo"), ("calibration_reg", 0.0), ("max_prior_drift", 0.0),
                      ("max_prior_drift", 1.5), ("min_class_labels", -1), ("alignment_target", "prior")]:  # fmt: skip
        with pytest.raises(ValueError, match=rf"'{name}' parameter of Defences"):
            ZeroMatchClassifier(defences=Defences(**{name: bad})).fit(X, y, pseudo_labels=P)
    with pytest.raises(ValueError, match="'defences' parameter of ZeroMatchClassifier"):
        ZeroMatchClassifier(defences="none").fit(X, y, pseudo_labels=P)


def test_rare_class_with_random_labels_switches_the_consistency_loss_off():
    rng = np.random.default_rng(1)
    X, y_true = make_blobs(
        n_samples=[900, 100], centers=[[0, 0], [2.0, 2.0]], cluster_std=1.0, random_state=1
    )
    y = np.full_like(y_true, -1)
    y[rng.choice(np.flatnonzero(y_true == 0), 17, replace=False)] = 0
    y[rng.choice(np.flatnonzero(y_true == 1), 3, replace=False)] = 1  # 17 : 3, as a random draw of 20 gives
    P = _soft(y_true, 2, confidence=0.8)
    params = {**FAST, "random_state": 0}
    with pytest.warns(UserWarning, match=r"min_class_labels=10 .*lambda_u_=0"):
        clf = ZeroMatchClassifier(**params).fit(X, y, pseudo_labels=P)
    assert clf.label_sampling_ == "random" and clf.lambda_u_ == 0.0
    assert np.isnan(clf.history_[-1, "loss_unsup"])  # the loss really did not run
    # The threshold is a parameter: at 3 the class has enough labels, and the published method never switches.
    for kept in ({"min_class_labels": 3}, REFERENCE):
        clf = _fit(X, y, P, **kept)
        assert clf.lambda_u_ == 1.0 and np.isfinite(clf.history_[-1, "loss_unsup"])
    # Class-balanced labels, however few, keep the loss: the guard is about rare classes drawn at random.
    y_bal = np.full_like(y_true, -1)
    for c in (0, 1):
        y_bal[rng.choice(np.flatnonzero(y_true == c), 3, replace=False)] = c
    assert _fit(X, y_bal, P).lambda_u_ == 1.0
    # So are random labels of balanced classes: 6 : 4 is a random draw, but no class is rare.
    Xb, yb_true = make_blobs(n_samples=[500, 500], centers=[[0, 0], [2.0, 2.0]], random_state=1)
    yb = np.full_like(yb_true, -1)
    yb[np.flatnonzero(yb_true == 0)[:6]] = 0
    yb[np.flatnonzero(yb_true == 1)[:4]] = 1
    clf = _fit(Xb, yb, _soft(yb_true, 2))
    assert clf.label_sampling_ == "random" and clf.lambda_u_ == 1.0


def test_random_labels_that_look_balanced_still_read_a_skew_from_the_teacher():
    from zeromatch_sk.augment import GaussianNoise, Scarf

    rng = np.random.default_rng(2)
    X, y_true = make_blobs(
        n_samples=[800, 200], centers=[[0, 0], [3.0, 3.0]], cluster_std=1.0, random_state=2
    )
    y = np.full_like(y_true, -1)
    y[rng.choice(np.flatnonzero(y_true == 0), 13, replace=False)] = 0
    y[rng.choice(np.flatnonzero(y_true == 1), 7, replace=False)] = 1  # 13 : 7 of a 4 : 1 task
    X = _wide(X)  # embedding-like width: the strong view then follows the skew
    P = _soft(y_true, 2, confidence=0.8)
    with pytest.warns(UserWarning, match="lambda_u_=0"):
        clf = ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=P)
    # The labels alone read 0.64 / 0.36 (normalised entropy 0.94: not skewed) ...
    assert clf.label_sampling_ == "random"
    np.testing.assert_allclose(clf.class_prior_, [14 / 22, 8 / 22])
    # ... the calibrated teacher's shares on the unlabeled rows read the 4 : 1 balance, so both defences are on.
    assert clf.teacher_prior_.sum() == pytest.approx(1.0) and 0.15 < clf.teacher_prior_[1] < 0.3
    assert clf.lambda_u_ == 0.0 and isinstance(clf.strong_augment_, GaussianNoise)
    # A teacher that says the classes are balanced leaves them off.
    clf = _fit(X, y, np.full((len(y), 2), 0.5))
    # (calibrated on the labels, it moves part of the way towards their 13 : 7, and stays unskewed)
    assert 0.35 < clf.teacher_prior_[1] <= 0.5
    assert clf.lambda_u_ == 1.0 and isinstance(clf.strong_augment_, Scarf)
    # No teacher, no second reading; nor from hard labels, which cannot be calibrated: a teacher that says
    # class 1 for 80 % of the rows would otherwise read as skewed classes whatever the truth.
    assert _fit(X, y, None).teacher_prior_ is None
    Xb, yb_true = make_blobs(n_samples=[500, 500], centers=[[0, 0], [3.0, 3.0]], random_state=2)
    Xb = _wide(Xb)
    yb = np.full_like(yb_true, -1)
    yb[np.flatnonzero(yb_true == 0)[:7]] = 0
    yb[np.flatnonzero(yb_true == 1)[:13]] = 1  # 7 : 13, random-looking labels of balanced classes
    biased = np.where(rng.random(len(yb_true)) < 0.6, 1, yb_true)  # hard labels, mostly "1"
    clf = _fit(Xb, yb, biased)
    assert clf.label_sampling_ == "random" and clf.teacher_prior_ is None
    assert clf.lambda_u_ == 1.0 and isinstance(clf.strong_augment_, Scarf)


def test_strong_view_follows_the_class_prior(imbalanced):
    X, y, _y_true, P = imbalanced
    from zeromatch_sk.augment import GaussianNoise, Scarf

    X = _wide(X)  # with embedding-like widths; few features get Gaussian views whatever the prior
    # 9:1 blobs, prior estimated from the teacher: skewed, so Gaussian noise replaces SCARF.
    skewed = _fit(X, y, P)
    assert isinstance(skewed.strong_augment_, GaussianNoise) and skewed.class_prior_.min() < 0.3
    # Told the classes are balanced: SCARF.
    assert isinstance(_fit(X, y, P, class_prior=[0.5, 0.5]).strong_augment_, Scarf)
    # A view given by the user is used as given.
    assert _fit(X, y, P, strong_augment="scarf").strong_augment_ == "scarf"


def test_drift_guard_reruns_stage_two_without_the_consistency_loss():
    X, y_true = make_blobs(n_samples=[500, 500], centers=[[0, 0], [3.0, 3.0]], random_state=3)
    y = np.full_like(y_true, -1)
    y[np.flatnonzero(y_true == 0)[:10]] = 0
    y[np.flatnonzero(y_true == 1)[:10]] = 1
    P = _soft(y_true, 2, confidence=0.8)
    # A guard nothing can pass: the stage 2 with the consistency loss is measured, then replaced.
    with pytest.warns(UserWarning, match="max_prior_drift"):
        guarded = _estimator(max_prior_drift=1e-9).fit(X, y, pseudo_labels=P)
    assert guarded.drift_fallback_ and guarded.lambda_u_ == 0.0
    assert 0.0 < guarded.prior_drift_ <= 1.0
    stage2 = [row for row in guarded.history_ if row["stage"] == 2]
    assert len(stage2) == 2 * FAST["max_epochs"]  # both runs are in the history
    assert all(0.0 <= row["prior_drift"] <= 1.0 for row in stage2)
    # The rerun trained without the consistency loss: no pseudo-label mask in its epochs.
    assert all(np.isnan(row["mask_ratio"]) for row in stage2[FAST["max_epochs"] :])
    assert not any(np.isnan(row["mask_ratio"]) for row in stage2[: FAST["max_epochs"]])
    # The same drift under a guard it passes, or with the guard off: the student is kept.
    for limit in (1.0, None):
        kept = _fit(X, y, P, max_prior_drift=limit)
        assert not kept.drift_fallback_ and kept.lambda_u_ == 1.0
        assert kept.prior_drift_ == pytest.approx(guarded.prior_drift_)
    # No consistency loss, nothing to guard.
    off = _fit(X, y, P, lambda_u=0.0, max_prior_drift=1e-9)
    assert not off.drift_fallback_ and np.isfinite(off.prior_drift_)
    # Stage 1 only: no stage 2, no drift.
    assert np.isnan(_fit(X, y, P, max_epochs=0).prior_drift_)


def test_drift_guard_measures_shares_against_the_class_prior():
    rng = np.random.default_rng(4)
    X, y_true = make_blobs(n_samples=[800, 200], centers=[[0, 0], [3.0, 3.0]], random_state=4)
    y = np.full_like(y_true, -1)
    idx = rng.choice(1000, 40, replace=False)
    y[idx] = y_true[idx]
    clf = _fit(X, y, None, max_prior_drift=None)
    shares = clf.predict_proba(X).mean(axis=0)
    assert clf.prior_drift_ == pytest.approx(0.5 * np.abs(shares - clf.class_prior_).sum(), abs=1e-5)
    assert clf.history_[-1, "prior_drift"] == pytest.approx(clf.prior_drift_)


def test_posthoc_drift_is_read_against_the_labels_balance(imbalanced):
    X, y, _y_true, P = imbalanced
    # Balanced labels of 9 : 1 classes: 'posthoc' trains the head under the labels' 50 : 50 and shifts
    # predict_proba to class_prior_ afterwards, so the head's drift is read against the labels' balance.
    clf = _fit(X, y, P, prior_correction="posthoc")
    assert clf.class_prior_[0] > 0.7
    raw_shares = clf.net_.predict_proba(X.astype(np.float32)).mean(axis=0)
    assert clf.prior_drift_ == pytest.approx(0.5 * np.abs(raw_shares - clf.labeled_prior_).sum(), abs=1e-5)
    assert clf.prior_drift_ != pytest.approx(0.5 * np.abs(raw_shares - clf.class_prior_).sum(), abs=1e-3)


def test_few_features_get_gaussian_views_whatever_the_prior(imbalanced):
    X, y, _y_true, P = imbalanced
    from zeromatch_sk.augment import GaussianNoise

    for prior in ("auto", [0.5, 0.5]):
        clf = _fit(X, y, P, class_prior=prior)
        assert isinstance(clf.weak_augment_, GaussianNoise) and clf.weak_augment_.scale == 0.1
        assert isinstance(clf.strong_augment_, GaussianNoise) and clf.strong_augment_.scale == 0.3
    wide = _fit(_wide(X), y, P, class_prior=[0.5, 0.5])
    assert isinstance(wide.weak_augment_, GaussianNoise) and wide.weak_augment_.scale == 0.02
    given = _fit(X, y, P, weak_augment="scarf")
    assert given.weak_augment_ == "scarf"  # given views are used as given
