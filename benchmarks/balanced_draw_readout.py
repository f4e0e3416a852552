"""Read what the defaults decided on one label draw of the main benchmark (evaluation rows: a diagnosis only).

``benchmarks/results/balanced_10_draws`` found one draw of balanced AG News (40 labels, seed 5) where the defaults
score 15 points below ``REFERENCE_PARAMS``. This fits that draw with the defaults and with
``class_prior`` given as uniform (what a user who knows the classes are balanced would pass), and prints the
accuracy on the evaluation rows, the predicted class shares, ``class_prior_`` (and its normalised entropy, which
``strong_augment='auto'`` reads), ``teacher_prior_``, the
calibration's biases and penalty, the teacher's accuracy on the labels (raw and calibrated), the strong view and
``prior_drift_``. No default was chosen from these numbers.

    python benchmarks/balanced_draw_readout.py [CACHE_DIR] [--dataset ag_news --budget 40 --seed 5]

``balanced_draw_readout_results.txt`` is one run (about two minutes).
"""

import argparse
import warnings

import numpy as np


def main(cache, name="ag_news", budget=40, seed=5):
    import torch

    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk._robust import normalized_entropy
    from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    ds = load_dataset(name, cache_dir=cache, verbose=0)
    pool = ds.pool_idx
    _lab, y = semi_supervised_labels(ds, budget, seed)
    print(f"{name}, {budget} labels, seed {seed}; evaluation rows' class shares",
          (np.bincount(ds.y[ds.eval_idx], minlength=ds.n_classes) / len(ds.eval_idx)).round(3).tolist())  # fmt: skip
    for label, params in [("defaults", {}), ("class_prior uniform", {"class_prior": np.ones(ds.n_classes)})]:
        est = ZeroMatchClassifier(random_state=seed, **params)
        est.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
        pred = est.predict(ds.X[ds.eval_idx])
        print(f"\n{label}: accuracy {np.mean(pred == ds.y[ds.eval_idx]):.3f}")
        print(
            "  predicted shares  ", (np.bincount(pred, minlength=ds.n_classes) / len(pred)).round(3).tolist()
        )
        print("  class_prior_      ", est.class_prior_.round(3).tolist(),
              f" normalised entropy {normalized_entropy(est.class_prior_):.3f}")  # fmt: skip
        if est.teacher_prior_ is not None:
            print("  teacher_prior_    ", est.teacher_prior_.round(3).tolist())
        print(
            "  teacher_bias_     ",
            est.teacher_bias_.round(2).tolist(),
            " calibration_reg_",
            est.calibration_reg_,
        )
        print(f"  teacher accuracy on the labels: raw {est.teacher_accuracy_:.3f}, "
              f"calibrated (leave-one-out) {est.teacher_accuracy_calibrated_:.3f}")  # fmt: skip
        print("  strong_augment_   ", est.strong_augment_, " prior_drift_", round(est.prior_drift_, 3))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("cache_dir", nargs="?")
    parser.add_argument("--dataset", default="ag_news")
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    main(args.cache_dir, args.dataset, args.budget, args.seed)
