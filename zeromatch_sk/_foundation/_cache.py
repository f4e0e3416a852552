"""Embeddings computed once per model and content: fingerprints, the in-memory rows and the on-disk chunks."""

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
#: Rows per file of the on-disk cache; a process killed outright loses at most this many rows' work.
CHUNK_ROWS = 512
#: The on-disk cache's folder inside ``memory``'s location.
STORE_FOLDER = "zeromatch_sk-embeddings"
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


class _ChunkStore:
    """Embeddings on disk under one folder per model: a pair of ``.npy`` files per chunk of rows.

    Hand-written rather than ``joblib.Memory.cache`` (what earlier versions used):
    Memory caches a whole call, so an encoding interrupted at row 90,000 of
    100,000 started again from row 0, a subset of the rows (a fold) missed the
    cache, and the result was held once in the cache's pickle and once in the
    caller. Chunks keep every finished chunk, serve any subset, and are read
    straight into the caller's array.
    """

    def __init__(self, location: str | os.PathLike, model_id: tuple):
        key = hashlib.sha1(repr(model_id).encode()).hexdigest()[:20]
        self.folder = Path(location) / STORE_FOLDER / key

    def index(self) -> dict[str, tuple[Path, int]]:
        """Where each cached row lives: digest -> (rows file, row)."""
        where: dict[str, tuple[Path, int]] = {}
        for keys_file in sorted(self.folder.glob("*.keys.npy")):
            try:
                keys = np.load(keys_file, allow_pickle=False)
            except (OSError, ValueError):
                continue  # unreadable: its rows are encoded again
            rows_file = keys_file.with_name(keys_file.name.replace(".keys.npy", ".rows.npy"))
            for i, digest in enumerate(keys.tolist()):
                where.setdefault(digest, (rows_file, i))
        return where

    @staticmethod
    def read(rows_file: Path) -> np.ndarray | None:
        try:
            return np.load(rows_file, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            return None

    def write(self, digests: list[str], rows: np.ndarray) -> None:
        """Store one chunk; rows first, keys last, each by atomic rename, so a chunk is whole or absent."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1("".join(digests).encode()).hexdigest()[:20]
        for suffix, array in ((".rows.npy", rows), (".keys.npy", np.asarray(digests, dtype="U40"))):
            tmp = self.folder / f".{name}{suffix}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, self.folder / f"{name}{suffix}")


def _store_for(memory: Any, model_id: tuple) -> _ChunkStore | None:
    location = getattr(check_memory(memory), "location", None)
    return None if location is None else _ChunkStore(location, model_id)


# ---------------------------------------------------------------- embedding
class _Rows:
    """The output rows, allocated once the width is known, filled from caches and the encoder."""

    def __init__(self, n: int):
        self.n, self.array = n, None

    def put(self, positions, values: np.ndarray) -> None:
        if self.array is None:
            self.array = np.empty((self.n, values.shape[-1]), dtype=np.float32)
        self.array[positions] = values


def _from_caches(rows: _Rows, digests, model_id, store) -> list[int]:
    """Fill the rows cached on disk or in memory; return the positions still missing.

    Rows found only in memory are written to the disk store as well, so that a
    later process finds every row of this call there.
    """
    missing, on_disk, only_in_memory = [], {}, []
    where = store.index() if store is not None else {}
    for j, d in enumerate(digests):
        if d in where:
            on_disk.setdefault(where[d][0], []).append((j, where[d][1]))
            continue
        row = _ROW_CACHE.get(model_id, d)
        if row is None:
            missing.append(j)
        else:
            rows.put(j, row)
            only_in_memory.append(j)
    for rows_file, pairs in on_disk.items():
        chunk = _ChunkStore.read(rows_file)
        if chunk is None or max(i for _, i in pairs) >= len(chunk):
            missing.extend(j for j, _ in pairs)
            continue
        rows.put([j for j, _ in pairs], chunk[[i for _, i in pairs]])
    if store is not None:
        for start in range(0, len(only_in_memory), CHUNK_ROWS):
            part = only_in_memory[start : start + CHUNK_ROWS]
            store.write([digests[j] for j in part], rows.array[part])
    return sorted(missing)


def _encode_missing(rows: _Rows, todo, digests, items, encode_batch, model_id, store, batch_size, bar):
    """Encode the rows at ``todo`` in batches; on disk, every ``CHUNK_ROWS`` rows become a chunk."""
    pending: list[int] = []
    try:
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            out = np.asarray(encode_batch([items[j] for j in batch]), dtype=np.float32)
            if out.ndim != 2 or len(out) != len(batch):
                raise ValueError(
                    f"The encoder returned an array of shape {out.shape} for {len(batch)} rows; it must "
                    "return one embedding per row, shape (n_rows, dim)."
                )
            rows.put(batch, out)
            if store is None:
                for j, row in zip(batch, out):
                    _ROW_CACHE.put(model_id, digests[j], row.copy())
            else:
                pending.extend(batch)
                if len(pending) >= CHUNK_ROWS:
                    store.write([digests[j] for j in pending], rows.array[pending])
                    pending = []
            bar.update(len(batch))
    finally:
        # Interrupted (Ctrl-C, an encoder error): keep what was already encoded.
        if pending:
            store.write([digests[j] for j in pending], rows.array[pending])


def embed(
    items: Sequence[Any],
    digests: Sequence[str],
    encode_batch: Callable[[list[Any]], np.ndarray],
    *,
    model_id: tuple,
    memory: Any = None,
    batch_size: int = 32,
    order: Sequence[int] | None = None,
    verbose: int = 1,
    desc: str = "embedding",
    unit: str = "row",
) -> np.ndarray:
    """Embeddings of ``items`` as float32, computed once per model and content.

    Rows come from the in-memory cache, then from the on-disk chunks under
    ``memory``'s folder, and only the rest are encoded. On disk, each run of
    ``CHUNK_ROWS`` encoded rows is saved as soon as it is done, and whatever was
    encoded is saved when the encoding is interrupted, so a long run resumes
    where it stopped. The output is allocated once and filled in place.

    Parameters
    ----------
    items : sequence
        Rows to embed (texts, images, ...).
    digests : sequence of str
        Content digest of each row (40 hex characters); equal digests mean equal
        embeddings. Rows with equal digests are encoded once.
    encode_batch : callable
        ``encode_batch(list_of_rows) -> array (n, dim)``; called only for rows
        not cached yet, at most ``batch_size`` rows at a time. It is where the
        model gets loaded, so fully cached inputs never load it.
    model_id : tuple of str
        Everything that determines the embedding besides the row: family,
        model name, checkpoint fingerprint, output kind.
    memory : None, str, path or joblib.Memory
        On-disk cache folder, as in :class:`sklearn.pipeline.Pipeline`; with
        None (or an object without a ``location``), rows are cached in memory only.
    batch_size : int
        Rows per call of ``encode_batch``.
    order : sequence of int, optional
        The order in which to encode the rows (e.g. longest text first, which
        wastes the least padding); a repeated content takes the place of its
        first row. The output is in the order of ``items``.
    verbose, desc, unit
        Progress bar.

    Returns
    -------
    E : ndarray of shape (len(items), dim), dtype float32
    """
    digests = list(digests)
    where: dict[str, int] = {}  # content -> its row in the array of unique rows
    unique: list[int] = []  # position in ``items`` of each content's first row
    for j, d in enumerate(digests):
        if d not in where:
            where[d] = len(unique)
            unique.append(j)
    unique_digests = [digests[j] for j in unique]
    store = _store_for(memory, model_id)
    rows = _Rows(len(unique))
    todo = _from_caches(rows, unique_digests, model_id, store)
    if todo:
        if order is not None:
            rank = np.empty(len(digests), dtype=np.int64)
            rank[np.asarray(order)] = np.arange(len(digests))
            todo.sort(key=lambda u: rank[unique[u]])
        with progress(len(todo), verbose=verbose, desc=desc, unit=unit) as bar:
            unique_items = [items[j] for j in unique]
            _encode_missing(
                rows, todo, unique_digests, unique_items, encode_batch, model_id, store, batch_size, bar
            )
    if rows.array is None:  # no rows at all
        return np.empty((0, 0), dtype=np.float32)
    if len(unique) == len(digests):
        return rows.array
    return rows.array[[where[d] for d in digests]]
