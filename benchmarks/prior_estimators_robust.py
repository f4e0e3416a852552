"""Which class-prior estimator should ``class_prior='auto'`` use? Validation slices, no training.

Issue 17: with class-balanced labels the defaults estimate the unlabeled rows' class prior by EM on the calibrated
teacher; on a real binary task with a teacher biased towards the rare class that estimate was off by 0.36-0.79 (L1),
while a classifier fitted on the labels alone did far better. This study measures, on 20 label draws of the
validation view (``validation_view``: the evaluation rows are never read) of every robustness case, the new fortunes
cases and the balanced main benchmark, the L1 error against the pool's class frequencies of:

- ``teacher-EM``: today's estimate for balanced labels (bias calibration with the penalty
  ``select_calibration_reg`` picks, then EM from the labeled prior);
- ``labels``: the labels' smoothed class frequencies (today's estimate for random labels);
- ``LR-CC``: classify and count with a logistic regression fitted on the labeled rows (scikit-learn's defaults);
- ``LR-ACC``: adjusted classify and count: the prior ``q`` on the simplex that makes ``C q`` closest to the LR-CC
  shares, ``C`` the confusion matrix of 5-fold cross-fitted predictions on the labeled rows;
- ``LR-EM``: EM on the logistic regression's posteriors;
- ``joint-EM``: EM on the product of the calibrated teacher and the logistic regression (divided once by the
  labeled prior, renormalised): two experts whose biases differ;
- ``mean``: the mean of teacher-EM and LR-CC;
- ``switch``: teacher-EM when it lies within 0.25 (L1) of LR-CC, else LR-CC;
- ``median3``: the per-class median of teacher-EM, LR-CC and the labels' frequencies, renormalised: a class share
  moves away from the labels' only as far as both estimates agree it should;
- ``confirmed``: teacher-EM's move away from the labels' prior, scaled by how far LR-CC's move (divided by its
  cross-fitted attenuation) confirms it, clipped to [0, 1] (``confirmed-a1``: without the attenuation).

For random labels the last column repeats what the library does today (``labels``) next to the candidates, so a
rule for both samplings can be read off the same table.

    python benchmarks/prior_estimators_robust.py [CACHE_DIR]     # about 3 minutes, one thread

``prior_estimators_robust_results.txt`` is one run (fortunes cases need ``apt-get install fortunes``; the
last two columns, ``confirmed`` and ``confirmed-a1`` (the same without the attenuation), and the second table, each
draw's confirmed share before clipping, were added in a later run; the other columns reproduced exactly).
"""

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from zeromatch_sk import _robust as R
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view
from zeromatch_sk.benchmark._datasets import ROBUST_DATASETS

DATASETS = [*ROBUST_DATASETS, "ag_news", "trec"]
N_DRAWS = 20
SWITCH = 0.25
NAMES = [
    "teacher-EM", "labels", "LR-CC", "LR-ACC", "LR-EM", "joint-EM", "mean", "switch", "median3", "confirmed",
    "confirmed-a1",
]  # fmt: skip


def simplex_fit(C, target):
    """The ``q`` on the simplex minimising ``|C q - target|^2`` (softmax parameters)."""
    k = C.shape[1]

    def loss(z):
        q = np.exp(z - z.max())
        q /= q.sum()
        r = C @ q - target
        return r @ r

    z = minimize(loss, np.zeros(k), method="L-BFGS-B").x
    q = np.exp(z - z.max())
    return q / q.sum()


def estimates(X, P, labeled, yl, k, seed):
    n_lab = len(yl)
    lp = (np.bincount(yl, minlength=k) + 1.0) / (n_lab + k)
    reg = R.select_calibration_reg(P[labeled], yl)
    T = R.apply_teacher_bias(P, R.fit_teacher_bias(P[labeled], yl, reg=reg))
    em = R.estimate_prior_em(T[~labeled], train_prior=lp)
    lr = LogisticRegression(max_iter=1000).fit(X[labeled], yl)
    Q = lr.predict_proba(X[~labeled])
    cc = np.bincount(Q.argmax(axis=1), minlength=k) / len(Q)
    folds = min(5, int(np.bincount(yl, minlength=k).min()))
    if folds >= 2:
        cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        pred = cross_val_predict(LogisticRegression(max_iter=1000), X[labeled], yl, cv=cv)
        C = np.zeros((k, k))
        for c in range(k):
            C[:, c] = np.bincount(pred[yl == c], minlength=k) / max((yl == c).sum(), 1)
        acc = simplex_fit(C, cc)
        cv_accuracy = float(np.mean(pred == yl))
    else:
        acc, cv_accuracy = cc, 1.0
    lr_em = R.estimate_prior_em(Q, train_prior=lp)
    joint = T[~labeled] * Q / lp
    joint_em = R.estimate_prior_em(joint / joint.sum(axis=1, keepdims=True), train_prior=lp)
    switch = em if np.abs(em - cc).sum() <= SWITCH else cc
    median3 = np.median([em, cc, lp], axis=0)
    (kept, share), (kept_a1, _) = confirmed(em, cc, lp, cv_accuracy, k), confirmed(em, cc, lp, 1.0, k)
    values = [em, lp, cc, acc, lr_em, joint_em, (em + cc) / 2, switch, median3 / median3.sum(), kept, kept_a1]
    return values, share


def confirmed(em, cc, lp, cv_accuracy, k):
    """Teacher-EM's move away from the labels' prior, kept as far as the labels' classifier confirms it.

    Classify-and-count shares move from the labels' prior towards the truth by a factor ``a`` (about
    ``(k * accuracy - 1) / (k - 1)`` for symmetric errors, ``accuracy`` cross-fitted on the labels); divided by
    it they estimate the move itself. Its projection on teacher-EM's move, clipped to [0, 1], scales that move:
    a biased teacher on balanced data moves where the labels' classifier does not, and is shrunk back.
    Returns the estimate and the projection before clipping (the confirmed share).
    """
    a = np.clip((k * cv_accuracy - 1) / (k - 1), 0.1, 1.0)
    d_teacher, d_labels = em - lp, (cc - lp) / a
    norm = d_teacher @ d_teacher
    share = 1.0 if norm < 1e-12 else float(d_labels @ d_teacher / norm)
    return lp + np.clip(share, 0.0, 1.0) * d_teacher, share


def main(cache):
    print(f"L1 error against the pool's class frequencies, mean (max) over {N_DRAWS} draws, validation view")
    print(f"{'case':36s} " + "  ".join(f"{n:>16s}" for n in NAMES))
    shares = {}
    for name in DATASETS:
        try:
            ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
        except FileNotFoundError as exc:
            print(f"{name:36s} skipped: {exc}")
            continue
        k = ds.n_classes
        X = ds.X[ds.pool_idx].astype(np.float64)
        y, P = ds.y[ds.pool_idx], ds.teacher_proba[ds.pool_idx].astype(np.float64)
        truth = np.bincount(y, minlength=k) / len(y)
        errors, shares[name] = {n: [] for n in NAMES}, []
        for seed in range(N_DRAWS):
            _, y_semi = semi_supervised_labels(ds, ds.budgets[0], seed)
            labeled = y_semi >= 0
            values, share = estimates(X, P, labeled, y_semi[labeled], k, seed)
            shares[name].append(share)
            for n, v in zip(NAMES, values):
                errors[n].append(np.abs(np.maximum(v, 1e-3) / np.maximum(v, 1e-3).sum() - truth).sum())
        cells = "  ".join(f"{np.mean(v):8.3f} ({np.max(v):4.2f})" for v in errors.values())
        print(f"{name + ' [' + ds.label_sampling[:3] + ']':36s} {cells}", flush=True)
    print(f"\nconfirmed share (before clipping) per draw: below 0.5 / above 0.7, of {N_DRAWS}")
    for name, values in shares.items():
        v = np.array(values)
        print(f"{name:36s} {(v < 0.5).sum():3d} / {(v > 0.7).sum():3d}   " + " ".join(f"{x:.2f}" for x in v))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
