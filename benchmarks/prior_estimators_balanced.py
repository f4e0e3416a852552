"""Could a different class-prior estimator remove the defences' cost on balanced TREC? Validation slices, no training.

With class-balanced labels the defaults estimate the unlabeled rows' class prior by EM on the calibrated teacher
(``class_prior='auto'``). On balanced TREC (60 labels) that costs about a point against ``REFERENCE_PARAMS``
(``defaults_vs_reference_validation.py``). This study measures, on 20 class-balanced label draws of the validation
view of every dataset where the EM estimate is used, the L1 error of:

- ``EM``: the default (bias calibration with the penalty ``select_calibration_reg`` picks, then EM);
- ``PACC``: probabilistic adjusted classify-and-count (soft black-box shift estimation): the prior ``q`` that makes
  ``C q`` closest to the teacher's mean probabilities on the unlabeled rows, where column ``c`` of ``C`` is the
  teacher's mean probabilities on the labeled rows of class ``c``. It needs no calibration;
- ``bagged EM``: the mean of EM over 30 class-stratified bootstrap resamples of the labels (calibration refitted on
  each, same penalty); the spread of those 30 estimates is printed too;
- ``halfway``: the geometric mean of the EM estimate and the labels' smoothed class frequencies (shrinkage);
- ``labels``: the labels' smoothed class frequencies (uniform here), what ``REFERENCE_PARAMS`` uses.

A second line per dataset prints the normalised entropy of the EM estimates (lowest, median, highest) and the L1
error on the draws where it is at least 0.85, of EM and of the labels' balance: a rule "treat an estimate that looks
nearly balanced as balanced" would replace EM by the labels' balance on exactly those draws.

    python benchmarks/prior_estimators_balanced.py [CACHE_DIR]     # about a minute

``prior_estimators_balanced_results.txt`` is one run.
"""

import sys

import numpy as np
from scipy.optimize import minimize

from zeromatch_sk import _robust as R
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view

DATASETS = [
    "ag_news-business-1:4-balanced",
    "ag_news-business-1:9-balanced",
    "ag_news-sports-1:9-biased-balanced",
    "trec-longtail-balanced",
    "ag_news",
    "trec",
]
N_DRAWS, N_BOOT = 20, 30
SNAP = 0.85  # normalised entropy above which an estimate "looks balanced"


def pacc(P, labeled, y_labeled, k):
    C = np.stack([P[labeled][y_labeled == c].mean(axis=0) for c in range(k)], axis=1)
    mu = P[~labeled].mean(axis=0)

    def loss(z):  # softmax parameters keep q on the simplex
        q = np.exp(z - z.max())
        q /= q.sum()
        r = C @ q - mu
        return r @ r

    z = minimize(loss, np.zeros(k), method="L-BFGS-B").x
    q = np.exp(z - z.max())
    return q / q.sum()


def main(cache):
    names = ["EM", "PACC", "bagged EM", "halfway", "labels"]
    print(f"L1 error against the pool's class frequencies, mean (max) over {N_DRAWS} class-balanced draws")
    for name in DATASETS:
        ds = validation_view(
            load_dataset(name, cache_dir=cache, verbose=0)
        )  # every one draws labels balanced
        k = ds.n_classes
        y, P = ds.y[ds.pool_idx], ds.teacher_proba[ds.pool_idx].astype(np.float64)
        truth = np.bincount(y, minlength=k) / len(y)
        errors, spreads, entropies = {n: [] for n in names}, [], []
        for seed in range(N_DRAWS):
            _, y_semi = semi_supervised_labels(ds, ds.budgets[0], seed)
            labeled = y_semi >= 0
            yl = y_semi[labeled]
            lp = (np.bincount(yl, minlength=k) + 1.0) / (labeled.sum() + k)
            reg = R.select_calibration_reg(P[labeled], yl)
            em = R.estimate_prior_em(
                R.apply_teacher_bias(P, R.fit_teacher_bias(P[labeled], yl, reg=reg))[~labeled], train_prior=lp
            )
            rng = np.random.default_rng(seed)
            boot = []
            for _ in range(N_BOOT):
                s = np.concatenate([rng.choice(np.flatnonzero(yl == c), (yl == c).sum()) for c in range(k)])
                bias = R.fit_teacher_bias(P[labeled][s], yl[s], reg=reg)
                boot.append(R.estimate_prior_em(R.apply_teacher_bias(P[~labeled], bias), train_prior=lp))
            spreads.append(np.std(boot, axis=0).max())
            entropies.append(R.normalized_entropy(np.maximum(em, 1e-3)))
            halfway = np.sqrt(em * lp)
            estimates = [em, pacc(P, labeled, yl, k), np.mean(boot, axis=0), halfway / halfway.sum(), lp]
            for n, v in zip(names, estimates):
                errors[n].append(np.abs(v - truth).sum())
        cells = "  ".join(f"{n} {np.mean(v):.3f} ({np.max(v):.2f})" for n, v in errors.items())
        print(f"{name:36s} {cells}  | bootstrap sd of EM, largest class: {np.mean(spreads):.3f}")
        ent, flat = np.array(entropies), np.array(entropies) >= SNAP
        snapped = (f"EM {np.mean(np.array(errors['EM'])[flat]):.3f}, labels {np.mean(np.array(errors['labels'])[flat]):.3f}"
                   if flat.any() else "none")  # fmt: skip
        print(
            f"{'':36s} EM entropy {ent.min():.2f} / {np.median(ent):.2f} / {ent.max():.2f}; "
            f"{flat.sum()} of {N_DRAWS} draws at >= {SNAP}, L1 error there: {snapped}"
        )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
