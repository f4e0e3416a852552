"""Model selection for semi-supervised data, where ``y == -1`` marks unlabeled rows.

scikit-learn's stock tools assume every row is labeled. On semi-supervised data
they go wrong quietly: :class:`~sklearn.model_selection.StratifiedKFold` treats
``-1`` as one more class, unlabeled rows land in test folds, and ``"accuracy"``
counts every unlabeled test row as a mistake. This module provides the two
pieces that make :class:`~sklearn.model_selection.GridSearchCV`,
:class:`~sklearn.model_selection.RandomizedSearchCV` and
:func:`~sklearn.model_selection.cross_validate` measure the right thing:

- :class:`SemiSupervisedKFold`, a splitter whose test folds hold labeled rows
  only and whose training folds hold every unlabeled row;
- :func:`labeled_scorer`, which wraps any scikit-learn metric or scorer so that
  it scores the rows with ``y != -1`` only;
- :func:`safe_search`, a search built from the two that keeps ZeroMatch
  only where cross-validation on the labeled rows does not find it worse
  than distillation alone or a supervised-only fit.

Both work with any scikit-learn semi-supervised estimator
(:class:`~sklearn.semi_supervised.SelfTrainingClassifier`,
:class:`~sklearn.semi_supervised.LabelSpreading`, ...) as well as with
:class:`zeromatch_sk.ZeroMatchClassifier`.
"""

from __future__ import annotations

import numbers
from typing import ClassVar

import numpy as np
from sklearn.metrics import check_scoring, get_scorer
from sklearn.model_selection import (
    BaseCrossValidator,
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils.metadata_routing import MetadataRequest, get_routing_for_object
from sklearn.utils.multiclass import type_of_target

from ._labels import as_label_array, missing_mask, same_label, unlabeled_mask

__all__ = ["SAFE_CANDIDATES", "SemiSupervisedKFold", "labeled_scorer", "safe_search"]


# --------------------------------------------------------------------------- helpers


# One definition of "unlabeled row", shared with the classifier and the plots (zeromatch_sk._labels).
_as_1d_target = as_label_array
_same_label = same_label
_unlabeled_mask = unlabeled_mask


def _check_unlabeled_value(unlabeled_value):
    if unlabeled_value is None or isinstance(unlabeled_value, (numbers.Number, str)):
        return
    raise TypeError(
        "unlabeled_value must be a scalar label (a number or a string, default -1); "
        f"got {type(unlabeled_value).__name__}."
    )


def _encode(values):
    """Integer codes for ``values`` and the distinct values, as Python scalars.

    Codes follow :func:`numpy.unique`'s sorted order, as scikit-learn's
    splitters do internally, so passing the codes instead of the values gives
    them the same folds. Object arrays mixing types that do not sort together
    fall back to the order of first appearance.
    """
    try:
        uniques, inverse = np.unique(values, return_inverse=True)
    except TypeError:  # e.g. an object array mixing strings and numbers
        mapping = {}
        codes = np.fromiter((mapping.setdefault(v, len(mapping)) for v in values), dtype=np.intp)
        return codes, list(mapping)
    return np.ravel(inverse), uniques.tolist()


def _n_rows(value):
    """Length of a sample-aligned array-like, or ``None`` for anything else."""
    if isinstance(value, (str, bytes, dict)) or np.isscalar(value):
        return None
    shape = getattr(value, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    try:
        return len(value)
    except TypeError:
        return None


# --------------------------------------------------------------------------- splitter


class SemiSupervisedKFold(BaseCrossValidator):
    """K-fold cross-validator for semi-supervised data.

    Labeled rows (``y != unlabeled_value``) are split into ``n_splits`` folds,
    stratified over the labeled classes by default; each fold is used once as
    the test set. **Unlabeled rows never enter a test set**: every unlabeled row
    is added to every training set, where a semi-supervised estimator can use
    it. Use it with :func:`labeled_scorer` as ``cv=`` of
    :class:`~sklearn.model_selection.GridSearchCV`,
    :class:`~sklearn.model_selection.RandomizedSearchCV` or
    :func:`~sklearn.model_selection.cross_validate`.

    Read more in the :doc:`model selection guide </model_selection>`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds over the labeled rows. Must be at least 2.

    stratify : bool, default=True
        Whether to preserve the proportion of each labeled class in every test
        fold (as :class:`~sklearn.model_selection.StratifiedKFold` does on the
        labeled rows). Requires at least ``n_splits`` labeled rows of every
        class. With ``stratify=False`` the labeled rows are split as by
        :class:`~sklearn.model_selection.KFold`, which also suits
        regression targets.

    shuffle : bool, default=False
        Whether to shuffle the labeled rows (or, with ``groups``, the groups)
        before splitting them into folds.

    random_state : int, RandomState instance or None, default=None
        Controls the shuffling when ``shuffle=True``; pass an int for
        reproducible folds. Must be left to ``None`` when ``shuffle=False``.

    unlabeled_value : int, float or str, default=-1
        The label that marks unlabeled rows. The default ``-1`` is
        scikit-learn's convention; with string class names use an object array
        that holds the integer ``-1`` for unlabeled rows (the string ``"-1"`` is
        a class name, not the marker).

    See Also
    --------
    labeled_scorer : Scorer that ignores unlabeled rows.
    sklearn.model_selection.StratifiedKFold : The stratified splitter used on
        the labeled rows.
    sklearn.model_selection.StratifiedGroupKFold : The splitter used on the
        labeled rows when ``groups`` are given and ``stratify=True``.
    sklearn.model_selection.GroupKFold : The splitter used on the labeled rows
        when ``groups`` are given and ``stratify=False``.

    Notes
    -----
    The labeled rows are split by :class:`~sklearn.model_selection.StratifiedKFold`
    (``stratify=True``) or :class:`~sklearn.model_selection.KFold`
    (``stratify=False``), with the same ``n_splits``, ``shuffle`` and
    ``random_state``, so the test folds are exactly the ones those splitters
    would build from the labeled rows alone.

    **Groups.** When ``split`` receives ``groups`` (directly, through
    ``cross_validate(..., groups=...)``, ``GridSearchCV.fit(..., groups=...)``
    or metadata routing, where ``groups`` is requested by default as for
    scikit-learn's group splitters), the labeled rows are split by
    :class:`~sklearn.model_selection.StratifiedGroupKFold` (``stratify=True``)
    or :class:`~sklearn.model_selection.GroupKFold` (``stratify=False``), so
    that no group has labeled rows on both sides. Unlabeled rows keep the
    group promise too: an unlabeled row whose group is in the test fold is
    left out of that fold's training set (it is used by every other fold).
    Otherwise the model would see, unlabeled, rows of the very groups it is
    scored on, and the estimate would be optimistic for new groups. Unlabeled
    rows of groups with no labeled row go to every training set.

    The ``n_splits`` test folds partition the labeled rows; each unlabeled row
    is in no test fold.

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk.model_selection import SemiSupervisedKFold
    >>> X = np.arange(10).reshape(-1, 1)
    >>> y = np.array([0, -1, 1, 0, -1, 1, 0, 1, -1, -1])
    >>> cv = SemiSupervisedKFold(n_splits=3)
    >>> cv
    SemiSupervisedKFold(n_splits=3, random_state=None, shuffle=False, stratify=True,
                        unlabeled_value=-1)
    >>> for train, test in cv.split(X, y):
    ...     print(f"train={train} test={test}")
    train=[1 3 4 5 6 7 8 9] test=[0 2]
    train=[0 1 2 4 6 7 8 9] test=[3 5]
    train=[0 1 2 3 4 5 8 9] test=[6 7]

    Rows 1, 4, 8 and 9 are unlabeled: they are in every training set and in
    no test set; each test fold holds one labeled row of each class. Class names work too, with the integer ``-1`` marking the
    unlabeled rows of an object array:

    >>> y_names = np.array(["cat", -1, "dog", "cat", -1, "dog"], dtype=object)
    >>> for train, test in SemiSupervisedKFold(n_splits=2).split(np.zeros((6, 1)), y_names):
    ...     print(f"train={train} test={test}")
    train=[1 3 4 5] test=[0 2]
    train=[0 1 2 4] test=[3 5]
    """

    # Like scikit-learn's group splitters, request ``groups`` by default when
    # metadata routing is enabled.
    __metadata_request__split: ClassVar[dict] = {"groups": True}

    def __init__(self, n_splits=5, *, stratify=True, shuffle=False, random_state=None, unlabeled_value=-1):
        # Validated here, as scikit-learn's own splitters do: splitters are not
        # cloned or set_params'ed, and an early error points at the right line.
        if not isinstance(n_splits, numbers.Integral) or isinstance(n_splits, bool):
            raise TypeError(
                f"n_splits must be an integer >= 2; got {n_splits!r} of type {type(n_splits).__name__}."
            )
        if n_splits < 2:
            raise ValueError(f"k-fold cross-validation needs at least 2 folds; got n_splits={n_splits}.")
        if not isinstance(stratify, bool):
            raise TypeError(f"stratify must be True or False; got {stratify!r}.")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False. Leave random_state "
                "to its default (None), or set shuffle=True."
            )
        _check_unlabeled_value(unlabeled_value)
        self.n_splits = int(n_splits)
        self.stratify = stratify
        self.shuffle = shuffle
        self.random_state = random_state
        self.unlabeled_value = unlabeled_value

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splitting iterations, ``n_splits``.

        Parameters
        ----------
        X : object
            Always ignored, exists for API compatibility.

        y : object
            Always ignored, exists for API compatibility.

        groups : object
            Always ignored, exists for API compatibility.

        Returns
        -------
        n_splits : int
            The number of folds.
        """
        return self.n_splits

    def split(self, X, y=None, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Only its length is used, so ``np.zeros(n_samples)``
            may stand in for it.

        y : array-like of shape (n_samples,)
            Labels, with ``unlabeled_value`` (default ``-1``) for unlabeled
            rows. Stratification uses the labeled rows.

        groups : array-like of shape (n_samples,), default=None
            Group labels. When given, no group is on both sides of a split:
            the labeled rows are split by group and the unlabeled rows of a
            test group are left out of that training set (see Notes).

        Yields
        ------
        train : ndarray
            The training set indices for that split: the labeled rows of the
            other folds and the unlabeled rows.

        test : ndarray
            The testing set indices for that split: labeled rows only.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__}.split needs y (labels with {self.unlabeled_value!r} for "
                "unlabeled rows) to tell labeled from unlabeled rows."
            )
        X, y, groups = indexable(X, y, groups)
        y = _as_1d_target(y)
        n_samples = y.shape[0]
        unlabeled = _unlabeled_mask(y, self.unlabeled_value)
        missing = missing_mask(y) & ~unlabeled
        if missing.any():
            raise ValueError(
                f"y has missing labels (None or NaN) in {int(missing.sum())} rows (e.g. row "
                f"{int(np.flatnonzero(missing)[0])}), but only y == {self.unlabeled_value!r} marks unlabeled "
                "rows. Write -1 there, or pass unlabeled_value=np.nan (or None) if that is your marker."
            )
        labeled_idx = np.flatnonzero(~unlabeled)
        n_labeled = labeled_idx.shape[0]
        self._check_enough_labels(n_samples, n_labeled)

        y_labeled = y[labeled_idx]
        if self.stratify:
            target_type = type_of_target(np.asarray(list(y_labeled)) if y.dtype == object else y_labeled)
            if target_type not in ("binary", "multiclass"):
                raise ValueError(
                    f"{type(self).__name__}(stratify=True) stratifies over classes, but the labeled "
                    f"targets are {target_type!r}. Pass stratify=False to split them without "
                    "stratification."
                )
            codes, classes = _encode(y_labeled)
            self._check_enough_per_class(codes, classes)
        else:
            codes = np.zeros(n_labeled, dtype=np.intp)

        if groups is None:
            inner = self._inner_splitter(grouped=False)
            inner_splits = inner.split(np.zeros(n_labeled), codes)
            group_codes = None
        else:
            group_codes, _ = _encode(_as_1d_target(groups, name="groups"))
            labeled_groups = group_codes[labeled_idx]
            n_labeled_groups = np.unique(labeled_groups).shape[0]
            if n_labeled_groups < self.n_splits:
                raise ValueError(
                    f"The labeled rows belong to only {n_labeled_groups} distinct group(s), fewer than "
                    f"n_splits={self.n_splits}; each test fold needs at least one group. Use "
                    f"n_splits={max(n_labeled_groups, 2)} or fewer, label rows in more groups, or "
                    "drop groups."
                    if n_labeled_groups >= 2
                    else f"The labeled rows belong to only {n_labeled_groups} distinct group(s); "
                    "group-aware cross-validation needs labeled rows in at least 2 groups. Label rows "
                    "in more groups, or drop groups."
                )
            inner = self._inner_splitter(grouped=True)
            inner_splits = inner.split(np.zeros(n_labeled), codes, labeled_groups)

        unlabeled_idx = np.flatnonzero(unlabeled)
        for fold, (_, test_in_labeled) in enumerate(inner_splits):
            test = np.sort(labeled_idx[test_in_labeled])
            if test.shape[0] == 0:
                raise ValueError(
                    f"Test fold {fold} of {type(self).__name__} is empty: the labeled rows could not "
                    f"be spread over n_splits={self.n_splits} folds (too few labeled groups or "
                    "rows). Use fewer splits or label more rows."
                )
            train_mask = np.ones(n_samples, dtype=bool)
            train_mask[test] = False
            if group_codes is not None and unlabeled_idx.shape[0]:
                test_groups = np.unique(group_codes[test])
                same_group = np.isin(group_codes[unlabeled_idx], test_groups)
                train_mask[unlabeled_idx[same_group]] = False
            yield np.flatnonzero(train_mask), test

    # ------------------------------------------------------------------ private

    def _inner_splitter(self, *, grouped):
        kwargs = {"n_splits": self.n_splits, "shuffle": self.shuffle, "random_state": self.random_state}
        if grouped:
            return StratifiedGroupKFold(**kwargs) if self.stratify else GroupKFold(**kwargs)
        return StratifiedKFold(**kwargs) if self.stratify else KFold(**kwargs)

    def _check_enough_labels(self, n_samples, n_labeled):
        name = type(self).__name__
        marker = f"y == {self.unlabeled_value!r}"
        if n_labeled == 0:
            raise ValueError(
                f"{name} found no labeled rows: all {n_samples} rows have {marker} (unlabeled). "
                "Cross-validation needs labeled rows to score on. Label some rows, check "
                "unlabeled_value, or, when no labels can be spared for validation, use fixed "
                "hyper-parameters or a held-out labeled set (see the 'Too few labels to validate' "
                "section of the model selection guide)."
            )
        if n_labeled < self.n_splits:
            raise ValueError(
                f"{name}(n_splits={self.n_splits}) needs at least {self.n_splits} labeled rows, one "
                f"per test fold, but y has only {n_labeled} (the other {n_samples - n_labeled} rows "
                f"have {marker}). "
                + (
                    f"Use n_splits={n_labeled} or fewer, or label more rows."
                    if n_labeled >= 2
                    else "Label more rows, or use fixed hyper-parameters (see the 'Too few labels to "
                    "validate' section of the model selection guide)."
                )
            )

    def _check_enough_per_class(self, codes, classes):
        counts = np.bincount(codes, minlength=len(classes))
        too_small = [(classes[k], int(counts[k])) for k in np.flatnonzero(counts < self.n_splits)]
        if not too_small:
            return
        smallest = int(counts.min())
        shown = ", ".join(f"{label!r}: {count}" for label, count in too_small[:10])
        more = "" if len(too_small) <= 10 else f" and {len(too_small) - 10} more"
        advice = (
            f"Use n_splits={smallest} or fewer, pass stratify=False (some test folds then miss "
            "those classes), or label more rows of those classes."
            if smallest >= 2
            else "Pass stratify=False (some test folds then miss those classes), or label more rows "
            "of those classes."
        )
        raise ValueError(
            f"{type(self).__name__}(n_splits={self.n_splits}, stratify=True) needs at least "
            f"{self.n_splits} labeled rows of every class, but some classes have fewer (labeled "
            f"rows per class: {shown}{more}). {advice}"
        )


# --------------------------------------------------------------------------- scorer


class _LabeledScorer:
    """Scorer that evaluates a wrapped scorer on the labeled rows only.

    Build it with :func:`labeled_scorer`; see there for the parameters. It is a
    plain class (not a closure) so that it pickles, e.g. to joblib workers.
    """

    def __init__(self, scoring, unlabeled_value=-1):
        self.scoring = scoring
        self.unlabeled_value = unlabeled_value
        if scoring is None:
            self._scorer = None
        elif isinstance(scoring, str):
            self._scorer = get_scorer(scoring)  # "... is not a valid scoring value" for unknown names
        else:
            self._scorer = check_scoring(None, scoring=scoring)  # rejects plain metric functions

    def __repr__(self):
        inner = repr(self.scoring)
        extra = "" if _same_label(self.unlabeled_value, -1) else f", unlabeled_value={self.unlabeled_value!r}"
        return f"labeled_scorer({inner}{extra})"

    def _routing_repr(self):
        return repr(self)

    def __call__(self, estimator, X, y_true=None, **kwargs):
        """Score ``estimator`` on the rows of ``X`` whose label is not unlabeled.

        Parameters
        ----------
        estimator : object
            Fitted estimator.

        X : array-like, sparse matrix, DataFrame or list of shape (n_samples, ...)
            Test data.

        y_true : array-like of shape (n_samples,)
            True labels, with ``unlabeled_value`` for unlabeled rows.

        **kwargs : dict
            Metadata for the wrapped scorer (e.g. ``sample_weight``).
            Sample-aligned values are subset to the labeled rows too.

        Returns
        -------
        score : float
            The wrapped scorer's value on the labeled rows.
        """
        if y_true is None:
            raise ValueError(f"{self!r} needs the true labels y to tell labeled from unlabeled rows.")
        mask = ~_unlabeled_mask(y_true, self.unlabeled_value)
        n_rows = mask.shape[0]
        if not mask.any():
            raise ValueError(
                f"{self!r} has nothing to score: all {n_rows} rows passed to it have "
                f"y == {self.unlabeled_value!r} (unlabeled). This happens when the cross-validation "
                "splitter puts only unlabeled rows in a test fold; use "
                "cv=zeromatch_sk.model_selection.SemiSupervisedKFold(...), whose test folds hold "
                "labeled rows only."
            )
        if not mask.all():
            idx = np.flatnonzero(mask)
            X = _safe_indexing(X, idx)
            y_true = _safe_indexing(y_true, idx)
            kwargs = {
                key: _safe_indexing(value, idx) if _n_rows(value) == n_rows else value
                for key, value in kwargs.items()
            }

        if self._scorer is None:  # scoring=None: the estimator's own score method
            return estimator.score(X, y_true, **kwargs)
        return self._scorer(estimator, X, y_true, **kwargs)

    def _accept_sample_weight(self):
        # Asked by scikit-learn's multi-metric scorer when routing is disabled.
        accept = getattr(self._scorer, "_accept_sample_weight", None)
        return bool(accept()) if accept is not None else False

    def get_metadata_routing(self):
        """Get the metadata routing of this scorer: that of the wrapped scorer.

        The scorer requests exactly the metadata the wrapped scorer requests
        (for instance after
        ``get_scorer("accuracy").set_score_request(sample_weight=True)``), so
        an unset request fails in the caller's routing, before any fitting,
        as it would without the wrapper.

        Returns
        -------
        routing : MetadataRequest or MetadataRouter
            A copy of the wrapped scorer's routing; an empty request for
            ``scoring=None``.
        """
        if self._scorer is None:
            return MetadataRequest(owner=self)
        return get_routing_for_object(self._scorer)


def labeled_scorer(scoring="accuracy", *, unlabeled_value=-1):
    """Make a scorer that ignores unlabeled rows (``y == -1``).

    The returned callable ``scorer(estimator, X, y)`` drops the rows of ``X``
    and ``y`` whose label is ``unlabeled_value`` and applies ``scoring`` to the
    rest. Use it as ``scoring=`` of
    :func:`~sklearn.model_selection.cross_validate`,
    :class:`~sklearn.model_selection.GridSearchCV` or
    :class:`~sklearn.model_selection.RandomizedSearchCV`, alone or as a value
    of a dict of scorers, ideally together with ``cv=SemiSupervisedKFold(...)``.

    Read more in the :doc:`model selection guide </model_selection>`.

    Parameters
    ----------
    scoring : str, callable or None, default="accuracy"
        What to compute on the labeled rows:

        - a metric name known to :func:`sklearn.metrics.get_scorer`
          (see :func:`sklearn.metrics.get_scorer_names`), e.g. ``"accuracy"``,
          ``"f1_macro"``, ``"neg_log_loss"``;
        - a scorer callable ``(estimator, X, y) -> float``, e.g. from
          :func:`sklearn.metrics.make_scorer` (wrap a plain metric function
          such as :func:`~sklearn.metrics.accuracy_score` with ``make_scorer``
          first);
        - ``None``, the estimator's own ``score`` method.

        For several metrics, build a dict ``{name: labeled_scorer(metric)}``.

    unlabeled_value : int, float or str, default=-1
        The label that marks unlabeled rows.

    Returns
    -------
    scorer : callable
        A picklable scorer ``scorer(estimator, X, y, **metadata) -> float``.
        ``X`` may be a numpy array, a sparse matrix, a pandas DataFrame or a
        list (of texts, paths, ...). Sample-aligned metadata such as
        ``sample_weight`` is subset to the labeled rows as well; with metadata
        routing enabled the scorer forwards whatever the wrapped scorer
        requests.

    Raises
    ------
    ValueError
        When called on rows that are all unlabeled (a test fold without a
        labeled row): use :class:`SemiSupervisedKFold` as the splitter.

    See Also
    --------
    SemiSupervisedKFold : Splitter whose test folds hold labeled rows only.
    sklearn.metrics.make_scorer : Build a scorer from a metric function.

    Notes
    -----
    The stock ``scoring="accuracy"`` compares predictions with ``-1`` on every
    unlabeled test row and counts each as an error, so on data with 90 %
    unlabeled rows a perfect model scores about 0.1. Dropping the rows instead
    is right for every metric: unlabeled rows carry no ground truth.

    Under :class:`~sklearn.model_selection.GridSearchCV`'s default
    ``error_score=np.nan``, the error for a test fold without a labeled row
    becomes a warning and a NaN score; pass ``error_score="raise"`` to see it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.semi_supervised import SelfTrainingClassifier
    >>> from zeromatch_sk.model_selection import labeled_scorer
    >>> X = np.array([[0.0], [0.2], [0.4], [2.0], [2.2], [2.4], [0.1], [2.1]])
    >>> y = np.array([0, 0, -1, 1, 1, -1, -1, -1])
    >>> clf = SelfTrainingClassifier(LogisticRegression()).fit(X, y)
    >>> scorer = labeled_scorer("accuracy")
    >>> scorer
    labeled_scorer('accuracy')
    >>> scorer(clf, X, y)  # the 4 labeled rows, all right
    1.0

    The stock scorer counts the 4 unlabeled rows as errors:

    >>> from sklearn.metrics import get_scorer
    >>> get_scorer("accuracy")(clf, X, y)
    0.5

    In a search, together with :class:`SemiSupervisedKFold`:

    >>> from sklearn.model_selection import GridSearchCV
    >>> from zeromatch_sk.model_selection import SemiSupervisedKFold
    >>> search = GridSearchCV(
    ...     SelfTrainingClassifier(LogisticRegression()),
    ...     {"threshold": [0.6, 0.9]},
    ...     cv=SemiSupervisedKFold(n_splits=2),
    ...     scoring=labeled_scorer("accuracy"),
    ... ).fit(X, y)
    >>> float(search.best_score_)
    1.0
    """
    if isinstance(scoring, (list, tuple, set, dict)):
        raise TypeError(
            "labeled_scorer wraps a single metric; got a "
            f"{type(scoring).__name__}. For several metrics pass a dict such as "
            "{'accuracy': labeled_scorer('accuracy'), 'f1': labeled_scorer('f1_macro')} as scoring."
        )
    if scoring is not None and not isinstance(scoring, str) and not callable(scoring):
        raise TypeError(
            "scoring must be a metric name (str), a scorer callable (estimator, X, y) -> float, or "
            f"None; got {type(scoring).__name__}."
        )
    _check_unlabeled_value(unlabeled_value)
    return _LabeledScorer(scoring, unlabeled_value=unlabeled_value)


#: The candidates of :func:`safe_search`, as a ``param_grid`` of
#: :class:`~sklearn.model_selection.GridSearchCV` over
#: :class:`~zeromatch_sk.ZeroMatchClassifier` parameters, in order of preference
#: (ties go to the first): ZeroMatch as configured, the teacher distilled
#: without stage 2 ("KD only"), and a supervised-only fit on the labeled rows
#: (no distillation, no consistency loss; the class-prior correction still
#: applies).
SAFE_CANDIDATES = (
    {},
    {"max_epochs": [0]},
    {"kd_epochs": [0], "lambda_kd": [0.0], "lambda_u": [0.0]},
)


def safe_search(
    estimator, *, n_splits=5, stratify=True, scoring="accuracy", random_state=0, n_jobs=None, verbose=0
):
    """ZeroMatch with a fallback: cross-validate it against simpler fits on the labeled rows, keep the best.

    Returns a :class:`~sklearn.model_selection.GridSearchCV` over
    :data:`SAFE_CANDIDATES`: the estimator as given, the same estimator
    with ``max_epochs=0`` (the student distils the teacher and stops), and
    the same estimator trained on the labeled rows alone. The folds are
    :class:`SemiSupervisedKFold` over the labeled rows (every unlabeled row
    and every teacher output stays in training) and the score is
    :func:`labeled_scorer`. ``fit`` refits the winner on all rows; read
    ``best_params_`` (``{}`` means ZeroMatch was kept) and
    ``cv_results_``. Ties keep ZeroMatch.

    It costs ``3 * n_splits + 1`` fits. With few labels the fold scores are
    noisy (a standard error of about 9 points of accuracy on 20 labels), so
    the search catches large failures and can miss, or invent, small ones.
    Read more in :doc:`/robustness`.

    Parameters
    ----------
    estimator : ZeroMatchClassifier
        Configured, unfitted.
    n_splits : int, default=5
        Folds over the labeled rows.
    stratify : bool, default=True
        Stratified folds; they need ``n_splits`` labeled rows of every class.
        With fewer, pass ``stratify=False`` or fewer splits.
    scoring : str or callable, default="accuracy"
        Any metric :func:`labeled_scorer` accepts, e.g. ``"balanced_accuracy"``
        on imbalanced classes.
    random_state : int, default=0
        Seeds the (shuffled) folds.
    n_jobs : int or None, default=None
        Parallel fits, as in :class:`~sklearn.model_selection.GridSearchCV`.
    verbose : int, default=0

    Returns
    -------
    sklearn.model_selection.GridSearchCV
        Fit it as the estimator: ``search.fit(X, y, pseudo_labels=P)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from zeromatch_sk import Defences, ZeroMatchClassifier
    >>> from zeromatch_sk.model_selection import safe_search
    >>> X, y_true = make_blobs(n_samples=300, centers=[[0, 0], [3, 3]], random_state=0)
    >>> y = np.full(300, -1)
    >>> y[:20] = y_true[:20]
    >>> teacher = np.eye(2)[1 - y_true]          # a teacher that is always wrong
    >>> est = ZeroMatchClassifier(defences=Defences(gate="never"), hidden_layer_sizes=(16,), kd_epochs=2,
    ...                           max_epochs=2, steps_per_epoch=5, random_state=0)
    >>> search = safe_search(est, n_splits=2).fit(X, y, pseudo_labels=teacher)
    >>> search.best_params_                      # the supervised-only fit won
    {'kd_epochs': 0, 'lambda_kd': 0.0, 'lambda_u': 0.0}
    """
    from sklearn.model_selection import GridSearchCV

    return GridSearchCV(
        estimator,
        [dict(candidate) for candidate in SAFE_CANDIDATES],
        cv=SemiSupervisedKFold(n_splits, stratify=stratify, shuffle=True, random_state=random_state),
        scoring=labeled_scorer(scoring),
        refit=True,
        n_jobs=n_jobs,
        verbose=verbose,
        error_score="raise",
    )
