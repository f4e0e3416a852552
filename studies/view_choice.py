"""Which strong view the defaults pick on each main-benchmark run, without training anything.

``strong_augment='auto'`` and ``min_class_labels`` act only when the estimated class prior is skewed.
This prints, for every (dataset, budget, seed) of the main benchmark, with and without the teacher,
the normalised entropy of ``class_prior_``, the view the estimator chose (``strong_augment_``), how
the labels look drawn and ``lambda_u_``. Where every run says Scarf and 1.0, the defaults train
exactly as before those two defences. Output of one run: ``view_choice_results.txt``.

    python studies/view_choice.py [CACHE_DIR]
"""

import sys
import warnings

import numpy as np

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk._robust import normalized_entropy
from zeromatch_sk.benchmark import load_dataset
from zeromatch_sk.benchmark._methods import labeled_positions

DATASETS = ["ag_news", "trec", "digits-teacher0.8", "digits-teacher0.5", "digits-random-teacher", "ag_news_sample"]


def choices(ds, budget, seed):
    pool = ds.pool_idx
    y_pool = ds.y[pool]
    lab = labeled_positions(ds, budget, seed)
    y = np.full(len(pool), -1)
    y[lab] = y_pool[lab]
    out = []
    for teacher in (ds.teacher_proba[pool], None):
        # One stage-2 step: enough for the defences to run and record their choices.
        clf = ZeroMatchClassifier(random_state=seed, kd_epochs=0, max_epochs=1, steps_per_epoch=1,
                                  classes=np.arange(ds.n_classes))  # fmt: skip
        clf.fit(ds.X[pool], y, pseudo_labels=teacher)
        view = type(clf.strong_augment_).__name__
        out.append((round(normalized_entropy(clf.class_prior_), 3), view, clf.label_sampling_, clf.lambda_u_))
    return out


def main(cache=None):
    warnings.simplefilter("ignore")
    for name in DATASETS:
        ds = load_dataset(name, cache_dir=cache, verbose=0)
        for budget in ds.budgets:
            print(name, budget, [c for seed in range(3) for c in choices(ds, budget, seed)])


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
