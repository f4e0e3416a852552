"""The generic provider base: model-free pickling and the class names prompts need.

:mod:`zeromatch_sk.providers` re-exports both names; they live here so that the
embedding providers of this package can build on them without importing the
providers package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

__all__ = ["BaseProvider", "resolve_class_names"]


class BaseProvider(BaseEstimator):
    """Base class for providers that hold an expensive model.

    Subclasses keep every loaded model, client or cache in attributes listed in
    ``_transient_attributes``. Those are dropped on pickling and on
    :func:`copy.deepcopy`, so cloning an estimator that holds a provider, or
    sending it to a joblib worker, never copies model weights; the model is
    reloaded lazily on first use.
    """

    _transient_attributes: tuple[str, ...] = ()

    def __getstate__(self):
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        for name in self._transient_attributes:
            state.pop(name, None)
        return state

    def predict_proba(self, X, classes):  # pragma: no cover - abstract
        raise NotImplementedError


def resolve_class_names(
    classes: Sequence[Any] | np.ndarray,
    class_names: Sequence[str] | Mapping[Any, str] | None,
    *,
    owner: str = "provider",
) -> list[str]:
    """Human-readable names for ``classes``, as prompts need them.

    Parameters
    ----------
    classes : array-like of shape (n_classes,)
        The estimator's classes, in column order.
    class_names : list of str, dict or None
        ``None`` uses the classes themselves, which must then be strings.
        A list gives one name per class, in the order of ``classes``.
        A dict maps each class label to its name.
    owner : str
        Name used in error messages.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> resolve_class_names(["cat", "dog"], None)
    ['cat', 'dog']
    >>> resolve_class_names([0, 1], {0: "cat", 1: "dog"})
    ['cat', 'dog']
    """
    classes = list(np.asarray(classes, dtype=object))
    if class_names is None:
        non_str = [c for c in classes if not isinstance(c, str)]
        if non_str:
            raise ValueError(
                f"{owner} needs a name for every class to build its prompts, but the classes "
                f"{non_str[:5]!r} are not strings. Pass class_names=[...] (one name per class, in "
                f"the order of classes_) or class_names={{label: name}}, or fit with string labels."
            )
        return [str(c) for c in classes]
    if isinstance(class_names, Mapping):
        missing = [c for c in classes if c not in class_names]
        if missing:
            raise ValueError(
                f"class_names has no entry for the classes {missing[:5]!r}; give a name for every "
                f"class the estimator knows ({classes!r})."
            )
        return [str(class_names[c]) for c in classes]
    names = [str(n) for n in class_names]
    if len(names) != len(classes):
        raise ValueError(
            f"class_names has {len(names)} entries but there are {len(classes)} classes "
            f"({classes!r}); give one name per class, in the order of classes_, or a dict."
        )
    return names
