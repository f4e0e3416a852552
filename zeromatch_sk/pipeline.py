"""Pipelines whose teacher sees the raw input.

A provider given to :class:`~zeromatch_sk.ZeroMatchClassifier` sees what the
earlier steps of a pipeline made of the input: scaled numbers instead of the
DataFrame a rule was written for, embeddings instead of the texts an LLM needs.
:func:`make_pipeline` puts the teacher on the pipeline instead: at ``fit`` it is
called on the **raw** input, and its answers go to the final
:class:`~zeromatch_sk.ZeroMatchClassifier` as ``pseudo_labels``::

    make_pipeline(StandardScaler(), ZeroMatchClassifier(), provider=rule_on_the_dataframe)
    make_pipeline(SentenceEmbedder(), ZeroMatchClassifier(), provider=LLMProvider(...))

The teacher's answers are cached per row in memory, so the folds and candidates
of a grid search ask it about each row once.
"""

from __future__ import annotations

import time

import sklearn
from sklearn import pipeline as _skpipeline

from ._classifier import ZeroMatchClassifier
from ._teacher_cache import cached_teacher_proba, clear_teacher_cache

__all__ = ["TeacherPipeline", "clear_teacher_cache", "make_pipeline"]


def _routing_enabled() -> bool:
    return bool(sklearn.get_config()["enable_metadata_routing"])


class TeacherPipeline(_skpipeline.Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` whose teacher labels the raw input.

    At ``fit``, ``provider`` is called on ``X`` as given to the pipeline (a
    DataFrame, a list of texts, images...), with the classes of the labeled
    rows (``y != -1``), or the final classifier's ``classes=`` when set. Its
    probabilities reach the final :class:`~zeromatch_sk.ZeroMatchClassifier`
    as ``pseudo_labels``, with or without scikit-learn's metadata routing.
    Everything else is :class:`~sklearn.pipeline.Pipeline`: ``predict`` never
    calls the teacher, and ``clone``, ``set_params``,
    :class:`~sklearn.model_selection.GridSearchCV` and pickling work as usual
    (grid keys such as ``provider__temperature`` included).

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As in :class:`~sklearn.pipeline.Pipeline`; the last step must be a
        :class:`~zeromatch_sk.ZeroMatchClassifier` when ``provider`` is set.
    provider : object, callable or None, default=None
        The teacher: an object with ``predict_proba(X, classes)`` or a callable
        ``f(X, classes)`` returning an ``(n_samples, n_classes)`` probability
        matrix, columns in the order of ``classes``. Its answer for a row must
        depend only on that row: answers are cached per row content, in memory
        for the life of the process, so a row is asked about once across the
        folds of a search (each worker process of ``n_jobs`` keeps its own;
        :func:`clear_teacher_cache` forgets them). ``None``: a plain pipeline.
    transform_input : list of str or None, default=None
        As in :class:`~sklearn.pipeline.Pipeline` (needs metadata routing).
    memory : str, joblib.Memory or None, default=None
        Caches the fitted transformers, as in :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Print the time taken by each step, and by the teacher.

    Attributes
    ----------
    teacher_proba_ : ndarray of shape (n_samples, n_classes)
        The teacher's probabilities on the rows of the last ``fit``.
    n_teacher_calls_ : int
        Rows the teacher was asked about in the last ``fit``; rows it had
        already answered come from the cache and are not counted.

    See Also
    --------
    make_pipeline : Build one without naming the steps.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.preprocessing import StandardScaler
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.pipeline import make_pipeline
    >>> rng = np.random.default_rng(0)
    >>> y_true = rng.integers(0, 2, 200)
    >>> X = pd.DataFrame({"size": rng.normal(60 + 80 * y_true, 15), "noise": rng.normal(size=200)})
    >>> y = np.full(200, -1)
    >>> y[:10] = y_true[:10]                     # 10 labeled rows, 190 unlabeled
    >>> def rule(X, classes):                     # written by column name, on the raw DataFrame
    ...     big = (X["size"] > 100).to_numpy()
    ...     return np.where(big[:, None], [0.2, 0.8], [0.8, 0.2])
    >>> clf = ZeroMatchClassifier(hidden_layer_sizes=(16,), kd_epochs=5, max_epochs=5, lr=1e-2, random_state=0)
    >>> model = make_pipeline(StandardScaler(), clf, provider=rule).fit(X, y)
    >>> model.teacher_proba_.shape
    (200, 2)
    >>> model.score(X, y_true) > 0.8
    True
    """

    _parameter_constraints: dict = {
        **_skpipeline.Pipeline._parameter_constraints,
        "provider": "no_validation",  # checked when called: object with predict_proba or callable
    }

    def __init__(self, steps, *, provider=None, transform_input=None, memory=None, verbose=False):
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.provider = provider

    def _teacher_step(self):
        """Name and estimator of the final step, checked to be a ZeroMatchClassifier without a provider."""
        name, clf = self.steps[-1]
        if not isinstance(clf, ZeroMatchClassifier):
            raise TypeError(
                f"The last step of a {type(self).__name__} with a provider must be a ZeroMatchClassifier, "
                f"got {clf!r} (step {name!r}). Make ZeroMatchClassifier() the last step, or drop "
                "provider= and use sklearn.pipeline.make_pipeline for a pipeline without a teacher."
            )
        if clf.provider is not None:
            raise ValueError(
                f"Both the pipeline and its ZeroMatchClassifier (step {name!r}) have a provider. The "
                "pipeline's provider sees the raw input, the classifier's the transformed features: keep "
                "one, e.g. make_pipeline(..., ZeroMatchClassifier(), provider=teacher)."
            )
        return name, clf

    def _teacher_proba(self, X, y, clf):
        """The provider's probabilities on the raw ``X``, over the classes the classifier will have."""
        labeled_y, _unlabeled = clf._check_y(X, y)
        classes = clf._resolve_classes(labeled_y)
        if len(classes) < 2:
            raise ValueError(
                f"The teacher needs at least 2 classes, but the labeled rows contain {classes.tolist()}. "
                "Label rows of other classes, or declare every class with ZeroMatchClassifier(classes=[...])."
            )
        start = time.perf_counter()
        P, n_asked = cached_teacher_proba(self.provider, X, classes)
        if self.verbose:
            print(
                f"[{type(self).__name__}] teacher: {n_asked} of {len(P)} rows asked (the rest cached), "
                f"total={time.perf_counter() - start:.1f}s"
            )
        return P, n_asked

    def fit(self, X, y=None, **params):
        """Label the raw ``X`` with the teacher, then fit the steps as :class:`~sklearn.pipeline.Pipeline` does.

        Parameters
        ----------
        X : iterable
            Training rows, in the form the first step (and the provider) take.
        y : array-like of shape (n_samples,)
            Labels, with ``-1`` for unlabeled rows.
        **params : dict
            Passed on as :meth:`sklearn.pipeline.Pipeline.fit` passes them
            (``step__param`` keys without metadata routing, requested names
            with it). ``pseudo_labels`` cannot be among them when ``provider``
            is set.

        Returns
        -------
        self : TeacherPipeline
        """
        if self.provider is None:
            return super().fit(X, y, **params)
        self._validate_params()
        name, clf = self._teacher_step()
        routed_key = "pseudo_labels" if _routing_enabled() else f"{name}__pseudo_labels"
        if routed_key in params:
            raise ValueError(
                f"fit got {routed_key}= and the pipeline has a provider; the provider's answers are the "
                "pseudo-labels. Pass one of them: drop provider= (set_params(provider=None)) to use "
                "precomputed pseudo-labels, or drop the argument."
            )
        P, self.n_teacher_calls_ = self._teacher_proba(X, y, clf)
        self.teacher_proba_ = P
        if not _routing_enabled():
            return super().fit(X, y, **params, **{routed_key: P})
        # With routing on, Pipeline forwards only what the classifier requested: request the
        # pseudo-labels for this call, and leave the user's request as it was afterwards.
        before = clf.get_metadata_routing().fit.requests.get("pseudo_labels")
        clf.set_fit_request(pseudo_labels=True)
        try:
            return super().fit(X, y, **params, pseudo_labels=P)
        finally:
            clf.set_fit_request(pseudo_labels=before)


def make_pipeline(*steps, provider=None, memory=None, transform_input=None, verbose=False):
    """Build a :class:`TeacherPipeline` from estimators, naming them as :func:`sklearn.pipeline.make_pipeline`.

    Parameters
    ----------
    *steps : estimators
        The steps; the last one a :class:`~zeromatch_sk.ZeroMatchClassifier`
        (its step name is ``"zeromatchclassifier"``).
    provider : object, callable or None, default=None
        The teacher, called on the raw input at ``fit`` (see
        :class:`TeacherPipeline`).
    memory : str, joblib.Memory or None, default=None
        Caches the fitted transformers, as in scikit-learn.
    transform_input : list of str or None, default=None
        As in :func:`sklearn.pipeline.make_pipeline`.
    verbose : bool, default=False
        Print the time taken by each step and by the teacher.

    Returns
    -------
    pipeline : TeacherPipeline

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.pipeline import make_pipeline
    >>> uniform = lambda X, classes: np.full((len(X), len(classes)), 1 / len(classes))
    >>> make_pipeline(StandardScaler(), ZeroMatchClassifier(), provider=uniform).steps[-1][0]
    'zeromatchclassifier'
    """
    named = _skpipeline.make_pipeline(*steps).steps
    return TeacherPipeline(
        named, provider=provider, memory=memory, transform_input=transform_input, verbose=verbose
    )
