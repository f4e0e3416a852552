"""The experiments behind ``calibration_reg='auto'`` and ``gate_z=0`` (issue 6).

Every run trains the default ``ZeroMatchClassifier`` with some parameters changed and scores it on a
validation slice carved from the pool (``validation_view``), never on the benchmark's evaluation
rows. Each dataset's first budget, seeds 0-2. The variants pin the settings that were the defaults
when the runs were made (``calibration_reg=0.5``, ``gate_z=1.0``), so the specs reproduce them.

    python studies/defaults_validation.py studies/defaults_validation_specs.json NAME OUT.json [CACHE_DIR]

``defaults_validation_results.json`` holds the runs of both experiments (``gate``: the random-label
cases; ``calibration``: the balanced-label cases, digits and the balanced main benchmark), each with
its experiment's name.
"""

import json
import sys
import time
import warnings

import numpy as np
from joblib import Parallel, delayed


def job(name, seed, label, params, cache):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, validation_view
    from zeromatch_sk.benchmark._methods import labeled_positions

    torch.set_num_threads(1)
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    pool = ds.pool_idx
    y_pool = ds.y[pool]
    lab = labeled_positions(ds, ds.budgets[0], seed)
    y = np.full(len(pool), -1)
    y[lab] = y_pool[lab]
    est = ZeroMatchClassifier(random_state=seed, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
    accuracy = float((est.predict(ds.X[ds.eval_idx]) == ds.y[ds.eval_idx]).mean())
    return {"ds": name, "seed": seed, "variant": label, "params": params, "acc": accuracy,
            "gated": bool(est.teacher_gated_), "lam": est.lambda_u_,
            "counts": np.bincount(y_pool[lab], minlength=ds.n_classes).tolist()}  # fmt: skip


def main(spec_path, name, out, cache=None):
    import pandas as pd

    spec = json.load(open(spec_path))[name]
    t0 = time.time()
    tasks = [(d, s, label, params, cache) for d in spec["datasets"] for s in range(spec.get("seeds", 3))
             for label, params in spec["variants"]]  # fmt: skip
    runs = Parallel(n_jobs=2)(delayed(job)(*t) for t in tasks)
    for run in runs:
        run["experiment"] = name
    json.dump(runs, open(out, "w"), indent=1)
    df = pd.DataFrame(runs)
    print(df.pivot_table(index="ds", columns="variant", values="acc", aggfunc="mean").round(3).to_string())
    print(df.pivot_table(index="ds", columns="variant", values="gated", aggfunc="sum").to_string())
    print(f"{len(runs)} runs, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(*sys.argv[1:5])
