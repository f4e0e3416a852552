"""How ``safe_search`` (ZeroMatch with a cross-validated fallback) does where the defaults fall short.

Runs ``zeromatch_sk.model_selection.safe_search`` around the default
``ZeroMatchClassifier`` on robustness cases, 3 seeds each, scored on the
benchmark's evaluation rows (a measurement of a finished method, not a
choice of settings). Five shuffled, unstratified folds over the labeled rows
(a rare class drawn at random can have a single label, too few to stratify).

    python benchmarks/safe_search_eval.py OUT.json [CACHE_DIR] [DATASET ...]

Writes every run (with the candidate it kept and the three cross-validated
scores) to OUT.json and prints the mean accuracy per case.
"""

import json
import sys
import time

import numpy as np
from joblib import Parallel, delayed

DEFAULT_CASES = [
    "ag_news-business-1:4-balanced",
    "ag_news-business-1:9-balanced",
    "ag_news-business-1:4-random",
]


def job(name, seed, cache):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import Method, load_dataset, run_one
    from zeromatch_sk.model_selection import safe_search

    torch.set_num_threads(1)
    ds = load_dataset(name, cache_dir=cache, verbose=0)
    kept = {}

    def factory(context):
        est = ZeroMatchClassifier(classes=np.arange(context["n_classes"]), random_state=context["seed"])
        search = safe_search(est, n_splits=5, stratify=False, random_state=context["seed"])
        kept["search"] = search
        return search

    record = run_one(ds, ds.budgets[0], seed, Method("ZeroMatch, safe mode", "semi+teacher", factory=factory))
    search = kept["search"]
    record["kept"] = search.best_params_
    record["cv_scores"] = [float(s) for s in search.cv_results_["mean_test_score"]]
    return record


def main(out, cache=None, *names):
    names = names or DEFAULT_CASES
    t0 = time.time()
    runs = Parallel(n_jobs=2)(delayed(job)(n, s, cache) for n in names for s in range(3))
    with open(out, "w") as fh:
        json.dump(runs, fh, indent=1)
    for name in names:
        rows = [r for r in runs if r["dataset"] == name]
        accs = [round(r["accuracy"], 3) for r in rows]
        print(f"{name}: mean {np.mean(accs):.3f} per seed {accs}; kept {[r['kept'] for r in rows]}")
        print(
            f"   cv scores (ZeroMatch, KD only, supervised): {[np.round(r['cv_scores'], 3).tolist() for r in rows]}"
        )
    print(f"{len(runs)} runs, {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main(*sys.argv[1:])
