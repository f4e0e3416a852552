"""Parameters shared by the embedders and the embedding providers, and their checks."""

from __future__ import annotations

import os
from numbers import Integral
from typing import Any

import numpy as np
import torch
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_memory as _sklearn_check_memory

#: ``_parameter_constraints`` shared by the embedders and the embedding providers.
ENCODING_CONSTRAINTS: dict = {
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    # None is "auto" and an int a CUDA ordinal, as torch.device takes them; resolve_device checks the name.
    "device": [str, torch.device, Interval(Integral, 0, None, closed="left"), None],
    "memory": [None, str, os.PathLike, HasMethods(["cache"])],
    "verbose": ["verbose"],
}


def resolve_device(device: Any) -> str:
    """``"auto"`` becomes ``"cuda"``, ``"mps"`` or ``"cpu"``, whichever is available.

    Examples
    --------
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in {"cpu", "cuda", "mps"}
    True
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'."
        ) from exc


def check_memory(memory: Any):
    """A joblib.Memory from ``None``, a path (str or path-like) or a Memory-like object."""
    if isinstance(memory, (str, os.PathLike)):
        memory = os.path.expanduser(os.fspath(memory))
    try:
        return _sklearn_check_memory(memory)
    except ValueError:
        raise ValueError(
            f"memory must be None, a directory path or a joblib.Memory, got {memory!r}; e.g. "
            "memory='~/.cache/zeromatch_sk' caches embeddings on disk."
        ) from None


def check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)
