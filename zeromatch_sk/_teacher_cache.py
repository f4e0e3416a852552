"""The teacher's answers, remembered per row so the folds of a search do not ask twice.

A teacher that sees the raw input (:class:`~zeromatch_sk.pipeline.TeacherPipeline`)
is called at every fit: once per fold and candidate of a grid search, on rows
that overlap from fold to fold. Its answer for a row is assumed to depend only
on that row, the teacher's settings and the classes, so it is kept in memory,
keyed by

- the teacher: a function by identity (redefining it in a notebook makes a new
  key), an estimator by its class and ``get_params()``, anything else by the
  :func:`joblib.hash` of its state;
- the classes, in column order;
- a digest of the row's content (and, for a DataFrame, its columns and dtypes).

Rows whose content cannot be digested (unusual containers) are not cached:
the teacher is then asked for every row, every time.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import types
from collections.abc import Hashable
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import _safe_indexing

from ._foundation._cache import _RowCache
from .providers._base import teacher_predict_proba

__all__ = ["cached_teacher_proba", "clear_teacher_cache"]

_TEACHER_CACHE = _RowCache()
#: What joblib.hash raises on state it cannot pickle (locks, lambdas, open files).
_UNHASHABLE = (pickle.PicklingError, TypeError, AttributeError, RecursionError)


def clear_teacher_cache() -> None:
    """Forget every teacher answer cached in this process."""
    _TEACHER_CACHE.clear()


def provider_key(provider: Any) -> Hashable | None:
    """What identifies ``provider``'s answers across clones, or None when nothing safely does."""
    if isinstance(provider, (types.FunctionType, types.BuiltinFunctionType, types.MethodType)):
        return ("callable", provider)  # clone() and deepcopy keep functions as they are
    try:
        if isinstance(provider, BaseEstimator):
            # clone() makes a new object with the same parameters: key on those.
            state = provider.get_params(deep=False)
        elif isinstance(provider, functools.partial):
            state = (provider.func, provider.args, provider.keywords)
        else:
            state = provider
        return ("state", type(provider).__module__, type(provider).__qualname__, joblib.hash(state))
    except _UNHASHABLE:  # no safe key: ask every time
        return None


def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def _item_digest(item: Any) -> str:
    if isinstance(item, str):
        return _digest(b"s" + item.encode("utf-8", "surrogatepass"))
    if isinstance(item, (bytes, bytearray)):
        return _digest(b"b" + bytes(item))
    if isinstance(item, np.ndarray) and item.dtype != object:
        head = f"a{item.dtype.str}{item.shape}".encode()
        return _digest(head + np.ascontiguousarray(item).tobytes())
    return joblib.hash(item)


def row_digests(X: Any) -> tuple[Hashable, list[str]] | None:
    """``(context, digests)``: one digest per row of ``X`` plus what the rows share (columns, dtype).

    None when ``X`` is a container whose rows cannot be digested.
    """
    if hasattr(X, "iloc") and hasattr(X, "dtypes"):  # pandas DataFrame or Series
        import pandas as pd

        columns = list(X.columns) if hasattr(X, "columns") else [X.name]
        dtypes = [str(t) for t in (X.dtypes if hasattr(X, "columns") else [X.dtype])]
        try:
            hashed = pd.util.hash_pandas_object(X, index=False).to_numpy()
        except TypeError:  # unhashable cells (lists, dicts)
            hashed = [joblib.hash(row) for row in X.itertuples(index=False)]
        return ("pandas", joblib.hash((columns, dtypes))), [str(h) for h in hashed]
    if isinstance(X, np.ndarray) and X.ndim >= 1:
        if X.dtype == object:
            return ("objects",), [_item_digest(row) for row in X]
        rows = np.ascontiguousarray(X).reshape(len(X), -1)
        return ("array", X.dtype.str, X.shape[1:]), [_digest(row.tobytes()) for row in rows]
    if isinstance(X, (list, tuple)):
        try:
            return ("items",), [_item_digest(item) for item in X]
        except _UNHASHABLE:
            return None
    return None


def cached_teacher_proba(provider: Any, X: Any, classes: np.ndarray) -> tuple[np.ndarray, int]:
    """The teacher's probabilities for every row of ``X``, asking it only about rows it has not answered.

    Parameters
    ----------
    provider : object or callable
        ``provider.predict_proba(X, classes)`` or ``provider(X, classes)``.
    X : DataFrame, array, list or other container of rows
        The raw input.
    classes : ndarray of shape (n_classes,)

    Returns
    -------
    P : ndarray of shape (n_samples, n_classes)
    n_asked : int
        Rows the teacher was asked about in this call (duplicates and cached rows excluded).
    """
    classes = np.asarray(classes)
    key = provider_key(provider)
    digested = row_digests(X) if key is not None else None
    if digested is None:
        P = teacher_predict_proba(provider, X, classes)
        return P, len(P)
    context, digests = digested
    cache_id = (key, context, tuple(classes.tolist()))
    found = {}
    for d in digests:
        if d not in found:
            found[d] = _TEACHER_CACHE.get(cache_id, d)
    missing = [d for d, row in found.items() if row is None]
    if missing:
        first = {}
        for i, d in enumerate(digests):
            first.setdefault(d, i)
        idx = np.array([first[d] for d in missing])
        P_new = teacher_predict_proba(provider, _safe_indexing(X, idx), classes)
        for d, row in zip(missing, P_new):
            found[d] = row.copy()
            _TEACHER_CACHE.put(cache_id, d, found[d])
    return np.stack([found[d] for d in digests]), len(missing)
