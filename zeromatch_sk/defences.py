"""The robustness defences: how far to trust the teacher and what class balance to train towards.

Everything ZeroMatch decides about the teacher and the class balance before training lives here, in one
entry point, :meth:`Defences.decide`, which returns a frozen :class:`DefenceDecision`. The classifier reads
that decision and does not decide again. The maths (calibration, the gate's statistics, the EM prior, logit
adjustment) are pure functions in :mod:`zeromatch_sk._robust`; this module holds the policy that chains them.

``ZeroMatchClassifier(defences='auto')`` uses ``Defences()``; ``defences='off'`` uses :meth:`Defences.off`,
the published method. Grid-search a defence as ``defences__gate`` after setting ``defences=Defences()``.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints

from . import _robust

__all__ = ["SKEWED_PRIOR_ENTROPY", "DefenceDecision", "Defences", "resolve_defences"]

#: The classes count as skewed below this normalised entropy of ``class_prior_`` (true priors: 1:4 binary
#: 0.72, 1:9 0.47, AG News' four topics 1.0, TREC's six question types 0.92). With random labels the
#: teacher's calibrated class shares (``teacher_prior_``) are read too, and either skewed counts.
SKEWED_PRIOR_ENTROPY = 0.9

#: A teacher whose argmax puts at least this share of the training rows in one class is called constant.
CONSTANT_TEACHER_SHARE = 0.99


@dataclasses.dataclass(frozen=True, eq=False)
class DefenceDecision:
    """What :meth:`Defences.decide` chose for one fit (stored as ``defences_`` on the classifier).

    Each field is an attribute of the same name.

    Parameters
    ----------
    label_sampling : {'balanced', 'random'}
        How the labeled rows were (taken to be) drawn.
    labeled_prior : ndarray of shape (n_classes,)
        Class frequencies of the labeled rows, smoothed by one row per class.
    class_prior : ndarray of shape (n_classes,)
        Class prior of the unlabeled rows that training aims at.
    class_prior_source : str
        Where ``class_prior`` came from: ``'given'``, ``'uniform'``, ``'teacher-em'``,
        ``'teacher-em+labels-cc'`` or ``'labels'``.
    teacher_raw : ndarray of shape (n_samples, n_classes) or None
        The teacher as given.
    teacher : ndarray of shape (n_samples, n_classes) or None
        The teacher the student distils: calibrated and moved to ``class_prior`` (None when dropped).
    calibration : {'bias', 'bias+scale', 'none'}
        The calibration applied to the teacher.
    calibration_reg : float
        The calibration penalty used (also by the gate's leave-one-out calibration).
    bias, scale : ndarray of shape (n_classes,), float
        The calibration (zeros and 1.0 when off).
    gate_stats : dict or None
        The gate's statistics (:class:`~zeromatch_sk._robust.TeacherGateStats` as a dict).
    gated : bool
        True when the gate dropped the teacher.
    teacher_accuracy_calibrated : float
        Leave-one-out accuracy of the calibrated teacher on the labeled rows (NaN when not measured).
    teacher_prior : ndarray of shape (n_classes,) or None
        The calibrated teacher's mean class shares on the unlabeled rows.
    alignment_target : ndarray of shape (n_classes,) or None
        Fixed target of distribution alignment; None tracks the labeled batches (AdaMatch).
    prior_correction : {'loss', 'posthoc', 'none'}
        How the student is moved from ``labeled_prior`` to ``class_prior``.
    sup_logit_offset : ndarray of shape (n_classes,) or None
        Logit offset of the supervised loss (``prior_correction='loss'``), None when it is a no-op.
    lambda_u : float
        The consistency-loss weight to train with (0 when the rare-class guard fired).
    skewed : bool
        The signal that the classes are skewed; the views' ``'auto'`` choice reads it.
    drift_prior : ndarray of shape (n_classes,)
        The class balance the main head trains towards, which the drift guard compares with.
    max_prior_drift : float or None
        The drift guard's threshold (None: off).
    """

    label_sampling: str
    labeled_prior: np.ndarray
    class_prior: np.ndarray
    class_prior_source: str
    teacher_raw: np.ndarray | None
    teacher: np.ndarray | None
    calibration: str
    calibration_reg: float
    bias: np.ndarray
    scale: float
    gate_stats: dict | None
    gated: bool
    teacher_accuracy_calibrated: float
    teacher_prior: np.ndarray | None
    alignment_target: np.ndarray | None
    prior_correction: str
    sup_logit_offset: np.ndarray | None
    lambda_u: float
    skewed: bool
    drift_prior: np.ndarray
    max_prior_drift: float | None


@dataclasses.dataclass(frozen=True)
class _Calibrated:
    """The teacher after calibration, and what was done to it."""

    teacher: np.ndarray | None
    soft: bool
    calibration: str
    reg: float
    bias: np.ndarray
    scale: float


def check_prior(value, classes, name: str) -> np.ndarray:
    """``value`` as a normalised class prior over ``classes``, or a ValueError naming ``name``."""
    return _robust.check_prior(value, len(classes), name, classes=classes)


class Defences(BaseEstimator):
    """ZeroMatch's defences against a weak or biased teacher and against skewed classes.

    The published method trusts the teacher and assumes the labeled rows have the class balance of the
    unlabeled ones. These defences check both on the labeled rows before training. Pass an instance as
    ``ZeroMatchClassifier(defences=Defences(...))``; ``defences='auto'`` is ``Defences()`` and
    ``defences='off'`` is :meth:`Defences.off`. What each defence does on the benchmark is in the user
    guide's robustness page.

    Parameters
    ----------
    label_sampling : {'auto', 'balanced', 'random'}, default='auto'
        How the labeled rows were drawn. ``'balanced'``: a fixed number per class, so their class
        frequencies say nothing about the unlabeled rows'. ``'random'``: uniformly at random, so they
        estimate them. ``'auto'`` infers ``'balanced'`` when every class has the same number of labeled
        rows (up to one), else ``'random'``.
    calibration : {'auto', 'bias+scale', 'bias', 'none'}, default='auto'
        Calibrate the teacher on the labeled rows: ``softmax(s * log P + b)`` with a per-class bias ``b``
        and (with ``'bias+scale'``) one inverse temperature ``s``, penalised towards no change by
        ``calibration_reg``. The calibrated teacher, moved to the class prior, is what the student distils
        and what the class prior is estimated from. ``'auto'``: ``'bias'`` when the labels were drawn
        class-balanced, ``'none'`` when at random. One-hot teachers (hard labels) are never calibrated.
    calibration_reg : float or 'auto', default='auto'
        L2 penalty of the calibration (larger: closer to the raw teacher). ``'auto'`` picks it from
        ``(0.125, ..., 16)`` by the leave-one-out log-likelihood of the labeled rows.
    gate : {'chance', 'majority', 'labels', 'never'}, default='chance'
        When to train without the teacher. ``'chance'``: when its calibrated leave-one-out accuracy on the
        labeled rows is below guessing (``1 / n_classes``) plus ``gate_z`` standard errors.
        ``'majority'``: below the chance-or-majority level instead. ``'labels'``: below a logistic
        regression on the labeled rows by ``gate_z`` standard errors of the paired difference.
        ``'never'``: always use it (the published method). Needs at least 4 labeled rows.
    gate_z : float, default=0.0
        Margin of ``gate``, in standard errors; larger values drop more teachers.
    prior_estimate : {'auto', 'teacher', 'teacher+labels', 'labels'}, default='auto'
        How ``class_prior='auto'`` estimates the unlabeled rows' class prior. ``'teacher'``: EM on the
        calibrated teacher's posteriors (Saerens et al., 2002). ``'labels'``: the labeled rows' smoothed
        class frequencies. ``'teacher+labels'``: the mean of the teacher's EM estimate and the class shares
        a logistic regression fitted on the labeled rows predicts on the unlabeled ones (classify and
        count); two estimates whose errors differ. ``'auto'``: ``'teacher'`` when the labels were drawn
        class-balanced and the teacher is calibrated, ``'labels'`` otherwise. Without a calibrated
        teacher, ``'teacher'`` and ``'teacher+labels'`` fall back to ``'labels'``.
    prior_correction : {'loss', 'posthoc', 'none'}, default='loss'
        How the student is moved from the labeled rows' class prior to ``class_prior_`` (a no-op when the
        two agree). ``'loss'``: logit-adjusted supervised loss in stage 2. ``'posthoc'``: train as the
        published method does, shift ``predict_proba`` afterwards. ``'none'``: the published method.
    alignment_target : {'auto', 'labeled'} or array-like of shape (n_classes,), default='auto'
        Target of distribution alignment. ``'labeled'`` tracks the student's predictions on the labeled
        batches, as AdaMatch does. ``'auto'`` uses the fixed ``class_prior_`` when the labels were drawn
        class-balanced or ``class_prior`` was given, ``'labeled'`` otherwise. An array is used as given
        (in the order of ``classes_``).
    min_class_labels : int, default=10
        Rare-class guard: with random labels, skewed classes and some class with fewer labeled rows than
        this, stage 2 runs without the consistency loss (``lambda_u_ = 0``), with a warning. 0 never
        switches it off (the published method).
    max_prior_drift : float or None, default=None
        Opt-in drift guard: when stage 2 moves the student's mean predicted class shares further than this
        (total variation) from the class balance it trains towards, stage 2 is rerun without the
        consistency loss, with a warning. None: off.

    See Also
    --------
    ZeroMatchClassifier : the estimator these defences configure.

    Examples
    --------
    >>> from zeromatch_sk import Defences, ZeroMatchClassifier
    >>> clf = ZeroMatchClassifier(defences=Defences(gate="majority"))
    >>> clf.set_params(defences__gate="never").defences.gate
    'never'
    >>> Defences.off().gate
    'never'
    """

    _parameter_constraints: dict = {
        "label_sampling": [StrOptions({"auto", "balanced", "random"})],
        "calibration": [StrOptions({"auto", "bias+scale", "bias", "none"})],
        "calibration_reg": [StrOptions({"auto"}), Interval(numbers.Real, 0, None, closed="neither")],
        "gate": [StrOptions({"chance", "majority", "labels", "never"})],
        "gate_z": [Interval(numbers.Real, None, None, closed="neither")],
        "prior_estimate": [StrOptions({"auto", "teacher", "teacher+labels", "labels"})],
        "prior_correction": [StrOptions({"loss", "posthoc", "none"})],
        "alignment_target": [StrOptions({"auto", "labeled"}), "array-like"],
        "min_class_labels": [Interval(numbers.Integral, 0, None, closed="left")],
        "max_prior_drift": [Interval(numbers.Real, 0, 1, closed="right"), None],
    }

    def __init__(
        self,
        label_sampling="auto",
        calibration="auto",
        calibration_reg="auto",
        gate="chance",
        gate_z=0.0,
        prior_estimate="auto",
        prior_correction="loss",
        alignment_target="auto",
        min_class_labels=10,
        max_prior_drift=None,
    ):
        self.label_sampling = label_sampling
        self.calibration = calibration
        self.calibration_reg = calibration_reg
        self.gate = gate
        self.gate_z = gate_z
        self.prior_estimate = prior_estimate
        self.prior_correction = prior_correction
        self.alignment_target = alignment_target
        self.min_class_labels = min_class_labels
        self.max_prior_drift = max_prior_drift

    @classmethod
    def off(cls) -> Defences:
        """Every defence off: the published method (``ZeroMatchClassifier(defences='off')``)."""
        return cls(
            label_sampling="random",
            calibration="none",
            gate="never",
            prior_correction="none",
            alignment_target="labeled",
            min_class_labels=0,
            max_prior_drift=None,
        )

    def decide(
        self, X, y_index, unlabeled, teacher, *, classes, class_prior="auto", lambda_u=1.0, max_epochs=1
    ):
        """Decide, from the labeled rows and the teacher, what to train with.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            Training rows (the gate fits a logistic regression on the labeled ones).
        y_index : ndarray of shape (n_samples,)
            Class indices into ``classes``, -1 for unlabeled rows.
        unlabeled : ndarray of bool, shape (n_samples,)
            The unlabeled rows.
        teacher : ndarray of shape (n_samples, n_classes) or None
            The teacher's probabilities, as given.
        classes : ndarray of shape (n_classes,)
            The classes (for messages).
        class_prior : 'auto', 'uniform' or array-like, default='auto'
            The classifier's ``class_prior``.
        lambda_u : float, default=1.0
            The classifier's consistency-loss weight.
        max_epochs : int, default=1
            The classifier's stage-2 budget (without stage 2 a dropped teacher is kept).

        Returns
        -------
        DefenceDecision
        """
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        k = len(classes)
        labeled = ~unlabeled
        y_lab = y_index[labeled]
        n_lab = int(labeled.sum())
        labeled_prior = (np.bincount(y_lab, minlength=k) + 1.0) / (n_lab + k)
        sampling = self.label_sampling
        if sampling == "auto":
            sampling = _robust.infer_label_sampling(y_lab, k) if n_lab else "random"
        given = _given_prior(class_prior, classes)
        cal = self._calibrate(teacher, labeled, y_lab, sampling)
        _warn_if_constant(teacher, classes)
        T, gate_stats, gated = cal.teacher, None, False
        if teacher is not None and n_lab >= 4:
            gate_stats, keep = self._gate(teacher, X, labeled, y_lab, cal.reg, max_epochs)
            if not keep and max_epochs > 0:
                T, gated = None, True
        teacher_prior = _teacher_shares(T, teacher, cal, labeled, y_lab, unlabeled)
        prior, source = self._class_prior(given, class_prior, sampling, T, cal, (X, y_index), labeled_prior)
        if T is not None and cal.calibration != "none":
            T = _robust.logit_adjust(T, labeled_prior, prior)
        skewed = _robust.normalized_entropy(prior) < SKEWED_PRIOR_ENTROPY
        if sampling == "random" and teacher_prior is not None:
            # Twenty random labels of a 1:4 task often split 7 : 13; the teacher's shares catch that.
            skewed = skewed or _robust.normalized_entropy(teacher_prior) < SKEWED_PRIOR_ENTROPY
        offset = np.log(labeled_prior) - np.log(prior)
        use_offset = self.prior_correction == "loss" and np.abs(offset).max() > 1e-6
        return DefenceDecision(
            label_sampling=sampling,
            labeled_prior=labeled_prior,
            class_prior=prior,
            class_prior_source=source,
            teacher_raw=teacher,
            teacher=T,
            calibration=cal.calibration,
            calibration_reg=cal.reg,
            bias=cal.bias,
            scale=cal.scale,
            gate_stats=gate_stats,
            gated=gated,
            teacher_accuracy_calibrated=float("nan")
            if gate_stats is None
            else gate_stats["teacher_calibrated"],
            teacher_prior=teacher_prior,
            alignment_target=self._alignment_target(sampling, given, prior, classes),
            prior_correction=self.prior_correction,
            sup_logit_offset=offset if use_offset else None,
            lambda_u=self._consistency_weight(y_lab, classes, sampling, skewed, lambda_u, max_epochs),
            skewed=bool(skewed),
            drift_prior=labeled_prior if self.prior_correction == "posthoc" else prior,
            max_prior_drift=self.max_prior_drift,
        )

    # ------------------------------------------------------------ the steps
    def _calibrate(self, teacher, labeled, y_lab, sampling) -> _Calibrated:
        k = 0 if teacher is None else teacher.shape[1]
        n_lab = len(y_lab)
        # A one-hot teacher (hard labels) has no log-probabilities to recalibrate.
        soft = teacher is not None and not np.all(teacher.max(axis=1) > 1.0 - 1e-6)
        calibration = self.calibration
        if calibration == "auto":
            # Measured: with randomly drawn labels calibration hurt (long-tailed TREC) and bought nothing
            # the gate did not; with class-balanced labels it feeds the class-prior estimate.
            calibration = "bias" if sampling == "balanced" else "none"
        applied = calibration if soft and n_lab >= 2 else "none"
        reg = self.calibration_reg
        if isinstance(reg, str):  # 'auto': the penalty the labeled rows' held-out likelihood prefers
            reg = (
                _robust.select_calibration_reg(teacher[labeled], y_lab, fit_scale=calibration == "bias+scale")
                if soft and n_lab >= 2
                else 0.5
            )
        bias, scale, T = np.zeros(k), 1.0, teacher
        if applied == "bias":
            bias = _robust.fit_teacher_bias(teacher[labeled], y_lab, reg=reg)
        elif applied == "bias+scale":
            bias, scale = _robust.fit_teacher_calibration(teacher[labeled], y_lab, reg=reg)
        if applied != "none":
            T = _robust.apply_teacher_bias(teacher, bias, scale)
        return _Calibrated(T, soft, applied, float(reg), bias, float(scale))

    def _gate(self, teacher, X, labeled, y_lab, reg, max_epochs):
        """The gate's statistics and whether to keep the teacher; warns when it is weak."""
        stats = _robust.teacher_vs_labels(teacher[labeled], y_lab, X[labeled], reg=reg)
        keep = _robust.teacher_gate(stats, rule=self.gate, z=self.gate_z)
        below = (
            "chance"
            if stats.teacher_calibrated < stats.chance
            else "majority"
            if stats.teacher_calibrated < stats.reference
            else None
        )
        action = _gate_action(self.gate, keep, below, max_epochs)
        if action is not None:
            # A closed gate names its own level (with gate_z > 0 the teacher may be above it); else the one missed.
            versus = self.gate if not keep and self.gate in ("labels", "chance") else below or "majority"
            warnings.warn(_teacher_warning(stats, versus, action), UserWarning, stacklevel=5)
        return dataclasses.asdict(stats), keep

    def _class_prior(self, given, class_prior, sampling, T, cal, rows, labeled_prior):
        X, y_index = rows
        unlabeled = y_index < 0
        method = self.prior_estimate
        if method == "auto":
            # Measured (docs: robustness, "prior-estimate"): with balanced labels teacher-EM had the lowest
            # mean L1 error on the skewed cases; with random labels the labels' own frequencies are unbiased.
            method = "teacher" if sampling == "balanced" else "labels"
        usable = T is not None and cal.calibration != "none" and unlabeled.any()
        if given is not None:
            prior, source = given, "uniform" if isinstance(class_prior, str) else "given"
        elif method in ("teacher", "teacher+labels") and usable:
            # The calibrated teacher's posteriors hold under the labeled prior; EM moves them to the unlabeled rows'.
            prior, source = _robust.estimate_prior_em(T[unlabeled], train_prior=labeled_prior), "teacher-em"
            if method == "teacher+labels":
                counted = _robust.classify_and_count(
                    X[~unlabeled], y_index[~unlabeled], X[unlabeled], len(prior)
                )
                prior, source = (prior + counted) / 2, "teacher-em+labels-cc"
        else:
            # The labels estimate the prior (random sampling), or nothing better is at hand.
            prior, source = labeled_prior, "labels"
        prior = np.maximum(prior, 1e-3)  # distribution alignment divides by it
        return prior / prior.sum(), source

    def _alignment_target(self, sampling, given, prior, classes):
        if not isinstance(self.alignment_target, str):
            return check_prior(self.alignment_target, classes, "Defences(alignment_target=...)")
        if self.alignment_target == "auto" and (sampling == "balanced" or given is not None):
            return prior
        return None

    def _consistency_weight(self, y_lab, classes, sampling, skewed, lambda_u, max_epochs) -> float:
        """``lambda_u``, or 0 for a rare class drawn at random: a skewed prior, random labels, and a class
        with fewer than ``min_class_labels``: its hard pseudo-labels then drift the student's class balance."""
        counts = np.bincount(y_lab, minlength=len(classes))
        if not (
            lambda_u > 0
            and max_epochs > 0
            and len(y_lab)
            and sampling == "random"
            and counts.min() < self.min_class_labels
            and skewed
        ):
            return float(lambda_u)
        rare = [str(c) for c in np.asarray(classes)[counts < self.min_class_labels]]
        warnings.warn(
            f"Labels look randomly drawn from skewed classes, and class(es) {', '.join(rare)} have fewer than "
            f"min_class_labels={self.min_class_labels} labeled rows ({int(counts.min())} at least): too few "
            "to anchor pseudo-labels, so stage 2 trains without the unlabeled consistency loss "
            "(lambda_u_=0; the labels and the teacher's auxiliary head still train it). Label more rows of "
            "those classes, or set defences=Defences(min_class_labels=0) to keep the loss.",
            UserWarning,
            stacklevel=5,
        )
        return 0.0


def resolve_defences(spec) -> Defences:
    """The :class:`Defences` that ``ZeroMatchClassifier(defences=spec)`` uses.

    Parameters
    ----------
    spec : {'auto', 'off'} or Defences
        The classifier's ``defences``: ``'auto'`` gives ``Defences()``, ``'off'`` gives
        :meth:`Defences.off`, an instance is returned as is.

    Returns
    -------
    Defences
    """
    if isinstance(spec, Defences):
        return spec
    if spec == "off":
        return Defences.off()
    return Defences()


def _given_prior(class_prior, classes):
    if not isinstance(class_prior, str):
        return check_prior(class_prior, classes, "class_prior")
    if class_prior == "uniform":
        return np.full(len(classes), 1.0 / len(classes))
    return None


def _teacher_shares(T, teacher, cal, labeled, y_lab, unlabeled):
    """The class shares the calibrated teacher predicts for the unlabeled rows: a second reading of the
    class balance, from thousands of rows rather than a handful of labels. Only for a soft teacher: hard
    labels cannot be calibrated, and a biased one would read as skewed classes."""
    if T is None or not cal.soft or len(y_lab) < 2 or not unlabeled.any():
        return None
    rows = T[unlabeled]
    if cal.calibration == "none":  # calibrate for this reading only
        rows = _robust.apply_teacher_bias(
            rows, _robust.fit_teacher_bias(teacher[labeled], y_lab, reg=cal.reg)
        )
    shares = rows.mean(axis=0)
    return shares / shares.sum()


def _warn_if_constant(teacher, classes):
    """A teacher that names one class for (nearly) every row carries no information, whatever the gate says:
    the usual cause is a rule or prompt that sees other inputs than it was written for."""
    if teacher is None or len(teacher) < 2:
        return
    shares = np.bincount(teacher.argmax(axis=1), minlength=teacher.shape[1]) / len(teacher)
    top = int(shares.argmax())
    if shares[top] >= CONSTANT_TEACHER_SHARE:
        warnings.warn(
            f"The teacher puts {shares[top]:.0%} of the {len(teacher)} training rows in class "
            f"{np.asarray(classes).tolist()[top]!r}: it is (nearly) constant and carries no information about the other classes. "
            "Check that the provider sees the inputs it was written for (a rule written for raw columns "
            "receives scaled ones inside a Pipeline: use zeromatch_sk.pipeline.make_pipeline(..., provider=...)), "
            "and that its classes are in the order of classes_.",
            UserWarning,
            stacklevel=5,
        )


def _gate_action(rule, keep, below, max_epochs):
    """What happened to a weak teacher, in words, or None when there is nothing to say."""
    if not keep and max_epochs == 0:
        # Without stage 2 there is nothing to train once the teacher is gone: keep it, say so.
        return "It is still used: with max_epochs=0 the student learns from the teacher alone."
    if not keep:
        return (
            f"It was switched off (defences gate={rule!r}) and ZeroMatch trained as AdaMatch; pass "
            "defences=Defences(gate='never') to keep it, or try a better provider or prompts."
        )
    if below == "chance":
        return (
            f"It is still used (defences gate={rule!r}). Pass defences=Defences(gate='chance') to switch it "
            "off, and check that the provider's classes are in the order of classes_."
        )
    if below == "majority":
        return (
            f"It is still used (defences gate={rule!r}): teachers below the majority rate but above "
            "guessing still helped ZeroMatch on the benchmark. Pass defences=Defences(gate='majority') to "
            "switch it off, or let the labels choose with zeromatch_sk.model_selection.safe_search."
        )
    return None


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
