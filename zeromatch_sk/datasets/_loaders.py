"""Loaders for the bundled AG News sample, the shared AG News / TREC files and Debian's fortunes."""

from __future__ import annotations

import csv
import gzip
import os
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

#: Topic names as the prompts spell them (zero-shot accuracy about 0.75 with all-MiniLM-L6-v2).
AG_NEWS_TEMPLATE = "This news article is about {}."
AG_NEWS_CLASS_NAMES = {
    "World": "World politics",
    "Sports": "Sports",
    "Business": "Business",
    "Sci/Tech": "Science and technology",
}
_AG_NEWS_LABELS = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}

#: Question types as the prompts spell them (a weak teacher: about 0.45 with all-MiniLM-L6-v2).
TREC_TEMPLATE = "This question asks for {}."
TREC_CLASS_NAMES = {
    "ABBR": "an abbreviation",
    "DESC": "a description or definition",
    "ENTY": "an entity or thing",
    "HUM": "a person",
    "LOC": "a location or place",
    "NUM": "a number, date or quantity",
}

_AG_DESCR = (
    "AG's News Topic Classification Dataset (Zhang, Zhao & LeCun, NeurIPS 2015), built from the AG's "
    "corpus of news articles; for research and non-commercial use. Text is title + '. ' + description."
)


def find_shared_data(required: bool = True) -> Path | None:
    """Locate the shared data folder.

    Looks at the ``ZEROMATCH_DATA`` environment variable, then at
    ``../shared/data`` beside the repository checkout.

    Parameters
    ----------
    required : bool, default=True
        Raise when the folder is missing; otherwise return None.

    Returns
    -------
    path : Path or None

    Examples
    --------
    >>> find_shared_data(required=False) is None or find_shared_data().is_dir()
    True
    """
    candidates = []
    if os.environ.get("ZEROMATCH_DATA"):
        candidates.append(Path(os.environ["ZEROMATCH_DATA"]))
    repo_root = Path(__file__).resolve().parents[2]
    candidates.append(repo_root.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    if required:
        raise FileNotFoundError(
            "The shared data folder was not found (looked at "
            + ", ".join(str(p) for p in candidates)
            + "). Set ZEROMATCH_DATA to a folder holding ag_news/test.csv and trec/train.txt, or use "
            "load_ag_news_sample(), which ships with the package."
        )
    return None


def _bunch(texts, labels, names, template, descr):
    target = np.array(labels, dtype=object)
    return Bunch(
        data=list(texts),
        target=target,
        target_names=list(names),
        class_names=dict(names),
        template=template,
        DESCR=descr,
    )


def load_ag_news_sample() -> Bunch:
    """The bundled sample of AG News: 2,000 articles, 500 per topic.

    Returns
    -------
    data : Bunch
        ``data`` (list of str), ``target`` (object array of topic names),
        ``target_names``, ``class_names`` (topic -> name used in prompts),
        ``template`` (the zero-shot prompt template) and ``DESCR``.

    Examples
    --------
    >>> ds = load_ag_news_sample()
    >>> len(ds.data), sorted(set(ds.target))
    (2000, ['Business', 'Sci/Tech', 'Sports', 'World'])
    """
    ref = resources.files("zeromatch_sk.datasets") / "data" / "ag_news_sample.csv.gz"
    with ref.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return _bunch(
        [r["text"] for r in rows],
        [r["label"] for r in rows],
        AG_NEWS_CLASS_NAMES,
        AG_NEWS_TEMPLATE,
        _AG_DESCR + " A stratified sample of 2,000 rows of the 7,600-row test split.",
    )


def load_ag_news(path: str | os.PathLike | None = None) -> Bunch:
    """The AG News test split (7,600 articles, 4 balanced topics) from the shared data folder.

    Parameters
    ----------
    path : path-like or None
        The CSV file (header ``label,title,description``); by default
        ``ag_news/test.csv`` in :func:`find_shared_data`.

    Returns
    -------
    data : Bunch
        As :func:`load_ag_news_sample`.
    """
    path = Path(path) if path is not None else find_shared_data() / "ag_news" / "test.csv"
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [(r["title"].strip() + ". " + r["description"].strip()).replace("\\", " ") for r in rows]
    return _bunch(
        texts, [_AG_NEWS_LABELS[r["label"]] for r in rows], AG_NEWS_CLASS_NAMES, AG_NEWS_TEMPLATE, _AG_DESCR
    )


def load_trec(subset: str = "train", path: str | os.PathLike | None = None) -> Bunch:
    """TREC question classification, coarse labels (6 classes).

    Parameters
    ----------
    subset : {'train', 'test'}
        ``train.txt`` (4,965 questions) or ``test.txt`` (500).
    path : path-like or None
        The file itself; by default ``trec/{subset}.txt`` in :func:`find_shared_data`.

    Returns
    -------
    data : Bunch
        As :func:`load_ag_news_sample`, with the question types as targets.
    """
    if subset not in ("train", "test"):
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    path = Path(path) if path is not None else find_shared_data() / "trec" / f"{subset}.txt"
    texts, labels = [], []
    with open(path, encoding="latin-1") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            label, _, text = line.partition(":")
            labels.append(label)
            texts.append(text.strip())
    descr = "TREC question classification (Li & Roth, COLING 2002), coarse labels."
    return _bunch(texts, labels, TREC_CLASS_NAMES, TREC_TEMPLATE, descr)


#: Where Debian's ``fortunes`` package puts its files (``apt-get install fortunes``).
FORTUNES_PATH = Path("/usr/share/games/fortunes")
FORTUNES_TEMPLATE = "This quote is about {}."


def load_fortunes(categories, path: str | os.PathLike | None = None, class_names=None) -> Bunch:
    """Quotes and jokes of the ``fortune`` program, labelled by the file (category) they come from.

    A real, labelled text corpus that ships as a Debian package: install it with
    ``apt-get install fortunes``. Each category is a file of texts separated by
    lines holding ``%``; whitespace is collapsed, and texts that occur in more
    than one of the requested categories are dropped (they have no single label).

    Parameters
    ----------
    categories : list of str
        File names in ``path``, e.g. ``["computers", "politics"]``.
    path : path-like or None
        The folder of the category files; by default :data:`FORTUNES_PATH`.
    class_names : dict or None
        Category -> name used in the prompts; by default the category itself.

    Returns
    -------
    data : Bunch
        As :func:`load_ag_news_sample`, with the categories as targets.

    Raises
    ------
    FileNotFoundError
        When a category file is missing, with the package to install.
    """
    folder = Path(path) if path is not None else FORTUNES_PATH
    per_category = {}
    for cat in categories:
        file = folder / cat
        if not file.is_file():
            raise FileNotFoundError(
                f"No fortunes file {file}: install Debian's fortunes package (apt-get install fortunes) "
                "or pass path= to the folder holding the category files."
            )
        chunks = file.read_text(encoding="utf-8", errors="replace").split("\n%\n")
        per_category[cat] = {" ".join(c.split()) for c in chunks} - {"", "%"}
    seen: dict[str, int] = {}
    for texts in per_category.values():
        for t in texts:
            seen[t] = seen.get(t, 0) + 1
    texts, labels = [], []
    for cat in categories:
        kept = sorted(t for t in per_category[cat] if seen[t] == 1)  # sorted: the same order on every machine
        texts += kept
        labels += [cat] * len(kept)
    names = {c: c for c in categories} if class_names is None else dict(class_names)
    descr = (
        "Debian's fortunes package (the fortune-mod collection): quotes and jokes, one category per file. "
        "Labels are the file names."
    )
    return _bunch(texts, labels, {c: names[c] for c in categories}, FORTUNES_TEMPLATE, descr)
