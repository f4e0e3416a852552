"""ZeroMatchClassifier: the scikit-learn estimator."""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, check_is_fitted, column_or_1d, validate_data

from . import _robust
from ._modules import MLPEncoder, ZeroMatchModule, encoder_output_dim
from ._training import TrainingPlan, ZeroMatchNet, resolve_device
from .augment import GaussianNoise, Scarf, resolve_augmentation
from .providers._base import TeacherError, check_teacher_proba, teacher_predict_proba

__all__ = ["REFERENCE_PARAMS", "ZeroMatchClassifier"]

#: Parameters that turn every robustness defence off: the published ZeroMatch,
#: ``ZeroMatchClassifier(**REFERENCE_PARAMS)``.
REFERENCE_PARAMS = {
    "label_sampling": "random",
    "teacher_calibration": "none",
    "da_target": "labeled",
    "prior_correction": "none",
    "teacher_gate": "never",
    "min_class_labels": 0,
    "strong_augment": "scarf",
    "max_prior_drift": None,
}

UNLABELED = -1
#: ``strong_augment='auto'`` swaps SCARF for Gaussian noise below this normalised entropy of ``class_prior_``
#: (true priors: 1:4 binary 0.72, 1:9 0.47, AG News' four topics 1.0, TREC's six question types 0.92. Estimates
#: from balanced label draws: TREC 0.93-0.96 on the main benchmark (studies/view_choice.py), AG News 1:9
#: 0.74-0.86 on validation slices of its robustness case).
SKEWED_PRIOR_ENTROPY = 0.9
#: Each stage-2 epoch has at least this many optimizer steps, so small data still trains.
MIN_STEPS_PER_EPOCH = 20


def _is_unlabeled(y: np.ndarray) -> np.ndarray:
    """Boolean mask of rows whose label is the integer -1 (also inside object arrays)."""
    if y.dtype == object:
        return np.fromiter(
            (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v == UNLABELED for v in y),
            dtype=bool,
            count=len(y),
        )
    return y == UNLABELED


def _teacher_warning(stats, versus: str, action: str) -> str:
    """The warning about a weak teacher: what it scored on the labeled rows, against what (``versus``:
    ``'labels'``, ``'chance'`` or ``'majority'``), and ``action``."""
    if versus == "labels":
        why = (
            f"{-stats.diff:.0%} below a logistic regression on the labeled rows alone "
            f"({stats.labels:.0%}, paired standard error {stats.diff_se:.0%})"
        )
    elif versus == "chance":
        why = f"no better than guessing ({stats.chance:.0%})"
    else:
        why = f"no better than guessing or predicting the majority class ({stats.reference:.0%})"
    return (
        f"The teacher is right on {stats.teacher:.0%} of the {stats.n} labeled rows (calibrated, "
        f"leave-one-out: {stats.teacher_calibrated:.0%}), {why}. {action}"
    )


class ZeroMatchClassifier(ClassifierMixin, BaseEstimator):
    """Semi-supervised classifier trained with zero-shot foundation-model pseudo-labels.

    ZeroMatch (Chung & Chen, TMLR 2026) trains a compact student network from
    three sources at once: the few labeled rows, the many unlabeled rows
    (``y == -1``, scikit-learn's semi-supervised convention), and the
    zero-shot pseudo-labels of a foundation model (the *teacher*).

    - **Stage 1** distils the teacher into the student: cross-entropy against
      the teacher's labels on all rows; the checkpoint that agrees most with
      the teacher on a held-out slice of training rows is kept.
    - **Stage 2** runs AdaMatch (supervised loss, distribution alignment,
      relative confidence threshold, consistency between weak and strong
      views) while an auxiliary head keeps distilling the teacher with a
      weight ramped from 0 to 1.

    The student is an MLP encoder (or any torch module you give) with a main
    head, used for prediction, and an auxiliary head. Training runs through a
    skorch net, ``net_``, so skorch callbacks work.

    Parameters
    ----------
    provider : object, callable or None, default=None
        The teacher: an object with ``predict_proba(X, classes)`` or a
        callable ``f(X, classes)`` returning an ``(n_samples, n_classes)``
        probability matrix with columns in the order of ``classes``. It is
        called once per ``fit`` on the training rows. See
        :mod:`zeromatch_sk.providers`. ``pseudo_labels`` passed to ``fit``
        take precedence. With neither, ZeroMatch reduces to plain AdaMatch.
    classes : array-like or None, default=None
        All classes the model should know. By default the classes of the
        labeled rows; pass this when the teacher knows classes that no
        labeled row has yet. Such classes are learned from the teacher in
        stage 1 only: stage 2's supervised loss and distribution alignment
        never see them, so they tend to fade out of the main head's
        predictions as stage 2 proceeds (use ``max_epochs=0`` or label a
        few rows of them).
    hidden_layer_sizes : tuple of int, default=(512,)
        Widths of the MLP encoder's ``Linear -> GELU -> Dropout`` blocks.
        Ignored when ``module`` is given.
    dropout : float, default=0.1
        Dropout after each encoder block.
    module : torch.nn.Module, callable or None, default=None
        Your own encoder, replacing the MLP. Either a module instance (copied
        at each fit, so every fit starts from the same weights) or a
        callable ``module(n_features) -> nn.Module``. It maps
        ``(batch, n_features)`` float32 tensors to ``(batch, width)``.
    kd_epochs : int, default=20
        Stage-1 budget: epochs of distillation over all training rows
        (batches of ``batch_size * (1 + uratio)`` rows). 0 skips stage 1.
    max_epochs : int, default=60
        Stage-2 budget in epochs. An epoch is ``steps_per_epoch`` optimizer
        steps. 0 skips stage 2 (the student then only imitates the teacher).
    batch_size : int, default=64
        Labeled rows per stage-2 step (``B`` in the paper).
    uratio : int, default=3
        Unlabeled rows per labeled row in a stage-2 step (``mu``).
    steps_per_epoch : int or None, default=None
        Optimizer steps per stage-2 epoch. ``None`` takes one pass over the
        unlabeled stream (``ceil(n_samples / (batch_size * uratio))``), but
        at least 20 steps.
    lr : float, default=1e-3
        Peak learning rate of AdamW in both stages.
    weight_decay : float, default=1e-4
        AdamW weight decay (never applied to biases and other 1-D parameters).
    warmup_ratio : float, default=0.0
        Fraction of each stage's steps spent in linear learning-rate warm-up
        before the cosine decay ``cos(7 pi / 16 * progress)``.
    p_cutoff : float, default=0.95
        AdamMatch relative threshold: an unlabeled row's pseudo-label is used
        when its confidence reaches ``p_cutoff`` times the mean confidence on
        the labeled batch.
    da_momentum : float, default=0.999
        Momentum of the running class distributions used for distribution
        alignment.
    da_target : {'auto', 'labeled'} or array-like of shape (n_classes,), default='auto'
        Target class distribution of distribution alignment. ``'labeled'``
        tracks the student's predictions on the labeled batches, as AdaMatch
        does; that assumes the labeled rows have the class balance of the
        unlabeled ones. ``'auto'`` uses the fixed ``class_prior_`` when the
        labels were drawn class-balanced (``label_sampling_ == 'balanced'``)
        or ``class_prior`` was given, and ``'labeled'`` otherwise. An array
        is used as given (in the order of ``classes_``).
    label_sampling : {'auto', 'balanced', 'random'}, default='auto'
        How the labeled rows were drawn. ``'balanced'``: a fixed number per
        class, so their class frequencies say nothing about the unlabeled
        rows'. ``'random'``: uniformly at random, so they estimate them.
        ``'auto'`` infers ``'balanced'`` when every class has the same number
        of labeled rows (up to one), else ``'random'``.
    class_prior : 'auto', 'uniform' or array-like of shape (n_classes,), default='auto'
        Class prior of the unlabeled rows, when you know it. ``'auto'``
        estimates it: by EM on the calibrated teacher (Saerens et al., 2002)
        when labels were drawn class-balanced and the teacher passed the
        gate, otherwise from the labeled rows' class frequencies (uniform
        when balanced without a usable teacher). ``'uniform'``: every class
        equally often; pass it when you know the classes are roughly
        balanced, because with ten labels per class the EM estimate can be
        far off (on one of ten draws of balanced AG News it put 48 % of the
        rows in one class and cost 15 points; see the robustness docs).
        Stored in ``class_prior_``.
    prior_correction : {'loss', 'posthoc', 'none'}, default='loss'
        How the student is moved from the labeled rows' class prior to
        ``class_prior_`` (a no-op when the two agree, as with random
        sampling). ``'loss'``: logit-adjusted supervised loss in stage 2, so
        the main head predicts under ``class_prior_`` and pseudo-labels on
        unlabeled rows agree with it. ``'posthoc'``: train as the reference
        does, shift ``predict_proba`` afterwards. ``'none'``: the reference
        method.
    teacher_calibration : {'auto', 'bias+scale', 'bias', 'none'}, default='auto'
        Calibrate the teacher on the labeled rows before training:
        ``softmax(s * log P + b)`` with a per-class bias ``b`` and (with
        ``'bias+scale'``) one inverse temperature ``s``, penalised towards no
        change by ``calibration_reg``. The calibrated teacher, moved to
        ``class_prior_``, is what the student distils, and it is what the
        class prior is estimated from. ``'auto'``: ``'bias'`` when the
        labels were drawn class-balanced, ``'none'`` when at random (where
        the benchmark found calibration harmful). One-hot teachers (hard
        labels) are never calibrated. The resolved value is in
        ``teacher_calibration_``.
    calibration_reg : float or 'auto', default='auto'
        L2 penalty of the teacher calibration (larger: closer to the raw
        teacher). ``'auto'`` picks it from ``(0.125, ..., 16)`` by the
        leave-one-out log-likelihood of the labeled rows
        (:func:`~zeromatch_sk._robust.select_calibration_reg`): a teacher
        that is already calibrated is left nearly alone, one that prefers
        some classes is moved. The value used is in ``calibration_reg_``.
    teacher_gate : {'chance', 'majority', 'labels', 'never'}, default='chance'
        When to train without the teacher. ``'chance'``: when its
        calibrated leave-one-out accuracy on the labeled rows is below
        guessing (``1 / n_classes``) plus ``gate_z`` standard errors (with
        the default ``gate_z=0``: below guessing), which catches a teacher
        with no or inverted information (a wrong class order, a broken
        prompt). ``'majority'``: below the chance-or-majority level instead
        (stricter when the labeled rows are dominated by one class; on the
        benchmark it dropped teachers that were worse than the majority
        class and still worth keeping, ``docs/robustness.rst``).
        ``'labels'``: when it is below a logistic regression on the labeled
        rows alone by ``gate_z`` standard errors of the paired difference.
        ``'never'``: always use it (the reference). A dropped teacher makes
        the fit plain AdaMatch, with a warning; a kept teacher below the
        chance-or-majority level also warns.
    gate_z : float, default=0.0
        Margin of ``teacher_gate``, in standard errors. Larger values drop
        more teachers; with 20 labels one standard error is about 11 points
        of accuracy, and the benchmark measured that a margin of 1 dropped
        teachers worth keeping (``docs/robustness.rst``).
    lambda_u : float, default=1.0
        Weight of the consistency loss on unlabeled rows. 0 turns off the
        semi-supervised loss.
    min_class_labels : int, default=10
        When labels were drawn at random (``label_sampling_ == 'random'``),
        the class balance is skewed (normalised entropy of ``class_prior_``,
        or of the calibrated teacher's class shares ``teacher_prior_``,
        below ``SKEWED_PRIOR_ENTROPY`` = 0.9) and some class has fewer
        labeled rows than this, stage 2 runs without the consistency loss
        (``lambda_u_ = 0``), with a warning: a handful of labels cannot
        anchor a rare class's pseudo-labels, and the measured result was a
        student worse than a supervised fit. 0 never switches the loss off
        (the published method).
    max_prior_drift : float or None, default=None
        Opt-in guard against confirmation bias in the consistency loss.
        After stage 2, the student's mean predicted class shares on the
        training rows are compared with ``class_prior_`` (total variation
        distance, always recorded as ``prior_drift_``); above this value,
        stage 2 is run again from the stage-1 student without the
        consistency loss (``lambda_u_ = 0``), with a warning. Checked only
        when the consistency loss is on. Off by default: on validation
        slices healthy students on balanced TREC ended up to 0.144 from the
        estimated prior (13 draws), and removing their consistency loss
        cost 4 to 7 points (AG News: up to 0.115, 8 to 16 points). 0.15
        fired on 1 run of 36, on long-tailed TREC, +7 points
        (``studies/drift_guard_validation.py``). Try it when
        ``prior_drift_`` is large and you trust ``class_prior_``.
    lambda_kd : float, default=1.0
        Weight of the stage-2 distillation loss. 0 gives "distil, then
        AdaMatch".
    kd_schedule : {'linear', 'constant'}, default='linear'
        Stage-2 distillation weight ``alpha_t``: linear from 0 to 1 over the
        stage, or constantly 1 (the paper's ablation).
    aux_head : bool, default=True
        Distil into the auxiliary head ``g`` in stage 2 (the method). False
        puts the distillation loss on the main head (the paper's ablation).
    kd_target : {'hard', 'soft'}, default='hard'
        Distillation targets: the teacher's argmax (as in the paper) or its
        full probability rows.
    weak_augment, strong_augment : str, callable or None, default='gaussian', 'auto'
        Feature-space views: ``'gaussian'``, ``'scarf'``, ``'identity'``,
        ``None``, an instance from :mod:`zeromatch_sk.augment`, or a callable
        ``f(X_batch, generator) -> X_batch`` on torch tensors.
        ``strong_augment='auto'`` picks from the estimated class prior
        (``class_prior_``): ``Scarf()`` unless the prior is skewed
        (normalised entropy below ``SKEWED_PRIOR_ENTROPY`` = 0.9; a 1:4
        binary task has 0.72; with random labels ``teacher_prior_`` is read
        too, and either skewed counts), and then ``GaussianNoise(scale=0.1)``:
        swapping features between rows of very unequal classes moves the
        decision boundary towards the majority (see :class:`~zeromatch_sk.augment.Scarf`).
        The choice is stored in ``strong_augment_``.
    device : str or torch.device, default='cpu'
        Torch device for training and prediction (``'cuda'``, ``'mps'``, ...);
        ``'auto'`` picks ``'cuda'`` when a GPU is visible, else ``'cpu'``.
        The rows and the teacher stay on it for the whole fit.
    callbacks : list or None, default=None
        skorch callbacks added to the net, fired in both stages; e.g.
        :class:`zeromatch_sk.callbacks.TwoStageEarlyStopping`. skorch's
        ``EarlyStopping``, ``EpochScoring``, ``LRScheduler`` and
        ``ProgressBar(batches_per_epoch='auto')`` are refused at ``fit``
        with what to use instead (:mod:`zeromatch_sk.callbacks`).
    verbose : int, default=0
        1 shows a progress bar over the whole fit and prints one line per
        epoch (stage, losses, mask ratio, time).
    random_state : int, RandomState instance or None, default=None
        Seeds the model's initialisation, dropout, batch sampling, the views
        and the stage-1 hold-out. Torch's global random state is left as it was.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (never -1).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``X`` was a DataFrame with string column names.
    net_ : ZeroMatchNet
        The fitted skorch net; ``net_.module_`` is the student.
    history_ : skorch.History
        One row per epoch: ``stage`` (1 or 2), ``train_loss``, ``loss_sup``,
        ``loss_unsup``, ``loss_kd``, ``mask_ratio``, ``alpha``,
        ``threshold``, ``kd_agreement`` (student versus teacher on the
        stage-1 hold-out), ``lr`` and ``dur``; per-batch values in
        ``history_[i, 'batches']``.
    transduction_ : ndarray of shape (n_samples,)
        The student's labels for every training row.
    teacher_proba_ : ndarray of shape (n_samples, n_classes) or None
        Teacher probabilities used for training: calibrated and moved to
        ``class_prior_`` (None without a teacher or when the gate dropped it).
    teacher_proba_raw_ : ndarray of shape (n_samples, n_classes) or None
        The provider's (or ``pseudo_labels``') probabilities as given.
    teacher_accuracy_ : float
        Accuracy of the raw teacher on the labeled rows (NaN without a
        teacher or labeled rows).
    teacher_accuracy_calibrated_ : float
        Leave-one-out accuracy of the calibrated teacher on the labeled rows
        (NaN without a teacher or with fewer than 4 labeled rows).
    teacher_calibration_ : str
        The calibration applied: ``'bias'``, ``'bias+scale'`` or ``'none'``.
    teacher_bias_, teacher_scale_ : ndarray of shape (n_classes,), float
        The teacher calibration (zeros and 1.0 when off).
    calibration_reg_ : float
        The calibration penalty used (``calibration_reg``, or the value
        ``'auto'`` chose); the gate's leave-one-out calibration uses it too.
    teacher_gated_ : bool
        True when ``teacher_gate`` dropped the teacher.
    strong_augment_ : str or callable
        The strong view used (``strong_augment`` unless it is ``'auto'``).
    lambda_u_ : float
        The consistency-loss weight of the student kept: ``lambda_u``, or 0
        when ``min_class_labels`` or ``max_prior_drift`` switched the loss
        off.
    prior_drift_ : float
        Total variation distance between ``class_prior_`` and the student's
        mean predicted class shares on the training rows, at the end of the
        stage 2 that used ``lambda_u`` (NaN without stage 2). Per epoch:
        ``history_[:, 'prior_drift']``. With ``prior_correction='posthoc'``
        the main head trains under the labels' balance and is compared with
        ``labeled_prior_`` instead.
    drift_fallback_ : bool
        True when ``prior_drift_`` exceeded ``max_prior_drift`` and stage 2
        was rerun without the consistency loss; ``history_`` then holds
        both stage-2 runs.
    teacher_gate_stats_ : dict or None
        The gate's statistics: ``n``, ``teacher``, ``teacher_calibrated``,
        ``labels`` (leave-one-out logistic regression), ``reference``
        (chance-or-majority), ``chance`` (``1 / n_classes``) and their
        standard errors.
    label_sampling_ : str
        ``'balanced'`` or ``'random'``, as resolved.
    labeled_prior_ : ndarray of shape (n_classes,)
        Class frequencies of the labeled rows, smoothed by one row per class.
    class_prior_ : ndarray of shape (n_classes,)
        Class prior of the unlabeled rows used for training (see
        ``class_prior``).
    teacher_prior_ : ndarray of shape (n_classes,) or None
        The class shares the teacher predicts for the unlabeled rows (mean
        probability) after a bias calibration on the labeled rows (the one
        of ``teacher_calibration``, or a ``'bias'`` one made for this
        reading when that is ``'none'``). With random labels it is a
        second reading of the class balance for the skewed-class defences:
        twenty labels of a 1:4 task often split 7 : 13 and look nearly
        balanced. None without a teacher, for a one-hot teacher (hard
        labels cannot be calibrated, and a biased teacher's raw shares
        would read as skewed classes), when the gate dropped it, or without
        unlabeled rows.
    teacher_agreement_ : float
        Fraction of unlabeled rows where the student predicts the teacher's
        class (NaN without a teacher or unlabeled rows).
    n_labeled_ : int
        Number of labeled training rows.

    See Also
    --------
    sklearn.semi_supervised.SelfTrainingClassifier : classic self-training.
    zeromatch_sk.model_selection.SemiSupervisedKFold : cross-validation with -1 rows.

    Notes
    -----
    Departures from the reference implementation are listed in the user
    guide (``docs/algorithm.rst``): feature-space views instead of image/text
    augmentations, optional soft distillation targets, and the epoch-based
    budgets. ``warm_start`` is not supported: every ``fit`` trains from
    scratch, because stage 2's schedules (learning rate, ``alpha``) are
    defined over the whole run; continue training through ``net_`` if you
    must.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> X, y_true = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> y = np.full_like(y_true, -1)
    >>> y[:15] = y_true[:15]                     # 15 labeled rows, 285 unlabeled
    >>> teacher = np.eye(3)[y_true]              # a (here perfect) zero-shot teacher
    >>> clf = ZeroMatchClassifier(kd_epochs=5, max_epochs=5, random_state=0)
    >>> clf.fit(X, y, pseudo_labels=teacher).score(X, y_true) > 0.8
    True
    """

    _parameter_constraints: dict = {
        "provider": "no_validation",  # checked when called: object with predict_proba or callable
        "classes": ["array-like", None],
        "hidden_layer_sizes": [tuple, list],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "module": [None, torch.nn.Module, callable],
        "kd_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "uratio": [Interval(numbers.Integral, 1, None, closed="left")],
        "steps_per_epoch": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "warmup_ratio": [Interval(numbers.Real, 0, 1, closed="left")],
        "p_cutoff": [Interval(numbers.Real, 0, 1, closed="both")],
        "da_momentum": [Interval(numbers.Real, 0, 1, closed="both")],
        "da_target": [StrOptions({"auto", "labeled"}), "array-like"],
        "label_sampling": [StrOptions({"auto", "balanced", "random"})],
        "class_prior": [StrOptions({"auto", "uniform"}), "array-like"],
        "prior_correction": [StrOptions({"loss", "posthoc", "none"})],
        "teacher_calibration": [StrOptions({"auto", "bias+scale", "bias", "none"})],
        "calibration_reg": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="neither")],
        "teacher_gate": [StrOptions({"chance", "majority", "labels", "never"})],
        "gate_z": [Interval(numbers.Real, None, None, closed="neither")],
        "lambda_u": [Interval(numbers.Real, 0, None, closed="left")],
        "min_class_labels": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_prior_drift": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "lambda_kd": [Interval(numbers.Real, 0, None, closed="left")],
        "kd_schedule": [StrOptions({"linear", "constant"})],
        "aux_head": ["boolean"],
        "kd_target": [StrOptions({"hard", "soft"})],
        "weak_augment": [None, str, callable],
        "strong_augment": [None, str, callable],
        "device": [str, torch.device],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        provider=None,
        *,
        classes=None,
        hidden_layer_sizes=(512,),
        dropout=0.1,
        module=None,
        kd_epochs=20,
        max_epochs=60,
        batch_size=64,
        uratio=3,
        steps_per_epoch=None,
        lr=1e-3,
        weight_decay=1e-4,
        warmup_ratio=0.0,
        p_cutoff=0.95,
        da_momentum=0.999,
        da_target="auto",
        label_sampling="auto",
        class_prior="auto",
        prior_correction="loss",
        teacher_calibration="auto",
        calibration_reg="auto",
        teacher_gate="chance",
        gate_z=0.0,
        lambda_u=1.0,
        min_class_labels=10,
        max_prior_drift=None,
        lambda_kd=1.0,
        kd_schedule="linear",
        aux_head=True,
        kd_target="hard",
        weak_augment="gaussian",
        strong_augment="auto",
        device="cpu",
        callbacks=None,
        verbose=0,
        random_state=None,
    ):
        self.provider = provider
        self.classes = classes
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.module = module
        self.kd_epochs = kd_epochs
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.uratio = uratio
        self.steps_per_epoch = steps_per_epoch
        self.lr = lr
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.p_cutoff = p_cutoff
        self.da_momentum = da_momentum
        self.da_target = da_target
        self.label_sampling = label_sampling
        self.class_prior = class_prior
        self.prior_correction = prior_correction
        self.teacher_calibration = teacher_calibration
        self.calibration_reg = calibration_reg
        self.teacher_gate = teacher_gate
        self.gate_z = gate_z
        self.lambda_u = lambda_u
        self.min_class_labels = min_class_labels
        self.max_prior_drift = max_prior_drift
        self.lambda_kd = lambda_kd
        self.kd_schedule = kd_schedule
        self.aux_head = aux_head
        self.kd_target = kd_target
        self.weak_augment = weak_augment
        self.strong_augment = strong_augment
        self.device = device
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state

    # ----------------------------------------------------------------- labels
    def _check_y(self, X, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None. "
                "Mark unlabeled rows with -1."
            )
        y = np.asarray(y)
        if y.dtype.kind in "US":
            raise ValueError(
                f"y has the string dtype {y.dtype}, which cannot hold the integer -1 that marks "
                "unlabeled rows. Use an object array, e.g. np.array(['cat', -1, 'dog'], dtype=object), "
                "as scikit-learn's semi-supervised estimators do."
            )
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        unlabeled = _is_unlabeled(y)
        labeled_y = y[~unlabeled]
        if labeled_y.size:
            check_classification_targets(labeled_y)
        return y, unlabeled

    def _resolve_classes(self, labeled_y):
        classes = np.unique(labeled_y) if labeled_y.size else np.array([], dtype=object)
        if self.classes is not None:
            extra = np.asarray(self.classes)
            if extra.dtype.kind in "US":
                extra = extra.astype(object)
            unknown = np.setdiff1d(classes, extra) if classes.size else []
            if len(unknown):
                raise ValueError(
                    f"The labeled rows contain classes {list(unknown)[:5]} that are not in classes="
                    f"{list(extra)}; add them to classes or drop the parameter."
                )
            classes = np.unique(extra)
        if classes.dtype.kind in "US":
            classes = classes.astype(object)
        return classes

    def _resolve_teacher(self, X, pseudo_labels, classes):
        n, k = len(X), len(classes)
        if pseudo_labels is not None:
            P = np.asarray(pseudo_labels)
            if P.ndim == 1:
                if len(P) != n:
                    raise TeacherError(
                        f"pseudo_labels has {len(P)} entries but X has {n} rows; give one teacher "
                        "label (or probability row) per training row."
                    )
                known = np.isin(P, classes)
                if not known.all():
                    outside = sorted({str(v) for v in P[~known]})
                    raise TeacherError(
                        f"pseudo_labels name classes {outside[:5]} outside classes_ {classes.tolist()}; "
                        "label them with the estimator's classes, or declare the extra classes with "
                        "classes=[...]."
                    )
                pos = np.searchsorted(classes, P)  # classes_ is sorted (np.unique)
                return np.eye(k)[pos]
            return check_teacher_proba(P, n, k, source="pseudo_labels")
        if self.provider is not None:
            return teacher_predict_proba(self.provider, X, classes)
        return None

    def _check_prior(self, value, name):
        prior = np.asarray(value, dtype=np.float64)
        if prior.shape != (len(self.classes_),) or not np.all(np.isfinite(prior)) or (prior <= 0).any():
            raise ValueError(
                f"{name} must be a class prior with one positive entry per class ({len(self.classes_)} "
                f"classes, in the order of classes_ = {self.classes_.tolist()}); got {value!r}."
            )
        return prior / prior.sum()

    def _defend(self, X, y_index, unlabeled, teacher):
        """Calibrate the teacher, decide whether to keep it, and estimate the unlabeled rows' class prior.

        Returns ``(teacher_for_training, da_target, sup_logit_offset)``; the
        last two are tensors or None. Everything here is numpy on the
        ``(n, k)`` teacher matrix and the labeled rows: well under a second.
        """
        k = len(self.classes_)
        labeled = ~unlabeled
        y_lab = y_index[labeled]
        n_lab = int(labeled.sum())
        # Smoothed by one row per class: a class without labels must not get a zero prior.
        self.labeled_prior_ = (np.bincount(y_lab, minlength=k) + 1.0) / (n_lab + k)
        sampling = self.label_sampling
        if sampling == "auto":
            sampling = _robust.infer_label_sampling(y_lab, k) if n_lab else "random"
        self.label_sampling_ = sampling
        given_prior = None
        if not isinstance(self.class_prior, str):
            given_prior = self._check_prior(self.class_prior, "class_prior")
        elif self.class_prior == "uniform":
            given_prior = np.full(k, 1.0 / k)

        self.teacher_proba_raw_ = teacher
        self.teacher_bias_, self.teacher_scale_ = np.zeros(k), 1.0
        self.teacher_gate_stats_, self.teacher_gated_ = None, False
        self.teacher_accuracy_calibrated_ = float("nan")
        T = teacher
        # A one-hot teacher (hard labels) has no log-probabilities to recalibrate.
        soft = teacher is not None and not np.all(teacher.max(axis=1) > 1.0 - 1e-6)
        calibration = self.teacher_calibration
        if calibration == "auto":
            # Measured: with randomly drawn labels calibration hurt (long-tailed TREC) and bought nothing
            # the gate did not; with class-balanced labels it feeds the class-prior estimate.
            calibration = "bias" if sampling == "balanced" else "none"
        self.teacher_calibration_ = calibration if soft and n_lab >= 2 else "none"
        reg = self.calibration_reg
        if isinstance(reg, str):  # 'auto': the penalty the labeled rows' held-out likelihood prefers
            reg = (
                _robust.select_calibration_reg(teacher[labeled], y_lab, fit_scale=calibration == "bias+scale")
                if soft and n_lab >= 2
                else 0.5
            )
        self.calibration_reg_ = float(reg)
        if self.teacher_calibration_ != "none":
            if calibration == "bias":
                bias = _robust.fit_teacher_bias(teacher[labeled], y_lab, reg=reg)
                scale = 1.0
            else:
                bias, scale = _robust.fit_teacher_calibration(teacher[labeled], y_lab, reg=reg)
            self.teacher_bias_, self.teacher_scale_ = bias, float(scale)
            T = _robust.apply_teacher_bias(teacher, bias, scale)
        calibrated = self.teacher_calibration_ != "none"

        if teacher is not None and n_lab >= 4:
            stats = _robust.teacher_vs_labels(teacher[labeled], y_lab, X[labeled], reg=reg)
            self.teacher_gate_stats_ = dataclasses.asdict(stats)
            self.teacher_accuracy_calibrated_ = stats.teacher_calibrated
            keep = _robust.teacher_gate(stats, rule=self.teacher_gate, z=self.gate_z)
            rule = self.teacher_gate
            # The level the calibrated teacher falls below, if any: guessing, or chance-or-majority.
            below = (
                "chance"
                if stats.teacher_calibrated < stats.chance
                else "majority" if stats.teacher_calibrated < stats.reference else None
            )
            if not keep and self.max_epochs == 0:
                # Without stage 2 there is nothing to train once the teacher is gone: keep it, say so.
                action = "It is still used: with max_epochs=0 the student learns from the teacher alone."
            elif not keep:
                self.teacher_gated_, T = True, None
                action = (
                    f"It was switched off (teacher_gate={rule!r}) and ZeroMatch trained as AdaMatch; set "
                    "teacher_gate='never' to keep it, or try a better provider or prompts."
                )
            elif below == "chance":
                action = (
                    f"It is still used (teacher_gate={rule!r}). Set teacher_gate='chance' to switch it off, and "
                    "check that the provider's classes are in the order of classes_."
                )
            elif below == "majority":
                action = (
                    f"It is still used (teacher_gate={rule!r}): teachers below the majority rate but above "
                    "guessing still helped ZeroMatch on the benchmark. Set teacher_gate='majority' to switch "
                    "it off, or let the labels choose with zeromatch_sk.model_selection.safe_search."
                )
            else:
                action = None
            if action is not None:
                # A closed gate names its own level (with gate_z > 0 the teacher may be above it); else the one missed.
                versus = rule if not keep and rule in ("labels", "chance") else below or "majority"
                warnings.warn(_teacher_warning(stats, versus, action), UserWarning, stacklevel=3)

        # The class shares the teacher, calibrated on the labels, predicts for the unlabeled rows: a second
        # reading of the class balance, from thousands of rows rather than a handful of labels. Only for a
        # soft teacher: hard labels cannot be calibrated, and a biased one would read as skewed classes.
        self.teacher_prior_ = None
        if T is not None and soft and n_lab >= 2 and unlabeled.any():
            rows = T[unlabeled]
            if not calibrated:  # calibrate for this reading only
                rows = _robust.apply_teacher_bias(rows, _robust.fit_teacher_bias(teacher[labeled], y_lab, reg=reg))
            shares = rows.mean(axis=0)
            self.teacher_prior_ = shares / shares.sum()

        if given_prior is not None:
            prior = given_prior
        elif sampling == "balanced" and T is not None and calibrated and unlabeled.any():
            # The calibrated teacher's posteriors hold under the labeled prior; EM moves them to the unlabeled rows'.
            prior = _robust.estimate_prior_em(T[unlabeled], train_prior=self.labeled_prior_)
        else:
            # Random sampling: the labels estimate the prior. Balanced without a usable teacher: no information.
            prior = self.labeled_prior_
        prior = np.maximum(prior, 1e-3)  # distribution alignment divides by it
        self.class_prior_ = prior / prior.sum()
        if T is not None and calibrated:
            T = _robust.logit_adjust(T, self.labeled_prior_, self.class_prior_)

        if not isinstance(self.da_target, str):
            da_target = self._check_prior(self.da_target, "da_target")
        elif self.da_target == "auto" and (sampling == "balanced" or given_prior is not None):
            da_target = self.class_prior_
        else:
            da_target = None
        offset = np.log(self.labeled_prior_) - np.log(self.class_prior_)
        use_offset = self.prior_correction == "loss" and np.abs(offset).max() > 1e-6
        return (
            T,
            None if da_target is None else torch.as_tensor(da_target, dtype=torch.float32),
            torch.as_tensor(offset, dtype=torch.float32) if use_offset else None,
        )

    def _consistency_weight(self, y_lab, skewed: bool) -> float:
        """``lambda_u``, or 0 for a rare class drawn at random: a skewed prior, random labels, and a class
        with fewer than ``min_class_labels``.

        Measured (``docs/robustness.rst``): with 2-6 labels of a rare class, the consistency loss's
        hard pseudo-labels drift the student's class balance (a 20 % class predicted for 33 % and
        49 % of rows on two draws, ``studies/rare_class_drift.py``) and stage 2 ends below a
        plain supervised fit.
        """
        counts = np.bincount(y_lab, minlength=len(self.classes_))
        if not (
            self.lambda_u > 0
            and self.max_epochs > 0
            and len(y_lab)
            and self.label_sampling_ == "random"
            and counts.min() < self.min_class_labels
            and skewed
        ):
            return float(self.lambda_u)
        rare = [str(c) for c in self.classes_[counts < self.min_class_labels]]
        warnings.warn(
            f"Labels look randomly drawn from skewed classes, and class(es) {', '.join(rare)} have fewer than "
            f"min_class_labels={self.min_class_labels} labeled rows ({int(counts.min())} at least): too few "
            "to anchor pseudo-labels, so stage 2 trains without the unlabeled consistency loss "
            "(lambda_u_=0; the labels and the teacher's auxiliary head still train it). Label more rows of "
            "those classes, or set min_class_labels=0 to keep the loss.",
            UserWarning,
            stacklevel=3,
        )
        return 0.0

    # -------------------------------------------------------------------- fit
    def _build_module(self, n_features, n_classes, use_aux):
        if self.module is None:
            encoder = MLPEncoder(n_features, tuple(self.hidden_layer_sizes), self.dropout)
        elif isinstance(self.module, torch.nn.Module):
            import copy

            encoder = copy.deepcopy(self.module)
        else:
            encoder = self.module(n_features)
            if not isinstance(encoder, torch.nn.Module):
                raise TypeError(
                    f"module(n_features) must return a torch.nn.Module, got {type(encoder).__name__}."
                )
        width = encoder_output_dim(encoder, n_features)
        return ZeroMatchModule(encoder, width, n_classes, aux_head=use_aux)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, pseudo_labels=None):
        """Train the student on labeled rows, unlabeled rows (``y == -1``) and the teacher.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows: embeddings or tabular features.
        y : array-like of shape (n_samples,)
            Labels, with ``-1`` for unlabeled rows. Integers, or an object
            array mixing class labels (e.g. strings) and the integer -1.
        pseudo_labels : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Precomputed teacher output for every row of ``X``: class labels
            (from ``classes_``) or probability rows (columns in the order of
            ``classes_``). Wins over ``provider``. Routed and sliced per fold
            by ``Pipeline``, ``GridSearchCV`` and ``cross_validate`` (with
            metadata routing, after ``set_fit_request(pseudo_labels=True)``).

        Returns
        -------
        self : ZeroMatchClassifier
        """
        X = validate_data(self, X, dtype=[np.float32, np.float64], ensure_min_samples=2, reset=True)
        y, unlabeled = self._check_y(X, y)
        labeled_y = y[~unlabeled]
        self.classes_ = self._resolve_classes(labeled_y)
        n_labeled = int((~unlabeled).sum())
        has_teacher = pseudo_labels is not None or self.provider is not None

        if n_labeled == 0 and not has_teacher:
            raise ValueError(
                "y has no labeled rows (every entry is -1) and there is no teacher. Label some rows, "
                "or pass a provider or pseudo_labels so the student can learn from the teacher alone."
            )
        if len(self.classes_) < 2:
            raise ValueError(
                f"ZeroMatchClassifier needs at least 2 classes, but the labeled rows contain only "
                f"{len(self.classes_)} class ({self.classes_.tolist()}). Label rows of other classes, "
                "or declare all classes with classes=[...] and give a teacher that knows them."
            )
        if n_labeled == len(y):
            warnings.warn(
                "y contains no unlabeled rows (-1): ZeroMatch then trains on the labels and the "
                "teacher only. Mark unlabeled rows with -1 to use them.",
                UserWarning,
                stacklevel=2,
            )

        teacher = self._resolve_teacher(X, pseudo_labels, self.classes_)
        y_index = np.full(len(y), UNLABELED, dtype=np.int64)
        y_index[~unlabeled] = np.searchsorted(self.classes_, labeled_y)
        teacher, da_target, sup_offset = self._defend(X, y_index, unlabeled, teacher)
        if n_labeled == 0:
            warnings.warn(
                "y has no labeled rows: training the student from the teacher alone (stage 1, "
                "knowledge distillation); stage 2 needs labels and is skipped.",
                UserWarning,
                stacklevel=2,
            )
        trains_stage1 = teacher is not None and self.kd_epochs > 0
        trains_stage2 = n_labeled > 0 and self.max_epochs > 0
        if not (trains_stage1 or trains_stage2):
            raise ValueError(
                f"Nothing to train with kd_epochs={self.kd_epochs}, max_epochs={self.max_epochs}, "
                f"{'a' if teacher is not None else 'no'} teacher and {n_labeled} labeled rows: stage 1 "
                "needs a teacher and kd_epochs > 0, stage 2 needs labeled rows and max_epochs > 0."
            )

        # One decision drives both skewed-class defences. With random labels the label frequencies alone
        # miss a 1:4 skew on about one draw in five (6 of 20 labels in the 20 % class), so the calibrated
        # teacher's class shares count too (studies/skew_detection.py).
        skewed = _robust.normalized_entropy(self.class_prior_) < SKEWED_PRIOR_ENTROPY
        if self.label_sampling_ == "random" and self.teacher_prior_ is not None:
            skewed = skewed or _robust.normalized_entropy(self.teacher_prior_) < SKEWED_PRIOR_ENTROPY
        self.lambda_u_ = self._consistency_weight(y_index[~unlabeled], skewed)
        self.strong_augment_ = self.strong_augment
        if isinstance(self.strong_augment, str) and self.strong_augment == "auto":
            self.strong_augment_ = GaussianNoise(scale=0.1) if skewed else Scarf()

        # The prior the main head trains towards ('posthoc' trains under the labels' and shifts afterwards).
        drift_prior = self.labeled_prior_ if self.prior_correction == "posthoc" else self.class_prior_

        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        # fork_rng: seeding for init and dropout without touching the user's global torch state.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            use_aux = bool(self.aux_head) and teacher is not None and self.lambda_kd > 0
            module = self._build_module(X.shape[1], len(self.classes_), use_aux)
            plan = TrainingPlan(
                kd_epochs=self.kd_epochs,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                uratio=self.uratio,
                steps_per_epoch=self.steps_per_epoch,
                min_steps_per_epoch=MIN_STEPS_PER_EPOCH,
                lr=self.lr,
                weight_decay=self.weight_decay,
                warmup_ratio=self.warmup_ratio,
                p_cutoff=self.p_cutoff,
                da_momentum=self.da_momentum,
                lambda_u=self.lambda_u_,
                lambda_kd=self.lambda_kd,
                kd_schedule=self.kd_schedule,
                aux_head=use_aux,
                kd_target=self.kd_target,
                weak_augment=resolve_augmentation(self.weak_augment, X, param="weak_augment"),
                strong_augment=resolve_augmentation(self.strong_augment_, X, param="strong_augment"),
                seed=seed,
                da_target=da_target,
                sup_logit_offset=sup_offset,
                drift_prior=torch.as_tensor(drift_prior, dtype=torch.float32, device=device),
                max_prior_drift=self.max_prior_drift,
            )
            self.net_ = ZeroMatchNet(
                module,
                plan=plan,
                device=device,
                callbacks=list(self.callbacks) if self.callbacks else None,
                verbose=self.verbose,
            )
            X_t = torch.as_tensor(np.array(X, dtype=np.float32), device=device)
            y_t = torch.as_tensor(y_index, device=device)
            T_t = None if teacher is None else torch.as_tensor(teacher, dtype=torch.float32, device=device)
            self.net_.fit(X_t, y_t, teacher=T_t)
            self.net_.generator_ = None  # torch generators do not pickle; training is over

        self.prior_drift_ = self.net_.prior_drift_
        self.drift_fallback_ = self.net_.drift_fallback_
        if self.drift_fallback_:
            self.lambda_u_ = 0.0
            warnings.warn(
                f"The consistency loss moved the student's predicted class shares {self.prior_drift_:.2f} "
                f"(total variation) away from the class prior it trains towards {np.round(drift_prior, 2).tolist()}, "
                f"more than max_prior_drift={self.max_prior_drift}: its pseudo-labels were reinforcing its own "
                "bias. Stage 2 was run again without it (lambda_u_=0). More labels, or a class_prior you know, "
                "make the consistency loss safer; max_prior_drift=None keeps the drifted student.",
                UserWarning,
                stacklevel=2,
            )

        self.history_ = self.net_.history
        self.n_labeled_ = n_labeled
        self.teacher_proba_ = teacher
        student = self._proba(X_t).argmax(axis=1)
        self.transduction_ = self.classes_[student]
        raw = self.teacher_proba_raw_
        if raw is not None:
            teacher_idx = raw.argmax(axis=1)
            self.teacher_accuracy_ = (
                float(np.mean(teacher_idx[~unlabeled] == y_index[~unlabeled])) if n_labeled else float("nan")
            )
            self.teacher_agreement_ = (
                float(np.mean(student[unlabeled] == teacher_idx[unlabeled])) if unlabeled.any() else float("nan")
            )
        else:
            self.teacher_accuracy_ = self.teacher_agreement_ = float("nan")
        return self

    # ---------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities from the student's main head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        X_t = torch.as_tensor(np.array(X, dtype=np.float32), device=self.net_.device)
        return self._proba(X_t)

    def _proba(self, X_t):
        proba = self.net_.predict_proba(X_t).astype(np.float64)
        if self.prior_correction == "posthoc":
            proba = _robust.logit_adjust(proba, self.labeled_prior_, self.class_prior_)
        return proba

    def predict(self, X):
        """Predict class labels with the student's main head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
