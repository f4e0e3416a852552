"""Defences against weak or biased teachers, class imbalance and class-balanced label sampling.

Small pure numpy functions; none keeps state and none trains the student.
They run before ``fit`` trains (calibrate the teacher, estimate the class
prior of the unlabeled rows, decide whether to trust the teacher) or after it
(shift predicted probabilities to another class prior).

Conventions: probability matrices are ``(n_samples, n_classes)`` with columns
in the order of ``classes_``; labels are class *indices* ``0 .. n_classes-1``;
priors are 1-D arrays of positive numbers (normalised on input).

References
----------
Saerens, Latinne & Decaestecker (2002), "Adjusting the outputs of a classifier
to new a priori probabilities: a simple procedure", Neural Computation 14(1).
Menon et al. (2021), "Long-tail learning via logit adjustment", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "CALIBRATION_REG_GRID",
    "TeacherGateStats",
    "apply_teacher_bias",
    "check_prior",
    "estimate_prior_em",
    "fit_teacher_bias",
    "fit_teacher_calibration",
    "infer_label_sampling",
    "logit_adjust",
    "normalized_entropy",
    "select_calibration_reg",
    "teacher_gate",
    "teacher_vs_labels",
]

#: Probabilities are clipped to this before taking logarithms.
EPS = 1e-12


def check_prior(prior, n_classes: int, name: str, classes=None) -> np.ndarray:
    """``prior`` as a normalised class prior over ``n_classes`` classes (``None``: uniform), or a ValueError
    naming ``name`` (and ``classes``, the order the entries must follow, when given).

    The one check of a class prior: the classifier's ``class_prior``, the defences' ``alignment_target`` and
    the priors this module's functions take all go through it.
    """
    if prior is None:
        return np.full(n_classes, 1.0 / n_classes)
    values = np.asarray(prior, dtype=np.float64)
    if values.shape != (n_classes,) or not np.all(np.isfinite(values)) or np.any(values <= 0):
        order = f", in the order of classes_ = {list(classes)}" if classes is not None else ""
        raise ValueError(
            f"{name} must be a class prior with one positive entry per class ({n_classes} classes{order}); "
            f"got {prior!r}."
        )
    return values / values.sum()


def _as_proba(P, name: str = "P") -> np.ndarray:
    P = np.asarray(P, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2:
        raise ValueError(
            f"{name} must be a 2-D probability matrix with at least 2 columns; got shape {P.shape}."
        )
    if not np.all(np.isfinite(P)) or np.any(P < 0):
        raise ValueError(f"{name} must hold finite non-negative probabilities.")
    return P


def _normalise_rows(A: np.ndarray) -> np.ndarray:
    return A / A.sum(axis=1, keepdims=True)


def logit_adjust(proba, prior_from, prior_to) -> np.ndarray:
    """Move class probabilities from one class prior to another (Bayes' rule).

    A posterior computed under class prior ``prior_from`` becomes the
    posterior under ``prior_to``: ``p'_k = p_k * to_k / from_k``, renormalised.
    In log space this adds ``log to_k - log from_k`` to each logit, which is
    post-hoc logit adjustment.

    Parameters
    ----------
    proba : array-like of shape (n_samples, n_classes)
        Class probabilities, rows summing to 1.
    prior_from, prior_to : array-like of shape (n_classes,)
        Class priors (normalised here). ``None`` means uniform.

    Returns
    -------
    ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk._robust import logit_adjust
    >>> logit_adjust([[0.5, 0.5]], [0.5, 0.5], [0.9, 0.1]).round(3)
    array([[0.9, 0.1]])
    >>> logit_adjust([[0.9, 0.1]], [0.9, 0.1], None).round(3)   # and back
    array([[0.5, 0.5]])
    """
    P = _as_proba(proba, "proba")
    k = P.shape[1]
    ratio = check_prior(prior_to, k, "prior_to") / check_prior(prior_from, k, "prior_from")
    Q = P * ratio
    sums = Q.sum(axis=1, keepdims=True)
    # A row that was all zeros stays uniform rather than dividing by zero.
    return np.where(sums > 0, Q / np.where(sums > 0, sums, 1.0), 1.0 / k)


def estimate_prior_em(P, train_prior=None, *, max_iter: int = 1000, tol: float = 1e-8) -> np.ndarray:
    """Class prior of unlabeled rows by EM re-estimation (Saerens et al., 2002).

    ``P`` holds posteriors ``p(k | x)`` from a model calibrated under the class
    prior ``train_prior``. On a population whose prior ``pi`` differs, the
    posteriors are ``p(k | x) * pi_k / train_k`` (renormalised) and ``pi`` is
    their mean; iterating these two steps from ``pi = train_prior`` is EM on
    the likelihood of the unlabeled rows with ``pi`` the only free parameter.

    Parameters
    ----------
    P : array-like of shape (n_samples, n_classes)
        Posterior probabilities of the unlabeled rows.
    train_prior : array-like of shape (n_classes,) or None, default=None
        The class prior under which ``P`` is calibrated; ``None`` is uniform.
        For a teacher calibrated on labeled rows, the labeled rows' class
        frequencies.
    max_iter : int, default=1000
        EM iterations at most.
    tol : float, default=1e-8
        Stop when no entry of the prior moves by more than this.

    Returns
    -------
    prior : ndarray of shape (n_classes,)
        Estimated class prior, summing to 1.

    Notes
    -----
    The estimate is only as good as the calibration of ``P``: an
    over-confident model makes EM over-shoot towards the classes it
    over-predicts. Calibrate first (:func:`fit_teacher_bias`).

    Examples
    --------
    Two rows that a uniform-prior model finds ambiguous 3:1 and 1:3 give back
    a uniform prior; the same rows with class 0 twice as often do not:

    >>> import numpy as np
    >>> from zeromatch_sk._robust import estimate_prior_em
    >>> estimate_prior_em([[0.75, 0.25], [0.25, 0.75]]).round(3)
    array([0.5, 0.5])
    >>> estimate_prior_em([[0.75, 0.25], [0.75, 0.25], [0.25, 0.75]]).round(3)
    array([0.833, 0.167])
    """
    P = _as_proba(P)
    if len(P) == 0:
        raise ValueError("P has no rows: the prior of an empty set cannot be estimated.")
    train = check_prior(train_prior, P.shape[1], "train_prior")
    base = _normalise_rows(np.maximum(P, EPS)) / train  # p(k|x) / train_k, fixed across iterations
    prior = train.copy()
    for _ in range(max_iter):
        post = _normalise_rows(base * prior)
        new = post.mean(axis=0)
        if np.max(np.abs(new - prior)) < tol:
            prior = new
            break
        prior = new
    return prior / prior.sum()


def classify_and_count(X_labeled, y_labeled_idx, X_unlabeled, n_classes: int) -> np.ndarray:
    """Class shares a logistic regression fitted on the labeled rows predicts on the unlabeled ones.

    Classify and count (Forman, 2008): biased towards the labeled rows' class balance when the
    classifier errs, but its errors do not depend on a teacher's. With a single labeled class the
    shares are that class's.

    Parameters
    ----------
    X_labeled : ndarray of shape (n_labeled, n_features)
    y_labeled_idx : ndarray of shape (n_labeled,)
        Class indices in ``[0, n_classes)``.
    X_unlabeled : ndarray of shape (n_unlabeled, n_features)
    n_classes : int

    Returns
    -------
    shares : ndarray of shape (n_classes,)

    Examples
    --------
    >>> X = np.array([[0.0], [0.2], [2.0], [2.2]])
    >>> classify_and_count(X, np.array([0, 0, 1, 1]), np.array([[0.1], [2.1], [2.5], [1.9]]), 2)
    array([0.25, 0.75])
    """
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y_labeled_idx)
    present = np.unique(y)
    if len(present) < 2:
        pred = np.full(len(X_unlabeled), present[0] if len(present) else 0)
    else:
        pred = LogisticRegression(max_iter=1000).fit(X_labeled, y).predict(X_unlabeled)
    return np.bincount(pred, minlength=n_classes) / max(len(pred), 1)


def apply_teacher_bias(P, bias, scale: float = 1.0) -> np.ndarray:
    """Add a per-class bias to the teacher's (scaled) log-probabilities and renormalise.

    ``softmax(scale * log P + bias)``, row by row: the calibration fitted by
    :func:`fit_teacher_bias` (``scale=1``) or :func:`fit_teacher_calibration`.

    Parameters
    ----------
    P : array-like of shape (n_samples, n_classes)
        Teacher probabilities.
    bias : array-like of shape (n_classes,)
        Additive bias in nats (log-probability units).
    scale : float, default=1.0
        Multiplier of the log-probabilities (an inverse temperature).

    Returns
    -------
    ndarray of shape (n_samples, n_classes)

    Examples
    --------
    A bias of ``log 3`` on class 0 turns 1:1 into 3:1; a scale of 1/2 turns
    0.9:0.1 into sqrt(9):1 = 3:1:

    >>> import numpy as np
    >>> from zeromatch_sk._robust import apply_teacher_bias
    >>> apply_teacher_bias([[0.5, 0.5]], [np.log(3.0), 0.0]).round(3)
    array([[0.75, 0.25]])
    >>> apply_teacher_bias([[0.9, 0.1]], [0.0, 0.0], scale=0.5).round(3)
    array([[0.75, 0.25]])
    """
    P = _as_proba(P)
    bias = np.asarray(bias, dtype=np.float64)
    if bias.shape != (P.shape[1],):
        raise ValueError(f"bias must have one entry per class ({P.shape[1]}); got shape {bias.shape}.")
    Z = float(scale) * np.log(np.maximum(P, EPS)) + bias
    Z -= Z.max(axis=1, keepdims=True)
    return _normalise_rows(np.exp(Z))


def _newton_calibration(P, y, reg, fit_scale, max_iter, tol):
    """Penalised multinomial fit of ``softmax(s * log P + b)``; returns ``(b, s)``."""
    P = _as_proba(P, "P_labeled")
    n, k = P.shape
    y = np.asarray(y)
    if y.shape != (n,) or (n and (y.min() < 0 or y.max() >= k)):
        raise ValueError(f"y_labeled_idx must hold {n} class indices in [0, {k}); got {y!r}.")
    if not reg > 0:
        raise ValueError(f"reg must be > 0 (it makes the fit unique); got {reg!r}.")
    L = np.log(np.maximum(P, EPS))
    onehot = np.eye(k)[y.astype(int)] if n else np.zeros((0, k))
    m = k + 1 if fit_scale else k
    theta = np.zeros(m)  # (b_1 .. b_k [, s - 1])

    def unpack(th):
        return th[:k], (1.0 + th[k]) if fit_scale else 1.0

    def logits(th):
        b, s = unpack(th)
        return s * L + b

    def objective(th):
        Z = logits(th)
        mx = Z.max(axis=1, keepdims=True) if n else np.zeros((0, 1))
        lse = mx[:, 0] + np.log(np.exp(Z - mx).sum(axis=1)) if n else np.zeros(0)
        return float(lse.sum() - (Z * onehot).sum() + 0.5 * reg * float(th @ th))

    f = objective(theta)
    for _ in range(max_iter):
        Z = logits(theta)
        Q = _normalise_rows(np.exp(Z - Z.max(axis=1, keepdims=True))) if n else np.zeros((0, k))
        R = Q - onehot
        grad = np.empty(m)
        grad[:k] = R.sum(axis=0)
        hess = np.zeros((m, m))
        hess[:k, :k] = np.diag(Q.sum(axis=0)) - Q.T @ Q
        if fit_scale:
            qL = (Q * L).sum(axis=1)  # E_q[log P] per row
            grad[k] = (R * L).sum()
            hess[:k, k] = hess[k, :k] = (Q * L).sum(axis=0) - Q.T @ qL
            hess[k, k] = ((Q * L * L).sum(axis=1) - qL**2).sum()
        grad += reg * theta
        hess += reg * np.eye(m)
        step = np.linalg.solve(hess, grad)
        decrement = float(grad @ step)
        if decrement < tol:
            break
        t = 1.0  # backtracking line search (Armijo)
        while True:
            f_new = objective(theta - t * step)
            if f_new <= f - 0.25 * t * decrement or t < 1e-8:
                break
            t *= 0.5
        theta, f = theta - t * step, f_new
    return unpack(theta)


def fit_teacher_bias(P_labeled, y_labeled_idx, *, reg: float = 0.5, max_iter: int = 50, tol: float = 1e-14):
    """Per-class additive bias on the teacher's log-probabilities, fitted on labeled rows.

    Minimises ``sum_i -log softmax(log P_i + b)[y_i] + reg / 2 * ||b||^2`` by
    Newton's method. The objective is strictly convex for ``reg > 0``. The
    penalty is a Gaussian prior ``N(0, 1 / reg)`` on each bias (``reg=0.5``:
    standard deviation 1.4 nats) and pins down the otherwise free common
    offset (at the optimum the biases sum to 0). With a handful of labels the
    fit is noisy; the penalty keeps a teacher that is already calibrated
    close to where it was.

    The calibrated teacher is calibrated for the class balance *of the labeled
    rows*: with labels drawn class-balanced it over-predicts minority classes
    on the unlabeled rows until its outputs are moved to their prior
    (:func:`estimate_prior_em`, :func:`logit_adjust`).

    Parameters
    ----------
    P_labeled : array-like of shape (n_labeled, n_classes)
        Teacher probabilities of the labeled rows.
    y_labeled_idx : array-like of shape (n_labeled,)
        Their true class indices (``0 .. n_classes-1``).
    reg : float, default=0.5
        L2 penalty on the bias (strictly positive).
    max_iter : int, default=50
        Newton steps at most.
    tol : float, default=1e-14
        Stop when the squared Newton decrement falls below this (about the squared error of the estimate).

    Returns
    -------
    bias : ndarray of shape (n_classes,)
        Apply with :func:`apply_teacher_bias`.

    Examples
    --------
    One row, teacher at 1:1, true class 0, ``reg=1``: the optimum has
    ``b = (t, -t)``; setting the gradient ``softmax(b) - (1, 0) + b`` to zero
    gives ``t = 1 / (1 + exp(2 t))``, i.e. ``t = 0.3374``:

    >>> from zeromatch_sk._robust import fit_teacher_bias
    >>> fit_teacher_bias([[0.5, 0.5]], [0], reg=1.0).round(4)
    array([ 0.3374, -0.3374])
    """
    return _newton_calibration(P_labeled, y_labeled_idx, reg, False, max_iter, tol)[0]


def fit_teacher_calibration(
    P_labeled, y_labeled_idx, *, reg: float = 0.5, max_iter: int = 50, tol: float = 1e-14
):
    """Per-class bias and a common scale (inverse temperature) of the teacher's log-probabilities.

    As :func:`fit_teacher_bias`, with one more parameter: the teacher becomes
    ``softmax(s * log P + b)``; the penalty is ``reg / 2 * (||b||^2 + (s - 1)^2)``.
    Zero-shot teachers built as ``softmax(large * cosine)`` are over-confident;
    the scale softens them, which prior estimation by EM needs
    (:func:`estimate_prior_em` trusts the posteriors it is given).

    Returns
    -------
    bias : ndarray of shape (n_classes,)
    scale : float

    Examples
    --------
    A teacher that says 0.9:0.1 but is right only 3 times out of 4 is
    tempered (scale < 1) and keeps its (symmetric) zero bias:

    >>> from zeromatch_sk._robust import fit_teacher_calibration
    >>> P = [[0.9, 0.1]] * 4 + [[0.1, 0.9]] * 4
    >>> y = [0, 0, 0, 1, 1, 1, 1, 0]
    >>> bias, scale = fit_teacher_calibration(P, y, reg=1e-6)
    >>> bias.round(3) + 0.0, round(scale, 3)          # 3:1 odds = 9**s  ->  s = log 3 / log 9
    (array([0., 0.]), 0.5)
    """
    bias, scale = _newton_calibration(P_labeled, y_labeled_idx, reg, True, max_iter, tol)
    return bias, float(scale)


def _held_out_folds(y, n_classes: int, max_loo: int, random_state) -> list:
    """Leave-one-out folds over the labeled rows, or 10-fold stratified (fewer if a class is small) above ``max_loo``."""
    n = len(y)
    if n <= max_loo:
        return [(np.delete(np.arange(n), i), np.array([i])) for i in range(n)]
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=n_classes)
    n_splits = int(min(10, max(2, counts[counts > 0].min())))
    return list(StratifiedKFold(n_splits, shuffle=True, random_state=random_state).split(np.zeros(n), y))


CALIBRATION_REG_GRID = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def select_calibration_reg(
    P_labeled,
    y_labeled_idx,
    *,
    fit_scale: bool = False,
    grid=CALIBRATION_REG_GRID,
    max_loo: int = 100,
    random_state=0,
) -> float:
    """The calibration penalty with the best held-out log-likelihood of the labeled rows.

    Each ``reg`` of ``grid`` is scored by leave-one-out (10-fold stratified
    above ``max_loo`` rows): the calibration is fitted on the other rows and
    scored by the log-probability it gives the held-out row's class. Ties go
    to the larger penalty, i.e. the smaller change to the teacher. A teacher
    that is already calibrated gets a large penalty (its biases stay near
    zero); one that prefers some classes gets a small one.

    Parameters
    ----------
    P_labeled : array-like of shape (n_labeled, n_classes)
        Teacher probabilities of the labeled rows.
    y_labeled_idx : array-like of shape (n_labeled,)
        Their class indices.
    fit_scale : bool, default=False
        Score :func:`fit_teacher_calibration` (bias and scale) instead of
        :func:`fit_teacher_bias`.
    grid : sequence of float
        Candidate penalties (all > 0).
    max_loo : int, default=100
        Leave-one-out up to this many labeled rows, 10-fold above.
    random_state : int, default=0
        Seeds the fold split above ``max_loo`` rows.

    Returns
    -------
    float

    Examples
    --------
    A teacher that always says 0.9 for class 0, on rows that are half class
    1, is moved most of the way (a small penalty: leave-one-out slightly
    penalises fitting the held-out row's own class balance); one that is
    right and calibrated is left alone (the largest):

    >>> import numpy as np
    >>> from zeromatch_sk._robust import select_calibration_reg
    >>> P = np.array([[0.9, 0.1]] * 10)
    >>> select_calibration_reg(P, np.array([0, 1] * 5))
    0.5
    >>> P = np.array([[0.75, 0.25]] * 8 + [[0.25, 0.75]] * 8)
    >>> select_calibration_reg(P, np.array([0] * 6 + [1] * 2 + [1] * 6 + [0] * 2))
    16.0
    """
    P = _as_proba(P_labeled, "P_labeled")
    n, k = P.shape
    y = np.asarray(y_labeled_idx, dtype=int)
    if n < 2:
        return float(max(grid))
    folds = _held_out_folds(y, k, max_loo, random_state)
    best_reg, best_ll = None, -np.inf
    for reg in sorted(grid, reverse=True):  # largest first: ties keep it
        ll = 0.0
        for train, test in folds:
            if fit_scale:
                bias, scale = fit_teacher_calibration(P[train], y[train], reg=reg)
            else:
                bias, scale = fit_teacher_bias(P[train], y[train], reg=reg), 1.0
            Q = apply_teacher_bias(P[test], bias, scale)
            ll += float(np.log(np.maximum(Q[np.arange(len(test)), y[test]], EPS)).sum())
        if ll > best_ll + 1e-9:
            best_reg, best_ll = float(reg), ll
    return best_reg


def infer_label_sampling(y_labeled_idx, n_classes: int) -> str:
    """Guess how the labeled rows were drawn: ``'balanced'`` or ``'random'``.

    ``'balanced'`` when every class has the same number of labeled rows, up
    to one (``max count - min count <= 1``, every class present); otherwise
    ``'random'``. On imbalanced data a random draw rarely looks like this
    (20 rows from a 13 % / 87 % population split exactly 10/10 with
    probability ``C(20,10) * 0.13**10 * 0.87**10 = 6e-5``); on balanced data it
    often does, and then the two readings agree anyway (the label prior and
    the population prior are both near uniform).

    Examples
    --------
    >>> from zeromatch_sk._robust import infer_label_sampling
    >>> infer_label_sampling([0, 0, 1, 1, 2], 3)
    'balanced'
    >>> infer_label_sampling([0, 0, 0, 1], 2)
    'random'
    """
    counts = np.bincount(np.asarray(y_labeled_idx, dtype=int), minlength=n_classes)
    if counts.min() > 0 and counts.max() - counts.min() <= 1:
        return "balanced"
    return "random"


@dataclass(frozen=True)
class TeacherGateStats:
    """How the teacher compares with the labeled data alone, measured on the labeled rows.

    All accuracies are fractions of the ``n`` labeled rows; ``*_se`` are
    binomial standard errors ``sqrt(a (1 - a) / n)``. ``diff`` is
    ``teacher_calibrated - labels`` and ``diff_se`` the standard error of that
    *paired* difference (``std(d_i, ddof=1) / sqrt(n)`` with
    ``d_i = [teacher right] - [labels right]`` in ``{-1, 0, 1}``, floored at
    ``1 / n`` so that ten ties do not claim certainty).
    """

    n: int
    teacher: float
    teacher_calibrated: float
    labels: float
    reference: float
    teacher_se: float
    labels_se: float
    reference_se: float
    diff: float
    diff_se: float
    chance: float
    chance_se: float


def _binomial_se(acc: float, n: int) -> float:
    return float(np.sqrt(max(acc * (1.0 - acc), 0.0) / n)) if n else float("nan")


def teacher_vs_labels(
    P_labeled,
    y_labeled_idx,
    X_labeled,
    *,
    reg: float = 0.5,
    C: float = 1.0,
    max_loo: int = 100,
    random_state=0,
) -> TeacherGateStats:
    """Teacher accuracy on the labeled rows against what the labels alone achieve.

    - ``teacher``: the raw teacher's argmax accuracy on the labeled rows.
    - ``teacher_calibrated``: leave-one-out accuracy of the teacher calibrated
      by :func:`fit_teacher_bias` on the *other* labeled rows (in-sample it
      would be optimistic).
    - ``labels``: leave-one-out accuracy of an L2 logistic regression
      (``C``) on the labeled rows' features; 10-fold stratified
      cross-validation instead when there are more than ``max_loo`` rows.
      A class with a single labeled row is always missed when that row is
      held out, as it would be on new data.
    - ``reference``: the chance-or-majority level on the labeled rows,
      ``max(1 / n_classes, largest class frequency)``.
    - ``chance``: the accuracy of guessing, ``1 / n_classes``.

    With 20 labels every one of these is coarse: a binomial standard error
    of ``sqrt(0.8 * 0.2 / 20) = 0.09`` at 80 % accuracy. Decide with
    :func:`teacher_gate`, which takes the noise into account.

    Parameters
    ----------
    P_labeled : array-like of shape (n_labeled, n_classes)
    y_labeled_idx : array-like of shape (n_labeled,)
        Class indices ``0 .. n_classes-1``.
    X_labeled : array-like of shape (n_labeled, n_features)
    reg : float, default=0.5
        Penalty of the teacher bias fit.
    C : float, default=1.0
        Inverse regularisation of the logistic regression.
    max_loo : int, default=100
        Leave-one-out up to this many labeled rows, 10-fold above.
    random_state : int, default=0
        Seeds the fold split above ``max_loo`` rows.

    Returns
    -------
    TeacherGateStats

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk._robust import teacher_vs_labels
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [1.2]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> P = np.array([[0.9, 0.1]] * 3 + [[0.2, 0.8]] * 3)   # a perfect teacher
    >>> s = teacher_vs_labels(P, y, X, C=100.0)
    >>> s.teacher, s.teacher_calibrated, s.labels, s.reference, s.chance
    (1.0, 1.0, 1.0, 0.5, 0.5)
    """
    from sklearn.linear_model import LogisticRegression

    P = _as_proba(P_labeled, "P_labeled")
    n, k = P.shape
    y = np.asarray(y_labeled_idx, dtype=int)
    X = np.asarray(X_labeled, dtype=np.float64)
    if y.shape != (n,) or len(X) != n:
        raise ValueError("P_labeled, y_labeled_idx and X_labeled must have one row per labeled sample.")
    teacher_right = P.argmax(axis=1) == y

    folds = _held_out_folds(y, k, max_loo, random_state)

    cal_right = np.zeros(n, dtype=bool)
    lab_right = np.zeros(n, dtype=bool)
    for train, test in folds:
        bias = fit_teacher_bias(P[train], y[train], reg=reg)
        cal_right[test] = apply_teacher_bias(P[test], bias).argmax(axis=1) == y[test]
        present = np.unique(y[train])
        if len(present) == 1:
            lab_right[test] = y[test] == present[0]
        else:
            lr = LogisticRegression(C=C, max_iter=1000).fit(X[train], y[train])
            lab_right[test] = lr.predict(X[test]) == y[test]

    freq = np.bincount(y, minlength=k) / max(n, 1)
    reference = float(max(1.0 / k, freq.max()))
    d = cal_right.astype(float) - lab_right.astype(float)
    diff_se = float(np.std(d, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    acc_t, acc_c, acc_l = float(teacher_right.mean()), float(cal_right.mean()), float(lab_right.mean())
    return TeacherGateStats(
        n=n,
        teacher=acc_t,
        teacher_calibrated=acc_c,
        labels=acc_l,
        reference=reference,
        teacher_se=_binomial_se(acc_t, n),
        labels_se=_binomial_se(acc_l, n),
        reference_se=_binomial_se(reference, n),
        diff=acc_c - acc_l,
        diff_se=max(diff_se, 1.0 / n) if n else float("nan"),
        chance=1.0 / k,
        chance_se=_binomial_se(1.0 / k, n),
    )


def teacher_gate(stats: TeacherGateStats, *, rule: str = "chance", z: float = 1.0) -> bool:
    """Whether to keep the teacher (True) or train without it (False).

    Rules, on the statistics of :func:`teacher_vs_labels`:

    - ``'chance'``: drop the teacher when its calibrated accuracy is not
      above guessing (``1 / n_classes``) by ``z`` binomial standard errors of
      that level: ``teacher_calibrated < chance + z * sqrt(c (1 - c) / n)``.
      This catches a teacher that carries no information or the wrong
      information (classes in the wrong order, a broken prompt).
    - ``'majority'``: the same against the chance-or-majority level
      ``reference`` (which differs from chance only when the labeled rows
      are dominated by one class). Stricter: it also drops a teacher that is
      informative but less accurate than predicting the majority class;
      ZeroMatch still gained from such teachers on the benchmark.
    - ``'labels'``: drop it when it is worse than the labels alone by ``z``
      standard errors of the paired difference:
      ``diff < -z * diff_se``. A teacher that is worse than the labels but
      better than guessing often helps (on balanced TREC a 45 % teacher
      lifts the student above a 57 % logistic regression).
    - ``'never'``: always keep it.

    With ``n = 20`` binary labels and ``z = 1``, ``'chance'`` keeps a
    teacher from 61 % leave-one-out accuracy on (``0.5 + sqrt(0.25 / 20)``);
    with ``z = 0`` (:class:`~zeromatch_sk.ZeroMatchClassifier`'s default
    ``gate_z``) from 50 %.

    Examples
    --------
    >>> from zeromatch_sk._robust import TeacherGateStats, teacher_gate

    Twenty labels of a 1:4 binary task, 16 of the majority class; a teacher
    right on 14 of them (leave-one-out, calibrated):

    >>> s = TeacherGateStats(n=20, teacher=0.7, teacher_calibrated=0.7, labels=0.8, reference=0.8,
    ...                      teacher_se=0.10, labels_se=0.09, reference_se=0.09, diff=-0.15, diff_se=0.1,
    ...                      chance=0.5, chance_se=0.11)
    >>> [teacher_gate(s, rule=r) for r in ("chance", "majority", "labels", "never")]
    [True, False, False, True]
    >>> teacher_gate(s, rule="chance", z=2.0)   # 0.7 < 0.5 + 2 * 0.11
    False
    """
    if rule == "never":
        return True
    if rule == "chance":
        return bool(stats.teacher_calibrated >= stats.chance + z * stats.chance_se)
    if rule == "majority":
        return bool(stats.teacher_calibrated >= stats.reference + z * stats.reference_se)
    if rule == "labels":
        return bool(stats.diff >= -z * stats.diff_se)
    raise ValueError(f"rule must be 'chance', 'majority', 'labels' or 'never'; got {rule!r}.")


def normalized_entropy(prior) -> float:
    """Entropy of a class distribution divided by ``log(n_classes)``: 1 for uniform, towards 0 for one class.

    Examples
    --------
    >>> round(normalized_entropy([0.5, 0.5]), 3), round(normalized_entropy([0.9, 0.1]), 3)
    (1.0, 0.469)
    """
    p = np.asarray(prior, dtype=float)
    p = p / p.sum()
    if len(p) < 2:
        return 1.0
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(len(p)))
