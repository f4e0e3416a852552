"""Embeddings computed once per model and content: fingerprints and the per-row cache."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._params import check_memory

#: Bytes of embeddings kept in memory per process before the oldest rows go.
MAX_CACHED_BYTES = 512 * 2**20
#: A progress bar appears only once an encoding has run this many seconds.
PROGRESS_DELAY_S = 2.0


# ------------------------------------------------------------------ fingerprints
def file_fingerprint(path: str | os.PathLike) -> str:
    """Identity of a file or directory tree: resolved path, sizes and modification times."""
    path = Path(path).resolve()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha1(str(path).encode())
    for f in files:
        st = f.stat()
        h.update(
            f"{f.relative_to(path) if path.is_dir() else f.name}:{st.st_size}:{st.st_mtime_ns};".encode()
        )
    return h.hexdigest()


def text_digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- embedding cache
class _RowCache:
    """Embeddings by ``(model_id, row digest)``, oldest dropped beyond ``MAX_CACHED_BYTES``."""

    def __init__(self):
        self._rows: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, model_id: tuple, digest: str) -> np.ndarray | None:
        with self._lock:
            return self._rows.get((model_id, digest))

    def put(self, model_id: tuple, digest: str, row: np.ndarray) -> None:
        with self._lock:
            key = (model_id, digest)
            if key in self._rows:
                return
            self._rows[key] = row
            self._bytes += row.nbytes
            while self._bytes > MAX_CACHED_BYTES and len(self._rows) > 1:
                _, old = self._rows.popitem(last=False)
                self._bytes -= old.nbytes

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()
            self._bytes = 0


_ROW_CACHE = _RowCache()


def progress(total: int, *, verbose: int, desc: str, unit: str):
    """A tqdm bar over ``total`` rows; with ``verbose=1`` it shows only for long runs."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not verbose,
        delay=PROGRESS_DELAY_S if verbose == 1 else 0.0,
        # verbose=2 redraws on every update, so even a run shorter than tqdm's
        # 0.1 s refresh interval shows its final count before the bar is cleared.
        mininterval=0.0 if verbose >= 2 else 0.1,
        leave=False,
    )


def _embed_rows(model_id, digests, items, encode_batch, batch_size, verbose, desc, unit):
    # Module-level so that joblib.Memory can cache it; only (model_id, digests)
    # enter the cache key, everything else is listed in ``ignore``.
    found: dict[str, np.ndarray] = {}
    missing: dict[str, Any] = {}
    for d, item in zip(digests, items):
        if d in found or d in missing:
            continue
        row = _ROW_CACHE.get(model_id, d)
        if row is None:
            missing[d] = item
        else:
            found[d] = row
    if missing:
        keys, todo = list(missing), list(missing.values())
        with progress(len(todo), verbose=verbose, desc=desc, unit=unit) as bar:
            for start in range(0, len(todo), batch_size):
                out = np.asarray(encode_batch(todo[start : start + batch_size]), dtype=np.float32)
                for d, row in zip(keys[start : start + batch_size], out):
                    found[d] = row.copy()
                    _ROW_CACHE.put(model_id, d, found[d])
                bar.update(len(out))
    return np.stack([found[d] for d in digests])


def embed(
    items: Sequence[Any],
    digests: Sequence[str],
    encode_batch: Callable[[list[Any]], np.ndarray],
    *,
    model_id: tuple,
    memory: Any = None,
    batch_size: int = 32,
    verbose: int = 1,
    desc: str = "embedding",
    unit: str = "row",
) -> np.ndarray:
    """Embeddings of ``items`` as float32, computed once per model and content.

    Parameters
    ----------
    items : sequence
        Rows to embed (texts, images, ...).
    digests : sequence of str
        Content digest of each row; equal digests mean equal embeddings.
    encode_batch : callable
        ``encode_batch(list_of_rows) -> array (n, dim)``; called only for rows
        not cached yet, at most ``batch_size`` rows at a time. It is where the
        model gets loaded, so fully cached inputs never load it.
    model_id : tuple of str
        Everything that determines the embedding besides the row: family,
        model name, checkpoint fingerprint, output kind.
    memory : None, str, path or joblib.Memory
        On-disk cache, as in :class:`sklearn.pipeline.Pipeline`.
    batch_size, verbose, desc, unit
        Batching and progress bar.

    Returns
    -------
    E : ndarray of shape (len(items), dim), dtype float32
    """
    memory = check_memory(memory)
    fn = memory.cache(_embed_rows, ignore=["items", "encode_batch", "batch_size", "verbose", "desc", "unit"])
    E = fn(model_id, list(digests), items, encode_batch, batch_size, verbose, desc, unit)
    if getattr(memory, "location", None) is not None:
        # A disk hit skips _embed_rows: remember its rows for other subsets (folds).
        for d, row in zip(digests, E):
            _ROW_CACHE.put(model_id, d, row.copy())
    return E
