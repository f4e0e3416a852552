"""skorch callbacks for ZeroMatch's two-stage training.

Pass them to :class:`zeromatch_sk.ZeroMatchClassifier` through
``callbacks=[...]``; they fire on the classifier's skorch net (``net_``).

- :class:`TwoStageEarlyStopping` ends each stage once it stops changing the
  student, from signals that need no labels (agreement with the teacher in
  stage 1, prediction churn in stage 2);
- :class:`FitProgressBar` shows one progress bar over the whole fit
  (``verbose=1`` adds it for you).

skorch's own ``EarlyStopping``, ``EpochScoring``/``BatchScoring``,
``LRScheduler`` and ``ProgressBar(batches_per_epoch='auto')`` assume a
one-stage loop over a skorch dataset with a validation split; the net
refuses them at ``fit`` and names what to use instead. Every other skorch
callback works, in both stages. Per-batch values in ``net_.history`` (the
loss terms) are written at the end of each epoch, so the loop reads the
device once per epoch rather than once per step.
"""

from ._callbacks import FitProgressBar, TwoStageEarlyStopping

__all__ = ["FitProgressBar", "TwoStageEarlyStopping"]
