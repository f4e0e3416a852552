"""Benchmark datasets: features, teacher probabilities, a fixed evaluation split, label draws.

A :class:`BenchmarkDataset` holds everything a run needs, as plain arrays:

- ``X`` (features or embeddings) and ``y`` (class indices) for every row;
- ``teacher_proba``, the zero-shot teacher's probabilities for every row,
  computed once;
- ``pool_idx`` (the training pool) and ``eval_idx`` (evaluation rows that no
  method ever trains on), fixed per dataset.

Each run then draws its labeled rows from the pool with
:func:`balanced_label_draw` (per seed); every other pool row is unlabeled.

Text datasets are embedded once and kept as plain ``.npy`` files in a cache
folder (one set per dataset and model), so a second run does not embed again
and the files can be copied to another machine.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

__all__ = [
    "DATASETS",
    "BenchmarkDataset",
    "balanced_label_draw",
    "cached_text_features",
    "default_cache_dir",
    "load_dataset",
    "make_dataset",
    "stratified_split",
    "synthetic_teacher",
]

#: The embedding model of the text datasets (and of their zero-shot teacher).
TEXT_MODEL = "all-MiniLM-L6-v2"
#: Softmax temperature of the sentence-transformers teacher (logit scale 50).
TEXT_TEMPERATURE = 0.02
#: Fraction of rows held out for evaluation when a dataset has no test file of its own.
EVAL_FRACTION = 0.25
#: Seed of the fixed evaluation split (the label draws use the run's seed).
SPLIT_SEED = 0


def default_cache_dir() -> Path:
    """``$ZEROMATCH_CACHE`` or ``~/.cache/zeromatch_sk``."""
    return Path(os.environ.get("ZEROMATCH_CACHE") or Path.home() / ".cache" / "zeromatch_sk").expanduser()


@dataclass
class BenchmarkDataset:
    """One benchmark dataset: rows, teacher, and the fixed split.

    Parameters
    ----------
    name : str
        Identifier used in tables, file names and ``--datasets``.
    X : ndarray of shape (n_samples, n_features)
        Features (for text: sentence embeddings).
    y : ndarray of shape (n_samples,)
        True class indices ``0 .. n_classes - 1``.
    classes : ndarray of shape (n_classes,)
        Class names, indexed by ``y``.
    teacher_proba : ndarray of shape (n_samples, n_classes) or None
        Zero-shot teacher probabilities for every row (columns follow
        ``classes``). None: no teacher; methods that need one are skipped.
    eval_idx : ndarray of int
        Evaluation rows; no method trains on them.
    pool_idx : ndarray of int
        Training pool: labeled rows are drawn from it, the rest are unlabeled.
    budgets : tuple of int
        Default label budgets (total labeled rows, balanced per class).
    teacher : str
        What the teacher is, for the report.
    description : str
        Where the data come from (with attribution).
    group : str or None
        Datasets sharing a group have the same rows, labels and split and
        differ only in their teacher; runs of methods that ignore the teacher
        are shared between them.
    label_sampling : {'balanced', 'random'}
        How each run draws its labeled rows from the pool: a fixed number
        per class (as the paper does), or uniformly at random (redrawn until
        every class has a row).
    info : dict
        Extra facts for the report (embedding seconds, cache files, ...).
    texts : ndarray of str or None
        The raw texts behind the rows of a text dataset (one per row of
        ``X``), for methods that read texts (SetFit); ``None`` elsewhere.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    teacher_proba: np.ndarray | None
    eval_idx: np.ndarray
    pool_idx: np.ndarray
    budgets: tuple[int, ...] = (40,)
    teacher: str = ""
    description: str = ""
    group: str | None = None
    label_sampling: str = "balanced"
    info: dict = field(default_factory=dict)
    texts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.label_sampling not in ("balanced", "random"):
            raise ValueError(
                f"{self.name}: label_sampling must be 'balanced' or 'random', got {self.label_sampling!r}."
            )
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64)
        self.classes = np.asarray(self.classes, dtype=object)
        self.eval_idx = np.asarray(self.eval_idx, dtype=np.int64)
        self.pool_idx = np.asarray(self.pool_idx, dtype=np.int64)
        self.budgets = tuple(int(b) for b in self.budgets)
        n, k = len(self.X), len(self.classes)
        if len(self.y) != n:
            raise ValueError(f"{self.name}: X has {n} rows but y has {len(self.y)}.")
        if self.y.min() < 0 or self.y.max() >= k:
            raise ValueError(f"{self.name}: y must hold class indices in [0, {k}).")
        if self.teacher_proba is not None:
            self.teacher_proba = np.asarray(self.teacher_proba, dtype=np.float32)
            if self.teacher_proba.shape != (n, k):
                raise ValueError(
                    f"{self.name}: teacher_proba has shape {self.teacher_proba.shape}, expected {(n, k)}."
                )
        if self.texts is not None:
            self.texts = np.asarray(self.texts, dtype=object)
            if self.texts.shape != (n,):
                raise ValueError(f"{self.name}: texts has shape {self.texts.shape}, expected ({n},).")
        if np.intersect1d(self.eval_idx, self.pool_idx).size:
            raise ValueError(f"{self.name}: evaluation rows and training pool overlap.")

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def key(self) -> str:
        """Identity of rows, labels and split: the group, or the name."""
        return self.group or self.name

    def teacher_accuracy(self, rows=None) -> float:
        """Accuracy of the teacher's argmax on ``rows`` (default: the evaluation rows)."""
        if self.teacher_proba is None:
            return float("nan")
        rows = self.eval_idx if rows is None else rows
        return float(np.mean(self.teacher_proba[rows].argmax(axis=1) == self.y[rows]))

    def summary(self) -> dict[str, Any]:
        """JSON-friendly facts about the dataset (no arrays)."""
        return {
            "name": self.name,
            "n_rows": len(self.X),
            "n_features": int(self.X.shape[1]),
            "n_classes": self.n_classes,
            "classes": [str(c) for c in self.classes],
            "n_pool": len(self.pool_idx),
            "n_eval": len(self.eval_idx),
            "eval_class_counts": np.bincount(self.y[self.eval_idx], minlength=self.n_classes).tolist(),
            "budgets": list(self.budgets),
            "teacher": self.teacher,
            "teacher_accuracy_eval": self.teacher_accuracy(),
            "teacher_accuracy_pool": self.teacher_accuracy(self.pool_idx),
            "description": self.description,
            "group": self.group,
            "label_sampling": self.label_sampling,
            **self.info,
        }


# ------------------------------------------------------------------ splitting
def stratified_split(y, eval_fraction: float = EVAL_FRACTION, random_state=SPLIT_SEED):
    """Split row indices into a training pool and evaluation rows, stratified by class.

    Returns
    -------
    pool_idx, eval_idx : ndarray of int
        Sorted, disjoint, covering every row.

    Examples
    --------
    >>> pool, ev = stratified_split(np.repeat([0, 1], 10), eval_fraction=0.2)
    >>> len(pool), len(ev), len(np.intersect1d(pool, ev))
    (16, 4, 0)
    """
    y = np.asarray(y)
    idx = np.arange(len(y))
    pool, ev = train_test_split(idx, test_size=eval_fraction, stratify=y, random_state=random_state)
    return np.sort(pool), np.sort(ev)


def balanced_label_draw(y_pool, budget: int, random_state=None) -> np.ndarray:
    """Positions (into ``y_pool``) of ``budget`` rows to label, balanced per class.

    Every class gets ``budget // n_classes`` rows; the remainder goes to
    randomly chosen classes, one extra row each. A class with too few rows
    gives all it has and the others make up the difference, so exactly
    ``min(budget, len(y_pool))`` positions come back. This is how the paper
    samples its labeled sets.

    Parameters
    ----------
    y_pool : array-like of shape (n_pool,)
        True classes of the pool rows.
    budget : int
        Total number of labeled rows.
    random_state : int, RandomState or None

    Returns
    -------
    positions : ndarray of int, sorted

    Examples
    --------
    >>> y = np.repeat([0, 1, 2, 3], 25)
    >>> pos = balanced_label_draw(y, 40, random_state=0)
    >>> np.bincount(y[pos]).tolist()
    [10, 10, 10, 10]
    """
    y_pool = np.asarray(y_pool)
    rng = check_random_state(random_state)
    budget = int(min(budget, len(y_pool)))
    classes = np.unique(y_pool)
    by_class = {c: rng.permutation(np.flatnonzero(y_pool == c)) for c in classes}
    quota = dict.fromkeys(classes, budget // len(classes))
    for c in rng.permutation(classes)[: budget % len(classes)]:
        quota[c] += 1
    # Classes too small for their quota hand the rest to the others, in random order.
    while True:
        short = sum(max(quota[c] - len(by_class[c]), 0) for c in classes)
        for c in classes:
            quota[c] = min(quota[c], len(by_class[c]))
        if not short:
            break
        roomy = [c for c in rng.permutation(classes) if len(by_class[c]) > quota[c]]
        for i in range(short):
            quota[roomy[i % len(roomy)]] += 1
    return np.sort(np.concatenate([by_class[c][: quota[c]] for c in classes]).astype(np.int64))


def random_label_draw(y_pool, budget: int, random_state=None, max_tries: int = 1000) -> np.ndarray:
    """Positions of ``budget`` rows drawn uniformly at random, redrawn until every class has one.

    How a practitioner labels "whatever comes first": the labeled class
    frequencies follow the pool's (noisily). After ``max_tries`` draws
    without every class, the rarest missing classes each swap in one row.

    Examples
    --------
    >>> y = np.r_[np.zeros(90, int), np.ones(10, int)]
    >>> pos = random_label_draw(y, 20, random_state=0)
    >>> len(pos), sorted(set(y[pos].tolist()))
    (20, [0, 1])
    """
    y_pool = np.asarray(y_pool)
    rng = check_random_state(random_state)
    budget = int(min(budget, len(y_pool)))
    classes = np.unique(y_pool)
    for _ in range(max_tries):
        pos = rng.choice(len(y_pool), budget, replace=False)
        if len(np.unique(y_pool[pos])) == len(classes):
            return np.sort(pos).astype(np.int64)
    missing = np.setdiff1d(classes, y_pool[pos])
    for i, c in enumerate(missing):
        pos[i] = rng.choice(np.flatnonzero(y_pool == c))
    return np.sort(pos).astype(np.int64)


def synthetic_teacher(y, n_classes: int, accuracy: float | None, random_state=0) -> np.ndarray:
    """One-hot teacher output that is right with probability ``accuracy``.

    A wrong answer is uniform over the other classes. ``accuracy=None`` gives
    the uniformly random teacher (right with probability ``1 / n_classes``),
    the paper's worst-case probe.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes), float32

    Examples
    --------
    >>> y = np.zeros(10_000, dtype=int)
    >>> P = synthetic_teacher(y, 10, 0.8, random_state=0)
    >>> round(float((P.argmax(1) == y).mean()), 2)
    0.8
    """
    y = np.asarray(y, dtype=np.int64)
    rng = check_random_state(random_state)
    if accuracy is None:
        labels = rng.randint(n_classes, size=len(y))
    else:
        wrong = rng.random_sample(len(y)) >= accuracy
        # Shift by 1 .. k-1: uniform over the other classes.
        labels = np.where(wrong, (y + rng.randint(1, n_classes, size=len(y))) % n_classes, y)
    return np.eye(n_classes, dtype=np.float32)[labels]


# --------------------------------------------------------------- text features
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _texts_digest(texts, extra: str = "") -> str:
    h = hashlib.sha1(extra.encode())
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def cached_text_features(
    name: str,
    texts,
    classes,
    *,
    class_names=None,
    template: str | None = None,
    cache_dir=None,
    model: str = TEXT_MODEL,
    embedder=None,
    provider=None,
    verbose: int = 1,
):
    """Embeddings and zero-shot teacher probabilities of ``texts``, cached as ``.npy`` files.

    The cache holds three files per (dataset, model) in ``cache_dir``:
    ``{name}__{model}__X.npy`` (float32 embeddings),
    ``{name}__{model}__teacher.npy`` (teacher probabilities, columns in the
    order of ``classes``) and ``{name}__{model}__meta.json`` (a digest of the
    texts and prompts, so changed data are embedded again). Copy them to
    another machine to skip embedding there.

    Parameters
    ----------
    name : str
        Dataset name (part of the file names).
    texts : list of str
    classes : sequence
        Class labels, in the column order of the teacher.
    class_names, template :
        Prompt settings of the teacher (see
        :class:`~zeromatch_sk.providers.SentenceTransformerProvider`).
    cache_dir : path-like or None
        Default :func:`default_cache_dir`.
    model : str
        Sentence-transformers model of the embedder and the teacher.
    embedder, provider : objects or None
        Replace :class:`~zeromatch_sk.embedders.SentenceEmbedder` (anything
        with ``fit_transform(texts)``) and the teacher (anything with
        ``predict_proba(X, classes)``); used by the tests.
    verbose : int

    Returns
    -------
    X : ndarray (n, dim), float32
    teacher_proba : ndarray (n, n_classes), float32
    info : dict
        ``cache_hit``, ``embed_seconds`` and the file paths.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache_dir = cache_dir.expanduser()
    classes = [str(c) for c in classes]
    prompts = json.dumps(
        {
            "classes": classes,
            "class_names": class_names,
            "template": template,
            "temperature": TEXT_TEMPERATURE,
        },
        sort_keys=True,
    )
    digest = _texts_digest(texts, extra=model)
    stem = cache_dir / f"{_slug(name)}__{_slug(model)}"
    paths = {k: Path(f"{stem}__{k}") for k in ("X.npy", "teacher.npy", "meta.json")}
    info = {"cache_files": [str(p) for p in paths.values()]}
    meta = {}
    if paths["meta.json"].is_file():
        try:
            meta = json.loads(paths["meta.json"].read_text())
        except (OSError, ValueError):
            meta = {}
    meta_before = dict(meta)
    if meta.get("texts_sha1") == digest and paths["X.npy"].is_file():
        X = np.load(paths["X.npy"])
        info.update(cache_hit=True, embed_seconds=meta.get("embed_seconds"))
    else:
        if embedder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from ..embedders import SentenceEmbedder

            embedder = SentenceEmbedder(model=model, verbose=verbose)
        t0 = time.perf_counter()
        X = np.asarray(embedder.fit_transform(list(texts)), dtype=np.float32)
        meta = {
            "texts_sha1": digest,
            "n_rows": len(X),
            "model": model,
            "embed_seconds": time.perf_counter() - t0,
        }
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(paths["X.npy"], X)
        paths["teacher.npy"].unlink(missing_ok=True)
        info.update(cache_hit=False, embed_seconds=meta["embed_seconds"])
    if meta.get("prompts") == prompts and paths["teacher.npy"].is_file():
        P = np.load(paths["teacher.npy"])
    else:
        if provider is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from ..providers import SentenceTransformerProvider

            provider = SentenceTransformerProvider(
                model=model,
                class_names=class_names,
                template=template,
                temperature=TEXT_TEMPERATURE,
                verbose=0,
            )
        P = np.asarray(provider.predict_proba(X, np.asarray(classes, dtype=object)), dtype=np.float32)
        meta["prompts"] = prompts
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.save(paths["teacher.npy"], P)
        info["cache_hit"] = False
    if meta != meta_before:
        paths["meta.json"].write_text(json.dumps(meta, indent=1))
    return X, P, info


# -------------------------------------------------------------------- datasets
def _subsample(idx: np.ndarray, y: np.ndarray, n_max: int | None, seed: int = SPLIT_SEED) -> np.ndarray:
    """At most ``n_max`` of ``idx``, stratified by ``y[idx]`` (deterministic)."""
    if n_max is None or len(idx) <= n_max:
        return idx
    keep, _ = train_test_split(idx, train_size=int(n_max), stratify=y[idx], random_state=seed)
    return np.sort(keep)


def _text_dataset(name, bunch, *, cache_dir, verbose, budgets, description, test_bunch=None, max_rows=None):
    names = sorted(set(bunch.target))
    texts = list(bunch.data)
    target = np.asarray(bunch.target, dtype=object)
    if test_bunch is not None:
        texts += list(test_bunch.data)
        target = np.concatenate([target, np.asarray(test_bunch.target, dtype=object)])
    X, P, info = cached_text_features(
        name,
        texts,
        names,
        class_names=bunch.class_names,
        template=bunch.template,
        cache_dir=cache_dir,
        verbose=verbose,
    )
    lookup = {c: i for i, c in enumerate(names)}
    y = np.array([lookup[c] for c in target], dtype=np.int64)
    if test_bunch is not None:  # the dataset's own test file is the evaluation set
        n_train = len(bunch.data)
        pool, ev = np.arange(n_train), np.arange(n_train, len(y))
    else:
        pool, ev = stratified_split(y)
    if max_rows is not None:
        frac = min(1.0, max_rows / len(y))
        pool = _subsample(pool, y, max(round(frac * len(pool)), 2 * len(names)))
        ev = _subsample(ev, y, max(round(frac * len(ev)), len(names)))
    return BenchmarkDataset(
        name=name,
        X=X,
        y=y,
        classes=np.array(names, dtype=object),
        teacher_proba=P,
        eval_idx=ev,
        pool_idx=pool,
        budgets=budgets,
        teacher=(
            f"{TEXT_MODEL} zero-shot: softmax({1 / TEXT_TEMPERATURE:g} x cosine) to "
            f"'{bunch.template.format('...')}' prompts"
        ),
        description=description,
        info=info,
        texts=np.asarray(texts, dtype=object),
    )


def _load_ag_news_sample(cache_dir=None, verbose=1, max_rows=None):
    from ..datasets import load_ag_news_sample

    return _text_dataset(
        "ag_news_sample",
        load_ag_news_sample(),
        cache_dir=cache_dir,
        verbose=verbose,
        budgets=(40,),
        max_rows=max_rows,
        description=(
            "AG News, the 2,000-article sample bundled with zeromatch_sk (AG's News Topic Classification "
            "Dataset, Zhang, Zhao & LeCun, NeurIPS 2015; research and non-commercial use). "
            f"{EVAL_FRACTION:.0%} of the rows, stratified, are the evaluation set."
        ),
    )


def _load_ag_news(cache_dir=None, verbose=1, max_rows=None):
    from ..datasets import load_ag_news

    return _text_dataset(
        "ag_news",
        load_ag_news(),
        cache_dir=cache_dir,
        verbose=verbose,
        budgets=(40, 200),
        max_rows=max_rows,
        description=(
            "AG News test split, 7,600 articles (Zhang, Zhao & LeCun, NeurIPS 2015; research and "
            f"non-commercial use). {EVAL_FRACTION:.0%} of the rows, stratified, are the evaluation set."
        ),
    )


def _load_trec(cache_dir=None, verbose=1, max_rows=None):
    from ..datasets import load_trec

    return _text_dataset(
        "trec",
        load_trec("train"),
        test_bunch=load_trec("test"),
        cache_dir=cache_dir,
        verbose=verbose,
        budgets=(60, 300),
        max_rows=max_rows,
        description=(
            "TREC question classification, coarse labels (Li & Roth, COLING 2002): train.txt "
            "(4,965 questions) is the pool, the official test.txt (500) the evaluation set."
        ),
    )


#: The synthetic teachers of the digits datasets: name suffix -> accuracy (None: uniformly random).
DIGITS_TEACHERS = {"teacher0.8": 0.8, "teacher0.5": 0.5, "random-teacher": None}


def _load_digits(teacher_accuracy, suffix, max_rows=None, **_):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    pool, ev = stratified_split(y)
    if max_rows is not None:
        frac = min(1.0, max_rows / len(y))
        pool = _subsample(pool, y, max(round(frac * len(pool)), 20))
        ev = _subsample(ev, y, max(round(frac * len(ev)), 10))
    P = synthetic_teacher(y, 10, teacher_accuracy, random_state=1234)
    what = (
        "uniformly random labels"
        if teacher_accuracy is None
        else f"right with probability {teacher_accuracy}"
    )
    return BenchmarkDataset(
        name=f"digits-{suffix}",
        X=X,
        y=y,
        classes=np.array([str(d) for d in range(10)], dtype=object),
        teacher_proba=P,
        eval_idx=ev,
        pool_idx=pool,
        budgets=(50,),
        teacher=f"synthetic one-hot teacher, {what} (wrong answers uniform over the other classes)",
        description=(
            "scikit-learn's digits (1,797 8x8 images, pixels / 16); "
            f"{EVAL_FRACTION:.0%} of the rows, stratified, are the evaluation set."
        ),
        group="digits",
    )


def _digits_loader(accuracy, suffix):
    def load(cache_dir=None, verbose=1, max_rows=None):
        return _load_digits(accuracy, suffix, max_rows=max_rows)

    return load


# ----------------------------------------------------------------- robustness
#: Rows of each imbalanced binary AG News case (pool + evaluation).
ROBUST_AG_ROWS = 4000


def _binary_teacher(P, pos: int, shift: float) -> np.ndarray:
    """ "Topic ``pos`` or not" from the 4-topic zero-shot teacher.

    log-odds = log P[pos] - log sum of the other topics + ``shift``; a
    positive shift models a zero-shot prompt pair whose vague "something
    else" prompt loses too often, so the teacher over-predicts the minority.
    """
    L = np.log(np.maximum(P.astype(np.float64), 1e-12))
    lo = L[:, pos] - np.logaddexp.reduce(np.delete(L, pos, axis=1), axis=1) + shift
    p1 = 1.0 / (1.0 + np.exp(-lo))
    return np.stack([1.0 - p1, p1], axis=1)


def _robust_ag_news(topic, ratio, shift, sampling, cache_dir=None, verbose=1, max_rows=None):
    full = _load_ag_news(cache_dir=cache_dir, verbose=verbose)
    pos = list(full.classes).index(topic)
    rng = np.random.RandomState(SPLIT_SEED)
    n = ROBUST_AG_ROWS if max_rows is None else min(ROBUST_AG_ROWS, max_rows)
    n_pos = n // (1 + ratio)
    rows = np.r_[
        rng.choice(np.flatnonzero(full.y == pos), n_pos, replace=False),
        rng.choice(np.flatnonzero(full.y != pos), n - n_pos, replace=False),
    ]
    y = (full.y[rows] == pos).astype(np.int64)
    pool, ev = stratified_split(y)
    biased = f", shifted by +{shift:g} nats towards {topic}" if shift else ""
    return BenchmarkDataset(
        name=f"ag_news-{topic.lower()}-1:{ratio}{'-biased' if shift else ''}-{sampling}",
        X=full.X[rows],
        y=y,
        classes=np.array(["other", topic], dtype=object),
        teacher_proba=_binary_teacher(full.teacher_proba[rows], pos, shift),
        eval_idx=ev,
        pool_idx=pool,
        budgets=(20,),
        teacher=f"the AG News zero-shot teacher as '{topic} or not'{biased}",
        description=(
            f"AG News, {topic} against the other three topics at 1:{ratio} ({n} articles drawn from the "
            f"7,600), labels drawn {sampling}."
        ),
        label_sampling=sampling,
        info={"cache": full.info.get("cache")},
    )


def _robust_trec(sampling, cache_dir=None, verbose=1, max_rows=None, n_min=80, imbalance=10.0):
    full = _load_trec(cache_dir=cache_dir, verbose=verbose)
    rng = np.random.RandomState(SPLIT_SEED)
    train = full.pool_idx  # train.txt only: its teacher is the weak one (about 45 %)
    k = full.n_classes
    counts = np.bincount(full.y[train], minlength=k)
    # Geometric class sizes from n_min to imbalance * n_min; the rarest class gets the smallest.
    sizes = np.round(n_min * imbalance ** (np.arange(k) / (k - 1))).astype(int)
    rows = np.concatenate(
        [
            rng.choice(train[full.y[train] == c], min(s, counts[c]), replace=False)
            for c, s in zip(np.argsort(counts), sizes)
        ]
    )
    y = full.y[rows]
    pool, ev = stratified_split(y)
    return BenchmarkDataset(
        name=f"trec-longtail-{sampling}",
        X=full.X[rows],
        y=y,
        classes=full.classes,
        teacher_proba=full.teacher_proba[rows],
        eval_idx=ev,
        pool_idx=pool,
        budgets=(60,),
        teacher=full.teacher,
        description=(
            f"TREC train.txt subsampled to a long tail: class sizes from {n_min} to {int(n_min * imbalance)} "
            f"(ratio {imbalance:g}:1, {len(rows)} questions), labels drawn {sampling}."
        ),
        label_sampling=sampling,
        info={"cache": full.info.get("cache")},
    )


def _digits_biased(cache_dir=None, verbose=1, max_rows=None):
    ds = _load_digits(0.5, "biased-teacher", max_rows=max_rows)
    rng = np.random.RandomState(4321)
    labels = ds.teacher_proba.argmax(axis=1)
    wrong = labels != ds.y
    # Most of the teacher's mistakes say "0": a prompt that attracts everything it does not know.
    labels = np.where(wrong & (rng.random_sample(len(labels)) < 0.8), 0, labels)
    ds.teacher_proba = np.eye(10, dtype=np.float32)[labels]
    ds.teacher = "synthetic one-hot teacher, right with probability 0.5; 80 % of its mistakes say '0'"
    return ds


#: Categories of Debian's fortunes used by the two fortunes cases, and the names their prompts use
#: (fixed before any result was seen; the template is ``FORTUNES_TEMPLATE``).
FORTUNES_TOPICS = {
    "computers": "computers",
    "politics": "politics",
    "science": "science",
    "law": "law and lawyers",
    "food": "food and eating",
    "sports": "sports",
    "medicine": "medicine and doctors",
}
FORTUNES_OTHER = [
    "people", "politics", "songs-poems", "men-women", "science", "work", "literature", "art",
    "food", "love", "law", "education", "sports", "medicine", "kids", "pets", "wisdom",
]  # fmt: skip
#: The binary case's two class descriptions, as a practitioner would write them.
FORTUNES_BINARY_NAMES = {
    "other": "people, life or society",
    "computers": "computers, software or programming",
}


def _fortunes_case(
    name, texts, y, classes, class_names, *, cache_dir, verbose, budgets, sampling, description
):
    from ..datasets import FORTUNES_TEMPLATE

    X, P, info = cached_text_features(
        name, texts, classes, class_names=class_names, template=FORTUNES_TEMPLATE, cache_dir=cache_dir,
        verbose=verbose,
    )  # fmt: skip
    pool, ev = stratified_split(y)
    return BenchmarkDataset(
        name=f"{name}-{sampling}",
        X=X,
        y=y,
        classes=np.array(classes, dtype=object),
        teacher_proba=P,
        eval_idx=ev,
        pool_idx=pool,
        budgets=budgets,
        teacher=f"zero-shot {TEXT_MODEL} with '{FORTUNES_TEMPLATE}' and the names {class_names}",
        description=description + f" Labels drawn {sampling}.",
        label_sampling=sampling,
        info=info,
    )


def _robust_fortunes_binary(sampling, cache_dir=None, verbose=1, max_rows=None, ratio=7):
    from ..datasets import load_fortunes

    full = load_fortunes(["computers", *FORTUNES_OTHER])
    target = np.asarray(full.target)
    rng = np.random.RandomState(SPLIT_SEED)
    n = ROBUST_AG_ROWS if max_rows is None else min(ROBUST_AG_ROWS, max_rows)
    n_pos = n // (1 + ratio)
    rows = np.r_[
        rng.choice(np.flatnonzero(target == "computers"), n_pos, replace=False),
        rng.choice(np.flatnonzero(target != "computers"), n - n_pos, replace=False),
    ]
    y = (target[rows] == "computers").astype(np.int64)
    return _fortunes_case(
        f"fortunes-computers-1:{ratio}",
        [full.data[i] for i in rows],
        y,
        ["other", "computers"],
        FORTUNES_BINARY_NAMES,
        cache_dir=cache_dir,
        verbose=verbose,
        budgets=(20,),
        sampling=sampling,
        description=(
            f"Debian's fortunes: the 'computers' file against {len(FORTUNES_OTHER)} other files at 1:{ratio} "
            f"({n} texts); a real zero-shot teacher from two class descriptions."
        ),
    )


def _robust_fortunes_topics(sampling, cache_dir=None, verbose=1, max_rows=None):
    from ..datasets import load_fortunes

    full = load_fortunes(list(FORTUNES_TOPICS))
    classes = sorted(FORTUNES_TOPICS)
    y = np.searchsorted(classes, np.asarray(full.target, dtype=str)).astype(np.int64)
    rows = np.arange(len(y)) if max_rows is None else _subsample(np.arange(len(y)), y, max_rows)
    counts = np.bincount(y, minlength=len(classes))
    return _fortunes_case(
        "fortunes-topics",
        [full.data[i] for i in rows],
        y[rows],
        classes,
        FORTUNES_TOPICS,
        cache_dir=cache_dir,
        verbose=verbose,
        budgets=(70,),
        sampling=sampling,
        description=(
            f"Debian's fortunes: {len(classes)} topic files at their natural sizes ({counts.min()} to "
            f"{counts.max()} texts, {len(y)} in all)."
        ),
    )


ROBUST_DATASETS: dict[str, Callable[..., BenchmarkDataset]] = {}
for _sampling in ("balanced", "random"):
    for _topic, _ratio, _shift in (("Business", 4, 0.0), ("Business", 9, 0.0), ("Sports", 9, 2.0)):
        ROBUST_DATASETS[f"ag_news-{_topic.lower()}-1:{_ratio}{'-biased' if _shift else ''}-{_sampling}"] = (
            functools.partial(_robust_ag_news, _topic, _ratio, _shift, _sampling)
        )
    ROBUST_DATASETS[f"trec-longtail-{_sampling}"] = functools.partial(_robust_trec, _sampling)
    ROBUST_DATASETS[f"fortunes-computers-1:7-{_sampling}"] = functools.partial(
        _robust_fortunes_binary, _sampling
    )
    ROBUST_DATASETS[f"fortunes-topics-{_sampling}"] = functools.partial(_robust_fortunes_topics, _sampling)
ROBUST_DATASETS["digits-biased-teacher"] = _digits_biased
ROBUST_DATASETS["digits-random-teacher"] = _digits_loader(None, "random-teacher")

#: Loaders by dataset name: ``loader(cache_dir=..., verbose=..., max_rows=...) -> BenchmarkDataset``.
DATASETS: dict[str, Callable[..., BenchmarkDataset]] = {
    "ag_news_sample": _load_ag_news_sample,
    "ag_news": _load_ag_news,
    "trec": _load_trec,
    **{f"digits-{suffix}": _digits_loader(acc, suffix) for suffix, acc in DIGITS_TEACHERS.items()},
    **ROBUST_DATASETS,
}
# The tabular cases build on the helpers above.
from ._tabular import TABULAR_DATASETS

DATASETS.update(TABULAR_DATASETS)
#: Names that stand for several datasets.
DATASET_ALIASES = {
    "digits": [f"digits-{s}" for s in DIGITS_TEACHERS],
    "robustness": list(ROBUST_DATASETS),
    "tabular": list(TABULAR_DATASETS),
}
#: What ``python -m zeromatch_sk.benchmark`` runs without ``--datasets``.
DEFAULT_DATASETS = ("ag_news", "trec", "digits")


def expand_dataset_names(names) -> list[str]:
    """Resolve aliases (``digits``) and check every name."""
    out = []
    for name in names:
        for n in DATASET_ALIASES.get(name, [name]):
            if n not in DATASETS:
                known = sorted(DATASETS) + sorted(DATASET_ALIASES)
                raise ValueError(f"Unknown dataset {n!r}; choose from {known}.")
            if n not in out:
                out.append(n)
    return out


def validation_view(
    ds: BenchmarkDataset, fraction: float = EVAL_FRACTION, random_state=1
) -> BenchmarkDataset:
    """The dataset with its evaluation rows replaced by a validation slice carved from the pool.

    Choose hyper-parameters on this view: it never touches ``ds.eval_idx``.
    The slice is stratified; the rest of the pool stays the pool.
    """
    y_pool = ds.y[ds.pool_idx]
    keep, val = train_test_split(ds.pool_idx, test_size=fraction, stratify=y_pool, random_state=random_state)
    # dataclasses.replace keeps every other field (label_sampling included) as the dataset has it.
    return dataclasses.replace(
        ds,
        name=f"{ds.name}/validation",
        eval_idx=np.sort(val),
        pool_idx=np.sort(keep),
        description=f"Validation view of {ds.name}: {fraction:.0%} of the pool scores the runs; the "
        "evaluation rows are not used.",
        group=None if ds.group is None else f"{ds.group}/validation",
        info=dict(ds.info),
    )


def load_dataset(
    name: str, *, cache_dir=None, verbose: int = 1, max_rows: int | None = None
) -> BenchmarkDataset:
    """Load a registered benchmark dataset by name (see :data:`DATASETS`).

    ``max_rows`` shrinks the pool and the evaluation rows in proportion,
    stratified, for quick trials.
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; choose from {sorted(DATASETS)}.")
    return DATASETS[name](cache_dir=cache_dir, verbose=verbose, max_rows=max_rows)


def make_dataset(
    X,
    y,
    teacher_proba=None,
    *,
    name: str = "custom",
    budgets=(40,),
    eval_fraction: float = EVAL_FRACTION,
    eval_idx=None,
    classes=None,
    teacher: str = "user-supplied teacher",
    description: str = "",
) -> BenchmarkDataset:
    """A :class:`BenchmarkDataset` from your own arrays.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        True labels of every row (any hashable labels).
    teacher_proba : array-like of shape (n_samples, n_classes) or None
        Teacher probabilities, columns in sorted order of the labels (or of
        ``classes``).
    eval_idx : array-like of int or None
        Evaluation rows; default a stratified ``eval_fraction`` of the rows.
    classes : array-like or None
        All class labels in the teacher's column order; default ``np.unique(y)``.
    """
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    try:
        y_idx = np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"y holds the label {exc.args[0]!r}, which is not in classes.") from None
    if eval_idx is None:
        pool, ev = stratified_split(y_idx, eval_fraction)
    else:
        ev = np.unique(np.asarray(eval_idx, dtype=np.int64))
        pool = np.setdiff1d(np.arange(len(y_idx)), ev)
    return BenchmarkDataset(
        name=name,
        X=np.asarray(X, dtype=np.float32),
        y=y_idx,
        classes=np.asarray(classes, dtype=object),
        teacher_proba=None if teacher_proba is None else np.asarray(teacher_proba, dtype=np.float32),
        eval_idx=ev,
        pool_idx=pool,
        budgets=tuple(budgets),
        teacher=teacher,
        description=description,
    )
