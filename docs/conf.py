"""Sphinx configuration of the zeromatch_sk documentation.

Build from the repository root with ``make docs``, which runs::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Warnings are errors. The build is offline: no intersphinx inventories are
fetched, the sentence-transformers model is the packaged copy of
all-MiniLM-L6-v2 (``HF_HUB_OFFLINE=1``), the CLIP example builds a tiny
model from a local checkpoint and the LLM example talks to a server on
127.0.0.1. Generated output (``_build``, ``auto_examples``,
``gen_modules``) is git-ignored.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Never reach the Hugging Face hub while building (the Makefile sets this too).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout first, so the docs describe the code next to them even when an
# older zeromatch_sk is installed elsewhere.
sys.path.insert(0, str(ROOT))

import zeromatch_sk

# -- Project -----------------------------------------------------------------
project = "zeromatch_sk"
author = "zeromatch_sk developers"
copyright = "zeromatch_sk developers"
release = zeromatch_sk.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "literal"
# Intersphinx is left out on purpose: it would fetch inventories from the
# internet. References to numpy, scikit-learn, torch and skorch objects are
# therefore shown as code, not links; nitpicky mode stays off for that reason.
nitpicky = False

# -- autodoc / autosummary / numpydoc -----------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections say it better
numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# Check every docstring rendered here against the numpydoc standard, but only
# for what users read: sections and their order, parameters documented and in
# the right order, no unknown sections.
numpydoc_validation_checks = {"GL06", "GL07", "GL08", "PR01", "PR02", "PR03", "PR10"}
numpydoc_validation_exclude = {
    r"\.__init__$",
    # A typing.Protocol: its constructor's (*args, **kwargs) are typing's, not ours.
    r"\.TeacherProvider$",
    r"\.__call__$",
    # Members inherited from scikit-learn's BaseEstimator and the metadata-routing
    # machinery follow scikit-learn's own docstring conventions.
    r"\.get_params$",
    # skorch's callback hooks (on_epoch_end, initialize, ...) follow skorch's own conventions.
    r"\.callbacks\.\w+\.on_\w+$",
    r"\.callbacks\.\w+\.initialize$",
    r"\.set_params$",
    r"\.get_metadata_routing$",
    r"\.set_\w+_request$",
    r"\.score$",
    r"\.set_output$",
    r"\.get_feature_names_out$",
}

# -- The benchmark table ---------------------------------------------------------
# overview.rst includes a table made from benchmarks/results/results.json (written
# by ``python -m zeromatch_sk.benchmark``), so the page always shows the results
# that are in the repository. The table goes to gen_modules/ (git-ignored) with
# a suffix Sphinx does not treat as a page.

BENCHMARK_JSON = ROOT / "benchmarks" / "results" / "results.json"
BENCHMARK_TABLE = DOCS / "gen_modules" / "benchmark_table.rst.inc"
# robustness.rst: the same for ``python -m zeromatch_sk.benchmark --robustness``.
ROBUSTNESS_JSON = ROOT / "benchmarks" / "results" / "robustness" / "results.json"
ROBUSTNESS_TABLE = DOCS / "gen_modules" / "robustness_table.rst.inc"


def _fmt(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def _text(value):
    """Free text from the JSON, escaped so reST reads it literally."""
    out = str(value).replace("\\", "\\\\")
    for char in "*`|_[]":
        out = out.replace(char, "\\" + char)
    return out


def _list_table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return lines


def _accuracy_cell(row, best):
    """``mean ± std`` of a summary row, bold when it is ``best``; a dash when it did not run."""
    if row is None or row["accuracy_mean"] is None:
        return "–"
    text = f"{_fmt(row['accuracy_mean'])} ± {_fmt(row.get('accuracy_std'))}"
    return f"**{text}**" if row["accuracy_mean"] == best else text


def _read_results(source, target, command):
    """``(results, n_seeds, relative path)`` of a results.json; ``None`` after writing a note to ``target`` if absent."""
    import json

    target.parent.mkdir(parents=True, exist_ok=True)
    relative = source.relative_to(ROOT).as_posix()
    if not source.is_file():
        target.write_text(
            f".. note::\n\n   There is no ``{relative}`` in this checkout yet. Run\n"
            f"   ``{command}`` to produce it and build the documentation again.\n",
            encoding="utf-8",
        )
        return None
    results = json.loads(source.read_text(encoding="utf-8"))
    seeds = results.get("config", {}).get("seeds")
    return results, len(seeds) if isinstance(seeds, list) else seeds, relative


def write_benchmark_table(
    source=BENCHMARK_JSON, target=BENCHMARK_TABLE, command="python -m zeromatch_sk.benchmark"
):
    """Write the reST table of the benchmark's summary (or a note when there is none)."""
    read = _read_results(source, target, command)
    if read is None:
        return
    results, n_seeds, relative = read
    summary = results.get("summary", [])
    datasets = {d["name"]: d for d in results.get("datasets", [])}
    intro = (
        f"Accuracy on held-out evaluation rows, mean ± standard deviation over {n_seeds} seeds "
        f"(label draw and model seed), from ``{relative}``. "
        "Bold: the best mean of a column."
    )
    out = [intro, ""]
    for name in dict.fromkeys(r["dataset"] for r in summary):
        rows = [r for r in summary if r["dataset"] == name]
        budgets = sorted({r["budget"] for r in rows})
        info = datasets.get(name, {})
        title = _text(name)
        out += [title, "~" * max(len(title), 3), ""]  # overview.rst: under a "-" subsection
        if info:
            about = (
                f"{info.get('n_pool', '?')} training rows, {info.get('n_eval', '?')} evaluation rows, "
                f"{info.get('n_classes', '?')} classes. Teacher: {_text(info.get('teacher', 'none'))}."
            )
            out += [about, ""]
        best = {b: max((r["accuracy_mean"] for r in rows if r["budget"] == b and r["accuracy_mean"] is not None),
                       default=None) for b in budgets}  # fmt: skip
        table = []
        for method in dict.fromkeys(r["method"] for r in rows):
            cells = [_text(method)]
            for b in budgets:
                cell = next((r for r in rows if r["method"] == method and r["budget"] == b), None)
                cells.append(_accuracy_cell(cell, best[b]))
            table.append(cells)
        out += _list_table(["method"] + [f"{b} labels" for b in budgets], table) + [""]
    target.write_text("\n".join(out) + "\n", encoding="utf-8")


def write_case_table(source, target, command):
    """One row per dataset, one column per method (mean ± std), for a results.json with one budget per dataset."""
    read = _read_results(source, target, command)
    if read is None:
        return
    results, n_seeds, relative = read
    summary = results.get("summary", [])
    methods = list(dict.fromkeys(r["method"] for r in summary))
    out = [
        (
            f"Accuracy on held-out evaluation rows, mean ± standard deviation over {n_seeds} label draws, from "
            f"``{relative}``. Bold: the best mean of a row."
        ),
        "",
    ]
    table = []
    for name in dict.fromkeys(r["dataset"] for r in summary):
        rows = {r["method"]: r for r in summary if r["dataset"] == name}
        best = max(
            (r["accuracy_mean"] for r in rows.values() if r["accuracy_mean"] is not None), default=None
        )
        table.append([_text(name), *(_accuracy_cell(rows.get(method), best) for method in methods)])
    out += _list_table(["case", *(_text(m) for m in methods)], table)
    target.write_text("\n".join(out) + "\n", encoding="utf-8")


write_benchmark_table()
write_benchmark_table(ROBUSTNESS_JSON, ROBUSTNESS_TABLE, "python -m zeromatch_sk.benchmark --robustness")
# robustness.rst: the done criterion's methods on ten label draws per case.
ROBUSTNESS_10_JSON = ROOT / "benchmarks" / "results" / "robustness_10_draws" / "results.json"
write_case_table(
    ROBUSTNESS_10_JSON,
    DOCS / "gen_modules" / "robustness_10_draws_table.rst.inc",
    "make benchmark",  # its third command; the Makefile holds the method list
)
# augmentations.rst: the tabular benchmark with this release's views.
write_benchmark_table(
    ROOT / "benchmarks" / "results" / "tabular" / "results.json",
    DOCS / "gen_modules" / "tabular_table.rst.inc",
    "python -m zeromatch_sk.benchmark --tabular",
)
# robustness.rst: the fortunes cases (a corpus the defaults were never tuned on), ten draws.
write_case_table(
    ROOT / "benchmarks" / "results" / "robustness_fortunes" / "results.json",
    DOCS / "gen_modules" / "robustness_fortunes_table.rst.inc",
    "make benchmark",
)

# -- sphinx-gallery -------------------------------------------------------------

# The examples run in this process with one torch thread. Their students are
# small MLPs whose matrices are too small for a second intra-op thread to help,
# and on a busy or 2-core machine (CI runners) the threads wait for each other:
# that made the examples up to 30 times slower. ZEROMATCH_DOCS_TORCH_THREADS
# changes it.
import torch

torch.set_num_threads(int(os.environ.get("ZEROMATCH_DOCS_TORCH_THREADS", "1")))


sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    # Execute every plot_*.py; each one is meant to finish within about a minute.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(__init__|conftest)\.py",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("zeromatch_sk",),
    "reference_url": {"zeromatch_sk": None},
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "matplotlib_animations": False,
    "download_all_examples": True,
    "show_memory": False,
    "min_reported_time": 1,
    # The build fails when an example raises, so a broken example never ships.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"zeromatch_sk {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}


# -- Docstring fix-ups ---------------------------------------------------------------
import re

# 1. A name ending in "_" inside a shape, e.g. "ndarray of shape (n_features_in_,)",
#    reads as a reST reference and fails the build. Render such names as code.
#    This touches only that pattern, and nothing once the docstrings quote them.
_SHAPE_NAME = re.compile(r"(of shape \()(\w+_)(,?\))")

# 2. Methods inherited from scikit-learn (score, set_output, set_fit_request, ...)
#    bring docstrings that point into scikit-learn's own documentation with
#    :ref: and :term:. Without intersphinx (this build stays offline) those
#    targets do not exist, so in docstrings of scikit-learn objects only, such
#    references become plain text.
_SKLEARN_REF = re.compile(r":(?:ref|term):`([^`<]+?)\s*<[^`>]*>`|:(?:ref|term):`([^`]+)`")


def _fix_docstrings(app, what, name, obj, options, lines):
    from_sklearn = str(getattr(obj, "__module__", "") or "").startswith("sklearn.")
    for i, line in enumerate(lines):
        if "of shape (" in line:
            line = _SHAPE_NAME.sub(r"\1``\2``\3", line)
        if from_sklearn and ("ref:`" in line or "term:`" in line):
            line = _SKLEARN_REF.sub(lambda m: m.group(1) or m.group(2), line)
        lines[i] = line


def setup(app):
    app.connect("autodoc-process-docstring", _fix_docstrings)
