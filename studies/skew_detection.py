"""Is the class balance skewed? Reading it from the labels alone, or from the calibrated teacher too (issue 6).

With labels drawn at random, ``ZeroMatchClassifier`` switches its skewed-class defences on (the
rare-class guard ``lambda_u_ = 0`` and the Gaussian strong view) when the class balance looks skewed:
normalised entropy below ``SKEWED_PRIOR_ENTROPY`` = 0.9. Twenty random labels of a 1:4 task often split
6/14 or 7/13, which reads as nearly balanced. The library now also reads the class shares that the
teacher, calibrated on the labels, predicts for the unlabeled rows (``teacher_prior_``); either reading
counts.

Part 1, no training: on validation slices of the pool (``validation_view``; the benchmark's evaluation
rows are never used), how often each reading calls the balance skewed, over ``N_DRAWS`` label draws of
the random-label robustness cases, and how often the guard would fire on balanced-class datasets with
uniformly random labels (false alarms: there it should not).

Part 2, training: the first ``N_TRAINED`` draws whose labels alone read as not skewed (while some class
has fewer than ``min_class_labels`` labels), trained twice: with the library defaults (both readings),
and with what the labels-only rule did on those draws (``strong_augment='scarf', min_class_labels=0``:
SCARF and the consistency loss kept).

    python studies/skew_detection.py [N_DRAWS] [N_TRAINED] [CACHE_DIR]

``skew_detection_results.txt`` is the output of ``python studies/skew_detection.py 100 6``.
"""

import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed

from zeromatch_sk import _robust
from zeromatch_sk._classifier import SKEWED_PRIOR_ENTROPY
from zeromatch_sk.benchmark import Method, load_dataset, run_one, validation_view
from zeromatch_sk.benchmark._methods import labeled_positions

RANDOM_CASES = ["ag_news-business-1:4-random", "ag_news-business-1:9-random", "ag_news-sports-1:9-biased-random",
                "trec-longtail-random"]  # fmt: skip
BALANCED_CLASSES = ["ag_news", "digits-biased-teacher", "digits-random-teacher"]
TRAINED_CASES = ["ag_news-business-1:4-random", "trec-longtail-random"]
MIN_CLASS_LABELS = 10
LABELS_ONLY = {"strong_augment": "scarf", "min_class_labels": 0}


def readings(P, y_pool, lab, k):
    """(labels read as skewed, calibrated teacher reads as skewed, some class below MIN_CLASS_LABELS)."""
    y = y_pool[lab]
    unl = np.setdiff1d(np.arange(len(y_pool)), lab)
    counts = np.bincount(y, minlength=k)
    labels_prior = (counts + 1.0) / (len(y) + k)
    reg = _robust.select_calibration_reg(P[lab], y)
    shares = _robust.apply_teacher_bias(P[unl], _robust.fit_teacher_bias(P[lab], y, reg=reg)).mean(axis=0)
    return (
        _robust.normalized_entropy(labels_prior) < SKEWED_PRIOR_ENTROPY,
        _robust.normalized_entropy(shares) < SKEWED_PRIOR_ENTROPY,
        counts.min() < MIN_CLASS_LABELS,
    )


def job(name, seed, label, params, cache):
    import torch

    torch.set_num_threads(1)
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_one(ds, ds.budgets[0], seed, Method(label, "semi+teacher", params=params))


def main(n_draws=100, n_trained=6, cache=None):
    n_draws, n_trained = int(n_draws), int(n_trained)
    t0 = time.time()
    print(f"Part 1: share of {n_draws} label draws read as skewed (validation slices)")
    missed = {}
    for name in RANDOM_CASES:
        ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
        y_pool, P, k = ds.y[ds.pool_idx], ds.teacher_proba[ds.pool_idx], ds.n_classes
        r = np.array([readings(P, y_pool, labeled_positions(ds, ds.budgets[0], s), k) for s in range(n_draws)])
        missed[name] = [s for s in range(n_draws) if not r[s, 0] and r[s, 2]]
        print(f"  {name:34s} labels {r[:, 0].mean():.2f}  calibrated teacher {r[:, 1].mean():.2f}  "
              f"either {(r[:, 0] | r[:, 1]).mean():.2f}")  # fmt: skip
    print(f"False alarms: share of {n_draws} uniformly random draws where the guard would fire (balanced classes)")
    for name in BALANCED_CLASSES:
        ds = load_dataset(name, cache_dir=cache, verbose=0)
        y_pool, P, k = ds.y[ds.pool_idx], ds.teacher_proba[ds.pool_idx], ds.n_classes
        rng = np.random.RandomState(0)
        r = np.array([readings(P, y_pool, rng.choice(len(y_pool), ds.budgets[0], replace=False), k)
                      for _ in range(n_draws)])  # fmt: skip
        print(f"  {name:34s} ({ds.budgets[0]} labels) labels only {(r[:, 0] & r[:, 2]).mean():.2f}  "
              f"either {((r[:, 0] | r[:, 1]) & r[:, 2]).mean():.2f}")  # fmt: skip

    print(f"Part 2: accuracy on the first {n_trained} draws that the labels alone read as not skewed")
    tasks = [(name, s, label, params, cache) for name in TRAINED_CASES for s in missed[name][:n_trained]
             for label, params in [("labels only", LABELS_ONLY), ("labels or teacher (default)", {})]]  # fmt: skip
    runs = Parallel(n_jobs=2)(delayed(job)(*t) for t in tasks)
    import pandas as pd

    table = pd.DataFrame(runs).pivot_table(index=["dataset", "seed"], columns="method", values="accuracy")
    print(table.round(3).to_string())
    print(table.groupby(level=0).mean().round(3).to_string())
    print(f"{len(runs)} runs, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
