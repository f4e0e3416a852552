"""ZeroMatchClassifier: the scikit-learn estimator."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from . import _robust, _validation
from ._config import torch_threads
from ._labels import UNLABELED, check_classes, check_labels
from ._modules import MLPEncoder, ZeroMatchModule, encoder_output_dim
from ._training import TrainingPlan, ZeroMatchNet, resolve_device
from .augment import choose_views, resolve_augmentation
from .defences import Defences, resolve_defences
from .providers._base import TeacherError, check_teacher_proba, teacher_predict_proba

__all__ = ["REFERENCE", "ZeroMatchClassifier"]

#: The published ZeroMatch, every defence off and the reference views: ``ZeroMatchClassifier(**REFERENCE)``.
REFERENCE = {"defences": "off", "weak_augment": "gaussian", "strong_augment": "scarf"}

#: Stage-2 epochs of small data, in steps: ``ceil(n_samples / batch_size)`` clipped to this range, when one pass over
#: the unlabeled stream is shorter. Small fits stay cheap, and data of a few thousand rows still train; chosen on
#: validation slices (``benchmarks/step_floor.py``). The rule: ``_training.stage2_steps_per_epoch``.
SMALL_DATA_STEPS = (5, 20)


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
        few rows of them). ``-1`` marks unlabeled rows and cannot be a
        class.
    hidden_layer_sizes : tuple of int, default=(512,)
        Widths of the MLP encoder's ``Linear -> GELU -> Dropout`` blocks:
        positive integers; ``()`` puts the heads on the inputs. Ignored when
        ``module`` is given.
    dropout : float, default=0.1
        Dropout after each encoder block.
    module : torch.nn.Module, callable or None, default=None
        Your own encoder, replacing the MLP. Either a module instance (copied
        at each fit, so every fit starts from the same weights) or a
        callable ``module(n_features) -> nn.Module``. It maps
        ``(batch, n_features)`` float32 tensors to ``(batch, width)``;
        before training it is run on one row of ``X``, so a wrong input
        width fails at once with an error naming ``module``.
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
        unlabeled stream (``ceil(n_samples / (batch_size * uratio))``) or,
        when that is fewer, ``ceil(n_samples / batch_size)`` steps clipped to
        5..20, so the budget grows with the data: 200 rows train for 5 steps
        an epoch, 1,000 rows for 16, 2,000 rows for 20, 10,000 rows for 53.
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
    class_prior : 'auto', 'uniform' or array-like of shape (n_classes,), default='auto'
        Class prior of the unlabeled rows, when you know it. ``'auto'``
        estimates it: by EM on the calibrated teacher (Saerens et al., 2002)
        when labels were drawn class-balanced and the teacher passed the
        gate, otherwise from the labeled rows' class frequencies (uniform
        when balanced without a usable teacher). ``'uniform'``: every class
        equally often; pass it when you know the classes are roughly
        balanced, because with ten labels per class the estimate can be far
        off (see the robustness page of the user guide). Stored in
        ``class_prior_``.
    defences : {'auto', 'off'} or Defences, default='auto'
        The defences against a weak or biased teacher and skewed classes
        (:class:`~zeromatch_sk.defences.Defences`): how the labels were
        drawn, the teacher's calibration and gate, the class-prior
        correction, distribution alignment's target, the rare-class and
        drift guards. ``'auto'`` is ``Defences()``; ``'off'`` is
        ``Defences.off()``, the published method. To grid-search one of
        them (``defences__gate``), set ``defences=Defences()`` first. What
        was decided is in ``defences_``.
    lambda_u : float, default=1.0
        Weight of the consistency loss on unlabeled rows. 0 turns off the
        semi-supervised loss.
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
    weak_augment, strong_augment : str, callable or None, default='auto', 'auto'
        Feature-space views: ``'auto'`` (or its hints ``'auto-tabular'``,
        ``'auto-embeddings'``), ``'gaussian'``, ``'scarf'``,
        ``'identity'``, ``None``, an instance from :mod:`zeromatch_sk.augment`,
        or a callable ``f(X_batch, generator) -> X_batch`` on torch tensors.
        ``'auto'`` follows the data (:func:`~zeromatch_sk.augment.choose_views`):
        with fewer than 128 features (tabular columns, small images) the views
        are ``GaussianNoise(scale=0.1)`` and ``GaussianNoise(scale=0.3)``; with
        more (embeddings) the weak view is ``GaussianNoise()`` and the strong
        one ``Scarf()``, unless the defences find the classes skewed
        (``defences_.skewed``: the normalised entropy of ``class_prior_``, or
        with random labels of ``teacher_prior_``, below 0.9; a 1:4 binary task
        has 0.72), and then ``GaussianNoise(scale=0.1)``. Where the width
        misleads, ``'auto-tabular'`` or ``'auto-embeddings'`` says what the
        data are. The choices are stored in ``weak_augment_`` and
        ``strong_augment_``.
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
        True when the defences' gate dropped the teacher.
    weak_augment_ : str or callable
        The weak view used (``weak_augment`` unless it is ``'auto'``).
    strong_augment_ : str or callable
        The strong view used (``strong_augment`` unless it is ``'auto'``).
    lambda_u_ : float
        The consistency-loss weight of the student kept: ``lambda_u``, or 0
        when the rare-class or drift guard of ``defences`` switched the loss
        off.
    prior_drift_ : float
        Total variation distance between ``class_prior_`` and the student's
        mean predicted class shares on the training rows, at the end of the
        stage 2 that used ``lambda_u`` (NaN without stage 2). Per epoch:
        ``history_[:, 'prior_drift']``. With ``prior_correction='posthoc'``
        (a setting of ``defences``) the main head trains under the labels' balance and is compared with
        ``labeled_prior_`` instead.
    drift_fallback_ : bool
        True when ``prior_drift_`` exceeded the defences' ``max_prior_drift`` and stage 2
        was rerun without the consistency loss; ``history_`` then holds
        both stage-2 runs.
    defences_ : DefenceDecision
        Everything the defences decided for this fit
        (:class:`~zeromatch_sk.defences.DefenceDecision`); the attributes
        below repeat the most used parts of it.
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
        "class_prior": [StrOptions({"auto", "uniform"}), "array-like"],
        "defences": [StrOptions({"auto", "off"}), Defences],
        "lambda_u": [Interval(numbers.Real, 0, None, closed="left")],
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
        class_prior="auto",
        defences="auto",
        lambda_u=1.0,
        lambda_kd=1.0,
        kd_schedule="linear",
        aux_head=True,
        kd_target="hard",
        weak_augment="auto",
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
        self.class_prior = class_prior
        self.defences = defences
        self.lambda_u = lambda_u
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
        labeled_y, unlabeled = check_labels(y)  # the shared -1 convention (zeromatch_sk._labels)
        check_consistent_length(X, unlabeled)
        return labeled_y, unlabeled

    def _resolve_classes(self, labeled_y):
        try:
            classes = np.unique(labeled_y) if labeled_y.size else np.array([], dtype=object)
        except TypeError as exc:  # labels of one kind that do not sort (e.g. arbitrary objects)
            raise ValueError(
                f"The labels in y cannot be sorted ({exc}); use strings or integers as class labels."
            ) from exc
        if self.classes is not None:
            classes = check_classes(self.classes, classes)
        if classes.dtype.kind in "US":
            classes = classes.astype(object)
        return classes

    def _resolve_teacher(self, X, pseudo_labels, classes):
        n, k = len(X), len(classes)
        if pseudo_labels is not None:
            P = _validation.pseudo_labels_array(pseudo_labels)
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
            Labels, with ``-1`` (or ``-1.0``) for unlabeled rows: integers,
            or an object array, list or pandas Series mixing class labels of
            one kind (strings, integers or bools) with the integer -1. The
            string ``'-1'`` and missing labels (None, NaN) are refused with
            the fix (see ``docs/bad_inputs.rst``).
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
        has_teacher = pseudo_labels is not None or self.provider is not None
        X, y_index, unlabeled = self._validate_training_data(X, y, has_teacher)
        teacher = self._resolve_teacher(X, pseudo_labels, self.classes_)
        decision = resolve_defences(self.defences).decide(
            X,
            y_index,
            unlabeled,
            teacher,
            classes=self.classes_,
            class_prior=self.class_prior,
            lambda_u=self.lambda_u,
            max_epochs=self.max_epochs,
        )
        self._store_decision(decision)
        self._check_trainable(decision.teacher, int((~unlabeled).sum()))
        self.weak_augment_, self.strong_augment_ = choose_views(
            self.weak_augment, self.strong_augment, X.shape[1], skewed=decision.skewed
        )
        with torch_threads():  # zeromatch_sk.set_config(torch_threads=...); restored on return or error
            X_t = self._train(X, y_index, decision)
            self._report(X_t, y_index, unlabeled)
        return self

    def _validate_training_data(self, X, y, has_teacher):
        """Validated ``X``, class indices (-1 for unlabeled rows) and the unlabeled mask; sets ``classes_``."""
        _validation.check_not_raw_input(X)
        X = validate_data(self, X, dtype=[np.float32, np.float64], ensure_min_samples=2, reset=True)
        _validation.check_float32_range(X)
        _validation.check_hidden_layer_sizes(self.hidden_layer_sizes)
        _validation.check_callbacks(self.callbacks)
        labeled_y, unlabeled = self._check_y(X, y)
        self.classes_ = self._resolve_classes(labeled_y)
        if not labeled_y.size and not has_teacher:
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
        if not unlabeled.any():
            warnings.warn(
                "y contains no unlabeled rows (-1): ZeroMatch then trains on the labels and the "
                "teacher only. Mark unlabeled rows with -1 to use them.",
                UserWarning,
                stacklevel=3,
            )
        y_index = np.full(len(unlabeled), UNLABELED, dtype=np.int64)
        y_index[~unlabeled] = np.searchsorted(self.classes_, labeled_y)
        return X, y_index, unlabeled

    def _store_decision(self, decision):
        """The defences' decision, and its most used parts as the documented fitted attributes."""
        self.defences_ = decision
        self.labeled_prior_ = decision.labeled_prior
        self.label_sampling_ = decision.label_sampling
        self.class_prior_ = decision.class_prior
        self.teacher_proba_raw_ = decision.teacher_raw
        self.teacher_calibration_ = decision.calibration
        self.calibration_reg_ = decision.calibration_reg
        self.teacher_bias_, self.teacher_scale_ = decision.bias, decision.scale
        self.teacher_gate_stats_ = decision.gate_stats
        self.teacher_gated_ = decision.gated
        self.teacher_accuracy_calibrated_ = decision.teacher_accuracy_calibrated
        self.teacher_prior_ = decision.teacher_prior
        self.lambda_u_ = decision.lambda_u

    def _check_trainable(self, teacher, n_labeled):
        if n_labeled == 0:
            warnings.warn(
                "y has no labeled rows: training the student from the teacher alone (stage 1, "
                "knowledge distillation); stage 2 needs labels and is skipped.",
                UserWarning,
                stacklevel=3,
            )
        trains_stage1 = teacher is not None and self.kd_epochs > 0
        trains_stage2 = n_labeled > 0 and self.max_epochs > 0
        if not (trains_stage1 or trains_stage2):
            raise ValueError(
                f"Nothing to train with kd_epochs={self.kd_epochs}, max_epochs={self.max_epochs}, "
                f"{'a' if teacher is not None else 'no'} teacher and {n_labeled} labeled rows: stage 1 "
                "needs a teacher and kd_epochs > 0, stage 2 needs labeled rows and max_epochs > 0."
            )

    def _plan(self, X, decision, seed, device, use_aux):
        """The training plan: the constructor's budgets and losses, and what the defences decided."""

        def tensor(value):
            return None if value is None else torch.as_tensor(value, dtype=torch.float32)

        return TrainingPlan(
            kd_epochs=self.kd_epochs,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            uratio=self.uratio,
            steps_per_epoch=self.steps_per_epoch,
            small_data_steps=SMALL_DATA_STEPS,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_ratio=self.warmup_ratio,
            p_cutoff=self.p_cutoff,
            da_momentum=self.da_momentum,
            lambda_u=decision.lambda_u,
            lambda_kd=self.lambda_kd,
            kd_schedule=self.kd_schedule,
            aux_head=use_aux,
            kd_target=self.kd_target,
            weak_augment=resolve_augmentation(self.weak_augment_, X, param="weak_augment"),
            strong_augment=resolve_augmentation(self.strong_augment_, X, param="strong_augment"),
            seed=seed,
            da_target=tensor(decision.alignment_target),
            sup_logit_offset=tensor(decision.sup_logit_offset),
            drift_prior=torch.as_tensor(decision.drift_prior, dtype=torch.float32, device=device),
            max_prior_drift=decision.max_prior_drift,
        )

    def _train(self, X, y_index, decision):
        """Build and fit ``net_``; returns the training rows as a tensor on the device."""
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        device = resolve_device(self.device)
        teacher = decision.teacher
        # fork_rng: seeding for init and dropout without touching the user's global torch state.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(seed)
            use_aux = bool(self.aux_head) and teacher is not None and self.lambda_kd > 0
            module = self._build_module(X.shape[1], len(self.classes_), use_aux)
            if self.module is not None:  # a wrong input width fails here, not deep inside training
                _validation.check_module_forward(module, X, len(self.classes_))
            self.net_ = ZeroMatchNet(
                module,
                plan=self._plan(X, decision, seed, device, use_aux),
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
                "(total variation) away from the class prior it trains towards "
                f"{np.round(decision.drift_prior, 2).tolist()}, more than max_prior_drift="
                f"{decision.max_prior_drift}: its pseudo-labels were reinforcing its own bias. Stage 2 was run "
                "again without it (lambda_u_=0). More labels, or a class_prior you know, make the consistency "
                "loss safer; Defences(max_prior_drift=None) keeps the drifted student.",
                UserWarning,
                stacklevel=4,
            )
        return X_t

    def _report(self, X_t, y_index, unlabeled):
        """Fitted diagnostics: the student's transduction and how it and the teacher fare."""
        self.history_ = self.net_.history
        labeled = ~unlabeled
        self.n_labeled_ = int(labeled.sum())
        self.teacher_proba_ = self.defences_.teacher
        student = self._proba(X_t).argmax(axis=1)
        self.transduction_ = self.classes_[student]
        raw = self.teacher_proba_raw_
        self.teacher_accuracy_ = self.teacher_agreement_ = float("nan")
        if raw is not None:
            teacher_idx = raw.argmax(axis=1)
            if labeled.any():
                self.teacher_accuracy_ = float(np.mean(teacher_idx[labeled] == y_index[labeled]))
            if unlabeled.any():
                self.teacher_agreement_ = float(np.mean(student[unlabeled] == teacher_idx[unlabeled]))

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
        _validation.check_not_raw_input(X)
        X = validate_data(self, X, dtype=[np.float32, np.float64], reset=False)
        _validation.check_float32_range(X)
        X_t = torch.as_tensor(np.array(X, dtype=np.float32), device=self.net_.device)
        return self._proba(X_t)

    def _proba(self, X_t):
        with torch_threads():
            proba = self.net_.predict_proba(X_t).astype(np.float64)
        _validation.check_finite_proba(proba, X_t, self.net_.module_)  # never return NaN silently
        if self.defences_.prior_correction == "posthoc":
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

    def score(self, X, y, sample_weight=None):
        """Accuracy of ``predict`` on the **labeled** rows of ``X`` (``y != -1``).

        Rows whose label is ``-1`` carry no truth and are skipped, unlike
        scikit-learn's default ``score``, which would count each of them as an
        error. Cross-validation scorers built with
        :func:`~zeromatch_sk.model_selection.labeled_scorer` do the same.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            True labels, ``-1`` for unlabeled rows (skipped).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            Mean accuracy on the labeled rows.

        Raises
        ------
        ValueError
            If every row of ``y`` is ``-1``.
        """
        labeled_y, unlabeled = check_labels(y, allow_str_dtype=True)
        if unlabeled.all():
            raise ValueError(
                "score needs labeled rows, but every entry of y is -1 (unlabeled): there is no truth to "
                "score against. Pass the true labels of some rows of X."
            )
        y_pred = self.predict(X)
        check_consistent_length(y_pred, unlabeled)
        sample_weight = _validation.check_sample_weight(sample_weight, len(unlabeled))
        if sample_weight is not None:
            sample_weight = sample_weight[~unlabeled]
        return float(accuracy_score(labeled_y, y_pred[~unlabeled], sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
