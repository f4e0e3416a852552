"""Time saved and accuracy kept by TwoStageEarlyStopping on the main benchmark cells.

For each dataset (AG News, 40 labels; TREC, 60 labels) and label draw, a
default ZeroMatchClassifier is fitted twice on the same rows, seed and
teacher: once as is and once with ``callbacks=[TwoStageEarlyStopping()]``,
one after the other in the same process (so machine load hits both alike).
Accuracy is scored on the benchmark's fixed evaluation rows, which the
callback never sees (it reads no labels). Prints per-draw rows, then the
paired mean difference in accuracy with its standard error and the mean
fit-time ratio.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/early_stopping_eval.py \
        --seeds 3 --cache-dir /tmp/zm_cache > benchmarks/early_stopping_eval_results.txt
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels
from zeromatch_sk.callbacks import TwoStageEarlyStopping

CELLS = (("ag_news", 40), ("trec", 60))


def fit_one(ds, budget, seed, early):
    pool = ds.pool_idx
    _, y = semi_supervised_labels(ds, budget, seed)
    stop = TwoStageEarlyStopping() if early else None
    clf = ZeroMatchClassifier(random_state=seed, callbacks=[stop] if early else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        clf.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
        seconds = time.perf_counter() - t0
    acc = float(np.mean(clf.predict(ds.X[ds.eval_idx]) == ds.y[ds.eval_idx]))
    stages = np.array(clf.history_[:, "stage"])
    return dict(acc=acc, seconds=seconds, s1=int((stages == 1).sum()), s2=int((stages == 2).sum()),
                churn=None if stop is None else stop.churn_)  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="label draws per cell (default 3)")
    parser.add_argument(
        "--cache-dir", default=None, help="embedding cache (see python -m zeromatch_sk.benchmark)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"TwoStageEarlyStopping() defaults: {TwoStageEarlyStopping().get_params()}; torch threads 1")
    for name, budget in CELLS:
        ds = load_dataset(name, cache_dir=args.cache_dir, verbose=0)
        diffs, ratios = [], []
        print(f"\n{name}, {budget} labels ({len(ds.pool_idx)} pool rows, {len(ds.eval_idx)} evaluation rows)")
        print(
            "seed  acc_full  acc_early  diff    s_full  s_early  ratio  epochs_full(s1+s2)  epochs_early(s1+s2)"
        )
        for seed in range(args.seeds):
            full, early = fit_one(ds, budget, seed, False), fit_one(ds, budget, seed, True)
            diffs.append(early["acc"] - full["acc"])
            ratios.append(early["seconds"] / full["seconds"])
            print(f"{seed:4d}  {full['acc']:.4f}    {early['acc']:.4f}   {diffs[-1]:+.4f}  {full['seconds']:6.1f}  "
                  f"{early['seconds']:7.1f}  {ratios[-1]:.2f}   {full['s1']}+{full['s2']}"
                  f"{'':14s}{early['s1']}+{early['s2']}")  # fmt: skip
            churn = ", ".join("nan" if np.isnan(c) else f"{c:.3f}" for c in early["churn"])
            print(f"      stage-2 churn per epoch (early run): {churn}")
        se = np.std(diffs, ddof=1) / np.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")
        print(f"mean paired accuracy difference (early - full): {np.mean(diffs):+.4f} (se {se:.4f}, "
              f"{len(diffs)} draws); mean fit-time ratio early/full: {np.mean(ratios):.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
