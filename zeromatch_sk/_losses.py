"""The ZeroMatch objective as small pure functions.

Each function takes tensors and returns tensors; none keeps state. The
running distributions of AdaMatch's distribution alignment are passed in and
returned, so the training loop owns the state and these functions can be
tested against numbers worked out by hand (see ``tests/test_losses.py``).

Notation follows ``docs/algorithm.rst``: ``f`` is the main head, ``g`` the
auxiliary head, ``p_l``/``p_u`` the main head's class probabilities on weak
views of labeled/unlabeled rows.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "align_distribution",
    "alpha_schedule",
    "class_share_drift",
    "consistency_loss",
    "cosine_lr_factor",
    "distillation_loss",
    "ema_update",
    "pseudo_label_mask",
    "relative_threshold",
    "supervised_loss",
]


def supervised_loss(
    logits: torch.Tensor, y: torch.Tensor, offset: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean cross-entropy of ``logits`` against integer labels ``y`` (the paper's L_s).

    ``offset`` (one entry per class) is added to the logits inside the loss
    only: logit-adjusted cross-entropy. With ``offset = log labeled_prior -
    log class_prior`` the raw logits learn the posterior under
    ``class_prior`` from labels drawn under ``labeled_prior`` (Menon et al.,
    2021), so predictions need no correction afterwards.
    """
    if offset is not None:
        logits = logits + offset
    return F.cross_entropy(logits, y)


def distillation_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy against teacher targets (the paper's L_kd).

    ``targets`` is either a 1-D tensor of class indices (hard pseudo-labels,
    as in the reference code) or a 2-D tensor of teacher probabilities (soft
    pseudo-labels: ``-sum_k t_k log softmax(logits)_k``).
    """
    if targets.ndim == 1:
        return F.cross_entropy(logits, targets)
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def ema_update(running: torch.Tensor | None, batch_mean: torch.Tensor, momentum: float) -> torch.Tensor:
    """One step of an exponential moving average: ``m * running + (1 - m) * batch_mean``.

    ``running=None`` starts the average at ``batch_mean`` (how AdaMatch
    initialises ``p_model``).
    """
    if running is None:
        return batch_mean.clone()
    return momentum * running + (1.0 - momentum) * batch_mean


def class_share_drift(logits: torch.Tensor, prior: torch.Tensor) -> float:
    """Total variation distance between the mean softmax of ``logits`` and ``prior``.

    Half the L1 distance: the share of predicted probability mass that sits on
    the wrong classes, 0 when the student's class shares equal the prior and
    1 when they share no class. The drift guard of stage 2 reads it.
    """
    shares = F.softmax(logits, dim=1).mean(dim=0)
    return float(0.5 * (shares - prior.to(shares)).abs().sum())


def align_distribution(
    probs_u: torch.Tensor, p_target: torch.Tensor, p_model: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """AdaMatch distribution alignment.

    Rescales each row of ``probs_u`` by ``(p_target + eps) / (p_model + eps)``
    and renormalises it, pulling the unlabeled predictions towards the class
    distribution the model predicts on labeled rows.
    """
    aligned = probs_u * (p_target + eps) / (p_model + eps)
    return aligned / aligned.sum(dim=1, keepdim=True)


def relative_threshold(probs_l: torch.Tensor, p_cutoff: float) -> torch.Tensor:
    """AdaMatch's relative confidence threshold: ``p_cutoff * mean_i max_k p_l[i, k]``.

    ``probs_l`` are the *un-aligned* main-head probabilities on the weak views
    of the labeled batch.
    """
    return p_cutoff * probs_l.max(dim=1).values.mean()


def pseudo_label_mask(
    probs: torch.Tensor, threshold: torch.Tensor | float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard pseudo-labels and the mask of rows confident enough to use.

    Returns ``(mask, labels)`` with ``mask[i] = 1.0`` where
    ``max_k probs[i, k] >= threshold`` and ``labels = argmax_k probs``.
    """
    conf, labels = probs.max(dim=1)
    return (conf >= threshold).to(probs.dtype), labels


def consistency_loss(logits_strong: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked cross-entropy on strong views (the paper's L_u).

    Averaged over the *whole* unlabeled batch, masked rows included, as the
    reference code does: ``sum_i mask_i * CE_i / n``.
    """
    per_row = F.cross_entropy(logits_strong, labels, reduction="none")
    return (per_row * mask).mean()


def alpha_schedule(step: int, total_steps: int, kind: str = "linear") -> float:
    """Weight of the auxiliary distillation loss at optimizer step ``step`` of stage 2.

    ``'linear'`` rises from 0 at the first step to 1 at the last:
    ``step / (total_steps - 1)`` (1.0 when there is a single step).
    ``'constant'`` is always 1 (the paper's ablation).
    """
    if kind == "constant":
        return 1.0
    if kind != "linear":
        raise ValueError(f"kd_schedule must be 'linear' or 'constant', got {kind!r}.")
    if total_steps <= 1:
        return 1.0
    return min(max(step / (total_steps - 1), 0.0), 1.0)


def cosine_lr_factor(step: int, total_steps: int, warmup_steps: int = 0) -> float:
    """Learning-rate multiplier of the reference schedule.

    Linear warm-up over ``warmup_steps``, then ``cos(7 pi / 16 * progress)``
    where progress runs from 0 to 1 over the remaining steps, so the rate
    decays to ``cos(7 pi / 16) ~ 0.195`` of its peak rather than to zero.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min((step - warmup_steps) / span, 1.0)
    return math.cos(7.0 * math.pi / 16.0 * progress)
