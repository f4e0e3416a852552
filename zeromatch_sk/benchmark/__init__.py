"""Benchmark ZeroMatch against what a user would try instead, on real data with real teachers.

``python -m zeromatch_sk.benchmark --quick`` is the demo: the bundled AG News
sample, embedded offline with all-MiniLM-L6-v2 (whose zero-shot prompts are
the teacher), 40 labels, 3 seeds, seven methods, a Markdown table on stdout in
a few minutes on two CPU cores. Without ``--quick`` it runs every method on
AG News, TREC and scikit-learn's digits with synthetic teachers (see
``python -m zeromatch_sk.benchmark --help``); ``--speed`` measures training
throughput instead.

From Python:

- :func:`load_dataset` / :func:`make_dataset` build a :class:`BenchmarkDataset`
  (rows, teacher probabilities, a fixed evaluation split);
- :func:`default_methods` lists the competitors as :class:`Method` records:
  scikit-learn baselines and :class:`~zeromatch_sk.ZeroMatchClassifier`
  parameter settings (the ablations);
- :func:`run_benchmark` runs them over budgets and seeds, in parallel
  processes, and returns :class:`BenchmarkResults` (``table()``,
  ``markdown()``, ``write(out)``);
- :func:`benchmark_arrays` does all of it for your own ``X``, ``y`` and
  teacher probabilities and returns the results table.
"""

from ._datasets import (
    DATASETS,
    DEFAULT_DATASETS,
    BenchmarkDataset,
    balanced_label_draw,
    cached_text_features,
    default_cache_dir,
    load_dataset,
    make_dataset,
    random_label_draw,
    stratified_split,
    synthetic_teacher,
    validation_view,
)
from ._methods import (
    Method,
    default_methods,
    quick_methods,
    robustness_methods,
    run_one,
    semi_supervised_labels,
)
from ._runner import BenchmarkResults, benchmark_arrays, run_benchmark

__all__ = [
    "DATASETS",
    "DEFAULT_DATASETS",
    "BenchmarkDataset",
    "BenchmarkResults",
    "Method",
    "balanced_label_draw",
    "benchmark_arrays",
    "cached_text_features",
    "default_cache_dir",
    "default_methods",
    "load_dataset",
    "make_dataset",
    "quick_methods",
    "random_label_draw",
    "robustness_methods",
    "run_benchmark",
    "run_one",
    "semi_supervised_labels",
    "stratified_split",
    "synthetic_teacher",
    "validation_view",
]
