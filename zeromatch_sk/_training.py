"""The training loop: a skorch ``NeuralNet`` that runs ZeroMatch's two stages.

:class:`ZeroMatchNet` keeps skorch's machinery (callbacks, history, printing,
``KeyboardInterrupt`` handling, device placement) and replaces only what
ZeroMatch does differently:

- ``fit_loop`` runs stage 1 (distil the teacher into ``h`` and ``f``) and then
  stage 2 (AdaMatch plus auxiliary-head distillation), one skorch epoch at a
  time, so ``on_epoch_*`` and ``on_batch_*`` callbacks fire in both stages;
- batches are drawn by indexing whole tensors with precomputed index tensors:
  no ``Dataset.__getitem__``, no collation, no Python loop over rows;
- ``train_step_single`` computes the stage's loss from the pure functions in
  :mod:`zeromatch_sk._losses` and keeps every term on the device;
  ``run_single_epoch`` reads them all back once per epoch (no host
  synchronisation per step), writes them to the history and raises if the
  loss became non-finite.

skorch's contract holds: constructor parameters are never rebound during
``fit`` (the resolved settings live in ``plan_``), ``lr``, ``max_epochs``,
``batch_size`` and ``optimizer__*`` are honoured (``optimizer__param_groups``
is refused), and callbacks that assume skorch's one-stage loop are refused at
``fit`` with what to use instead (:mod:`zeromatch_sk.callbacks`).

The estimator (:class:`zeromatch_sk.ZeroMatchClassifier`) builds this net
inside ``fit``; users reach it as ``clf.net_``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping, LRScheduler, PrintLog, ProgressBar
from skorch.callbacks.scoring import ScoringBase

from ._callbacks import FitProgressBar
from ._config import autocast, get_config, grad_scaler
from ._losses import (
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

__all__ = ["TrainingPlan", "ZeroMatchNet", "holdout_size", "resolve_device"]

#: Stage 1 stops once the student agrees with the teacher this often on the hold-out.
KD_AGREEMENT_STOP = 0.9999
#: Per-epoch means recorded in the history (besides skorch's own train_loss and dur).
EPOCH_KEYS = ("loss_sup", "loss_unsup", "loss_kd", "mask_ratio", "alpha", "threshold", "lr")
#: Inference runs in chunks of this many rows (memory, not speed, bounds it).
PREDICT_CHUNK = 8192


def resolve_device(device) -> torch.device:
    """``'auto'`` becomes ``'cuda'`` when a GPU is visible, else ``'cpu'``; anything else goes to ``torch.device``."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; pass 'auto', 'cpu', 'cuda', 'cuda:1', 'mps', ..."
        ) from exc


#: skorch callbacks that assume skorch's own loop, and what to use instead.
_REFUSED_CALLBACKS = (
    (
        EarlyStopping,
        (
            "stops the whole fit at its first plateau (in stage 1 that skips stage 2), and its default "
            "monitor valid_loss needs a validation split ZeroMatch does not make. Use "
            "zeromatch_sk.callbacks.TwoStageEarlyStopping(), which ends each stage on its own, from no labels"
        ),
    ),
    (
        ScoringBase,
        (
            "scores skorch datasets batch by batch, but ZeroMatch draws its own batches (5 tensors in stage 2) "
            "and has no validation split. The history already holds kd_agreement (student vs teacher on the "
            "stage-1 hold-out) and every loss term per epoch; to score rows of your own each epoch, write a "
            "skorch Callback whose on_epoch_end calls net.predict_proba(X_val) and net.history.record(name, score)"
        ),
    ),
    (
        LRScheduler,
        (
            "would be overridden: ZeroMatch sets the learning rate at every step (linear warm-up over "
            "warmup_ratio of each stage, then cosine decay from lr). Tune lr and warmup_ratio instead"
        ),
    ),
)


def holdout_size(n_rows: int) -> int:
    """Rows held out to select the stage-1 checkpoint, as the reference code does.

    0 means "score agreement on all rows" (n <= 9,000); otherwise 20 % of the
    rows, or 10 % above 90,000.
    """
    if n_rows <= 9_000:
        return 0
    return round(n_rows * (0.2 if n_rows <= 90_000 else 0.1))


def stage2_steps_per_epoch(n_rows: int, batch_size: int, uratio: int, step_range: tuple[int, int]) -> int:
    """Optimizer steps of one stage-2 epoch when ``steps_per_epoch`` is None.

    One pass over the unlabeled stream, ``ceil(n_rows / (batch_size * uratio))``
    steps, or, when that is fewer, ``ceil(n_rows / batch_size)`` steps clipped to
    ``step_range``: small data get a budget that grows with them. With the
    defaults (batches of 64 and 192 rows, ``step_range=(5, 20)``) 200 rows train
    for 5 steps an epoch, 1,000 rows for 16, 1,280 to 3,840 rows for 20 and
    5,000 rows for 27.
    """
    low, high = step_range
    one_pass = math.ceil(n_rows / (batch_size * uratio))
    return max(one_pass, min(max(math.ceil(n_rows / batch_size), low), high))


@dataclass
class TrainingPlan:
    """Everything the loop needs to know about the algorithm, resolved by the estimator."""

    kd_epochs: int
    max_epochs: int
    batch_size: int
    uratio: int
    steps_per_epoch: int | None
    #: Smallest and largest stage-2 epoch, in steps, below one pass over the unlabeled stream (see
    #: ``stage2_steps_per_epoch``).
    small_data_steps: tuple[int, int]
    lr: float
    weight_decay: float
    warmup_ratio: float
    p_cutoff: float
    da_momentum: float
    lambda_u: float
    lambda_kd: float
    kd_schedule: str
    aux_head: bool
    kd_target: str
    weak_augment: Callable
    strong_augment: Callable
    seed: int
    #: Fixed distribution-alignment target (a class prior); None tracks the labeled batches (reference).
    da_target: torch.Tensor | None = None
    #: Added to the main head's logits in the supervised loss (logit adjustment); None adds nothing.
    sup_logit_offset: torch.Tensor | None = None
    #: The class prior the student's mean predicted shares are compared with after each stage-2 epoch
    #: (total variation, history key ``prior_drift``); None records no drift.
    drift_prior: torch.Tensor | None = None
    #: Above this drift at the end of stage 2 (with the consistency loss on), stage 2 is rerun from the
    #: stage-1 student with ``lambda_u = 0``; None never reruns.
    max_prior_drift: float | None = None


class ZeroMatchNet(NeuralNet):
    """skorch ``NeuralNet`` running ZeroMatch's stage 1 and stage 2.

    Parameters
    ----------
    module : ZeroMatchModule
        The student, already built.
    plan : TrainingPlan
        Algorithm settings.
    **kwargs
        Passed to :class:`skorch.NeuralNet` (``device``, ``callbacks``,
        ``verbose``, ...).

    Notes
    -----
    Call ``fit(X, y, teacher=T)`` with ``X`` a float32 tensor, ``y`` a long
    tensor of class indices with ``-1`` for unlabeled rows, and ``T`` either
    ``None`` (no teacher: plain AdaMatch) or an ``(n, n_classes)`` float tensor
    of teacher probabilities.
    """

    def __init__(self, module, *, plan: TrainingPlan, **kwargs):
        kwargs.setdefault("criterion", torch.nn.CrossEntropyLoss)
        kwargs.setdefault("optimizer", torch.optim.AdamW)
        kwargs.setdefault("train_split", None)
        kwargs.setdefault("predict_nonlinearity", "auto")
        # skorch's own lr, max_epochs and batch_size default to the plan's and win over it in fit.
        kwargs.setdefault("lr", plan.lr)
        kwargs.setdefault("max_epochs", plan.max_epochs)
        kwargs.setdefault("batch_size", plan.batch_size)
        super().__init__(module, **kwargs)
        self.plan = plan

    # ------------------------------------------------------------------ setup
    @property
    def _default_callbacks(self):
        callbacks = super()._default_callbacks
        if self.verbose:
            # The epoch table goes through tqdm.write so that it does not tear the progress bar.
            from tqdm.auto import tqdm

            callbacks = [(n, PrintLog(sink=tqdm.write) if n == "print_log" else cb) for n, cb in callbacks]
            callbacks.append(("fit_progress_bar", FitProgressBar()))
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        for name, cb in self.callbacks_:
            for kind, why in _REFUSED_CALLBACKS:
                if isinstance(cb, kind):
                    raise TypeError(f"callbacks: skorch's {type(cb).__name__} ({name!r}) {why}.")
            if isinstance(cb, ProgressBar) and cb.batches_per_epoch == "auto":
                raise ValueError(
                    "callbacks: skorch's ProgressBar(batches_per_epoch='auto') counts batches of a skorch "
                    "dataset and shows 0it here. Use verbose=1 or zeromatch_sk.callbacks.FitProgressBar() "
                    "for one bar over the whole fit, or ProgressBar(batches_per_epoch='count')."
                )
        return self

    def initialize_optimizer(self, triggered_directly=None):
        self.plan_ = self._resolve_plan()
        self.optimizer_ = self._make_optimizer(include_aux=False)
        return self

    def _optimizer_kwargs(self) -> dict:
        kwargs = self.get_params_for("optimizer")
        if "param_groups" in kwargs:
            raise ValueError(
                "optimizer__param_groups is not supported: ZeroMatchNet builds its own groups (no weight decay "
                "on biases; the auxiliary head joins in stage 2). Pass optimizer__weight_decay, optimizer__lr "
                "or other optimizer__* settings instead."
            )
        return kwargs

    def _resolve_plan(self) -> TrainingPlan:
        """The plan with skorch's ``lr``/``max_epochs``/``batch_size`` and ``optimizer__lr/weight_decay``."""
        kwargs = self._optimizer_kwargs()
        return dataclasses.replace(
            self.plan,
            lr=kwargs.get("lr", self.lr),
            weight_decay=kwargs.get("weight_decay", self.plan.weight_decay),
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
        )

    def _make_optimizer(self, include_aux: bool) -> torch.optim.Optimizer:
        # AdamW without weight decay on biases and other 1-D parameters, as in the reference.
        decay, no_decay = [], []
        for name, param in self.module_.named_parameters():
            if not param.requires_grad or (name.startswith("aux_head.") and not include_aux):
                continue
            (decay if param.ndim > 1 else no_decay).append(param)
        groups = [
            {"params": decay, "weight_decay": self.plan_.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        kwargs = {k: v for k, v in self._optimizer_kwargs().items() if k not in ("lr", "weight_decay")}
        if self.optimizer is torch.optim.AdamW and not {"fused", "foreach"} & kwargs.keys():
            # One fused kernel per step instead of a Python loop over parameters.
            kwargs["fused"] = True
        return self.optimizer(groups, lr=self.plan_.lr, **kwargs)

    # -------------------------------------------------------------- inference
    def get_dataset(self, X, y=None):
        # Prediction: keep the tensor as is; batches are slices of it.
        if isinstance(X, torch.Tensor):
            return X
        return torch.as_tensor(np.asarray(X, dtype=np.float32))

    def get_iterator(self, dataset, training=False):
        if training:
            raise RuntimeError("ZeroMatchNet draws training batches itself; call fit(X, y, teacher=...).")
        # (X, None) pairs: skorch's unpack_data splits each batch into X and y.
        return [(dataset[i : i + PREDICT_CHUNK], None) for i in range(0, len(dataset), PREDICT_CHUNK)]

    # --------------------------------------------------------------- training
    def fit_loop(self, X, y=None, epochs=None, *, teacher=None, _routing_method="fit", **fit_params):
        plan = self._resolve_plan()
        device = X.device
        # The class-prior tensors live on the training device for the whole fit (no copy per step).
        tensors = {k: getattr(plan, k) for k in ("da_target", "sup_logit_offset", "drift_prior")}
        self.plan_ = dataclasses.replace(
            plan,
            max_epochs=plan.max_epochs if epochs is None else epochs,
            **{k: v.to(device) for k, v in tensors.items() if v is not None},
        )
        self.generator_ = torch.Generator(device=device).manual_seed(plan.seed)
        # zeromatch_sk.set_config(precision=...), read once so a fit never changes precision half-way.
        self.precision_ = get_config()["precision"]
        self.grad_scaler_ = grad_scaler(device, self.precision_)
        self.fit_X_, self.fit_logits_, self._fit_logits_key_, self.stage_run_ = X, None, None, 0
        try:
            self._two_stages(X, y, teacher)
        finally:
            # The training rows and their logits do not stay on the fitted net (nor in its pickle).
            self.fit_X_ = self.fit_logits_ = self.batch_terms_ = self.grad_scaler_ = None
        return self

    def _two_stages(self, X, y, teacher):
        plan = self.plan_
        n = len(X)
        labeled = torch.nonzero(y >= 0).flatten()
        kd_targets = teacher_labels = None
        if teacher is not None:
            kd_targets = teacher if plan.kd_target == "soft" else teacher.argmax(dim=1)
            teacher_labels = teacher.argmax(dim=1)

        # Stage-1 hold-out: agreement with the teacher, never true labels, selects the checkpoint.
        n_hold = holdout_size(n)
        order = torch.randperm(n, generator=self.generator_, device=X.device)
        hold = order[:n_hold] if n_hold else order
        kd_train = order[n_hold:] if n_hold else order
        self.holdout_indices_ = hold

        runs1 = teacher is not None and plan.kd_epochs > 0
        runs2 = plan.max_epochs > 0 and len(labeled) > 0
        self.planned_steps_ = (self._stage1_steps(len(kd_train)) * plan.kd_epochs if runs1 else 0) + (
            self._stage2_steps(n) * plan.max_epochs if runs2 else 0
        )
        # Set before training, so a callback ending the fit early (KeyboardInterrupt) leaves them defined.
        self.prior_drift_, self.drift_fallback_, self.kd_agreement_ = float("nan"), False, float("nan")
        if runs1:
            self._run_stage1(X, kd_targets, teacher_labels, kd_train, hold)
        if runs2:
            teacher_eval = (teacher_labels, hold) if teacher is not None else None
            guarded = plan.max_prior_drift is not None and plan.drift_prior is not None and plan.lambda_u > 0
            start = copy.deepcopy(self.module_.state_dict()) if guarded else None
            self._run_stage2(X, y, kd_targets, labeled, teacher_eval)
            if plan.drift_prior is not None:
                self.prior_drift_ = self.history[-1, "prior_drift"]  # scored at the end of the last epoch
            if guarded and self.prior_drift_ > plan.max_prior_drift:
                # The consistency loss fed on its own pseudo-labels and moved the predicted class balance
                # away from the prior: start stage 2 again from the stage-1 student, without that loss.
                self.drift_fallback_ = True
                self.module_.load_state_dict(start)
                self.plan_ = dataclasses.replace(plan, lambda_u=0.0)
                self.planned_steps_ += self._stage2_steps(n) * plan.max_epochs
                self._run_stage2(X, y, kd_targets, labeled, teacher_eval)

    def _stage1_steps(self, n_train: int) -> int:
        return math.ceil(n_train / (self.plan_.batch_size * (1 + self.plan_.uratio)))

    def _stage2_steps(self, n: int) -> int:
        plan = self.plan_
        return plan.steps_per_epoch or stage2_steps_per_epoch(
            n, plan.batch_size, plan.uratio, plan.small_data_steps
        )

    def _begin_stage(self, stage: int, epochs: int, steps: int) -> None:
        self.stage_, self.stage_run_ = stage, self.stage_run_ + 1
        self.stage_epoch_, self.stage_epochs_, self.stage_stop_ = 0, epochs, False
        self.total_steps_, self.step_ = steps * epochs, 0

    def _end_stage(self) -> None:
        # A stage that ended early gives its unused steps back to the fit's total (progress bar).
        self.planned_steps_ -= self.total_steps_ - self.step_

    def stop_stage(self) -> None:
        """End the current stage after this epoch; for callbacks such as ``TwoStageEarlyStopping``.

        Stage 1 still loads its best checkpoint; stopping stage 2 ends the fit.
        """
        self.stage_stop_ = True

    def fit_logits(self) -> torch.Tensor:
        """The student's logits on every training row after the latest step, computed once per epoch.

        Only available during ``fit`` (for callbacks); the rows are not kept afterwards.
        """
        if self.fit_X_ is None:
            raise RuntimeError("fit_logits() is only available during fit, to callbacks.")
        key = (self.stage_run_, self.step_)
        if self._fit_logits_key_ != key:
            self.fit_logits_, self._fit_logits_key_ = self._predict_logits(self.fit_X_), key
        return self.fit_logits_

    def _agreement(self, X, teacher_labels, rows) -> float:
        pred = self._predict_logits(X[rows]).argmax(dim=1)
        return float((pred == teacher_labels[rows]).float().mean())

    def _predict_logits(self, X):
        self.module_.eval()
        with torch.no_grad():
            out = torch.cat([self.module_(X[i : i + PREDICT_CHUNK]) for i in range(0, len(X), PREDICT_CHUNK)])
        return out

    def _run_epoch(self, batches, stage: int, extra: dict[str, Any]):
        """One skorch epoch: notify callbacks, step through ``batches``, record epoch means."""
        self.stage_epoch_ += 1
        self.notify("on_epoch_begin", dataset_train=None, dataset_valid=None)
        self.history.record("stage", stage)
        self.run_single_epoch(batches, training=True, prefix="train", step_fn=self.train_step)
        row = self.history[-1]
        sizes = np.array([b["train_batch_size"] for b in row["batches"]], dtype=float)
        # Every epoch records every key (NaN where a stage has no such term), so
        # the printed table and history_[:, key] keep one column per quantity.
        for key in EPOCH_KEYS:
            values = [b[key] for b in row["batches"] if key in b]
            mean = float(np.average(values, weights=sizes[: len(values)])) if values else float("nan")
            self.history.record(key, mean)
        for key, value in extra.items():
            self.history.record(key, value() if callable(value) else value)
        for key in ("kd_agreement", "prior_drift"):
            if key not in extra:
                self.history.record(key, float("nan"))
        self.notify("on_epoch_end", dataset_train=None, dataset_valid=None)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch, with every per-batch value kept on the device until the epoch ends."""
        if iterator is None:
            return
        losses, terms = [], []
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            self.batch_terms_ = {}
            step = step_fn(batch, **fit_params)
            losses.append(step["loss"].detach())
            terms.append(self.batch_terms_)
            self.history.record_batch(prefix + "_batch_size", len(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
        self.history.record(prefix + "_batch_count", len(losses))
        self._record_batch_terms(prefix, losses, terms)

    def _record_batch_terms(self, prefix, losses, terms):
        """Read the epoch's per-batch values off the device in one transfer; raise if the loss is not finite."""
        if not losses:
            return
        keyed = [(i, k) for i, t in enumerate(terms) for k, v in t.items() if isinstance(v, torch.Tensor)]
        flat = losses + [terms[i][k] for i, k in keyed]
        # float64 holds every float32 value exactly: the history gets the same numbers .item() gave.
        values = torch.stack([v.reshape(()).to(torch.float64) for v in flat]).tolist()
        batches = self.history[-1]["batches"]
        for i, t in enumerate(terms):
            batches[i].update({k: v for k, v in t.items() if not isinstance(v, torch.Tensor)})
            batches[i][prefix + "_loss"] = values[i]
        for (i, k), value in zip(keyed, values[len(losses) :]):
            batches[i][k] = value
        bad = [i for i, v in enumerate(values[: len(losses)]) if not math.isfinite(v)]
        if bad:
            raise FloatingPointError(
                f"The training loss became {values[bad[0]]} at step {bad[0] + 1} of epoch {len(self.history)} "
                f"(stage {self.stage_}): training diverged and the student would predict NaN. Lower lr (now "
                f"{self.plan_.lr:g}; try {self.plan_.lr / 10:g}), check that X is finite and of moderate scale "
                "(e.g. StandardScaler first), and that a custom module returns finite outputs."
            )

    def _run_stage1(self, X, kd_targets, teacher_labels, train_rows, hold):
        plan = self.plan_
        self.optimizer_ = self._make_optimizer(include_aux=False)
        batch = plan.batch_size * (1 + plan.uratio)
        self._begin_stage(1, plan.kd_epochs, self._stage1_steps(len(train_rows)))
        best, best_state = -1.0, None
        for _ in range(plan.kd_epochs):
            perm = train_rows[torch.randperm(len(train_rows), generator=self.generator_, device=X.device)]
            batches = ((X[idx], kd_targets[idx]) for idx in perm.split(batch))
            agreement = {}

            def kd_agreement(agreement=agreement):
                # Called once, when this epoch's steps are done: scores the student they produced.
                return agreement.setdefault("v", self._agreement(X, teacher_labels, hold))

            self._run_epoch(batches, 1, {"kd_agreement": kd_agreement})
            score = agreement["v"]
            if score > best:
                best, best_state = score, copy.deepcopy(self.module_.state_dict())
            if score > KD_AGREEMENT_STOP or self.stage_stop_:
                break
        self._end_stage()
        if best_state is not None:
            self.module_.load_state_dict(best_state)
        self.kd_agreement_ = best

    def _run_stage2(self, X, y, kd_targets, labeled, teacher_eval):
        plan = self.plan_
        self.optimizer_ = self._make_optimizer(include_aux=True)
        B, U = plan.batch_size, plan.batch_size * plan.uratio
        n = len(X)
        steps = self._stage2_steps(n)
        self._begin_stage(2, plan.max_epochs, steps)
        self.p_model_, self.p_target_ = None, None
        extra = {}
        if teacher_eval is not None:
            labels, hold = teacher_eval
            extra["kd_agreement"] = lambda: self._agreement(X, labels, hold)
        if plan.drift_prior is not None:
            extra["prior_drift"] = lambda: class_share_drift(self.fit_logits(), plan.drift_prior)
        for _ in range(plan.max_epochs):
            lab = labeled[self._cycled_permutation(len(labeled), steps * B, X.device)].view(steps, B)
            # The unlabeled stream holds every training row, labeled ones included (reference code).
            ulb = self._cycled_permutation(n, steps * U, X.device).view(steps, U)
            batches = self._stage2_batches(X, y, kd_targets, lab, ulb)
            self._run_epoch(batches, 2, extra)
            if self.stage_stop_:
                break
        self._end_stage()

    @staticmethod
    def _stage2_batches(X, y, kd_targets, lab, ulb):
        for li, ui in zip(lab, ulb):
            t_l = kd_targets[li] if kd_targets is not None else None
            t_u = kd_targets[ui] if kd_targets is not None else None
            yield X[li], y[li], t_l, X[ui], t_u

    def _cycled_permutation(self, n: int, count: int, device) -> torch.Tensor:
        """``count`` indices into ``range(n)``: back-to-back random permutations, drawn in one call."""
        reps = math.ceil(count / n)
        keys = torch.rand((reps, n), generator=self.generator_, device=device)
        return keys.argsort(dim=1).flatten()[:count]

    def _set_lr(self) -> float:
        plan = self.plan_
        warmup = int(plan.warmup_ratio * self.total_steps_)
        lr = plan.lr * cosine_lr_factor(self.step_, self.total_steps_, warmup)
        for group in self.optimizer_.param_groups:
            group["lr"] = lr
        return lr

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        lr = self._set_lr()
        # set_config(precision='bf16' or 'fp16'): forwards in half precision, weights and losses float32.
        with autocast(torch.device(self.device), self.precision_):
            step = self._stage1_step(batch) if self.stage_ == 1 else self._stage2_step(batch)
        scaler = self.grad_scaler_
        (step["loss"] if scaler is None else scaler.scale(step["loss"])).backward()
        self.batch_terms_["lr"] = lr
        self.step_ += 1
        return step

    def _step_optimizer(self, step_fn):
        if self.grad_scaler_ is None:
            return super()._step_optimizer(step_fn)
        # fp16: gradients come scaled; the scaler unscales them and skips a step that overflowed.
        step_fn()
        for name in self._optimizers:
            self.grad_scaler_.step(getattr(self, name + "_"))
        self.grad_scaler_.update()
        return None

    def _stage1_step(self, batch):
        x, target = batch
        logits = self.module_(self.plan_.weak_augment(x, self.generator_)).float()  # losses in float32
        loss = distillation_loss(logits, target)
        self.batch_terms_["loss_kd"] = loss.detach()
        return {"loss": loss, "y_pred": logits}

    def _stage2_step(self, batch):
        plan, module, gen = self.plan_, self.module_, self.generator_
        x_l, y_l, t_l, x_u, t_u = batch
        B, U = len(x_l), len(x_u)
        use_u = plan.lambda_u > 0
        views = [plan.weak_augment(x_l, gen), plan.weak_augment(x_u, gen)]
        # A strong view that needs the pseudo-labels (class-balanced SCARF) waits for the weak forward;
        # any other goes into the same forward as the weak views.
        late_strong = use_u and getattr(plan.strong_augment, "uses_labels", False)
        if use_u and not late_strong:
            views.append(plan.strong_augment(x_u, gen))
        z = module.encode(torch.cat(views))  # one forward for all views
        logits = module.head(z).float()  # the losses and the alignment in float32 under bf16 autocast
        logits_l, logits_uw = logits[:B], logits[B : B + U]

        offset = plan.sup_logit_offset
        loss_sup = supervised_loss(logits_l, y_l, None if offset is None else offset.to(logits_l))
        loss = loss_sup
        # Tensors, not floats: run_single_epoch reads them all at once when the epoch ends.
        record = {"loss_sup": loss_sup.detach()}

        if use_u:
            with torch.no_grad():
                probs_l = F.softmax(logits_l, dim=1)
                probs_u = F.softmax(logits_uw, dim=1)
                self.p_model_ = ema_update(self.p_model_, probs_u.mean(dim=0), plan.da_momentum)
                if plan.da_target is not None:
                    self.p_target_ = plan.da_target.to(probs_u)
                else:
                    if self.p_target_ is None:
                        self.p_target_ = torch.full_like(probs_l[0], 1.0 / probs_l.shape[1])
                    self.p_target_ = ema_update(self.p_target_, probs_l.mean(dim=0), plan.da_momentum)
                aligned = align_distribution(probs_u, self.p_target_, self.p_model_)
                tau = relative_threshold(probs_l, plan.p_cutoff)
                mask, pseudo = pseudo_label_mask(aligned, tau)
            if late_strong:
                logits_us = module.head(module.encode(plan.strong_augment(x_u, gen, labels=pseudo))).float()
            else:
                logits_us = logits[B + U :]
            loss_unsup = consistency_loss(logits_us, pseudo, mask)
            loss = loss + plan.lambda_u * loss_unsup
            record.update(loss_unsup=loss_unsup.detach(), mask_ratio=mask.mean(), threshold=tau.detach())

        if t_l is not None and plan.lambda_kd > 0:
            alpha = alpha_schedule(self.step_, self.total_steps_, plan.kd_schedule)
            # The auxiliary head g reads the same encoder output; its gradient still shapes h.
            kd_logits = module.aux_head(z[: B + U]).float() if plan.aux_head else logits[: B + U]
            loss_kd = distillation_loss(kd_logits, torch.cat([t_l, t_u]))
            loss = loss + plan.lambda_kd * alpha * loss_kd
            record.update(loss_kd=loss_kd.detach(), alpha=alpha)

        self.batch_terms_.update(record)
        return {"loss": loss, "y_pred": logits_l}
