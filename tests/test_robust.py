"""Defences against weak/biased teachers and class imbalance, checked by hand and by behaviour.

Each hand-worked test writes out the arithmetic so it can be redone on paper.
"""

import math

import numpy as np
import pytest

from zeromatch_sk._robust import (
    TeacherGateStats,
    apply_teacher_bias,
    estimate_prior_em,
    fit_teacher_bias,
    fit_teacher_calibration,
    infer_label_sampling,
    logit_adjust,
    select_calibration_reg,
    teacher_gate,
    teacher_vs_labels,
)


# ------------------------------------------------------------------ logit_adjust
def test_logit_adjust_by_hand():
    # p = (0.6, 0.4) under prior (0.5, 0.5), moved to (0.2, 0.8):
    # 0.6 * 0.2/0.5 = 0.24, 0.4 * 0.8/0.5 = 0.64, sum 0.88 -> (0.24/0.88, 0.64/0.88) = (3/11, 8/11).
    out = logit_adjust([[0.6, 0.4]], [0.5, 0.5], [0.2, 0.8])
    np.testing.assert_allclose(out, [[3 / 11, 8 / 11]])


def test_logit_adjust_normalises_priors_and_none_is_uniform():
    # Unnormalised priors (1, 1) and (1, 4) are (1/2, 1/2) and (1/5, 4/5).
    # 0.5 * (1/5)/(1/2) = 0.2, 0.5 * (4/5)/(1/2) = 0.8 -> (0.2, 0.8).
    np.testing.assert_allclose(logit_adjust([[0.5, 0.5]], None, [1, 4]), [[0.2, 0.8]])


def test_logit_adjust_round_trips():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(4), size=50)
    a, b = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(4))
    np.testing.assert_allclose(logit_adjust(logit_adjust(P, a, b), b, a), P, atol=1e-12)
    np.testing.assert_allclose(logit_adjust(P, a, a), P, atol=1e-12)


def test_logit_adjust_rejects_bad_priors():
    with pytest.raises(ValueError, match="prior_to"):
        logit_adjust([[0.5, 0.5]], None, [1.0, 0.0])
    with pytest.raises(ValueError, match="prior_from"):
        logit_adjust([[0.5, 0.5]], [1.0, 2.0, 3.0], None)


# ------------------------------------------------------------------ EM prior
def test_em_fixed_point_by_hand():
    # Rows (3/4, 1/4) twice and (1/4, 3/4) once, trained under a uniform prior.
    # Fixed point pi0 = a with a = (2/3) * 0.75a/(0.75a + 0.25(1-a)) + (1/3) * 0.25a/(0.25a + 0.75(1-a)).
    # a = 5/6: 0.75*5/6 = 0.625, 0.25/6 = 0.04167 -> 0.9375; 0.25*5/6 = 0.2083, 0.75/6 = 0.125 -> 0.625;
    # (2 * 0.9375 + 0.625) / 3 = 2.5 / 3 = 5/6.  (a = 0 and a = 1 are the other, repelling, fixed points.)
    prior = estimate_prior_em([[0.75, 0.25], [0.75, 0.25], [0.25, 0.75]])
    np.testing.assert_allclose(prior, [5 / 6, 1 / 6], atol=1e-6)


def test_em_is_a_no_op_when_posteriors_match_the_train_prior():
    # Rows (0.9, 0.1), (0.3, 0.7) under a uniform train prior have mean (0.6, 0.4)... and one EM
    # step from (1/2, 1/2) gives exactly that mean; a symmetric pair stays at 1/2.
    np.testing.assert_allclose(estimate_prior_em([[0.8, 0.2], [0.2, 0.8]]), [0.5, 0.5], atol=1e-9)


def _calibrated_posteriors(prior, n, rng, sep=2.0):
    """Rows of a 3-class Gaussian mixture with exact Bayes posteriors under a *uniform* prior."""
    k = len(prior)
    means = sep * np.eye(k)
    y = rng.choice(k, size=n, p=prior)
    X = means[y] + rng.standard_normal((n, k))
    logits = X @ means.T - 0.5 * (means**2).sum(1)  # log N(x; mu_k, I) up to a constant
    P = np.exp(logits - logits.max(1, keepdims=True))
    return P / P.sum(1, keepdims=True), y


def test_em_recovers_a_known_prior_from_calibrated_posteriors():
    rng = np.random.default_rng(0)
    true = np.array([0.7, 0.2, 0.1])
    P, _y = _calibrated_posteriors(true, 20_000, rng)
    est = estimate_prior_em(P)  # posteriors are calibrated under the uniform prior
    assert np.abs(est - true).max() < 0.02
    # The naive estimate (mean posterior) is pulled towards the uniform train prior; EM is not.
    assert np.abs(P.mean(0) - true).max() > 0.05


def test_em_uses_train_prior():
    rng = np.random.default_rng(1)
    true = np.array([0.2, 0.3, 0.5])
    P_uniform, _ = _calibrated_posteriors(true, 20_000, rng)
    train = np.array([0.5, 0.25, 0.25])
    P_train = logit_adjust(P_uniform, None, train)  # the same model, calibrated under `train`
    est = estimate_prior_em(P_train, train_prior=train)
    np.testing.assert_allclose(est, estimate_prior_em(P_uniform), atol=1e-6)
    assert np.abs(est - true).max() < 0.02


# ------------------------------------------------------------------ teacher bias
def test_apply_teacher_bias_by_hand():
    # log(0.5) + (log 3, 0) -> odds 3:1 -> (0.75, 0.25); scale 1/2 on (0.9, 0.1): sqrt(9) = 3 -> (0.75, 0.25).
    np.testing.assert_allclose(apply_teacher_bias([[0.5, 0.5]], [math.log(3.0), 0.0]), [[0.75, 0.25]])
    np.testing.assert_allclose(apply_teacher_bias([[0.9, 0.1]], [0.0, 0.0], scale=0.5), [[0.75, 0.25]])


def test_fit_teacher_bias_one_row_by_hand():
    # min -log softmax(b)_0 + (1/2)||b||^2 (reg = 1). Gradient: softmax(b) - (1, 0) + b = 0.
    # So b_1 = -q_1 and b_0 = 1 - q_0 = q_1: b = (t, -t), t = q_1 = 1 / (1 + exp(2t)) -> t = 0.33742.
    t = 0.33741580717
    assert abs(t - 1.0 / (1.0 + math.exp(2 * t))) < 1e-9
    np.testing.assert_allclose(fit_teacher_bias([[0.5, 0.5]], [0], reg=1.0), [t, -t], atol=1e-6)


def test_fit_teacher_bias_counts_by_hand():
    # A teacher at (1/2, 1/2) on 4 rows, 3 of class 0; tiny reg -> maximum likelihood:
    # softmax(b) = (3/4, 1/4) and the biases sum to 0 -> b = (ln 3 / 2, -ln 3 / 2) = (0.5493, -0.5493).
    b = fit_teacher_bias([[0.5, 0.5]] * 4, [0, 0, 0, 1], reg=1e-8)
    np.testing.assert_allclose(b, [math.log(3) / 2, -math.log(3) / 2], atol=1e-5)


def test_fit_teacher_bias_is_zero_for_a_calibrated_symmetric_teacher():
    # Rows (0.8, 0.2) of class 0 four times in five, mirrored: already calibrated -> the gradient
    # sum_i (q_i - e_yi) = 0 at b = 0, so the optimum is b = 0 for any reg.
    P = [[0.8, 0.2]] * 5 + [[0.2, 0.8]] * 5
    y = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]
    np.testing.assert_allclose(fit_teacher_bias(P, y, reg=0.5), [0.0, 0.0], atol=1e-9)


def test_fit_teacher_bias_corrects_a_teacher_that_over_predicts_one_class():
    rng = np.random.default_rng(0)
    P_true, y = _calibrated_posteriors(np.ones(3) / 3, 600, rng, sep=1.5)
    # The teacher adds +2.5 nats to class 0: it predicts class 0 for ~70 % of rows (a third are class 0).
    P = apply_teacher_bias(P_true, [2.5, 0.0, 0.0])
    assert (P.argmax(1) == 0).mean() > 0.55
    bias = fit_teacher_bias(P[:60], y[:60], reg=0.5)  # 60 labels
    assert bias[0] < bias[1] - 1.0 and bias[0] < bias[2] - 1.0
    fixed = apply_teacher_bias(P, bias)
    acc_raw, acc_fixed, acc_bayes = ((Q.argmax(1) == y).mean() for Q in (P, fixed, P_true))
    assert acc_fixed > acc_raw + 0.1
    assert acc_fixed > acc_bayes - 0.03


def test_fit_teacher_calibration_tempers_an_overconfident_teacher():
    # Teacher says 0.9:0.1, right 3 times in 4. ML: 9**s = 3 -> s = ln 3 / ln 9 = 1/2, b = 0 by symmetry.
    P = [[0.9, 0.1]] * 4 + [[0.1, 0.9]] * 4
    y = [0, 0, 0, 1, 1, 1, 1, 0]
    bias, scale = fit_teacher_calibration(P, y, reg=1e-8)
    np.testing.assert_allclose(bias, [0.0, 0.0], atol=1e-6)
    assert abs(scale - 0.5) < 1e-5


def test_select_calibration_reg_keeps_an_uninformative_teacher_unchanged():
    # A teacher at (1/2, 1/2) on balanced rows: any bias fitted without the held-out row leans to the
    # *other* class (one row fewer of its own), so every held-out log-likelihood is below log 1/2 unless
    # the bias is ~0: the largest penalty wins.
    P = [[0.5, 0.5]] * 10
    assert select_calibration_reg(P, [0, 1] * 5, grid=(0.25, 1.0, 4.0)) == 4.0


def test_select_calibration_reg_moves_a_biased_teacher_and_leaves_a_calibrated_one():
    rng = np.random.default_rng(0)
    P_true, y = _calibrated_posteriors(np.ones(3) / 3, 600, rng, sep=1.5)
    P = apply_teacher_bias(P_true, [2.5, 0.0, 0.0])  # over-predicts class 0 by 2.5 nats
    assert select_calibration_reg(P[:60], y[:60]) <= 0.5
    assert select_calibration_reg(P_true[:60], y[:60]) >= 8.0
    # Above max_loo rows it scores by 10-fold cross-validation and agrees.
    assert select_calibration_reg(P[:300], y[:300], max_loo=100) <= 0.5


def test_fit_teacher_bias_validates():
    with pytest.raises(ValueError, match="reg"):
        fit_teacher_bias([[0.5, 0.5]], [0], reg=0.0)
    with pytest.raises(ValueError, match="class indices"):
        fit_teacher_bias([[0.5, 0.5]], [2])


# ------------------------------------------------------------------ label sampling, gate
def test_infer_label_sampling():
    assert infer_label_sampling([0] * 10 + [1] * 10, 2) == "balanced"
    assert infer_label_sampling([0] * 4 + [1] * 3 + [2] * 4, 3) == "balanced"
    assert infer_label_sampling([0] * 17 + [1] * 3, 2) == "random"
    assert infer_label_sampling([0, 1], 3) == "random"  # a class without labels


def test_teacher_vs_labels_by_hand():
    # 4 labeled rows, 2 per class, features separate the classes perfectly.
    # Teacher argmax right on rows 0, 1, 2 (row 3 says class 0): raw accuracy 3/4, se sqrt(.75*.25/4) = 0.2165.
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    P = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    s = teacher_vs_labels(P, y, X, C=100.0)
    assert s.n == 4 and s.teacher == 0.75
    assert abs(s.teacher_se - math.sqrt(0.75 * 0.25 / 4)) < 1e-12
    # Leave-one-out logistic regression: the held-out row's class has one training row left on the
    # right side of the threshold -> every held-out row is right: 4/4.
    assert s.labels == 1.0
    # Reference: 2 classes, balanced -> max(1/2, 2/4) = 0.5, se sqrt(.25/4) = 0.25.
    assert s.reference == 0.5 and abs(s.reference_se - 0.25) < 1e-12
    assert s.chance == 0.5 and abs(s.chance_se - 0.25) < 1e-12
    assert s.diff == s.teacher_calibrated - 1.0
    assert s.diff_se >= 1 / 4


def test_teacher_gate_rules_by_hand():
    # n = 20, chance 0.5 -> chance_se = sqrt(0.25 / 20) = 0.1118; 'chance' with z=1 needs >= 0.6118.
    # The labels' majority rate (reference) is 0.7, se sqrt(0.21 / 20) = 0.1025: 'majority' with z=0 needs >= 0.7.
    base = dict(
        n=20,
        teacher=0.6,
        labels=0.8,
        reference=0.7,
        teacher_se=0.1,
        labels_se=0.09,
        reference_se=math.sqrt(0.21 / 20),
        chance=0.5,
        chance_se=math.sqrt(0.25 / 20),
    )
    keep = TeacherGateStats(teacher_calibrated=0.65, diff=-0.15, diff_se=0.1, **base)
    drop = TeacherGateStats(teacher_calibrated=0.60, diff=-0.20, diff_se=0.1, **base)
    assert teacher_gate(keep) and not teacher_gate(drop)
    assert teacher_gate(drop, z=0.0)  # 0.60 >= 0.50
    # 'majority': 0.65 < 0.7 drops even at z=0; 0.60 < 0.7 + 0.1025 at z=1.
    assert not teacher_gate(keep, rule="majority", z=0.0) and not teacher_gate(drop, rule="majority")
    above = TeacherGateStats(teacher_calibrated=0.70, diff=-0.1, diff_se=0.1, **base)
    assert teacher_gate(above, rule="majority", z=0.0) and not teacher_gate(above, rule="majority", z=1.0)
    # 'labels', z=1: keep when diff >= -diff_se: -0.15 < -0.1 -> drop; z=2: -0.15 >= -0.2 -> keep.
    assert not teacher_gate(keep, rule="labels") and teacher_gate(keep, rule="labels", z=2.0)
    assert teacher_gate(drop, rule="never")
    with pytest.raises(ValueError, match="rule"):
        teacher_gate(keep, rule="sometimes")


def test_teacher_gate_drops_a_random_teacher_and_keeps_a_good_one():
    rng = np.random.default_rng(0)
    P_true, y = _calibrated_posteriors(np.ones(3) / 3, 30, rng, sep=3.0)
    X = np.eye(3)[y] * 3.0 + rng.standard_normal((30, 3))
    good = teacher_vs_labels(P_true, y, X)
    bad = teacher_vs_labels(rng.dirichlet(np.ones(3) * 0.2, size=30), y, X)
    assert teacher_gate(good) and not teacher_gate(bad)


def test_check_prior_normalises_and_names_the_order_of_classes():
    from zeromatch_sk._robust import check_prior

    np.testing.assert_allclose(check_prior([1, 3], 2, "p"), [0.25, 0.75])
    np.testing.assert_allclose(check_prior(None, 4, "p"), [0.25] * 4)
    with pytest.raises(ValueError, match=r"class_prior must be a class prior .*classes_ = \['a', 'b'\]"):
        check_prior([1.0, 0.0], 2, "class_prior", classes=["a", "b"])
    with pytest.raises(ValueError, match=r"train_prior .* \(3 classes\); got \[0.5, 0.5\]"):
        check_prior([0.5, 0.5], 3, "train_prior")
