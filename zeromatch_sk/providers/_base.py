"""The teacher protocol: what a zero-shot foundation-model provider must offer.

A *provider* turns rows of ``X`` into an ``(n_samples, n_classes)`` probability
matrix whose columns follow the order of ``classes``. Anything with a
``predict_proba(X, classes)`` method qualifies, and so does a plain callable
``f(X, classes)``. Every teacher output goes through
:func:`check_teacher_proba` before the estimator uses it, so a provider that
returns logits, NaN or the wrong number of columns fails loudly instead of
silently training the student on garbage.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .._foundation._base import BaseProvider, resolve_class_names

__all__ = [
    "BaseProvider",
    "TeacherError",
    "TeacherProvider",
    "check_teacher_proba",
    "resolve_class_names",
    "teacher_predict_proba",
]

#: Rows of a probability matrix may miss 1 by this much (float32 softmax
#: outputs routinely do by ~1e-6; anything beyond 1e-3 is not a distribution).
PROBA_SUM_TOLERANCE = 1e-3


class TeacherError(ValueError):
    """Raised when a teacher (provider or ``pseudo_labels``) gives unusable output."""


@runtime_checkable
class TeacherProvider(Protocol):
    """Structural type of a zero-shot teacher.

    Implementations return, for each row of ``X``, a probability distribution
    over ``classes`` (columns in the order of ``classes``).
    """

    def predict_proba(self, X: Any, classes: np.ndarray) -> np.ndarray:  # pragma: no cover - protocol
        ...


def check_teacher_proba(P: Any, n_samples: int, n_classes: int, *, source: str = "teacher") -> np.ndarray:
    """Validate a teacher probability matrix and return it as float64.

    Parameters
    ----------
    P : array-like of shape (n_samples, n_classes)
        Teacher output.
    n_samples, n_classes : int
        Expected shape.
    source : str
        Who produced ``P``, for error messages.

    Returns
    -------
    P : ndarray of shape (n_samples, n_classes), dtype float64

    Raises
    ------
    TeacherError
        If the shape is wrong, entries are not finite, negative, or rows do
        not sum to 1 within ``1e-3``.

    Examples
    --------
    >>> check_teacher_proba([[0.25, 0.75], [1.0, 0.0]], 2, 2).shape
    (2, 2)
    """
    # numpy would drop the imaginary part with only a warning
    if isinstance(P, np.ndarray) and np.iscomplexobj(P):
        raise TeacherError(f"{source} returned complex numbers; a teacher must return real probabilities.")
    try:
        P = np.asarray(P, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise TeacherError(
                f"{source} returned rows of different lengths; it must return an (n_samples, n_classes) "
                "matrix: one probability row per sample, one column per class."
            ) from exc
        raise TeacherError(
            f"{source} returned something that is not a numeric array ({exc}); it must return an "
            "(n_samples, n_classes) matrix of probabilities."
        ) from exc
    if P.shape != (n_samples, n_classes):
        raise TeacherError(
            f"{source} returned an array of shape {P.shape}, expected (n_samples, n_classes) = "
            f"({n_samples}, {n_classes}): one row per sample and one column per class, in the "
            f"order of classes."
        )
    if not np.all(np.isfinite(P)):
        bad = int((~np.isfinite(P)).any(axis=1).sum())
        raise TeacherError(
            f"{source} returned NaN or infinite values in {bad} rows; fix the teacher or drop those rows."
        )
    if (P < 0).any():
        raise TeacherError(
            f"{source} returned negative values (min {P.min():.3g}); a teacher must return "
            f"probabilities, not logits or scores. Apply a softmax first."
        )
    sums = P.sum(axis=1)
    off = np.abs(sums - 1.0) > PROBA_SUM_TOLERANCE
    if off.any():
        raise TeacherError(
            f"{source} returned {int(off.sum())} rows that do not sum to 1 (e.g. {sums[off][0]:.4g}); "
            f"a teacher must return one probability distribution per row. Normalise the rows "
            f"(P / P.sum(axis=1, keepdims=True)) or apply a softmax to scores."
        )
    return P / sums[:, None]


def teacher_predict_proba(provider: Any, X: Any, classes: np.ndarray) -> np.ndarray:
    """Call a provider (object with ``predict_proba`` or a callable) and validate its output.

    Parameters
    ----------
    provider : object or callable
        ``provider.predict_proba(X, classes)`` or ``provider(X, classes)``.
    X : array-like
        Rows to label.
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    P : ndarray of shape (n_samples, n_classes)

    Examples
    --------
    >>> import numpy as np
    >>> uniform = lambda X, classes: np.full((len(X), len(classes)), 1 / len(classes))
    >>> teacher_predict_proba(uniform, np.zeros((3, 2)), np.array([0, 1]))[0]
    array([0.5, 0.5])
    """
    name = type(provider).__name__
    if hasattr(provider, "predict_proba"):
        fn = provider.predict_proba
    elif callable(provider):
        fn = provider
        name = getattr(provider, "__name__", name)
    else:
        raise TypeError(
            f"provider must have a predict_proba(X, classes) method or be a callable f(X, classes); "
            f"got {name}."
        )
    P = fn(X, np.asarray(classes))
    return check_teacher_proba(P, len(X), len(classes), source=f"provider {name}")
