"""Library-wide settings that are not estimator parameters: torch's CPU threads and the training precision.

``ZeroMatchClassifier`` keeps its constructor to 28 parameters, and the thread count and the precision are
properties of the machine and the job, not of the model, so they live here, in the style of
:func:`sklearn.set_config`.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading

import torch

__all__ = ["config_context", "get_config", "set_config"]

_DEFAULTS = {"torch_threads": None, "precision": "float32"}
#: What the training forward passes may run in; fp16 also scales the loss (torch.amp.GradScaler).
PRECISIONS = ("float32", "bf16", "fp16")
_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_UNCHANGED = object()
_local = threading.local()


def _settings() -> dict:
    if not hasattr(_local, "settings"):
        _local.settings = dict(_DEFAULTS)
    return _local.settings


def get_config() -> dict:
    """The current settings, as a new dict.

    Examples
    --------
    >>> from zeromatch_sk import get_config
    >>> get_config()
    {'torch_threads': None, 'precision': 'float32'}
    """
    return dict(_settings())


def _check_threads(value):
    if value is None or value == "auto":
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return int(value)
    raise ValueError(
        f"torch_threads must be None (leave torch's setting), 'auto' (one per usable core, at most torch's "
        f"count) or a positive int; got {value!r}."
    )


def _check_precision(value):
    if value in PRECISIONS:
        return value
    hint = (
        " fp16 needs loss scaling, which the training loop does not do; use 'bf16'."
        if value == "fp16"
        else ""
    )
    raise ValueError(f"precision must be one of {PRECISIONS}, got {value!r}.{hint}")


def set_config(torch_threads=_UNCHANGED, precision=_UNCHANGED) -> None:
    """Set library-wide settings for this thread; a setting not passed keeps its value.

    Parameters
    ----------
    torch_threads : None, 'auto' or int >= 1, optional (initially None)
        CPU threads torch uses while a :class:`~zeromatch_sk.ZeroMatchClassifier` fits (and predicts). The
        previous count is restored when ``fit`` returns or raises. ``None`` leaves torch's own setting, which
        already follows ``OMP_NUM_THREADS``: joblib's loky workers (``GridSearchCV(n_jobs=...)``) and dask
        workers set it, so their fits run one thread each. ``'auto'`` uses one thread per core this process
        may run on, capped at torch's count. Set ``1`` when other heavy jobs share the cores: torch's threads
        then wait on each other, and a short fit can take many times longer than with one thread.
    precision : {'float32', 'bf16', 'fp16'}, optional (initially 'float32')
        The precision of the training steps' forward passes: ``'bf16'`` and ``'fp16'`` run them under
        :func:`torch.autocast` in bfloat16 or float16 (weights, optimiser state, losses and predictions
        stay float32), which saves time and memory on GPUs with such units; on most CPUs it is slower.
        ``'fp16'`` also scales the loss (:class:`torch.amp.GradScaler`), skipping the steps whose
        gradients overflow.

    Examples
    --------
    >>> from zeromatch_sk import get_config, set_config
    >>> set_config(torch_threads=1)
    >>> get_config()["torch_threads"]
    1
    >>> set_config(torch_threads=None)
    """
    if torch_threads is not _UNCHANGED:
        _settings()["torch_threads"] = _check_threads(torch_threads)
    if precision is not _UNCHANGED:
        _settings()["precision"] = _check_precision(precision)


@contextlib.contextmanager
def config_context(*, torch_threads=_UNCHANGED, precision=_UNCHANGED):
    """Settings for the duration of a ``with`` block (see :func:`set_config`).

    The settings before the block are restored when it ends, also after an error; a setting not
    passed keeps its value.

    Parameters
    ----------
    torch_threads : None, 'auto' or int >= 1, optional
        As in :func:`set_config`: torch's CPU threads during ``fit`` and ``predict_proba`` inside the
        block (``None``: torch's own count).
    precision : {'float32', 'bf16', 'fp16'}, optional
        As in :func:`set_config`: the training steps' precision inside the block.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> from zeromatch_sk import ZeroMatchClassifier, config_context
    >>> X = np.random.RandomState(0).normal(size=(40, 3))
    >>> y = np.r_[np.zeros(4), np.ones(4), -np.ones(32)].astype(int)
    >>> with config_context(torch_threads=1):
    ...     clf = ZeroMatchClassifier(kd_epochs=0, max_epochs=1, steps_per_epoch=2, random_state=0).fit(X, y)
    """
    before = get_config()
    set_config(torch_threads=torch_threads, precision=precision)
    try:
        yield
    finally:
        _settings().update(before)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads():
    """Apply the ``torch_threads`` setting inside the block, restoring torch's count after it."""
    wanted = _settings()["torch_threads"]
    before = torch.get_num_threads()
    if wanted == "auto":
        wanted = max(1, min(before, usable_cores()))
    if wanted is None or wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def autocast(device: torch.device, precision: str):
    """``precision`` (a value of the setting) as an autocast context for a training step on ``device``."""
    dtype = _AUTOCAST_DTYPES.get(precision)
    return torch.autocast(device_type=device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def grad_scaler(device: torch.device, precision: str):
    """The loss scaler ``precision`` needs (fp16 only), or None."""
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None
