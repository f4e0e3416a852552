"""Do the robustness defences cost accuracy on the balanced main benchmark? Validation slices only.

Fits ``ZeroMatchClassifier`` with the defaults, with ``REFERENCE_PARAMS`` (every defence off) and with
``teacher_calibration='none'`` on validation draws (``validation_view``; first budget: TREC 60 labels, AG News 40)
and prints one JSON record per fit: accuracy on the validation rows, ``class_prior_``, predicted class shares,
the validation rows' true shares, the teacher's raw and calibrated (leave-one-out) accuracy on the labels, the
calibration penalty and ``prior_drift_``. ``eval`` instead of ``val`` reads the benchmark's evaluation rows (a
diagnosis of a benchmark run, never a choice). Variants: see ``VARIANTS``.

    python benchmarks/defaults_vs_reference_validation.py trec 0,1,2,3,4,5 default,reference,nocal val [CACHE_DIR]
    python benchmarks/defaults_vs_reference_validation.py ag_news 0,1,2,3,4,5 default,reference val [CACHE_DIR]
    python benchmarks/defaults_vs_reference_validation.py summary RESULTS.txt

``defaults_vs_reference_validation_results.txt`` holds both runs (about 15 minutes on 2 cores); ``summary``
prints the mean accuracy per dataset and variant.
"""

import collections
import json
import sys
import warnings

import numpy as np
from joblib import Parallel, delayed

VARIANTS = {
    "default": {},
    "reference": "REFERENCE_PARAMS",
    "nocal": {"teacher_calibration": "none"},
    "noprior": {"prior_correction": "none", "da_target": "labeled"},
    "posthoc": {"prior_correction": "posthoc"},
    "uniformprior": {"class_prior": "uniform"},
}


def job(name, seed, variant, val, cache):
    import torch
    from _grouped import REFERENCE_PARAMS, grouped

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    ds = load_dataset(name, cache_dir=cache, verbose=0)
    if val:
        ds = validation_view(ds)
    params = REFERENCE_PARAMS if VARIANTS[variant] == "REFERENCE_PARAMS" else dict(VARIANTS[variant])
    if params.get("class_prior") == "uniform":
        params["class_prior"] = np.full(ds.n_classes, 1 / ds.n_classes)
    _lab, y = semi_supervised_labels(ds, ds.budgets[0], seed)
    params = grouped(params)
    pool = ds.pool_idx
    est = ZeroMatchClassifier(random_state=seed, **params).fit(
        ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool]
    )
    pred, y_eval = est.predict(ds.X[ds.eval_idx]), ds.y[ds.eval_idx]

    def shares(labels):
        return (np.bincount(labels, minlength=ds.n_classes) / len(labels)).round(3).tolist()

    return dict(name=name, seed=seed, v=variant, val=val, acc=round(float((pred == y_eval).mean()), 3),
                prior=est.class_prior_.round(3).tolist(), share=shares(pred), true=shares(y_eval),
                tcal=est.teacher_accuracy_calibrated_, traw=est.teacher_accuracy_,
                reg=getattr(est, "calibration_reg_", None), drift=round(est.prior_drift_, 3))  # fmt: skip


def summary(path):
    acc = collections.defaultdict(list)
    with open(path) as fh:
        for line in fh:
            r = json.loads(line)
            acc[(r["name"], "val" if r["val"] else "eval", r["v"])].append(r["acc"])
    for (name, rows, variant), values in acc.items():
        print(
            f"{name:8s} {rows:4s} {variant:10s} mean {np.mean(values):.3f} over {len(values)} draws: {values}"
        )


if __name__ == "__main__":
    if sys.argv[1] == "summary":
        summary(sys.argv[2])
        sys.exit()
    name, seeds, variants, rows = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(","), sys.argv[4]
    cache = sys.argv[5] if len(sys.argv) > 5 else None
    jobs = (delayed(job)(name, int(s), v, rows == "val", cache) for s in seeds for v in variants)
    for record in Parallel(n_jobs=2)(jobs):
        print(json.dumps(record), flush=True)
