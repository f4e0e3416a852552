"""Validation of the drift guard (``max_prior_drift``): is there a threshold that separates students the
consistency loss has pushed off the class balance from healthy ones?

On validation slices (``validation_view``: rows carved from the pool, never the benchmark's evaluation rows),
for every robustness case and the balanced AG News, TREC and digits cases of the main benchmark (first budget,
3 seeds), one fit with ``max_prior_drift=1e-9`` gives both students: the one of the ordinary stage 2 (its
weights are captured before the guard replaces them) and the fallback, stage 2 rerun from the stage-1 student
with ``lambda_u = 0``. Runs where the rare-class guard had already switched the consistency loss off have no
fallback (``fallback`` false). Each record holds ``prior_drift`` (total variation between the ordinary
student's mean predicted shares on the training rows and ``class_prior_``) and both accuracies; the summary
replays every threshold.

    python studies/drift_guard_validation.py run OUT.json [CACHE_DIR]     # about 12 minutes on 2 cores
    python studies/drift_guard_validation.py summary OUT.json

``more`` reads the drift of ten more validation draws (seeds 3-12) of balanced AG News and TREC, where the
consistency loss matters most, with plain default fits (about 7 minutes):

    python studies/drift_guard_validation.py more MORE.json [CACHE_DIR]
"""

import collections
import copy
import json
import sys
import warnings

import numpy as np
from joblib import Parallel, delayed

DATASETS = (
    "ag_news-business-1:4-random", "ag_news-business-1:9-random", "ag_news-sports-1:9-biased-random",
    "trec-longtail-random", "ag_news-business-1:4-balanced", "ag_news-business-1:9-balanced",
    "ag_news-sports-1:9-biased-balanced", "trec-longtail-balanced", "ag_news", "trec", "digits-biased-teacher",
    "digits-random-teacher",
)  # fmt: skip
THRESHOLDS = (0.05, 0.075, 0.1, 0.125, 0.15, 0.175)


def job(name, seed, cache):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk._training import ZeroMatchNet
    from zeromatch_sk.benchmark import load_dataset, validation_view
    from zeromatch_sk.benchmark._methods import labeled_positions

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    states = []
    original = ZeroMatchNet._run_stage2

    def capture(self, *args, **kwargs):
        original(self, *args, **kwargs)
        states.append(copy.deepcopy(self.module_.state_dict()))

    ZeroMatchNet._run_stage2 = capture
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    pool, y_pool = ds.pool_idx, ds.y[ds.pool_idx]
    lab = labeled_positions(ds, ds.budgets[0], seed)
    y = np.full(len(pool), -1)
    y[lab] = y_pool[lab]
    X_eval, y_eval = ds.X[ds.eval_idx], ds.y[ds.eval_idx]
    est = ZeroMatchClassifier(random_state=seed, max_prior_drift=1e-9)
    est.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
    rec = dict(dataset=name, seed=seed, lambda_u=est.lambda_u_, fallback=est.drift_fallback_,
               prior_drift=est.prior_drift_, prior=est.class_prior_.round(3).tolist(),
               true=(np.bincount(y_eval, minlength=ds.n_classes) / len(y_eval)).round(3).tolist())  # fmt: skip
    per_epoch = [v for v in est.history_[:, "prior_drift"] if v == v]
    rec["max_epoch_drift"] = max(per_epoch) if per_epoch else None
    accuracy = float((est.predict(X_eval) == y_eval).mean())
    if est.drift_fallback_:
        rec["acc_fallback"] = accuracy
        est.net_.module_.load_state_dict(states[0])  # the ordinary student
        rec["acc_default"] = float((est.predict(X_eval) == y_eval).mean())
    else:
        rec["acc_default"] = accuracy
    return rec


def more_job(name, seed, cache):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, validation_view
    from zeromatch_sk.benchmark._methods import labeled_positions

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    pool, y_pool = ds.pool_idx, ds.y[ds.pool_idx]
    lab = labeled_positions(ds, ds.budgets[0], seed)
    y = np.full(len(pool), -1)
    y[lab] = y_pool[lab]
    est = ZeroMatchClassifier(random_state=seed).fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
    return dict(dataset=name, seed=seed, prior_drift=est.prior_drift_, lambda_u=est.lambda_u_,
                acc=float((est.predict(ds.X[ds.eval_idx]) == ds.y[ds.eval_idx]).mean()))  # fmt: skip


def summary(records):
    print("ordinary students' drift, per case (runs with the consistency loss on):")
    for name in DATASETS:
        drifts = [r["prior_drift"] for r in records if r["dataset"] == name and r["fallback"]]
        print(f"  {name:36s} {' '.join(f'{d:.3f}' for d in drifts) or '(rare-class guard: loss off)'}")
    print("threshold: runs it fires on, accuracy change per case in points (mean of 3 draws)")
    for t in THRESHOLDS:
        per, fires = collections.defaultdict(list), 0
        for r in records:
            fire = r["fallback"] and r["prior_drift"] > t
            fires += fire
            per[r["dataset"]].append((r["acc_fallback"] if fire else r["acc_default"]) - r["acc_default"])
        changed = ", ".join(f"{k} {100 * np.mean(v):+.1f}" for k, v in per.items() if any(v))
        print(f"  {t:5.3f}: fires on {fires:2d} of {len(records)}; {changed or 'no change'}")


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "more":
        cache = sys.argv[3] if len(sys.argv) > 3 else None
        recs = Parallel(n_jobs=2)(delayed(more_job)(n, s, cache) for n in ("ag_news", "trec") for s in range(3, 13))
        with open(out, "w") as fh:
            json.dump(recs, fh, indent=1)
        for name in ("ag_news", "trec"):
            drifts = sorted(r["prior_drift"] for r in recs if r["dataset"] == name)
            print(f"{name}: drift of 10 more draws, sorted: {' '.join(f'{d:.3f}' for d in drifts)}")
        sys.exit()
    if mode == "run":
        cache = sys.argv[3] if len(sys.argv) > 3 else None
        recs = Parallel(n_jobs=2)(delayed(job)(n, s, cache) for n in DATASETS for s in range(3))
        with open(out, "w") as fh:
            json.dump(recs, fh, indent=1)
    with open(out) as fh:
        summary(json.load(fh))
