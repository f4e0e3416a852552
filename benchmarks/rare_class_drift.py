"""How the consistency loss drifts a rare class's share when its labels were drawn at random (issue 6).

AG News Business against the rest at 1:4, 20 labels drawn uniformly at random (2 and 5 Business labels
in the two draws here), scored on a validation slice of the pool. Three stage-2 settings, all with the
teacher kept and Gaussian strong views: the consistency loss on, off (``lambda_u=0``, what
``min_class_labels`` switches to), and on with the distribution-alignment target fixed at the true
prior. Printed per run: accuracy, the share of rows predicted Business against the truth, and the
final mask ratio.

    python benchmarks/rare_class_drift.py [CACHE_DIR]      # one run: rare_class_drift_results.txt
"""

import sys
import warnings

import numpy as np
from _grouped import grouped

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.augment import GaussianNoise
from zeromatch_sk.benchmark import load_dataset, validation_view
from zeromatch_sk.benchmark._methods import labeled_positions


def main(cache=None):
    warnings.simplefilter("ignore")
    ds = validation_view(load_dataset("ag_news-business-1:4-random", cache_dir=cache, verbose=0))
    pool, y_pool = ds.pool_idx, ds.y[ds.pool_idx]
    prior = np.bincount(y_pool) / len(y_pool)
    y_eval = ds.y[ds.eval_idx]
    base = dict(
        strong_augment=GaussianNoise(0.1), teacher_gate="never", min_class_labels=0
    )  # flat: grouped() below
    settings = [
        ("consistency loss on", {}),
        ("consistency loss off (lambda_u=0)", {"lambda_u": 0.0}),
        ("on, alignment target = true prior", {"da_target": prior}),
    ]
    for seed in (0, 1):
        lab = labeled_positions(ds, 20, seed)
        y = np.full(len(pool), -1)
        y[lab] = y_pool[lab]
        print(
            f"seed {seed}: labels per class {np.bincount(y_pool[lab]).tolist()}, true Business share {prior[1]:.3f}"
        )
        for name, extra in settings:
            clf = ZeroMatchClassifier(random_state=seed, **grouped({**base, **extra}))
            clf.fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
            pred = clf.predict(ds.X[ds.eval_idx])
            mask = [r["mask_ratio"] for r in clf.history_ if r["stage"] == 2][-1]
            print(
                f"  {name}: accuracy {np.mean(pred == y_eval):.3f}, predicted Business {np.mean(pred == 1):.3f} "
                f"(truth {np.mean(y_eval == 1):.3f}), final mask ratio {mask:.2f}"
            )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
