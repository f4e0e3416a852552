"""Fingerprint of fits under many defence settings, run before (flat parameters, 45f841a) and after the move to
``defences=Defences(...)``: ``python benchmarks/defences_fingerprint.py OUT.json``; the two committed outputs are identical."""

import hashlib
import json
import sys
import warnings

import numpy as np
import torch

torch.set_num_threads(1)
from sklearn.datasets import make_blobs

import zeromatch_sk
from zeromatch_sk import ZeroMatchClassifier

NEW = hasattr(zeromatch_sk, "Defences")


def data(seed, skew=False, k=3):
    rng = np.random.RandomState(seed)
    n = 400
    w = [0.7, 0.2, 0.1] if skew else None
    X, yt = make_blobs(n_samples=n, centers=k, random_state=seed, cluster_std=3.0)
    if skew:
        keep = np.concatenate([np.flatnonzero(yt == c)[: int(n * wi)] for c, wi in enumerate(w)])
        X, yt = X[keep], yt[keep]
    y = np.full_like(yt, -1)
    if skew:
        lab = rng.choice(len(yt), 30, replace=False)
    else:
        lab = np.concatenate([rng.choice(np.flatnonzero(yt == c), 8, replace=False) for c in range(k)])
    y[lab] = yt[lab]
    T = np.full((len(yt), k), 0.1)
    T[np.arange(len(yt)), yt] = 0.8
    flip = rng.rand(len(yt)) < 0.3
    T[flip] = np.roll(T[flip], 1, axis=1)
    T = T / T.sum(1, keepdims=True)
    return X, y, T


# (name, old flat params, new params)
CASES = [
    ("default-bal", {}, {}),
    ("default-skew", {}, {}),
    ("reference", "REF", "REF"),
    ("prior-given", {"class_prior": [0.5, 0.3, 0.2]}, {"class_prior": [0.5, 0.3, 0.2]}),
    ("uniform", {"class_prior": "uniform"}, {"class_prior": "uniform"}),
    ("posthoc", {"prior_correction": "posthoc"}, {"prior_correction": "posthoc"}),
    (
        "bias+scale",
        {"teacher_calibration": "bias+scale", "calibration_reg": 2.0},
        {"calibration": "bias+scale", "calibration_reg": 2.0},
    ),
    ("gate-labels", {"teacher_gate": "labels", "gate_z": 1.0}, {"gate": "labels", "gate_z": 1.0}),
    ("drift", {"max_prior_drift": 0.01}, {"max_prior_drift": 0.01}),
    ("rare0", {"min_class_labels": 0}, {"min_class_labels": 0}),
    ("da-array", {"da_target": [0.2, 0.3, 0.5]}, {"alignment_target": [0.2, 0.3, 0.5]}),
    ("sampling-bal", {"label_sampling": "balanced"}, {"label_sampling": "balanced"}),
]
TOP = {"class_prior"}
out = {}
for name, old, new in CASES:
    for skew in (False, True):
        X, y, T = data(1, skew)
        base = dict(hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=3, random_state=0)
        if NEW:
            from zeromatch_sk import REFERENCE, Defences

            if new == "REF":
                params = dict(REFERENCE)
            else:
                d = {k: v for k, v in new.items() if k not in TOP}
                params = {k: v for k, v in new.items() if k in TOP}
                if d:
                    params["defences"] = Defences(**d)
        else:
            from zeromatch_sk import REFERENCE_PARAMS

            params = dict(REFERENCE_PARAMS) if old == "REF" else dict(old)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            clf = ZeroMatchClassifier(**base, **params).fit(X, y, pseudo_labels=T)
        P = clf.predict_proba(X)
        attrs = {
            a: np.asarray(getattr(clf, a)).round(10).tolist() if getattr(clf, a) is not None else None
            for a in [
                "class_prior_",
                "labeled_prior_",
                "teacher_prior_",
                "lambda_u_",
                "teacher_scale_",
                "calibration_reg_",
            ]
        }
        attrs.update(
            {
                a: str(getattr(clf, a))
                for a in ["label_sampling_", "teacher_calibration_", "teacher_gated_", "strong_augment_"]
            }
        )
        out[f"{name}-{'skew' if skew else 'bal'}"] = {
            "proba": hashlib.sha1(P.tobytes()).hexdigest(),
            "attrs": attrs,
            "n_warn": len(w),
        }
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh, indent=1, sort_keys=True)
print("done", len(out))
