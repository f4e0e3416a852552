"""Could the unlabeled rows tell a teacher worse than the majority class from a useful one? Validation slices, no
training.

With randomly drawn labels the gate (``teacher_gate='chance'``) compares the teacher's leave-one-out calibrated
accuracy on the labeled rows with the labels' majority rate. On AG Business 1:9 with 20 random labels that
comparison keeps a teacher right 84 % of the time against a 90 % majority class on about half of the draws (the
one case of the robustness benchmark that still fails, ``docs/robustness.rst``). The unlabeled rows are thousands,
so a reading made from them would not be noisy. This study asks whether any such reading orders the teacher and
the majority class correctly on each draw. Readings of the teacher's accuracy:

- ``LOO``: what the gate uses (leave-one-out accuracy on the labels, calibration refitted without the held-out row);
- ``conf (bias)``: the mean of the largest calibrated probability over the unlabeled rows, the accuracy a calibrated
  teacher expects of itself, with the default bias-only calibration;
- ``conf (bias+scale)``: the same with a fitted temperature too (``teacher_calibration='bias+scale'``).

Readings of the majority rate: ``labels`` (the gate's) and ``teacher shares`` (the largest class share the
calibrated teacher predicts on the unlabeled rows, ``teacher_prior_``). The truth is the calibrated teacher's
accuracy and the majority rate on the unlabeled rows. Per random-label robustness case, 20 draws: how many draws
each pairing orders correctly (``teacher >= majority`` as in truth). The first line of each case also gives the
raw and the calibrated teacher's accuracy on the unlabeled rows.

    python benchmarks/teacher_accuracy_readings.py [CACHE_DIR]      # about a minute

``teacher_accuracy_readings_results.txt`` is one run.
"""

import sys
import warnings

import numpy as np

from zeromatch_sk import _robust as R
from zeromatch_sk.benchmark import load_dataset, semi_supervised_labels, validation_view

CASES = [
    "ag_news-business-1:9-random",
    "ag_news-business-1:4-random",
    "ag_news-sports-1:9-biased-random",
    "trec-longtail-random",
]
N_DRAWS = 20


def readings(ds, seed):
    k = ds.n_classes
    y, P, X = ds.y[ds.pool_idx], ds.teacher_proba[ds.pool_idx].astype(np.float64), ds.X[ds.pool_idx]
    _, y_semi = semi_supervised_labels(ds, ds.budgets[0], seed)
    lab = y_semi >= 0
    un, yl = ~lab, y_semi[lab]
    reg = R.select_calibration_reg(P[lab], yl)
    biased = R.apply_teacher_bias(P[un], R.fit_teacher_bias(P[lab], yl, reg=reg))
    reg_s = R.select_calibration_reg(P[lab], yl, fit_scale=True)
    scaled = R.apply_teacher_bias(P[un], *R.fit_teacher_calibration(P[lab], yl, reg=reg_s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = R.teacher_vs_labels(P[lab], yl, X[lab], reg=reg)
    teacher = {"LOO": stats.teacher_calibrated, "conf (bias)": biased.max(axis=1).mean(),
               "conf (bias+scale)": scaled.max(axis=1).mean()}  # fmt: skip
    majority = {"labels": stats.reference, "teacher shares": biased.mean(axis=0).max()}
    truth = (
        (biased.argmax(axis=1) == y[un]).mean(),
        np.bincount(y[un], minlength=k).max() / un.sum(),
        (P[un].argmax(axis=1) == y[un]).mean(),
    )
    return teacher, majority, truth


def main(cache):
    print(
        f"draws (of {N_DRAWS}) where a reading orders the calibrated teacher and the majority class as the truth does"
    )
    for name in CASES:
        ds = validation_view(load_dataset(name, cache_dir=cache, verbose=0))
        rows = [readings(ds, seed) for seed in range(N_DRAWS)]
        acc = np.mean([t[0] for _, _, t in rows])
        maj = np.mean([t[1] for _, _, t in rows])
        raw = np.mean([t[2] for _, _, t in rows])
        print(
            f"{name}: teacher {raw:.3f} raw, {acc:.3f} calibrated; majority class {maj:.3f} (means over draws)"
        )
        for tname in rows[0][0]:
            cells = []
            for mname in rows[0][1]:
                right = sum((t[tname] >= m[mname]) == (truth[0] >= truth[1]) for t, m, truth in rows)
                cells.append(f"vs {mname} {right:2d}")
            mean_t = np.mean([t[tname] for t, _, _ in rows])
            print(f"    {tname:18s} (mean {mean_t:.3f})  " + "   ".join(cells))
        mean_m = "   ".join(f"{m}: {np.mean([r[1][m] for r in rows]):.3f}" for m in rows[0][1])
        print(f"    majority readings (mean)  {mean_m}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
