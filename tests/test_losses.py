"""The ZeroMatch objective, checked against numbers worked out by hand.

Each test writes the arithmetic out, so a reader can redo it on paper.
"""

import math

import pytest
import torch

from zeromatch_sk._losses import (
    align_distribution,
    alpha_schedule,
    class_share_drift,
    consistency_loss,
    cosine_lr_factor,
    distillation_loss,
    ema_update,
    pseudo_label_mask,
    relative_threshold,
    supervised_loss,
)

LN2 = math.log(2.0)


def test_supervised_loss_is_mean_cross_entropy():
    # Row 1: logits (0, 0), label 0 -> -log(1/2) = ln 2.
    # Row 2: logits (ln 3, 0), label 0 -> softmax = (3/4, 1/4) -> -log(3/4).
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    y = torch.tensor([0, 0])
    expected = (LN2 - math.log(0.75)) / 2
    assert supervised_loss(logits, y).item() == pytest.approx(expected, rel=1e-6)


def test_distillation_loss_hard_and_soft_targets():
    logits = torch.tensor([[math.log(3.0), 0.0]])  # softmax = (3/4, 1/4)
    # Hard target class 1: -log(1/4) = ln 4.
    assert distillation_loss(logits, torch.tensor([1])).item() == pytest.approx(math.log(4.0), rel=1e-6)
    # Soft target (1/2, 1/2): -(1/2 log 3/4 + 1/2 log 1/4) = -(1/2)(log 3 - log 4 - log 4) = ln 4 - (1/2) ln 3.
    soft = torch.tensor([[0.5, 0.5]])
    assert distillation_loss(logits, soft).item() == pytest.approx(
        math.log(4.0) - 0.5 * math.log(3.0), rel=1e-6
    )
    # A one-hot soft target equals the hard target.
    assert distillation_loss(logits, torch.tensor([[0.0, 1.0]])).item() == pytest.approx(
        math.log(4.0), rel=1e-6
    )


def test_ema_update_starts_at_first_batch_then_moves_slowly():
    first = torch.tensor([0.2, 0.8])
    assert torch.equal(ema_update(None, first, 0.999), first)
    # 0.9 * (0.2, 0.8) + 0.1 * (1.0, 0.0) = (0.18 + 0.1, 0.72) = (0.28, 0.72)
    out = ema_update(first, torch.tensor([1.0, 0.0]), 0.9)
    assert out.tolist() == pytest.approx([0.28, 0.72])


def test_align_distribution_rescales_by_target_over_model():
    # p_u = (0.5, 0.5); p_target = (0.8, 0.2); p_model = (0.5, 0.5) (eps = 0 to keep it exact)
    # ratio = (1.6, 0.4) -> p_u * ratio = (0.8, 0.2) -> already sums to 1.
    p_u = torch.tensor([[0.5, 0.5]])
    out = align_distribution(p_u, torch.tensor([0.8, 0.2]), torch.tensor([0.5, 0.5]), eps=0.0)
    assert out.tolist()[0] == pytest.approx([0.8, 0.2])
    # p_u = (0.6, 0.4), p_target = (0.5, 0.5), p_model = (0.75, 0.25)
    # ratio = (2/3, 2) -> (0.4, 0.8) -> normalised (1/3, 2/3)
    out = align_distribution(
        torch.tensor([[0.6, 0.4]]), torch.tensor([0.5, 0.5]), torch.tensor([0.75, 0.25]), eps=0.0
    )
    assert out.tolist()[0] == pytest.approx([1 / 3, 2 / 3])
    # Rows stay distributions with the default eps.
    rnd = torch.softmax(torch.randn(5, 3), dim=1)
    aligned = align_distribution(rnd, torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.4, 0.4, 0.2]))
    assert aligned.sum(dim=1).tolist() == pytest.approx([1.0] * 5)


def test_relative_threshold_scales_mean_labeled_confidence():
    # max p_l per row: 0.9 and 0.7 -> mean 0.8 -> tau = 0.95 * 0.8 = 0.76
    p_l = torch.tensor([[0.9, 0.1], [0.3, 0.7]])
    assert relative_threshold(p_l, 0.95).item() == pytest.approx(0.76)


def test_pseudo_label_mask_uses_max_probability_and_argmax():
    probs = torch.tensor([[0.8, 0.2], [0.3, 0.7], [0.5, 0.5], [0.1, 0.9]])
    mask, labels = pseudo_label_mask(probs, 0.75)
    # confidences 0.8, 0.7, 0.5, 0.9 -> only 0.8 and 0.9 reach 0.75
    assert mask.tolist() == [1.0, 0.0, 0.0, 1.0]
    assert labels.tolist() == [0, 1, 0, 1]
    # The threshold is inclusive: 0.8 >= 0.8.
    assert pseudo_label_mask(probs, 0.8)[0].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_consistency_loss_averages_over_whole_batch_including_masked_rows():
    # Row CEs: logits (0,0) -> ln 2 for any label; logits (ln 3, 0), label 0 -> -log(3/4).
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0], [0.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([1, 0, 0, 0])
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0])
    # (ln 2 + (-log 0.75) + 0 + 0) / 4  -- divided by 4, not by the 2 unmasked rows
    expected = (LN2 - math.log(0.75)) / 4
    assert consistency_loss(logits, labels, mask).item() == pytest.approx(expected, rel=1e-6)
    assert consistency_loss(logits, labels, torch.zeros(4)).item() == 0.0


def test_alpha_schedule_linear_from_zero_to_one():
    # T = 5 steps: alpha_t = t / (T - 1) = 0, 1/4, 1/2, 3/4, 1
    assert [alpha_schedule(t, 5) for t in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert alpha_schedule(3, 5, "constant") == 1.0
    assert alpha_schedule(0, 1) == 1.0  # a single step gets the full weight
    with pytest.raises(ValueError, match="kd_schedule"):
        alpha_schedule(0, 5, "cosine")


def test_cosine_lr_factor_reference_schedule():
    # No warm-up, T = 4: progress t / 4 -> cos(7 pi / 16 * t / 4)
    assert cosine_lr_factor(0, 4) == pytest.approx(1.0)
    assert cosine_lr_factor(2, 4) == pytest.approx(math.cos(7 * math.pi / 32))
    assert cosine_lr_factor(4, 4) == pytest.approx(math.cos(7 * math.pi / 16))  # ~0.195, not 0
    # Warm-up of 2 steps out of 6: 1/2, 2/2, then cosine over the remaining 4 steps.
    assert cosine_lr_factor(0, 6, 2) == pytest.approx(0.5)
    assert cosine_lr_factor(1, 6, 2) == pytest.approx(1.0)
    assert cosine_lr_factor(2, 6, 2) == pytest.approx(1.0)
    assert cosine_lr_factor(4, 6, 2) == pytest.approx(math.cos(7 * math.pi / 32))


def test_supervised_loss_offset_is_logit_adjustment():
    # Logits (0, 0), label 0, offset (ln 3, 0): softmax(ln 3, 0) = (3/4, 1/4) -> -log(3/4).
    logits = torch.zeros(1, 2)
    offset = torch.tensor([math.log(3.0), 0.0])
    assert supervised_loss(logits, torch.tensor([0]), offset).item() == pytest.approx(
        -math.log(0.75), rel=1e-6
    )
    # The offset only enters the loss: the logits themselves are untouched.
    assert torch.equal(logits, torch.zeros(1, 2))


def test_class_share_drift_is_total_variation_of_mean_softmax():
    # Row 1: logits (ln 3, 0) -> (3/4, 1/4); row 2: logits (0, 0) -> (1/2, 1/2); mean (5/8, 3/8).
    # Against the prior (1/4, 3/4): |5/8 - 2/8| + |3/8 - 6/8| = 3/8 + 3/8 = 6/8, half of it 3/8.
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])
    assert class_share_drift(logits, torch.tensor([0.25, 0.75])) == pytest.approx(0.375)
    # Shares equal to the prior: no drift. Every row on a class the prior says never occurs: drift 1.
    assert class_share_drift(logits, torch.tensor([0.625, 0.375])) == pytest.approx(0.0, abs=1e-7)
    certain = torch.tensor([[50.0, 0.0, 0.0], [50.0, 0.0, 0.0]])
    assert class_share_drift(certain, torch.tensor([0.0, 0.5, 0.5])) == pytest.approx(1.0)
