"""Is the default ``predict_proba`` calibrated, and which label-free fix brings the ECE to 0.05? (issue 21.6)

Expected calibration error (10 equal-width confidence bins, the bins' accuracy gap weighted by their share of rows)
of ZeroMatch with the defaults on the held-out evaluation rows of AG News (40 labels) and TREC (60 labels), 10 draws
each (the main benchmark's draws). Candidates that spend no label the user does not have, all read from the same
fitted student:

- ``default``: ``predict_proba`` as it is;
- ``heads``: the mean of the main head's and the auxiliary head's probabilities (the auxiliary head distils the
  teacher, whose probabilities are softer);
- ``T on labels``: a temperature fitted on the labeled rows the student trained on: the shortcut the issue rules
  out, measured to show why (the student is most confident on exactly those rows);
- ``T cross-fit``: a temperature fitted on held-out labeled rows: two more students, each trained on half of the
  labeled rows (and every unlabeled row), scored on the other half; the temperature minimising the log-loss of those
  held-out predictions is applied to the full student. Costs two extra fits;
- ``heads + T cross-fit``: the same, on the mean of the two heads.

    python benchmarks/calibration_ece.py [--seeds 10] [--datasets ag_news trec]   # about 30 minutes, 2 processes

``calibration_ece_results.txt`` is one run.
"""

import argparse
import itertools
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
from joblib import Parallel, delayed
from scipy.optimize import minimize_scalar

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels

BUDGETS = {"ag_news": 40, "trec": 60}
CANDIDATES = ["default", "heads", "T on labels", "T cross-fit", "heads + T cross-fit"]


def ece(P, y, bins=10):
    conf, pred = P.max(axis=1), P.argmax(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs((pred[inside] == y[inside]).mean() - conf[inside].mean())
    return total


def tempered(P, T):
    L = np.log(np.clip(P, 1e-12, 1)) / T
    L -= L.max(axis=1, keepdims=True)
    E = np.exp(L)
    return E / E.sum(axis=1, keepdims=True)


def fit_temperature(P, y):
    nll = lambda t: -np.mean(np.log(np.clip(tempered(P, np.exp(t))[np.arange(len(y)), y], 1e-12, 1)))
    return float(np.exp(minimize_scalar(nll, bounds=(-3, 3), method="bounded").x))


def head_mean(clf, X):
    module = clf.net_.module_
    with torch.no_grad():
        z = module.encode(torch.as_tensor(X, dtype=torch.float32))
        main = torch.softmax(module.head(z), 1)
        aux = torch.softmax(module.aux_head(z), 1) if module.aux_head is not None else main
    return ((main + aux) / 2).numpy().astype(np.float64)


def one_draw(name, seed, cache):
    torch.set_num_threads(1)
    ds = load_dataset(name, cache_dir=cache, verbose=0)
    Xp, P = ds.X[ds.pool_idx], ds.teacher_proba[ds.pool_idx]
    Xe, ye = ds.X[ds.eval_idx], ds.y[ds.eval_idx]
    _, y = semi_supervised_labels(ds, BUDGETS[name], seed)
    clf = ZeroMatchClassifier(random_state=seed, verbose=0).fit(Xp, y, pseudo_labels=P)
    Pe = clf.predict_proba(Xe)
    labeled = np.flatnonzero(y >= 0)
    t_labels = fit_temperature(clf.predict_proba(Xp[labeled]), y[labeled])
    # Cross-fit: two halves of the labels, stratified by class, each held out once.
    rng = np.random.default_rng(seed)
    half = np.zeros(len(labeled), bool)
    for c in np.unique(y[labeled]):
        idx = np.flatnonzero(y[labeled] == c)
        half[rng.permutation(idx)[: len(idx) // 2]] = True
    held_P, held_H, held_y = [], [], []
    for part in (half, ~half):
        y_part = y.copy()
        y_part[labeled[part]] = -1
        other = ZeroMatchClassifier(random_state=seed, verbose=0).fit(Xp, y_part, pseudo_labels=P)
        held_P.append(other.predict_proba(Xp[labeled[part]]))
        held_H.append(head_mean(other, Xp[labeled[part]]))
        held_y.append(y[labeled[part]])
    t_cross = fit_temperature(np.vstack(held_P), np.concatenate(held_y))
    t_heads = fit_temperature(np.vstack(held_H), np.concatenate(held_y))
    He = head_mean(clf, Xe)
    probs = [Pe, He, tempered(Pe, t_labels), tempered(Pe, t_cross), tempered(He, t_heads)]
    return {
        "dataset": name,
        "seed": seed,
        "accuracy": float((Pe.argmax(1) == ye).mean()),
        "ece": [ece(p, ye) for p in probs],
        "accuracy_heads": float((probs[1].argmax(1) == ye).mean()),
        "temperatures": [t_labels, t_cross],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--datasets", nargs="+", default=list(BUDGETS))
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--n-jobs", type=int, default=2)
    args = p.parse_args()
    tasks = [(d, s) for d in args.datasets for s in range(args.seeds)]
    rows = Parallel(n_jobs=args.n_jobs)(delayed(one_draw)(d, s, args.cache_dir) for d, s in tasks)
    print(
        f"ECE on the evaluation rows (10 bins), mean (max) over {args.seeds} draws; accuracy of the default"
    )
    for name in args.datasets:
        mine = [r for r in rows if r["dataset"] == name]
        E = np.array([r["ece"] for r in mine])
        cells = "  ".join(f"{c} {E[:, i].mean():.3f} ({E[:, i].max():.3f})" for i, c in enumerate(CANDIDATES))
        acc = np.mean([r["accuracy"] for r in mine])
        acc_h = np.mean([r["accuracy_heads"] for r in mine])
        T = np.array([r["temperatures"] for r in mine])
        print(f"{name} {BUDGETS[name]}: {cells}")
        print(
            f"{'':12s} accuracy {acc:.3f} (heads {acc_h:.3f}); temperature on labels {T[:, 0].mean():.2f}, "
            f"cross-fit {T[:, 1].mean():.2f} (range {T[:, 1].min():.2f}-{T[:, 1].max():.2f})"
        )


if __name__ == "__main__":
    main()
