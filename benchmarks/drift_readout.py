"""Read the drift of the robustness benchmark's failing draws (evaluation rows: a diagnosis, not a choice).

For each (case, seed), fits ``ZeroMatchClassifier`` with the defaults on the benchmark's own label draw and
prints the accuracy on the evaluation rows, the student's mean predicted class shares on the unlabeled rows,
``class_prior_``, ``teacher_prior_``, ``prior_drift_`` and ``lambda_u_``; with ``--guard T`` also the fit
with ``max_prior_drift=T``. No default was chosen from these numbers (``drift_guard_validation.py`` did that).

    python benchmarks/drift_readout.py [--guard 0.1] [CACHE_DIR]
"""

import argparse
import warnings

import numpy as np

CASES = (
    ("ag_news-business-1:4-random", 1),
    ("ag_news-business-1:4-balanced", 1),
    ("ag_news-business-1:9-random", 1),
)


def main():
    import torch

    from zeromatch_sk import Defences, ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels

    parser = argparse.ArgumentParser()
    parser.add_argument("cache_dir", nargs="?")
    parser.add_argument("--guard", type=float)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    for name, seed in CASES:
        ds = load_dataset(name, cache_dir=args.cache_dir, verbose=0)
        pool, y_pool = ds.pool_idx, ds.y[ds.pool_idx]
        lab, y = semi_supervised_labels(ds, ds.budgets[0], seed)
        y_eval = ds.y[ds.eval_idx]
        for guard in [None] + ([args.guard] if args.guard else []):
            est = ZeroMatchClassifier(random_state=seed, defences=Defences(max_prior_drift=guard))
            est.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
            shares = est.predict_proba(ds.X[pool][y == -1]).mean(axis=0)
            tp = None if est.teacher_prior_ is None else est.teacher_prior_.round(3).tolist()
            print(f"{name} seed {seed} max_prior_drift={guard}: accuracy {np.mean(est.predict(ds.X[ds.eval_idx]) == y_eval):.3f}"
                  f" labels {np.bincount(y_pool[lab], minlength=ds.n_classes).tolist()}"
                  f" true {(np.bincount(y_eval, minlength=ds.n_classes) / len(y_eval)).round(3).tolist()}"
                  f" student shares {shares.round(3).tolist()} class_prior_ {est.class_prior_.round(3).tolist()}"
                  f" teacher_prior_ {tp} prior_drift_ {est.prior_drift_:.3f} lambda_u_ {est.lambda_u_}"
                  f" drift_fallback_ {est.drift_fallback_}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
