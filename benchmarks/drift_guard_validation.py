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

    python benchmarks/drift_guard_validation.py run OUT.json [CACHE_DIR]     # about 12 minutes on 2 cores
    python benchmarks/drift_guard_validation.py summary OUT.json [MORE.json]

``more`` reads the drift of ten more validation draws (seeds 3-12) of balanced AG News and TREC, where the
consistency loss matters most, with plain default fits (about 7 minutes):

    python benchmarks/drift_guard_validation.py more MORE.json [CACHE_DIR]

``drift_guard_validation_summary.txt`` is ``summary drift_guard_validation_results.json
drift_guard_validation_more.json``.
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


def _fit(name, seed, cache, **params):
    """Defaults (plus ``params``) fitted on validation draw ``seed`` of ``name``, in a one-thread worker."""
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
    _lab, y = semi_supervised_labels(ds, ds.budgets[0], seed)
    from _grouped import grouped

    est = ZeroMatchClassifier(random_state=seed, **grouped(params))
    est.fit(ds.X[ds.pool_idx], y, pseudo_labels=ds.teacher_proba[ds.pool_idx])
    return ds, est


def _accuracy(ds, est):
    return float((est.predict(ds.X[ds.eval_idx]) == ds.y[ds.eval_idx]).mean())


def job(name, seed, cache):
    from zeromatch_sk._training import ZeroMatchNet

    states = []
    original = ZeroMatchNet._run_stage2

    def capture(self, *args, **kwargs):
        original(self, *args, **kwargs)
        states.append(copy.deepcopy(self.module_.state_dict()))

    ZeroMatchNet._run_stage2 = capture
    ds, est = _fit(name, seed, cache, max_prior_drift=1e-9)
    y_eval = ds.y[ds.eval_idx]
    rec = dict(dataset=name, seed=seed, lambda_u=est.lambda_u_, fallback=est.drift_fallback_,
               prior_drift=est.prior_drift_, prior=est.class_prior_.round(3).tolist(),
               true=(np.bincount(y_eval, minlength=ds.n_classes) / len(y_eval)).round(3).tolist())  # fmt: skip
    per_epoch = [v for v in est.history_[:, "prior_drift"] if not np.isnan(v)]
    rec["max_epoch_drift"] = max(per_epoch) if per_epoch else None
    accuracy = _accuracy(ds, est)
    if est.drift_fallback_:
        rec["acc_fallback"] = accuracy
        est.net_.module_.load_state_dict(states[0])  # the ordinary student
        rec["acc_default"] = _accuracy(ds, est)
    else:
        rec["acc_default"] = accuracy
    return rec


def more_job(name, seed, cache):
    ds, est = _fit(name, seed, cache)
    return dict(dataset=name, seed=seed, prior_drift=est.prior_drift_, lambda_u=est.lambda_u_,
                acc=_accuracy(ds, est))  # fmt: skip


def summary(records, more=None):
    print("ordinary students' drift and, in brackets, what the fallback changes (points), per case:")
    for name in DATASETS:
        runs = [r for r in records if r["dataset"] == name and r["fallback"]]
        cells = " ".join(
            f"{r['prior_drift']:.3f} ({100 * (r['acc_fallback'] - r['acc_default']):+.1f})" for r in runs
        )
        print(f"  {name:36s} {cells or '(rare-class guard: loss off)'}")
    print("threshold: runs it fires on (their change in points), mean change per case (3 draws)")
    for t in THRESHOLDS:
        per, fired = collections.defaultdict(list), []
        for r in records:
            fire = r["fallback"] and r["prior_drift"] > t
            change = (r["acc_fallback"] - r["acc_default"]) if fire else 0.0
            per[r["dataset"]].append(change)
            if fire:
                fired.append(f"{r['dataset']} seed {r['seed']} {100 * change:+.1f}")
        changed = ", ".join(f"{k} {100 * np.mean(v):+.1f}" for k, v in per.items() if any(v))
        print(
            f"  {t:5.3f}: fires on {len(fired):2d} of {len(records)} ({'; '.join(fired)}); {changed or 'no change'}"
        )
    if more is not None:
        print("more: ten more validation draws, plain default fits")
        for name in ("ag_news", "trec"):
            drifts = sorted(r["prior_drift"] for r in more if r["dataset"] == name)
            print(f"  {name}: drift of 10 more draws, sorted: {' '.join(f'{d:.3f}' for d in drifts)}")


if __name__ == "__main__":
    mode, out = sys.argv[1], sys.argv[2]
    cache = sys.argv[3] if len(sys.argv) > 3 and mode != "summary" else None
    if mode == "more":
        recs = Parallel(n_jobs=2)(
            delayed(more_job)(n, s, cache) for n in ("ag_news", "trec") for s in range(3, 13)
        )
        with open(out, "w") as fh:
            json.dump(recs, fh, indent=1)
        summary([], recs)
        sys.exit()
    if mode == "run":
        recs = Parallel(n_jobs=2)(delayed(job)(n, s, cache) for n in DATASETS for s in range(3))
        with open(out, "w") as fh:
            json.dump(recs, fh, indent=1)
    more = None
    if mode == "summary" and len(sys.argv) > 3:
        with open(sys.argv[3]) as fh:
            more = json.load(fh)
    with open(out) as fh:
        summary(json.load(fh), more)
