"""Fast tests of the benchmark's pieces: splits, label draws, teachers, the cache, and a tiny end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from zeromatch_sk import Defences
from zeromatch_sk.benchmark import (
    BenchmarkDataset,
    Method,
    balanced_label_draw,
    benchmark_arrays,
    cached_text_features,
    default_methods,
    load_dataset,
    make_dataset,
    random_label_draw,
    robustness_methods,
    run_benchmark,
    semi_supervised_labels,
    stratified_split,
    synthetic_teacher,
    validation_view,
)
from zeromatch_sk.benchmark._methods import labeled_positions

TINY = {"kd_epochs": 1, "max_epochs": 1, "steps_per_epoch": 3, "hidden_layer_sizes": (16,)}


# ----------------------------------------------------------------- label draws
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_balanced_label_draw_is_balanced_and_unique(seed):
    y = np.repeat(np.arange(4), [30, 50, 70, 90])
    pos = balanced_label_draw(y, 40, random_state=seed)
    assert len(pos) == len(np.unique(pos)) == 40
    assert np.bincount(y[pos]).tolist() == [10, 10, 10, 10]


def test_balanced_label_draw_remainder_and_small_classes():
    y = np.repeat(np.arange(3), [2, 100, 100])
    pos = balanced_label_draw(y, 31, random_state=0)
    counts = np.bincount(y[pos], minlength=3)
    assert counts.sum() == 31 and counts[0] == 2  # the tiny class gives all it has
    assert abs(int(counts[1]) - int(counts[2])) <= 1  # the others share the rest evenly
    # Deterministic per seed, different across seeds.
    assert np.array_equal(pos, balanced_label_draw(y, 31, random_state=0))
    assert not np.array_equal(pos, balanced_label_draw(y, 31, random_state=1))


def test_budget_larger_than_pool_takes_everything():
    y = np.repeat([0, 1], 5)
    assert len(balanced_label_draw(y, 100, random_state=0)) == 10


# ---------------------------------------------------------------------- splits
def test_split_never_overlaps_evaluation_rows():
    y = np.repeat(np.arange(5), 40)
    pool, ev = stratified_split(y, eval_fraction=0.25)
    assert len(np.intersect1d(pool, ev)) == 0
    assert len(pool) + len(ev) == len(y)
    assert np.bincount(y[ev]).tolist() == [10] * 5  # stratified
    ds = BenchmarkDataset("toy", np.zeros((len(y), 2)), y, np.arange(5), None, ev, pool)
    for seed in range(3):
        labeled_rows = pool[labeled_positions(ds, 25, seed)]
        assert len(np.intersect1d(labeled_rows, ev)) == 0
    with pytest.raises(ValueError, match="overlap"):
        BenchmarkDataset("bad", np.zeros((len(y), 2)), y, np.arange(5), None, ev, np.arange(len(y)))


def test_registered_digits_split_is_disjoint_and_fixed():
    a, b = load_dataset("digits-teacher0.8"), load_dataset("digits-random-teacher")
    assert len(np.intersect1d(a.pool_idx, a.eval_idx)) == 0
    assert np.array_equal(a.eval_idx, b.eval_idx) and a.group == b.group == "digits"


# -------------------------------------------------------------------- teachers
@pytest.mark.parametrize("accuracy", [0.8, 0.5])
def test_synthetic_teacher_accuracy_matches_nominal_rate(accuracy):
    rng = np.random.default_rng(0)
    y = rng.integers(10, size=20_000)
    P = synthetic_teacher(y, 10, accuracy, random_state=0)
    assert P.shape == (len(y), 10) and np.allclose(P.sum(axis=1), 1)
    acc = float(np.mean(P.argmax(axis=1) == y))
    assert abs(acc - accuracy) < 0.015
    wrong = P.argmax(axis=1) != y
    # Wrong answers spread over the other classes, not piled on one.
    assert np.bincount(P.argmax(axis=1)[wrong], minlength=10).min() > 0.05 * wrong.sum()


def test_random_teacher_is_at_chance():
    y = np.random.default_rng(1).integers(10, size=20_000)
    acc = float(np.mean(synthetic_teacher(y, 10, None, random_state=0).argmax(axis=1) == y))
    assert abs(acc - 0.1) < 0.015


# ----------------------------------------------------------------------- cache
class _CountingEmbedder:
    def __init__(self):
        self.calls = 0

    def fit_transform(self, texts):
        self.calls += 1
        return np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)


class _CountingTeacher:
    def __init__(self):
        self.calls = 0

    def predict_proba(self, X, classes):
        self.calls += 1
        return np.full((len(X), len(classes)), 1.0 / len(classes))


def test_embedding_cache_is_hit_on_second_call(tmp_path):
    texts = ["a cat", "a dog", "stocks fell", "rain again"]
    emb, teach = _CountingEmbedder(), _CountingTeacher()
    kwargs = {
        "class_names": None,
        "template": "about {}.",
        "cache_dir": tmp_path,
        "embedder": emb,
        "provider": teach,
    }
    X1, P1, info1 = cached_text_features("toy", texts, ["x", "y"], **kwargs)
    X2, P2, info2 = cached_text_features("toy", texts, ["x", "y"], **kwargs)
    assert (emb.calls, teach.calls) == (1, 1)
    assert not info1["cache_hit"] and info2["cache_hit"]
    assert np.array_equal(X1, X2) and np.array_equal(P1, P2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "toy__all-MiniLM-L6-v2__X.npy", "toy__all-MiniLM-L6-v2__meta.json", "toy__all-MiniLM-L6-v2__teacher.npy",
    ]  # fmt: skip
    # Other prompts: only the teacher runs again. Other texts: both do.
    cached_text_features("toy", texts, ["x", "y"], **{**kwargs, "template": "on {}."})
    assert (emb.calls, teach.calls) == (1, 2)
    cached_text_features("toy", texts[:3], ["x", "y"], **kwargs)
    assert (emb.calls, teach.calls) == (2, 3)


# ------------------------------------------------------------------ end to end
def test_tiny_end_to_end_run_writes_three_files(tmp_path):
    ds = load_dataset("digits-teacher0.8", max_rows=400)
    methods = [
        m for m in default_methods() if m.name in ("teacher alone", "logistic regression", "ZeroMatch")
    ]
    run_benchmark([ds], methods, budgets=[20], seeds=1, student_params=TINY, progress=False, out=tmp_path)
    assert {p.name for p in tmp_path.iterdir()} >= {"results.md", "results.json", "accuracy.png"}
    md = (tmp_path / "results.md").read_text()
    for m in methods:
        assert f"| {m.name} |" in md
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["runs"]) == 3 and len(data["summary"]) == 3
    for run in data["runs"]:
        assert 0.0 <= run["accuracy"] <= 1.0
        assert run["n_labeled"] == 20 and run["n_eval"] == len(ds.eval_idx)
    by_method = {r["method"]: r for r in data["runs"]}
    assert abs(by_method["teacher alone"]["accuracy"] - ds.teacher_accuracy()) < 1e-9
    assert by_method["logistic regression"]["accuracy"] > 0.5  # 2 labels per digit still beat chance
    assert (tmp_path / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_teacher_free_methods_run_once_per_group(tmp_path):
    dss = [load_dataset(n, max_rows=300) for n in ("digits-teacher0.8", "digits-random-teacher")]
    methods = [m for m in default_methods() if m.name in ("teacher alone", "logistic regression")]
    results = run_benchmark(dss, methods, budgets=[20], seeds=[0, 1], progress=False)
    assert results.config["n_runs"] == 2 * 2 + 2  # teacher per dataset and seed; logreg once per seed
    assert len(results.runs) == 8
    logreg = [r for r in results.runs if r["method"] == "logistic regression"]
    assert {r["dataset"] for r in logreg} == {"digits-teacher0.8", "digits-random-teacher"}


def test_benchmark_arrays_on_user_data():
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=300, centers=3, random_state=0)
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    P = synthetic_teacher(y, 3, 0.9, random_state=0)
    methods = [m for m in default_methods() if m.name in ("teacher alone", "KD only")]
    table = benchmark_arrays(X, labels, P, budgets=[9], seeds=2, methods=methods, student_params=TINY,
                             progress=False)  # fmt: skip
    assert list(table["method"]) == ["teacher alone", "KD only"]
    assert (table["n_seeds"] == 2).all() and table["accuracy_mean"].between(0, 1).all()
    # Without a teacher the methods that need one are left out.
    table = benchmark_arrays(X, labels, None, budgets=[9], seeds=1, methods=methods, progress=False)
    assert table.empty


def test_make_dataset_checks_labels_and_method_modes():
    with pytest.raises(ValueError, match="not in classes"):
        make_dataset(np.zeros((4, 2)), [0, 1, 2, 2], classes=[0, 1])
    with pytest.raises(ValueError, match="fit_with"):
        Method("x", "bogus", params={})
    assert [m.name for m in default_methods()][:2] == ["teacher alone", "logistic regression"]


def test_random_label_draw_follows_the_pool_and_covers_every_class():
    y = np.r_[np.zeros(950, int), np.ones(50, int)]
    counts = np.zeros(2)
    for seed in range(40):
        pos = random_label_draw(y, 20, random_state=seed)
        assert len(np.unique(pos)) == 20 and set(y[pos]) == {0, 1}
        counts += np.bincount(y[pos], minlength=2)
    # Uniform draws conditioned on both classes: far more 0s than 1s, unlike a balanced draw.
    assert counts[0] > 5 * counts[1]
    # A class too rare to appear by chance still gets one row.
    y_rare = np.r_[np.zeros(9999, int), 1]
    assert 1 in y_rare[random_label_draw(y_rare, 5, random_state=0, max_tries=3)]


def test_label_sampling_of_a_dataset_decides_the_draw():
    ds = load_dataset("digits-biased-teacher", max_rows=600)
    assert ds.label_sampling == "balanced" and ds.group == "digits"
    pos = labeled_positions(ds, 50, 0)
    assert np.bincount(ds.y[ds.pool_idx][pos], minlength=10).tolist() == [5] * 10
    # The biased teacher: half right, and most of its mistakes say "0".
    said = ds.teacher_proba[ds.pool_idx].argmax(axis=1)
    wrong = said != ds.y[ds.pool_idx]
    assert 0.4 < 1 - wrong.mean() < 0.7 and np.mean(said[wrong] == 0) > 0.6
    with pytest.raises(ValueError, match="label_sampling"):
        BenchmarkDataset("x", np.zeros((4, 1)), np.array([0, 1, 0, 1]), np.array(["a", "b"]), None,
                         np.array([0]), np.array([1, 2, 3]), label_sampling="stratified")  # fmt: skip


def test_update_replaces_only_the_cells_rerun(tmp_path):
    from zeromatch_sk.benchmark._runner import load_results, merge_results

    dss = [load_dataset(n, max_rows=300) for n in ("digits-teacher0.8", "digits-random-teacher")]
    methods = [m for m in default_methods() if m.name in ("teacher alone", "logistic regression")]
    run_benchmark(dss, methods, budgets=[20], seeds=[0], progress=False, out=tmp_path)
    old = load_results(tmp_path)
    # Rerun one method on one dataset with other seeds: only those cells change.
    new = run_benchmark(dss[1:], methods[1:], budgets=[20], seeds=[5, 6], progress=False)
    merged = merge_results(old, new)
    cells = {(r["dataset"], r["method"]): set() for r in merged.runs}
    for r in merged.runs:
        cells[(r["dataset"], r["method"])].add(r["seed"])
    assert cells[("digits-random-teacher", "logistic regression")] == {5, 6}
    assert cells[("digits-teacher0.8", "logistic regression")] == {0}
    assert cells[("digits-random-teacher", "teacher alone")] == {0}
    assert [m["name"] for m in merged.methods] == [m["name"] for m in old.methods]
    (update,) = merged.config["updates"]
    assert update["methods"] == ["logistic regression"] and update["n_runs"] == 2
    assert "Updated" in merged.markdown() and merged.table()["method"].nunique() == 2


def test_semi_supervised_labels_mark_the_draw_and_hide_the_rest():
    ds = load_dataset("digits-biased-teacher", max_rows=600)
    lab, y = semi_supervised_labels(ds, 30, seed=1)
    assert len(y) == len(ds.pool_idx) and len(lab) == 30 and (y != -1).sum() == 30
    np.testing.assert_array_equal(y[lab], ds.y[ds.pool_idx][lab])
    # The same draw the benchmark runs make, and another seed draws other rows.
    np.testing.assert_array_equal(lab, labeled_positions(ds, 30, 1))
    assert set(semi_supervised_labels(ds, 30, seed=2)[0]) != set(lab)


def test_validation_view_keeps_how_labels_are_drawn():
    ds = load_dataset("digits-biased-teacher", max_rows=600)
    ds.label_sampling = "random"
    view = validation_view(ds)
    assert view.label_sampling == "random" and view.teacher == ds.teacher
    assert not set(view.eval_idx) & set(ds.eval_idx) and set(view.eval_idx) | set(view.pool_idx) == set(
        ds.pool_idx
    )


def test_robustness_methods_ablate_each_defence_once():
    methods = {m.name: m for m in robustness_methods()}
    assert {
        "ZeroMatch",
        "ZeroMatch (reference)",
        "logistic regression",
        "supervised student",
        "teacher alone",
    } <= set(methods)
    ablated = [
        m.params["defences"].get_params()
        for m in methods.values()
        if isinstance((m.params or {}).get("defences"), Defences)
    ]
    defaults = Defences().get_params()
    changed = [{k for k, v in p.items() if v != defaults[k]} for p in ablated]
    assert all(len(c) >= 1 for c in changed)
    assert {"calibration", "prior_correction", "gate", "min_class_labels", "max_prior_drift"} <= set().union(
        *changed
    )
    assert methods["ZeroMatch, SCARF always"].params == {"strong_augment": "scarf"}


def test_cli_parses_and_rejects_unknown_dataset(capsys):
    from zeromatch_sk.benchmark.__main__ import build_parser, main

    args = build_parser().parse_args(
        ["--quick", "--param", "max_epochs=3", "--param", "strong_augment=scarf"]
    )
    assert args.quick and dict(args.param) == {"max_epochs": 3, "strong_augment": "scarf"}
    assert build_parser().parse_args(["--robustness"]).robustness
    with pytest.raises(ValueError, match="Unknown dataset"):
        main(["--datasets", "nope", "--embed-only"])


@pytest.mark.shared_data
def test_shared_text_datasets_split(shared_data, tmp_path):
    """The real AG News / TREC loaders (needs ../shared/data; skipped without it)."""
    from zeromatch_sk.datasets import load_trec

    train, test = load_trec("train"), load_trec("test")
    assert len(train.data) > 4000 and len(test.data) == 500


SPORT = [
    "The striker scored twice",
    "The goalkeeper saved a penalty",
    "A late goal won the match",
    "The coach praised the team",
]
MONEY = [
    "Shares fell sharply",
    "The bank cut its forecast",
    "Profits rose at the firm",
    "Investors sold the stock",
]


def _text_dataset():
    texts = np.array(SPORT * 3 + MONEY * 3, dtype=object)
    y = np.array([0] * 12 + [1] * 12)
    eval_idx = np.r_[0:4, 12:16]
    return BenchmarkDataset(
        name="toy-texts", X=np.random.default_rng(0).normal(size=(24, 3)), y=y, classes=np.array(["sport", "money"]),
        teacher_proba=None, eval_idx=eval_idx, pool_idx=np.setdiff1d(np.arange(24), eval_idx), budgets=(4,),
        texts=texts,
    )  # fmt: skip


def test_text_methods_read_the_texts_and_skip_datasets_without_them():
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from zeromatch_sk.benchmark import run_one

    # A bag of words can only score if it is fitted on, and predicts, the texts (X is noise here).
    words = Method(
        "words", "texts", factory=lambda ctx: make_pipeline(CountVectorizer(), LogisticRegression())
    )
    ds = _text_dataset()
    record = run_one(ds, 16, 0, words)  # the whole pool: every evaluation text was seen with its label
    assert record["accuracy"] == 1.0 and record["predict_seconds"] >= 0
    no_texts = BenchmarkDataset(**{**ds.__dict__, "texts": None})
    assert run_one(no_texts, 4, 0, words)["skipped"] == "no texts"
    with pytest.raises(ValueError, match="texts has shape"):
        BenchmarkDataset(**{**ds.__dict__, "texts": ds.texts[:3]})
    assert validation_view(ds).texts is ds.texts


def test_setfit_is_a_text_method_of_the_full_benchmark_only():
    methods = {m.name: m for m in default_methods()}
    assert methods["SetFit"].fit_with == "texts"
    assert "SetFit" not in {m.name for m in robustness_methods()}


@pytest.mark.slow
def test_setfit_learns_the_labeled_texts():
    pytest.importorskip("setfit", reason="SetFit is in the benchmark extra")
    from zeromatch_sk.benchmark._setfit import SetFitTextClassifier

    model = SetFitTextClassifier(num_iterations=2).fit(SPORT[:2] + MONEY[:2], ["sport"] * 2 + ["money"] * 2)
    assert model.predict(SPORT[2:] + MONEY[2:]).tolist() == ["sport"] * 2 + ["money"] * 2
