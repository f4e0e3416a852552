"""Is the class balance skewed? Reading it from the labels alone, or from the calibrated teacher too (issue 6).

With labels drawn at random, ``ZeroMatchClassifier`` switches its skewed-class defences on (the
rare-class guard ``lambda_u_ = 0`` and the Gaussian strong view) when the class balance looks skewed:
normalised entropy below ``SKEWED_PRIOR_ENTROPY`` = 0.9. Twenty random labels of a 1:4 task often split
6/14 or 7/13, which reads as nearly balanced. The library now also reads the class shares that the
teacher, calibrated on the labels, predicts for the unlabeled rows (``teacher_prior_``); either reading
counts.

Part 1, one training step per draw (enough for the estimator to take its decisions, which are read
from its fitted attributes): on validation slices of the pool (``validation_view``; the benchmark's
evaluation rows are never used), how often each reading calls the balance skewed, over ``N_DRAWS``
label draws of the random-label robustness cases, and how often the guard fires on balanced-class
datasets with uniformly random labels (false alarms: there it should not), under the labels-only rule
and under the default.

Part 2, training: the first ``N_TRAINED`` draws whose labels alone read as not skewed (while some class
has fewer than ``min_class_labels`` labels), trained twice: with the library defaults (both readings),
and with what the labels-only rule did on those draws (``strong_augment='scarf', min_class_labels=0``:
SCARF and the consistency loss kept).

    python benchmarks/skew_detection.py [N_DRAWS] [N_TRAINED] [CACHE_DIR]

``skew_detection_results.txt`` is the output of ``python benchmarks/skew_detection.py 100 6``.
"""

import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed

from zeromatch_sk import Defences, ZeroMatchClassifier
from zeromatch_sk._robust import normalized_entropy
from zeromatch_sk.benchmark import Method, load_dataset, run_one, validation_view
from zeromatch_sk.benchmark._methods import labeled_positions
from zeromatch_sk.defences import SKEWED_PRIOR_ENTROPY

RANDOM_CASES = ["ag_news-business-1:4-random", "ag_news-business-1:9-random", "ag_news-sports-1:9-biased-random",
                "trec-longtail-random"]  # fmt: skip
BALANCED_CLASSES = ["ag_news", "digits-biased-teacher", "digits-random-teacher"]
TRAINED_CASES = ["ag_news-business-1:4-random", "trec-longtail-random"]
MIN_CLASS_LABELS = Defences().min_class_labels
LABELS_ONLY = {"strong_augment": "scarf", "defences": Defences(min_class_labels=0)}


def readings(name, seeds, cache, uniform=False):
    """Per draw: (labels read as skewed, calibrated teacher reads as skewed, the guard fired).

    Each draw is a one-step fit of ``ZeroMatchClassifier`` with the defaults, so the readings are the
    library's own: ``class_prior_`` (the labels' frequencies, with random labels), ``teacher_prior_`` and
    ``lambda_u_``. ``uniform``: draw the labels uniformly at random from the pool instead of the dataset's
    own sampling (for the balanced-class datasets, whose benchmark draws are class-balanced).
    """
    import torch

    torch.set_num_threads(1)
    ds = load_dataset(name, cache_dir=cache, verbose=0)
    if not uniform:
        ds = validation_view(ds)
    pool, k = ds.pool_idx, ds.n_classes
    out = []
    for seed in seeds:
        if uniform:
            lab = np.random.RandomState(seed).choice(len(pool), ds.budgets[0], replace=False)
        else:
            lab = labeled_positions(ds, ds.budgets[0], seed)
        y = np.full(len(pool), -1)
        y[lab] = ds.y[pool][lab]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = ZeroMatchClassifier(random_state=seed, kd_epochs=0, max_epochs=1, steps_per_epoch=1,
                                      classes=np.arange(k)).fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])  # fmt: skip
        teacher = (
            clf.teacher_prior_ is not None and normalized_entropy(clf.teacher_prior_) < SKEWED_PRIOR_ENTROPY
        )
        out.append(
            (normalized_entropy(clf.class_prior_) < SKEWED_PRIOR_ENTROPY, teacher, clf.lambda_u_ == 0.0)
        )
    return np.array(out)


def over_draws(name, n_draws, cache, uniform=False):
    chunks = np.array_split(np.arange(n_draws), 2)
    parts = Parallel(n_jobs=2)(delayed(readings)(name, c.tolist(), cache, uniform) for c in chunks)
    return np.concatenate(parts)


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
        r = over_draws(name, n_draws, cache)
        # The draws the labels alone read as not skewed while some class is rare (the old rule's misses).
        ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
        rare = [np.bincount(ds.y[ds.pool_idx][labeled_positions(ds, ds.budgets[0], s)], minlength=ds.n_classes).min()
                < MIN_CLASS_LABELS for s in range(n_draws)]  # fmt: skip
        missed[name] = [s for s in range(n_draws) if not r[s, 0] and rare[s]]
        print(f"  {name:34s} labels {r[:, 0].mean():.2f}  calibrated teacher {r[:, 1].mean():.2f}  "
              f"either {(r[:, 0] | r[:, 1]).mean():.2f}")  # fmt: skip
    print(f"False alarms: share of {n_draws} uniformly random draws where the guard fired (balanced classes)")
    for name in BALANCED_CLASSES:
        r = over_draws(name, n_draws, cache, uniform=True)
        budget = load_dataset(name, cache_dir=cache, verbose=0).budgets[0]
        print(f"  {name:34s} ({budget} labels) labels only {(r[:, 0] & r[:, 2]).mean():.2f}  "
              f"either {r[:, 2].mean():.2f}")  # fmt: skip

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
