"""Labels with ``-1`` for unlabeled rows: the one place that tells labeled rows from unlabeled ones.

scikit-learn's semi-supervised convention marks an unlabeled row with the
integer ``-1``. The classifier, the model-selection tools and the plots all
read ``y`` through :func:`unlabeled_mask`, so they agree on which rows are
unlabeled; the classifier adds the stricter checks of :func:`check_labels`
and :func:`check_classes`.

Decisions (``docs/bad_inputs.rst``):

- ``-1`` and ``-1.0`` (any number equal to -1, not a bool) mark unlabeled rows,
  in numeric arrays and in object arrays that mix them with class names.
- The *string* ``'-1'`` is refused by the classifier: numpy writes the integer
  as that string when it builds a string array (``np.array(['cat', -1])``),
  so a class called ``'-1'`` is almost always a lost unlabeled marker. The
  model-selection tools, which take any ``unlabeled_value``, leave it a class.
- Missing labels (``None``, NaN, ``pd.NA``) are refused with the fix (write
  ``-1``): a missing value may mean "unlabeled" or "lost", and only the user
  knows which.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from sklearn.exceptions import DataConversionWarning
from sklearn.utils.multiclass import check_classification_targets

__all__ = [
    "UNLABELED",
    "as_label_array",
    "check_classes",
    "check_labels",
    "missing_mask",
    "same_label",
    "unlabeled_mask",
]

#: The label that marks an unlabeled row.
UNLABELED = -1


def as_label_array(y, *, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D numpy array, without numpy's silent coercion of mixed lists.

    ``np.asarray(["cat", -1])`` gives the strings ``["cat", "-1"]``, which would
    turn the unlabeled marker into a class called ``"-1"``; lists and tuples are
    therefore converted to object arrays. Column vectors are raveled.

    Examples
    --------
    >>> as_label_array(["cat", -1]).tolist()
    ['cat', -1]
    """
    if isinstance(y, (list, tuple)) and not any(isinstance(v, (list, tuple, np.ndarray)) for v in y):
        arr = np.empty(len(y), dtype=object)
        arr[:] = list(y)
    else:
        if hasattr(y, "toarray") or hasattr(y, "tocsr"):
            raise TypeError(f"{name} must be a 1-D array-like of labels, not a sparse matrix.")
        try:
            arr = np.asarray(y)
        except ValueError as exc:  # nested sequences of different lengths
            raise ValueError(f"{name} must be 1-D (one label per row, -1 for unlabeled rows): {exc}") from exc
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must be 1-D (one label per row, -1 for unlabeled rows); got an array of shape "
            f"{arr.shape}. Multilabel and multi-output targets are not supported."
        )
    return arr


def _is_nan(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral) and math.isnan(value)


def _is_missing(value) -> bool:
    """None, NaN, ``pd.NA`` or ``pd.NaT`` (read by type name: pandas is optional)."""
    return value is None or _is_nan(value) or type(value).__name__ in ("NAType", "NaTType")


def same_label(a, b) -> bool:
    """``a == b`` for two label values, robust to values that refuse comparison.

    A string never equals a number: ``"-1"`` is not the marker ``-1``.
    """
    if isinstance(a, str) != isinstance(b, str):
        return False
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return False  # True == 1 in Python, but a bool label is not the number 1 (nor -1)
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # pd.NA, arrays stored in object arrays, ...
        return False


def unlabeled_mask(y, unlabeled_value=UNLABELED) -> np.ndarray:
    """Boolean mask of the rows of ``y`` that equal ``unlabeled_value``.

    Works for numeric arrays, string arrays, object arrays mixing class names
    with the integer ``-1``, lists and pandas Series. ``unlabeled_value=np.nan``
    matches NaN entries. A string never matches a number.

    Examples
    --------
    >>> unlabeled_mask(["cat", -1, "dog", "-1", -1.0])
    array([False,  True, False, False,  True])
    """
    arr = as_label_array(y)
    kind = arr.dtype.kind
    if _is_nan(unlabeled_value):
        if kind in "fc":
            return np.isnan(arr)
        if kind == "O":
            return np.fromiter((_is_nan(v) for v in arr), dtype=bool, count=arr.shape[0])
        return np.zeros(arr.shape[0], dtype=bool)
    if kind in "iufc":
        if isinstance(unlabeled_value, numbers.Number) and not isinstance(unlabeled_value, (bool, np.bool_)):
            return np.asarray(arr == unlabeled_value, dtype=bool)
        return np.zeros(arr.shape[0], dtype=bool)
    if kind in "USb":
        if isinstance(unlabeled_value, str) and kind != "b":
            return np.asarray(arr == unlabeled_value, dtype=bool)
        return np.zeros(arr.shape[0], dtype=bool)
    return np.fromiter((same_label(v, unlabeled_value) for v in arr), dtype=bool, count=arr.shape[0])


def _label_kind(value) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, numbers.Number):
        return "number"
    return type(value).__name__


def _is_string_marker(value) -> bool:
    return isinstance(value, str) and value.strip() in ("-1", "-1.0")


def _homogeneous(values: np.ndarray, name: str) -> np.ndarray:
    """Labels of one kind, as a typed array where numpy has one (object arrays of ints or bools would
    read as scikit-learn's 'unknown' target type)."""
    kinds = {}
    for v in values:
        kinds.setdefault(_label_kind(v), v)
    if len(kinds) > 1:
        shown = ", ".join(f"{kind} {v!r}" for kind, v in kinds.items())
        raise ValueError(
            f"{name} mixes labels of different kinds ({shown}). Class labels must all be strings, all "
            "numbers or all bools (the integer -1 still marks unlabeled rows); convert them to one kind, "
            f"e.g. {name} = [str(v) for v in {name}] with -1 kept for unlabeled rows."
        )
    if values.dtype == object and set(kinds) & {"number", "bool"}:
        return np.asarray(values.tolist())
    return values


def missing_mask(arr: np.ndarray) -> np.ndarray:
    """Rows of a 1-D label array that hold None, NaN or a pandas missing value."""
    if arr.dtype.kind == "f":
        return np.isnan(arr)
    if arr.dtype == object:
        return np.fromiter((_is_missing(v) for v in arr), dtype=bool, count=arr.shape[0])
    return np.zeros(arr.shape[0], dtype=bool)


def _refuse_missing(arr: np.ndarray, name: str) -> None:
    missing = missing_mask(arr)
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"{name} has missing labels (None or NaN) in {rows.size} rows (e.g. row {int(rows[0])}). "
            f"Only -1 marks unlabeled rows: if those rows are unlabeled, write -1 there (e.g. "
            f"{name} = pandas.Series({name}).fillna(-1)); otherwise drop them."
        )


def _refuse_string_marker(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "OU":
        return
    marker = np.fromiter((_is_string_marker(v) for v in arr), dtype=bool, count=arr.shape[0])
    if marker.any():
        raise ValueError(
            f"{name} holds the string '-1' in {int(marker.sum())} rows. Only the integer -1 marks "
            "unlabeled rows; numpy turns it into the string '-1' when it builds a string array (as "
            "np.array(['cat', -1]) does). Build y with dtype=object, or replace the strings: "
            f"{name} = np.where({name} == '-1', -1, {name}).astype(object). If '-1' really is a class "
            "name, rename that class."
        )


def check_labels(y, *, name: str = "y", allow_str_dtype: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The labeled rows' labels and the unlabeled-row mask of a classifier's ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels with the integer ``-1`` (or ``-1.0``) for unlabeled rows:
        integers, bools, strings or any hashable labels of one kind, in a
        numeric array, an object array, a list or a pandas Series.
    name : str, default='y'
        Argument name for error messages.
    allow_str_dtype : bool, default=False
        Accept a numpy string array (then every row is labeled). ``fit``
        refuses one, since it cannot hold the marker ``-1``; ``score`` takes it.

    Returns
    -------
    labeled_y : ndarray of shape (n_labeled,)
        Labels of the labeled rows; a typed (int, float or bool) array when
        they are numbers or bools, else an object array.
    unlabeled : ndarray of shape (n_samples,), dtype bool

    Examples
    --------
    >>> import numpy as np
    >>> labeled_y, unlabeled = check_labels(np.array([True, -1, False], dtype=object))
    >>> labeled_y, unlabeled
    (array([ True, False]), array([False,  True, False]))
    """
    if getattr(y, "ndim", 1) == 2 and np.shape(y)[1] == 1:
        warnings.warn(
            f"A column-vector {name} was passed when a 1d array was expected. Please change the shape of "
            f"{name} to (n_samples,), for example using ravel().",
            DataConversionWarning,
            stacklevel=3,
        )
    arr = as_label_array(y, name=name)
    _refuse_string_marker(arr, name)
    if arr.dtype.kind in "US" and allow_str_dtype:
        arr = arr.astype(object)
    if arr.dtype.kind in "US":
        raise ValueError(
            f"{name} has the string dtype {arr.dtype}, which cannot hold the integer -1 that marks "
            "unlabeled rows. Use an object array, e.g. np.array(['cat', -1, 'dog'], dtype=object), "
            "as scikit-learn's semi-supervised estimators do."
        )
    _refuse_missing(arr, name)
    unlabeled = unlabeled_mask(arr)
    labeled_y = _homogeneous(arr[~unlabeled], name)
    if labeled_y.size and labeled_y.dtype != object:
        check_classification_targets(labeled_y)
    return labeled_y, unlabeled


def check_classes(classes, labeled_classes: np.ndarray, *, name: str = "classes") -> np.ndarray:
    """The sorted class list from the ``classes`` parameter, checked against the labeled rows' classes.

    ``-1``, the string ``'-1'`` and missing values are refused (-1 marks
    unlabeled rows; it cannot also be a class); duplicates are merged.

    Examples
    --------
    >>> import numpy as np
    >>> check_classes(["b", "a", "c"], np.array(["a"], dtype=object)).tolist()
    ['a', 'b', 'c']
    """
    extra = as_label_array(classes, name=name)
    if extra.size == 0:
        raise ValueError(f"{name} is empty; list every class the model should know, or pass {name}=None.")
    if extra.dtype.kind in "US":
        extra = extra.astype(object)
    if unlabeled_mask(extra).any() or any(_is_string_marker(v) for v in extra):
        raise ValueError(
            f"{name}={extra.tolist()} contains -1, which marks unlabeled rows in y and cannot also be a "
            f"class. Drop -1 from {name} (and label the rows of that class with another value)."
        )
    if any(_is_missing(v) for v in extra):
        raise ValueError(
            f"{name}={extra.tolist()} contains a missing value (None or NaN); list real classes only."
        )
    extra = _homogeneous(extra, name)
    unknown = [c for c in labeled_classes if not any(same_label(c, e) for e in extra)]
    if unknown:
        raise ValueError(
            f"The labeled rows contain classes {unknown[:5]} that are not in {name}={extra.tolist()}; "
            f"add them to {name} or drop the parameter."
        )
    return np.unique(extra)
