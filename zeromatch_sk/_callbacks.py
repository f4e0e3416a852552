"""skorch callbacks that know ZeroMatch's two stages (public in :mod:`zeromatch_sk.callbacks`).

They work with :class:`zeromatch_sk._training.ZeroMatchNet` only: they read
the stage it is in (``net.stage_``), the steps it plans (``net.planned_steps_``)
and end a stage through ``net.stop_stage()``.
"""

from __future__ import annotations

import numpy as np
from skorch.callbacks import Callback

__all__ = ["FitProgressBar", "TwoStageEarlyStopping"]


def _require_zeromatch_net(net, name: str) -> None:
    if not hasattr(net, "stop_stage"):
        raise TypeError(
            f"{name} drives ZeroMatch's two-stage loop and needs a ZeroMatchNet (ZeroMatchClassifier's net_), "
            f"got {type(net).__name__}; pass it in ZeroMatchClassifier(callbacks=[{name}()])."
        )


class TwoStageEarlyStopping(Callback):
    """End each training stage once it stops changing the student, using no labels.

    Stage 1 (distillation) ends when the student's agreement with the
    teacher on the stage-1 hold-out (history key ``kd_agreement``) has not
    improved by more than ``agreement_tol`` for ``patience`` epochs; the best
    stage-1 checkpoint is kept as usual. Stage 2 ends when the fraction of
    training rows whose predicted class changed since the previous epoch
    (the *prediction churn*) stays at or below ``churn_tol`` for ``patience``
    epochs in a row, and not before ``min_fraction`` of the stage's epochs
    have run. Neither signal reads a label, so no rows need to be set aside.

    Stopping a stage ends it where it is: the learning-rate decay and the
    distillation-weight ramp of stage 2 are defined over the full
    ``max_epochs``, so a stopped run ends at a higher learning rate and a
    lower distillation weight than a full one.

    Parameters
    ----------
    patience : int, default=5
        Epochs without progress before a stage ends.
    agreement_tol : float, default=1e-3
        Smallest gain in hold-out teacher agreement that counts as progress
        in stage 1.
    churn_tol : float, default=0.01
        Stage 2 counts an epoch as settled when at most this fraction of
        the training rows changed predicted class.
    min_fraction : float, default=0.25
        Stage 2 never ends before this fraction of its epochs ran.

    Attributes
    ----------
    churn_ : list of float
        Prediction churn after each stage-2 epoch (NaN after the first).
    stopped_ : dict
        ``{stage: epoch}`` for each stage this callback ended (epoch numbers
        as in the net's history); a stage that ran its full budget is absent.

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.callbacks import TwoStageEarlyStopping
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 5)) + np.repeat([[0.0], [3.0]], 150, axis=0)
    >>> y = np.full(300, -1); y[:10], y[150:160] = 0, 1
    >>> stop = TwoStageEarlyStopping(patience=2)
    >>> clf = ZeroMatchClassifier(max_epochs=40, steps_per_epoch=5, callbacks=[stop], random_state=0)
    >>> clf = clf.fit(X, y)
    >>> len(clf.history_) < 40
    True
    """

    def __init__(self, patience=5, agreement_tol=1e-3, churn_tol=0.01, min_fraction=0.25):
        self.patience = patience
        self.agreement_tol = agreement_tol
        self.churn_tol = churn_tol
        self.min_fraction = min_fraction

    def initialize(self):
        if not (isinstance(self.patience, (int, np.integer)) and self.patience >= 1):
            raise ValueError(f"TwoStageEarlyStopping(patience={self.patience!r}): pass an integer >= 1.")
        for name in ("agreement_tol", "churn_tol", "min_fraction"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value <= 1):
                raise ValueError(f"TwoStageEarlyStopping({name}={value!r}): pass a number in [0, 1].")
        self.churn_, self.stopped_ = [], {}
        self.stage_run_, self.best_, self.waited_, self.previous_ = None, -np.inf, 0, None
        return self

    def on_train_begin(self, net, **kwargs):
        _require_zeromatch_net(net, type(self).__name__)
        self.initialize()

    def on_epoch_end(self, net, **kwargs):
        if net.stage_run_ != self.stage_run_:  # a new stage (or stage 2 run again by the drift guard)
            self.stage_run_, self.best_, self.waited_, self.previous_ = net.stage_run_, -np.inf, 0, None
        if net.stage_ == 1:
            progressed = self._stage1_progress(net)
        else:
            progressed = self._stage2_progress(net)
        self.waited_ = 0 if progressed else self.waited_ + 1
        if self.waited_ >= self.patience:
            self.stopped_[net.stage_] = len(net.history)
            net.stop_stage()

    def _stage1_progress(self, net) -> bool:
        score = net.history[-1, "kd_agreement"]
        if score > self.best_ + self.agreement_tol:
            self.best_ = score
            return True
        return False

    def _stage2_progress(self, net) -> bool:
        predicted = net.fit_logits().argmax(dim=1)
        churn = (
            float("nan") if self.previous_ is None else float((predicted != self.previous_).float().mean())
        )
        self.previous_ = predicted
        self.churn_.append(churn)
        early = net.stage_epoch_ < self.min_fraction * net.stage_epochs_
        return early or not churn <= self.churn_tol  # NaN (first epoch) counts as progress

    def on_train_end(self, net, **kwargs):
        self.previous_ = None  # one prediction per training row: not kept with the fitted model


class FitProgressBar(Callback):
    """One progress bar over every optimizer step of the fit, both stages together.

    ``ZeroMatchClassifier(verbose=1)`` shows it; add it to ``callbacks`` to
    see it without the per-epoch table. The total is the planned number of
    steps; it shrinks when a stage ends early (stage 1 reaching its
    agreement target, or :class:`TwoStageEarlyStopping`) and grows when the
    drift guard runs stage 2 again.

    Parameters
    ----------
    leave : bool, default=True
        Keep the finished bar on screen.

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.callbacks import FitProgressBar
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)); y = np.full(60, -1); y[:5], y[5:10] = 0, 1
    >>> clf = ZeroMatchClassifier(max_epochs=2, steps_per_epoch=3, callbacks=[FitProgressBar(leave=False)])
    >>> clf = clf.fit(X, y)  # prints a bar to stderr: 6 steps in all
    """

    def __init__(self, leave=True):
        self.leave = leave

    def initialize(self):
        self.pbar_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        _require_zeromatch_net(net, type(self).__name__)
        self.initialize()

    def on_batch_end(self, net, **kwargs):
        from tqdm.auto import tqdm

        if self.pbar_ is None:
            self.pbar_ = tqdm(total=net.planned_steps_, leave=self.leave, unit="step", dynamic_ncols=True)
        if self.pbar_.total != net.planned_steps_:
            self.pbar_.total = net.planned_steps_
        self.pbar_.set_postfix_str(f"stage {net.stage_}", refresh=False)
        self.pbar_.update()

    def on_epoch_end(self, net, **kwargs):
        if self.pbar_ is not None and self.pbar_.total != net.planned_steps_:
            self.pbar_.total = net.planned_steps_
            self.pbar_.refresh()

    def on_train_end(self, net, **kwargs):
        if self.pbar_ is not None:
            self.pbar_.close()
        self.pbar_ = None

    def __getstate__(self):
        # tqdm bars do not pickle; a fitted classifier must.
        state = self.__dict__.copy()
        state["pbar_"] = None
        return state
