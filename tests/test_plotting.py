"""zeromatch_sk.plotting draws what it says, on the Agg backend, and refuses bad input clearly."""

import json
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from zeromatch_sk import ZeroMatchClassifier
from zeromatch_sk.plotting import (
    HISTORY_PANELS,
    plot_budget_curve,
    plot_history,
    plot_teacher_student_confusion,
)

FAST = {
    "hidden_layer_sizes": (16,),
    "kd_epochs": 2,
    "max_epochs": 3,
    "steps_per_epoch": 4,
    "batch_size": 16,
    "random_state": 0,
}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """The models here are tiny: on a busy 2-core machine, a second intra-op thread only adds waiting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    """150 rows, 3 classes, 4 labels per class; a teacher wrong on every fourth row."""
    X, y_true = make_blobs(n_samples=150, centers=3, n_features=5, random_state=0)
    y = np.full_like(y_true, -1)
    for c in range(3):
        y[np.flatnonzero(y_true == c)[:4]] = c
    teacher = np.where(np.arange(len(y_true)) % 4 == 0, (y_true + 1) % 3, y_true)
    return X, y, y_true, teacher


@pytest.fixture(scope="module")
def clf(data):
    X, y, _, teacher = data
    return ZeroMatchClassifier(**FAST).fit(X, y, pseudo_labels=teacher)


def visible_lines(ax):
    """Lines a reader sees as data (matplotlib hides labels starting with '_' from legends)."""
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def hidden_labels(ax):
    labels = (artist.get_label() for artist in ax.get_children() if hasattr(artist, "get_label"))
    return {label for label in labels if isinstance(label, str) and label.startswith("_stage")}


# --------------------------------------------------------------------------- plot_history


def test_history_grid_has_one_panel_per_quantity(clf):
    fig = plot_history(clf)
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [title for title, _ in HISTORY_PANELS.values()]
    losses, mask, threshold, alpha, agreement, drift, lr = fig.axes
    n_epochs = len(clf.history_)
    # Four loss terms are recorded in a run with labels, unlabeled rows and a teacher.
    labels = [line.get_label() for line in visible_lines(losses)]
    assert labels == [
        "train_loss (total)",
        "loss_sup (labels)",
        "loss_unsup (consistency)",
        "loss_kd (teacher)",
    ]
    for ax, key in [
        (mask, "mask_ratio"),
        (threshold, "threshold"),
        (alpha, "alpha"),
        (agreement, "kd_agreement"),
        (drift, "prior_drift"),
        (lr, "lr"),
    ]:
        (line,) = visible_lines(ax)
        np.testing.assert_allclose(line.get_ydata(), np.array(clf.history_[:, key], dtype=float))
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n_epochs + 1))
    # "epoch" under the lowest panel of each column of the 2 x 4 grid (the fourth column has one panel).
    assert [ax.get_xlabel() for ax in fig.axes] == [""] * 3 + ["epoch"] * 4
    assert [ax.get_legend() is not None for ax in fig.axes] == [True] + [False] * 6
    assert mask.get_ylim() == pytest.approx((-0.03, 1.03))


def test_history_marks_the_stage_boundary(clf):
    n_stage1 = sum(1 for s in clf.history_[:, "stage"] if s == 1)
    assert 0 < n_stage1 < len(clf.history_)
    fig = plot_history(clf)
    for ax in fig.axes:
        assert {"_stage 1", "_stage boundary"} <= hidden_labels(ax)
        (boundary,) = [line for line in ax.get_lines() if line.get_label() == "_stage boundary"]
        assert boundary.get_xdata()[0] == pytest.approx(n_stage1 + 0.5)
    texts = [t.get_text().strip() for t in fig.axes[0].texts]
    assert texts == ["stage 1", "stage 2"]


def test_history_of_a_single_stage_has_no_boundary():
    rows = [
        {"stage": 2, "train_loss": 1.0 / e, "loss_sup": 0.5 / e, "mask_ratio": 0.1 * e} for e in range(1, 4)
    ]
    fig = plot_history(rows)
    for ax in fig.axes:
        assert not hidden_labels(ax)
        assert not [t for t in ax.texts if t.get_text().strip() in ("stage 1", "stage 2")]


def test_history_empty_panels_say_why():
    rows = [{"stage": 2, "train_loss": 1.0, "loss_sup": 1.0, "alpha": None} for _ in range(3)]
    fig = plot_history(rows)
    panels = dict(zip(HISTORY_PANELS, fig.axes))
    assert len(visible_lines(panels["losses"])) == 2
    for name in ("mask_ratio", "threshold", "alpha", "kd_agreement", "prior_drift", "lr"):
        assert not visible_lines(panels[name])
        assert "not recorded" in panels[name].texts[0].get_text()
    assert "no teacher" in panels["kd_agreement"].texts[0].get_text()


def test_history_accepts_pipeline_net_history_and_dataframe(data, clf):
    X, y, _, teacher = data
    pipe = make_pipeline(StandardScaler(), ZeroMatchClassifier(**FAST)).fit(
        X, y, zeromatchclassifier__pseudo_labels=teacher
    )
    for source, n_epochs in [
        (pipe, len(pipe[-1].history_)),
        (clf.net_, len(clf.history_)),
        (clf.history_, len(clf.history_)),
        (list(clf.history_), len(clf.history_)),
    ]:
        fig = plot_history(source)
        assert len(fig.axes) == 7
        assert len(visible_lines(fig.axes[0])[0].get_xdata()) == n_epochs
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame([{k: v for k, v in row.items() if k != "batches"} for row in clf.history_])
    fig = plot_history(frame)
    assert len(visible_lines(fig.axes[0])) == 4


def test_history_into_given_axes(clf):
    fig, ax = plt.subplots()
    assert plot_history(clf, ax=ax) is fig
    assert ax.get_title() == "Loss terms"
    fig, ax = plt.subplots()
    plot_history(clf, ax=ax, panels="alpha")
    assert ax.get_title() == "Distillation weight alpha"
    fig, grid = plt.subplots(2, 2)
    plot_history(clf, ax=grid, panels=["mask_ratio", "threshold", "lr"])
    assert [a.get_title() for a in grid.ravel()][:3] == [
        "Mask ratio (unlabeled rows used)",
        "Confidence threshold",
        "Learning rate",
    ]
    assert grid[1, 1].get_title() == ""


def test_history_bad_input(clf):
    with pytest.raises(NotFittedError, match="not fitted"):
        plot_history(ZeroMatchClassifier())
    with pytest.raises(ValueError, match="empty"):
        plot_history([])
    with pytest.raises(TypeError, match="list of per-epoch dicts"):
        plot_history(3.0)
    with pytest.raises(TypeError, match="row 1"):
        plot_history([{"train_loss": 1.0}, 2.0])
    with pytest.raises(ValueError, match="Unknown panel"):
        plot_history(clf, panels=["loss"])
    _fig, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="7 panel"):
        plot_history(clf, ax=axes)
    with pytest.raises(TypeError, match="matplotlib Axes"):
        plot_history(clf, ax="left")


# --------------------------------------------------------------------------- confusion matrices


def image_of(ax):
    (image,) = ax.get_images()
    return np.asarray(image.get_array())


def test_confusion_with_truth_has_teacher_and_student_panels(data, clf):
    _X, _y, y_true, teacher = data
    fig = plot_teacher_student_confusion(clf, y_true=y_true)
    left, right = fig.axes
    teacher_acc = np.mean(teacher == y_true)
    student_acc = np.mean(clf.transduction_ == y_true)
    assert left.get_title() == f"teacher vs truth: accuracy {teacher_acc:.3f}"
    assert right.get_title() == f"student vs truth: accuracy {student_acc:.3f}"
    np.testing.assert_allclose(image_of(left), confusion_matrix(y_true, teacher, normalize="true"))
    np.testing.assert_allclose(image_of(right), confusion_matrix(y_true, clf.transduction_, normalize="true"))
    assert (left.get_ylabel(), left.get_xlabel(), right.get_xlabel()) == ("true class", "teacher", "student")
    # 3 classes: one value written per cell.
    assert len(left.texts) == 9


def test_confusion_without_truth_compares_student_with_teacher(data, clf):
    _X, _y, _y_true, teacher = data
    (ax,) = plot_teacher_student_confusion(clf).axes
    agreement = np.mean(clf.transduction_ == teacher)
    assert ax.get_title() == f"student vs teacher: agreement {agreement:.3f}"
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("teacher", "student")
    np.testing.assert_allclose(image_of(ax), confusion_matrix(teacher, clf.transduction_, normalize="true"))


def test_confusion_drops_unlabeled_rows_and_counts(data, clf):
    _X, y, _y_true, teacher = data
    fig = plot_teacher_student_confusion(clf, y_true=y, normalize=None)
    left, _ = fig.axes
    labeled = y != -1
    np.testing.assert_array_equal(image_of(left), confusion_matrix(y[labeled], teacher[labeled]))
    assert image_of(left).sum() == labeled.sum()


def test_confusion_on_new_rows_with_teacher_output_or_provider(data):
    X, y, y_true, teacher = data
    P = np.eye(3)[teacher]
    provider = lambda X_, classes: P[: len(X_)]
    est = ZeroMatchClassifier(provider=provider, **FAST).fit(X, y)
    new = X[:30]
    fig = plot_teacher_student_confusion(est, new, y_true[:30], teacher_proba=P[:30])
    left, right = fig.axes
    np.testing.assert_allclose(image_of(left), confusion_matrix(y_true[:30], teacher[:30], normalize="true"))
    np.testing.assert_allclose(
        image_of(right), confusion_matrix(y_true[:30], est.predict(new), normalize="true", labels=[0, 1, 2])
    )
    called = plot_teacher_student_confusion(est, new, y_true[:30])  # asks the provider
    np.testing.assert_allclose(image_of(called.axes[0]), image_of(left))


def test_confusion_through_a_pipeline_with_string_labels(data):
    X, y, y_true, teacher = data
    names = np.array(["cat", "dog", "owl"], dtype=object)
    y_named = np.where(y == -1, -1, names[np.maximum(y, 0)]).astype(object)
    y_named[y == -1] = -1
    pipe = make_pipeline(StandardScaler(), ZeroMatchClassifier(**FAST))
    pipe.fit(X, y_named, zeromatchclassifier__pseudo_labels=names[teacher])
    fig = plot_teacher_student_confusion(pipe, X, names[y_true], teacher_proba=names[teacher])
    left, _ = fig.axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["cat", "dog", "owl"]


def test_confusion_bad_input(data, clf):
    X, y, y_true, _teacher = data
    no_teacher = ZeroMatchClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="without a teacher"):
        plot_teacher_student_confusion(no_teacher)
    with pytest.raises(ValueError, match="no provider"):
        plot_teacher_student_confusion(no_teacher, X)
    with pytest.raises(NotFittedError):
        plot_teacher_student_confusion(ZeroMatchClassifier())
    with pytest.raises(ValueError, match="one label per row"):
        plot_teacher_student_confusion(clf, y_true=y_true[:10])
    with pytest.raises(ValueError, match="does not know"):
        plot_teacher_student_confusion(clf, y_true=np.where(y_true == 0, 7, y_true))
    with pytest.raises(ValueError, match="Every entry of y_true is -1"):
        plot_teacher_student_confusion(clf, y_true=np.full_like(y_true, -1))
    with pytest.raises(ValueError, match="shape"):
        plot_teacher_student_confusion(clf, X[:5], teacher_proba=np.ones((5, 2)) / 2)
    with pytest.raises(ValueError, match="normalize"):
        plot_teacher_student_confusion(clf, normalize="rows")
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 panel"):
        plot_teacher_student_confusion(clf, y_true=y_true, ax=ax)


# --------------------------------------------------------------------------- budget curves

RECORDS = [
    {"dataset": "ag_news", "method": "supervised", "budget": 2, "accuracy_mean": 0.40, "accuracy_std": 0.05},
    {"dataset": "ag_news", "method": "supervised", "budget": 10, "accuracy_mean": 0.70, "accuracy_std": 0.03},
    {"dataset": "ag_news", "method": "zeromatch", "budget": 2, "accuracy_mean": 0.80, "accuracy_std": 0.02},
    {"dataset": "ag_news", "method": "zeromatch", "budget": 10, "accuracy_mean": 0.86, "accuracy_std": 0.01},
    {"dataset": "ag_news", "method": "teacher", "budget": None, "accuracy_mean": 0.75, "accuracy_std": 0.0},
    {"dataset": "trec", "method": "supervised", "budget": 10, "accuracy_mean": 0.57, "accuracy_std": 0.04},
    {"dataset": "trec", "method": "zeromatch", "budget": 10, "accuracy_mean": 0.63, "accuracy_std": 0.02},
]


def test_budget_curve_one_panel_per_dataset_one_line_per_method():
    fig = plot_budget_curve(RECORDS)
    ag, trec = fig.axes
    assert (ag.get_title(), trec.get_title()) == ("ag_news", "trec")
    assert [line.get_label() for line in visible_lines(ag)] == ["supervised", "zeromatch", "teacher"]
    supervised, zeromatch, teacher = visible_lines(ag)
    np.testing.assert_array_equal(supervised.get_xdata(), [2, 10])
    np.testing.assert_allclose(zeromatch.get_ydata(), [0.80, 0.86])
    assert teacher.get_linestyle() == "--" and list(teacher.get_ydata()) == [0.75, 0.75]
    # Bands of +/- one std for the two methods with a spread.
    assert len(ag.collections) == 2
    assert ag.get_xscale() == "log" and trec.get_xscale() == "linear"
    assert ag.get_ylabel() == "accuracy" and ag.get_xlabel() == "labeled rows (budget)"
    # One colour per method across panels, and one legend beside the panels.
    assert visible_lines(trec)[1].get_color() == zeromatch.get_color()
    assert ag.get_legend() is None and trec.get_legend() is None
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["supervised", "zeromatch", "teacher"]


def test_budget_curve_reads_files_frames_and_wrapped_dicts(tmp_path):
    path = tmp_path / "results.json"
    # The layout of the benchmark's results.json: the summary records are plotted, not the runs.
    runs = [{"dataset": "ag_news", "method": "zeromatch", "budget": 2, "seed": 0, "accuracy": 0.1}]
    path.write_text(json.dumps({"config": {"seeds": 3}, "summary": RECORDS, "runs": runs}))
    expected = [
        np.asarray(line.get_ydata()).tolist() for line in visible_lines(plot_budget_curve(RECORDS).axes[0])
    ]
    for source in (path, str(path), json.loads(path.read_text())):
        got = [
            np.asarray(line.get_ydata()).tolist() for line in visible_lines(plot_budget_curve(source).axes[0])
        ]
        assert got == expected
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(RECORDS)
    frame.to_csv(tmp_path / "results.csv", index=False)
    for source in (frame, tmp_path / "results.csv"):
        fig = plot_budget_curve(source, datasets=["trec"])
        assert [line.get_label() for line in visible_lines(fig.axes[0])] == ["supervised", "zeromatch"]


def test_budget_curve_reads_what_the_benchmark_writes(tmp_path):
    benchmark = pytest.importorskip("zeromatch_sk.benchmark")
    pytest.importorskip("pandas")
    X, y = make_blobs(n_samples=240, centers=3, n_features=5, random_state=0)
    table = benchmark.benchmark_arrays(
        X, y, np.eye(3)[y], budgets=[6, 30], seeds=2, progress=False, name="blobs",
        methods=benchmark.quick_methods()[:2], student_params={k: v for k, v in FAST.items() if k != "random_state"},
    )  # fmt: skip
    results = table.attrs["results"]
    results.write(tmp_path)
    methods = list(dict.fromkeys(table["method"]))
    for source in (tmp_path / "results.json", results, table):
        ax = plot_budget_curve(source).axes[0]
        assert ax.get_title() == "blobs"
        assert [line.get_label() for line in visible_lines(ax)] == methods
        for line, method in zip(visible_lines(ax), methods):
            expected = table[table["method"] == method].sort_values("budget")["accuracy_mean"]
            np.testing.assert_allclose(line.get_ydata(), expected)


def test_budget_curve_averages_per_seed_records():
    records = [
        {"method": "zeromatch", "labels_per_class": b, "seed": s, "accuracy": acc}
        for b, accs in [(1, [0.6, 0.8]), (5, [0.85, 0.87])]
        for s, acc in enumerate(accs)
    ]
    fig = plot_budget_curve(records)
    ax = fig.axes[0]
    (line,) = visible_lines(ax)
    np.testing.assert_allclose(line.get_ydata(), [0.7, 0.86])
    band = ax.collections[0].get_paths()[0].vertices
    spread = np.std([0.6, 0.8], ddof=1)
    assert band[:, 1].min() == pytest.approx(0.7 - spread) and band[:, 1].max() == pytest.approx(
        0.86 + np.std([0.85, 0.87], ddof=1)
    )
    assert ax.get_xlabel() == "labels per class" and ax.get_title() == ""


def test_budget_curve_metric_methods_and_axes():
    records = [dict(r, f1_mean=r["accuracy_mean"] - 0.1) for r in RECORDS]
    fig, axes = plt.subplots(1, 2)
    assert plot_budget_curve(records, ax=axes, metric="f1", methods=["zeromatch"]) is fig
    assert [line.get_label() for line in visible_lines(axes[0])] == ["zeromatch"]
    # Axes given by the caller: the legend goes into the first one, not beside them.
    assert not fig.legends and [t.get_text() for t in axes[0].get_legend().get_texts()] == ["zeromatch"]
    np.testing.assert_allclose(visible_lines(axes[0])[0].get_ydata(), [0.70, 0.76])
    assert axes[0].get_ylabel() == "f1"


def test_budget_curve_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="zeromatch_sk.benchmark"):
        plot_budget_curve(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="no records"):
        plot_budget_curve([])
    with pytest.raises(ValueError, match="'method'"):
        plot_budget_curve([{"budget": 1, "accuracy": 0.5}])
    with pytest.raises(ValueError, match="budget column"):
        plot_budget_curve([{"method": "m", "accuracy": 0.5}])
    with pytest.raises(ValueError, match="metric="):
        plot_budget_curve(RECORDS, metric="f1")
    with pytest.raises(ValueError, match="dataset"):
        plot_budget_curve(RECORDS, datasets=["cifar"])
    with pytest.raises(ValueError, match="method"):
        plot_budget_curve(RECORDS, methods=["fixmatch"])
    with pytest.raises(TypeError, match="list of dicts"):
        plot_budget_curve(["a", "b"])
    with pytest.raises(TypeError, match="results.json"):
        plot_budget_curve(42)
    with pytest.raises(ValueError, match="dict without a list of records"):
        plot_budget_curve({"config": {}})
    _fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="2 panel"):
        plot_budget_curve(RECORDS, ax=ax)


# --------------------------------------------------------------------------- matplotlib missing


def test_missing_matplotlib_says_how_to_install(monkeypatch, clf):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    for call in (
        lambda: plot_history(clf),
        lambda: plot_teacher_student_confusion(clf),
        lambda: plot_budget_curve(RECORDS),
    ):
        with pytest.raises(ImportError, match=r"pip install matplotlib.*zeromatch-sk\[plot\]"):
            call()
