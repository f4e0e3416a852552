"""Time one default fit on 5,000 x 384 AG News embeddings (40 labels). Needs benchmarks/ag_news.npz (benchmarks/embed_shared.py)."""

import os
import time
import warnings

import numpy as np

warnings.simplefilter("ignore")
from zeromatch_sk import ZeroMatchClassifier

d = np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), "ag_news.npz"), allow_pickle=True)
X, yt, P = d["X"][:5000], d["y"][:5000], d["P"][:5000]
rng = np.random.default_rng(0)
y = np.full(5000, -1)
for c in range(4):
    y[rng.choice(np.flatnonzero(yt == c), 10, replace=False)] = c
t = time.perf_counter()
clf = ZeroMatchClassifier(random_state=0).fit(X, y, pseudo_labels=P)
dt = time.perf_counter() - t
print(
    f"fit 5000x384 defaults: {dt:.1f} s; stages: {clf.history_[:, 'stage'].count(1)} KD epochs + {clf.history_[:, 'stage'].count(2)} stage-2 epochs; acc unlabeled {clf.score(X[y == -1], yt[y == -1]):.3f}"
)
