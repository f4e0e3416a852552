"""The methods compared, declared as data, and one benchmark run.

A :class:`Method` says *what* estimator to build and *how* it is fit:

=================  ===========================================================
``fit_with``       what the estimator sees
=================  ===========================================================
``"teacher"``      nothing: the teacher's argmax is the prediction
``"labeled"``      the labeled rows only
``"semi"``         the whole pool, unlabeled rows marked ``-1``
``"semi+teacher"`` the whole pool with ``-1`` and the teacher's probabilities
                   (``fit(X, y, pseudo_labels=P)``)
``"pseudo"``       the whole pool, unlabeled rows labeled by the teacher's
                   argmax (naive pseudo-labelling)
``"texts"``        the raw texts of the labeled rows (SetFit); skipped on
                   datasets without texts
=================  ===========================================================

Every student-based method (supervised-only, naive pseudo-labelling, KD only,
AdaMatch, ZeroMatch and its ablations) is a :class:`ZeroMatchClassifier`
with a few parameters set: ``Method.params``. The run-level
``student_params`` (epoch budgets, device) are applied first, so all students
share the same network and budgets, and a method's own parameters win (KD
only keeps ``max_epochs=0``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._classifier import REFERENCE
from ..defences import Defences
from ._datasets import BenchmarkDataset, balanced_label_draw, random_label_draw
from ._setfit import setfit

__all__ = [
    "FIT_MODES", "Method", "default_methods", "quick_methods", "robustness_methods", "run_one", "semi_supervised_labels",
]  # fmt: skip


FIT_MODES = ("teacher", "labeled", "semi", "semi+teacher", "pseudo", "texts")


@dataclass(frozen=True)
class Method:
    """One competitor in the benchmark.

    Parameters
    ----------
    name : str
        Row name in the tables.
    fit_with : {'teacher', 'labeled', 'semi', 'semi+teacher', 'pseudo'}
        What the estimator is fit on (see the module docstring).
    params : dict or None
        For student-based methods: :class:`~zeromatch_sk.ZeroMatchClassifier`
        parameters (the ablation). Ignored when ``factory`` is given.
    factory : callable or None
        ``factory(context) -> estimator`` for other estimators; ``context``
        is a dict with ``seed``, ``n_classes``, ``n_labeled``,
        ``n_unlabeled`` and ``student_params``.
    description : str
        One line for the report.
    """

    name: str
    fit_with: str
    params: dict | None = None
    factory: Callable[[dict], Any] | None = None
    description: str = ""
    cost: float = field(default=1.0, compare=False)  # rough relative run time, to schedule long runs first

    def __post_init__(self):
        if self.fit_with not in FIT_MODES:
            raise ValueError(
                f"Method {self.name!r}: fit_with must be one of {FIT_MODES}, got {self.fit_with!r}."
            )
        if self.fit_with != "teacher" and self.params is None and self.factory is None:
            raise ValueError(
                f"Method {self.name!r} needs params (a ZeroMatchClassifier setting) or a factory."
            )

    @property
    def uses_teacher(self) -> bool:
        return self.fit_with in ("teacher", "semi+teacher", "pseudo")

    def build(self, context: dict):
        """A fresh, unfitted estimator for one run."""
        if self.factory is not None:
            return self.factory(context)
        from .._classifier import ZeroMatchClassifier

        params = {**context.get("student_params", {}), **(self.params or {})}
        params.setdefault("random_state", context["seed"])
        return ZeroMatchClassifier(classes=np.arange(context["n_classes"]), **params)

    def summary(self) -> dict:
        kind = (
            "teacher"
            if self.fit_with == "teacher"
            else ("ZeroMatchClassifier" if self.factory is None else "")
        )
        if self.factory is not None:
            kind = getattr(self.factory, "__name__", type(self.factory).__name__)
        return {
            "name": self.name,
            "fit_with": self.fit_with,
            "estimator": kind,
            # Grouped settings (Defences) are written as their repr, which is JSON-safe and reads as code.
            "params": {
                k: v if isinstance(v, (str, int, float, bool, list, type(None))) else repr(v)
                for k, v in (self.params or {}).items()
            },
            "description": self.description,
        }


# ------------------------------------------------------------- scikit-learn baselines
def logistic_regression(context):
    """``LogisticRegression`` (default C) on the labeled rows."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000)


def gradient_boosting(context):
    """``GradientBoostingClassifier`` (scikit-learn's defaults) on the labeled rows."""
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(random_state=context["seed"])


def label_spreading(context):
    """``LabelSpreading`` with a 10-nearest-neighbour graph (the RBF default disconnects unit-norm embeddings)."""
    from sklearn.semi_supervised import LabelSpreading

    return LabelSpreading(kernel="knn", n_neighbors=10, alpha=0.2, max_iter=100)


def self_training(context):
    """``SelfTrainingClassifier(LogisticRegression)`` adding the 10 % most confident rows per round.

    The default ``threshold=0.75`` never fires on embeddings with a few
    labels (logistic regression stays unconfident), so ``k_best`` it is.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import SelfTrainingClassifier

    k_best = max(1, math.ceil(context["n_unlabeled"] / 10))
    return SelfTrainingClassifier(
        LogisticRegression(max_iter=2000), criterion="k_best", k_best=k_best, max_iter=10
    )


# ----------------------------------------------------------------------- catalogue
def default_methods() -> list[Method]:
    """Every method of the full benchmark, in table order.

    The ZeroMatch family are :class:`~zeromatch_sk.ZeroMatchClassifier`
    parameter settings; ``ZeroMatch`` itself uses the library defaults.
    """
    return _baseline_methods() + _zeromatch_methods()


def _baseline_methods() -> list[Method]:
    """The alternatives: the teacher, supervised and semi-supervised baselines, and distillation alone."""
    return [
        Method(
            "teacher alone", "teacher", description="the zero-shot teacher's argmax; no training", cost=0.0
        ),
        Method(
            "logistic regression",
            "labeled",
            factory=logistic_regression,
            description="LogisticRegression on the labeled rows",
            cost=0.05,
        ),
        Method(
            "supervised student",
            "semi",
            params={"lambda_u": 0.0},
            description="the student on the labeled rows only (no teacher, no unlabeled loss)",
            cost=0.8,
        ),
        Method(
            "LabelSpreading",
            "semi",
            factory=label_spreading,
            description="sklearn LabelSpreading, 10-NN graph, alpha 0.2",
            cost=0.1,
        ),
        Method(
            "self-training",
            "semi",
            factory=self_training,
            description="sklearn SelfTrainingClassifier(LogisticRegression), k_best = 10 % of unlabeled rows per round",
            cost=0.2,
        ),
        Method(
            "naive pseudo-labels",
            "pseudo",
            params={"lambda_u": 0.0},
            description="the student on true labels plus the teacher's labels for every unlabeled row",
            cost=0.8,
        ),
        Method(
            "SetFit",
            "texts",
            factory=setfit,
            description=(
                "SetFit on the labeled texts: contrastive fine-tuning of the same all-MiniLM-L6-v2 body "
                "(20 pairs per text and side, 1 epoch), then a logistic-regression head; text datasets only"
            ),
            cost=4.0,
        ),
        Method(
            "KD only",
            "semi+teacher",
            params={"max_epochs": 0},
            description="stage 1 only: the student imitates the teacher (ZeroMatch with max_epochs=0)",
            cost=0.2,
        ),
    ]


def _zeromatch_methods() -> list[Method]:
    """AdaMatch (no teacher), ZeroMatch with the defaults and the published settings, and two ablations."""
    return [
        Method(
            "AdaMatch",
            "semi",
            params={},
            description="ZeroMatch without a teacher: AdaMatch, plus the defences that need no teacher",
            cost=1.0,
        ),
        Method(
            "ZeroMatch",
            "semi+teacher",
            params={},
            description="ZeroMatchClassifier with the library defaults",
            cost=1.2,
        ),
        Method(
            "ZeroMatch (reference)",
            "semi+teacher",
            params=dict(REFERENCE),
            description="the published method: every robustness defence off and the reference views (REFERENCE)",
            cost=1.2,
        ),
        Method(
            "ZeroMatch, no aux head",
            "semi+teacher",
            params={"aux_head": False},
            description="ablation: distil into the main head (aux_head=False)",
            cost=1.2,
        ),
        Method(
            "ZeroMatch, constant alpha",
            "semi+teacher",
            params={"kd_schedule": "constant"},
            description="ablation: constant distillation weight (kd_schedule='constant')",
            cost=1.2,
        ),
    ]


def robustness_methods() -> list[Method]:
    """The methods of the robustness cases: the main ones plus one row per defence switched off.

    The ablations of the auxiliary head and the alpha schedule are left out
    (they are about the method, not about imbalance or weak teachers).
    """
    main = [
        m
        for m in default_methods()
        if m.name not in ("ZeroMatch, no aux head", "ZeroMatch, constant alpha", "SetFit")
    ]
    defences = [
        ("ZeroMatch, no calibration", {"calibration": "none"},
         "defaults but Defences(calibration='none') (which also turns off the prior estimate from the teacher)"),
        ("ZeroMatch, no prior correction", {"prior_correction": "none", "alignment_target": "labeled"},
         "defaults but Defences(prior_correction='none', alignment_target='labeled')"),
        ("ZeroMatch, post-hoc correction", {"prior_correction": "posthoc"},
         "defaults but the prior correction applied to predict_proba instead of the loss"),
        ("ZeroMatch, no gate", {"gate": "never"}, "defaults but Defences(gate='never')"),
        ("ZeroMatch, teacher+labels prior", {"prior_estimate": "teacher+labels"},
         ("defaults but Defences(prior_estimate='teacher+labels'): the class prior is the mean of the teacher's "
          "EM estimate and a labeled-rows logistic regression's classify-and-count")),
        ("ZeroMatch, majority gate", {"gate": "majority"},
         "defaults but Defences(gate='majority'): the teacher is also dropped below the labels' majority rate"),
        ("ZeroMatch, SCARF always", None,
         "defaults but the strong view is SCARF whatever the class prior (no switch to Gaussian noise)"),
        ("ZeroMatch, no rare-class guard", {"min_class_labels": 0},
         "defaults but the consistency loss is kept when a rare class drawn at random has under 10 labels"),
        ("ZeroMatch, drift guard 0.15", {"max_prior_drift": 0.15},
         ("defaults plus the opt-in drift guard: stage 2 rerun without the consistency loss when the student's "
          "class shares end more than 0.15 (total variation) from class_prior_")),
    ]  # fmt: skip

    def params(knobs):
        return {"strong_augment": "scarf"} if knobs is None else {"defences": Defences(**knobs)}

    return main + [
        Method(name, "semi+teacher", params=params(p), description=d, cost=1.2) for name, p, d in defences
    ]


#: The methods of ``--tabular``, in table order (plus gradient boosting on the labels).
TABULAR_METHOD_NAMES = (
    "teacher alone", "logistic regression", "self-training", "LabelSpreading", "KD only", "ZeroMatch",
    "ZeroMatch (reference)",
)  # fmt: skip


def tabular_methods() -> list[Method]:
    """The alternatives of the tabular benchmark: the usual ones and gradient boosting on the labels."""
    boosting = Method(
        "gradient boosting",
        "labeled",
        factory=gradient_boosting,
        description="GradientBoostingClassifier on the labeled rows",
        cost=0.1,
    )
    from ..augment import GaussianNoise

    gaussian = Method(
        "ZeroMatch, Gaussian views 0.1/0.3",
        "semi+teacher",
        params={"weak_augment": GaussianNoise(scale=0.1), "strong_augment": GaussianNoise(scale=0.3)},
        description="defaults but Gaussian-noise views of 0.1 (weak) and 0.3 (strong) feature standard deviations",
        cost=1.0,
    )
    chosen = [m for m in default_methods() if m.name in TABULAR_METHOD_NAMES]
    return chosen[:2] + [boosting] + chosen[2:] + [gaussian]


#: The methods of ``--quick``.
QUICK_METHOD_NAMES = (
    "teacher alone", "logistic regression", "supervised student", "KD only", "AdaMatch", "ZeroMatch",
    "ZeroMatch (reference)",
)  # fmt: skip


def quick_methods() -> list[Method]:
    """The seven methods of the quick demo."""
    return [m for m in default_methods() if m.name in QUICK_METHOD_NAMES]


# ------------------------------------------------------------------------ one run
def labeled_positions(ds: BenchmarkDataset, budget: int, seed: int) -> np.ndarray:
    """Positions in ``ds.pool_idx`` of the rows labeled in run ``(budget, seed)``."""
    draw = random_label_draw if ds.label_sampling == "random" else balanced_label_draw
    return draw(ds.y[ds.pool_idx], budget, random_state=seed)


def semi_supervised_labels(ds: BenchmarkDataset, budget: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The pool's targets in run ``(budget, seed)``: ``(positions labeled, y)`` with ``-1`` on unlabeled rows."""
    lab = labeled_positions(ds, budget, seed)
    y = np.full(len(ds.pool_idx), -1, dtype=np.int64)
    y[lab] = ds.y[ds.pool_idx][lab]
    return lab, y


def run_one(
    ds: BenchmarkDataset,
    budget: int,
    seed: int,
    method: Method,
    *,
    student_params: dict | None = None,
    torch_threads: int | None = None,
) -> dict:
    """Fit one method on one label draw and score it on the evaluation rows.

    Returns a JSON-friendly record: ``dataset``, ``budget``, ``seed``,
    ``method``, ``accuracy``, ``macro_f1``, ``fit_seconds`` and sizes.
    """
    from sklearn.metrics import accuracy_score, f1_score

    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)
    pool = ds.pool_idx
    y_pool = ds.y[pool]
    lab, y_semi = semi_supervised_labels(ds, budget, seed)
    record = {
        "dataset": ds.name,
        "budget": int(budget),
        "seed": int(seed),
        "method": method.name,
        "n_labeled": len(lab),
        "n_unlabeled": int(len(pool) - len(lab)),
        "n_eval": len(ds.eval_idx),
    }
    skip = "no teacher" if method.uses_teacher and ds.teacher_proba is None else None
    if method.fit_with == "texts" and ds.texts is None:
        skip = "no texts"
    if skip:
        return {**record, "accuracy": float("nan"), "macro_f1": float("nan"), "fit_seconds": None,
                "skipped": skip}  # fmt: skip

    y_eval = ds.y[ds.eval_idx]
    extra = {}
    if method.fit_with == "teacher":
        pred = ds.teacher_proba[ds.eval_idx].argmax(axis=1)
        fit_seconds = None
    else:
        context = {
            "seed": int(seed),
            "n_classes": ds.n_classes,
            "n_labeled": len(lab),
            "n_unlabeled": int(len(pool) - len(lab)),
            "student_params": dict(student_params or {}),
        }
        est = method.build(context)
        X_pool = ds.X[pool]
        with warnings.catch_warnings():
            # "no unlabeled rows" (pseudo-labels), convergence chatter: expected here, not news.
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            if method.fit_with == "texts":
                est.fit(ds.texts[pool][lab], y_pool[lab])
            elif method.fit_with == "labeled":
                est.fit(X_pool[lab], y_pool[lab])
            elif method.fit_with == "semi":
                est.fit(X_pool, y_semi)
            elif method.fit_with == "semi+teacher":
                est.fit(X_pool, y_semi, pseudo_labels=ds.teacher_proba[pool])
            else:  # "pseudo": true labels where known, the teacher's argmax elsewhere
                y_fill = ds.teacher_proba[pool].argmax(axis=1).astype(np.int64)
                y_fill[lab] = y_pool[lab]
                est.fit(X_pool, y_fill)
            fit_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = est.predict(ds.texts[ds.eval_idx] if method.fit_with == "texts" else ds.X[ds.eval_idx])
            if method.fit_with == "texts":  # SetFit re-embeds every text it predicts with its fine-tuned body
                extra["predict_seconds"] = time.perf_counter() - t0
        history = getattr(est, "history_", None)
        if history is not None and len(history):
            stage2 = [row for row in history if row.get("stage") == 2]
            if stage2:
                extra["final_mask_ratio"] = _finite(stage2[-1].get("mask_ratio"))
            extra["epochs_run"] = len(history)
    pred = np.asarray(pred).astype(np.int64)
    return {
        **record,
        "accuracy": float(accuracy_score(y_eval, pred)),
        "macro_f1": float(
            f1_score(y_eval, pred, average="macro", labels=np.arange(ds.n_classes), zero_division=0)
        ),
        "fit_seconds": fit_seconds,
        **extra,
    }


def _finite(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
