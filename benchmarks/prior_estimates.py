"""How well can 20-60 labels and a zero-shot teacher estimate the unlabeled rows' class prior?

    python benchmarks/prior_estimates.py [CACHE_DIR]      # CACHE_DIR: the benchmark's embedding cache

Part 1 (needs ../shared for the AG News / TREC cases): L1 error of prior estimators on the benchmark's
robustness datasets, 5 label draws each, against the pool's true class frequencies.
Part 2 (no data needed): the toy 9:1 problem of ``docs/robustness.rst``: estimated prior and accuracy of
the defaults, the reference settings and a given prior, on overlapping and on well separated clusters.
Writes benchmarks/prior_estimates_results.md.
"""

import os
import sys
import warnings

import numpy as np
from _grouped import REFERENCE_PARAMS
from sklearn.datasets import make_blobs

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk import _robust as R
from zeromatch_sk.benchmark._datasets import DATASETS, ROBUST_DATASETS, load_dataset
from zeromatch_sk.benchmark._methods import labeled_positions

cache_dir = sys.argv[1] if len(sys.argv) > 1 else None
lines = ["# Class-prior estimates", "", "## Part 1: L1 error of the estimate (mean of 5 label draws)", ""]
estimators = ["EM, bias+scale calibration", "EM, bias calibration (the default)", "teacher argmax counts",
              "labeled frequencies (smoothed)"]  # fmt: skip
lines += ["| dataset | " + " | ".join(estimators) + " |", "|---|" + "---:|" * len(estimators)]
for name in [*ROBUST_DATASETS, "ag_news", "trec"]:
    if name not in DATASETS:
        continue
    try:
        ds = load_dataset(name, cache_dir=cache_dir, verbose=0)
    except FileNotFoundError as exc:
        lines.append(f"| {name} | skipped: {exc} |")
        continue
    pool, k = ds.pool_idx, ds.n_classes
    y, P = ds.y[pool], ds.teacher_proba[pool].astype(np.float64)
    truth = np.bincount(y, minlength=k) / len(y)
    errors = {e: [] for e in estimators}
    for seed in range(5):
        lab = np.zeros(len(pool), bool)
        lab[labeled_positions(ds, ds.budgets[0], seed)] = True
        yl = y[lab]
        lp = (np.bincount(yl, minlength=k) + 1.0) / (lab.sum() + k)
        b, s = R.fit_teacher_calibration(P[lab], yl)
        bb = R.fit_teacher_bias(P[lab], yl)
        est = [
            R.estimate_prior_em(R.apply_teacher_bias(P, b, s)[~lab], train_prior=lp),
            R.estimate_prior_em(R.apply_teacher_bias(P, bb)[~lab], train_prior=lp),
            np.bincount(P[~lab].argmax(1), minlength=k) / (~lab).sum(),
            lp,
        ]
        for e, v in zip(estimators, est):
            errors[e].append(np.abs(v - truth).sum())
    lines.append(f"| {name} | " + " | ".join(f"{np.mean(errors[e]):.3f}" for e in estimators) + " |")

lines += ["", "## Part 2: toy 9:1 blobs, 10 labels per class, a soft teacher right ~90 %", "",
          "| centre distance | setting | estimated prior | accuracy on unlabeled rows |", "|---|---|---|---:|"]  # fmt: skip
for distance in (2.0, 2.5):
    rng = np.random.default_rng(0)
    X, y_true = make_blobs(
        n_samples=[900, 100], centers=[[0, 0], [distance] * 2], cluster_std=1.0, random_state=0
    )
    y = np.full_like(y_true, -1)
    for c in (0, 1):
        y[rng.choice(np.flatnonzero(y_true == c), 10, replace=False)] = c
    said = np.where(rng.random(len(y_true)) < 0.9, y_true, 1 - y_true)
    P = np.where(np.eye(2)[said] == 1, 0.9, 0.1)
    unl = y == -1
    for setting, params in [
        ("defaults", {}),
        ("reference", REFERENCE_PARAMS),
        ("class_prior=[0.9, 0.1]", {"class_prior": [0.9, 0.1]}),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf = ZeroMatchClassifier(
                hidden_layer_sizes=(32,),
                kd_epochs=5,
                max_epochs=10,
                steps_per_epoch=20,
                batch_size=16,
                lr=1e-2,
                random_state=0,
                **params,
            ).fit(X, y, pseudo_labels=P)
        lines.append(
            f"| {distance} | {setting} | {np.round(clf.class_prior_, 3).tolist()} | "
            f"{clf.score(X[unl], y_true[unl]):.3f} |"
        )

text = "\n".join(lines) + "\n"
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "prior_estimates_results.md"), "w") as fh:
    fh.write(text)
print(text)
