"""Plots of a ZeroMatch run: training curves, teacher-versus-student confusion, label budgets.

Three helpers turn what a fitted :class:`~zeromatch_sk.ZeroMatchClassifier`
and the benchmark record into figures:

- :func:`plot_history`: one panel per quantity of ``history_`` (each loss
  term, mask ratio, threshold, distillation weight ``alpha``, agreement with
  the teacher, learning rate) against the epoch, with the stage-1/stage-2
  boundary marked;
- :func:`plot_teacher_student_confusion`: confusion matrices of the teacher
  and of the student against the truth, side by side, or of the student
  against the teacher when no truth is at hand;
- :func:`plot_budget_curve`: accuracy against the number of labels, one line
  per method, from the benchmark's ``results.json``.

matplotlib is imported when a function is called, not when this module is
imported; install it with ``pip install matplotlib`` or
``pip install "zeromatch-sk[plot]"``. Every function draws with
:mod:`matplotlib.pyplot` (so notebooks and sphinx-gallery show the figure)
and returns the :class:`~matplotlib.figure.Figure` it drew on.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._labels import unlabeled_mask as _unlabeled_mask

__all__ = ["plot_budget_curve", "plot_history", "plot_teacher_student_confusion"]

# --------------------------------------------------------------------------- shared helpers


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "zeromatch_sk.plotting needs matplotlib. Install it with `pip install matplotlib` "
            'or `pip install "zeromatch-sk[plot]"`.'
        ) from exc
    return plt


def _axes_list(ax, n_panels: int, *, what: str) -> list | None:
    """``ax`` as a list of ``n_panels`` Axes, or None to make a new figure."""
    if ax is None:
        return None
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        axes = [ax]
    else:
        try:
            axes = list(np.asarray(ax, dtype=object).ravel())
        except TypeError:
            axes = []
        if not axes or not all(isinstance(a, Axes) for a in axes):
            raise TypeError(
                f"ax must be a matplotlib Axes, an array of Axes or None; got {type(ax).__name__}."
            )
    if len(axes) < n_panels:
        raise ValueError(
            f"{what} draws {n_panels} panel(s) but ax holds {len(axes)} Axes. Pass ax=None to make a "
            f"new figure, or an array of at least {n_panels} Axes (e.g. from plt.subplots)."
        )
    return axes[:n_panels]


def _new_grid(n_panels: int, *, ncols_max: int, panel_size=(4.0, 3.0)):
    plt = _pyplot()
    ncols = min(ncols_max, n_panels)
    nrows = math.ceil(n_panels / ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        layout="constrained",
        squeeze=False,
    )
    cells = list(grid.ravel())
    for extra in cells[n_panels:]:
        extra.remove()
    return fig, cells[:n_panels]


def _final_estimator(estimator):
    """The last step of a Pipeline (and the best estimator of a fitted search)."""
    est = getattr(estimator, "best_estimator_", estimator)
    steps = getattr(est, "steps", None)
    if isinstance(steps, list) and steps:
        return est, steps[-1][1]
    return est, est


def _as_float(value) -> float:
    if value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


# --------------------------------------------------------------------------- plot_history

#: Panels of :func:`plot_history`: title and the history keys drawn in it.
HISTORY_PANELS: dict[str, tuple[str, tuple[str, ...]]] = {
    "losses": ("Loss terms", ("train_loss", "loss_sup", "loss_unsup", "loss_kd")),
    "mask_ratio": ("Mask ratio (unlabeled rows used)", ("mask_ratio",)),
    "threshold": ("Confidence threshold", ("threshold",)),
    "alpha": ("Distillation weight alpha", ("alpha",)),
    "kd_agreement": ("Agreement with teacher (hold-out)", ("kd_agreement",)),
    "prior_drift": ("Class-share drift from class_prior_", ("prior_drift",)),
    "lr": ("Learning rate", ("lr",)),
}

_KEY_LABELS = {
    "train_loss": "train_loss (total)",
    "loss_sup": "loss_sup (labels)",
    "loss_unsup": "loss_unsup (consistency)",
    "loss_kd": "loss_kd (teacher)",
}

_EMPTY_HINTS = {
    "losses": "no loss recorded",
    "mask_ratio": "not recorded:\nno stage 2, or lambda_u=0",
    "threshold": "not recorded:\nno stage 2, or lambda_u=0",
    "alpha": "not recorded:\nno stage-2 distillation\n(no teacher, or lambda_kd=0)",
    "kd_agreement": "not recorded:\nno teacher",
    "prior_drift": "not recorded:\nno stage 2",
    "lr": "not recorded",
}

# Quantities that live in [0, 1]: a fixed y range makes runs comparable.
_UNIT_RANGE = {"mask_ratio", "alpha", "kd_agreement"}


def _history_rows(obj) -> list[Mapping]:
    """Epoch rows (dicts) from a classifier, pipeline, search, skorch net or history."""
    source = obj
    if hasattr(obj, "best_estimator_") or isinstance(getattr(obj, "steps", None), list):
        _, source = _final_estimator(obj)
    if hasattr(source, "history_"):
        rows = source.history_
    elif hasattr(source, "history") and not isinstance(source, (Mapping, list, tuple)):
        rows = source.history  # a skorch net
    elif hasattr(source, "get_params") and hasattr(source, "fit"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"This {type(source).__name__} has no history_: it is not fitted yet. Call fit before "
            "plot_history, or pass the history itself."
        )
    elif hasattr(source, "to_dict") and hasattr(source, "columns"):  # pandas DataFrame
        rows = source.to_dict("records")
    else:
        rows = source
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
        raise TypeError(
            "plot_history takes a fitted ZeroMatchClassifier (or a pipeline / search ending in one), a "
            "skorch net or History, or a list of per-epoch dicts; got "
            f"{type(obj).__name__}."
        )
    rows = list(rows)
    if not rows:
        raise ValueError("The history is empty: there are no epochs to plot.")
    bad = [i for i, row in enumerate(rows) if not isinstance(row, Mapping)]
    if bad:
        raise TypeError(
            f"Every history row must be a dict of per-epoch values; row {bad[0]} is a "
            f"{type(rows[bad[0]]).__name__}."
        )
    return rows


def plot_history(clf_or_history, ax=None, *, panels=None):
    """Plot the per-epoch training curves recorded in ``history_``.

    One panel per quantity, against the epoch (both stages numbered in one
    sequence): the loss terms (total, supervised, consistency,
    distillation), the mask ratio (fraction of unlabeled rows whose
    pseudo-label passed the threshold), the relative confidence threshold,
    the distillation weight ``alpha``, the agreement of the student with the
    teacher on the stage-1 hold-out, the drift of the student's class shares
    from ``class_prior_`` (total variation; a consistency loss feeding on its
    own pseudo-labels shows as a climb), and the learning rate. Stage 1 is
    shaded and a dotted line marks where stage 2 begins. Quantities a run
    does not record (no teacher, no stage 2, ``lambda_u=0``) leave their
    panel empty, with a note saying why.

    Parameters
    ----------
    clf_or_history : ZeroMatchClassifier, Pipeline, search, skorch net or list of dict
        A fitted :class:`~zeromatch_sk.ZeroMatchClassifier` (or a
        :class:`~sklearn.pipeline.Pipeline` ending in one, or a fitted
        :class:`~sklearn.model_selection.GridSearchCV` whose best estimator
        is one), its ``net_``, its ``history_``, or any list of per-epoch
        dicts with some of the keys ``stage``, ``train_loss``, ``loss_sup``,
        ``loss_unsup``, ``loss_kd``, ``mask_ratio``, ``threshold``,
        ``alpha``, ``kd_agreement``, ``prior_drift`` and ``lr`` (missing keys and ``None``
        count as not recorded).
    ax : matplotlib Axes, array of Axes or None, default=None
        Where to draw. ``None`` makes a new figure with a grid of panels (up
        to four per row). An array must hold at least one Axes per panel. A
        single Axes takes one panel: the loss panel unless ``panels`` names
        another.
    panels : list of str or None, default=None
        Which panels to draw, in order, from ``'losses'``, ``'mask_ratio'``,
        ``'threshold'``, ``'alpha'``, ``'kd_agreement'``, ``'prior_drift'``
        and ``'lr'``. ``None`` draws all seven (or only ``'losses'`` when ``ax`` is a single
        Axes).

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure drawn on. Each panel's title names its quantity; the
        panels are ``fig.axes`` when ``ax`` was None.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the classifier is not fitted.
    ValueError
        If the history is empty, a panel name is unknown, or ``ax`` holds
        fewer Axes than panels.

    See Also
    --------
    plot_teacher_student_confusion : Where teacher and student disagree.

    Notes
    -----
    The values are epoch means of per-batch values; the per-batch values
    are in ``history_[i, 'batches']``. Read more in :doc:`/diagnostics`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.plotting import plot_history
    >>> X, y_true = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> y = np.full_like(y_true, -1)
    >>> y[:12] = y_true[:12]
    >>> clf = ZeroMatchClassifier(hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=3,
    ...                           steps_per_epoch=5, random_state=0)
    >>> clf = clf.fit(X, y, pseudo_labels=y_true)
    >>> fig = plot_history(clf)
    >>> [ax.get_title() for ax in fig.axes][:3]
    ['Loss terms', 'Mask ratio (unlabeled rows used)', 'Confidence threshold']

    A hand-made history works too, and one panel fits in one Axes:

    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> rows = [{"stage": 2, "mask_ratio": m} for m in (0.2, 0.5, 0.8)]
    >>> fig = plot_history(rows, ax=ax, panels=["mask_ratio"])
    >>> plt.close("all")
    """
    rows = _history_rows(clf_or_history)
    _pyplot()
    from matplotlib.axes import Axes
    from matplotlib.ticker import MaxNLocator

    if panels is None:
        panels = ["losses"] if isinstance(ax, Axes) else list(HISTORY_PANELS)
    elif isinstance(panels, str):
        panels = [panels]
    panels = list(panels)
    unknown = [p for p in panels if p not in HISTORY_PANELS]
    if unknown or not panels:
        raise ValueError(
            f"Unknown panel(s) {unknown}; choose from {list(HISTORY_PANELS)}."
            if unknown
            else f"panels is empty; choose from {list(HISTORY_PANELS)}."
        )

    axes = _axes_list(ax, len(panels), what="plot_history")
    if axes is None:
        fig, axes = _new_grid(len(panels), ncols_max=4)
        ncols = min(4, len(panels))
        # "epoch" under the lowest panel of each column only.
        xlabeled = [i + ncols >= len(panels) for i in range(len(panels))]
    else:
        fig = axes[0].figure
        xlabeled = [True] * len(panels)

    epochs = np.arange(1, len(rows) + 1)
    stages = [row.get("stage") for row in rows]
    first_stage2 = next((i for i, s in enumerate(stages) if s == 2), None)
    boundary = epochs[first_stage2] - 0.5 if first_stage2 not in (None, 0) and 1 in stages else None
    marker = "o" if len(rows) <= 40 else None

    for panel_ax, name, with_xlabel in zip(axes, panels, xlabeled):
        title, keys = HISTORY_PANELS[name]
        drawn = 0
        for key in keys:
            values = np.array([_as_float(row.get(key)) for row in rows])
            if np.all(np.isnan(values)):
                continue
            panel_ax.plot(epochs, values, marker=marker, markersize=3, label=_KEY_LABELS.get(key, key))
            drawn += 1
        if boundary is not None:
            panel_ax.axvspan(0.5, boundary, color="0.5", alpha=0.12, linewidth=0, label="_stage 1")
            panel_ax.axvline(boundary, color="0.3", linestyle=":", linewidth=1.2, label="_stage boundary")
        if drawn == 0:
            panel_ax.text(
                0.5,
                0.5,
                _EMPTY_HINTS[name],
                ha="center",
                va="center",
                transform=panel_ax.transAxes,
                color="0.4",
                fontsize="small",
            )
        if name in _UNIT_RANGE:
            panel_ax.set_ylim(-0.03, 1.03)
        if name == "losses" and drawn:
            panel_ax.legend(fontsize="x-small", loc="best")
        panel_ax.set_title(title, fontsize="medium")
        if with_xlabel:
            panel_ax.set_xlabel("epoch")
        panel_ax.set_xlim(0.5, len(rows) + 0.5)
        panel_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel_ax.grid(True, alpha=0.3)
    if boundary is not None:
        first = axes[0]
        trans = first.get_xaxis_transform()
        first.text(
            boundary - 0.1, 0.98, "stage 1 ", ha="right", va="top", transform=trans, fontsize="x-small"
        )
        first.text(boundary + 0.1, 0.98, " stage 2", ha="left", va="top", transform=trans, fontsize="x-small")
    return fig


# --------------------------------------------------------------------------- confusion matrices


def _teacher_labels(P, classes: np.ndarray, n_rows: int, *, source: str) -> np.ndarray:
    P = np.asarray(P)
    if P.ndim == 2:
        if P.shape != (n_rows, len(classes)):
            raise ValueError(
                f"{source} has shape {P.shape}; expected ({n_rows}, {len(classes)}): one row per sample "
                "and one column per class of classes_."
            )
        return classes[P.argmax(axis=1)]
    if P.ndim == 1:
        if len(P) != n_rows:
            raise ValueError(f"{source} has {len(P)} entries but there are {n_rows} rows.")
        return P.astype(object) if P.dtype.kind in "US" else P
    raise ValueError(f"{source} must be a 1-D array of labels or a 2-D probability matrix; got {P.ndim}-D.")


def plot_teacher_student_confusion(
    clf,
    X=None,
    y_true=None,
    *,
    teacher_proba=None,
    normalize="true",
    ax=None,
    cmap="Blues",
    include_values=None,
):
    """Confusion matrices of the teacher and of the student, side by side.

    With ground truth (``y_true``), two panels show where the zero-shot
    teacher and the trained student err: teacher versus truth and student
    versus truth, each titled with its accuracy. Without ground truth, one
    panel shows the student against the teacher (rows: the teacher's class,
    columns: the student's), titled with their agreement: where the student
    learned to overrule its teacher.

    Parameters
    ----------
    clf : ZeroMatchClassifier, or a Pipeline or fitted search ending in one
        A fitted classifier. In a pipeline, ``X`` holds the pipeline's raw
        inputs (texts, images) and the teacher sees them transformed by the
        steps before the classifier.
    X : array-like or None, default=None
        Rows to compare on. ``None`` uses the training rows: the student's
        ``transduction_`` and the teacher's ``teacher_proba_raw_``, so nothing
        is predicted again and the teacher is not called.
    y_true : array-like of shape (n_rows,) or None, default=None
        True labels of those rows. Rows marked ``-1`` are left out, so the
        training ``y`` can be passed as is (to compare on its labeled rows).
        ``None`` compares the student with the teacher instead.
    teacher_proba : array-like or None, default=None
        The teacher's output on ``X``: an ``(n_rows, n_classes)``
        probability matrix (columns in the order of ``classes_``) or the
        teacher's labels. ``None`` uses ``teacher_proba_raw_`` when ``X`` is
        None, and otherwise calls the classifier's ``provider`` on ``X``
        (which, for an LLM teacher, costs requests unless they are cached).
    normalize : {'true', 'pred', 'all'} or None, default='true'
        As in :func:`sklearn.metrics.confusion_matrix`: ``'true'`` makes each
        row sum to 1, so the two panels share one colour scale; ``None``
        shows counts.
    ax : matplotlib Axes, array of Axes or None, default=None
        Where to draw: ``None`` makes a new figure; otherwise one Axes per
        panel (two with ``y_true``, one without).
    cmap : str or Colormap, default='Blues'
        Colour map of the matrices.
    include_values : bool or None, default=None
        Write the value in each cell. ``None`` does so up to 12 classes.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    ValueError
        If the classifier has no teacher to compare with (and
        ``teacher_proba`` is not given), shapes do not match, ``y_true``
        holds classes the classifier does not know, or no labeled row is
        left.

    See Also
    --------
    plot_history : Training curves, including the agreement with the teacher.
    sklearn.metrics.ConfusionMatrixDisplay : The display drawn in each panel.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from zeromatch_sk import ZeroMatchClassifier
    >>> from zeromatch_sk.plotting import plot_teacher_student_confusion
    >>> X, y_true = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> teacher = np.where(np.arange(200) % 4 == 0, (y_true + 1) % 3, y_true)  # 75 % right
    >>> y = np.full_like(y_true, -1)
    >>> y[:12] = y_true[:12]
    >>> clf = ZeroMatchClassifier(hidden_layer_sizes=(16,), kd_epochs=2, max_epochs=3,
    ...                           steps_per_epoch=5, random_state=0)
    >>> clf = clf.fit(X, y, pseudo_labels=teacher)
    >>> fig = plot_teacher_student_confusion(clf, y_true=y_true)
    >>> [ax.get_title().split(":")[0] for ax in fig.axes]
    ['teacher vs truth', 'student vs truth']

    Without the truth, the student against its teacher:

    >>> fig = plot_teacher_student_confusion(clf)
    >>> fig.axes[0].get_xlabel()
    'student'
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """
    _pyplot()
    from sklearn.utils.validation import check_is_fitted

    outer, est = _final_estimator(clf)
    check_is_fitted(est, "classes_")
    classes = np.asarray(est.classes_)
    if X is None:
        student, P = _training_rows_student_teacher(est, teacher_proba)
    else:
        student, P = _new_rows_student_teacher(outer, est, X, teacher_proba, classes)
    n_rows = len(student)
    teacher = _teacher_labels(P, classes, n_rows, source="teacher_proba")

    if normalize not in ("true", "pred", "all", None):
        raise ValueError(f"normalize must be 'true', 'pred', 'all' or None; got {normalize!r}.")
    if include_values is None:
        include_values = len(classes) <= 12
    if y_true is None:
        panels = [("student vs teacher", teacher, student, "agreement")]
        ylabel, xlabel = "teacher", "student"
    else:
        keep, y_kept = _labeled_truth(y_true, n_rows, classes)
        panels = [
            ("teacher vs truth", y_kept, teacher[keep], "accuracy"),
            ("student vs truth", y_kept, student[keep], "accuracy"),
        ]
        ylabel, xlabel = "true class", None

    axes = _axes_list(ax, len(panels), what="plot_teacher_student_confusion")
    if axes is None:
        side = 1.2 + 0.45 * len(classes)
        fig, axes = _new_grid(len(panels), ncols_max=2, panel_size=(max(3.6, side), max(3.2, side - 0.3)))
    else:
        fig = axes[0].figure
    style = {"normalize": normalize, "cmap": cmap, "include_values": include_values}
    _draw_confusion_panels(axes, panels, classes, style, ylabel, xlabel)
    return fig


def _training_rows_student_teacher(est, teacher_proba):
    """The student's ``transduction_`` and the teacher as given (``teacher_proba_raw_``, not the calibrated
    copy used in training) on the training rows."""
    if not hasattr(est, "transduction_"):
        raise TypeError(f"{type(est).__name__} has no transduction_; pass X (and teacher_proba) explicitly.")
    P = teacher_proba
    if P is None:
        P = getattr(est, "teacher_proba_raw_", None)
    if P is None:
        P = getattr(est, "teacher_proba_", None)
    if P is None:
        raise ValueError(
            "This classifier was fitted without a teacher (no provider, no pseudo_labels), so there is "
            "no teacher to compare with. Pass teacher_proba=... with the teacher's output on the "
            "training rows."
        )
    return np.asarray(est.transduction_), P


def _new_rows_student_teacher(outer, est, X, teacher_proba, classes):
    """The student's predictions on ``X`` and the teacher's output (given, or asked of the provider)."""
    student = np.asarray(outer.predict(X))
    if teacher_proba is not None:
        return student, teacher_proba
    provider = getattr(est, "provider", None)
    if provider is None:
        raise ValueError(
            "This classifier has no provider to label X with; pass teacher_proba=... (the teacher's "
            "probabilities or labels for the rows of X)."
        )
    from .providers._base import teacher_predict_proba

    Xt = X
    if outer is not est:  # a pipeline: the teacher sees what the classifier sees
        Xt = outer[:-1].transform(X)
    return student, teacher_predict_proba(provider, Xt, classes)


def _labeled_truth(y_true, n_rows, classes):
    """The mask of ``y_true``'s labeled rows and their labels, checked against ``classes``."""
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) != n_rows:
        raise ValueError(
            f"y_true must hold one label per row: expected shape ({n_rows},), got {y_true.shape}."
        )
    if y_true.dtype.kind in "US":
        y_true = y_true.astype(object)
    keep = ~_unlabeled_mask(y_true)
    if not keep.any():
        raise ValueError("Every entry of y_true is -1 (unlabeled): there is no truth to compare with.")
    known = set(classes.tolist())
    outside = sorted({str(v) for v in y_true[keep] if v not in known})
    if outside:
        raise ValueError(
            f"y_true holds classes {outside[:5]} that the classifier does not know (classes_ = "
            f"{classes.tolist()}). Declare them with ZeroMatchClassifier(classes=...) when fitting."
        )
    return keep, y_true[keep]


def _draw_confusion_panels(axes, panels, classes, style, ylabel, xlabel):
    """One confusion matrix per ``(title, rows, columns, score name)`` panel, on a shared colour scale."""
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    normalize = style["normalize"]
    display_labels = [str(c) for c in classes]
    index = {c: i for i, c in enumerate(classes.tolist())}
    unknown = sorted({str(v) for _, rows, cols, _ in panels for v in (*rows, *cols) if v not in index})
    if unknown:
        raise ValueError(
            f"The teacher's labels include {unknown[:5]}, which are not in classes_ {classes.tolist()}; "
            "give teacher_proba as probabilities (columns in the order of classes_) or as labels from classes_."
        )
    for panel_ax, (title, rows_of, cols_of, score_name) in zip(axes, panels):
        # Class indices, not labels: object arrays of mixed labels confuse type_of_target.
        rows_of = np.array([index[v] for v in rows_of], dtype=np.intp)
        cols_of = np.array([index[v] for v in cols_of], dtype=np.intp)
        cm = confusion_matrix(rows_of, cols_of, labels=np.arange(len(classes)), normalize=normalize)
        vmax = 1.0 if normalize else max(float(cm.max()), 1.0)
        ConfusionMatrixDisplay(cm, display_labels=display_labels).plot(
            ax=panel_ax,
            cmap=style["cmap"],
            colorbar=False,
            include_values=style["include_values"],
            values_format=".2f" if normalize else "d",
            xticks_rotation=45 if max(map(len, display_labels)) > 3 else "horizontal",
            im_kw={"vmin": 0.0, "vmax": vmax},
        )
        score = float(np.mean(rows_of == cols_of))
        panel_ax.set_title(f"{title}: {score_name} {score:.3f}", fontsize="medium")
        panel_ax.set_ylabel(ylabel)
        panel_ax.set_xlabel(xlabel or title.split(" vs ")[0])


# --------------------------------------------------------------------------- budget curves

_BUDGET_KEYS = ("budget", "labels_per_class", "n_labels", "n_labeled", "labels")


def _read_results(results) -> list[dict]:
    """Records (dicts) from a path, a mapping, a DataFrame or a list of dicts."""
    if isinstance(results, (str, os.PathLike)):
        path = Path(results)
        if not path.is_file():
            raise FileNotFoundError(
                f"No benchmark results at {os.fspath(path)!r}. Run `python -m zeromatch_sk.benchmark` "
                "(or `make benchmark`) to produce benchmarks/results/results.json, or pass the records."
            )
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                return [dict(row) for row in csv.DictReader(f)]
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    if hasattr(results, "to_dict") and hasattr(results, "columns"):  # pandas DataFrame
        return results.to_dict("records")
    if hasattr(results, "runs") and hasattr(results, "to_dict"):  # the benchmark's BenchmarkResults
        results = results.to_dict()
    if isinstance(results, Mapping):
        # The benchmark's results.json: {"config", "datasets", "methods", "summary", "runs"}.
        for key in ("summary", "results", "records", "rows", "runs"):
            if isinstance(results.get(key), list):
                return _read_results(results[key])
        values = list(results.values())
        if (
            values
            and all(isinstance(v, (list, tuple)) for v in values)
            and len({len(v) for v in values}) == 1
        ):
            keys = list(results)
            return [dict(zip(keys, row)) for row in zip(*values)]  # a dict of columns
        raise ValueError(
            "results is a dict without a list of records: expected {'results': [...]}, a dict of equal-length "
            f"columns, or a list of dicts. Its keys are {list(results)[:10]}."
        )
    if isinstance(results, (list, tuple)):
        bad = [i for i, r in enumerate(results) if not isinstance(r, Mapping)]
        if bad:
            raise TypeError(
                f"results must be a list of dicts; entry {bad[0]} is a {type(results[bad[0]]).__name__}."
            )
        return [dict(r) for r in results]
    raise TypeError(
        "results must be a path to results.json (or a CSV file), a pandas DataFrame, a dict with a "
        f"'results' list, or a list of dicts; got {type(results).__name__}."
    )


def _aggregate(records: list[dict], metric: str) -> tuple[list[dict], str]:
    """One (dataset, method, budget, mean, std) row per group, and the budget column used."""
    if not records:
        raise ValueError("results holds no records: there is nothing to plot.")
    keys = set().union(*records)
    if "method" not in keys:
        raise ValueError(f"The results need a 'method' column; they have {sorted(keys)}.")
    budget_key = next((k for k in _BUDGET_KEYS if k in keys), None)
    if budget_key is None:
        raise ValueError(
            f"The results need a budget column (one of {list(_BUDGET_KEYS)}); they have {sorted(keys)}."
        )
    mean_key = f"{metric}_mean" if f"{metric}_mean" in keys else metric if metric in keys else None
    if mean_key is None:
        raise ValueError(
            f"The results have no {metric!r} or {metric + '_mean'!r} column (they have {sorted(keys)}); pass "
            "metric= with the name of the score to plot."
        )
    std_key = f"{metric}_std" if f"{metric}_std" in keys else None

    groups: dict[tuple, list[tuple[float, float]]] = {}
    for record in records:
        mean = _as_float(record.get(mean_key))
        if math.isnan(mean):
            continue
        budget = _as_float(record.get(budget_key))
        group = (str(record.get("dataset", "")), str(record["method"]), budget)
        groups.setdefault(group, []).append(
            (mean, _as_float(record.get(std_key)) if std_key else float("nan"))
        )
    if not groups:
        raise ValueError(f"No record has a numeric {mean_key!r}: there is nothing to plot.")

    rows = []
    for (dataset, method, budget), values in groups.items():
        means = np.array([m for m, _ in values])
        if len(values) == 1:
            mean, std = means[0], values[0][1]
        else:  # one record per seed: summarise them here, as the benchmark's summary does
            mean, std = means.mean(), means.std(ddof=1)
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "budget": budget,
                "mean": float(mean),
                "std": 0.0 if math.isnan(std) else float(std),
            }
        )
    return rows, budget_key


def plot_budget_curve(results, ax=None, *, metric="accuracy", datasets=None, methods=None):
    """Plot accuracy against the label budget, one line per method and one panel per dataset.

    Each method is a line through its mean score at each budget, with a band
    of plus or minus one standard deviation over seeds. Methods whose
    records have no budget (a zero-shot teacher, say) are drawn as a
    horizontal dashed line. The budget axis is logarithmic when the budgets
    span a factor of 4 or more. In a panel with a single budget, the
    methods' points are spread a little around it, each with an error bar,
    so that they do not hide each other. A method keeps its colour in every panel,
    and one legend names them all: in the first panel, or beside the panels
    when the function made the figure and there are several panels or more
    than six methods.

    Parameters
    ----------
    results : path, BenchmarkResults, DataFrame, dict or list of dict
        The benchmark's output: the path of ``results.json`` (or of a CSV
        file), the ``BenchmarkResults`` of
        :func:`zeromatch_sk.benchmark.run_benchmark`, a pandas DataFrame
        (e.g. its ``table()``), a dict holding a list of records, or a list
        of records. In ``results.json`` of ``python -m
        zeromatch_sk.benchmark`` the ``'summary'`` records are used (else
        ``'results'``, ``'records'``, ``'rows'`` or the per-seed ``'runs'``).
        A record needs ``method``, a budget (``budget``, the number of
        labeled rows; also accepted: ``labels_per_class``, ``n_labels``,
        ``n_labeled`` or ``labels``) and a score: ``accuracy_mean`` (with
        ``accuracy_std`` for the band) or one ``accuracy`` per seed, which
        is then averaged here (standard deviation with ``ddof=1``, as the
        benchmark's summary). ``dataset`` splits the panels; records with
        a missing score (skipped runs) and other fields are ignored.
    ax : matplotlib Axes, array of Axes or None, default=None
        Where to draw: ``None`` makes a new figure; otherwise one Axes per
        dataset.
    metric : str, default='accuracy'
        Score to plot: the column ``{metric}_mean`` (and ``{metric}_std``) or
        ``{metric}``.
    datasets, methods : list of str or None, default=None
        Restrict the plot to these datasets / methods, drawn in this order.
        ``None`` keeps all, in order of first appearance.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    FileNotFoundError
        If ``results`` is a path that does not exist.
    ValueError
        If a needed column is missing, nothing numeric is left to plot, or
        ``ax`` holds fewer Axes than datasets.

    See Also
    --------
    plot_history : Training curves of one fit.

    Examples
    --------
    >>> from zeromatch_sk.plotting import plot_budget_curve
    >>> records = [
    ...     {"dataset": "toy", "method": "supervised", "budget": 4, "accuracy_mean": 0.55, "accuracy_std": 0.04},
    ...     {"dataset": "toy", "method": "supervised", "budget": 16, "accuracy_mean": 0.71, "accuracy_std": 0.03},
    ...     {"dataset": "toy", "method": "ZeroMatch", "budget": 4, "accuracy_mean": 0.80, "accuracy_std": 0.02},
    ...     {"dataset": "toy", "method": "ZeroMatch", "budget": 16, "accuracy_mean": 0.84, "accuracy_std": 0.01},
    ...     {"dataset": "toy", "method": "teacher", "budget": None, "accuracy_mean": 0.75},
    ... ]
    >>> fig = plot_budget_curve(records)
    >>> ax = fig.axes[0]
    >>> ax.get_title(), [t.get_text() for t in ax.get_legend().get_texts()]
    ('toy', ['supervised', 'ZeroMatch', 'teacher'])
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """
    _pyplot()
    rows, budget_key = _aggregate(_read_results(results), metric)
    all_methods = list(dict.fromkeys(r["method"] for r in rows))
    datasets = _select(datasets, list(dict.fromkeys(r["dataset"] for r in rows)), "dataset")
    methods = _select(methods, all_methods, "method")

    axes = _axes_list(ax, len(datasets), what="plot_budget_curve")
    own_figure = axes is None
    if own_figure:
        fig, axes = _new_grid(len(datasets), ncols_max=3, panel_size=(4.6, 3.4))
    else:
        fig = axes[0].figure
    colors = _method_colors(all_methods)
    budget_label = {
        "labels_per_class": "labels per class",
        "n_labels": "labeled rows",
        "n_labeled": "labeled rows",
        "budget": "labeled rows (budget)",
    }.get(budget_key, budget_key)
    for panel_ax, dataset in zip(axes, datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        _draw_budget_panel(panel_ax, mine, methods, colors)
        panel_ax.set_title(dataset, fontsize="medium")
        panel_ax.set_xlabel(budget_label)
        panel_ax.set_ylabel(metric.replace("_", " "))
        panel_ax.grid(True, alpha=0.3)
    _shared_legend(fig, axes, methods, own_figure)
    return fig


def _select(wanted, available, what):
    """``wanted`` (a name or a list of names, in the order to draw) checked against ``available``; None: all."""
    if wanted is None:
        return available
    wanted = [wanted] if isinstance(wanted, str) else list(wanted)
    missing = [name for name in wanted if name not in available]
    if missing:
        raise ValueError(f"No results for {what}(s) {missing}; the results hold {available}.")
    return wanted


def _method_colors(methods):
    """One colour per method, the same in every panel."""
    plt = _pyplot()
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0", "C1", "C2", "C3"])
    if len(methods) > len(cycle):  # more methods than colours: a 20-colour palette
        cycle = list(plt.get_cmap("tab20").colors)
    return {m: cycle[i % len(cycle)] for i, m in enumerate(methods)}


def _draw_budget_panel(panel_ax, mine, methods, colors):
    """One dataset's panel: a line (and band) per method with budgets, a dashed line for the others."""
    budgets = sorted({r["budget"] for r in mine if not math.isnan(r["budget"])})
    # With a single budget the points would sit on top of each other: spread
    # them a little around the budget, one slot per method.
    spread = [m for m in methods if any(r["method"] == m and not math.isnan(r["budget"]) for r in mine)]
    for method in methods:
        points = sorted((r for r in mine if r["method"] == method), key=lambda r: r["budget"])
        curve = [r for r in points if not math.isnan(r["budget"])]
        flat = [r for r in points if math.isnan(r["budget"])]
        if curve:
            x = np.array([r["budget"] for r in curve])
            if len(budgets) == 1:
                x = x * (1 + 0.25 * (spread.index(method) + 0.5) / len(spread) - 0.125)
            mean = np.array([r["mean"] for r in curve])
            std = np.array([r["std"] for r in curve])
            panel_ax.plot(x, mean, marker="o", markersize=4, color=colors[method], label=method)
            if np.any(std > 0) and len(x) > 1:
                panel_ax.fill_between(
                    x, mean - std, mean + std, color=colors[method], alpha=0.18, linewidth=0
                )
            elif np.any(std > 0):  # a single budget: an error bar instead of a band
                panel_ax.errorbar(x, mean, yerr=std, fmt="none", ecolor=colors[method], capsize=3)
        elif flat:
            panel_ax.axhline(
                flat[0]["mean"], color=colors[method], linestyle="--", linewidth=1.3, label=method
            )
    _budget_axis(panel_ax, budgets)


def _budget_axis(panel_ax, budgets):
    """Ticks at the budgets that were run, nowhere else; logarithmic when they span a factor of 4."""
    if budgets and budgets[0] > 0 and budgets[-1] / budgets[0] >= 4:
        from matplotlib.ticker import NullFormatter

        panel_ax.set_xscale("log")
        panel_ax.xaxis.set_minor_formatter(NullFormatter())
    if budgets:
        panel_ax.set_xticks(budgets)
        panel_ax.set_xticklabels([f"{b:g}" for b in budgets])
        if len(budgets) == 1:
            panel_ax.set_xlim(budgets[0] * 0.8 - 1, budgets[0] * 1.2 + 1)


def _shared_legend(fig, axes, methods, own_figure):
    """One legend for all panels (a method has the same colour everywhere): in the first panel when it is
    small, beside the panels when there are many methods and the figure is ours to lay out."""
    handles = {}
    for panel_ax in axes:
        for handle, label in zip(*panel_ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        labels = [m for m in methods if m in handles]
        if own_figure and (len(labels) > 6 or len(axes) > 1):
            fig.legend([handles[m] for m in labels], labels, loc="outside right upper", fontsize="small")
        else:
            axes[0].legend([handles[m] for m in labels], labels, fontsize="small", loc="lower right")
