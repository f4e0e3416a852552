"""How to choose the teacher calibration's penalty: fixed 0.5 against leave-one-out selection (issue 6).

No training: for each label draw on a validation slice of the pool (``validation_view``; the
evaluation rows are not used), calibrate the teacher on the labeled rows, estimate the unlabeled
rows' class prior by EM, move the teacher to it, and score the prior estimate (L1 error against the
validation slice's class balance) and the moved teacher's accuracy on the validation slice.
Variants: ``b0.5`` (bias, penalty 0.5: the old default), ``bLOO`` (bias, penalty chosen by
``select_calibration_reg``: ``calibration_reg='auto'``), ``bs0.5`` / ``bsLOO`` (bias and scale),
``raw`` (no calibration).

    python benchmarks/calibration_reg_validation.py DATASET[,DATASET...] val N_DRAWS [CACHE_DIR]

``calibration_reg_validation_results.txt`` is the output for the four balanced-label robustness
cases, 12 draws.
"""

import sys

import numpy as np

from zeromatch_sk import _robust
from zeromatch_sk.benchmark import load_dataset, validation_view
from zeromatch_sk.benchmark._methods import labeled_positions

GRID = _robust.CALIBRATION_REG_GRID


def fit(P, y, reg, scale):
    if scale:
        return _robust.fit_teacher_calibration(P, y, reg=reg)
    return _robust.fit_teacher_bias(P, y, reg=reg), 1.0


def loo_reg(P, y, scale):
    return _robust.select_calibration_reg(P, y, fit_scale=scale)


view = sys.argv[2]
nseeds = int(sys.argv[3])
for name in sys.argv[1].split(","):
    ds = load_dataset(name, cache_dir=sys.argv[4] if len(sys.argv) > 4 else None, verbose=0)
    if view == "val":
        ds = validation_view(ds)
    pool = ds.pool_idx
    yp = ds.y[pool]
    k = ds.n_classes
    true_prior = np.bincount(ds.y[ds.eval_idx]) / len(ds.eval_idx)
    ye = ds.y[ds.eval_idx]
    res = {}
    for seed in range(nseeds):
        lab = labeled_positions(ds, ds.budgets[0], seed)
        unl = np.setdiff1d(np.arange(len(pool)), lab)
        P = ds.teacher_proba[pool]
        y = yp[lab]
        lp = (np.bincount(y, minlength=k) + 1) / (len(y) + k)
        for var in ["b0.5", "bLOO", "bs0.5", "bsLOO", "raw"]:
            if var == "raw":
                b, s = np.zeros(k), 1.0
                reg = 0
            else:
                scale = var.startswith("bs")
                reg = loo_reg(P[lab], y, scale) if var.endswith("LOO") else 0.5
                b, s = fit(P[lab], y, reg, scale)
            T = _robust.apply_teacher_bias(P, b, s)
            prior = _robust.estimate_prior_em(T[unl], train_prior=lp)
            prior = np.maximum(prior, 1e-3)
            prior /= prior.sum()
            Te = _robust.logit_adjust(
                _robust.apply_teacher_bias(ds.teacher_proba[ds.eval_idx], b, s), lp, prior
            )
            res.setdefault(var, []).append(
                (np.abs(prior - true_prior).sum(), (Te.argmax(1) == ye).mean(), reg)
            )
    for var, r in res.items():
        r = np.array(r)
        print(
            f"{name:38s} {view} {var:6s} priorL1={r[:, 0].mean():.3f} adjacc={r[:, 1].mean():.3f} min={r[:, 1].min():.3f} regs={np.round(np.median(r[:, 2]), 2)}"
        )
