"""Faithfulness check against ../shared/design/algorithm.md: AG News 40 labels and TREC 60 labels (10 per class),
evaluated on every row not labeled, 3 seeds. Usage: python benchmarks/embed_shared.py, then
python benchmarks/faithfulness_check.py METHODS_JSON N_PROCESSES (see benchmarks/README.md)."""

import json
import os
import sys
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
from concurrent.futures import ProcessPoolExecutor

import numpy as np

warnings.simplefilter("ignore")


def run(args):
    import torch

    torch.set_num_threads(1)
    from sklearn.linear_model import LogisticRegression

    from zeromatch_sk import ZeroMatchClassifier

    name, per_class, method, seed, params = args
    d = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.npz"), allow_pickle=True)
    X, yt, P = d["X"], d["y"], d["P"]
    rng = np.random.default_rng(seed)
    y = np.full(len(yt), -1)
    for c in np.unique(yt):
        y[rng.choice(np.flatnonzero(yt == c), per_class, replace=False)] = c
    ev = y == -1
    t = time.time()
    if method == "logreg":
        acc = LogisticRegression(max_iter=2000).fit(X[~ev], y[~ev]).score(X[ev], yt[ev])
    elif method == "teacher":
        acc = float((P.argmax(1)[ev] == yt[ev]).mean())
    else:
        kw = dict(random_state=seed)
        kw.update(params)
        pl = None if method == "adamatch" else P
        clf = ZeroMatchClassifier(**kw).fit(X, y, pseudo_labels=pl)
        acc = clf.score(X[ev], yt[ev])
    return dict(dataset=name, method=method, seed=seed, params=params, acc=float(acc), sec=time.time() - t)


if __name__ == "__main__":
    methods = json.loads(sys.argv[1])
    jobs = []
    for name, per_class in [("ag_news", 10), ("trec", 10)]:
        for m, params in methods:
            for seed in range(3):
                jobs.append((name, per_class, m, seed, params))
    with ProcessPoolExecutor(int(sys.argv[2]) if len(sys.argv) > 2 else 15) as ex:
        res = list(ex.map(run, jobs))
    out = os.environ.get("OUT", ".")
    with open(f"{out}/check.json", "w") as fh:
        json.dump(res, fh, indent=1)
    import collections

    agg = collections.defaultdict(list)
    for r in res:
        agg[(r["dataset"], r["method"], json.dumps(r["params"]))].append((r["acc"], r["sec"]))
    for k, v in sorted(agg.items()):
        a = np.array(v)
        print(
            f"{k[0]:8s} {k[1]:10s} {k[2]:50s} acc {a[:, 0].mean():.3f} ({a[:, 0].min():.3f}-{a[:, 0].max():.3f})  {a[:, 1].mean():.0f}s"
        )
