"""Loaded models, kept once per process and key, so estimators never hold (or pickle) one."""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from ._cache import _ROW_CACHE

#: Loaded models kept per process; the least recently used one is dropped first.
MAX_LOADED_MODELS = 4


_REGISTRY: OrderedDict[Hashable, Any] = OrderedDict()
_REGISTRY_LOCK = threading.RLock()


def load_model(key: Hashable, loader: Callable[[], Any]) -> Any:
    """Return the object ``loader()`` builds, loading it at most once per process and key."""
    with _REGISTRY_LOCK:
        if key in _REGISTRY:
            _REGISTRY.move_to_end(key)
            return _REGISTRY[key]
        obj = loader()
        _REGISTRY[key] = obj
        while len(_REGISTRY) > MAX_LOADED_MODELS:
            _REGISTRY.popitem(last=False)
        return obj


@contextlib.contextmanager
def quiet_loading(verbose: int):
    """With ``verbose=0``, hide the bars transformers and huggingface_hub draw while a model loads.

    transformers draws a "Loading weights" bar at every load; its switch is
    process-wide, so it is turned off for the load only and restored after
    (huggingface_hub's, which transformers' switch also flips, as well).
    """
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - open_clip without transformers
        hf_logging = None
    if verbose or hf_logging is None or not hf_logging.is_progress_bar_enabled():
        yield
        return
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

    hub_was_disabled = are_progress_bars_disabled()
    with warnings.catch_warnings():
        # huggingface_hub warns when HF_HUB_DISABLE_PROGRESS_BARS=0 overrides the switch.
        warnings.simplefilter("ignore")
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hf_logging.enable_progress_bar()
            if hub_was_disabled:
                disable_progress_bars()


def clear_caches() -> None:
    """Forget every loaded model and every embedding cached in memory."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()
    _ROW_CACHE.clear()
