"""What does a default fit cost as the data shrink from 5,000 to 200 rows? (issue 21.3)

Rows are AG News MiniLM embeddings (384-d) from the benchmark's pool, a stratified random subset of each size, with
40 labels (10 per class) and the benchmark's zero-shot teacher given as ``pseudo_labels``. Each size is fitted with
the library's defaults, one torch thread, ``--repeats`` times (sizes interleaved, so a load change hits every size
alike); the median wall time is reported with the ratio to the 5,000-row fit, the optimizer steps of both stages,
and the accuracy on the benchmark's evaluation rows (1,900, never trained on).

``--before`` also times every size under the stage-2 step rule before issue 21.3 (one pass over the unlabeled
stream but at least 20 steps an epoch: ``SMALL_DATA_STEPS=(20, 20)``, patched in this process only), so both rules are measured in one run:

    python benchmarks/small_fit_cost.py --before > benchmarks/small_fit_cost_results.txt

Needs the benchmark's cached AG News embeddings (``python -m zeromatch_sk.benchmark --embed-only --datasets
ag_news``, which reads ``../shared/data``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np

from zeromatch_sk._classifier import SMALL_DATA_STEPS

SIZES = (200, 500, 1000, 2000, 5000)
#: ``SMALL_DATA_STEPS`` of each rule: ``before`` is ``max(one pass, 20)``, the rule before issue 21.3.
RULES = {"library": SMALL_DATA_STEPS, "before": (20, 20)}


def subset(ds, n, seed=0):
    """``n`` pool rows (stratified) with 10 labels per class; -1 elsewhere."""
    from sklearn.model_selection import train_test_split

    rows = ds.pool_idx
    if n < len(rows):
        rows, _ = train_test_split(rows, train_size=n, stratify=ds.y[rows], random_state=seed)
    rng = np.random.default_rng(seed)
    y = np.full(len(rows), -1)
    for c in range(ds.n_classes):
        pick = rng.choice(np.flatnonzero(ds.y[rows] == c), 10, replace=False)
        y[pick] = c
    return ds.X[rows], y, ds.teacher_proba[rows]


def one_fit(ds, n, rule):
    import zeromatch_sk._classifier as classifier_module
    from zeromatch_sk import ZeroMatchClassifier

    X, y, P = subset(ds, n)
    classifier_module.SMALL_DATA_STEPS = RULES[rule]  # read by the fit's training plan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        clf = ZeroMatchClassifier(random_state=0).fit(X, y, pseudo_labels=P)
        seconds = time.perf_counter() - start
    stages = np.asarray(clf.history_[:, "stage"])
    counts = np.asarray(clf.history_[:, "train_batch_count"])
    steps = (int(counts[stages == 1].sum()), int(counts[stages == 2].sum()))
    accuracy = float(np.mean(clf.predict(ds.X[ds.eval_idx]) == ds.y[ds.eval_idx]))
    return seconds, steps, accuracy


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    p.add_argument("--before", action="store_true", help="also time the step rule before issue 21.3")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()

    import torch

    from zeromatch_sk.benchmark import load_dataset

    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rules = ["library", "before"] if args.before else ["library"]
    ds = load_dataset("ag_news", verbose=0)
    print(f"torch {torch.__version__}, 1 thread; {args.repeats} repeats per size, median wall time; load average "
          f"{os.getloadavg()[0]:.2f} at the start")  # fmt: skip
    times = {(f, n): [] for f in rules for n in args.sizes}
    facts = {}
    for _ in range(args.repeats):
        for f in rules:
            for n in args.sizes:
                seconds, steps, accuracy = one_fit(ds, n, f)
                times[(f, n)].append(seconds)
                facts[(f, n)] = (steps, accuracy)
    largest = max(args.sizes)
    for f in rules:
        print(f"\nstage-2 step rule: {'before issue 21.3' if f == 'before' else 'the library as it is'}")
        print(
            f"{'rows':>6s} {'seconds':>8s} {'ratio':>6s} {'stage-1 steps':>14s} {'stage-2 steps':>14s} {'eval acc, 1 draw':>17s}"
        )
        base = statistics.median(times[(f, largest)])
        for n in args.sizes:
            med = statistics.median(times[(f, n)])
            (s1, s2), acc = facts[(f, n)]
            print(f"{n:6d} {med:8.2f} {med / base:6.2f} {s1:14d} {s2:14d} {acc:17.3f}")
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
