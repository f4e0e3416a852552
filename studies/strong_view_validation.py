"""The experiments behind ``strong_augment='auto'`` and ``min_class_labels`` (issue 6).

Every run scores on a validation slice carved from the pool (``validation_view``), never on the
benchmark's evaluation rows. Budgets are each dataset's first (20 labels on the robustness cases, 40 on
AG News, 60 on TREC); 3 seeds. The variants are ``ZeroMatchClassifier`` parameter settings, written as
JSON-friendly dicts: ``"gaussian:0.1"`` means ``GaussianNoise(scale=0.1)``, ``"scarf:0.4"``,
``"scarfbatch:0.4"`` and ``"scarfclass:0.4"`` mean ``Scarf(rate=0.4, donors='balanced' | 'batch' |
'class')``. Runs made before ``strong_augment='auto'`` existed used SCARF with batch donors as the
default; to repeat them now, add ``"strong_augment": "scarfbatch:0.4"`` and ``"min_class_labels": 0``.

    python studies/strong_view_validation.py SPEC.json OUT.json [CACHE_DIR]

SPEC.json: ``{"datasets": [...], "seeds": 3, "variants": [[label, params or null, fit_with or null,
[datasets it runs on] (optional)], ...]}``; a label of a benchmark method with null params runs that
method. ``strong_view_validation_results.json`` holds every run quoted in the docs.
"""

import json
import sys
import time

from joblib import Parallel, delayed

from zeromatch_sk.benchmark import Method, default_methods, load_dataset, run_one, validation_view


def parse(params):
    from zeromatch_sk.augment import GaussianNoise, Scarf

    out = {}
    for key, value in (params or {}).items():
        if isinstance(value, str) and ":" in value:
            kind, arg = value.split(":")
            if kind == "gaussian":
                value = GaussianNoise(scale=float(arg))
            else:
                donors = {"scarfbatch": "batch", "scarfclass": "class"}.get(kind, "balanced")
                value = Scarf(rate=float(arg), donors=donors)
        out[key] = value
    return out


def job(name, seed, label, params, fit_with, cache):
    import torch

    torch.set_num_threads(1)
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    base = {m.name: m for m in default_methods()}
    if label in base and params is None:
        method = base[label]
    else:
        method = Method(label, fit_with or "semi+teacher", params=parse(params))
    return run_one(ds, ds.budgets[0], seed, method)


def main(spec_path, out_path, cache=None):
    spec = json.load(open(spec_path))
    tasks = [
        (d, s, label, params, fit_with, cache)
        for d in spec["datasets"]
        for s in range(spec.get("seeds", 3))
        for label, params, fit_with, *only in spec["variants"]
        if not only or d in only[0]
    ]
    t0 = time.time()
    runs = Parallel(n_jobs=2)(delayed(job)(*t) for t in tasks)
    json.dump(runs, open(out_path, "w"), indent=1)
    import pandas as pd

    table = pd.DataFrame(runs).pivot_table(index="method", columns="dataset", values="accuracy", aggfunc="mean")
    print(table.round(3).to_string())
    print(f"{len(runs)} runs, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(*sys.argv[1:4])
