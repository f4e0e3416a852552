"""Which strong view the defaults pick on each main-benchmark run, without training anything.

``strong_augment='auto'`` and ``min_class_labels`` act only when the estimated class prior is skewed.
This prints, for every (dataset, budget, seed) of the main benchmark, with and without the teacher,
the normalised entropy of ``class_prior_``, the view the estimator chose (``strong_augment_``), how
the labels look drawn, ``lambda_u_``, whether the gate dropped the teacher, ``class_prior_`` and the
spread of the calibration's biases (nats), and ``teacher_prior_`` (the calibrated teacher's class
shares) with its normalised entropy (None without a teacher). Where every run says Scarf and 1.0, the defaults train
exactly as before those two defences. Output of one run: ``view_choice_results.txt``. Given dataset
names it reports those instead: ``view_choice_robustness_results.txt`` holds the three robustness
cases where the defaults fall short, whose per-draw decisions ``docs/robustness.rst`` quotes.

    python benchmarks/view_choice.py [CACHE_DIR [DATASET ...]] [--seeds N]

``view_choice_robustness_10_draws_results.txt``: AG Business 1:9 with random labels, ``--seeds 10``, the draws of
``benchmarks/results/robustness_10_draws`` (where the gate kept the teacher: the fifth field of the teacher's tuple).
"""

import sys
import warnings

import numpy as np

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._robust import normalized_entropy
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels

DATASETS = [
    "ag_news",
    "trec",
    "digits-teacher0.8",
    "digits-teacher0.5",
    "digits-random-teacher",
    "ag_news_sample",
]


def choices(ds, budget, seed):
    pool = ds.pool_idx
    _lab, y = semi_supervised_labels(ds, budget, seed)
    out = []
    for teacher in (ds.teacher_proba[pool], None):
        # One stage-2 step: enough for the defences to run and record their choices.
        clf = ZeroMatchClassifier(random_state=seed, kd_epochs=0, max_epochs=1, steps_per_epoch=1,
                                  classes=np.arange(ds.n_classes))  # fmt: skip
        clf.fit(ds.X[pool], y, pseudo_labels=teacher)
        view = type(clf.strong_augment_).__name__
        bias = round(
            float(np.ptp(clf.teacher_bias_)), 2
        )  # spread of the calibration's per-class biases, nats
        shares = None  # the calibrated teacher's class shares: (normalised entropy, shares)
        if clf.teacher_prior_ is not None:
            shares = (
                round(normalized_entropy(clf.teacher_prior_), 3),
                np.round(clf.teacher_prior_, 2).tolist(),
            )
        out.append((round(normalized_entropy(clf.class_prior_), 3), view, clf.label_sampling_, clf.lambda_u_,
                    bool(clf.teacher_gated_), np.round(clf.class_prior_, 2).tolist(), bias, shares))  # fmt: skip
    return out


def main(cache=None, *names, seeds=3):
    warnings.simplefilter("ignore")
    for name in names or DATASETS:
        ds = load_dataset(name, cache_dir=cache, verbose=0)
        for budget in ds.budgets:
            print(name, budget, [c for seed in range(seeds) for c in choices(ds, budget, seed)])


if __name__ == "__main__":
    args = sys.argv[1:]
    n_seeds = 3
    if "--seeds" in args:  # the first N label draws of each run instead of the benchmark's three
        i = args.index("--seeds")
        n_seeds = int(args[i + 1])
        del args[i : i + 2]
    main(*args, seeds=n_seeds)
