"""Do bf16 and fp16 autocast (``zeromatch_sk.set_config(precision=...)``) keep a default fit's accuracy?

The bundled AG News sample (2,000 articles), MiniLM embeddings, the zero-shot sentence teacher, 10 labels per class,
3 draws, scored on every unlabeled row, float32 against bf16 and fp16, on CPU (the GPU comparison is in ``gpu_check.py``)::

    python benchmarks/precision_check.py [--device cpu]

writes ``benchmarks/precision_check_results.txt``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from zeromatch_sk import ZeroMatchClassifier, config_context
from zeromatch_sk.datasets import load_ag_news_sample
from zeromatch_sk.embedders import SentenceEmbedder
from zeromatch_sk.providers import SentenceTransformerProvider

OUT = Path(__file__).with_name("precision_check_results.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--draws", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    news = load_ag_news_sample()
    X = SentenceEmbedder(verbose=0).fit_transform(news.data)
    target = np.asarray(news.target, dtype=object)
    classes = np.unique(target)
    P = SentenceTransformerProvider(
        template=news.template, class_names=news.class_names, verbose=0
    ).predict_proba(X, classes)
    lines = [f"{len(X)} AG News sample rows, 40 labels, device {args.device}, 1 torch thread", ""]
    precisions = ("float32", "bf16", "fp16")
    lines.append(
        f"{'draw':>4} "
        + " ".join(f"{p:>8}" for p in precisions)
        + " "
        + " ".join(f"{p + ' s':>10}" for p in precisions)
    )
    diffs = {p: [] for p in precisions[1:]}
    for seed in range(args.draws):
        rng = np.random.RandomState(seed)
        y = np.full(len(target), -1, dtype=object)
        for c in classes:
            rows = rng.choice(np.flatnonzero(target == c), 10, replace=False)
            y[rows] = target[rows]
        unlabeled = np.asarray([v == -1 for v in y])
        row = []
        for precision in precisions:
            clf = ZeroMatchClassifier(random_state=seed, device=args.device, verbose=0)
            start = time.perf_counter()
            with config_context(precision=precision):
                clf.fit(X, y, pseudo_labels=P)
            seconds = time.perf_counter() - start
            row.append((float(np.mean(clf.predict(X[unlabeled]) == target[unlabeled])), seconds))
        for i, p in enumerate(precisions[1:], start=1):
            diffs[p].append(row[i][0] - row[0][0])
        lines.append(
            f"{seed:>4} "
            + " ".join(f"{a:8.3f}" for a, _ in row)
            + " "
            + " ".join(f"{s:10.1f}" for _, s in row)
        )
    lines.append("")
    for p, values in diffs.items():
        d = np.asarray(values)
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        lines.append(f"{p} - float32: {d.mean():+.4f} (paired standard error {se:.4f}) over {len(d)} draws")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
