"""Do the robustness defences cost accuracy on the balanced main benchmark? Validation slices only.

Fits ``ZeroMatchClassifier`` with the defaults, with ``REFERENCE_PARAMS`` (every defence off) and with
``teacher_calibration='none'`` on validation draws (``validation_view``; first budget: TREC 60 labels, AG News 40)
and prints one JSON record per fit: accuracy on the validation rows, ``class_prior_``, predicted class shares,
the validation rows' true shares, the teacher's raw and calibrated (leave-one-out) accuracy on the labels, the
calibration penalty and ``prior_drift_``. ``eval`` instead of ``val`` reads the benchmark's evaluation rows (a
diagnosis of a benchmark run, never a choice).

    python studies/defaults_vs_reference_validation.py trec 0,1,2,3,4,5 default,reference,nocal val [CACHE_DIR]
    python studies/defaults_vs_reference_validation.py ag_news 0,1,2,3,4,5 default,reference val [CACHE_DIR]

``defaults_vs_reference_validation_results.txt`` holds both runs (about 15 minutes on 2 cores).
"""
import sys, json, warnings, numpy as np
from joblib import Parallel, delayed
V = {'default': {}, 'nocal': {'teacher_calibration': 'none'}, 'noprior': {'prior_correction': 'none', 'da_target': 'labeled'},
     'posthoc': {'prior_correction': 'posthoc'}, 'uniformprior': {'class_prior': [1/6]*6},
     'reference': {'label_sampling': 'random', 'teacher_calibration': 'none', 'da_target': 'labeled', 'prior_correction': 'none', 'teacher_gate': 'never', 'min_class_labels': 0, 'strong_augment': 'scarf'}}
def job(name, seed, v, val, CACHE):
    import torch; torch.set_num_threads(1); warnings.filterwarnings('ignore')
    from zeromatch_sk import ZeroMatchClassifier
    from zeromatch_sk.benchmark import load_dataset, validation_view
    from zeromatch_sk.benchmark._methods import labeled_positions
    ds = load_dataset(name, cache_dir=CACHE, verbose=0)
    if val: ds = validation_view(ds)
    pool, yp = ds.pool_idx, ds.y[ds.pool_idx]; lab = labeled_positions(ds, ds.budgets[0], seed)
    y = np.full(len(pool), -1); y[lab] = yp[lab]
    est = ZeroMatchClassifier(random_state=seed, **V[v]).fit(ds.X[pool], y, pseudo_labels=ds.teacher_proba[pool])
    pe = est.predict(ds.X[ds.eval_idx]); ye = ds.y[ds.eval_idx]
    return dict(name=name, seed=seed, v=v, val=val, acc=round(float((pe == ye).mean()), 3), prior=est.class_prior_.round(3).tolist(),
                share=(np.bincount(pe, minlength=ds.n_classes)/len(pe)).round(3).tolist(), true=(np.bincount(ye, minlength=ds.n_classes)/len(ye)).round(3).tolist(),
                tcal=est.teacher_accuracy_calibrated_, traw=est.teacher_accuracy_, reg=getattr(est, 'calibration_reg_', None), drift=round(est.prior_drift_, 3))
CACHE = sys.argv[5] if len(sys.argv) > 5 else None
name = sys.argv[1]; seeds = [int(s) for s in sys.argv[2].split(',')]; vs = sys.argv[3].split(','); val = sys.argv[4] == 'val'
for r in Parallel(n_jobs=2)(delayed(job)(name, s, v, val, CACHE) for s in seeds for v in vs):
    print(json.dumps(r), flush=True)
