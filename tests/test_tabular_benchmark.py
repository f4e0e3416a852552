"""The tabular benchmark's cases: real tables, rule teachers on raw columns, and its command."""

import builtins

import numpy as np
import pytest

from zeromatch_sk.benchmark import load_dataset
from zeromatch_sk.benchmark._datasets import DATASET_ALIASES
from zeromatch_sk.benchmark._tabular import TABULAR_DATASETS

SKLEARN_TABLES = ["tabular-iris", "tabular-wine", "tabular-breast_cancer", "tabular-digits"]


@pytest.mark.parametrize("name", SKLEARN_TABLES)
def test_tables_have_consistent_rows_and_an_informative_teacher(name):
    ds = load_dataset(name, verbose=0)
    n, k = len(ds.y), ds.n_classes
    assert ds.X.shape[0] == n and ds.teacher_proba.shape == (n, k)
    np.testing.assert_allclose(ds.teacher_proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(ds.pool_idx).isdisjoint(ds.eval_idx)
    majority = np.bincount(ds.y[ds.eval_idx]).max() / len(ds.eval_idx)
    assert ds.teacher_accuracy() > majority  # a rule written without labels beats the majority class
    # Scaled on the pool rows: mean 0 and unit spread there (digits keeps its pixels / 16).
    if name != "tabular-digits":
        np.testing.assert_allclose(ds.X[ds.pool_idx].mean(axis=0), 0.0, atol=1e-5)
    per_class = np.bincount(ds.y[ds.pool_idx], minlength=k).min()
    assert all(b // k <= per_class for b in ds.budgets)  # every budget can be drawn class-balanced


def test_the_tabular_alias_names_every_case():
    assert DATASET_ALIASES["tabular"] == list(TABULAR_DATASETS)
    assert "tabular-penguins" in TABULAR_DATASETS


def test_penguins_without_its_package_names_the_install(monkeypatch):
    real_import = builtins.__import__

    def no_penguins(name, *args, **kwargs):
        if name == "palmerpenguins":
            raise ImportError("No module named 'palmerpenguins'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_penguins)
    with pytest.raises(ImportError, match="pip install palmerpenguins"):
        load_dataset("tabular-penguins", verbose=0)


def test_the_tabular_command_writes_a_table(tmp_path):
    from zeromatch_sk.benchmark.__main__ import main

    rc = main(
        ["--tabular", "--datasets", "tabular-iris", "--seeds", "1", "--out", str(tmp_path),
         "--methods", "teacher alone", "logistic regression", "gradient boosting"]
    )  # fmt: skip
    assert rc == 0
    table = (tmp_path / "results.md").read_text()
    assert "tabular-iris" in table and "gradient boosting" in table
