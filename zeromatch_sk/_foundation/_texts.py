"""The one check of "a sequence of texts" that every text teacher and embedder applies."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_texts"]


def _as_array(X: Any, owner: str, hint: str) -> np.ndarray:
    if isinstance(X, (str, bytes)):
        raise TypeError(
            f"{owner} is a single string, but one text per row is needed; wrap it in a list: [text]."
        )
    if hasattr(X, "iloc") and getattr(X, "ndim", 1) == 2:  # pandas DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"{owner} is a DataFrame of shape {X.shape}, but one text per row is needed: pass the "
                f"text column, e.g. df['text']." + hint
            )
        X = X.iloc[:, 0]
    if hasattr(X, "to_numpy"):  # pandas Series
        X = X.to_numpy(dtype=object)
    try:
        arr = X if isinstance(X, np.ndarray) else np.asarray(X, dtype=object)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{owner} must be a sequence of texts (str), got {type(X).__name__}: {exc}") from None
    if arr.ndim == 0:
        raise TypeError(
            f"{owner} must be a sequence of texts (a list, an array or a pandas Series), got "
            f"{type(X).__name__}."
        )
    if arr.dtype.kind in "biufc":
        raise TypeError(
            f"Texts are needed, but {owner} holds numbers (dtype {arr.dtype}, shape {arr.shape})." + hint
        )
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{owner} has shape {arr.shape}, but one text per row is needed: a 1-D sequence of strings "
            f"or a single column." + hint
        )
    return arr


def check_texts(X: Any, *, owner: str = "X", allow_empty: bool = False, hint: str = "") -> list[str]:
    """``X`` as a list of non-empty strings, or an error that says what to fix.

    Accepts a list, tuple, 1-D array or pandas Series of strings, and a single
    column (a one-column DataFrame or an array of shape (n, 1)).

    Parameters
    ----------
    X : sequence of str
        The texts.
    owner : str, default="X"
        Name of the argument, for error messages.
    allow_empty : bool, default=False
        Whether no texts at all is fine (an empty list is returned).
    hint : str, default=""
        Appended to the errors about numbers and shapes (e.g. how to pass
        embeddings instead).

    Returns
    -------
    list of str

    Examples
    --------
    >>> check_texts(["a cat", "a dog"])
    ['a cat', 'a dog']
    """
    texts = _as_array(X, owner, hint).tolist()
    if not texts and not allow_empty:
        raise ValueError(f"{owner} contains no texts; pass at least one.")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        examples = ", ".join(f"row {i} is {type(texts[i]).__name__} ({texts[i]!r:.40})" for i in bad[:3])
        fix = " Decode bytes with .decode()." if any(isinstance(texts[i], bytes) for i in bad) else ""
        raise TypeError(
            f"{owner} must contain only strings, but {len(bad)} rows do not (rows {bad[:10]}): "
            f"{examples}. Drop or fill missing texts first (missing values usually need dropping, "
            f"not str()).{fix}"
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        more = " ..." if len(empty) > 10 else ""
        raise ValueError(
            f"{len(empty)} rows of {owner} are empty or whitespace-only (empty texts at rows "
            f"{empty[:10]}{more}); there is nothing to read in them. Drop those rows or replace them "
            f"with a placeholder text."
        )
    return texts
