"""The studies were written when each defence was its own ZeroMatchClassifier parameter; this maps those
flat spellings onto today's single ``defences=Defences(...)`` parameter, so every study still runs as written."""

from zeromatch_sk import REFERENCE, Defences

#: Old flat parameter -> setting of Defences.
RENAMED = {
    "teacher_gate": "gate",
    "teacher_calibration": "calibration",
    "da_target": "alignment_target",
    "label_sampling": "label_sampling",
    "calibration_reg": "calibration_reg",
    "gate_z": "gate_z",
    "prior_correction": "prior_correction",
    "min_class_labels": "min_class_labels",
    "max_prior_drift": "max_prior_drift",
}
#: What the studies called REFERENCE_PARAMS.
REFERENCE_PARAMS = dict(REFERENCE)


def grouped(params):
    """``params`` with the flat defence parameters gathered into ``defences=Defences(...)``."""
    params = dict(params or {})
    knobs = {RENAMED[k]: params.pop(k) for k in list(params) if k in RENAMED}
    if params.get("defences") == "off" and knobs:
        base = Defences.off().get_params()
        params["defences"] = Defences(**{**base, **knobs})
    elif knobs:
        params["defences"] = Defences(**knobs)
    return params
